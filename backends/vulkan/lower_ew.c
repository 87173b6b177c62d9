/* lower_ew.c — shader generator for the fp32 elementwise ops: unary Relu,
 * LeakyRelu, Sigmoid, Tanh, Abs, Neg, Exp, Sqrt, Clip (constant bounds)
 * and binary Add, Sub, Mul, Div with numpy broadcasting of the forms
 * "same shape", "one element" and "trailing dims" ([N, C] + [C], [B, H, W]
 * + [1, W], ...); qc.Elementwise, whose `program` steps are those same ops
 * (and Identity) evaluated per element in one shader; and the pure copies
 * (Identity, Reshape, Flatten, Squeeze, Unsqueeze). Anything else falls
 * back to ref with a reason.
 *
 * Numerics (Vulkan spec, appendix "Precision and Operation of SPIR-V
 * Instructions"; docs/backend-vulkan.md):
 *   - Relu, Abs, Neg, Clip and LeakyRelu's select work on the fp32 bit
 *     patterns with integer instructions: exact (NaN, -0, denormals and
 *     infinities included) whatever the device's float controls; a
 *     signaling NaN comes out quieted, as from ref's double round trip.
 *   - Add, Sub, Mul and LeakyRelu's alpha * x: OpFAdd / OpFSub / OpFMul are
 *     correctly rounded; `precise` (NoContraction) keeps them single
 *     operations, so results are bit-identical to ref where the device
 *     rounds to nearest even and keeps denormals (as lavapipe and the
 *     desktop drivers do for fp32; declaring RoundingModeRTE is the planned
 *     hardening, as for QGemm).
 *   - Div (OpFDiv: 2.5 ULP), Sqrt (inherited from 1 / inversesqrt: not
 *     correctly rounded), Exp (3 + 2|x| ULP), Sigmoid and Tanh (built from
 *     exp and a divide) have a tolerance, not bit-identity. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"
#include "ops/prog.h"

#define LOCAL_X 64

static const qc_value *val(const vk_builder *b, int32_t v) { return v >= 0 ? &b->g->values[v] : NULL; }

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Same order-preserving key as lower_qdq.c (and the shader's). */
static uint32_t float_key(uint32_t bits) {
    uint32_t mag = bits & 0x7fffffffu;
    return bits >> 31 ? 0x80000000u - mag : 0x80000000u + mag;
}

/* A Clip bound: the constant value `id` if present (an f32 with an
 * entry), else v (the float attribute of opset 6, or `none`); as
 * backends/ref/elementwise.c clip_bounds. A NaN bound never clamps there
 * (x < NaN is false), so it becomes the infinity that does not either. */
static bool clip_value(const vk_builder *b, int32_t id, float v, float none, float *out) {
    if (id >= 0) {
        const qc_value *x = val(b, id);
        if (!x->data || x->type.dtype != QC_F32 || qc_type_numel(&x->type) < 1) return false;
        memcpy(&v, x->data, sizeof v);
    }
    *out = isnan(v) ? none : v;
    return true;
}

/* The parameters of a unary op: LeakyRelu's alpha, Clip's bounds. */
typedef struct unary_par {
    float alpha, lo, hi;
} unary_par;

/* GLSL of the unary function `uint <name>(uint b)` on fp32 bits; false if
 * op is not one this covers. */
