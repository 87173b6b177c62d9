/* lower_qgemm.c — which qc.QGemm / QuantizeLinear / DequantizeLinear nodes the
 * generated CUDA kernels handle, and the compile-time precomputation that
 * keeps those kernels bit-identical to ref (lower.h, cu_qgemm). Scales and
 * zero points must be constants: the kernels bake the multipliers. */
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/lower.h"
#include "ir/dtype.h"
#include "ir/quant.h"

bool cu_value_numel(const qc_graph *g, int32_t v, int64_t *a, int64_t *b) {
    const qc_type *t = &g->values[v].type;
    int64_t prod = 1;
    int sym = 0;
    for (int32_t k = 0; k < t->rank; k++) {
        if (t->dims[k] == QC_DIM_SYM) sym++;
        else prod *= t->dims[k];
    }
    if (sym > 1) return false;
    *a = sym ? 0 : prod;
    *b = sym ? prod : 0;
    return true;
}

static const qc_value *const_in(const qc_graph *g, const qc_node *n, int32_t k) {
    if (k >= n->n_in || n->in[k] < 0) return NULL;
    const qc_value *v = &g->values[n->in[k]];
    return v->data ? v : NULL;
}

static int64_t numel(const qc_value *v) { return qc_type_numel(&v->type); }

static bool is8(qc_dtype t) { return t == QC_I8 || t == QC_U8; }

/* A constant scale (f32) with 1 or `count` entries; entry i. */
static bool scale_at(const qc_value *v, int64_t count, int64_t i, float *out) {
    if (!v || v->type.dtype != QC_F32) return false;
    int64_t n = numel(v);
    if (n != 1 && n != count) return false;
    *out = ((const float *)v->data)[n == 1 ? 0 : i];
    return true;
}

static bool zp_at(const qc_value *v, int64_t count, int64_t i, int32_t *out) {
    if (!v) {
        *out = 0;
        return true;
    }
    if (!is8(v->type.dtype) && v->type.dtype != QC_I32) return false;
    int64_t n = numel(v);
    if (n != 1 && n != count) return false;
    *out = (int32_t)qc_elem_get_i64(v->type.dtype, v->data, n == 1 ? 0 : i);
    return true;
}

void cu_qgemm_free(cu_qgemm *q) {
    free(q->mult);
    free(q->c);
    free(q->zw);
    free(q->wt);
    memset(q, 0, sizeof *q);
}

