/* tensor.c — allocation of dense tensors handed across the public API. */
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "qcomp/qcrt.h"

qc_status qc_tensor_alloc(const qc_tensor_desc *desc, qc_tensor *out) {
    memset(out, 0, sizeof *out);
    if (desc->rank < 0 || desc->rank > QC_MAX_RANK)
        return qc_error(QC_ERR_INVALID, "tensor rank %d outside 0..%d", (int)desc->rank,
                        QC_MAX_RANK);
    if (qc_dtype_bits(desc->dtype) == 0)
        return qc_error(QC_ERR_INVALID, "tensor has no element type");
    int64_t n = 1;
    for (int i = 0; i < desc->rank; i++) {
        if (desc->dims[i] < 0)
            return qc_error(QC_ERR_INVALID, "tensor dim %d is %lld (unbound or negative)", i,
                            (long long)desc->dims[i]);
        if (desc->dims[i] && n > INT64_MAX / 8 / desc->dims[i])
            return qc_error(QC_ERR_INVALID, "tensor too large (dim %d overflows)", i);
        n *= desc->dims[i];
    }
    size_t bytes = qc_dtype_bytes(desc->dtype, n);
    /* 64-byte aligned like an arena slot, so a host device can read an input
     * tensor in place (qc_session_run); never NULL, even for 0 bytes. */
    size_t rounded = bytes > SIZE_MAX - 63 ? 0 : (bytes + 63) / 64 * 64;
    void *p = rounded || !bytes ? aligned_alloc(64, rounded ? rounded : 64) : NULL;
    if (!p) return qc_error(QC_ERR_NOMEM, "out of memory allocating a %zu-byte tensor", bytes);
    memset(p, 0, rounded ? rounded : 64);
    out->desc = *desc;
    out->data = p;
    return NULL;
}

void qc_tensor_release(qc_tensor *t) {
    if (!t) return;
    free(t->data);
    t->data = NULL;
}
