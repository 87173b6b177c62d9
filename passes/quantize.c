/* quantize.c — the scheme -> QDQ rewrite (see quantize.h).
 *
 * The quantized graph is built fresh rather than edited in place: nodes are
 * copied in source order, and the Q/DQ nodes a quantized op needs are
 * emitted just before it, so topological order holds by construction and
 * replaced float weights are simply never copied. Node outputs keep their
 * source names (the report matches layers by name) and get their types from
 * inference at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/quant.h"
#include "passes/quant_build.h"

static const char *const scheme_names[QC_QS_COUNT] = {
    "none", "int8", "int8-dynamic", "int8-weight", "int4-weight", "fp16",
    "bf16", "fp8-e4m3", "fp8-e5m2", "16x8", "kmeans"};

const char *qc_qscheme_name(qc_qscheme s) {
    return (unsigned)s < QC_QS_COUNT ? scheme_names[s] : "?";
}

bool qc_qscheme_parse(const char *s, qc_qscheme *out) {
    for (int i = 1; i < QC_QS_COUNT; i++)
        if (!strcmp(s, scheme_names[i])) {
            *out = (qc_qscheme)i;
            return true;
        }
    return false;
}

bool qc_qscheme_needs_calib(qc_qscheme s) {
    return s == QC_QS_INT8 || s == QC_QS_FP8_E4M3 || s == QC_QS_FP8_E5M2 || s == QC_QS_16X8;
}

void qc_quant_config_default(qc_quant_config *c) {
    memset(c, 0, sizeof *c);
    c->scheme = QC_QS_INT8;
    c->method = QC_CALIB_MINMAX;
    c->percentile = 99.99;
    c->act_type = QC_U8;
    c->group = 128;
    c->centroids = 256;
    c->seed = 0x5eed;
}

void qc_quant_report_free(qc_quant_report *r) {
    for (int32_t i = 0; i < r->n_layers; i++) {
        free(r->layers[i].node);
        free(r->layers[i].output);
    }
    free(r->layers);
    memset(r, 0, sizeof *r);
}

bool qc_graph_is_quantized(const qc_graph *g) {
    for (int32_t i = 0; i < g->n_nodes; i++) switch (g->nodes[i].op) {
        case QC_OP_QUANTIZE_LINEAR: case QC_OP_DEQUANTIZE_LINEAR:
        case QC_OP_DYNAMIC_QUANTIZE_LINEAR: case QC_OP_QLINEAR_MATMUL: case QC_OP_QLINEAR_CONV:
        case QC_OP_MATMUL_INTEGER: case QC_OP_CONV_INTEGER: case QC_OP_QLINEAR_ADD:
        case QC_OP_QLINEAR_MUL:
            return true;
        default: break;
        }
    return false;
}

int64_t qc_graph_const_bytes(const qc_graph *g) {
    int64_t n = 0;
    for (int32_t i = 0; i < g->n_values; i++)
        if (g->values[i].data) n += (int64_t)g->values[i].nbytes;
    return n;
}

/* ---- builder -------------------------------------------------------------- */

void qc_qb_name(qc_qbuild *b, const char *base, const char *suffix, char *buf, size_t n) {
    snprintf(buf, n, "%s%s", base, suffix);
    for (int k = 2; qc_graph_find_value(b->dst, buf) >= 0 || qc_graph_find_value(b->src, buf) >= 0; k++)
        snprintf(buf, n, "%s%s_%d", base, suffix, k);
}

qc_status qc_qb_const(qc_qbuild *b, const char *name, qc_dtype dt, int32_t rank,
                      const int64_t *dims, const void *data, int32_t *id) {
    qc_type t = {.dtype = dt, .rank = rank};
    for (int32_t k = 0; k < rank; k++) t.dims[k] = dims[k];
    return qc_graph_add_const(b->dst, name, &t, data, qc_dtype_bytes(dt, qc_type_numel(&t)), id);
}

qc_status qc_qb_get(qc_qbuild *b, int32_t id, int32_t *out) {
    if (id < 0) {
        *out = -1;
        return NULL;
    }
    if (b->map[id] >= 0) {
        *out = b->map[id];
        return NULL;
    }
    const qc_value *v = &b->src->values[id];
    if (!v->data)
        return qc_error(QC_ERR_INTERNAL, "quantize: value '%s' used before it is defined", v->name);
    qc_status st = qc_graph_add_const(b->dst, v->name, &v->type, v->data, v->nbytes, &b->map[id]);
    if (!st && v->quant.kind != QC_Q_NONE) st = qc_value_set_quant(b->dst, b->map[id], &v->quant);
    *out = b->map[id];
    return st;
}

