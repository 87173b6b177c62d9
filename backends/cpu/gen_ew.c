/* gen_ew.c — fp32 elementwise kernels: qc.Elementwise programs and the
 * single unary/binary float ops phrased as one-step programs (prog.h), plus
 * per-tensor QuantizeLinear / DequantizeLinear (int8 / uint8, bit-exact with
 * ir/quant.h).
 *
 * Iteration: with only full-shape and scalar operands the work unit is one
 * element (grain 4096): a vector loop over [begin, end) and a scalar tail.
 * With an operand broadcast along the last dim ([..1.., cols]) the unit is a
 * row of `cols` elements and each row runs the same vector + tail loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/prog.h"
#include "backends/cpu/quantize.h"
#include "ir/dtype.h"

#define MAX_OPS 16
#define EW_GRAIN 4096

typedef struct ew {
    qc_cpu_prog prog;
    int32_t x;                 /* the node input that is the running value */
    qc_cpu_bcast bc[MAX_OPS];
    bool rows;                 /* a ROW operand: units are rows */
    int64_t cols;
    int64_t numel_a, numel_b;  /* output elements = a + b * batch */
} ew;

typedef struct ectx {
    qc_cpu_fn *f;
    const ew *e;
    LLVMValueRef ptr[MAX_OPS];
    LLVMValueRef full_idx, col_idx;
    LLVMValueRef mask;         /* non-NULL: a masked step (the row tail) */
} ectx;

static LLVMValueRef ew_operand(void *ctx, int32_t k, int32_t w) {
    ectx *c = ctx;
    qc_cpu_fn *f = c->f;
    switch (c->e->bc[k]) {
    case QC_CPU_BC_SCALAR:
        return qc_cpu_splat(f, w, qc_cpu_loadf(f, 1, c->ptr[k], qc_cpu_i64(f, 0)));
    case QC_CPU_BC_ROW:
        return c->mask ? qc_cpu_loadf_masked(f, w, c->ptr[k], c->col_idx, c->mask)
                       : qc_cpu_loadf(f, w, c->ptr[k], c->col_idx);
    default:
        return c->mask ? qc_cpu_loadf_masked(f, w, c->ptr[k], c->full_idx, c->mask)
                       : qc_cpu_loadf(f, w, c->ptr[k], c->full_idx);
    }
}

/* Turns node n into a program over its inputs. */
static qc_status node_program(const qc_graph *g, const qc_node *n, char *buf, size_t len,
                              int32_t *x) {
    const qc_type *ty = &g->values[n->out[0]].type;
    const char *name = qc_op_get_info(n->op)->name;
    *x = 0;
    if (n->op == QC_OP_ELEMENTWISE) {
        snprintf(buf, len, "%s", qc_attr_string(n, "program", ""));
        return NULL;
    }
    size_t at = 0;
    if (n->op == QC_OP_ADD || n->op == QC_OP_SUB || n->op == QC_OP_MUL || n->op == QC_OP_DIV) {
        if (n->in[0] < 0 || n->in[1] < 0) return qc_error(QC_ERR_UNSUPPORTED, "absent input");
        /* The running value is an operand with the output's type. */
        if (qc_type_equal(&g->values[n->in[0]].type, ty)) *x = 0;
        else if (qc_type_equal(&g->values[n->in[1]].type, ty)) *x = 1;
        else return qc_error(QC_ERR_UNSUPPORTED, "both operands broadcast");
        snprintf(buf, len, "%s(%s,%s)", name, *x == 0 ? "$" : "%0", *x == 1 ? "$" : "%1");
        return NULL;
    }
    at += (size_t)snprintf(buf + at, len - at, "%s($", name);
    if (n->op == QC_OP_CLIP) {
        /* Absent min with a present max cannot be said positionally. */
        if (n->n_in > 2 && n->in[1] < 0 && n->in[2] >= 0)
            return qc_error(QC_ERR_UNSUPPORTED, "Clip with max but no min");
        for (int32_t k = 1; k < n->n_in && n->in[k] >= 0; k++)
            at += (size_t)snprintf(buf + at, len - at, ",%%%d", (int)k);
    }
    for (int32_t a = 0; a < n->n_attr && at < len; a++) {
        if (n->attr[a].kind != QC_ATTR_FLOAT)
            return qc_error(QC_ERR_UNSUPPORTED, "attribute '%s'", n->attr[a].name);
        at += (size_t)snprintf(buf + at, len - at, ",%s=%.9g", n->attr[a].name,
                               (double)n->attr[a].f);
    }
    if (at + 2 >= len) return qc_error(QC_ERR_UNSUPPORTED, "program too long");
    snprintf(buf + at, len - at, ")");
    return NULL;
}

