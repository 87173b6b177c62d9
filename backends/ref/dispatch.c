/* dispatch.c — the one list of ref kernel groups, in order. The graph
 * interpreter (interp.c), the runtime's ref device (hal.c) and fused
 * programs (fused_prog.c) all dispatch through here, so a group added once
 * is seen by all three. */
#include "backends/ref/kernels.h"

qc_status qc_ref_run_kernel(const qc_ref_args *a) {
    qc_status (*const groups[])(const qc_ref_args *, bool *) = {qc_ref_nn, qc_ref_tensor,
                                                                qc_ref_quant, qc_ref_fused};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        bool handled = false;
        qc_status st = groups[i](a, &handled);
        if (st || handled) return st;
    }
    return qc_node_error(a->node, QC_ERR_UNSUPPORTED, "the ref backend has no kernel for this op");
}
