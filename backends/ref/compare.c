/* compare.c — ref kernels for the broadcasting ops added with the ONNX
 * frontend: Mod, the variadic Max/Min/Sum/Mean, the comparisons (Equal,
 * Less, LessOrEqual, Greater, GreaterOrEqual), And/Or/Xor and Where.
 *
 * Floats are compared and combined in double (exact for every float type,
 * and Sum/Mean round once at the end); integers in int64, with sums wrapping
 * like two's complement hardware. Max and Min propagate NaN, as numpy's
 * maximum/minimum (the ONNX reference) do. */
#include <math.h>
#include <stdlib.h>

#include "backends/ref/tensor_kernels.h"
#include "ir/dtype.h"

/* Walks the output in row-major order keeping the element offset of each of
 * up to three broadcast operands. */
typedef struct bc_iter {
    int32_t rank, n;
    int64_t dims[QC_MAX_RANK], idx[QC_MAX_RANK];
    int64_t stride[3][QC_MAX_RANK], off[3];
} bc_iter;

static void bc_init(bc_iter *it, const qc_tensor_desc *out, int32_t n,
                    const qc_tensor_desc *const *ops) {
    *it = (bc_iter){.rank = out->rank, .n = n};
    for (int32_t k = 0; k < out->rank; k++) it->dims[k] = out->dims[k];
    for (int32_t j = 0; j < n; j++) qc_ref_bcast_strides(ops[j], out->rank, it->stride[j]);
}

static void bc_next(bc_iter *it) {
    for (int32_t k = it->rank - 1; k >= 0; k--) {
        for (int32_t j = 0; j < it->n; j++) it->off[j] += it->stride[j][k];
        if (++it->idx[k] < it->dims[k]) return;
        for (int32_t j = 0; j < it->n; j++) it->off[j] -= it->stride[j][k] * it->dims[k];
        it->idx[k] = 0;
    }
}

/* ---- Mod ----------------------------------------------------------------------- */

/* Integer remainder: fmod=1 takes the dividend's sign (C's %), fmod=0 the
 * divisor's (Python's %). x % -1 is 0 (and INT64_MIN % -1 would trap). */
static int64_t int_mod(int64_t x, int64_t y, bool fmod_sign) {
    if (y == -1) return 0;
    int64_t r = x % y;
    if (!fmod_sign && r != 0 && (r < 0) != (y < 0)) r += y;
    return r;
}

static qc_status mod(const qc_ref_args *a) {
    const qc_tensor *A = &a->in[0], *B = &a->in[1];
    qc_tensor *y = &a->out[0];
    qc_dtype t = y->desc.dtype;
    bool fmod_sign = qc_attr_int(a->node, "fmod", 0) != 0;
    const qc_tensor_desc *ops[2] = {&A->desc, &B->desc};
    bc_iter it;
    bc_init(&it, &y->desc, 2, ops);
    int64_t n = qc_type_numel(&y->desc);
    for (int64_t i = 0; i < n; i++, bc_next(&it)) {
        if (qc_dtype_is_float(t)) {   /* fmod is exact, so double gives T's result */
            qc_elem_set_f64(t, y->data, i, fmod(qc_elem_get_f64(t, A->data, it.off[0]),
                                                qc_elem_get_f64(t, B->data, it.off[1])));
            continue;
        }
        int64_t q = qc_elem_get_i64(t, B->data, it.off[1]);
        if (q == 0) return qc_node_error(a->node, QC_ERR_INVALID, "integer modulo by zero");
        qc_elem_set_i64(t, y->data, i, int_mod(qc_elem_get_i64(t, A->data, it.off[0]), q,
                                               fmod_sign));
    }
    return NULL;
}

/* ---- Max / Min / Sum / Mean ------------------------------------------------------ */

static double fold_f64(qc_op op, double acc, double v) {
    switch (op) {
    case QC_OP_MAX: return isnan(acc) || isnan(v) ? NAN : v > acc ? v : acc;
    case QC_OP_MIN: return isnan(acc) || isnan(v) ? NAN : v < acc ? v : acc;
    default: return acc + v;   /* Sum, Mean */
    }
}

static int64_t fold_i64(qc_op op, int64_t acc, int64_t v) {
    switch (op) {
    case QC_OP_MAX: return v > acc ? v : acc;
    case QC_OP_MIN: return v < acc ? v : acc;
    default: return (int64_t)((uint64_t)acc + (uint64_t)v);   /* Sum */
    }
}

/* Folds input after input into an accumulator of the output's shape (so a
 * sum is rounded once, at the end). */
