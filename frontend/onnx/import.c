/* import.c — ONNX ModelProto -> qc_graph.
 *
 * Order of work, so that a bad model fails early and as a whole:
 *   1. wire pre-check, protobuf-c unpack;
 *   2. opsets; every node's op resolved — all unsupported ops reported in
 *      ONE error (never a partial import);
 *   3. symbolic dims of the graph inputs (qcomp has one: the batch);
 *   4. value names and a topological node order (order.c);
 *   5. initializers and bound inputs as constants, the other inputs;
 *   6. nodes (Constant nodes become constants; opset rewrites, opset.c),
 *      with type inference as far as it goes;
 *   7. graph outputs; const_fold + dce; whole-graph inference; declared
 *      output types checked; verification.
 * Any failure frees everything and returns one status prefixed with the
 * source name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_internal.h"
#include "ir/dtype.h"
#include "passes/pass.h"

#define MAX_NODE_IO 64
/* Node names listed per unsupported op type before "and N more". */
#define MAX_LISTED_NODES 8

typedef struct importer {
    qc_onnx_builder b;
    const qc_onnx_options *opts;
    const Onnx__GraphProto *gp;
    char **node_names;        /* per ONNX node: its name or "<op_type>_<index>" */
    qc_onnx_op *ops;          /* per ONNX node: what it becomes */
    uint8_t *bound;           /* per graph input: 1 if a binding fixes it */
} importer;

void qc_onnx_options_init(qc_onnx_options *o) {
    memset(o, 0, sizeof *o);
    o->fold_constants = 1;
}

/* ---- emission helpers (also used by opset.c) ---------------------------------- */

static qc_status fresh_name(qc_onnx_builder *b, const char *base, const char *suffix,
                            char *buf, size_t n) {
    for (int k = 1; k < 1000; k++) {
        if (k == 1) snprintf(buf, n, "%s/%s", base, suffix);
        else snprintf(buf, n, "%s/%s_%d", base, suffix, k);
        if (!qc_onnx_names_has(b->names, buf) && qc_graph_find_value(b->g, buf) < 0) return NULL;
    }
    return qc_error(QC_ERR_INTERNAL, "no fresh value name for '%s/%s'", base, suffix);
}

qc_status qc_onnx_fresh_value(qc_onnx_builder *b, const char *base, const char *suffix,
                              int32_t *id) {
    char name[600];
    qc_type none = {0};
    qc_status st = fresh_name(b, base, suffix, name, sizeof name);
    return st ? st : qc_graph_add_value(b->g, name, &none, id);
}

qc_status qc_onnx_fresh_const(qc_onnx_builder *b, const char *base, const char *suffix,
                              const qc_type *type, const void *data, int32_t *id) {
    char name[600];
    qc_status st = fresh_name(b, base, suffix, name, sizeof name);
    if (st) return st;
    return qc_graph_add_const(b->g, name, type, data,
                              qc_dtype_bytes(type->dtype, qc_type_numel(type)), id);
}

qc_status qc_onnx_emit_node(qc_onnx_builder *b, qc_op op, const char *name, const int32_t *in,
                            int32_t n_in, const int32_t *out, int32_t n_out, int32_t *node) {
    return qc_graph_add_node(b->g, op, name, in, n_in, out, n_out, node);
}

qc_status qc_onnx_infer_node(qc_onnx_builder *b, int32_t node) {
    qc_graph *g = b->g;
    const qc_node *n = &g->nodes[node];
    if (n->n_in > MAX_NODE_IO || n->n_out > MAX_NODE_IO) return NULL;
    qc_type in[MAX_NODE_IO], out[MAX_NODE_IO];
    const void *data[MAX_NODE_IO];
    for (int32_t i = 0; i < n->n_in; i++) {
        memset(&in[i], 0, sizeof in[i]);
        data[i] = NULL;
        if (n->in[i] < 0) continue;
        const qc_value *v = &g->values[n->in[i]];
        if (v->type.dtype == QC_DT_UNDEF) return NULL;   /* an input is still untyped */
        in[i] = v->type;
        data[i] = v->data;
    }
    qc_infer_ctx ctx = {g->batch, n, n->n_in, in, data, n->n_out, out};
    qc_status st = qc_infer_node(&ctx);
    if (st) {
        /* Deferred: see onnx_internal.h. */
        qc_status_free(st);
        return NULL;
    }
    for (int32_t k = 0; k < n->n_out; k++) g->values[n->out[k]].type = out[k];
    return NULL;
}

