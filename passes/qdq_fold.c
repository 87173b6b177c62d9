/* qdq_fold.c — turns QDQ-form quantized graphs (ORT's quantizer, QAT export)
 * and QOperator nodes into first-class integer ops.
 *
 * Rewrites, repeated until nothing changes, then dce:
 *   1. commute: DQ(x) -> P -> t  with P a data-movement op that is exact on
 *      integers (MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze,
 *      Identity) and a per-tensor DQ becomes P(x) -> t_q -> DQ -> t, so
 *      quantized tensors flow through P in integer form;
 *   2. Q(DQ(x)) with the same per-tensor params and dtype is x itself: the
 *      producer of x writes the Q's output directly;
 *   3. DQ(a) -> Conv/Gemm/MatMul(DQ(w const), DQ(bias i32)?) [-> Relu|Clip]
 *      -> Q(y) becomes qc.QConv / qc.QGemm producing y, with the activation
 *      folded into the output clamp;
 *   3c. the same without the Q (float output, e.g. a classifier head)
 *       becomes qc.QGemm / qc.QConv with a float output;
 *   3b. DQ, DQ -> Add/Mul [-> Relu|Clip] -> Q becomes QLinearAdd / QLinearMul,
 *      the activation folded into an output clamp (exact);
 *   4. QLinearConv -> qc.QConv, QLinearMatMul -> qc.QGemm (same inputs).
 * The internal ops keep the scales and zero points as constant inputs in
 * QLinearConv's layout (so the ref kernels and the artifact stay
 * self-contained); the same params are also recorded on the integer values
 * (qc_value_set_quant), which is what later passes read.
 *
 * Numerics: rewrites 1, 2 and 4 are bit-exact. Rewrite 3 replaces
 * "float conv, then QuantizeLinear" by "int32 accumulation, then
 * qc_requantize" (ir/quant.h), which is what an integer backend computes;
 * the two can differ by one quantum where the float result lies within
 * rounding error of a .5 boundary (documented in docs/ir.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/quant.h"
#include "passes/pass.h"

typedef struct fold {
    qc_graph *g;
    int32_t *uses;       /* per value: node inputs + graph outputs reading it */
    uint8_t *drop;       /* per node */
} fold;

static const qc_node *producer(const fold *f, int32_t v) {
    if (v < 0) return NULL;
    int32_t p = f->g->values[v].producer;
    return p >= 0 && !f->drop[p] ? &f->g->nodes[p] : NULL;
}

/* Recounts uses; grows the array first since rewrites add values. */
static qc_status count_uses(fold *f) {
    const qc_graph *g = f->g;
    int32_t *u = realloc(f->uses, sizeof(int32_t) * (size_t)(g->n_values + 1));
    if (!u) return qc_error(QC_ERR_NOMEM, "qdq_fold: out of memory");
    f->uses = u;
    memset(f->uses, 0, sizeof(int32_t) * (size_t)g->n_values);
    for (int32_t n = 0; n < g->n_nodes; n++) {
        if (f->drop[n]) continue;
        for (int32_t k = 0; k < g->nodes[n].n_in; k++)
            if (g->nodes[n].in[k] >= 0) f->uses[g->nodes[n].in[k]]++;
    }
    for (int32_t i = 0; i < g->n_outputs; i++) f->uses[g->outputs[i]] += 2;   /* never "only" */
    return NULL;
}

static bool is_const(const qc_graph *g, int32_t v) { return v >= 0 && g->values[v].data; }

static int64_t numel_const(const qc_graph *g, int32_t v) {
    return qc_type_numel(&g->values[v].type);
}

/* A per-tensor Q/DQ: constant scalar scale and present constant scalar zp. */
static bool per_tensor_qdq(const qc_graph *g, const qc_node *n) {
    return n->n_in >= 3 && is_const(g, n->in[1]) && is_const(g, n->in[2]) &&
           numel_const(g, n->in[1]) == 1 && numel_const(g, n->in[2]) == 1 &&
           g->values[n->in[1]].type.dtype == QC_F32;
}

