/* gen_pool.c — MaxPool (2-D, NCHW; u8, i8, f32) and GlobalAveragePool (f32)
 * kernels.
 *
 * MaxPool: a work unit is one output row (n, c, oh). The window rows that
 * fall inside the input ([kh_lo, kh_hi], found per row at run time) are
 * folded into the output row one after another: the first writes it, the
 * others read-modify-write it (the row is in L1). Within a window row the
 * output columns split at compile time into left / right border columns
 * (some taps in the padding: unrolled, each with its own valid taps) and the
 * interior, done 16 columns at a time: a stride-s tap is one load of 16*s
 * contiguous elements and a shuffle that keeps every s-th (s <= 4), so the
 * stride-2 3x3 pool of a ResNet stem is loads, shuffles and max, no
 * gathers. Numerics are exactly the ref kernel's (backends/ref/nn_pool.c):
 * the first valid tap in row-major order starts the maximum and a later tap
 * replaces it only when strictly greater, so for f32 a NaN in the first tap
 * stays and later NaNs are ignored; a window made only of padding gives the
 * type's lowest value.
 *
 * GlobalAveragePool (f32): a unit is one [n, c] plane, summed in double
 * (as ref does; vector lanes, so the order differs within double rounding:
 * results agree with ref to float precision) and divided by the plane size. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backends/cpu/ir_util.h"
#include "ir/dtype.h"
#include "ops/infer_nn.h"

#define POOL_V 16   /* output columns per vector step */

typedef struct pool {
    qc_dtype dt;
    int64_t H, W, OH, OW;
    int64_t kh, kw, sh, sw, dh, dw, ph, pw;
    int64_t planes_a, planes_b;   /* N * C = a + b * batch */
} pool;

/* ---- element helpers ------------------------------------------------------------- */

static LLVMTypeRef elem_t(qc_cpu_fn *f, qc_dtype dt) { return dt == QC_F32 ? f->f32 : f->i8; }
static int64_t elem_size(qc_dtype dt) { return dt == QC_F32 ? 4 : 1; }

static LLVMValueRef ld(qc_cpu_fn *f, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef idx,
                       LLVMTypeRef elem) {
    LLVMValueRef v = LLVMBuildLoad2(f->b, t, qc_cpu_gep(f, elem, base, idx), "");
    LLVMSetAlignment(v, 1);
    return v;
}

static void st(qc_cpu_fn *f, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx, LLVMTypeRef elem) {
    LLVMValueRef s = LLVMBuildStore(f->b, v, qc_cpu_gep(f, elem, base, idx));
    LLVMSetAlignment(s, 1);
}

/* select(v > m, v, m): ref's strict '>' (NaN never replaces, never wins). */
static LLVMValueRef vmax(qc_cpu_fn *f, qc_dtype dt, LLVMValueRef m, LLVMValueRef v) {
    LLVMValueRef gt = dt == QC_F32 ? LLVMBuildFCmp(f->b, LLVMRealOGT, v, m, "")
                                   : LLVMBuildICmp(f->b, dt == QC_U8 ? LLVMIntUGT : LLVMIntSGT, v, m, "");
    return LLVMBuildSelect(f->b, gt, v, m, "");
}

static LLVMValueRef lowest(qc_cpu_fn *f, qc_dtype dt) {
    if (dt == QC_F32) return LLVMConstReal(f->f32, -INFINITY);
    return LLVMConstInt(f->i8, dt == QC_I8 ? (unsigned long long)(int64_t)-128 : 0, 1);
}

/* ---- MaxPool ---------------------------------------------------------------------- */

typedef struct prow {
    qc_cpu_fn *f;
    const pool *p;
    LLVMValueRef xr, yr;   /* the input row of this tap row, the output row */
    bool first;            /* the window's first valid row: write, do not read y */
} prow;

