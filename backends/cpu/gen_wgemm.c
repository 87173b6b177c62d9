/* gen_wgemm.c — GEMMs whose weight is not f32 in memory: qc.WGemm (the
 * weight-only schemes, passes/wgemm_fold.c) and fp16 / bf16 Gemm, MatMul,
 * qc.FusedGemm, qc.FusedMatMul.
 *
 * The shape of gen_gemm.c (fp32): B is a constant packed at compile time into
 * panels of NR columns, k-major, and MR x NR/W accumulators are kept in
 * registers over the k loop. What differs is what a panel row holds and how
 * it becomes NR f32 lanes in registers, every k, for all MR rows at once:
 *   dq int8   one byte per weight (i8 stored biased by +128, so all codes
 *             are unsigned); f32 = (float(u) - zp') * scale, the exact
 *             DequantizeLinear of ref ((q - zp) * s: q - zp is an integer
 *             that float represents exactly), scale and zp' = zp + bias per
 *             (k block, column), reloaded at each block of K;
 *   dq int4   two weights per byte: byte j of a row holds column j (low
 *             nibble) and column j + NR/2 (high), so one load, an AND and a
 *             shift give two whole vectors (i4 biased by +8);
 *   codebook  u8 / u4 indices (same byte / nibble layout), f32 = codebook[u]:
 *             AVX-512 looks up in registers (vpermps for <= 16 entries,
 *             vpermi2ps over 32-entry pairs + selects for more), other
 *             targets gather from the 256-entry table in the pack;
 *   f16/bf16  the half weight; vcvtph2ps (f16c) or a 16-bit shift (bf16).
 * Accumulation is fp32 FMA (ref accumulates in double: float tolerance,
 * docs/backend-cpu.md). avx512bf16's vdpbf16ps is NOT used: it multiplies
 * pairs and sums them inside the instruction with its own rounding (and
 * flushes denormals), a different accumulation from ref's.
 *
 * Half outputs round exactly where ref rounds: ref's Gemm rounds alpha*acc +
 * beta*C once to the half type, and each epilogue step of a fused node runs
 * the unfused op's kernel, which rounds again; so the generated epilogue
 * rounds to half after the base op and after every step (backends/cpu/
 * half.h), and stores the half bits. fp16 needs f16c (x86-64-v3 and up);
 * without it the node runs on ref. */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/half.h"
#include "backends/cpu/prog.h"
#include "ir/dtype.h"
#include "ops/wgemm.h"

#define MAX_OPS 18
#define CB_ENTRIES 256
#define STAGE_MAX_BYTES (64 * 1024)   /* a staged panel (K x NR f32) on the stack */
#define STAGE_ROWS 4                  /* stage for ranges of >= 4 MR blocks */

typedef struct wg {
    /* the GEMM (the base op's view of the node) */
    int32_t n_in;                /* the base op's inputs */
    bool ta, tb;
    float alpha, beta;
    int32_t c;                   /* input index of C, or -1 */
    int64_t m_a, m_b, K, N;
    int64_t a_cols_a;
    qc_cpu_prog prog;
    bool has_prog;
    qc_cpu_bcast c_bc, bc[MAX_OPS];
    qc_dtype dt[MAX_OPS];        /* node input dtypes (A, C, operands) */
    qc_dtype io;                 /* the output's dtype: F32, F16 or BF16 */
    int32_t W, NR, MR;
    /* the weight */
    enum { B_DQ, B_CODEBOOK, B_HALF } kind;
    int32_t bits;                /* 4, 8 or 16 per stored weight */
    int64_t KB, nkb;             /* dq: K rows per parameter block, blocks */
    int64_t row_bytes;           /* one k row of a panel */
    int32_t ncode;               /* codebook entries */
    size_t prm_off, cb_off;      /* sections of the pack */
} wg;

typedef struct opctx {
    qc_cpu_fn *f;
    const wg *w;
    LLVMValueRef ptr[MAX_OPS];
    LLVMValueRef row, col;
    LLVMValueRef mask;
    LLVMValueRef stage;   /* non-NULL: the current panel decoded to f32 [K][NR] */
} opctx;

static qc_status unsupported(const char *why) { return qc_error(QC_ERR_UNSUPPORTED, "%s", why); }


/* ---- epilogue operands -------------------------------------------------------------- */

static LLVMValueRef load_operand(opctx *o, int32_t k, qc_cpu_bcast bc, int32_t w) {
    qc_cpu_fn *f = o->f;
    qc_dtype t = o->w->dt[k];
    switch (bc) {
    case QC_CPU_BC_SCALAR:
        return qc_cpu_splat(f, w, qc_cpu_load_as_f32(f, t, 1, o->ptr[k], qc_cpu_i64(f, 0), NULL));
    case QC_CPU_BC_COL:
        return qc_cpu_splat(f, w, qc_cpu_load_as_f32(f, t, 1, o->ptr[k], o->row, NULL));
    case QC_CPU_BC_ROW: return qc_cpu_load_as_f32(f, t, w, o->ptr[k], o->col, o->mask);
    case QC_CPU_BC_FULL:
    default: {
        LLVMValueRef idx =
            LLVMBuildAdd(f->b, LLVMBuildMul(f->b, o->row, qc_cpu_i64(f, o->w->N), ""), o->col, "");
        return qc_cpu_load_as_f32(f, t, w, o->ptr[k], idx, o->mask);
    }
    }
}

