/* nn_pool.c — ref kernels for MaxPool (with optional Indices), AveragePool,
 * GlobalAveragePool and GlobalMaxPool.
 *
 * Window geometry (auto_pad, ceil_mode, dilations) comes resolved from
 * qc_nn_window_get. Padding never contributes a value: MaxPool ignores it;
 * AveragePool counts it in the divisor only with count_include_pad=1, and
 * then only the explicit pads, not the extra tail a ceil_mode window may
 * overhang (PyTorch's and onnxruntime's rule). */
#include <math.h>
#include <stdlib.h>

#include "backends/ref/nn_internal.h"
#include "ir/dtype.h"

/* The smallest value of the output type: what an (only theoretically
 * possible) window made entirely of padding yields. */
static double lowest(qc_dtype t) {
    if (t == QC_I8) return -128.0;
    if (t == QC_U8) return 0.0;
    return -INFINITY;
}

/* Position along one dim for output o and kernel tap k, or -1 if padding. */
static int64_t pool_src(const qc_ref_geom3 *g, int dim, int64_t o, int64_t k) {
    int64_t i = o * g->s[dim] - g->pb[dim] + k * g->d[dim];
    return i >= 0 && i < g->in[dim] ? i : -1;
}

/* Whether tap k of output o lies within [-pad_begin, in + pad_end). */
static bool in_padded(const qc_ref_geom3 *g, int dim, int64_t o, int64_t k) {
    int64_t i = o * g->s[dim] - g->pb[dim] + k * g->d[dim];
    return i >= -g->pb[dim] && i < g->in[dim] + g->pe[dim];
}

qc_status qc_ref_pool(const qc_ref_args *a) {
    const qc_node *n = a->node;
    const qc_tensor *x = &a->in[0];
    bool is_max = n->op == QC_OP_MAX_POOL;
    qc_ref_geom3 g;
    qc_status st = qc_ref_nn_geom3(n, x, NULL, &g);
    if (st) return st;
    bool include_pad = qc_attr_int(n, "count_include_pad", 0) != 0;

    double *X = NULL, *Y = NULL;
    st = qc_ref_nn_load(n, x, "X", is_max, &X);
    if (!st) st = qc_ref_nn_zeros(n, qc_ref_nn_numel(&a->out[0]), &Y);
    if (st) goto done;
    int64_t planes = x->desc.dims[0] * x->desc.dims[1];   /* N * C */
    int64_t *idx_out = is_max && a->n_out > 1 ? (int64_t *)a->out[1].data : NULL;
    for (int64_t p = 0; p < planes; p++) {
        const double *xp = X + p * g.in_vol;
        for (int64_t o0 = 0; o0 < g.out[0]; o0++)
            for (int64_t o1 = 0; o1 < g.out[1]; o1++)
                for (int64_t o2 = 0; o2 < g.out[2]; o2++) {
                    double best = lowest(x->desc.dtype), sum = 0.0;
                    int64_t best_at = -1, count = 0, padded_count = 0;
                    for (int64_t k0 = 0; k0 < g.k[0]; k0++)
                        for (int64_t k1 = 0; k1 < g.k[1]; k1++)
                            for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
                                if (in_padded(&g, 0, o0, k0) && in_padded(&g, 1, o1, k1) &&
                                    in_padded(&g, 2, o2, k2))
                                    padded_count++;
                                int64_t i0 = pool_src(&g, 0, o0, k0), i1 = pool_src(&g, 1, o1, k1);
                                int64_t i2 = pool_src(&g, 2, o2, k2);
                                if (i0 < 0 || i1 < 0 || i2 < 0) continue;
                                int64_t at = (i0 * g.in[1] + i1) * g.in[2] + i2;
                                /* Strict '>' keeps the first maximum, in row-major tap order. */
                                if (best_at < 0 || xp[at] > best) {
                                    best = xp[at];
                                    best_at = at;
                                }
                                sum += xp[at];
                                count++;
                            }
                    int64_t yi = p * g.out_vol + (o0 * g.out[1] + o1) * g.out[2] + o2;
                    if (is_max) {
                        Y[yi] = best;
                        if (idx_out) idx_out[yi] = best_at < 0 ? -1 : p * g.in_vol + best_at;
                    } else {
                        Y[yi] = sum / (double)(include_pad ? padded_count : count);
                    }
                }
    }
    qc_ref_nn_store(&a->out[0], Y);
done:
    free(X), free(Y);
    return st;
}

/* GlobalAveragePool and GlobalMaxPool: one value per [n, c] plane. */
static qc_status global_pool(const qc_ref_args *a, bool is_max) {
    const qc_node *n = a->node;
    const qc_tensor *x = &a->in[0];
    double *X = NULL, *Y = NULL;
    int64_t planes = x->desc.dims[0] * x->desc.dims[1], inner = 1;
    for (int32_t i = 2; i < x->desc.rank; i++) inner *= x->desc.dims[i];
    qc_status st = qc_ref_nn_load(n, x, "X", false, &X);
    if (!st) st = qc_ref_nn_zeros(n, planes, &Y);
    for (int64_t p = 0; !st && p < planes; p++) {
        double sum = 0.0, mx = -INFINITY;   /* an empty plane: 0/0 = NaN, or -inf */
        for (int64_t j = 0; j < inner; j++) {
            double v = X[p * inner + j];
            sum += v;
            mx = isnan(v) || isnan(mx) ? NAN : fmax(mx, v);
        }
        Y[p] = is_max ? mx : sum / (double)inner;
    }
    if (!st) qc_ref_nn_store(&a->out[0], Y);
    free(X), free(Y);
    return st;
}

qc_status qc_ref_global_average_pool(const qc_ref_args *a) { return global_pool(a, false); }
qc_status qc_ref_global_max_pool(const qc_ref_args *a) { return global_pool(a, true); }
