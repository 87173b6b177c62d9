/* infer_quant.c — type inference for the quantization ops: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, QLinearMatMul, QLinearConv,
 * MatMulInteger, ConvInteger and the com.microsoft QLinearAdd / QLinearMul.
 *
 * Semantics follow ONNX (opset 21 for the Q/DQ block_size and output_dtype
 * attributes). Besides computing output types this is where every input is
 * validated, so the ref kernels (backends/ref/quant*.c, qconv.c) can rely on
 * consistent shapes and dtypes. Dims may be QC_DIM_SYM at compile time: a
 * check against a symbolic dim is deferred to run time, when the interpreter
 * re-runs inference on concrete types. */
#include <stdio.h>
#include <string.h>

#include "ir/dtype.h"
#include "ops/infer.h"

/* Conv attributes and spatial dims are bounded so that every geometry
 * product ((k - 1) * dilation, in + pads, ...) fits comfortably in int64. */
#define CONV_MAX_DIM 0x7fffffffLL
#define CONV_MAX_ATTR (1LL << 30)

/* QLinearMatMul, QLinearConv and QLinearAdd/Mul share one input order:
 * a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp. */
static const int32_t SCALES[3] = {1, 4, 6};
static const int32_t ZERO_POINTS[3] = {2, 5, 7};

/* ---- small helpers --------------------------------------------------------- */

static const char *batch_name(const qc_infer_ctx *ctx) {
    return ctx->batch;
}

/* Dims that may still be equal once the symbolic batch is bound. */
static bool dim_may_equal(int64_t a, int64_t b) {
    return a == b || a == QC_DIM_SYM || b == QC_DIM_SYM;
}

static bool is_q8(qc_dtype t) { return t == QC_U8 || t == QC_I8; }

static bool is_fp8(qc_dtype t) { return t == QC_F8E4M3FN || t == QC_F8E5M2; }

/* A per-tensor parameter: a scalar or a 1-element 1-D tensor (ONNX and
 * onnxruntime accept both). */
static bool is_per_tensor(const qc_type *t) {
    return t->rank == 0 || (t->rank == 1 && t->dims[0] == 1);
}

static qc_status need_input(const qc_infer_ctx *ctx, int32_t i, const char *what) {
    if (!qc_infer_has_input(ctx, i))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "%s (input %d) is missing", what, (int)i);
    return NULL;
}

static qc_status need_dtype(const qc_infer_ctx *ctx, int32_t i, const char *what, bool ok,
                            const char *allowed) {
    if (ok) return NULL;
    return qc_node_error(ctx->node, QC_ERR_INVALID, "%s must be %s, not %s", what, allowed,
                         qc_dtype_name(ctx->in[i].dtype));
}

/* Scales are fp32 everywhere (the numerics contract in ir/quant.h). */
static qc_status need_scale(const qc_infer_ctx *ctx, int32_t i, const char *what) {
    qc_status st = need_input(ctx, i, what);
    if (st) return st;
    return need_dtype(ctx, i, what, ctx->in[i].dtype == QC_F32, "f32");
}

/* An optional zero point must have the dtype of the tensor it belongs to. */
static qc_status check_zp_dtype(const qc_infer_ctx *ctx, int32_t i, const char *what,
                                qc_dtype want) {
    if (!qc_infer_has_input(ctx, i) || ctx->in[i].dtype == want) return NULL;
    return qc_node_error(ctx->node, QC_ERR_INVALID, "%s dtype %s does not match %s", what,
                         qc_dtype_name(ctx->in[i].dtype), qc_dtype_name(want));
}

static qc_status param_error(const qc_infer_ctx *ctx, int32_t i, const char *what,
                             const char *expected) {
    char s[128];
    qc_type_format(&ctx->in[i], batch_name(ctx), s, sizeof s);
    return qc_node_error(ctx->node, QC_ERR_INVALID, "%s must be %s, got %s", what, expected, s);
}

/* Input i, if present, must be per tensor. */
static qc_status check_per_tensor(const qc_infer_ctx *ctx, int32_t i, const char *what) {
    if (!qc_infer_has_input(ctx, i) || is_per_tensor(&ctx->in[i])) return NULL;
    return param_error(ctx, i, what, "a scalar");
}

/* Input i, if present, is per tensor or a 1-D vector with one entry per
 * `per` (e.g. "row of a"), of which there are `len`. */