static LLVMValueRef prog_operand(void *ctx, int32_t k, int32_t w) {
    opctx *o = ctx;
    return load_operand(o, k, o->w->bc[k], w);
}

/* ---- analysis ----------------------------------------------------------------------- */

/* Operand type as f32 for the broadcast classifier (which looks at shapes). */
static qc_type as_f32(const qc_type *t) {
    qc_type c = *t;
    c.dtype = QC_F32;
    return c;
}

/* The GEMM of the base op `op` over inputs [0, n_in) of n; tb_type: B's
 * (decoded) type. */
static qc_status analyze_gemm(const qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, qc_op op,
                              int32_t n_in, const qc_type *tb, wg *w) {
    bool is_gemm = op == QC_OP_GEMM || op == QC_OP_FUSED_GEMM;
    bool fused = op == QC_OP_FUSED_GEMM || op == QC_OP_FUSED_MATMUL;
    int32_t n_base = fused ? (int32_t)qc_attr_int(n, "n_base", n_in) : n_in;
    if (n_base < 2 || n_base > n_in || n_in > 16 || n->n_out != 1)
        return unsupported("unexpected inputs");
    w->n_in = n_in;
    w->c = is_gemm && n_base > 2 ? 2 : -1;
    for (int32_t k = 0; k < n_in; k++) {
        if (k != 1 && n->in[k] < 0) return unsupported("absent operand");
        w->dt[k] = k == 1 ? tb->dtype : g->values[n->in[k]].type.dtype;
        if (k != 1 && w->dt[k] != QC_F32 && !qc_cpu_is_half(w->dt[k]))
            return unsupported("operand not f32 / f16 / bf16");
    }
    const qc_type *ta = &g->values[n->in[0]].type;
    qc_type ty = as_f32(&g->values[n->out[0]].type);
    w->alpha = 1.0f;
    if (is_gemm) {
        w->ta = qc_attr_int(n, "transA", 0) != 0;
        w->tb = qc_attr_int(n, "transB", 0) != 0;
        w->alpha = qc_attr_float(n, "alpha", 1.0f);
        w->beta = qc_attr_float(n, "beta", 1.0f);
        if (ta->rank != 2 || tb->rank != 2) return unsupported("Gemm operands not 2-D");
        int64_t M = w->ta ? ta->dims[1] : ta->dims[0];
        w->K = w->ta ? ta->dims[0] : ta->dims[1];
        w->N = w->tb ? tb->dims[0] : tb->dims[1];
        if (w->K == QC_DIM_SYM) return unsupported("symbolic K");
        if (M == QC_DIM_SYM) w->m_b = 1;
        else w->m_a = M;
        if (w->c >= 0) {
            qc_type tc = as_f32(&g->values[n->in[2]].type);
            if (!qc_cpu_bcast_of(&tc, &ty, true, &w->c_bc)) return unsupported("C broadcast");
        }
        if (w->ta && w->m_b) return unsupported("transA with a symbolic M");
    } else {
        if (ta->rank < 1 || tb->rank != 2) return unsupported("MatMul B not 2-D");
        w->K = ta->dims[ta->rank - 1];
        w->N = tb->dims[1];
        if (w->K == QC_DIM_SYM || w->K != tb->dims[0])
            return unsupported("symbolic or mismatched K");
        int64_t p = 1;
        bool sym = false;
        for (int32_t k = 0; k < ta->rank; k++) {
            if (ta->dims[k] == QC_DIM_SYM) sym = true;
            else p *= ta->dims[k];
        }
        if (p % w->K) return unsupported("rows");
        if (sym) w->m_b = p / w->K;
        else w->m_a = p / w->K;
    }
    if (w->N == QC_DIM_SYM || w->N < 1 || w->K < 1) return unsupported("empty or symbolic N/K");
    if (ty.dims[ty.rank - 1] != w->N) return unsupported("output shape");
    w->a_cols_a = w->m_a;
    if (fused) {
        qc_status st = qc_cpu_prog_parse(qc_attr_string(n, "program", ""), n_in, &w->prog);
        if (st) return st;
        w->has_prog = w->prog.n > 0;
        for (int32_t k = n_base; k < n_in; k++) {
            qc_type to = as_f32(&g->values[n->in[k]].type);
            if (!qc_cpu_bcast_of(&to, &ty, true, &w->bc[k]))
                return unsupported("epilogue operand broadcast");
        }
        for (int32_t s = 0; s < w->prog.n; s++)
            for (int32_t a = 0; a < w->prog.s[s].n_in; a++)
                if (w->prog.s[s].in[a] >= 0 && w->prog.s[s].in[a] < n_base)
                    return unsupported("epilogue reads a base input");
    }
    int32_t W = cg->feat.avx512f ? 16 : cg->feat.avx2 ? 8 : 4;
    if (W == 16 && w->N <= 8) W = 8;
    w->W = W;
    w->NR = w->N > W ? 2 * W : W;
    int32_t nv = w->NR / W;
    w->MR = W == 16 ? (nv == 2 ? 6 : 8) : (nv == 2 ? 4 : 6);
    return NULL;
}

/* ---- packing ------------------------------------------------------------------------ */

/* Where (k, n) of B lives in the stored weight (flat element index). */
static int64_t b_index(const wg *w, int64_t k, int64_t n) {
    return w->tb ? n * w->K + k : k * w->N + n;
}

