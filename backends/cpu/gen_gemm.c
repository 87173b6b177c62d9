/* gen_gemm.c — fp32 Gemm / MatMul / qc.FusedGemm / qc.FusedMatMul.
 *
 * Y[rows, N] = A[rows, K] x B[K, N] (+ alpha, beta * C for Gemm), then the
 * fused epilogue program on the accumulators before the one store. B must be
 * a constant: it is packed at compile time into panels of NR columns
 * (k-major, zero-padded to NR), so the inner loop loads NR/W whole vectors
 * per k and broadcasts one A element per row into MR x NR/W independent
 * accumulators (register blocking: the FMA latency hides behind the other
 * accumulators). Work units are rows of Y; the grain is a multiple of MR so
 * the device's chunks keep whole row blocks. MatMul's leading (batch) dims
 * are folded into rows when B is effectively 2-D, the "simple" broadcast;
 * a batched B falls back to ref. */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/prog.h"
#include "ir/dtype.h"

#define MAX_OPS 16

typedef struct gemm {
    int32_t a, b, c;           /* node inputs (c: -1 none) */
    bool ta;
    float alpha, beta;
    int64_t m_a, m_b;          /* rows = m_a + m_b * batch */
    int64_t K, N;
    int64_t a_cols_a, a_cols_b; /* transA: A's row length (= rows) */
    qc_cpu_prog prog;
    bool has_prog;
    qc_cpu_bcast c_bc;
    qc_cpu_bcast bc[MAX_OPS];  /* per node input used by the program */
    int32_t W, NR, MR;
} gemm;

typedef struct opctx {
    qc_cpu_fn *f;
    const gemm *gm;
    LLVMValueRef ptr[MAX_OPS]; /* node input pointers (loaded at entry) */
    LLVMValueRef row, col;     /* i64 */
    LLVMValueRef mask;         /* NULL: full vector */
} opctx;

static LLVMValueRef load_operand(opctx *o, int32_t k, qc_cpu_bcast bc, int32_t w) {
    qc_cpu_fn *f = o->f;
    LLVMValueRef N = qc_cpu_i64(f, o->gm->N);
    switch (bc) {
    case QC_CPU_BC_SCALAR:
        return qc_cpu_splat(f, w, qc_cpu_loadf(f, 1, o->ptr[k], qc_cpu_i64(f, 0)));
    case QC_CPU_BC_COL: return qc_cpu_splat(f, w, qc_cpu_loadf(f, 1, o->ptr[k], o->row));
    case QC_CPU_BC_ROW:
        return o->mask ? qc_cpu_loadf_masked(f, w, o->ptr[k], o->col, o->mask)
                       : qc_cpu_loadf(f, w, o->ptr[k], o->col);
    case QC_CPU_BC_FULL:
    default: {
        LLVMValueRef idx = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, o->row, N, ""), o->col, "");
        return o->mask ? qc_cpu_loadf_masked(f, w, o->ptr[k], idx, o->mask)
                       : qc_cpu_loadf(f, w, o->ptr[k], idx);
    }
    }
}

static LLVMValueRef prog_operand(void *ctx, int32_t k, int32_t w) {
    opctx *o = ctx;
    return load_operand(o, k, o->gm->bc[k], w);
}

/* ---- analysis --------------------------------------------------------------------- */

static qc_status unsupported(const char *why) { return qc_error(QC_ERR_UNSUPPORTED, "%s", why); }

