/* lower.h — internal to the cuda compile side (backends/cuda/lower*.c):
 * the kernel table under construction, the analysis of supported nodes, the
 * CUDA C generators and the NVRTC driver. table.h is the on-disk format. */
#ifndef QC_BACKENDS_CUDA_LOWER_H
#define QC_BACKENDS_CUDA_LOWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/cuda/table.h"
#include "ir/ir.h"
#include "passes/memplan.h"

/* A growable byte buffer; `failed` latches an allocation failure so callers
 * check once at the end. */
typedef struct cu_buf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} cu_buf;

void cu_buf_put(cu_buf *b, const void *data, size_t n);
void cu_buf_printf(cu_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cu_buf_put32(cu_buf *b, uint32_t v);
void cu_buf_put64(cu_buf *b, uint64_t v);
void cu_buf_align(cu_buf *b, size_t a);   /* zero-pads to a multiple of a */
void cu_buf_free(cu_buf *b);

typedef struct cu_param { uint32_t kind, value; int64_t a, b; } cu_param;
typedef struct cu_dim { int64_t a, b; uint32_t div; } cu_dim;
typedef struct cu_launch {
    uint32_t kind, name, pfirst, np;
    cu_dim grid[3];
    uint32_t block[3], shared, extra;
} cu_launch;
typedef struct cu_node { uint32_t mode, first, count, alt_first, alt_count; } cu_node;

typedef struct cu_lower {
    const qc_graph *g;
    const qc_plan *plan;
    cu_node *nodes;            /* g->n_nodes */
    cu_launch *launches;
    int32_t n_launches, cap_launches;
    cu_param *params;
    int32_t n_params, cap_params;
    qc_cu_gemm *gemms;
    int32_t n_gemms, cap_gemms;
    cu_buf names;              /* NUL-terminated kernel names */
    cu_buf src;                /* the one CUDA C translation unit */
    cu_buf aux;                /* the AUX section */
    int32_t n_kernels;         /* for unique names */
    int64_t const_used;        /* __constant__ bytes of fused chains so far */
} cu_lower;

/* Appends a launch and returns its index (-1 on out of memory, latched in
 * src.failed). */
int32_t cu_add_launch(cu_lower *l, uint32_t kind, const char *name);
/* Appends a param to launch li. */
void cu_add_param(cu_lower *l, int32_t li, uint32_t kind, uint32_t value, int64_t a, int64_t b);
/* Appends bytes to AUX at a 16-byte aligned offset, returned. */
int64_t cu_add_aux(cu_lower *l, const void *data, size_t n);

/* a + b*batch element counts of value v (b != 0 iff it has the symbolic dim
 * once); false when the shape is not linear in the batch. */
bool cu_value_numel(const qc_graph *g, int32_t v, int64_t *a, int64_t *b);

/* ---- qc.QGemm analysis (lower_qgemm.c) ------------------------------------ */

/* Everything a generated int8 GEMM needs, precomputed at compile time so
 * the kernels only do integer dot products and one requantization:
 *   acc[r][n] = dot(x[r], w[:, n]) - zw[n] * rowsum(x[r]) + c[n]   (mod 2^32)
 *   c[n]      = bias[n] - zx * colsum(w[:, n]) + K * zx * zw[n]
 * which equals ref's sum of (x - zx) * (w - zw) + bias modulo 2^32, so the
 * int32 result (wrapping included) is bit-identical. */
typedef struct cu_qgemm {
    int32_t node, x, y;        /* value ids of the activation input and output */
    int64_t K, N, Kp;          /* Kp = K rounded up to 4 (zero padded) */
    int64_t m_a, m_b;          /* rows = m_a + m_b * batch */
    qc_dtype xdt, wdt, ydt;
    int32_t zx, zy, lo, hi;    /* output zero point and saturation range */
    int32_t act_lo, act_hi;    /* the folded Relu/Clip clamp (lo/hi when absent) */
    bool any_zw;               /* some weight zero point is nonzero */
    float *mult;               /* [N] requant multipliers (qc_requant_multiplier) */
    int32_t *c;                /* [N] */
    int32_t *zw;               /* [N] */
    uint8_t *wt;               /* [N][Kp] weights transposed (cuBLASLt's A, dp4a rows) */
} cu_qgemm;

/* Fills q for node n when the generated kernels support it; otherwise
 * returns false with *why saying what is missing. A status only for OOM. */
qc_status cu_qgemm_analyze(const qc_graph *g, int32_t n, cu_qgemm *q, bool *ok, const char **why);
void cu_qgemm_free(cu_qgemm *q);

/* Per-tensor QuantizeLinear / DequantizeLinear parameters. */
typedef struct cu_qdq {
    int32_t x, y;
    qc_dtype qdt;              /* the integer side */
    float scale;
    int32_t zp, lo, hi;
} cu_qdq;
bool cu_qdq_analyze(const qc_graph *g, int32_t n, cu_qdq *q);

/* ---- generators (lower_gen.c, lower_fused.c) -------------------------------- */

/* Emit one kernel each and the launches/params for node n; return false if
 * the node is not supported (nothing emitted). */
qc_status cu_gen_prelude(cu_lower *l);
qc_status cu_gen_qgemm(cu_lower *l, const cu_qgemm *q);   /* dp4a + cuBLASLt alt */
qc_status cu_gen_qdq(cu_lower *l, int32_t n, const cu_qdq *q);
bool cu_unary_supported(const qc_graph *g, int32_t n);
qc_status cu_gen_unary(cu_lower *l, int32_t n);
qc_status cu_gen_copy(cu_lower *l, int32_t n);
/* Finds a fusable chain starting at node n (see lower_fused.c); on success
 * emits its one kernel, marks the covered nodes and sets *taken. */
qc_status cu_gen_fused_chain(cu_lower *l, int32_t n, bool *taken);

/* The generated CUDA C of g (malloc'd, NUL-terminated; for tests and
 * `qcomp inspect`-style debugging), without compiling it. */
qc_status qc_cuda_generate_source(const qc_graph *g, const qc_plan *plan, char **src);

/* ---- NVRTC (lower_nvrtc.c) -------------------------------------------------- */

/* Compiles src for compute_<arch>: cubin (want_ptx false) or PTX. *out is
 * malloc'd. Errors carry the NVRTC log. */
qc_status cu_nvrtc_compile(const char *src, const char *name, int arch, bool want_ptx,
                           uint8_t **out, size_t *len);

#endif