static float scalar_f32(const qc_graph *g, int32_t v) { return *(const float *)g->values[v].data; }
static int32_t scalar_zp(const qc_graph *g, int32_t v) {
    return (int32_t)qc_elem_get_i64(g->values[v].type.dtype, g->values[v].data, 0);
}

static bool same_params(const qc_graph *g, const qc_node *a, const qc_node *b) {
    return scalar_f32(g, a->in[1]) == scalar_f32(g, b->in[1]) &&
           scalar_zp(g, a->in[2]) == scalar_zp(g, b->in[2]) &&
           g->values[a->in[2]].type.dtype == g->values[b->in[2]].type.dtype;
}

/* Records the (per-tensor or per-axis) params of constants scale/zp on v. */
static qc_status set_quant(qc_graph *g, int32_t v, int32_t scale, int32_t zp, int32_t axis) {
    int64_t count = numel_const(g, scale);
    if (count < 1 || count > INT32_MAX) return NULL;
    float *s = malloc(sizeof(float) * (size_t)count);
    int32_t *z = malloc(sizeof(int32_t) * (size_t)count);
    qc_status st = NULL;
    if (!s || !z) st = qc_error(QC_ERR_NOMEM, "qdq_fold: out of memory");
    for (int64_t i = 0; !st && i < count; i++) {
        s[i] = ((const float *)g->values[scale].data)[i];
        z[i] = zp >= 0 ? (int32_t)qc_elem_get_i64(g->values[zp].type.dtype, g->values[zp].data,
                                                  numel_const(g, zp) == 1 ? 0 : i)
                       : 0;
    }
    qc_quant q = {.kind = count == 1 ? QC_Q_TENSOR : QC_Q_AXIS, .axis = count == 1 ? 0 : axis,
                  .count = (int32_t)count, .scale = s, .zero = z};
    if (!st) st = qc_value_set_quant(g, v, &q);
    free(s);
    free(z);
    return st;
}

static qc_status set_inputs(qc_node *n, const int32_t *in, int32_t n_in) {
    int32_t *p = realloc(n->in, sizeof(int32_t) * (size_t)n_in);
    if (!p) return qc_error(QC_ERR_NOMEM, "qdq_fold: out of memory");
    memcpy(p, in, sizeof(int32_t) * (size_t)n_in);
    n->in = p;
    n->n_in = n_in;
    return NULL;
}

/* ---- 1. commute DQ past integer-exact data movement ---------------------- */

static bool movement_op(const qc_node *n) {
    switch (n->op) {
    case QC_OP_MAX_POOL: return n->n_out == 1;   /* not the Indices form */
    case QC_OP_FLATTEN: case QC_OP_RESHAPE: case QC_OP_TRANSPOSE: case QC_OP_SQUEEZE:
    case QC_OP_UNSQUEEZE: case QC_OP_IDENTITY:
        return true;
    default: return false;
    }
}

