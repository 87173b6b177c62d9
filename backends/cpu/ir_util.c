/* ir_util.c — LLVM C API helpers for the cpu kernel generators (ir_util.h). */
#include <math.h>
#include <string.h>

#include "backends/cpu/ir_util.h"

void qc_cpu_fn_begin(qc_cpu_cg *cg, const char *symbol, qc_cpu_fn *f) {
    memset(f, 0, sizeof *f);
    f->cg = cg;
    LLVMContextRef c = cg->ctx;
    f->i1 = LLVMInt1TypeInContext(c);
    f->i8 = LLVMInt8TypeInContext(c);
    f->i32 = LLVMInt32TypeInContext(c);
    f->i64 = LLVMInt64TypeInContext(c);
    f->f32 = LLVMFloatTypeInContext(c);
    f->ptr = LLVMPointerTypeInContext(c, 0);
    f->vd = LLVMVoidTypeInContext(c);
    f->vw = cg->feat.avx512f ? 16 : cg->feat.avx2 ? 8 : 4;
    LLVMTypeRef params[3] = {f->ptr, f->i64, f->i64};
    LLVMTypeRef fty = LLVMFunctionType(f->vd, params, 3, 0);
    f->fn = LLVMAddFunction(cg->mod, symbol, fty);
    LLVMSetLinkage(f->fn, LLVMExternalLinkage);
    LLVMSetVisibility(f->fn, LLVMDefaultVisibility);
    /* nounwind: kernels never throw; lets LLVM drop unwind tables. */
    unsigned kind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(f->fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, kind, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, f->fn, "entry");
    f->b = LLVMCreateBuilderInContext(c);
    LLVMPositionBuilderAtEnd(f->b, entry);
    LLVMValueRef a = LLVMGetParam(f->fn, 0);
    f->begin = LLVMGetParam(f->fn, 1);
    f->end = LLVMGetParam(f->fn, 2);
    /* qc_cpu_kargs: {in, out, packed, batch}, four 8-byte fields. */
    LLVMValueRef p;
    p = qc_cpu_gep(f, f->i64, a, qc_cpu_i64(f, 0));
    f->in_arr = LLVMBuildLoad2(f->b, f->ptr, p, "in");
    p = qc_cpu_gep(f, f->i64, a, qc_cpu_i64(f, 1));
    f->out_arr = LLVMBuildLoad2(f->b, f->ptr, p, "out");
    p = qc_cpu_gep(f, f->i64, a, qc_cpu_i64(f, 2));
    f->packed = LLVMBuildLoad2(f->b, f->ptr, p, "packed");
    p = qc_cpu_gep(f, f->i64, a, qc_cpu_i64(f, 3));
    f->batch = LLVMBuildLoad2(f->b, f->i64, p, "batch");
}

void qc_cpu_fn_end(qc_cpu_fn *f) {
    LLVMBuildRetVoid(f->b);
    LLVMDisposeBuilder(f->b);
    f->b = NULL;
}

LLVMValueRef qc_cpu_gep(qc_cpu_fn *f, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(f->b, elem, base, &idx, 1, "");
}

static LLVMValueRef load_ptr(qc_cpu_fn *f, LLVMValueRef arr, int32_t k) {
    LLVMValueRef p = qc_cpu_gep(f, f->ptr, arr, qc_cpu_i64(f, k));
    return LLVMBuildLoad2(f->b, f->ptr, p, "");
}

LLVMValueRef qc_cpu_fn_in(qc_cpu_fn *f, int32_t k) { return load_ptr(f, f->in_arr, k); }
LLVMValueRef qc_cpu_fn_out(qc_cpu_fn *f, int32_t k) { return load_ptr(f, f->out_arr, k); }

LLVMValueRef qc_cpu_i64(qc_cpu_fn *f, int64_t v) {
    return LLVMConstInt(f->i64, (unsigned long long)v, 1);
}
LLVMValueRef qc_cpu_i32(qc_cpu_fn *f, int32_t v) {
    return LLVMConstInt(f->i32, (unsigned long long)(int64_t)v, 1);
}

LLVMValueRef qc_cpu_lin(qc_cpu_fn *f, int64_t a, int64_t b) {
    if (!b) return qc_cpu_i64(f, a);
    LLVMValueRef v = LLVMBuildMul(f->b, f->batch, qc_cpu_i64(f, b), "");
    return a ? LLVMBuildAdd(f->b, v, qc_cpu_i64(f, a), "") : v;
}

LLVMTypeRef qc_cpu_vt(qc_cpu_fn *f, int32_t w) {
    return w == 1 ? f->f32 : LLVMVectorType(f->f32, (unsigned)w);
}

