/* half.h — internal: fp16 / bf16 <-> f32 in registers for the cpu
 * generators (gen_half.c), used by the half GEMMs of gen_wgemm.c and the
 * f32 <-> half Cast. f16 uses LLVM's fpext / fptrunc on half vectors, which
 * are vcvtph2ps / vcvtps2ph with f16c (callers must check feat.f16c: without
 * it LLVM would call a libm helper); bf16 is integer shifts and ir/dtype.h's
 * round half to even, on every target. */
#ifndef QC_BACKENDS_CPU_HALF_H
#define QC_BACKENDS_CPU_HALF_H

#include "backends/cpu/ir_util.h"

static inline bool qc_cpu_is_half(qc_dtype t) { return t == QC_F16 || t == QC_BF16; }

/* w lanes of element type e (e itself for w == 1). */
LLVMTypeRef qc_cpu_ivt(qc_cpu_fn *f, LLVMTypeRef e, int32_t w);
/* An integer constant of type e splat over w lanes. */
LLVMValueRef qc_cpu_isplat(qc_cpu_fn *f, LLVMTypeRef e, int32_t w, long long v);
/* w lanes of i16 holding t (f16 / bf16) bits -> f32, exact. */
LLVMValueRef qc_cpu_half_to_f32(qc_cpu_fn *f, qc_dtype t, LLVMValueRef h, int32_t w);
/* f32 -> t bits (i16 lanes), round half to even (qc_f32_to_f16 / _bf16). */
LLVMValueRef qc_cpu_f32_to_half(qc_cpu_fn *f, qc_dtype t, LLVMValueRef y, int32_t w);
/* y rounded to t and back to f32. */
LLVMValueRef qc_cpu_round_half(qc_cpu_fn *f, qc_dtype t, LLVMValueRef y, int32_t w);
/* w elements of t (f32, f16, bf16) at base + idx as f32 lanes; mask NULL:
 * the full vector. */
LLVMValueRef qc_cpu_load_as_f32(qc_cpu_fn *f, qc_dtype t, int32_t w, LLVMValueRef base,
                                LLVMValueRef idx, LLVMValueRef mask);
/* Stores f32 lanes y as t (rounded) at base + idx. */
void qc_cpu_store_from_f32(qc_cpu_fn *f, qc_dtype t, int32_t w, LLVMValueRef base,
                           LLVMValueRef idx, LLVMValueRef y, LLVMValueRef mask);

#endif
