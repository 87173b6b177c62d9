/* gen_norm.c — Softmax and LayerNormalization over the last (contiguous)
 * axis, f32.
 *
 * A work unit is one row of `len` elements. Softmax: the row maximum
 * (strict '>' selects, so NaN never wins the max but NaN - max, exp(NaN),
 * the NaN sum and every output come out NaN, as in the ref kernel; an inf in
 * the row gives inf - inf = NaN the same way), the sum of exp(x - max) in
 * vector lanes, then exp(x - max) / sum. exp is ir_util's inline Cephes
 * polynomial (about 1 ulp), so generated code calls nothing. LayerNorm: mean
 * and the two-pass variance summed in double lanes (ref works in double),
 * inv = 1 / sqrt(var / len + eps) in double, then (x - mean) * inv * scale
 * (+ bias) in f32 with Scale / B of `len` elements. Results agree with the
 * double-precision ref to a few f32 ulps (tests/cpu/test_cpu_norm.c: 1e-5
 * relative). Other axes, LogSoftmax, Hardmax and LayerNorm's Mean /
 * InvStdDev outputs fall back to the ref kernel. */
#include <stdio.h>
#include <string.h>

#include "backends/cpu/ir_util.h"
#include "ir/dtype.h"

typedef struct row {
    int64_t len;
    int64_t rows_a, rows_b;   /* rows = a + b * batch */
} row;

/* Rows of t along its last axis as a + b * batch. */
static qc_status rows_of(const qc_type *t, int64_t axis, row *r) {
    if (t->rank < 1 || t->dtype != QC_F32) return qc_error(QC_ERR_UNSUPPORTED, "not f32");
    int32_t ax = (int32_t)(axis < 0 ? axis + t->rank : axis);
    if (ax != t->rank - 1) return qc_error(QC_ERR_UNSUPPORTED, "only the last axis");
    r->len = t->dims[t->rank - 1];
    if (r->len < 1 || r->len == QC_DIM_SYM) return qc_error(QC_ERR_UNSUPPORTED, "row length");
    int64_t a = 0, b = 0;
    qc_status st = qc_cpu_numel_lin(t, &a, &b);
    if (st) return st;
    r->rows_a = a / r->len;
    r->rows_b = b / r->len;
    return NULL;
}

/* A loop over vector blocks [0, n) of w lanes carrying one accumulator. */
typedef struct acc_loop {
    LLVMBasicBlockRef pre, body, done;
    LLVMValueRef i, acc;
} acc_loop;

static LLVMValueRef acc_begin(qc_cpu_fn *f, acc_loop *l, LLVMValueRef init) {
    LLVMContextRef c = f->cg->ctx;
    l->pre = LLVMGetInsertBlock(f->b);
    l->body = LLVMAppendBasicBlockInContext(c, f->fn, "red");
    l->done = LLVMAppendBasicBlockInContext(c, f->fn, "red.done");
    LLVMBuildBr(f->b, l->body);
    LLVMPositionBuilderAtEnd(f->b, l->body);
    l->i = LLVMBuildPhi(f->b, f->i64, "i");
    l->acc = LLVMBuildPhi(f->b, LLVMTypeOf(init), "acc");
    LLVMValueRef zero = qc_cpu_i64(f, 0);
    LLVMAddIncoming(l->i, &zero, &l->pre, 1);
    LLVMAddIncoming(l->acc, &init, &l->pre, 1);
    return l->i;
}

/* Closes the loop after n iterations (n >= 1); returns the final acc. */
static LLVMValueRef acc_end(qc_cpu_fn *f, acc_loop *l, LLVMValueRef next, int64_t n) {
    LLVMValueRef i2 = LLVMBuildAdd(f->b, l->i, qc_cpu_i64(f, 1), "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(f->b);
    LLVMAddIncoming(l->i, &i2, &from, 1);
    LLVMAddIncoming(l->acc, &next, &from, 1);
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, i2, qc_cpu_i64(f, n), ""), l->body, l->done);
    LLVMPositionBuilderAtEnd(f->b, l->done);
    return next;
}

static LLVMValueRef sel_max(qc_cpu_fn *f, LLVMValueRef m, LLVMValueRef v) {
    return LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, LLVMRealOGT, v, m, ""), v, m, "");
}

