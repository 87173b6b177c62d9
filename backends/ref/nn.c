/* nn.c — ref kernels for the 'nn' op group (see kernels.h): the dispatcher,
 * shared helpers (nn_internal.h), and Gemm, MatMul, Softmax / LogSoftmax /
 * Hardmax, LayerNormalization, BatchNormalization and InstanceNormalization.
 * The window ops and global pools are in nn_conv.c and nn_pool.c, the
 * reductions and ArgMax / ArgMin in reduce.c.
 *
 * Shapes were validated by type inference (ir/infer_nn.c), which the
 * interpreter runs on the concrete inputs just before the kernel, so the
 * kernels trust the output shapes they are given. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/nn_internal.h"
#include "ir/dtype.h"

/* ---- shared helpers ------------------------------------------------------- */

int64_t qc_ref_nn_numel(const qc_tensor *t) { return qc_type_numel(&t->desc); }

qc_status qc_ref_nn_zeros(const qc_node *n, int64_t count, double **out) {
    *out = NULL;
    if (count < 0 || (uint64_t)count > SIZE_MAX / sizeof(double))
        return qc_node_error(n, QC_ERR_NOMEM, "scratch buffer of %lld doubles is too large",
                             (long long)count);
    *out = calloc(count ? (size_t)count : 1, sizeof(double));
    if (!*out)
        return qc_node_error(n, QC_ERR_NOMEM, "out of memory for %lld doubles", (long long)count);
    return NULL;
}

qc_status qc_ref_nn_load(const qc_node *n, const qc_tensor *t, const char *what, bool allow_int8,
                         double **out) {
    *out = NULL;
    if (!t->data) return NULL;
    qc_dtype dt = t->desc.dtype;
    bool ok = dt == QC_F32 || dt == QC_F16 || dt == QC_BF16 || dt == QC_F64 ||
              (allow_int8 && (dt == QC_I8 || dt == QC_U8));
    if (!ok)
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "the ref kernel does not support %s of type %s",
                             what, qc_dtype_name(dt));
    int64_t count = qc_ref_nn_numel(t);
    qc_status st = qc_ref_nn_zeros(n, count, out);
    for (int64_t i = 0; !st && i < count; i++) (*out)[i] = qc_elem_get_f64(dt, t->data, i);
    return st;
}

void qc_ref_nn_store(qc_tensor *t, const double *v) {
    int64_t count = qc_ref_nn_numel(t);
    for (int64_t i = 0; i < count; i++) qc_elem_set_f64(t->desc.dtype, t->data, i, v[i]);
}

qc_status qc_ref_nn_geom3(const qc_node *n, const qc_tensor *x, const qc_tensor *w,
                          qc_ref_geom3 *g) {
    qc_nn_window win;
    qc_status st = qc_nn_window_get(n, &x->desc, w ? &w->desc : NULL, &win);
    if (st) return st;
    int32_t lead = 3 - win.nsp;   /* padding dims go first so flat indices stay the same */
    for (int32_t i = 0; i < 3; i++) {
        int32_t j = i - lead;
        g->in[i] = j < 0 ? 1 : win.in[j];
        g->k[i] = j < 0 ? 1 : win.kernel[j];
        g->s[i] = j < 0 ? 1 : win.stride[j];
        g->d[i] = j < 0 ? 1 : win.dilation[j];
        g->pb[i] = j < 0 ? 0 : win.pad_begin[j];
        g->pe[i] = j < 0 ? 0 : win.pad_end[j];
        g->out[i] = j < 0 ? 1 : win.out[j];
    }
    g->in_vol = g->in[0] * g->in[1] * g->in[2];
    g->k_vol = g->k[0] * g->k[1] * g->k[2];
    g->out_vol = g->out[0] * g->out[1] * g->out[2];
    return NULL;
}

/* Flat index into a tensor of shape in_dims (numpy-broadcast against
 * out_dims, aligned on the right) for the element at flat index i of out. */
static int64_t bcast_index(int64_t i, const int64_t *out_dims, int32_t out_rank,
                           const int64_t *in_dims, int32_t in_rank) {
    int64_t idx = 0, stride = 1;
    for (int32_t d = out_rank - 1; d >= 0; d--) {
        int64_t od = out_dims[d], coord = od ? i % od : 0;
        i = od ? i / od : 0;
        int32_t k = d - (out_rank - in_rank);
        if (k < 0) continue;
        if (in_dims[k] != 1) idx += coord * stride;
        stride *= in_dims[k];
    }
    return idx;
}

