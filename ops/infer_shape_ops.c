/* infer_shape_ops.c — type inference for the shape-computation and
 * data-movement ops added with the ONNX frontend (part of the 'tensor'
 * group, dispatched from infer_tensor.c after its arity check): Shape, Size,
 * ConstantOfShape, Expand, Tile, Range, Pad, Dropout, CastLike, Trilu,
 * DepthToSpace and SpaceToDepth.
 *
 * Inputs that decide the output shape (Expand's shape, Tile's repeats,
 * Range's start/limit/delta, ConstantOfShape's shape, Pad's pads and axes)
 * are read from ctx->in_data: constants at compile time, the real data at
 * run time. The symbolic batch dim is kept where it is copied unchanged and
 * refused, naming the node, where the output would need arithmetic on it. */
#include <math.h>
#include <string.h>

#include "ir/dtype.h"
#include "ops/infer.h"
#include "ops/infer_nn.h"
#include "ops/infer_tensor.h"

static const char *batch_name(const qc_infer_ctx *ctx) {
    return ctx->batch ? ctx->batch : "?";
}

static qc_status bad_dtype(const qc_infer_ctx *ctx, int32_t i, const char *allowed) {
    return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d has type %s; expected %s", (int)i,
                         qc_dtype_name(ctx->in[i].dtype), allowed);
}

static qc_status bool_attr(const qc_infer_ctx *ctx, const char *key, int64_t def, int64_t *v) {
    *v = qc_attr_int(ctx->node, key, def);
    if (*v != 0 && *v != 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "attribute %s must be 0 or 1, not %lld",
                             key, (long long)*v);
    return NULL;
}

/* Input i must be one element (a scalar or a 1-element list). */
static qc_status need_scalar(const qc_infer_ctx *ctx, int32_t i, const char *what) {
    if (qc_type_numel(&ctx->in[i]) != 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d (%s) must hold one element",
                             (int)i, what);
    return NULL;
}

/* The data of input i, or an error saying it has to be a constant. */
static qc_status need_data(const qc_infer_ctx *ctx, int32_t i, const char *what,
                           const void **data) {
    *data = ctx->in_data ? ctx->in_data[i] : NULL;
    if (!*data)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "input %d (%s) must be a constant (its values decide the output "
                             "shape)", (int)i, what);
    return NULL;
}

/* ---- Shape, Size, ConstantOfShape ------------------------------------------- */

void qc_infer_shape_range(const qc_node *n, int32_t rank, int64_t *start, int64_t *end) {
    int64_t s = qc_attr_int(n, "start", 0), e = qc_attr_int(n, "end", rank);
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    *start = s < 0 ? 0 : s > rank ? rank : s;
    *end = e < 0 ? 0 : e > rank ? rank : e;
}

static qc_status infer_shape(qc_infer_ctx *ctx) {
    int64_t s, e;
    qc_infer_shape_range(ctx->node, ctx->in[0].rank, &s, &e);
    /* The dims themselves (SYM included) are not needed: only their count. */
    ctx->out[0] = (qc_type){.dtype = QC_I64, .rank = 1, .dims = {e > s ? e - s : 0}};
    return NULL;
}

static qc_status infer_constant_of_shape(qc_infer_ctx *ctx) {
    const qc_attr *dt = qc_node_attr(ctx->node, "dtype");
    if (dt && dt->kind != QC_ATTR_STRING)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "attribute dtype must be a string naming an element type (\"f32\")");
    qc_dtype t = qc_dtype_from_name(dt ? dt->s : "f32");
    if (t == QC_DT_UNDEF)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "dtype \"%s\" is not an element type",
                             dt->s);
    const qc_attr *v = qc_node_attr(ctx->node, "value");
    if (v && v->kind != QC_ATTR_INT && v->kind != QC_ATTR_FLOAT)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "attribute value must be a number");
    if (v && v->kind == QC_ATTR_FLOAT && !qc_dtype_is_float(t) && v->f != floorf(v->f))
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "value %g is not an integer but dtype is %s", (double)v->f,
                             qc_dtype_name(t));
    if (ctx->in[0].dtype != QC_I64) return bad_dtype(ctx, 0, "i64");
    int64_t dims[QC_MAX_RANK];
    int32_t n;
    qc_status st = qc_infer_read_ints(ctx, 0, dims, QC_MAX_RANK, &n);
    if (st) return st;
    qc_type out = {.dtype = t, .rank = n};
    for (int32_t k = 0; k < n; k++) {
        if (dims[k] < 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "shape[%d] is %lld (negative)",
                                 (int)k, (long long)dims[k]);
        out.dims[k] = dims[k];
    }
    if ((st = qc_infer_nn_size(ctx, &out))) return st;
    ctx->out[0] = out;
    return NULL;
}

