/* gen_dynq.c — the int8-dynamic scheme's glue ops: DynamicQuantizeLinear
 * (f32 -> u8 with a scale and zero point computed from the tensor's range)
 * and Cast from an integer tensor to f32 (MatMulInteger's i32 accumulator
 * into the float rescale). Both are bit-identical to the ref kernels
 * (backends/ref/quant.c, tensor.c; ir/quant.h).
 *
 * DynamicQuantizeLinear needs the whole tensor's min / max before any
 * element can be quantized. The work units are elements (of y); every call
 * of the kernel, whatever its [begin, end), first reduces the WHOLE tensor
 * (a vector min/max pass, ~8x cheaper than the quantize pass), computes the
 * parameters in scalar code exactly as qc_dynamic_qparams_u8, then
 * quantizes only its own elements; the call whose range starts at 0 stores
 * the scale and zero point, so ranges still write disjoint bytes. Every call
 * gets the same parameters: the reduction is order-independent bit for bit
 * (the running values start at +0.0, a strict < / > never takes a NaN or a
 * -0.0 over them, and among the other floats the minimum / maximum is one
 * exact value whatever the order). A large grain keeps the repeated
 * reductions few (chunks of >= DQL_GRAIN elements). */
#include <stdio.h>

#include "backends/cpu/ir_util.h"
#include "backends/cpu/quantize.h"
#include "ir/dtype.h"

static LLVMTypeRef vty(LLVMTypeRef el, int32_t w) {
    return w == 1 ? el : LLVMVectorType(el, (unsigned)w);
}

/* ref order: if (x < lo) lo = x; if (x > hi) hi = x; */
static void minmax_step(qc_cpu_fn *f, LLVMValueRef x, LLVMValueRef *lo, LLVMValueRef *hi) {
    LLVMBuilderRef b = f->b;
    *lo = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, *lo, ""), x, *lo, "");
    *hi = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, *hi, ""), x, *hi, "");
}

/* for (i = start; i + w * na <= n; i += w * na) { lo[a], hi[a] = minmax(lo[a],
 * hi[a], x[i + a * w ..]) } with na independent accumulator pairs (the
 * chains overlap) as phis; *i_out: where it stopped. */
#define MAX_ACC 4
#define DQL_GRAIN 32768
static void minmax_loop(qc_cpu_fn *f, int32_t w, int32_t na, LLVMValueRef x, LLVMValueRef start,
                        LLVMValueRef n, LLVMValueRef *lo, LLVMValueRef *hi, LLVMValueRef *i_out) {
    LLVMBuilderRef b = f->b;
    LLVMContextRef c = f->cg->ctx;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(c, f->fn, "mm.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c, f->fn, "mm.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(c, f->fn, "mm.exit");
    LLVMTypeRef t = qc_cpu_vt(f, w);
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef i = LLVMBuildPhi(b, f->i64, "i");
    LLVMAddIncoming(i, &start, &pre, 1);
    LLVMValueRef plo[MAX_ACC], phi[MAX_ACC], nlo[MAX_ACC], nhi[MAX_ACC];
    for (int32_t a = 0; a < na; a++) {
        plo[a] = LLVMBuildPhi(b, t, "lo");
        phi[a] = LLVMBuildPhi(b, t, "hi");
        LLVMAddIncoming(plo[a], &lo[a], &pre, 1);
        LLVMAddIncoming(phi[a], &hi[a], &pre, 1);
    }
    LLVMValueRef inext = LLVMBuildAdd(b, i, qc_cpu_i64(f, (int64_t)w * na), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLE, inext, n, ""), body, exit);
    LLVMPositionBuilderAtEnd(b, body);
    for (int32_t a = 0; a < na; a++) {
        nlo[a] = plo[a];
        nhi[a] = phi[a];
        LLVMValueRef ia = a ? LLVMBuildAdd(b, i, qc_cpu_i64(f, (int64_t)w * a), "") : i;
        minmax_step(f, qc_cpu_loadf(f, w, x, ia), &nlo[a], &nhi[a]);
    }
    LLVMBasicBlockRef end = LLVMGetInsertBlock(b);
    LLVMAddIncoming(i, &inext, &end, 1);
    for (int32_t a = 0; a < na; a++) {
        LLVMAddIncoming(plo[a], &nlo[a], &end, 1);
        LLVMAddIncoming(phi[a], &nhi[a], &end, 1);
    }
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, exit);
    for (int32_t a = 0; a < na; a++) {
        lo[a] = plo[a];
        hi[a] = phi[a];
    }
    *i_out = i;
}

