/* infer_tensor.c — type inference for the 'tensor' op group: unary and
 * binary elementwise ops, Identity, Cast and the shape/data-movement ops.
 * The ops added with the ONNX frontend live in infer_math.c (elementwise)
 * and infer_shape_ops.c (shape computation, data movement); the dispatch at
 * the end checks arity for all of them.
 *
 * Dims may be QC_DIM_SYM (the graph's symbolic batch) at compile time. Each
 * op propagates it where the output shape provably follows the batch and
 * otherwise fails with an error that names the node and the reason, so a
 * graph never verifies with a shape that could differ once the batch is
 * bound. Shape-deciding inputs (Reshape's shape, Slice's starts, ...) are read
 * from ctx->in_data: constants at compile time, real data at run time. */
#include <stdint.h>
#include <string.h>

#include "ir/dtype.h"
#include "ops/infer.h"
#include "ops/infer_tensor.h"

#define MAX_SPLIT 64   /* Split has at most 64 outputs (ops.def) */

/* ---- small helpers --------------------------------------------------------- */

static const char *batch_name(const qc_infer_ctx *ctx) {
    return ctx->batch ? ctx->batch : "?";
}

static void fmt_type(const qc_infer_ctx *ctx, const qc_type *t, char *buf, size_t n) {
    qc_type_format(t, ctx->batch, buf, n);
}

bool qc_infer_is_math_float(qc_dtype t) {
    return t == QC_F32 || t == QC_F16 || t == QC_BF16 || t == QC_F64;
}

bool qc_infer_is_math_int(qc_dtype t) {
    return t == QC_I8 || t == QC_U8 || t == QC_I16 || t == QC_I32 || t == QC_I64;
}

qc_status qc_infer_bad_dtype(const qc_infer_ctx *ctx, int32_t i, const char *allowed) {
    return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d has type %s; expected %s", (int)i,
                         qc_dtype_name(ctx->in[i].dtype), allowed);
}


/* a * b into *out, false on int64 overflow (both non-negative). */
static bool mul_ok(int64_t a, int64_t b, int64_t *out) {
    if (a != 0 && b > INT64_MAX / a) return false;
    *out = a * b;
    return true;
}

/* Product of the concrete dims in [lo, hi) and the number of SYM dims. */
static qc_status dim_product(const qc_infer_ctx *ctx, const qc_type *t, int32_t lo, int32_t hi,
                             int64_t *known, int32_t *n_sym) {
    *known = 1;
    *n_sym = 0;
    for (int32_t k = lo; k < hi; k++) {
        if (t->dims[k] == QC_DIM_SYM) (*n_sym)++;
        else if (t->dims[k] < 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "dim %d is negative", (int)k);
        else if (!mul_ok(*known, t->dims[k], known))
            return qc_node_error(ctx->node, QC_ERR_INVALID, "tensor size overflows int64");
    }
    return NULL;
}

/* Checks the input/output counts against the op table, and that input 0 is
 * present, so the per-op code can index freely. */
static qc_status check_arity(const qc_infer_ctx *ctx) {
    const qc_op_info *info = qc_op_get_info(ctx->node->op);
    if (!info || ctx->n_in < info->min_in || ctx->n_in > info->max_in ||
        ctx->n_out < info->min_out || ctx->n_out > info->max_out)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "wrong number of inputs or outputs");
    if (!qc_infer_has_input(ctx, 0))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 0 is missing");
    return NULL;
}

/* Reads an optional list given either as input `in` (newer opsets) or as
 * attribute `key` (older ones). *found is false when neither is there. */
static qc_status read_list(const qc_infer_ctx *ctx, int32_t in, const char *key, int64_t *v,
                           int32_t max, int32_t *n, bool *found) {
    const qc_attr *at = qc_node_attr(ctx->node, key);
    bool has_in = in < ctx->n_in && qc_infer_has_input(ctx, in);
    *found = has_in || at;
    *n = 0;
    if (has_in && at)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "'%s' is given both as input %d and as an attribute", key, (int)in);
    if (has_in) return qc_infer_read_ints(ctx, in, v, max, n);
    if (!at) return NULL;
    if (at->kind != QC_ATTR_INTS && at->kind != QC_ATTR_INT)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "attribute '%s' must be a list of ints",
                             key);
    if (at->kind == QC_ATTR_INT) {
        v[0] = at->i;
        *n = 1;
        return NULL;
    }
    if (at->n > max)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "attribute '%s' has more than %d entries",
                             key, (int)max);
    memcpy(v, at->ints, sizeof v[0] * (size_t)at->n);
    *n = at->n;
    return NULL;
}