static bool unary_fn(vk_text *t, const char *name, qc_op op, const unary_par *p) {
    switch (op) {
    case QC_OP_RELU: case QC_OP_ABS: case QC_OP_NEG: case QC_OP_LEAKY_RELU: case QC_OP_CLIP:
    case QC_OP_SIGMOID: case QC_OP_EXP: case QC_OP_SQRT: case QC_OP_TANH: case QC_OP_IDENTITY: break;
    default: return false;
    }
    qc_vk_text_add(t,
                   "uint %s(uint b) {\n"
                   "  uint mag = b & 0x7fffffffu;\n"
                   "  bool nan = mag > 0x7f800000u;\n"
                   "  bool neg = (b >> 31) != 0u && mag != 0u && !nan;   /* x < 0 */\n"
                   "  uint q = nan ? 0x400000u : 0u;\n"
                   "  float x = uintBitsToFloat(b);\n",
                   name);
    switch (op) {
    case QC_OP_IDENTITY: qc_vk_text_add(t, "  return b;\n"); break;
    /* q: ref evaluates these in double, and the float -> double
     * conversion quiets a signaling NaN (sets bit 22); so does the shader. */
    case QC_OP_RELU: qc_vk_text_add(t, "  return neg ? 0u : b | q;\n"); break;
    case QC_OP_ABS: qc_vk_text_add(t, "  return mag | q;\n"); break;
    case QC_OP_NEG: qc_vk_text_add(t, "  return (b ^ 0x80000000u) | q;\n"); break;
    case QC_OP_LEAKY_RELU:
        qc_vk_text_add(t, "  if (!neg) return b | q;\n  precise float y = x * uintBitsToFloat(0x%xu);\n"
                          "  return floatBitsToUint(y);\n",
                       f32_bits(p->alpha));
        break;
    case QC_OP_CLIP: {
        float lo = p->lo, hi = p->hi;
        /* max(x, lo) then min(., hi), on keys: lo > hi gives hi, NaN passes. */
        qc_vk_text_add(t,
                       "  if (nan) return b | q;\n"
                       "  uint k = (b >> 31) != 0u ? 0x80000000u - mag : 0x80000000u + mag;\n"
                       "  if (k < 0x%xu) { b = 0x%xu; k = 0x%xu; }\n"
                       "  if (k > 0x%xu) b = 0x%xu;\n"
                       "  return b;\n",
                       float_key(f32_bits(lo)), f32_bits(lo), float_key(f32_bits(lo)), float_key(f32_bits(hi)),
                       f32_bits(hi));
        break;
    }
    case QC_OP_SIGMOID: qc_vk_text_add(t, "  if (nan) return b | 0x400000u;\n  precise float y = 1.0 / (1.0 + exp(-x));\n"
                                          "  return floatBitsToUint(y);\n"); break;
    case QC_OP_EXP: qc_vk_text_add(t, "  if (nan) return b | 0x400000u;\n  precise float y = exp(x);\n"
                                      "  return floatBitsToUint(y);\n"); break;
    case QC_OP_SQRT: qc_vk_text_add(t, "  if (nan) return b | 0x400000u;\n  precise float y = sqrt(x);\n"
                                       "  return floatBitsToUint(y);\n"); break;
    case QC_OP_TANH:
        /* Not GLSL tanh: the spec inherits it from sinh / cosh, whose exps
         * overflow to inf / inf for |x| > 44. Odd series below 0.125 (the
         * next term is < 1e-11 relative), 1 - 2 / (e^2|x| + 1) above, |x|
         * capped at 10 where tanh is 1 in fp32. */
        qc_vk_text_add(t,
                       "  if (nan) return b | 0x400000u;\n"
                       "  float ax = uintBitsToFloat(mag);\n"
                       "  precise float y;\n"
                       "  if (ax < 0.125) {\n"
                       "    float x2 = x * x;\n"
                       "    y = x + x * x2 * (-0.333333333333 + x2 * (0.133333333333 + x2 * "
                       "(-0.0539682539683 + x2 * 0.0218694885362)));\n"
                       "  } else {\n"
                       "    float e = exp(2.0 * min(ax, 10.0));\n"
                       "    y = 1.0 - 2.0 / (e + 1.0);\n"
                       "    if (neg) y = -y;\n"
                       "  }\n"
                       "  return floatBitsToUint(y);\n");
        break;
    default: return false;
    }
    qc_vk_text_add(t, "}\n");
    return true;
}

/* unary_fn `un` for a plain node; false if a Clip bound is not a constant. */
static bool unary_glsl(const vk_builder *b, const qc_node *n, vk_text *t) {
    unary_par p = {.alpha = qc_attr_float(n, "alpha", 0.01f)};
    if (n->op == QC_OP_CLIP &&
        (!clip_value(b, n->n_in > 1 ? n->in[1] : -1, qc_attr_float(n, "min", -INFINITY), -INFINITY, &p.lo) ||
         !clip_value(b, n->n_in > 2 ? n->in[2] : -1, qc_attr_float(n, "max", INFINITY), INFINITY, &p.hi)))
        return false;
    return unary_fn(t, "un", n->op, &p);
}

