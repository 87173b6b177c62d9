/* nn.c — ref kernels for the 'nn' op group (see kernels.h). Not yet written. */
#include "backends/ref/kernels.h"

qc_status qc_ref_nn(const qc_ref_args *a, bool *handled) {
    (void)a;
    *handled = false;
    return NULL;
}
