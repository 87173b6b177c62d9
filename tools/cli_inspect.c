/* cli_inspect.c — `qcomp inspect MODEL [--no-verify]`: prints the model's
 * canonical text IR to stdout (so `inspect a.qcir > b.qcir` normalizes a
 * file, and `inspect model.onnx > model.qcir` converts one) and a summary to
 * stderr, where it cannot end up in that output. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/ir.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "tools/cli.h"
#include "tools/cli_args.h"

#define CMD "inspect"

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp inspect MODEL [--no-verify] [--plan [--batch N]] [--target cpu]\n"
            "\n"
            "Prints MODEL (a .qcir text IR file or an .onnx model) in canonical text form\n"
            "to stdout and a summary (nodes per op, values, constants) to stderr.\n"
            "\n"
            "  --no-verify  skip the verifier (print text IR it rejects; ONNX models are\n"
            "               always verified by the importer)\n"
            "  --plan       also print the memory plan to stderr: per node its outputs\n"
            "               with arena offsets and sizes, then the peak arena bytes vs\n"
            "               the sum of all buffer sizes, and the kernel count and\n"
            "               arena after qdq_fold + fuse\n"
            "  --batch N    evaluate the plan's sizes for batch N (default 1)\n"
            "  --target cpu also print the cpu backend's kernel table to stderr: per\n"
            "               node generated (variant) or ref fallback (reason), and the\n"
            "               CPU and features the code needs (a .qcm shows its own\n"
            "               table; other models are compiled for cpu in memory)\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage.\n");
}

static void print_summary(const qc_graph *g, FILE *f) {
    int32_t per_op[QC_OP_COUNT] = {0};
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op > QC_OP_INVALID && g->nodes[i].op < QC_OP_COUNT)
            per_op[g->nodes[i].op]++;
    int32_t n_const = 0;
    size_t const_bytes = 0;
    for (int32_t i = 0; i < g->n_values; i++)
        if (g->values[i].data) {
            n_const++;
            const_bytes += g->values[i].nbytes;
        }
    fprintf(f, "graph '%s'", g->name ? g->name : "");
    if (g->batch) fprintf(f, " (batch %s)", g->batch);
    fprintf(f, ": %d input%s, %d output%s\n", (int)g->n_inputs, g->n_inputs == 1 ? "" : "s",
            (int)g->n_outputs, g->n_outputs == 1 ? "" : "s");
    fprintf(f, "  nodes: %d", (int)g->n_nodes);
    const char *sep = " (";
    for (int op = QC_OP_INVALID + 1; op < QC_OP_COUNT; op++) {
        if (!per_op[op]) continue;
        const qc_op_info *info = qc_op_get_info((qc_op)op);
        fprintf(f, "%s%s %d", sep, info ? info->name : "?", (int)per_op[op]);
        sep = ", ";
    }
    fprintf(f, "%s\n", g->n_nodes ? ")" : "");
    fprintf(f, "  values: %d, constants: %d (%zu bytes)\n", (int)g->n_values, (int)n_const,
            const_bytes);
}

static void fmt_lin(char *buf, size_t n, int64_t a, int64_t b, const char *batch) {
    if (b == 0) snprintf(buf, n, "%lld", (long long)a);
    else if (a == 0) snprintf(buf, n, "%lld*%s", (long long)b, batch);
    else snprintf(buf, n, "%lld+%lld*%s", (long long)a, (long long)b, batch);
}

/* What fusion does to this graph: kernel (node) counts and the arena on a
 * second copy (loaded again: cheaper than printing and parsing a graph with
 * large weights) after the compile pipeline's rewriting passes. */
static qc_status print_fused(const qc_graph *g, const char *model, bool verify, int64_t batch,
                             FILE *f) {
    qc_graph *c = NULL;
    qc_status st = qc_cli_load_model(model, verify, &c);
    if (!st) st = qc_pass_run_pipeline(c, "qdq_fold,const_fold_dq,fuse,wgemm_fold,dce");
    qc_plan p = {0};
    if (!st) st = qc_memplan(c, &p);
    if (!st)
        fprintf(f, "  after qdq_fold,fuse: %d kernels (was %d), peak arena %lld bytes at %s=%lld\n",
                (int)c->n_nodes, (int)g->n_nodes, (long long)(p.size_a + p.size_b * batch),
                g->batch ? g->batch : "N", (long long)batch);
    qc_plan_free(&p);
    qc_graph_destroy(c);
    return st;
}

