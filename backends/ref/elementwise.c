/* elementwise.c — ref kernels for the unary ops (Relu ... Exp, Clip) and the
 * broadcasting binary ops (Add, Sub, Mul, Div, Pow).
 *
 * Float math runs in double on values read with qc_elem_get_f64 and is stored
 * with qc_elem_set_f64, which rounds once to the output type. For + - * / and
 * sqrt that equals computing in the output type itself (double has more than
 * twice the bits of f32), so the oracle matches a correctly rounded f32/f16
 * implementation exactly; transcendental functions are at least as accurate.
 * Integer math runs in int64 and wraps to the output type like two's
 * complement hardware (computed in uint64 so overflow is defined). */
#include <math.h>
#include <string.h>

#include "backends/ref/tensor_kernels.h"
#include "ir/dtype.h"

/* ---- unary ------------------------------------------------------------------ */

typedef struct unary_params {
    double alpha;            /* LeakyRelu */
    bool gelu_tanh;          /* Gelu approximate="tanh" */
    double lo, hi;           /* Clip bounds, float inputs */
    int64_t ilo, ihi;        /* Clip bounds, integer inputs */
} unary_params;

static double gelu(double x, bool tanh_approx) {
    if (tanh_approx) {
        const double sqrt_2_over_pi = 0.79788456080286535588;
        return 0.5 * x * (1.0 + tanh(sqrt_2_over_pi * (x + 0.044715 * x * x * x)));
    }
    const double inv_sqrt2 = 0.70710678118654752440;
    return 0.5 * x * (1.0 + erf(x * inv_sqrt2));
}

static double unary_f64(qc_op op, const unary_params *p, double x) {
    switch (op) {
    case QC_OP_RELU: return x < 0.0 ? 0.0 : x;
    case QC_OP_LEAKY_RELU: return x < 0.0 ? p->alpha * x : x;
    case QC_OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case QC_OP_TANH: return tanh(x);
    case QC_OP_ERF: return erf(x);
    case QC_OP_GELU: return gelu(x, p->gelu_tanh);
    case QC_OP_SQRT: return sqrt(x);
    case QC_OP_EXP: return exp(x);
    case QC_OP_CLIP:
        /* max(x, lo) then min(., hi): when lo > hi every value becomes hi, as
         * the ONNX spec says. NaN passes through. */
        if (isnan(x)) return x;
        x = x < p->lo ? p->lo : x;
        return x > p->hi ? p->hi : x;
    default: return x;
    }
}

static int64_t unary_i64(qc_op op, const unary_params *p, int64_t x) {
    if (op == QC_OP_RELU) return x < 0 ? 0 : x;
    x = x < p->ilo ? p->ilo : x;   /* Clip, the only other op with integer inputs */
    return x > p->ihi ? p->ihi : x;
}

/* Clip's bounds: inputs 1/2 (opset 11+), else the float attributes min/max
 * (opset 6), else no bound. Inference checked their types and sizes. */
static void clip_bounds(const qc_ref_args *a, unary_params *p) {
    p->lo = qc_attr_float(a->node, "min", -INFINITY);
    p->hi = qc_attr_float(a->node, "max", INFINITY);
    p->ilo = INT64_MIN;
    p->ihi = INT64_MAX;
    if (a->n_in > 1 && a->in[1].data) {
        p->lo = qc_elem_get_f64(a->in[1].desc.dtype, a->in[1].data, 0);
        p->ilo = qc_elem_get_i64(a->in[1].desc.dtype, a->in[1].data, 0);
    }
    if (a->n_in > 2 && a->in[2].data) {
        p->hi = qc_elem_get_f64(a->in[2].desc.dtype, a->in[2].data, 0);
        p->ihi = qc_elem_get_i64(a->in[2].desc.dtype, a->in[2].data, 0);
    }
}

static qc_status unary(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    qc_op op = a->node->op;
    qc_dtype t = x->desc.dtype;
    unary_params p = {.alpha = qc_attr_float(a->node, "alpha", 0.01f)};
    p.gelu_tanh = strcmp(qc_attr_string(a->node, "approximate", "none"), "tanh") == 0;
    if (op == QC_OP_CLIP) clip_bounds(a, &p);
    int64_t n = qc_type_numel(&x->desc);
    if (qc_dtype_is_int(t)) {
        for (int64_t i = 0; i < n; i++)
            qc_elem_set_i64(t, y->data, i, unary_i64(op, &p, qc_elem_get_i64(t, x->data, i)));
    } else {
        for (int64_t i = 0; i < n; i++)
            qc_elem_set_f64(t, y->data, i, unary_f64(op, &p, qc_elem_get_f64(t, x->data, i)));
    }
    return NULL;
}

/* ---- binary with numpy broadcasting ------------------------------------------ */

/* Walks the output in row-major order, keeping the matching element offsets
 * of both inputs (stride 0 along broadcast dims). */
typedef struct bcast_iter {
    int32_t rank;
    int64_t dims[QC_MAX_RANK], sa[QC_MAX_RANK], sb[QC_MAX_RANK], idx[QC_MAX_RANK];
    int64_t oa, ob;
} bcast_iter;

