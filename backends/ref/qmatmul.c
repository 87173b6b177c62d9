/* qmatmul.c — ref kernels for QLinearMatMul and MatMulInteger.
 *
 * Both are a numpy-style batched integer matmul of (a - a_zp) and (b - b_zp)
 * accumulated in int32; QLinearMatMul then requantizes each accumulator
 * with multiplier (a_scale * b_scale) / y_scale (ir/quant.h). a's zero point
 * (and scale) may be per row, b's per column. */
#include "backends/ref/quant_kernels.h"
#include "ir/quant.h"

/* The loops of a numpy matmul: out = [batch..., M, N] where each batch entry
 * reads a's and b's batch entry by broadcasting; a 1-D a is one row, a 1-D b
 * one column (inference dropped those dims from the output shape). */
typedef struct mm_geom {
    int64_t m, k, n;
    int32_t batch_rank, a_brank, b_brank;
    const int64_t *batch_dims, *a_bdims, *b_bdims;
    int64_t nbatch;
} mm_geom;

static mm_geom make_geom(const qc_tensor *a, const qc_tensor *b, const qc_tensor *out) {
    const qc_tensor_desc *ad = &a->desc, *bd = &b->desc, *od = &out->desc;
    mm_geom g = {
        .m = ad->rank > 1 ? ad->dims[ad->rank - 2] : 1,
        .k = ad->dims[ad->rank - 1],
        .n = bd->rank > 1 ? bd->dims[bd->rank - 1] : 1,
        .batch_rank = od->rank - (ad->rank > 1) - (bd->rank > 1),
        .a_brank = ad->rank > 2 ? ad->rank - 2 : 0,
        .b_brank = bd->rank > 2 ? bd->rank - 2 : 0,
        .batch_dims = od->dims,
        .a_bdims = ad->dims,
        .b_bdims = bd->dims,
        .nbatch = 1,
    };
    for (int32_t d = 0; d < g.batch_rank; d++) g.nbatch *= od->dims[d];
    return g;
}

/* acc[batch][i][j] = sum over k of aw[..][i][k] * bw[..][k][j], where aw and
 * bw already hold q - zp; the products are at most 255 * 255 in magnitude. */
static void int_matmul(const mm_geom *g, const int32_t *aw, const int32_t *bw, int32_t *acc) {
    for (int64_t bi = 0; bi < g->nbatch; bi++) {
        int64_t ab = qk_broadcast_index(g->batch_dims, g->batch_rank, g->a_bdims, g->a_brank, bi);
        int64_t bb = qk_broadcast_index(g->batch_dims, g->batch_rank, g->b_bdims, g->b_brank, bi);
        const int32_t *ap = aw + ab * g->m * g->k, *bp = bw + bb * g->k * g->n;
        int32_t *cp = acc + bi * g->m * g->n;
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                int32_t s = 0;
                for (int64_t kk = 0; kk < g->k; kk++)
                    s = qk_wrap_add(s, ap[i * g->k + kk] * bp[kk * g->n + j]);
                cp[i * g->n + j] = s;
            }
    }
}

/* Runs the integer matmul of a (input ia, zero point iza) and b (ib, izb)
 * into acc (out's element count). */
static qc_status matmul_acc(const qc_ref_args *a, int32_t ia, int32_t iza, int32_t ib,
                            int32_t izb, const mm_geom *g, int32_t *acc) {
    /* a's zero point is per row: element i of a is in row (i / K) % M; b's is
     * per column: element i of b is in column i % N. */
    int32_t *aw = qk_widen_minus_zp(qk_in(a, ia), qk_in(a, iza), g->k);
    int32_t *bw = qk_widen_minus_zp(qk_in(a, ib), qk_in(a, izb), 1);
    if (aw && bw) int_matmul(g, aw, bw, acc);
    free(aw);
    free(bw);
    return aw && bw ? NULL : qc_node_error(a->node, QC_ERR_NOMEM, "out of memory");
}

/* MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> i32. */
qc_status qc_ref_matmul_integer(const qc_ref_args *a) {
    mm_geom g = make_geom(qk_in(a, 0), qk_in(a, 1), &a->out[0]);
    return matmul_acc(a, 0, 2, 1, 3, &g, a->out[0].data);
}

/* QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp). */
qc_status qc_ref_qlinear_matmul(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    mm_geom g = make_geom(qk_in(a, 0), qk_in(a, 3), y);
    int64_t n = qk_numel(y);
    if ((uint64_t)n > SIZE_MAX / sizeof(int32_t) - 1)
        return qc_node_error(a->node, QC_ERR_NOMEM, "output too large");
    int32_t *acc = malloc((size_t)(n ? n : 1) * sizeof *acc);
    if (!acc) return qc_node_error(a->node, QC_ERR_NOMEM, "out of memory");
    qc_status st = matmul_acc(a, 0, 2, 3, 5, &g, acc);
    const qc_tensor *sa = qk_in(a, 1), *sb = qk_in(a, 4);
    float sy = qk_scale_at(qk_in(a, 6), 0);
    int32_t zy = qk_zp_at(qk_in(a, 7), 0);
    int64_t lo, hi;
    qc_dtype_int_range(y->desc.dtype, &lo, &hi);
    for (int64_t e = 0; !st && e < n; e++) {
        int64_t col = e % g.n, row = e / g.n % g.m;
        float mult = qc_requant_multiplier(qk_scale_at(sa, row), qk_scale_at(sb, col), sy);
        qc_elem_set_i64(y->desc.dtype, y->data, e,
                        qc_requantize(acc[e], mult, zy, (int32_t)lo, (int32_t)hi));
    }
    free(acc);
    return st;
}
