/* tensor.c — ref kernels for the 'tensor' op group (see kernels.h): routes
 * each op to its kind's file (tensor_kernels.h). */
#include "backends/ref/tensor_kernels.h"

qc_status qc_ref_tensor(const qc_ref_args *a, bool *handled) {
    *handled = true;
    switch (a->node->op) {
    case QC_OP_RELU: case QC_OP_LEAKY_RELU: case QC_OP_SIGMOID: case QC_OP_TANH:
    case QC_OP_ERF: case QC_OP_GELU: case QC_OP_CLIP: case QC_OP_SQRT: case QC_OP_EXP:
    case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: case QC_OP_POW:
        return qc_ref_elementwise(a);
    case QC_OP_CAST:
        return qc_ref_cast(a);
    case QC_OP_IDENTITY: case QC_OP_RESHAPE: case QC_OP_FLATTEN: case QC_OP_SQUEEZE:
    case QC_OP_UNSQUEEZE: case QC_OP_TRANSPOSE: case QC_OP_CONCAT: case QC_OP_SPLIT:
    case QC_OP_SLICE: case QC_OP_GATHER:
        return qc_ref_shape(a);
    default:
        *handled = false;
        return NULL;
    }
}
