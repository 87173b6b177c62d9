/* infer_math.c — type inference for the elementwise ops added with the ONNX
 * frontend (part of the 'tensor' group, dispatched from infer_tensor.c after
 * its arity check): unary math (Neg ... IsNaN), PRelu, Mod, the variadic
 * Max/Min/Sum/Mean, the comparisons, And/Or/Xor and Where.
 *
 * Every broadcasting op folds qc_infer_broadcast over its inputs, so the
 * symbolic batch dim propagates exactly as it does for Add. Element types
 * follow the ONNX type constraints, restricted to what the ref kernels
 * compute: float math in f32/f16/bf16/f64 (fp8 is storage only), integer math
 * in the 8..64-bit integer types (no 4-bit arithmetic). */
#include <string.h>

#include "ir/dtype.h"
#include "ops/infer.h"
#include "ops/infer_nn.h"
#include "ops/infer_tensor.h"


#define FLOATS "f32/f16/bf16/f64"
#define NUMERIC "f32/f16/bf16/f64 or i8/u8/i16/i32/i64"

/* ---- unary ---------------------------------------------------------------- */

static qc_status infer_unary_math(qc_infer_ctx *ctx) {
    qc_op op = ctx->node->op;
    qc_dtype t = ctx->in[0].dtype;
    bool ok;
    const char *allowed;
    switch (op) {
    case QC_OP_NEG:   /* signed types only: negating a u8 has no ONNX meaning */
        ok = qc_infer_is_math_float(t) || (qc_infer_is_math_int(t) && t != QC_U8);
        allowed = "f32/f16/bf16/f64 or i8/i16/i32/i64";
        break;
    case QC_OP_ABS: case QC_OP_SIGN:
        ok = qc_infer_is_math_float(t) || qc_infer_is_math_int(t);
        allowed = NUMERIC;
        break;
    case QC_OP_NOT:
        ok = t == QC_BOOL;
        allowed = "bool";
        break;
    default:
        ok = qc_infer_is_math_float(t);
        allowed = FLOATS;
        break;
    }
    if (!ok) return qc_infer_bad_dtype(ctx, 0, allowed);
    if (op == QC_OP_CELU && qc_attr_float(ctx->node, "alpha", 1.0f) == 0.0f)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "alpha must not be 0 (Celu divides by it)");
    ctx->out[0] = ctx->in[0];
    if (op == QC_OP_ISNAN) ctx->out[0].dtype = QC_BOOL;
    return NULL;
}

/* PRelu: slope broadcasts onto X without changing X's shape (ONNX
 * "unidirectional" broadcasting). */
static qc_status infer_prelu(qc_infer_ctx *ctx) {
    if (!qc_infer_has_input(ctx, 1))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "input 1 (slope) is missing");
    const qc_type *x = &ctx->in[0], *s = &ctx->in[1];
    if (!qc_infer_is_math_float(x->dtype) && !(qc_infer_is_math_int(x->dtype) && x->dtype != QC_U8))
        return qc_infer_bad_dtype(ctx, 0, "f32/f16/bf16/f64 or i8/i16/i32/i64");
    if (s->dtype != x->dtype)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "slope has type %s, X has %s",
                             qc_dtype_name(s->dtype), qc_dtype_name(x->dtype));
    qc_type b;
    qc_status st = qc_infer_broadcast(ctx, x, s, &b);
    if (st) return st;
    if (!qc_type_equal(&b, x)) {
        char sx[160], ss[160];
        return qc_node_error(ctx->node, QC_ERR_INVALID, "slope %s does not broadcast onto X %s",
                             qc_infer_nn_fmt(ctx, s, ss, sizeof ss),
                             qc_infer_nn_fmt(ctx, x, sx, sizeof sx));
    }
    ctx->out[0] = *x;
    return NULL;
}

/* ---- broadcasting n-ary ops ------------------------------------------------- */

/* Checks every input is present with input 0's dtype (from `first` on) and
 * folds their broadcast shape into *out (dtype: input `first`'s). */