/* ---- elementwise ----------------------------------------------------------- */

static qc_status infer_unary(qc_infer_ctx *ctx) {
    qc_op op = ctx->node->op;
    qc_dtype t = ctx->in[0].dtype;
    if (op == QC_OP_IDENTITY) {
        ctx->out[0] = ctx->in[0];
        return NULL;
    }
    bool int_ok = (op == QC_OP_RELU && qc_infer_is_math_int(t) && t != QC_U8) ||
                  (op == QC_OP_CLIP && qc_infer_is_math_int(t));
    if (!qc_infer_is_math_float(t) && !int_ok)
        return qc_infer_bad_dtype(ctx, 0, op == QC_OP_CLIP   ? "f32/f16/bf16/f64 or i8/u8/i16/i32/i64"
                                 : op == QC_OP_RELU ? "f32/f16/bf16/f64 or i8/i16/i32/i64"
                                                    : "f32/f16/bf16/f64");
    if (op == QC_OP_GELU) {
        const char *approx = qc_attr_string(ctx->node, "approximate", "none");
        if (strcmp(approx, "none") != 0 && strcmp(approx, "tanh") != 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "approximate must be \"none\" or \"tanh\", not \"%s\"", approx);
    }
    if (op == QC_OP_CLIP) {
        /* Opset 11+ passes min/max as optional scalar inputs of the same type;
         * opset 6 had float attributes. Mixing the two is ambiguous. */
        static const char *const names[3] = {NULL, "min", "max"};
        for (int32_t i = 1; i < 3; i++) {
            bool has_in = i < ctx->n_in && qc_infer_has_input(ctx, i);
            if (has_in && qc_node_attr(ctx->node, names[i]))
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "'%s' is given both as input %d and as an attribute",
                                     names[i], (int)i);
            if (!has_in && qc_node_attr(ctx->node, names[i]) && !qc_infer_is_math_float(t))
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "the '%s' attribute (opset 6) applies to float inputs only",
                                     names[i]);
            if (!has_in) continue;
            if (ctx->in[i].dtype != t)
                return qc_node_error(ctx->node, QC_ERR_INVALID, "%s has type %s, input has %s",
                                     names[i], qc_dtype_name(ctx->in[i].dtype),
                                     qc_dtype_name(t));
            if (qc_type_numel(&ctx->in[i]) != 1)
                return qc_node_error(ctx->node, QC_ERR_INVALID, "%s must be a scalar", names[i]);
        }
    }
    ctx->out[0] = ctx->in[0];
    return NULL;
}

static qc_status infer_binary(qc_infer_ctx *ctx) {
    if (!qc_infer_has_input(ctx, 1))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 1 is missing");
    qc_dtype a = ctx->in[0].dtype, b = ctx->in[1].dtype;
    if (ctx->node->op == QC_OP_POW) {
        /* ONNX Pow: base T in {int32, int64, floats}, exponent T1 any numeric;
         * the result has the base's type. */
        if (!qc_infer_is_math_float(a) && a != QC_I32 && a != QC_I64)
            return qc_infer_bad_dtype(ctx, 0, "f32/f16/bf16/f64/i32/i64");
        if (!qc_infer_is_math_float(b) && !qc_infer_is_math_int(b))
            return qc_infer_bad_dtype(ctx, 1, "f32/f16/bf16/f64 or i8/u8/i16/i32/i64");
    } else {
        if (!qc_infer_is_math_float(a) && !qc_infer_is_math_int(a))
            return qc_infer_bad_dtype(ctx, 0, "f32/f16/bf16/f64 or i8/u8/i16/i32/i64");
        if (a != b)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "input types differ: %s and %s",
                                 qc_dtype_name(a), qc_dtype_name(b));
    }
    return qc_infer_broadcast(ctx, &ctx->in[0], &ctx->in[1], &ctx->out[0]);
}

