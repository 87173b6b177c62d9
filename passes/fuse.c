/* fuse.c — operator fusion (float graphs; the quantized epilogues are
 * folded into the requantization clamp by qdq_fold).
 *
 *   1. BatchNormalization after a Conv with constant weights is folded into
 *      the Conv's weights and bias (w' = w * s, b' = (b - mean) * s + B with
 *      s = scale / sqrt(var + eps), computed in double and rounded once).
 *      This changes float rounding (one product instead of two), so it is
 *      the one non-bit-exact rewrite here.
 *   2. Conv / Gemm / MatMul followed by a chain of elementwise steps (bias
 *      Add, Relu, Clip, Sigmoid, LeakyRelu, the Erf form of Gelu, ...)
 *      becomes qc.FusedConv / qc.FusedGemm / qc.FusedMatMul with the steps as
 *      the `program` epilogue.
 *   3. Any other chain of two or more elementwise steps becomes one
 *      qc.Elementwise node.
 * A chain grows through a value only when that value has exactly one reader
 * and is not a graph output, and only through steps whose output has the
 * running value's exact type (so broadcasting never grows the tensor: other
 * operands may broadcast into it). The fused node takes the place of the
 * chain's last node, where all its operands are already defined. The ref
 * kernels run the unfused kernels step by step, so 2 and 3 are exact. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "passes/pass.h"

#define MAX_STEPS 16
#define MAX_FUSED_IN 16

typedef struct fz {
    qc_graph *g;
    int32_t *uses;
    uint8_t *drop;
} fz;

static qc_status count_uses(fz *f) {
    const qc_graph *g = f->g;
    int32_t *u = realloc(f->uses, sizeof(int32_t) * (size_t)(g->n_values + 1));
    if (!u) return qc_error(QC_ERR_NOMEM, "fuse: out of memory");
    f->uses = u;
    memset(u, 0, sizeof(int32_t) * (size_t)g->n_values);
    for (int32_t n = 0; n < g->n_nodes; n++) {
        if (f->drop[n]) continue;
        for (int32_t k = 0; k < g->nodes[n].n_in; k++)
            if (g->nodes[n].in[k] >= 0) u[g->nodes[n].in[k]]++;
    }
    for (int32_t i = 0; i < g->n_outputs; i++) u[g->outputs[i]] += 2;   /* never fused away */
    return NULL;
}

static int32_t sole_consumer(const fz *f, int32_t v) {
    if (f->uses[v] != 1) return -1;
    for (int32_t n = 0; n < f->g->n_nodes; n++) {
        if (f->drop[n]) continue;
        for (int32_t k = 0; k < f->g->nodes[n].n_in; k++)
            if (f->g->nodes[n].in[k] == v) return n;
    }
    return -1;
}

static bool is_const(const qc_graph *g, int32_t v) { return v >= 0 && g->values[v].data; }

static void clear_attrs(qc_node *n) {
    for (int32_t a = 0; a < n->n_attr; a++) {
        free(n->attr[a].name);
        free(n->attr[a].s);
        free(n->attr[a].ints);
        free(n->attr[a].floats);
    }
    free(n->attr);
    n->attr = NULL;
    n->n_attr = 0;
}

/* ---- 1. BatchNormalization into Conv ------------------------------------------ */

static qc_status add_const(qc_graph *g, const char *base, const qc_type *t, const float *data,
                           int32_t *id) {
    char name[256];
    snprintf(name, sizeof name, "%s", base);
    for (int i = 2; qc_graph_find_value(g, name) >= 0; i++) snprintf(name, sizeof name, "%.200s_%d", base, i);
    return qc_graph_add_const(g, name, t, data, sizeof(float) * (size_t)qc_type_numel(t), id);
}

