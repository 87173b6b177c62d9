/* infer_nn.c — type inference for the 'nn' op group (see infer.h): Gemm,
 * MatMul, Softmax / LogSoftmax / Hardmax, LayerNormalization,
 * BatchNormalization, InstanceNormalization, the Reduce* ops and
 * ArgMax / ArgMin here; the sliding-window ops and the global pools live in
 * ir/infer_conv.c.
 *
 * Semantics follow ONNX opsets 11-21. Where opsets differ the superset is
 * accepted (Reduce* axes as attribute or as input 1; Softmax, LogSoftmax and
 * Hardmax use the opset 13 single-axis meaning). A dim equal to QC_DIM_SYM
 * (the symbolic batch) may be copied to an output unchanged; any rule that
 * would need arithmetic on it, or to compare it with a concrete size, is an
 * error at compile time. */
#include <stdio.h>
#include <string.h>

#include "ir/dtype.h"
#include "ops/infer_nn.h"

/* ---- helpers shared with infer_conv.c ------------------------------------ */

const char *qc_infer_nn_fmt(const qc_infer_ctx *ctx, const qc_type *t, char *buf, size_t n) {
    qc_type_format(t, ctx->batch, buf, n);
    return buf;
}

qc_status qc_infer_nn_float(const qc_infer_ctx *ctx, int32_t i, const char *what) {
    if (!qc_infer_has_input(ctx, i))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d (%s) is missing", (int)i, what);
    qc_dtype t = ctx->in[i].dtype;
    if (t != QC_F32 && t != QC_F16 && t != QC_BF16 && t != QC_F64)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "input %d (%s) has element type %s; expected f32, f16, bf16 or f64",
                             (int)i, what, qc_dtype_name(t));
    return NULL;
}

qc_status qc_infer_nn_size(const qc_infer_ctx *ctx, const qc_type *t) {
    /* 2^56 elements: far beyond any real tensor, yet far enough from INT64_MAX
     * that byte counts and index arithmetic in the kernels cannot overflow. */
    const int64_t limit = (int64_t)1 << 56;
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++) {
        int64_t d = t->dims[i] == QC_DIM_SYM ? 1 : t->dims[i];
        if (d < 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "output dim %d would be %lld", (int)i,
                                 (long long)d);
        if (d && n > limit / d) {
            char buf[160];
            return qc_node_error(ctx->node, QC_ERR_INVALID, "output %s has too many elements",
                                 qc_infer_nn_fmt(ctx, t, buf, sizeof buf));
        }
        n *= d;
    }
    return NULL;
}

/* ---- local helpers ------------------------------------------------------- */

/* Two dims agree when equal; SYM only agrees with SYM (both are the batch). */
static bool dims_match(int64_t a, int64_t b) { return a == b; }

static qc_status need_same_dtype(const qc_infer_ctx *ctx, int32_t i, const char *what,
                                 int32_t ref, const char *ref_what) {
    if (ctx->in[i].dtype != ctx->in[ref].dtype)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "input %d (%s) is %s but %s is %s; they must match", (int)i, what,
                             qc_dtype_name(ctx->in[i].dtype), ref_what,
                             qc_dtype_name(ctx->in[ref].dtype));
    return NULL;
}

static qc_status need_outputs(const qc_infer_ctx *ctx, int32_t max) {
    if (ctx->n_out < 1 || ctx->n_out > max)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "has %d outputs, expected 1..%d",
                             (int)ctx->n_out, (int)max);
    return NULL;
}

/* Checks that `b` broadcasts onto `target` without changing it (ONNX
 * "unidirectional" broadcasting, used by Gemm's C and LayerNorm's scale). */
static qc_status check_unidirectional(const qc_infer_ctx *ctx, int32_t i, const char *what,
                                      const qc_type *target) {
    const qc_type *b = &ctx->in[i];
    bool ok = b->rank <= target->rank;
    for (int32_t k = 0; ok && k < b->rank; k++) {
        int64_t d = b->dims[k], t = target->dims[target->rank - b->rank + k];
        ok = d == 1 || dims_match(d, t);
    }
    if (!ok) {
        char sb[160], st[160];
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "input %d (%s) of shape %s does not broadcast to %s", (int)i, what,
                             qc_infer_nn_fmt(ctx, b, sb, sizeof sb),
                             qc_infer_nn_fmt(ctx, target, st, sizeof st));
    }
    return NULL;
}

