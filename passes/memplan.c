/* memplan.c — arena planning from liveness (passes/memplan.h).
 *
 * Liveness comes from the node order: a value lives from its producer (node
 * index, or -1 for graph inputs) to its last reader (or n_nodes for graph
 * outputs, which the runtime copies out after the last node). Live ranges are
 * inclusive, so a node's inputs and outputs always conflict unless the pair
 * is merged in place. With QC_PLAN_ROW_CHAINS (the compile does it when the
 * cpu target is built), every value a row-local run (passes/row_chain.h)
 * reads from before it or leaves for after it lives across the whole run, so
 * that the cpu device may execute the run block of batch rows by block,
 * interleaving its nodes; values internal to the run keep their normal
 * liveness (the device holds them in per-block scratch, never in their
 * slots).
 *
 * Sizes are linear in the batch N (a + b*N). Blocks are placed largest first
 * (by b, then a) at the best-fitting candidate offset: 0 or the aligned end of
 * a conflicting block already placed, accepted when the new block lies
 * entirely below or above every conflicting block for ALL N >= 1. For linear
 * functions X <= Y holds on N >= 1 iff it holds at N = 1 and X's slope is no
 * larger, which is tighter than comparing coefficients one by one. The arena
 * size is the coefficient-wise maximum of the block ends, an upper bound of
 * every end for every N. */
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "passes/row_chain.h"

#define QC_PLAN_ALIGN 64

typedef struct lin { int64_t a, b; } lin;   /* a + b*N */

static lin lin_add(lin x, lin y) { return (lin){x.a + y.a, x.b + y.b}; }
/* x <= y for every N >= 1. */
static bool lin_le(lin x, lin y) { return x.a + x.b <= y.a + y.b && x.b <= y.b; }
static int64_t align_up(int64_t v) { return (v + QC_PLAN_ALIGN - 1) / QC_PLAN_ALIGN * QC_PLAN_ALIGN; }
static lin lin_align(lin x) { return (lin){align_up(x.a), align_up(x.b)}; }
/* Order used for "larger" / "tighter": slope first (dominates for big N). */
static int lin_cmp(lin x, lin y) {
    if (x.b != y.b) return x.b < y.b ? -1 : 1;
    if (x.a != y.a) return x.a < y.a ? -1 : 1;
    return 0;
}

qc_status qc_plan_value_size(const qc_graph *g, int32_t v, int64_t *a, int64_t *b) {
    const qc_type *t = &g->values[v].type;
    int bits = qc_dtype_bits(t->dtype);
    if (bits == 0)
        return qc_error(QC_ERR_INVALID, "memplan: value '%s' has no element type",
                        g->values[v].name);
    int64_t stat = 1;
    int nsym = 0;
    for (int32_t d = 0; d < t->rank; d++) {
        if (t->dims[d] == QC_DIM_SYM) nsym++;
        else stat *= t->dims[d];
    }
    if (nsym > 1)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "memplan: value '%s' uses the symbolic dim twice (size not linear in it)",
                        g->values[v].name);
    int64_t bytes = (stat * bits + 7) / 8;   /* int4: ceil(stat/2) */
    /* With a symbolic dim, ceil(stat*N/2) <= ceil(stat/2)*N for N >= 1. */
    *a = nsym ? 0 : bytes;
    *b = nsym ? bytes : 0;
    return NULL;
}

bool qc_plan_op_inplace(const qc_node *n, int32_t in_index) {
    switch (n->op) {
    /* unary elementwise: out[i] = f(in[i]) */
    case QC_OP_RELU: case QC_OP_LEAKY_RELU: case QC_OP_SIGMOID: case QC_OP_TANH:
    case QC_OP_ERF: case QC_OP_GELU: case QC_OP_SQRT: case QC_OP_EXP: case QC_OP_NEG:
    case QC_OP_ABS: case QC_OP_FLOOR: case QC_OP_CEIL: case QC_OP_ROUND:
    case QC_OP_RECIPROCAL: case QC_OP_LOG: case QC_OP_SIGN: case QC_OP_SIN: case QC_OP_COS:
    case QC_OP_SOFTPLUS: case QC_OP_SOFTSIGN: case QC_OP_HARD_SIGMOID: case QC_OP_HARD_SWISH:
    case QC_OP_ELU: case QC_OP_SELU: case QC_OP_CELU: case QC_OP_THRESHOLDED_RELU:
    case QC_OP_CLIP: case QC_OP_PRELU:
    /* pure reinterpretations of the same bytes */
    case QC_OP_IDENTITY: case QC_OP_RESHAPE: case QC_OP_FLATTEN: case QC_OP_SQUEEZE:
    case QC_OP_UNSQUEEZE:
        return in_index == 0;
    /* binary elementwise: the full-size operand may be overwritten (the
     * planner checks sizes, so a broadcast operand never qualifies) */
    case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: case QC_OP_POW:
        return in_index == 0 || in_index == 1;
    default:
        return false;
    }
}