/* ONNX TensorProto.DataType numbers for Cast's `to`. */
static qc_dtype onnx_dtype(int64_t to) {
    switch (to) {
    case 1: return QC_F32;
    case 2: return QC_U8;
    case 3: return QC_I8;
    case 5: return QC_I16;
    case 6: return QC_I32;
    case 7: return QC_I64;
    case 9: return QC_BOOL;
    case 10: return QC_F16;
    case 11: return QC_F64;
    case 16: return QC_BF16;
    case 17: return QC_F8E4M3FN;
    case 19: return QC_F8E5M2;
    case 21: return QC_U4;
    case 22: return QC_I4;
    default: return QC_DT_UNDEF;
    }
}

static qc_status infer_cast(qc_infer_ctx *ctx) {
    const qc_attr *to = qc_node_attr(ctx->node, "to");
    if (!to || to->kind != QC_ATTR_INT)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "the integer attribute 'to' is required");
    qc_dtype t = onnx_dtype(to->i);
    if (t == QC_DT_UNDEF)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "to=%lld is not a supported ONNX data type", (long long)to->i);
    int64_t sat = qc_attr_int(ctx->node, "saturate", 1);
    if (sat != 0 && sat != 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "saturate must be 0 or 1, not %lld",
                             (long long)sat);
    ctx->out[0] = ctx->in[0];
    ctx->out[0].dtype = t;
    return NULL;
}

/* ---- reshaping ------------------------------------------------------------- */

static qc_status infer_reshape(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    int64_t shape[QC_MAX_RANK];
    int32_t n;
    qc_status st = qc_infer_read_ints(ctx, 1, shape, QC_MAX_RANK, &n);
    if (st) return st;
    bool allowzero = qc_attr_int(ctx->node, "allowzero", 0) != 0;
    qc_type out = {.dtype = x->dtype, .rank = n};
    int32_t infer_at = -1;
    bool has_zero = false;
    for (int32_t i = 0; i < n; i++) {
        int64_t v = shape[i];
        if (v == -1) {
            if (infer_at >= 0)
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "cannot reshape: shape has more than one -1");
            infer_at = i;
            out.dims[i] = 1;   /* placeholder, excluded from the products below */
        } else if (v == 0 && !allowzero) {
            if (i >= x->rank)
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "cannot reshape: shape[%d] is 0 (copy the input dim) but "
                                     "the input has rank %d", (int)i, (int)x->rank);
            out.dims[i] = x->dims[i];
        } else if (v < 0) {
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "cannot reshape: shape[%d] is %lld (only -1 or sizes >= 0)",
                                 (int)i, (long long)v);
        } else {
            out.dims[i] = v;
            has_zero |= v == 0;
        }
    }
    if (allowzero && has_zero && infer_at >= 0)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "cannot reshape: with allowzero=1 the "
                             "shape may not hold both 0 and -1");
    int64_t in_known, out_known;
    int32_t in_sym, out_sym;
    if ((st = dim_product(ctx, x, 0, x->rank, &in_known, &in_sym))) return st;
    if ((st = dim_product(ctx, &out, 0, out.rank, &out_known, &out_sym))) return st;
    char from[160];
    fmt_type(ctx, x, from, sizeof from);
    if (infer_at >= 0) {
        /* -1 takes whatever is left: a concrete size when the SYM factors
         * balance, or the SYM dim itself when it is exactly the leftover. */
        if (in_sym == out_sym) {
            if (out_known == 0 || in_known % out_known != 0)
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "cannot reshape %s: the -1 at shape[%d] has no integer size",
                                     from, (int)infer_at);
            out.dims[infer_at] = in_known / out_known;
        } else if (in_sym == out_sym + 1 && in_known == out_known) {
            out.dims[infer_at] = QC_DIM_SYM;
        } else {
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "cannot reshape %s: the -1 at shape[%d] would depend on %s "
                                 "in a way the output shape cannot express", from,
                                 (int)infer_at, batch_name(ctx));
        }
    } else if (in_sym != out_sym || in_known != out_known) {
        char to[160];
        fmt_type(ctx, &out, to, sizeof to);
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "cannot reshape %s to %s: element counts differ", from, to);
    }
    ctx->out[0] = out;
    return NULL;
}

/* Product of dims [lo, hi) for Flatten: concrete, or SYM when the SYM dim is
 * the only factor other than 1s (anything else has no single-dim form). */
static qc_status flatten_side(const qc_infer_ctx *ctx, int32_t lo, int32_t hi, int64_t *out) {
    int64_t known;
    int32_t n_sym;
    qc_status st = dim_product(ctx, &ctx->in[0], lo, hi, &known, &n_sym);
    if (st) return st;
    if (n_sym == 0) *out = known;
    else if (n_sym == 1 && known == 1) *out = QC_DIM_SYM;
    else
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "cannot flatten dims %d..%d: they mix %s with other sizes",
                             (int)lo, (int)hi - 1, batch_name(ctx));
    return NULL;
}

