/* cli_run.c — `qcomp run` (placeholder until the CLI lands). */
#include <stdio.h>
#include "tools/cli.h"
int qc_cli_run(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "qcomp run: not implemented\n"); return QC_EXIT_ERROR; }