static qc_status commute(fold *f, int32_t pi, bool *changed) {
    qc_graph *g = f->g;
    qc_node *p = &g->nodes[pi];
    if (!movement_op(p) || p->in[0] < 0) return NULL;
    int32_t xf = p->in[0];
    const qc_node *dqc = producer(f, xf);
    if (!dqc || dqc->op != QC_OP_DEQUANTIZE_LINEAR || !per_tensor_qdq(g, dqc) || f->uses[xf] != 1)
        return NULL;
    for (int32_t k = 1; k < p->n_in; k++)   /* shape operands must be constant */
        if (p->in[k] >= 0 && !is_const(g, p->in[k])) return NULL;
    int32_t dqi = g->values[xf].producer;
    int32_t xq = dqc->in[0], t = p->out[0];
    /* New integer value t_q: P's output shape, the quantized dtype. */
    char name[256];
    snprintf(name, sizeof name, "%.200s_q", g->values[t].name);
    for (int i = 2; qc_graph_find_value(g, name) >= 0; i++)
        snprintf(name, sizeof name, "%.200s_q%d", g->values[t].name, i);
    qc_type tt = g->values[t].type;
    tt.dtype = g->values[xq].type.dtype;
    int32_t tq;
    qc_status st = qc_graph_add_value(g, name, &tt, &tq);
    if (st) return st;
    p = &g->nodes[pi];   /* add_value may not move nodes, but stay safe */
    qc_node *dq = &g->nodes[dqi];
    /* P now reads x_q and writes t_q; the DQ reads t_q and writes t. Swap the
     * two nodes' slots so P (inputs: x_q, constants) runs first. */
    p->in[0] = xq;
    p->out[0] = tq;
    dq->in[0] = tq;
    dq->out[0] = t;
    qc_node tmp = g->nodes[pi];
    g->nodes[pi] = g->nodes[dqi];
    g->nodes[dqi] = tmp;
    g->values[tq].producer = dqi;
    g->values[t].producer = pi;
    g->values[xf].producer = -1;   /* orphaned; dce drops it */
    if ((st = set_quant(g, tq, g->nodes[pi].in[1], g->nodes[pi].in[2], 0))) return st;
    *changed = true;
    return count_uses(f);
}

/* ---- 2. Q(DQ(x)) with equal params is x ------------------------------------ */

static qc_status requant_identity(fold *f, int32_t qi, bool *changed) {
    qc_graph *g = f->g;
    qc_node *q = &g->nodes[qi];
    if (q->op != QC_OP_QUANTIZE_LINEAR || !per_tensor_qdq(g, q)) return NULL;
    const qc_node *dq = producer(f, q->in[0]);
    if (!dq || dq->op != QC_OP_DEQUANTIZE_LINEAR || !per_tensor_qdq(g, dq) || !same_params(g, dq, q))
        return NULL;
    int32_t x = dq->in[0], y = q->out[0];
    if (g->values[x].type.dtype != g->values[y].type.dtype) return NULL;
    int32_t xp = g->values[x].producer;
    /* x must be produced by a node (not a graph input) and read only by this
     * DQ and nothing else, so that its producer can write y instead. */
    if (xp < 0 || f->drop[xp] || f->uses[x] != 1) return NULL;
    qc_node *pn = &g->nodes[xp];
    for (int32_t k = 0; k < pn->n_out; k++)
        if (pn->out[k] == x) pn->out[k] = y;
    g->nodes[g->values[dq->out[0]].producer].in[0] = y;
    g->values[y].producer = xp;
    g->values[x].producer = -1;
    f->drop[qi] = 1;
    *changed = true;
    qc_status st = set_quant(g, y, q->in[1], q->in[2], 0);
    return st ? st : count_uses(f);
}

/* ---- 3. DQ -> Conv/Gemm/MatMul -> [act] -> Q ------------------------------- */

/* The value's sole consumer node index, or -1. */
static int32_t sole_consumer(const fold *f, int32_t v) {
    if (f->uses[v] != 1) return -1;
    for (int32_t n = 0; n < f->g->n_nodes; n++) {
        if (f->drop[n]) continue;
        for (int32_t k = 0; k < f->g->nodes[n].n_in; k++)
            if (f->g->nodes[n].in[k] == v) return n;
    }
    return -1;
}

/* Adds a constant, uniquely named after `base`. */
static qc_status add_const(qc_graph *g, const char *base, const qc_type *t, const void *data,
                           int32_t *id) {
    char name[256];
    snprintf(name, sizeof name, "%s", base);
    for (int i = 2; qc_graph_find_value(g, name) >= 0; i++) snprintf(name, sizeof name, "%.200s_%d", base, i);
    return qc_graph_add_const(g, name, t, data, qc_dtype_bytes(t->dtype, qc_type_numel(t)), id);
}