/* DequantizeLinear's parameter index of element e of a 2-D x (mirrors the
 * ref kernel's layout: per tensor, per axis, or blocked along the axis). */
typedef struct qlay {
    bool per_tensor;
    int64_t inner, len, block, nblocks;
} qlay;

static int64_t qlay_index(const qlay *l, int64_t e) {
    if (l->per_tensor) return 0;
    int64_t along = (e / l->inner) % l->len;
    if (!l->block) return along;
    int64_t outer = e / l->inner / l->len, in = e % l->inner;
    return (outer * l->nblocks + along / l->block) * l->inner + in;
}

static uint32_t code_at(qc_dtype t, const void *data, int64_t e, int32_t bias) {
    return (uint32_t)(qc_elem_get_i64(t, data, e) + bias);
}

static void put_code(uint8_t *row, int32_t bits, int32_t NR, int32_t j, uint32_t u) {
    if (bits == 8) row[j] = (uint8_t)u;
    else if (bits == 16) memcpy(row + 2 * j, &(uint16_t){(uint16_t)u}, 2);
    else if (j < NR / 2) row[j] |= (uint8_t)(u & 15u);
    else row[j - NR / 2] |= (uint8_t)((u & 15u) << 4);
}

/* Packs the weight codes (+ dq params / codebook) into k->packed. */
static qc_status pack(const qc_graph *g, const qc_node *n, int32_t dec, wg *w, qc_cpu_kernel *k) {
    const qc_value *bv = &g->values[n->in[1]];
    qc_dtype bt = bv->type.dtype;
    int32_t bias = bt == QC_I8 ? 128 : bt == QC_I4 ? 8 : 0;
    int64_t P = (w->N + w->NR - 1) / w->NR, nkb = 1;
    w->row_bytes = (int64_t)w->NR * w->bits / 8;
    size_t wlen = (size_t)(P * w->K * w->row_bytes);
    size_t prm_len = 0, cb_len = 0;
    qlay l = {.per_tensor = true};
    const qc_value *sv = NULL, *zv = NULL;
    if (w->kind == B_DQ) {
        sv = &g->values[n->in[dec]];
        zv = n->n_in > dec + 1 && n->in[dec + 1] >= 0 ? &g->values[n->in[dec + 1]] : NULL;
        if (sv->type.dtype != QC_F32 || !sv->data || (zv && !zv->data))
            return unsupported("weight scale not an f32 constant");
        const qc_type *s = &sv->type;
        l.per_tensor = s->rank == 0 || (s->rank == 1 && s->dims[0] == 1);
        int64_t axis = qc_attr_int(n, "axis", 1);
        if (axis < 0) axis += 2;
        if (axis < 0 || axis > 1) return unsupported("weight axis");
        l.inner = axis == 0 ? bv->type.dims[1] : 1;
        l.len = bv->type.dims[axis];
        l.block = qc_attr_int(n, "block_size", 0);
        l.nblocks = l.block ? (l.len + l.block - 1) / l.block : l.len;
        int32_t kaxis = w->tb ? 1 : 0;
        w->KB = l.per_tensor || axis != kaxis ? w->K : l.block ? l.block : 1;
        nkb = (w->K + w->KB - 1) / w->KB;
        prm_len = sizeof(float) * (size_t)(P * nkb * 2 * w->NR);
    } else if (w->kind == B_CODEBOOK) {
        const qc_value *cv = &g->values[n->in[dec]];
        if (cv->type.dtype != QC_F32 || cv->type.rank != 1 || !cv->data ||
            cv->type.dims[0] > CB_ENTRIES || cv->type.dims[0] < 1)
            return unsupported("codebook not an f32[1..256] constant");
        cb_len = sizeof(float) * CB_ENTRIES;
        w->ncode = (int32_t)cv->type.dims[0];
    }
    w->nkb = nkb;
    w->prm_off = (wlen + 63) / 64 * 64;
    w->cb_off = w->prm_off + (prm_len + 63) / 64 * 64;
    size_t len = w->cb_off + cb_len;
    uint8_t *pk = calloc(1, len ? len : 1);
    if (!pk) return qc_error(QC_ERR_NOMEM, "out of memory packing the weight (%zu bytes)", len);
    qc_status st = NULL;
    for (int64_t p = 0; p < P && !st; p++)
        for (int64_t kk = 0; kk < w->K && !st; kk++) {
            uint8_t *row = pk + (size_t)((p * w->K + kk) * w->row_bytes);
            for (int32_t j = 0; j < w->NR; j++) {
                int64_t col = p * w->NR + j;
                if (col >= w->N) continue;
                int64_t e = b_index(w, kk, col);
                uint32_t u = w->kind == B_HALF ? ((const uint16_t *)bv->data)[e]
                                               : code_at(bt, bv->data, e, bias);
                if (w->kind == B_CODEBOOK && u >= (uint32_t)g->values[n->in[dec]].type.dims[0])
                    st = unsupported("codebook index out of range (ref reports it)");
                put_code(row, w->bits, w->NR, j, u);
            }
        }
    if (!st && w->kind == B_DQ) {
        float *prm = (float *)(pk + w->prm_off);
        for (int64_t col = 0; col < w->N && !st; col++)
            for (int64_t kk = 0; kk < w->K; kk++) {
                int64_t kb = kk / w->KB, q0 = qlay_index(&l, b_index(w, kb * w->KB, col));
                if (qlay_index(&l, b_index(w, kk, col)) != q0) {
                    st = unsupported("weight parameters do not follow K blocks");
                    break;
                }
                if (kk != kb * w->KB) continue;
                int64_t p = col / w->NR, j = col % w->NR;
                float *at = prm + (p * nkb + kb) * 2 * w->NR;
                at[j] = ((const float *)sv->data)[q0];
                int64_t zp = zv ? qc_elem_get_i64(zv->type.dtype, zv->data, q0) : 0;
                at[w->NR + j] = (float)(zp + bias);
            }
    }
    if (!st && w->kind == B_CODEBOOK) {
        const qc_value *cv = &g->values[n->in[dec]];
        memcpy(pk + w->cb_off, cv->data, sizeof(float) * (size_t)cv->type.dims[0]);
    }
    if (st) {
        free(pk);
        return st;
    }
    k->packed = pk;
    k->packed_len = len;
    return NULL;
}