LLVMValueRef qc_cpu_splat(qc_cpu_fn *f, int32_t w, LLVMValueRef s) {
    if (w == 1) return s;
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), (unsigned)w);
    LLVMValueRef v = LLVMBuildInsertElement(f->b, LLVMGetUndef(vt), s, qc_cpu_i32(f, 0), "");
    LLVMValueRef zero = LLVMConstNull(LLVMVectorType(f->i32, (unsigned)w));
    return LLVMBuildShuffleVector(f->b, v, LLVMGetUndef(vt), zero, "");
}

LLVMValueRef qc_cpu_fconst(qc_cpu_fn *f, int32_t w, double v) {
    LLVMValueRef s = LLVMConstReal(f->f32, v);
    if (w == 1) return s;
    LLVMValueRef lanes[16];
    for (int32_t i = 0; i < w; i++) lanes[i] = s;
    return LLVMConstVector(lanes, (unsigned)w);
}

LLVMValueRef qc_cpu_loadf(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx) {
    LLVMValueRef p = qc_cpu_gep(f, f->f32, base, idx);
    LLVMValueRef v = LLVMBuildLoad2(f->b, qc_cpu_vt(f, w), p, "");
    LLVMSetAlignment(v, 4);
    return v;
}

void qc_cpu_storef(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef v) {
    (void)w;
    LLVMValueRef p = qc_cpu_gep(f, f->f32, base, idx);
    LLVMValueRef s = LLVMBuildStore(f->b, v, p);
    LLVMSetAlignment(s, 4);
}

LLVMValueRef qc_cpu_loop_begin(qc_cpu_fn *f, qc_cpu_loop *l, LLVMValueRef start,
                               LLVMValueRef end, int64_t step) {
    LLVMContextRef c = f->cg->ctx;
    l->pre = LLVMGetInsertBlock(f->b);
    l->head = LLVMAppendBasicBlockInContext(c, f->fn, "loop");
    l->body = LLVMAppendBasicBlockInContext(c, f->fn, "body");
    l->exit = LLVMAppendBasicBlockInContext(c, f->fn, "exit");
    l->step = qc_cpu_i64(f, step);
    LLVMBuildBr(f->b, l->head);
    LLVMPositionBuilderAtEnd(f->b, l->head);
    l->iv = LLVMBuildPhi(f->b, f->i64, "iv");
    LLVMAddIncoming(l->iv, &start, &l->pre, 1);
    /* iv + step <= end for step > 1 (whole steps only); the caller handles
     * the remainder. */
    LLVMValueRef next_end = step > 1 ? LLVMBuildAdd(f->b, l->iv, l->step, "") : l->iv;
    LLVMValueRef ok = step > 1 ? LLVMBuildICmp(f->b, LLVMIntSLE, next_end, end, "")
                               : LLVMBuildICmp(f->b, LLVMIntSLT, l->iv, end, "");
    LLVMBuildCondBr(f->b, ok, l->body, l->exit);
    LLVMPositionBuilderAtEnd(f->b, l->body);
    return l->iv;
}

void qc_cpu_loop_end(qc_cpu_fn *f, qc_cpu_loop *l) {
    LLVMValueRef next = LLVMBuildAdd(f->b, l->iv, l->step, "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(f->b);
    LLVMBuildBr(f->b, l->head);
    LLVMAddIncoming(l->iv, &next, &from, 1);
    LLVMPositionBuilderAtEnd(f->b, l->exit);
}

LLVMValueRef qc_cpu_intrin(qc_cpu_fn *f, const char *name, LLVMTypeRef t, LLVMValueRef *args,
                           unsigned n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->cg->mod, id, &t, 1);
    LLVMTypeRef fty = LLVMIntrinsicGetType(f->cg->ctx, id, &t, 1);
    return LLVMBuildCall2(f->b, fty, fn, args, n, "");
}

LLVMValueRef qc_cpu_intrin2(qc_cpu_fn *f, const char *name, LLVMTypeRef t0, LLVMTypeRef t1,
                            LLVMValueRef *args, unsigned n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef ts[2] = {t0, t1};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->cg->mod, id, ts, 2);
    LLVMTypeRef fty = LLVMIntrinsicGetType(f->cg->ctx, id, ts, 2);
    return LLVMBuildCall2(f->b, fty, fn, args, n, "");
}

