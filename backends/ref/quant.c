/* quant.c — ref kernels for the 'quant' op group (see kernels.h). Not yet written. */
#include "backends/ref/kernels.h"

qc_status qc_ref_quant(const qc_ref_args *a, bool *handled) {
    (void)a;
    *handled = false;
    return NULL;
}
