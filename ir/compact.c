/* compact.c — removes nodes and values from a graph and renumbers ids.
 *
 * Passes mark what to keep; this is the one place that knows how to drop the
 * rest while keeping every id, producer link and the name index consistent. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static void free_value(qc_value *v) {
    free(v->name);
    free(v->data);
    free(v->quant.scale);
    free(v->quant.zero);
}

static void free_node(qc_node *n) {
    free(n->name);
    free(n->in);
    free(n->out);
    for (int32_t a = 0; a < n->n_attr; a++) {
        free(n->attr[a].name);
        free(n->attr[a].s);
        free(n->attr[a].ints);
        free(n->attr[a].floats);
    }
    free(n->attr);
}

qc_status qc_graph_compact(qc_graph *g, const uint8_t *keep_node, const uint8_t *keep_value) {
    int32_t *remap = malloc(((size_t)g->n_values + 1) * sizeof *remap);
    if (!remap) return qc_error(QC_ERR_NOMEM, "out of memory compacting graph");
    /* A kept node's inputs and outputs must be kept values. */
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        if (!keep_node[ni]) continue;
        const qc_node *n = &g->nodes[ni];
        for (int32_t k = 0; k < n->n_in + n->n_out; k++) {
            int32_t id = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
            if (id >= 0 && !keep_value[id]) {
                free(remap);
                return qc_node_error(n, QC_ERR_INTERNAL, "compaction would drop value '%s'",
                                     g->values[id].name);
            }
        }
    }
    for (int32_t i = 0; i < g->n_inputs + g->n_outputs; i++) {
        int32_t id = i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs];
        if (!keep_value[id]) {
            free(remap);
            return qc_error(QC_ERR_INTERNAL, "compaction would drop graph input/output '%s'",
                            g->values[id].name);
        }
    }
    int32_t nv = 0;
    for (int32_t i = 0; i < g->n_values; i++) {
        if (keep_value[i]) {
            remap[i] = nv;
            g->values[nv++] = g->values[i];
        } else {
            remap[i] = -1;
            free_value(&g->values[i]);
        }
    }
    g->n_values = nv;
    int32_t nn = 0;
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        if (!keep_node[ni]) {
            free_node(&g->nodes[ni]);
            continue;
        }
        g->nodes[nn] = g->nodes[ni];
        qc_node *dst = &g->nodes[nn];
        for (int32_t k = 0; k < dst->n_in; k++)
            if (dst->in[k] >= 0) dst->in[k] = remap[dst->in[k]];
        for (int32_t k = 0; k < dst->n_out; k++) dst->out[k] = remap[dst->out[k]];
        nn++;
    }
    g->n_nodes = nn;
    for (int32_t i = 0; i < g->n_values; i++) g->values[i].producer = -1;
    for (int32_t ni = 0; ni < g->n_nodes; ni++)
        for (int32_t k = 0; k < g->nodes[ni].n_out; k++) g->values[g->nodes[ni].out[k]].producer = ni;
    for (int32_t i = 0; i < g->n_inputs; i++) g->inputs[i] = remap[g->inputs[i]];
    for (int32_t i = 0; i < g->n_outputs; i++) g->outputs[i] = remap[g->outputs[i]];
    free(remap);
    return qc_graph_reindex(g);
}