void qc_ref_bcast_strides(const qc_tensor_desc *x, int32_t r, int64_t *s) {
    int64_t stride = 1;
    for (int32_t k = r - 1; k >= 0; k--) {
        int32_t kx = k - (r - x->rank);
        if (kx < 0) {
            s[k] = 0;
            continue;
        }
        s[k] = x->dims[kx] == 1 ? 0 : stride;
        stride *= x->dims[kx];
    }
}

static void bcast_init(bcast_iter *it, const qc_tensor_desc *a, const qc_tensor_desc *b,
                       const qc_tensor_desc *out) {
    *it = (bcast_iter){.rank = out->rank};
    for (int32_t k = 0; k < out->rank; k++) it->dims[k] = out->dims[k];
    qc_ref_bcast_strides(a, out->rank, it->sa);
    qc_ref_bcast_strides(b, out->rank, it->sb);
}

static void bcast_next(bcast_iter *it) {
    for (int32_t k = it->rank - 1; k >= 0; k--) {
        it->oa += it->sa[k];
        it->ob += it->sb[k];
        if (++it->idx[k] < it->dims[k]) return;
        it->oa -= it->sa[k] * it->dims[k];
        it->ob -= it->sb[k] * it->dims[k];
        it->idx[k] = 0;
    }
}

static double binary_f64(qc_op op, double x, double y) {
    switch (op) {
    case QC_OP_ADD: return x + y;
    case QC_OP_SUB: return x - y;
    case QC_OP_MUL: return x * y;
    case QC_OP_DIV: return x / y;
    default: return pow(x, y);
    }
}

/* Integer power by squaring, wrapping on overflow. A negative exponent gives
 * the truncated value of 1 / x^-e: 0 unless |x| is 1 (what ONNX Runtime's
 * pow-then-cast yields); 0 to a negative power has no value. */
static qc_status pow_i64(const qc_ref_args *a, int64_t x, int64_t e, int64_t *r) {
    if (e < 0) {
        if (x == 0)
            return qc_node_error(a->node, QC_ERR_INVALID, "integer 0 raised to a negative power");
        *r = x == 1 ? 1 : x == -1 ? (e % 2 ? -1 : 1) : 0;
        return NULL;
    }
    uint64_t acc = 1, base = (uint64_t)x;
    for (; e; e >>= 1, base *= base)
        if (e & 1) acc *= base;
    *r = (int64_t)acc;
    return NULL;
}

static qc_status binary_i64(const qc_ref_args *a, int64_t x, int64_t y, int64_t *r) {
    switch (a->node->op) {
    case QC_OP_ADD: *r = (int64_t)((uint64_t)x + (uint64_t)y); return NULL;
    case QC_OP_SUB: *r = (int64_t)((uint64_t)x - (uint64_t)y); return NULL;
    case QC_OP_MUL: *r = (int64_t)((uint64_t)x * (uint64_t)y); return NULL;
    case QC_OP_DIV:
        /* C division truncates toward zero, as ONNX Runtime's does. */
        if (y == 0) return qc_node_error(a->node, QC_ERR_INVALID, "integer division by zero");
        *r = (x == INT64_MIN && y == -1) ? INT64_MIN : x / y;   /* the one overflow wraps */
        return NULL;
    default: return pow_i64(a, x, y, r);
    }
}

static qc_status binary(const qc_ref_args *a) {
    const qc_tensor *A = &a->in[0], *B = &a->in[1];
    qc_tensor *y = &a->out[0];
    qc_dtype ta = A->desc.dtype, tb = B->desc.dtype, to = y->desc.dtype;
    qc_op op = a->node->op;
    /* Pow alone may mix types: an integer base with a float exponent is
     * computed in double and converted back like Cast does. */
    enum { FLOAT, INT, INT_BASE_FLOAT_EXP } mode =
        qc_dtype_is_float(to) ? FLOAT : qc_dtype_is_float(tb) ? INT_BASE_FLOAT_EXP : INT;
    bcast_iter it;
    bcast_init(&it, &A->desc, &B->desc, &y->desc);
    int64_t n = qc_type_numel(&y->desc);
    for (int64_t i = 0; i < n; i++, bcast_next(&it)) {
        if (mode == FLOAT) {
            double r = binary_f64(op, qc_elem_get_f64(ta, A->data, it.oa),
                                  qc_elem_get_f64(tb, B->data, it.ob));
            qc_elem_set_f64(to, y->data, i, r);
        } else if (mode == INT_BASE_FLOAT_EXP) {
            double r = pow(qc_elem_get_f64(ta, A->data, it.oa),
                           qc_elem_get_f64(tb, B->data, it.ob));
            qc_elem_set_i64(to, y->data, i, qc_ref_float_to_int(r, to));
        } else {
            int64_t r = 0;   /* set on success; initialised for -O2 maybe-uninitialized */
            qc_status st = binary_i64(a, qc_elem_get_i64(ta, A->data, it.oa),
                                      qc_elem_get_i64(tb, B->data, it.ob), &r);
            if (st) return st;
            qc_elem_set_i64(to, y->data, i, r);
        }
    }
    return NULL;
}

qc_status qc_ref_elementwise(const qc_ref_args *a) {
    switch (a->node->op) {
    case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: case QC_OP_POW:
        return binary(a);
    default:
        return unary(a);
    }
}