/* How a binary operand's element is found from the output index gid. */
typedef struct operand {
    char expr[96];
} operand;

/* Classifies x against the output type y: one element, the same shape, or
 * y's trailing dims (leading 1s of x dropped, every dim static); a
 * constant goes to the constants blob, an arena value to a push constant.
 * *ok false: a broadcast this does not cover. */
static qc_status binary_operand(vk_builder *b, vk_kernel *k, int32_t id, const qc_type *y, operand *o,
                                bool *ok) {
    const qc_value *x = val(b, id);
    const qc_type *xt = &x->type;
    *ok = false;
    if (xt->dtype != QC_F32) return NULL;
    char idx[40];
    bool sym = false;
    int64_t n = 1;
    for (int32_t d = 0; d < xt->rank; d++) {
        if (xt->dims[d] == QC_DIM_SYM) sym = true;
        else n *= xt->dims[d];
    }
    bool same = xt->rank == y->rank;
    for (int32_t d = 0; same && d < y->rank; d++) same = xt->dims[d] == y->dims[d];
    if (!sym && n == 1) {
        snprintf(idx, sizeof idx, "0u");
    } else if (same) {
        snprintf(idx, sizeof idx, "gid");
    } else {
        int32_t lead = 0;
        while (lead < xt->rank && xt->dims[lead] == 1) lead++;
        int32_t r = xt->rank - lead;
        if (sym || r > y->rank) return NULL;
        for (int32_t d = 0; d < r; d++)
            if (xt->dims[lead + d] != y->dims[y->rank - r + d]) return NULL;
        snprintf(idx, sizeof idx, "(gid %% %lluu)", (unsigned long long)n);
    }
    if (x->data) {
        uint32_t off;
        qc_status st = qc_vk_add_const(b, x->data, (size_t)n * sizeof(float), &off);
        if (st) return st;
        snprintf(o->expr, sizeof o->expr, "uintBitsToFloat(cst.w[%uu + %s])", off / 4, idx);
    } else {
        if (k->n_push >= QC_VK_MAX_PUSH) return NULL;
        snprintf(o->expr, sizeof o->expr, "uintBitsToFloat(arena.w[pc.p[%u] / 4u + %s])", k->n_push, idx);
        qc_vk_push_value(k, id);
    }
    *ok = true;
    return NULL;
}

qc_status qc_vk_gen_ew(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    bool binary = n->op == QC_OP_ADD || n->op == QC_OP_SUB || n->op == QC_OP_MUL || n->op == QC_OP_DIV;
    const qc_value *X = val(b, n->in[0]), *Y = val(b, n->out[0]);
    if (!X || !Y || (binary && (n->n_in < 2 || n->in[1] < 0))) return fallback(k, QC_VK_FB_SHAPE), NULL;
    if (X->type.dtype != QC_F32 || Y->type.dtype != QC_F32) return fallback(k, QC_VK_FB_DTYPE), NULL;
    int64_t ca, cb;
    if (!qc_vk_count_linear(&Y->type, &ca, &cb)) return fallback(k, QC_VK_FB_SIZE), NULL;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 1, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);
    vk_text body = {0};
    qc_status st = NULL;
    if (binary) {
        operand oa, ob;
        bool ok_a = false, ok_b = false;
        qc_vk_push_value(k, n->out[0]);
        st = binary_operand(b, k, n->in[0], &Y->type, &oa, &ok_a);
        if (!st && ok_a) st = binary_operand(b, k, n->in[1], &Y->type, &ob, &ok_b);
        if (st) return st;
        if (!ok_a || !ok_b) return fallback(k, QC_VK_FB_SHAPE), NULL;
        const char *sym = n->op == QC_OP_ADD ? "+" : n->op == QC_OP_SUB ? "-" : n->op == QC_OP_MUL ? "*" : "/";
        qc_vk_text_add(&body,
                       "void main() {\n  uint gid = QC_GID;\n  if (gid >= pc.p[0]) return;\n"
                       "  float a = %s, b = %s;\n  precise float y = a %s b;\n"
                       "  arena.w[pc.p[1] / 4u + gid] = floatBitsToUint(y);\n}\n",
                       oa.expr, ob.expr, sym);
    } else {
        if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
        if (!qc_type_equal(&X->type, &Y->type)) return fallback(k, QC_VK_FB_SHAPE), NULL;
        qc_vk_push_value(k, n->in[0]);
        qc_vk_push_value(k, n->out[0]);
        if (!unary_glsl(b, n, &body)) {   /* a Clip bound that is not a constant */
            free(body.s);
            return fallback(k, QC_VK_FB_SHAPE), NULL;
        }
        qc_vk_text_add(&body,
                       "void main() {\n  uint gid = QC_GID;\n  if (gid >= pc.p[0]) return;\n"
                       "  arena.w[pc.p[2] / 4u + gid] = un(arena.w[pc.p[1] / 4u + gid]);\n}\n");
    }
    return qc_vk_add_body_shader(b, node, &body, LOCAL_X);
}