/* Transposes an 8-bit constant [N,K] into a new [K,N] constant. */
static qc_status transpose_const(qc_graph *g, int32_t w, int32_t *out) {
    const qc_value *v = &g->values[w];
    int64_t rows = v->type.dims[0], cols = v->type.dims[1];
    uint8_t *d = malloc((size_t)(rows * cols > 0 ? rows * cols : 1));
    if (!d) return qc_error(QC_ERR_NOMEM, "qdq_fold: out of memory");
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) d[c * rows + r] = ((const uint8_t *)v->data)[r * cols + c];
    qc_type t = v->type;
    t.dims[0] = cols;
    t.dims[1] = rows;
    char base[256];
    snprintf(base, sizeof base, "%.200s_kn", v->name);
    qc_status st = add_const(g, base, &t, d, out);
    free(d);
    return st;
}

/* 3c: n = Gemm/MatMul/Conv(DQ(aq), DQ(wq const), DQ(bq i32)?) with a float
 * output becomes qc.QGemm / qc.QConv without y_scale / y_zero_point:
 * y = float(acc) * sa * sw.
 * Like rule 3 it replaces float arithmetic on dequantized values by the
 * exact integer accumulation (one rounding instead of K); a following
 * Relu/Clip stays a float node. */
static qc_status fold_float_out(fold *f, int32_t ni, int32_t aq, int32_t wq, int32_t bq,
                                bool transb, bool *changed) {
    qc_graph *g = f->g;
    int32_t wk = wq;
    qc_status st = NULL;
    if (transb && (st = transpose_const(g, wq, &wk))) return st;
    qc_node *n = &g->nodes[ni];
    bool is_conv = n->op == QC_OP_CONV;
    const qc_node *dqa = producer(f, n->in[0]), *dqw = producer(f, n->in[1]);
    int32_t in[9] = {aq, dqa->in[1], dqa->in[2], wk, dqw->in[1], dqw->in[2], -1, -1, bq};
    for (int32_t k = 0; k < n->n_attr; k++)
        if (!strcmp(n->attr[k].name, "transB")) n->attr[k].i = 0;
    if ((st = set_inputs(n, in, bq >= 0 ? 9 : 8))) return st;
    n->op = is_conv ? QC_OP_QCONV : QC_OP_QGEMM;
    if ((st = set_quant(g, aq, in[1], in[2], 0))) return st;
    if ((st = set_quant(g, wk, in[4], in[5], is_conv ? 0 : 1))) return st;
    *changed = true;
    return count_uses(f);
}

