/* row_chain.h — runs of consecutive nodes that only ever combine the same
 * batch row of their inputs ("row-local"), found on the graph alone.
 *
 * The memory planner keeps every value such a run reads from before it or
 * leaves for after it live across the whole run, so a backend may execute
 * the run block of batch rows by block (every node on rows [r0, r1) before
 * the next block: backends/cpu/chain.c) without one node's block
 * overwriting rows another has yet to read; values internal to the run
 * (qc_row_chain_internal) live in the backend's per-block scratch. */
#ifndef QC_PASSES_ROW_CHAIN_H
#define QC_PASSES_ROW_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* t has the symbolic batch as its leading dim and nowhere else. */
bool qc_type_batch_major(const qc_type *t);

/* Node n's non-constant inputs and outputs fit row blocking: outputs batch
 * major, inputs batch major or free of the batch dim. */
bool qc_row_chain_shapes_ok(const qc_graph *g, const qc_node *n);

/* For every node, chain_end[i] = the index one past the last node of the
 * row-local run that contains node i (i + 1 for a node in no run of two or
 * more). A run is maximal, consecutive in node order, and each node after
 * its first reads a value an earlier node of the run wrote. NULL out of
 * memory aside, chain_end has g->n_nodes entries. */
void qc_row_chains(const qc_graph *g, int32_t *chain_end);

/* Whether value v is internal to the run of nodes [first, end): one of them
 * produces it, only they read it, and it is no graph output. A backend that
 * runs the run in blocks keeps such values in per-block scratch; only the
 * others (read from before the run, or used after it) need arena slots that
 * stay disjoint across the run. Header-only, on raw node arrays, so the
 * runtime (backends/cpu/hal.c, which has no qc_graph) applies the very same
 * rule as the compiler. */
static inline bool qc_row_chain_internal(const qc_node *nodes, int32_t n_nodes,
                                         const int32_t *outputs, int32_t n_outputs,
                                         int32_t first, int32_t end, int32_t v) {
    bool produced = false;
    for (int32_t n = 0; n < n_nodes; n++) {
        for (int32_t k = 0; k < nodes[n].n_out; k++)
            if (nodes[n].out[k] == v) {
                if (n < first || n >= end) return false;
                produced = true;
            }
        for (int32_t k = 0; k < nodes[n].n_in; k++)
            if (nodes[n].in[k] == v && (n < first || n >= end)) return false;
    }
    for (int32_t o = 0; o < n_outputs; o++)
        if (outputs[o] == v) return false;
    return produced;
}

#endif
