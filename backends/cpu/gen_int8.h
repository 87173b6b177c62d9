/* gen_int8.h — internal to the cpu backend's int8 generators: the one GEMM
 * core (packing + register-blocked micro-kernel) that gen_qgemm.c and
 * gen_qconv.c both feed.
 *
 * The core computes, for a block of mr rows of an activation matrix A
 * (u8 or i8, rows of K bytes at a runtime stride) and all N columns of a
 * constant int8 matrix B packed at compile time,
 *
 *   acc[r][n] = sum_k (A[r][k] - za) * (B[k][n] - zb[n]) + bias[n]   (int32, wrapping)
 *   y[r][n]   = clamp(qc_requantize(acc, mult[n], y_zp, lo, hi), act_min, act_max)
 *
 * exactly as the ref kernels do (ir/quant.h). The inner loop only multiplies
 * raw bytes: with A' = A (u8) or A ^ 0x80 (i8, i.e. A + 128) and B' = B (i8)
 * or B - 128 (u8), za' = za (+128) and zb' = zb (-128),
 *
 *   acc = sum A'B' - za' colsum(B') - zb' rowsum(A') + K za' zb' + bias
 *
 * where everything but sum A'B' and the rowsum term is a per-column
 * constant folded at compile time ("comp"); the rowsum term exists only
 * when some zb' != 0 (b usually is symmetric). MatMulInteger stores acc
 * (without bias) as int32 instead of requantizing.
 *
 * A runtime a zero point (MatMulInteger after DynamicQuantizeLinear: za is
 * a scalar tensor computed by the graph) cannot be folded: then comp holds
 * only bias, a second per-column section czb holds colsum(B') - K zb', and
 * the epilogue subtracts za' * czb with the za' the kernel loads (same
 * wrapping int32 arithmetic, so still bit-identical to the ref). */
#ifndef QC_BACKENDS_CPU_GEN_INT8_H
#define QC_BACKENDS_CPU_GEN_INT8_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/cpu/cg.h"
#include "backends/cpu/gen.h"
#include "ir/ir.h"

/* How one k-group of a row is multiplied into an accumulator vector. */
typedef enum qc_i8_isa {
    QC_I8_VNNI512 = 0,   /* avx512vnni: vpdpbusd zmm, 16 lanes x 4 bytes */
    QC_I8_VNNI256,       /* avxvnni or avx512vnni+vl: vpdpbusd ymm, 8 x 4 */
    QC_I8_PMADDWD256,    /* avx2: bytes widened to i16 pairs, vpmaddwd ymm, 8 x 2 (exact) */
    QC_I8_PMADDWD128,    /* x86-64 baseline (sse2): pmaddwd xmm, 4 x 2 (exact) */
} qc_i8_isa;

typedef struct qc_i8_tile {
    qc_i8_isa isa;
    int32_t mr;          /* rows per micro-kernel (1..8) */
    int32_t nr;          /* accumulator vectors of N per row (1..4) */
} qc_i8_tile;

/* The best tile for a target's features (never an ISA it lacks). */
qc_i8_tile qc_i8_tile_for(const qc_cpu_features *f);
const char *qc_i8_isa_name(qc_i8_isa isa);
int32_t qc_i8_lanes(qc_i8_isa isa);   /* int32 lanes per vector */
int32_t qc_i8_kgroup(qc_i8_isa isa);  /* k values per lane per step (4 or 2) */


/* A GEMM's compile-time constants, as the generators read them from the
 * graph. B[k][n] is at b[k * b_sk + n * b_sn]; zero points and scales are
 * per tensor (count 1) or per column (count N). */
typedef struct qc_i8_gemm {
    int64_t k, n;
    bool a_signed;                  /* A is i8 (else u8) */
    int32_t a_zp;
    bool a_zp_runtime;              /* a_zp is a runtime scalar (a_zp ignored) */
    float a_scale;
    const void *b;                  /* i8 or u8 */
    bool b_signed;
    int64_t b_sk, b_sn;
    const int32_t *b_zp;            /* NULL: 0 */
    int64_t b_zp_count;
    const float *b_scale;           /* NULL: no requantization (MatMulInteger) */
    int64_t b_scale_count;
    const int32_t *bias;            /* NULL: none; N entries */
    float y_scale;
    int32_t y_zp;
    bool y_signed;                  /* y is i8 (else u8) */
    int32_t act_min, act_max;       /* clamp after saturation (full range: none) */
} qc_i8_gemm;

/* The packed blob of one GEMM: B' in the tile's layout, then per-column
 * comp (i32), mult (f32) and zb' (i32), each section 64-byte aligned. */
typedef struct qc_i8_layout {
    qc_i8_tile tile;
    int64_t k, n, kg, npan;        /* k-groups, panels of `lanes` columns */
    int64_t off_comp, off_mult, off_zb, off_czb, size;   /* off_czb: 0 unless za_rt */
    bool has_zb;                   /* some zb' != 0: the rowsum term is live */
    bool za_rt;                    /* runtime a zero point: czb section, za' param */
} qc_i8_layout;