LLVMValueRef qc_cpu_mask(qc_cpu_fn *f, int32_t w, int32_t lanes) {
    LLVMValueRef m[16];
    for (int32_t i = 0; i < w; i++) m[i] = LLVMConstInt(f->i1, i < lanes, 0);
    return LLVMConstVector(m, (unsigned)w);
}

static LLVMValueRef clamp_i64(qc_cpu_fn *f, LLVMValueRef v, int64_t lo, int64_t hi) {
    LLVMBuilderRef b = f->b;
    v = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, v, qc_cpu_i64(f, lo), ""), qc_cpu_i64(f, lo), v, "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, v, qc_cpu_i64(f, hi), ""), qc_cpu_i64(f, hi), v, "");
}

/* bits [lo, hi) of an i64 with lo, hi in [0, 64]: (2^hi - 1) & ~(2^lo - 1),
 * where a shift by 64 (undefined) is taken care of by a select */
static LLVMValueRef low_bits(qc_cpu_fn *f, LLVMValueRef k) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef one = qc_cpu_i64(f, 1);
    LLVMValueRef full = LLVMBuildICmp(b, LLVMIntSGE, k, qc_cpu_i64(f, 64), "");
    LLVMValueRef sh = LLVMBuildSelect(b, full, qc_cpu_i64(f, 0), k, "");
    return LLVMBuildSelect(b, full, LLVMConstAllOnes(f->i64),
                           LLVMBuildSub(b, LLVMBuildShl(b, one, sh, ""), one, ""), "");
}

/* lo <= iota < hi as two vector compares: without AVX-512's mask registers
 * a bit mask has to be spread into a vector lane by lane (a dozen scalar
 * and insert instructions), the compares are three vector instructions. */
static LLVMValueRef iota_between(qc_cpu_fn *f, LLVMValueRef lo, LLVMValueRef hi, int32_t n) {
    LLVMBuilderRef b = f->b;
    LLVMTypeRef vi = LLVMVectorType(f->i32, (unsigned)n);
    LLVMValueRef iota[64];
    for (int32_t i = 0; i < n; i++) iota[i] = qc_cpu_i32(f, i);
    LLVMValueRef io = LLVMConstVector(iota, (unsigned)n);
    LLVMValueRef v[2] = {lo, hi};
    for (int k = 0; k < 2; k++) {
        LLVMValueRef e = LLVMBuildTrunc(b, v[k], f->i32, "");
        e = LLVMBuildInsertElement(b, LLVMGetUndef(vi), e, qc_cpu_i32(f, 0), "");
        v[k] = LLVMBuildShuffleVector(b, e, LLVMGetUndef(vi), LLVMConstNull(vi), "");
    }
    return LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, io, v[0], ""),
                        LLVMBuildICmp(b, LLVMIntSLT, io, v[1], ""), "");
}

LLVMValueRef qc_cpu_range_mask(qc_cpu_fn *f, LLVMValueRef start, int64_t limit, int32_t n) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef lo = clamp_i64(f, LLVMBuildNeg(b, start, ""), 0, n);
    LLVMValueRef hi = clamp_i64(f, LLVMBuildSub(b, qc_cpu_i64(f, limit), start, ""), 0, n);
    if (!f->cg->feat.avx512f) return iota_between(f, lo, hi, n);
    LLVMValueRef bits = LLVMBuildAnd(b, low_bits(f, hi), LLVMBuildNot(b, low_bits(f, lo), ""), "");
    LLVMTypeRef it = LLVMIntTypeInContext(f->cg->ctx, (unsigned)n);
    return LLVMBuildBitCast(b, LLVMBuildTrunc(b, bits, it, ""), LLVMVectorType(f->i1, (unsigned)n), "");
}

LLVMValueRef qc_cpu_loadf_masked(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx,
                                 LLVMValueRef mask) {
    LLVMValueRef p = qc_cpu_gep(f, f->f32, base, idx);
    LLVMValueRef args[4] = {p, qc_cpu_i32(f, 4), mask, qc_cpu_fconst(f, w, 0.0)};
    return qc_cpu_intrin2(f, "llvm.masked.load", qc_cpu_vt(f, w), f->ptr, args, 4);
}

void qc_cpu_storef_masked(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx,
                          LLVMValueRef v, LLVMValueRef mask) {
    LLVMValueRef p = qc_cpu_gep(f, f->f32, base, idx);
    LLVMValueRef args[4] = {v, p, qc_cpu_i32(f, 4), mask};
    qc_cpu_intrin2(f, "llvm.masked.store", qc_cpu_vt(f, w), f->ptr, args, 4);
}

