/* kernel_abi.h — the contract between generated cpu kernels (compile side,
 * backends/cpu/lower*.c) and the cpu device (runtime side, hal*.c).
 * Header-only and LLVM-free: both sides include it.
 *
 * Every generated kernel is an external function with the C signature
 *
 *     void kernel(const qc_cpu_kargs *a, int64_t begin, int64_t end);
 *
 * that computes work units [begin, end) of one scheduled node. The unit is
 * the kernel's choice (rows of M for a GEMM, output rows for a conv, blocks
 * of elements for an elementwise chain), declared in its table entry as
 * units = units_a + units_b * batch, and split by the device over the
 * runtime's thread pool in chunks of at least `grain` units. Disjoint ranges
 * must write disjoint output bytes, so any split gives identical results. */
#ifndef QC_BACKENDS_CPU_KERNEL_ABI_H
#define QC_BACKENDS_CPU_KERNEL_ABI_H

#include <stdint.h>

typedef struct qc_cpu_kargs {
    void *const *in;        /* the node's inputs in node order (arena or constant
                             * data); NULL for an absent optional input */
    void *const *out;       /* the node's outputs */
    const void *packed;     /* this kernel's pre-packed constants (weights in the
                             * kernel's layout, zero-point column sums), 64-byte
                             * aligned; NULL when it has none */
    int64_t batch;          /* the bound symbolic dim; 0 when the model has none */
} qc_cpu_kargs;

/* The feature bits of an artifact's required mask: the order of
 * qc_cpu_features in cg.h (qc_cpu_features_mask), restated here for the
 * runtime side, which must not include LLVM headers. The cpu device checks
 * each against cpuid/xgetbv and names the first one the host lacks. */
enum {
    QC_CPU_FEAT_SSE41 = 1u << 0,
    QC_CPU_FEAT_AVX2 = 1u << 1,
    QC_CPU_FEAT_FMA = 1u << 2,
    QC_CPU_FEAT_F16C = 1u << 3,
    QC_CPU_FEAT_AVX512F = 1u << 4,
    QC_CPU_FEAT_AVX512BW = 1u << 5,
    QC_CPU_FEAT_AVX512VL = 1u << 6,
    QC_CPU_FEAT_AVX512VNNI = 1u << 7,
    QC_CPU_FEAT_AVXVNNI = 1u << 8,
    QC_CPU_FEAT_AVX512BF16 = 1u << 9,
    QC_CPU_FEAT_AVX512FP16 = 1u << 10,
    QC_CPU_FEAT_AMX_TILE = 1u << 11,
    QC_CPU_FEAT_AMX_INT8 = 1u << 12,
    QC_CPU_FEAT_AMX_BF16 = 1u << 13,
    QC_CPU_FEAT_COUNT = 14,
};

typedef void (*qc_cpu_kernel_fn)(const qc_cpu_kargs *a, int64_t begin, int64_t end);

#endif