qc_status qc_qb_node(qc_qbuild *b, qc_op op, const char *node_name, const int32_t *in,
                     int32_t n_in, const char *out_name, int32_t *out_id, int32_t *node_id) {
    qc_type undef = {0};
    qc_status st = qc_graph_add_value(b->dst, out_name, &undef, out_id);
    if (!st) st = qc_graph_add_node(b->dst, op, node_name, in, n_in, out_id, 1, node_id);
    return st;
}

static qc_status copy_attrs(qc_graph *g, int32_t dn, const qc_node *n) {
    qc_status st = NULL;
    for (int32_t a = 0; a < n->n_attr && !st; a++) {
        const qc_attr *at = &n->attr[a];
        switch (at->kind) {
        case QC_ATTR_INT: st = qc_node_set_int(g, dn, at->name, at->i); break;
        case QC_ATTR_FLOAT: st = qc_node_set_float(g, dn, at->name, at->f); break;
        case QC_ATTR_STRING: st = qc_node_set_string(g, dn, at->name, at->s); break;
        case QC_ATTR_INTS: st = qc_node_set_ints(g, dn, at->name, at->ints, at->n); break;
        case QC_ATTR_FLOATS: st = qc_node_set_floats(g, dn, at->name, at->floats, at->n); break;
        }
    }
    return st;
}

qc_status qc_qb_copy_node(qc_qbuild *b, int32_t ni, const int32_t *in) {
    const qc_node *n = &b->src->nodes[ni];
    int32_t outs[64];
    qc_type undef = {0};
    for (int32_t k = 0; k < n->n_out; k++) {
        qc_status st = qc_graph_add_value(b->dst, b->src->values[n->out[k]].name, &undef, &outs[k]);
        if (st) return st;
        b->map[n->out[k]] = outs[k];
    }
    int32_t dn;
    qc_status st = qc_graph_add_node(b->dst, n->op, n->name, in, n->n_in, outs, n->n_out, &dn);
    return st ? st : copy_attrs(b->dst, dn, n);
}

void qc_qb_note_scale(qc_qbuild *b, float s, int32_t zp) {
    qc_quant_layer *l = b->cur;
    if (!l) return;
    if (s < l->scale_min) l->scale_min = s;
    if (s > l->scale_max) l->scale_max = s;
    if (zp < l->zero_min) l->zero_min = zp;
    if (zp > l->zero_max) l->zero_max = zp;
}

bool qc_qb_weight_axes(const qc_graph *g, const qc_node *n, int32_t *ch, int32_t *k) {
    if (n->n_in < 2 || n->in[1] < 0) return false;
    const qc_value *w = &g->values[n->in[1]];
    if (!w->data || w->type.dtype != QC_F32) return false;
    int32_t r = w->type.rank;
    switch (n->op) {
    case QC_OP_CONV:
        if (r < 3) return false;
        *ch = 0;
        *k = 1;
        return true;
    case QC_OP_GEMM:
        if (r != 2) return false;
        if (qc_attr_int(n, "transB", 0)) *ch = 0, *k = 1;
        else *ch = 1, *k = 0;
        return true;
    case QC_OP_MATMUL:
        if (r != 2) return false;
        *ch = 1;
        *k = 0;
        return true;
    default: return false;
    }
}

/* ---- numerics of the uniform schemes --------------------------------------- */

/* Element i's index along `axis` of a tensor with `inner` elements after the
 * axis and `len` along it. */
static int64_t along(int64_t i, int64_t inner, int64_t len) { return (i / inner) % len; }

/* Scale and zero point for the range [lo, hi] on [qlo, qhi]. Symmetric
 * ranges use the largest magnitude over the positive half (so -127..127 for
 * i8, as ORT's weights) with zp 0, or the unsigned midpoint for u8. */
static void qparams(float lo, float hi, int64_t qlo, int64_t qhi, bool symmetric, float *s,
                    int32_t *zp) {
    if (lo > 0.0f) lo = 0.0f;
    if (hi < 0.0f) hi = 0.0f;
    if (symmetric) {
        float a = fmaxf(-lo, hi);
        int64_t half = qlo < 0 ? qhi : (qhi - qlo) / 2;
        *s = a / (float)half;
        *zp = qlo < 0 ? 0 : (int32_t)((qhi - qlo + 1) / 2);
    } else {
        *s = (hi - lo) / (float)(qhi - qlo);
        *zp = *s > 0.0f ? qc_sat_round_add(rintf((float)qlo - lo / *s), 0, (int32_t)qlo, (int32_t)qhi)
                        : 0;
    }
    if (!(*s > 0.0f) || !isfinite(*s)) *s = 1.0f;   /* an all-zero tensor: any scale is exact */
}