static qc_status fold_bn(fz *f, int32_t bi, bool *changed) {
    qc_graph *g = f->g;
    const qc_node *bn = &g->nodes[bi];
    if (bn->op != QC_OP_BATCH_NORM || bn->n_out != 1) return NULL;
    int32_t cv = bn->in[0], ci = g->values[cv].producer;
    if (ci < 0 || f->drop[ci] || g->nodes[ci].op != QC_OP_CONV || f->uses[cv] != 1) return NULL;
    const qc_node *conv = &g->nodes[ci];
    int32_t w = conv->in[1], b = conv->n_in > 2 ? conv->in[2] : -1;
    if (!is_const(g, w) || g->values[w].type.dtype != QC_F32 || (b >= 0 && !is_const(g, b)))
        return NULL;
    int64_t m = g->values[w].type.dims[0], per = qc_type_numel(&g->values[w].type) / (m ? m : 1);
    for (int k = 1; k < 5; k++)
        if (!is_const(g, bn->in[k]) || g->values[bn->in[k]].type.dtype != QC_F32 ||
            qc_type_numel(&g->values[bn->in[k]].type) != m)
            return NULL;
    if (b >= 0 && (g->values[b].type.dtype != QC_F32 || qc_type_numel(&g->values[b].type) != m))
        return NULL;
    double eps = qc_attr_float(bn, "epsilon", 1e-5f);
    const float *sc = g->values[bn->in[1]].data, *bb = g->values[bn->in[2]].data;
    const float *mean = g->values[bn->in[3]].data, *var = g->values[bn->in[4]].data;
    const float *wd = g->values[w].data, *bd = b >= 0 ? g->values[b].data : NULL;
    float *nw = malloc(sizeof(float) * (size_t)(m * per + 1));
    float *nbias = malloc(sizeof(float) * (size_t)(m + 1));
    qc_status st = NULL;
    if (!nw || !nbias) st = qc_error(QC_ERR_NOMEM, "fuse: out of memory");
    for (int64_t c = 0; !st && c < m; c++) {
        double s = (double)sc[c] / sqrt((double)var[c] + eps);
        for (int64_t i = 0; i < per; i++) nw[c * per + i] = (float)((double)wd[c * per + i] * s);
        nbias[c] = (float)(((bd ? (double)bd[c] : 0.0) - mean[c]) * s + bb[c]);
    }
    int32_t nwid = -1, nbid = -1;
    qc_type wt = g->values[w].type, bt = {.dtype = QC_F32, .rank = 1, .dims = {m}};
    char base[256];
    snprintf(base, sizeof base, "%.200s_bnfold", g->values[w].name);
    if (!st) st = add_const(g, base, &wt, nw, &nwid);
    snprintf(base, sizeof base, "%.200s_bnfold_bias", g->values[w].name);
    if (!st) st = add_const(g, base, &bt, nbias, &nbid);
    free(nw);
    free(nbias);
    if (st) return st;
    qc_node *c = &g->nodes[ci];
    int32_t *in = realloc(c->in, sizeof(int32_t) * 3);
    if (!in) return qc_error(QC_ERR_NOMEM, "fuse: out of memory");
    c->in = in;
    c->n_in = 3;
    c->in[1] = nwid;
    c->in[2] = nbid;
    int32_t y = g->nodes[bi].out[0];
    g->values[c->out[0]].producer = -1;
    c->out[0] = y;
    g->values[y].producer = ci;
    f->drop[bi] = 1;
    *changed = true;
    return count_uses(f);
}

/* ---- 2, 3. chains ---------------------------------------------------------------- */

static bool step_op(qc_op op) {
    switch (op) {
    case QC_OP_RELU: case QC_OP_LEAKY_RELU: case QC_OP_SIGMOID: case QC_OP_TANH: case QC_OP_ERF:
    case QC_OP_GELU: case QC_OP_CLIP: case QC_OP_SQRT: case QC_OP_EXP: case QC_OP_NEG:
    case QC_OP_ABS: case QC_OP_FLOOR: case QC_OP_CEIL: case QC_OP_ROUND: case QC_OP_RECIPROCAL:
    case QC_OP_LOG: case QC_OP_SIN: case QC_OP_COS: case QC_OP_SOFTPLUS: case QC_OP_SOFTSIGN:
    case QC_OP_HARD_SIGMOID: case QC_OP_HARD_SWISH: case QC_OP_ELU: case QC_OP_SELU:
    case QC_OP_CELU: case QC_OP_THRESHOLDED_RELU:
    case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: case QC_OP_POW:
        return true;
    default: return false;
    }
}

