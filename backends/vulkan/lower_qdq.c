/* lower_qdq.c — shader generator for QuantizeLinear (f32 -> u8/i8) and
 * DequantizeLinear (u8/i8 -> f32), per tensor or per axis, with constant
 * scales and zero points.
 *
 * Neither shader does floating-point arithmetic, so both are bit-identical
 * to ir/quant.h on every conforming device, whatever its fp32 division
 * precision, rounding mode, denormal flushing or NaN handling:
 *
 *   - Vulkan only promises OpFDiv to 2.5 ULP, leaves the rounding mode of
 *     correctly rounded ops implementation-defined, lets fma() be an
 *     unfused multiply-add, may flush denormals and may assume no NaNs
 *     (Vulkan spec, appendix "Precision and Operation of SPIR-V
 *     Instructions"). A Markstein-style corrected division needs a fused
 *     fma and round-to-nearest, neither of which a shader can rely on.
 *
 *   - Instead the lowering uses that, for a constant scale s > 0, the
 *     quantizer f(x) = qc_quantize(x, s, zp, lo, hi) is a non-decreasing
 *     step function of x with at most 255 steps. It computes each step's
 *     threshold T[v] = the smallest float x with f(x) >= lo + v by bisection
 *     over float bit patterns, calling qc_quantize itself (the very C
 *     divide ref uses). The shader maps x's bits to an order-preserving
 *     integer key and counts the thresholds <= key with an 8-step binary
 *     search: f(x) = lo + count. NaN bits select the zero point, as
 *     qc_sat_round_add does. Integer compares are exact, so this is f.
 *
 *   - Dequantize has 256 possible inputs per channel: the lowering stores
 *     qc_dequantize(q, s, zp) for each as fp32 bits and the shader looks
 *     the result up.
 *
 * Two variants per node, four elements per invocation each: variant 0
 * (requires storageBuffer8BitAccess) moves single bytes through a uint8_t
 * view of the arena; variant 1 moves whole uint32
 * words (each invocation owns the word it stores, so no two invocations
 * write the same word; the last partial word keeps the bytes past the
 * tensor). Value offsets are 64-byte aligned (memplan), so words never
 * straddle two values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"
#include "ir/quant.h"

#define LOCAL_X 64
#define QSTRIDE 257u               /* quantize table per channel: 256 thresholds + the NaN byte */
#define MAX_TABLE_WORDS (1u << 20) /* per node: 4 MiB of constants */

static const qc_value *val(const vk_builder *b, int32_t v) { return v >= 0 ? &b->g->values[v] : NULL; }

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

/* Order-preserving key of a non-NaN float's bits (-0 and +0 share one):
 * negative magnitudes below 2^31, positive ones above. The shader computes
 * the same. */
static uint32_t float_key(uint32_t bits) {
    uint32_t mag = bits & 0x7fffffffu;
    return bits >> 31 ? 0x80000000u - mag : 0x80000000u + mag;
}

