/* infer_tensor.h — internal: shape plans that the 'tensor' group's type
 * inference computes and its ref kernels reuse, so the rules (negative
 * indices, clamping, ...) are written once. */
#ifndef QC_IR_INFER_TENSOR_H
#define QC_IR_INFER_TENSOR_H

#include "ir/ir.h"

/* Slice: reads starts/ends/axes/steps (inputs 1..4; their values must be
 * known) and normalizes them against input 0's shape as the ONNX spec says
 * (negative values count from the end, then clamping). For every axis k of
 * the input, start[k] is the first index read and step[k] the stride between
 * reads (0 and 1 on axes that are not sliced); *out gets the output type. */
qc_status qc_infer_slice_plan(const qc_infer_ctx *ctx, int64_t start[QC_MAX_RANK],
                              int64_t step[QC_MAX_RANK], qc_type *out);

#endif