static qc_status infer_flatten(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    /* Flatten's axis lies in [-r, r] and a negative one counts from r (so -1
     * keeps the last dim on the right), unlike an insertion position. */
    int64_t a = qc_attr_int(ctx->node, "axis", 1);
    if (a < -x->rank || a > x->rank)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %lld out of range for rank %d",
                             (long long)a, (int)x->rank);
    int32_t axis = (int32_t)(a < 0 ? a + x->rank : a);
    qc_status st;
    qc_type out = {.dtype = x->dtype, .rank = 2};
    if ((st = flatten_side(ctx, 0, axis, &out.dims[0]))) return st;
    if ((st = flatten_side(ctx, axis, x->rank, &out.dims[1]))) return st;
    ctx->out[0] = out;
    return NULL;
}

static qc_status infer_squeeze(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    int64_t axes[QC_MAX_RANK];
    int32_t n;
    bool found;
    qc_status st = read_list(ctx, 1, "axes", axes, QC_MAX_RANK, &n, &found);
    if (st) return st;
    bool drop[QC_MAX_RANK] = {false};
    if (!found) {
        /* No axes: drop every dim of size 1. A SYM dim might be 1 at run time,
         * so the output rank would not be known: refuse. */
        for (int32_t k = 0; k < x->rank; k++) {
            if (x->dims[k] == QC_DIM_SYM)
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "Squeeze without axes cannot tell whether %s (dim %d) is 1; "
                                     "give axes", batch_name(ctx), (int)k);
            drop[k] = x->dims[k] == 1;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        int32_t a;
        if ((st = qc_infer_axis(ctx, axes[i], x->rank, false, &a))) return st;
        if (drop[a])
            return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %d is listed twice", (int)a);
        if (x->dims[a] != 1)
            return x->dims[a] == QC_DIM_SYM
                       ? qc_node_error(ctx->node, QC_ERR_INVALID,
                                       "cannot squeeze axis %d: it is %s, not known to be 1",
                                       (int)a, batch_name(ctx))
                       : qc_node_error(ctx->node, QC_ERR_INVALID,
                                       "cannot squeeze axis %d of size %lld", (int)a,
                                       (long long)x->dims[a]);
        drop[a] = true;
    }
    qc_type out = {.dtype = x->dtype};
    for (int32_t k = 0; k < x->rank; k++)
        if (!drop[k]) out.dims[out.rank++] = x->dims[k];
    ctx->out[0] = out;
    return NULL;
}

static qc_status infer_unsqueeze(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    int64_t axes[QC_MAX_RANK];
    int32_t n;
    bool found;
    qc_status st = read_list(ctx, 1, "axes", axes, QC_MAX_RANK, &n, &found);
    if (st) return st;
    if (!found)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "axes are required (input 1 or attribute)");
    int32_t rank = x->rank + n;
    if (rank > QC_MAX_RANK)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "output rank %d exceeds %d", (int)rank,
                             QC_MAX_RANK);
    bool inserted[QC_MAX_RANK] = {false};
    for (int32_t i = 0; i < n; i++) {
        int32_t a;
        if ((st = qc_infer_axis(ctx, axes[i], rank, false, &a))) return st;
        if (inserted[a])
            return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %d is listed twice", (int)a);
        inserted[a] = true;
    }
    qc_type out = {.dtype = x->dtype, .rank = rank};
    for (int32_t k = 0, j = 0; k < rank; k++) out.dims[k] = inserted[k] ? 1 : x->dims[j++];
    ctx->out[0] = out;
    return NULL;
}

/* ---- data movement --------------------------------------------------------- */

static qc_status infer_transpose(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    const qc_attr *perm = qc_node_attr(ctx->node, "perm");
    qc_type out = {.dtype = x->dtype, .rank = x->rank};
    bool used[QC_MAX_RANK] = {false};
    if (perm && perm->kind != QC_ATTR_INTS)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "perm must be a list of ints");
    if (perm && perm->n != x->rank)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "perm has %d entries for rank %d",
                             (int)perm->n, (int)x->rank);
    for (int32_t k = 0; k < x->rank; k++) {
        int64_t p = perm ? perm->ints[k] : x->rank - 1 - k;   /* default: reverse */
        if (p < 0 || p >= x->rank || used[p])
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "perm is not a permutation of 0..%d", (int)x->rank - 1);
        used[p] = true;
        out.dims[k] = x->dims[p];
    }
    ctx->out[0] = out;
    return NULL;
}

