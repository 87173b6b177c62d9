/* cli_inspect.c — `qcomp inspect` (placeholder until the CLI lands). */
#include <stdio.h>
#include "tools/cli.h"
int qc_cli_inspect(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "qcomp inspect: not implemented\n"); return QC_EXIT_ERROR; }