/* ---- code --------------------------------------------------------------------------- */

/* A do-while loop over iv in [start, end) (end > start) carrying n values. */
typedef struct carry {
    LLVMBasicBlockRef head;
    LLVMValueRef iv;
    LLVMValueRef phi[16];
    int32_t n;
} carry;

static void carry_begin(qc_cpu_fn *f, carry *c, LLVMValueRef start, LLVMValueRef *init, int32_t n) {
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(f->b);
    c->head = LLVMAppendBasicBlockInContext(f->cg->ctx, f->fn, "w");
    LLVMBuildBr(f->b, c->head);
    LLVMPositionBuilderAtEnd(f->b, c->head);
    c->iv = LLVMBuildPhi(f->b, f->i64, "");
    LLVMAddIncoming(c->iv, &start, &pre, 1);
    c->n = n;
    for (int32_t i = 0; i < n; i++) {
        c->phi[i] = LLVMBuildPhi(f->b, LLVMTypeOf(init[i]), "");
        LLVMAddIncoming(c->phi[i], &init[i], &pre, 1);
    }
}

static void carry_end(qc_cpu_fn *f, carry *c, LLVMValueRef end, LLVMValueRef *next) {
    LLVMValueRef iv1 = LLVMBuildAdd(f->b, c->iv, qc_cpu_i64(f, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(f->b);
    LLVMAddIncoming(c->iv, &iv1, &latch, 1);
    for (int32_t i = 0; i < c->n; i++) LLVMAddIncoming(c->phi[i], &next[i], &latch, 1);
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(f->cg->ctx, f->fn, "wdone");
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, iv1, end, ""), c->head, done);
    LLVMPositionBuilderAtEnd(f->b, done);
}

/* A non-overloaded intrinsic (the x86 permutes). */
static LLVMValueRef call_x86(qc_cpu_fn *f, const char *name, LLVMValueRef *args, unsigned n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->cg->mod, id, NULL, 0);
    return LLVMBuildCall2(f->b, LLVMIntrinsicGetType(f->cg->ctx, id, NULL, 0), fn, args, n, "");
}

/* codebook[idx] for W lanes. With AVX-512 (W = 16) from registers: a table
 * of <= 16 entries is one vpermps; a longer one is vpermi2ps over pairs of
 * 16-entry vectors (32 entries each, indexed by idx's low 5 bits), the pair
 * chosen by idx >> 5 with selects. Elsewhere a vector gather. */
static LLVMValueRef lookup(qc_cpu_fn *f, const wg *w, LLVMValueRef cb, LLVMValueRef idx) {
    LLVMBuilderRef b = f->b;
    int32_t W = w->W;
    if (W != 16) {
        LLVMValueRef ptrs = LLVMBuildGEP2(b, f->f32, cb, &idx, 1, "");
        LLVMValueRef args[4] = {ptrs, qc_cpu_i32(f, 4), qc_cpu_mask(f, W, W),
                                LLVMGetUndef(qc_cpu_vt(f, W))};
        return qc_cpu_intrin2(f, "llvm.masked.gather", qc_cpu_vt(f, W), LLVMTypeOf(ptrs), args, 4);
    }
    if (w->ncode <= 16) {
        LLVMValueRef args[2] = {qc_cpu_loadf(f, 16, cb, qc_cpu_i64(f, 0)), idx};
        return call_x86(f, "llvm.x86.avx512.permvar.sf.512", args, 2);
    }
    LLVMValueRef hi = LLVMBuildLShr(b, idx, qc_cpu_isplat(f, f->i32, 16, 5), ""), r = NULL;
    for (int32_t t = 0; t * 32 < w->ncode; t++) {
        LLVMValueRef args[3] = {qc_cpu_loadf(f, 16, cb, qc_cpu_i64(f, 32 * t)), idx,
                                qc_cpu_loadf(f, 16, cb, qc_cpu_i64(f, 32 * t + 16))};
        LLVMValueRef rt = call_x86(f, "llvm.x86.avx512.vpermi2var.ps.512", args, 3);
        LLVMValueRef here = LLVMBuildICmp(b, LLVMIntEQ, hi, qc_cpu_isplat(f, f->i32, 16, t), "");
        r = r ? LLVMBuildSelect(b, here, rt, r, "") : rt;
    }
    return r;
}

