/* order.c — the model's value names and a topological order of its nodes.
 *
 * ONNX requires nodes in topological order but files in the wild are not
 * always so; qcomp's builder needs every input defined before use. A depth-
 * first walk over producers (iterative: a long chain must not recurse) yields
 * the file's own order when it already is topological, and proves there are
 * no cycles, no inputs that nothing defines and no value defined twice. */
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_internal.h"

enum { K_INIT = 1, K_INPUT = 2, K_NODE = 4 };

struct qc_onnx_names {
    const char **keys;      /* borrowed from the ModelProto */
    int32_t *producer;      /* node index, or -1 */
    uint8_t *kind;          /* K_* bits */
    uint32_t cap;           /* power of two, > 2 * count */
    uint32_t count;
};

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The slot holding `name`, or the empty slot where it would go. */
static uint32_t slot(const qc_onnx_names *t, const char *name) {
    uint32_t mask = t->cap - 1, at = hash(name) & mask;
    while (t->keys[at] && strcmp(t->keys[at], name)) at = (at + 1) & mask;
    return at;
}

static qc_status names_create(size_t expected, qc_onnx_names **out) {
    qc_onnx_names *t = calloc(1, sizeof *t);
    uint32_t cap = 64;
    while (cap <= 2 * expected && cap < (1u << 30)) cap *= 2;
    if (t && expected < (1u << 29)) {
        t->cap = cap;
        t->keys = calloc(cap, sizeof *t->keys);
        t->producer = calloc(cap, sizeof *t->producer);
        t->kind = calloc(cap, 1);
    }
    if (!t || !t->keys || !t->producer || !t->kind) {
        qc_onnx_names_free(t);
        return qc_error(QC_ERR_NOMEM, "out of memory indexing %zu value names", expected);
    }
    *out = t;
    return NULL;
}

void qc_onnx_names_free(qc_onnx_names *t) {
    if (!t) return;
    free(t->keys);
    free(t->producer);
    free(t->kind);
    free(t);
}

bool qc_onnx_names_has(const qc_onnx_names *t, const char *name) {
    return t->keys[slot(t, name)] != NULL;
}

/* Adds `name` (if new) and returns its slot. The table was sized for every
 * name up front, so it never fills. */
static uint32_t insert(qc_onnx_names *t, const char *name) {
    uint32_t at = slot(t, name);
    if (!t->keys[at]) {
        t->keys[at] = name;
        t->producer[at] = -1;
        t->count++;
    }
    return at;
}

static const char *op_of(const Onnx__NodeProto *np) { return np->op_type ? np->op_type : "?"; }

/* Records initializers, graph inputs and node outputs, rejecting names that
 * are empty or defined twice. */
static qc_status record_definitions(const Onnx__GraphProto *gp, char *const *node_names,
                                    qc_onnx_names *t) {
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const char *nm = gp->initializer[i]->name;
        if (!nm || !*nm) return qc_error(QC_ERR_INVALID, "initializer %zu has no name", i);
        uint32_t at = insert(t, nm);
        if (t->kind[at] & K_INIT)
            return qc_error(QC_ERR_INVALID, "initializer '%s' is defined twice", nm);
        t->kind[at] |= K_INIT;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *nm = gp->input[i]->name;
        if (!nm || !*nm) return qc_error(QC_ERR_INVALID, "graph input %zu has no name", i);
        uint32_t at = insert(t, nm);
        if (t->kind[at] & K_INPUT)
            return qc_error(QC_ERR_INVALID, "graph input '%s' is listed twice", nm);
        t->kind[at] |= K_INPUT;
    }
    for (size_t n = 0; n < gp->n_node; n++) {
        const Onnx__NodeProto *np = gp->node[n];
        for (size_t k = 0; k < np->n_output; k++) {
            const char *nm = np->output[k];
            if (!*nm) continue;   /* an optional output left out */
            uint32_t at = insert(t, nm);
            if (t->kind[at] & (K_INIT | K_INPUT))
                return qc_error(QC_ERR_INVALID,
                                "node '%s' (%s): output '%s' redefines a graph %s", node_names[n],
                                op_of(np), nm, t->kind[at] & K_INIT ? "initializer" : "input");
            if (t->kind[at] & K_NODE) {
                int32_t p = t->producer[at];
                if (p == (int32_t)n)
                    return qc_error(QC_ERR_INVALID, "node '%s' (%s): output '%s' is listed twice",
                                    node_names[n], op_of(np), nm);
                return qc_error(QC_ERR_INVALID,
                                "value '%s' is produced by two nodes: '%s' (%s) and '%s' (%s)", nm,
                                node_names[p], op_of(gp->node[p]), node_names[n], op_of(np));
            }
            t->kind[at] |= K_NODE;
            t->producer[at] = (int32_t)n;
        }
    }
    return NULL;
}

