/* infer_fused.c — type inference for the internal ops that passes create
 * (ops.def "internal ops"). Each is its public counterpart plus extras, so
 * inference runs the counterpart's rule on a view of the node and then
 * checks only the extras: one rule per shape computation. */
#include "ops/infer.h"
#include "ops/wgemm.h"

/* Runs inference as if the node were `op` with its first n_in inputs. */
static qc_status infer_as(qc_infer_ctx *ctx, qc_op op, int32_t n_in) {
    qc_node view = *ctx->node;
    view.op = op;
    view.n_in = n_in;
    qc_infer_ctx sub = *ctx;
    sub.node = &view;
    sub.n_in = n_in;
    return qc_infer_node(&sub);
}

static qc_status check_clamp(const qc_infer_ctx *ctx) {
    const qc_node *n = ctx->node;
    if ((qc_node_attr(n, "act_min") || qc_node_attr(n, "act_max")) &&
        qc_attr_int(n, "act_min", INT32_MIN) > qc_attr_int(n, "act_max", INT32_MAX))
        return qc_node_error(n, QC_ERR_INVALID, "act_min > act_max");
    return NULL;
}

/* The float-output form (y_scale and y_zero_point absent): MatMulInteger's
 * (QGemm) or ConvInteger's (QConv) rule on (a, b, a_zp, b_zp) gives the
 * shape, the output is f32, and the scales are f32 per tensor (a) and per
 * tensor or per column / output channel (b). */
static qc_status infer_qgemm_float(qc_infer_ctx *ctx, qc_op integer_op) {
    static const int32_t map[4] = {0, 3, 2, 5};
    qc_type in[4];
    const void *data[4];
    for (int32_t k = 0; k < 4; k++) {
        in[k] = ctx->in[map[k]];
        data[k] = ctx->in_data ? ctx->in_data[map[k]] : NULL;
    }
    qc_node view = *ctx->node;
    view.op = integer_op;
    view.n_in = 4;
    qc_infer_ctx sub = *ctx;
    sub.node = &view;
    sub.n_in = 4;
    sub.in = in;
    sub.in_data = data;
    qc_status st = qc_infer_node(&sub);
    if (st) return st;
    qc_type *y = &ctx->out[0];
    y->dtype = QC_F32;
    /* per column: the last dim of a GEMM, the output channels of a conv */
    bool conv = integer_op == QC_OP_CONV_INTEGER;
    int64_t n = conv ? (y->rank > 1 ? y->dims[1] : 1) : y->rank ? y->dims[y->rank - 1] : 1;
    const qc_type *sa = &ctx->in[1], *sb = &ctx->in[4];
    if (!qc_infer_has_input(ctx, 1) || sa->dtype != QC_F32 || qc_type_numel(sa) != 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "a_scale must be an f32 scalar");
    if (!qc_infer_has_input(ctx, 4) || sb->dtype != QC_F32 ||
        (qc_type_numel(sb) != 1 && qc_type_numel(sb) != n))
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "b_scale must be f32 with 1 or %lld entries", (long long)n);
    return NULL;
}

static qc_status infer_qgemm(qc_infer_ctx *ctx) {
    bool float_out = !qc_infer_has_input(ctx, 6) && !qc_infer_has_input(ctx, 7);
    qc_status st = float_out ? infer_qgemm_float(ctx, QC_OP_MATMUL_INTEGER)
                             : infer_as(ctx, QC_OP_QLINEAR_MATMUL, 8);
    if (st) return st;
    if (float_out && (qc_node_attr(ctx->node, "act_min") || qc_node_attr(ctx->node, "act_max")))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "act_min/act_max need a quantized output");
    if (qc_infer_has_input(ctx, 8)) {
        const qc_type *b = &ctx->in[8];
        const qc_type *y = &ctx->out[0];
        if (b->dtype != QC_I32 || b->rank != 1 || y->rank < 1 || b->dims[0] != y->dims[y->rank - 1])
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "bias must be i32[N] with N the output's last dim");
    }
    return check_clamp(ctx);
}

/* qc.QConv: QLinearConv's rule, or without y_scale / y_zero_point the float
 * output form (qdq_fold rule 3c): ConvInteger's rule for the shape, f32 out,
 * an optional i32 bias[M] added to the accumulator. */
static qc_status infer_qconv(qc_infer_ctx *ctx) {
    bool float_out = !qc_infer_has_input(ctx, 6) && !qc_infer_has_input(ctx, 7);
    if (!float_out) {
        qc_status st = infer_as(ctx, QC_OP_QLINEAR_CONV, ctx->n_in);
        return st ? st : check_clamp(ctx);
    }
    qc_status st = infer_qgemm_float(ctx, QC_OP_CONV_INTEGER);
    if (st) return st;
    if (qc_node_attr(ctx->node, "act_min") || qc_node_attr(ctx->node, "act_max"))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "act_min/act_max need a quantized output");
    if (qc_infer_has_input(ctx, 8)) {
        const qc_type *b = &ctx->in[8], *y = &ctx->out[0];
        if (b->dtype != QC_I32 || b->rank != 1 || y->rank < 2 || b->dims[0] != y->dims[1])
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "bias must be i32[M] with M the output channels");
    }
    return NULL;
}