/* ---- Expand, Tile ---------------------------------------------------------------- */

static qc_status infer_expand(qc_infer_ctx *ctx) {
    int64_t dims[QC_MAX_RANK];
    int32_t n;
    if (!qc_infer_has_input(ctx, 1))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 1 (shape) is missing");
    if (ctx->in[1].dtype != QC_I64) return bad_dtype(ctx, 1, "i64");
    qc_status st = qc_infer_read_ints(ctx, 1, dims, QC_MAX_RANK, &n);
    if (st) return st;
    qc_type shape = {.dtype = ctx->in[0].dtype, .rank = n};
    for (int32_t k = 0; k < n; k++) {
        if (dims[k] < 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "shape[%d] is %lld (negative)",
                                 (int)k, (long long)dims[k]);
        shape.dims[k] = dims[k];
    }
    /* Bidirectional broadcast, exactly numpy's: a SYM dim survives a 1. */
    qc_type out;
    if ((st = qc_infer_broadcast(ctx, &ctx->in[0], &shape, &out))) return st;
    if ((st = qc_infer_nn_size(ctx, &out))) return st;
    ctx->out[0] = out;
    return NULL;
}

static qc_status infer_tile(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    int64_t reps[QC_MAX_RANK];
    int32_t n;
    if (!qc_infer_has_input(ctx, 1))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 1 (repeats) is missing");
    if (ctx->in[1].dtype != QC_I64) return bad_dtype(ctx, 1, "i64");
    qc_status st = qc_infer_read_ints(ctx, 1, reps, QC_MAX_RANK, &n);
    if (st) return st;
    if (n != x->rank)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "repeats has %d entries for rank %d",
                             (int)n, (int)x->rank);
    qc_type out = *x;
    for (int32_t k = 0; k < n; k++) {
        if (reps[k] < 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "repeats[%d] is %lld (negative)",
                                 (int)k, (long long)reps[k]);
        if (x->dims[k] == QC_DIM_SYM) {
            if (reps[k] != 1)
                return qc_node_error(ctx->node, QC_ERR_INVALID,
                                     "cannot tile axis %d %lld times: it is %s", (int)k,
                                     (long long)reps[k], batch_name(ctx));
            continue;
        }
        if (reps[k] && x->dims[k] > INT64_MAX / reps[k])
            return qc_node_error(ctx->node, QC_ERR_INVALID, "tiled size of axis %d overflows",
                                 (int)k);
        out.dims[k] = x->dims[k] * reps[k];
    }
    if ((st = qc_infer_nn_size(ctx, &out))) return st;
    ctx->out[0] = out;
    return NULL;
}

/* ---- Range ------------------------------------------------------------------------- */

/* Number of elements of Range(start, limit, delta) on integers, exact:
 * ceil((limit - start) / delta) computed in uint64 so no step overflows. */
static uint64_t range_count_int(int64_t start, int64_t limit, int64_t delta) {
    if (delta > 0 && limit > start) {
        uint64_t span = (uint64_t)limit - (uint64_t)start;
        return (span - 1) / (uint64_t)delta + 1;
    }
    if (delta < 0 && limit < start) {
        uint64_t span = (uint64_t)start - (uint64_t)limit;
        uint64_t step = (uint64_t)(-(delta + 1)) + 1;   /* |delta|, even for INT64_MIN */
        return (span - 1) / step + 1;
    }
    return 0;
}

