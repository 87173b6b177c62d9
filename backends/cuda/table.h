/* table.h — the cuda code sections of a .qcm artifact, shared header-only by
 * the compile side (backends/cuda/lower*.c, the writer) and the runtime side
 * (backends/cuda/hal*.c, the validating reader) so the two cannot drift.
 * docs/backend-cuda.md describes every field; keep it in sync.
 *
 * Sections (target QC_TARGET_CUDA, every integer little-endian):
 *   QC_CU_SEC_TABLE (16)  the kernel table: what to do for each graph node
 *   QC_CU_SEC_AUX   (17)  bytes the kernels read (pre-transposed weights,
 *                         requant multipliers, folded column constants),
 *                         uploaded once at load; AUX params point into it
 *   QC_CU_SEC_IMAGE (18..31, one kind per image since a (kind, target) pair
 *                         is unique in an artifact): a 16-byte header + a
 *                         cubin for one sm, or NUL-terminated PTX (arch 0,
 *                         JIT fallback); all images hold the same kernels
 *
 * TABLE layout: header, n_nodes node records, n_launches launch records,
 * n_params param records, n_gemms gemm records, then strings_len bytes of
 * NUL-terminated kernel names. Linear quantities are a + b*batch (batch = the
 * bound symbolic dim, 0 when the model has none); a grid dim is
 * ceil((a + b*batch) / div). */
#ifndef QC_BACKENDS_CUDA_TABLE_H
#define QC_BACKENDS_CUDA_TABLE_H

#include <stdint.h>

#include "qcomp/qcrt.h"

#define QC_CU_MAGIC 0x55434351u   /* "QCCU" */
#define QC_CU_IMAGE_MAGIC 0x49434351u   /* "QCCI" */
#define QC_CU_VERSION 1u

enum { QC_CU_SEC_TABLE = 16, QC_CU_SEC_AUX = 17, QC_CU_SEC_IMAGE = 18, QC_CU_SEC_IMAGE_LAST = 31 };

/* Header: magic, version, n_nodes, n_launches, n_params, n_gemms,
 * strings_len, reserved (0). */
#define QC_CU_HEADER_SIZE 32u
/* Node: mode, first, count, alt_first, alt_count (launch index ranges). */
#define QC_CU_NODE_SIZE 20u
/* Launch: kind, name (string offset), param_first, n_params,
 * grid[3] x {i64 a, i64 b, u32 div}, block[3] u32, shared bytes u32,
 * gemm index u32 (kind GEMM) or copy param/bytes (kind COPY, see below). */
#define QC_CU_LAUNCH_SIZE 96u
/* Param: kind u32, value u32, i64 a, i64 b. */
#define QC_CU_PARAM_SIZE 24u
/* Gemm (cuBLASLt): see qc_cu_gemm. */
#define QC_CU_GEMM_SIZE 100u
#define QC_CU_IMAGE_HEADER_SIZE 16u   /* magic, arch, size, reserved */

#define QC_CU_MAX_PARAMS 32        /* per launch */
#define QC_CU_MAX_BLOCK 1024u
#define QC_CU_MAX_SHARED (48u * 1024u)   /* static limit without opt-in */

/* How a node runs. */
enum {
    QC_CU_NODE_HOST = 0,      /* no CUDA kernel: copied to the host, ref kernel, copied back */
    QC_CU_NODE_LAUNCH = 1,    /* launches [first, first+count); alt: same without cuBLASLt */
    QC_CU_NODE_COVERED = 2,   /* computed by the launches of node `first` (a fused group) */
};

enum {
    QC_CU_LAUNCH_KERNEL = 1,  /* cuLaunchKernel(name, grid, block, shared, params) */
    QC_CU_LAUNCH_GEMM = 2,    /* cublasLtMatmul(gemm record) */
    QC_CU_LAUNCH_COPY = 3,    /* D2D copy param 0 -> param 1, bytes = grid[0].a + grid[0].b*batch */
};

enum {
    QC_CU_PARAM_ARENA = 1,    /* device pointer: slot of value `value` + a bytes */
    QC_CU_PARAM_AUX = 2,      /* device pointer: aux base + a bytes */
    QC_CU_PARAM_I32 = 3,      /* int32 a + b*batch (must fit) */
    QC_CU_PARAM_I64 = 4,      /* int64 a + b*batch */
    QC_CU_PARAM_SCRATCH = 5,  /* device pointer: the device's scratch buffer, which the
                               * runtime grows to at least a + b*batch bytes first
                               * (GEMM accumulators; launches are stream-ordered) */
};

/* cuBLASLt element types, our own numbering (mapped to cudaDataType at load). */
enum { QC_CU_DT_I8 = 1, QC_CU_DT_I32 = 2, QC_CU_DT_F32 = 3, QC_CU_DT_F16 = 4, QC_CU_DT_E4M3 = 5 };
enum { QC_CU_COMPUTE_32I = 1, QC_CU_COMPUTE_32F = 2 };

/* A column-major GEMM C[m,n] = op(A)[m,k] * op(B)[k,n] as cuBLASLt sees it.
 * Row-major Y[M,N] = X[M,K] * W[K,N] is stored as C = Y^T with A = W^T
 * (the weights pre-transposed to [N,K] at compile time, op T: cuBLASLt's
 * fast "TN" int8 layout) and B = X^T (op N), so m = N, n = M, k = K. The
 * int32 accumulator is requantized by the next launch (a generated kernel).
 * Fields, in order (u32 unless noted): dtype_a, dtype_b, dtype_c, compute,
 * transa, transb, m (i64), n_a (i64), n_b (i64), k (i64), lda, ldb, ldc
 * (i64 each), param_a, param_b, param_c (param indices of their pointers),
 * scale_mode (0: alpha = 1, beta = 0 in the compute type), epilogue (0). */
typedef struct qc_cu_gemm {
    uint32_t dtype_a, dtype_b, dtype_c, compute, transa, transb;
    int64_t m, n_a, n_b, k, lda, ldb, ldc;
    uint32_t param_a, param_b, param_c, scale_mode, epilogue;
} qc_cu_gemm;

/* Validates the cuda sections of a loaded artifact (every record, index
 * and image header) without a device: the loader's first step, exposed for
 * tests and tools (backends/cuda/hal_load.c, in libqcrt). */
struct qc_model_data;
qc_status qc_cuda_table_check(const struct qc_model_data *m);

#endif
