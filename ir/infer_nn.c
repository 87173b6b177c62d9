/* infer_nn.c — type inference for the 'nn' op group (see infer.h). Not yet written. */
#include "ir/infer.h"

qc_status qc_infer_nn(qc_infer_ctx *ctx, bool *handled) {
    (void)ctx;
    *handled = false;
    return NULL;
}