/* qc_sat_round_add(r, zp, lo, hi) on w lanes of an already rounded r: NaN
 * -> 0, clamp against flo = lo - zp / fhi = hi - zp (exact floats), + zp. */
static LLVMValueRef sat_add(qc_cpu_fn *f, int32_t w, LLVMValueRef r, LLVMValueRef zpv,
                            LLVMValueRef flo, LLVMValueRef fhi) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, r, r, "");
    r = LLVMBuildSelect(b, nan, qc_cpu_fconst(f, w, 0.0), r, "");
    r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLE, r, flo, ""), flo, r, "");
    r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGE, r, fhi, ""), fhi, r, "");
    return LLVMBuildAdd(b, LLVMBuildFPToSI(b, r, vty(f->i32, w), ""), zpv, "");
}

typedef struct dq {
    LLVMValueRef x, y, scale, zp, zero_scale;   /* zero_scale: i1 scalar */
} dq;

/* Pass 2 over [begin, end): vector loop, scalar tail. The FMA form only runs
 * where the caller branched on qc_cpu_quantize_scale_ok (so the scale is
 * not 0 there); the divide form maps a zero scale to 0. */
static void quant_loops(qc_cpu_fn *f, const dq *d, bool fast) {
    LLVMBuilderRef b = f->b;
    int32_t W = f->vw;
    qc_cpu_quantizer qz;
    qc_cpu_quantizer_init_form(f, &qz, W, d->scale, fast, d->zp, 0, 255);
    LLVMValueRef j = NULL;
    qc_cpu_loop loops[2];
    for (int32_t pass = 0; pass < 2; pass++) {
        int32_t w = pass ? 1 : W;
        j = qc_cpu_loop_begin(f, &loops[pass], pass ? loops[0].iv : f->begin, f->end, w);
        LLVMValueRef q = qc_cpu_quantize(f, &qz, w, qc_cpu_loadf(f, w, d->x, j));
        if (!fast) {   /* scale 0: everything quantizes to 0 */
            LLVMValueRef zero = LLVMConstNull(vty(f->i32, w));
            q = LLVMBuildSelect(b, d->zero_scale, zero, q, "");
        }
        LLVMValueRef p = qc_cpu_gep(f, f->i8, d->y, j);
        LLVMSetAlignment(LLVMBuildStore(b, LLVMBuildTrunc(b, q, vty(f->i8, w), ""), p), 1);
        qc_cpu_loop_end(f, &loops[pass]);
    }
}