static int64_t prod(const int64_t *dims, int32_t from, int32_t to) {
    int64_t p = 1;
    for (int32_t i = from; i < to; i++) p *= dims[i];
    return p;
}

/* ---- Gemm / MatMul -------------------------------------------------------- */

static qc_status ref_gemm(const qc_ref_args *a) {
    const qc_node *n = a->node;
    double *A = NULL, *B = NULL, *C = NULL, *Y = NULL;
    qc_status st = qc_ref_nn_load(n, &a->in[0], "A", false, &A);
    if (!st) st = qc_ref_nn_load(n, &a->in[1], "B", false, &B);
    if (!st && a->n_in > 2) st = qc_ref_nn_load(n, &a->in[2], "C", false, &C);
    if (!st) st = qc_ref_nn_zeros(n, qc_ref_nn_numel(&a->out[0]), &Y);
    if (!st) {
        bool ta = qc_attr_int(n, "transA", 0) != 0, tb = qc_attr_int(n, "transB", 0) != 0;
        double alpha = qc_attr_float(n, "alpha", 1.0f), beta = qc_attr_float(n, "beta", 1.0f);
        const int64_t *ad = a->in[0].desc.dims, *bd = a->in[1].desc.dims;
        int64_t M = ta ? ad[1] : ad[0], K = ta ? ad[0] : ad[1], N = tb ? bd[0] : bd[1];
        const int64_t *yd = a->out[0].desc.dims;
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0.0;
                for (int64_t k = 0; k < K; k++)
                    acc += A[ta ? k * M + m : m * K + k] * B[tb ? j * K + k : k * N + j];
                double y = alpha * acc;
                if (C)
                    y += beta * C[bcast_index(m * N + j, yd, 2, a->in[2].desc.dims,
                                              a->in[2].desc.rank)];
                Y[m * N + j] = y;
            }
        qc_ref_nn_store(&a->out[0], Y);
    }
    free(A), free(B), free(C), free(Y);
    return st;
}

static qc_status ref_matmul(const qc_ref_args *a) {
    const qc_node *n = a->node;
    double *A = NULL, *B = NULL, *Y = NULL;
    qc_status st = qc_ref_nn_load(n, &a->in[0], "A", false, &A);
    if (!st) st = qc_ref_nn_load(n, &a->in[1], "B", false, &B);
    if (!st) st = qc_ref_nn_zeros(n, qc_ref_nn_numel(&a->out[0]), &Y);
    if (!st) {
        const qc_tensor_desc *ad = &a->in[0].desc, *bd = &a->in[1].desc, *yd = &a->out[0].desc;
        /* 1-D operands act as [1, K] (A) and [K, 1] (B). */
        int64_t M = ad->rank >= 2 ? ad->dims[ad->rank - 2] : 1, K = ad->dims[ad->rank - 1];
        int64_t N = bd->rank >= 2 ? bd->dims[bd->rank - 1] : 1;
        int32_t a_batch = ad->rank >= 2 ? ad->rank - 2 : 0;
        int32_t b_batch = bd->rank >= 2 ? bd->rank - 2 : 0;
        int32_t y_batch = yd->rank - (ad->rank >= 2) - (bd->rank >= 2);
        int64_t batches = prod(yd->dims, 0, y_batch);
        for (int64_t bi = 0; bi < batches; bi++) {
            const double *pa = A + bcast_index(bi, yd->dims, y_batch, ad->dims, a_batch) * M * K;
            const double *pb = B + bcast_index(bi, yd->dims, y_batch, bd->dims, b_batch) * K * N;
            double *py = Y + bi * M * N;
            for (int64_t m = 0; m < M; m++)
                for (int64_t j = 0; j < N; j++) {
                    double acc = 0.0;
                    for (int64_t k = 0; k < K; k++) acc += pa[m * K + k] * pb[k * N + j];
                    py[m * N + j] = acc;
                }
        }
        qc_ref_nn_store(&a->out[0], Y);
    }
    free(A), free(B), free(Y);
    return st;
}

/* ---- Softmax and normalizations -------------------------------------------- */

