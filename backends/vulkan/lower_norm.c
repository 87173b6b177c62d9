/* lower_norm.c — shader generator for Softmax (f32, the last axis) and
 * LayerNormalization (f32, rows = the dims from `axis` on, Scale and the
 * optional B of the row's shape or one element, constant or in the arena;
 * the optional Mean / InvStdDev outputs, f32). Anything else falls back to
 * ref with a reason.
 *
 * Shape: one workgroup of WG invocations per row; each invocation strides
 * over the row, then shared-memory trees reduce (max, sums), so a row may
 * have any length (1 .. millions) at WG-way parallelism.
 *
 * Numerics (backends/ref/nn.c is the oracle, computing in double;
 * docs/backend-vulkan.md):
 *   - Softmax: ref's max treats NaN as the maximum, so a NaN in the row
 *     makes it NaN throughout; a +inf, or a row that is all -inf, gives
 *     exp(inf - inf) = NaN throughout too. The shader finds those cases with
 *     integer tests on the bits (the spec lets float NaN tests be optimized
 *     away) and writes NaN to the whole row. Otherwise y = exp(x - max) /
 *     sum, with exp(-inf entries) = 0 by an integer test; exp is 3 + 2|x|
 *     ULP and OpFDiv 2.5 ULP, so the result has a tolerance (tests: |d| <=
 *     1e-5 |ref| + 1e-6 per element, as the cpu backend).
 *   - LayerNormalization: mean from an error-free TwoSum-compensated sum
 *     (as lower_pool.c), variance from the centred squares (positive terms:
 *     a tree sum errs by ~log2(len) ULP), inv = 1 / sqrt(var + eps), y =
 *     (x - mean) * inv * scale + b, every step `precise`. A non-finite entry
 *     makes ref's whole row NaN (inf - inf in the variance), so the shader
 *     writes NaN to the row. Tolerance as Softmax. Not covered: rows whose
 *     fp32 squares overflow (|x - mean| > 1.8e19). */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"

#define WG 128

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

/* Rows of length len (dims[ax..rank), all static) as a + b * batch. */
static bool rows_of(const qc_type *t, int32_t ax, int64_t *len, int64_t *ra, int64_t *rb) {
    if (ax < 0 || ax >= t->rank) return false;
    int64_t l = 1, r = 1;
    bool sym = false;
    for (int32_t d = 0; d < t->rank; d++) {
        if (t->dims[d] == QC_DIM_SYM) {
            if (d >= ax) return false;
            sym = true;
        } else if (d >= ax) {
            l *= t->dims[d];
        } else {
            r *= t->dims[d];
        }
        if (l > (1 << 30) || r > (1 << 30)) return false;
    }
    if (l < 1 || r * WG > (1 << 30)) return false;
    *len = l;
    *ra = sym ? 0 : r;
    *rb = sym ? r : 0;
    return true;
}

/* GLSL expression for element j of Scale / B (input id): the row's shape
 * (leading 1s dropped, matching x's trailing dims) or one element. */
static qc_status param_expr(vk_builder *b, vk_kernel *k, int32_t id, const qc_type *x, int64_t len, char *expr,
                            size_t cap, bool *ok) {
    const qc_value *p = &b->g->values[id];
    *ok = false;
    if (p->type.dtype != QC_F32) return NULL;
    int64_t n = 1;
    for (int32_t d = 0; d < p->type.rank; d++) {
        if (p->type.dims[d] == QC_DIM_SYM) return NULL;
        n *= p->type.dims[d];
    }
    const char *idx = "j";
    if (n == 1) {
        idx = "0u";
    } else {
        if (n != len) return NULL;
        int32_t lead = 0;
        while (lead < p->type.rank && p->type.dims[lead] == 1) lead++;
        int32_t r = p->type.rank - lead;
        if (r > x->rank) return NULL;
        for (int32_t d = 0; d < r; d++)
            if (p->type.dims[lead + d] != x->dims[x->rank - r + d]) return NULL;
    }
    if (p->data) {
        uint32_t off;
        qc_status st = qc_vk_add_const(b, p->data, (size_t)n * sizeof(float), &off);
        if (st) return st;
        snprintf(expr, cap, "uintBitsToFloat(cst.w[%uu + %s])", off / 4, idx);
    } else {
        if (k->n_push >= QC_VK_MAX_PUSH) return NULL;
        snprintf(expr, cap, "uintBitsToFloat(arena.w[pc.p[%u] / 4u + %s])", k->n_push, idx);
        qc_vk_push_value(k, id);
    }
    *ok = true;
    return NULL;
}

/* Shared part: the max-key and flag trees, the compensated sum
 * (glsl_sum.c), and main's head with the row bases: each op's text
 * continues main's body. */