static float key_float(uint32_t key) {
    uint32_t bits = key >= 0x80000000u ? key - 0x80000000u : 0x80000000u | (0x80000000u - key);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* The per-channel layout, as backends/ref/quant.c's make_layout: per
 * tensor (scale of rank 0 or [1]) or per axis (a rank-1 scale with one
 * entry per index of x's axis dim, which is static, as are the dims after
 * it). false: not covered (blocked, or shapes this does not handle). */
static bool channel_layout(const qc_node *n, const qc_value *x, const qc_value *s, int64_t *len,
                           int64_t *inner) {
    const qc_type *st = &s->type, *xt = &x->type;
    *len = 1;
    *inner = 1;
    if (st->rank == 0 || (st->rank == 1 && st->dims[0] == 1)) return true;
    if (st->rank != 1 || qc_attr_int(n, "block_size", 0) != 0) return false;
    int64_t axis = qc_attr_int(n, "axis", 1);
    if (axis < 0) axis += xt->rank;
    if (axis < 0 || axis >= xt->rank || xt->dims[axis] == QC_DIM_SYM || xt->dims[axis] != st->dims[0])
        return false;
    for (int32_t d = (int32_t)axis + 1; d < xt->rank; d++) {
        if (xt->dims[d] == QC_DIM_SYM) return false;
        *inner *= xt->dims[d];
    }
    *len = xt->dims[axis];
    return *len > 0 && *inner > 0 && *len * *inner < (1 << 30) && (uint64_t)*len * QSTRIDE <= MAX_TABLE_WORDS;
}

/* Scale and zero point of channel c (constants with 1 or len entries). */
static bool channel_params(const vk_builder *b, const qc_node *n, int64_t len, int64_t c, float *s,
                           int32_t *zp) {
    const qc_value *sv = val(b, n->in[1]);
    int32_t iz = n->n_in > 2 ? n->in[2] : -1;
    int64_t sc = qc_type_numel(&sv->type);
    if (!sv->data || sv->type.dtype != QC_F32 || (sc != 1 && sc != len)) return false;
    memcpy(s, (const float *)sv->data + (sc == 1 ? 0 : c), sizeof *s);
    *zp = 0;
    if (iz < 0) return true;
    const qc_value *zv = val(b, iz);
    int64_t zc = zv->data ? qc_type_numel(&zv->type) : -1;
    if (!zv->data || !qc_dtype_is_int(zv->type.dtype) || (zc != 1 && zc != len)) return false;
    *zp = (int32_t)qc_elem_get_i64(zv->type.dtype, zv->data, zc == 1 ? 0 : c);
    return true;
}

/* Thresholds of one channel into t[0..255] (t[0] = 0: every key), t[256]
 * = the byte a NaN quantizes to. Needs s > 0 finite: then f is
 * non-decreasing in x, f(-inf) = lo and f(+inf) = hi. */
static void quant_table(float s, int32_t zp, int32_t lo, int32_t hi, uint32_t *t) {
    const uint32_t kmin = float_key(0xff800000u), kmax = float_key(0x7f800000u);   /* -inf, +inf */
    t[0] = 0;
    for (int32_t v = 1; v < 256; v++) {
        int32_t want = lo + v;
        uint32_t a = kmin, z = kmax;   /* f(a) < want <= f(z) */
        while (z - a > 1) {
            uint32_t m = a + (z - a) / 2;
            if (qc_quantize(key_float(m), s, zp, lo, hi) >= want) z = m;
            else a = m;
        }
        t[v] = z;
    }
    t[256] = (uint32_t)qc_quantize(NAN, s, zp, lo, hi) & 0xffu;
}

static void qdq_glsl(vk_text *t, bool quant, bool b8, uint32_t tab, int64_t len, int64_t inner, int32_t lo) {
    qc_vk_glsl_head(t, b8, 3);
    qc_vk_text_add(t, "#define TAB %uu\n", tab / 4);
    if (len > 1) qc_vk_text_add(t, "#define CH(e) (((e) / %lluu) %% %lluu)\n", (unsigned long long)inner,
                                (unsigned long long)len);
    else qc_vk_text_add(t, "#define CH(e) 0u\n");
    if (quant)
        qc_vk_text_add(t,
                       "uint qz(uint bits, uint e) {\n"
                       "  uint base = TAB + CH(e) * %uu, mag = bits & 0x7fffffffu;\n"
                       "  if (mag > 0x7f800000u) return cst.w[base + 256u];   /* NaN */\n"
                       "  uint key = (bits >> 31) != 0u ? 0x80000000u - mag : 0x80000000u + mag;\n"
                       "  uint i = 0u;\n"
                       "  for (uint s = 128u; s > 0u; s >>= 1) if (cst.w[base + i + s] <= key) i += s;\n"
                       "  return (i + %uu) & 0xffu;\n}\n",
                       QSTRIDE, (unsigned)((uint32_t)lo & 0xffu));
    else
        qc_vk_text_add(t, "uint dq(uint q, uint e) { return cst.w[TAB + CH(e) * 256u + q]; }\n");
    qc_vk_text_add(t, "void main() {\n  uint gid = QC_GID, n = pc.p[0];\n");
    if (b8 && quant)
        qc_vk_text_add(t, "  for (uint e = gid * 4u; e < gid * 4u + 4u && e < n; e++)\n"
                          "    arena8.b[pc.p[2] + e] = uint8_t(qz(arena.w[pc.p[1] / 4u + e], e));\n}\n");
    else if (b8)
        qc_vk_text_add(t, "  for (uint e = gid * 4u; e < gid * 4u + 4u && e < n; e++)\n"
                          "    arena.w[pc.p[2] / 4u + e] = dq(uint(arena8.b[pc.p[1] + e]), e);\n}\n");
    else if (quant) {
        qc_vk_text_add(t, "  uint e0 = gid * 4u;\n  if (e0 >= n) return;\n  uint word = 0u;\n"
                          "  for (uint j = 0u; j < 4u && e0 + j < n; j++)\n"
                          "    word |= qz(arena.w[pc.p[1] / 4u + e0 + j], e0 + j) << (8u * j);\n");
        qc_vk_glsl_store_word(t, "pc.p[2] / 4u + gid", "n - e0");
    } else
        qc_vk_text_add(t, "  uint e0 = gid * 4u;\n  if (e0 >= n) return;\n"
                          "  uint xw = arena.w[pc.p[1] / 4u + gid];\n"
                          "  for (uint j = 0u; j < 4u && e0 + j < n; j++)\n"
                          "    arena.w[pc.p[2] / 4u + e0 + j] = dq((xw >> (8u * j)) & 0xffu, e0 + j);\n}\n");
}

qc_status qc_vk_gen_qdq(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    bool quant = n->op == QC_OP_QUANTIZE_LINEAR;
    const qc_value *X = val(b, n->in[0]), *S = n->n_in > 1 ? val(b, n->in[1]) : NULL, *Y = val(b, n->out[0]);
    if (!X || !S || !Y) return fallback(k, QC_VK_FB_SHAPE), NULL;
    qc_dtype xt = X->type.dtype, yt = Y->type.dtype, qt = quant ? yt : xt;
    if ((qt != QC_U8 && qt != QC_I8) || (quant ? xt : yt) != QC_F32) return fallback(k, QC_VK_FB_DTYPE), NULL;
    if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    int64_t ca, cb, len, inner;
    if (!qc_vk_count_linear(&X->type, &ca, &cb)) return fallback(k, QC_VK_FB_SIZE), NULL;
    if (!channel_layout(n, X, S, &len, &inner)) return fallback(k, QC_VK_FB_QUANT), NULL;
    int64_t lo, hi;
    qc_dtype_int_range(qt, &lo, &hi);
    uint32_t stride = quant ? QSTRIDE : 256u;
    uint32_t *tab = malloc((size_t)len * stride * sizeof *tab);
    if (!tab) return qc_error(QC_ERR_NOMEM, "out of memory");
    bool ok = true;
    for (int64_t c = 0; c < len && ok; c++) {
        float s;
        int32_t zp;
        ok = channel_params(b, n, len, c, &s, &zp);
        /* A zero point outside the type, or (quantize) a scale for which f
         * is not a non-decreasing step function: leave it to ref. */
        ok = ok && zp >= lo && zp <= hi && (!quant || (s > 0.0f && isfinite(s)));
        if (!ok) break;
        uint32_t *t = tab + c * stride;
        if (quant) {
            quant_table(s, zp, (int32_t)lo, (int32_t)hi, t);
        } else {
            for (uint32_t q = 0; q < 256; q++) {
                int32_t v = qt == QC_I8 ? (int32_t)(int8_t)(uint8_t)q : (int32_t)q;
                float y = qc_dequantize(v, s, zp);
                memcpy(&t[q], &y, sizeof y);
            }
        }
    }
    uint32_t off = 0;
    qc_status st = ok ? qc_vk_add_const(b, tab, (size_t)len * stride * sizeof *tab, &off) : NULL;
    free(tab);
    if (st) return st;
    if (!ok) return fallback(k, QC_VK_FB_QUANT), NULL;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 4, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    /* One record holds one per_inv for all variants: both handle 4
     * elements per invocation (the byte variant one byte at a time). */
    for (int v = 0; v < 2 && !st; v++) {   /* variant 0: 8-bit storage, 1: uint32 packed */
        vk_text t = {0};
        qdq_glsl(&t, quant, v == 0, off, len, inner, (int32_t)lo);
        if (t.oom) st = qc_error(QC_ERR_NOMEM, "out of memory");
        else st = qc_vk_add_shader(b, t.s, n->name ? n->name : quant ? "QuantizeLinear" : "DequantizeLinear",
                                   LOCAL_X, v == 0 ? QC_VK_REQ_INT8_STORAGE : 0, &k->variants[v]);
        free(t.s);
    }
    k->n_variants = 2;
    return st;
}