/* ---- opsets and op resolution ----------------------------------------------------- */

static qc_status read_opsets(const Onnx__ModelProto *m, qc_onnx_opsets *os) {
    memset(os, 0, sizeof *os);
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = o->domain ? o->domain : "";
        int64_t *slot = NULL;
        if (!*d || !strcmp(d, "ai.onnx")) slot = &os->onnx;
        else if (!strcmp(d, "com.microsoft")) slot = &os->ms;
        else continue;   /* other domains: their nodes are reported unsupported */
        if (!o->has_version || o->version < 1)
            return qc_error(QC_ERR_INVALID, "opset import of domain '%s' has no valid version", d);
        if (*slot && *slot != o->version)
            return qc_error(QC_ERR_INVALID, "domain '%s' is imported at two opsets (%lld and %lld)",
                            d, (long long)*slot, (long long)o->version);
        *slot = o->version;
    }
    if (os->onnx > QC_ONNX_MAX_OPSET)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "ai.onnx opset %lld is newer than qcomp supports (%d to %d)",
                        (long long)os->onnx, QC_ONNX_MIN_OPSET, QC_ONNX_MAX_OPSET);
    return NULL;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* Inputs/outputs of a node, not counting trailing absent ("") ones. */
static size_t trimmed(char *const *names, size_t n) {
    while (n && !*names[n - 1]) n--;
    return n;
}

/* A node whose input/output counts qcomp's op does not take (e.g. the
 * training outputs of BatchNormalization) is unsupported, and said so up
 * front with the other unsupported ops. */
static void check_arity(const Onnx__NodeProto *np, qc_onnx_op *res) {
    if (!res->supported || res->rule == QC_ONNX_RULE_CONSTANT) return;
    const qc_op_info *info = qc_op_get_info(res->op);
    size_t n_in = trimmed(np->input, np->n_input), n_out = trimmed(np->output, np->n_output);
    const char *what = NULL;
    size_t have = 0;
    int lo = 0, hi = 0;
    if (n_in < (size_t)info->min_in || n_in > (size_t)info->max_in) {
        what = "input";
        have = n_in;
        lo = info->min_in;
        hi = info->max_in;
    } else if (n_out < (size_t)info->min_out || n_out > (size_t)info->max_out) {
        what = "output";
        have = n_out;
        lo = info->min_out;
        hi = info->max_out;
    }
    if (!what) return;
    res->supported = false;
    if (lo == hi)
        snprintf(res->why, sizeof res->why, "%zu %ss given, qcomp's %s takes %d", have, what,
                 info->name, lo);
    else
        snprintf(res->why, sizeof res->why, "%zu %ss given, qcomp's %s takes %d to %d", have,
                 what, info->name, lo, hi);
}

/* Names every node (its own name, or "<op_type>_<index>") and resolves its op. */
static qc_status name_and_resolve(importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    im->node_names = calloc(gp->n_node + 1, sizeof *im->node_names);
    im->ops = calloc(gp->n_node + 1, sizeof *im->ops);
    if (!im->node_names || !im->ops) return qc_error(QC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        /* For the generated name only; resolution reads np itself. */
        const char *op_type = np->op_type && *np->op_type ? np->op_type : "Unknown";
        char buf[300];
        if (np->name && *np->name) im->node_names[i] = dup_string(np->name);
        else {
            snprintf(buf, sizeof buf, "%s_%zu", op_type, i);
            im->node_names[i] = dup_string(buf);
        }
        if (!im->node_names[i]) return qc_error(QC_ERR_NOMEM, "out of memory");
        qc_onnx_resolve_op(&im->b.opsets, np, &im->ops[i]);
        check_arity(np, &im->ops[i]);
    }
    return NULL;
}