static qc_status infer_concat(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    const qc_attr *ax = qc_node_attr(ctx->node, "axis");
    if (!ax || ax->kind != QC_ATTR_INT)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "the integer attribute 'axis' is required");
    int32_t axis;
    qc_status st = qc_infer_axis(ctx, ax->i, x->rank, false, &axis);
    if (st) return st;
    qc_type out = *x;
    out.dims[axis] = 0;
    for (int32_t i = 0; i < ctx->n_in; i++) {
        const qc_type *t = &ctx->in[i];
        if (!qc_infer_has_input(ctx, i))
            return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d is missing", (int)i);
        if (t->dtype != x->dtype || t->rank != x->rank)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "input %d is %s rank %d, input 0 is %s rank %d", (int)i,
                                 qc_dtype_name(t->dtype), (int)t->rank,
                                 qc_dtype_name(x->dtype), (int)x->rank);
        for (int32_t k = 0; k < x->rank; k++) {
            if (k != axis && t->dims[k] != x->dims[k]) {
                char a[160], b[160];
                fmt_type(ctx, x, a, sizeof a);
                fmt_type(ctx, t, b, sizeof b);
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "input %d (%s) differs from input 0 (%s) in dim %d", (int)i,
                                     b, a, (int)k);
            }
        }
        if (t->dims[axis] == QC_DIM_SYM)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "cannot concatenate along axis %d: input %d has %s there",
                                 (int)axis, (int)i, batch_name(ctx));
        if (t->dims[axis] > INT64_MAX - out.dims[axis])
            return qc_node_error(ctx->node, QC_ERR_INVALID, "concatenated size overflows");
        out.dims[axis] += t->dims[axis];
    }
    ctx->out[0] = out;
    return NULL;
}

static qc_status infer_split(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    int32_t axis, n_out = ctx->n_out;
    qc_status st = qc_infer_axis(ctx, qc_attr_int(ctx->node, "axis", 0), x->rank, false, &axis);
    if (st) return st;
    int64_t d = x->dims[axis], sizes[MAX_SPLIT];
    int32_t n;
    bool found;
    if ((st = read_list(ctx, 1, "split", sizes, MAX_SPLIT, &n, &found))) return st;
    const qc_attr *num = qc_node_attr(ctx->node, "num_outputs");
    if (found && num)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "give either split sizes or num_outputs");
    if (num && qc_attr_int(ctx->node, "num_outputs", 0) != n_out)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "num_outputs is %lld but the node has %d "
                             "outputs", (long long)qc_attr_int(ctx->node, "num_outputs", 0),
                             (int)n_out);
    if (d == QC_DIM_SYM) {
        if (n_out == 1 && !found) {   /* one piece: the whole (symbolic) axis */
            ctx->out[0] = *x;
            return NULL;
        }
        return qc_node_error(ctx->node, QC_ERR_INVALID, "cannot split axis %d: it is %s",
                             (int)axis, batch_name(ctx));
    }
    if (found) {
        if (n != n_out)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "split has %d sizes for %d outputs",
                                 (int)n, (int)n_out);
        int64_t sum = 0;
        for (int32_t i = 0; i < n; i++) {
            if (sizes[i] < 0 || sizes[i] > d - sum)
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "split sizes must be >= 0 and sum to %lld (axis %d)",
                                     (long long)d, (int)axis);
            sum += sizes[i];
        }
        if (sum != d)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "split sizes sum to %lld, axis %d has %lld", (long long)sum,
                                 (int)axis, (long long)d);
    } else if (num) {
        /* Opset 18: chunks of ceil(d / n); the last one takes what is left. */
        int64_t chunk = (d + n_out - 1) / n_out;
        if (chunk * (n_out - 1) > d)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "axis %d of size %lld cannot be split into %d chunks",
                                 (int)axis, (long long)d, (int)n_out);
        for (int32_t i = 0; i < n_out; i++) sizes[i] = i < n_out - 1 ? chunk : d - chunk * i;
    } else {
        if (d % n_out != 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "axis %d of size %lld does not split evenly into %d outputs",
                                 (int)axis, (long long)d, (int)n_out);
        for (int32_t i = 0; i < n_out; i++) sizes[i] = d / n_out;
    }
    for (int32_t i = 0; i < n_out; i++) {
        ctx->out[i] = *x;
        ctx->out[i].dims[axis] = sizes[i];
    }
    return NULL;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

