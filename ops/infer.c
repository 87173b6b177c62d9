/* infer.c — type inference dispatch and shared helpers. */
#include <string.h>

#include "ir/dtype.h"
#include "ops/infer.h"

qc_status qc_infer_node(qc_infer_ctx *ctx) {
    qc_status (*const groups[])(qc_infer_ctx *, bool *) = {qc_infer_nn, qc_infer_tensor,
                                                           qc_infer_quant, qc_infer_fused};
    for (int32_t i = 0; i < ctx->n_out; i++) memset(&ctx->out[i], 0, sizeof ctx->out[i]);
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        bool handled = false;
        qc_status st = groups[g](ctx, &handled);
        if (st || handled) return st;
    }
    return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED, "no type inference for this op");
}

bool qc_infer_has_input(const qc_infer_ctx *ctx, int32_t i) {
    return i < ctx->n_in && ctx->in[i].dtype != QC_DT_UNDEF;
}

qc_status qc_infer_broadcast(const qc_infer_ctx *ctx, const qc_type *a, const qc_type *b,
                             qc_type *out) {
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    qc_type t = {.dtype = a->dtype, .rank = r};
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1) t.dims[i] = da;
        else if (da == 1) t.dims[i] = db;
        else {
            char sa[128], sb[128];
            const char *batch = ctx->batch;
            qc_type_format(a, batch, sa, sizeof sa);
            qc_type_format(b, batch, sb, sizeof sb);
            return qc_node_error(ctx->node, QC_ERR_INVALID, "shapes %s and %s do not broadcast",
                                 sa, sb);
        }
    }
    *out = t;
    return NULL;
}

qc_status qc_infer_axis(const qc_infer_ctx *ctx, int64_t axis, int32_t rank, bool allow_end,
                        int32_t *out) {
    int64_t hi = allow_end ? rank + 1 : rank;
    int64_t a = axis < 0 ? axis + hi : axis;
    if (a < 0 || a >= hi)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "axis %lld out of range for rank %d",
                             (long long)axis, (int)rank);
    *out = (int32_t)a;
    return NULL;
}

qc_status qc_infer_read_ints(const qc_infer_ctx *ctx, int32_t i, int64_t *v, int32_t max,
                             int32_t *n) {
    if (!qc_infer_has_input(ctx, i))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d is missing", (int)i);
    const qc_type *t = &ctx->in[i];
    if (t->dtype != QC_I64 && t->dtype != QC_I32)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d must be i64 or i32, not %s",
                             (int)i, qc_dtype_name(t->dtype));
    if (!ctx->in_data || !ctx->in_data[i])
        return qc_node_error(ctx->node, QC_ERR_UNSUPPORTED,
                             "input %d must be a constant (its values decide the output shape)",
                             (int)i);
    int64_t count = qc_type_numel(t);
    if (t->rank > 1 || count < 0 || count > max)
        return qc_node_error(ctx->node, QC_ERR_INVALID,
                             "input %d must be a 1-D list of at most %d integers", (int)i, (int)max);
    for (int64_t k = 0; k < count; k++) v[k] = qc_elem_get_i64(t->dtype, ctx->in_data[i], k);
    *n = (int32_t)count;
    return NULL;
}