/* "Resize" or "com.example.Frobnicate": the op as the user would name it. */
static void op_label(const Onnx__NodeProto *np, char *buf, size_t n) {
    const char *d = np->domain ? np->domain : "";
    const char *t = np->op_type && *np->op_type ? np->op_type : "(no op_type)";
    if (!*d || !strcmp(d, "ai.onnx")) snprintf(buf, n, "%s", t);
    else snprintf(buf, n, "%s.%s", d, t);
}

/* True if both nodes name the same op (domain "" and "ai.onnx" are one). */
static bool same_op(const Onnx__NodeProto *a, const Onnx__NodeProto *b) {
    const char *da = a->domain && strcmp(a->domain, "ai.onnx") ? a->domain : "";
    const char *db = b->domain && strcmp(b->domain, "ai.onnx") ? b->domain : "";
    return !strcmp(da, db) && !strcmp(a->op_type ? a->op_type : "", b->op_type ? b->op_type : "");
}

/* One error listing every unsupported op type, in first-seen order, with its
 * node names: "3 unsupported ops: Resize (nodes 'a', 'b'), Foo (node 'c')". */
static qc_status unsupported_error(const importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    size_t total = 0;
    for (size_t i = 0; i < gp->n_node; i++) total += !im->ops[i].supported;
    if (!total) return NULL;
    uint8_t *done = calloc(gp->n_node + 1, 1);
    char *msg = NULL;
    size_t len = 0;
    FILE *f = done ? open_memstream(&msg, &len) : NULL;
    if (!f) {
        free(done);
        return qc_error(QC_ERR_UNSUPPORTED, "%zu unsupported ops", total);
    }
    fprintf(f, "%zu unsupported op%s: ", total, total == 1 ? "" : "s");
    const char *sep = "";
    for (size_t i = 0; i < gp->n_node; i++) {
        if (im->ops[i].supported || done[i]) continue;
        size_t count = 0, listed = 0;
        for (size_t k = i; k < gp->n_node; k++)
            if (!im->ops[k].supported && !done[k] && same_op(gp->node[i], gp->node[k])) count++;
        char label[300];
        op_label(gp->node[i], label, sizeof label);
        fprintf(f, "%s%s (node%s ", sep, label, count > 1 ? "s" : "");
        for (size_t k = i; k < gp->n_node; k++) {
            if (im->ops[k].supported || done[k] || !same_op(gp->node[i], gp->node[k])) continue;
            done[k] = 1;
            if (listed < MAX_LISTED_NODES)
                fprintf(f, "%s'%s'", listed ? ", " : "", im->node_names[k]);
            listed++;
        }
        if (count > MAX_LISTED_NODES) fprintf(f, " and %zu more", count - MAX_LISTED_NODES);
        if (im->ops[i].why[0]) fprintf(f, ": %s", im->ops[i].why);
        fputc(')', f);
        sep = ", ";
    }
    fclose(f);
    free(done);
    qc_status st = qc_error(QC_ERR_UNSUPPORTED, "%s", msg ? msg : "unsupported ops");
    free(msg);
    return st;
}

/* ---- graph inputs ------------------------------------------------------------------ */

static bool is_initializer(const Onnx__GraphProto *gp, const char *name) {
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (gp->initializer[i]->name && !strcmp(gp->initializer[i]->name, name)) return true;
    return false;
}

static const Onnx__TypeProto__Tensor *tensor_type(const Onnx__ValueInfoProto *vi) {
    const Onnx__TypeProto *t = vi->type;
    return t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? t->tensor_type : NULL;
}

/* The one symbolic dim name the (unbound, non-initializer) graph inputs use:
 * a dim_param's name, or "N" for dims with neither value nor name. Several
 * distinct ones are unsupported. *batch is NULL if every dim is static. */
