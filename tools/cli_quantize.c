/* cli_quantize.c — `qcomp quantize` (being written in this milestone). */
#include <stdio.h>

#include "tools/cli.h"

int qc_cli_quantize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "qcomp quantize: not implemented yet\n");
    return QC_EXIT_ERROR;
}