static qc_status infer_range(qc_infer_ctx *ctx) {
    static const char *const names[3] = {"start", "limit", "delta"};
    qc_dtype t = ctx->in[0].dtype;
    if (t != QC_F32 && t != QC_F64 && t != QC_I16 && t != QC_I32 && t != QC_I64)
        return bad_dtype(ctx, 0, "f32/f64/i16/i32/i64");
    const void *data[3];
    for (int32_t i = 0; i < 3; i++) {
        qc_status st;
        if (!qc_infer_has_input(ctx, i))
            return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d (%s) is missing", (int)i,
                                 names[i]);
        if (ctx->in[i].dtype != t)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "%s has type %s, start has %s",
                                 names[i], qc_dtype_name(ctx->in[i].dtype), qc_dtype_name(t));
        if ((st = need_scalar(ctx, i, names[i]))) return st;
        if ((st = need_data(ctx, i, names[i], &data[i]))) return st;
    }
    int64_t count;
    if (qc_dtype_is_int(t)) {
        int64_t s = qc_elem_get_i64(t, data[0], 0), l = qc_elem_get_i64(t, data[1], 0);
        int64_t d = qc_elem_get_i64(t, data[2], 0);
        if (d == 0) return qc_node_error(ctx->node, QC_ERR_INVALID, "delta is 0");
        uint64_t c = range_count_int(s, l, d);
        count = c > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)c;
    } else {
        double s = qc_elem_get_f64(t, data[0], 0), l = qc_elem_get_f64(t, data[1], 0);
        double d = qc_elem_get_f64(t, data[2], 0);
        if (d == 0.0) return qc_node_error(ctx->node, QC_ERR_INVALID, "delta is 0");
        double c = ceil((l - s) / d);
        if (isnan(c) || c > 9.0e18)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "start %g, limit %g, delta %g give no finite element count", s, l,
                                 d);
        count = c > 0 ? (int64_t)c : 0;
    }
    qc_type out = {.dtype = t, .rank = 1, .dims = {count}};
    qc_status st = qc_infer_nn_size(ctx, &out);
    if (st) return st;
    ctx->out[0] = out;
    return NULL;
}

/* ---- Pad ------------------------------------------------------------------------- */

static qc_status pad_mode(const qc_infer_ctx *ctx, qc_pad_mode *mode) {
    static const char *const names[] = {"constant", "reflect", "edge", "wrap"};
    const char *s = qc_attr_string(ctx->node, "mode", "constant");
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *mode = (qc_pad_mode)i;
            return NULL;
        }
    return qc_node_error(ctx->node, QC_ERR_INVALID,
                         "mode \"%s\" is not constant, reflect, edge or wrap", s);
}

/* Pads come as input 1 (opset 11+) or as the `pads` attribute (before). */
static qc_status read_pads(const qc_infer_ctx *ctx, int64_t *pads, int32_t *n) {
    const qc_attr *at = qc_node_attr(ctx->node, "pads");
    bool has_in = qc_infer_has_input(ctx, 1);
    if (has_in && at)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "pads given both as input 1 and as an attribute");
    if (has_in) {
        if (ctx->in[1].dtype != QC_I64) return bad_dtype(ctx, 1, "i64");
        return qc_infer_read_ints(ctx, 1, pads, 2 * QC_MAX_RANK, n);
    }
    if (!at) return qc_node_error(ctx->node, QC_ERR_INVALID, "pads are required (input 1)");
    if (at->kind != QC_ATTR_INTS || at->n > 2 * QC_MAX_RANK)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "attribute pads must be a list of at most %d ints", 2 * QC_MAX_RANK);
    memcpy(pads, at->ints, sizeof pads[0] * (size_t)at->n);
    *n = at->n;
    return NULL;
}

/* The constant value: input 2 (same type as the data, one element or empty
 * meaning 0) or the float attribute `value` of older opsets. */
static qc_status check_pad_value(const qc_infer_ctx *ctx) {
    bool has_in = qc_infer_has_input(ctx, 2);
    if (has_in && qc_node_attr(ctx->node, "value"))
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "the constant value is given both as input 2 and as an attribute");
    if (!has_in) return NULL;
    if (ctx->in[2].dtype != ctx->in[0].dtype)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "constant_value has type %s, data has %s",
                             qc_dtype_name(ctx->in[2].dtype), qc_dtype_name(ctx->in[0].dtype));
    if (qc_type_numel(&ctx->in[2]) > 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "constant_value must be one element");
    return NULL;
}