/* Softmax, LogSoftmax and Hardmax along one axis (opset 13 meaning). */
static qc_status ref_softmax(const qc_ref_args *a) {
    const qc_node *n = a->node;
    const qc_tensor_desc *xd = &a->in[0].desc;
    int64_t ax = qc_attr_int(n, "axis", -1);
    int32_t axis = (int32_t)(ax < 0 ? ax + xd->rank : ax);   /* range checked by inference */
    double *X = NULL;
    qc_status st = qc_ref_nn_load(n, &a->in[0], "input", false, &X);
    if (st) return st;
    int64_t outer = prod(xd->dims, 0, axis), len = xd->dims[axis];
    int64_t inner = prod(xd->dims, axis + 1, xd->rank);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double *p = X + o * len * inner + i;
            if (len == 0) continue;
            /* Subtract the max so exp never overflows; the result is unchanged.
             * A NaN counts as the maximum (numpy.argmax's rule, for Hardmax);
             * Softmax and LogSoftmax then give NaN throughout either way. */
            double mx = p[0], sum = 0.0;
            int64_t first_max = 0;
            for (int64_t k = 1; k < len; k++) {
                double v = p[k * inner];
                if (!isnan(mx) && (v > mx || isnan(v))) mx = v, first_max = k;
            }
            if (n->op == QC_OP_HARDMAX) {   /* 1 at the first maximum, 0 elsewhere */
                for (int64_t k = 0; k < len; k++) p[k * inner] = k == first_max;
                continue;
            }
            for (int64_t k = 0; k < len; k++) sum += exp(p[k * inner] - mx);
            for (int64_t k = 0; k < len; k++) {
                if (n->op == QC_OP_LOG_SOFTMAX) p[k * inner] = p[k * inner] - mx - log(sum);
                else p[k * inner] = exp(p[k * inner] - mx) / sum;
            }
        }
    qc_ref_nn_store(&a->out[0], X);
    free(X);
    return NULL;
}

static qc_status ref_layer_norm(const qc_ref_args *a) {
    const qc_node *n = a->node;
    const qc_tensor_desc *xd = &a->in[0].desc;
    int64_t ax = qc_attr_int(n, "axis", -1);
    int32_t axis = (int32_t)(ax < 0 ? ax + xd->rank : ax);
    double eps = qc_attr_float(n, "epsilon", 1e-5f);
    double *X = NULL, *S = NULL, *B = NULL, *mean = NULL, *inv = NULL;
    int64_t outer = prod(xd->dims, 0, axis), inner = prod(xd->dims, axis, xd->rank);
    qc_status st = qc_ref_nn_load(n, &a->in[0], "X", false, &X);
    if (!st) st = qc_ref_nn_load(n, &a->in[1], "Scale", false, &S);
    if (!st && a->n_in > 2) st = qc_ref_nn_load(n, &a->in[2], "B", false, &B);
    if (!st) st = qc_ref_nn_zeros(n, outer, &mean);
    if (!st) st = qc_ref_nn_zeros(n, outer, &inv);
    for (int64_t o = 0; !st && o < outer; o++) {
        double *row = X + o * inner, sum = 0.0, sq = 0.0;
        for (int64_t j = 0; j < inner; j++) sum += row[j];
        mean[o] = sum / (double)inner;
        for (int64_t j = 0; j < inner; j++) sq += (row[j] - mean[o]) * (row[j] - mean[o]);
        inv[o] = 1.0 / sqrt(sq / (double)inner + eps);
        for (int64_t j = 0; j < inner; j++) {
            int64_t i = o * inner + j;   /* Scale and B broadcast against all of X */
            const qc_tensor_desc *sd = &a->in[1].desc, *bd = &a->in[2].desc;
            double y = (row[j] - mean[o]) * inv[o] *
                       S[bcast_index(i, xd->dims, xd->rank, sd->dims, sd->rank)];
            if (B) y += B[bcast_index(i, xd->dims, xd->rank, bd->dims, bd->rank)];
            row[j] = y;
        }
    }
    if (!st) {
        qc_ref_nn_store(&a->out[0], X);
        if (a->n_out > 1) qc_ref_nn_store(&a->out[1], mean);
        if (a->n_out > 2) qc_ref_nn_store(&a->out[2], inv);
    }
    free(X), free(S), free(B), free(mean), free(inv);
    return st;
}