static qc_status check_param_vec(const qc_infer_ctx *ctx, int32_t i, const char *what,
                                 int64_t len, const char *per) {
    if (!qc_infer_has_input(ctx, i)) return NULL;
    const qc_type *t = &ctx->in[i];
    if (is_per_tensor(t) || (t->rank == 1 && dim_may_equal(t->dims[0], len))) return NULL;
    char expected[96];
    snprintf(expected, sizeof expected, "a scalar or have one entry per %s (%lld)", per,
             (long long)len);
    return param_error(ctx, i, what, expected);
}

static bool same_shape(const qc_type *a, const qc_type *b) {
    if (a->rank != b->rank) return false;
    for (int32_t d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* ---- QuantizeLinear / DequantizeLinear ----------------------------------- */

/* ONNX TensorProto element type numbers accepted by output_dtype. */
static qc_dtype onnx_qtype(int64_t code) {
    switch (code) {
    case 2: return QC_U8;
    case 3: return QC_I8;
    case 5: return QC_I16;
    case 17: return QC_F8E4M3FN;
    case 19: return QC_F8E5M2;
    case 21: return QC_U4;
    case 22: return QC_I4;
    default: return QC_DT_UNDEF;
    }
}

static bool is_qtype(qc_dtype t) {
    return is_q8(t) || t == QC_I16 || t == QC_U4 || t == QC_I4 || is_fp8(t);
}

/* Checks how scale (input 1) and zero point (input 2) map onto x: per tensor
 * (one entry), per axis (1-D, one entry per index of x along `axis`) or
 * blocked (rank of x, with the axis dim ceil-divided by block_size). */
static qc_status check_qparam_layout(const qc_infer_ctx *ctx, const qc_type *x) {
    const qc_node *n = ctx->node;
    const qc_type *s = &ctx->in[1];
    int64_t block = qc_attr_int(n, "block_size", 0);
    if (block < 0)
        return qc_node_error(n, QC_ERR_INVALID, "block_size %lld is negative", (long long)block);
    char ss[128], sx[128];
    qc_type_format(s, batch_name(ctx), ss, sizeof ss);
    qc_type_format(x, batch_name(ctx), sx, sizeof sx);
    const qc_type *z = qc_infer_has_input(ctx, 2) ? &ctx->in[2] : NULL;
    if (z && !same_shape(s, z) && !(is_per_tensor(s) && is_per_tensor(z))) {
        char sz[128];
        qc_type_format(z, batch_name(ctx), sz, sizeof sz);
        return qc_node_error(n, QC_ERR_INVALID, "zero point shape %s differs from scale shape %s",
                             sz, ss);
    }
    if (is_per_tensor(s)) return NULL;

    int32_t axis;
    qc_status st = qc_infer_axis(ctx, qc_attr_int(n, "axis", 1), x->rank, false, &axis);
    if (st) return st;
    int64_t len = x->dims[axis];
    if (block == 0) {
        if (s->rank != 1)
            return qc_node_error(n, QC_ERR_INVALID,
                                 "scale %s must be a scalar or 1-D (per axis) without block_size",
                                 ss);
        if (!dim_may_equal(s->dims[0], len))
            return qc_node_error(n, QC_ERR_INVALID,
                                 "per-axis scale has %lld entries but x %s has %lld along axis %d",
                                 (long long)s->dims[0], sx, (long long)len, (int)axis);
        return NULL;
    }
    if (s->rank != x->rank)
        return qc_node_error(n, QC_ERR_INVALID, "blocked scale %s must have the rank of x %s", ss,
                             sx);
    for (int32_t d = 0; d < x->rank; d++) {
        int64_t want = x->dims[d];
        if (d == axis && want != QC_DIM_SYM) want = want / block + (want % block != 0);
        if (!dim_may_equal(s->dims[d], want))
            return qc_node_error(n, QC_ERR_INVALID,
                                 "blocked scale %s does not fit x %s with block_size %lld on axis "
                                 "%d (dim %d should be %lld)",
                                 ss, sx, (long long)block, (int)axis, (int)d, (long long)want);
    }
    return NULL;
}

/* fp8 (and i32 for DequantizeLinear) have no zero point in ONNX: a given
 * one must be all zero. Checked whenever its data is known (always at run
 * time), so kernels can ignore it. */
static qc_status check_zp_zero(const qc_infer_ctx *ctx, qc_dtype t) {
    if (!qc_infer_has_input(ctx, 2) || !ctx->in_data || !ctx->in_data[2]) return NULL;
    int64_t count = qc_type_numel(&ctx->in[2]);
    for (int64_t i = 0; i < count; i++)
        if (qc_elem_get_f64(t, ctx->in_data[2], i) != 0.0)
            return qc_node_error(ctx->node, QC_ERR_INVALID,
                                 "zero point must be 0 for %s (entry %lld is not)",
                                 qc_dtype_name(t), (long long)i);
    return NULL;
}

static qc_status infer_quantize(qc_infer_ctx *ctx) {
    const qc_node *n = ctx->node;
    const qc_type *x = &ctx->in[0];
    qc_status st = need_input(ctx, 0, "x");
    if (!st)
        st = need_dtype(ctx, 0, "x",
                        x->dtype == QC_F32 || x->dtype == QC_F16 || x->dtype == QC_BF16 ||
                            x->dtype == QC_I32,
                        "f32, f16, bf16 or i32");
    if (!st) st = need_scale(ctx, 1, "y_scale");
    if (st) return st;

    /* Output type: the zero point's dtype, else output_dtype, else u8. */
    int64_t code = qc_attr_int(n, "output_dtype", 0);
    qc_dtype from_attr = code ? onnx_qtype(code) : QC_DT_UNDEF;
    if (code && from_attr == QC_DT_UNDEF)
        return qc_node_error(n, QC_ERR_UNSUPPORTED,
                             "output_dtype %lld is not supported (2 u8, 3 i8, 5 i16, 17 f8e4m3fn, "
                             "19 f8e5m2, 21 u4, 22 i4)",
                             (long long)code);
    qc_dtype y = from_attr != QC_DT_UNDEF ? from_attr : QC_U8;
    if (qc_infer_has_input(ctx, 2)) {
        qc_dtype z = ctx->in[2].dtype;
        if (from_attr != QC_DT_UNDEF && z != from_attr)
            return qc_node_error(n, QC_ERR_INVALID,
                                 "zero point dtype %s does not match output_dtype %s",
                                 qc_dtype_name(z), qc_dtype_name(from_attr));
        y = z;
    }
    if (!is_qtype(y))
        return qc_node_error(n, QC_ERR_UNSUPPORTED,
                             "cannot quantize to %s (u8, i8, i16, u4, i4, f8e4m3fn, f8e5m2)",
                             qc_dtype_name(y));
    int64_t sat = qc_attr_int(n, "saturate", 1);
    if (sat != 0 && sat != 1)
        return qc_node_error(n, QC_ERR_INVALID, "saturate must be 0 or 1, not %lld",
                             (long long)sat);
    st = check_qparam_layout(ctx, x);
    if (!st && is_fp8(y)) st = check_zp_zero(ctx, y);
    if (st) return st;
    ctx->out[0] = *x;
    ctx->out[0].dtype = y;
    return NULL;
}

static qc_status infer_dequantize(qc_infer_ctx *ctx) {
    const qc_node *n = ctx->node;
    const qc_type *x = &ctx->in[0];
    qc_status st = need_input(ctx, 0, "x");
    if (!st)
        st = need_dtype(ctx, 0, "x", is_qtype(x->dtype) || x->dtype == QC_I32,
                        "u8, i8, i16, i32, u4, i4, f8e4m3fn or f8e5m2");
    if (!st) st = need_scale(ctx, 1, "x_scale");
    if (!st) st = check_zp_dtype(ctx, 2, "zero point", x->dtype);
    if (st) return st;
    int64_t code = qc_attr_int(n, "output_dtype", 0);
    if (code != 0 && code != 1)   /* opset 23: only float (1) matches an f32 scale */
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "output_dtype %lld is not supported (1 f32)",
                             (long long)code);
    st = check_qparam_layout(ctx, x);
    if (!st && (is_fp8(x->dtype) || x->dtype == QC_I32)) st = check_zp_zero(ctx, x->dtype);
    if (st) return st;
    ctx->out[0] = *x;
    ctx->out[0].dtype = QC_F32;
    return NULL;
}

static qc_status infer_dynamic_quantize(qc_infer_ctx *ctx) {
    qc_status st = need_input(ctx, 0, "x");
    if (!st) st = need_dtype(ctx, 0, "x", ctx->in[0].dtype == QC_F32, "f32");
    if (st) return st;
    ctx->out[0] = ctx->in[0];
    ctx->out[0].dtype = QC_U8;
    ctx->out[1] = (qc_type){.dtype = QC_F32, .rank = 0};
    ctx->out[2] = (qc_type){.dtype = QC_U8, .rank = 0};
    return NULL;
}

/* ---- matmul ---------------------------------------------------------------- */

/* Numpy matmul shape: a [..., M, K] x b [..., K, N] -> [..., M, N], batch
 * dims broadcast; a 1-D a is a row [K] (M dropped), a 1-D b a column [K]
 * (N dropped). *m and *n get M and N (1 for a dropped dim). */
static qc_status matmul_shape(const qc_infer_ctx *ctx, const qc_type *a, const qc_type *b,
                              qc_dtype dt, qc_type *out, int64_t *m, int64_t *n) {
    char sa[128], sb[128];
    qc_type_format(a, batch_name(ctx), sa, sizeof sa);
    qc_type_format(b, batch_name(ctx), sb, sizeof sb);
    if (a->rank < 1 || b->rank < 1)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "matmul of a scalar (%s x %s)", sa, sb);
    int64_t ka = a->dims[a->rank - 1], kb = b->dims[b->rank > 1 ? b->rank - 2 : 0];
    if (!dim_may_equal(ka, kb))
        return qc_node_error(ctx->node, QC_ERR_INVALID, "inner dims of %s and %s differ", sa, sb);
    qc_type ba = {.dtype = dt, .rank = a->rank > 2 ? a->rank - 2 : 0};
    qc_type bb = {.dtype = dt, .rank = b->rank > 2 ? b->rank - 2 : 0};
    for (int32_t i = 0; i < ba.rank; i++) ba.dims[i] = a->dims[i];
    for (int32_t i = 0; i < bb.rank; i++) bb.dims[i] = b->dims[i];
    qc_status st = qc_infer_broadcast(ctx, &ba, &bb, out);
    if (st) return st;
    *m = a->rank > 1 ? a->dims[a->rank - 2] : 1;
    *n = b->rank > 1 ? b->dims[b->rank - 1] : 1;
    if (a->rank > 1) out->dims[out->rank++] = *m;
    if (b->rank > 1) out->dims[out->rank++] = *n;
    return NULL;
}

