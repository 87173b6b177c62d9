/* static_model.c — qc_model_load_static: a model whose image and cpu kernels
 * were linked into the program (`qcomp compile --emit-object`). The kernels
 * are found by name in the object's table, through the same code-provider
 * hook the JIT uses, so the cpu device resolves them exactly as it resolves
 * a JIT's or a shared object's symbols. */
#include <string.h>

#include "qcomp/qcrt.h"
#include "runtime/model.h"

static void *static_lookup(void *ctx, const char *symbol) {
    const qc_static_model *sm = ctx;
    for (uint64_t i = 0; i < sm->n_kernels; i++)
        if (sm->kernels[i].symbol && !strcmp(sm->kernels[i].symbol, symbol))
            return sm->kernels[i].fn;
    return NULL;
}

qc_status qc_model_load_static(qc_runtime *rt, const qc_static_model *sm, qc_model **out) {
    if (out) *out = NULL;
    if (!sm) return qc_error(QC_ERR_INVALID, "qc_model_load_static: model is NULL");
    if (sm->abi != QC_STATIC_MODEL_ABI)
        return qc_error(QC_ERR_INVALID,
                        "qc_model_load_static: object ABI %u, this runtime reads %u (recompile "
                        "the model with this qcomp)", sm->abi, QC_STATIC_MODEL_ABI);
    if (!sm->image || !sm->image_len || (sm->n_kernels && !sm->kernels))
        return qc_error(QC_ERR_INVALID, "qc_model_load_static: empty image or kernel table");
    qc_code_provider code = {sm->target, (void *)(uintptr_t)sm, static_lookup, NULL};
    qc_status st = qc_model_load_memory_code(rt, sm->image, (size_t)sm->image_len,
                                             QC_LOAD_BORROW, &code, out);
    return st ? qc_status_wrap(st, "qc_model_load_static") : NULL;
}
