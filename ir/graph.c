/* graph.c — the graph container and its builder API.
 *
 * The graph owns everything reachable from it. Value names are unique and
 * indexed by a small open-addressing hash so that importers and the text
 * parser resolve names in O(1) on models with thousands of tensors. */
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/ir.h"

static char *qc_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u;                      /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void index_insert(qc_graph *g, int32_t id) {
    uint32_t mask = (uint32_t)g->index_cap - 1;
    uint32_t at = name_hash(g->values[id].name) & mask;
    while (g->name_index[at] >= 0) at = (at + 1) & mask;
    g->name_index[at] = id;
}

static qc_status index_grow(qc_graph *g) {
    if (g->index_cap > 2 * (g->n_values + 1)) return NULL;
    int32_t cap = g->index_cap ? g->index_cap * 2 : 64;
    while (cap <= 2 * (g->n_values + 1)) cap *= 2;
    int32_t *idx = malloc((size_t)cap * sizeof *idx);
    if (!idx) return qc_error(QC_ERR_NOMEM, "out of memory growing the value index");
    for (int32_t i = 0; i < cap; i++) idx[i] = -1;
    free(g->name_index);
    g->name_index = idx;
    g->index_cap = cap;
    for (int32_t i = 0; i < g->n_values; i++) index_insert(g, i);
    return NULL;
}

qc_status qc_graph_reindex(qc_graph *g) {
    free(g->name_index);
    g->name_index = NULL;
    g->index_cap = 0;
    return index_grow(g);
}

int32_t qc_graph_find_value(const qc_graph *g, const char *name) {
    if (!g->index_cap) return -1;
    uint32_t mask = (uint32_t)g->index_cap - 1;
    for (uint32_t at = name_hash(name) & mask; g->name_index[at] >= 0; at = (at + 1) & mask)
        if (strcmp(g->values[g->name_index[at]].name, name) == 0) return g->name_index[at];
    return -1;
}

qc_status qc_graph_create(const char *name, qc_graph **out) {
    *out = NULL;
    qc_graph *g = calloc(1, sizeof *g);
    if (!g || !(g->name = qc_strdup(name ? name : "main"))) {
        free(g);
        return qc_error(QC_ERR_NOMEM, "out of memory creating graph");
    }
    *out = g;
    return NULL;
}

static void attr_free(qc_attr *a) {
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
}

void qc_graph_destroy(qc_graph *g) {
    if (!g) return;
    for (int32_t i = 0; i < g->n_values; i++) {
        qc_value *v = &g->values[i];
        free(v->name);
        free(v->data);
        free(v->quant.scale);
        free(v->quant.zero);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        qc_node *n = &g->nodes[i];
        free(n->name);
        free(n->in);
        free(n->out);
        for (int32_t a = 0; a < n->n_attr; a++) attr_free(&n->attr[a]);
        free(n->attr);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name_index);
    free(g->name);
    free(g->batch);
    free(g);
}

qc_status qc_graph_set_batch(qc_graph *g, const char *batch_name) {
    char *b = batch_name ? qc_strdup(batch_name) : NULL;
    if (batch_name && !b) return qc_error(QC_ERR_NOMEM, "out of memory");
    free(g->batch);
    g->batch = b;
    return NULL;
}

static qc_status check_type(const qc_type *t, const char *name) {
    if (t->rank < 0 || t->rank > QC_MAX_RANK)
        return qc_error(QC_ERR_INVALID, "value '%s': rank %d outside 0..%d", name, (int)t->rank,
                        QC_MAX_RANK);
    if (t->dtype < QC_DT_UNDEF || t->dtype >= QC_DT_COUNT)
        return qc_error(QC_ERR_INVALID, "value '%s': invalid element type %d", name,
                        (int)t->dtype);
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] < 0 && t->dims[i] != QC_DIM_SYM)
            return qc_error(QC_ERR_INVALID, "value '%s': dim %d is negative (%lld)", name, i,
                            (long long)t->dims[i]);
    return NULL;
}

qc_status qc_graph_add_value(qc_graph *g, const char *name, const qc_type *type, int32_t *id) {
    if (!name || !*name) return qc_error(QC_ERR_INVALID, "value name is empty");
    qc_status st = check_type(type, name);
    if (st) return st;
    if (qc_graph_find_value(g, name) >= 0)
        return qc_error(QC_ERR_INVALID, "value '%s' is defined twice", name);
    if ((st = index_grow(g))) return st;
    if (g->n_values == g->cap_values) {
        int32_t cap = g->cap_values ? g->cap_values * 2 : 16;
        qc_value *v = realloc(g->values, (size_t)cap * sizeof *v);
        if (!v) return qc_error(QC_ERR_NOMEM, "out of memory adding value '%s'", name);
        g->values = v;
        g->cap_values = cap;
    }
    qc_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    if (!(v->name = qc_strdup(name))) return qc_error(QC_ERR_NOMEM, "out of memory");
    v->type = *type;
    v->producer = -1;
    index_insert(g, g->n_values);
    if (id) *id = g->n_values;
    g->n_values++;
    return NULL;
}

