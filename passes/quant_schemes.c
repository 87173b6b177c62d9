/* quant_schemes.c — the schemes that change more than Q/DQ placement:
 * int8-dynamic (DynamicQuantizeLinear + MatMulInteger/ConvInteger + scale
 * multiply, as ONNX Runtime's quantize_dynamic emits), fp16/bf16 (the whole
 * graph in half precision) and kmeans (codebook + indices, Cast + Gather). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/quant.h"
#include "passes/quant_build.h"

#define ONNX_FLOAT 1
#define ONNX_INT32 6
#define ONNX_FLOAT16 10
#define ONNX_BFLOAT16 16

static qc_status cast_node(qc_qbuild *b, int32_t x, int64_t to, const char *name, int32_t *out) {
    int32_t dn;
    qc_status st = qc_qb_node(b, QC_OP_CAST, name, &x, 1, name, out, &dn);
    return st ? st : qc_node_set_int(b->dst, dn, "to", to);
}

/* ---- int8-dynamic ------------------------------------------------------------ */

/* DynamicQuantizeLinear of source value id, shared by all its consumers. */
static qc_status dyn_quant(qc_qbuild *b, int32_t id, int32_t out[3]) {
    if (b->dyn[id] >= 0) {
        const qc_node *n = &b->dst->nodes[b->dst->values[b->dyn[id]].producer];
        memcpy(out, n->out, 3 * sizeof *out);
        return NULL;
    }
    const char *base = b->src->values[id].name;
    const char *suf[3] = {"_quantized", "_scale", "_zero_point"};
    qc_type undef = {0};
    char nm[512];
    int32_t x, dn;
    qc_status st = qc_qb_get(b, id, &x);
    for (int k = 0; k < 3 && !st; k++) {
        qc_qb_name(b, base, suf[k], nm, sizeof nm);
        st = qc_graph_add_value(b->dst, nm, &undef, &out[k]);
    }
    qc_qb_name(b, base, "_DynamicQuantizeLinear", nm, sizeof nm);
    if (!st) st = qc_graph_add_node(b->dst, QC_OP_DYNAMIC_QUANTIZE_LINEAR, nm, &x, 1, out, 3, &dn);
    if (!st) b->dyn[id] = out[0];
    return st;
}

/* y = (float)IntegerOp(x_q, W_q, x_zp, W_zp) * (x_scale * w_scale) [+ bias].
 * Weights i8 symmetric per tensor (quantize_dynamic's default), stored [K,N]
 * for MatMulInteger (a Gemm's transB weight is transposed offline). */