/* Quantizes a float weight into `dt` with per-entry params laid out as
 * QC_Q_TENSOR (count 1), QC_Q_AXIS (axis) or QC_Q_BLOCK (axis + block). */
typedef struct wq {
    qc_qkind kind;
    int32_t axis, block, count;
    float *scale;
    int32_t *zero;
    void *data;
    int64_t pdims[QC_MAX_RANK];   /* shape of the scale tensor */
    int32_t prank;
} wq;

static void wq_free(wq *q) {
    free(q->scale);
    free(q->zero);
    free(q->data);
}

static int64_t wq_param(const wq *q, const qc_type *t, int64_t i) {
    if (q->kind == QC_Q_TENSOR) return 0;
    int64_t inner = 1;
    for (int32_t d = q->axis + 1; d < t->rank; d++) inner *= t->dims[d];
    int64_t len = t->dims[q->axis], a = along(i, inner, len);
    if (q->kind == QC_Q_AXIS) return a;
    int64_t nb = (len + q->block - 1) / q->block, outer = i / inner / len, in = i % inner;
    return (outer * nb + a / q->block) * inner + in;
}

static qc_status quantize_weight(const qc_value *w, qc_dtype dt, qc_qkind kind, int32_t axis,
                                 int32_t block, bool symmetric, wq *q) {
    memset(q, 0, sizeof *q);
    q->kind = kind;
    q->axis = axis;
    q->block = block;
    const qc_type *t = &w->type;
    int64_t n = qc_type_numel(t);
    if (kind == QC_Q_TENSOR) {
        q->count = 1;
        q->prank = 0;
    } else if (kind == QC_Q_AXIS) {
        q->count = (int32_t)t->dims[axis];
        q->prank = 1;
        q->pdims[0] = q->count;
    } else {
        q->prank = t->rank;
        int64_t c = 1;
        for (int32_t d = 0; d < t->rank; d++) {
            q->pdims[d] = d == axis ? (t->dims[d] + block - 1) / block : t->dims[d];
            c *= q->pdims[d];
        }
        q->count = (int32_t)c;
    }
    float *lo = malloc(sizeof(float) * (size_t)q->count), *hi = malloc(sizeof(float) * (size_t)q->count);
    q->scale = malloc(sizeof(float) * (size_t)q->count);
    q->zero = calloc((size_t)q->count, sizeof(int32_t));
    q->data = calloc(qc_dtype_bytes(dt, n) + 1, 1);
    if (!lo || !hi || !q->scale || !q->zero || !q->data) {
        free(lo);
        free(hi);
        wq_free(q);
        return qc_error(QC_ERR_NOMEM, "out of memory quantizing '%s'", w->name);
    }
    for (int32_t c = 0; c < q->count; c++) lo[c] = hi[c] = 0.0f;
    const float *x = w->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t p = wq_param(q, t, i);
        if (x[i] < lo[p]) lo[p] = x[i];
        if (x[i] > hi[p]) hi[p] = x[i];
    }
    bool fp8 = dt == QC_F8E4M3FN || dt == QC_F8E5M2;
    int64_t qlo, qhi;
    qc_dtype_int_range(dt, &qlo, &qhi);
    if (symmetric && qlo < 0) qlo = -qhi;   /* i8: -127..127 keeps zero exactly centred */
    for (int32_t c = 0; c < q->count; c++) {
        if (fp8) {
            float a = fmaxf(-lo[c], hi[c]), m = dt == QC_F8E4M3FN ? 448.0f : 57344.0f;
            q->scale[c] = a > 0.0f ? a / m : 1.0f;
            q->zero[c] = 0;
        } else {
            qparams(lo[c], hi[c], qlo, qhi, symmetric, &q->scale[c], &q->zero[c]);
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t p = wq_param(q, t, i);
        if (fp8) qc_elem_set_f64(dt, q->data, i, (double)(x[i] / q->scale[p]));
        else qc_elem_set_i64(dt, q->data, i,
                             qc_quantize(x[i], q->scale[p], q->zero[p], (int32_t)qlo, (int32_t)qhi));
    }
    free(lo);
    free(hi);
    return NULL;
}

