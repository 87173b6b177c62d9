/* lower_gemm.c — shader generators for qc.QGemm (int8) and fp32
 * Gemm / MatMul / qc.FusedGemm / qc.FusedMatMul.
 *
 * Both read the activation A from the arena at a pushed byte offset and a
 * constant B that the lowering re-packs once into the constants blob as
 * [N][K] (K contiguous), so each output column walks contiguous memory.
 * Shapes other than "A [.., M, K] in the arena, B a constant [K, N]" fall
 * back to the ref kernel with a reason.
 *
 * QGemm numerics (bit-identical to backends/ref/fused.c, ir/quant.h):
 *   acc = sum_k a*b over the raw 8-bit values (packed 4 per uint32),
 *   v   = acc - zb[n]*sum_k a + corr[n],   corr[n] = bias[n] - za*sum_k b[k][n] + K*za*zb[n]
 * which equals sum_k (a - za)(b - zb) + bias modulo 2^32, the very int32
 * the ref kernel wraps to; then r = roundEven(float(v) * mult[n]) with mult
 * computed here by qc_requant_multiplier exactly as ref does, saturate,
 * + zp, clamp to act_min/act_max. `precise` keeps the product a single
 * correctly rounded fp32 multiply (no contraction). The float-output form
 * (y f32, y_scale / y_zp absent) stores float(v) * mult[n] itself, with
 * mult[n] = qc_requant_multiplier(sa, sb[n], 1) as ref computes it. */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"
#include "ir/quant.h"

#define LOCAL_X 64

static const qc_value *val(const vk_builder *b, int32_t v) { return v >= 0 ? &b->g->values[v] : NULL; }

static bool is_const(const vk_builder *b, int32_t v) { return v >= 0 && b->g->values[v].data; }

static int64_t numel_static(const qc_type *t) {
    int64_t n = 1;
    for (int32_t d = 0; d < t->rank; d++) n *= t->dims[d] == QC_DIM_SYM ? 1 : t->dims[d];
    return n;
}

static bool has_sym(const qc_type *t) {
    for (int32_t d = 0; d < t->rank; d++)
        if (t->dims[d] == QC_DIM_SYM) return true;
    return false;
}

/* Rows of A [.., M, K] as a + b * batch (the batch dim must not be K). */
static bool rows_linear(const qc_type *t, int64_t *ra, int64_t *rb) {
    if (t->rank < 1 || t->dims[t->rank - 1] == QC_DIM_SYM || t->dims[t->rank - 1] <= 0) return false;
    int64_t rows = numel_static(t) / t->dims[t->rank - 1];
    *ra = has_sym(t) ? 0 : rows;
    *rb = has_sym(t) ? rows : 0;
    return true;
}

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

/* A constant with one entry, as f32 / int; false if absent or not so. */
bool qc_vk_const_scalar_f32(const vk_builder *b, int32_t v, float *out) {
    const qc_value *x = val(b, v);
    if (!x || !x->data || x->type.dtype != QC_F32 || qc_type_numel(&x->type) != 1) return false;
    memcpy(out, x->data, sizeof *out);
    return true;
}

/* Entry i of a constant integer vector of 1 or n entries (absent = 0). */
bool qc_vk_const_int_at(const vk_builder *b, int32_t v, int64_t n, int64_t i, int32_t *out) {
    if (v < 0) {
        *out = 0;
        return true;
    }
    const qc_value *x = val(b, v);
    int64_t c = x->data ? qc_type_numel(&x->type) : -1;
    if (!x->data || (c != 1 && c != n) || !qc_dtype_is_int(x->type.dtype)) return false;
    *out = (int32_t)qc_elem_get_i64(x->type.dtype, x->data, c == 1 ? 0 : i);
    return true;
}

bool qc_vk_const_f32_at(const vk_builder *b, int32_t v, int64_t n, int64_t i, float *out) {
    const qc_value *x = val(b, v);
    int64_t c = x && x->data ? qc_type_numel(&x->type) : -1;
    if (!x || !x->data || x->type.dtype != QC_F32 || (c != 1 && c != n)) return false;
    memcpy(out, (const float *)x->data + (c == 1 ? 0 : i), sizeof *out);
    return true;
}

