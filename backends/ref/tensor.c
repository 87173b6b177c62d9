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
    case QC_OP_CAST: case QC_OP_CAST_LIKE:
        return qc_ref_cast(a);
    case QC_OP_NEG: case QC_OP_ABS: case QC_OP_FLOOR: case QC_OP_CEIL: case QC_OP_ROUND:
    case QC_OP_RECIPROCAL: case QC_OP_LOG: case QC_OP_SIGN: case QC_OP_SIN: case QC_OP_COS:
    case QC_OP_SOFTPLUS: case QC_OP_SOFTSIGN: case QC_OP_HARD_SIGMOID: case QC_OP_HARD_SWISH:
    case QC_OP_ELU: case QC_OP_SELU: case QC_OP_CELU: case QC_OP_THRESHOLDED_RELU:
    case QC_OP_PRELU: case QC_OP_NOT: case QC_OP_ISNAN:
        return qc_ref_unary_math(a);
    case QC_OP_MOD: case QC_OP_MAX: case QC_OP_MIN: case QC_OP_SUM: case QC_OP_MEAN:
    case QC_OP_EQUAL: case QC_OP_LESS: case QC_OP_LESS_OR_EQUAL: case QC_OP_GREATER:
    case QC_OP_GREATER_OR_EQUAL: case QC_OP_AND: case QC_OP_OR: case QC_OP_XOR:
    case QC_OP_WHERE:
        return qc_ref_compare(a);
    case QC_OP_PAD: case QC_OP_TILE: case QC_OP_EXPAND: case QC_OP_TRILU:
    case QC_OP_DEPTH_TO_SPACE: case QC_OP_SPACE_TO_DEPTH:
        return qc_ref_pad(a);
    case QC_OP_SHAPE: case QC_OP_SIZE: case QC_OP_CONSTANT_OF_SHAPE: case QC_OP_RANGE:
    case QC_OP_DROPOUT:
        return qc_ref_shape(a);
    case QC_OP_IDENTITY: case QC_OP_RESHAPE: case QC_OP_FLATTEN: case QC_OP_SQUEEZE:
    case QC_OP_UNSQUEEZE: case QC_OP_TRANSPOSE: case QC_OP_CONCAT: case QC_OP_SPLIT:
    case QC_OP_SLICE: case QC_OP_GATHER:
        return qc_ref_shape(a);
    default:
        *handled = false;
        return NULL;
    }
}
