/* status.c — qc_status: an error code plus an owned message.
 *
 * Allocation failure while building an error must not lose the error, so an
 * out-of-memory status is a static, immutable object that qc_status_free
 * recognises and never frees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcomp/qcrt.h"

struct qc_status_s {
    qc_code code;
    char *message;
};

static const struct qc_status_s qc_oom_status = {QC_ERR_NOMEM, (char *)"out of memory"};

static qc_status oom(void) { return (qc_status)&qc_oom_status; }

qc_status qc_error_v(qc_code code, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    qc_status st = malloc(sizeof *st);
    char *msg = malloc((size_t)n + 1);
    if (!st || !msg) {
        free(st);
        free(msg);
        return oom();
    }
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    st->code = code == QC_OK ? QC_ERR_INTERNAL : code;
    st->message = msg;
    return st;
}

qc_status qc_error(qc_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    qc_status st = qc_error_v(code, fmt, ap);
    va_end(ap);
    return st;
}

qc_status qc_status_wrap(qc_status st, const char *fmt, ...) {
    if (!st) return NULL;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    qc_status out = qc_error(st->code, "%s: %s", prefix, st->message);
    if (out == oom()) return st;     /* keep the original rather than lose it */
    qc_status_free(st);
    return out;
}

qc_code qc_status_code(qc_status st) { return st ? st->code : QC_OK; }

const char *qc_status_message(qc_status st) { return st ? st->message : ""; }

void qc_status_free(qc_status st) {
    if (!st || st == oom()) return;
    free(st->message);
    free(st);
}

const char *qc_code_name(qc_code code) {
    switch (code) {
    case QC_OK: return "ok";
    case QC_ERR_INVALID: return "invalid";
    case QC_ERR_PARSE: return "parse error";
    case QC_ERR_UNSUPPORTED: return "unsupported";
    case QC_ERR_IO: return "i/o error";
    case QC_ERR_NOMEM: return "out of memory";
    case QC_ERR_INTERNAL: return "internal error";
    case QC_ERR_NOT_FOUND: return "not found";
    }
    return "unknown";
}