/* Fills *lo (sizes only). */
void qc_i8_layout_init(const qc_i8_gemm *g, qc_i8_tile tile, qc_i8_layout *lo);
/* Estimated ps per row of a GEMM with this layout (the kernel table's cost
 * hint): padded multiply-adds at the variant's in-cache rate (measured on
 * the 1000x200x128 benchmark, docs/backend-cpu.md), plus the epilogue per
 * padded column and a fixed per-row overhead. */
double qc_i8_row_cost_ps(const qc_i8_layout *lo);
/* Writes the blob (lo->size bytes, zeroed by the caller) at dst. */
void qc_i8_pack(const qc_i8_gemm *g, const qc_i8_layout *lo, uint8_t *dst);

/* What the micro-kernels bake in besides the layout. */
typedef struct qc_i8_micro_cfg {
    bool a_signed;
    int32_t y_zp, lo, hi, act_min, act_max;
    /* Output element (r, n) is at byte y + r * y_sr + n * y_sn * esize;
     * y_sn == 1 stores full vectors, anything else lane by lane. */
    int64_t y_sn;
    bool out_i32;   /* store the int32 accumulator (MatMulInteger), no requantization */
    bool out_f32;   /* store float(acc) * mult (qc.QGemm with a float output), no rounding */
} qc_i8_micro_cfg;

/* Defines the internal function `name` with the signature
 *   void (ptr a, i64 lda, ptr y, i64 y_sr, ptr blob, i64 rows, i32 za')
 * computing rows (1..mr) rows of all N columns. za' (the runtime a zero
 * point, +128 for i8 a) is read only when lo->za_rt; pass 0 otherwise. A block of fewer than mr
 * rows (the M tail) computes all mr on clamped row pointers and stores only
 * its own: one function per GEMM keeps code size and compile time down. */
qc_status qc_i8_define_micro(qc_cpu_cg *cg, const qc_i8_layout *lo, const qc_i8_micro_cfg *mc,
                             const char *name, LLVMValueRef *fn);

/* Small IR helpers shared by the drivers. */
LLVMTypeRef qc_i8_micro_type(qc_cpu_cg *cg);
/* The kernel_abi.h entry: void (ptr kargs, i64 begin, i64 end). */
LLVMValueRef qc_i8_add_kernel(qc_cpu_cg *cg, const char *symbol);
/* Loads ((void **)field_of_kargs)[index] where field 0 = in, 1 = out, 2 = packed. */
LLVMValueRef qc_i8_load_arg(LLVMBuilderRef b, qc_cpu_cg *cg, LLVMValueRef kargs, int field,
                            int index);
/* za' as the micro-kernel's i32 argument: the runtime zero point byte at zp
 * (i8 when zp_signed, else u8) widened, + 128 when a is i8. */
LLVMValueRef qc_i8_runtime_za(LLVMBuilderRef b, qc_cpu_cg *cg, LLVMValueRef zp, bool zp_signed,
                              bool a_signed);

/* ---- reading a node's constants (gen_qgemm.c) ---------------------------- */

/* Input i of node n as a constant value, or NULL (absent or not constant). */
const qc_value *qc_i8_const_in(const qc_graph *g, const qc_node *n, int32_t i);
/* A constant f32 scale with 1 or `vec` entries (vec <= 0: 1 only). */
qc_status qc_i8_scale(const qc_graph *g, const qc_node *n, int32_t i, const char *what,
                      int64_t vec, const float **s, int64_t *count);
/* An optional constant u8/i8 zero point with 1 or `vec` entries widened into
 * a malloc'd array (*zp NULL and *count 1 when absent: zero). */
qc_status qc_i8_zero_point(const qc_graph *g, const qc_node *n, int32_t i, const char *what,
                           int64_t vec, int32_t **zp, int64_t *count);
/* act_min / act_max attrs (full int32 range when absent). */
qc_status qc_i8_clamp_attrs(const qc_node *n, int32_t *amin, int32_t *amax);
/* The float-output form of qc.QGemm / qc.QConv (qdq_fold rule 3c): f32 y,
 * y_scale and y_zero_point absent; y = float(acc) * a_scale * b_scale. */
bool qc_i8_float_output(const qc_graph *g, const qc_node *n);

/* qc_cpu_gen_qgemm with an explicit tile (NULL: the target's best); the
 * benchmark uses it to compare tiles. */
qc_status qc_cpu_gen_qgemm_tile(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k,
                                const qc_i8_tile *tile);
/* The same for qc_cpu_gen_qconv (gen_qconv.c). */
qc_status qc_cpu_gen_qconv_tile(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k,
                                const qc_i8_tile *tile);

#endif
