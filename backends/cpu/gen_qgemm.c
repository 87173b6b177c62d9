/* gen_qgemm.c — the cpu kernel generator for qc.QGemm, QLinearMatMul and
 * MatMulInteger (int32 output) with a constant 2-D b: the rows of a (every dim but the last, the batch
 * dim included) are the work units; each unit range runs the int8 core's
 * micro-kernels over blocks of mr rows and one tail block.
 *
 * MatMulInteger's a_zero_point may also be a runtime u8/i8 scalar (the one
 * DynamicQuantizeLinear computes): the kernel loads it and the epilogue
 * applies it (gen_int8.h).
 *
 * Unsupported (the ref kernel runs instead): non-constant b / scales / zero
 * points (but that one), batched b, per-row a params, non-8-bit outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gen.h"
#include "backends/cpu/gen_int8.h"
#include "ir/dtype.h"

/* ---- reading constants ------------------------------------------------------- */

const qc_value *qc_i8_const_in(const qc_graph *g, const qc_node *n, int32_t i) {
    if (i >= n->n_in || n->in[i] < 0) return NULL;
    const qc_value *v = &g->values[n->in[i]];
    return v->data ? v : NULL;
}

qc_status qc_i8_scale(const qc_graph *g, const qc_node *n, int32_t i, const char *what,
                      int64_t vec, const float **s, int64_t *count) {
    const qc_value *v = qc_i8_const_in(g, n, i);
    int64_t c = v ? qc_type_numel(&v->type) : 0;
    if (!v || v->type.dtype != QC_F32 || !(c == 1 || (vec > 0 && c == vec)))
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "%s must be a constant f32 with 1%s entries",
                             what, vec > 1 ? " or one per column" : "");
    *s = v->data;
    *count = c;
    return NULL;
}

qc_status qc_i8_zero_point(const qc_graph *g, const qc_node *n, int32_t i, const char *what,
                           int64_t vec, int32_t **zp, int64_t *count) {
    *zp = NULL;
    *count = 1;
    if (i >= n->n_in || n->in[i] < 0) return NULL;
    const qc_value *v = qc_i8_const_in(g, n, i);
    int64_t c = v ? qc_type_numel(&v->type) : 0;
    if (!v || (v->type.dtype != QC_U8 && v->type.dtype != QC_I8) ||
        !(c == 1 || (vec > 0 && c == vec)))
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "%s must be a constant u8/i8 with 1%s entries",
                             what, vec > 1 ? " or one per column" : "");
    *zp = malloc((size_t)c * sizeof **zp);
    if (!*zp) return qc_node_error(n, QC_ERR_NOMEM, "out of memory");
    for (int64_t e = 0; e < c; e++) (*zp)[e] = (int32_t)qc_elem_get_i64(v->type.dtype, v->data, e);
    *count = c;
    return NULL;
}

qc_status qc_i8_clamp_attrs(const qc_node *n, int32_t *amin, int32_t *amax) {
    int64_t lo = qc_attr_int(n, "act_min", INT32_MIN), hi = qc_attr_int(n, "act_max", INT32_MAX);
    if (lo < INT32_MIN || lo > INT32_MAX || hi < INT32_MIN || hi > INT32_MAX)
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "act_min/act_max beyond int32");
    *amin = (int32_t)lo;
    *amax = (int32_t)hi;
    return NULL;
}

bool qc_i8_float_output(const qc_graph *g, const qc_node *n) {
    return (n->op == QC_OP_QGEMM || n->op == QC_OP_QCONV) && n->n_in >= 8 && n->n_out == 1 &&
           g->values[n->out[0]].type.dtype == QC_F32 && n->in[6] < 0 && n->in[7] < 0;
}

/* ---- the driver ---------------------------------------------------------------- */

/* kernel(kargs, begin, end): rows [begin, end) in blocks of mr; the last
 * block may be short (the micro-kernel takes its row count). */
