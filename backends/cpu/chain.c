/* chain.c — row-blocked chains of the cpu backend (docs/backend-cpu.md).
 *
 * Node by node, an MLP at batch 1000 streams every intermediate through
 * memory and pays a pool hand-off and a barrier per layer, while its small
 * tail layers run on one thread. When consecutive nodes are all row-local
 * (row r of each output depends only on row r of its batch inputs), the
 * device may instead run the whole run per block of batch rows: one parallel
 * job, every intermediate block still in L1/L2 when the next node reads it.
 *
 * That is legal when, besides row-locality,
 *  - every node's kernel addresses its units batch-major (units = b * batch,
 *    unit u belongs to batch row u / b): the generator says so
 *    (qc_cpu_kernel.row_local) and every non-constant input and output has
 *    the symbolic batch as its leading dim and nowhere else;
 *  - values internal to the chain (made and used only inside it) live in a
 *    per-block scratch buffer of the worker, never in the arena (the device
 *    applies qc_row_chain_internal, the same rule); of the others, no two
 *    arena slots the chain touches overlap at any batch size, except a node
 *    writing in place over its own input (same slot): reusing the slot of a
 *    dead value is safe node by node, but with blocks interleaved a later
 *    node's block would overwrite rows an earlier node has not consumed
 *    yet. The memory planner keeps such values live across the row-local
 *    run (passes/row_chain.h), so their slots are disjoint; this check holds
 *    whatever the plan (a clashing chain is cut short);
 *  - each node after the first reads a value the chain wrote (a connected
 *    run: nothing is gained otherwise).
 * Chains are greedy and maximal in node order. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/chain.h"
#include "passes/row_chain.h"

#define CHAIN_MAX_VALUES 256

/* The slot [start, end) of v as a + b * N. */
typedef struct slot {
    int32_t v;
    int64_t start_a, start_b, end_a, end_b;
    bool written;
    int32_t writer;   /* the chain node writing it, or -1 */
} slot;

static bool slot_of(const qc_graph *g, const qc_plan *p, int32_t v, slot *s) {
    int64_t sa = 0, sb = 0;
    if (v < 0 || v >= p->n_values || p->off_a[v] < 0 || qc_plan_value_size(g, v, &sa, &sb))
        return false;
    *s = (slot){v, p->off_a[v], p->off_b[v], p->off_a[v] + sa, p->off_b[v] + sb, false, -1};
    return true;
}

/* x entirely below y for every batch N >= 1 (both linear in N). */
static bool below(const slot *x, const slot *y) {
    return x->end_a + x->end_b <= y->start_a + y->start_b && x->end_b <= y->start_b;
}

static bool same_slot(const slot *x, const slot *y) {
    return x->start_a == y->start_a && x->start_b == y->start_b && x->end_a == y->end_a &&
           x->end_b == y->end_b;
}

typedef struct chain {
    slot s[CHAIN_MAX_VALUES];
    int32_t n;
} chain;

static int32_t find(const chain *c, int32_t v) {
    for (int32_t i = 0; i < c->n; i++)
        if (c->s[i].v == v) return i;
    return -1;
}

static bool reads(const qc_graph *g, int32_t node, int32_t v) {
    if (node < 0) return false;
    const qc_node *n = &g->nodes[node];
    for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] == v) return true;
    return false;
}

/* Node ni reads a value some node of [head, ni) wrote. */
static bool reads_chain(const qc_graph *g, int32_t head, int32_t ni) {
    for (int32_t p = head; p < ni; p++)
        for (int32_t k = 0; k < g->nodes[p].n_out; k++)
            if (reads(g, ni, g->nodes[p].out[k])) return true;
    return false;
}

/* The arena slots of [head, end) that the device really uses: every
 * non-constant value the nodes touch except those internal to the chain
 * (they live in per-block scratch). False when there are too many or one is
 * unplanned. */