static qc_status analyze(const qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, gemm *gm) {
    memset(gm, 0, sizeof *gm);
    bool is_gemm = n->op == QC_OP_GEMM || n->op == QC_OP_FUSED_GEMM;
    bool fused = n->op == QC_OP_FUSED_GEMM || n->op == QC_OP_FUSED_MATMUL;
    int32_t n_base = fused ? (int32_t)qc_attr_int(n, "n_base", n->n_in) : n->n_in;
    if (n_base < 2 || n_base > n->n_in || n->n_in > MAX_OPS || n->n_out != 1)
        return unsupported("unexpected inputs");
    gm->a = n->in[0];
    gm->b = n->in[1];
    gm->c = is_gemm && n_base > 2 ? n->in[2] : -1;
    if (gm->a < 0 || gm->b < 0) return unsupported("absent A or B");
    const qc_type *ta = &g->values[gm->a].type, *tb = &g->values[gm->b].type;
    const qc_type *ty = &g->values[n->out[0]].type;
    if (ta->dtype != QC_F32 || tb->dtype != QC_F32 || ty->dtype != QC_F32)
        return unsupported("not fp32");
    if (!g->values[gm->b].data) return unsupported("B is not a constant (packed at compile time)");
    bool tb_t = false;
    if (is_gemm) {
        gm->ta = qc_attr_int(n, "transA", 0) != 0;
        tb_t = qc_attr_int(n, "transB", 0) != 0;
        gm->alpha = qc_attr_float(n, "alpha", 1.0f);
        gm->beta = qc_attr_float(n, "beta", 1.0f);
        if (ta->rank != 2 || tb->rank != 2) return unsupported("Gemm operands not 2-D");
        int64_t M = gm->ta ? ta->dims[1] : ta->dims[0];
        gm->K = gm->ta ? ta->dims[0] : ta->dims[1];
        gm->N = tb_t ? tb->dims[0] : tb->dims[1];
        if (gm->K == QC_DIM_SYM) return unsupported("symbolic K");
        if (M == QC_DIM_SYM) gm->m_b = 1;
        else gm->m_a = M;
        if (gm->c >= 0) {
            const qc_type *tc = &g->values[gm->c].type;
            if (!qc_cpu_bcast_of(tc, ty, true, &gm->c_bc)) return unsupported("C broadcast");
        }
    } else {
        gm->alpha = 1.0f;
        if (ta->rank < 1 || tb->rank < 2) return unsupported("MatMul with a 1-D B");
        for (int32_t k = 0; k + 2 < tb->rank; k++)
            if (tb->dims[k] != 1) return unsupported("batched B");
        gm->K = ta->dims[ta->rank - 1];
        gm->N = tb->dims[tb->rank - 1];
        if (gm->K == QC_DIM_SYM || gm->K != tb->dims[tb->rank - 2])
            return unsupported("symbolic or mismatched K");
        int64_t p = 1;
        bool sym = false;
        for (int32_t k = 0; k < ta->rank; k++) {
            if (ta->dims[k] == QC_DIM_SYM) sym = true;
            else p *= ta->dims[k];
        }
        if (p % gm->K) return unsupported("rows");
        if (sym) gm->m_b = p / gm->K;
        else gm->m_a = p / gm->K;
    }
    if (gm->N == QC_DIM_SYM || gm->N < 1 || gm->K < 1) return unsupported("empty or symbolic N/K");
    if (ty->dims[ty->rank - 1] != gm->N) return unsupported("output shape");
    if (gm->ta && gm->m_b) {   /* A is [K, M]: the row length is M */
        gm->a_cols_b = gm->m_b;
    }
    gm->a_cols_a = gm->m_a;
    if (fused) {
        const char *prog = qc_attr_string(n, "program", "");
        qc_status st = qc_cpu_prog_parse(prog, n->n_in, &gm->prog);
        if (st) return st;
        gm->has_prog = gm->prog.n > 0;
        for (int32_t k = n_base; k < n->n_in; k++) {
            if (n->in[k] < 0) return unsupported("absent operand");
            if (!qc_cpu_bcast_of(&g->values[n->in[k]].type, ty, true, &gm->bc[k]))
                return unsupported("epilogue operand broadcast");
        }
        for (int32_t s = 0; s < gm->prog.n; s++)
            for (int32_t a = 0; a < gm->prog.s[s].n_in; a++)
                if (gm->prog.s[s].in[a] >= 0 && gm->prog.s[s].in[a] < n_base)
                    return unsupported("epilogue reads a base input");
    }
    int32_t W = cg->feat.avx512f ? 16 : cg->feat.avx2 ? 8 : 4;
    if (W == 16 && gm->N <= 8) W = 8;   /* narrow outputs: half the lanes, not a quarter */
    gm->W = W;
    gm->NR = gm->N > W ? 2 * W : W;
    int32_t nv = gm->NR / W;
    gm->MR = W == 16 ? (nv == 2 ? 6 : 8) : (nv == 2 ? 4 : 6);
    return NULL;
}