static void emit_driver(qc_cpu_cg *cg, LLVMValueRef kern, LLVMValueRef micro, int32_t mr,
                        int64_t k, int64_t n, int64_t esize, int za_rt, bool a_signed) {
    LLVMContextRef c = cg->ctx;
    LLVMTypeRef i8 = LLVMInt8TypeInContext(c), i64 = LLVMInt64TypeInContext(c);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, kern, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c, kern, "block");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, kern, "done");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef kargs = LLVMGetParam(kern, 0), begin = LLVMGetParam(kern, 1);
    LLVMValueRef end = LLVMGetParam(kern, 2);
    LLVMValueRef a = qc_i8_load_arg(b, cg, kargs, 0, 0), y = qc_i8_load_arg(b, cg, kargs, 1, 0);
    LLVMValueRef blob = qc_i8_load_arg(b, cg, kargs, 2, 0);
    /* za_rt: 0 none, 1 u8 / 2 i8 runtime a zero point (MatMulInteger input 2) */
    LLVMValueRef za = za_rt ? qc_i8_runtime_za(b, cg, qc_i8_load_arg(b, cg, kargs, 0, 2),
                                               za_rt == 2, a_signed)
                            : LLVMConstInt(LLVMInt32TypeInContext(c), 0, 0);
    LLVMValueRef K = LLVMConstInt(i64, (uint64_t)k, 0);
    LLVMValueRef N = LLVMConstInt(i64, (uint64_t)(n * esize), 0);   /* y row bytes */
    LLVMValueRef MR = LLVMConstInt(i64, (uint64_t)mr, 0);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, begin, end, ""), body, done);

    LLVMPositionBuilderAtEnd(b, body);
    LLVMValueRef row = LLVMBuildPhi(b, i64, "row");
    LLVMValueRef left = LLVMBuildSub(b, end, row, "");
    LLVMValueRef rows = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, left, MR, ""), left, MR, "");
    LLVMValueRef ao = LLVMBuildMul(b, row, K, ""), yo = LLVMBuildMul(b, row, N, "");
    LLVMValueRef args[7] = {LLVMBuildGEP2(b, i8, a, &ao, 1, ""), K,
                            LLVMBuildGEP2(b, i8, y, &yo, 1, ""), N, blob, rows, za};
    LLVMBuildCall2(b, qc_i8_micro_type(cg), micro, args, 7, "");
    LLVMValueRef next = LLVMBuildAdd(b, row, rows, "");
    LLVMAddIncoming(row, &begin, &entry, 1);
    LLVMAddIncoming(row, &next, &body, 1);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, next, end, ""), body, done);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
}

/* Rows of a ([..., M, K]): every dim but the last; the symbolic batch dim,
 * if any, turns into units_b. */
static qc_status row_units(const qc_node *nd, const qc_type *at, int64_t *ua, int64_t *ub) {
    int64_t stat = 1;
    bool sym = false;
    for (int32_t d = 0; d + 1 < at->rank; d++) {
        if (at->dims[d] == QC_DIM_SYM) {
            if (sym) return qc_node_error(nd, QC_ERR_UNSUPPORTED, "two symbolic dims in a");
            sym = true;
        } else stat *= at->dims[d];
    }
    *ua = sym ? 0 : stat;
    *ub = sym ? stat : 0;
    return NULL;
}

