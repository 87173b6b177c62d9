/* quantize.h — internal: qc_quantize (ir/quant.h) on vector lanes, shared by
 * the kernels that quantize an fp32 value with a uniform scale
 * (QuantizeLinear, the QLinear elementwise ops), bit-identical to the ref.
 *
 * The divide. A vector divide costs 5-10x an FMA (vdivps zmm: one per ~8
 * cycles). With y = RN(1/s), q = RN(x * y) and the exact residual
 * r = fma(-s, q, x), Markstein's theorem makes RN(q + r * y) = RN(x / s)
 * whenever nothing underflows or overflows, and the range conditions hold by
 * construction: the FMA form is used only for a compile-time-constant scale
 * in [2^-90, 2^80] (so 1/s and s * 2^30 are normal); x is clamped to
 * +-s * 2^30 first (beyond that every 8-bit result saturates, and the
 * clamped quotient is exactly +-2^30); an |x| small enough for the residual
 * to underflow (< 2^-100) has |x / s| < 2^-10, which rounds to 0 either way.
 * Any other scale keeps the divide. tests/cpu/test_cpu_quantize.c checks the
 * form against the divide near every rounding boundary.
 *
 * The rest. rint + float clamp + convert costs ~10 uops per vector; here a
 * rounding convert (llvm.lrint: cvtps2dq) of the clamped quotient, a zero
 * point add and an integer clamp do it in ~5, and NaN (which converts to
 * INT_MIN) is selected to the zero point. Loop invariants are splatted once
 * in the entry block: no pass pipeline runs to hoist them. */
#ifndef QC_BACKENDS_CPU_QUANTIZE_H
#define QC_BACKENDS_CPU_QUANTIZE_H

#include <stdbool.h>

#include "backends/cpu/ir_util.h"

typedef struct qc_cpu_qlanes {   /* the invariants at one width */
    LLVMValueRef s, y, t, nt;     /* f32: scale, RN(1/s), s * 2^30, -s * 2^30 */
    LLVMValueRef zp, lo, hi;      /* i32: zero point, result bounds */
    LLVMValueRef flo, fhi;        /* f32 (divide form): lo - zp, hi - zp */
} qc_cpu_qlanes;

typedef struct qc_cpu_quantizer {
    bool fast;                    /* the FMA form; else the divide */
    qc_cpu_qlanes vec, one;       /* at the init's w lanes and at 1 */
} qc_cpu_quantizer;

/* Whether the FMA form applies to a scale of this value on f's target. */
bool qc_cpu_quantize_fast(const qc_cpu_fn *f, float scale);
/* Whether f's target has FMA (the FMA form's precondition besides the scale). */
bool qc_cpu_quantize_has_fma(const qc_cpu_fn *f);
/* An i1: the f32 scalar scale s is in the FMA form's range (false for NaN),
 * for a scale known only at run time (DynamicQuantizeLinear's). */
LLVMValueRef qc_cpu_quantize_scale_ok(qc_cpu_fn *f, LLVMValueRef s);

/* Builds the invariants, at the builder's position (the kernel's entry
 * block, before any loop): s an f32 scalar, `known` its value when the scale
 * is a graph constant (else NULL: the divide form), zp an i32 scalar, and the
 * result bounds [lo, hi] (the type's range, or narrower for a fused
 * activation clamp; lo <= zp <= hi is not required). */
void qc_cpu_quantizer_init(qc_cpu_fn *f, qc_cpu_quantizer *q, int32_t w, LLVMValueRef s,
                           const float *known, LLVMValueRef zp, int32_t lo, int32_t hi);
/* The same with the form chosen by the caller: fast only where the caller's
 * code has established qc_cpu_quantize_scale_ok and the target has FMA. */
void qc_cpu_quantizer_init_form(qc_cpu_fn *f, qc_cpu_quantizer *q, int32_t w, LLVMValueRef s,
                                bool fast, LLVMValueRef zp, int32_t lo, int32_t hi);

/* saturate(rint(x / s) + zp) into [lo, hi] as i32 lanes; w is the init's
 * w or 1. */
LLVMValueRef qc_cpu_quantize(qc_cpu_fn *f, const qc_cpu_quantizer *q, int32_t w, LLVMValueRef x);

#endif