/* Emits a quantized weight constant (with its quant params recorded on the
 * value) + scale (+ zero point) + DequantizeLinear; *out is the f32 result. */
static qc_status emit_weight(qc_qbuild *b, const qc_value *w, qc_dtype dt, const wq *q,
                             bool with_zero, int32_t *out) {
    char nm[512];
    int32_t in[3] = {-1, -1, -1}, dn;
    qc_qb_name(b, w->name, "_quantized", nm, sizeof nm);
    qc_status st = qc_qb_const(b, nm, dt, w->type.rank, w->type.dims, q->data, &in[0]);
    if (!st) {
        qc_quant qq = {q->kind, q->axis, q->block, q->count, q->scale, q->zero};
        st = qc_value_set_quant(b->dst, in[0], &qq);
    }
    if (!st) {
        qc_qb_name(b, w->name, "_scale", nm, sizeof nm);
        st = qc_qb_const(b, nm, QC_F32, q->prank, q->pdims, q->scale, &in[1]);
    }
    if (!st && with_zero) {
        void *z = calloc(qc_dtype_bytes(dt, q->count) + 1, 1);
        if (!z) return qc_error(QC_ERR_NOMEM, "out of memory");
        for (int32_t c = 0; c < q->count; c++) qc_elem_set_i64(dt, z, c, q->zero[c]);
        qc_qb_name(b, w->name, "_zero_point", nm, sizeof nm);
        st = qc_qb_const(b, nm, dt, q->prank, q->pdims, z, &in[2]);
        free(z);
    }
    for (int32_t c = 0; c < q->count; c++) qc_qb_note_scale(b, q->scale[c], q->zero[c]);
    if (!st) {
        qc_qb_name(b, w->name, "_dequantized", nm, sizeof nm);
        st = qc_qb_node(b, QC_OP_DEQUANTIZE_LINEAR, nm, in, with_zero ? 3 : 2, nm, out, &dn);
    }
    if (!st && q->kind != QC_Q_TENSOR) st = qc_node_set_int(b->dst, dn, "axis", q->axis);
    if (!st && q->kind == QC_Q_BLOCK) st = qc_node_set_int(b->dst, dn, "block_size", q->block);
    return st;
}

/* The activation type and whether it is symmetric, per scheme. */
static qc_dtype act_dtype(const qc_quant_config *c, qc_qscheme s, bool *symmetric) {
    *symmetric = true;
    switch (s) {
    case QC_QS_FP8_E4M3: return QC_F8E4M3FN;
    case QC_QS_FP8_E5M2: return QC_F8E5M2;
    case QC_QS_16X8: return QC_I16;
    default:
        /* u8 is asymmetric (ORT's default); i8 symmetric unless --asymmetric. */
        *symmetric = c->act_type == QC_I8 && !c->asymmetric;
        return c->act_type == QC_I8 ? QC_I8 : QC_U8;
    }
}

/* Data-movement ops that are exact on quantized values: their output keeps
 * the input's quantization parameters (as ORT's quantizer propagates them),
 * so qdq_fold can move them into the integer domain and drop the Q(DQ())
 * pair between them and the next quantized op. */
static bool is_movement(qc_op op) {
    return op == QC_OP_MAX_POOL || op == QC_OP_FLATTEN || op == QC_OP_RESHAPE ||
           op == QC_OP_TRANSPOSE || op == QC_OP_SQUEEZE || op == QC_OP_UNSQUEEZE ||
           op == QC_OP_IDENTITY;
}

/* The value whose Q/DQ parameters `id` inherits through movement ops, or -1. */
static int32_t inherited(const qc_qbuild *b, int32_t id) {
    for (int depth = 0; depth < 64 && id >= 0; depth++) {
        if (b->q_scale[id] > 0.0f) return id;
        int32_t p = b->src->values[id].producer;
        if (p < 0 || !is_movement(b->src->nodes[p].op) || b->src->nodes[p].n_out != 1) return -1;
        id = b->src->nodes[p].in[0];
    }
    return -1;
}

