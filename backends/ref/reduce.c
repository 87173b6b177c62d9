/* reduce.c — ref kernels for the reductions: ReduceSum, ReduceMean,
 * ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
 * ReduceLogSum, ReduceLogSumExp, and ArgMax / ArgMin.
 *
 * Floats accumulate in double and are rounded once when stored. Integers
 * accumulate in int64 (sums and products wrap like two's complement
 * hardware; an integer mean truncates toward zero, as ONNX Runtime's does).
 * Reducing an empty set gives the identity of the operation, as the ONNX
 * spec (opset 18) says: 0 for sums, 1 for ReduceProd, -inf / the type's
 * minimum for ReduceMax, +inf / its maximum for ReduceMin, log(0) = -inf for
 * ReduceLogSum and ReduceLogSumExp, and NaN (0/0) for a float mean. */
#include <math.h>
#include <stdlib.h>

#include "backends/ref/nn_internal.h"
#include "ir/dtype.h"

/* Per output element: the running value and, for LogSumExp, the max seen
 * so far (the sum is kept relative to it so exp never overflows). */
typedef struct acc {
    double f, fmax;
    int64_t i;
} acc;

static void acc_init(qc_op op, qc_dtype t, acc *a) {
    int64_t lo, hi;
    qc_dtype_int_range(t, &lo, &hi);
    a->fmax = -INFINITY;
    switch (op) {
    case QC_OP_REDUCE_MAX: a->f = -INFINITY; a->i = lo; break;
    case QC_OP_REDUCE_MIN: a->f = INFINITY; a->i = hi; break;
    case QC_OP_REDUCE_PROD: a->f = 1.0; a->i = 1; break;
    default: a->f = 0.0; a->i = 0; break;
    }
}

static void acc_add_f64(qc_op op, acc *a, double v) {
    switch (op) {
    case QC_OP_REDUCE_MAX: a->f = isnan(a->f) || isnan(v) ? NAN : fmax(a->f, v); break;
    case QC_OP_REDUCE_MIN: a->f = isnan(a->f) || isnan(v) ? NAN : fmin(a->f, v); break;
    case QC_OP_REDUCE_PROD: a->f *= v; break;
    case QC_OP_REDUCE_L1: a->f += fabs(v); break;
    case QC_OP_REDUCE_L2: case QC_OP_REDUCE_SUM_SQUARE: a->f += v * v; break;
    case QC_OP_REDUCE_LOG_SUM_EXP:
        /* f holds sum(exp(x - fmax)); rescale when a larger value arrives. */
        if (v > a->fmax) {
            a->f = a->f * exp(a->fmax - v) + 1.0;
            a->fmax = v;
        } else {
            a->f += exp(v - a->fmax);
        }
        if (isnan(v)) a->fmax = NAN;
        break;
    default: a->f += v; break;   /* Sum, Mean, LogSum */
    }
}

static void acc_add_i64(qc_op op, acc *a, int64_t v) {
    uint64_t u = (uint64_t)a->i, w = (uint64_t)v;
    switch (op) {
    case QC_OP_REDUCE_MAX: a->i = v > a->i ? v : a->i; break;
    case QC_OP_REDUCE_MIN: a->i = v < a->i ? v : a->i; break;
    case QC_OP_REDUCE_PROD: a->i = (int64_t)(u * w); break;
    case QC_OP_REDUCE_L1: a->i = (int64_t)(u + (v < 0 ? 0u - w : w)); break;
    case QC_OP_REDUCE_SUM_SQUARE: a->i = (int64_t)(u + w * w); break;
    default: a->i = (int64_t)(u + w); break;   /* Sum, Mean */
    }
}

static double acc_final_f64(qc_op op, const acc *a, int64_t count) {
    switch (op) {
    case QC_OP_REDUCE_MEAN: return a->f / (double)count;
    case QC_OP_REDUCE_L2: return sqrt(a->f);
    case QC_OP_REDUCE_LOG_SUM: return log(a->f);
    case QC_OP_REDUCE_LOG_SUM_EXP:
        if (isnan(a->fmax)) return NAN;
        if (isinf(a->fmax)) return a->fmax;   /* empty / all -inf: -inf; any +inf: +inf */
        return a->fmax + log(a->f);
    default: return a->f;
    }
}

/* The reduced dims, from the same code inference used, fed the real inputs. */
static qc_status reduced_dims(const qc_ref_args *a, bool reduce[QC_MAX_RANK], bool *identity) {
    qc_type types[2] = {a->in[0].desc, {0}};
    const void *data[2] = {a->in[0].data, NULL};
    if (a->n_in > 1) {
        types[1] = a->in[1].desc;
        data[1] = a->in[1].data;
    }
    qc_infer_ctx ctx = {NULL, a->node, a->n_in > 1 ? 2 : 1, types, data, 0, NULL};
    return qc_infer_nn_reduce_axes(&ctx, reduce, identity);
}

