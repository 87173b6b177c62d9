/* lower.c — the vulkan lowering: one kernel record per node (a generated
 * GLSL compute shader compiled to SPIR-V, or "ref fallback" with a reason),
 * the modules and one constants blob, written as one section
 * (vk_format.h, docs/backend-vulkan.md).
 *
 * The lowering does not know the device the artifact will run on, so a
 * kernel may carry several variants (e.g. packed int8 dot product and a
 * plain int32 unpack) and the device picks the first whose required
 * features it has. */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "runtime/artifact_format.h"
#include "runtime/model.h"

void qc_vk_push_linear(vk_kernel *k, int64_t a, int64_t bb) {
    if (k->n_push < QC_VK_MAX_PUSH) k->push[k->n_push++] = (vk_push){QC_VK_PUSH_LINEAR, 0, a, bb};
}

void qc_vk_push_value(vk_kernel *k, int32_t value) {
    if (k->n_push < QC_VK_MAX_PUSH)
        k->push[k->n_push++] = (vk_push){QC_VK_PUSH_VALUE_OFFSET, (uint32_t)value, 0, 0};
}

qc_status qc_vk_add_shader(vk_builder *b, const char *src, const char *what, uint32_t local_x,
                           uint32_t requires, uint32_t *index) {
    if (b->n_shaders == b->cap_shaders) {
        int32_t cap = b->cap_shaders ? 2 * b->cap_shaders : 16;
        vk_shader *s = realloc(b->shaders, sizeof *s * (size_t)cap);
        if (!s) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
        b->shaders = s;
        b->cap_shaders = cap;
    }
    vk_shader *s = &b->shaders[b->n_shaders];
    *s = (vk_shader){.local_x = local_x, .requires = requires};
    qc_status st = qc_vk_compile_glsl(src, what, &s->words, &s->n_words);
    if (st) return st;
    *index = (uint32_t)b->n_shaders++;
    return NULL;
}

qc_status qc_vk_add_const(vk_builder *b, const void *data, size_t bytes, uint32_t *off) {
    size_t at = (b->n_consts + 15) & ~(size_t)15;
    if (at + bytes > UINT32_MAX - QC_VK_CONST_ALIGN)
        return qc_error(QC_ERR_UNSUPPORTED, "vulkan: constants blob over 4 GiB");
    if (at + bytes > b->cap_consts) {
        size_t cap = b->cap_consts ? b->cap_consts : 4096;
        while (cap < at + bytes) cap *= 2;
        uint8_t *c = realloc(b->consts, cap);
        if (!c) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory for constants");
        b->consts = c;
        b->cap_consts = cap;
    }
    memset(b->consts + b->n_consts, 0, at - b->n_consts);
    if (bytes) memcpy(b->consts + at, data, bytes);
    b->n_consts = at + bytes;
    *off = (uint32_t)at;
    return NULL;
}

bool qc_vk_count_linear(const qc_type *t, int64_t *a, int64_t *b) {
    int64_t n = 1;
    bool sym = false;
    for (int32_t d = 0; d < t->rank; d++) {
        if (t->dims[d] == QC_DIM_SYM) sym = true;
        else n *= t->dims[d];
        if (n > (1 << 30)) return false;
    }
    *a = sym ? 0 : n;
    *b = sym ? n : 0;
    return true;
}

void qc_vk_glsl_store_word(vk_text *t, const char *yw, const char *left) {
    qc_vk_text_add(t,
                   "  uint yw = %s;\n"
                   "  if (%s < 4u) word |= arena.w[yw] & (0xffffffffu << (8u * (%s)));\n"
                   "  arena.w[yw] = word;\n}\n",
                   yw, left, left);
}

void qc_vk_glsl_head(vk_text *t, bool b8, uint32_t n_push) {
    qc_vk_text_add(t, "#version 450\n");
    if (b8) qc_vk_text_add(t, "#extension GL_EXT_shader_8bit_storage : require\n");
    qc_vk_text_add(t,
                   "layout(local_size_x_id = 0) in;\n"
                   "layout(std430, binding = 0) buffer Arena { uint w[]; } arena;\n");
    /* A second view of the same buffer: byte loads/stores, so parallel
     * invocations writing neighbouring bytes do not race. */
    if (b8) qc_vk_text_add(t, "layout(std430, binding = 0) buffer Arena8 { uint8_t b[]; } arena8;\n");
    qc_vk_text_add(t,
                   "layout(std430, binding = 1) readonly buffer Consts { uint w[]; } cst;\n"
                   "layout(push_constant) uniform P { uint p[%u]; } pc;\n"
                   "#define QC_GID (gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * "
                   "gl_WorkGroupSize.x)\n",
                   n_push ? n_push : 1);
}

