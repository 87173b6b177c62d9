/* row_chain.h — runs of consecutive nodes that only ever combine the same
 * batch row of their inputs ("row-local"), found on the graph alone.
 *
 * The memory planner keeps every value such a run touches live across the
 * whole run, so a backend may execute the run block of batch rows by block
 * (every node on rows [r0, r1) before the next block: backends/cpu/chain.c)
 * without one node's block overwriting rows another has yet to read. */
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

#endif
