/* infer_tensor.c — type inference for the 'tensor' op group (see infer.h). Not yet written. */
#include "ir/infer.h"

qc_status qc_infer_tensor(qc_infer_ctx *ctx, bool *handled) {
    (void)ctx;
    *handled = false;
    return NULL;
}