/* B (as [K, N] or, with transB, [N, K]) into panels of NR columns. */
static qc_status pack_b(const qc_graph *g, const qc_node *n, const gemm *gm, qc_cpu_kernel *k) {
    bool tb_t = (n->op == QC_OP_GEMM || n->op == QC_OP_FUSED_GEMM) && qc_attr_int(n, "transB", 0);
    const float *B = g->values[gm->b].data;
    int64_t P = (gm->N + gm->NR - 1) / gm->NR;
    size_t len = sizeof(float) * (size_t)(P * gm->K * gm->NR);
    float *pk = calloc(1, len ? len : 1);
    if (!pk) return qc_error(QC_ERR_NOMEM, "out of memory packing B (%zu bytes)", len);
    for (int64_t p = 0; p < P; p++)
        for (int64_t kk = 0; kk < gm->K; kk++)
            for (int64_t j = 0; j < gm->NR; j++) {
                int64_t col = p * gm->NR + j;
                if (col < gm->N)
                    pk[(p * gm->K + kk) * gm->NR + j] =
                        tb_t ? B[col * gm->K + kk] : B[kk * gm->N + col];
            }
    k->packed = (uint8_t *)pk;
    k->packed_len = len;
    return NULL;
}

/* ---- code --------------------------------------------------------------------------- */

/* One block of mr rows at r0, over panels [p_begin, p_end) (all full when
 * lanes == NR, else the one tail panel with `lanes` valid columns). */
static void emit_block(qc_cpu_fn *f, opctx *o, LLVMValueRef A, LLVMValueRef Y, LLVMValueRef r0,
                       int32_t mr, LLVMValueRef p, int32_t lanes) {
    const gemm *gm = o->gm;
    LLVMBuilderRef b = f->b;
    int32_t W = gm->W, nv = gm->NR / W;
    LLVMTypeRef vt = qc_cpu_vt(f, W);
    LLVMValueRef K = qc_cpu_i64(f, gm->K), NR = qc_cpu_i64(f, gm->NR);
    LLVMValueRef panel = qc_cpu_gep(f, f->f32, f->packed,
                                    LLVMBuildMul(b, p, qc_cpu_i64(f, gm->K * gm->NR), ""));
    /* A row bases (row-major: r * K; transA: column r of [K, rows]). */
    LLVMValueRef arow[8], astride = NULL;
    for (int32_t r = 0; r < mr; r++) {
        LLVMValueRef row = LLVMBuildAdd(b, r0, qc_cpu_i64(f, r), "");
        arow[r] = gm->ta ? row : LLVMBuildMul(b, row, K, "");
    }
    if (gm->ta) astride = qc_cpu_lin(f, gm->a_cols_a, gm->a_cols_b);

    /* k loop with the accumulators as phis. */
    LLVMContextRef c = f->cg->ctx;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(c, f->fn, "k");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, f->fn, "kdone");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef kv = LLVMBuildPhi(b, f->i64, "kk");
    LLVMValueRef zero64 = qc_cpu_i64(f, 0);
    LLVMAddIncoming(kv, &zero64, &pre, 1);
    LLVMValueRef acc[8][2], next[8][2];
    LLVMValueRef vzero = qc_cpu_fconst(f, W, 0.0);
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < nv; v++) {
            acc[r][v] = LLVMBuildPhi(b, vt, "acc");
            LLVMAddIncoming(acc[r][v], &vzero, &pre, 1);
        }
    LLVMValueRef bv[2];
    LLVMValueRef boff = LLVMBuildMul(b, kv, NR, "");
    for (int32_t v = 0; v < nv; v++)
        bv[v] = qc_cpu_loadf(f, W, panel, LLVMBuildAdd(b, boff, qc_cpu_i64(f, v * W), ""));
    for (int32_t r = 0; r < mr; r++) {
        LLVMValueRef ai = gm->ta ? LLVMBuildAdd(b, LLVMBuildMul(b, kv, astride, ""), arow[r], "")
                                 : LLVMBuildAdd(b, arow[r], kv, "");
        LLVMValueRef av = qc_cpu_splat(f, W, qc_cpu_loadf(f, 1, A, ai));
        for (int32_t v = 0; v < nv; v++) next[r][v] = qc_cpu_madd(f, av, bv[v], acc[r][v]);
    }
    LLVMValueRef k1 = LLVMBuildAdd(b, kv, qc_cpu_i64(f, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMAddIncoming(kv, &k1, &latch, 1);
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < nv; v++) LLVMAddIncoming(acc[r][v], &next[r][v], &latch, 1);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, k1, K, ""), head, done);
    LLVMPositionBuilderAtEnd(b, done);

    /* Epilogue: alpha, beta * C, the program, one store per vector. */
    LLVMValueRef n0 = LLVMBuildMul(b, p, NR, "");
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < nv; v++) {
            int32_t valid = lanes - v * W;
            if (valid <= 0) continue;
            o->row = LLVMBuildAdd(b, r0, qc_cpu_i64(f, r), "");
            o->col = LLVMBuildAdd(b, n0, qc_cpu_i64(f, v * W), "");
            o->mask = valid < W ? qc_cpu_mask(f, W, valid) : NULL;
            LLVMValueRef y = next[r][v];
            if (gm->alpha != 1.0f) y = LLVMBuildFMul(b, y, qc_cpu_fconst(f, W, gm->alpha), "");
            if (gm->c >= 0 && gm->beta != 0.0f) {
                LLVMValueRef cv = load_operand(o, 2, gm->c_bc, W);
                if (gm->beta != 1.0f) cv = LLVMBuildFMul(b, cv, qc_cpu_fconst(f, W, gm->beta), "");
                y = LLVMBuildFAdd(b, y, cv, "");
            }
            if (gm->has_prog) y = qc_cpu_prog_emit(f, &gm->prog, W, y, prog_operand, o);
            LLVMValueRef idx = LLVMBuildAdd(b, LLVMBuildMul(b, o->row, qc_cpu_i64(f, gm->N), ""),
                                            o->col, "");
            if (o->mask) qc_cpu_storef_masked(f, W, Y, idx, y, o->mask);
            else qc_cpu_storef(f, W, Y, idx, y);
        }
}