static qc_status gen_dql(qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, qc_cpu_kernel *k) {
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 3)
        return qc_error(QC_ERR_UNSUPPORTED, "inputs / outputs");
    for (int32_t o = 0; o < 3; o++)
        if (n->out[o] < 0) return qc_error(QC_ERR_UNSUPPORTED, "absent output %d", (int)o);
    const qc_type *tx = &g->values[n->in[0]].type;
    if (tx->dtype != QC_F32 || g->values[n->out[0]].type.dtype != QC_U8 ||
        g->values[n->out[1]].type.dtype != QC_F32 || g->values[n->out[2]].type.dtype != QC_U8)
        return qc_error(QC_ERR_UNSUPPORTED, "only f32 -> u8");
    if (!(cg->feat.sse41 || cg->feat.avx2 || cg->feat.avx512f))
        return qc_error(QC_ERR_UNSUPPORTED, "rint needs sse4.1 (no libm calls in kernels)");
    int64_t na = 0, nb = 0;
    qc_status st = qc_cpu_numel_lin(tx, &na, &nb);
    if (st) return st;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    LLVMBuilderRef b = f.b;
    int32_t W = f.vw;
    dq d = {.x = qc_cpu_fn_in(&f, 0), .y = qc_cpu_fn_out(&f, 0)};
    LLVMValueRef ps = qc_cpu_fn_out(&f, 1), pz = qc_cpu_fn_out(&f, 2);
    LLVMValueRef N = qc_cpu_lin(&f, na, nb);
    LLVMBasicBlockRef work = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "work");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "done");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, f.begin, f.end, ""), work, done);
    LLVMPositionBuilderAtEnd(b, work);

    /* pass 1: range, starting from 0 in every lane (the range includes 0) */
    LLVMValueRef lo[MAX_ACC], hi[MAX_ACC], i;
    for (int32_t a = 0; a < MAX_ACC; a++) lo[a] = hi[a] = qc_cpu_fconst(&f, W, 0.0);
    minmax_loop(&f, W, MAX_ACC, d.x, qc_cpu_i64(&f, 0), N, lo, hi, &i);
    for (int32_t a = 1; a < MAX_ACC; a++) minmax_step(&f, lo[a], &lo[0], &hi[0]);
    for (int32_t a = 1; a < MAX_ACC; a++) minmax_step(&f, hi[a], &lo[0], &hi[0]);
    minmax_loop(&f, W, 1, d.x, i, N, lo, hi, &i);   /* whole vectors left */
    LLVMValueRef slo = qc_cpu_fconst(&f, 1, 0.0), shi = slo;
    for (int32_t l = 0; l < W; l++) {
        LLVMValueRef li = qc_cpu_i32(&f, l);
        LLVMValueRef a = LLVMBuildExtractElement(b, lo[0], li, "");
        LLVMValueRef c = LLVMBuildExtractElement(b, hi[0], li, "");
        slo = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, a, slo, ""), a, slo, "");
        shi = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, c, shi, ""), c, shi, "");
    }
    LLVMValueRef tail_i;
    minmax_loop(&f, 1, 1, d.x, i, N, &slo, &shi, &tail_i);

    /* qc_dynamic_qparams_u8 (lo <= 0 <= hi already) */
    LLVMValueRef s = LLVMBuildFDiv(b, LLVMBuildFSub(b, shi, slo, ""), qc_cpu_fconst(&f, 1, 255.0), "");
    d.zero_scale = LLVMBuildFCmp(b, LLVMRealOEQ, s, qc_cpu_fconst(&f, 1, 0.0), "");
    LLVMValueRef r = LLVMBuildFSub(b, qc_cpu_fconst(&f, 1, 0.0), LLVMBuildFDiv(b, slo, s, ""), "");
    r = qc_cpu_intrin(&f, "llvm.rint", f.f32, &r, 1);
    LLVMValueRef zp = sat_add(&f, 1, r, qc_cpu_i32(&f, 0), qc_cpu_fconst(&f, 1, 0.0),
                              qc_cpu_fconst(&f, 1, 255.0));
    zp = LLVMBuildSelect(b, d.zero_scale, qc_cpu_i32(&f, 0), zp, "");
    d.scale = s;
    d.zp = zp;
    LLVMBasicBlockRef params = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "params");
    LLVMBasicBlockRef quant = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "quant");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, f.begin, qc_cpu_i64(&f, 0), ""), params, quant);
    LLVMPositionBuilderAtEnd(b, params);
    LLVMSetAlignment(LLVMBuildStore(b, s, ps), 4);
    LLVMSetAlignment(LLVMBuildStore(b, LLVMBuildTrunc(b, zp, f.i8, ""), pz), 1);
    LLVMBuildBr(b, quant);
    LLVMPositionBuilderAtEnd(b, quant);

    /* pass 2: quantize, in the FMA form (quantize.h) when the scale allows */
    if (qc_cpu_quantize_has_fma(&f)) {
        LLVMBasicBlockRef qf = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "qfma");
        LLVMBasicBlockRef qd = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "qdiv");
        LLVMBuildCondBr(b, qc_cpu_quantize_scale_ok(&f, s), qf, qd);
        LLVMPositionBuilderAtEnd(b, qf);
        quant_loops(&f, &d, true);
        LLVMBuildBr(b, done);
        LLVMPositionBuilderAtEnd(b, qd);
    }
    quant_loops(&f, &d, false);
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, done);
    qc_cpu_fn_end(&f);
    k->units_a = na;
    k->units_b = nb;
    k->grain = DQL_GRAIN;
    /* per element at x16: ~100 ps the quantize (measured with the divide
     * form; the FMA form is cheaper, so this errs high), ~12 the range pass
     * (repeated per chunk) */
    k->cost_ps = qc_cpu_cost_ps(112.0 * 16.0 / W);
    snprintf(k->variant, sizeof k->variant, "dynquant u8 x%d", (int)W);
    return NULL;
}

