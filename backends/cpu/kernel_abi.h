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

typedef void (*qc_cpu_kernel_fn)(const qc_cpu_kargs *a, int64_t begin, int64_t end);

#endif