static void common_glsl(vk_text *t, int64_t len) {
    qc_vk_text_add(t,
                   "#define WG %du\n"
                   "const uint LEN = %lluu;\n"
                   "shared float rs[WG], rc[WG];\n"
                   "shared uint ru[WG];\n"
                   /* OR-reduce of u (flags) or max-reduce, over the workgroup */
                   "uint reduce_u(uint u, bool is_max, uint lid) {\n"
                   "  ru[lid] = u;\n"
                   "  barrier();\n"
                   "  for (uint h = WG / 2u; h > 0u; h >>= 1) {\n"
                   "    if (lid < h) ru[lid] = is_max ? max(ru[lid], ru[lid + h]) : (ru[lid] | ru[lid + h]);\n"
                   "    barrier();\n"
                   "  }\n"
                   "  uint r = ru[0];\n"
                   "  barrier();\n"
                   "  return r;\n"
                   "}\n"
                   "float reduce_sum(float s, uint lid) {\n"
                   "  rs[lid] = s;\n"
                   "  barrier();\n"
                   "  for (uint h = WG / 2u; h > 0u; h >>= 1) {\n"
                   "    if (lid < h) { precise float v = rs[lid] + rs[lid + h]; rs[lid] = v; }\n"
                   "    barrier();\n"
                   "  }\n"
                   "  float r = rs[0];\n"
                   "  barrier();\n"
                   "  return r;\n"
                   "}\n",
                   WG, (unsigned long long)len);
    qc_vk_glsl_twosum(t);
    qc_vk_glsl_sum_tree(t);
    /* main's head: one workgroup per row, x / y row bases in words */
    qc_vk_text_add(t, "%s",
                   "void main() {\n"
                   "  uint gid = QC_GID, lid = gl_LocalInvocationID.x;\n"
                   "  if (gid >= pc.p[0]) return;   /* whole workgroups: uniform */\n"
                   "  uint row = gid / WG, xb = pc.p[1] / 4u + row * LEN, yb = pc.p[2] / 4u + row * LEN;\n");
}

static qc_status gen_softmax(vk_builder *b, int32_t node, const qc_value *X, int64_t len, vk_text *t) {
    (void)b, (void)node, (void)X;
    common_glsl(t, len);
    qc_vk_text_add(t,
                   "  uint mkey = 0u, bad = 0u;\n"
                   "  for (uint j = lid; j < LEN; j += WG) {\n"
                   "    uint v = arena.w[xb + j], mag = v & 0x7fffffffu;\n"
                   "    if (mag >= 0x7f800000u && v != 0xff800000u) bad = 1u;   /* NaN or +inf */\n"
                   "    mkey = max(mkey, (v >> 31) != 0u ? 0x80000000u - mag : 0x80000000u + mag);\n"
                   "  }\n"
                   "  mkey = reduce_u(mkey, true, lid);\n"
                   "  bad = reduce_u(bad, false, lid);\n"
                   "  /* all -inf: key of -inf is 0x80000000 - 0x7f800000 */\n"
                   "  if (bad != 0u || mkey <= 0x00800000u) {\n"
                   "    for (uint j = lid; j < LEN; j += WG) arena.w[yb + j] = 0x7fc00000u;\n"
                   "    return;\n"
                   "  }\n"
                   "  uint mb = mkey >= 0x80000000u ? mkey - 0x80000000u : (0x80000000u - mkey) | 0x80000000u;\n"
                   "  float mx = uintBitsToFloat(mb);\n"
                   "  float s = 0.0;\n"
                   "  for (uint j = lid; j < LEN; j += WG) {\n"
                   "    uint v = arena.w[xb + j];\n"
                   "    precise float e = v == 0xff800000u ? 0.0 : exp(uintBitsToFloat(v) - mx);\n"
                   "    s += e;\n"
                   "  }\n"
                   "  float sum = reduce_sum(s, lid);\n"
                   "  for (uint j = lid; j < LEN; j += WG) {\n"
                   "    uint v = arena.w[xb + j];\n"
                   "    precise float e = v == 0xff800000u ? 0.0 : exp(uintBitsToFloat(v) - mx);\n"
                   "    precise float y = e / sum;\n"
                   "    arena.w[yb + j] = floatBitsToUint(y);\n"
                   "  }\n"
                   "}\n");
    return NULL;
}

