/* lower_qelem.c — shader generator for QLinearAdd / QLinearMul
 * (com.microsoft, made by qdq_fold from DQ, DQ -> Add/Mul [-> Relu|Clip] ->
 * Q): A, B and C u8 or i8 (inference wants one type; the table would
 * serve any mix), constant per-tensor
 * scales and zero points, act_min / act_max, full numpy broadcasting (a
 * symbolic dim only as the output's leading one).
 *
 * Numerics: the shader does no floating-point arithmetic at all. The ref
 * kernel (backends/ref/quant.c qlinear_binary) computes, per element,
 *     clamp(qc_quantize(op(qc_dequantize(a, sa, za), qc_dequantize(b, sb, zb)),
 *                       sc, zc, lo, hi), act_min, act_max)
 * which, for constant parameters, is a function of the two input bytes
 * alone: 65536 cases. The lowering evaluates exactly that C expression (the
 * ir/quant.h functions ref calls, fp32 with its true divide) for every pair
 * and stores the 64 KiB table in the constants blob; the shader looks the
 * result up. So the result is ref's, bit for bit, on every conforming
 * device: nothing depends on the device's fp32 rounding mode, denormal
 * flushing, FMA contraction or its 2.5-ULP OpFDiv (Vulkan spec, appendix
 * "Precision and Operation of SPIR-V Instructions"), which a dequantize /
 * add / divide-and-round shader would. (An alternative, dequantize + one
 * `precise` add, then lower_qdq.c's threshold search on the sum, would
 * still lean on a correctly rounded, non-flushing OpFAdd/OpFMul.) The cost
 * is 64 KiB of constants per node and one table load per element, which
 * caches well (resnet18 has 8 such nodes, mobilenet_v2 10).
 *
 * Layout: four outputs per invocation, one uint32 store (the last partial
 * word keeps the bytes past the tensor: the 64-byte-aligned slot's
 * padding), no 8-bit storage feature needed. Operand bytes come from the
 * arena (or, for a constant operand, from the constants blob) through
 * uint32 loads and shifts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"
#include "ir/quant.h"

#define LOCAL_X 64

static const qc_value *val(const vk_builder *b, int32_t v) { return v >= 0 ? &b->g->values[v] : NULL; }

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

static bool is_q8(qc_dtype t) { return t == QC_U8 || t == QC_I8; }

/* A present input k: one f32 constant (scale) or one integer constant (zp,
 * absent = 0), as ref's qk_scale_at / qk_zp_at read them. */
static bool param_scale(const vk_builder *b, const qc_node *n, int32_t k, float *s) {
    const qc_value *x = k < n->n_in ? val(b, n->in[k]) : NULL;
    if (!x || !x->data || x->type.dtype != QC_F32 || qc_type_numel(&x->type) != 1) return false;
    memcpy(s, x->data, sizeof *s);
    return true;
}

static bool param_zp(const vk_builder *b, const qc_node *n, int32_t k, int32_t *zp) {
    const qc_value *x = k < n->n_in ? val(b, n->in[k]) : NULL;
    *zp = 0;
    if (!x) return true;
    if (!x->data || !qc_dtype_is_int(x->type.dtype) || qc_type_numel(&x->type) != 1) return false;
    *zp = (int32_t)qc_elem_get_i64(x->type.dtype, x->data, 0);
    return true;
}

/* ---- broadcasting ------------------------------------------------------------------ */

/* The output shape collapsed to the fewest dims (size-1 dims dropped,
 * neighbours merged where both operands run along both or neither), each
 * operand with an element stride per dim (0: broadcast). d[0] is the
 * outermost and may be the symbolic batch: its coordinate is what is left
 * of the flat index, so it needs no size. */
typedef struct bcast {
    int32_t nd;
    int64_t n[QC_MAX_RANK], s[2][QC_MAX_RANK];
    bool flat[2];   /* operand k has the output's element count: index = e */
    bool one[2];    /* operand k is one element: index = 0 */
} bcast;

static int64_t opnd_dim(const qc_type *x, const qc_type *o, int32_t d) {
    int32_t id = d - (o->rank - x->rank);
    return id >= 0 ? x->dims[id] : 1;
}

