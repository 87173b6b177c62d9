/* attr.c — typed node attributes: lookup with defaults, and node errors. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

const qc_attr *qc_node_attr(const qc_node *n, const char *key) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attr[i].name, key) == 0) return &n->attr[i];
    return NULL;
}

int64_t qc_attr_int(const qc_node *n, const char *key, int64_t def) {
    const qc_attr *a = qc_node_attr(n, key);
    if (!a) return def;
    if (a->kind == QC_ATTR_INT) return a->i;
    if (a->kind == QC_ATTR_FLOAT) {
        /* A float where an int is wanted (hostile artifacts, odd exporters):
         * NaN is "absent", and out-of-range values saturate instead of the
         * undefined float->int conversion; callers range-check the result. */
        float f = a->f;
        if (isnan(f)) return def;
        if (f >= 9.2233715e18f) return INT64_MAX;
        if (f <= -9.2233715e18f) return INT64_MIN;
        return (int64_t)f;
    }
    return def;
}

float qc_attr_float(const qc_node *n, const char *key, float def) {
    const qc_attr *a = qc_node_attr(n, key);
    if (!a) return def;
    if (a->kind == QC_ATTR_FLOAT) return a->f;
    if (a->kind == QC_ATTR_INT) return (float)a->i;
    return def;
}

const char *qc_attr_string(const qc_node *n, const char *key, const char *def) {
    const qc_attr *a = qc_node_attr(n, key);
    return a && a->kind == QC_ATTR_STRING ? a->s : def;
}

qc_status qc_node_error(const qc_node *n, qc_code code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const qc_op_info *info = qc_op_get_info(n->op);
    return qc_error(code, "node '%s' (%s): %s", n->name ? n->name : "?",
                    info ? info->name : "invalid op", msg);
}