LLVMValueRef qc_cpu_madd(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    if (f->cg->feat.fma || f->cg->feat.avx512f) {
        LLVMValueRef args[3] = {a, b, c};
        return qc_cpu_intrin(f, "llvm.fma", LLVMTypeOf(a), args, 3);
    }
    return LLVMBuildFAdd(f->b, LLVMBuildFMul(f->b, a, b, ""), c, "");
}

LLVMValueRef qc_cpu_max_keepnan(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef lt = LLVMBuildFCmp(f->b, LLVMRealOLT, a, b, "");
    return LLVMBuildSelect(f->b, lt, b, a, "");
}

LLVMValueRef qc_cpu_min_keepnan(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef gt = LLVMBuildFCmp(f->b, LLVMRealOGT, a, b, "");
    return LLVMBuildSelect(f->b, gt, b, a, "");
}

/* An i32 constant splat over w lanes. */
static LLVMValueRef iconst(qc_cpu_fn *f, int32_t w, int32_t v) {
    if (w == 1) return qc_cpu_i32(f, v);
    LLVMValueRef lanes[16];
    for (int32_t i = 0; i < w; i++) lanes[i] = qc_cpu_i32(f, v);
    return LLVMConstVector(lanes, (unsigned)w);
}

LLVMValueRef qc_cpu_exp(qc_cpu_fn *f, int32_t w, LLVMValueRef x) {
    LLVMBuilderRef b = f->b;
    LLVMTypeRef it = w == 1 ? f->i32 : LLVMVectorType(f->i32, (unsigned)w);
#define C(v) qc_cpu_fconst(f, w, (v))
    /* Clamp so 2^n stays a normal float; NaN passes the selects. */
    LLVMValueRef xc = qc_cpu_min_keepnan(f, x, C(88.3762626647949));
    xc = qc_cpu_max_keepnan(f, xc, C(-87.3365447504019));
    /* n = round(x / ln 2); r = x - n ln 2 in two parts (Cody-Waite). */
    LLVMValueRef t = qc_cpu_madd(f, xc, C(1.44269504088896341), C(0.5));
    LLVMValueRef fl;
    if (f->cg->feat.sse41 || f->cg->feat.avx2 || f->cg->feat.avx512f) {
        fl = qc_cpu_intrin(f, "llvm.floor", LLVMTypeOf(t), &t, 1);
    } else {   /* floor from truncation, without a libm call */
        LLVMValueRef tr = LLVMBuildSIToFP(b, LLVMBuildFPToSI(b, t, it, ""), LLVMTypeOf(t), "");
        LLVMValueRef gt = LLVMBuildFCmp(b, LLVMRealOGT, tr, t, "");
        fl = LLVMBuildSelect(b, gt, LLVMBuildFSub(b, tr, C(1.0), ""), tr, "");
    }
    LLVMValueRef r = qc_cpu_madd(f, fl, C(-0.693359375), xc);
    r = qc_cpu_madd(f, fl, C(2.12194440e-4), r);
    LLVMValueRef z = LLVMBuildFMul(b, r, r, "");
    LLVMValueRef p = C(1.9875691500e-4);
    p = qc_cpu_madd(f, p, r, C(1.3981999507e-3));
    p = qc_cpu_madd(f, p, r, C(8.3334519073e-3));
    p = qc_cpu_madd(f, p, r, C(4.1665795894e-2));
    p = qc_cpu_madd(f, p, r, C(1.6666665459e-1));
    p = qc_cpu_madd(f, p, r, C(5.0000001201e-1));
    p = qc_cpu_madd(f, p, z, r);
    p = LLVMBuildFAdd(b, p, C(1.0), "");
    /* 2^n from the exponent bits. */
    LLVMValueRef n = LLVMBuildFPToSI(b, fl, it, "");
    LLVMValueRef e = LLVMBuildShl(b, LLVMBuildAdd(b, n, iconst(f, w, 127), ""), iconst(f, w, 23), "");
    LLVMValueRef pow2 = LLVMBuildBitCast(b, e, LLVMTypeOf(x), "");
    LLVMValueRef y = LLVMBuildFMul(b, p, pow2, "");
    /* Past the clamp: +inf above, the tiny value below is close enough to
     * ref's (sub)normal result for the stated tolerance. */
    LLVMValueRef big = LLVMBuildFCmp(b, LLVMRealOGT, x, C(88.3762626647949), "");
    y = LLVMBuildSelect(b, big, C(INFINITY), y, "");
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, x, x, "");
    return LLVMBuildSelect(b, nan, x, y, "");
#undef C
}

