/* kernels.h — internal: the ref interpreter's kernel groups.
 *
 * The interpreter allocates every output (its type comes from qc_infer_node
 * run on the concrete input types and data), then asks each group in turn; a
 * group sets *handled for the ops it owns and computes out[] from in[]. An
 * absent optional input has data == NULL and dtype QC_DT_UNDEF. Kernels
 * report bad attributes or unsupported dtypes with qc_node_error. */
#ifndef QC_BACKENDS_REF_KERNELS_H
#define QC_BACKENDS_REF_KERNELS_H

#include "ops/op.h"

typedef struct qc_ref_args {
    const qc_node *node;
    int32_t n_in;
    const qc_tensor *in;
    int32_t n_out;
    qc_tensor *out;       /* allocated (zeroed) with the inferred types */
} qc_ref_args;

/* Same op split as ir/infer.h. */
qc_status qc_ref_nn(const qc_ref_args *a, bool *handled);       /* backends/ref/nn.c */
qc_status qc_ref_tensor(const qc_ref_args *a, bool *handled);   /* backends/ref/tensor.c */
qc_status qc_ref_quant(const qc_ref_args *a, bool *handled);    /* backends/ref/quant.c */
/* Internal ops made by passes (qc.QGemm, qc.QConv, ...). */
qc_status qc_ref_fused(const qc_ref_args *a, bool *handled);    /* backends/ref/fused.c */
qc_status qc_ref_fused_prog(const qc_ref_args *a, bool *handled);   /* fused_prog.c */

/* Runs node a->node with the first group that owns its op (dispatch.c);
 * QC_ERR_UNSUPPORTED naming the node if none does. */
qc_status qc_ref_run_kernel(const qc_ref_args *a);

#endif