/* ---- qc.Elementwise ---------------------------------------------------------------- */

/* One program step's GLSL (`v` is the running value's bits in main; unary
 * steps become functions s<i> in fns). false: a step this does not cover. */
static qc_status prog_step(vk_builder *b, const qc_node *n, vk_kernel *k, const qc_prog_step *s, int32_t i,
                           const qc_type *y, vk_text *fns, vk_text *body, bool *ok) {
    *ok = false;
    bool binary = s->op == QC_OP_ADD || s->op == QC_OP_SUB || s->op == QC_OP_MUL || s->op == QC_OP_DIV;
    if (binary) {
        if (s->n_in != 2) return NULL;
        operand o[2];
        for (int j = 0; j < 2; j++) {
            if (s->in[j] < 0) {
                snprintf(o[j].expr, sizeof o[j].expr, "uintBitsToFloat(v)");
                continue;
            }
            bool good = false;
            qc_status st = binary_operand(b, k, n->in[s->in[j]], y, &o[j], &good);
            if (st || !good) return st;
        }
        const char *sym = s->op == QC_OP_ADD ? "+" : s->op == QC_OP_SUB ? "-" : s->op == QC_OP_MUL ? "*" : "/";
        qc_vk_text_add(body, "  { float a = %s, b = %s; precise float r = a %s b; v = floatBitsToUint(r); }\n",
                       o[0].expr, o[1].expr, sym);
        *ok = true;
        return NULL;
    }
    /* unary: the running value first; Clip's bounds constant node inputs or
     * the step's min / max (as ref runs the step: the unfused kernel). */
    if (s->n_in < 1 || s->in[0] >= 0 || (s->op != QC_OP_CLIP && s->n_in != 1) || s->n_in > 3) return NULL;
    unary_par p = {.alpha = qc_prog_step_attr(s, "alpha", 0.01f)};
    if (s->op == QC_OP_CLIP) {
        for (int j = 1; j < s->n_in; j++)
            if (s->in[j] < 0) return NULL;
        if (!clip_value(b, s->n_in > 1 ? n->in[s->in[1]] : -1, qc_prog_step_attr(s, "min", -INFINITY),
                        -INFINITY, &p.lo) ||
            !clip_value(b, s->n_in > 2 ? n->in[s->in[2]] : -1, qc_prog_step_attr(s, "max", INFINITY),
                        INFINITY, &p.hi))
            return NULL;
    }
    char name[16];
    snprintf(name, sizeof name, "s%d", (int)i);
    if (!unary_fn(fns, name, s->op, &p)) return NULL;
    qc_vk_text_add(body, "  v = %s(v);\n", name);
    *ok = true;
    return NULL;
}

