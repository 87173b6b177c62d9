/* nn_conv.c — ref kernels for Conv and ConvTranspose (ONNX semantics, 1-3
 * spatial dims, groups, dilations, resolved padding from qc_nn_window_get).
 *
 * Both run one 3-D loop nest (qc_ref_geom3 pads lower ranks with unit dims).
 * Conv gathers: each output element sums its window. ConvTranspose scatters:
 * each input element adds its kernel-weighted copy into the output, which is
 * the literal definition of the transposed convolution. */
#include <stdlib.h>

#include "backends/ref/nn_internal.h"

/* Offset of spatial position (i0, i1, i2) in a [d0, d1, d2] volume. */
static int64_t at3(const int64_t *dims, int64_t i0, int64_t i1, int64_t i2) {
    return (i0 * dims[1] + i1) * dims[2] + i2;
}

/* Input position along one dim for output o and kernel tap k, or -1 when
 * it falls in the padding. */
static int64_t conv_src(const qc_ref_geom3 *g, int dim, int64_t o, int64_t k) {
    int64_t i = o * g->s[dim] - g->pb[dim] + k * g->d[dim];
    return i >= 0 && i < g->in[dim] ? i : -1;
}

qc_status qc_ref_conv(const qc_ref_args *a) {
    const qc_node *n = a->node;
    const qc_tensor *x = &a->in[0], *w = &a->in[1];
    qc_ref_geom3 g;
    qc_status st = qc_ref_nn_geom3(n, x, w, &g);
    if (st) return st;
    double *X = NULL, *W = NULL, *B = NULL, *Y = NULL;
    st = qc_ref_nn_load(n, x, "X", false, &X);
    if (!st) st = qc_ref_nn_load(n, w, "W", false, &W);
    if (!st && a->n_in > 2) st = qc_ref_nn_load(n, &a->in[2], "B", false, &B);
    if (!st) st = qc_ref_nn_zeros(n, qc_ref_nn_numel(&a->out[0]), &Y);
    if (st) goto done;

    int64_t N = x->desc.dims[0], C = x->desc.dims[1], M = w->desc.dims[0], Cg = w->desc.dims[1];
    int64_t Mg = M / qc_attr_int(n, "group", 1);   /* output channels per group */
    for (int64_t b = 0; b < N; b++)
        for (int64_t m = 0; m < M; m++) {
            int64_t first_c = (m / Mg) * Cg;   /* this group's first input channel */
            double *y = Y + (b * M + m) * g.out_vol;
            for (int64_t o0 = 0; o0 < g.out[0]; o0++)
                for (int64_t o1 = 0; o1 < g.out[1]; o1++)
                    for (int64_t o2 = 0; o2 < g.out[2]; o2++) {
                        double acc = 0.0;
                        for (int64_t c = 0; c < Cg; c++) {
                            const double *xc = X + (b * C + first_c + c) * g.in_vol;
                            const double *wc = W + (m * Cg + c) * g.k_vol;
                            for (int64_t k0 = 0; k0 < g.k[0]; k0++) {
                                int64_t i0 = conv_src(&g, 0, o0, k0);
                                if (i0 < 0) continue;
                                for (int64_t k1 = 0; k1 < g.k[1]; k1++) {
                                    int64_t i1 = conv_src(&g, 1, o1, k1);
                                    if (i1 < 0) continue;
                                    for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
                                        int64_t i2 = conv_src(&g, 2, o2, k2);
                                        if (i2 < 0) continue;
                                        acc += xc[at3(g.in, i0, i1, i2)] * wc[at3(g.k, k0, k1, k2)];
                                    }
                                }
                            }
                        }
                        y[at3(g.out, o0, o1, o2)] = acc + (B ? B[m] : 0.0);
                    }
        }
    qc_ref_nn_store(&a->out[0], Y);
done:
    free(X), free(W), free(B), free(Y);
    return st;
}

/* Output position along one dim for input i and kernel tap k, or -1 when it
 * falls outside the (padding-cropped) output. */
static int64_t transpose_dst(const qc_ref_geom3 *g, int dim, int64_t i, int64_t k) {
    int64_t o = i * g->s[dim] - g->pb[dim] + k * g->d[dim];
    return o >= 0 && o < g->out[dim] ? o : -1;
}

qc_status qc_ref_conv_transpose(const qc_ref_args *a) {
    const qc_node *n = a->node;
    const qc_tensor *x = &a->in[0], *w = &a->in[1];
    qc_ref_geom3 g;
    qc_status st = qc_ref_nn_geom3(n, x, w, &g);
    if (st) return st;
    double *X = NULL, *W = NULL, *B = NULL, *Y = NULL;
    st = qc_ref_nn_load(n, x, "X", false, &X);
    if (!st) st = qc_ref_nn_load(n, w, "W", false, &W);
    if (!st && a->n_in > 2) st = qc_ref_nn_load(n, &a->in[2], "B", false, &B);
    if (!st) st = qc_ref_nn_zeros(n, qc_ref_nn_numel(&a->out[0]), &Y);
    if (st) goto done;

    /* W is [C, M/group, k...]: input channel c feeds its group's outputs. */
    int64_t N = x->desc.dims[0], C = x->desc.dims[1], Mg = w->desc.dims[1];
    int64_t group = qc_attr_int(n, "group", 1), M = Mg * group, Cg = C / group;
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++) {
            const double *xc = X + (b * C + c) * g.in_vol;
            for (int64_t mg = 0; mg < Mg; mg++) {
                int64_t m = (c / Cg) * Mg + mg;
                double *y = Y + (b * M + m) * g.out_vol;
                const double *wc = W + (c * Mg + mg) * g.k_vol;
                for (int64_t i0 = 0; i0 < g.in[0]; i0++)
                    for (int64_t i1 = 0; i1 < g.in[1]; i1++)
                        for (int64_t i2 = 0; i2 < g.in[2]; i2++) {
                            double v = xc[at3(g.in, i0, i1, i2)];
                            for (int64_t k0 = 0; k0 < g.k[0]; k0++) {
                                int64_t o0 = transpose_dst(&g, 0, i0, k0);
                                if (o0 < 0) continue;
                                for (int64_t k1 = 0; k1 < g.k[1]; k1++) {
                                    int64_t o1 = transpose_dst(&g, 1, i1, k1);
                                    if (o1 < 0) continue;
                                    for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
                                        int64_t o2 = transpose_dst(&g, 2, i2, k2);
                                        if (o2 < 0) continue;
                                        y[at3(g.out, o0, o1, o2)] += v * wc[at3(g.k, k0, k1, k2)];
                                    }
                                }
                            }
                        }
            }
        }
    if (B)
        for (int64_t b = 0; b < N; b++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t j = 0; j < g.out_vol; j++) Y[(b * M + m) * g.out_vol + j] += B[m];
    qc_ref_nn_store(&a->out[0], Y);
done:
    free(X), free(W), free(B), free(Y);
    return st;
}
