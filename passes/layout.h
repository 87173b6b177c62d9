/* layout.h — per-backend weight pre-packing at compile time.
 *
 * Each target may register a hook that rewrites constant weight inputs into
 * the memory layout its kernels want (blocked GEMM panels, NHWC/OHWI conv
 * filters, int8 weights with precomputed column sums for zero-point
 * correction, ...). The hook runs once per node, after fusion and before
 * memory planning; it may only replace CONSTANT inputs of that node with new
 * constants (qc_graph_add_const) and record the layout in node attributes
 * (e.g. "w_layout"="OHWI8o"), so the graph stays verifiable and the ref
 * interpreter can still run the original layout where the hook is identity.
 *
 *   ref     identity (the ref kernels read the ONNX layouts): no hook.
 *   cpu     intended: pack Gemm/MatMul B into K-major panels of the SIMD
 *           width, conv filters to OHWI with output-channel blocking, and
 *           precompute per-column sum(w) for qc.QGemm/qc.QConv zero points.
 *   cuda    intended: pad K to a multiple of 16/32 for tensor-core MMA and
 *           interleave int8 weights for the IMMA fragment layout.
 *   vulkan  intended: vec4-packed filters (OIHW4o) for shader loads.
 * Backends other than ref add their entry to the table in layout.c. */
#ifndef QC_PASSES_LAYOUT_H
#define QC_PASSES_LAYOUT_H

#include "ir/ir.h"

typedef struct qc_layout_hook {
    const char *target;   /* backend name: "ref", "cpu", "cuda", "vulkan" */
    /* Repacks node `node`'s constant inputs; NULL = identity. */
    qc_status (*pack_node)(qc_graph *g, int32_t node);
} qc_layout_hook;

/* The hook for a target, or NULL if the target is unknown. */
const qc_layout_hook *qc_layout_find(const char *target);

/* Runs target's hook over every node. Unknown target: QC_ERR_NOT_FOUND. */
qc_status qc_layout_run(qc_graph *g, const char *target);

#endif