/* Q -> DQ on activation `id` (source id), shared by every consumer. */
static qc_status act_qdq(qc_qbuild *b, int32_t id, qc_qscheme s, int32_t *out, float *scale) {
    const qc_value *v = &b->src->values[id];
    bool sym;
    qc_dtype dt = act_dtype(b->cfg, s, &sym);
    if (b->qdq[id] >= 0) {
        *out = b->qdq[id];
        *scale = b->q_scale[id];
        qc_qb_note_scale(b, b->q_scale[id], b->q_zero[id]);
        return NULL;
    }
    float sc;
    int32_t zp = 0, from = inherited(b, id);
    qc_status st = NULL;
    if (from >= 0) {
        sc = b->q_scale[from];
        zp = b->q_zero[from];
    } else {
        float lo, hi;
        int levels = dt == QC_I16 ? 32767 : 127;
        st = qc_calib_range(b->calib, id, b->cfg->method, b->cfg->percentile, levels, &lo, &hi);
        if (st) return st;
        if (dt == QC_F8E4M3FN || dt == QC_F8E5M2) {
            float a = fmaxf(fabsf(lo), fabsf(hi));
            sc = a > 0.0f ? a / (dt == QC_F8E4M3FN ? 448.0f : 57344.0f) : 1.0f;
        } else {
            int64_t qlo, qhi;
            qc_dtype_int_range(dt, &qlo, &qhi);
            if (sym && qlo < 0) qlo = -qhi;
            qparams(lo, hi, qlo, qhi, sym, &sc, &zp);
        }
    }
    *scale = sc;
    qc_qb_note_scale(b, sc, zp);
    char nm[512], qn[512];
    int32_t in[3], x, dn;
    uint8_t zbuf[8] = {0};
    st = qc_qb_get(b, id, &x);
    int64_t none[1] = {0};
    qc_qb_name(b, v->name, "_scale", nm, sizeof nm);
    if (!st) st = qc_qb_const(b, nm, QC_F32, 0, none, &sc, &in[1]);
    if (dt != QC_F8E4M3FN && dt != QC_F8E5M2) qc_elem_set_i64(dt, zbuf, 0, zp);   /* fp8: +0 */
    qc_qb_name(b, v->name, "_zero_point", nm, sizeof nm);
    if (!st) st = qc_qb_const(b, nm, dt, 0, none, zbuf, &in[2]);
    in[0] = x;
    qc_qb_name(b, v->name, "_quantized", qn, sizeof qn);
    int32_t q;
    if (!st) st = qc_qb_node(b, QC_OP_QUANTIZE_LINEAR, qn, in, 3, qn, &q, &dn);
    in[0] = q;
    qc_qb_name(b, v->name, "_dequantized", nm, sizeof nm);
    if (!st) st = qc_qb_node(b, QC_OP_DEQUANTIZE_LINEAR, nm, in, 3, nm, out, &dn);
    if (!st) {
        b->qdq[id] = *out;
        b->q_scale[id] = sc;
        b->q_zero[id] = zp;
    }
    return st;
}

/* Where a quantized op's output Q/DQ goes: after a lone Relu/Clip consumer
 * (qdq_fold folds the activation into the output clamp, as ORT's
 * QDQRemovableActivation does), else right after the op. Graph outputs keep
 * their float value and name. */
static void mark_output(qc_qbuild *b, int32_t y, qc_qscheme s) {
    const qc_graph *g = b->src;
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == y) return;
    int32_t uses = 0, user = -1;
    for (int32_t ni = 0; ni < g->n_nodes; ni++)
        for (int32_t k = 0; k < g->nodes[ni].n_in; k++)
            if (g->nodes[ni].in[k] == y) uses++, user = ni;
    if (uses == 1 && (g->nodes[user].op == QC_OP_RELU || g->nodes[user].op == QC_OP_CLIP) &&
        g->nodes[user].n_out == 1) {
        mark_output(b, g->nodes[user].out[0], s);
        return;
    }
    if (uses > 0) b->pending[y] = (uint8_t)s;
}