static qc_status ref_batch_norm(const qc_ref_args *a) {
    const qc_node *n = a->node;
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    double *p[5] = {NULL};
    qc_status st = NULL;
    for (int i = 0; i < 5 && !st; i++) st = qc_ref_nn_load(n, &a->in[i], names[i], false, &p[i]);
    if (!st) {
        const qc_tensor_desc *xd = &a->in[0].desc;
        double eps = qc_attr_float(n, "epsilon", 1e-5f);
        int64_t C = xd->dims[1], inner = prod(xd->dims, 2, xd->rank), outer = xd->dims[0];
        double *X = p[0];
        for (int64_t o = 0; o < outer; o++)
            for (int64_t c = 0; c < C; c++) {
                double scale = p[1][c] / sqrt(p[4][c] + eps);
                double *q = X + (o * C + c) * inner;
                for (int64_t j = 0; j < inner; j++) q[j] = (q[j] - p[3][c]) * scale + p[2][c];
            }
        qc_ref_nn_store(&a->out[0], X);
    }
    for (int i = 0; i < 5; i++) free(p[i]);
    return st;
}

/* y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c], with the mean and
 * (biased) variance of each [n, c] plane over its spatial dims. */
static qc_status ref_instance_norm(const qc_ref_args *a) {
    const qc_node *n = a->node;
    static const char *const names[3] = {"input", "scale", "B"};
    double *p[3] = {NULL};
    qc_status st = NULL;
    for (int i = 0; i < 3 && !st; i++) st = qc_ref_nn_load(n, &a->in[i], names[i], false, &p[i]);
    if (!st) {
        const qc_tensor_desc *xd = &a->in[0].desc;
        double eps = qc_attr_float(n, "epsilon", 1e-5f);
        int64_t C = xd->dims[1], inner = prod(xd->dims, 2, xd->rank), planes = xd->dims[0] * C;
        for (int64_t pl = 0; pl < planes; pl++) {
            double *q = p[0] + pl * inner, sum = 0.0, sq = 0.0;
            int64_t c = pl % C;
            for (int64_t j = 0; j < inner; j++) sum += q[j];
            double mean = sum / (double)inner;
            for (int64_t j = 0; j < inner; j++) sq += (q[j] - mean) * (q[j] - mean);
            double inv = 1.0 / sqrt(sq / (double)inner + eps);
            for (int64_t j = 0; j < inner; j++) q[j] = (q[j] - mean) * inv * p[1][c] + p[2][c];
        }
        qc_ref_nn_store(&a->out[0], p[0]);
    }
    for (int i = 0; i < 3; i++) free(p[i]);
    return st;
}

/* ---- dispatch --------------------------------------------------------------- */

qc_status qc_ref_nn(const qc_ref_args *a, bool *handled) {
    *handled = true;
    switch (a->node->op) {
    case QC_OP_GEMM: return ref_gemm(a);
    case QC_OP_MATMUL: return ref_matmul(a);
    case QC_OP_CONV: return qc_ref_conv(a);
    case QC_OP_CONV_TRANSPOSE: return qc_ref_conv_transpose(a);
    case QC_OP_SOFTMAX:
    case QC_OP_LOG_SOFTMAX:
    case QC_OP_HARDMAX: return ref_softmax(a);
    case QC_OP_LAYER_NORM: return ref_layer_norm(a);
    case QC_OP_BATCH_NORM: return ref_batch_norm(a);
    case QC_OP_MAX_POOL:
    case QC_OP_AVERAGE_POOL: return qc_ref_pool(a);
    case QC_OP_GLOBAL_AVERAGE_POOL: return qc_ref_global_average_pool(a);
    case QC_OP_GLOBAL_MAX_POOL: return qc_ref_global_max_pool(a);
    case QC_OP_REDUCE_MEAN: case QC_OP_REDUCE_SUM: case QC_OP_REDUCE_MAX:
    case QC_OP_REDUCE_MIN: case QC_OP_REDUCE_PROD: case QC_OP_REDUCE_L1: case QC_OP_REDUCE_L2:
    case QC_OP_REDUCE_SUM_SQUARE: case QC_OP_REDUCE_LOG_SUM: case QC_OP_REDUCE_LOG_SUM_EXP:
    case QC_OP_ARGMAX: case QC_OP_ARGMIN: return qc_ref_reduce(a);
    case QC_OP_INSTANCE_NORM: return ref_instance_norm(a);
    default: *handled = false; return NULL;
    }
}
