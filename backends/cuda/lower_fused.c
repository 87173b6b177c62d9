/* lower_fused.c — a chain of small int8 layers as ONE kernel launch.
 *
 * Chain: [QuantizeLinear] -> qc.QGemm x k -> [DequantizeLinear -> float
 * unary ops...], consecutive in the schedule, each intermediate read only by
 * the next node and not a graph output, every layer's weights a constant
 * [K,N] and all of them (transposed, packed in 4-byte words) together with
 * the per-column multipliers and folded constants fitting the module's
 * constant-memory budget. The seed FNN (200-128-64-32-16-8-1) is one such
 * chain; nothing here knows its shape.
 *
 * Kernel: one thread per row, T rows per block. The block's input tile is
 * loaded cooperatively (coalesced) into shared memory as [word][row] so each
 * thread then reads its own row conflict-free; layer j reads buffer j%2 and
 * writes (packed, requantized) buffer (j+1)%2; the last layer writes global
 * memory. Weights sit in __constant__ memory, initialized in the source:
 * every thread of a warp reads the same weight word at the same time, the
 * access pattern the constant cache broadcasts. Only the first layer needs a
 * __syncthreads: afterwards each thread touches only its own row.
 *
 * Numerics are those of lower_gen.c (same prelude helpers): bit-identical to
 * ref for the integer part; the float tail runs each op in double as ref. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/lower.h"
#include "ir/dtype.h"

#define FUSED_MAX_LAYERS 16
#define FUSED_MAX_TAIL 8
#define FUSED_CONST_BUDGET (60 * 1024)   /* of the 64 KB constant bank, per module */

typedef struct chain {
    int32_t pro;                          /* QuantizeLinear node or -1 */
    cu_qdq proq;
    int32_t n_layers;
    cu_qgemm layer[FUSED_MAX_LAYERS];
    int32_t deq;                          /* DequantizeLinear node or -1 */
    cu_qdq deqq;
    int32_t n_tail;
    int32_t tail[FUSED_MAX_TAIL];
    int32_t first, last;                  /* node range (contiguous) */
} chain;

static char sgn8(qc_dtype t) { return t == QC_U8 ? 'u' : 's'; }

static bool is_output(const qc_graph *g, int32_t v) {
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return true;
    return false;
}

/* The single consumer of v, if it is node `next` and v is not an output. */
static bool only_feeds(const qc_graph *g, int32_t v, int32_t next) {
    if (is_output(g, v) || next >= g->n_nodes) return false;
    int32_t uses = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) uses += i == next ? 1 : 1000;
    return uses == 1;
}

static bool disjoint_at(const qc_plan *p, const qc_graph *g, int32_t u, int32_t v, int64_t N) {
    int64_t ua, ub, va, vb;
    if (qc_plan_value_size(g, u, &ua, &ub) || qc_plan_value_size(g, v, &va, &vb)) return false;
    int64_t us = p->off_a[u] + p->off_b[u] * N, vs = p->off_a[v] + p->off_b[v] * N;
    return us + ua + ub * N <= vs || vs + va + vb * N <= us;
}

/* The fused kernel reads its input tile after other blocks may have
 * written outputs: the two slots must never overlap. The slot bounds are
 * linear in N; checked over a spread of batches up to 2^24. */
static bool slots_disjoint(const cu_lower *l, int32_t u, int32_t v) {
    for (int64_t N = 1; N <= (1 << 24); N *= 2)
        if (!disjoint_at(l->plan, l->g, u, v, N) || !disjoint_at(l->plan, l->g, u, v, N + 1))
            return false;
    return true;
}

static void chain_free(chain *c) {
    for (int32_t i = 0; i < c->n_layers; i++) cu_qgemm_free(&c->layer[i]);
}

static int64_t layer_const_bytes(const cu_qgemm *q) {
    return q->N * q->Kp + q->N * (q->any_zw ? 12 : 8);
}