static qc_status analyze(const qc_graph *g, const qc_node *n, ew *e) {
    memset(e, 0, sizeof *e);
    if (n->n_out != 1 || n->n_in > MAX_OPS) return qc_error(QC_ERR_UNSUPPORTED, "arity");
    const qc_type *ty = &g->values[n->out[0]].type;
    if (ty->dtype != QC_F32) return qc_error(QC_ERR_UNSUPPORTED, "not fp32");
    char prog[2048];
    qc_status st = node_program(g, n, prog, sizeof prog, &e->x);
    if (!st) st = qc_cpu_prog_parse(prog, n->n_in, &e->prog);
    if (st) return st;
    if (n->in[e->x] < 0 || !qc_type_equal(&g->values[n->in[e->x]].type, ty))
        return qc_error(QC_ERR_UNSUPPORTED, "running value's type");
    for (int32_t k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        if (!qc_cpu_bcast_of(&g->values[n->in[k]].type, ty, false, &e->bc[k]))
            return qc_error(QC_ERR_UNSUPPORTED, "operand %d broadcast", (int)k);
        if (e->bc[k] == QC_CPU_BC_ROW) e->rows = true;
    }
    if ((st = qc_cpu_numel_lin(ty, &e->numel_a, &e->numel_b))) return st;
    if (e->rows) {
        e->cols = ty->dims[ty->rank - 1];
        if (e->cols < 1) return qc_error(QC_ERR_UNSUPPORTED, "empty rows");
        e->numel_a /= e->cols;   /* now rows */
        e->numel_b /= e->cols;
    }
    return NULL;
}

/* Vector loop + scalar tail over [lo, hi) of one span; full_base is added
 * to the span index for FULL operands and the output. */
typedef void (*span_body)(ectx *c, int32_t w, LLVMValueRef j, LLVMValueRef full_idx);

static void emit_span(ectx *c, int32_t W, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef full_base,
                      span_body body) {
    qc_cpu_fn *f = c->f;
    qc_cpu_loop vl;
    LLVMValueRef j = qc_cpu_loop_begin(f, &vl, lo, hi, W);
    body(c, W, j, full_base ? LLVMBuildAdd(f->b, full_base, j, "") : j);
    qc_cpu_loop_end(f, &vl);
    qc_cpu_loop sl;
    LLVMValueRef j1 = qc_cpu_loop_begin(f, &sl, vl.iv, hi, 1);
    body(c, 1, j1, full_base ? LLVMBuildAdd(f->b, full_base, j1, "") : j1);
    qc_cpu_loop_end(f, &sl);
}

static void prog_body(ectx *c, int32_t w, LLVMValueRef j, LLVMValueRef full_idx) {
    qc_cpu_fn *f = c->f;
    c->full_idx = full_idx;
    c->col_idx = j;
    LLVMValueRef x = ew_operand(c, c->e->x, w);
    LLVMValueRef y = qc_cpu_prog_emit(f, &c->e->prog, w, x, ew_operand, c);
    if (c->mask) qc_cpu_storef_masked(f, w, c->ptr[MAX_OPS - 1], full_idx, y, c->mask);
    else qc_cpu_storef(f, w, c->ptr[MAX_OPS - 1], full_idx, y);
}