qc_status cu_qgemm_analyze(const qc_graph *g, int32_t ni, cu_qgemm *q, bool *ok, const char **why) {
    const qc_node *n = &g->nodes[ni];
    memset(q, 0, sizeof *q);
    *ok = false;
    *why = NULL;
    if (n->op != QC_OP_QGEMM || n->n_in < 8 || n->n_out != 1) return (*why = "not a qc.QGemm"), NULL;
    const qc_value *x = &g->values[n->in[0]], *w = const_in(g, n, 3), *y = &g->values[n->out[0]];
    const qc_value *bias = const_in(g, n, 8);
    if (x->data) return (*why = "constant activation"), NULL;
    if (!w || w->type.rank != 2) return (*why = "weights are not a constant [K,N]"), NULL;
    if (!is8(x->type.dtype) || !is8(w->type.dtype) || !is8(y->type.dtype))
        return (*why = "not 8-bit activations, weights and output"), NULL;
    int64_t K = w->type.dims[0], N = w->type.dims[1];
    if (x->type.rank < 1 || x->type.dims[x->type.rank - 1] != K || K <= 0 || N <= 0 ||
        K > (1 << 24) || N > (1 << 24))
        return (*why = "activation/weight shapes do not match"), NULL;
    if (n->n_in > 8 && n->in[8] >= 0 &&
        (!bias || bias->type.dtype != QC_I32 || numel(bias) != N))
        return (*why = "bias is not a constant i32[N]"), NULL;
    int64_t xa, xb;
    if (!cu_value_numel(g, n->in[0], &xa, &xb)) return (*why = "batch dim appears twice"), NULL;
    q->node = ni;
    q->x = n->in[0];
    q->y = n->out[0];
    q->K = K;
    q->N = N;
    q->Kp = (K + 3) / 4 * 4;
    q->m_a = xa / K;
    q->m_b = xb / K;
    q->xdt = x->type.dtype;
    q->wdt = w->type.dtype;
    q->ydt = y->type.dtype;
    float sx, sy;
    if (!scale_at(const_in(g, n, 1), 1, 0, &sx) || !scale_at(const_in(g, n, 6), 1, 0, &sy) ||
        !zp_at(const_in(g, n, 2), 1, 0, &q->zx) || !zp_at(const_in(g, n, 7), 1, 0, &q->zy) ||
        (n->in[2] >= 0 && !const_in(g, n, 2)) || (n->in[7] >= 0 && !const_in(g, n, 7)))
        return (*why = "activation/output scale or zero point is not a constant scalar"), NULL;
    int64_t lo, hi;
    qc_dtype_int_range(q->ydt, &lo, &hi);
    q->lo = (int32_t)lo;
    q->hi = (int32_t)hi;
    if (q->zy < q->lo || q->zy > q->hi) return (*why = "output zero point out of range"), NULL;
    int64_t amin = qc_attr_int(n, "act_min", lo), amax = qc_attr_int(n, "act_max", hi);
    q->act_lo = (int32_t)(amin < lo ? lo : amin > hi ? hi : amin);
    q->act_hi = (int32_t)(amax > hi ? hi : amax < lo ? lo : amax);
    q->mult = malloc(sizeof *q->mult * (size_t)N);
    q->c = malloc(sizeof *q->c * (size_t)N);
    q->zw = malloc(sizeof *q->zw * (size_t)N);
    q->wt = calloc((size_t)N, (size_t)q->Kp);
    if (!q->mult || !q->c || !q->zw || !q->wt) {
        cu_qgemm_free(q);
        return qc_node_error(n, QC_ERR_NOMEM, "cuda: out of memory");
    }
    const qc_value *ws = const_in(g, n, 4), *wz = const_in(g, n, 5);
    if (n->in[5] >= 0 && !wz) {
        cu_qgemm_free(q);
        return (*why = "weight zero point is not a constant"), NULL;
    }
    for (int64_t c = 0; c < N; c++) {
        float sw;
        int32_t z;
        if (!scale_at(ws, N, c, &sw) || !zp_at(wz, N, c, &z)) {
            cu_qgemm_free(q);
            return (*why = "weight scale/zero point is neither per tensor nor per column"), NULL;
        }
        q->mult[c] = qc_requant_multiplier(sx, sw, sy);
        q->zw[c] = z;
        q->any_zw |= z != 0;
        /* All modulo 2^32, as ref's wrapping int32 sum. */
        uint32_t colsum = 0;
        for (int64_t k = 0; k < K; k++) {
            int32_t wv = (int32_t)qc_elem_get_i64(q->wdt, w->data, k * N + c);
            colsum += (uint32_t)wv;
            q->wt[c * q->Kp + k] = (uint8_t)wv;
        }
        uint32_t cc = bias ? (uint32_t)((const int32_t *)bias->data)[c] : 0u;
        cc -= (uint32_t)q->zx * colsum;
        cc += (uint32_t)K * (uint32_t)q->zx * (uint32_t)z;
        q->c[c] = (int32_t)cc;
    }
    *ok = true;
    return NULL;
}

bool cu_qdq_analyze(const qc_graph *g, int32_t ni, cu_qdq *q) {
    const qc_node *n = &g->nodes[ni];
    memset(q, 0, sizeof *q);
    bool quant = n->op == QC_OP_QUANTIZE_LINEAR;
    if ((!quant && n->op != QC_OP_DEQUANTIZE_LINEAR) || n->n_in < 2 || n->n_out != 1) return false;
    if (qc_node_attr(n, "axis") && numel(&g->values[n->in[1]]) != 1) return false;
    const qc_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    if (x->data) return false;
    q->x = n->in[0];
    q->y = n->out[0];
    q->qdt = quant ? y->type.dtype : x->type.dtype;
    if ((quant ? x : y)->type.dtype != QC_F32 || !is8(q->qdt)) return false;
    if (!scale_at(const_in(g, n, 1), 1, 0, &q->scale)) return false;
    if (n->n_in > 2 && n->in[2] >= 0 && !const_in(g, n, 2)) return false;
    if (!zp_at(const_in(g, n, 2), 1, 0, &q->zp)) return false;
    int64_t a, b;
    if (!cu_value_numel(g, q->x, &a, &b)) return false;
    int64_t lo, hi;
    qc_dtype_int_range(q->qdt, &lo, &hi);
    q->lo = (int32_t)lo;
    q->hi = (int32_t)hi;
    return q->zp >= q->lo && q->zp <= q->hi;
}
