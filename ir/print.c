/* print.c — the textual IR printer (docs/ir.md, "Text form").
 *
 * The output is canonical: inputs in graph order, constants in value order,
 * nodes in order, one output line, so print -> parse -> print is
 * byte-identical. Floats print as the shortest %.Ng that reads back to the
 * same bits (N <= 9 for f32, <= 17 for f64), so 0.1f prints as "0.1" rather
 * than "0.100000001" and still round-trips exactly.
 *
 * The printer also serves `qcomp inspect` on graphs that fail verification,
 * so it never trusts ids, kinds or buffer sizes: bad ones print as <...>
 * markers (which do not parse) instead of crashing. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/ir.h"

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_putn(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- names and strings ------------------------------------------------------ */

static bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

/* A plain identifier that cannot be misread as a keyword or the absent-input
 * marker prints bare; anything else is quoted. */
static bool is_plain_name(const char *s) {
    static const char *const keywords[] = {"graph", "input", "const", "output",
                                           "batch", "quant", "qcir",  "_"};
    if (!is_alpha_(s[0])) return false;
    for (const char *c = s; *c; c++)
        if (!is_alpha_(*c) && !(*c >= '0' && *c <= '9') && *c != '.') return false;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcmp(s, keywords[i]) == 0) return false;
    return true;
}

/* Quoted, with every byte outside printable ASCII escaped: the text stays
 * one line of ASCII whatever the names hold. */
static void put_string(sbuf *b, const char *s) {
    sb_putn(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"') sb_puts(b, "\\\"");
        else if (*c == '\\') sb_puts(b, "\\\\");
        else if (*c == '\n') sb_puts(b, "\\n");
        else if (*c == '\t') sb_puts(b, "\\t");
        else if (*c < 0x20 || *c >= 0x7f) sb_printf(b, "\\x%02x", *c);
        else sb_putn(b, (const char *)c, 1);
    }
    sb_putn(b, "\"", 1);
}

static void put_name(sbuf *b, const char *s) {
    if (!s) sb_puts(b, "<null>");
    else if (is_plain_name(s)) sb_puts(b, s);
    else put_string(b, s);
}

static void put_value_ref(sbuf *b, const qc_graph *g, int32_t id) {
    if (id == -1) sb_puts(b, "_");
    else if (id < 0 || id >= g->n_values) sb_printf(b, "<bad id %d>", (int)id);
    else put_name(b, g->values[id].name);
}

/* ---- numbers ------------------------------------------------------------------ */

static void put_f32(sbuf *b, float f) {
    if (isnan(f)) {
        sb_puts(b, "nan");
        return;
    }
    if (isinf(f)) {
        sb_puts(b, f > 0 ? "inf" : "-inf");
        return;
    }
    char tmp[48];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
        if (strtof(tmp, NULL) == f) break;
    }
    sb_puts(b, tmp);
}

static void put_f64(sbuf *b, double d) {
    if (isnan(d)) {
        sb_puts(b, "nan");
        return;
    }
    if (isinf(d)) {
        sb_puts(b, d > 0 ? "inf" : "-inf");
        return;
    }
    char tmp[48];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    sb_puts(b, tmp);
}

/* Attribute floats always show they are floats ("1.0", not "1"), so an int
 * attribute and a float attribute never read back as each other. */
static void put_attr_f32(sbuf *b, float f) {
    size_t start = b->len;
    put_f32(b, f);
    if (b->oom || !isfinite(f)) return;
    if (!strpbrk(b->p + start, ".e")) sb_puts(b, ".0");
}

static void put_f32_list(sbuf *b, const float *v, int32_t n) {
    sb_putn(b, "[", 1);
    for (int32_t i = 0; i < n; i++) {
        if (i) sb_puts(b, ", ");
        put_attr_f32(b, v[i]);
    }
    sb_putn(b, "]", 1);
}

/* ---- types, quant params, constant data ------------------------------------- */

static void put_type(sbuf *b, const qc_graph *g, const qc_type *t) {
    sb_puts(b, qc_dtype_name(t->dtype));
    sb_putn(b, "[", 1);
    for (int32_t i = 0; i < t->rank && i < QC_MAX_RANK; i++) {
        if (i) sb_putn(b, ",", 1);
        if (t->dims[i] != QC_DIM_SYM) sb_printf(b, "%lld", (long long)t->dims[i]);
        else if (g->batch) put_name(b, g->batch);
        else sb_puts(b, "<batch?>");
    }
    sb_putn(b, "]", 1);
}

static void put_quant(sbuf *b, const qc_quant *q) {
    if (q->kind == QC_Q_TENSOR) sb_puts(b, " quant(tensor, scale=");
    else if (q->kind == QC_Q_AXIS) sb_printf(b, " quant(axis=%d, scale=", (int)q->axis);
    else if (q->kind == QC_Q_BLOCK)
        sb_printf(b, " quant(axis=%d, block=%d, scale=", (int)q->axis, (int)q->block);
    else return;
    int32_t n = q->scale && q->zero && q->count > 0 ? q->count : 0;
    put_f32_list(b, q->scale, n);
    sb_puts(b, ", zero=[");
    for (int32_t i = 0; i < n; i++) sb_printf(b, i ? ", %d" : "%d", (int)q->zero[i]);
    sb_puts(b, "])");
}

static void put_element(sbuf *b, qc_dtype t, const void *data, int64_t i) {
    if (t == QC_F64) put_f64(b, ((const double *)data)[i]);
    else if (t == QC_F32) put_f32(b, ((const float *)data)[i]);
    else if (qc_dtype_is_float(t)) put_f32(b, (float)qc_elem_get_f64(t, data, i));
    else sb_printf(b, "%lld", (long long)qc_elem_get_i64(t, data, i));
}

