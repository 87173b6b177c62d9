/* fused.c — ref kernels of the internal ops that passes create (ops.def
 * "internal ops"). Each runs its public counterpart's kernel (qconv.c,
 * qmatmul.c) so the integer arithmetic and the requantization through
 * ir/quant.h exist once, then applies only the extras. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/kernels.h"
#include "backends/ref/quant_kernels.h"
#include "ir/dtype.h"
#include "ir/quant.h"
#include "ops/wgemm.h"

/* Output clamp in quantized units from a folded Relu/Clip: exact because
 * quantization is monotone, so Q(max(v, 0)) == max(Q(v), Q(0)) etc. */
static void apply_clamp(const qc_node *n, qc_tensor *y) {
    if (!qc_node_attr(n, "act_min") && !qc_node_attr(n, "act_max")) return;
    int64_t lo = qc_attr_int(n, "act_min", INT64_MIN), hi = qc_attr_int(n, "act_max", INT64_MAX);
    int64_t count = qk_numel(y);
    for (int64_t e = 0; e < count; e++) {
        int64_t v = qc_elem_get_i64(y->desc.dtype, y->data, e);
        if (v < lo) v = lo;
        if (v > hi) v = hi;
        qc_elem_set_i64(y->desc.dtype, y->data, e, v);
    }
}

/* The int32 accumulator of the float / requantized forms: output 0's
 * shape, i32, malloc'd (the caller frees acc->data). */
static qc_status alloc_acc(const qc_ref_args *a, qc_tensor *acc) {
    const qc_tensor *y = &a->out[0];
    int64_t n = qk_numel(y);
    if ((uint64_t)n > SIZE_MAX / sizeof(int32_t) - 1)
        return qc_node_error(a->node, QC_ERR_NOMEM, "output too large");
    *acc = (qc_tensor){.desc = y->desc};
    acc->desc.dtype = QC_I32;
    acc->data = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    return acc->data ? NULL : qc_node_error(a->node, QC_ERR_NOMEM, "out of memory");
}

/* Float output (no y_scale): ConvInteger's accumulation, the i32 bias, then
 * y = float(acc) * (x_scale * w_scale[m]) — qc.QGemm's float form, per
 * output channel. */
static qc_status ref_qconv_float(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    int64_t n = qk_numel(y);
    qc_tensor acc;
    qc_status st = alloc_acc(a, &acc);
    if (st) return st;
    /* ConvInteger(x, w, x_zero_point, w_zero_point) */
    qc_tensor ci_in[4] = {*qk_in(a, 0), *qk_in(a, 3), *qk_in(a, 2), *qk_in(a, 5)};
    qc_ref_args ci = {.node = a->node, .n_in = 4, .in = ci_in, .n_out = 1, .out = &acc};
    st = qc_ref_conv_integer(&ci);
    const int32_t *accv = acc.data;
    const qc_tensor *sx = qk_in(a, 1), *sw = qk_in(a, 4), *bias = qk_in(a, 8);
    int64_t m = y->desc.rank > 1 ? y->desc.dims[1] : 1, plane = 1;
    for (int32_t d = 2; d < y->desc.rank; d++) plane *= y->desc.dims[d];
    for (int64_t e = 0; !st && e < n; e++) {
        int64_t oc = e / (plane ? plane : 1) % m;
        int32_t v = accv[e];
        if (qk_present(bias)) v = qk_wrap_add(v, ((const int32_t *)bias->data)[oc]);
        ((float *)y->data)[e] =
            (float)v * qc_requant_multiplier(qk_scale_at(sx, 0), qk_scale_at(sw, oc), 1.0f);
    }
    free(acc.data);
    return st;
}

static qc_status ref_qconv(const qc_ref_args *a) {
    if (a->out[0].desc.dtype == QC_F32) return ref_qconv_float(a);
    qc_status st = qc_ref_qlinear_conv(a);   /* same inputs and attrs */
    if (!st) apply_clamp(a->node, &a->out[0]);
    return st;
}

/* QLinearMatMul with an int32 bias added to the accumulator before the
 * requantization: MatMulInteger's accumulation, then the same per-row /
 * per-column multiplier QLinearMatMul uses. */