/* ---- shared by the int8 generators (QGemm here, QConv in lower_conv.c) --------- */

void qc_vk_glsl_int8_dot(vk_text *t, bool dot, bool a_signed, bool b_signed) {
    if (dot) {
        /* OpSDot 4450 / OpUDot 4451 / OpSUDot 4452, PackedVectorFormat4x8Bit = 0;
         * capabilities DotProductInput4x8BitPacked 6018, DotProduct 6019. */
        const char *cap = "extensions = [\"SPV_KHR_integer_dot_product\"], capabilities = [6018, 6019]";
        qc_vk_text_add(t,
                       "spirv_instruction(%s, id = 4450) int qc_sdot(uint a, uint b, spirv_literal int f);\n"
                       "spirv_instruction(%s, id = 4451) uint qc_udot(uint a, uint b, spirv_literal int f);\n"
                       "spirv_instruction(%s, id = 4452) int qc_sudot(uint s, uint u, spirv_literal int f);\n",
                       cap, cap, cap);
        if (a_signed && b_signed) qc_vk_text_add(t, "int dot_ab(uint a, uint b) { return qc_sdot(a, b, 0); }\n");
        else if (a_signed) qc_vk_text_add(t, "int dot_ab(uint a, uint b) { return qc_sudot(a, b, 0); }\n");
        else if (b_signed) qc_vk_text_add(t, "int dot_ab(uint a, uint b) { return qc_sudot(b, a, 0); }\n");
        else qc_vk_text_add(t, "int dot_ab(uint a, uint b) { return int(qc_udot(a, b, 0)); }\n");
        qc_vk_text_add(t, "int sum_a(uint a) { return %s; }\n",
                       a_signed ? "qc_sdot(a, 0x01010101u, 0)" : "int(qc_udot(a, 0x01010101u, 0))");
    } else {
        qc_vk_text_add(t, "int ax(uint w, uint i) { return %s; }\n",
                       a_signed ? "int(w << (24u - 8u * i)) >> 24" : "int((w >> (8u * i)) & 0xffu)");
        qc_vk_text_add(t, "int bx(uint w, uint i) { return %s; }\n",
                       b_signed ? "int(w << (24u - 8u * i)) >> 24" : "int((w >> (8u * i)) & 0xffu)");
        qc_vk_text_add(t,
                       "int dot_ab(uint a, uint b) { int s = 0; for (uint i = 0u; i < 4u; i++) "
                       "s += ax(a, i) * bx(b, i); return s; }\n"
                       "int sum_a(uint a) { int s = 0; for (uint i = 0u; i < 4u; i++) s += ax(a, i); "
                       "return s; }\n");
    }
}

void qc_vk_glsl_requant(vk_text *t) {
    qc_vk_text_add(t,
                   "uint requant(int v, uint col) {\n"
                   "  precise float r = float(v) * uintBitsToFloat(cst.w[MULT + col]);\n"
                   "  r = roundEven(r);\n"
                   "  if (isnan(r)) r = 0.0;\n"
                   "  int q = r <= float(LO - ZY) ? LO : r >= float(HI - ZY) ? HI : int(r) + ZY;\n"
                   "  q = min(max(q, AMIN), AMAX);\n"
                   "  return uint(q) & 0xffu;\n}\n");
}

/* ---- qc.QGemm ------------------------------------------------------------------- */

/* GLSL for one QGemm; dot = use the packed int8 dot product instructions;
 * fout: the float-output form, y f32 = float(v) * mult[n] (no rounding). */