static qc_status get_bool_attr(const qc_infer_ctx *ctx, const char *key, int64_t def, int64_t *v) {
    *v = qc_attr_int(ctx->node, key, def);
    if (*v != 0 && *v != 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "attribute %s must be 0 or 1, not %lld",
                             key, (long long)*v);
    return NULL;
}

/* ---- Gemm / MatMul ------------------------------------------------------- */

static qc_status infer_gemm(qc_infer_ctx *ctx) {
    qc_status st = NULL;
    if (!st) st = qc_infer_nn_float(ctx, 0, "A");
    if (!st) st = qc_infer_nn_float(ctx, 1, "B");
    if (!st) st = need_same_dtype(ctx, 1, "B", 0, "A");
    if (st) return st;
    const qc_type *a = &ctx->in[0], *b = &ctx->in[1];
    if (a->rank != 2 || b->rank != 2)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "A and B must be 2-D, got rank %d and %d",
                             (int)a->rank, (int)b->rank);
    int64_t trans_a, trans_b;
    if ((st = get_bool_attr(ctx, "transA", 0, &trans_a))) return st;
    if ((st = get_bool_attr(ctx, "transB", 0, &trans_b))) return st;
    int64_t m = a->dims[trans_a], ka = a->dims[1 - trans_a];
    int64_t kb = b->dims[trans_b], n = b->dims[1 - trans_b];
    if (!dims_match(ka, kb)) {
        char sa[160], sb[160];
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "inner dims differ: A %s (transA=%lld) and B %s (transB=%lld)",
                             qc_infer_nn_fmt(ctx, a, sa, sizeof sa), (long long)trans_a,
                             qc_infer_nn_fmt(ctx, b, sb, sizeof sb), (long long)trans_b);
    }
    qc_type y = {.dtype = a->dtype, .rank = 2, .dims = {m, n}};
    if (qc_infer_has_input(ctx, 2)) {
        if ((st = qc_infer_nn_float(ctx, 2, "C"))) return st;
        if ((st = need_same_dtype(ctx, 2, "C", 0, "A"))) return st;
        if ((st = check_unidirectional(ctx, 2, "C", &y))) return st;
    }
    if ((st = need_outputs(ctx, 1))) return st;
    if ((st = qc_infer_nn_size(ctx, &y))) return st;
    ctx->out[0] = y;
    return NULL;
}

/* numpy matmul: 1-D operands get a dim prepended (A) or appended (B) that is
 * dropped again from the result; leading dims broadcast. */
static qc_status infer_matmul(qc_infer_ctx *ctx) {
    qc_status st = NULL;
    if (!st) st = qc_infer_nn_float(ctx, 0, "A");
    if (!st) st = qc_infer_nn_float(ctx, 1, "B");
    if (!st) st = need_same_dtype(ctx, 1, "B", 0, "A");
    if (!st) st = need_outputs(ctx, 1);
    if (st) return st;
    const qc_type *a = &ctx->in[0], *b = &ctx->in[1];
    if (a->rank < 1 || b->rank < 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "operands must have rank >= 1, got %d and %d", (int)a->rank,
                             (int)b->rank);
    int64_t ka = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (!dims_match(ka, kb)) {
        char sa[160], sb[160];
        return qc_node_error(ctx->node, QC_ERR_INVALID, "inner dims differ: A %s and B %s",
                             qc_infer_nn_fmt(ctx, a, sa, sizeof sa),
                             qc_infer_nn_fmt(ctx, b, sb, sizeof sb));
    }
    qc_type ba = {.dtype = a->dtype, .rank = a->rank >= 2 ? a->rank - 2 : 0};
    qc_type bb = {.dtype = b->dtype, .rank = b->rank >= 2 ? b->rank - 2 : 0};
    memcpy(ba.dims, a->dims, sizeof(int64_t) * (size_t)ba.rank);
    memcpy(bb.dims, b->dims, sizeof(int64_t) * (size_t)bb.rank);
    qc_type y;
    if ((st = qc_infer_broadcast(ctx, &ba, &bb, &y))) return st;
    if (a->rank >= 2) y.dims[y.rank++] = a->dims[a->rank - 2];
    if (b->rank >= 2) y.dims[y.rank++] = b->dims[b->rank - 1];
    if ((st = qc_infer_nn_size(ctx, &y))) return st;
    ctx->out[0] = y;
    return NULL;
}