static qc_status fold_compute(fold *f, int32_t ni, bool *changed) {
    qc_graph *g = f->g;
    qc_node *n = &g->nodes[ni];
    bool is_conv = n->op == QC_OP_CONV, is_gemm = n->op == QC_OP_GEMM;
    if (!is_conv && !is_gemm && n->op != QC_OP_MATMUL) return NULL;
    const qc_node *dqa = producer(f, n->in[0]), *dqw = producer(f, n->in[1]);
    const qc_node *dqb = n->n_in > 2 ? producer(f, n->in[2]) : NULL;
    if (!dqa || dqa->op != QC_OP_DEQUANTIZE_LINEAR || !per_tensor_qdq(g, dqa)) return NULL;
    if (!dqw || dqw->op != QC_OP_DEQUANTIZE_LINEAR || dqw->n_in < 3 || !is_const(g, dqw->in[0]) ||
        !is_const(g, dqw->in[1]) || !is_const(g, dqw->in[2]))
        return NULL;
    int32_t aq = dqa->in[0], wq = dqw->in[0];
    qc_dtype adt = g->values[aq].type.dtype, wdt = g->values[wq].type.dtype;
    if ((adt != QC_U8 && adt != QC_I8) || (wdt != QC_U8 && wdt != QC_I8)) return NULL;
    if (g->values[wq].type.rank != (is_conv ? g->values[wq].type.rank : 2)) return NULL;
    int64_t nsc = numel_const(g, dqw->in[1]);
    int64_t waxis = qc_attr_int(dqw, "axis", 1);
    /* Output-channel axis of the weight: Conv 0, Gemm transB ? 0 : 1, MatMul 1. */
    bool transb = is_gemm && qc_attr_int(n, "transB", 0);
    int64_t oc_axis = is_conv ? 0 : transb ? 0 : 1;
    if (nsc != 1 && (waxis != oc_axis || nsc != g->values[wq].type.dims[oc_axis])) return NULL;
    if (is_gemm && (qc_attr_int(n, "transA", 0) || qc_attr_float(n, "alpha", 1.0f) != 1.0f ||
                    qc_attr_float(n, "beta", 1.0f) != 1.0f))
        return NULL;
    if (!is_conv && g->values[aq].type.rank != 2) return NULL;
    /* Bias: absent, or DQ of an i32 constant with zp 0 and scale sa*sw. */
    int32_t bq = -1;
    if (n->n_in > 2 && n->in[2] >= 0) {
        if (!dqb || dqb->op != QC_OP_DEQUANTIZE_LINEAR || !is_const(g, dqb->in[0]) ||
            !is_const(g, dqb->in[1]) || g->values[dqb->in[0]].type.dtype != QC_I32 ||
            g->values[dqb->in[0]].type.rank != 1)
            return NULL;
        int64_t nb = numel_const(g, dqb->in[0]), nbs = numel_const(g, dqb->in[1]);
        float sa = scalar_f32(g, dqa->in[1]);
        for (int64_t c = 0; c < nb; c++) {
            float sw = ((const float *)g->values[dqw->in[1]].data)[nsc == 1 ? 0 : c];
            float sb = ((const float *)g->values[dqb->in[1]].data)[nbs == 1 ? 0 : c];
            int64_t zb = dqb->n_in > 2 && dqb->in[2] >= 0 && is_const(g, dqb->in[2])
                             ? qc_elem_get_i64(g->values[dqb->in[2]].type.dtype,
                                               g->values[dqb->in[2]].data,
                                               numel_const(g, dqb->in[2]) == 1 ? 0 : c)
                             : 0;
            if (zb != 0 || fabs((double)sb - (double)sa * sw) > 1e-6 * fabs((double)sa * sw))
                return NULL;
        }
        bq = dqb->in[0];
    }
    /* Consumer chain: [Relu | Clip(const min/max)] -> per-tensor Q. */
    int32_t ya = n->out[0], act = -1, qn = sole_consumer(f, ya);
    if (qn >= 0 && (g->nodes[qn].op == QC_OP_RELU || g->nodes[qn].op == QC_OP_CLIP)) {
        const qc_node *c = &g->nodes[qn];
        bool ok = c->in[0] == ya;
        for (int32_t k = 1; k < c->n_in; k++)
            if (c->in[k] >= 0 && (!is_const(g, c->in[k]) || numel_const(g, c->in[k]) != 1 ||
                                  g->values[c->in[k]].type.dtype != QC_F32))
                ok = false;
        if (!ok) return NULL;
        act = qn;
        qn = sole_consumer(f, c->out[0]);
    }
    bool to_q = qn >= 0 && g->nodes[qn].op == QC_OP_QUANTIZE_LINEAR &&
                per_tensor_qdq(g, &g->nodes[qn]);
    if (!to_q) {
        /* 3c. no Q after it: a Gemm/MatMul/Conv whose output stays float (a
         * classifier head, a conv feeding float ops) still multiplies
         * integers, then scales once. */
        if (g->values[ya].type.dtype != QC_F32) return NULL;
        return fold_float_out(f, ni, aq, wq, bq, transb, changed);
    }
    const qc_node *q = &g->nodes[qn];
    int32_t y = q->out[0];
    qc_dtype ydt = g->values[y].type.dtype;
    if (ydt != QC_U8 && ydt != QC_I8) return NULL;
    /* Output clamp from the activation, in quantized units (monotone Q). */
    float sy = scalar_f32(g, q->in[1]);
    int32_t zy = scalar_zp(g, q->in[2]);
    int64_t lo, hi;
    qc_dtype_int_range(ydt, &lo, &hi);
    int64_t cmin = lo, cmax = hi;
    if (act >= 0) {
        const qc_node *c = &g->nodes[act];
        if (c->op == QC_OP_RELU) cmin = qc_quantize(0.0f, sy, zy, (int32_t)lo, (int32_t)hi);
        if (c->op == QC_OP_CLIP && c->n_in > 1 && c->in[1] >= 0)
            cmin = qc_quantize(scalar_f32(g, c->in[1]), sy, zy, (int32_t)lo, (int32_t)hi);
        if (c->op == QC_OP_CLIP && c->n_in > 2 && c->in[2] >= 0)
            cmax = qc_quantize(scalar_f32(g, c->in[2]), sy, zy, (int32_t)lo, (int32_t)hi);
    }
    /* Weights as [K,N] for qc.QGemm. */
    int32_t wk = wq;
    qc_status st = NULL;
    if (transb && (st = transpose_const(g, wq, &wk))) return st;
    n = &g->nodes[ni];
    dqa = producer(f, n->in[0]);
    dqw = producer(f, n->in[1]);
    q = &g->nodes[qn];
    int32_t in[9] = {aq,          dqa->in[1], dqa->in[2], wk, dqw->in[1],
                     dqw->in[2],  q->in[1],   q->in[2],   bq};
    int32_t n_in = bq >= 0 ? 9 : 8;
    if (is_gemm && !is_conv) {
        /* Drop Gemm-only attrs the QGemm does not have. */
        for (int32_t k = 0; k < n->n_attr; k++)
            if (!strcmp(n->attr[k].name, "transB")) n->attr[k].i = 0;
    }
    if ((st = set_inputs(n, in, n_in))) return st;
    n->op = is_conv ? QC_OP_QCONV : QC_OP_QGEMM;
    if (cmin > lo && (st = qc_node_set_int(g, ni, "act_min", cmin))) return st;
    if (cmax < hi && (st = qc_node_set_int(g, ni, "act_max", cmax))) return st;
    n = &g->nodes[ni];
    g->values[n->out[0]].producer = -1;
    n->out[0] = y;
    g->values[y].producer = ni;
    f->drop[qn] = 1;
    if (act >= 0) f->drop[act] = 1;
    if ((st = set_quant(g, aq, in[1], in[2], 0))) return st;
    if ((st = set_quant(g, wk, in[4], in[5], is_conv ? 0 : 1))) return st;
    if ((st = set_quant(g, y, in[6], in[7], 0))) return st;
    *changed = true;
    return count_uses(f);
}