qc_status qc_infer_slice_plan(const qc_infer_ctx *ctx, int64_t start[QC_MAX_RANK],
                              int64_t step[QC_MAX_RANK], qc_type *out) {
    const qc_type *x = &ctx->in[0];
    int64_t starts[QC_MAX_RANK], ends[QC_MAX_RANK], axes[QC_MAX_RANK], steps[QC_MAX_RANK];
    int32_t n, n_end, n_axes, n_steps;
    qc_status st = qc_infer_read_ints(ctx, 1, starts, QC_MAX_RANK, &n);
    if (!st) st = qc_infer_read_ints(ctx, 2, ends, QC_MAX_RANK, &n_end);
    if (st) return st;
    if (n_end != n)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "starts has %d entries, ends %d", (int)n,
                             (int)n_end);
    for (int32_t i = 0; i < n; i++) axes[i] = i, steps[i] = 1;
    if (ctx->n_in > 3 && qc_infer_has_input(ctx, 3)) {
        if ((st = qc_infer_read_ints(ctx, 3, axes, QC_MAX_RANK, &n_axes))) return st;
        if (n_axes != n)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "axes has %d entries, starts %d",
                                 (int)n_axes, (int)n);
    }
    if (ctx->n_in > 4 && qc_infer_has_input(ctx, 4)) {
        if ((st = qc_infer_read_ints(ctx, 4, steps, QC_MAX_RANK, &n_steps))) return st;
        if (n_steps != n)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "steps has %d entries, starts %d",
                                 (int)n_steps, (int)n);
    }
    *out = *x;
    bool seen[QC_MAX_RANK] = {false};
    for (int32_t k = 0; k < x->rank; k++) start[k] = 0, step[k] = 1;
    for (int32_t i = 0; i < n; i++) {
        int32_t a;
        if ((st = qc_infer_axis(ctx, axes[i], x->rank, false, &a))) return st;
        if (seen[a])
            return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %d is listed twice", (int)a);
        seen[a] = true;
        int64_t s = starts[i], e = ends[i], sp = steps[i], d = x->dims[a], count;
        if (sp == 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "steps[%d] is 0", (int)i);
        if (d == QC_DIM_SYM) {
            /* Only "everything" (0 to INT_MAX or beyond, step 1: what exporters
             * write for a full range) is the same for every batch size. */
            if (s == 0 && sp == 1 && e >= INT32_MAX) continue;
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "cannot slice axis %d: it is %s (only a full slice is allowed)",
                                 (int)a, batch_name(ctx));
        }
        if (s < 0) s += d;   /* negative: counted from the end (no overflow: d >= 0) */
        if (e < 0) e += d;
        if (d == 0) {
            s = 0;
            count = 0;
        } else if (sp > 0) {
            s = clamp64(s, 0, d);
            e = clamp64(e, 0, d);
            count = e > s ? (e - s - 1) / sp + 1 : 0;
        } else {
            s = clamp64(s, 0, d - 1);
            e = clamp64(e, -1, d - 1);
            int64_t neg = sp == INT64_MIN ? INT64_MAX : -sp;   /* -INT64_MIN overflows */
            count = s > e ? (s - e - 1) / neg + 1 : 0;
        }
        start[a] = s;
        step[a] = sp;
        out->dims[a] = count;
    }
    return NULL;
}

static qc_status infer_slice(qc_infer_ctx *ctx) {
    int64_t start[QC_MAX_RANK], step[QC_MAX_RANK];
    return qc_infer_slice_plan(ctx, start, step, &ctx->out[0]);
}