qc_status qc_vk_add_body_shader(vk_builder *b, int32_t node, vk_text *body, uint32_t local_x) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    vk_text t = {0};
    qc_vk_glsl_head(&t, false, k->n_push);
    if (body->s) qc_vk_text_add(&t, "%s", body->s);
    qc_status st = t.oom || body->oom ? qc_error(QC_ERR_NOMEM, "out of memory") : NULL;
    free(body->s);
    *body = (vk_text){0};
    if (!st)
        st = qc_vk_add_shader(b, t.s, n->name ? n->name : qc_op_get_info(n->op)->name, local_x, 0,
                              &k->variants[0]);
    free(t.s);
    k->n_variants = 1;
    return st;
}

static qc_status gen_node(vk_builder *b, int32_t i) {
    vk_kernel *k = &b->kernels[i];
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = QC_VK_FB_OP};
    switch (b->g->nodes[i].op) {
    case QC_OP_QGEMM: return qc_vk_gen_qgemm(b, i);
    case QC_OP_QCONV:
    case QC_OP_QLINEAR_CONV: return qc_vk_gen_qconv(b, i);
    case QC_OP_GEMM:
    case QC_OP_MATMUL:
    case QC_OP_FUSED_GEMM:
    case QC_OP_FUSED_MATMUL: return qc_vk_gen_gemm(b, i);
    case QC_OP_QUANTIZE_LINEAR:
    case QC_OP_DEQUANTIZE_LINEAR: return qc_vk_gen_qdq(b, i);
    case QC_OP_RELU:
    case QC_OP_LEAKY_RELU:
    case QC_OP_SIGMOID:
    case QC_OP_TANH:
    case QC_OP_ABS:
    case QC_OP_NEG:
    case QC_OP_EXP:
    case QC_OP_SQRT:
    case QC_OP_CLIP:
    case QC_OP_ADD:
    case QC_OP_SUB:
    case QC_OP_MUL:
    case QC_OP_DIV: return qc_vk_gen_ew(b, i);
    case QC_OP_ELEMENTWISE: return qc_vk_gen_elementwise(b, i);
    case QC_OP_IDENTITY:
    case QC_OP_RESHAPE:
    case QC_OP_FLATTEN:
    case QC_OP_SQUEEZE:
    case QC_OP_UNSQUEEZE: return qc_vk_gen_copy(b, i);
    case QC_OP_QLINEAR_ADD:
    case QC_OP_QLINEAR_MUL: return qc_vk_gen_qelem(b, i);
    case QC_OP_MAX_POOL:
    case QC_OP_AVERAGE_POOL:
    case QC_OP_GLOBAL_AVERAGE_POOL: return qc_vk_gen_pool(b, i);
    case QC_OP_SOFTMAX:
    case QC_OP_LAYER_NORM: return qc_vk_gen_norm(b, i);
    default: return NULL;
    }
}