static qc_status find_batch(const importer *im, const char **batch) {
    const Onnx__GraphProto *gp = im->gp;
    const char *names[4];
    size_t n_names = 0;
    *batch = NULL;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__TypeProto__Tensor *tt = tensor_type(gp->input[i]);
        if (im->bound[i] || !tt || !tt->shape || is_initializer(gp, gp->input[i]->name)) continue;
        for (size_t d = 0; d < tt->shape->n_dim; d++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
            const char *nm;
            if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) continue;
            if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                dim->dim_param && *dim->dim_param)
                nm = dim->dim_param;
            else nm = "N";
            bool seen = false;
            for (size_t k = 0; k < n_names && !seen; k++) seen = !strcmp(names[k], nm);
            if (!seen && n_names < 4) names[n_names++] = nm;
            else if (!seen) n_names++;
        }
    }
    if (n_names > 1) {
        char list[600] = "";
        size_t at = 0;
        for (size_t k = 0; k < n_names && k < 4 && at < sizeof list; k++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s'%s'", k ? ", " : "",
                                   names[k]);
        return qc_error(QC_ERR_UNSUPPORTED,
                        "the graph inputs use %zu symbolic dims (%s%s; 'N' stands for unnamed "
                        "ones); qcomp supports one symbolic (batch) dim per graph",
                        n_names, list, n_names > 4 ? ", ..." : "");
    }
    if (n_names) *batch = names[0];
    return NULL;
}

/* A graph input's type from its ValueInfoProto. */
static qc_status input_type(const Onnx__ValueInfoProto *vi, qc_type *t) {
    const char *nm = vi->name;
    const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
    char buf[32];
    memset(t, 0, sizeof *t);
    if (!tt)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "graph input '%s' is not a tensor (sequences, maps, optionals and "
                        "sparse tensors are not supported)", nm);
    if (!tt->has_elem_type || tt->elem_type == 0)
        return qc_error(QC_ERR_INVALID, "graph input '%s' has no element type", nm);
    t->dtype = qc_onnx_dtype(tt->elem_type);
    if (t->dtype == QC_DT_UNDEF)
        return qc_error(QC_ERR_UNSUPPORTED, "graph input '%s': element type %s is not supported",
                        nm, qc_onnx_dtype_name(tt->elem_type, buf, sizeof buf));
    if (!tt->shape)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "graph input '%s' has no shape (qcomp needs at least its rank)", nm);
    if (tt->shape->n_dim > QC_MAX_RANK)
        return qc_error(QC_ERR_UNSUPPORTED, "graph input '%s': rank %zu exceeds qcomp's maximum "
                        "of %d", nm, tt->shape->n_dim, QC_MAX_RANK);
    t->rank = (int32_t)tt->shape->n_dim;
    for (int32_t d = 0; d < t->rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            t->dims[d] = QC_DIM_SYM;
        } else if (dim->dim_value < 0) {
            return qc_error(QC_ERR_INVALID, "graph input '%s': dim %d is negative (%lld)", nm,
                            (int)d, (long long)dim->dim_value);
        } else {
            t->dims[d] = dim->dim_value;
        }
    }
    return NULL;
}

static qc_status add_initializers(importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        char what[400];
        snprintf(what, sizeof what, "initializer '%s'", t->name);
        qc_type type;
        void *data;
        size_t nbytes;
        qc_status st = qc_onnx_tensor_decode(t, what, im->b.base_dir, &type, &data, &nbytes);
        if (!st) st = qc_graph_add_const(im->b.g, t->name, &type, data, nbytes, NULL);
        free(data);
        if (st) return st;
    }
    return NULL;
}

/* Which binding fixes input `name`, or -1. */
static int find_binding(const qc_onnx_options *o, const char *name) {
    for (int k = 0; k < o->n_bindings; k++)
        if (o->bindings[k].name && !strcmp(o->bindings[k].name, name)) return k;
    return -1;
}

/* Marks the bound inputs, checking every binding names a real input. */
static qc_status match_bindings(importer *im) {
    const qc_onnx_options *o = im->opts;
    const Onnx__GraphProto *gp = im->gp;
    im->bound = calloc(gp->n_input + 1, 1);
    if (!im->bound) return qc_error(QC_ERR_NOMEM, "out of memory");
    for (int k = 0; k < o->n_bindings; k++) {
        const char *nm = o->bindings[k].name ? o->bindings[k].name : "";
        bool found = false;
        for (size_t i = 0; i < gp->n_input && !found; i++)
            if (!strcmp(gp->input[i]->name, nm) && !is_initializer(gp, nm)) {
                found = true;
                im->bound[i] = 1;
            }
        if (!found)
            return qc_error(QC_ERR_NOT_FOUND, "binding '%s': the model has no graph input of "
                            "that name", nm);
        if (find_binding(o, nm) != k)
            return qc_error(QC_ERR_INVALID, "binding '%s' is given twice", nm);
    }
    return NULL;
}

