/* infer_conv.c — window geometry (infer_nn.h) and type inference for Conv,
 * ConvTranspose, MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool.
 *
 * Layout is ONNX's: X is [N, C, D1..Dk] with k = 1..3 spatial dims; Conv's W
 * is [M, C/group, k1..kk], ConvTranspose's W is [C, M/group, k1..kk]. Pads
 * are [x1_begin, x2_begin, ..., x1_end, x2_end, ...]. */
#include <string.h>

#include "ir/dtype.h"
#include "ops/infer_nn.h"

/* Bounds on window attributes and spatial sizes. Real models are nowhere
 * near them; they exist so that every size formula below (products of a
 * stride and a size, sums of pads) stays far from int64 overflow. */
#define ATTR_MAX ((int64_t)1 << 24)
#define SPATIAL_MAX ((int64_t)1 << 32)

typedef enum auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

/* Reads ints attribute `key`, which must hold `count` entries each in
 * [lo, hi]. Absent (or an empty list, which some exporters write for
 * "default") fills v with def and sets *present = false. */
static qc_status get_ints(const qc_node *n, const char *key, int32_t count, int64_t def,
                          int64_t lo, int64_t hi, int64_t *v, bool *present) {
    const qc_attr *a = qc_node_attr(n, key);
    *present = a && !(a->kind == QC_ATTR_INTS && a->n == 0);
    if (!*present) {
        for (int32_t i = 0; i < count; i++) v[i] = def;
        return NULL;
    }
    if (a->kind != QC_ATTR_INTS)
        return qc_node_error(n, QC_ERR_INVALID, "attribute %s must be a list of ints", key);
    if (a->n != count)
        return qc_node_error(n, QC_ERR_INVALID, "attribute %s has %d entries, expected %d", key,
                             (int)a->n, (int)count);
    for (int32_t i = 0; i < count; i++) {
        if (a->ints[i] < lo || a->ints[i] > hi)
            return qc_node_error(n, QC_ERR_INVALID, "attribute %s[%d] = %lld is outside %lld..%lld",
                                 key, (int)i, (long long)a->ints[i], (long long)lo, (long long)hi);
        v[i] = a->ints[i];
    }
    return NULL;
}

static qc_status get_auto_pad(const qc_node *n, auto_pad *out) {
    const char *s = qc_attr_string(n, "auto_pad", "NOTSET");
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (auto_pad)i;
            return NULL;
        }
    return qc_node_error(n, QC_ERR_INVALID,
                         "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", s);
}

/* Splits a total padding between begin and end; with extra_at_end the odd
 * one goes to the end (SAME_UPPER for Conv, pools and ConvTranspose alike). */
static void split_pad(int64_t total, bool extra_at_end, int64_t *begin, int64_t *end) {
    *begin = extra_at_end ? total / 2 : total - total / 2;
    *end = total - *begin;
}

/* Conv and pools: output size and pads for spatial dim i. */
static qc_status forward_dim(const qc_node *n, qc_nn_window *w, int32_t i, auto_pad ap,
                             bool ceil_mode) {
    int64_t in = w->in[i], s = w->stride[i];
    int64_t eff = w->dilation[i] * (w->kernel[i] - 1) + 1;   /* dilated kernel extent */
    if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
        /* Output covers ceil(in / stride); pad just enough for the last window. */
        w->out[i] = (in + s - 1) / s;
        int64_t total = (w->out[i] - 1) * s + eff - in;
        split_pad(total > 0 ? total : 0, ap == PAD_SAME_UPPER, &w->pad_begin[i], &w->pad_end[i]);
        return NULL;
    }
    if (ap == PAD_VALID) w->pad_begin[i] = w->pad_end[i] = 0;
    int64_t span = in + w->pad_begin[i] + w->pad_end[i] - eff;
    if (span < 0)
        return qc_node_error(n, QC_ERR_INVALID,
                             "spatial dim %d: the kernel (extent %lld with dilation) is larger "
                             "than the padded input (%lld)", (int)i, (long long)eff,
                             (long long)(in + w->pad_begin[i] + w->pad_end[i]));
    /* ceil_mode only applies to explicit pads (ONNX: ignored with auto_pad). */
    if (ceil_mode && ap == PAD_NOTSET) {
        w->out[i] = (span + s - 1) / s + 1;
        /* A last window starting in the end padding would see no input: drop it. */
        if ((w->out[i] - 1) * s >= in + w->pad_begin[i]) w->out[i]--;
    } else {
        w->out[i] = span / s + 1;
    }
    return NULL;
}