qc_status qc_qs_dynamic_node(qc_qbuild *b, int32_t ni, bool *done) {
    const qc_node *n = &b->src->nodes[ni];
    int32_t ch, k;
    *done = false;
    if (!qc_qb_weight_axes(b->src, n, &ch, &k)) return NULL;
    if (b->src->values[n->in[0]].type.dtype != QC_F32) return NULL;
    if (n->op == QC_OP_GEMM &&
        (qc_attr_int(n, "transA", 0) || qc_attr_float(n, "alpha", 1.0f) != 1.0f ||
         qc_attr_float(n, "beta", 1.0f) != 1.0f))
        return NULL;
    const qc_value *w = &b->src->values[n->in[1]];
    const float *wd = w->data;
    int64_t numel = qc_type_numel(&w->type);
    bool transpose = n->op == QC_OP_GEMM && ch == 0;
    int64_t rows = w->type.dims[0], cols = w->type.rank == 2 ? w->type.dims[1] : 0;
    float amax = 0.0f;
    for (int64_t i = 0; i < numel; i++) amax = fmaxf(amax, fabsf(wd[i]));
    float ws = amax > 0.0f ? amax / 127.0f : 1.0f;
    int8_t *q = malloc((size_t)numel + 1);
    if (!q) return qc_error(QC_ERR_NOMEM, "out of memory quantizing '%s'", w->name);
    for (int64_t i = 0; i < numel; i++) {
        int64_t dst = transpose ? (i % cols) * rows + i / cols : i;
        q[dst] = (int8_t)qc_quantize(wd[i], ws, 0, -127, 127);
    }
    qc_qb_note_scale(b, ws, 0);
    int64_t dims[QC_MAX_RANK];
    memcpy(dims, w->type.dims, sizeof dims);
    if (transpose) dims[0] = cols, dims[1] = rows;
    char nm[512];
    int32_t xq[3], in[4], dn, acc, accf, s, ys, ws_id, zero_id;
    int8_t zero = 0;
    int64_t none[1] = {0};
    qc_qb_name(b, w->name, "_quantized", nm, sizeof nm);
    qc_status st = qc_qb_const(b, nm, QC_I8, w->type.rank, dims, q, &in[1]);
    free(q);
    qc_qb_name(b, w->name, "_scale", nm, sizeof nm);
    if (!st) st = qc_qb_const(b, nm, QC_F32, 0, none, &ws, &ws_id);
    qc_qb_name(b, w->name, "_zero_point", nm, sizeof nm);
    if (!st) st = qc_qb_const(b, nm, QC_I8, 0, none, &zero, &zero_id);
    if (!st) st = dyn_quant(b, n->in[0], xq);
    const char *y = b->src->values[n->out[0]].name;
    bool has_bias = n->n_in > 2 && n->in[2] >= 0;
    if (!st) {
        in[0] = xq[0];
        in[2] = xq[2];
        in[3] = zero_id;
        qc_qb_name(b, y, "_int32", nm, sizeof nm);
        st = qc_qb_node(b, n->op == QC_OP_CONV ? QC_OP_CONV_INTEGER : QC_OP_MATMUL_INTEGER, nm,
                        in, 4, nm, &acc, &dn);
        /* ConvInteger takes Conv's attributes (all ints, int lists, strings). */
        for (int32_t a = 0; n->op == QC_OP_CONV && a < n->n_attr && !st; a++) {
            const qc_attr *at = &n->attr[a];
            if (at->kind == QC_ATTR_INTS) st = qc_node_set_ints(b->dst, dn, at->name, at->ints, at->n);
            else if (at->kind == QC_ATTR_INT) st = qc_node_set_int(b->dst, dn, at->name, at->i);
            else if (at->kind == QC_ATTR_STRING) st = qc_node_set_string(b->dst, dn, at->name, at->s);
        }
    }
    qc_qb_name(b, y, "_int32_float", nm, sizeof nm);
    if (!st) st = cast_node(b, acc, ONNX_FLOAT, nm, &accf);
    int32_t mi[2] = {xq[1], ws_id};
    qc_qb_name(b, y, "_scale", nm, sizeof nm);
    if (!st) st = qc_qb_node(b, QC_OP_MUL, nm, mi, 2, nm, &s, &dn);
    mi[0] = accf;
    mi[1] = s;
    if (has_bias) qc_qb_name(b, y, "_unbiased", nm, sizeof nm);
    if (!st) st = qc_qb_node(b, QC_OP_MUL, has_bias ? nm : y, mi, 2, has_bias ? nm : y, &ys, &dn);
    if (!st && has_bias) {
        int32_t bias;
        const qc_value *bv = &b->src->values[n->in[2]];
        if (n->op == QC_OP_CONV && bv->data && bv->type.rank == 1) {
            /* Conv's bias is per output channel: broadcast it as [O,1,...]. */
            int64_t bd[QC_MAX_RANK];
            int32_t r = w->type.rank - 1;
            for (int32_t d = 0; d < r; d++) bd[d] = d ? 1 : bv->type.dims[0];
            qc_qb_name(b, bv->name, "_broadcast", nm, sizeof nm);
            st = qc_qb_const(b, nm, QC_F32, r, bd, bv->data, &bias);
        } else {
            st = qc_qb_get(b, n->in[2], &bias);
        }
        int32_t ai[2] = {ys, bias};
        if (!st) st = qc_qb_node(b, QC_OP_ADD, y, ai, 2, y, &ys, &dn);
    }
    if (!st) b->map[n->out[0]] = ys;
    *done = !st;
    return st;
}