/* ---- 3b. DQ, DQ -> Add/Mul [-> Relu|Clip] -> Q  =>  QLinearAdd / QLinearMul ----
 * Their ref kernels dequantize, add or multiply in float and quantize with
 * ir/quant.h, i.e. exactly the QDQ path's arithmetic, so this is exact.
 *
 * An activation in between becomes the output clamp act_min/act_max, also
 * exactly: with a positive output scale qc_quantize is monotone
 * non-decreasing, so Q(max(r, 0)) == max(Q(r), Q(0)) and, for lo <= hi,
 * Q(clamp(r, lo, hi)) == clamp(Q(r), Q(lo), Q(hi)), bit for bit. That needs
 * r finite (Relu and Clip pass NaN through, where Q maps it to the zero
 * point): operand scales in (0, 1e15] guarantee it, as |q - zp| <= 255 and
 * 255e15 squared is far below FLT_MAX. */
#define BINARY_MAX_SCALE 1e15f

static bool moderate_scale(float s) { return s > 0.0f && s <= BINARY_MAX_SCALE; }

/* The activation clamp [*cmin, *cmax] (quantized units, the type's range
 * when loose) of a Relu / Clip node act before a Q with scale sy, zero
 * point zy; false when it cannot be folded exactly. */
static bool binary_clamp(const qc_graph *g, const qc_node *act, float sy, int32_t zy, int64_t lo,
                         int64_t hi, int64_t *cmin, int64_t *cmax) {
    *cmin = lo;
    *cmax = hi;
    if (!(sy > 0.0f) || !isfinite(sy)) return false;
    if (act->op == QC_OP_RELU) {
        *cmin = qc_quantize(0.0f, sy, zy, (int32_t)lo, (int32_t)hi);
        return true;
    }
    float b[2] = {-INFINITY, INFINITY};
    for (int32_t k = 1; k < 3; k++) {
        int32_t v = k < act->n_in ? act->in[k] : -1;
        if (v < 0) continue;
        if (!is_const(g, v) || numel_const(g, v) != 1 || g->values[v].type.dtype != QC_F32)
            return false;
        b[k - 1] = scalar_f32(g, v);
        if (isnan(b[k - 1])) return false;
    }
    if (b[0] > b[1]) return false;   /* ONNX then gives max everywhere: not a clamp */
    *cmin = qc_quantize(b[0], sy, zy, (int32_t)lo, (int32_t)hi);
    *cmax = qc_quantize(b[1], sy, zy, (int32_t)lo, (int32_t)hi);
    return true;
}

