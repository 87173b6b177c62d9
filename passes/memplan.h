/* memplan.h — static memory planning: one arena per device, an offset per
 * value, planned at compile time from liveness.
 *
 * Sizes may depend on the graph's symbolic batch dim N, so every offset and
 * the arena size are linear in N: bytes = a + b * N (b = 0 when the graph has
 * no symbolic dim). The runtime evaluates them once the batch is bound. */
#ifndef QC_PASSES_MEMPLAN_H
#define QC_PASSES_MEMPLAN_H

#include "ir/ir.h"

typedef struct qc_plan {
    int32_t n_values;     /* == graph->n_values when planned */
    int64_t *off_a;       /* per value; -1 in both a and b: not in the arena (constants) */
    int64_t *off_b;
    int64_t size_a;       /* arena bytes = size_a + size_b * N */
    int64_t size_b;
    int32_t alignment;    /* every offset is a multiple of this (64) */
} qc_plan;

/* Plans every non-constant value (graph inputs and outputs included: the
 * runtime copies inputs in and outputs out) with liveness-based reuse and
 * in-place reuse where legal. */
qc_status qc_memplan(const qc_graph *g, qc_plan *out);
void qc_plan_free(qc_plan *p);

#endif