/* Producer of node n's input k: a node index, -1 for graph inputs,
 * initializers and absent optional inputs, or -2 when nothing defines it. */
static int32_t producer_of(const qc_onnx_names *t, const Onnx__NodeProto *np, size_t k) {
    const char *nm = np->input[k];
    if (!*nm) return -1;
    uint32_t at = slot(t, nm);
    return t->keys[at] ? t->producer[at] : -2;
}

/* Iterative depth-first post-order from each node in file order. */
static qc_status topo_sort(const Onnx__GraphProto *gp, char *const *node_names,
                           const qc_onnx_names *t, int32_t *order) {
    size_t n_node = gp->n_node, emitted = 0;
    uint8_t *state = calloc(n_node + 1, 1);   /* 0 new, 1 on the stack, 2 emitted */
    int32_t *stack = malloc((n_node + 1) * sizeof *stack);
    size_t *next = calloc(n_node + 1, sizeof *next);   /* next input to look at, per node */
    qc_status st = NULL;
    if (!state || !stack || !next) st = qc_error(QC_ERR_NOMEM, "out of memory ordering nodes");
    for (size_t root = 0; !st && root < n_node; root++) {
        if (state[root]) continue;
        size_t depth = 0;
        stack[depth++] = (int32_t)root;
        state[root] = 1;
        while (!st && depth) {
            int32_t n = stack[depth - 1];
            const Onnx__NodeProto *np = gp->node[n];
            if (next[n] == np->n_input) {
                state[n] = 2;
                order[emitted++] = n;
                depth--;
                continue;
            }
            size_t k = next[n]++;
            int32_t p = producer_of(t, np, k);
            if (p == -2)
                st = qc_error(QC_ERR_INVALID,
                              "node '%s' (%s): input '%s' is not produced by any node, "
                              "initializer or graph input", node_names[n], op_of(np),
                              np->input[k]);
            else if (p >= 0 && state[p] == 1)
                st = qc_error(QC_ERR_INVALID,
                              "the graph has a cycle: node '%s' (%s) needs '%s' from node '%s' "
                              "(%s), which depends on node '%s' in turn", node_names[n], op_of(np),
                              np->input[k], node_names[p], op_of(gp->node[p]), node_names[n]);
            else if (p >= 0 && state[p] == 0) {
                state[p] = 1;
                stack[depth++] = p;
            }
        }
    }
    free(state);
    free(stack);
    free(next);
    return st;
}

qc_status qc_onnx_order_nodes(const Onnx__GraphProto *gp, char *const *node_names,
                              qc_onnx_names **names, int32_t **order) {
    *names = NULL;
    *order = NULL;
    size_t expected = gp->n_initializer + gp->n_input;
    for (size_t n = 0; n < gp->n_node; n++) expected += gp->node[n]->n_output;
    qc_onnx_names *t = NULL;
    qc_status st = names_create(expected, &t);
    if (st) return st;
    int32_t *ord = malloc((gp->n_node + 1) * sizeof *ord);
    if (!ord) st = qc_error(QC_ERR_NOMEM, "out of memory ordering nodes");
    if (!st) st = record_definitions(gp, node_names, t);
    if (!st) st = topo_sort(gp, node_names, t, ord);
    if (st) {
        qc_onnx_names_free(t);
        free(ord);
        return st;
    }
    *names = t;
    *order = ord;
    return NULL;
}