qc_status qc_vk_gen_elementwise(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    const qc_value *X = n->n_in > 0 ? val(b, n->in[0]) : NULL, *Y = n->n_out > 0 ? val(b, n->out[0]) : NULL;
    if (!X || !Y) return fallback(k, QC_VK_FB_SHAPE), NULL;
    if (X->type.dtype != QC_F32 || Y->type.dtype != QC_F32) return fallback(k, QC_VK_FB_DTYPE), NULL;
    if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    if (!qc_type_equal(&X->type, &Y->type)) return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t ca, cb;
    if (!qc_vk_count_linear(&Y->type, &ca, &cb)) return fallback(k, QC_VK_FB_SIZE), NULL;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 1, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    vk_text fns = {0}, body = {0};
    const char *p = qc_attr_string(n, "program", "");
    bool ok = true;
    qc_status st = NULL;
    for (int32_t i = 0; *p && ok && !st; i++) {
        qc_prog_step s;
        ok = qc_prog_parse_step(&p, n->n_in, &s);
        if (ok) st = prog_step(b, n, k, &s, i, &Y->type, &fns, &body, &ok);
    }
    if (!st && ok) {
        qc_vk_text_add(&fns,
                       "void main() {\n  uint gid = QC_GID;\n  if (gid >= pc.p[0]) return;\n"
                       "  uint v = arena.w[pc.p[1] / 4u + gid];\n%s"
                       "  arena.w[pc.p[2] / 4u + gid] = v;\n}\n",
                       body.s ? body.s : "");
        ok = !body.oom;
    }
    free(body.s);
    if (st || !ok) {
        free(fns.s);
        if (!st) fallback(k, QC_VK_FB_PROGRAM);
        return st;
    }
    return qc_vk_add_body_shader(b, node, &fns, LOCAL_X);
}

/* ---- pure copies --------------------------------------------------------------------- */

/* Identity, Reshape, Flatten, Squeeze, Unsqueeze: the same bytes under
 * another shape. memplan often gives the output the input's slot (the op
 * is a legal in-place pair); the copy then rewrites each word with itself.
 * One uint32 word per invocation; the last partial word keeps the bytes
 * past the tensor (the 64-byte-aligned slot's padding), so any byte size
 * works. Bit-identical by construction. */
qc_status qc_vk_gen_copy(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    const qc_value *X = n->n_in > 0 ? val(b, n->in[0]) : NULL, *Y = n->n_out == 1 ? val(b, n->out[0]) : NULL;
    if (!X || !Y || X->type.dtype != Y->type.dtype) return fallback(k, QC_VK_FB_SHAPE), NULL;
    int bits = qc_dtype_bits(Y->type.dtype);
    if (bits < 8 || bits % 8) return fallback(k, QC_VK_FB_DTYPE), NULL;   /* int4: sizes not linear in the batch */
    if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    int64_t ca, cb, xa, xb;
    if (!qc_vk_count_linear(&Y->type, &ca, &cb) || !qc_vk_count_linear(&X->type, &xa, &xb))
        return fallback(k, QC_VK_FB_SIZE), NULL;
    if (ca != xa || cb != xb) return fallback(k, QC_VK_FB_SHAPE), NULL;
    ca *= bits / 8;
    cb *= bits / 8;
    if (ca + cb > (1 << 30)) return fallback(k, QC_VK_FB_SIZE), NULL;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 4, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);   /* bytes */
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    vk_text body = {0};
    qc_vk_text_add(&body,
                   "void main() {\n"
                   "  uint gid = QC_GID, n = pc.p[0], e0 = gid * 4u;\n"
                   "  if (e0 >= n) return;\n"
                   "  uint w = arena.w[pc.p[1] / 4u + gid], yw = pc.p[2] / 4u + gid;\n"
                   "  if (n - e0 < 4u) {\n"
                   "    uint keep = 0xffffffffu << (8u * (n - e0));\n"
                   "    w = (w & ~keep) | (arena.w[yw] & keep);\n"
                   "  }\n"
                   "  arena.w[yw] = w;\n}\n");
    return qc_vk_add_body_shader(b, node, &body, LOCAL_X);
}