static qc_status variadic(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    qc_op op = a->node->op;
    qc_dtype t = y->desc.dtype;
    bool is_float = qc_dtype_is_float(t);
    int64_t n = qc_type_numel(&y->desc);
    size_t count = n ? (size_t)n : 1;
    double *facc = is_float ? malloc(count * sizeof(double)) : NULL;
    int64_t *iacc = is_float ? NULL : malloc(count * sizeof(int64_t));
    if (!facc && !iacc) return qc_node_error(a->node, QC_ERR_NOMEM, "out of memory");
    for (int32_t j = 0; j < a->n_in; j++) {
        const qc_tensor *x = &a->in[j];
        const qc_tensor_desc *ops[1] = {&x->desc};
        bc_iter it;
        bc_init(&it, &y->desc, 1, ops);
        for (int64_t i = 0; i < n; i++, bc_next(&it)) {
            if (is_float) {
                double v = qc_elem_get_f64(t, x->data, it.off[0]);
                facc[i] = j == 0 ? v : fold_f64(op, facc[i], v);
            } else {
                int64_t v = qc_elem_get_i64(t, x->data, it.off[0]);
                iacc[i] = j == 0 ? v : fold_i64(op, iacc[i], v);
            }
        }
    }
    for (int64_t i = 0; i < n; i++) {
        if (!is_float) qc_elem_set_i64(t, y->data, i, iacc[i]);
        else qc_elem_set_f64(t, y->data, i, op == QC_OP_MEAN ? facc[i] / a->n_in : facc[i]);
    }
    free(facc);
    free(iacc);
    return NULL;
}

/* ---- comparisons and logic --------------------------------------------------------- */

/* cmp: -1, 0, 1 for x < y, x == y, x > y; 2 when unordered (NaN). */
static bool compare_holds(qc_op op, int cmp) {
    switch (op) {
    case QC_OP_EQUAL: return cmp == 0;
    case QC_OP_LESS: return cmp == -1;
    case QC_OP_LESS_OR_EQUAL: return cmp == -1 || cmp == 0;
    case QC_OP_GREATER: return cmp == 1;
    default: return cmp == 1 || cmp == 0;   /* GreaterOrEqual */
    }
}

static qc_status compare_or_logic(const qc_ref_args *a) {
    const qc_tensor *A = &a->in[0], *B = &a->in[1];
    qc_tensor *y = &a->out[0];
    qc_op op = a->node->op;
    qc_dtype t = A->desc.dtype;
    const qc_tensor_desc *ops[2] = {&A->desc, &B->desc};
    bc_iter it;
    bc_init(&it, &y->desc, 2, ops);
    int64_t n = qc_type_numel(&y->desc);
    for (int64_t i = 0; i < n; i++, bc_next(&it)) {
        bool r;
        if (op == QC_OP_AND || op == QC_OP_OR || op == QC_OP_XOR) {
            bool p = qc_elem_get_i64(t, A->data, it.off[0]) != 0;
            bool q = qc_elem_get_i64(t, B->data, it.off[1]) != 0;
            r = op == QC_OP_AND ? p && q : op == QC_OP_OR ? p || q : p != q;
        } else if (qc_dtype_is_float(t)) {
            double p = qc_elem_get_f64(t, A->data, it.off[0]);
            double q = qc_elem_get_f64(t, B->data, it.off[1]);
            r = compare_holds(op, p < q ? -1 : p > q ? 1 : p == q ? 0 : 2);
        } else {
            int64_t p = qc_elem_get_i64(t, A->data, it.off[0]);
            int64_t q = qc_elem_get_i64(t, B->data, it.off[1]);
            r = compare_holds(op, p < q ? -1 : p > q ? 1 : 0);
        }
        qc_elem_set_i64(QC_BOOL, y->data, i, r);
    }
    return NULL;
}

/* Where(cond, X, Y): moves elements without looking at them, so it works
 * for every element type, the packed 4-bit ones included. */
static qc_status where(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    const qc_tensor_desc *ops[3] = {&a->in[0].desc, &a->in[1].desc, &a->in[2].desc};
    bc_iter it;
    bc_init(&it, &y->desc, 3, ops);
    int64_t n = qc_type_numel(&y->desc);
    for (int64_t i = 0; i < n; i++, bc_next(&it)) {
        int32_t from = qc_elem_get_i64(QC_BOOL, a->in[0].data, it.off[0]) ? 1 : 2;
        qc_ref_copy_elems(y->desc.dtype, y->data, i, a->in[from].data, it.off[from], 1);
    }
    return NULL;
}

qc_status qc_ref_compare(const qc_ref_args *a) {
    switch (a->node->op) {
    case QC_OP_MOD: return mod(a);
    case QC_OP_MAX: case QC_OP_MIN: case QC_OP_SUM: case QC_OP_MEAN: return variadic(a);
    case QC_OP_WHERE: return where(a);
    default: return compare_or_logic(a);
    }
}