static qc_status fold_binary(fold *f, int32_t ni, bool *changed) {
    qc_graph *g = f->g;
    qc_node *n = &g->nodes[ni];
    if (n->op != QC_OP_ADD && n->op != QC_OP_MUL) return NULL;
    const qc_node *da = producer(f, n->in[0]), *db = producer(f, n->in[1]);
    if (!da || !db || da->op != QC_OP_DEQUANTIZE_LINEAR || db->op != QC_OP_DEQUANTIZE_LINEAR ||
        !per_tensor_qdq(g, da) || !per_tensor_qdq(g, db))
        return NULL;
    int32_t act = -1, qn = sole_consumer(f, n->out[0]);
    if (qn >= 0 && (g->nodes[qn].op == QC_OP_RELU || g->nodes[qn].op == QC_OP_CLIP) &&
        g->nodes[qn].in[0] == n->out[0]) {
        act = qn;
        qn = sole_consumer(f, g->nodes[act].out[0]);
    }
    if (qn < 0 || g->nodes[qn].op != QC_OP_QUANTIZE_LINEAR || !per_tensor_qdq(g, &g->nodes[qn]))
        return NULL;
    const qc_node *q = &g->nodes[qn];
    int32_t aq = da->in[0], bq = db->in[0], y = q->out[0];
    qc_dtype dt = g->values[y].type.dtype;
    if ((dt != QC_U8 && dt != QC_I8) || g->values[aq].type.dtype != dt ||
        g->values[bq].type.dtype != dt)
        return NULL;
    int64_t lo, hi;
    qc_dtype_int_range(dt, &lo, &hi);
    int64_t cmin = lo, cmax = hi;
    if (act >= 0 && (!moderate_scale(scalar_f32(g, da->in[1])) ||
                     !moderate_scale(scalar_f32(g, db->in[1])) ||
                     !binary_clamp(g, &g->nodes[act], scalar_f32(g, q->in[1]),
                                   scalar_zp(g, q->in[2]), lo, hi, &cmin, &cmax)))
        return NULL;
    int32_t in[8] = {aq, da->in[1], da->in[2], bq, db->in[1], db->in[2], q->in[1], q->in[2]};
    qc_status st = set_inputs(n, in, 8);
    if (st) return st;
    n->op = n->op == QC_OP_ADD ? QC_OP_QLINEAR_ADD : QC_OP_QLINEAR_MUL;
    if (act >= 0 && cmin > lo && (st = qc_node_set_int(g, ni, "act_min", cmin))) return st;
    if (act >= 0 && cmax < hi && (st = qc_node_set_int(g, ni, "act_max", cmax))) return st;
    n = &g->nodes[ni];
    g->values[n->out[0]].producer = -1;
    n->out[0] = y;
    g->values[y].producer = ni;
    f->drop[qn] = 1;
    if (act >= 0) f->drop[act] = 1;
    *changed = true;
    if ((st = set_quant(g, y, in[6], in[7], 0))) return st;
    return count_uses(f);
}

