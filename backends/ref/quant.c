/* quant.c — ref kernels for QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear and the com.microsoft QLinearAdd / QLinearMul, plus
 * the dispatch for the whole quantized group (the matmul and conv kernels
 * live in qmatmul.c and qconv.c). ONNX semantics; every quantize and
 * dequantize step is ir/quant.h's. */
#include <math.h>

#include "backends/ref/quant_kernels.h"
#include "ir/quant.h"

/* Where element i of x finds its scale / zero point entry: per tensor, per
 * axis, or blocked (block_size consecutive elements along the axis share an
 * entry; the params have x's shape with the axis dim ceil-divided). Mirrors
 * the layout rules inference checked (ir/infer_quant.c). */
typedef struct qlayout {
    bool per_tensor;
    int64_t inner;     /* product of x's dims after the axis */
    int64_t len;       /* x's dim along the axis */
    int64_t block;     /* 0: per axis */
    int64_t nblocks;   /* ceil(len / block) */
} qlayout;

static qlayout make_layout(const qc_node *n, const qc_tensor *x, const qc_tensor *scale) {
    const qc_tensor_desc *s = &scale->desc, *xd = &x->desc;
    qlayout l = {.per_tensor = s->rank == 0 || (s->rank == 1 && s->dims[0] == 1)};
    if (l.per_tensor) return l;
    int64_t axis = qc_attr_int(n, "axis", 1);
    if (axis < 0) axis += xd->rank;
    l.inner = 1;
    for (int32_t d = (int32_t)axis + 1; d < xd->rank; d++) l.inner *= xd->dims[d];
    l.len = xd->dims[axis];
    l.block = qc_attr_int(n, "block_size", 0);
    l.nblocks = l.block ? (l.len + l.block - 1) / l.block : l.len;
    return l;
}

/* Only called for elements of a non-empty x, so inner and len are > 0. */
static int64_t param_index(const qlayout *l, int64_t i) {
    if (l->per_tensor) return 0;
    int64_t along = (i / l->inner) % l->len;
    if (!l->block) return along;
    int64_t outer = i / l->inner / l->len, in = i % l->inner;
    return (outer * l->nblocks + along / l->block) * l->inner + in;
}

static bool is_fp8(qc_dtype t) { return t == QC_F8E4M3FN || t == QC_F8E5M2; }

/* Stores v as fp8. saturate=1 (the ONNX default) clamps to the largest
 * finite value (dtype.h). saturate=0 follows ONNX Cast: out-of-range values
 * become NaN for e4m3fn (which has no infinity) and +-inf for e5m2. The
 * thresholds are where round-half-even leaves the finite range: 464 is
 * halfway between 448 and 480 and ties to the even 448; 61440 is halfway
 * between 57344 and 65536 and ties to the even 65536, i.e. infinity. */
static void store_fp8(qc_dtype t, void *p, int64_t i, float v, bool saturate) {
    uint8_t sign = signbit(v) ? 0x80 : 0;
    float av = fabsf(v);
    if (!saturate && t == QC_F8E4M3FN && av > 464.0f) ((uint8_t *)p)[i] = sign | 0x7f;
    else if (!saturate && t == QC_F8E5M2 && av >= 61440.0f) ((uint8_t *)p)[i] = sign | 0x7c;
    else qc_elem_set_f64(t, p, i, v);
}

/* QuantizeLinear(x, y_scale, y_zero_point?): y = saturate(rint(x / s) + zp);
 * fp8 outputs are the fp8 conversion of x / s (their zero point is 0). */
static qc_status quantize_linear(const qc_ref_args *a) {
    const qc_tensor *x = qk_in(a, 0), *s = qk_in(a, 1), *z = qk_in(a, 2);
    qc_tensor *y = &a->out[0];
    qc_dtype yt = y->desc.dtype;
    bool saturate = qc_attr_int(a->node, "saturate", 1) != 0;
    int64_t lo, hi;
    qc_dtype_int_range(yt, &lo, &hi);
    qlayout l = make_layout(a->node, x, s);
    int64_t n = qk_numel(x);
    for (int64_t i = 0; i < n; i++) {
        float xv = (float)qc_elem_get_f64(x->desc.dtype, x->data, i);
        int64_t p = param_index(&l, i);
        float sc = qk_scale_at(s, p);
        if (is_fp8(yt))
            store_fp8(yt, y->data, i, xv / sc, saturate);
        else
            qc_elem_set_i64(yt, y->data, i,
                            qc_quantize(xv, sc, qk_zp_at(z, p), (int32_t)lo, (int32_t)hi));
    }
    return NULL;
}

/* DequantizeLinear(x, x_scale, x_zero_point?): y = (x - zp) * s in fp32. An
 * fp8 x is a float already and has no zero point: y = x * s. */
