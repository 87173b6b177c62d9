/* cli_cpu.c — `qcomp inspect MODEL --target cpu`: the cpu backend's kernel
 * table per node (generated with its variant, or ref fallback with the
 * reason), the CPU and features the code needs, and whether this host has
 * them. A .qcm file shows its own table; any other model is compiled for
 * cpu in memory first (the same pipeline as `qcomp compile`). */
#include <stdio.h>
#include <stdlib.h>

#include "ir/ir.h"
#include "qcomp/qcomp.h"
#include "runtime/model.h"
#include "tools/cli_args.h"

#ifdef QC_HAVE_CPU
#include "backends/cpu/hal_ktable.h"

static void print_mask(FILE *f, uint32_t mask) {
    if (!mask) fprintf(f, " (baseline x86-64)");
    for (uint32_t i = 0; i < QC_CPU_FEAT_COUNT; i++)
        if (mask >> i & 1) fprintf(f, " %s", qc_cpu_feature_name(1u << i));
}

static qc_status print_table(const qc_model_data *m, FILE *f) {
    qc_cpu_ktable t;
    qc_status st = qc_cpu_ktable_parse(m, &t);
    if (st) return st;
    fprintf(f, "cpu code: generated for cpu '%s'; %d of %d nodes generated, %d on ref\n", t.cpu,
            (int)t.n_generated, (int)t.n, (int)(t.n - t.n_generated));
    fprintf(f, "  requires:");
    print_mask(f, t.features);
    uint32_t host = qc_cpu_host_features(), missing = t.features & ~host;
    fprintf(f, "\n  this host:");
    print_mask(f, host);
    fprintf(f, "\n  runs here: %s", missing ? "no, missing" : "yes");
    if (missing) print_mask(f, missing);
    fprintf(f, "\n  code: %s\n", t.so ? "shared object (AOT)" : t.n_generated ? "JIT (in process)" : "none");
    for (int32_t i = 0; i < t.n; i++) {
        const qc_node *n = &m->nodes[i];
        const qc_cpu_kentry *e = &t.e[i];
        fprintf(f, "  %4d %-24s %-18s ", (int)i, n->name ? n->name : "",
                qc_op_get_info(n->op)->name);
        if (e->kind == QC_CPU_KT_GENERATED)
            fprintf(f, "generated: %s [%s, grain %lld, %u ps/unit%s]\n", e->text, e->symbol,
                    (long long)e->grain, e->cost_ps, e->packed_len ? ", packed" : "");
        else
            fprintf(f, "ref fallback: %s\n", e->text);
        if (e->chain)
            fprintf(f, "       ^ chain head: nodes %d..%d run in blocks of batch rows "
                       "(%u arena bytes per row)\n",
                    (int)i, (int)(i + (int32_t)e->chain - 1), e->row_bytes);
    }
    qc_cpu_ktable_free(&t);
    return NULL;
}

qc_status qc_cli_print_cpu(const char *model, bool verify, FILE *f) {
    qc_model_data *m = NULL;
    qc_status st = NULL;
    if (qc_cli_is_qcm_file(model)) {
        st = qc_cli_load_qcm(model, &m);
    } else {
        qc_graph *g = NULL;
        void *img = NULL;
        size_t len = 0;
        qc_compile_options o;
        qc_compile_options_init(&o);
        o.targets = "cpu";
        st = qc_cli_load_model(model, verify, &g);
        if (!st) st = qc_compile_optimize(g);
        if (!st) st = qc_compile_to_memory_opts(g, &o, &img, &len);
        if (!st) st = qc_model_data_parse(img, len, true, model, &m);
        free(img);
        qc_graph_destroy(g);
    }
    if (!st) st = print_table(m, f);
    qc_model_data_free(m);
    return st;
}
#else
qc_status qc_cli_print_cpu(const char *model, bool verify, FILE *f) {
    (void)model, (void)verify, (void)f;
    return qc_error(QC_ERR_UNSUPPORTED, "this qcomp has no cpu backend (available: %s)",
                    qc_compile_targets_available());
}
#endif