static qc_status reduce(const qc_ref_args *a) {
    const qc_node *n = a->node;
    const qc_tensor *x = &a->in[0];
    const qc_tensor_desc *xd = &x->desc;
    qc_tensor *y = &a->out[0];
    qc_dtype t = xd->dtype;
    bool red[QC_MAX_RANK], identity, is_int = !qc_dtype_is_float(t);
    qc_status st = reduced_dims(a, red, &identity);
    if (st) return st;
    /* noop_with_empty_axes=1 and no axes: nothing is reduced, so each
     * element is its own group (ReduceSumSquare squares it, as the ONNX
     * reference does; ReduceSum / ReduceMean / ReduceMax return it). */
    if (identity)
        for (int32_t d = 0; d < QC_MAX_RANK; d++) red[d] = false;
    /* Output strides over X's dims, with reduced dims contributing 0: the
     * output's flat order is the same with or without keepdims. */
    int64_t ostride[QC_MAX_RANK], s = 1, count = 1;
    for (int32_t d = xd->rank - 1; d >= 0; d--) {
        ostride[d] = red[d] ? 0 : s;
        if (red[d]) count *= xd->dims[d];
        else s *= xd->dims[d];
    }
    int64_t n_out = qc_ref_nn_numel(y), total = qc_ref_nn_numel(x);
    acc *accs = malloc((n_out ? (size_t)n_out : 1) * sizeof *accs);
    if (!accs) return qc_node_error(n, QC_ERR_NOMEM, "out of memory for %lld accumulators",
                                    (long long)n_out);
    for (int64_t o = 0; o < n_out; o++) acc_init(n->op, t, &accs[o]);
    int64_t idx[QC_MAX_RANK] = {0}, o = 0;
    for (int64_t i = 0; i < total; i++) {
        if (is_int) acc_add_i64(n->op, &accs[o], qc_elem_get_i64(t, x->data, i));
        else acc_add_f64(n->op, &accs[o], qc_elem_get_f64(t, x->data, i));
        for (int32_t d = xd->rank - 1; d >= 0; d--) {   /* next input index, row-major */
            o += ostride[d];
            if (++idx[d] < xd->dims[d]) break;
            o -= ostride[d] * xd->dims[d];
            idx[d] = 0;
        }
    }
    for (int64_t k = 0; k < n_out; k++) {
        if (!is_int) {
            qc_elem_set_f64(t, y->data, k, acc_final_f64(n->op, &accs[k], count));
        } else {
            int64_t v = accs[k].i;
            if (n->op == QC_OP_REDUCE_MEAN) v = count ? v / count : 0;
            qc_elem_set_i64(t, y->data, k, v);
        }
    }
    free(accs);
    return NULL;
}

/* ---- ArgMax / ArgMin ----------------------------------------------------------- */

/* Whether v beats the best so far. NaN counts as the extreme value either
 * way, as numpy.argmax / argmin (the ONNX reference) treat it; ties go to
 * the later index only with select_last_index. */
static bool better(bool is_max, bool last, double v, double best) {
    if (isnan(best)) return last && isnan(v);
    if (isnan(v)) return true;
    if (v == best) return last;
    return is_max ? v > best : v < best;
}

static qc_status arg_extremum(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    const qc_tensor_desc *xd = &x->desc;
    qc_dtype t = xd->dtype;
    bool is_max = a->node->op == QC_OP_ARGMAX;
    bool last = qc_attr_int(a->node, "select_last_index", 0) != 0;
    int64_t ax = qc_attr_int(a->node, "axis", 0);
    int32_t axis = (int32_t)(ax < 0 ? ax + xd->rank : ax);   /* range checked by inference */
    int64_t outer = 1, inner = 1, len = xd->dims[axis];
    for (int32_t d = 0; d < axis; d++) outer *= xd->dims[d];
    for (int32_t d = axis + 1; d < xd->rank; d++) inner *= xd->dims[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i, best_at = 0;
            if (qc_dtype_is_int(t)) {   /* int64 compare: exact beyond 2^53 */
                int64_t best = qc_elem_get_i64(t, x->data, base);
                for (int64_t k = 1; k < len; k++) {
                    int64_t v = qc_elem_get_i64(t, x->data, base + k * inner);
                    if (v == best ? last : is_max ? v > best : v < best) best = v, best_at = k;
                }
            } else {
                double best = qc_elem_get_f64(t, x->data, base);
                for (int64_t k = 1; k < len; k++) {
                    double v = qc_elem_get_f64(t, x->data, base + k * inner);
                    if (better(is_max, last, v, best)) best = v, best_at = k;
                }
            }
            qc_elem_set_i64(QC_I64, a->out[0].data, o * inner + i, best_at);
        }
    return NULL;
}

qc_status qc_ref_reduce(const qc_ref_args *a) {
    if (a->node->op == QC_OP_ARGMAX || a->node->op == QC_OP_ARGMIN) return arg_extremum(a);
    return reduce(a);
}
