/* infer_nn.h — internal: sliding-window geometry shared by the type
 * inference of Conv, ConvTranspose, MaxPool and AveragePool (ir/infer_conv.c)
 * and by the ref kernels that run them (backends/ref/nn_conv.c, nn_pool.c).
 *
 * Computing the padding and output size in one place is what keeps the
 * inferred output shape and the kernel's indexing from ever disagreeing
 * (auto_pad, ceil_mode and ConvTranspose's output_shape all move pads). */
#ifndef QC_IR_INFER_NN_H
#define QC_IR_INFER_NN_H

#include "ops/infer.h"

#define QC_NN_MAX_SPATIAL 3

/* Per spatial dim (index 0 is the first dim after N and C). */
typedef struct qc_nn_window {
    int32_t nsp;                              /* number of spatial dims, 1..3 */
    int64_t in[QC_NN_MAX_SPATIAL];            /* input size */
    int64_t kernel[QC_NN_MAX_SPATIAL];
    int64_t stride[QC_NN_MAX_SPATIAL];
    int64_t dilation[QC_NN_MAX_SPATIAL];
    int64_t pad_begin[QC_NN_MAX_SPATIAL];     /* resolved: auto_pad already applied */
    int64_t pad_end[QC_NN_MAX_SPATIAL];
    int64_t out[QC_NN_MAX_SPATIAL];           /* output size */
} qc_nn_window;

/* Reads node n's window attributes (kernel_shape, strides, dilations, pads,
 * auto_pad, and per op ceil_mode / storage_order / output_padding /
 * output_shape), validates them against x (rank 3..5, N C spatial...) and,
 * for Conv and ConvTranspose, the weight w (NULL for pools), and resolves
 * pads and output sizes. Spatial dims must be concrete. Errors name the node. */
qc_status qc_nn_window_get(const qc_node *n, const qc_type *x, const qc_type *w,
                           qc_nn_window *win);

/* Inference for the window ops and GlobalAveragePool (ir/infer_conv.c);
 * called by qc_infer_nn, which owns the whole op group. */
qc_status qc_infer_nn_window_op(qc_infer_ctx *ctx, bool *handled);

/* Shared by both inference files (ir/infer_nn.c). */
/* Error unless input i is present and has a float dtype inference accepts
 * for this group (f32, f16, bf16, f64); `what` names it (e.g. "X"). */
qc_status qc_infer_nn_float(const qc_infer_ctx *ctx, int32_t i, const char *what);
/* Error unless the output type's element count fits comfortably in int64
 * (symbolic dims count as 1: they are bound, and checked, at run time). */
qc_status qc_infer_nn_size(const qc_infer_ctx *ctx, const qc_type *t);
/* Reduce*: which dims of input 0 are reduced (from the axes
 * attribute or input 1, whose data must be known), or *identity when axes
 * are empty and noop_with_empty_axes=1. Used by inference and the kernel. */
qc_status qc_infer_nn_reduce_axes(const qc_infer_ctx *ctx, bool reduce[QC_MAX_RANK],
                                  bool *identity);
/* Writes a type as text, naming the batch dim, into buf. */
const char *qc_infer_nn_fmt(const qc_infer_ctx *ctx, const qc_type *t, char *buf, size_t n);

#endif