/* Row kv of panel pw as nv vectors of W f32 lanes (codes decoded). */
static void decode_row(qc_cpu_fn *f, const wg *w, LLVMValueRef pw, LLVMValueRef kv,
                       const LLVMValueRef *scale, const LLVMValueRef *zp, LLVMValueRef cb,
                       LLVMValueRef *out) {
    LLVMBuilderRef b = f->b;
    int32_t W = w->W, nv = w->NR / W;
    LLVMValueRef rowp =
        qc_cpu_gep(f, f->i8, pw, LLVMBuildMul(b, kv, qc_cpu_i64(f, w->row_bytes), ""));
    LLVMTypeRef vi32 = qc_cpu_ivt(f, f->i32, W);
    LLVMValueRef u[2];
    if (w->bits == 16) {
        LLVMTypeRef i16 = LLVMInt16TypeInContext(f->cg->ctx);
        for (int32_t v = 0; v < nv; v++) {
            LLVMValueRef h = LLVMBuildLoad2(b, qc_cpu_ivt(f, i16, W),
                                            qc_cpu_gep(f, i16, rowp, qc_cpu_i64(f, v * W)), "");
            LLVMSetAlignment(h, 2);
            out[v] = qc_cpu_half_to_f32(f, w->kind == B_HALF ? w->dt[1] : QC_BF16, h, W);
        }
        return;
    }
    if (w->bits == 8) {
        for (int32_t v = 0; v < nv; v++) {
            LLVMValueRef x = LLVMBuildLoad2(b, qc_cpu_ivt(f, f->i8, W),
                                            qc_cpu_gep(f, f->i8, rowp, qc_cpu_i64(f, v * W)), "");
            LLVMSetAlignment(x, 1);
            u[v] = LLVMBuildZExt(b, x, vi32, "");
        }
    } else {
        /* byte j: column j in the low nibble, column j + NR/2 in the high one */
        int32_t hw = w->NR / 2;
        LLVMValueRef x = LLVMBuildLoad2(b, qc_cpu_ivt(f, f->i8, hw), rowp, "");
        LLVMSetAlignment(x, 1);
        LLVMValueRef z = LLVMBuildZExt(b, x, qc_cpu_ivt(f, f->i32, hw), "");
        LLVMValueRef lo = LLVMBuildAnd(b, z, qc_cpu_isplat(f, f->i32, hw, 15), "");
        LLVMValueRef hi = LLVMBuildLShr(b, z, qc_cpu_isplat(f, f->i32, hw, 4), "");
        if (nv == 2) {
            u[0] = lo;
            u[1] = hi;
        } else {
            LLVMValueRef m[16];
            for (int32_t i = 0; i < W; i++) m[i] = qc_cpu_i32(f, i);
            u[0] = LLVMBuildShuffleVector(b, lo, hi, LLVMConstVector(m, (unsigned)W), "");
        }
    }
    for (int32_t v = 0; v < nv; v++) {
        if (w->kind == B_DQ) {
            LLVMValueRef q = LLVMBuildUIToFP(b, u[v], qc_cpu_vt(f, W), "");
            out[v] = LLVMBuildFMul(b, LLVMBuildFSub(b, q, zp[v], ""), scale[v], "");
        } else {
            out[v] = lookup(f, w, cb, u[v]);
        }
    }
}