/* Folds the w lanes of v with op (max or add), lane 0 first. */
static LLVMValueRef hfold(qc_cpu_fn *f, LLVMValueRef v, int32_t w, bool is_max) {
    LLVMValueRef r = LLVMBuildExtractElement(f->b, v, qc_cpu_i32(f, 0), "");
    for (int32_t l = 1; l < w; l++) {
        LLVMValueRef e = LLVMBuildExtractElement(f->b, v, qc_cpu_i32(f, l), "");
        r = is_max ? sel_max(f, r, e) : LLVMBuildFAdd(f->b, r, e, "");
    }
    return r;
}

/* ---- Softmax ----------------------------------------------------------------------- */

static void emit_softmax(qc_cpu_fn *f, int64_t len) {
    int32_t w = f->vw;
    int64_t nv = len / w, tail0 = nv * w;
    LLVMValueRef x = qc_cpu_fn_in(f, 0), y = qc_cpu_fn_out(f, 0);
    qc_cpu_loop rl;
    LLVMValueRef r = qc_cpu_loop_begin(f, &rl, f->begin, f->end, 1);
    LLVMValueRef base = LLVMBuildMul(f->b, r, qc_cpu_i64(f, len), "");
    LLVMValueRef xr = qc_cpu_gep(f, f->f32, x, base), yr = qc_cpu_gep(f, f->f32, y, base);
    /* max: the first element starts it */
    LLVMValueRef m = qc_cpu_loadf(f, 1, xr, qc_cpu_i64(f, 0));
    if (nv) {
        acc_loop l;
        LLVMValueRef i = acc_begin(f, &l, qc_cpu_splat(f, w, m));
        LLVMValueRef v = qc_cpu_loadf(f, w, xr, LLVMBuildMul(f->b, i, qc_cpu_i64(f, w), ""));
        m = hfold(f, acc_end(f, &l, sel_max(f, l.acc, v), nv), w, true);
    }
    for (int64_t j = tail0; j < len; j++) m = sel_max(f, m, qc_cpu_loadf(f, 1, xr, qc_cpu_i64(f, j)));
    /* sum of exp(x - max), stored to y on the way */
    LLVMValueRef mv = qc_cpu_splat(f, w, m), sum = LLVMConstReal(f->f32, 0.0);
    if (nv) {
        acc_loop l;
        LLVMValueRef i = acc_begin(f, &l, qc_cpu_fconst(f, w, 0.0));
        LLVMValueRef at = LLVMBuildMul(f->b, i, qc_cpu_i64(f, w), "");
        LLVMValueRef e = qc_cpu_exp(f, w, LLVMBuildFSub(f->b, qc_cpu_loadf(f, w, xr, at), mv, ""));
        qc_cpu_storef(f, w, yr, at, e);
        sum = hfold(f, acc_end(f, &l, LLVMBuildFAdd(f->b, l.acc, e, ""), nv), w, false);
    }
    for (int64_t j = tail0; j < len; j++) {
        LLVMValueRef e = qc_cpu_exp(f, 1, LLVMBuildFSub(f->b, qc_cpu_loadf(f, 1, xr, qc_cpu_i64(f, j)), m, ""));
        qc_cpu_storef(f, 1, yr, qc_cpu_i64(f, j), e);
        sum = LLVMBuildFAdd(f->b, sum, e, "");
    }
    /* y = e / sum */
    LLVMValueRef sv = qc_cpu_splat(f, w, sum);
    if (nv) {
        qc_cpu_loop l;
        LLVMValueRef i = qc_cpu_loop_begin(f, &l, qc_cpu_i64(f, 0), qc_cpu_i64(f, tail0), w);
        qc_cpu_storef(f, w, yr, i, LLVMBuildFDiv(f->b, qc_cpu_loadf(f, w, yr, i), sv, ""));
        qc_cpu_loop_end(f, &l);
    }
    for (int64_t j = tail0; j < len; j++)
        qc_cpu_storef(f, 1, yr, qc_cpu_i64(f, j),
                      LLVMBuildFDiv(f->b, qc_cpu_loadf(f, 1, yr, qc_cpu_i64(f, j)), sum, ""));
    qc_cpu_loop_end(f, &rl);
}