qc_status qc_graph_add_const(qc_graph *g, const char *name, const qc_type *type,
                             const void *data, size_t nbytes, int32_t *id) {
    int64_t numel = qc_type_numel(type);
    if (numel < 0)
        return qc_error(QC_ERR_INVALID, "constant '%s' cannot have a symbolic dim", name);
    if (type->dtype == QC_DT_UNDEF)
        return qc_error(QC_ERR_INVALID, "constant '%s' has no element type", name);
    size_t want = qc_dtype_bytes(type->dtype, numel);
    if (nbytes != want)
        return qc_error(QC_ERR_INVALID, "constant '%s': %zu data bytes given, its type needs %zu",
                        name, nbytes, want);
    void *copy = malloc(nbytes ? nbytes : 1);
    if (!copy) return qc_error(QC_ERR_NOMEM, "out of memory for constant '%s'", name);
    if (nbytes) memcpy(copy, data, nbytes);
    int32_t vid;
    qc_status st = qc_graph_add_value(g, name, type, &vid);
    if (st) {
        free(copy);
        return st;
    }
    g->values[vid].data = copy;
    g->values[vid].nbytes = nbytes;
    if (id) *id = vid;
    return NULL;
}

static qc_status push_id(int32_t **arr, int32_t *n, int32_t id) {
    int32_t *a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);
    if (!a) return qc_error(QC_ERR_NOMEM, "out of memory");
    a[(*n)++] = id;
    *arr = a;
    return NULL;
}

qc_status qc_graph_add_input(qc_graph *g, int32_t id) {
    if (id < 0 || id >= g->n_values) return qc_error(QC_ERR_INVALID, "input id %d out of range", id);
    return push_id(&g->inputs, &g->n_inputs, id);
}

qc_status qc_graph_add_output(qc_graph *g, int32_t id) {
    if (id < 0 || id >= g->n_values) return qc_error(QC_ERR_INVALID, "output id %d out of range", id);
    return push_id(&g->outputs, &g->n_outputs, id);
}

qc_status qc_value_set_quant(qc_graph *g, int32_t id, const qc_quant *q) {
    if (id < 0 || id >= g->n_values) return qc_error(QC_ERR_INVALID, "value id %d out of range", id);
    qc_value *v = &g->values[id];
    if (q->count < 0 || (q->kind != QC_Q_NONE && q->count < 1))
        return qc_error(QC_ERR_INVALID, "value '%s': quant params need at least one entry", v->name);
    float *s = NULL;
    int32_t *z = NULL;
    if (q->count) {
        s = malloc((size_t)q->count * sizeof *s);
        z = malloc((size_t)q->count * sizeof *z);
        if (!s || !z) {
            free(s);
            free(z);
            return qc_error(QC_ERR_NOMEM, "out of memory");
        }
        memcpy(s, q->scale, (size_t)q->count * sizeof *s);
        memcpy(z, q->zero, (size_t)q->count * sizeof *z);
    }
    free(v->quant.scale);
    free(v->quant.zero);
    v->quant = *q;
    v->quant.scale = s;
    v->quant.zero = z;
    return NULL;
}