/* One block of mr rows at r0 over panel p (lanes valid columns). */
static void emit_block(qc_cpu_fn *f, opctx *o, LLVMValueRef A, LLVMValueRef Y, LLVMValueRef r0,
                       int32_t mr, LLVMValueRef p, int32_t lanes) {
    const wg *w = o->w;
    LLVMBuilderRef b = f->b;
    int32_t W = w->W, nv = w->NR / W;
    LLVMValueRef K = qc_cpu_i64(f, w->K);
    LLVMValueRef pw = qc_cpu_gep(f, f->i8, f->packed,
                                 LLVMBuildMul(b, p, qc_cpu_i64(f, w->K * w->row_bytes), ""));
    LLVMValueRef cb = qc_cpu_gep(f, f->i8, f->packed, qc_cpu_i64(f, (int64_t)w->cb_off));
    LLVMValueRef arow[8], astride = qc_cpu_i64(f, w->a_cols_a);
    for (int32_t r = 0; r < mr; r++) {
        LLVMValueRef row = LLVMBuildAdd(b, r0, qc_cpu_i64(f, r), "");
        arow[r] = w->ta ? row : LLVMBuildMul(b, row, K, "");
    }
    LLVMValueRef init[16], acc[16];
    int32_t na = mr * nv;
    for (int32_t i = 0; i < na; i++) init[i] = qc_cpu_fconst(f, W, 0.0);
    /* outer: parameter blocks of K (one for codebook / half / a staged panel) */
    int64_t KB = o->stage ? w->K : w->KB, nkb = o->stage ? 1 : w->nkb;
    carry ob;
    carry_begin(f, &ob, qc_cpu_i64(f, 0), init, na);
    LLVMValueRef k0 = LLVMBuildMul(b, ob.iv, qc_cpu_i64(f, KB), "");
    LLVMValueRef k1 = LLVMBuildAdd(b, k0, qc_cpu_i64(f, KB), "");
    k1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, k1, K, ""), k1, K, "");
    LLVMValueRef scale[2] = {NULL, NULL}, zp[2] = {NULL, NULL};
    if (w->kind == B_DQ && !o->stage) {
        LLVMValueRef blk =
            LLVMBuildAdd(b, LLVMBuildMul(b, p, qc_cpu_i64(f, w->nkb), ""), ob.iv, "");
        LLVMValueRef prm = qc_cpu_gep(f, f->i8, f->packed, qc_cpu_i64(f, (int64_t)w->prm_off));
        LLVMValueRef at = LLVMBuildMul(b, blk, qc_cpu_i64(f, 2 * w->NR), "");
        for (int32_t v = 0; v < nv; v++) {
            scale[v] = qc_cpu_loadf(f, W, prm, LLVMBuildAdd(b, at, qc_cpu_i64(f, v * W), ""));
            zp[v] = qc_cpu_loadf(f, W, prm, LLVMBuildAdd(b, at, qc_cpu_i64(f, w->NR + v * W), ""));
        }
    }
    /* inner: k in [k0, k1) */
    carry ib;
    carry_begin(f, &ib, k0, ob.phi, na);
    LLVMValueRef bv[2];
    if (o->stage) {
        LLVMValueRef at = LLVMBuildMul(b, ib.iv, qc_cpu_i64(f, w->NR), "");
        for (int32_t v = 0; v < nv; v++)
            bv[v] = qc_cpu_loadf(f, W, o->stage, LLVMBuildAdd(b, at, qc_cpu_i64(f, v * W), ""));
    } else {
        decode_row(f, w, pw, ib.iv, scale, zp, cb, bv);
    }
    for (int32_t r = 0; r < mr; r++) {
        LLVMValueRef ai = w->ta ? LLVMBuildAdd(b, LLVMBuildMul(b, ib.iv, astride, ""), arow[r], "")
                                : LLVMBuildAdd(b, arow[r], ib.iv, "");
        LLVMValueRef av = qc_cpu_splat(f, W, qc_cpu_load_as_f32(f, w->dt[0], 1, A, ai, NULL));
        for (int32_t v = 0; v < nv; v++)
            acc[r * nv + v] = qc_cpu_madd(f, av, bv[v], ib.phi[r * nv + v]);
    }
    carry_end(f, &ib, k1, acc);
    carry_end(f, &ob, qc_cpu_i64(f, nkb), acc);

    /* epilogue: alpha, beta * C, (round), the program, (round per step), store */
    LLVMValueRef n0 = LLVMBuildMul(b, p, qc_cpu_i64(f, w->NR), "");
    bool half = qc_cpu_is_half(w->io);
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < nv; v++) {
            int32_t valid = lanes - v * W;
            if (valid <= 0) continue;
            o->row = LLVMBuildAdd(b, r0, qc_cpu_i64(f, r), "");
            o->col = LLVMBuildAdd(b, n0, qc_cpu_i64(f, v * W), "");
            o->mask = valid < W ? qc_cpu_mask(f, W, valid) : NULL;
            LLVMValueRef y = acc[r * nv + v];
            if (w->alpha != 1.0f) y = LLVMBuildFMul(b, y, qc_cpu_fconst(f, W, w->alpha), "");
            if (w->c >= 0 && w->beta != 0.0f) {
                LLVMValueRef cv = load_operand(o, 2, w->c_bc, W);
                if (w->beta != 1.0f) cv = LLVMBuildFMul(b, cv, qc_cpu_fconst(f, W, w->beta), "");
                y = LLVMBuildFAdd(b, y, cv, "");
            }
            if (half && w->has_prog) {
                y = qc_cpu_round_half(f, w->io, y, W);
                for (int32_t s = 0; s < w->prog.n; s++) {
                    qc_cpu_prog one = {.n = 1, .s = {w->prog.s[s]}};
                    y = qc_cpu_prog_emit(f, &one, W, y, prog_operand, o);
                    if (s + 1 < w->prog.n) y = qc_cpu_round_half(f, w->io, y, W);
                }
            } else if (w->has_prog) {
                y = qc_cpu_prog_emit(f, &w->prog, W, y, prog_operand, o);
            }
            LLVMValueRef idx =
                LLVMBuildAdd(b, LLVMBuildMul(b, o->row, qc_cpu_i64(f, w->N), ""), o->col, "");
            qc_cpu_store_from_f32(f, w->io, W, Y, idx, y, o->mask);
        }
}

static void emit_rows(qc_cpu_fn *f, opctx *o, LLVMValueRef A, LLVMValueRef Y, LLVMValueRef r0,
                      int32_t mr) {
    const wg *w = o->w;
    int64_t full = w->N / w->NR;
    int32_t tail = (int32_t)(w->N % w->NR);
    if (full > 0) {
        qc_cpu_loop pl;
        LLVMValueRef p = qc_cpu_loop_begin(f, &pl, qc_cpu_i64(f, 0), qc_cpu_i64(f, full), 1);
        emit_block(f, o, A, Y, r0, mr, p, w->NR);
        qc_cpu_loop_end(f, &pl);
    }
    if (tail) emit_block(f, o, A, Y, r0, mr, qc_cpu_i64(f, full), tail);
}