/* One output column ow (a compile-time border column): its valid taps only. */
static void border_col(const prow *r, int64_t ow) {
    qc_cpu_fn *f = r->f;
    const pool *p = r->p;
    LLVMTypeRef et = elem_t(f, p->dt);
    LLVMValueRef m = r->first ? NULL : ld(f, et, r->yr, qc_cpu_i64(f, ow), et);
    for (int64_t k = 0; k < p->kw; k++) {
        int64_t iw = ow * p->sw - p->pw + k * p->dw;
        if (iw < 0 || iw >= p->W) continue;
        LLVMValueRef v = ld(f, et, r->xr, qc_cpu_i64(f, iw), et);
        m = m ? vmax(f, p->dt, m, v) : v;
    }
    if (!m) {
        if (r->first) st(f, lowest(f, p->dt), r->yr, qc_cpu_i64(f, ow), et);   /* all padding */
        return;
    }
    st(f, m, r->yr, qc_cpu_i64(f, ow), et);
}

/* Tap k of w consecutive interior columns starting at column ow (runtime). */
static LLVMValueRef tap(const prow *r, LLVMValueRef ow, int64_t k, int32_t w) {
    qc_cpu_fn *f = r->f;
    const pool *p = r->p;
    LLVMTypeRef et = elem_t(f, p->dt);
    LLVMValueRef iw = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, ow, qc_cpu_i64(f, p->sw), ""),
                                   qc_cpu_i64(f, k * p->dw - p->pw), "");
    if (w == 1) return ld(f, et, r->xr, iw, et);
    if (p->sw == 1) return ld(f, LLVMVectorType(et, (unsigned)w), r->xr, iw, et);
    LLVMValueRef wide = ld(f, LLVMVectorType(et, (unsigned)(w * p->sw)), r->xr, iw, et);
    LLVMValueRef mask[POOL_V];
    for (int32_t i = 0; i < w; i++) mask[i] = qc_cpu_i32(f, (int32_t)(i * p->sw));
    return LLVMBuildShuffleVector(f->b, wide, LLVMGetUndef(LLVMTypeOf(wide)),
                                  LLVMConstVector(mask, (unsigned)w), "");
}

/* w interior columns at runtime column ow: every tap is inside the row. */
static void interior(const prow *r, LLVMValueRef ow, int32_t w) {
    qc_cpu_fn *f = r->f;
    const pool *p = r->p;
    LLVMTypeRef et = elem_t(f, p->dt), vt = w == 1 ? et : LLVMVectorType(et, (unsigned)w);
    LLVMValueRef m = r->first ? tap(r, ow, 0, w) : ld(f, vt, r->yr, ow, et);
    for (int64_t k = r->first ? 1 : 0; k < p->kw; k++) m = vmax(f, p->dt, m, tap(r, ow, k, w));
    st(f, m, r->yr, ow, et);
}

/* The interior columns [lo, hi): vector steps while the widest load
 * (16 * stride elements) stays inside the row, then single columns. */
static void interior_cols(const prow *r, int64_t lo, int64_t hi) {
    qc_cpu_fn *f = r->f;
    const pool *p = r->p;
    int64_t nvec = 0;
    bool vec_ok = p->sw <= 4;
    while (vec_ok && lo + (nvec + 1) * POOL_V <= hi) {
        int64_t ow0 = lo + nvec * POOL_V;
        int64_t last = ow0 * p->sw - p->pw + (p->kw - 1) * p->dw + p->sw * POOL_V - 1;
        if (last >= p->W) break;
        nvec++;
    }
    int64_t vend = lo + nvec * POOL_V;
    if (nvec) {
        qc_cpu_loop l;
        LLVMValueRef ow = qc_cpu_loop_begin(f, &l, qc_cpu_i64(f, lo), qc_cpu_i64(f, vend), POOL_V);
        interior(r, ow, POOL_V);
        qc_cpu_loop_end(f, &l);
    }
    if (vend < hi) {
        qc_cpu_loop l;
        LLVMValueRef ow = qc_cpu_loop_begin(f, &l, qc_cpu_i64(f, vend), qc_cpu_i64(f, hi), 1);
        interior(r, ow, 1);
        qc_cpu_loop_end(f, &l);
    }
}

