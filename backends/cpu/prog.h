/* prog.h — internal: the elementwise programs of qc.Elementwise and of the
 * qc.Fused{Gemm,MatMul} epilogues (docs/ir.md; made by passes/fuse.c) as
 * vector code. The generators also phrase a single unary/binary node as a
 * one-step program, so every elementwise float op goes through here.
 *
 * The steps are evaluated per lane in f32 (ref evaluates each step in double
 * and rounds to f32 after it; + - * / Relu Clip Abs Neg Sqrt are therefore
 * bit-identical, exp/tanh/sigmoid within a few ulp: docs/backend-cpu.md). */
#ifndef QC_BACKENDS_CPU_PROG_H
#define QC_BACKENDS_CPU_PROG_H

#include "backends/cpu/ir_util.h"
#include "ops/prog.h"

#define QC_CPU_PROG_MAX 16
#define QC_CPU_STEP_ARGS 4

/* One step (ops/prog.h: parsed once for every backend). */
typedef qc_prog_step qc_cpu_step;

typedef struct qc_cpu_prog {
    int32_t n;
    qc_cpu_step s[QC_CPU_PROG_MAX];
} qc_cpu_prog;

/* Parses `text` whose %k refer to node inputs [0, n_inputs) and checks every
 * step is one this file can generate; QC_ERR_UNSUPPORTED names the step. */
qc_status qc_cpu_prog_parse(const char *text, int32_t n_inputs, qc_cpu_prog *p);

/* w lanes of node input k at the current position (the generator knows the
 * position and the operand's broadcast). */
typedef LLVMValueRef (*qc_cpu_operand_fn)(void *ctx, int32_t k, int32_t w);

/* The program applied to x (w lanes). */
LLVMValueRef qc_cpu_prog_emit(qc_cpu_fn *f, const qc_cpu_prog *p, int32_t w, LLVMValueRef x,
                              qc_cpu_operand_fn operand, void *ctx);

/* How an operand broadcasts onto an output viewed as rows x cols (cols =
 * the last dim). */
typedef enum qc_cpu_bcast {
    QC_CPU_BC_SCALAR = 0,   /* one element */
    QC_CPU_BC_FULL,         /* the output's shape */
    QC_CPU_BC_ROW,          /* [..1.., cols]: indexed by column */
    QC_CPU_BC_COL,          /* [rows, 1] of a 2-D output: indexed by row */
} qc_cpu_bcast;

/* Classifies operand type t against the output type o; false when it is
 * none of the above (the node then falls back). allow_col: GEMM only. */
bool qc_cpu_bcast_of(const qc_type *t, const qc_type *o, bool allow_col, qc_cpu_bcast *out);

#endif
