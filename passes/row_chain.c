/* row_chain.c — row-local runs of nodes (passes/row_chain.h).
 *
 * Row-local ops: the GEMM family with a constant right operand (row r of
 * the output reads row r of the left one), elementwise ops and fused
 * elementwise programs, per-tensor quantize / dequantize, and Cast. Shapes
 * must put the batch first (qc_row_chain_shapes_ok). Whether a backend really
 * runs a run blocked is its own decision; this only shapes liveness. */
#include "passes/row_chain.h"

bool qc_type_batch_major(const qc_type *t) {
    if (t->rank < 1 || t->dims[0] != QC_DIM_SYM) return false;
    for (int32_t d = 1; d < t->rank; d++)
        if (t->dims[d] == QC_DIM_SYM) return false;
    return true;
}

static bool has_batch(const qc_type *t) {
    for (int32_t d = 0; d < t->rank; d++)
        if (t->dims[d] == QC_DIM_SYM) return true;
    return false;
}

bool qc_row_chain_shapes_ok(const qc_graph *g, const qc_node *n) {
    if (n->n_out < 1) return false;
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] < 0 || !qc_type_batch_major(&g->values[n->out[k]].type)) return false;
    for (int32_t k = 0; k < n->n_in; k++) {
        int32_t v = n->in[k];
        if (v < 0 || g->values[v].data) continue;
        const qc_type *t = &g->values[v].type;
        if (has_batch(t) && !qc_type_batch_major(t)) return false;
    }
    return true;
}

static bool is_const(const qc_graph *g, const qc_node *n, int32_t k) {
    return k < n->n_in && n->in[k] >= 0 && g->values[n->in[k]].data;
}

static bool row_op(const qc_graph *g, const qc_node *n) {
    switch (n->op) {
    case QC_OP_GEMM: case QC_OP_MATMUL: case QC_OP_FUSED_GEMM: case QC_OP_FUSED_MATMUL:
        return is_const(g, n, 1) && !qc_attr_int(n, "transA", 0);
    case QC_OP_MATMUL_INTEGER: return is_const(g, n, 1);
    case QC_OP_QGEMM: case QC_OP_QLINEAR_MATMUL: return is_const(g, n, 3);
    case QC_OP_QUANTIZE_LINEAR: case QC_OP_DEQUANTIZE_LINEAR:
        return n->n_in >= 2 && is_const(g, n, 1) &&
               qc_type_numel(&g->values[n->in[1]].type) == 1;
    case QC_OP_ELEMENTWISE: case QC_OP_CAST:
    case QC_OP_RELU: case QC_OP_LEAKY_RELU: case QC_OP_SIGMOID: case QC_OP_TANH: case QC_OP_ERF:
    case QC_OP_GELU: case QC_OP_CLIP: case QC_OP_SQRT: case QC_OP_EXP: case QC_OP_NEG:
    case QC_OP_ABS: case QC_OP_FLOOR: case QC_OP_CEIL: case QC_OP_ROUND: case QC_OP_RECIPROCAL:
    case QC_OP_LOG: case QC_OP_SIN: case QC_OP_COS: case QC_OP_SOFTPLUS: case QC_OP_SOFTSIGN:
    case QC_OP_HARD_SIGMOID: case QC_OP_HARD_SWISH: case QC_OP_ELU: case QC_OP_SELU:
    case QC_OP_CELU: case QC_OP_THRESHOLDED_RELU:
    case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: case QC_OP_POW:
        return true;
    default: return false;
    }
}

/* Node n reads an output of some node in [from, n). */
static bool reads_from(const qc_graph *g, int32_t n, int32_t from) {
    const qc_node *nd = &g->nodes[n];
    for (int32_t k = 0; k < nd->n_in; k++) {
        int32_t v = nd->in[k];
        int32_t p = v >= 0 ? g->values[v].producer : -1;
        if (p >= from && p < n) return true;
    }
    return false;
}

void qc_row_chains(const qc_graph *g, int32_t *chain_end) {
    for (int32_t i = 0; i < g->n_nodes; i++) chain_end[i] = i + 1;
    if (!g->batch) return;
    for (int32_t head = 0; head < g->n_nodes;) {
        const qc_node *h = &g->nodes[head];
        int32_t end = head + 1;
        if (row_op(g, h) && qc_row_chain_shapes_ok(g, h))
            while (end < g->n_nodes && row_op(g, &g->nodes[end]) &&
                   qc_row_chain_shapes_ok(g, &g->nodes[end]) && reads_from(g, end, head))
                end++;
        for (int32_t i = head; i < end && end - head >= 2; i++) chain_end[i] = end;
        head = end;
    }
}