/* Collects the longest chain from node n; false (freed) if none worth fusing. */
static qc_status find_chain(cu_lower *l, int32_t n, chain *c, int64_t *cbytes, bool *found) {
    const qc_graph *g = l->g;
    memset(c, 0, sizeof *c);
    c->pro = c->deq = -1;
    c->first = n;
    *found = false;
    int32_t i = n, prev = -1;   /* prev: the running value */
    if (g->nodes[i].op == QC_OP_QUANTIZE_LINEAR) {
        if (!cu_qdq_analyze(g, i, &c->proq) || !only_feeds(g, c->proq.y, i + 1)) return NULL;
        c->pro = i;
        prev = c->proq.y;
        i++;
    }
    *cbytes = 0;
    while (i < g->n_nodes && c->n_layers < FUSED_MAX_LAYERS) {
        cu_qgemm *q = &c->layer[c->n_layers];
        bool ok;
        const char *why;
        qc_status st = cu_qgemm_analyze(g, i, q, &ok, &why);
        if (st) {
            chain_free(c);
            return st;
        }
        if (!ok) break;
        const cu_qgemm *p0 = c->layer;
        if ((prev >= 0 && q->x != prev) || g->values[q->x].type.rank != 2 ||
            (c->n_layers && (q->m_a != p0->m_a || q->m_b != p0->m_b)) ||
            *cbytes + layer_const_bytes(q) > FUSED_CONST_BUDGET) {
            cu_qgemm_free(q);
            break;
        }
        *cbytes += layer_const_bytes(q);
        c->n_layers++;
        prev = q->y;
        i++;
        if (!only_feeds(g, prev, i)) break;
    }
    if (!c->n_layers || (c->pro >= 0 && c->layer[0].x != c->proq.y)) {
        chain_free(c);
        return NULL;
    }
    int32_t last = c->layer[c->n_layers - 1].node;
    if (only_feeds(g, prev, last + 1) && cu_qdq_analyze(g, last + 1, &c->deqq) &&
        g->nodes[last + 1].op == QC_OP_DEQUANTIZE_LINEAR && c->deqq.x == prev) {
        c->deq = ++last;
        prev = c->deqq.y;
        while (c->n_tail < FUSED_MAX_TAIL && only_feeds(g, prev, last + 1) &&
               cu_unary_supported(g, last + 1)) {
            c->tail[c->n_tail++] = ++last;
            prev = g->nodes[last].out[0];
        }
    }
    c->last = last;
    int32_t in = g->nodes[c->first].in[0];
    if (c->last == c->first || !slots_disjoint(l, in, prev)) {
        chain_free(c);
        return NULL;
    }
    for (int32_t j = 0; j < c->n_layers; j++)
        for (int64_t k = 0; k < c->layer[j].N; k++)
            if (!isfinite(c->layer[j].mult[k])) {
                chain_free(c);
                return NULL;
            }
    *found = true;
    return NULL;
}

static void emit_tables(cu_lower *l, const char *name, int32_t j, const cu_qgemm *q) {
    cu_buf *s = &l->src;
    int64_t KW = q->Kp / 4, words = q->N * KW;
    cu_buf_printf(s, "__constant__ unsigned %s_w%d[%lld] = {", name, (int)j, (long long)words);
    for (int64_t w = 0; w < words; w++) {
        const uint8_t *p = q->wt + 4 * w;
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        cu_buf_printf(s, "%s0x%x", w == 0 ? "\n" : w % 16 ? "," : ",\n", (unsigned)v);
    }
    cu_buf_printf(s, "};\n__constant__ float %s_m%d[%lld] = {", name, (int)j, (long long)q->N);
    for (int64_t k = 0; k < q->N; k++) cu_buf_printf(s, "%s%af", k ? "," : "", (double)q->mult[k]);
    cu_buf_printf(s, "};\n__constant__ int %s_c%d[%lld] = {", name, (int)j, (long long)q->N);
    for (int64_t k = 0; k < q->N; k++) cu_buf_printf(s, "%s%d", k ? "," : "", (int)q->c[k]);
    cu_buf_printf(s, "};\n");
    if (q->any_zw) {
        cu_buf_printf(s, "__constant__ int %s_z%d[%lld] = {", name, (int)j, (long long)q->N);
        for (int64_t k = 0; k < q->N; k++) cu_buf_printf(s, "%s%d", k ? "," : "", (int)q->zw[k]);
        cu_buf_printf(s, "};\n");
    }
}

static const char *tail_expr(qc_op op) {
    switch (op) {
    case QC_OP_RELU: return "v < 0.0 ? 0.0 : v";
    case QC_OP_SIGMOID: return "1.0 / (1.0 + exp(-v))";
    case QC_OP_TANH: return "tanh(v)";
    case QC_OP_EXP: return "exp(v)";
    default: return "-v";   /* QC_OP_NEG: cu_unary_supported admits no other */
    }
}

