/* prog.c — parsing the steps of elementwise programs (prog.h). */
#include <stdlib.h>
#include <string.h>

#include "ops/prog.h"

bool qc_prog_parse_step(const char **p, int32_t n_inputs, qc_prog_step *s) {
    const char *c = *p;
    memset(s, 0, sizeof *s);
    size_t len = strcspn(c, "(");
    if (!c[len] || len == 0 || len >= sizeof s->op_name) return false;
    memcpy(s->op_name, c, len);
    s->op = qc_op_from_name(s->op_name);
    c += len + 1;
    while (*c && *c != ')') {
        if (*c == '$') {
            if (s->n_in >= QC_PROG_MAX_ARGS) return false;
            s->in[s->n_in++] = -1;
            c++;
        } else if (*c == '%') {
            char *end;
            long k = strtol(c + 1, &end, 10);
            if (end == c + 1 || k < 0 || k >= n_inputs || s->n_in >= QC_PROG_MAX_ARGS)
                return false;
            s->in[s->n_in++] = (int32_t)k;
            c = end;
        } else {
            size_t nl = strcspn(c, "=),");
            if (c[nl] != '=' || nl == 0 || nl >= sizeof s->attr_name[0] ||
                s->n_attr >= QC_PROG_MAX_ARGS)
                return false;
            memcpy(s->attr_name[s->n_attr], c, nl);
            char *end;
            s->attr_val[s->n_attr] = strtof(c + nl + 1, &end);
            if (end == c + nl + 1) return false;
            s->n_attr++;
            c = end;
        }
        if (*c == ',') c++;
        else if (*c != ')') return false;
    }
    if (*c != ')') return false;
    c++;
    if (*c == ';') c++;
    *p = c;
    return true;
}

float qc_prog_step_attr(const qc_prog_step *s, const char *name, float def) {
    for (int32_t k = 0; k < s->n_attr; k++)
        if (!strcmp(s->attr_name[k], name)) return s->attr_val[k];
    return def;
}
