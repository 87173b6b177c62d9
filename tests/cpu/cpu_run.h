/* cpu_run.h — the cpu tests' shared harness: compile a graph for the cpu
 * device and run it through the JIT (ORC LLJIT in process) or the AOT path
 * (the artifact's shared object, loaded by the runtime), reporting how many
 * nodes got generated code. Header-only: each test is one executable. */
#ifndef QC_TESTS_CPU_RUN_H
#define QC_TESTS_CPU_RUN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cg.h"
#include "backends/cpu/hal_ktable.h"
#include "ir/ir.h"
#include "qcomp/qcomp.h"
#include "runtime/model.h"

/* Generated (not ref-fallback) nodes in a cpu artifact image, or -1. */
static inline int32_t qc_test_cpu_generated_nodes(const void *img, size_t len) {
    qc_model_data *m = NULL;
    qc_cpu_ktable t = {0};
    int32_t n = -1;
    if (!qc_model_data_parse(img, len, true, "case", &m) && !qc_cpu_ktable_parse(m, &t))
        n = t.n_generated;
    qc_cpu_ktable_free(&t);
    qc_model_data_free(m);
    return n;
}

/* Compiles g for the cpu target (this host) and copies into out the variant
 * text of its last generated kernel whose text contains `part` (NULL: any),
 * or "" if none: which kernel a case got. Returns the compile error. */
static inline qc_status qc_test_cpu_variant(const qc_graph *g, const char *part, char *out,
                                            size_t cap) {
    qc_compile_options co;
    qc_compile_options_init(&co);
    co.targets = "cpu";
    void *img = NULL;
    size_t len = 0;
    out[0] = 0;
    qc_status st = qc_compile_to_memory_opts(g, &co, &img, &len);
    qc_model_data *m = NULL;
    qc_cpu_ktable t = {0};
    if (!st && !qc_model_data_parse(img, len, true, "case", &m) && !qc_cpu_ktable_parse(m, &t))
        for (int32_t i = 0; i < t.n; i++)
            if (t.e[i].kind == QC_CPU_KT_GENERATED && (!part || strstr(t.e[i].text, part)))
                snprintf(out, cap, "%s", t.e[i].text);
    qc_cpu_ktable_free(&t);
    qc_model_data_free(m);
    free(img);
    return st;
}

/* Whether this host can run code generated for `cpu` (NULL / "native":
 * always): the named CPU's feature set must be a subset of the host's, as
 * the runtime checks on load. Tests that cross-compile for a named CPU run
 * the result only where this holds, and say which CPUs they skipped. */
static inline bool qc_test_cpu_host_can_run(const char *cpu) {
    if (!cpu || !strcmp(cpu, "native")) return true;
    qc_cpu_cg cg;
    qc_status st = qc_cpu_cg_create(cpu, "probe", &cg);
    if (st) {
        qc_status_free(st);
        return false;
    }
    uint32_t want = qc_cpu_features_mask(&cg.feat);
    qc_cpu_cg_destroy(&cg);
    return (qc_cpu_host_features() & want) == want;
}

/* Runs g (already optimized) on the cpu device with 2 threads, code for `cpu`
 * (NULL: this host), through the AOT path or the JIT; outputs are allocated
 * by the runtime. */
static inline qc_status qc_test_run_cpu(const qc_graph *g, const char *cpu, bool aot,
                                        const qc_tensor *in, qc_tensor *out, int32_t *generated) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = "cpu";
    ro.threads = 2;
    qc_compile_options co;
    qc_compile_options_init(&co);
    co.targets = "cpu";
    co.cpu = cpu;
    qc_runtime *rt = NULL;
    qc_model *m = NULL;
    qc_session *s = NULL;
    void *img = NULL;
    size_t len = 0;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (!st) st = qc_compile_to_memory_opts(g, &co, &img, &len);
    if (!st) *generated = qc_test_cpu_generated_nodes(img, len);
    if (!st && aot) st = qc_model_load_memory(rt, img, len, QC_LOAD_COPY, &m);
    if (!st && !aot) st = qc_compile_jit_opts(rt, g, &co, &m);
    free(img);
    if (!st) st = qc_session_create(m, NULL, &s);
    for (int32_t i = 0; i < g->n_outputs; i++) memset(&out[i], 0, sizeof out[i]);
    if (!st) st = qc_session_run(s, in, g->n_inputs, out, g->n_outputs);
    qc_session_destroy(s);
    qc_model_release(m);
    qc_runtime_destroy(rt);
    return st;
}

#endif