/* A bound input: a constant holding the binding's value, which must fit the
 * input's declared type. */
static qc_status add_bound_input(importer *im, const Onnx__ValueInfoProto *vi) {
    const qc_tensor *v = im->opts->bindings[find_binding(im->opts, vi->name)].value;
    qc_type want;
    qc_status st = input_type(vi, &want);
    if (st) return st;
    bool ok = v && v->desc.dtype == want.dtype && v->desc.rank == want.rank;
    for (int32_t d = 0; ok && d < want.rank; d++)
        ok = want.dims[d] == QC_DIM_SYM || want.dims[d] == v->desc.dims[d];
    if (!ok) {
        char have[160] = "nothing", need[160];
        if (v) qc_type_format(&v->desc, NULL, have, sizeof have);
        qc_type_format(&want, NULL, need, sizeof need);
        return qc_error(QC_ERR_INVALID, "binding '%s': value is %s, the input is declared %s",
                        vi->name, have, need);
    }
    int64_t numel = qc_type_numel(&v->desc);
    if (numel < 0)
        return qc_error(QC_ERR_INVALID, "binding '%s': value has a negative dim", vi->name);
    return qc_graph_add_const(im->b.g, vi->name, &v->desc, v->data,
                              qc_dtype_bytes(v->desc.dtype, numel), NULL);
}

static qc_status add_inputs(importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (is_initializer(gp, vi->name)) continue;   /* a constant with a default */
        if (im->bound[i]) {
            qc_status st = add_bound_input(im, vi);
            if (st) return st;
            continue;
        }
        qc_type t;
        int32_t id;
        qc_status st = input_type(vi, &t);
        if (!st) st = qc_graph_add_value(im->b.g, vi->name, &t, &id);
        if (!st) st = qc_graph_add_input(im->b.g, id);
        if (st) return st;
    }
    return NULL;
}

/* ---- nodes ------------------------------------------------------------------------- */

/* Constant node: its output becomes a constant value. */
static qc_status emit_constant(importer *im, const Onnx__NodeProto *np, const char *name) {
    if (np->n_output != 1 || !*np->output[0])
        return qc_error(QC_ERR_INVALID, "node '%s' (Constant): needs exactly one output", name);
    qc_type type;
    void *data;
    size_t nbytes;
    qc_status st = qc_onnx_constant_value(np, name, im->b.base_dir, &type, &data, &nbytes);
    if (!st) st = qc_graph_add_const(im->b.g, np->output[0], &type, data, nbytes, NULL);
    free(data);
    return st;
}

/* Input value ids: trailing absent ("") inputs dropped, inner ones -1. */
static qc_status node_inputs(importer *im, const Onnx__NodeProto *np, const char *name,
                             int32_t *in, int32_t *n_in) {
    size_t n = trimmed(np->input, np->n_input);
    if (n > MAX_NODE_IO)
        return qc_error(QC_ERR_INVALID, "node '%s' (%s): %zu inputs (at most %d)", name,
                        np->op_type, n, MAX_NODE_IO);
    for (size_t k = 0; k < n; k++) {
        in[k] = *np->input[k] ? qc_graph_find_value(im->b.g, np->input[k]) : -1;
        if (*np->input[k] && in[k] < 0)   /* order.c proved it is defined earlier */
            return qc_error(QC_ERR_INTERNAL, "node '%s': input '%s' not found", name,
                            np->input[k]);
    }
    *n_in = (int32_t)n;
    return NULL;
}

/* Output values (untyped until inference): trailing absent outputs dropped,
 * inner ones get a fresh unused value, since qcomp nodes have no holes in
 * their outputs. */
static qc_status node_outputs(importer *im, const Onnx__NodeProto *np, const char *name,
                              int32_t *out, int32_t *n_out) {
    size_t n = trimmed(np->output, np->n_output);
    if (n == 0)
        return qc_error(QC_ERR_INVALID, "node '%s' (%s): has no outputs", name, np->op_type);
    if (n > MAX_NODE_IO)
        return qc_error(QC_ERR_INVALID, "node '%s' (%s): %zu outputs (at most %d)", name,
                        np->op_type, n, MAX_NODE_IO);
    qc_type none = {0};
    for (size_t k = 0; k < n; k++) {
        qc_status st;
        if (*np->output[k]) st = qc_graph_add_value(im->b.g, np->output[k], &none, &out[k]);
        else st = qc_onnx_fresh_value(&im->b, name, "unused", &out[k]);
        if (st) return st;
    }
    *n_out = (int32_t)n;
    return NULL;
}