/* ---- Softmax and normalizations ------------------------------------------ */

static qc_status infer_softmax(qc_infer_ctx *ctx) {
    qc_status st = qc_infer_nn_float(ctx, 0, "input");
    if (!st) st = need_outputs(ctx, 1);
    if (st) return st;
    const qc_type *x = &ctx->in[0];
    if (x->rank < 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input must have rank >= 1");
    int32_t axis;
    if ((st = qc_infer_axis(ctx, qc_attr_int(ctx->node, "axis", -1), x->rank, false, &axis)))
        return st;
    ctx->out[0] = *x;
    return NULL;
}

/* ONNX TensorProto element type codes allowed for LayerNorm's stash_type. */
static qc_dtype stash_dtype(int64_t code) {
    switch (code) {
    case 1: return QC_F32;
    case 10: return QC_F16;
    case 11: return QC_F64;
    case 16: return QC_BF16;
    default: return QC_DT_UNDEF;
    }
}

static qc_status infer_layer_norm(qc_infer_ctx *ctx) {
    qc_status st = NULL;
    if (!st) st = qc_infer_nn_float(ctx, 0, "X");
    if (!st) st = qc_infer_nn_float(ctx, 1, "Scale");
    if (!st) st = need_same_dtype(ctx, 1, "Scale", 0, "X");
    if (!st) st = need_outputs(ctx, 3);
    if (st) return st;
    const qc_type *x = &ctx->in[0];
    if (x->rank < 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "X must have rank >= 1");
    int32_t axis;
    if ((st = qc_infer_axis(ctx, qc_attr_int(ctx->node, "axis", -1), x->rank, false, &axis)))
        return st;
    int64_t stash = qc_attr_int(ctx->node, "stash_type", 1);
    qc_dtype u = stash_dtype(stash);
    if (u == QC_DT_UNDEF)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "stash_type %lld is not a float type (1, 10, 11 or 16)",
                             (long long)stash);
    if ((st = check_unidirectional(ctx, 1, "Scale", x))) return st;
    if (qc_infer_has_input(ctx, 2)) {
        if ((st = qc_infer_nn_float(ctx, 2, "B"))) return st;
        if ((st = need_same_dtype(ctx, 2, "B", 0, "X"))) return st;
        if ((st = check_unidirectional(ctx, 2, "B", x))) return st;
    }
    ctx->out[0] = *x;
    /* Mean and InvStdDev keep X's leading dims; the normalized ones become 1. */
    for (int32_t k = 1; k < ctx->n_out; k++) {
        ctx->out[k] = *x;
        ctx->out[k].dtype = u;
        for (int32_t d = axis; d < x->rank; d++) ctx->out[k].dims[d] = 1;
    }
    return NULL;
}

static qc_status infer_batch_norm(qc_infer_ctx *ctx) {
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    qc_status st = need_outputs(ctx, 1);
    for (int32_t i = 0; !st && i < 5; i++) st = qc_infer_nn_float(ctx, i, names[i]);
    /* ONNX lets scale/B (T1) and mean/var (T2) differ from X (T). */
    if (!st) st = need_same_dtype(ctx, 2, "B", 1, "scale");
    if (!st) st = need_same_dtype(ctx, 4, "input_var", 3, "input_mean");
    if (st) return st;
    if (qc_attr_int(ctx->node, "training_mode", 0) != 0)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "training_mode=1 is not supported (inference only)");
    const qc_type *x = &ctx->in[0];
    if (x->rank < 2)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "X must have rank >= 2 (N, C, ...), got %d",
                             (int)x->rank);
    int64_t c = x->dims[1];
    if (c == QC_DIM_SYM)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "the channel dim of X is the symbolic batch dim");
    for (int32_t i = 1; i < 5; i++) {
        const qc_type *p = &ctx->in[i];
        if (p->rank != 1 || p->dims[0] != c) {
            char sp[160];
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "input %d (%s) is %s; expected 1-D with %lld channels", (int)i,
                                 names[i], qc_infer_nn_fmt(ctx, p, sp, sizeof sp), (long long)c);
        }
    }
    ctx->out[0] = *x;
    return NULL;
}

/* ---- reductions ---------------------------------------------- */