/* One window row folded into the output row. */
static void window_row(const prow *r) {
    const pool *p = r->p;
    /* interior: ow * sw - pw >= 0 and ow * sw - pw + (kw - 1) * dw <= W - 1 */
    int64_t lo = (p->pw + p->sw - 1) / p->sw;
    int64_t reach = p->W - 1 - (p->kw - 1) * p->dw + p->pw;
    int64_t hi = reach < 0 ? 0 : reach / p->sw + 1;
    if (lo > p->OW) lo = p->OW;
    if (hi > p->OW) hi = p->OW;
    if (hi < lo) hi = lo;
    for (int64_t ow = 0; ow < lo; ow++) border_col(r, ow);
    interior_cols(r, lo, hi);
    for (int64_t ow = hi; ow < p->OW; ow++) border_col(r, ow);
}



static void emit_maxpool(qc_cpu_fn *f, const pool *p) {
    LLVMTypeRef et = elem_t(f, p->dt);
    LLVMValueRef x = qc_cpu_fn_in(f, 0), y = qc_cpu_fn_out(f, 0);
    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(f, &ul, f->begin, f->end, 1);
    LLVMValueRef plane = LLVMBuildSDiv(f->b, u, qc_cpu_i64(f, p->OH), "");
    LLVMValueRef oh = LLVMBuildSRem(f->b, u, qc_cpu_i64(f, p->OH), "");
    LLVMValueRef xp = qc_cpu_gep(f, et, x, LLVMBuildMul(f->b, plane, qc_cpu_i64(f, p->H * p->W), ""));
    LLVMValueRef yr = qc_cpu_gep(f, et, y, LLVMBuildMul(f->b, u, qc_cpu_i64(f, p->OW), ""));
    LLVMValueRef ih0, klo, khi;
    qc_cpu_window_rows(f, oh, p->sh, p->ph, p->dh, p->kh, p->H, &ih0, &klo, &khi);
    LLVMBasicBlockRef empty = LLVMAppendBasicBlockInContext(f->cg->ctx, f->fn, "pad.row");
    LLVMBasicBlockRef rows = LLVMAppendBasicBlockInContext(f->cg->ctx, f->fn, "rows");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(f->cg->ctx, f->fn, "next");
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSGT, klo, khi, ""), empty, rows);

    LLVMPositionBuilderAtEnd(f->b, empty);   /* every window row in the padding */
    for (int64_t ow = 0; ow < p->OW; ow++) st(f, lowest(f, p->dt), yr, qc_cpu_i64(f, ow), et);
    LLVMBuildBr(f->b, next);

    LLVMPositionBuilderAtEnd(f->b, rows);
    prow r = {f, p, NULL, yr, true};
    LLVMValueRef ih = LLVMBuildAdd(f->b, ih0, LLVMBuildMul(f->b, klo, qc_cpu_i64(f, p->dh), ""), "");
    r.xr = qc_cpu_gep(f, et, xp, LLVMBuildMul(f->b, ih, qc_cpu_i64(f, p->W), ""));
    window_row(&r);
    if (p->kh > 1) {
        qc_cpu_loop kl;
        LLVMValueRef k = qc_cpu_loop_begin(f, &kl, LLVMBuildAdd(f->b, klo, qc_cpu_i64(f, 1), ""),
                                           LLVMBuildAdd(f->b, khi, qc_cpu_i64(f, 1), ""), 1);
        ih = LLVMBuildAdd(f->b, ih0, LLVMBuildMul(f->b, k, qc_cpu_i64(f, p->dh), ""), "");
        r.xr = qc_cpu_gep(f, et, xp, LLVMBuildMul(f->b, ih, qc_cpu_i64(f, p->W), ""));
        r.first = false;
        window_row(&r);
        qc_cpu_loop_end(f, &kl);
    }
    LLVMBuildBr(f->b, next);
    LLVMPositionBuilderAtEnd(f->b, next);
    qc_cpu_loop_end(f, &ul);
}

/* ---- analysis --------------------------------------------------------------------- */

/* N * C as a + b * batch: only N may be the symbolic dim. */
static qc_status planes_of(const qc_type *x, int64_t *a, int64_t *b) {
    for (int32_t d = 1; d < x->rank; d++)
        if (x->dims[d] == QC_DIM_SYM) return qc_error(QC_ERR_UNSUPPORTED, "symbolic non-batch dim");
    if (x->rank < 3 || x->dims[1] < 1) return qc_error(QC_ERR_UNSUPPORTED, "rank / channels");
    bool sym = x->dims[0] == QC_DIM_SYM;
    *a = sym ? 0 : x->dims[0] * x->dims[1];
    *b = sym ? x->dims[1] : 0;
    return NULL;
}

