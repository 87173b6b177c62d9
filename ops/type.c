/* type.c — helpers over qc_type (element type + static shape). */
#include <stdio.h>
#include <string.h>

#include "ir/dtype.h"
#include "ops/op.h"

int64_t qc_type_numel(const qc_type *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] == QC_DIM_SYM) return -1;
        n *= t->dims[i];
    }
    return n;
}

bool qc_type_equal(const qc_type *a, const qc_type *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

void qc_type_format(const qc_type *t, const char *batch, char *buf, size_t n) {
    size_t at = 0;
    int w = snprintf(buf, n, "%s[", qc_dtype_name(t->dtype));
    at = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < t->rank && at < n; i++) {
        if (t->dims[i] == QC_DIM_SYM)
            w = snprintf(buf + at, n - at, "%s%s", i ? "," : "", batch ? batch : "?");
        else
            w = snprintf(buf + at, n - at, "%s%lld", i ? "," : "", (long long)t->dims[i]);
        at += w > 0 ? (size_t)w : 0;
    }
    if (at < n) snprintf(buf + at, n - at, "]");
}
