/* ir_util.h — internal: small builders over the LLVM C API shared by the fp32
 * kernel generators: the kernel function of kernel_abi.h, counted loops,
 * vector constants, and the math the epilogue programs need (exp, tanh,
 * sigmoid) as inline instruction sequences, so generated code calls nothing
 * (no libm symbol for the shared object or the JIT to resolve). */
#ifndef QC_BACKENDS_CPU_IR_UTIL_H
#define QC_BACKENDS_CPU_IR_UTIL_H

#include "backends/cpu/gen.h"

typedef struct qc_cpu_fn {
    qc_cpu_cg *cg;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    LLVMValueRef begin, end;  /* the unit range */
    LLVMValueRef batch;       /* i64 */
    LLVMValueRef packed;      /* ptr */
    LLVMValueRef in_arr, out_arr;
    LLVMTypeRef i1, i8, i32, i64, f32, ptr, vd;   /* vd: void */
    int32_t vw;               /* the widest f32 vector the target has: 16, 8 or 4 */
} qc_cpu_fn;

/* Adds `symbol` with the kernel ABI and positions a builder in its entry. */
void qc_cpu_fn_begin(qc_cpu_cg *cg, const char *symbol, qc_cpu_fn *f);
/* Returns void and disposes of the builder. */
void qc_cpu_fn_end(qc_cpu_fn *f);
LLVMValueRef qc_cpu_fn_in(qc_cpu_fn *f, int32_t k);    /* a->in[k] (ptr) */
LLVMValueRef qc_cpu_fn_out(qc_cpu_fn *f, int32_t k);   /* a->out[k] (ptr) */

LLVMValueRef qc_cpu_i64(qc_cpu_fn *f, int64_t v);
LLVMValueRef qc_cpu_i32(qc_cpu_fn *f, int32_t v);
/* v * batch + a as i64 (a + b * batch). */
LLVMValueRef qc_cpu_lin(qc_cpu_fn *f, int64_t a, int64_t b);
/* Type of lanes f32 values: the scalar float for w == 1. */
LLVMTypeRef qc_cpu_vt(qc_cpu_fn *f, int32_t w);
/* A float constant splat over w lanes. */
LLVMValueRef qc_cpu_fconst(qc_cpu_fn *f, int32_t w, double v);
/* A scalar of any type (f32, i32, i1, ...) over w lanes; w == 1: itself. */
LLVMValueRef qc_cpu_splat(qc_cpu_fn *f, int32_t w, LLVMValueRef scalar);
/* Loads / stores w floats at base + idx floats (align 4; w == 1 scalar). */
LLVMValueRef qc_cpu_loadf(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx);
void qc_cpu_storef(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef v);
LLVMValueRef qc_cpu_gep(qc_cpu_fn *f, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef idx);

/* A counted loop for (iv = start; iv < end; iv += step); between begin and
 * end the builder sits in the body. */
typedef struct qc_cpu_loop {
    LLVMBasicBlockRef pre, head, body, exit;
    LLVMValueRef iv;
    LLVMValueRef step;
} qc_cpu_loop;
LLVMValueRef qc_cpu_loop_begin(qc_cpu_fn *f, qc_cpu_loop *l, LLVMValueRef start,
                               LLVMValueRef end, int64_t step);
void qc_cpu_loop_end(qc_cpu_fn *f, qc_cpu_loop *l);

/* Calls an overloaded intrinsic (llvm.fma, llvm.sqrt, ...) on type t. */
LLVMValueRef qc_cpu_intrin(qc_cpu_fn *f, const char *name, LLVMTypeRef t, LLVMValueRef *args,
                           unsigned n);
/* An intrinsic overloaded on two types (llvm.masked.load: vector, pointer). */
LLVMValueRef qc_cpu_intrin2(qc_cpu_fn *f, const char *name, LLVMTypeRef t0, LLVMTypeRef t1,
                            LLVMValueRef *args, unsigned n);
/* The first `lanes` of w lanes set: a <w x i1> constant. */
LLVMValueRef qc_cpu_mask(qc_cpu_fn *f, int32_t w, int32_t lanes);
/* Lanes i of n (<= 64) with 0 <= start + i < limit, as a <n x i1> built at
 * run time from an i64 start (the masked loads of padded rows). */
LLVMValueRef qc_cpu_range_mask(qc_cpu_fn *f, LLVMValueRef start, int64_t limit, int32_t n);
/* Masked load (passthru 0) / store of w floats at base + idx. */
LLVMValueRef qc_cpu_loadf_masked(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx,
                                 LLVMValueRef mask);
void qc_cpu_storef_masked(qc_cpu_fn *f, int32_t w, LLVMValueRef base, LLVMValueRef idx,
                          LLVMValueRef v, LLVMValueRef mask);
/* a * b + c: one fma where the target has it, else fmul + fadd. */
LLVMValueRef qc_cpu_madd(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
/* select(a < b, b, a) etc.: NaN in a passes through (the ref kernels' order). */
LLVMValueRef qc_cpu_max_keepnan(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef qc_cpu_min_keepnan(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b);
/* exp(x) on f32 lanes: Cephes' expf (range reduction by ln 2, degree-5
 * polynomial), about 1 ulp; inf above 88.72, 0-ish below -87.3, NaN kept. */
LLVMValueRef qc_cpu_exp(qc_cpu_fn *f, int32_t w, LLVMValueRef x);
LLVMValueRef qc_cpu_tanh(qc_cpu_fn *f, int32_t w, LLVMValueRef x);
LLVMValueRef qc_cpu_sigmoid(qc_cpu_fn *f, int32_t w, LLVMValueRef x);

/* The window rows of output row o (runtime) that fall inside an input of
 * `in` rows: *i0 = o * stride - pad, taps k in [*klo, *khi] have
 * 0 <= i0 + k * dil <= in - 1 (*klo > *khi: none). For the pooling and
 * depthwise kernels. */
void qc_cpu_window_rows(qc_cpu_fn *f, LLVMValueRef o, int64_t stride, int64_t pad, int64_t dil,
                        int64_t k, int64_t in, LLVMValueRef *i0, LLVMValueRef *klo,
                        LLVMValueRef *khi);

/* t's element count as a + b * batch (one symbolic dim at most; two are
 * QC_ERR_UNSUPPORTED, so the node falls back). */
qc_status qc_cpu_numel_lin(const qc_type *t, int64_t *a, int64_t *b);

#endif