static qc_status broadcast_all(const qc_infer_ctx *ctx, int32_t first, qc_type *out) {
    *out = ctx->in[first];
    for (int32_t i = 0; i < ctx->n_in; i++)
        if (!qc_infer_has_input(ctx, i))
            return qc_node_error(ctx->node, QC_ERR_INVALID, "input %d is missing", (int)i);
    for (int32_t i = first + 1; i < ctx->n_in; i++) {
        if (ctx->in[i].dtype != ctx->in[first].dtype)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "input types differ: %s and %s",
                                 qc_dtype_name(ctx->in[first].dtype),
                                 qc_dtype_name(ctx->in[i].dtype));
    }
    for (int32_t i = 0; i < ctx->n_in; i++) {
        if (i == first) continue;
        qc_type t = ctx->in[i];
        t.dtype = out->dtype;
        qc_status st = qc_infer_broadcast(ctx, out, &t, out);
        if (st) return st;
    }
    return qc_infer_nn_size(ctx, out);
}

static qc_status infer_nary(qc_infer_ctx *ctx) {
    qc_op op = ctx->node->op;
    qc_dtype t = ctx->in[0].dtype;
    qc_type out;
    bool is_where = op == QC_OP_WHERE;
    qc_status st = broadcast_all(ctx, is_where ? 1 : 0, &out);
    if (st) return st;
    switch (op) {
    case QC_OP_MOD: {
        int64_t fmod_attr = qc_attr_int(ctx->node, "fmod", 0);
        if (fmod_attr != 0 && fmod_attr != 1)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "fmod must be 0 or 1, not %lld",
                                 (long long)fmod_attr);
        if (qc_infer_is_math_float(t) && fmod_attr != 1)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "float inputs need fmod=1 (fmod=0 is integer modulo)");
        if (!qc_infer_is_math_float(t) && !qc_infer_is_math_int(t)) return qc_infer_bad_dtype(ctx, 0, NUMERIC);
        break;
    }
    case QC_OP_MAX: case QC_OP_MIN: case QC_OP_SUM:
        if (!qc_infer_is_math_float(t) && !qc_infer_is_math_int(t)) return qc_infer_bad_dtype(ctx, 0, NUMERIC);
        break;
    case QC_OP_MEAN:
        if (!qc_infer_is_math_float(t)) return qc_infer_bad_dtype(ctx, 0, FLOATS);
        break;
    case QC_OP_EQUAL:
        if (!qc_infer_is_math_float(t) && !qc_infer_is_math_int(t) && t != QC_BOOL)
            return qc_infer_bad_dtype(ctx, 0, NUMERIC " or bool");
        out.dtype = QC_BOOL;
        break;
    case QC_OP_LESS: case QC_OP_LESS_OR_EQUAL: case QC_OP_GREATER:
    case QC_OP_GREATER_OR_EQUAL:
        if (!qc_infer_is_math_float(t) && !qc_infer_is_math_int(t)) return qc_infer_bad_dtype(ctx, 0, NUMERIC);
        out.dtype = QC_BOOL;
        break;
    case QC_OP_AND: case QC_OP_OR: case QC_OP_XOR:
        if (t != QC_BOOL) return qc_infer_bad_dtype(ctx, 0, "bool");
        break;
    default:   /* Where: any element type for X and Y */
        if (t != QC_BOOL) return qc_infer_bad_dtype(ctx, 0, "bool (the condition)");
        break;
    }
    ctx->out[0] = out;
    return NULL;
}

/* ---- entry point (called by qc_infer_tensor) -------------------------------- */

qc_status qc_infer_tensor_math(qc_infer_ctx *ctx) {
    switch (ctx->node->op) {
    case QC_OP_PRELU: return infer_prelu(ctx);
    case QC_OP_MOD: case QC_OP_MAX: case QC_OP_MIN: case QC_OP_SUM: case QC_OP_MEAN:
    case QC_OP_EQUAL: case QC_OP_LESS: case QC_OP_LESS_OR_EQUAL: case QC_OP_GREATER:
    case QC_OP_GREATER_OR_EQUAL: case QC_OP_AND: case QC_OP_OR: case QC_OP_XOR:
    case QC_OP_WHERE:
        return infer_nary(ctx);
    default:
        return infer_unary_math(ctx);
    }
}