/* ---- kmeans -------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1p-53; }

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Nearest centroid in a sorted codebook (binary search on midpoints). */
static int32_t nearest(const float *c, int32_t k, float x) {
    int32_t lo = 0, hi = k - 1;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (x > 0.5f * (c[mid] + c[mid + 1])) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* 1-D k-means: k-means++ seeding (fixed seed: reproducible output), then
 * Lloyd iterations until no assignment changes (at most 50). The codebook
 * ends sorted; empty clusters keep their centroid. */
static qc_status kmeans_1d(const float *x, int64_t n, int32_t k, uint64_t seed, float *c,
                           int32_t *idx) {
    double *d2 = malloc(sizeof(double) * (size_t)n), *sum = malloc(sizeof(double) * (size_t)k);
    int64_t *cnt = malloc(sizeof(int64_t) * (size_t)k);
    if (!d2 || !sum || !cnt) {
        free(d2);
        free(sum);
        free(cnt);
        return qc_error(QC_ERR_NOMEM, "out of memory in k-means");
    }
    uint64_t s = seed;
    c[0] = x[rng_next(&s) % (uint64_t)n];
    for (int64_t i = 0; i < n; i++) d2[i] = (double)(x[i] - c[0]) * (x[i] - c[0]);
    for (int32_t j = 1; j < k; j++) {
        double tot = 0.0;
        for (int64_t i = 0; i < n; i++) tot += d2[i];
        int64_t pick = 0;
        if (tot > 0.0) {
            double r = rng_unit(&s) * tot, acc = 0.0;
            for (pick = 0; pick < n - 1; pick++) {
                acc += d2[pick];
                if (acc > r) break;
            }
        }
        c[j] = x[pick];
        for (int64_t i = 0; i < n; i++) {
            double d = (double)(x[i] - c[j]) * (x[i] - c[j]);
            if (d < d2[i]) d2[i] = d;
        }
    }
    qsort(c, (size_t)k, sizeof *c, cmp_float);
    for (int64_t i = 0; i < n; i++) idx[i] = -1;
    for (int it = 0; it < 50; it++) {
        bool changed = false;
        memset(sum, 0, sizeof(double) * (size_t)k);
        memset(cnt, 0, sizeof(int64_t) * (size_t)k);
        for (int64_t i = 0; i < n; i++) {
            int32_t a = nearest(c, k, x[i]);
            changed |= a != idx[i];
            idx[i] = a;
            sum[a] += x[i];
            cnt[a]++;
        }
        if (!changed) break;
        for (int32_t j = 0; j < k; j++)
            if (cnt[j]) c[j] = (float)(sum[j] / (double)cnt[j]);
        qsort(c, (size_t)k, sizeof *c, cmp_float);   /* means of sorted clusters stay sorted */
    }
    for (int64_t i = 0; i < n; i++) idx[i] = nearest(c, k, x[i]);
    free(d2);
    free(sum);
    free(cnt);
    return NULL;
}

qc_status qc_qs_kmeans_node(qc_qbuild *b, int32_t ni, bool *done) {
    const qc_node *n = &b->src->nodes[ni];
    int32_t ch, kax;
    *done = false;
    if (!qc_qb_weight_axes(b->src, n, &ch, &kax)) return NULL;
    const qc_value *w = &b->src->values[n->in[1]];
    int64_t numel = qc_type_numel(&w->type);
    int32_t k = b->cfg->centroids == 16 ? 16 : 256;
    qc_dtype it = k == 16 ? QC_U4 : QC_U8;
    float *cb = calloc((size_t)k, sizeof *cb);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)numel);
    void *packed = calloc(qc_dtype_bytes(it, numel) + 1, 1);
    qc_status st = (!cb || !idx || !packed) ? qc_error(QC_ERR_NOMEM, "out of memory") : NULL;
    if (!st) st = kmeans_1d(w->data, numel, k, b->cfg->seed, cb, idx);
    for (int64_t i = 0; !st && i < numel; i++) qc_elem_set_i64(it, packed, i, idx[i]);
    char nm[512];
    int32_t ids, book, idx32, wv, dn, in[3] = {-1, -1, -1};
    int64_t kd[1] = {k};
    qc_qb_name(b, w->name, "_indices", nm, sizeof nm);
    if (!st) st = qc_qb_const(b, nm, it, w->type.rank, w->type.dims, packed, &ids);
    qc_qb_name(b, w->name, "_codebook", nm, sizeof nm);
    if (!st) st = qc_qb_const(b, nm, QC_F32, 1, kd, cb, &book);
    qc_qb_name(b, w->name, "_indices_i32", nm, sizeof nm);
    if (!st) st = cast_node(b, ids, ONNX_INT32, nm, &idx32);
    int32_t gi[2] = {book, idx32};
    qc_qb_name(b, w->name, "_reconstructed", nm, sizeof nm);
    if (!st) st = qc_qb_node(b, QC_OP_GATHER, nm, gi, 2, nm, &wv, &dn);
    if (!st) st = qc_node_set_int(b->dst, dn, "axis", 0);
    if (!st) {
        qc_qb_note_scale(b, cb[0], 0);
        qc_qb_note_scale(b, cb[k - 1], 0);   /* the codebook's range, in the scale column */
        b->cur->zero_min = INT32_MAX;
        b->cur->zero_max = INT32_MIN;
    }
    free(cb);
    free(idx);
    free(packed);
    if (!st) st = qc_qb_get(b, n->in[0], &in[0]);
    in[1] = wv;
    if (!st && n->n_in > 2) st = qc_qb_get(b, n->in[2], &in[2]);
    if (!st) st = qc_qb_copy_node(b, ni, in);
    *done = !st;
    return st;
}

