/* quantize.c — qc_quantize on vector lanes (quantize.h). */
#include "backends/cpu/quantize.h"

#include <math.h>

bool qc_cpu_quantize_has_fma(const qc_cpu_fn *f) {
    /* llvm.fma without FMA hardware is a libm call: kernels call nothing. */
    return f->cg->feat.fma || f->cg->feat.avx512f;
}

bool qc_cpu_quantize_fast(const qc_cpu_fn *f, float scale) {
    return qc_cpu_quantize_has_fma(f) && isfinite(scale) && scale >= 0x1p-90f &&
           scale <= 0x1p80f;
}

LLVMValueRef qc_cpu_quantize_scale_ok(qc_cpu_fn *f, LLVMValueRef s) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef ge = LLVMBuildFCmp(b, LLVMRealOGE, s, LLVMConstReal(f->f32, 0x1p-90), "");
    LLVMValueRef le = LLVMBuildFCmp(b, LLVMRealOLE, s, LLVMConstReal(f->f32, 0x1p80), "");
    return LLVMBuildAnd(b, ge, le, "");
}

static qc_cpu_qlanes lanes(qc_cpu_fn *f, int32_t w, const qc_cpu_qlanes *one) {
    qc_cpu_qlanes l;
    l.s = qc_cpu_splat(f, w, one->s);
    l.y = one->y ? qc_cpu_splat(f, w, one->y) : NULL;
    l.t = one->t ? qc_cpu_splat(f, w, one->t) : NULL;
    l.nt = one->nt ? qc_cpu_splat(f, w, one->nt) : NULL;
    l.zp = qc_cpu_splat(f, w, one->zp);
    l.lo = qc_cpu_splat(f, w, one->lo);
    l.hi = qc_cpu_splat(f, w, one->hi);
    l.flo = qc_cpu_splat(f, w, one->flo);
    l.fhi = qc_cpu_splat(f, w, one->fhi);
    return l;
}

void qc_cpu_quantizer_init(qc_cpu_fn *f, qc_cpu_quantizer *q, int32_t w, LLVMValueRef s,
                           const float *known, LLVMValueRef zp, int32_t lo, int32_t hi) {
    qc_cpu_quantizer_init_form(f, q, w, s, known && qc_cpu_quantize_fast(f, *known), zp, lo, hi);
}

void qc_cpu_quantizer_init_form(qc_cpu_fn *f, qc_cpu_quantizer *q, int32_t w, LLVMValueRef s,
                                bool fast, LLVMValueRef zp, int32_t lo, int32_t hi) {
    LLVMBuilderRef b = f->b;
    q->fast = fast && qc_cpu_quantize_has_fma(f);
    qc_cpu_qlanes *o = &q->one;
    o->s = s;
    o->y = o->t = o->nt = NULL;
    if (q->fast) {
        o->y = LLVMBuildFDiv(b, LLVMConstReal(f->f32, 1.0), s, "");
        o->t = LLVMBuildFMul(b, s, LLVMConstReal(f->f32, 0x1p30), "");
        o->nt = LLVMBuildFNeg(b, o->t, "");
    }
    o->zp = zp;
    o->lo = qc_cpu_i32(f, lo);
    o->hi = qc_cpu_i32(f, hi);
    /* lo - zp and hi - zp are exact as floats: 8-bit bounds and zero points */
    LLVMValueRef zpf = LLVMBuildSIToFP(b, zp, f->f32, "");
    o->flo = LLVMBuildFSub(b, LLVMConstReal(f->f32, lo), zpf, "");
    o->fhi = LLVMBuildFSub(b, LLVMConstReal(f->f32, hi), zpf, "");
    q->vec = w > 1 ? lanes(f, w, o) : *o;
}

/* rint + NaN -> 0 + float clamp + convert: qc_sat_round_add of the quotient
 * when it may be huge or infinite (the divide form). */
static LLVMValueRef sat_round_add(qc_cpu_fn *f, const qc_cpu_qlanes *l, int32_t w,
                                  LLVMValueRef r) {
    LLVMBuilderRef b = f->b;
    r = qc_cpu_intrin(f, "llvm.rint", LLVMTypeOf(r), &r, 1);
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, r, r, "");
    r = LLVMBuildSelect(b, nan, qc_cpu_fconst(f, w, 0.0), r, "");
    r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLE, r, l->flo, ""), l->flo, r, "");
    r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGE, r, l->fhi, ""), l->fhi, r, "");
    LLVMTypeRef it = w == 1 ? f->i32 : LLVMVectorType(f->i32, (unsigned)w);
    return LLVMBuildAdd(b, LLVMBuildFPToSI(b, r, it, ""), l->zp, "");
}

LLVMValueRef qc_cpu_quantize(qc_cpu_fn *f, const qc_cpu_quantizer *q, int32_t w, LLVMValueRef x) {
    LLVMBuilderRef b = f->b;
    const qc_cpu_qlanes *l = w == 1 ? &q->one : &q->vec;
    if (!q->fast) return sat_round_add(f, l, w, LLVMBuildFDiv(b, x, l->s, ""));
    /* ordered compares: NaN stays NaN through the clamp */
    x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, l->t, ""), l->t, x, "");
    x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, l->nt, ""), l->nt, x, "");
    LLVMValueRef p = LLVMBuildFMul(b, x, l->y, "");
    LLVMValueRef r = qc_cpu_madd(f, LLVMBuildFNeg(b, l->s, ""), p, x);   /* exact */
    LLVMValueRef d = qc_cpu_madd(f, r, l->y, p);                         /* RN(x / s) */
    LLVMTypeRef it = w == 1 ? f->i32 : LLVMVectorType(f->i32, (unsigned)w);
    /* |d| <= 2^30: the rounding convert is exact and in range, except NaN */
    LLVMValueRef v = qc_cpu_intrin2(f, "llvm.lrint", it, LLVMTypeOf(d), &d, 1);
    LLVMValueRef ord = LLVMBuildFCmp(b, LLVMRealORD, d, d, "");
    v = LLVMBuildSelect(b, ord, LLVMBuildAdd(b, v, l->zp, ""), l->zp, "");
    v = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, v, l->lo, ""), l->lo, v, "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, v, l->hi, ""), l->hi, v, "");
}