/* ConvTranspose: output_padding, output_shape and the transposed size rule. */
static qc_status transpose_dims(const qc_node *n, qc_nn_window *w, auto_pad ap) {
    int32_t nsp = w->nsp;
    int64_t opad[QC_NN_MAX_SPATIAL], oshape[QC_NN_MAX_SPATIAL + 2];
    bool has_opad, has_oshape = false;
    qc_status st = get_ints(n, "output_padding", nsp, 0, 0, ATTR_MAX, opad, &has_opad);
    if (st) return st;
    const qc_attr *os = qc_node_attr(n, "output_shape");
    if (os && !(os->kind == QC_ATTR_INTS && os->n == 0)) {
        /* Spatial sizes only; older exporters wrote the full [N, C, ...] shape. */
        int32_t cnt = os->kind == QC_ATTR_INTS && os->n == nsp + 2 ? nsp + 2 : nsp;
        if ((st = get_ints(n, "output_shape", cnt, 0, 0, SPATIAL_MAX, oshape, &has_oshape)))
            return st;
        if (cnt == nsp + 2) memmove(oshape, oshape + 2, sizeof(int64_t) * (size_t)nsp);
    }
    for (int32_t i = 0; i < nsp; i++) {
        int64_t s = w->stride[i], d = w->dilation[i];
        if (opad[i] >= s && opad[i] >= d)
            return qc_node_error(n, QC_ERR_INVALID,
                                 "output_padding[%d] = %lld must be smaller than the stride (%lld) "
                                 "or the dilation (%lld)", (int)i, (long long)opad[i], (long long)s,
                                 (long long)d);
        /* The untrimmed output: where the last input's kernel copy ends. */
        int64_t full = s * (w->in[i] - 1) + opad[i] + d * (w->kernel[i] - 1) + 1;
        if (has_oshape || ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
            /* ONNX: total_padding = full - output_shape, split like the spec says
             * (SAME_UPPER: begin = total / 2; otherwise begin gets the odd one).
             * An output larger than `full` gets no padding; its tail sees
             * only the bias (as onnxruntime does). */
            w->out[i] = has_oshape ? oshape[i] : w->in[i] * s;
            int64_t total = full - w->out[i];
            split_pad(total > 0 ? total : 0, ap == PAD_SAME_UPPER, &w->pad_begin[i],
                      &w->pad_end[i]);
        } else {
            if (ap == PAD_VALID) w->pad_begin[i] = w->pad_end[i] = 0;
            w->out[i] = full - w->pad_begin[i] - w->pad_end[i];
            if (w->out[i] < 0)
                return qc_node_error(n, QC_ERR_INVALID,
                                     "spatial dim %d: pads (%lld + %lld) exceed the full "
                                     "output size %lld", (int)i, (long long)w->pad_begin[i],
                                     (long long)w->pad_end[i], (long long)full);
        }
    }
    return NULL;
}