/* ---- fp16 / bf16 ----------------------------------------------------------------- */

/* Every f32 constant converted, graph inputs Cast to half on entry, every
 * node computing in half, graph outputs Cast back to f32 under their
 * original names (so callers and the report see the same interface). */
qc_status qc_qs_half_graph(qc_qbuild *b, qc_dtype half) {
    const qc_graph *g = b->src;
    int64_t to = half == QC_F16 ? ONNX_FLOAT16 : ONNX_BFLOAT16;
    const char *suf = half == QC_F16 ? "_f16" : "_bf16";
    char nm[512];
    qc_status st = NULL;
    uint8_t *is_out = calloc((size_t)g->n_values + 1, 1);
    if (!is_out) return qc_error(QC_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < g->n_outputs; i++) is_out[g->outputs[i]] = 1;
    for (int32_t i = 0; !st && i < g->n_inputs; i++) {
        int32_t id = g->inputs[i], x = b->map[id];
        if (g->values[id].type.dtype != QC_F32) continue;
        qc_qb_name(b, g->values[id].name, suf, nm, sizeof nm);
        st = cast_node(b, x, to, nm, &b->map[id]);
    }
    for (int32_t i = 0; !st && i < g->n_values; i++) {
        const qc_value *v = &g->values[i];
        if (!v->data || v->type.dtype != QC_F32) continue;
        int64_t n = qc_type_numel(&v->type);
        uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(n ? n : 1));
        if (!h) st = qc_error(QC_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; !st && k < n; k++) {
            float f = ((const float *)v->data)[k];
            h[k] = half == QC_F16 ? qc_f32_to_f16(f) : qc_f32_to_bf16(f);
        }
        if (!st) st = qc_qb_const(b, v->name, half, v->type.rank, v->type.dims, h, &b->map[i]);
        free(h);
    }
    for (int32_t ni = 0; !st && ni < g->n_nodes; ni++) {
        const qc_node *n = &g->nodes[ni];
        int32_t in[64], outs[64], dn;
        qc_type undef = {0};
        for (int32_t k = 0; k < n->n_in && !st; k++) st = qc_qb_get(b, n->in[k], &in[k]);
        for (int32_t k = 0; k < n->n_out && !st; k++) {
            const char *name = g->values[n->out[k]].name;
            if (is_out[n->out[k]]) qc_qb_name(b, name, suf, nm, sizeof nm);
            st = qc_graph_add_value(b->dst, is_out[n->out[k]] ? nm : name, &undef, &outs[k]);
            b->map[n->out[k]] = outs[k];
        }
        if (!st) st = qc_graph_add_node(b->dst, n->op, n->name, in, n->n_in, outs, n->n_out, &dn);
        /* The weight layers get report rows (no scales: the whole graph is half). */
        if (!st && (n->op == QC_OP_GEMM || n->op == QC_OP_MATMUL || n->op == QC_OP_CONV)) {
            st = qc_qb_begin_layer(b, ni, b->cfg->scheme);
            b->cur = NULL;
        }
        for (int32_t a = 0; a < n->n_attr && !st; a++) {
            const qc_attr *at = &n->attr[a];
            /* A Cast to f32 inside the graph would leave half precision. */
            int64_t iv = n->op == QC_OP_CAST && !strcmp(at->name, "to") && at->i == ONNX_FLOAT ? to : at->i;
            switch (at->kind) {
            case QC_ATTR_INT: st = qc_node_set_int(b->dst, dn, at->name, iv); break;
            case QC_ATTR_FLOAT: st = qc_node_set_float(b->dst, dn, at->name, at->f); break;
            case QC_ATTR_STRING: st = qc_node_set_string(b->dst, dn, at->name, at->s); break;
            case QC_ATTR_INTS: st = qc_node_set_ints(b->dst, dn, at->name, at->ints, at->n); break;
            case QC_ATTR_FLOATS: st = qc_node_set_floats(b->dst, dn, at->name, at->floats, at->n); break;
            }
        }
    }
    if (!st) st = qc_graph_infer(b->dst);
    for (int32_t i = 0; !st && i < g->n_outputs; i++) {
        int32_t id = g->outputs[i], x = b->map[id], y = x;
        if (b->dst->values[x].type.dtype == half && g->values[id].type.dtype == QC_F32)
            st = cast_node(b, x, ONNX_FLOAT, g->values[id].name, &y);
        if (!st) st = qc_graph_add_output(b->dst, y);
    }
    free(is_out);
    return st;
}