/* Shared driver: flat or per-row iteration over [begin, end) units. */
static void emit_units(ectx *c, bool rows, int64_t cols, span_body body) {
    qc_cpu_fn *f = c->f;
    if (!rows) {
        emit_span(c, f->vw, f->begin, f->end, NULL, body);
        return;
    }
    qc_cpu_loop rl;
    LLVMValueRef r = qc_cpu_loop_begin(f, &rl, f->begin, f->end, 1);
    LLVMValueRef base = LLVMBuildMul(f->b, r, qc_cpu_i64(f, cols), "");
    int64_t tail = cols % f->vw;
    if (body == prog_body && f->cg->feat.avx512f && tail > 0) {
        /* The row tail (all of a row shorter than a vector) as one step
         * under a constant k mask instead of `tail` scalar steps; masked-off
         * lanes compute on zeros and are never stored. */
        emit_span(c, f->vw, qc_cpu_i64(f, 0), qc_cpu_i64(f, cols - tail), base, body);
        LLVMValueRef j = qc_cpu_i64(f, cols - tail);
        c->mask = qc_cpu_mask(f, f->vw, (int32_t)tail);
        body(c, f->vw, j, LLVMBuildAdd(f->b, base, j, ""));
        c->mask = NULL;
    } else {
        emit_span(c, f->vw, qc_cpu_i64(f, 0), qc_cpu_i64(f, cols), base, body);
    }
    qc_cpu_loop_end(f, &rl);
}

qc_status qc_cpu_gen_elementwise(qc_cpu_cg *cg, const qc_graph *g, int32_t node,
                                 qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    if (n->n_in >= MAX_OPS) return qc_error(QC_ERR_UNSUPPORTED, "too many inputs");
    ew e;
    qc_status st = analyze(g, n, &e);
    if (st) return st;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    ectx c = {.f = &f, .e = &e};
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0) c.ptr[i] = qc_cpu_fn_in(&f, i);
    c.ptr[MAX_OPS - 1] = qc_cpu_fn_out(&f, 0);   /* the output, past any input */
    emit_units(&c, e.rows, e.cols, prog_body);
    qc_cpu_fn_end(&f);
    k->units_a = e.numel_a;
    k->units_b = e.numel_b;
    k->row_local = true;   /* elements or rows of the output, in order */
    k->grain = e.rows ? (EW_GRAIN + e.cols - 1) / e.cols : EW_GRAIN;
    /* ~30 ps per element and step at x16 (scaled for narrower vectors) */
    double per_el = 30.0 * (e.prog.n + 1) * 16.0 / f.vw;
    k->cost_ps = qc_cpu_cost_ps(per_el * (e.rows ? (double)e.cols : 1.0));
    const char *what = n->op == QC_OP_ELEMENTWISE ? "elementwise" : qc_op_get_info(n->op)->name;
    snprintf(k->variant, sizeof k->variant, "%.20s f32 x%d%s %d step%s", what, (int)f.vw,
             e.rows ? " rows" : "", (int)e.prog.n, e.prog.n == 1 ? "" : "s");
    return NULL;
}

/* ---- QuantizeLinear / DequantizeLinear ------------------------------------------------- */

typedef struct qctx {
    ectx c;
    qc_dtype qt;               /* the integer type */
    bool quantize;
    qc_cpu_quantizer qz;       /* quantize */
    LLVMValueRef scale, zp;    /* dequantize: f32, i32 scalars */
} qctx;

static LLVMTypeRef ivt(LLVMTypeRef el, int32_t w) {
    return w == 1 ? el : LLVMVectorType(el, (unsigned)w);
}

static void quant_body(ectx *ec, int32_t w, LLVMValueRef j, LLVMValueRef full_idx) {
    (void)j;
    qctx *q = (qctx *)ec;
    qc_cpu_fn *f = ec->f;
    LLVMBuilderRef b = f->b;
    bool is_signed = q->qt == QC_I8;
    LLVMTypeRef i32v = ivt(f->i32, w), i8v = ivt(f->i8, w);
    if (q->quantize) {
        LLVMValueRef x = qc_cpu_loadf(f, w, ec->ptr[0], full_idx);
        LLVMValueRef out = LLVMBuildTrunc(b, qc_cpu_quantize(f, &q->qz, w, x), i8v, "");
        LLVMValueRef p = qc_cpu_gep(f, f->i8, ec->ptr[MAX_OPS - 1], full_idx);
        LLVMSetAlignment(LLVMBuildStore(b, out, p), 1);
    } else {
        /* qc_dequantize: (float)(q - zp) * s. */
        LLVMValueRef p = qc_cpu_gep(f, f->i8, ec->ptr[0], full_idx);
        LLVMValueRef qv = LLVMBuildLoad2(b, i8v, p, "");
        LLVMSetAlignment(qv, 1);
        LLVMValueRef qi = is_signed ? LLVMBuildSExt(b, qv, i32v, "") : LLVMBuildZExt(b, qv, i32v, "");
        LLVMValueRef zpv = qc_cpu_splat(f, w, q->zp);
        LLVMValueRef d = LLVMBuildSIToFP(b, LLVMBuildSub(b, qi, zpv, ""), qc_cpu_vt(f, w), "");
        qc_cpu_storef(f, w, ec->ptr[MAX_OPS - 1], full_idx,
                      LLVMBuildFMul(b, d, qc_cpu_splat(f, w, q->scale), ""));
    }
}