static void qgemm_glsl(vk_text *t, bool dot, bool fout, bool a_signed, bool b_signed, int64_t K, int64_t N,
                       uint32_t bt, uint32_t corr, int zb_off, uint32_t mult, int32_t zy,
                       int64_t lo, int64_t hi, int64_t amin, int64_t amax) {
    int64_t kw = (K + 3) / 4;
    qc_vk_text_add(t, "#version 450\n");
    if (dot) qc_vk_text_add(t, "#extension GL_EXT_spirv_intrinsics : require\n");
    qc_vk_text_add(t,
                   "layout(local_size_x_id = 0) in;\n"
                   "layout(std430, binding = 0) buffer Arena { uint w[]; } arena;\n"
                   "layout(std430, binding = 1) readonly buffer Consts { uint w[]; } cst;\n"
                   "layout(push_constant) uniform P { uint m; uint a_off; uint y_off; } pc;\n"
                   "#define K %lldu\n#define KW %lldu\n#define N %lldu\n#define BT %uu\n"
                   "#define CORR %uu\n#define MULT %uu\n#define ZY %d\n#define LO %lld\n"
                   "#define HI %lld\n#define AMIN %lld\n#define AMAX %lld\n",
                   (long long)K, (long long)kw, (long long)N, bt / 4, corr / 4, mult / 4, (int)zy,
                   (long long)lo, (long long)hi, (long long)amin, (long long)amax);
    if (zb_off >= 0) qc_vk_text_add(t, "#define ZB %uu\n", (unsigned)zb_off / 4);
    if (K % 4) qc_vk_text_add(t, "#define TAILMASK 0x%xu\n", (unsigned)(0xffffffffu >> (8 * (4 - K % 4))));
    qc_vk_glsl_int8_dot(t, dot, a_signed, b_signed);
    if (K % 4 == 0)
        qc_vk_text_add(t, "uint load_a(uint off) { return arena.w[off >> 2]; }\n");
    else   /* rows start at any byte: a funnel shift of two words (the arena is padded) */
        qc_vk_text_add(t,
                       "uint load_a(uint off) { uint i = off >> 2, s = (off & 3u) * 8u;\n"
                       "  uint w0 = arena.w[i]; return s == 0u ? w0 : (w0 >> s) | (arena.w[i + 1u] << (32u - s)); }\n");
    if (fout)   /* ref: (float)v * mult, one correctly rounded fp32 multiply */
        qc_vk_text_add(t,
                       "uint requant(int v, uint col) {\n"
                       "  precise float r = float(v) * uintBitsToFloat(cst.w[MULT + col]);\n"
                       "  return floatBitsToUint(r);\n}\n");
    else
        qc_vk_glsl_requant(t);
    qc_vk_text_add(t,
                   "int fix(int acc, int sa, uint col) {\n"
                   "  int v = acc + int(cst.w[CORR + col]);\n"
                   "#ifdef ZB\n  v -= int(cst.w[ZB + col]) * sa;\n#endif\n"
                   "  return v;\n}\n"
                   "uint a_word(uint base, uint kw) {\n"
                   "  uint av = load_a(base + kw * 4u);\n"
                   "#ifdef TAILMASK\n  if (kw == KW - 1u) av &= TAILMASK;\n#endif\n"
                   "  return av;\n}\n"
                   "void main() {\n"
                   "  uint gid = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;\n"
                   "  uint total = pc.m * N, e0 = gid * 4u;\n"
                   "  if (e0 >= total) return;\n"
                   "  uint word = 0u;\n");
    if (N % 4 == 0) {   /* the four outputs share a row: load each A word once */
        qc_vk_text_add(t,
                       "  uint row = e0 / N, col = e0 %% N, base = pc.a_off + row * K;\n"
                       "  int acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0, sa = 0;\n"
                       "  for (uint kw = 0u; kw < KW; kw++) {\n"
                       "    uint av = a_word(base, kw);\n"
                       "    acc0 += dot_ab(av, cst.w[BT + col * KW + kw]);\n"
                       "    acc1 += dot_ab(av, cst.w[BT + (col + 1u) * KW + kw]);\n"
                       "    acc2 += dot_ab(av, cst.w[BT + (col + 2u) * KW + kw]);\n"
                       "    acc3 += dot_ab(av, cst.w[BT + (col + 3u) * KW + kw]);\n"
                       "#ifdef ZB\n    sa += sum_a(av);\n#endif\n"
                       "  }\n"
                       "%s",
                       fout ? "  uint yf = pc.y_off / 4u + e0;\n"
                              "  arena.w[yf] = requant(fix(acc0, sa, col), col);\n"
                              "  arena.w[yf + 1u] = requant(fix(acc1, sa, col + 1u), col + 1u);\n"
                              "  arena.w[yf + 2u] = requant(fix(acc2, sa, col + 2u), col + 2u);\n"
                              "  arena.w[yf + 3u] = requant(fix(acc3, sa, col + 3u), col + 3u);\n"
                            : "  word = requant(fix(acc0, sa, col), col) | requant(fix(acc1, sa, col + 1u), col + 1u) << 8 |\n"
                              "         requant(fix(acc2, sa, col + 2u), col + 2u) << 16 | requant(fix(acc3, sa, col + 3u), col + 3u) << 24;\n");
    } else {
        qc_vk_text_add(t,
                       "  for (uint j = 0u; j < 4u; j++) {\n"
                       "    uint e = e0 + j;\n"
                       "    if (e >= total) break;\n"
                       "    uint row = e / N, col = e %% N, base = pc.a_off + row * K;\n"
                       "    int acc = 0, sa = 0;\n"
                       "    for (uint kw = 0u; kw < KW; kw++) {\n"
                       "      uint av = a_word(base, kw);\n"
                       "      acc += dot_ab(av, cst.w[BT + col * KW + kw]);\n"
                       "#ifdef ZB\n      sa += sum_a(av);\n#endif\n"
                       "    }\n"
                       "%s"
                       "  }\n",
                       fout ? "    arena.w[pc.y_off / 4u + e] = requant(fix(acc, sa, col), col);\n"
                            : "    word |= requant(fix(acc, sa, col), col) << (8u * j);\n");
    }
    if (fout) {   /* one word per output, stored above */
        qc_vk_text_add(t, "}\n");
        return;
    }
    qc_vk_glsl_store_word(t, "pc.y_off / 4u + gid", "total - e0");
}