static qc_status infer_qlinear_matmul(qc_infer_ctx *ctx) {
    const char *names[8] = {"a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point",
                            "y_scale", "y_zero_point"};
    qc_status st = NULL;
    for (int32_t i = 0; i < 8 && !st; i++) st = need_input(ctx, i, names[i]);
    if (!st) st = need_dtype(ctx, 0, "a", is_q8(ctx->in[0].dtype), "u8 or i8");
    if (!st) st = need_dtype(ctx, 3, "b", is_q8(ctx->in[3].dtype), "u8 or i8");
    if (!st) st = need_dtype(ctx, 7, "y_zero_point", is_q8(ctx->in[7].dtype), "u8 or i8");
    for (int32_t k = 0; k < 3 && !st; k++) st = need_scale(ctx, SCALES[k], names[SCALES[k]]);
    if (!st) st = check_zp_dtype(ctx, 2, "a_zero_point", ctx->in[0].dtype);
    if (!st) st = check_zp_dtype(ctx, 5, "b_zero_point", ctx->in[3].dtype);
    int64_t m = 0, n = 0;
    if (!st)
        st = matmul_shape(ctx, &ctx->in[0], &ctx->in[3], ctx->in[7].dtype, &ctx->out[0], &m, &n);
    /* a's params may be per row, b's per column; y's are per tensor. */
    if (!st) st = check_param_vec(ctx, 1, "a_scale", m, "row of a");
    if (!st) st = check_param_vec(ctx, 2, "a_zero_point", m, "row of a");
    if (!st) st = check_param_vec(ctx, 4, "b_scale", n, "column of b");
    if (!st) st = check_param_vec(ctx, 5, "b_zero_point", n, "column of b");
    if (!st) st = check_per_tensor(ctx, 6, "y_scale");
    if (!st) st = check_per_tensor(ctx, 7, "y_zero_point");
    return st;
}