static void emit_layer(cu_lower *l, const char *name, const chain *c, int32_t j, int T) {
    cu_buf *s = &l->src;
    const cu_qgemm *q = &c->layer[j];
    bool last = j == c->n_layers - 1;
    long long KW = (long long)(q->Kp / 4);
    cu_buf_printf(s, "  { const unsigned *in = %s; unsigned *out = %s; unsigned word = 0;\n"
                     "    (void)out; (void)word;\n",
                  j % 2 ? "bufB" : "bufA", j % 2 ? "bufA" : "bufB");
    if (q->any_zw)
        cu_buf_printf(s, "    unsigned sx = 0;\n    for (int w = 0; w < %lld; w++) sx = qc_dp4a_%cu(in[w * %d + t], 0x01010101u, sx);\n",
                      KW, sgn8(q->xdt), T);
    cu_buf_printf(s,
                  "    for (int n = 0; n < %lld; n++) {\n"
                  "      unsigned acc = 0;\n"
                  "      #pragma unroll 8\n"
                  "      for (int w = 0; w < %lld; w++) acc = qc_dp4a_%c%c(in[w * %d + t], %s_w%d[n * %lld + w], acc);\n"
                  "      acc += (unsigned)%s_c%d[n];\n",
                  (long long)q->N, KW, sgn8(q->xdt), sgn8(q->wdt), T, name, (int)j, KW, name, (int)j);
    if (q->any_zw) cu_buf_printf(s, "      acc -= (unsigned)%s_z%d[n] * sx;\n", name, (int)j);
    cu_buf_printf(s,
                  "      int v = qc_requant((int)acc, %s_m%d[n], %d, %d, %d);\n"
                  "      v = v < %d ? %d : v > %d ? %d : v;\n",
                  name, (int)j, (int)q->zy, (int)q->lo, (int)q->hi, (int)q->act_lo,
                  (int)q->act_lo, (int)q->act_hi, (int)q->act_hi);
    if (!last) {
        cu_buf_printf(s,
                      "      word |= (unsigned)(v & 0xff) << (8 * (n & 3));\n"
                      "      if ((n & 3) == 3 || n == %lld) { out[(n >> 2) * %d + t] = word; word = 0; }\n",
                      (long long)q->N - 1, T);
    } else if (c->deq >= 0) {
        cu_buf_printf(s, "      float f = qc_dequant(v, %af, %d);\n", (double)c->deqq.scale,
                      (int)c->deqq.zp);
        for (int32_t k = 0; k < c->n_tail; k++)
            cu_buf_printf(s, "      { double v = (double)f; f = (float)(%s); }\n",
                          tail_expr(l->g->nodes[c->tail[k]].op));
        cu_buf_printf(s, "      y[(size_t)r * %lld + n] = f;\n", (long long)q->N);
    } else {
        cu_buf_printf(s, "      y[(size_t)r * %lld + n] = (%s)v;\n", (long long)q->N,
                      q->ydt == QC_U8 ? "u8" : "i8");
    }
    cu_buf_printf(s, "    }\n  }\n");
}