static qc_status emit_node(importer *im, size_t idx) {
    const Onnx__NodeProto *np = im->gp->node[idx];
    const char *name = im->node_names[idx];
    const qc_onnx_op *res = &im->ops[idx];
    if (res->rule == QC_ONNX_RULE_CONSTANT) return emit_constant(im, np, name);
    int32_t in[MAX_NODE_IO], out[MAX_NODE_IO], n_in = 0, n_out = 0, node;
    qc_status st = node_inputs(im, np, name, in, &n_in);
    if (!st) st = node_outputs(im, np, name, out, &n_out);
    if (st) return st;
    if (res->rule == QC_ONNX_RULE_COERCE_2D) {
        if (n_in != 1 || n_out != 1)
            return qc_error(QC_ERR_INVALID, "node '%s' (%s): takes one input and one output",
                            name, np->op_type);
        return qc_onnx_emit_coerce_2d(&im->b, np, name, res->op, in[0], out[0]);
    }
    if ((st = qc_onnx_emit_node(&im->b, res->op, name, in, n_in, out, n_out, &node))) return st;
    if ((st = qc_onnx_copy_attrs(im->b.g, node, np, res->op))) return st;
    return qc_onnx_infer_node(&im->b, node);
}

/* ---- outputs ------------------------------------------------------------------------ */

static qc_status add_outputs(importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    if (gp->n_output == 0) return qc_error(QC_ERR_INVALID, "the graph has no outputs");
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *nm = gp->output[i]->name ? gp->output[i]->name : "";
        int32_t id = *nm ? qc_graph_find_value(im->b.g, nm) : -1;
        if (id < 0)
            return qc_error(QC_ERR_INVALID, "graph output '%s' is not produced by any node, "
                            "initializer or graph input", nm);
        qc_status st = qc_graph_add_output(im->b.g, id);
        if (st) return st;
    }
    return NULL;
}

/* Declared output types (where the model gives them) must agree with what
 * qcomp computed: a disagreement means the import or an op is wrong, and is
 * better reported here than as wrong numbers later. Dims are compared only
 * where both sides are static numbers. */
static qc_status check_declared_outputs(const importer *im) {
    const qc_graph *g = im->b.g;
    for (size_t i = 0; i < im->gp->n_output && (int32_t)i < g->n_outputs; i++) {
        const Onnx__TypeProto__Tensor *tt = tensor_type(im->gp->output[i]);
        const qc_value *v = &g->values[g->outputs[i]];
        if (!tt || !tt->has_elem_type || tt->elem_type == 0) continue;
        bool ok = qc_onnx_dtype(tt->elem_type) == v->type.dtype;
        if (ok && tt->shape && (int32_t)tt->shape->n_dim != v->type.rank) ok = false;
        for (int32_t d = 0; ok && tt->shape && d < v->type.rank; d++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
            if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                v->type.dims[d] != QC_DIM_SYM)
                ok = dim->dim_value == v->type.dims[d];
        }
        if (ok) continue;
        char have[160], buf[32];
        qc_type_format(&v->type, g->batch, have, sizeof have);
        const char *declared = qc_onnx_dtype_name(tt->elem_type, buf, sizeof buf);
        return qc_error(QC_ERR_INVALID,
                        "graph output '%s' is declared %s%s but computes to %s", v->name,
                        declared, tt->shape ? " (with the shape given in the model)" : "", have);
    }
    return NULL;
}

/* ---- the model ---------------------------------------------------------------------- */

/* Names the rest of the importer relies on being present, and no sparse
 * initializers (their values would look like undefined names later). */
