/* memplan.h — static memory planning: one arena per device, an offset per
 * value, planned at compile time from liveness.
 *
 * Sizes may depend on the graph's symbolic batch dim N, so every offset and
 * the arena size are linear in N: bytes = a + b * N (b = 0 when the graph has
 * no symbolic dim). The runtime evaluates them once the batch is bound.
 *
 * The plan is valid for every N >= 1 at once: two values that are live at the
 * same time never overlap, whatever N is bound later. Values that share an
 * offset are in-place pairs (an elementwise/reshape-like node writing its
 * output over an input that dies there); kernels of those ops must tolerate
 * out == in (element i of the output depends only on element i of that
 * input; copies use memmove or skip when the pointers are equal). */
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
/* The same with options: QC_PLAN_ROW_CHAINS keeps every value of a
 * row-local run (passes/row_chain.h) live across the run, so a backend can
 * execute the run in blocks of batch rows (backends/cpu/chain.c). */
#define QC_PLAN_ROW_CHAINS 1u
qc_status qc_memplan_flags(const qc_graph *g, uint32_t flags, qc_plan *out);
void qc_plan_free(qc_plan *p);

/* Byte size of value v as a + b * N (exact for N >= 1 except packed int4
 * with a symbolic dim, where it is a tight upper bound). */
qc_status qc_plan_value_size(const qc_graph *g, int32_t v, int64_t *a, int64_t *b);

/* Independent check of a plan at one concrete batch N: every planned value
 * is aligned, and no two values that are live at the same node overlap
 * unless they are a legal in-place pair with equal offsets; the arena holds
 * every buffer. Used by tests and by the "memplan" pass. */
qc_status qc_plan_check(const qc_graph *g, const qc_plan *p, int64_t batch);

/* Whether node n may write output 0 over input `in_index` (op-wise only; the
 * planner also requires equal sizes and that the input dies at n). */
bool qc_plan_op_inplace(const qc_node *n, int32_t in_index);

#endif
