/* cli_args.h — internal: option parsing and error reporting shared by the
 * CLI commands. Options take `--name VALUE` or `--name=VALUE`; every error
 * goes to stderr as one line prefixed `qcomp <command>: `. */
#ifndef QC_TOOLS_CLI_ARGS_H
#define QC_TOOLS_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "ir/ir.h"
#include "qcomp/qcrt.h"

/* True for `--help` / `-h`. */
bool qc_cli_is_help(const char *arg);

/* Matches argv[*i] against the option `name` ("--input"). Returns 0 when it
 * is a different argument; 1 when it matches, with *value set and *i moved
 * past the value; -1 when it matches but the value is missing or empty (an
 * error has been printed for `cmd`). */
int qc_cli_option(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **value);

/* Parses a decimal integer in [lo, hi]; false if `s` is anything else. */
bool qc_cli_parse_int(const char *s, long lo, long hi, long *out);

/* Prefixes `path: ` to an error's message unless it already names the file
 * (parse errors start with file:line:col). NULL stays NULL. */
qc_status qc_cli_name_file(qc_status st, const char *path);

/* Loads a model: ONNX (.onnx, or a file that sniffs as one; imported and
 * verified by the importer), a .qcm artifact (sniffed by its magic; the
 * graph rebuilt from it) or text IR (.qcir; verified when `verify`).
 * Errors name the file. On failure *out is NULL. */
qc_status qc_cli_load_model(const char *path, bool verify, qc_graph **out);

/* ---- .qcm artifacts (tools/cli_qcm.c) ---- */

typedef struct qc_model_data qc_model_data;

/* True when the file starts with the .qcm magic. */
bool qc_cli_is_qcm_file(const char *path);

/* 2 x the multiply-accumulates of g's GEMM / convolution layers with the
 * symbolic dim bound to batch (tools/cli_work.c); and the same for the model
 * at path (.onnx, .qcir or .qcm). */
double qc_cli_graph_ops(const qc_graph *g, int64_t batch);
qc_status qc_cli_model_ops(const char *path, int64_t batch, double *ops);
/* Reads and validates an artifact (runtime/model.h); errors name the file. */
qc_status qc_cli_load_qcm(const char *path, qc_model_data **out);
/* The devices an artifact has target code for, best first (cuda, vulkan,
 * cpu), ending with "ref" (every artifact runs there): what `qcomp run`
 * tries when no --backend is given. Writes at most cap names, returns the
 * count; an unreadable artifact gives just "ref" (its load reports why). */
int qc_cli_qcm_devices(const char *path, const char **names, int cap);
/* `inspect --target cpu` (tools/cli_cpu.c): the cpu kernel table of a
 * .qcm file, or of MODEL compiled for cpu in memory. */
qc_status qc_cli_print_cpu(const char *model, bool verify, FILE *f);
/* An artifact's graph rebuilt as a qc_graph (verified when `verify`). */
qc_status qc_cli_load_qcm_graph(const char *path, bool verify, qc_graph **out);
/* The section table (kind, target, offset, length, CRC) and arena size. */
qc_status qc_cli_print_qcm_sections(const char *path, FILE *f);

/* Reads a tensor file: a serialized ONNX TensorProto when the name ends in
 * ".pb", else .npy. Errors name the file. */
qc_status qc_cli_read_tensor(const char *path, qc_tensor *out);

/* Prints `qcomp <cmd>: <message>` to stderr. */
void qc_cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints the status as an error for `cmd`, frees it and returns
 * QC_EXIT_ERROR. */
int qc_cli_fail(const char *cmd, qc_status st);

/* Checks that everything written to `f` (stdout) reached it; reports a
 * failed write (full disk, closed pipe) for `cmd`. Returns true if fine. */
bool qc_cli_flush(const char *cmd, FILE *f, const char *what);

#endif