static qc_status check_names(const Onnx__GraphProto *gp) {
    if (gp->n_sparse_initializer)
        return qc_error(QC_ERR_UNSUPPORTED, "sparse initializers are not supported ('%s')",
                        gp->sparse_initializer[0]->values && gp->sparse_initializer[0]->values->name
                            ? gp->sparse_initializer[0]->values->name : "");
    for (size_t i = 0; i < gp->n_input; i++)
        if (!gp->input[i]->name || !*gp->input[i]->name)
            return qc_error(QC_ERR_INVALID, "graph input %zu has no name", i);
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (!gp->initializer[i]->name || !*gp->initializer[i]->name)
            return qc_error(QC_ERR_INVALID, "initializer %zu has no name", i);
    return NULL;
}

static qc_status import_graph(importer *im, qc_graph **out) {
    const Onnx__GraphProto *gp = im->gp;
    qc_status st = check_names(gp);
    if (!st) st = name_and_resolve(im);
    if (!st) st = unsupported_error(im);
    if (!st) st = match_bindings(im);
    const char *batch = NULL;
    if (!st) st = find_batch(im, &batch);
    qc_onnx_names *names = NULL;
    int32_t *order = NULL;
    if (!st) st = qc_onnx_order_nodes(gp, im->node_names, &names, &order);
    im->b.names = names;
    if (!st) st = qc_graph_create(gp->name && *gp->name ? gp->name : "main", &im->b.g);
    if (!st && batch) st = qc_graph_set_batch(im->b.g, batch);
    if (!st) st = add_initializers(im);
    if (!st) st = add_inputs(im);
    for (size_t i = 0; !st && i < gp->n_node; i++) st = emit_node(im, (size_t)order[i]);
    if (!st) st = add_outputs(im);
    if (!st && im->opts->fold_constants) st = qc_pass_run_pipeline(im->b.g, "const_fold,dce");
    if (!st) st = qc_graph_infer(im->b.g);
    if (!st) st = check_declared_outputs(im);
    if (!st) st = qc_graph_verify(im->b.g);
    qc_onnx_names_free(names);
    free(order);
    if (st) {
        qc_graph_destroy(im->b.g);
        im->b.g = NULL;
        return st;
    }
    *out = im->b.g;
    return NULL;
}

qc_status qc_onnx_import(const void *buf, size_t len, const char *source, const char *base_dir,
                         const qc_onnx_options *opts, qc_graph **out) {
    *out = NULL;
    const char *src = source && *source ? source : "<memory>";
    qc_onnx_options defaults;
    if (!opts) {
        qc_onnx_options_init(&defaults);
        opts = &defaults;
    }
    qc_status st = qc_onnx_wire_check(buf, len, &onnx__model_proto__descriptor, "the model");
    if (st) return qc_status_wrap(st, "%s", src);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m)
        return qc_error(QC_ERR_PARSE, "%s: not a valid ONNX model (protobuf decoding failed: "
                        "truncated, or not an .onnx file)", src);
    importer im = {.opts = opts, .gp = m->graph};
    im.b.base_dir = base_dir;
    st = read_opsets(m, &im.b.opsets);
    if (!st && !m->graph) st = qc_error(QC_ERR_INVALID, "the model has no graph");
    if (!st) st = import_graph(&im, out);
    for (size_t i = 0; im.node_names && m->graph && i < m->graph->n_node; i++)
        free(im.node_names[i]);
    free(im.node_names);
    free(im.ops);
    free(im.bound);
    onnx__model_proto__free_unpacked(m, NULL);
    return qc_status_wrap(st, "%s", src);
}

qc_status qc_onnx_import_file(const char *path, const qc_onnx_options *opts, qc_graph **out) {
    *out = NULL;
    uint8_t *buf;
    size_t len;
    qc_status st = qc_onnx_read_file(path, "ONNX model", &buf, &len);
    if (st) return st;
    char *dir = qc_onnx_dirname(path);   /* external data lives next to the model */
    if (!dir) st = qc_error(QC_ERR_NOMEM, "out of memory");
    else st = qc_onnx_import(buf, len, path, dir, opts, out);
    free(dir);
    free(buf);
    return st;
}

int qc_onnx_is_model_file(const char *path) {
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".onnx")) return 1;
    /* Exporters write ir_version (field 1, varint: key byte 0x08) first; a
     * text IR file never starts with a backspace. */
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int c = fgetc(f);
    fclose(f);
    return c == 0x08;
}
