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
 *  - no two arena buffers the chain touches overlap at any batch size,
 *    except a node writing in place over its own input (same slot): reusing
 *    the slot of a dead value is safe node by node, but with blocks
 *    interleaved a later node's block would overwrite rows an earlier node
 *    has not consumed yet. The memory planner keeps every value of a
 *    row-local run (passes/row_chain.h) live across the run, so its slots
 *    are disjoint; this check holds whatever the plan;
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

/* Adds node ni's arena values to c; false if they do not fit or conflict,
 * or if must_read and ni reads no value the chain wrote (c is then
 * unchanged). */
static bool try_add(const qc_graph *g, const qc_plan *p, chain *c, int32_t ni, bool must_read) {
    chain t = *c;
    const qc_node *n = &g->nodes[ni];
    bool reads_chain = false;
    for (int32_t k = 0; k < n->n_in + n->n_out; k++) {
        bool out = k >= n->n_in;
        int32_t v = out ? n->out[k - n->n_in] : n->in[k];
        if (v < 0 || g->values[v].data) continue;
        int32_t at = find(&t, v);
        if (at >= 0) {
            if (!out && t.s[at].written) reads_chain = true;
            if (out) return false;   /* written twice: not a dataflow graph */
            continue;
        }
        if (t.n == CHAIN_MAX_VALUES || !slot_of(g, p, v, &t.s[t.n])) return false;
        t.s[t.n].written = out;
        t.s[t.n].writer = out ? ni : -1;
        t.n++;
    }
    if ((must_read && !reads_chain) || conflicts(g, &t)) return false;
    *c = t;
    return true;
}

static uint32_t row_bytes_of(const chain *c) {
    int64_t sum = 0;
    for (int32_t i = 0; i < c->n; i++) sum += c->s[i].end_b - c->s[i].start_b;
    return sum <= 0 ? 1u : sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

void qc_cpu_plan_chains(const qc_graph *g, const qc_plan *plan, const uint8_t *row_local,
                        uint32_t *chain_len, uint32_t *row_bytes) {
    memset(chain_len, 0, sizeof *chain_len * (size_t)g->n_nodes);
    memset(row_bytes, 0, sizeof *row_bytes * (size_t)g->n_nodes);
    if (!plan || !g->batch) return;
    chain *c = malloc(sizeof *c);
    if (!c) return;   /* no chains: node by node is always correct */
    for (int32_t head = 0; head < g->n_nodes;) {
        c->n = 0;
        if (!row_local[head] || !qc_row_chain_shapes_ok(g, &g->nodes[head]) ||
            !try_add(g, plan, c, head, false)) {
            head++;
            continue;
        }
        int32_t end = head + 1;
        while (end < g->n_nodes && row_local[end] && qc_row_chain_shapes_ok(g, &g->nodes[end]) &&
               try_add(g, plan, c, end, true))
            end++;
        if (end - head >= 2) {
            chain_len[head] = (uint32_t)(end - head);
            row_bytes[head] = row_bytes_of(c);
        }
        head = end;
    }
    free(c);
}
