/* jit.c — serialize a graph to a .qcm image in memory and hand it to the
 * runtime. The image goes through the very loader a file would, so the JIT
 * path and the AOT path (qcomp compile + qc_model_load_file) run the same
 * validated bytes: there is no second, trusting route into the runtime. */
#include <stdlib.h>

#include "compiler/artifact_write.h"
#include "compiler/target.h"
#include "ir/ir.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "qcomp/qcomp.h"

/* The one compile pipeline: `qcomp compile` (AOT) and the JIT both call
 * this, so both produce the same graph. */
qc_status qc_compile_optimize(qc_graph *g) {
    if (!g) return qc_error(QC_ERR_INVALID, "qc_compile_optimize: graph is NULL");
    qc_status st = qc_pass_run_pipeline(g, "const_fold,dce,qdq_fold,const_fold_dq,fuse,wgemm_fold,dce,verify");
    return st ? qc_status_wrap(st, "qc_compile_optimize") : NULL;
}

void qc_compile_options_init(qc_compile_options *o) {
    if (o) *o = (qc_compile_options){0};
}

/* Runs every requested target's lowering over g and plan. */
static qc_status lower_targets(const qc_graph *g, const qc_plan *plan,
                               const qc_compile_options *o, uint32_t targets,
                               qc_code_sections *code) {
    for (int32_t i = 0; i < qc_target_lowering_count(); i++) {
        if (!(targets & (1u << qc_target_lowering_target(i)))) continue;
        const qc_target_lowering *l = NULL;
        qc_status st = qc_target_lowering_get(i, &l);
        if (st) return st;
        st = l->lower(g, plan, o, code);
        if (st) return qc_status_wrap(st, "lowering '%s' to %s", g->name, l->name);
    }
    return NULL;
}

/* The image, and with jit the in-process code a lowering kept (moved to
 * *kept; the caller owns it). */
static qc_status compile_image(const qc_graph *g, const qc_compile_options *opts, bool jit,
                               void **buf, size_t *len, qc_code_provider *kept) {
    if (!buf || !len) return qc_error(QC_ERR_INVALID, "qc_compile_to_memory: buf or len is NULL");
    *buf = NULL;
    *len = 0;
    *kept = (qc_code_provider){0};
    if (!g) return qc_error(QC_ERR_INVALID, "qc_compile_to_memory: graph is NULL");
    qc_compile_options none = {0};
    const qc_compile_options *o = opts ? opts : &none;
    uint32_t targets = 0;
    qc_status st = qc_target_list_parse(o->targets, &targets);
    if (st) return qc_status_wrap(st, "qc_compile_to_memory");
    st = qc_graph_verify(g);
    if (st) return qc_status_wrap(st, "qc_compile_to_memory: graph '%s'", g->name);
    qc_plan plan = {0};
    /* the cpu device runs row-local runs blocked: their buffers must not share slots */
    bool cpu = targets & (1u << QC_TARGET_CPU);
    st = qc_memplan_flags(g, cpu ? QC_PLAN_ROW_CHAINS : 0, &plan);
    if (st) return qc_status_wrap(st, "qc_compile_to_memory: planning memory of '%s'", g->name);
    qc_code_sections code = {.jit = jit};
    st = lower_targets(g, &plan, o, targets, &code);
    uint8_t *img = NULL;
    if (!st) {
        st = qc_artifact_write_mem_ex(g, &plan, targets, &code, &img, len);
        if (st) st = qc_status_wrap(st, "qc_compile_to_memory: writing '%s'", g->name);
    }
    if (!st) {
        *kept = code.code;
        code.code = (qc_code_provider){0};
    }
    qc_code_sections_free(&code);
    qc_plan_free(&plan);
    if (st) return st;
    *buf = img;
    return NULL;
}

qc_status qc_compile_to_memory_opts(const qc_graph *g, const qc_compile_options *opts,
                                    void **buf, size_t *len) {
    qc_code_provider none;
    return compile_image(g, opts, false, buf, len, &none);
}

qc_status qc_compile_to_memory(const qc_graph *g, void **buf, size_t *len) {
    return qc_compile_to_memory_opts(g, NULL, buf, len);
}

qc_status qc_compile_to_file(const qc_graph *g, const qc_compile_options *opts,
                             const char *path) {
    if (!path) return qc_error(QC_ERR_INVALID, "qc_compile_to_file: path is NULL");
    void *img = NULL;
    size_t len = 0;
    qc_status st = qc_compile_to_memory_opts(g, opts, &img, &len);
    if (!st) st = qc_artifact_write_image(img, len, path);
    free(img);
    return st;
}

qc_status qc_compile_jit_opts(qc_runtime *rt, const qc_graph *g, const qc_compile_options *opts,
                              qc_model **out) {
    if (!out) return qc_error(QC_ERR_INVALID, "qc_compile_jit: out is NULL");
    *out = NULL;
    if (!rt) return qc_error(QC_ERR_INVALID, "qc_compile_jit: runtime is NULL");
    qc_compile_options o = {0};
    if (opts) o = *opts;
    /* Default: code for the device this runtime opened (ref runs GRAPH). */
    if (!o.targets || !*o.targets) {
        const char *dev = qc_runtime_device_name(rt);
        o.targets = qc_target_lowering_index(dev) >= 0 ? dev : "ref";
    }
    void *img = NULL;
    size_t len = 0;
    qc_code_provider code;
    qc_status st = compile_image(g, &o, true, &img, &len, &code);
    if (st) return st;
    /* The JIT's code (if a lowering kept some) goes with the model. */
    st = qc_model_load_memory_code(rt, img, len, QC_LOAD_COPY, &code, out);
    free(img);
    return st ? qc_status_wrap(st, "qc_compile_jit: loading the compiled '%s'", g->name) : NULL;
}

qc_status qc_compile_jit(qc_runtime *rt, const qc_graph *g, qc_model **out) {
    return qc_compile_jit_opts(rt, g, NULL, out);
}