static qc_status gen_softmax(qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, qc_cpu_kernel *k) {
    row r;
    const qc_type *t = &g->values[n->in[0]].type;
    qc_status st = rows_of(t, qc_attr_int(n, "axis", -1), &r);
    if (st) return st;
    if (!qc_type_equal(t, &g->values[n->out[0]].type)) return qc_error(QC_ERR_UNSUPPORTED, "types");
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    emit_softmax(&f, r.len);
    qc_cpu_fn_end(&f);
    k->units_a = r.rows_a;
    k->units_b = r.rows_b;
    k->grain = (4096 + r.len - 1) / r.len;
    k->row_local = true;   /* rows in order */
    k->cost_ps = qc_cpu_cost_ps((double)r.len * 200.0 / 16.0 * 16.0 / f.vw + 100.0);
    snprintf(k->variant, sizeof k->variant, "softmax f32 x%d len %lld", (int)f.vw,
             (long long)(r.len % 1000000000));
    return NULL;
}

/* ---- LayerNormalization -------------------------------------------------------------- */

static void emit_layernorm(qc_cpu_fn *f, int64_t len, double eps, bool has_b) {
    LLVMContextRef c = f->cg->ctx;
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(c);
    const int32_t dw = 8;   /* double lanes */
    LLVMTypeRef vf = LLVMVectorType(f->f32, dw), vd = LLVMVectorType(f64, dw);
    int64_t nv = len / dw, tail0 = nv * dw;
    LLVMValueRef x = qc_cpu_fn_in(f, 0), sc = qc_cpu_fn_in(f, 1), y = qc_cpu_fn_out(f, 0);
    LLVMValueRef bi = has_b ? qc_cpu_fn_in(f, 2) : NULL;
    qc_cpu_loop rl;
    LLVMValueRef r = qc_cpu_loop_begin(f, &rl, f->begin, f->end, 1);
    LLVMValueRef base = LLVMBuildMul(f->b, r, qc_cpu_i64(f, len), "");
    LLVMValueRef xr = qc_cpu_gep(f, f->f32, x, base), yr = qc_cpu_gep(f, f->f32, y, base);
    LLVMValueRef dlen = LLVMConstReal(f64, (double)len);
    /* mean */
    LLVMValueRef s = LLVMConstReal(f64, 0.0);
    if (nv) {
        acc_loop l;
        LLVMValueRef i = acc_begin(f, &l, LLVMConstNull(vd));
        LLVMValueRef v = LLVMBuildLoad2(f->b, vf, qc_cpu_gep(f, f->f32, xr, LLVMBuildMul(f->b, i, qc_cpu_i64(f, dw), "")), "");
        LLVMSetAlignment(v, 4);
        s = hfold(f, acc_end(f, &l, LLVMBuildFAdd(f->b, l.acc, LLVMBuildFPExt(f->b, v, vd, ""), ""), nv), dw, false);
    }
    for (int64_t j = tail0; j < len; j++)
        s = LLVMBuildFAdd(f->b, s, LLVMBuildFPExt(f->b, qc_cpu_loadf(f, 1, xr, qc_cpu_i64(f, j)), f64, ""), "");
    LLVMValueRef mean = LLVMBuildFDiv(f->b, s, dlen, "");
    /* variance, two-pass like ref */
    LLVMValueRef q = LLVMConstReal(f64, 0.0);
    if (nv) {
        LLVMValueRef mv = LLVMBuildInsertElement(f->b, LLVMGetUndef(vd), mean, qc_cpu_i32(f, 0), "");
        mv = LLVMBuildShuffleVector(f->b, mv, LLVMGetUndef(vd), LLVMConstNull(LLVMVectorType(f->i32, dw)), "");
        acc_loop l;
        LLVMValueRef i = acc_begin(f, &l, LLVMConstNull(vd));
        LLVMValueRef v = LLVMBuildLoad2(f->b, vf, qc_cpu_gep(f, f->f32, xr, LLVMBuildMul(f->b, i, qc_cpu_i64(f, dw), "")), "");
        LLVMSetAlignment(v, 4);
        LLVMValueRef dv = LLVMBuildFSub(f->b, LLVMBuildFPExt(f->b, v, vd, ""), mv, "");
        q = hfold(f, acc_end(f, &l, LLVMBuildFAdd(f->b, l.acc, LLVMBuildFMul(f->b, dv, dv, ""), ""), nv), dw, false);
    }
    for (int64_t j = tail0; j < len; j++) {
        LLVMValueRef dv = LLVMBuildFSub(f->b, LLVMBuildFPExt(f->b, qc_cpu_loadf(f, 1, xr, qc_cpu_i64(f, j)), f64, ""), mean, "");
        q = LLVMBuildFAdd(f->b, q, LLVMBuildFMul(f->b, dv, dv, ""), "");
    }
    LLVMValueRef var = LLVMBuildFAdd(f->b, LLVMBuildFDiv(f->b, q, dlen, ""), LLVMConstReal(f64, eps), "");
    LLVMValueRef inv = LLVMBuildFDiv(f->b, LLVMConstReal(f64, 1.0), qc_cpu_intrin(f, "llvm.sqrt", f64, &var, 1), "");
    /* y = (x - mean) * inv * scale (+ b), in f32 */
    LLVMValueRef m32 = LLVMBuildFPTrunc(f->b, mean, f->f32, ""), i32v = LLVMBuildFPTrunc(f->b, inv, f->f32, "");
    int32_t w = f->vw;
    int64_t nw = len / w, t0 = nw * w;
    for (int pass = 0; pass < 2; pass++) {
        int32_t ww = pass ? 1 : w;
        if (!pass && !nw) continue;
        qc_cpu_loop l;
        LLVMValueRef j = qc_cpu_loop_begin(f, &l, qc_cpu_i64(f, pass ? t0 : 0), qc_cpu_i64(f, pass ? len : t0), ww);
        LLVMValueRef v = LLVMBuildFSub(f->b, qc_cpu_loadf(f, ww, xr, j), qc_cpu_splat(f, ww, m32), "");
        v = LLVMBuildFMul(f->b, LLVMBuildFMul(f->b, v, qc_cpu_splat(f, ww, i32v), ""), qc_cpu_loadf(f, ww, sc, j), "");
        if (bi) v = LLVMBuildFAdd(f->b, v, qc_cpu_loadf(f, ww, bi, j), "");
        qc_cpu_storef(f, ww, yr, j, v);
        qc_cpu_loop_end(f, &l);
    }
    qc_cpu_loop_end(f, &rl);
}

