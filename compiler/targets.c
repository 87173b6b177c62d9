/* targets.c — which code generators this libqcomp has, and target lists. */
#define _GNU_SOURCE   /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/target.h"
#include "runtime/model.h"

/* The code generators built with this libqcomp. Each lives in its own
 * shared library (libqcomp_<b>.so, next to libqcomp) opened on first use:
 * LLVM, glslang and NVRTC then cost nothing to a process that never
 * compiles for their target. A constant table, so no mutable state; dlopen
 * reference-counts the handles and they are never closed (JIT'd code and
 * its release functions live in the plugin). */
typedef struct plugin {
    const char *name;
    uint32_t target;
    const char *library, *symbol;
} plugin;

static const plugin plugins[] = {
#ifdef QC_HAVE_CPU
    {"cpu", QC_TARGET_CPU, "libqcomp_cpu.so", "qc_cpu_lowering"},
#endif
#ifdef QC_HAVE_VULKAN
    {"vulkan", QC_TARGET_VULKAN, "libqcomp_vulkan.so", "qc_vulkan_lowering"},
#endif
#ifdef QC_HAVE_CUDA
    {"cuda", QC_TARGET_CUDA, "libqcomp_cuda.so", "qc_cuda_lowering"},
#endif
    {NULL, 0, NULL, NULL},   /* keeps the array non-empty when no backend is built */
};

#define N_PLUGINS ((int32_t)(sizeof plugins / sizeof plugins[0]) - 1)

int32_t qc_target_lowering_count(void) { return N_PLUGINS; }

const char *qc_target_lowering_name(int32_t i) {
    return i >= 0 && i < N_PLUGINS ? plugins[i].name : NULL;
}

uint32_t qc_target_lowering_target(int32_t i) {
    return i >= 0 && i < N_PLUGINS ? plugins[i].target : QC_TARGET_NONE;
}

int32_t qc_target_lowering_index(const char *name) {
    for (int32_t i = 0; name && i < N_PLUGINS; i++)
        if (!strcmp(plugins[i].name, name)) return i;
    return -1;
}

/* Opens the plugin from libqcomp's own directory first (build tree and
 * install prefix alike), then through the loader's search path. */
static void *open_plugin(const plugin *p, char *err, size_t n) {
    Dl_info info;
    void *h = NULL;
    if (dladdr((void *)&qc_target_lowering_get, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        if (slash) {
            char path[4096];
            int len = snprintf(path, sizeof path, "%.*s/%s", (int)(slash - info.dli_fname),
                               info.dli_fname, p->library);
            if (len > 0 && (size_t)len < sizeof path) h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (!h) snprintf(err, n, "%s", dlerror());
        }
    }
    if (!h) h = dlopen(p->library, RTLD_NOW | RTLD_LOCAL);
    if (!h && !err[0]) snprintf(err, n, "%s", dlerror());
    return h;
}

qc_status qc_target_lowering_get(int32_t i, const qc_target_lowering **out) {
    *out = NULL;
    if (i < 0 || i >= N_PLUGINS)
        return qc_error(QC_ERR_NOT_FOUND, "no code generator #%d in this build", (int)i);
    const plugin *p = &plugins[i];
    char err[512] = "";
    void *h = open_plugin(p, err, sizeof err);
    if (!h)
        return qc_error(QC_ERR_NOT_FOUND, "target '%s': cannot load its code generator %s: %s",
                        p->name, p->library, err);
    const qc_target_lowering *l = dlsym(h, p->symbol);
    if (!l || !l->lower || l->target != p->target)
        return qc_error(QC_ERR_INVALID, "target '%s': %s does not define a valid %s", p->name,
                        p->library, p->symbol);
    *out = l;
    return NULL;
}

const char *qc_compile_targets_available(void) {
    /* Fixed by the build, so a static string is no mutable state. */
    return "ref"
#ifdef QC_HAVE_CPU
           ",cpu"
#endif
#ifdef QC_HAVE_VULKAN
           ",vulkan"
#endif
#ifdef QC_HAVE_CUDA
           ",cuda"
#endif
        ;
}

static qc_status one_target(const char *name, size_t len, uint32_t *targets) {
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return qc_error(QC_ERR_INVALID, "empty or overlong entry in the target list");
    memcpy(buf, name, len);
    buf[len] = 0;
    if (!strcmp(buf, "ref")) {
        *targets |= 1u << QC_TARGET_REF;
        return NULL;
    }
    int32_t k = qc_target_lowering_index(buf);
    if (k >= 0) {
        *targets |= 1u << qc_target_lowering_target(k);
        return NULL;
    }
    if (!strcmp(buf, "cpu") || !strcmp(buf, "vulkan") || !strcmp(buf, "cuda"))
        return qc_error(QC_ERR_UNSUPPORTED,
                        "target '%s' is not built into this qcomp (available: %s; "
                        "scripts/setup.sh installs its packages, then rebuild)",
                        buf, qc_compile_targets_available());
    return qc_error(QC_ERR_NOT_FOUND, "unknown target '%s' (available: %s)", buf,
                    qc_compile_targets_available());
}

qc_status qc_target_list_parse(const char *list, uint32_t *targets) {
    *targets = 0;
    if (!list || !*list) list = "ref";
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        qc_status st = one_target(p, len, targets);
        if (st) return st;
        if (!comma) break;
        p = comma + 1;
    }
    return NULL;
}

qc_status qc_code_sections_add(qc_code_sections *l, uint32_t kind, uint32_t target,
                               uint8_t *data, size_t len) {
    if (l->n == l->cap) {
        int32_t cap = l->cap ? 2 * l->cap : 8;
        qc_code_section *s = realloc(l->secs, sizeof *s * (size_t)cap);
        if (!s) {
            free(data);
            return qc_error(QC_ERR_NOMEM, "out of memory adding a code section");
        }
        l->secs = s;
        l->cap = cap;
    }
    l->secs[l->n++] = (qc_code_section){kind, target, data, len};
    return NULL;
}

void qc_code_sections_free(qc_code_sections *l) {
    for (int32_t i = 0; i < l->n; i++) free(l->secs[i].data);
    free(l->secs);
    if (l->code.release) l->code.release(l->code.ctx);
    *l = (qc_code_sections){0};
}