static void put_const_data(sbuf *b, const qc_value *v) {
    int64_t numel = qc_type_numel(&v->type);
    int bits = qc_dtype_bits(v->type.dtype);
    /* Never read past the buffer, whatever the type claims. */
    if (bits == 0 || numel < 0) numel = 0;
    if (numel > 0 && (uint64_t)numel > (uint64_t)v->nbytes * 8u / (unsigned)bits)
        numel = (int64_t)((uint64_t)v->nbytes * 8u / (unsigned)bits);
    sb_puts(b, " = [");
    for (int64_t i = 0; i < numel && !b->oom; i++) {
        if (i) sb_puts(b, ", ");
        put_element(b, v->type.dtype, v->data, i);
    }
    sb_putn(b, "]", 1);
}

/* NAME ': ' type [quant]; the type is left out only for node outputs that
 * inference has not typed yet (the parser re-infers them). */
static void put_decl(sbuf *b, const qc_graph *g, const qc_value *v, bool may_omit_type) {
    put_name(b, v->name);
    if (may_omit_type && v->type.dtype == QC_DT_UNDEF) return;
    sb_puts(b, ": ");
    put_type(b, g, &v->type);
    put_quant(b, &v->quant);
}

/* ---- nodes ---------------------------------------------------------------------- */

static void put_attr(sbuf *b, const qc_attr *a) {
    put_name(b, a->name);
    sb_putn(b, "=", 1);
    switch (a->kind) {
    case QC_ATTR_INT: sb_printf(b, "%lld", (long long)a->i); break;
    case QC_ATTR_FLOAT: put_attr_f32(b, a->f); break;
    case QC_ATTR_STRING: put_string(b, a->s ? a->s : ""); break;
    case QC_ATTR_INTS:
        sb_putn(b, "[", 1);
        for (int32_t i = 0; a->ints && i < a->n; i++)
            sb_printf(b, i ? ", %lld" : "%lld", (long long)a->ints[i]);
        sb_putn(b, "]", 1);
        break;
    case QC_ATTR_FLOATS: put_f32_list(b, a->floats, a->floats ? a->n : 0); break;
    default: sb_printf(b, "<bad attribute kind %d>", (int)a->kind); break;
    }
}

static void put_node(sbuf *b, const qc_graph *g, const qc_node *n) {
    sb_puts(b, "  ");
    for (int32_t k = 0; k < n->n_out; k++) {
        if (k) sb_puts(b, ", ");
        int32_t id = n->out[k];
        if (id >= 0 && id < g->n_values) put_decl(b, g, &g->values[id], true);
        else put_value_ref(b, g, id);
    }
    const qc_op_info *info = qc_op_get_info(n->op);
    if (info) sb_printf(b, " = %s(", info->name);
    else sb_printf(b, " = <bad op %d>(", (int)n->op);
    for (int32_t k = 0; k < n->n_in; k++) {
        if (k) sb_puts(b, ", ");
        put_value_ref(b, g, n->in[k]);
    }
    sb_putn(b, ")", 1);
    if (n->n_attr > 0) {
        sb_puts(b, " {");
        for (int32_t a = 0; a < n->n_attr; a++) {
            if (a) sb_puts(b, ", ");
            put_attr(b, &n->attr[a]);
        }
        sb_putn(b, "}", 1);
    }
    /* The default node name is its first output's; only others are printed. */
    const char *first = n->n_out > 0 && n->out[0] >= 0 && n->out[0] < g->n_values
                            ? g->values[n->out[0]].name
                            : NULL;
    if (n->name && (!first || strcmp(n->name, first) != 0)) {
        sb_puts(b, " @");
        put_name(b, n->name);
    }
    sb_putn(b, "\n", 1);
}

static void print_graph(sbuf *b, const qc_graph *g) {
    sb_puts(b, "qcir 1\ngraph ");
    put_name(b, g->name);
    if (g->batch) {
        sb_puts(b, " batch ");
        put_name(b, g->batch);
    }
    sb_puts(b, " {\n");
    for (int32_t i = 0; i < g->n_inputs; i++) {
        sb_puts(b, "  input ");
        int32_t id = g->inputs[i];
        if (id >= 0 && id < g->n_values) put_decl(b, g, &g->values[id], false);
        else put_value_ref(b, g, id);
        sb_putn(b, "\n", 1);
    }
    for (int32_t i = 0; i < g->n_values; i++) {
        const qc_value *v = &g->values[i];
        if (!v->data) continue;
        sb_puts(b, "  const ");
        put_decl(b, g, v, false);
        put_const_data(b, v);
        sb_putn(b, "\n", 1);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) put_node(b, g, &g->nodes[i]);
    if (g->n_outputs > 0) {
        sb_puts(b, "  output ");
        for (int32_t i = 0; i < g->n_outputs; i++) {
            if (i) sb_puts(b, ", ");
            put_value_ref(b, g, g->outputs[i]);
        }
        sb_putn(b, "\n", 1);
    }
    sb_puts(b, "}\n");
}

qc_status qc_graph_print_string(const qc_graph *g, char **out) {
    *out = NULL;
    sbuf b = {0};
    print_graph(&b, g);
    if (b.oom) {
        free(b.p);
        return qc_error(QC_ERR_NOMEM, "out of memory printing graph '%s'", g->name);
    }
    *out = b.p;
    return NULL;
}

qc_status qc_graph_print(const qc_graph *g, FILE *f) {
    char *text;
    qc_status st = qc_graph_print_string(g, &text);
    if (st) return st;
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n && fflush(f) == 0;
    free(text);
    return ok ? NULL : qc_error(QC_ERR_IO, "cannot write graph '%s' as text", g->name);
}