/* Fused base op + epilogue: the passes only fuse steps that keep the base
 * output's type, so the base op's rule gives the output type. */
static qc_status infer_fused_base(qc_infer_ctx *ctx, qc_op base) {
    int64_t nb = qc_attr_int(ctx->node, "n_base", ctx->n_in);
    if (nb < 1 || nb > ctx->n_in)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "n_base %lld out of range", (long long)nb);
    if (!qc_attr_string(ctx->node, "program", NULL))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "missing attr 'program'");
    return infer_as(ctx, base, (int32_t)nb);
}

static qc_status infer_elementwise(qc_infer_ctx *ctx) {
    if (!qc_attr_string(ctx->node, "program", NULL))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "missing attr 'program'");
    ctx->out[0] = ctx->in[0];
    return NULL;
}

/* qc.WGemm: the decoder's rule on a view (DequantizeLinear(w, scale, zp?) or
 * Gather(codebook, w as i32)), then the base op's rule with the decoded
 * weight as input 1. */
static qc_status infer_wgemm(qc_infer_ctx *ctx) {
    const qc_node *n = ctx->node;
    qc_wgemm_attrs w;
    const char *why = "";
    if (!qc_wgemm_attrs_get(n, &w, &why)) return qc_node_error(n, QC_ERR_INVALID, "%s", why);
    if (!qc_infer_has_input(ctx, 1)) return qc_node_error(n, QC_ERR_INVALID, "missing weight");
    qc_type din[3], dec;
    const void *ddata[3] = {NULL, NULL, NULL};
    int32_t nd = 0;
    qc_node view = *n;
    if (w.codebook) {
        qc_dtype it = ctx->in[1].dtype;
        if (it != QC_U8 && it != QC_U4 && it != QC_I8 && it != QC_I4 && it != QC_I32)
            return qc_node_error(n, QC_ERR_INVALID, "codebook indices must be an integer tensor");
        view.op = QC_OP_GATHER;
        view.n_attr = 0;   /* axis 0 */
        din[nd++] = ctx->in[w.dec];
        din[nd] = ctx->in[1];
        din[nd++].dtype = QC_I32;
    } else {
        view.op = QC_OP_DEQUANTIZE_LINEAR;
        din[nd] = ctx->in[1], ddata[nd++] = ctx->in_data[1];
        for (int32_t k = w.dec; k < ctx->n_in; k++)
            din[nd] = ctx->in[k], ddata[nd++] = ctx->in_data[k];
    }
    view.n_in = nd;
    qc_infer_ctx sub = {.batch = ctx->batch, .node = &view, .n_in = nd, .in = din,
                        .in_data = ddata, .n_out = 1, .out = &dec};
    qc_status st = qc_infer_node(&sub);
    if (st) return qc_status_wrap(st, "qc.WGemm weight decoder");
    qc_type bin[18];
    const void *bdata[18];
    if (w.dec > 18) return qc_node_error(n, QC_ERR_INVALID, "too many inputs");
    for (int32_t k = 0; k < w.dec; k++) bin[k] = ctx->in[k], bdata[k] = ctx->in_data[k];
    bin[1] = dec;
    bdata[1] = NULL;
    qc_node bview = *n;
    bview.op = w.base;
    bview.n_in = w.dec;
    qc_infer_ctx bsub = *ctx;
    bsub.node = &bview;
    bsub.n_in = w.dec;
    bsub.in = bin;
    bsub.in_data = bdata;
    return qc_infer_node(&bsub);
}

qc_status qc_infer_fused(qc_infer_ctx *ctx, bool *handled) {
    *handled = true;
    switch (ctx->node->op) {
    case QC_OP_FUSED_CONV: return infer_fused_base(ctx, QC_OP_CONV);
    case QC_OP_FUSED_GEMM: return infer_fused_base(ctx, QC_OP_GEMM);
    case QC_OP_FUSED_MATMUL: return infer_fused_base(ctx, QC_OP_MATMUL);
    case QC_OP_ELEMENTWISE: return infer_elementwise(ctx);
    case QC_OP_QGEMM: return infer_qgemm(ctx);
    case QC_OP_QCONV: return infer_qconv(ctx);
    case QC_OP_WGEMM: return infer_wgemm(ctx);
    default: *handled = false; return NULL;
    }
}