/* ---- Cast integer -> f32 ------------------------------------------------------------------- */

typedef struct cst {
    LLVMValueRef x, y;
    LLVMTypeRef el;   /* the input element type */
    bool is_signed;
} cst;

static void cast_span(qc_cpu_fn *f, const cst *c, int32_t w, LLVMValueRef i) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef v = LLVMBuildLoad2(b, vty(c->el, w), qc_cpu_gep(f, c->el, c->x, i), "");
    LLVMSetAlignment(v, 1);
    v = c->is_signed ? LLVMBuildSIToFP(b, v, qc_cpu_vt(f, w), "")
                     : LLVMBuildUIToFP(b, v, qc_cpu_vt(f, w), "");
    qc_cpu_storef(f, w, c->y, i, v);
}

static qc_status gen_cast(qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, qc_cpu_kernel *k) {
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1 || n->out[0] < 0)
        return qc_error(QC_ERR_UNSUPPORTED, "inputs / outputs");
    const qc_type *tx = &g->values[n->in[0]].type, *ty = &g->values[n->out[0]].type;
    if (ty->dtype != QC_F32) return qc_error(QC_ERR_UNSUPPORTED, "only casts to f32");
    qc_cpu_fn f;
    cst c = {0};
    int ebits;
    switch (tx->dtype) {
    case QC_I32: ebits = 32; c.is_signed = true; break;
    case QC_I16: ebits = 16; c.is_signed = true; break;
    case QC_I8: ebits = 8; c.is_signed = true; break;
    case QC_U8: ebits = 8; break;
    default: return qc_error(QC_ERR_UNSUPPORTED, "only i32/i16/i8/u8 -> f32");
    }
    int64_t na = 0, nb = 0;
    qc_status st = qc_cpu_numel_lin(ty, &na, &nb);
    if (st) return st;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    c.el = LLVMIntTypeInContext(cg->ctx, (unsigned)ebits);
    c.x = qc_cpu_fn_in(&f, 0);
    c.y = qc_cpu_fn_out(&f, 0);
    qc_cpu_loop vl;
    LLVMValueRef j = qc_cpu_loop_begin(&f, &vl, f.begin, f.end, f.vw);
    cast_span(&f, &c, f.vw, j);
    qc_cpu_loop_end(&f, &vl);
    qc_cpu_loop sl;
    LLVMValueRef j1 = qc_cpu_loop_begin(&f, &sl, vl.iv, f.end, 1);
    cast_span(&f, &c, 1, j1);
    qc_cpu_loop_end(&f, &sl);
    qc_cpu_fn_end(&f);
    k->units_a = na;
    k->units_b = nb;
    k->grain = 4096;
    k->row_local = true;   /* elements in order */
    k->cost_ps = qc_cpu_cost_ps(30.0 * 16.0 / f.vw);
    snprintf(k->variant, sizeof k->variant, "cast %s->f32 x%d", qc_dtype_name(tx->dtype),
             (int)f.vw);
    return NULL;
}

qc_status qc_cpu_gen_dynq(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    if (n->op == QC_OP_DYNAMIC_QUANTIZE_LINEAR) return gen_dql(cg, g, n, k);
    if (n->op == QC_OP_CAST && n->n_in == 1 && n->in[0] >= 0 && n->n_out == 1 && n->out[0] >= 0) {
        qc_dtype tx = g->values[n->in[0]].type.dtype, ty = g->values[n->out[0]].type.dtype;
        bool hx = tx == QC_F16 || tx == QC_BF16, hy = ty == QC_F16 || ty == QC_BF16;
        if ((hx && ty == QC_F32) || (tx == QC_F32 && hy))
            return qc_cpu_gen_cast_half(cg, g, node, k);   /* f32 <-> half: gen_half.c */
    }
    if (n->op == QC_OP_CAST) return gen_cast(cg, g, n, k);
    return qc_error(QC_ERR_UNSUPPORTED, "not DynamicQuantizeLinear / Cast");
}