static bool external_slots(const qc_graph *g, const qc_plan *p, int32_t head, int32_t end,
                           chain *c) {
    c->n = 0;
    for (int32_t ni = head; ni < end; ni++) {
        const qc_node *n = &g->nodes[ni];
        for (int32_t k = 0; k < n->n_in + n->n_out; k++) {
            bool out = k >= n->n_in;
            int32_t v = out ? n->out[k - n->n_in] : n->in[k];
            if (v < 0 || g->values[v].data || find(c, v) >= 0 ||
                qc_row_chain_internal(g->nodes, g->n_nodes, g->outputs, g->n_outputs, head, end, v))
                continue;
            if (c->n == CHAIN_MAX_VALUES || !slot_of(g, p, v, &c->s[c->n])) return false;
            int32_t pr = g->values[v].producer;
            c->s[c->n].written = pr >= head && pr < end;
            c->s[c->n].writer = c->s[c->n].written ? pr : -1;
            c->n++;
        }
    }
    return true;
}

/* Whether the slots of c conflict: a written slot overlapping any other,
 * unless the two are one slot that a node writes in place over its input. */
static bool conflicts(const qc_graph *g, const chain *c) {
    for (int32_t i = 0; i < c->n; i++) {
        for (int32_t j = 0; j < c->n; j++) {
            const slot *x = &c->s[i], *y = &c->s[j];
            if (i == j || !x->written || below(x, y) || below(y, x)) continue;
            if (!same_slot(x, y) || !(reads(g, x->writer, y->v) || reads(g, y->writer, x->v)))
                return true;
        }
    }
    return false;
}

/* Per-row bytes of every non-constant value the chain touches, each once:
 * the device's block-size hint. */
static uint32_t row_bytes_of(const qc_graph *g, int32_t head, int32_t end) {
    int32_t seen[CHAIN_MAX_VALUES], n_seen = 0;
    int64_t sum = 0;
    for (int32_t ni = head; ni < end; ni++) {
        const qc_node *n = &g->nodes[ni];
        for (int32_t k = 0; k < n->n_in + n->n_out; k++) {
            int32_t v = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
            bool dup = false;
            for (int32_t i = 0; i < n_seen && !dup; i++) dup = seen[i] == v;
            int64_t sa = 0, sb = 0;
            if (v < 0 || g->values[v].data || dup || n_seen == CHAIN_MAX_VALUES ||
                qc_plan_value_size(g, v, &sa, &sb))
                continue;
            seen[n_seen++] = v;
            sum += sb;
        }
    }
    return sum <= 0 ? 1u : sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

static bool joins(const qc_graph *g, const uint8_t *row_local, int32_t ni) {
    return row_local[ni] && qc_row_chain_shapes_ok(g, &g->nodes[ni]);
}

void qc_cpu_plan_chains(const qc_graph *g, const qc_plan *plan, const uint8_t *row_local,
                        uint32_t *chain_len, uint32_t *row_bytes) {
    memset(chain_len, 0, sizeof *chain_len * (size_t)g->n_nodes);
    memset(row_bytes, 0, sizeof *row_bytes * (size_t)g->n_nodes);
    if (!plan || !g->batch) return;
    chain *c = malloc(sizeof *c);
    if (!c) return;   /* no chains: node by node is always correct */
    for (int32_t head = 0; head < g->n_nodes;) {
        if (!joins(g, row_local, head)) {
            head++;
            continue;
        }
        int32_t end = head + 1;
        while (end < g->n_nodes && joins(g, row_local, end) && reads_chain(g, head, end)) end++;
        /* The longest prefix whose arena slots cannot clash. */
        while (end - head >= 2 && (!external_slots(g, plan, head, end, c) || conflicts(g, c))) end--;
        if (end - head >= 2) {
            chain_len[head] = (uint32_t)(end - head);
            row_bytes[head] = row_bytes_of(g, head, end);
        }
        head = end;
    }
    free(c);
}