static bool binary(qc_op op) {
    return op == QC_OP_ADD || op == QC_OP_SUB || op == QC_OP_MUL || op == QC_OP_DIV ||
           op == QC_OP_POW;
}

/* Whether node c can extend a chain whose running value is t. */
static bool can_step(const qc_graph *g, const qc_node *c, int32_t t) {
    if (!step_op(c->op) || c->n_out != 1 || c->out[0] < 0) return false;
    if (!qc_type_equal(&g->values[c->out[0]].type, &g->values[t].type)) return false;
    for (int32_t a = 0; a < c->n_attr; a++)   /* the program carries float attrs only */
        if (c->attr[a].kind != QC_ATTR_FLOAT) return false;
    if (binary(c->op)) return c->in[0] == t || c->in[1] == t;
    if (c->in[0] != t) return false;
    for (int32_t k = 1; k < c->n_in; k++)   /* Clip's min/max: scalars */
        if (c->in[k] == t) return false;
    return true;
}

typedef struct builder {
    int32_t in[MAX_FUSED_IN];
    int32_t n_in;
    char prog[2048];
    size_t len;
    bool overflow;
} builder;

static int32_t operand(builder *b, int32_t v) {
    for (int32_t k = 0; k < b->n_in; k++)
        if (b->in[k] == v) return k;
    if (b->n_in >= MAX_FUSED_IN) {
        b->overflow = true;
        return 0;
    }
    b->in[b->n_in] = v;
    return b->n_in++;
}

static void emit(builder *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void emit(builder *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->prog + b->len, sizeof b->prog - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->prog - b->len) b->overflow = true;
    else b->len += (size_t)n;
}

/* Appends node c as a step with running value t. */
static void emit_step(builder *b, const qc_node *c, int32_t t) {
    emit(b, "%s%s(", b->len ? ";" : "", qc_op_get_info(c->op)->name);
    for (int32_t k = 0; k < c->n_in; k++) {
        if (c->in[k] < 0) {   /* an absent optional input ends the list (Clip max only) */
            if (k + 1 < c->n_in) b->overflow = true;
            break;
        }
        if (c->in[k] == t) emit(b, "%s$", k ? "," : "");
        else emit(b, "%s%%%d", k ? "," : "", (int)operand(b, c->in[k]));
    }
    for (int32_t a = 0; a < c->n_attr; a++) emit(b, ",%s=%.9g", c->attr[a].name, (double)c->attr[a].f);
    emit(b, ")");
}

static qc_status copy_attrs(qc_graph *g, int32_t from, int32_t to) {
    qc_status st = NULL;
    for (int32_t a = 0; a < g->nodes[from].n_attr && !st; a++) {
        const qc_attr at = g->nodes[from].attr[a];
        switch (at.kind) {
        case QC_ATTR_INT: st = qc_node_set_int(g, to, at.name, at.i); break;
        case QC_ATTR_FLOAT: st = qc_node_set_float(g, to, at.name, at.f); break;
        case QC_ATTR_STRING: st = qc_node_set_string(g, to, at.name, at.s); break;
        case QC_ATTR_INTS: st = qc_node_set_ints(g, to, at.name, at.ints, at.n); break;
        case QC_ATTR_FLOATS: st = qc_node_set_floats(g, to, at.name, at.floats, at.n); break;
        }
    }
    return st;
}