/* All panels for a block of mr rows at r0. */
static void emit_rows(qc_cpu_fn *f, opctx *o, LLVMValueRef A, LLVMValueRef Y, LLVMValueRef r0,
                      int32_t mr) {
    const gemm *gm = o->gm;
    int64_t full = gm->N / gm->NR;
    int32_t tail = (int32_t)(gm->N % gm->NR);
    if (full > 0) {
        qc_cpu_loop pl;
        LLVMValueRef p = qc_cpu_loop_begin(f, &pl, qc_cpu_i64(f, 0), qc_cpu_i64(f, full), 1);
        emit_block(f, o, A, Y, r0, mr, p, gm->NR);
        qc_cpu_loop_end(f, &pl);
    }
    if (tail) emit_block(f, o, A, Y, r0, mr, qc_cpu_i64(f, full), tail);
}

qc_status qc_cpu_gen_gemm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    if (n->n_in > 0 && n->in[0] >= 0 && (g->values[n->in[0]].type.dtype == QC_F16 ||
                                         g->values[n->in[0]].type.dtype == QC_BF16))
        return qc_cpu_gen_wgemm(cg, g, node, k);   /* half: gen_wgemm.c */
    gemm gm;
    qc_status st = analyze(cg, g, n, &gm);
    if (!st) st = pack_b(g, n, &gm, k);
    if (st) return st;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    opctx o = {.f = &f, .gm = &gm};
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0) o.ptr[i] = qc_cpu_fn_in(&f, i);
    LLVMValueRef A = o.ptr[0], Y = qc_cpu_fn_out(&f, 0);
    /* Rows [begin, end): blocks of MR, then single rows. */
    qc_cpu_loop rb;
    LLVMValueRef r0 = qc_cpu_loop_begin(&f, &rb, f.begin, f.end, gm.MR);
    emit_rows(&f, &o, A, Y, r0, gm.MR);
    qc_cpu_loop_end(&f, &rb);
    qc_cpu_loop r1;
    LLVMValueRef r = qc_cpu_loop_begin(&f, &r1, rb.iv, f.end, 1);
    emit_rows(&f, &o, A, Y, r, 1);
    qc_cpu_loop_end(&f, &r1);
    qc_cpu_fn_end(&f);

    k->units_a = gm.m_a;
    k->units_b = gm.m_b;
    k->row_local = true;   /* a unit is a row of Y (chain.c checks A's shape) */
    /* >= ~64K multiply-adds per chunk, whole MR blocks. */
    int64_t per_row = gm.K * gm.N, rows = (65536 + per_row - 1) / per_row;
    k->grain = (rows + gm.MR - 1) / gm.MR * gm.MR;
    /* ~2 FMA of W lanes per cycle at ~2.6 GHz, at about half efficiency */
    double padded = (double)gm.K * (double)((gm.N + gm.NR - 1) / gm.NR * gm.NR);
    k->cost_ps = qc_cpu_cost_ps(padded / (2.6 * gm.W) * 1e3 + 500.0);
    snprintf(k->variant, sizeof k->variant, "gemm f32 %dx%d f32x%d%s", (int)gm.MR, (int)gm.NR,
             (int)gm.W, gm.has_prog ? " +epilogue" : "");
    return NULL;
}