static int64_t opnd_stride(const qc_type *x, const qc_type *o, int32_t d) {
    int64_t s = 1;
    for (int32_t e = d + 1; e < o->rank; e++) s *= opnd_dim(x, o, e);
    return s;
}

static bool bcast_make(const qc_type *ta, const qc_type *tb, const qc_type *to, bcast *bc) {
    memset(bc, 0, sizeof *bc);
    const qc_type *t[2] = {ta, tb};
    for (int k = 0; k < 2; k++)
        if (t[k]->rank > to->rank) return false;
    for (int32_t d = 0; d < to->rank; d++) {
        int64_t o = to->dims[d];
        bool sym = o == QC_DIM_SYM;
        if (sym && d != 0) return false;
        if (o == 0) return false;
        int64_t s[2];
        for (int k = 0; k < 2; k++) {
            int64_t x = opnd_dim(t[k], to, d);
            if (sym ? x != QC_DIM_SYM && x != 1 : x == QC_DIM_SYM || (x != o && x != 1)) return false;
            s[k] = x == o ? opnd_stride(t[k], to, d) : 0;
        }
        if (o == 1) continue;
        if (bc->nd && (bc->s[0][bc->nd - 1] != 0) == (s[0] != 0) && (bc->s[1][bc->nd - 1] != 0) == (s[1] != 0)) {
            /* merge into the outer neighbour: its coordinate times its stride is
             * this one's with the inner stride (the dims between are 1) */
            int32_t p = bc->nd - 1;
            bc->n[p] = bc->n[p] == QC_DIM_SYM ? QC_DIM_SYM : bc->n[p] * o;
            bc->s[0][p] = s[0];
            bc->s[1][p] = s[1];
        } else {
            bc->n[bc->nd] = o;
            bc->s[0][bc->nd] = s[0];
            bc->s[1][bc->nd] = s[1];
            bc->nd++;
        }
    }
    for (int k = 0; k < 2; k++) {
        bool all = true, none = true;
        for (int32_t d = 0; d < bc->nd; d++) {
            all = all && bc->s[k][d] != 0;
            none = none && bc->s[k][d] == 0;
        }
        bc->flat[k] = all;   /* runs along every collapsed dim: contiguous, index e */
        bc->one[k] = none;
    }
    return true;
}

/* GLSL `uint idx_<k>(uint e)`: operand k's element index of output element e. */
static void bcast_glsl(vk_text *t, const bcast *bc, int k) {
    qc_vk_text_add(t, "uint idx_%c(uint e) {\n", 'a' + k);
    if (bc->flat[k]) qc_vk_text_add(t, "  return e;\n}\n");
    else if (bc->one[k]) qc_vk_text_add(t, "  return 0u;\n}\n");
    else {
        qc_vk_text_add(t, "  uint i = 0u, r = e, c;\n");
        for (int32_t d = bc->nd - 1; d > 0; d--) {
            qc_vk_text_add(t, "  c = r %% %lluu; r /= %lluu;\n", (unsigned long long)bc->n[d],
                           (unsigned long long)bc->n[d]);
            if (bc->s[k][d]) qc_vk_text_add(t, "  i += c * %lluu;\n", (unsigned long long)bc->s[k][d]);
        }
        if (bc->s[k][0]) qc_vk_text_add(t, "  i += r * %lluu;\n", (unsigned long long)bc->s[k][0]);
        qc_vk_text_add(t, "  return i;\n}\n");
    }
}

/* ---- QLinearAdd / QLinearMul ------------------------------------------------------- */

/* One operand's byte loader `uint ld_<k>(uint i)`: from the arena at a
 * pushed byte offset, or a constant copied into the constants blob. */
static qc_status operand_glsl(vk_builder *b, vk_kernel *k, int32_t id, int which, vk_text *t) {
    const qc_value *x = val(b, id);
    char c = (char)('a' + which);
    if (x->data) {
        uint32_t off;
        qc_status st = qc_vk_add_const(b, x->data, (size_t)qc_type_numel(&x->type), &off);
        if (st) return st;
        qc_vk_text_add(t, "uint ld_%c(uint i) { uint o = %uu + i; return (cst.w[o >> 2] >> ((o & 3u) * 8u)) & 0xffu; }\n",
                       c, off);
        return NULL;
    }
    qc_vk_text_add(t, "uint ld_%c(uint i) { uint o = pc.p[%u] + i; return (arena.w[o >> 2] >> ((o & 3u) * 8u)) & 0xffu; }\n",
                   c, k->n_push);
    qc_vk_push_value(k, id);
    return NULL;
}

