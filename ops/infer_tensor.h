/* infer_tensor.h — internal: shape plans that the 'tensor' group's type
 * inference computes and its ref kernels reuse, so the rules (negative
 * indices, clamping, ...) are written once; and the per-file entry points
 * of the group (qc_infer_tensor in infer_tensor.c checks arity first, then
 * hands these ops over). */
#ifndef QC_IR_INFER_TENSOR_H
#define QC_IR_INFER_TENSOR_H

#include "ops/op.h"

/* Slice: reads starts/ends/axes/steps (inputs 1..4; their values must be
 * known) and normalizes them against input 0's shape as the ONNX spec says
 * (negative values count from the end, then clamping). For every axis k of
 * the input, start[k] is the first index read and step[k] the stride between
 * reads (0 and 1 on axes that are not sliced); *out gets the output type. */
qc_status qc_infer_slice_plan(const qc_infer_ctx *ctx, int64_t start[QC_MAX_RANK],
                              int64_t step[QC_MAX_RANK], qc_type *out);

typedef enum qc_pad_mode { QC_PAD_CONSTANT, QC_PAD_REFLECT, QC_PAD_EDGE, QC_PAD_WRAP } qc_pad_mode;

/* Pad: reads the mode, the pads (input 1, or the `pads` attribute of opsets
 * before 11) and the optional axes (input 3), and checks the optional
 * constant value (input 2, or the `value` attribute). begin[k] / end[k] get
 * the (possibly negative: cropping) padding of every axis k of input 0;
 * *out gets the output type. */
qc_status qc_infer_pad_plan(const qc_infer_ctx *ctx, int64_t begin[QC_MAX_RANK],
                            int64_t end[QC_MAX_RANK], qc_pad_mode *mode, qc_type *out);

/* Shape's [start, end) after the opset 15 rules: negative values count from
 * the end, then both are clamped to [0, rank] (an empty range if end <= start). */
void qc_infer_shape_range(const qc_node *n, int32_t rank, int64_t *start, int64_t *end);

/* Elementwise ops added with the ONNX frontend: Neg ... IsNaN, PRelu, Mod,
 * Max/Min/Sum/Mean, comparisons, And/Or/Xor, Where (ir/infer_math.c). */
qc_status qc_infer_tensor_math(qc_infer_ctx *ctx);
/* Shape, Size, ConstantOfShape, Expand, Tile, Range, Pad, Dropout, CastLike,
 * Trilu, DepthToSpace, SpaceToDepth (ir/infer_shape_ops.c). */
qc_status qc_infer_tensor_shape_ops(qc_infer_ctx *ctx);

/* Float types the math ops accept (fp8 is storage only: Cast it first). */
bool qc_infer_is_math_float(qc_dtype t);
/* Integer types the arithmetic ops accept (ONNX has no 4-bit arithmetic). */
bool qc_infer_is_math_int(qc_dtype t);
/* "input i has type X; expected <allowed>", naming the node. */
qc_status qc_infer_bad_dtype(const qc_infer_ctx *ctx, int32_t i, const char *allowed);

#endif
