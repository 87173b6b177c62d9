/* cli_inspect.c — `qcomp inspect MODEL [--no-verify]`: prints the model's
 * canonical text IR to stdout (so `inspect a.qcir > b.qcir` normalizes a
 * file, and `inspect model.onnx > model.qcir` converts one) and a summary to
 * stderr, where it cannot end up in that output. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "tools/cli.h"
#include "tools/cli_args.h"

#define CMD "inspect"

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp inspect MODEL [--no-verify]\n"
            "\n"
            "Prints MODEL (a .qcir text IR file or an .onnx model) in canonical text form\n"
            "to stdout and a summary (nodes per op, values, constants) to stderr.\n"
            "\n"
            "  --no-verify  skip the verifier (print text IR it rejects; ONNX models are\n"
            "               always verified by the importer)\n"
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

int qc_cli_inspect(int argc, char **argv) {
    const char *model = NULL;
    bool verify = true;
    for (int i = 1; i < argc; i++) {
        if (qc_cli_is_help(argv[i])) {
            usage(stdout);
            return QC_EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-verify")) {
            verify = false;
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
    else print_summary(g, stderr);
    qc_graph_destroy(g);
    return rc;
}