/* The schedule with offsets (linear in the batch and evaluated at `batch`). */
static qc_status print_plan(const qc_graph *g, const char *model, bool verify, int64_t batch,
                            FILE *f) {
    qc_plan p;
    qc_status st = qc_memplan(g, &p);
    if (st) return st;
    const char *bn = g->batch ? g->batch : "N";
    char o1[64], s1[64];
    int64_t sum_a = 0, sum_b = 0;
    fprintf(f, "memory plan (offset / size in bytes; evaluated at %s=%lld):\n", bn,
            (long long)batch);
    for (int32_t i = -1; i < g->n_nodes; i++) {
        const int32_t *outs = i < 0 ? g->inputs : g->nodes[i].out;
        int32_t n = i < 0 ? g->n_inputs : g->nodes[i].n_out;
        if (i < 0) fprintf(f, "  [inputs]\n");
        else fprintf(f, "  %4d %s (%s)\n", (int)i, g->nodes[i].name ? g->nodes[i].name : "",
                     qc_op_get_info(g->nodes[i].op)->name);
        for (int32_t k = 0; k < n; k++) {
            int32_t v = outs[k];
            if (v < 0 || p.off_a[v] < 0) continue;
            int64_t a = 0, b = 0;
            if ((st = qc_plan_value_size(g, v, &a, &b))) break;
            sum_a += a;
            sum_b += b;
            fmt_lin(o1, sizeof o1, p.off_a[v], p.off_b[v], bn);
            fmt_lin(s1, sizeof s1, a, b, bn);
            fprintf(f, "         %-24s @ %-14s = %-10lld size %-14s = %lld\n", g->values[v].name,
                    o1, (long long)(p.off_a[v] + p.off_b[v] * batch), s1,
                    (long long)(a + b * batch));
        }
        if (st) break;
    }
    if (!st) {
        fmt_lin(o1, sizeof o1, p.size_a, p.size_b, bn);
        fmt_lin(s1, sizeof s1, sum_a, sum_b, bn);
        int64_t peak = p.size_a + p.size_b * batch, sum = sum_a + sum_b * batch;
        fprintf(f, "  peak arena: %s = %lld bytes; sum of buffers: %s = %lld bytes (%.1f%%)\n",
                o1, (long long)peak, s1, (long long)sum, sum ? 100.0 * (double)peak / (double)sum : 0.0);
        st = qc_plan_check(g, &p, batch);
    }
    qc_plan_free(&p);
    if (!st) st = print_fused(g, model, verify, batch, f);
    return st;
}

int qc_cli_inspect(int argc, char **argv) {
    const char *model = NULL;
    bool verify = true, plan = false, cpu = false;
    int64_t batch = 1;
    for (int i = 1; i < argc; i++) {
        if (qc_cli_is_help(argv[i])) {
            usage(stdout);
            return QC_EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-verify")) {
            verify = false;
        } else if (!strcmp(argv[i], "--plan")) {
            plan = true;
        } else if (!strcmp(argv[i], "--target")) {
            if (i + 1 >= argc || strcmp(argv[i + 1], "cpu")) {
                qc_cli_error(CMD, "--target takes 'cpu' (the backend with a kernel table)");
                usage(stderr);
                return QC_EXIT_USAGE;
            }
            cpu = true;
            i++;
        } else if (!strcmp(argv[i], "--batch")) {
            char *end = NULL;
            if (i + 1 >= argc || (batch = strtoll(argv[i + 1], &end, 10)) < 1 || *end) {
                qc_cli_error(CMD, "--batch needs a positive integer");
                usage(stderr);
                return QC_EXIT_USAGE;
            }
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            qc_cli_error(CMD, "unknown option '%s'", argv[i]);
            usage(stderr);
            return QC_EXIT_USAGE;
        } else if (model) {
            qc_cli_error(CMD, "unexpected argument '%s' (the model is '%s')", argv[i], model);
            usage(stderr);
            return QC_EXIT_USAGE;
        } else {
            model = argv[i];
        }
    }
    if (!model) {
        qc_cli_error(CMD, "no MODEL given");
        usage(stderr);
        return QC_EXIT_USAGE;
    }
    qc_graph *g = NULL;
    qc_status st = qc_cli_load_model(model, verify, &g);
    if (!st) st = qc_graph_print(g, stdout);
    int rc = QC_EXIT_OK;
    if (st) rc = qc_cli_fail(CMD, st);
    else if (!qc_cli_flush(CMD, stdout, "the IR to stdout")) rc = QC_EXIT_ERROR;
    else {
        print_summary(g, stderr);
        /* An artifact also lists its sections (the loader checked them). */
        if (qc_cli_is_qcm_file(model) && (st = qc_cli_print_qcm_sections(model, stderr)))
            rc = qc_cli_fail(CMD, st);
        if (plan && (st = print_plan(g, model, verify, batch, stderr))) rc = qc_cli_fail(CMD, st);
        if (cpu && rc == QC_EXIT_OK && (st = qc_cli_print_cpu(model, verify, stderr)))
            rc = qc_cli_fail(CMD, st);
    }
    qc_graph_destroy(g);
    return rc;
}