LLVMValueRef qc_cpu_sigmoid(qc_cpu_fn *f, int32_t w, LLVMValueRef x) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef e = qc_cpu_exp(f, w, LLVMBuildFNeg(b, x, ""));
    return LLVMBuildFDiv(b, qc_cpu_fconst(f, w, 1.0),
                         LLVMBuildFAdd(b, qc_cpu_fconst(f, w, 1.0), e, ""), "");
}

LLVMValueRef qc_cpu_tanh(qc_cpu_fn *f, int32_t w, LLVMValueRef x) {
    LLVMBuilderRef b = f->b;
#define C(v) qc_cpu_fconst(f, w, (v))
    LLVMValueRef ax = qc_cpu_intrin(f, "llvm.fabs", LLVMTypeOf(x), &x, 1);
    /* |x| >= 0.625: 1 - 2 / (e^{2|x|} + 1) with x's sign (no cancellation
     * there); below: Cephes' odd polynomial, where that form would cancel. */
    LLVMValueRef e = qc_cpu_exp(f, w, LLVMBuildFMul(b, ax, C(2.0), ""));
    LLVMValueRef big = LLVMBuildFSub(
        b, C(1.0), LLVMBuildFDiv(b, C(2.0), LLVMBuildFAdd(b, e, C(1.0), ""), ""), "");
    LLVMValueRef args[2] = {big, x};
    big = qc_cpu_intrin(f, "llvm.copysign", LLVMTypeOf(x), args, 2);
    LLVMValueRef z = LLVMBuildFMul(b, x, x, "");
    LLVMValueRef p = C(-5.70498872745e-3);
    p = qc_cpu_madd(f, p, z, C(2.06390887954e-2));
    p = qc_cpu_madd(f, p, z, C(-5.37397155531e-2));
    p = qc_cpu_madd(f, p, z, C(1.33314422036e-1));
    p = qc_cpu_madd(f, p, z, C(-3.33332819422e-1));
    LLVMValueRef small = qc_cpu_madd(f, LLVMBuildFMul(b, p, z, ""), x, x);
    LLVMValueRef lt = LLVMBuildFCmp(b, LLVMRealOLT, ax, C(0.625), "");
    LLVMValueRef y = LLVMBuildSelect(b, lt, small, big, "");
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, x, x, "");
    return LLVMBuildSelect(b, nan, x, y, "");
#undef C
}

qc_status qc_cpu_numel_lin(const qc_type *t, int64_t *a, int64_t *b) {
    int64_t p = 1;
    bool sym = false;
    for (int32_t k = 0; k < t->rank; k++) {
        if (t->dims[k] == QC_DIM_SYM) {
            if (sym) return qc_error(QC_ERR_UNSUPPORTED, "two symbolic dims");
            sym = true;
        } else {
            p *= t->dims[k];
        }
    }
    *a = sym ? 0 : p;
    *b = sym ? p : 0;
    return NULL;
}

static LLVMValueRef imax(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSGT, a, b, ""), a, b, "");
}

static LLVMValueRef imin(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, a, b, ""), a, b, "");
}

/* floor(a / b) for b > 0 and any sign of a. */
static LLVMValueRef floordiv(qc_cpu_fn *f, LLVMValueRef a, int64_t b) {
    LLVMValueRef q = LLVMBuildSDiv(f->b, a, qc_cpu_i64(f, b), "");
    LLVMValueRef r = LLVMBuildSRem(f->b, a, qc_cpu_i64(f, b), "");
    LLVMValueRef neg = LLVMBuildICmp(f->b, LLVMIntSLT, r, qc_cpu_i64(f, 0), "");
    return LLVMBuildSub(f->b, q, LLVMBuildZExt(f->b, neg, f->i64, ""), "");
}

void qc_cpu_window_rows(qc_cpu_fn *f, LLVMValueRef o, int64_t stride, int64_t pad, int64_t dil,
                        int64_t k, int64_t in, LLVMValueRef *i0, LLVMValueRef *klo,
                        LLVMValueRef *khi) {
    *i0 = LLVMBuildSub(f->b, LLVMBuildMul(f->b, o, qc_cpu_i64(f, stride), ""), qc_cpu_i64(f, pad), "");
    /* klo = max(0, ceil(-i0 / dil)) = max(0, -floor(i0 / dil)) */
    *klo = imax(f, qc_cpu_i64(f, 0), LLVMBuildNeg(f->b, floordiv(f, *i0, dil), ""));
    *khi = imin(f, qc_cpu_i64(f, k - 1),
                floordiv(f, LLVMBuildSub(f->b, qc_cpu_i64(f, in - 1), *i0, ""), dil));
}
