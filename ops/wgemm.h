/* wgemm.h — the attributes of qc.WGemm (ops.def), read once for type
 * inference (ops/infer_fused.c), the ref kernel (backends/ref/fused.c) and
 * the cpu generator (backends/cpu/gen_wgemm.c). Header-only. */
#ifndef QC_OPS_WGEMM_H
#define QC_OPS_WGEMM_H

#include <stdbool.h>
#include <string.h>

#include "ops/op.h"

typedef struct qc_wgemm_attrs {
    qc_op base;      /* Gemm, MatMul, qc.FusedGemm or qc.FusedMatMul */
    int32_t dec;     /* the first decoder input (= the base op's input count) */
    bool codebook;   /* false: DequantizeLinear(w, in[dec], in[dec + 1]?) */
} qc_wgemm_attrs;

/* False (and *why set) when n's attributes or input count do not describe a
 * qc.WGemm. */
static inline bool qc_wgemm_attrs_get(const qc_node *n, qc_wgemm_attrs *w, const char **why) {
    w->base = qc_op_from_name(qc_attr_string(n, "base", ""));
    w->dec = (int32_t)qc_attr_int(n, "w_dec", -1);
    const char *kind = qc_attr_string(n, "w_kind", "");
    w->codebook = strcmp(kind, "codebook") == 0;
    if (w->base != QC_OP_GEMM && w->base != QC_OP_MATMUL && w->base != QC_OP_FUSED_GEMM &&
        w->base != QC_OP_FUSED_MATMUL)
        return (*why = "attr 'base' is not Gemm, MatMul, qc.FusedGemm or qc.FusedMatMul"), false;
    if (!w->codebook && strcmp(kind, "dq") != 0)
        return (*why = "attr 'w_kind' is not \"dq\" or \"codebook\""), false;
    int32_t n_dec = n->n_in - w->dec;
    if (w->dec < 2 || n_dec < 1 || n_dec > (w->codebook ? 1 : 2))
        return (*why = "attr 'w_dec' leaves no 1 (codebook) or 1-2 (dq) decoder inputs"), false;
    return true;
}

#endif
