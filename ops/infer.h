/* infer.h — internal: the per-group type inference entry points and the
 * small helpers they share. qc_infer_node (ir/infer.c) asks each group in
 * turn; a group sets *handled for the ops it owns. */
#ifndef QC_IR_INFER_H
#define QC_IR_INFER_H

#include "ops/op.h"

/* Gemm, MatMul, Conv, ConvTranspose, Softmax, LayerNormalization,
 * BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, ReduceMean,
 * ReduceSum (ir/infer_nn.c). */
qc_status qc_infer_nn(qc_infer_ctx *ctx, bool *handled);
/* Unary/binary elementwise, Identity, Cast and shape/data-movement ops
 * (ir/infer_tensor.c). */
qc_status qc_infer_tensor(qc_infer_ctx *ctx, bool *handled);
/* QuantizeLinear ... QLinearMul (ir/infer_quant.c). */
qc_status qc_infer_quant(qc_infer_ctx *ctx, bool *handled);
/* Internal ops made by passes (ops/infer_fused.c). */
qc_status qc_infer_fused(qc_infer_ctx *ctx, bool *handled);

/* Numpy-style broadcast of two shapes; QC_DIM_SYM broadcasts like an unknown
 * but consistent dim (SYM with 1 -> SYM, SYM with SYM -> SYM, SYM with k>1 is
 * an error since the batch could differ). Result dtype is a's. */
qc_status qc_infer_broadcast(const qc_infer_ctx *ctx, const qc_type *a, const qc_type *b,
                             qc_type *out);
/* Normalizes a possibly negative axis into [0, rank) (or [0, rank] when
 * allow_end), naming the node on error. */
qc_status qc_infer_axis(const qc_infer_ctx *ctx, int64_t axis, int32_t rank, bool allow_end,
                        int32_t *out);
/* Reads input i (an i64 or i32 tensor whose data must be known) into v[]
 * (at most max entries); *n gets the count. Errors name the node. */
qc_status qc_infer_read_ints(const qc_infer_ctx *ctx, int32_t i, int64_t *v, int32_t max,
                             int32_t *n);
/* True if input i is present (not an absent optional input). */
bool qc_infer_has_input(const qc_infer_ctx *ctx, int32_t i);

#endif
