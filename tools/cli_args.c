/* cli_args.c — option parsing and error reporting shared by the commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx.h"
#include "tools/cli.h"
#include "tools/cli_args.h"
#include "tools/npy.h"

bool qc_cli_is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

int qc_cli_option(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
    } else if (arg[n] == 0) {
        if (*i + 1 >= argc) {
            qc_cli_error(cmd, "option %s needs a value", name);
            return -1;
        }
        *value = argv[++*i];
    } else {
        return 0;   /* "--inputs" is not "--input" */
    }
    if (!**value) {
        qc_cli_error(cmd, "option %s needs a non-empty value", name);
        return -1;
    }
    return 1;
}

bool qc_cli_parse_int(const char *s, long lo, long hi, long *out) {
    /* strtol alone would also take " 3" and "+3". */
    if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9'))) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

qc_status qc_cli_name_file(qc_status st, const char *path) {
    if (!st || strstr(qc_status_message(st), path)) return st;
    return qc_status_wrap(st, "%s", path);
}

qc_status qc_cli_load_model(const char *path, bool verify, qc_graph **out) {
    *out = NULL;
    qc_graph *g = NULL;
    qc_status st;
    if (qc_cli_is_qcm_file(path)) {
        st = qc_cli_load_qcm_graph(path, verify, &g);
    } else if (qc_onnx_is_model_file(path)) {
        st = qc_cli_name_file(qc_onnx_import_file(path, NULL, &g), path);
    } else {
        st = qc_cli_name_file(qc_graph_parse_file(path, &g), path);
        if (!st && verify) st = qc_cli_name_file(qc_graph_verify(g), path);
    }
    if (st) {
        qc_graph_destroy(g);
        return st;
    }
    *out = g;
    return NULL;
}

qc_status qc_cli_read_tensor(const char *path, qc_tensor *out) {
    size_t n = strlen(path);
    if (n >= 3 && !strcmp(path + n - 3, ".pb"))
        return qc_cli_name_file(qc_onnx_read_tensor_file(path, out, NULL), path);
    return qc_npy_read(path, out);
}

void qc_cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "qcomp %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int qc_cli_fail(const char *cmd, qc_status st) {
    qc_cli_error(cmd, "%s", qc_status_message(st));
    qc_status_free(st);
    return QC_EXIT_ERROR;
}

bool qc_cli_flush(const char *cmd, FILE *f, const char *what) {
    if (fflush(f) == 0 && !ferror(f)) return true;
    qc_cli_error(cmd, "cannot write %s: %s", what, strerror(errno));
    return false;
}