/* i32 bias with scale s_x * s_w[c] (ORT's layout), dequantized on axis 0. */
static qc_status emit_bias(qc_qbuild *b, const qc_value *bias, float sx, const wq *w,
                           int32_t *out) {
    int64_t n = qc_type_numel(&bias->type);
    float *s = malloc(sizeof(float) * (size_t)n);
    int32_t *q = malloc(sizeof(int32_t) * (size_t)n);
    qc_status st = NULL;
    if (!s || !q) st = qc_error(QC_ERR_NOMEM, "out of memory quantizing '%s'", bias->name);
    for (int64_t c = 0; !st && c < n; c++) {
        s[c] = sx * w->scale[w->count == 1 ? 0 : c];
        q[c] = qc_quantize(((const float *)bias->data)[c], s[c], 0, INT32_MIN, INT32_MAX);
    }
    wq bq = {.kind = n == 1 ? QC_Q_TENSOR : QC_Q_AXIS, .axis = 0, .count = (int32_t)n,
             .scale = s, .zero = calloc((size_t)n, sizeof(int32_t)), .data = q,
             .pdims = {n}, .prank = 1};
    if (!bq.zero && !st) st = qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st) {
        if (bq.kind == QC_Q_TENSOR) bq.prank = 0;
        qc_quant_layer *keep = b->cur;
        b->cur = NULL;   /* bias scales are derived, not reported */
        st = emit_weight(b, bias, QC_I32, &bq, false, out);
        b->cur = keep;
    }
    free(s);
    free(q);
    free(bq.zero);
    return st;
}

/* ---- per-node rewrites ------------------------------------------------------ */

qc_status qc_qb_begin_layer(qc_qbuild *b, int32_t ni, qc_qscheme s) {
    qc_quant_report *r = b->rep;
    qc_quant_layer *l = realloc(r->layers, sizeof *l * (size_t)(r->n_layers + 1));
    if (!l) return qc_error(QC_ERR_NOMEM, "out of memory for the quantization report");
    r->layers = l;
    const qc_node *n = &b->src->nodes[ni];
    qc_quant_layer *c = &l[r->n_layers++];
    memset(c, 0, sizeof *c);
    c->node = strdup(n->name);
    c->output = strdup(b->src->values[n->out[0]].name);
    c->op = n->op;
    c->scheme = s;
    c->scale_min = INFINITY;
    c->scale_max = -INFINITY;
    c->zero_min = INT32_MAX;
    c->zero_max = INT32_MIN;
    c->sqnr_db = c->rel_err = NAN;
    b->cur = c;
    if (!c->node || !c->output) return qc_error(QC_ERR_NOMEM, "out of memory");
    return NULL;
}

/* Drops the layer begun last (the node stayed float after all). */
static void cancel_layer(qc_qbuild *b) {
    qc_quant_layer *c = &b->rep->layers[--b->rep->n_layers];
    free(c->node);
    free(c->output);
    b->cur = NULL;
}

/* int8 static, 16x8, fp8: Q/DQ on the activation input, quantized weight +
 * DQ, i32 bias + DQ (integer schemes; fp8 keeps a float bias). */
static qc_status static_node(qc_qbuild *b, int32_t ni, qc_qscheme s, bool *done) {
    const qc_node *n = &b->src->nodes[ni];
    int32_t ch, k;
    *done = false;
    if (!qc_qb_weight_axes(b->src, n, &ch, &k)) return NULL;
    if (!b->calib)   /* reachable through node_scheme with a calibration-free cfg.scheme */
        return qc_node_error(n, QC_ERR_INVALID, "scheme %s needs calibration data",
                             qc_qscheme_name(s));
    int32_t xid = n->in[0];
    float lo, hi;
    qc_status st = qc_calib_range(b->calib, xid, QC_CALIB_MINMAX, 0, 0, &lo, &hi);
    if (st) {   /* not observed (not f32): leave the node float */
        qc_status_free(st);
        return NULL;
    }
    bool fp8 = s == QC_QS_FP8_E4M3 || s == QC_QS_FP8_E5M2;
    qc_dtype wdt = fp8 ? (s == QC_QS_FP8_E4M3 ? QC_F8E4M3FN : QC_F8E5M2) : QC_I8;
    bool sym = fp8 || !b->cfg->asymmetric;
    qc_qkind kind = fp8 || b->cfg->per_tensor ? QC_Q_TENSOR : QC_Q_AXIS;
    if ((st = qc_qb_begin_layer(b, ni, s))) return st;
    int32_t in[3] = {-1, -1, -1};
    float sx;
    wq w;
    const qc_value *wv = &b->src->values[n->in[1]];
    st = act_qdq(b, xid, s, &in[0], &sx);
    if (!st) st = quantize_weight(wv, wdt, kind, ch, 0, sym, &w);
    if (st) return st;
    /* Integer weights always carry their zero point (ORT's layout, and the
     * form qdq_fold matches); fp8 zero points are always 0 and omitted. */
    st = emit_weight(b, wv, wdt, &w, !fp8, &in[1]);
    if (!st && n->n_in > 2 && n->in[2] >= 0) {
        const qc_value *bv = &b->src->values[n->in[2]];
        int64_t nb = qc_type_numel(&bv->type);
        bool qbias = !fp8 && sym && bv->data && bv->type.dtype == QC_F32 && bv->type.rank == 1 &&
                     (nb == wv->type.dims[ch] || nb == 1);
        st = qbias ? emit_bias(b, bv, sx, &w, &in[2]) : qc_qb_get(b, n->in[2], &in[2]);
    }
    wq_free(&w);
    if (!st) st = qc_qb_copy_node(b, ni, in);
    if (!st) mark_output(b, n->out[0], s);
    b->cur = NULL;
    *done = !st;
    return st;
}