qc_status qc_graph_add_node(qc_graph *g, qc_op op, const char *name, const int32_t *in,
                            int32_t n_in, const int32_t *out, int32_t n_out, int32_t *node_id) {
    const qc_op_info *info = qc_op_get_info(op);
    const char *nm = name && *name ? name : "";
    if (!info) return qc_error(QC_ERR_INVALID, "node '%s': invalid op %d", nm, (int)op);
    if (n_in < info->min_in || n_in > info->max_in || n_out < info->min_out ||
        n_out > info->max_out)
        return qc_error(QC_ERR_INVALID,
                        "node '%s' (%s): %d inputs / %d outputs given, op takes %d..%d / %d..%d",
                        nm, info->name, n_in, n_out, info->min_in, info->max_in, info->min_out,
                        info->max_out);
    for (int32_t i = 0; i < n_in; i++)
        if (in[i] < -1 || in[i] >= g->n_values)
            return qc_error(QC_ERR_INVALID, "node '%s' (%s): input %d has bad id %d", nm,
                            info->name, i, in[i]);
    for (int32_t i = 0; i < n_out; i++) {
        if (out[i] < 0 || out[i] >= g->n_values)
            return qc_error(QC_ERR_INVALID, "node '%s' (%s): output %d has bad id %d", nm,
                            info->name, i, out[i]);
        const qc_value *v = &g->values[out[i]];
        if (v->producer >= 0 || v->data)
            return qc_error(QC_ERR_INVALID, "node '%s' (%s): value '%s' already has a producer",
                            nm, info->name, v->name);
        for (int32_t k = 0; k < i; k++)
            if (out[k] == out[i])
                return qc_error(QC_ERR_INVALID, "node '%s' (%s): value '%s' is output twice", nm,
                                info->name, v->name);
    }
    if (g->n_nodes == g->cap_nodes) {
        int32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 16;
        qc_node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return qc_error(QC_ERR_NOMEM, "out of memory adding node '%s'", nm);
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    qc_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = qc_strdup(*nm ? nm : g->values[out[0]].name);
    n->in = malloc((size_t)(n_in ? n_in : 1) * sizeof *n->in);
    n->out = malloc((size_t)n_out * sizeof *n->out);
    if (!n->name || !n->in || !n->out) {
        free(n->name);
        free(n->in);
        free(n->out);
        return qc_error(QC_ERR_NOMEM, "out of memory adding node '%s'", nm);
    }
    if (n_in) memcpy(n->in, in, (size_t)n_in * sizeof *in);
    memcpy(n->out, out, (size_t)n_out * sizeof *out);
    n->n_in = n_in;
    n->n_out = n_out;
    for (int32_t i = 0; i < n_out; i++) g->values[out[i]].producer = g->n_nodes;
    if (node_id) *node_id = g->n_nodes;
    g->n_nodes++;
    return NULL;
}

/* Returns the attribute slot for key on node (replacing an existing one). */
static qc_status attr_slot(qc_graph *g, int32_t node, const char *key, qc_attr **out) {
    if (node < 0 || node >= g->n_nodes)
        return qc_error(QC_ERR_INVALID, "node id %d out of range", node);
    qc_node *n = &g->nodes[node];
    for (int32_t i = 0; i < n->n_attr; i++)
        if (strcmp(n->attr[i].name, key) == 0) {
            attr_free(&n->attr[i]);
            memset(&n->attr[i], 0, sizeof n->attr[i]);
            if (!(n->attr[i].name = qc_strdup(key))) return qc_error(QC_ERR_NOMEM, "out of memory");
            *out = &n->attr[i];
            return NULL;
        }
    qc_attr *a = realloc(n->attr, (size_t)(n->n_attr + 1) * sizeof *a);
    if (!a) return qc_error(QC_ERR_NOMEM, "out of memory");
    n->attr = a;
    memset(&a[n->n_attr], 0, sizeof *a);
    if (!(a[n->n_attr].name = qc_strdup(key))) return qc_error(QC_ERR_NOMEM, "out of memory");
    *out = &a[n->n_attr++];
    return NULL;
}

qc_status qc_node_set_int(qc_graph *g, int32_t node, const char *key, int64_t v) {
    qc_attr *a;
    qc_status st = attr_slot(g, node, key, &a);
    if (st) return st;
    a->kind = QC_ATTR_INT;
    a->i = v;
    return NULL;
}

qc_status qc_node_set_float(qc_graph *g, int32_t node, const char *key, float v) {
    qc_attr *a;
    qc_status st = attr_slot(g, node, key, &a);
    if (st) return st;
    a->kind = QC_ATTR_FLOAT;
    a->f = v;
    return NULL;
}

qc_status qc_node_set_string(qc_graph *g, int32_t node, const char *key, const char *v) {
    qc_attr *a;
    qc_status st = attr_slot(g, node, key, &a);
    if (st) return st;
    a->kind = QC_ATTR_STRING;
    if (!(a->s = qc_strdup(v))) return qc_error(QC_ERR_NOMEM, "out of memory");
    return NULL;
}

qc_status qc_node_set_ints(qc_graph *g, int32_t node, const char *key, const int64_t *v, int32_t n) {
    qc_attr *a;
    qc_status st = attr_slot(g, node, key, &a);
    if (st) return st;
    a->kind = QC_ATTR_INTS;
    a->ints = malloc((size_t)(n ? n : 1) * sizeof *a->ints);
    if (!a->ints) return qc_error(QC_ERR_NOMEM, "out of memory");
    if (n) memcpy(a->ints, v, (size_t)n * sizeof *v);
    a->n = n;
    return NULL;
}

qc_status qc_node_set_floats(qc_graph *g, int32_t node, const char *key, const float *v, int32_t n) {
    qc_attr *a;
    qc_status st = attr_slot(g, node, key, &a);
    if (st) return st;
    a->kind = QC_ATTR_FLOATS;
    a->floats = malloc((size_t)(n ? n : 1) * sizeof *a->floats);
    if (!a->floats) return qc_error(QC_ERR_NOMEM, "out of memory");
    if (n) memcpy(a->floats, v, (size_t)n * sizeof *v);
    a->n = n;
    return NULL;
}