/* Per-value live range and graph-role flags shared by planner and checker. */
typedef struct live {
    int32_t *start, *end;   /* inclusive; start > end: not planned */
    uint8_t *io;            /* graph input or output */
} live;

static void live_free(live *l) {
    free(l->start);
    free(l->end);
    free(l->io);
}

static qc_status live_compute(const qc_graph *g, bool row_chains, live *l) {
    int32_t nv = g->n_values;
    l->start = malloc(sizeof(int32_t) * (size_t)(nv ? nv : 1));
    l->end = malloc(sizeof(int32_t) * (size_t)(nv ? nv : 1));
    l->io = calloc((size_t)(nv ? nv : 1), 1);
    if (!l->start || !l->end || !l->io) {
        live_free(l);
        return qc_error(QC_ERR_NOMEM, "memplan: out of memory");
    }
    for (int32_t v = 0; v < nv; v++) {
        l->start[v] = INT32_MAX;
        l->end[v] = INT32_MIN;
    }
    for (int32_t i = 0; i < g->n_inputs; i++) {
        l->start[g->inputs[i]] = -1;
        l->end[g->inputs[i]] = -1;
        l->io[g->inputs[i]] = 1;
    }
    for (int32_t n = 0; n < g->n_nodes; n++) {
        const qc_node *nd = &g->nodes[n];
        for (int32_t o = 0; o < nd->n_out; o++) {
            int32_t v = nd->out[o];
            if (v < 0) continue;
            if (l->start[v] > n) l->start[v] = n;
            if (l->end[v] < n) l->end[v] = n;   /* written even if never read */
        }
        for (int32_t k = 0; k < nd->n_in; k++) {
            int32_t v = nd->in[k];
            if (v >= 0 && l->end[v] < n) l->end[v] = n;
        }
    }
    for (int32_t i = 0; i < g->n_outputs; i++) {
        int32_t v = g->outputs[i];
        l->io[v] = 1;
        l->end[v] = g->n_nodes;
        if (l->start[v] > g->n_nodes) l->start[v] = g->n_nodes;
    }
    int32_t *chain_end = row_chains ? malloc(sizeof(int32_t) * (size_t)(g->n_nodes + 1)) : NULL;
    if (row_chains && !chain_end) {
        live_free(l);
        return qc_error(QC_ERR_NOMEM, "memplan: out of memory");
    }
    if (chain_end) qc_row_chains(g, chain_end);
    for (int32_t n = 0; chain_end && n < g->n_nodes; n++) {
        int32_t first = n, last = chain_end[n] - 1;
        while (first > 0 && chain_end[first - 1] == chain_end[n]) first--;
        if (last == first) continue;   /* not in a run */
        const qc_node *nd = &g->nodes[n];
        for (int32_t k = 0; k < nd->n_in + nd->n_out; k++) {
            int32_t v = k < nd->n_in ? nd->in[k] : nd->out[k - nd->n_in];
            if (v < 0 || qc_row_chain_internal(g->nodes, g->n_nodes, g->outputs, g->n_outputs,
                                               first, last + 1, v))
                continue;   /* blocked runs keep it in scratch: normal liveness */
            if (l->start[v] > first) l->start[v] = first;
            if (l->end[v] < last) l->end[v] = last;
        }
    }
    free(chain_end);
    for (int32_t v = 0; v < nv; v++)
        if (g->values[v].data) l->start[v] = INT32_MAX;   /* constants live outside */
    return NULL;
}

static bool overlap_time(const live *l, int32_t u, int32_t v) {
    return l->start[u] <= l->end[v] && l->start[v] <= l->end[u];
}

/* Union-find over in-place merges: a group is one block. */
static int32_t find(int32_t *parent, int32_t v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
}

typedef struct block {
    int32_t rep;        /* group representative */
    int32_t start, end;
    lin size, off;
    bool placed;
} block;

static int cmp_block_size(const void *x, const void *y) {
    const block *p = x, *q = y;
    int c = lin_cmp(q->size, p->size);   /* descending */
    if (c) return c;
    return p->start < q->start ? -1 : p->start > q->start;
}

/* Best fit for block b among the placed blocks it conflicts with (indices in
 * conf[0..nc)): the candidate with the least slack below the next block up.
 * Collecting the conflicts first keeps planning O(n * (n + k^2)) for k
 * simultaneously live blocks instead of O(n^3). */