/* Weight-only: blocked along K for Gemm/MatMul (group = block size), per
 * output channel for Conv (its K spans several axes, which one block axis
 * cannot follow). Activations and bias stay float. */
static qc_status weight_only_node(qc_qbuild *b, int32_t ni, qc_qscheme s, bool *done) {
    const qc_node *n = &b->src->nodes[ni];
    int32_t ch, k;
    *done = false;
    if (!qc_qb_weight_axes(b->src, n, &ch, &k)) return NULL;
    bool asym = b->cfg->asymmetric, four = s == QC_QS_INT4_WEIGHT;
    qc_dtype dt = four ? (asym ? QC_U4 : QC_I4) : (asym ? QC_U8 : QC_I8);
    const qc_value *wv = &b->src->values[n->in[1]];
    qc_qkind kind = n->op == QC_OP_CONV ? QC_Q_AXIS : QC_Q_BLOCK;
    int32_t axis = n->op == QC_OP_CONV ? ch : k;
    int32_t group = b->cfg->group > 0 ? b->cfg->group : 128;
    qc_status st = qc_qb_begin_layer(b, ni, s);
    wq w;
    if (!st) st = quantize_weight(wv, dt, kind, axis, group, !asym, &w);
    if (st) return st;
    int32_t in[3] = {-1, -1, -1};
    st = qc_qb_get(b, n->in[0], &in[0]);
    if (!st) st = emit_weight(b, wv, dt, &w, asym, &in[1]);
    if (!st && n->n_in > 2) st = qc_qb_get(b, n->in[2], &in[2]);
    wq_free(&w);
    if (!st) st = qc_qb_copy_node(b, ni, in);
    b->cur = NULL;
    *done = !st;
    return st;
}

static qc_status copy_plain(qc_qbuild *b, int32_t ni) {
    const qc_node *n = &b->src->nodes[ni];
    int32_t in[64];
    for (int32_t k = 0; k < n->n_in; k++) {
        /* Consumers of a fake-quantized tensor read its DQ output (ORT's layout). */
        if (n->in[k] >= 0 && b->qdq[n->in[k]] >= 0) {
            in[k] = b->qdq[n->in[k]];
            continue;
        }
        qc_status st = qc_qb_get(b, n->in[k], &in[k]);
        if (st) return st;
    }
    return qc_qb_copy_node(b, ni, in);
}

/* Emits the output Q/DQ a quantized op asked for (mark_output) once the
 * value exists. */
static qc_status flush_pending(qc_qbuild *b, int32_t ni) {
    const qc_node *n = &b->src->nodes[ni];
    for (int32_t k = 0; k < n->n_out; k++) {
        int32_t y = n->out[k];
        if (!b->pending[y] || b->qdq[y] >= 0) continue;
        int32_t out;
        float sc;
        qc_quant_layer *keep = b->cur;
        b->cur = NULL;
        qc_status st = act_qdq(b, y, (qc_qscheme)b->pending[y], &out, &sc);
        b->cur = keep;
        if (st && qc_status_code(st) == QC_ERR_NOT_FOUND) {   /* not calibrated: stays float */
            qc_status_free(st);
            st = NULL;
        }
        if (st) return st;
    }
    return NULL;
}