static qc_status fuse_chain(fz *f, int32_t hi, bool *changed) {
    qc_graph *g = f->g;
    const qc_node *h = &g->nodes[hi];
    qc_op fused;
    switch (h->op) {
    case QC_OP_CONV: fused = QC_OP_FUSED_CONV; break;
    case QC_OP_GEMM: fused = QC_OP_FUSED_GEMM; break;
    case QC_OP_MATMUL: fused = QC_OP_FUSED_MATMUL; break;
    default: fused = QC_OP_ELEMENTWISE; break;
    }
    if (h->n_out != 1 || h->out[0] < 0 || !qc_dtype_is_float(g->values[h->out[0]].type.dtype))
        return NULL;
    builder b = {.n_in = 0};
    int32_t chain[MAX_STEPS], n_chain = 0, t = h->out[0];
    if (fused == QC_OP_ELEMENTWISE) {
        /* The running value enters as input 0: the operand of h that has
         * h's output type. */
        int32_t x = -1;
        for (int32_t k = 0; k < h->n_in && x < 0; k++)
            if (h->in[k] >= 0 && !is_const(g, h->in[k]) &&
                qc_type_equal(&g->values[h->in[k]].type, &g->values[t].type))
                x = h->in[k];
        if (x < 0 || !can_step(g, h, x)) return NULL;
        operand(&b, x);
        emit_step(&b, h, x);
    } else {
        for (int32_t k = 0; k < h->n_in; k++) b.in[b.n_in++] = h->in[k];
        if (b.n_in < 1 || h->in[b.n_in - 1] < 0) return NULL;   /* trailing absent input */
    }
    int32_t n_base = b.n_in;
    chain[n_chain++] = hi;
    for (;;) {
        int32_t c = sole_consumer(f, t);
        if (c < 0 || n_chain >= MAX_STEPS || !can_step(g, &g->nodes[c], t)) break;
        builder save = b;
        emit_step(&b, &g->nodes[c], t);
        if (b.overflow) {
            b = save;
            break;
        }
        chain[n_chain++] = c;
        t = g->nodes[c].out[0];
    }
    if (n_chain < 2 || b.overflow) return NULL;
    int32_t ti = chain[n_chain - 1];
    qc_node *tail = &g->nodes[ti];
    int32_t *in = realloc(tail->in, sizeof(int32_t) * (size_t)b.n_in);
    if (!in) return qc_error(QC_ERR_NOMEM, "fuse: out of memory");
    memcpy(in, b.in, sizeof(int32_t) * (size_t)b.n_in);
    tail->in = in;
    tail->n_in = b.n_in;
    tail->op = fused;
    clear_attrs(tail);
    qc_status st = NULL;
    if (fused != QC_OP_ELEMENTWISE) {
        st = copy_attrs(g, hi, ti);
        if (!st) st = qc_node_set_int(g, ti, "n_base", n_base);
    }
    if (!st) st = qc_node_set_string(g, ti, "program", b.prog);
    for (int32_t k = 0; k < n_chain - 1; k++) f->drop[chain[k]] = 1;
    *changed = true;
    return st ? st : count_uses(f);
}

qc_status qc_pass_fuse(qc_graph *g) {
    fz f = {.g = g};
    qc_status st = NULL;
    f.drop = calloc((size_t)g->n_nodes + 1, 1);
    if (!f.drop) return qc_error(QC_ERR_NOMEM, "fuse: out of memory");
    st = count_uses(&f);
    bool changed = false;
    for (int32_t i = 0; i < g->n_nodes && !st; i++)
        if (!f.drop[i]) st = fold_bn(&f, i, &changed);
    for (int32_t i = 0; i < g->n_nodes && !st; i++)
        if (!f.drop[i]) st = fuse_chain(&f, i, &changed);
    if (!st && changed) {
        uint8_t *keep = malloc((size_t)g->n_nodes + 1);
        uint8_t *keepv = malloc((size_t)g->n_values + 1);
        if (!keep || !keepv) st = qc_error(QC_ERR_NOMEM, "fuse: out of memory");
        for (int32_t i = 0; !st && i < g->n_nodes; i++) keep[i] = !f.drop[i];
        if (!st) memset(keepv, 1, (size_t)g->n_values);
        if (!st) st = qc_graph_compact(g, keep, keepv);
        free(keep);
        free(keepv);
        if (!st) st = qc_pass_dce(g);
    }
    free(f.uses);
    free(f.drop);
    if (!st) st = qc_graph_infer(g);
    return st;
}
