/* infer_quant.c — type inference for the 'quant' op group (see infer.h). Not yet written. */
#include "ir/infer.h"

qc_status qc_infer_quant(qc_infer_ctx *ctx, bool *handled) {
    (void)ctx;
    *handled = false;
    return NULL;
}