static qc_status emit_chain(cu_lower *l, const chain *c, int T, int64_t wa, int64_t wb) {
    char name[32];
    snprintf(name, sizeof name, "qc_k%d_fused", (int)l->n_kernels++);
    for (int32_t j = 0; j < c->n_layers; j++) emit_tables(l, name, j, &c->layer[j]);
    const cu_qgemm *q0 = &c->layer[0], *ql = &c->layer[c->n_layers - 1];
    const char *xt = c->pro >= 0 ? "float" : q0->xdt == QC_U8 ? "u8" : "i8";
    const char *yt = c->deq >= 0 ? "float" : ql->ydt == QC_U8 ? "u8" : "i8";
    long long K0 = (long long)q0->K;
    cu_buf *s = &l->src;
    cu_buf_printf(s,
                  "extern \"C\" __global__ void __launch_bounds__(%d) %s(const %s *__restrict__ x, "
                  "%s *__restrict__ y, int rows) {\n"
                  "  __shared__ unsigned bufA[%lld], bufB[%lld];\n"
                  "  int t = threadIdx.x;\n"
                  "  long long row0 = (long long)blockIdx.x * %d;\n"
                  "  long long r = row0 + t;\n"
                  "  for (int w = 0; w < %lld; w++) bufA[w * %d + t] = 0;\n"
                  "  __syncthreads();\n"
                  "  u8 *sb = (u8 *)bufA;\n"
                  "  for (long long i = t; i < %lldLL; i += %d) {\n"
                  "    long long rr = i / %lld; int k = (int)(i %% %lld);\n"
                  "    if (row0 + rr >= rows) break;\n",
                  T, name, xt, yt, (long long)(wa * T), (long long)(wb > 0 ? wb * T : 1), T,
                  (long long)(q0->Kp / 4), T, (long long)T * K0, T, K0, K0);
    if (c->pro >= 0)
        cu_buf_printf(s, "    int v = qc_quant(x[row0 * %lld + i], %af, %d, %d, %d);\n", K0,
                      (double)c->proq.scale, (int)c->proq.zp, (int)c->proq.lo, (int)c->proq.hi);
    else
        cu_buf_printf(s, "    int v = x[row0 * %lld + i];\n", K0);
    cu_buf_printf(s,
                  "    sb[((k >> 2) * %d + rr) * 4 + (k & 3)] = (u8)v;\n"
                  "  }\n"
                  "  __syncthreads();\n"
                  "  if (r >= rows) return;\n",
                  T);
    for (int32_t j = 0; j < c->n_layers; j++) emit_layer(l, name, c, j, T);
    cu_buf_printf(s, "}\n");
    int32_t li = cu_add_launch(l, QC_CU_LAUNCH_KERNEL, name);
    if (li < 0) return qc_error(QC_ERR_NOMEM, "cuda: out of memory");
    cu_launch *L = &l->launches[li];
    L->grid[0] = (cu_dim){q0->m_a, q0->m_b, (uint32_t)T};
    L->grid[1] = L->grid[2] = (cu_dim){1, 0, 1};
    L->block[0] = (uint32_t)T;
    L->block[1] = L->block[2] = 1;
    int32_t out = l->g->nodes[c->last].out[0];
    cu_add_param(l, li, QC_CU_PARAM_ARENA, (uint32_t)l->g->nodes[c->first].in[0], 0, 0);
    cu_add_param(l, li, QC_CU_PARAM_ARENA, (uint32_t)out, 0, 0);
    cu_add_param(l, li, QC_CU_PARAM_I32, 0, q0->m_a, q0->m_b);
    l->nodes[c->first] = (cu_node){QC_CU_NODE_LAUNCH, (uint32_t)li, 1, (uint32_t)li, 1};
    for (int32_t k = c->first + 1; k <= c->last; k++)
        l->nodes[k] = (cu_node){QC_CU_NODE_COVERED, (uint32_t)c->first, 0, 0, 0};
    return NULL;
}

qc_status cu_gen_fused_chain(cu_lower *l, int32_t n, bool *taken) {
    *taken = false;
    chain *c = calloc(1, sizeof *c);
    if (!c) return qc_error(QC_ERR_NOMEM, "cuda: out of memory");
    int64_t cbytes = 0;
    bool found = false;
    qc_status st = find_chain(l, n, c, &cbytes, &found);
    if (st || !found || l->const_used + cbytes > FUSED_CONST_BUDGET) {
        if (found) chain_free(c);
        free(c);
        return st;
    }
    /* Buffers: layer j reads buffer j%2, so A holds the widest even-layer
     * input, B the widest odd-layer one (in words per row). */
    int64_t wa = 0, wb = 0;
    for (int32_t j = 0; j < c->n_layers; j++) {
        int64_t w = c->layer[j].Kp / 4;
        if (j % 2 == 0 && w > wa) wa = w;
        if (j % 2 == 1 && w > wb) wb = w;
    }
    int T = 0;
    for (int cand = 64; cand >= 32 && !T; cand /= 2)
        if ((uint64_t)(wa + (wb ? wb : 1)) * 4u * (uint64_t)cand <= QC_CU_MAX_SHARED) T = cand;
    if (T) {
        st = emit_chain(l, c, T, wa, wb);
        if (!st) {
            l->const_used += cbytes;
            *taken = true;
        }
    }
    chain_free(c);
    free(c);
    return st;
}
