/* chain.h — internal, compile side: which runs of consecutive generated nodes
 * the cpu device executes row block by row block instead of node by node. */
#ifndef QC_BACKENDS_CPU_CHAIN_H
#define QC_BACKENDS_CPU_CHAIN_H

#include <stdint.h>

#include "ir/ir.h"
#include "passes/memplan.h"

/* row_local[i]: node i has a generated kernel whose work units are
 * batch-major (qc_cpu_kernel.row_local). Fills, for every node, chain[i] =
 * the number of nodes of the chain that starts at i (0: none; chains have
 * >= 2 nodes and never nest) and row_bytes[i] = the arena bytes a chain
 * touches per batch row (its block-size hint; 0 off chain heads). */
void qc_cpu_plan_chains(const qc_graph *g, const qc_plan *plan, const uint8_t *row_local,
                        uint32_t *chain, uint32_t *row_bytes);

#endif