static qc_status ref_qgemm(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    int64_t n = qk_numel(y);
    qc_tensor acc;
    qc_status st = alloc_acc(a, &acc);
    if (st) return st;
    /* MatMulInteger(A, B, a_zero_point, b_zero_point) */
    qc_tensor mi_in[4] = {*qk_in(a, 0), *qk_in(a, 3), *qk_in(a, 2), *qk_in(a, 5)};
    qc_ref_args mi = {.node = a->node, .n_in = 4, .in = mi_in, .n_out = 1, .out = &acc};
    st = qc_ref_matmul_integer(&mi);
    const int32_t *accv = acc.data;
    const qc_tensor *sa = qk_in(a, 1), *sb = qk_in(a, 4), *bias = qk_in(a, 8);
    /* float output (no y_scale): y = float(acc) * (a_scale * b_scale), the
     * multiplier of a requantization to scale 1 without the rounding */
    bool float_out = y->desc.dtype == QC_F32;
    float sy = float_out ? 1.0f : qk_scale_at(qk_in(a, 6), 0);
    int32_t zy = qk_zp_at(qk_in(a, 7), 0);
    int64_t lo = 0, hi = 0;
    if (!float_out) qc_dtype_int_range(y->desc.dtype, &lo, &hi);
    const qc_tensor *at = qk_in(a, 0);
    int64_t cols = y->desc.rank ? y->desc.dims[y->desc.rank - 1] : 1;
    int64_t rows = at->desc.rank >= 2 ? at->desc.dims[at->desc.rank - 2] : 1;
    for (int64_t e = 0; !st && e < n; e++) {
        int64_t col = e % cols, row = e / cols % rows;
        int32_t v = accv[e];
        if (qk_present(bias)) v = qk_wrap_add(v, ((const int32_t *)bias->data)[col]);
        float mult = qc_requant_multiplier(qk_scale_at(sa, row), qk_scale_at(sb, col), sy);
        if (float_out) {
            ((float *)y->data)[e] = (float)v * mult;
            continue;
        }
        qc_elem_set_i64(y->desc.dtype, y->data, e,
                        qc_requantize(v, mult, zy, (int32_t)lo, (int32_t)hi));
    }
    free(acc.data);
    if (!st && !float_out) apply_clamp(a->node, y);
    return st;
}

/* qc.WGemm: the decoder's own kernel (DequantizeLinear, or Cast to i32 then
 * Gather) into a temporary f32 weight, then the base op's kernel: the very
 * chain wgemm_fold replaced, so the result is bit-identical to it. */
static qc_status ref_wgemm(const qc_ref_args *a) {
    const qc_node *n = a->node;
    qc_wgemm_attrs w;
    const char *why = "";
    if (!qc_wgemm_attrs_get(n, &w, &why)) return qc_node_error(n, QC_ERR_INVALID, "%s", why);
    if (w.dec > 18) return qc_node_error(n, QC_ERR_INVALID, "too many inputs");
    const qc_tensor *wq = &a->in[1], *d0 = &a->in[w.dec];
    qc_tensor dec = {0}, idx = {0};
    qc_tensor_desc dd = wq->desc;
    dd.dtype = d0->desc.dtype;   /* DequantizeLinear: the scale's type; Gather: the codebook's */
    qc_status st = qc_tensor_alloc(&dd, &dec);
    int32_t ids[3] = {0, 1, 2}, out_id = 0;
    qc_node view = *n;
    view.in = ids;
    view.out = &out_id;
    view.n_out = 1;
    qc_tensor din[3];
    if (!st && w.codebook) {
        qc_tensor_desc id = wq->desc;
        id.dtype = QC_I32;
        st = qc_tensor_alloc(&id, &idx);
        int64_t cnt = qc_type_numel(&id);
        for (int64_t e = 0; !st && e < cnt; e++)
            ((int32_t *)idx.data)[e] = (int32_t)qc_elem_get_i64(wq->desc.dtype, wq->data, e);
        view.op = QC_OP_GATHER;
        view.n_attr = 0;   /* axis 0 */
        view.n_in = 2;
        din[0] = *d0;
        din[1] = idx;
    } else if (!st) {
        view.op = QC_OP_DEQUANTIZE_LINEAR;
        view.n_in = 1 + a->n_in - w.dec;
        din[0] = *wq;
        for (int32_t k = w.dec; k < a->n_in; k++) din[1 + k - w.dec] = a->in[k];
    }
    qc_ref_args da = {.node = &view, .n_in = view.n_in, .in = din, .n_out = 1, .out = &dec};
    if (!st) st = qc_ref_run_kernel(&da);
    qc_tensor bin[18];
    memcpy(bin, a->in, sizeof(qc_tensor) * (size_t)w.dec);
    bin[1] = dec;
    qc_node bview = *n;
    bview.op = w.base;
    bview.n_in = w.dec;
    qc_ref_args ba = {.node = &bview, .n_in = w.dec, .in = bin, .n_out = a->n_out, .out = a->out};
    if (!st) st = qc_ref_run_kernel(&ba);
    qc_tensor_release(&idx);
    qc_tensor_release(&dec);
    return st;
}

qc_status qc_ref_fused(const qc_ref_args *a, bool *handled) {
    *handled = true;
    switch (a->node->op) {
    case QC_OP_QGEMM: return ref_qgemm(a);
    case QC_OP_QCONV: return ref_qconv(a);
    case QC_OP_WGEMM: return ref_wgemm(a);
    default: return qc_ref_fused_prog(a, handled);
    }
}