static qc_status gen_layernorm(vk_builder *b, int32_t node, const qc_value *X, int64_t len, vk_text *t,
                               bool *ok) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    char se[96], be[96] = "0.0";
    bool has_b = n->n_in > 2 && n->in[2] >= 0, ok_s = false, ok_b = !has_b;
    *ok = false;
    if (n->n_in < 2 || n->in[1] < 0) return NULL;
    qc_status st = param_expr(b, k, n->in[1], &X->type, len, se, sizeof se, &ok_s);
    if (!st && ok_s && has_b) st = param_expr(b, k, n->in[2], &X->type, len, be, sizeof be, &ok_b);
    if (st || !ok_s || !ok_b) return st;
    /* epsilon as ref reads it: the float attribute, widened */
    float eps = qc_attr_float(n, "epsilon", 1e-5f);
    uint32_t eb;
    memcpy(&eb, &eps, sizeof eb);
    common_glsl(t, len);
    qc_vk_text_add(t,
                   "  float s = 0.0, c = 0.0;\n"
                   "  uint bad = 0u;\n"
                   "  for (uint j = lid; j < LEN; j += WG) {\n"
                   "    uint v = arena.w[xb + j];\n"
                   "    if ((v & 0x7f800000u) == 0x7f800000u) bad = 1u;   /* NaN or inf */\n"
                   "    acc(s, c, uintBitsToFloat(v));\n"
                   "  }\n"
                   "  bad = reduce_u(bad, false, lid);\n"
                   "  sum_tree(s, c, lid);\n"
                   "  /* a non-finite entry: ref's mean is the (inf / NaN) sum / LEN, the rest NaN */\n"
                   "  if (bad != 0u) {\n"
                   "    precise float m = rs[0] / float(LEN);\n"
                   "    for (uint j = lid; j < LEN; j += WG) arena.w[yb + j] = 0x7fc00000u;\n"
                   "    if (lid == 0u && pc.p[3] != 0xffffffffu) arena.w[pc.p[3] / 4u + row] = floatBitsToUint(m);\n"
                   "    if (lid == 0u && pc.p[4] != 0xffffffffu) arena.w[pc.p[4] / 4u + row] = 0x7fc00000u;\n"
                   "    return;\n"
                   "  }\n"
                   "  precise float tot = rs[0] + rc[0];\n"
                   "  precise float mean = tot / float(LEN);\n"
                   "  barrier();\n"
                   "  float q = 0.0;\n"
                   "  for (uint j = lid; j < LEN; j += WG) {\n"
                   "    precise float d = uintBitsToFloat(arena.w[xb + j]) - mean;\n"
                   "    precise float q2 = q + d * d;\n"
                   "    q = q2;\n"
                   "  }\n"
                   "  float sq = reduce_sum(q, lid);\n"
                   "  precise float var = sq / float(LEN) + uintBitsToFloat(0x%xu);\n"
                   "  precise float inv = 1.0 / sqrt(var);\n"
                   "  if (lid == 0u && pc.p[3] != 0xffffffffu) arena.w[pc.p[3] / 4u + row] = floatBitsToUint(mean);\n"
                   "  if (lid == 0u && pc.p[4] != 0xffffffffu) arena.w[pc.p[4] / 4u + row] = floatBitsToUint(inv);\n"
                   "  for (uint j = lid; j < LEN; j += WG) {\n"
                   "    precise float d = uintBitsToFloat(arena.w[xb + j]) - mean;\n"
                   "    precise float y = d * inv * %s + %s;\n"
                   "    arena.w[yb + j] = floatBitsToUint(y);\n"
                   "  }\n"
                   "}\n",
                   eb, se, be);
    *ok = true;
    return NULL;
}

qc_status qc_vk_gen_norm(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    bool softmax = n->op == QC_OP_SOFTMAX;
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return fallback(k, QC_VK_FB_SHAPE), NULL;
    const qc_value *X = &b->g->values[n->in[0]], *Y = &b->g->values[n->out[0]];
    if (X->type.dtype != QC_F32 || Y->type.dtype != QC_F32) return fallback(k, QC_VK_FB_DTYPE), NULL;
    if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    if (!qc_type_equal(&X->type, &Y->type)) return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t axis = qc_attr_int(n, "axis", -1);
    int32_t ax = (int32_t)(axis < 0 ? axis + X->type.rank : axis);
    /* Softmax over an inner axis would need strided rows: not covered. */
    if (softmax && ax != X->type.rank - 1) return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t len, ra, rb;
    if (!rows_of(&X->type, ax, &len, &ra, &rb)) return fallback(k, QC_VK_FB_SHAPE), NULL;
    /* LayerNorm's Mean / InvStdDev: f32, one element per row, in row order. */
    for (int32_t o = 1; o < n->n_out; o++) {
        if (n->out[o] < 0) continue;
        const qc_type *mt = &b->g->values[n->out[o]].type;
        int64_t ma, mb;
        if (softmax || o > 2 || mt->dtype != QC_F32 || !qc_vk_count_linear(mt, &ma, &mb) || ma != ra || mb != rb)
            return fallback(k, QC_VK_FB_SHAPE), NULL;
    }
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 1, .count_a = ra * WG, .count_b = rb * WG};
    qc_vk_push_linear(k, ra * WG, rb * WG);
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    if (!softmax)   /* pc.p[3], pc.p[4]: Mean / InvStdDev offsets, or ~0u when not requested */
        for (int32_t o = 1; o < 3; o++) {
            if (o < n->n_out && n->out[o] >= 0) qc_vk_push_value(k, n->out[o]);
            else qc_vk_push_linear(k, 0xffffffff, 0);
        }
    vk_text body = {0};
    bool ok = true;
    qc_status st = softmax ? gen_softmax(b, node, X, len, &body) : gen_layernorm(b, node, X, len, &body, &ok);
    if (st || !ok) {
        free(body.s);
        if (!st) fallback(k, QC_VK_FB_SHAPE);
        return st;
    }
    return qc_vk_add_body_shader(b, node, &body, WG);
}