static qc_status quantize_node(qc_qbuild *b, int32_t ni) {
    const qc_node *n = &b->src->nodes[ni];
    qc_qscheme s = b->cfg->node_scheme ? b->cfg->node_scheme[ni] : b->cfg->scheme;
    bool done = false;
    qc_status st = NULL;
    if (n->op == QC_OP_GEMM || n->op == QC_OP_MATMUL || n->op == QC_OP_CONV) {
        switch (s) {
        case QC_QS_INT8: case QC_QS_16X8: case QC_QS_FP8_E4M3: case QC_QS_FP8_E5M2:
            st = static_node(b, ni, s, &done);
            break;
        case QC_QS_INT8_WEIGHT: case QC_QS_INT4_WEIGHT:
            st = weight_only_node(b, ni, s, &done);
            break;
        case QC_QS_INT8_DYNAMIC:
            if (!(st = qc_qb_begin_layer(b, ni, s))) st = qc_qs_dynamic_node(b, ni, &done);
            if (!st && !done) cancel_layer(b);
            break;
        case QC_QS_KMEANS:
            if (!(st = qc_qb_begin_layer(b, ni, s))) st = qc_qs_kmeans_node(b, ni, &done);
            if (!st && !done) cancel_layer(b);
            break;
        default: break;
        }
        b->cur = NULL;
    }
    if (!st && !done) st = copy_plain(b, ni);
    return st ? st : flush_pending(b, ni);
}

qc_status qc_quantize_graph(const qc_graph *src, const qc_calib *calib, const qc_quant_config *cfg,
                            qc_graph **out, qc_quant_report *rep) {
    *out = NULL;
    memset(rep, 0, sizeof *rep);
    rep->acc_before = rep->acc_after = rep->output_rel_err = NAN;
    rep->bytes_before = qc_graph_const_bytes(src);
    bool pass = qc_graph_is_quantized(src);
    if (!pass && qc_qscheme_needs_calib(cfg->scheme) && !calib)
        return qc_error(QC_ERR_INVALID, "scheme %s needs calibration data (--calib)",
                        qc_qscheme_name(cfg->scheme));
    qc_qbuild b;
    memset(&b, 0, sizeof b);
    b.src = src;
    b.calib = calib;
    b.cfg = cfg;
    b.rep = rep;
    qc_status st = qc_graph_create(src->name, &b.dst);
    if (!st && src->batch) st = qc_graph_set_batch(b.dst, src->batch);
    size_t nv = (size_t)src->n_values + 1;
    b.map = malloc(sizeof(int32_t) * nv);
    b.qdq = malloc(sizeof(int32_t) * nv);
    b.dyn = malloc(sizeof(int32_t) * nv);
    b.q_scale = calloc(nv, sizeof(float));
    b.q_zero = calloc(nv, sizeof(int32_t));
    b.pending = calloc(nv, 1);
    if (!st && (!b.map || !b.qdq || !b.dyn || !b.q_scale || !b.q_zero || !b.pending))
        st = qc_error(QC_ERR_NOMEM, "out of memory quantizing");
    for (int32_t i = 0; !st && i < src->n_values; i++) b.map[i] = b.qdq[i] = b.dyn[i] = -1;
    for (int32_t i = 0; !st && i < src->n_inputs; i++) {
        const qc_value *v = &src->values[src->inputs[i]];
        st = qc_graph_add_value(b.dst, v->name, &v->type, &b.map[src->inputs[i]]);
        if (!st) st = qc_graph_add_input(b.dst, b.map[src->inputs[i]]);
    }
    if (!st && !pass && (cfg->scheme == QC_QS_FP16 || cfg->scheme == QC_QS_BF16)) {
        st = qc_qs_half_graph(&b, cfg->scheme == QC_QS_FP16 ? QC_F16 : QC_BF16);
    } else {
        for (int32_t ni = 0; !st && ni < src->n_nodes; ni++)
            st = pass ? copy_plain(&b, ni) : quantize_node(&b, ni);
        for (int32_t i = 0; !st && i < src->n_outputs; i++) {
            int32_t id;
            st = qc_qb_get(&b, src->outputs[i], &id);
            if (!st) st = qc_graph_add_output(b.dst, id);
        }
    }
    if (!st) st = qc_graph_infer(b.dst);
    if (!st) st = qc_graph_verify(b.dst);
    free(b.map);
    free(b.qdq);
    free(b.dyn);
    free(b.q_scale);
    free(b.q_zero);
    free(b.pending);
    if (st) {
        qc_graph_destroy(b.dst);
        qc_quant_report_free(rep);
        return qc_status_wrap(st, "quantize (%s)", qc_qscheme_name(cfg->scheme));
    }
    if (pass) {
        rep->passthrough = true;
        snprintf(rep->note, sizeof rep->note,
                 "the model is already quantized (it holds Q/DQ or integer ops): passed through "
                 "unchanged");
    }
    rep->bytes_after = qc_graph_const_bytes(b.dst);
    *out = b.dst;
    return NULL;
}