qc_status qc_cpu_gen_quant(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    bool quantize = n->op == QC_OP_QUANTIZE_LINEAR;
    if (n->n_out != 1 || n->n_in < 2 || n->in[0] < 0 || n->in[1] < 0)
        return qc_error(QC_ERR_UNSUPPORTED, "inputs");
    const qc_type *tx = &g->values[n->in[0]].type, *ty = &g->values[n->out[0]].type;
    const qc_type *ts = &g->values[n->in[1]].type;
    qc_dtype qt = quantize ? ty->dtype : tx->dtype;
    if ((qt != QC_I8 && qt != QC_U8) || (quantize ? tx->dtype : ty->dtype) != QC_F32)
        return qc_error(QC_ERR_UNSUPPORTED, "only f32 <-> int8/uint8");
    if (ts->dtype != QC_F32 || qc_type_numel(ts) != 1)
        return qc_error(QC_ERR_UNSUPPORTED, "per-axis or non-f32 scale");
    int32_t zi = n->n_in > 2 ? n->in[2] : -1;
    if (zi >= 0 && (g->values[zi].type.dtype != qt || qc_type_numel(&g->values[zi].type) != 1))
        return qc_error(QC_ERR_UNSUPPORTED, "zero point");
    if (quantize && !(cg->feat.sse41 || cg->feat.avx2 || cg->feat.avx512f))
        return qc_error(QC_ERR_UNSUPPORTED, "rint needs sse4.1 (no libm calls in kernels)");
    int64_t na = 0, nb = 0;
    qc_status st = qc_cpu_numel_lin(tx, &na, &nb);
    if (st) return st;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    qctx q = {.c = {.f = &f}, .qt = qt, .quantize = quantize};
    q.c.ptr[0] = qc_cpu_fn_in(&f, 0);
    q.c.ptr[MAX_OPS - 1] = qc_cpu_fn_out(&f, 0);
    q.scale = qc_cpu_loadf(&f, 1, qc_cpu_fn_in(&f, 1), qc_cpu_i64(&f, 0));
    if (zi >= 0) {
        LLVMValueRef zp = LLVMBuildLoad2(f.b, f.i8, qc_cpu_fn_in(&f, 2), "");
        q.zp = qt == QC_I8 ? LLVMBuildSExt(f.b, zp, f.i32, "") : LLVMBuildZExt(f.b, zp, f.i32, "");
    } else {
        q.zp = qc_cpu_i32(&f, 0);
    }
    if (quantize)
        qc_cpu_quantizer_init(&f, &q.qz, f.vw, q.scale, g->values[n->in[1]].data, q.zp,
                              qt == QC_I8 ? -128 : 0, qt == QC_I8 ? 127 : 255);
    emit_units(&q.c, false, 0, quant_body);
    qc_cpu_fn_end(&f);
    k->units_a = na;
    k->units_b = nb;
    k->grain = EW_GRAIN;
    k->row_local = true;
    /* measured at x16 on a sapphire-rapids-class Xeon: quantize ~140 ps per
     * element (the FMA form, ~12 uops per vector; the divide form was ~240),
     * dequantize ~30 */
    k->cost_ps = qc_cpu_cost_ps((quantize ? 140.0 : 30.0) * 16.0 / f.vw);
    snprintf(k->variant, sizeof k->variant, "%s %s x%d", quantize ? "quantize" : "dequantize",
             qt == QC_I8 ? "i8" : "u8", (int)f.vw);
    return NULL;
}