static qc_status infer_matmul_integer(qc_infer_ctx *ctx) {
    qc_status st = need_input(ctx, 0, "A");
    if (!st) st = need_input(ctx, 1, "B");
    if (!st) st = need_dtype(ctx, 0, "A", is_q8(ctx->in[0].dtype), "u8 or i8");
    if (!st) st = need_dtype(ctx, 1, "B", is_q8(ctx->in[1].dtype), "u8 or i8");
    if (!st) st = check_zp_dtype(ctx, 2, "a_zero_point", ctx->in[0].dtype);
    if (!st) st = check_zp_dtype(ctx, 3, "b_zero_point", ctx->in[1].dtype);
    int64_t m = 0, n = 0;
    if (!st) st = matmul_shape(ctx, &ctx->in[0], &ctx->in[1], QC_I32, &ctx->out[0], &m, &n);
    if (!st) st = check_param_vec(ctx, 2, "a_zero_point", m, "row of A");
    if (!st) st = check_param_vec(ctx, 3, "b_zero_point", n, "column of B");
    return st;
}

/* ---- convolution ------------------------------------------------------------ */

/* Reads an optional ints attribute of exactly `len` entries, each in
 * [lo, CONV_MAX_ATTR], defaulting every entry to `def`. */
static qc_status conv_ints(const qc_infer_ctx *ctx, const char *key, int32_t len, int64_t lo,
                           int64_t def, int64_t *v) {
    const qc_attr *a = qc_node_attr(ctx->node, key);
    for (int32_t i = 0; i < len; i++) v[i] = def;
    if (!a) return NULL;
    if (a->kind != QC_ATTR_INTS || a->n != len)
        return qc_node_error(ctx->node, QC_ERR_INVALID, "%s must be a list of %d ints", key,
                             (int)len);
    for (int32_t i = 0; i < len; i++) {
        if (a->ints[i] < lo || a->ints[i] > CONV_MAX_ATTR)
            return qc_node_error(ctx->node, QC_ERR_INVALID, "%s[%d] = %lld is out of range", key,
                                 (int)i, (long long)a->ints[i]);
        v[i] = a->ints[i];
    }
    return NULL;
}