qc_status qc_nn_window_get(const qc_node *n, const qc_type *x, const qc_type *w,
                           qc_nn_window *win) {
    memset(win, 0, sizeof *win);
    if (x->rank < 3 || x->rank > 2 + QC_NN_MAX_SPATIAL)
        return qc_node_error(n, QC_ERR_INVALID,
                             "X must have rank 3..5 (N, C and 1-3 spatial dims), got %d",
                             (int)x->rank);
    int32_t nsp = win->nsp = x->rank - 2;
    bool pool = n->op == QC_OP_MAX_POOL || n->op == QC_OP_AVERAGE_POOL;
    for (int32_t i = 0; i < nsp; i++) {
        win->in[i] = x->dims[2 + i];
        if (win->in[i] == QC_DIM_SYM)
            return qc_node_error(n, QC_ERR_UNSUPPORTED,
                                 "spatial dim %d of X is the symbolic batch dim; the output size "
                                 "would need arithmetic on it", (int)i);
        if (win->in[i] < 0 || win->in[i] > SPATIAL_MAX)
            return qc_node_error(n, QC_ERR_INVALID, "spatial dim %d of X (%lld) is out of range",
                                 (int)i, (long long)win->in[i]);
    }

    bool has_ks, has_pads, has;
    int64_t pads[2 * QC_NN_MAX_SPATIAL];
    qc_status st = get_ints(n, "kernel_shape", nsp, 0, 1, ATTR_MAX, win->kernel, &has_ks);
    if (!st) st = get_ints(n, "strides", nsp, 1, 1, ATTR_MAX, win->stride, &has);
    if (!st) st = get_ints(n, "dilations", nsp, 1, 1, ATTR_MAX, win->dilation, &has);
    if (!st) st = get_ints(n, "pads", 2 * nsp, 0, 0, ATTR_MAX, pads, &has_pads);
    if (st) return st;
    if (w) {
        for (int32_t i = 0; i < nsp; i++) {
            int64_t wk = w->dims[2 + i];
            if (has_ks && wk != win->kernel[i])
                return qc_node_error(n, QC_ERR_INVALID,
                                     "kernel_shape[%d] = %lld but W's kernel dim is %lld", (int)i,
                                     (long long)win->kernel[i], (long long)wk);
            if (wk < 1 || wk > ATTR_MAX)
                return qc_node_error(n, QC_ERR_INVALID, "W's kernel dim %d is %lld", (int)i,
                                     (long long)wk);
            win->kernel[i] = wk;
        }
    } else if (!has_ks) {
        return qc_node_error(n, QC_ERR_INVALID, "attribute kernel_shape is required");
    }
    for (int32_t i = 0; i < nsp; i++) {
        win->pad_begin[i] = pads[i];
        win->pad_end[i] = pads[nsp + i];
    }

    auto_pad ap = PAD_NOTSET;
    if ((st = get_auto_pad(n, &ap))) return st;
    if (ap != PAD_NOTSET)
        for (int32_t i = 0; i < 2 * nsp; i++)
            if (pads[i] != 0)
                return qc_node_error(n, QC_ERR_INVALID, "pads cannot be combined with auto_pad=%s",
                                     qc_attr_string(n, "auto_pad", ""));
    if (n->op == QC_OP_CONV_TRANSPOSE) return transpose_dims(n, win, ap);

    int64_t ceil_mode = 0;
    if (pool) {
        ceil_mode = qc_attr_int(n, "ceil_mode", 0);
        if (ceil_mode != 0 && ceil_mode != 1)
            return qc_node_error(n, QC_ERR_INVALID, "attribute ceil_mode must be 0 or 1");
        /* A window made mostly of padding is almost surely a bad export;
         * onnxruntime rejects it too, and it keeps every window non-empty. */
        for (int32_t i = 0; i < nsp; i++)
            if (win->pad_begin[i] >= win->kernel[i] || win->pad_end[i] >= win->kernel[i])
                return qc_node_error(n, QC_ERR_INVALID,
                                     "pads of spatial dim %d (%lld, %lld) must be smaller than "
                                     "the kernel (%lld)", (int)i, (long long)win->pad_begin[i],
                                     (long long)win->pad_end[i], (long long)win->kernel[i]);
    }
    if (n->op == QC_OP_MAX_POOL && qc_attr_int(n, "storage_order", 0) != 0)
        return qc_node_error(n, QC_ERR_UNSUPPORTED,
                             "storage_order=1 (column-major indices) is not supported");
    for (int32_t i = 0; i < nsp; i++)
        if ((st = forward_dim(n, win, i, ap, ceil_mode != 0))) return st;
    return NULL;
}