static qc_status analyze_max(const qc_graph *g, const qc_node *n, pool *p) {
    memset(p, 0, sizeof *p);
    if (n->n_out != 1) return qc_error(QC_ERR_UNSUPPORTED, "the Indices output");
    const qc_type *x = &g->values[n->in[0]].type, *y = &g->values[n->out[0]].type;
    p->dt = x->dtype;
    if (p->dt != QC_U8 && p->dt != QC_I8 && p->dt != QC_F32)
        return qc_error(QC_ERR_UNSUPPORTED, "dtype %s", qc_dtype_name(p->dt));
    if (x->rank != 4 || y->rank != 4 || y->dtype != p->dt)
        return qc_error(QC_ERR_UNSUPPORTED, "only 2-D pools (NCHW)");
    qc_status s = planes_of(x, &p->planes_a, &p->planes_b);
    if (s) return s;
    /* the window as inference resolved it (the batch dim does not matter) */
    qc_type xs = *x;
    if (xs.dims[0] == QC_DIM_SYM) xs.dims[0] = 1;
    qc_nn_window win;
    if ((s = qc_nn_window_get(n, &xs, NULL, &win))) return s;
    if (win.nsp != 2) return qc_error(QC_ERR_UNSUPPORTED, "only 2-D pools");
    p->H = win.in[0], p->W = win.in[1], p->OH = win.out[0], p->OW = win.out[1];
    p->kh = win.kernel[0], p->kw = win.kernel[1], p->sh = win.stride[0], p->sw = win.stride[1];
    p->dh = win.dilation[0], p->dw = win.dilation[1], p->ph = win.pad_begin[0], p->pw = win.pad_begin[1];
    if (p->OH != y->dims[2] || p->OW != y->dims[3]) return qc_error(QC_ERR_UNSUPPORTED, "output shape");
    if (p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->OW < 1)
        return qc_error(QC_ERR_UNSUPPORTED, "window");
    if (p->OW * p->kw > 4096) return qc_error(QC_ERR_UNSUPPORTED, "rows too wide to unroll borders");
    return NULL;
}

static qc_status gen_maxpool(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    pool p;
    qc_status s = analyze_max(g, n, &p);
    if (s) return s;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    emit_maxpool(&f, &p);
    qc_cpu_fn_end(&f);
    k->units_a = p.planes_a * p.OH;
    k->units_b = p.planes_b * p.OH;
    int64_t taps = p.OW * p.kh * p.kw;
    k->grain = (4096 + taps - 1) / taps;
    /* Measured on one thread (sapphire-rapids-class Xeon, resnet18's 3x3/s2
     * pool of 64x112x112, 504 taps per output row): 36 ns per row for u8,
     * 55 for f32, i.e. ~60 ps per tap plus ~12 per tap and element byte.
     * The old estimate (25 ps per 16 taps) was ~30x low, so the u8 pool
     * (3.9 us estimated, 130 us real) ran inline on one thread. */
    k->cost_ps = qc_cpu_cost_ps((double)taps * (60.0 + 12.0 * (double)elem_size(p.dt)) + 300.0);
    snprintf(k->variant, sizeof k->variant, "maxpool %s %lldx%lld s%lld x%d", qc_dtype_name(p.dt),
             (long long)p.kh, (long long)p.kw, (long long)p.sh, POOL_V);
    return NULL;
}

/* ---- GlobalAveragePool -------------------------------------------------------------- */