static lin place_one(const block *bl, const int32_t *conf, int32_t nc, const block *b) {
    lin best = {0, 0}, best_gap = {0, 0};
    bool have = false, best_open = true;
    for (int32_t c = -1; c < nc; c++) {
        lin cand = c < 0 ? (lin){0, 0} : lin_align(lin_add(bl[conf[c]].off, bl[conf[c]].size));
        lin cend = lin_add(cand, b->size);
        bool ok = true, open = true;
        lin gap = {0, 0};
        for (int32_t k = 0; k < nc && ok; k++) {
            const block *p = &bl[conf[k]];
            lin pend = lin_add(p->off, p->size);
            if (lin_le(cend, p->off)) {
                lin gk = {p->off.a - cend.a, p->off.b - cend.b};
                if (open || lin_cmp(gk, gap) < 0) gap = gk;
                open = false;
            } else if (!lin_le(pend, cand)) {
                ok = false;
            }
        }
        if (!ok) continue;
        /* Prefer a closed gap (reuse of a freed hole) with the least slack;
         * among open-ended candidates, the lowest offset. */
        bool better = !have || (!open && best_open) ||
                      (!open && !best_open && lin_cmp(gap, best_gap) < 0) ||
                      (open && best_open && lin_cmp(cand, best) < 0);
        if (better) {
            best = cand;
            best_gap = gap;
            best_open = open;
            have = true;
        }
    }
    return best;   /* the candidate on top of the highest block always fits */
}

qc_status qc_memplan(const qc_graph *g, qc_plan *out) { return qc_memplan_flags(g, 0, out); }

qc_status qc_memplan_flags(const qc_graph *g, uint32_t flags, qc_plan *out) {
    memset(out, 0, sizeof *out);
    int32_t nv = g->n_values;
    live l;
    qc_status st = live_compute(g, (flags & QC_PLAN_ROW_CHAINS) != 0, &l);
    if (st) return st;
    int32_t *parent = malloc(sizeof(int32_t) * (size_t)(nv ? nv : 1));
    lin *size = malloc(sizeof(lin) * (size_t)(nv ? nv : 1));
    block *bl = malloc(sizeof(block) * (size_t)(nv ? nv : 1));
    int32_t *bidx = malloc(sizeof(int32_t) * (size_t)(nv ? nv : 1));
    out->off_a = malloc(sizeof(int64_t) * (size_t)(nv ? nv : 1));
    out->off_b = malloc(sizeof(int64_t) * (size_t)(nv ? nv : 1));
    if (!parent || !size || !bl || !bidx || !out->off_a || !out->off_b) {
        st = qc_error(QC_ERR_NOMEM, "memplan: out of memory");
        goto done;
    }
    for (int32_t v = 0; v < nv; v++) {
        parent[v] = v;
        size[v] = (lin){0, 0};
        if (l.start[v] <= l.end[v] &&
            (st = qc_plan_value_size(g, v, &size[v].a, &size[v].b)))
            goto done;
    }
    /* In-place merges, in node order so chains (x -> Relu -> Reshape) form
     * one group. The input must die here, match in size, and not be a graph
     * input/output (those buffers belong to the caller's copy in/out). */
    for (int32_t n = 0; n < g->n_nodes; n++) {
        const qc_node *nd = &g->nodes[n];
        if (nd->n_out < 1 || nd->out[0] < 0) continue;
        int32_t o = nd->out[0];
        if (l.start[o] != n || find(parent, o) != o) continue;
        for (int32_t k = 0; k < nd->n_in; k++) {
            int32_t x = nd->in[k];
            if (x < 0 || x == o || g->values[x].data || l.io[x] || l.end[x] != n) continue;
            if (!qc_plan_op_inplace(nd, k)) continue;
            if (size[x].a != size[o].a || size[x].b != size[o].b) continue;
            /* The same value read twice (Add(x, x)) is still fine: element
             * i of the output reads only element i of x. */
            parent[o] = find(parent, x);
            break;
        }
    }
    int32_t nb = 0;
    for (int32_t v = 0; v < nv; v++) {
        bidx[v] = -1;
        if (l.start[v] > l.end[v]) continue;
        int32_t r = find(parent, v);
        if (r == v) {
            bl[nb] = (block){.rep = v, .start = l.start[v], .end = l.end[v], .size = size[v]};
            bidx[v] = nb++;
        }
    }
    for (int32_t v = 0; v < nv; v++) {   /* widen each group's range to its members' */
        if (l.start[v] > l.end[v]) continue;
        int32_t r = find(parent, v);
        if (r == v) continue;
        block *b = &bl[bidx[r]];
        if (l.start[v] < b->start) b->start = l.start[v];
        if (l.end[v] > b->end) b->end = l.end[v];
    }
    qsort(bl, (size_t)nb, sizeof *bl, cmp_block_size);
    lin peak = {0, 0};
    for (int32_t i = 0; i < nb; i++) {
        int32_t nc = 0;   /* bidx is free scratch here: conflicting placed blocks */
        for (int32_t k = 0; k < i; k++)
            if (bl[k].start <= bl[i].end && bl[i].start <= bl[k].end) bidx[nc++] = k;
        bl[i].off = place_one(bl, bidx, nc, &bl[i]);
        bl[i].placed = true;
        lin end = lin_add(bl[i].off, bl[i].size);
        if (end.a > peak.a) peak.a = end.a;
        if (end.b > peak.b) peak.b = end.b;
    }
    for (int32_t i = 0; i < nb; i++) bidx[bl[i].rep] = i;
    for (int32_t v = 0; v < nv; v++) {
        out->off_a[v] = out->off_b[v] = -1;
        if (l.start[v] > l.end[v]) continue;
        const block *b = &bl[bidx[find(parent, v)]];
        out->off_a[v] = b->off.a;
        out->off_b[v] = b->off.b;
    }
    peak = lin_align(peak);
    out->n_values = nv;
    out->size_a = peak.a;
    out->size_b = peak.b;
    out->alignment = QC_PLAN_ALIGN;
done:
    live_free(&l);
    free(parent);
    free(size);
    free(bl);
    free(bidx);
    if (st) qc_plan_free(out);
    return st;
}

