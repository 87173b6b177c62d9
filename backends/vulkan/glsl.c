/* glsl.c — GLSL -> SPIR-V with the glslang C API, and the GLSL text buffer.
 *
 * glslang keeps process-wide tables that glslang_initialize_process() sets
 * up; it must run once before any compile, so it sits behind a pthread_once
 * (the only process state here, and immutable after it). Compiles
 * themselves are independent and may run on several threads. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glslang/Include/glslang_c_interface.h>
#include <glslang/Public/resource_limits_c.h>

#include "backends/vulkan/lower.h"

static pthread_once_t glslang_once = PTHREAD_ONCE_INIT;
static int glslang_ok;   /* written once inside pthread_once, read after it */

static void glslang_init(void) { glslang_ok = glslang_initialize_process(); }

qc_status qc_vk_compile_glsl(const char *src, const char *what, uint32_t **words, size_t *n) {
    *words = NULL;
    *n = 0;
    pthread_once(&glslang_once, glslang_init);
    if (!glslang_ok) return qc_error(QC_ERR_INTERNAL, "vulkan: glslang_initialize_process failed");
    const glslang_input_t input = {
        .language = GLSLANG_SOURCE_GLSL,
        .stage = GLSLANG_STAGE_COMPUTE,
        .client = GLSLANG_CLIENT_VULKAN,
        /* Vulkan 1.2 / SPIR-V 1.5: the oldest level with everything the
         * shaders use; the integer dot product goes through
         * SPV_KHR_integer_dot_product (core only from SPIR-V 1.6). */
        .client_version = GLSLANG_TARGET_VULKAN_1_2,
        .target_language = GLSLANG_TARGET_SPV,
        .target_language_version = GLSLANG_TARGET_SPV_1_5,
        .code = src,
        .default_version = 450,
        .default_profile = GLSLANG_NO_PROFILE,
        .messages = GLSLANG_MSG_SPV_RULES_BIT | GLSLANG_MSG_VULKAN_RULES_BIT,
        .resource = glslang_default_resource(),   /* must not be NULL in glslang 12 */
    };
    glslang_shader_t *sh = glslang_shader_create(&input);
    if (!sh) return qc_error(QC_ERR_NOMEM, "vulkan: glslang_shader_create failed for %s", what);
    qc_status st = NULL;
    glslang_program_t *prog = NULL;
    if (!glslang_shader_preprocess(sh, &input) || !glslang_shader_parse(sh, &input)) {
        st = qc_error(QC_ERR_INTERNAL, "vulkan: glslang cannot compile the shader of %s: %s", what,
                      glslang_shader_get_info_log(sh));
        goto done;
    }
    prog = glslang_program_create();
    if (!prog) {
        st = qc_error(QC_ERR_NOMEM, "vulkan: glslang_program_create failed for %s", what);
        goto done;
    }
    glslang_program_add_shader(prog, sh);
    if (!glslang_program_link(prog, GLSLANG_MSG_SPV_RULES_BIT | GLSLANG_MSG_VULKAN_RULES_BIT)) {
        st = qc_error(QC_ERR_INTERNAL, "vulkan: glslang cannot link the shader of %s: %s", what,
                      glslang_program_get_info_log(prog));
        goto done;
    }
    glslang_program_SPIRV_generate(prog, GLSLANG_STAGE_COMPUTE);
    size_t count = glslang_program_SPIRV_get_size(prog);   /* 32-bit words */
    if (!count) {
        st = qc_error(QC_ERR_INTERNAL, "vulkan: glslang produced no SPIR-V for %s", what);
        goto done;
    }
    *words = malloc(count * sizeof **words);
    if (!*words) {
        st = qc_error(QC_ERR_NOMEM, "vulkan: out of memory for the SPIR-V of %s", what);
        goto done;
    }
    glslang_program_SPIRV_get(prog, *words);
    *n = count;
done:
    if (prog) glslang_program_delete(prog);
    glslang_shader_delete(sh);
    return st;
}

void qc_vk_text_add(vk_text *t, const char *fmt, ...) {
    if (t->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int w = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
        va_end(ap);
        if (w < 0) {
            t->oom = 1;
            return;
        }
        if (t->s && (size_t)w < room) {
            t->len += (size_t)w;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap - t->len <= (size_t)w) cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}
