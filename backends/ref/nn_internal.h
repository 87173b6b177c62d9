/* nn_internal.h — internal to the ref 'nn' kernels (nn.c, nn_conv.c,
 * nn_pool.c): the per-file kernels and the helpers they share.
 *
 * Every kernel reads its float inputs into double arrays, computes in double
 * (accumulations included) and rounds once when storing in the output's
 * element type. That is slow but exact enough to be the oracle the fast
 * backends are compared against. */
#ifndef QC_BACKENDS_REF_NN_INTERNAL_H
#define QC_BACKENDS_REF_NN_INTERNAL_H

#include "backends/ref/kernels.h"
#include "ops/infer_nn.h"

/* Reads tensor t (input `what` of node n) into a malloc'd array of doubles.
 * Accepts f32, f16, bf16, f64, and also i8/u8 when allow_int8; anything else
 * is QC_ERR_UNSUPPORTED. An absent tensor (data NULL) gives *out = NULL. */
qc_status qc_ref_nn_load(const qc_node *n, const qc_tensor *t, const char *what, bool allow_int8,
                         double **out);
/* Writes v[0..numel) into t, rounding once to t's element type. */
void qc_ref_nn_store(qc_tensor *t, const double *v);
/* Element count of t (kernels only see concrete shapes). */
int64_t qc_ref_nn_numel(const qc_tensor *t);
/* Allocates count zeroed doubles, or fails naming the node. */
qc_status qc_ref_nn_zeros(const qc_node *n, int64_t count, double **out);

/* A window with its spatial dims padded to three: leading dims of size 1,
 * kernel 1, stride 1, no padding. Flat indices are unchanged, so one 3-D
 * loop nest serves 1-D, 2-D and 3-D ops. */
typedef struct qc_ref_geom3 {
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];   /* pb/pe: pads */
    int64_t in_vol, k_vol, out_vol;   /* products of in, k, out */
} qc_ref_geom3;

/* Resolves node n's window for input x (and weight w, or NULL) into g. */
qc_status qc_ref_nn_geom3(const qc_node *n, const qc_tensor *x, const qc_tensor *w,
                          qc_ref_geom3 *g);

qc_status qc_ref_conv(const qc_ref_args *a);             /* nn_conv.c */
qc_status qc_ref_conv_transpose(const qc_ref_args *a);   /* nn_conv.c */
qc_status qc_ref_pool(const qc_ref_args *a);             /* nn_pool.c: MaxPool, AveragePool */
qc_status qc_ref_global_average_pool(const qc_ref_args *a);   /* nn_pool.c */
qc_status qc_ref_global_max_pool(const qc_ref_args *a);       /* nn_pool.c */
/* Reduce* (floats and integers), ArgMax, ArgMin (reduce.c). */
qc_status qc_ref_reduce(const qc_ref_args *a);

#endif
