/* parse.c — the .qcir text parser: recursive descent over lex.c's tokens,
 * building the graph with the builder API. docs/ir.md has the grammar.
 *
 * Every error is a QC_ERR_PARSE status "source:line:col: ..." (out of memory
 * stays QC_ERR_NOMEM). The graph under construction and all scratch buffers
 * hang off one parser struct, so every error path frees the same way: return
 * the status, and qc_graph_parse releases everything. Values must be defined
 * before they are used (text order is graph order), which keeps node order
 * topological and lets omitted output types be inferred node by node. The
 * parser does not verify; callers run qc_graph_verify. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/text/lex.h"
#include "ir/dtype.h"
#include "ir/ir.h"

/* Static element counts above this are rejected: the verifier and the
 * interpreter multiply element counts by element sizes in int64. */
#define QC_TEXT_MAX_ELEMS ((int64_t)1 << 56)
/* The largest node arity in ir/ops.def; bounds the inference arrays. */
#define QC_TEXT_MAX_IO 64

/* A value declared by an input, const or node-output statement, held until
 * the statement is complete enough to add it to the graph. */
typedef struct decl {
    char *name;
    long line, col;
    bool typed;
    qc_type type;
    qc_quant quant;       /* scale / zero owned here */
} decl;

typedef struct parser {
    qc_lexer lx;
    qc_token tok;         /* current token */
    qc_graph *g;
    decl *decls;          /* this statement's declared values */
    size_t n_decls, cap_decls;
    int32_t *ins, *outs;  /* this node's value ids */
    size_t n_ins, cap_ins, cap_outs;
    int64_t *ints;        /* list scratch */
    float *floats;
    size_t cap_ints, cap_floats;
    uint8_t *data;        /* constant data scratch */
    size_t cap_data;
} parser;

/* ---- helpers ---------------------------------------------------------------- */

static qc_status nomem(void) { return qc_error(QC_ERR_NOMEM, "out of memory parsing text"); }

/* Grows *buf (elements of `elem` bytes) to hold at least `need`; returns the
 * (possibly moved) buffer, or NULL with *buf untouched when out of memory. */
static void *grow(void *buf, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return buf;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 4 / elem) return NULL;
        c *= 2;
    }
    void *b = realloc(buf, c * elem);
    if (b) *cap = c;
    return b;
}

static qc_status advance(parser *p) { return qc_lex_next(&p->lx, &p->tok); }