static qc_status gen_layernorm(qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, qc_cpu_kernel *k) {
    if (n->n_out != 1) return qc_error(QC_ERR_UNSUPPORTED, "the Mean / InvStdDev outputs");
    const qc_type *t = &g->values[n->in[0]].type;
    row r;
    qc_status st = rows_of(t, qc_attr_int(n, "axis", -1), &r);
    if (st) return st;
    bool has_b = n->n_in > 2 && n->in[2] >= 0;
    for (int32_t i = 1; i < (has_b ? 3 : 2); i++) {
        const qc_type *p = &g->values[n->in[i]].type;
        if (n->in[i] < 0 || p->dtype != QC_F32 || qc_type_numel(p) != r.len)
            return qc_error(QC_ERR_UNSUPPORTED, "Scale / B must be f32 of the row length");
    }
    if (!qc_type_equal(t, &g->values[n->out[0]].type)) return qc_error(QC_ERR_UNSUPPORTED, "types");
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    emit_layernorm(&f, r.len, (double)qc_attr_float(n, "epsilon", 1e-5f), has_b);
    qc_cpu_fn_end(&f);
    k->units_a = r.rows_a;
    k->units_b = r.rows_b;
    k->grain = (4096 + r.len - 1) / r.len;
    k->row_local = true;
    k->cost_ps = qc_cpu_cost_ps((double)r.len * 120.0 / 8.0 + 200.0);
    snprintf(k->variant, sizeof k->variant, "layernorm f32 f64x8 len %lld", (long long)(r.len % 1000000000));
    return NULL;
}

qc_status qc_cpu_gen_norm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
        return qc_error(QC_ERR_UNSUPPORTED, "inputs / outputs");
    if (n->op == QC_OP_SOFTMAX) return gen_softmax(cg, g, n, k);
    if (n->op == QC_OP_LAYER_NORM) return gen_layernorm(cg, g, n, k);
    return qc_error(QC_ERR_UNSUPPORTED, "not a generated normalization");
}