/* Decodes panel p (all K rows) into o->stage. */
static void stage_panel(qc_cpu_fn *f, opctx *o, LLVMValueRef p) {
    const wg *w = o->w;
    LLVMBuilderRef b = f->b;
    int32_t W = w->W, nv = w->NR / W;
    LLVMValueRef K = qc_cpu_i64(f, w->K);
    LLVMValueRef pw = qc_cpu_gep(f, f->i8, f->packed,
                                 LLVMBuildMul(b, p, qc_cpu_i64(f, w->K * w->row_bytes), ""));
    LLVMValueRef cb = qc_cpu_gep(f, f->i8, f->packed, qc_cpu_i64(f, (int64_t)w->cb_off));
    carry ob;
    carry_begin(f, &ob, qc_cpu_i64(f, 0), NULL, 0);
    LLVMValueRef k0 = LLVMBuildMul(b, ob.iv, qc_cpu_i64(f, w->KB), "");
    LLVMValueRef k1 = LLVMBuildAdd(b, k0, qc_cpu_i64(f, w->KB), "");
    k1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, k1, K, ""), k1, K, "");
    LLVMValueRef scale[2] = {NULL, NULL}, zp[2] = {NULL, NULL};
    if (w->kind == B_DQ) {
        LLVMValueRef blk =
            LLVMBuildAdd(b, LLVMBuildMul(b, p, qc_cpu_i64(f, w->nkb), ""), ob.iv, "");
        LLVMValueRef prm = qc_cpu_gep(f, f->i8, f->packed, qc_cpu_i64(f, (int64_t)w->prm_off));
        LLVMValueRef at = LLVMBuildMul(b, blk, qc_cpu_i64(f, 2 * w->NR), "");
        for (int32_t v = 0; v < nv; v++) {
            scale[v] = qc_cpu_loadf(f, W, prm, LLVMBuildAdd(b, at, qc_cpu_i64(f, v * W), ""));
            zp[v] = qc_cpu_loadf(f, W, prm, LLVMBuildAdd(b, at, qc_cpu_i64(f, w->NR + v * W), ""));
        }
    }
    carry ib;
    carry_begin(f, &ib, k0, NULL, 0);
    LLVMValueRef bv[2];
    decode_row(f, w, pw, ib.iv, scale, zp, cb, bv);
    LLVMValueRef at = LLVMBuildMul(b, ib.iv, qc_cpu_i64(f, w->NR), "");
    for (int32_t v = 0; v < nv; v++)
        qc_cpu_storef(f, W, o->stage, LLVMBuildAdd(b, at, qc_cpu_i64(f, v * W), ""), bv[v]);
    carry_end(f, &ib, k1, NULL);
    carry_end(f, &ob, qc_cpu_i64(f, w->nkb), NULL);
}

/* Rows [begin, end) of one panel: blocks of MR, then single rows. */
static void emit_panel_rows(qc_cpu_fn *f, opctx *o, LLVMValueRef A, LLVMValueRef Y,
                            LLVMValueRef p, int32_t lanes) {
    qc_cpu_loop rb;
    LLVMValueRef r0 = qc_cpu_loop_begin(f, &rb, f->begin, f->end, o->w->MR);
    emit_block(f, o, A, Y, r0, o->w->MR, p, lanes);
    qc_cpu_loop_end(f, &rb);
    qc_cpu_loop r1;
    LLVMValueRef r = qc_cpu_loop_begin(f, &r1, rb.iv, f->end, 1);
    emit_block(f, o, A, Y, r, 1, p, lanes);
    qc_cpu_loop_end(f, &r1);
}

/* Panels outer: each decoded once into the stage, then every row of the
 * range runs the fp32 GEMM on it. */
static void emit_staged(qc_cpu_fn *f, opctx *o, LLVMValueRef A, LLVMValueRef Y) {
    const wg *w = o->w;
    int64_t full = w->N / w->NR;
    int32_t tail = (int32_t)(w->N % w->NR);
    if (full > 0) {
        qc_cpu_loop pl;
        LLVMValueRef p = qc_cpu_loop_begin(f, &pl, qc_cpu_i64(f, 0), qc_cpu_i64(f, full), 1);
        stage_panel(f, o, p);
        emit_panel_rows(f, o, A, Y, p, w->NR);
        qc_cpu_loop_end(f, &pl);
    }
    if (tail) {
        stage_panel(f, o, qc_cpu_i64(f, full));
        emit_panel_rows(f, o, A, Y, qc_cpu_i64(f, full), tail);
    }
}

/* The weight's kind and the node's base op from n (qc.WGemm or a half GEMM). */
static qc_status classify(const qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, wg *w,
                          qc_op *base, int32_t *n_in, qc_type *tb) {
    if (n->n_in < 2 || n->in[0] < 0 || n->in[1] < 0 || n->n_out != 1)
        return unsupported("unexpected inputs");
    const qc_value *bv = &g->values[n->in[1]];
    if (!bv->data) return unsupported("weight is not a constant (packed at compile time)");
    *tb = bv->type;
    w->io = g->values[n->out[0]].type.dtype;
    if (n->op == QC_OP_WGEMM) {
        qc_wgemm_attrs a;
        const char *why = "";
        if (!qc_wgemm_attrs_get(n, &a, &why)) return unsupported(why);
        *base = a.base;
        *n_in = a.dec;
        qc_dtype t = bv->type.dtype;
        w->kind = a.codebook ? B_CODEBOOK : B_DQ;
        if (a.codebook ? (t != QC_U8 && t != QC_U4)
                       : (t != QC_I8 && t != QC_U8 && t != QC_I4 && t != QC_U4))
            return unsupported("weight codes not u8/u4 (codebook) or i8/u8/i4/u4 (dq)");
        w->bits = t == QC_U4 || t == QC_I4 ? 4 : 8;
        tb->dtype = QC_F32;
        if (w->io != QC_F32) return unsupported("weight-only GEMM with a non-f32 output");
    } else {
        *base = n->op;
        *n_in = n->n_in;
        w->kind = B_HALF;
        w->bits = 16;
        w->KB = 0;
        if (!qc_cpu_is_half(w->io) || bv->type.dtype != w->io)
            return unsupported("not fp16 / bf16");
    }
    if (w->io == QC_F16 || (w->kind == B_HALF && bv->type.dtype == QC_F16) ||
        g->values[n->in[0]].type.dtype == QC_F16)
        if (!cg->feat.f16c) return unsupported("fp16 without f16c");
    return NULL;
}