static qc_status error_at(const parser *p, const qc_token *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static qc_status error_at(const parser *p, const qc_token *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    qc_status st = qc_lex_error_v(&p->lx, t->line, t->col, fmt, ap);
    va_end(ap);
    return st;
}

/* "expected WHAT, found TOKEN" at the current token. */
static qc_status expected(const parser *p, const char *what) {
    char found[128];
    qc_tok_describe(&p->tok, found, sizeof found);
    return error_at(p, &p->tok, "expected %s, found %s", what, found);
}

static qc_status expect_punct(parser *p, char c, const char *what) {
    return qc_tok_is_punct(&p->tok, c) ? advance(p) : expected(p, what);
}

static qc_status expect_word(parser *p, const char *word, const char *what) {
    return qc_tok_is_word(&p->tok, word) ? advance(p) : expected(p, what);
}

/* Gives a builder (or inference) error the position it belongs to; parse
 * errors already carry theirs. */
static qc_status locate(const parser *p, long line, long col, qc_status st) {
    qc_code code = qc_status_code(st);
    if (!st || code == QC_ERR_NOMEM || code == QC_ERR_PARSE) return st;
    qc_status out = qc_lex_error(&p->lx, line, col, "%s", qc_status_message(st));
    qc_status_free(st);
    return out;
}

/* NAME := IDENT | STRING; a bare '_' is the absent-input marker, not a name. */
static bool at_name(const parser *p) {
    return p->tok.kind == QC_TOK_STRING ||
           (p->tok.kind == QC_TOK_IDENT && !qc_tok_is_word(&p->tok, "_"));
}

/* Copies the current NAME into *out (caller frees) and advances. */
static qc_status parse_name(parser *p, const char *what, char **out) {
    *out = NULL;
    if (!at_name(p)) return expected(p, what);
    if (!(*out = malloc(p->tok.len + 1))) return nomem();
    memcpy(*out, p->tok.str, p->tok.len + 1);
    qc_status st = advance(p);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static qc_status parse_int(parser *p, const char *what, int64_t lo, int64_t hi, int64_t *v) {
    if (p->tok.kind != QC_TOK_INT) return expected(p, what);
    qc_status st = qc_tok_int(&p->lx, &p->tok, v);
    if (st) return st;
    if (*v < lo || *v > hi)
        return error_at(p, &p->tok, "%s %lld is outside %lld..%lld", what, (long long)*v,
                        (long long)lo, (long long)hi);
    return advance(p);
}

/* '[' items ']' of numbers into p->ints / p->floats (both filled for INT
 * items, so the caller can pick either reading). *any_float tells whether an
 * item was written as a float. */
static qc_status parse_number_list(parser *p, const char *what, size_t *n, bool *any_float) {
    *n = 0;
    *any_float = false;
    qc_status st = expect_punct(p, '[', what);
    if (st) return st;
    while (!st && !qc_tok_is_punct(&p->tok, ']')) {
        if (!qc_tok_is_number(&p->tok)) return expected(p, "a number");
        int64_t *ints = grow(p->ints, &p->cap_ints, *n + 1, sizeof *ints);
        if (ints) p->ints = ints;
        float *floats = grow(p->floats, &p->cap_floats, *n + 1, sizeof *floats);
        if (floats) p->floats = floats;
        if (!ints || !floats) return nomem();
        if (p->tok.kind == QC_TOK_INT) st = qc_tok_int(&p->lx, &p->tok, &ints[*n]);
        else *any_float = true;
        if (!st) st = qc_tok_f32(&p->lx, &p->tok, &floats[*n]);
        if (!st) st = advance(p);
        (*n)++;
        if (!st && !qc_tok_is_punct(&p->tok, ']')) st = expect_punct(p, ',', "',' or ']' in the list");
    }
    return st ? st : advance(p);
}

/* ---- types and quantization ---------------------------------------------------- */

static qc_status parse_dim(parser *p, int64_t *dim) {
    if (p->tok.kind == QC_TOK_INT) {
        qc_status st = qc_tok_int(&p->lx, &p->tok, dim);
        if (st) return st;
        if (*dim < 0) return error_at(p, &p->tok, "dimension %lld is negative", (long long)*dim);
        return advance(p);
    }
    if (!at_name(p)) return expected(p, "a dimension (an integer or the batch name)");
    char q[96];
    qc_lex_quote(p->tok.str, q, sizeof q);
    if (!p->g->batch)
        return error_at(p, &p->tok,
                        "symbolic dimension %s but the graph declares no batch name "
                        "('graph NAME batch %s {')",
                        q, q);
    if (strcmp(p->tok.str, p->g->batch) != 0) {
        char b[96];
        qc_lex_quote(p->g->batch, b, sizeof b);
        return error_at(p, &p->tok, "unknown dimension %s (the batch dimension is %s)", q, b);
    }
    *dim = QC_DIM_SYM;
    return advance(p);
}

static qc_status parse_type(parser *p, qc_type *t) {
    memset(t, 0, sizeof *t);
    qc_token start = p->tok;
    if (p->tok.kind != QC_TOK_IDENT) return expected(p, "an element type");
    t->dtype = qc_dtype_from_name(p->tok.str);
    if (t->dtype == QC_DT_UNDEF) {
        char q[96];
        qc_tok_describe(&p->tok, q, sizeof q);
        return error_at(p, &p->tok, "unknown element type %s", q);
    }
    qc_status st = advance(p);
    if (!st) st = expect_punct(p, '[', "'[' after the element type");
    int64_t elems = 1;
    while (!st && !qc_tok_is_punct(&p->tok, ']')) {
        if (t->rank == QC_MAX_RANK)
            return error_at(p, &p->tok, "a shape has at most %d dimensions", QC_MAX_RANK);
        st = parse_dim(p, &t->dims[t->rank]);
        if (st) return st;
        int64_t d = t->dims[t->rank++];
        if (d > 0 && elems > QC_TEXT_MAX_ELEMS / d)
            return error_at(p, &start, "type has more than 2^56 elements");
        if (d != QC_DIM_SYM) elems *= d;
        if (!qc_tok_is_punct(&p->tok, ']')) st = expect_punct(p, ',', "',' or ']' in the shape");
    }
    return st ? st : advance(p);
}

/* quant '(' ('tensor' | 'axis' '=' INT [',' 'block' '=' INT]) ',' 'scale' '=' floats
 *       ',' 'zero' '=' ints ')' */
static qc_status parse_quant(parser *p, qc_quant *q) {
    qc_token start = p->tok;
    int64_t axis = 0, block = 0;
    qc_status st = advance(p);
    if (!st) st = expect_punct(p, '(', "'(' after 'quant'");
    if (st) return st;
    if (qc_tok_is_word(&p->tok, "tensor")) {
        q->kind = QC_Q_TENSOR;
        st = advance(p);
    } else if (qc_tok_is_word(&p->tok, "axis")) {
        q->kind = QC_Q_AXIS;
        st = advance(p);
        if (!st) st = expect_punct(p, '=', "'=' after 'axis'");
        if (!st) st = parse_int(p, "quant axis", INT32_MIN, INT32_MAX, &axis);
    } else {
        return expected(p, "'tensor' or 'axis' in quant(...)");
    }
    if (!st) st = expect_punct(p, ',', "',' in quant(...)");
    if (!st && q->kind == QC_Q_AXIS && qc_tok_is_word(&p->tok, "block")) {
        q->kind = QC_Q_BLOCK;
        st = advance(p);
        if (!st) st = expect_punct(p, '=', "'=' after 'block'");
        if (!st) st = parse_int(p, "quant block size", INT32_MIN, INT32_MAX, &block);
        if (!st) st = expect_punct(p, ',', "',' in quant(...)");
    }
    if (!st) st = expect_word(p, "scale", "'scale' in quant(...)");
    if (!st) st = expect_punct(p, '=', "'=' after 'scale'");
    size_t n_scale = 0, n_zero = 0;
    bool any_float;
    if (!st) st = parse_number_list(p, "'[' to open the scale list", &n_scale, &any_float);
    /* The zero list reuses the scratch, so keep the scales first. */
    if (!st && n_scale) {
        q->scale = malloc(n_scale * sizeof *q->scale);
        if (!q->scale) return nomem();
        memcpy(q->scale, p->floats, n_scale * sizeof *q->scale);
    }
    if (!st) st = expect_punct(p, ',', "',' after the scale list");
    if (!st) st = expect_word(p, "zero", "'zero' in quant(...)");
    if (!st) st = expect_punct(p, '=', "'=' after 'zero'");
    if (!st) st = parse_number_list(p, "'[' to open the zero point list", &n_zero, &any_float);
    if (st) return st;
    if (any_float) return error_at(p, &start, "quant zero points must be integers");
    if (n_scale != n_zero || n_scale == 0 || n_scale > INT32_MAX)
        return error_at(p, &start, "quant has %zu scales and %zu zero points (need the same, >= 1)",
                        n_scale, n_zero);
    if (!(q->zero = malloc(n_zero * sizeof *q->zero))) return nomem();
    for (size_t i = 0; i < n_zero; i++) {
        if (p->ints[i] < INT32_MIN || p->ints[i] > INT32_MAX)
            return error_at(p, &start, "quant zero point %lld does not fit in 32 bits",
                            (long long)p->ints[i]);
        q->zero[i] = (int32_t)p->ints[i];
    }
    q->axis = (int32_t)axis;
    q->block = (int32_t)block;
    q->count = (int32_t)n_scale;
    return expect_punct(p, ')', "')' to close quant(...)");
}

/* ---- declarations -------------------------------------------------------------- */

static void decls_clear(parser *p) {
    for (size_t i = 0; i < p->n_decls; i++) {
        free(p->decls[i].name);
        free(p->decls[i].quant.scale);
        free(p->decls[i].quant.zero);
    }
    p->n_decls = 0;
}

/* NAME [':' type [quant]]; the name must be new to the graph and to this
 * statement. */
static qc_status parse_decl(parser *p, bool need_type, const char *what, decl **out) {
    decl *d = grow(p->decls, &p->cap_decls, p->n_decls + 1, sizeof *d);
    if (!d) return nomem();
    p->decls = d;
    d = *out = &p->decls[p->n_decls++];
    memset(d, 0, sizeof *d);
    d->line = p->tok.line;
    d->col = p->tok.col;
    qc_status st = parse_name(p, what, &d->name);
    if (st) return st;
    bool twice = qc_graph_find_value(p->g, d->name) >= 0;
    for (size_t i = 0; i + 1 < p->n_decls; i++) twice |= strcmp(p->decls[i].name, d->name) == 0;
    if (twice) {
        char q[96];
        qc_lex_quote(d->name, q, sizeof q);
        return qc_lex_error(&p->lx, d->line, d->col, "value %s defined twice", q);
    }
    if (!qc_tok_is_punct(&p->tok, ':')) return need_type ? expected(p, "':' and a type") : NULL;
    d->typed = true;
    if ((st = advance(p)) || (st = parse_type(p, &d->type))) return st;
    return qc_tok_is_word(&p->tok, "quant") ? parse_quant(p, &d->quant) : NULL;
}

/* Adds a declared value (and its quant params) to the graph. */
static qc_status add_decl(parser *p, const decl *d, const void *data, size_t nbytes, int32_t *id) {
    qc_type undef = {0};
    const qc_type *t = d->typed ? &d->type : &undef;
    qc_status st = data ? qc_graph_add_const(p->g, d->name, t, data, nbytes, id)
                        : qc_graph_add_value(p->g, d->name, t, id);
    if (!st && d->quant.kind != QC_Q_NONE) st = qc_value_set_quant(p->g, *id, &d->quant);
    return locate(p, d->line, d->col, st);
}

/* ---- statements ---------------------------------------------------------------- */

static qc_status parse_input(parser *p) {
    decl *d;
    int32_t id;
    qc_status st = advance(p);
    if (!st) st = parse_decl(p, true, "an input name", &d);
    if (!st) st = add_decl(p, d, NULL, 0, &id);
    if (!st) st = locate(p, d->line, d->col, qc_graph_add_input(p->g, id));
    return st;
}

/* One constant element into element i of p->data. Floats go through f32
 * (every narrower float value prints exactly in f32); the saturating fp8
 * conversion would turn e5m2's inf into 57344, so inf is encoded directly. */
static qc_status parse_scalar(parser *p, qc_dtype dt, int64_t i) {
    qc_status st;
    if (dt == QC_F64) {
        double v;
        if (!qc_tok_is_number(&p->tok)) return expected(p, "a number");
        if ((st = qc_tok_f64(&p->lx, &p->tok, &v))) return st;
        ((double *)p->data)[i] = v;
    } else if (qc_dtype_is_float(dt)) {
        float v;
        if (!qc_tok_is_number(&p->tok)) return expected(p, "a number");
        if ((st = qc_tok_f32(&p->lx, &p->tok, &v))) return st;
        if (dt == QC_F32) ((float *)p->data)[i] = v;
        else if (dt == QC_F8E5M2 && isinf(v)) p->data[i] = v > 0 ? 0x7c : 0xfc;
        else qc_elem_set_f64(dt, p->data, i, v);
    } else {
        int64_t v, lo, hi;
        char what[64];
        snprintf(what, sizeof what, "an integer (the constant is %s)", qc_dtype_name(dt));
        if (p->tok.kind != QC_TOK_INT) return expected(p, what);
        if ((st = qc_tok_int(&p->lx, &p->tok, &v))) return st;
        qc_dtype_int_range(dt, &lo, &hi);
        if (v < lo || v > hi)
            return error_at(p, &p->tok, "integer %lld out of range for %s (%lld..%lld)",
                            (long long)v, qc_dtype_name(dt), (long long)lo, (long long)hi);
        if ((dt == QC_I4 || dt == QC_U4) && (i & 1) == 0) p->data[i >> 1] = 0;
        qc_elem_set_i64(dt, p->data, i, v);
    }
    return advance(p);
}

/* '[' scalars ']' into p->data; the count must match the type. Extra values
 * are still read (into a spare slot) so the message can say how many. */
static qc_status parse_const_data(parser *p, const decl *d, size_t *nbytes) {
    qc_dtype dt = d->type.dtype;
    int64_t numel = qc_type_numel(&d->type), count = 0;
    qc_token open = p->tok;
    qc_status st = expect_punct(p, '[', "'[' to open the constant data");
    while (!st && !qc_tok_is_punct(&p->tok, ']')) {
        int64_t slot = count < numel ? count : 0;
        uint8_t *b = grow(p->data, &p->cap_data, qc_dtype_bytes(dt, slot + 1), 1);
        if (!b) return nomem();
        p->data = b;
        if ((st = parse_scalar(p, dt, slot))) return st;
        count++;
        if (!qc_tok_is_punct(&p->tok, ']'))
            st = expect_punct(p, ',', "',' or ']' in the constant data");
    }
    if (st || (st = advance(p))) return st;
    if (count != numel) {
        char t[160], q[96];
        qc_type_format(&d->type, p->g->batch, t, sizeof t);
        qc_lex_quote(d->name, q, sizeof q);
        return error_at(p, &open, "constant %s has %lld values, type %s needs %lld", q,
                        (long long)count, t, (long long)numel);
    }
    *nbytes = qc_dtype_bytes(dt, numel);
    if (!p->data && !(p->data = grow(NULL, &p->cap_data, 1, 1))) return nomem();
    return NULL;
}

static qc_status parse_const(parser *p) {
    decl *d;
    int32_t id;
    size_t nbytes = 0;
    qc_status st = advance(p);
    if (!st) st = parse_decl(p, true, "a constant name", &d);
    if (st) return st;
    if (qc_type_numel(&d->type) < 0) {
        char q[96];
        qc_lex_quote(d->name, q, sizeof q);
        return qc_lex_error(&p->lx, d->line, d->col,
                            "constant %s cannot have the symbolic dimension", q);
    }
    st = expect_punct(p, '=', "'=' and the constant data");
    if (!st) st = parse_const_data(p, d, &nbytes);
    if (!st) st = add_decl(p, d, p->data, nbytes, &id);
    return st;
}

static qc_status parse_output(parser *p) {
    qc_status st = advance(p);
    for (bool more = true; !st && more;) {
        if (!at_name(p)) return expected(p, "an output name");
        int32_t id = qc_graph_find_value(p->g, p->tok.str);
        if (id < 0) {
            char q[96];
            qc_lex_quote(p->tok.str, q, sizeof q);
            return error_at(p, &p->tok, "unknown value %s", q);
        }
        st = locate(p, p->tok.line, p->tok.col, qc_graph_add_output(p->g, id));
        if (!st) st = advance(p);
        more = !st && qc_tok_is_punct(&p->tok, ',');
        if (more) st = advance(p);
    }
    return st;
}

/* One attribute value: INT | FLOAT | STRING | '[' numbers ']'. An empty list,
 * or one written with integers only, is an int list. */
static qc_status parse_attr_value(parser *p, int32_t node, const char *key) {
    qc_status st;
    if (p->tok.kind == QC_TOK_INT) {
        int64_t v;
        if ((st = qc_tok_int(&p->lx, &p->tok, &v))) return st;
        st = qc_node_set_int(p->g, node, key, v);
    } else if (qc_tok_is_number(&p->tok)) {
        float v;
        if ((st = qc_tok_f32(&p->lx, &p->tok, &v))) return st;
        st = qc_node_set_float(p->g, node, key, v);
    } else if (p->tok.kind == QC_TOK_STRING) {
        st = qc_node_set_string(p->g, node, key, p->tok.str);
    } else if (qc_tok_is_punct(&p->tok, '[')) {
        size_t n;
        bool any_float;
        if ((st = parse_number_list(p, "'['", &n, &any_float))) return st;
        if (n > INT32_MAX) return expected(p, "a shorter list");
        return any_float ? qc_node_set_floats(p->g, node, key, p->floats, (int32_t)n)
                         : qc_node_set_ints(p->g, node, key, p->ints, (int32_t)n);
    } else {
        return expected(p, "an attribute value (integer, float, string or list)");
    }
    return st ? st : advance(p);
}

/* '{' [NAME '=' value (',' NAME '=' value)*] '}' */
static qc_status parse_attrs(parser *p, int32_t node) {
    qc_status st = advance(p);
    while (!st && !qc_tok_is_punct(&p->tok, '}')) {
        qc_token at = p->tok;
        char *key = NULL;
        if ((st = parse_name(p, "an attribute name", &key))) return st;
        if (qc_node_attr(&p->g->nodes[node], key)) {
            char q[96];
            qc_lex_quote(key, q, sizeof q);
            st = error_at(p, &at, "attribute %s given twice", q);
        }
        if (!st) st = expect_punct(p, '=', "'=' after the attribute name");
        if (!st) st = locate(p, at.line, at.col, parse_attr_value(p, node, key));
        free(key);
        if (!st && !qc_tok_is_punct(&p->tok, '}'))
            st = expect_punct(p, ',', "',' or '}' after the attribute");
    }
    return st ? st : advance(p);
}

/* Fills the node's untyped outputs by type inference (its inputs are all
 * defined and typed already, as text order is graph order). */
static qc_status infer_outputs(parser *p, int32_t node, const qc_token *at) {
    const qc_node *n = &p->g->nodes[node];
    qc_type in[QC_TEXT_MAX_IO], out[QC_TEXT_MAX_IO];
    const void *data[QC_TEXT_MAX_IO];
    if (n->n_in > QC_TEXT_MAX_IO || n->n_out > QC_TEXT_MAX_IO)
        return error_at(p, at, "too many node inputs or outputs to infer types");
    for (int32_t i = 0; i < n->n_in; i++) {
        const qc_value *v = n->in[i] >= 0 ? &p->g->values[n->in[i]] : NULL;
        memset(&in[i], 0, sizeof in[i]);
        if (v) in[i] = v->type;
        data[i] = v ? v->data : NULL;
    }
    qc_infer_ctx ctx = {p->g->batch, n, n->n_in, in, data, n->n_out, out};
    qc_status st = qc_infer_node(&ctx);
    if (st) return locate(p, at->line, at->col, st);
    for (int32_t k = 0; k < n->n_out; k++)
        if (!p->decls[k].typed) p->g->values[n->out[k]].type = out[k];
    return NULL;
}

/* Resolves the argument list '(' [arg (',' arg)*] ')' into p->ins. */
static qc_status parse_args(parser *p) {
    p->n_ins = 0;
    qc_status st = expect_punct(p, '(', "'(' after the op name");
    while (!st && !qc_tok_is_punct(&p->tok, ')')) {
        int32_t id = -1;
        if (!qc_tok_is_word(&p->tok, "_")) {
            if (!at_name(p)) return expected(p, "a node input name or '_'");
            if ((id = qc_graph_find_value(p->g, p->tok.str)) < 0) {
                char q[96];
                qc_lex_quote(p->tok.str, q, sizeof q);
                return error_at(p, &p->tok, "unknown value %s", q);
            }
        }
        int32_t *ins = grow(p->ins, &p->cap_ins, p->n_ins + 1, sizeof *ins);
        if (!ins) return nomem();
        p->ins = ins;
        ins[p->n_ins++] = id;
        if ((st = advance(p))) return st;
        if (!qc_tok_is_punct(&p->tok, ')')) st = expect_punct(p, ',', "')' after node inputs");
    }
    return st ? st : advance(p);
}

/* "1 input", "2 to 3 inputs". */
static void count_range(int lo, int hi, const char *noun, char *buf, size_t n) {
    if (lo == hi) snprintf(buf, n, "%d %s%s", lo, noun, lo == 1 ? "" : "s");
    else snprintf(buf, n, "%d to %d %ss", lo, hi, noun);
}

static qc_status check_arity(const parser *p, const qc_token *op_tok, qc_op op) {
    const qc_op_info *info = qc_op_get_info(op);
    char want[64];
    if (p->n_ins < (size_t)info->min_in || p->n_ins > (size_t)info->max_in) {
        count_range(info->min_in, info->max_in, "input", want, sizeof want);
        return error_at(p, op_tok, "%s takes %s, found %zu", info->name, want, p->n_ins);
    }
    if (p->n_decls < (size_t)info->min_out || p->n_decls > (size_t)info->max_out) {
        count_range(info->min_out, info->max_out, "output", want, sizeof want);
        return error_at(p, op_tok, "%s produces %s, found %zu", info->name, want, p->n_decls);
    }
    return NULL;
}

static int32_t max_node_outputs(void) {
    int32_t most = 1;
    for (int op = QC_OP_INVALID + 1; op < QC_OP_COUNT; op++)
        if (qc_op_get_info((qc_op)op)->max_out > most) most = qc_op_get_info((qc_op)op)->max_out;
    return most;
}

/* outs '=' OPNAME '(' args ')' [attrs] ['@' NAME] */
static qc_status parse_node(parser *p) {
    qc_token first = p->tok;
    bool infer = false;
    decl *d;
    qc_status st = NULL;
    for (bool more = true; more;) {
        /* Bounding the list keeps the duplicate-name check from going
         * quadratic on hostile input. */
        if (p->n_decls == (size_t)max_node_outputs())
            return error_at(p, &p->tok, "too many node outputs (no op has more than %d)",
                            max_node_outputs());
        if ((st = parse_decl(p, false, "a node output name", &d))) return st;
        infer |= !d->typed;
        more = qc_tok_is_punct(&p->tok, ',');
        if (more && (st = advance(p))) return st;
    }
    if ((st = expect_punct(p, '=', "',' or '=' after the node outputs"))) return st;
    if (p->tok.kind != QC_TOK_IDENT) return expected(p, "an op name");
    qc_token op_tok = p->tok;
    qc_op op = qc_op_from_name(p->tok.str);
    if (op == QC_OP_INVALID) {
        char q[96];
        qc_tok_describe(&p->tok, q, sizeof q);
        return error_at(p, &p->tok, "unknown op %s", q);
    }
    if ((st = advance(p)) || (st = parse_args(p)) || (st = check_arity(p, &op_tok, op))) return st;
    int32_t *outs = grow(p->outs, &p->cap_outs, p->n_decls, sizeof *outs);
    if (!outs) return nomem();
    p->outs = outs;
    for (size_t k = 0; k < p->n_decls; k++)
        if ((st = add_decl(p, &p->decls[k], NULL, 0, &outs[k]))) return st;
    int32_t node;
    st = qc_graph_add_node(p->g, op, NULL, p->ins, (int32_t)p->n_ins, outs, (int32_t)p->n_decls,
                           &node);
    if ((st = locate(p, op_tok.line, op_tok.col, st))) return st;
    if (qc_tok_is_punct(&p->tok, '{') && (st = parse_attrs(p, node))) return st;
    if (qc_tok_is_punct(&p->tok, '@')) {
        char *name;
        if ((st = advance(p)) || (st = parse_name(p, "a node name after '@'", &name))) return st;
        /* The builder has no rename; the graph owns the name either way. */
        free(p->g->nodes[node].name);
        p->g->nodes[node].name = name;
    }
    return infer ? infer_outputs(p, node, &first) : NULL;
}

static qc_status parse_stmt(parser *p) {
    decls_clear(p);
    if (qc_tok_is_word(&p->tok, "input")) return parse_input(p);
    if (qc_tok_is_word(&p->tok, "const")) return parse_const(p);
    if (qc_tok_is_word(&p->tok, "output")) return parse_output(p);
    if (at_name(p)) return parse_node(p);
    return expected(p, "a statement or '}'");
}

/* file := 'qcir' INT 'graph' NAME ['batch' NAME] '{' stmt* '}' */
static qc_status parse_top(parser *p) {
    int64_t version;
    char *name = NULL;
    qc_status st = advance(p);
    if (!st) st = expect_word(p, "qcir", "'qcir' and a version at the start");
    if (!st && p->tok.kind != QC_TOK_INT) st = expected(p, "a version number after 'qcir'");
    if (!st) st = qc_tok_int(&p->lx, &p->tok, &version);
    if (!st && version != 1)
        st = error_at(p, &p->tok, "unsupported qcir version %lld (this reader knows 1)",
                      (long long)version);
    if (!st) st = advance(p);
    if (!st) st = expect_word(p, "graph", "'graph'");
    if (!st) st = parse_name(p, "a graph name", &name);
    if (!st) st = qc_graph_create(name, &p->g);
    free(name);
    if (!st && qc_tok_is_word(&p->tok, "batch")) {
        char *batch = NULL;
        st = advance(p);
        if (!st) st = parse_name(p, "a batch dimension name", &batch);
        if (!st) st = qc_graph_set_batch(p->g, batch);
        free(batch);
    }
    if (!st) st = expect_punct(p, '{', "'{' to open the graph body");
    while (!st && !qc_tok_is_punct(&p->tok, '}'))
        st = p->tok.kind == QC_TOK_EOF ? expected(p, "a statement or '}'") : parse_stmt(p);
    if (!st) st = advance(p);
    if (!st && p->tok.kind != QC_TOK_EOF) st = expected(p, "end of input after the graph");
    return st;
}

qc_status qc_graph_parse(const char *text, size_t len, const char *source, qc_graph **out) {
    *out = NULL;
    parser p;
    memset(&p, 0, sizeof p);
    qc_lex_init(&p.lx, text, len, source);
    qc_status st = parse_top(&p);
    decls_clear(&p);
    free(p.decls);
    free(p.ins);
    free(p.outs);
    free(p.ints);
    free(p.floats);
    free(p.data);
    qc_lex_free(&p.lx);
    if (st) {
        qc_graph_destroy(p.g);
        return st;
    }
    *out = p.g;
    return NULL;
}

qc_status qc_graph_parse_file(const char *path, qc_graph **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return qc_error(QC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        char *b = grow(buf, &cap, len + 65536, 1);
        if (!b) {
            free(buf);
            fclose(f);
            return nomem();
        }
        buf = b;
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    qc_status st = err ? qc_error(QC_ERR_IO, "cannot read '%s': %s", path, strerror(err))
                       : qc_graph_parse(buf, len, path, out);
    free(buf);
    return st;
}