qc_status qc_infer_pad_plan(const qc_infer_ctx *ctx, int64_t begin[QC_MAX_RANK],
                            int64_t end[QC_MAX_RANK], qc_pad_mode *mode, qc_type *out) {
    const qc_type *x = &ctx->in[0];
    int64_t pads[2 * QC_MAX_RANK], axes[QC_MAX_RANK];
    int32_t n_pads, n_axes = x->rank;
    qc_status st = pad_mode(ctx, mode);
    if (!st) st = read_pads(ctx, pads, &n_pads);
    if (!st) st = check_pad_value(ctx);
    if (st) return st;
    for (int32_t k = 0; k < x->rank; k++) axes[k] = k;
    if (qc_infer_has_input(ctx, 3)) {   /* opset 18: pads apply to these axes only */
        if ((st = qc_infer_read_ints(ctx, 3, axes, QC_MAX_RANK, &n_axes))) return st;
    }
    if (n_pads != 2 * n_axes)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "pads has %d entries for %d axes",
                             (int)n_pads, (int)n_axes);
    for (int32_t k = 0; k < x->rank; k++) begin[k] = end[k] = 0;
    bool seen[QC_MAX_RANK] = {false};
    for (int32_t i = 0; i < n_axes; i++) {
        int32_t a;
        if ((st = qc_infer_axis(ctx, axes[i], x->rank, false, &a))) return st;
        if (seen[a])
            return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %d is listed twice", (int)a);
        seen[a] = true;
        begin[a] = pads[i];
        end[a] = pads[n_axes + i];
    }
    *out = *x;
    for (int32_t k = 0; k < x->rank; k++) {
        int64_t d = x->dims[k], b = begin[k], e = end[k];
        if (d == QC_DIM_SYM) {
            if (b == 0 && e == 0) continue;
            return qc_node_error(ctx->node, QC_ERR_INVALID, "cannot pad axis %d: it is %s",
                                 (int)k, batch_name(ctx));
        }
        /* Bounds keep every sum below far from int64 overflow. */
        const int64_t lim = (int64_t)1 << 56;
        if (b < -lim || b > lim || e < -lim || e > lim || d > lim)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "pads of axis %d are out of range",
                                 (int)k);
        /* Negative pads crop first; the padding then extends what is left. */
        int64_t kept = d + (b < 0 ? b : 0) + (e < 0 ? e : 0);
        if (kept < 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "pads %lld, %lld crop more than axis %d's %lld elements",
                                 (long long)b, (long long)e, (int)k, (long long)d);
        if (kept == 0 && (b > 0 || e > 0) && *mode != QC_PAD_CONSTANT)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "cannot pad axis %d in this mode: it has no elements", (int)k);
        out->dims[k] = d + b + e;
    }
    return qc_infer_nn_size(ctx, out);
}

static qc_status infer_pad(qc_infer_ctx *ctx) {
    int64_t begin[QC_MAX_RANK], end[QC_MAX_RANK];
    qc_pad_mode mode;
    return qc_infer_pad_plan(ctx, begin, end, &mode, &ctx->out[0]);
}

/* ---- Dropout, CastLike, Trilu ------------------------------------------------ */

static qc_status infer_dropout(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    if (!qc_dtype_is_float(x->dtype) || x->dtype == QC_F8E4M3FN || x->dtype == QC_F8E5M2)
        return bad_dtype(ctx, 0, "f32/f16/bf16/f64");
    qc_status st;
    if (qc_infer_has_input(ctx, 1) && (st = need_scalar(ctx, 1, "ratio"))) return st;
    if (qc_infer_has_input(ctx, 2)) {
        if (ctx->in[2].dtype != QC_BOOL) return bad_dtype(ctx, 2, "bool");
        if ((st = need_scalar(ctx, 2, "training_mode"))) return st;
        /* Training mode drops at random, except with ratio 0 (then it is the
         * identity too). Unknown data at compile time is fine: inference runs
         * again at run time with every input's data. */
        const void *tm = ctx->in_data ? ctx->in_data[2] : NULL;
        const void *ratio = qc_infer_has_input(ctx, 1) && ctx->in_data ? ctx->in_data[1] : NULL;
        bool zero_ratio = ratio && qc_elem_get_f64(ctx->in[1].dtype, ratio, 0) == 0.0;
        if (tm && qc_elem_get_i64(QC_BOOL, tm, 0) && !zero_ratio)
            return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                                 "training_mode=true is not supported unless ratio is 0 "
                                 "(random dropout; qcomp runs inference only)");
    }
    ctx->out[0] = *x;
    if (ctx->n_out > 1) {   /* the mask: all true in inference mode */
        ctx->out[1] = *x;
        ctx->out[1].dtype = QC_BOOL;
    }
    return NULL;
}