qc_status qc_cpu_gen_wgemm(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    wg w;
    memset(&w, 0, sizeof w);
    qc_op base = QC_OP_INVALID;
    int32_t n_in = 0;
    qc_type tb;
    memset(&tb, 0, sizeof tb);
    qc_status st = classify(cg, g, n, &w, &base, &n_in, &tb);
    if (!st) st = analyze_gemm(cg, g, n, base, n_in, &tb, &w);
    if (!st && w.kind == B_HALF) w.dt[1] = tb.dtype;
    if (!st && w.kind != B_HALF && w.dt[0] != QC_F32)
        st = unsupported("weight-only GEMM, A not f32");
    if (!st && w.kind == B_HALF && w.dt[0] != w.io) st = unsupported("A and Y differ in type");
    if (!st && w.kind != B_DQ) w.KB = w.K;
    if (!st) st = pack(g, n, n_in, &w, k);
    if (st) return st;
    if (w.kind != B_DQ) w.nkb = 1;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    opctx o = {.f = &f, .w = &w};
    for (int32_t i = 0; i < n_in; i++)
        if (n->in[i] >= 0) o.ptr[i] = qc_cpu_fn_in(&f, i);
    LLVMValueRef A = o.ptr[0], Y = qc_cpu_fn_out(&f, 0);
    /* Codebook lookups (gathers, or vpermi2ps trees for > 16 entries) are
     * slow next to the FMAs they feed: a range of many rows decodes each
     * panel once into a stack buffer (L1) and reuses it for every row; a
     * few rows decode in registers. */
    bool one_permute = w.W == 16 && w.ncode <= 16;   /* decodes like int4 */
    bool staged = w.kind == B_CODEBOOK && !one_permute && w.K * w.NR * 4 <= STAGE_MAX_BYTES;
    LLVMBasicBlockRef join = NULL, regs = NULL;
    if (staged) {
        o.stage = LLVMBuildArrayAlloca(f.b, f.f32, qc_cpu_i64(&f, w.K * w.NR), "stage");
        LLVMSetAlignment(o.stage, 64);
        LLVMBasicBlockRef st_bb = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "staged");
        regs = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "regs");
        join = LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "join");
        LLVMValueRef rows = LLVMBuildSub(f.b, f.end, f.begin, "");
        LLVMValueRef min_rows = qc_cpu_i64(&f, STAGE_ROWS * w.MR);
        LLVMValueRef many = LLVMBuildICmp(f.b, LLVMIntSGE, rows, min_rows, "");
        LLVMBuildCondBr(f.b, many, st_bb, regs);
        LLVMPositionBuilderAtEnd(f.b, st_bb);
        emit_staged(&f, &o, A, Y);
        LLVMBuildBr(f.b, join);
        LLVMPositionBuilderAtEnd(f.b, regs);
        o.stage = NULL;
    }
    qc_cpu_loop rb;
    LLVMValueRef r0 = qc_cpu_loop_begin(&f, &rb, f.begin, f.end, w.MR);
    emit_rows(&f, &o, A, Y, r0, w.MR);
    qc_cpu_loop_end(&f, &rb);
    qc_cpu_loop r1;
    LLVMValueRef r = qc_cpu_loop_begin(&f, &r1, rb.iv, f.end, 1);
    emit_rows(&f, &o, A, Y, r, 1);
    qc_cpu_loop_end(&f, &r1);
    if (staged) {
        LLVMBuildBr(f.b, join);
        LLVMPositionBuilderAtEnd(f.b, join);
    }
    qc_cpu_fn_end(&f);

    k->units_a = w.m_a;
    k->units_b = w.m_b;
    int64_t per_row = w.K * w.N, rows = (65536 + per_row - 1) / per_row;
    k->grain = (rows + w.MR - 1) / w.MR * w.MR;
    /* the fp32 GEMM's estimate plus the decode, ~1 op per weight per row block */
    double padded = (double)w.K * (double)((w.N + w.NR - 1) / w.NR * w.NR);
    k->cost_ps = qc_cpu_cost_ps(padded / (2.6 * w.W) * 1e3 * (1.0 + 2.0 / w.MR) + 500.0);
    /* several row blocks per chunk, so a staged panel is reused */
    if (staged) k->grain = k->grain > STAGE_ROWS * w.MR ? k->grain : STAGE_ROWS * w.MR;
    static const char *const kinds[] = {"dq", "codebook", "half"};
    const char *what = w.kind == B_HALF ? (w.io == QC_F16 ? "f16" : "bf16") : kinds[w.kind];
    snprintf(k->variant, sizeof k->variant, "wgemm %s%s %dx%d f32x%d%s%s", what,
             w.kind == B_HALF ? "" : (w.bits == 4 ? " 4b" : " 8b"), (int)w.MR, (int)w.NR, (int)w.W,
             staged ? " staged" : "", w.has_prog ? " +epilogue" : "");
    return NULL;
}
