/* dce.c — dead-code elimination.
 *
 * Marks every value the graph outputs depend on (walking nodes backwards,
 * which is enough because nodes are in topological order), then compacts the
 * graph keeping only live nodes, live values and the graph inputs (inputs are
 * part of the interface even when unused). */
#include <stdlib.h>

#include "ir/ir.h"
#include "passes/pass.h"

qc_status qc_pass_dce(qc_graph *g) {
    uint8_t *live_val = calloc((size_t)g->n_values + 1, 1);
    uint8_t *live_node = calloc((size_t)g->n_nodes + 1, 1);
    if (!live_val || !live_node) {
        free(live_val);
        free(live_node);
        return qc_error(QC_ERR_NOMEM, "out of memory in dce");
    }
    for (int32_t i = 0; i < g->n_outputs; i++) live_val[g->outputs[i]] = 1;
    for (int32_t i = 0; i < g->n_inputs; i++) live_val[g->inputs[i]] = 1;
    for (int32_t ni = g->n_nodes - 1; ni >= 0; ni--) {
        const qc_node *n = &g->nodes[ni];
        for (int32_t k = 0; k < n->n_out && !live_node[ni]; k++)
            if (live_val[n->out[k]]) live_node[ni] = 1;
        if (!live_node[ni]) continue;
        /* All outputs of a live node stay: the node produces them anyway. */
        for (int32_t k = 0; k < n->n_out; k++) live_val[n->out[k]] = 1;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) live_val[n->in[k]] = 1;
    }
    qc_status st = qc_graph_compact(g, live_node, live_val);
    free(live_val);
    free(live_node);
    return st;
}