static qc_status infer_gather(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0], *idx = &ctx->in[1];
    if (!qc_infer_has_input(ctx, 1))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 1 (indices) is missing");
    if (idx->dtype != QC_I64 && idx->dtype != QC_I32) return qc_infer_bad_dtype(ctx, 1, "i64 or i32");
    int32_t axis;
    qc_status st = qc_infer_axis(ctx, qc_attr_int(ctx->node, "axis", 0), x->rank, false, &axis);
    if (st) return st;
    int32_t rank = x->rank - 1 + idx->rank;
    if (rank > QC_MAX_RANK)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "output rank %d exceeds %d", (int)rank,
                             QC_MAX_RANK);
    qc_type out = {.dtype = x->dtype, .rank = rank};
    int32_t r = 0;
    for (int32_t k = 0; k < axis; k++) out.dims[r++] = x->dims[k];
    for (int32_t k = 0; k < idx->rank; k++) out.dims[r++] = idx->dims[k];
    for (int32_t k = axis + 1; k < x->rank; k++) out.dims[r++] = x->dims[k];
    /* Indices whose values are known (constants, or anything at run time)
     * are checked here, so a bad index is reported before any kernel runs. */
    int64_t d = x->dims[axis], count = qc_type_numel(idx);
    const void *data = ctx->in_data ? ctx->in_data[1] : NULL;
    for (int64_t i = 0; data && d != QC_DIM_SYM && i < count; i++) {
        int64_t v = qc_elem_get_i64(idx->dtype, data, i);
        if (v < -d || v >= d)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "index %lld out of range for axis %d of size %lld", (long long)v,
                                 (int)axis, (long long)d);
    }
    ctx->out[0] = out;
    return NULL;
}

/* ---- entry point ----------------------------------------------------------- */

qc_status qc_infer_tensor(qc_infer_ctx *ctx, bool *handled) {
    qc_status (*fn)(qc_infer_ctx *) = NULL;
    switch (ctx->node->op) {
    case QC_OP_RELU: case QC_OP_LEAKY_RELU: case QC_OP_SIGMOID: case QC_OP_TANH:
    case QC_OP_ERF: case QC_OP_GELU: case QC_OP_CLIP: case QC_OP_SQRT: case QC_OP_EXP:
    case QC_OP_IDENTITY: fn = infer_unary; break;
    case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: case QC_OP_POW:
        fn = infer_binary; break;
    case QC_OP_CAST: fn = infer_cast; break;
    case QC_OP_RESHAPE: fn = infer_reshape; break;
    case QC_OP_FLATTEN: fn = infer_flatten; break;
    case QC_OP_TRANSPOSE: fn = infer_transpose; break;
    case QC_OP_CONCAT: fn = infer_concat; break;
    case QC_OP_SPLIT: fn = infer_split; break;
    case QC_OP_SLICE: fn = infer_slice; break;
    case QC_OP_GATHER: fn = infer_gather; break;
    case QC_OP_SQUEEZE: fn = infer_squeeze; break;
    case QC_OP_UNSQUEEZE: fn = infer_unsqueeze; break;
    case QC_OP_NEG: case QC_OP_ABS: case QC_OP_FLOOR: case QC_OP_CEIL: case QC_OP_ROUND:
    case QC_OP_RECIPROCAL: case QC_OP_LOG: case QC_OP_SIGN: case QC_OP_SIN: case QC_OP_COS:
    case QC_OP_SOFTPLUS: case QC_OP_SOFTSIGN: case QC_OP_HARD_SIGMOID: case QC_OP_HARD_SWISH:
    case QC_OP_ELU: case QC_OP_SELU: case QC_OP_CELU: case QC_OP_THRESHOLDED_RELU:
    case QC_OP_PRELU: case QC_OP_NOT: case QC_OP_ISNAN: case QC_OP_MOD: case QC_OP_MAX:
    case QC_OP_MIN: case QC_OP_SUM: case QC_OP_MEAN: case QC_OP_EQUAL: case QC_OP_LESS:
    case QC_OP_LESS_OR_EQUAL: case QC_OP_GREATER: case QC_OP_GREATER_OR_EQUAL: case QC_OP_AND:
    case QC_OP_OR: case QC_OP_XOR: case QC_OP_WHERE:
        fn = qc_infer_tensor_math; break;
    case QC_OP_SHAPE: case QC_OP_SIZE: case QC_OP_CONSTANT_OF_SHAPE: case QC_OP_EXPAND:
    case QC_OP_TILE: case QC_OP_RANGE: case QC_OP_PAD: case QC_OP_DROPOUT: case QC_OP_CAST_LIKE:
    case QC_OP_TRILU: case QC_OP_DEPTH_TO_SPACE: case QC_OP_SPACE_TO_DEPTH:
        fn = qc_infer_tensor_shape_ops; break;
    default: *handled = false; return NULL;
    }
    *handled = true;
    qc_status st = check_arity(ctx);
    return st ? st : fn(ctx);
}