/* Serializes the builder into one section image. */
static qc_status write_section(const vk_builder *b, uint8_t **out, size_t *len) {
    int32_t nn = b->g->n_nodes;
    size_t kernels_off = QC_VK_HEADER_SIZE;
    size_t shaders_off = kernels_off + (size_t)nn * QC_VK_KERNEL_SIZE;
    size_t spirv_off = shaders_off + (size_t)b->n_shaders * QC_VK_SHADER_SIZE;
    size_t at = spirv_off;
    for (int32_t s = 0; s < b->n_shaders; s++) at += b->shaders[s].n_words * 4;
    size_t consts_off = (at + QC_VK_CONST_ALIGN - 1) / QC_VK_CONST_ALIGN * QC_VK_CONST_ALIGN;
    size_t total = consts_off + b->n_consts;
    if (total > UINT32_MAX) return qc_error(QC_ERR_UNSUPPORTED, "vulkan: section over 4 GiB");
    uint8_t *img = calloc(total ? total : 1, 1);
    if (!img) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory writing the section");
    qc_put32(img + QC_VK_H_MAGIC, QC_VK_MAGIC);
    qc_put32(img + QC_VK_H_VERSION, QC_VK_VERSION);
    qc_put32(img + QC_VK_H_N_NODES, (uint32_t)nn);
    qc_put32(img + QC_VK_H_N_SHADERS, (uint32_t)b->n_shaders);
    qc_put32(img + QC_VK_H_KERNELS_OFF, (uint32_t)kernels_off);
    qc_put32(img + QC_VK_H_SHADERS_OFF, (uint32_t)shaders_off);
    qc_put32(img + QC_VK_H_CONSTS_OFF, (uint32_t)consts_off);
    qc_put32(img + QC_VK_H_CONSTS_SIZE, (uint32_t)b->n_consts);
    for (int32_t i = 0; i < nn; i++) {
        const vk_kernel *k = &b->kernels[i];
        uint8_t *r = img + kernels_off + (size_t)i * QC_VK_KERNEL_SIZE;
        qc_put32(r + QC_VK_K_MODE, k->mode);
        qc_put32(r + QC_VK_K_REASON, k->mode == QC_VK_MODE_REF ? k->reason : 0);
        if (k->mode != QC_VK_MODE_SHADER) continue;
        qc_put32(r + QC_VK_K_N_VARIANTS, k->n_variants);
        for (uint32_t v = 0; v < k->n_variants; v++) qc_put32(r + QC_VK_K_VARIANTS + 4 * v, k->variants[v]);
        qc_put32(r + QC_VK_K_PER_INV, k->per_inv);
        qc_put64(r + QC_VK_K_COUNT_A, (uint64_t)k->count_a);
        qc_put64(r + QC_VK_K_COUNT_B, (uint64_t)k->count_b);
        qc_put32(r + QC_VK_K_N_PUSH, k->n_push);
        for (uint32_t p = 0; p < k->n_push; p++) {
            uint8_t *q = r + QC_VK_K_PUSH + p * QC_VK_PUSH_SIZE;
            qc_put32(q, k->push[p].kind);
            qc_put32(q + 4, k->push[p].value);
            qc_put64(q + 8, (uint64_t)k->push[p].a);
            qc_put64(q + 16, (uint64_t)k->push[p].b);
        }
    }
    at = spirv_off;
    for (int32_t s = 0; s < b->n_shaders; s++) {
        const vk_shader *sh = &b->shaders[s];
        uint8_t *r = img + shaders_off + (size_t)s * QC_VK_SHADER_SIZE;
        qc_put32(r, (uint32_t)at);
        qc_put32(r + 4, (uint32_t)(sh->n_words * 4));
        qc_put32(r + 8, sh->local_x);
        qc_put32(r + 12, sh->requires);
        for (size_t w = 0; w < sh->n_words; w++) qc_put32(img + at + 4 * w, sh->words[w]);
        at += sh->n_words * 4;
    }
    if (b->n_consts) memcpy(img + consts_off, b->consts, b->n_consts);
    *out = img;
    *len = total;
    return NULL;
}

static qc_status vulkan_lower(const qc_graph *g, const qc_plan *plan, const qc_compile_options *o,
                              qc_code_sections *out) {
    (void)o;
    if (!plan || plan->n_values != g->n_values)
        return qc_error(QC_ERR_INTERNAL, "vulkan: no memory plan for '%s'", g->name);
    vk_builder b = {.g = g, .plan = plan};
    b.kernels = calloc((size_t)g->n_nodes + 1, sizeof *b.kernels);
    qc_status st = b.kernels ? NULL : qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    for (int32_t i = 0; i < g->n_nodes && !st; i++) {
        st = gen_node(&b, i);
        if (st) st = qc_status_wrap(st, "vulkan: node '%s'", g->nodes[i].name ? g->nodes[i].name : "?");
    }
    uint8_t *img = NULL;
    size_t len = 0;
    if (!st) st = write_section(&b, &img, &len);
    if (!st) st = qc_code_sections_add(out, QC_SEC_TARGET, QC_TARGET_VULKAN, img, len);
    for (int32_t s = 0; s < b.n_shaders; s++) free(b.shaders[s].words);
    free(b.shaders);
    free(b.consts);
    free(b.kernels);
    return st;
}

const qc_target_lowering qc_vulkan_lowering = {
    .name = "vulkan",
    .target = QC_TARGET_VULKAN,
    .lower = vulkan_lower,
};