/* ---- per-op inference ----------------------------------------------------- */

static qc_status need_one_output(const qc_infer_ctx *ctx, int32_t max) {
    if (ctx->n_out < 1 || ctx->n_out > max)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "has %d outputs, expected 1..%d",
                             (int)ctx->n_out, (int)max);
    return NULL;
}

/* Shared start of Conv and ConvTranspose: dtypes, ranks, static W, group. */
static qc_status conv_common(const qc_infer_ctx *ctx, int64_t *group) {
    qc_status st = qc_infer_nn_float(ctx, 0, "X");
    if (!st) st = qc_infer_nn_float(ctx, 1, "W");
    if (!st) st = need_one_output(ctx, 1);
    if (st) return st;
    const qc_type *x = &ctx->in[0], *w = &ctx->in[1];
    if (w->dtype != x->dtype)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "W is %s but X is %s; they must match",
                             qc_dtype_name(w->dtype), qc_dtype_name(x->dtype));
    if (x->rank < 3 || x->rank > 5)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "X must have rank 3..5 (N, C and 1-3 spatial dims), got %d",
                             (int)x->rank);
    if (w->rank != x->rank)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "W has rank %d but X has rank %d",
                             (int)w->rank, (int)x->rank);
    for (int32_t i = 0; i < w->rank; i++)
        if (w->dims[i] == QC_DIM_SYM)
            return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                                 "W's dim %d is the symbolic batch dim", (int)i);
    if (x->dims[1] == QC_DIM_SYM)
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "the channel dim of X is the symbolic batch dim");
    *group = qc_attr_int(ctx->node, "group", 1);
    if (*group < 1 || *group > ATTR_MAX)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "group must be >= 1, not %lld",
                             (long long)*group);
    return NULL;
}

static qc_status check_bias(const qc_infer_ctx *ctx, int64_t m) {
    if (!qc_infer_has_input(ctx, 2)) return NULL;
    qc_status st = qc_infer_nn_float(ctx, 2, "B");
    if (st) return st;
    const qc_type *b = &ctx->in[2];
    if (b->dtype != ctx->in[0].dtype || b->rank != 1 || b->dims[0] != m) {
        char sb[160];
        return qc_node_error(ctx->node, QC_ERR_INVALID, "B is %s; expected %s[%lld] (one per "
                             "output channel)", qc_infer_nn_fmt(ctx, b, sb, sizeof sb),
                             qc_dtype_name(ctx->in[0].dtype), (long long)m);
    }
    return NULL;
}

/* Output [N, channels, out...] from a resolved window. */
static qc_status window_output(qc_infer_ctx *ctx, int64_t channels, const qc_nn_window *win,
                               qc_type *y) {
    const qc_type *x = &ctx->in[0];
    *y = (qc_type){.dtype = x->dtype, .rank = x->rank, .dims = {x->dims[0], channels}};
    for (int32_t i = 0; i < win->nsp; i++) y->dims[2 + i] = win->out[i];
    return qc_infer_nn_size(ctx, y);
}

static qc_status infer_conv(qc_infer_ctx *ctx) {
    int64_t group;
    qc_status st = conv_common(ctx, &group);
    if (st) return st;
    const qc_type *x = &ctx->in[0], *w = &ctx->in[1];
    int64_t c = x->dims[1], m = w->dims[0], cg = w->dims[1];
    if (cg * group != c)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "X has %lld channels but W expects %lld (%lld per group x group %lld)",
                             (long long)c, (long long)(cg * group), (long long)cg,
                             (long long)group);
    if (m % group != 0)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "W's %lld output channels are not divisible by group %lld",
                             (long long)m, (long long)group);
    if ((st = check_bias(ctx, m))) return st;
    qc_nn_window win;
    if ((st = qc_nn_window_get(ctx->node, x, w, &win))) return st;
    return window_output(ctx, m, &win, &ctx->out[0]);
}