/* ---- 4. QOperator nodes ------------------------------------------------------ */

static qc_status fold_qoperator(fold *f, int32_t ni, bool *changed) {
    qc_graph *g = f->g;
    qc_node *n = &g->nodes[ni];
    if (n->op == QC_OP_QLINEAR_CONV) {
        n->op = QC_OP_QCONV;
    } else if (n->op == QC_OP_QLINEAR_MATMUL) {
        /* Only the plain 2-D case maps onto qc.QGemm's [M,K] x [K,N]. */
        if (g->values[n->in[0]].type.rank != 2 || g->values[n->in[3]].type.rank != 2) return NULL;
        n->op = QC_OP_QGEMM;
    } else {
        return NULL;
    }
    /* (value, scale input, zp input, axis): a, b, y. */
    const int32_t sets[3][4] = {{n->in[0], 1, 2, 0},
                                {n->in[3], 4, 5, n->op == QC_OP_QGEMM ? 1 : 0},
                                {n->out[0], 6, 7, 0}};
    qc_status st = NULL;
    for (int i = 0; i < 3 && !st; i++) {
        int32_t s = n->in[sets[i][1]], z = n->in[sets[i][2]];
        if (is_const(g, s) && (z < 0 || is_const(g, z)))
            st = set_quant(g, sets[i][0], s, z, sets[i][3]);
    }
    *changed = true;
    return st;
}

qc_status qc_pass_qdq_fold(qc_graph *g) {
    fold f = {.g = g};
    qc_status st = NULL;
    bool changed = true;
    for (int round = 0; changed && round < 64 && !st; round++) {
        changed = false;
        free(f.drop);
        f.drop = calloc((size_t)g->n_nodes + 1, 1);
        if (!f.drop) {
            st = qc_error(QC_ERR_NOMEM, "qdq_fold: out of memory");
            break;
        }
        st = count_uses(&f);
        for (int32_t i = 0; i < g->n_nodes && !st; i++) {
            if (f.drop[i]) continue;
            bool c = false;
            st = fold_qoperator(&f, i, &c);
            if (!st && !c) st = commute(&f, i, &c);
            if (!st && !c) st = requant_identity(&f, i, &c);
            if (!st && !c) st = fold_compute(&f, i, &c);
            if (!st && !c) st = fold_binary(&f, i, &c);
            if (c) changed = true;
        }
        if (st) break;
        /* Drop folded nodes now so the next round sees a clean graph. */
        uint8_t *keep = malloc((size_t)g->n_nodes + 1);
        uint8_t *keepv = malloc((size_t)g->n_values + 1);
        if (!keep || !keepv) st = qc_error(QC_ERR_NOMEM, "qdq_fold: out of memory");
        for (int32_t i = 0; !st && i < g->n_nodes; i++) keep[i] = !f.drop[i];
        if (!st) memset(keepv, 1, (size_t)g->n_values);
        if (!st) st = qc_graph_compact(g, keep, keepv);
        free(keep);
        free(keepv);
        if (!st) st = qc_pass_dce(g);
    }
    free(f.uses);
    free(f.drop);
    if (!st) st = qc_graph_infer(g);
    return st;
}