qc_status qc_cpu_gen_qgemm_tile(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k,
                                const qc_i8_tile *tile) {
    const qc_node *nd = &g->nodes[node];
    bool mmi = nd->op == QC_OP_MATMUL_INTEGER;
    if (nd->op != QC_OP_QGEMM && nd->op != QC_OP_QLINEAR_MATMUL && !mmi)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "not a QGemm / QLinearMatMul / MatMulInteger");
    if (nd->n_in < (mmi ? 2 : 8) || nd->n_out != 1 || nd->in[0] < 0)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "unexpected input count");
    /* input indices: MatMulInteger(A, B, a_zp?, b_zp?) vs QLinear order */
    const int32_t ib = mmi ? 1 : 3, izb = mmi ? 3 : 5;
    const qc_type *at = &g->values[nd->in[0]].type, *yt = &g->values[nd->out[0]].type;
    const qc_value *bv = qc_i8_const_in(g, nd, ib);
    if (at->dtype != QC_U8 && at->dtype != QC_I8)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "a must be u8 or i8");
    if (!bv || bv->type.rank != 2 || (bv->type.dtype != QC_U8 && bv->type.dtype != QC_I8))
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "b must be a constant 2-D u8/i8 matrix");
    /* qc.QGemm without y_scale: float output (qdq_fold rule 3c) */
    bool fout = qc_i8_float_output(g, nd);
    if (mmi ? yt->dtype != QC_I32 : yt->dtype != QC_U8 && yt->dtype != QC_I8 && !fout)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "y must be %s",
                             mmi ? "i32" : "u8, i8 or f32 (no y_scale)");
    int64_t K = bv->type.dims[0], N = bv->type.dims[1];
    if (at->rank < 1 || at->dims[at->rank - 1] != K || K < 1 || N < 1 || K > INT32_MAX / 2 ||
        N > INT32_MAX / 2)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "unexpected matmul shape");
    qc_i8_gemm gm = {.k = K, .n = N, .a_signed = at->dtype == QC_I8, .b = bv->data,
                     .b_signed = bv->type.dtype == QC_I8, .b_sk = N, .b_sn = 1,
                     .y_signed = yt->dtype == QC_I8};
    static const float unit = 1.0f;
    const float *sa = &unit, *sy = &unit;
    int64_t c;
    int32_t *za = NULL, *zb = NULL, *zy = NULL;
    qc_status st = NULL;
    if (!mmi) {
        st = qc_i8_scale(g, nd, 1, "a_scale", 0, &sa, &c);
        if (!st) st = qc_i8_scale(g, nd, 4, "b_scale", N, &gm.b_scale, &gm.b_scale_count);
        if (!st && !fout) st = qc_i8_scale(g, nd, 6, "y_scale", 0, &sy, &c);
        if (!st && !fout) st = qc_i8_zero_point(g, nd, 7, "y_zero_point", 0, &zy, &c);
    }
    /* MatMulInteger's a_zero_point may be a runtime scalar (DynamicQuantizeLinear's) */
    int za_rt = 0;
    if (mmi && nd->n_in > 2 && nd->in[2] >= 0 && !qc_i8_const_in(g, nd, 2)) {
        const qc_type *zt = &g->values[nd->in[2]].type;
        if ((zt->dtype != QC_U8 && zt->dtype != QC_I8) || qc_type_numel(zt) != 1)
            st = qc_node_error(nd, QC_ERR_UNSUPPORTED,
                               "a runtime a_zero_point must be a u8/i8 scalar");
        else za_rt = zt->dtype == QC_I8 ? 2 : 1;
        gm.a_zp_runtime = true;
    } else if (!st) {
        st = qc_i8_zero_point(g, nd, 2, "a_zero_point", 0, &za, &c);
    }
    if (!st) st = qc_i8_zero_point(g, nd, izb, "b_zero_point", N, &zb, &gm.b_zp_count);
    if (!st) st = qc_i8_clamp_attrs(nd, &gm.act_min, &gm.act_max);
    if (!st && nd->op == QC_OP_QGEMM && nd->n_in > 8 && nd->in[8] >= 0) {
        const qc_value *bias = qc_i8_const_in(g, nd, 8);
        if (!bias || bias->type.dtype != QC_I32 || qc_type_numel(&bias->type) != N)
            st = qc_node_error(nd, QC_ERR_UNSUPPORTED, "bias must be a constant i32[N]");
        else gm.bias = bias->data;
    }
    int64_t ua = 0, ub = 0;
    if (!st) st = row_units(nd, at, &ua, &ub);
    if (st) goto out;
    gm.a_scale = sa[0];
    gm.y_scale = sy[0];
    gm.a_zp = za ? za[0] : 0;
    gm.b_zp = zb;
    gm.y_zp = zy ? zy[0] : 0;

    qc_i8_layout lo;
    qc_i8_layout_init(&gm, tile ? *tile : qc_i8_tile_for(&cg->feat), &lo);
    if (lo.size > ((int64_t)1 << 31)) {
        st = qc_node_error(nd, QC_ERR_UNSUPPORTED, "packed weights too large");
        goto out;
    }
    int64_t lo8 = 0, hi8 = 0;
    if (!fout) qc_dtype_int_range(yt->dtype, &lo8, &hi8);
    qc_i8_micro_cfg mc = {.a_signed = gm.a_signed, .y_zp = gm.y_zp, .lo = (int32_t)lo8,
                          .hi = (int32_t)hi8, .act_min = gm.act_min, .act_max = gm.act_max,
                          .y_sn = 1, .out_i32 = mmi, .out_f32 = fout};
    char mname[80];
    snprintf(mname, sizeof mname, "%s.micro", k->symbol);
    LLVMValueRef micro;
    st = qc_i8_define_micro(cg, &lo, &mc, mname, &micro);
    if (st) {
        st = qc_status_wrap(st, "node '%s'", nd->name ? nd->name : "?");
        goto out;
    }
    emit_driver(cg, qc_i8_add_kernel(cg, k->symbol), micro, lo.tile.mr, K, N, mmi || fout ? 4 : 1, za_rt,
                gm.a_signed);
    k->packed = calloc(1, (size_t)lo.size);
    if (!k->packed) {
        st = qc_node_error(nd, QC_ERR_NOMEM, "out of memory packing b");
        goto out;
    }
    qc_i8_pack(&gm, &lo, k->packed);
    k->packed_len = (size_t)lo.size;
    k->units_a = ua;
    k->units_b = ub;
    k->row_local = true;   /* a unit is a row of A and of y */
    k->grain = 4 * lo.tile.mr;
    k->cost_ps = qc_cpu_cost_ps(qc_i8_row_cost_ps(&lo));
    snprintf(k->variant, sizeof k->variant, "%s %s %dx%d%s%s", mmi ? "matmulint" : fout ? "qgemm-f32" : "qgemm",
             qc_i8_isa_name(lo.tile.isa),
             (int)lo.tile.mr, (int)(lo.tile.nr * qc_i8_lanes(lo.tile.isa)),
             lo.has_zb ? " rowsum" : "", za_rt ? " za-rt" : "");
out:
    free(za);
    free(zb);
    free(zy);
    return st;
}

qc_status qc_cpu_gen_qgemm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    return qc_cpu_gen_qgemm_tile(cg, g, node, k, NULL);
}
