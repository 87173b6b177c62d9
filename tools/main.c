/* main.c — the `qcomp` command line: dispatches to one cli_<command>.c each. */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp <command> [options]\n"
            "\n"
            "commands:\n"
            "  run MODEL            run a model on a backend and write its outputs\n"
            "  inspect MODEL        print a model's canonical IR and a summary\n"
            "  compare GOT WANT     compare two .npy tensors within tolerances\n"
            "  quantize MODEL       quantize a float model (calibration, schemes, report)\n"
            "  compile MODEL        compile a model to a .qcm artifact\n"
            "  bench MODEL          time a model on a backend (latency, throughput, CPU, RSS)\n"
            "\n"
            "MODEL is a textual IR file (.qcir), an ONNX model (.onnx, opsets 11-21) or,\n"
            "for run, inspect and bench, a .qcm artifact.\n"
            "`qcomp <command> --help` shows a command's options. Exit status: 0 ok,\n"
            "1 error, 2 usage.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return QC_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return QC_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("qcomp 0.1.0\n");
        return QC_EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return qc_cli_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "inspect")) return qc_cli_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return qc_cli_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "quantize")) return qc_cli_quantize(argc - 1, argv + 1);
    if (!strcmp(cmd, "compile")) return qc_cli_compile(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return qc_cli_bench(argc - 1, argv + 1);
    fprintf(stderr, "qcomp: unknown command '%s'\n", cmd);
    usage(stderr);
    return QC_EXIT_USAGE;
}