/* Conv output shape (ONNX Conv rules): x [N, C, D1..], w [M, C/group, k1..]
 * -> [N, M, O1..]. Only N may be symbolic. */
static qc_status conv_shape(const qc_infer_ctx *ctx, const qc_type *x, const qc_type *w,
                            qc_dtype dt, qc_type *out) {
    const qc_node *n = ctx->node;
    char sx[128], sw[128];
    qc_type_format(x, batch_name(ctx), sx, sizeof sx);
    qc_type_format(w, batch_name(ctx), sw, sizeof sw);
    if (x->rank < 3 || w->rank != x->rank)
        return qc_node_error(n, QC_ERR_INVALID,
                             "x %s and w %s must both be [N, C, spatial...] / [M, C/group, k...]",
                             sx, sw);
    int32_t sp = x->rank - 2;
    bool sym = false;
    for (int32_t d = 0; d < x->rank; d++)
        sym = sym || (d > 0 && x->dims[d] == QC_DIM_SYM) || w->dims[d] == QC_DIM_SYM;
    if (sym)
        return qc_node_error(n, QC_ERR_INVALID, "only the batch dim may be symbolic (x %s, w %s)",
                             sx, sw);
    int64_t group = qc_attr_int(n, "group", 1);
    int64_t c = x->dims[1], m = w->dims[0];
    if (group < 1 || group > CONV_MAX_ATTR || c % group || m % group || w->dims[1] != c / group)
        return qc_node_error(n, QC_ERR_INVALID,
                             "channels do not fit group %lld: x %s has %lld, w %s needs "
                             "C/group = w dim 1 and group | M",
                             (long long)group, sx, (long long)c, sw);
    int64_t ks[QC_MAX_RANK], strides[QC_MAX_RANK], dil[QC_MAX_RANK], pads[2 * QC_MAX_RANK];
    qc_status st = conv_ints(ctx, "kernel_shape", sp, 1, 1, ks);
    if (!st) st = conv_ints(ctx, "strides", sp, 1, 1, strides);
    if (!st) st = conv_ints(ctx, "dilations", sp, 1, 1, dil);
    if (!st) st = conv_ints(ctx, "pads", 2 * sp, 0, 0, pads);
    if (st) return st;
    const char *ap = qc_attr_string(n, "auto_pad", "NOTSET");
    bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    bool valid = !strcmp(ap, "VALID");
    if (!same && !valid && strcmp(ap, "NOTSET"))
        return qc_node_error(n, QC_ERR_INVALID, "unknown auto_pad '%s'", ap);

    *out = (qc_type){.dtype = dt, .rank = x->rank, .dims = {x->dims[0], m}};
    for (int32_t d = 0; d < sp; d++) {
        int64_t in = x->dims[d + 2], k = w->dims[d + 2];
        if (qc_node_attr(n, "kernel_shape") && ks[d] != k)
            return qc_node_error(n, QC_ERR_INVALID, "kernel_shape[%d] = %lld but w %s has %lld",
                                 (int)d, (long long)ks[d], sw, (long long)k);
        if (in > CONV_MAX_DIM || k > CONV_MAX_DIM || k < 1)
            return qc_node_error(n, QC_ERR_INVALID, "spatial dim %d of x %s / w %s out of range",
                                 (int)d, sx, sw);
        int64_t extent = (k - 1) * dil[d] + 1;
        if (same) {
            out->dims[d + 2] = (in + strides[d] - 1) / strides[d];
            continue;
        }
        int64_t padded = valid ? in : in + pads[d] + pads[d + sp];
        if (padded < extent)
            return qc_node_error(n, QC_ERR_INVALID,
                                 "kernel extent %lld exceeds padded input %lld on spatial dim %d",
                                 (long long)extent, (long long)padded, (int)d);
        out->dims[d + 2] = (padded - extent) / strides[d] + 1;
    }
    return NULL;
}

