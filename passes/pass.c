/* pass.c — the pass registry and pipeline runner. */
#include <string.h>

#include "passes/pass.h"

static qc_status pass_verify(qc_graph *g) { return qc_graph_verify(g); }

static const qc_pass qc_passes[] = {
    {"verify", "check structure and types (no change)", pass_verify},
    {"const_fold", "evaluate nodes whose inputs are all constant (incl. shape subgraphs)",
     qc_pass_const_fold},
    {"const_fold_dq", "const_fold, also DequantizeLinear of constants (after qdq_fold: float layers' weights)",
     qc_pass_const_fold_dq},
    {"wgemm_fold", "weight-only Gemm/MatMul (DequantizeLinear or codebook Gather of a constant weight) into qc.WGemm",
     qc_pass_wgemm_fold},
    {"dce", "remove nodes and values that no graph output depends on", qc_pass_dce},
    {"qdq_fold", "fold DequantizeLinear->op->QuantizeLinear chains and QLinear* into integer ops",
     qc_pass_qdq_fold},
    {"fuse", "fold BatchNorm into Conv; fuse op + epilogue and elementwise chains", qc_pass_fuse},
    {"layout", "pre-pack constant weights for the target (ref: identity)", qc_pass_layout},
    {"memplan", "plan the activation arena and validate the plan (no change)", qc_pass_memplan},
    {NULL, NULL, NULL},
};

const qc_pass *qc_pass_list(void) { return qc_passes; }

const qc_pass *qc_pass_find(const char *name) {
    for (const qc_pass *p = qc_passes; p->name; p++)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

qc_status qc_pass_run_pipeline(qc_graph *g, const char *pipeline) {
    const char *at = pipeline;
    while (*at) {
        size_t len = strcspn(at, ",");
        char name[64];
        if (len == 0 || len >= sizeof name)
            return qc_error(QC_ERR_INVALID, "pass pipeline '%s': empty or overlong pass name",
                            pipeline);
        memcpy(name, at, len);
        name[len] = 0;
        const qc_pass *p = qc_pass_find(name);
        if (!p) return qc_error(QC_ERR_NOT_FOUND, "pass pipeline '%s': unknown pass '%s'", pipeline, name);
        qc_status st = p->run(g);
        if (st) return qc_status_wrap(st, "pass '%s'", name);
        at += len + (at[len] == ',');
    }
    return NULL;
}
