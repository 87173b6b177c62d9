/* cli_compile.c — `qcomp compile` (being written in this milestone). */
#include <stdio.h>

#include "tools/cli.h"

int qc_cli_compile(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "qcomp compile: not implemented yet\n");
    return QC_EXIT_ERROR;
}
