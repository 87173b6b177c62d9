/* jit.c — serialize a graph to a .qcm image in memory and hand it to the
 * runtime. The image goes through the very loader a file would, so the JIT
 * path and the AOT path (qcomp compile + qc_model_load_file) run the same
 * validated bytes: there is no second, trusting route into the runtime. */
#include <stdlib.h>

#include "compiler/artifact_write.h"
#include "ir/ir.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "qcomp/qcomp.h"

/* The one compile pipeline: `qcomp compile` (AOT) and the JIT both call
 * this, so both produce the same graph. */
qc_status qc_compile_optimize(qc_graph *g) {
    if (!g) return qc_error(QC_ERR_INVALID, "qc_compile_optimize: graph is NULL");
    qc_status st = qc_pass_run_pipeline(g, "const_fold,dce,qdq_fold,fuse,dce,verify");
    return st ? qc_status_wrap(st, "qc_compile_optimize") : NULL;
}

qc_status qc_compile_to_memory(const qc_graph *g, void **buf, size_t *len) {
    if (!buf || !len) return qc_error(QC_ERR_INVALID, "qc_compile_to_memory: buf or len is NULL");
    *buf = NULL;
    *len = 0;
    if (!g) return qc_error(QC_ERR_INVALID, "qc_compile_to_memory: graph is NULL");
    qc_status st = qc_graph_verify(g);
    if (st) return qc_status_wrap(st, "qc_compile_to_memory: graph '%s'", g->name);
    qc_plan plan = {0};
    st = qc_memplan(g, &plan);
    if (st) return qc_status_wrap(st, "qc_compile_to_memory: planning memory of '%s'", g->name);
    uint8_t *img = NULL;
    st = qc_artifact_write_mem(g, &plan, &img, len);
    qc_plan_free(&plan);
    if (st) return qc_status_wrap(st, "qc_compile_to_memory: writing '%s'", g->name);
    *buf = img;
    return NULL;
}

qc_status qc_compile_jit(qc_runtime *rt, const qc_graph *g, qc_model **out) {
    if (!out) return qc_error(QC_ERR_INVALID, "qc_compile_jit: out is NULL");
    *out = NULL;
    if (!rt) return qc_error(QC_ERR_INVALID, "qc_compile_jit: runtime is NULL");
    void *img = NULL;
    size_t len = 0;
    qc_status st = qc_compile_to_memory(g, &img, &len);
    if (st) return st;
    st = qc_model_load_memory(rt, img, len, QC_LOAD_COPY, out);
    free(img);
    return st ? qc_status_wrap(st, "qc_compile_jit: loading the compiled '%s'", g->name) : NULL;
}