static qc_status infer_conv_transpose(qc_infer_ctx *ctx) {
    int64_t group;
    qc_status st = conv_common(ctx, &group);
    if (st) return st;
    const qc_type *x = &ctx->in[0], *w = &ctx->in[1];
    int64_t c = x->dims[1];
    if (w->dims[0] != c)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "X has %lld channels but W's dim 0 (input channels) is %lld",
                             (long long)c, (long long)w->dims[0]);
    if (c % group != 0)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "X's %lld channels are not divisible by group %lld", (long long)c,
                             (long long)group);
    int64_t m = w->dims[1] * group;
    if ((st = check_bias(ctx, m))) return st;
    qc_nn_window win;
    if ((st = qc_nn_window_get(ctx->node, x, w, &win))) return st;
    return window_output(ctx, m, &win, &ctx->out[0]);
}

static qc_status pool_input(const qc_infer_ctx *ctx, bool allow_int8) {
    if (allow_int8 && qc_infer_has_input(ctx, 0) &&
        (ctx->in[0].dtype == QC_I8 || ctx->in[0].dtype == QC_U8))
        return NULL;   /* MaxPool also takes int8/uint8 (opset 12+) */
    return qc_infer_nn_float(ctx, 0, "X");
}

static qc_status infer_pool(qc_infer_ctx *ctx) {
    bool is_max = ctx->node->op == QC_OP_MAX_POOL;
    qc_status st = pool_input(ctx, is_max);
    if (!st) st = need_one_output(ctx, is_max ? 2 : 1);
    if (st) return st;
    if (!is_max) {
        int64_t cip = qc_attr_int(ctx->node, "count_include_pad", 0);
        if (cip != 0 && cip != 1)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "attribute count_include_pad must be 0 or 1");
    }
    qc_nn_window win;
    if ((st = qc_nn_window_get(ctx->node, &ctx->in[0], NULL, &win))) return st;
    if ((st = window_output(ctx, ctx->in[0].dims[1], &win, &ctx->out[0]))) return st;
    if (ctx->n_out == 2) {   /* Indices: flat positions into X, row-major */
        ctx->out[1] = ctx->out[0];
        ctx->out[1].dtype = QC_I64;
    }
    return NULL;
}

/* GlobalAveragePool and GlobalMaxPool. */
static qc_status infer_global_average_pool(qc_infer_ctx *ctx) {
    qc_status st = qc_infer_nn_float(ctx, 0, "X");
    if (!st) st = need_one_output(ctx, 1);
    if (st) return st;
    const qc_type *x = &ctx->in[0];
    if (x->rank < 3)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "X must have rank >= 3 (N, C and spatial dims), got %d", (int)x->rank);
    /* Spatial dims collapse to 1: no arithmetic, so even a SYM one is fine. */
    ctx->out[0] = *x;
    for (int32_t i = 2; i < x->rank; i++) ctx->out[0].dims[i] = 1;
    return NULL;
}

qc_status qc_infer_nn_window_op(qc_infer_ctx *ctx, bool *handled) {
    *handled = true;
    switch (ctx->node->op) {
    case QC_OP_CONV: return infer_conv(ctx);
    case QC_OP_CONV_TRANSPOSE: return infer_conv_transpose(ctx);
    case QC_OP_MAX_POOL:
    case QC_OP_AVERAGE_POOL: return infer_pool(ctx);
    case QC_OP_GLOBAL_AVERAGE_POOL:
    case QC_OP_GLOBAL_MAX_POOL: return infer_global_average_pool(ctx);
    default: break;
    }
    *handled = false;
    return NULL;
}