/* Bias (input i, optional) is i32 [M]. */
static qc_status check_bias(const qc_infer_ctx *ctx, int32_t i, int64_t m) {
    if (!qc_infer_has_input(ctx, i)) return NULL;
    const qc_type *b = &ctx->in[i];
    if (b->dtype != QC_I32 || b->rank != 1 || b->dims[0] != m) {
        char s[128];
        qc_type_format(b, batch_name(ctx), s, sizeof s);
        return qc_node_error(ctx->node, QC_ERR_INVALID, "bias must be i32[%lld], got %s",
                             (long long)m, s);
    }
    return NULL;
}

static qc_status infer_qlinear_conv(qc_infer_ctx *ctx) {
    const char *names[8] = {"x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point",
                            "y_scale", "y_zero_point"};
    qc_status st = NULL;
    for (int32_t i = 0; i < 8 && !st; i++) st = need_input(ctx, i, names[i]);
    if (!st) st = need_dtype(ctx, 0, "x", is_q8(ctx->in[0].dtype), "u8 or i8");
    if (!st) st = need_dtype(ctx, 3, "w", is_q8(ctx->in[3].dtype), "u8 or i8");
    for (int32_t k = 0; k < 3 && !st; k++) st = need_scale(ctx, SCALES[k], names[SCALES[k]]);
    if (!st) st = check_zp_dtype(ctx, 2, "x_zero_point", ctx->in[0].dtype);
    if (!st) st = check_zp_dtype(ctx, 5, "w_zero_point", ctx->in[3].dtype);
    if (!st) st = need_dtype(ctx, 7, "y_zero_point", is_q8(ctx->in[7].dtype), "u8 or i8");
    if (!st) st = conv_shape(ctx, &ctx->in[0], &ctx->in[3], ctx->in[7].dtype, &ctx->out[0]);
    if (st) return st;
    int64_t m = ctx->in[3].dims[0];
    st = check_per_tensor(ctx, 1, "x_scale");
    if (!st) st = check_per_tensor(ctx, 2, "x_zero_point");
    if (!st) st = check_param_vec(ctx, 4, "w_scale", m, "output channel");
    if (!st) st = check_param_vec(ctx, 5, "w_zero_point", m, "output channel");
    if (!st) st = check_per_tensor(ctx, 6, "y_scale");
    if (!st) st = check_per_tensor(ctx, 7, "y_zero_point");
    if (!st) st = check_bias(ctx, 8, m);
    return st;
}