qc_status qc_infer_nn_reduce_axes(const qc_infer_ctx *ctx, bool reduce[QC_MAX_RANK],
                                  bool *identity) {
    const qc_type *x = &ctx->in[0];
    int64_t noop;
    qc_status st = get_bool_attr(ctx, "noop_with_empty_axes", 0, &noop);
    if (st) return st;
    /* Axes: attribute (ReduceMean <= 17, ReduceSum <= 12) or input 1 (later). */
    int64_t axes[2 * QC_MAX_RANK];
    int32_t n_axes = 0;
    const qc_attr *attr = qc_node_attr(ctx->node, "axes");
    if (attr && qc_infer_has_input(ctx, 1))
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "axes given both as an attribute and as input 1");
    if (attr) {
        if (attr->kind != QC_ATTR_INTS && attr->kind != QC_ATTR_INT)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "attribute axes must be a list of ints");
        n_axes = attr->kind == QC_ATTR_INT ? 1 : attr->n;
        if (n_axes > 2 * QC_MAX_RANK)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "too many axes (%d)", (int)n_axes);
        for (int32_t k = 0; k < n_axes; k++)
            axes[k] = attr->kind == QC_ATTR_INT ? attr->i : attr->ints[k];
    } else if (qc_infer_has_input(ctx, 1)) {
        if ((st = qc_infer_read_ints(ctx, 1, axes, 2 * QC_MAX_RANK, &n_axes))) return st;
    }
    for (int32_t d = 0; d < QC_MAX_RANK; d++) reduce[d] = false;
    for (int32_t k = 0; k < n_axes; k++) {
        int32_t ax;
        if ((st = qc_infer_axis(ctx, axes[k], x->rank, false, &ax))) return st;
        if (reduce[ax])
            return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %lld is listed twice",
                                 (long long)axes[k]);
        reduce[ax] = true;
    }
    *identity = n_axes == 0 && noop;
    if (n_axes == 0)   /* no axes: reduce everything (unless identity) */
        for (int32_t d = 0; d < x->rank; d++) reduce[d] = !noop;
    return NULL;
}

/* Element types each reduction accepts: sums, products and extrema also
 * run on integers (in int64, like ONNX Runtime), ReduceMax/ReduceMin on bool
 * (opset 20); the ones that need a log or sqrt are float only. */
static qc_status reduce_dtype(const qc_infer_ctx *ctx) {
    qc_dtype t = ctx->in[0].dtype;
    bool is_float = t == QC_F32 || t == QC_F16 || t == QC_BF16 || t == QC_F64;
    bool is_int = t == QC_I8 || t == QC_U8 || t == QC_I16 || t == QC_I32 || t == QC_I64;
    qc_op op = ctx->node->op;
    if (op == QC_OP_REDUCE_L2 || op == QC_OP_REDUCE_LOG_SUM || op == QC_OP_REDUCE_LOG_SUM_EXP)
        return qc_infer_nn_float(ctx, 0, "data");
    bool extremum = op == QC_OP_REDUCE_MAX || op == QC_OP_REDUCE_MIN;
    if (is_float || is_int || (extremum && t == QC_BOOL)) return NULL;
    return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                         "input 0 (data) has element type %s; expected f32, f16, bf16, f64 or "
                         "i8/u8/i16/i32/i64%s", qc_dtype_name(t), extremum ? " or bool" : "");
}

static qc_status infer_reduce(qc_infer_ctx *ctx) {
    if (!qc_infer_has_input(ctx, 0))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 0 (data) is missing");
    qc_status st = reduce_dtype(ctx);
    if (!st) st = need_outputs(ctx, 1);
    if (st) return st;
    const qc_type *x = &ctx->in[0];
    int64_t keepdims;
    bool reduce[QC_MAX_RANK], identity;
    if ((st = get_bool_attr(ctx, "keepdims", 1, &keepdims))) return st;
    if ((st = qc_infer_nn_reduce_axes(ctx, reduce, &identity))) return st;
    /* A reduced dim becomes 1 or disappears: no arithmetic, so SYM is fine. */
    qc_type y = {.dtype = x->dtype, .rank = 0};
    for (int32_t d = 0; d < x->rank; d++) {
        if (!reduce[d]) y.dims[y.rank++] = x->dims[d];
        else if (keepdims) y.dims[y.rank++] = 1;
    }
    ctx->out[0] = y;
    return NULL;
}

