/* unary_math.c — ref kernels for the unary ops added with the ONNX frontend
 * (Neg, Abs, Floor, Ceil, Round, Reciprocal, Log, Sign, Sin, Cos, Softplus,
 * Softsign, HardSigmoid, HardSwish, Elu, Selu, Celu, ThresholdedRelu, Not,
 * IsNaN) and PRelu.
 *
 * As in elementwise.c, float math runs in double and is rounded once to the
 * output type; integer math (Neg, Abs, Sign, PRelu) runs in int64 and wraps
 * like two's complement hardware (Abs(-128) on i8 stays -128, as in ONNX
 * Runtime). */
#include <math.h>

#include "backends/ref/tensor_kernels.h"
#include "ir/dtype.h"

/* Float attributes of the activation functions, with the ONNX defaults. */
typedef struct act_params {
    double alpha, beta, gamma;
} act_params;

static act_params get_params(const qc_node *n) {
    act_params p = {0};
    switch (n->op) {
    case QC_OP_HARD_SIGMOID:
        p.alpha = qc_attr_float(n, "alpha", 0.2f);
        p.beta = qc_attr_float(n, "beta", 0.5f);
        break;
    case QC_OP_SELU:   /* the defaults are the float32 values the spec lists */
        p.alpha = qc_attr_float(n, "alpha", 1.67326319217681884765625f);
        p.gamma = qc_attr_float(n, "gamma", 1.05070102214813232421875f);
        break;
    default:   /* Elu, Celu, ThresholdedRelu */
        p.alpha = qc_attr_float(n, "alpha", 1.0f);
        break;
    }
    return p;
}

/* log(1 + e^x) without overflow for large x or loss for very negative x. */
static double softplus(double x) {
    return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double unary_f64(qc_op op, const act_params *p, double x) {
    switch (op) {
    case QC_OP_NEG: return -x;
    case QC_OP_ABS: return fabs(x);
    case QC_OP_FLOOR: return floor(x);
    case QC_OP_CEIL: return ceil(x);
    case QC_OP_ROUND: return nearbyint(x);   /* default rounding mode: half to even */
    case QC_OP_RECIPROCAL: return 1.0 / x;
    case QC_OP_LOG: return log(x);
    case QC_OP_SIGN: return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x;   /* keeps 0, -0 and NaN */
    case QC_OP_SIN: return sin(x);
    case QC_OP_COS: return cos(x);
    case QC_OP_SOFTPLUS: return softplus(x);
    case QC_OP_SOFTSIGN: return x / (1.0 + fabs(x));
    case QC_OP_HARD_SIGMOID: return fmax(0.0, fmin(1.0, p->alpha * x + p->beta));
    case QC_OP_HARD_SWISH: return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case QC_OP_ELU: return x < 0.0 ? p->alpha * expm1(x) : x;
    case QC_OP_SELU: return x > 0.0 ? p->gamma * x : p->gamma * p->alpha * expm1(x);
    case QC_OP_CELU: return fmax(0.0, x) + fmin(0.0, p->alpha * expm1(x / p->alpha));
    case QC_OP_THRESHOLDED_RELU: return x > p->alpha ? x : 0.0;
    default: return x;
    }
}

/* Neg, Abs, Sign on integers; unsigned negation keeps the wrap defined. */
static int64_t unary_i64(qc_op op, int64_t x) {
    switch (op) {
    case QC_OP_NEG: return (int64_t)(0u - (uint64_t)x);
    case QC_OP_ABS: return x < 0 ? (int64_t)(0u - (uint64_t)x) : x;
    default: return (x > 0) - (x < 0);   /* Sign */
    }
}

static qc_status unary(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    qc_op op = a->node->op;
    qc_dtype t = x->desc.dtype;
    act_params p = get_params(a->node);
    int64_t n = qc_type_numel(&x->desc);
    for (int64_t i = 0; i < n; i++) {
        if (op == QC_OP_NOT) {
            qc_elem_set_i64(QC_BOOL, y->data, i, !qc_elem_get_i64(QC_BOOL, x->data, i));
        } else if (op == QC_OP_ISNAN) {
            qc_elem_set_i64(QC_BOOL, y->data, i, isnan(qc_elem_get_f64(t, x->data, i)));
        } else if (qc_dtype_is_int(t)) {
            qc_elem_set_i64(t, y->data, i, unary_i64(op, qc_elem_get_i64(t, x->data, i)));
        } else {
            qc_elem_set_f64(t, y->data, i, unary_f64(op, &p, qc_elem_get_f64(t, x->data, i)));
        }
    }
    return NULL;
}

/* PRelu: y = x < 0 ? slope * x : x, slope broadcast onto x (inference
 * checked it does so without changing x's shape). */
static qc_status prelu(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0], *s = &a->in[1];
    qc_tensor *y = &a->out[0];
    qc_dtype t = x->desc.dtype;
    int32_t r = x->desc.rank;
    int64_t ss[QC_MAX_RANK], idx[QC_MAX_RANK] = {0}, off = 0, n = qc_type_numel(&x->desc);
    qc_ref_bcast_strides(&s->desc, r, ss);
    for (int64_t i = 0; i < n; i++) {
        if (qc_dtype_is_int(t)) {
            int64_t v = qc_elem_get_i64(t, x->data, i);
            uint64_t k = (uint64_t)qc_elem_get_i64(t, s->data, off);
            qc_elem_set_i64(t, y->data, i, v < 0 ? (int64_t)(k * (uint64_t)v) : v);
        } else {
            double v = qc_elem_get_f64(t, x->data, i);
            qc_elem_set_f64(t, y->data, i, v < 0.0 ? qc_elem_get_f64(t, s->data, off) * v : v);
        }
        for (int32_t k = r - 1; k >= 0; k--) {   /* next index, row-major */
            off += ss[k];
            if (++idx[k] < x->desc.dims[k]) break;
            off -= ss[k] * x->desc.dims[k];
            idx[k] = 0;
        }
    }
    return NULL;
}

qc_status qc_ref_unary_math(const qc_ref_args *a) {
    return a->node->op == QC_OP_PRELU ? prelu(a) : unary(a);
}