void qc_plan_free(qc_plan *p) {
    if (!p) return;
    free(p->off_a);
    free(p->off_b);
    memset(p, 0, sizeof *p);
}

/* Whether u and v may share bytes: v is written in place over u by a node
 * where u dies (or the reverse), directly. */
static bool inplace_pair(const qc_graph *g, const live *l, int32_t u, int32_t v) {
    for (int pass = 0; pass < 2; pass++) {
        int32_t x = pass ? v : u, o = pass ? u : v;
        int32_t n = g->values[o].producer;
        if (n < 0 || l->end[x] != n || l->io[x]) continue;
        const qc_node *nd = &g->nodes[n];
        if (nd->n_out < 1 || nd->out[0] != o) continue;
        for (int32_t k = 0; k < nd->n_in; k++)
            if (nd->in[k] == x && qc_plan_op_inplace(nd, k)) return true;
    }
    return false;
}

qc_status qc_plan_check(const qc_graph *g, const qc_plan *p, int64_t batch) {
    if (p->n_values != g->n_values)
        return qc_error(QC_ERR_INTERNAL, "memplan: plan has %d values, graph %d",
                        (int)p->n_values, (int)g->n_values);
    live l;
    qc_status st = live_compute(g, false, &l);
    if (st) return st;
    int64_t arena = p->size_a + p->size_b * batch;
    for (int32_t u = 0; u < g->n_values && !st; u++) {
        if (l.start[u] > l.end[u]) {
            if (p->off_a[u] != -1)
                st = qc_error(QC_ERR_INTERNAL, "memplan: constant/unused '%s' has an offset",
                              g->values[u].name);
            continue;
        }
        int64_t ua, ub;
        if ((st = qc_plan_value_size(g, u, &ua, &ub))) break;
        int64_t uo = p->off_a[u] + p->off_b[u] * batch, ue = uo + ua + ub * batch;
        if (p->off_a[u] < 0 || p->off_b[u] < 0 || uo % p->alignment || ue > arena) {
            st = qc_error(QC_ERR_INTERNAL, "memplan: '%s' at [%lld,%lld) misaligned or outside "
                          "the %lld-byte arena (N=%lld)", g->values[u].name, (long long)uo,
                          (long long)ue, (long long)arena, (long long)batch);
            break;
        }
        for (int32_t v = u + 1; v < g->n_values; v++) {
            if (l.start[v] > l.end[v] || !overlap_time(&l, u, v)) continue;
            int64_t va, vb;
            if ((st = qc_plan_value_size(g, v, &va, &vb))) break;
            int64_t vo = p->off_a[v] + p->off_b[v] * batch, ve = vo + va + vb * batch;
            if (vo >= ue || uo >= ve || uo == ue || vo == ve) continue;
            if (uo == vo && inplace_pair(g, &l, u, v)) continue;
            st = qc_error(QC_ERR_INTERNAL,
                          "memplan: live values '%s' [%lld,%lld) and '%s' [%lld,%lld) overlap "
                          "(N=%lld)", g->values[u].name, (long long)uo, (long long)ue,
                          g->values[v].name, (long long)vo, (long long)ve, (long long)batch);
            break;
        }
    }
    live_free(&l);
    return st;
}

/* The "memplan" pass: plans and checks the plan at a few batch sizes. The
 * plan itself is recomputed where it is consumed (artifact writer, inspect)
 * since it is a function of the final graph. */
qc_status qc_pass_memplan(qc_graph *g) {
    qc_plan p;
    qc_status st = qc_memplan(g, &p);
    if (st) return st;
    static const int64_t batches[] = {1, 2, 7, 1000};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0] && !st; i++)
        st = qc_plan_check(g, &p, batches[i]);
    qc_plan_free(&p);
    return st;
}