/* ArgMax / ArgMin: i64 indices along one axis, which must not be empty. */
static qc_status infer_arg_extremum(qc_infer_ctx *ctx) {
    if (!qc_infer_has_input(ctx, 0))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 0 (data) is missing");
    qc_dtype t = ctx->in[0].dtype;
    bool ok = t == QC_F32 || t == QC_F16 || t == QC_BF16 || t == QC_F64 || t == QC_I8 ||
              t == QC_U8 || t == QC_I16 || t == QC_I32 || t == QC_I64;
    if (!ok)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "input 0 (data) has element type %s; expected f32, f16, bf16, f64 "
                             "or i8/u8/i16/i32/i64", qc_dtype_name(t));
    qc_status st = need_outputs(ctx, 1);
    if (st) return st;
    const qc_type *x = &ctx->in[0];
    int64_t keepdims, last;
    int32_t axis;
    if ((st = get_bool_attr(ctx, "keepdims", 1, &keepdims))) return st;
    if ((st = get_bool_attr(ctx, "select_last_index", 0, &last))) return st;
    if ((st = qc_infer_axis(ctx, qc_attr_int(ctx->node, "axis", 0), x->rank, false, &axis)))
        return st;
    if (x->dims[axis] == 0)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %d is empty: no index to return",
                             (int)axis);
    qc_type y = {.dtype = QC_I64, .rank = 0};
    for (int32_t d = 0; d < x->rank; d++) {
        if (d != axis) y.dims[y.rank++] = x->dims[d];
        else if (keepdims) y.dims[y.rank++] = 1;
    }
    ctx->out[0] = y;
    return NULL;
}

static qc_status infer_instance_norm(qc_infer_ctx *ctx) {
    static const char *const names[3] = {"input", "scale", "B"};
    qc_status st = need_outputs(ctx, 1);
    for (int32_t i = 0; !st && i < 3; i++) st = qc_infer_nn_float(ctx, i, names[i]);
    if (!st) st = need_same_dtype(ctx, 1, "scale", 0, "input");
    if (!st) st = need_same_dtype(ctx, 2, "B", 0, "input");
    if (st) return st;
    const qc_type *x = &ctx->in[0];
    if (x->rank < 3)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "input must have rank >= 3 (N, C and spatial dims), got %d",
                             (int)x->rank);
    int64_t c = x->dims[1];
    if (c == QC_DIM_SYM)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "the channel dim of the input is the symbolic batch dim");
    for (int32_t i = 1; i < 3; i++) {
        const qc_type *p = &ctx->in[i];
        if (p->rank != 1 || p->dims[0] != c) {
            char sp[160];
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "input %d (%s) is %s; expected 1-D with %lld channels", (int)i,
                                 names[i], qc_infer_nn_fmt(ctx, p, sp, sizeof sp), (long long)c);
        }
    }
    ctx->out[0] = *x;
    return NULL;
}

/* ---- dispatch ------------------------------------------------------------ */

qc_status qc_infer_nn(qc_infer_ctx *ctx, bool *handled) {
    *handled = true;
    switch (ctx->node->op) {
    case QC_OP_GEMM: return infer_gemm(ctx);
    case QC_OP_MATMUL: return infer_matmul(ctx);
    case QC_OP_SOFTMAX:
    case QC_OP_LOG_SOFTMAX:
    case QC_OP_HARDMAX: return infer_softmax(ctx);
    case QC_OP_INSTANCE_NORM: return infer_instance_norm(ctx);
    case QC_OP_ARGMAX:
    case QC_OP_ARGMIN: return infer_arg_extremum(ctx);
    case QC_OP_LAYER_NORM: return infer_layer_norm(ctx);
    case QC_OP_BATCH_NORM: return infer_batch_norm(ctx);
    case QC_OP_REDUCE_MEAN: case QC_OP_REDUCE_SUM: case QC_OP_REDUCE_MAX:
    case QC_OP_REDUCE_MIN: case QC_OP_REDUCE_PROD: case QC_OP_REDUCE_L1: case QC_OP_REDUCE_L2:
    case QC_OP_REDUCE_SUM_SQUARE: case QC_OP_REDUCE_LOG_SUM: case QC_OP_REDUCE_LOG_SUM_EXP:
        return infer_reduce(ctx);
    default: break;
    }
    *handled = false;
    return qc_infer_nn_window_op(ctx, handled);
}
