/* gen.h — internal: the cpu backend's kernel generators.
 *
 * The lowering (backends/cpu/lower.c) walks the optimized graph and, for
 * each node, calls the generator registered for its op. A generator adds
 * ONE external function named k->symbol (set by the caller) to cg->mod with
 * the signature of kernel_abi.h, and fills in the rest of *k. A generator
 * that does not handle a node's configuration (dtype, attribute, shape)
 * returns QC_ERR_UNSUPPORTED with the reason; the node then runs on the
 * ref kernel inside the cpu device, and `qcomp inspect` reports it. Any
 * other error fails the compile.
 *
 * Shapes: every dim is static except the model's one symbolic batch dim
 * (QC_DIM_SYM in the graph's types), bound at run time and passed to the
 * kernel in qc_cpu_kargs.batch.
 *
 * Numerics: integer results must be bit-identical to the ref kernels
 * (ir/quant.h: int32 accumulation; requantize = fp32 multiply of the
 * accumulator by the precomputed multiplier, round half to even, + zp,
 * saturate); no fast-math flags, no FMA contraction in quantized paths. */
#ifndef QC_BACKENDS_CPU_GEN_H
#define QC_BACKENDS_CPU_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "backends/cpu/cg.h"
#include "backends/cpu/kernel_abi.h"
#include "ir/ir.h"

typedef struct qc_cpu_kernel {
    char symbol[64];          /* set by the caller: the function to define */
    int64_t units_a, units_b; /* work units = units_a + units_b * batch */
    int64_t grain;            /* smallest chunk worth a task (>= 1) */
    uint32_t cost_ps;         /* estimated picoseconds of work per unit on the
                               * target (0 = unknown): the device runs a node
                               * whose units * cost is tiny inline, since
                               * handing it to the pool costs more than it saves */
    uint8_t *packed;          /* malloc'd pre-packed constants, or NULL; the
                               * caller takes ownership */
    size_t packed_len;
    char variant[48];         /* what was generated, e.g. "qgemm avx512vnni 8x32" */
    bool row_local;           /* units are batch-major: unit u of units_b * batch
                               * belongs to batch row u / units_b and reads only
                               * that row of its batch inputs; lets the device run
                               * the node inside a row-blocked chain (chain.c) */
} qc_cpu_kernel;

/* ps as the table's u32 cost: rounded, at least 1, saturating. */
static inline uint32_t qc_cpu_cost_ps(double ps) {
    if (!(ps >= 1.0)) return 1;
    return ps >= 4294967295.0 ? UINT32_MAX : (uint32_t)(ps + 0.5);
}

typedef qc_status (*qc_cpu_gen_fn)(qc_cpu_cg *cg, const qc_graph *g, int32_t node,
                                   qc_cpu_kernel *k);

/* Quantized GEMM family (backends/cpu/gen_qgemm.c, gen_qconv.c):
 * qc.QGemm, QLinearMatMul, MatMulInteger; qc.QConv, QLinearConv, ConvInteger. */
qc_status qc_cpu_gen_qgemm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
qc_status qc_cpu_gen_qconv(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
/* The direct depthwise kernel qc_cpu_gen_qconv tries first (gen_qdw.c). */
qc_status qc_cpu_gen_qdw(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
/* The pointwise (1x1) kernel it tries next (gen_qpw.c). */
qc_status qc_cpu_gen_qpw(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);

/* fp32 generators of this backend (gen_gemm.c, gen_ew.c):
 * Gemm, MatMul, qc.FusedGemm, qc.FusedMatMul (constant B packed into panels);
 * qc.Elementwise and the unary/binary float ops (one-step programs);
 * QuantizeLinear / DequantizeLinear per tensor (int8 / uint8). */
qc_status qc_cpu_gen_gemm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
qc_status qc_cpu_gen_elementwise(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
qc_status qc_cpu_gen_quant(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
/* fp32 Conv and qc.FusedConv, 1-D / 2-D, constant W (gen_fconv.c). */
qc_status qc_cpu_gen_fconv(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);

/* Softmax and LayerNormalization over the last axis, f32 (gen_norm.c). */
qc_status qc_cpu_gen_norm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);

/* MaxPool (2-D; u8, i8, f32) and GlobalAveragePool (f32) (gen_pool.c). */
qc_status qc_cpu_gen_pool(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
/* GEMMs whose constant weight is not f32 (gen_wgemm.c): qc.WGemm (int8 /
 * int4 DequantizeLinear or codebook weights, decoded in registers) and fp16 /
 * bf16 Gemm, MatMul, qc.FusedGemm, qc.FusedMatMul (qc_cpu_gen_gemm hands
 * those over). */
qc_status qc_cpu_gen_wgemm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);
/* Cast f32 <-> f16 / bf16 (gen_half.c; qc_cpu_gen_dynq hands those over). */
qc_status qc_cpu_gen_cast_half(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);

/* DynamicQuantizeLinear (f32 -> u8, one work unit: the range is over the
 * whole tensor) and Cast integer -> f32 (gen_dynq.c). */
qc_status qc_cpu_gen_dynq(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);

/* QLinearAdd / QLinearMul, u8 / i8, per tensor, broadcasting (gen_qelem.c). */
qc_status qc_cpu_gen_qelem(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k);

#endif