static qc_status infer_cast_like(qc_infer_ctx *ctx) {
    if (!qc_infer_has_input(ctx, 1))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 1 (target_type) is missing");
    int64_t sat;
    qc_status st = bool_attr(ctx, "saturate", 1, &sat);
    if (st) return st;
    ctx->out[0] = ctx->in[0];
    ctx->out[0].dtype = ctx->in[1].dtype;
    return NULL;
}

static qc_status infer_trilu(qc_infer_ctx *ctx) {
    int64_t upper;
    qc_status st = bool_attr(ctx, "upper", 1, &upper);
    if (st) return st;
    if (ctx->in[0].rank < 2)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input must have rank >= 2, not %d",
                             (int)ctx->in[0].rank);
    if (qc_infer_has_input(ctx, 1)) {   /* k only moves the diagonal: values not needed */
        if (ctx->in[1].dtype != QC_I64) return bad_dtype(ctx, 1, "i64");
        if ((st = need_scalar(ctx, 1, "k"))) return st;
    }
    ctx->out[0] = ctx->in[0];
    return NULL;
}

/* ---- DepthToSpace, SpaceToDepth ------------------------------------------------ */

static qc_status infer_depth_space(qc_infer_ctx *ctx) {
    const qc_type *x = &ctx->in[0];
    bool to_space = ctx->node->op == QC_OP_DEPTH_TO_SPACE;
    const qc_attr *bs = qc_node_attr(ctx->node, "blocksize");
    if (!bs || bs->kind != QC_ATTR_INT || bs->i < 1 || bs->i > ((int64_t)1 << 24))
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "the integer attribute blocksize (>= 1) is required");
    int64_t b = bs->i;
    if (to_space) {
        const char *mode = qc_attr_string(ctx->node, "mode", "DCR");
        if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "mode \"%s\" is not DCR or CRD",
                                 mode);
    }
    if (x->rank != 4)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input must be 4-D [N, C, H, W], not "
                             "rank %d", (int)x->rank);
    qc_type out = *x;
    if (b == 1) {   /* identity: every dim, SYM included, is copied */
        ctx->out[0] = out;
        return NULL;
    }
    for (int32_t k = 1; k < 4; k++)
        if (x->dims[k] == QC_DIM_SYM)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "dim %d is %s; only N may be",
                                 (int)k, batch_name(ctx));
    int64_t c = x->dims[1], h = x->dims[2], w = x->dims[3];
    if (to_space) {
        if (c % (b * b) != 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "channels (%lld) are not a multiple of blocksize^2 (%lld)",
                                 (long long)c, (long long)(b * b));
        if (h > INT64_MAX / b || w > INT64_MAX / b)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "output size overflows");
        out.dims[1] = c / (b * b);
        out.dims[2] = h * b;
        out.dims[3] = w * b;
    } else {
        if (h % b != 0 || w % b != 0)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "height %lld and width %lld must be multiples of blocksize %lld",
                                 (long long)h, (long long)w, (long long)b);
        if (c > INT64_MAX / (b * b))
            return qc_node_error(ctx->node, QC_ERR_INVALID, "output size overflows");
        out.dims[1] = c * b * b;
        out.dims[2] = h / b;
        out.dims[3] = w / b;
    }
    ctx->out[0] = out;
    return qc_infer_nn_size(ctx, &out);
}

/* ---- entry point (called by qc_infer_tensor) -------------------------------- */

qc_status qc_infer_tensor_shape_ops(qc_infer_ctx *ctx) {
    switch (ctx->node->op) {
    case QC_OP_SHAPE: return infer_shape(ctx);
    case QC_OP_SIZE:
        ctx->out[0] = (qc_type){.dtype = QC_I64, .rank = 0};
        return NULL;
    case QC_OP_CONSTANT_OF_SHAPE: return infer_constant_of_shape(ctx);
    case QC_OP_EXPAND: return infer_expand(ctx);
    case QC_OP_TILE: return infer_tile(ctx);
    case QC_OP_RANGE: return infer_range(ctx);
    case QC_OP_PAD: return infer_pad(ctx);
    case QC_OP_DROPOUT: return infer_dropout(ctx);
    case QC_OP_CAST_LIKE: return infer_cast_like(ctx);
    case QC_OP_TRILU: return infer_trilu(ctx);
    default: return infer_depth_space(ctx);
    }
}
