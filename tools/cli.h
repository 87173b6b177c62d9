/* cli.h — internal: the CLI's commands and exit codes. */
#ifndef QC_TOOLS_CLI_H
#define QC_TOOLS_CLI_H

enum { QC_EXIT_OK = 0, QC_EXIT_ERROR = 1, QC_EXIT_USAGE = 2 };

/* argv[0] is the command name; each returns an exit code. */
int qc_cli_run(int argc, char **argv);
int qc_cli_inspect(int argc, char **argv);
int qc_cli_compare(int argc, char **argv);
int qc_cli_quantize(int argc, char **argv);   /* tools/cli_quantize.c */
int qc_cli_compile(int argc, char **argv);    /* tools/cli_compile.c */
int qc_cli_bench(int argc, char **argv);      /* tools/cli_bench.c */

#endif