static qc_status gen_gap(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    const qc_type *x = &g->values[n->in[0]].type;
    if (x->dtype != QC_F32 || g->values[n->out[0]].type.dtype != QC_F32)
        return qc_error(QC_ERR_UNSUPPORTED, "only f32");
    int64_t pa = 0, pb = 0;
    qc_status s = planes_of(x, &pa, &pb);
    if (s) return s;
    int64_t inner = 1;
    for (int32_t d = 2; d < x->rank; d++) inner *= x->dims[d];
    if (inner < 1) return qc_error(QC_ERR_UNSUPPORTED, "empty planes");
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    LLVMContextRef c = cg->ctx;
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(c);
    const int32_t w = 8;   /* double lanes */
    LLVMTypeRef vf = LLVMVectorType(f.f32, w), vd = LLVMVectorType(f64, w);
    LLVMValueRef xv = qc_cpu_fn_in(&f, 0), yv = qc_cpu_fn_out(&f, 0);
    qc_cpu_loop pl;
    LLVMValueRef plane = qc_cpu_loop_begin(&f, &pl, f.begin, f.end, 1);
    LLVMValueRef xp = qc_cpu_gep(&f, f.f32, xv, LLVMBuildMul(f.b, plane, qc_cpu_i64(&f, inner), ""));
    /* vector part: phi accumulator over blocks of w */
    int64_t nv = inner / w;
    LLVMValueRef acc = LLVMConstNull(vd);
    if (nv) {
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(f.b);
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c, f.fn, "gap.v");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, f.fn, "gap.v.done");
        LLVMBuildBr(f.b, body);
        LLVMPositionBuilderAtEnd(f.b, body);
        LLVMValueRef i = LLVMBuildPhi(f.b, f.i64, "i"), a = LLVMBuildPhi(f.b, vd, "acc");
        LLVMValueRef v = ld(&f, vf, xp, LLVMBuildMul(f.b, i, qc_cpu_i64(&f, w), ""), f.f32);
        LLVMValueRef a2 = LLVMBuildFAdd(f.b, a, LLVMBuildFPExt(f.b, v, vd, ""), "");
        LLVMValueRef i2 = LLVMBuildAdd(f.b, i, qc_cpu_i64(&f, 1), "");
        LLVMValueRef zero = qc_cpu_i64(&f, 0), zacc = LLVMConstNull(vd);
        LLVMAddIncoming(i, &zero, &pre, 1);
        LLVMAddIncoming(a, &zacc, &pre, 1);
        LLVMAddIncoming(i, &i2, &body, 1);
        LLVMAddIncoming(a, &a2, &body, 1);
        LLVMBuildCondBr(f.b, LLVMBuildICmp(f.b, LLVMIntSLT, i2, qc_cpu_i64(&f, nv), ""), body, done);
        LLVMPositionBuilderAtEnd(f.b, done);
        acc = a2;
    }
    LLVMValueRef sum = LLVMConstReal(f64, 0.0);
    for (int32_t l = 0; l < w; l++)
        sum = LLVMBuildFAdd(f.b, sum, LLVMBuildExtractElement(f.b, acc, qc_cpu_i32(&f, l), ""), "");
    for (int64_t j = nv * w; j < inner; j++)
        sum = LLVMBuildFAdd(f.b, sum,
                            LLVMBuildFPExt(f.b, ld(&f, f.f32, xp, qc_cpu_i64(&f, j), f.f32), f64, ""), "");
    LLVMValueRef mean = LLVMBuildFDiv(f.b, sum, LLVMConstReal(f64, (double)inner), "");
    st(&f, LLVMBuildFPTrunc(f.b, mean, f.f32, ""), yv, plane, f.f32);
    qc_cpu_loop_end(&f, &pl);
    qc_cpu_fn_end(&f);
    k->units_a = pa;
    k->units_b = pb;
    k->grain = (16384 + inner - 1) / inner;
    k->cost_ps = qc_cpu_cost_ps((double)inner * 40.0 + 200.0);
    snprintf(k->variant, sizeof k->variant, "gap f32 %lld/plane f64x%d", (long long)(inner % 1000000000), (int)w);
    return NULL;
}

qc_status qc_cpu_gen_pool(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
        return qc_error(QC_ERR_UNSUPPORTED, "inputs / outputs");
    if (n->op == QC_OP_MAX_POOL) return gen_maxpool(cg, g, node, k);
    if (n->op == QC_OP_GLOBAL_AVERAGE_POOL) return gen_gap(cg, g, node, k);
    return qc_error(QC_ERR_UNSUPPORTED, "not a generated pool");
}