qc_status qc_vk_gen_qgemm(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    int32_t ia = n->in[0], ib = n->in[3], iy = n->out[0];
    int32_t ibias = n->n_in > 8 ? n->in[8] : -1;
    const qc_value *A = val(b, ia), *B = val(b, ib), *Y = val(b, iy);
    if (!A || !B || !Y) return fallback(k, QC_VK_FB_SHAPE), NULL;
    qc_dtype at = A->type.dtype, bt = B->type.dtype, yt = Y->type.dtype;
    /* y f32: the float-output form (y_scale, y_zp absent; a classifier head) */
    bool fout = yt == QC_F32 && (n->n_in < 7 || n->in[6] < 0) && (n->n_in < 8 || n->in[7] < 0);
    if ((at != QC_U8 && at != QC_I8) || (bt != QC_U8 && bt != QC_I8) || (yt != QC_U8 && yt != QC_I8 && !fout))
        return fallback(k, QC_VK_FB_DTYPE), NULL;
    if (A->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    int64_t ra, rb;
    if (!B->data || B->type.rank != 2 || !rows_linear(&A->type, &ra, &rb))
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t K = B->type.dims[0], N = B->type.dims[1];
    if (A->type.dims[A->type.rank - 1] != K || K <= 0 || N <= 0) return fallback(k, QC_VK_FB_SHAPE), NULL;
    if (K * N > (1 << 28) || (ra + rb) * (K > N ? K : N) > (1 << 28))
        return fallback(k, QC_VK_FB_SIZE), NULL;
    float sa, sy = 1.0f;   /* float output: the multiplier to scale 1, as ref */
    int32_t za, zy = 0;
    if (!qc_vk_const_scalar_f32(b, n->in[1], &sa) || (!fout && !qc_vk_const_scalar_f32(b, n->in[6], &sy)) ||
        !qc_vk_const_int_at(b, n->in[2], 1, 0, &za) || (!fout && !qc_vk_const_int_at(b, n->in[7], 1, 0, &zy)))
        return fallback(k, QC_VK_FB_QUANT), NULL;
    if (ibias >= 0 && (!is_const(b, ibias) || val(b, ibias)->type.dtype != QC_I32 ||
                       qc_type_numel(&val(b, ibias)->type) != N))
        return fallback(k, QC_VK_FB_QUANT), NULL;
    int64_t kw = (K + 3) / 4;
    uint32_t *packed = calloc((size_t)(N * kw), 4);
    int32_t *corr = malloc((size_t)N * 4), *zb = malloc((size_t)N * 4);
    float *mult = malloc((size_t)N * 4);
    qc_status st = packed && corr && zb && mult ? NULL : qc_error(QC_ERR_NOMEM, "out of memory");
    bool any_zb = false, ok = true;
    for (int64_t c = 0; c < N && !st && ok; c++) {
        float sb;
        ok = qc_vk_const_int_at(b, n->in[5], N, c, &zb[c]) && qc_vk_const_f32_at(b, n->in[4], N, c, &sb);
        if (!ok) break;
        any_zb |= zb[c] != 0;
        mult[c] = qc_requant_multiplier(sa, sb, sy);
        uint32_t colsum = 0;
        for (int64_t r = 0; r < K; r++) {
            int64_t q = qc_elem_get_i64(bt, B->data, r * N + c);
            colsum += (uint32_t)q;
            packed[c * kw + r / 4] |= ((uint32_t)q & 0xffu) << (8 * (r % 4));
        }
        uint32_t bias = ibias >= 0 ? (uint32_t)((const int32_t *)val(b, ibias)->data)[c] : 0;
        corr[c] = (int32_t)(bias - (uint32_t)za * colsum + (uint32_t)K * (uint32_t)za * (uint32_t)zb[c]);
    }
    uint32_t off_bt = 0, off_corr = 0, off_zb = 0, off_mult = 0;
    if (!st && ok) st = qc_vk_add_const(b, packed, (size_t)(N * kw) * 4, &off_bt);
    if (!st && ok) st = qc_vk_add_const(b, corr, (size_t)N * 4, &off_corr);
    if (!st && ok && any_zb) st = qc_vk_add_const(b, zb, (size_t)N * 4, &off_zb);
    if (!st && ok) st = qc_vk_add_const(b, mult, (size_t)N * 4, &off_mult);
    free(packed), free(corr), free(zb), free(mult);
    if (st) return st;
    if (!ok) return fallback(k, QC_VK_FB_QUANT), NULL;
    int64_t lo = 0, hi = 0;
    if (!fout) qc_dtype_int_range(yt, &lo, &hi);
    int64_t amin = qc_attr_int(n, "act_min", lo), amax = qc_attr_int(n, "act_max", hi);
    if (amin < lo) amin = lo;   /* the clamp acts on saturated values */
    if (amax > hi) amax = hi;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 4, .count_a = ra * N, .count_b = rb * N};
    qc_vk_push_linear(k, ra, rb);
    qc_vk_push_value(k, ia);
    qc_vk_push_value(k, iy);
    bool sgn_a = at == QC_I8, sgn_b = bt == QC_I8;
    for (int v = 0; v < 2 && !st; v++) {   /* variant 0: dot product, 1: unpack */
        vk_text t = {0};
        qgemm_glsl(&t, v == 0, fout, sgn_a, sgn_b, K, N, off_bt, off_corr, any_zb ? (int)off_zb : -1,
                   off_mult, zy, lo, hi, amin, amax);
        if (t.oom) st = qc_error(QC_ERR_NOMEM, "out of memory");
        else st = qc_vk_add_shader(b, t.s, n->name ? n->name : "qc.QGemm", LOCAL_X,
                                   v == 0 ? QC_VK_REQ_INT_DOT : 0, &k->variants[v]);
        free(t.s);
    }
    k->n_variants = 2;
    return st;
}