static qc_status infer_conv_integer(qc_infer_ctx *ctx) {
    qc_status st = need_input(ctx, 0, "x");
    if (!st) st = need_input(ctx, 1, "w");
    if (!st) st = need_dtype(ctx, 0, "x", is_q8(ctx->in[0].dtype), "u8 or i8");
    if (!st) st = need_dtype(ctx, 1, "w", is_q8(ctx->in[1].dtype), "u8 or i8");
    if (!st) st = check_zp_dtype(ctx, 2, "x_zero_point", ctx->in[0].dtype);
    if (!st) st = check_zp_dtype(ctx, 3, "w_zero_point", ctx->in[1].dtype);
    if (!st) st = conv_shape(ctx, &ctx->in[0], &ctx->in[1], QC_I32, &ctx->out[0]);
    if (!st) st = check_per_tensor(ctx, 2, "x_zero_point");
    if (!st) st = check_param_vec(ctx, 3, "w_zero_point", ctx->in[1].dims[0], "output channel");
    return st;
}

/* ---- QLinearAdd / QLinearMul (com.microsoft) -------------------------------- */

/* Inputs: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp (zps optional).
 * A, B and C share one 8-bit type, as in onnxruntime. */
static qc_status infer_qlinear_binary(qc_infer_ctx *ctx) {
    const char *names[8] = {"A", "A_scale", "A_zero_point", "B", "B_scale", "B_zero_point",
                            "C_scale", "C_zero_point"};
    qc_status st = need_input(ctx, 0, "A");
    if (!st) st = need_input(ctx, 3, "B");
    if (!st) st = need_dtype(ctx, 0, "A", is_q8(ctx->in[0].dtype), "u8 or i8");
    qc_dtype t = ctx->in[0].dtype;
    if (!st && ctx->in[3].dtype != t)
        st = qc_node_error(ctx->node, QC_ERR_INVALID, "B dtype %s does not match A dtype %s",
                           qc_dtype_name(ctx->in[3].dtype), qc_dtype_name(t));
    for (int32_t k = 0; k < 3 && !st; k++) st = need_scale(ctx, SCALES[k], names[SCALES[k]]);
    for (int32_t k = 0; k < 3 && !st; k++) st = check_per_tensor(ctx, SCALES[k], names[SCALES[k]]);
    for (int32_t k = 0; k < 3 && !st; k++) {
        st = check_zp_dtype(ctx, ZERO_POINTS[k], names[ZERO_POINTS[k]], t);
        if (!st) st = check_per_tensor(ctx, ZERO_POINTS[k], names[ZERO_POINTS[k]]);
    }
    if (!st) st = qc_infer_broadcast(ctx, &ctx->in[0], &ctx->in[3], &ctx->out[0]);
    /* The output clamp qdq_fold adds from a Relu / Clip: within C's range. */
    int64_t lo = 0, hi = 0;
    if (!st) qc_dtype_int_range(t, &lo, &hi);
    int64_t amin = qc_attr_int(ctx->node, "act_min", lo), amax = qc_attr_int(ctx->node, "act_max", hi);
    if (!st && (amin < lo || amax > hi || amin > amax))
        st = qc_node_error(ctx->node, QC_ERR_INVALID, "act_min %lld / act_max %lld outside %s or crossed",
                           (long long)amin, (long long)amax, qc_dtype_name(t));
    return st;
}

qc_status qc_infer_quant(qc_infer_ctx *ctx, bool *handled) {
    *handled = true;
    switch (ctx->node->op) {
    case QC_OP_QUANTIZE_LINEAR: return infer_quantize(ctx);
    case QC_OP_DEQUANTIZE_LINEAR: return infer_dequantize(ctx);
    case QC_OP_DYNAMIC_QUANTIZE_LINEAR: return infer_dynamic_quantize(ctx);
    case QC_OP_QLINEAR_MATMUL: return infer_qlinear_matmul(ctx);
    case QC_OP_QLINEAR_CONV: return infer_qlinear_conv(ctx);
    case QC_OP_MATMUL_INTEGER: return infer_matmul_integer(ctx);
    case QC_OP_CONV_INTEGER: return infer_conv_integer(ctx);
    case QC_OP_QLINEAR_ADD:
    case QC_OP_QLINEAR_MUL: return infer_qlinear_binary(ctx);
    default: *handled = false; return NULL;
    }
}