static qc_status dequantize_linear(const qc_ref_args *a) {
    const qc_tensor *x = qk_in(a, 0), *s = qk_in(a, 1), *z = qk_in(a, 2);
    float *y = a->out[0].data;
    qc_dtype xt = x->desc.dtype;
    qlayout l = make_layout(a->node, x, s);
    int64_t n = qk_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t p = param_index(&l, i);
        float sc = qk_scale_at(s, p);
        if (is_fp8(xt))
            y[i] = (float)qc_elem_get_f64(xt, x->data, i) * sc;
        else   /* i32 x has zero point 0 (checked by inference), so q - zp cannot overflow */
            y[i] = qc_dequantize((int32_t)qc_elem_get_i64(xt, x->data, i), sc, qk_zp_at(z, p));
    }
    return NULL;
}

/* DynamicQuantizeLinear(x) -> (y u8, y_scale, y_zero_point): the range
 * [min(0, min x), max(0, max x)] mapped onto 0..255 (qc_dynamic_qparams_u8).
 * NaNs are left out of the range (ONNX leaves them undefined). A zero scale
 * (x all zero, or a range so tiny it underflows) quantizes everything to 0. */
static qc_status dynamic_quantize_linear(const qc_ref_args *a) {
    const qc_tensor *x = qk_in(a, 0);
    const float *xv = x->data;
    int64_t n = qk_numel(x);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (xv[i] < lo) lo = xv[i];
        if (xv[i] > hi) hi = xv[i];
    }
    float scale;
    int32_t zp;
    qc_dynamic_qparams_u8(lo, hi, &scale, &zp);
    uint8_t *y = a->out[0].data;
    for (int64_t i = 0; i < n; i++)
        y[i] = scale == 0.0f ? 0 : (uint8_t)qc_quantize(xv[i], scale, zp, 0, 255);
    *(float *)a->out[1].data = scale;
    *(uint8_t *)a->out[2].data = (uint8_t)zp;
    return NULL;
}

/* QLinearAdd / QLinearMul (com.microsoft): inputs A, A_scale, A_zp, B,
 * B_scale, B_zp, C_scale, C_zp (zps optional), numpy broadcasting:
 * C = saturate(rint(op(dequant(A), dequant(B)) / C_scale) + C_zp), fp32,
 * then clamped to the optional act_min / act_max (quantized units: a Relu
 * or Clip qdq_fold folded in). */
static qc_status qlinear_binary(const qc_ref_args *a, bool mul) {
    const qc_tensor *ta = qk_in(a, 0), *tb = qk_in(a, 3);
    float sa = qk_scale_at(qk_in(a, 1), 0), sb = qk_scale_at(qk_in(a, 4), 0);
    float sc = qk_scale_at(qk_in(a, 6), 0);
    int32_t za = qk_zp_at(qk_in(a, 2), 0), zb = qk_zp_at(qk_in(a, 5), 0);
    int32_t zc = qk_zp_at(qk_in(a, 7), 0);
    qc_tensor *c = &a->out[0];
    int64_t lo, hi;
    qc_dtype_int_range(c->desc.dtype, &lo, &hi);
    int64_t amin = qc_attr_int(a->node, "act_min", lo), amax = qc_attr_int(a->node, "act_max", hi);
    const qc_tensor_desc *od = &c->desc;
    int64_t n = qk_numel(c);
    for (int64_t i = 0; i < n; i++) {
        int64_t ia = qk_broadcast_index(od->dims, od->rank, ta->desc.dims, ta->desc.rank, i);
        int64_t ib = qk_broadcast_index(od->dims, od->rank, tb->desc.dims, tb->desc.rank, i);
        float fa = qc_dequantize((int32_t)qc_elem_get_i64(ta->desc.dtype, ta->data, ia), sa, za);
        float fb = qc_dequantize((int32_t)qc_elem_get_i64(tb->desc.dtype, tb->data, ib), sb, zb);
        float r = mul ? fa * fb : fa + fb;
        int64_t v = qc_quantize(r, sc, zc, (int32_t)lo, (int32_t)hi);
        v = v < amin ? amin : v;
        qc_elem_set_i64(od->dtype, c->data, i, v > amax ? amax : v);
    }
    return NULL;
}

qc_status qc_ref_quant(const qc_ref_args *a, bool *handled) {
    *handled = true;
    switch (a->node->op) {
    case QC_OP_QUANTIZE_LINEAR: return quantize_linear(a);
    case QC_OP_DEQUANTIZE_LINEAR: return dequantize_linear(a);
    case QC_OP_DYNAMIC_QUANTIZE_LINEAR: return dynamic_quantize_linear(a);
    case QC_OP_QLINEAR_MATMUL: return qc_ref_qlinear_matmul(a);
    case QC_OP_MATMUL_INTEGER: return qc_ref_matmul_integer(a);
    case QC_OP_QLINEAR_CONV: return qc_ref_qlinear_conv(a);
    case QC_OP_CONV_INTEGER: return qc_ref_conv_integer(a);
    case QC_OP_QLINEAR_ADD: return qlinear_binary(a, false);
    case QC_OP_QLINEAR_MUL: return qlinear_binary(a, true);
    default: *handled = false; return NULL;
    }
}