qc_status qc_vk_gen_qelem(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    bool mul = n->op == QC_OP_QLINEAR_MUL;
    if (n->n_in < 7 || n->n_out != 1 || n->in[0] < 0 || n->in[3] < 0 || n->out[0] < 0)
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    const qc_value *A = val(b, n->in[0]), *B = val(b, n->in[3]), *C = val(b, n->out[0]);
    qc_dtype at = A->type.dtype, bt = B->type.dtype, ct = C->type.dtype;
    if (!is_q8(at) || !is_q8(bt) || !is_q8(ct)) return fallback(k, QC_VK_FB_DTYPE), NULL;
    float sa, sb, sc;
    int32_t za, zb, zc;
    if (!param_scale(b, n, 1, &sa) || !param_scale(b, n, 4, &sb) || !param_scale(b, n, 6, &sc) ||
        !param_zp(b, n, 2, &za) || !param_zp(b, n, 5, &zb) || !param_zp(b, n, 7, &zc))
        return fallback(k, QC_VK_FB_QUANT), NULL;
    bcast bc;
    if (!bcast_make(&A->type, &B->type, &C->type, &bc)) return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t ca, cb;
    if (!qc_vk_count_linear(&C->type, &ca, &cb)) return fallback(k, QC_VK_FB_SIZE), NULL;

    /* The table, by the very expression of ref's qlinear_binary. */
    int64_t lo, hi;
    qc_dtype_int_range(ct, &lo, &hi);
    int64_t amin = qc_attr_int(n, "act_min", lo), amax = qc_attr_int(n, "act_max", hi);
    uint8_t *tab = malloc(65536);
    if (!tab) return qc_error(QC_ERR_NOMEM, "out of memory");
    for (uint32_t qa = 0; qa < 256; qa++) {
        uint8_t ba = (uint8_t)qa;
        float fa = qc_dequantize((int32_t)qc_elem_get_i64(at, &ba, 0), sa, za);
        for (uint32_t qb = 0; qb < 256; qb++) {
            uint8_t bb = (uint8_t)qb;
            float fb = qc_dequantize((int32_t)qc_elem_get_i64(bt, &bb, 0), sb, zb);
            float r = mul ? fa * fb : fa + fb;
            int64_t v = qc_quantize(r, sc, zc, (int32_t)lo, (int32_t)hi);
            v = v < amin ? amin : v;
            qc_elem_set_i64(ct, tab, qa * 256 + qb, v > amax ? amax : v);
        }
    }
    uint32_t off;
    qc_status st = qc_vk_add_const(b, tab, 65536, &off);
    free(tab);
    if (st) return st;

    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 4, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);
    vk_text body = {0};
    st = operand_glsl(b, k, n->in[0], 0, &body);
    if (!st) st = operand_glsl(b, k, n->in[3], 1, &body);
    if (st) {
        free(body.s);
        return st;
    }
    uint32_t py = k->n_push;
    qc_vk_push_value(k, n->out[0]);
    bcast_glsl(&body, &bc, 0);
    bcast_glsl(&body, &bc, 1);
    qc_vk_text_add(&body,
                   "uint tab(uint qa, uint qb) {\n"
                   "  uint i = qa * 256u + qb;\n"
                   "  return (cst.w[%uu + (i >> 2)] >> ((i & 3u) * 8u)) & 0xffu;\n}\n"
                   "void main() {\n"
                   "  uint gid = QC_GID, n = pc.p[0], e0 = gid * 4u;\n"
                   "  if (e0 >= n) return;\n"
                   "  uint word = 0u;\n"
                   "  for (uint j = 0u; j < 4u && e0 + j < n; j++)\n"
                   "    word |= tab(ld_a(idx_a(e0 + j)), ld_b(idx_b(e0 + j))) << (8u * j);\n",
                   off / 4);
    char yw[32];
    snprintf(yw, sizeof yw, "pc.p[%u] / 4u + gid", py);
    qc_vk_glsl_store_word(&body, yw, "n - e0");
    return qc_vk_add_body_shader(b, node, &body, LOCAL_X);
}
