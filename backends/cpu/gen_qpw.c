/* gen_qpw.c — int8 pointwise (1x1, stride 1, no padding, one group)
 * convolution on NCHW tensors, vectorised over output positions.
 *
 * Per image a 1x1 conv is the GEMM Y[m][p] = sum_c W[m][c] * X[c][p] with X
 * and Y stored channel-major (positions contiguous). The im2col path
 * (gen_qconv.c) has to transpose X into position rows and store Y lane by
 * lane; mobilenet's expand / project layers spent most of their time there.
 * Here the lanes are positions instead: vpdpbusd's unsigned operand is 16
 * positions x 4 channels of X, interleaved once per block into a stack
 * scratch, and its signed operand is 4 bytes of one filter row broadcast,
 * so a register tile is R filter rows x V vectors of 16 positions, and each
 * output row of 16 positions is one 16-byte store.
 *
 * Numerics (ir/quant.h, exactly the ref's qconv.c): with x' = x (u8) or
 * x ^ 0x80 (i8, = x + 128) and za' = za (+ 128),
 *   acc[m][p] = sum_c (x - za) * w[m][c] + bias[m]
 *             = sum_c x' * w[m][c] + (bias[m] - za' * sum_c w[m][c])
 * in wrapping int32 (the second term is packed per row), then the
 * per-channel requantization, the act clamp and the store. Weights must be
 * i8 with zero points 0 (the symmetric scheme every int8 recipe uses);
 * anything else goes to the im2col path. Channels are padded to a multiple
 * of 4 with zero bytes on both sides, which adds nothing.
 *
 * Work unit: (image, block of CB filter rows, block of V * 16 positions);
 * the last position block is masked. Packed constants: wq[M][KG] (4 filter
 * bytes per k-group, as i32), comp[M] (i32), mult[M] (f32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gen_int8.h"
#include "backends/cpu/ir_util.h"
#include "ir/dtype.h"
#include "ir/quant.h"

#define PW_L 16          /* i32 lanes of a zmm */
#define PW_V 2           /* position vectors per block */
#define PW_R 12          /* filter rows per register tile (R x V = 24 accumulators) */
#define PW_RB 4          /* register tiles per unit: CB = 48 filter rows */
#define PW_KMAX 4096     /* channels: scratch = K / 4 x V x 64 bytes on the stack */

typedef struct pw {
    bool a_signed, y_signed;
    int64_t C, M, P, KG, NPB, NCB, CB;
    int64_t n_a, n_b;                 /* images = a + b * batch */
    int32_t zy, lo, hi, act_min, act_max;
    int64_t off_comp, off_mult;       /* in the packed blob */
} pw;

typedef struct pctx {
    qc_cpu_fn *f;
    const pw *d;
    LLVMTypeRef v16i8, v64i8, vi32, vf32;
    LLVMValueRef dot;                 /* llvm.x86.avx512.vpdpbusd.512 */
    LLVMTypeRef dot_ty;
    LLVMValueRef scratch;             /* [KG][V] x 64 bytes */
} pctx;

static LLVMValueRef splat32(pctx *c, LLVMValueRef s) {
    qc_cpu_fn *f = c->f;
    LLVMValueRef v = LLVMBuildInsertElement(f->b, LLVMGetUndef(c->vi32), s, qc_cpu_i32(f, 0), "");
    return LLVMBuildShuffleVector(f->b, v, LLVMGetUndef(c->vi32),
                                  LLVMConstNull(LLVMVectorType(f->i32, PW_L)), "");
}

/* 16 bytes of channel row ch (a compile-time channel index >= C reads as
 * zeros) at positions p0.. of image plane xp; `lanes` < 16 masks the tail. */
static LLVMValueRef load_row(pctx *c, LLVMValueRef xp, LLVMValueRef ch, LLVMValueRef p0,
                             int32_t lanes) {
    qc_cpu_fn *f = c->f;
    LLVMValueRef off = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, ch, qc_cpu_i64(f, c->d->P), ""), p0, "");
    LLVMValueRef p = qc_cpu_gep(f, f->i8, xp, off);
    LLVMValueRef v;
    if (lanes == PW_L) {
        v = LLVMBuildLoad2(f->b, c->v16i8, p, "");
        LLVMSetAlignment(v, 1);
    } else {
        LLVMValueRef args[4] = {p, qc_cpu_i32(f, 1), qc_cpu_mask(f, PW_L, lanes),
                                LLVMConstNull(c->v16i8)};
        v = qc_cpu_intrin2(f, "llvm.masked.load", c->v16i8, f->ptr, args, 4);
    }
    if (c->d->a_signed) {   /* x' = x + 128 as an unsigned byte */
        LLVMValueRef k[PW_L];
        for (int i = 0; i < PW_L; i++) k[i] = LLVMConstInt(f->i8, 0x80, 0);
        v = LLVMBuildXor(f->b, v, LLVMConstVector(k, PW_L), "");
        /* masked-off lanes must stay 0 (they multiply a real filter byte) */
        if (lanes < PW_L)
            v = LLVMBuildSelect(f->b, qc_cpu_mask(f, PW_L, lanes), v, LLVMConstNull(c->v16i8), "");
    }
    return v;
}

/* Interleaves 4 rows of 16 bytes into 16 lanes of 4 bytes: out[4l + j] = r_j[l]. */
static LLVMValueRef interleave4(pctx *c, LLVMValueRef r[4]) {
    qc_cpu_fn *f = c->f;
    LLVMValueRef m32[32], m64[64];
    for (int i = 0; i < 32; i++) m32[i] = qc_cpu_i32(f, i);
    LLVMValueRef ab = LLVMBuildShuffleVector(f->b, r[0], r[1], LLVMConstVector(m32, 32), "");
    LLVMValueRef cd = LLVMBuildShuffleVector(f->b, r[2], r[3], LLVMConstVector(m32, 32), "");
    for (int i = 0; i < 64; i++) m64[i] = qc_cpu_i32(f, i);
    LLVMValueRef all = LLVMBuildShuffleVector(f->b, ab, cd, LLVMConstVector(m64, 64), "");
    for (int l = 0; l < PW_L; l++)
        for (int j = 0; j < 4; j++) m64[4 * l + j] = qc_cpu_i32(f, j * 16 + l);
    return LLVMBuildShuffleVector(f->b, all, LLVMGetUndef(c->v64i8), LLVMConstVector(m64, 64), "");
}

/* scratch[kg][v] = the interleaved block of positions p0 + 16 v, for every
 * k-group; `tail` lanes in the last vector when the block is the last one. */
static void pack_block(pctx *c, LLVMValueRef xp, LLVMValueRef p0, int64_t valid) {
    qc_cpu_fn *f = c->f;
    const pw *d = c->d;
    int64_t full_kg = d->C / 4;   /* k-groups with 4 real channels */
    qc_cpu_loop kl;
    LLVMValueRef kg = qc_cpu_loop_begin(f, &kl, qc_cpu_i64(f, 0), qc_cpu_i64(f, full_kg), 1);
    for (int32_t v = 0; v < PW_V; v++) {
        int64_t lanes = valid - (int64_t)v * PW_L;
        if (lanes <= 0) break;
        if (lanes > PW_L) lanes = PW_L;
        LLVMValueRef pv = LLVMBuildAdd(f->b, p0, qc_cpu_i64(f, (int64_t)v * PW_L), "");
        LLVMValueRef r[4];
        for (int j = 0; j < 4; j++) {
            LLVMValueRef ch = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, kg, qc_cpu_i64(f, 4), ""),
                                           qc_cpu_i64(f, j), "");
            r[j] = load_row(c, xp, ch, pv, (int32_t)lanes);
        }
        LLVMValueRef at = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, kg, qc_cpu_i64(f, PW_V * 64), ""),
                                       qc_cpu_i64(f, (int64_t)v * 64), "");
        LLVMValueRef st = LLVMBuildStore(f->b, interleave4(c, r), qc_cpu_gep(f, f->i8, c->scratch, at));
        LLVMSetAlignment(st, 64);
    }
    qc_cpu_loop_end(f, &kl);
    if (d->C % 4) {   /* the last k-group: channels past C are zero bytes */
        for (int32_t v = 0; v < PW_V; v++) {
            int64_t lanes = valid - (int64_t)v * PW_L;
            if (lanes <= 0) break;
            if (lanes > PW_L) lanes = PW_L;
            LLVMValueRef pv = LLVMBuildAdd(f->b, p0, qc_cpu_i64(f, (int64_t)v * PW_L), "");
            LLVMValueRef r[4];
            for (int64_t j = 0; j < 4; j++)
                r[j] = full_kg * 4 + j < d->C
                           ? load_row(c, xp, qc_cpu_i64(f, full_kg * 4 + j), pv, (int32_t)lanes)
                           : LLVMConstNull(c->v16i8);
            int64_t at = full_kg * PW_V * 64 + (int64_t)v * 64;
            LLVMValueRef st = LLVMBuildStore(f->b, interleave4(c, r),
                                             qc_cpu_gep(f, f->i8, c->scratch, qc_cpu_i64(f, at)));
            LLVMSetAlignment(st, 64);
        }
    }
}

/* ir/quant.h's requantization of one vector of accumulators of row m, the
 * act clamp and the (masked) store at y + off. */
static void requant_store(pctx *c, LLVMValueRef acc, LLVMValueRef comp, LLVMValueRef mult,
                          LLVMValueRef yp, LLVMValueRef off, int64_t lanes) {
    qc_cpu_fn *f = c->f;
    const pw *d = c->d;
    LLVMValueRef a = LLVMBuildAdd(f->b, acc, splat32(c, comp), "");
    LLVMValueRef x = LLVMBuildFMul(f->b, LLVMBuildSIToFP(f->b, a, c->vf32, ""),
                                   qc_cpu_splat(f, PW_L, mult), "");
    x = qc_cpu_intrin(f, "llvm.roundeven", c->vf32, &x, 1);
    x = LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, ""), LLVMConstNull(c->vf32), x, "");
    LLVMValueRef flo = qc_cpu_fconst(f, PW_L, (double)((int64_t)d->lo - d->zy));
    LLVMValueRef fhi = qc_cpu_fconst(f, PW_L, (double)((int64_t)d->hi - d->zy));
    x = LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, LLVMRealOLE, x, flo, ""), flo, x, "");
    x = LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, LLVMRealOGE, x, fhi, ""), fhi, x, "");
    LLVMValueRef q = LLVMBuildAdd(f->b, LLVMBuildFPToSI(f->b, x, c->vi32, ""),
                                  splat32(c, qc_cpu_i32(f, d->zy)), "");
    if (d->act_min > d->lo) {
        LLVMValueRef m = splat32(c, qc_cpu_i32(f, d->act_min));
        q = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, q, m, ""), m, q, "");
    }
    if (d->act_max < d->hi) {
        LLVMValueRef m = splat32(c, qc_cpu_i32(f, d->act_max));
        q = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSGT, q, m, ""), m, q, "");
    }
    LLVMValueRef v = LLVMBuildTrunc(f->b, q, c->v16i8, "");
    LLVMValueRef p = qc_cpu_gep(f, f->i8, yp, off);
    if (lanes == PW_L) {
        LLVMSetAlignment(LLVMBuildStore(f->b, v, p), 1);
    } else {
        LLVMValueRef args[4] = {v, p, qc_cpu_i32(f, 1), qc_cpu_mask(f, PW_L, (int32_t)lanes)};
        qc_cpu_intrin2(f, "llvm.masked.store", c->v16i8, f->ptr, args, 4);
    }
}

/* rows filter rows from m0 (runtime) times the packed block: the k loop
 * with rows x V accumulators as phis, then the epilogue. */
static void tile(pctx *c, LLVMValueRef m0, int32_t rows, LLVMValueRef yp, LLVMValueRef p0,
                 int64_t valid) {
    qc_cpu_fn *f = c->f;
    const pw *d = c->d;
    LLVMContextRef cx = f->cg->ctx;
    int32_t nv = (int32_t)((valid + PW_L - 1) / PW_L);
    LLVMValueRef wrow[PW_R];
    for (int32_t r = 0; r < rows; r++) {
        LLVMValueRef m = LLVMBuildAdd(f->b, m0, qc_cpu_i64(f, r), "");
        wrow[r] = qc_cpu_gep(f, f->i32, f->packed, LLVMBuildMul(f->b, m, qc_cpu_i64(f, d->KG), ""));
    }
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(f->b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.k");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.kb");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.kd");
    LLVMBuildBr(f->b, head);
    LLVMPositionBuilderAtEnd(f->b, head);
    LLVMValueRef kg = LLVMBuildPhi(f->b, f->i64, "kg");
    LLVMValueRef zero64 = qc_cpu_i64(f, 0), zacc = LLVMConstNull(c->vi32);
    LLVMAddIncoming(kg, &zero64, &pre, 1);
    LLVMValueRef acc[PW_R][PW_V];
    for (int32_t r = 0; r < rows; r++)
        for (int32_t v = 0; v < nv; v++) {
            acc[r][v] = LLVMBuildPhi(f->b, c->vi32, "acc");
            LLVMAddIncoming(acc[r][v], &zacc, &pre, 1);
        }
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, kg, qc_cpu_i64(f, d->KG), ""), body, done);
    LLVMPositionBuilderAtEnd(f->b, body);
    LLVMValueRef xv[PW_V];
    for (int32_t v = 0; v < nv; v++) {
        LLVMValueRef at = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, kg, qc_cpu_i64(f, PW_V * 64), ""),
                                       qc_cpu_i64(f, (int64_t)v * 64), "");
        xv[v] = LLVMBuildLoad2(f->b, c->vi32, qc_cpu_gep(f, f->i8, c->scratch, at), "");
        LLVMSetAlignment(xv[v], 64);
    }
    LLVMValueRef next[PW_R][PW_V];
    for (int32_t r = 0; r < rows; r++) {
        LLVMValueRef w = LLVMBuildLoad2(f->b, f->i32, qc_cpu_gep(f, f->i32, wrow[r], kg), "");
        LLVMSetAlignment(w, 4);
        LLVMValueRef wb = splat32(c, w);
        for (int32_t v = 0; v < nv; v++) {
            /* vpdpbusd(acc, unsigned bytes, signed bytes): the order matters */
            LLVMValueRef args[3] = {acc[r][v], xv[v], wb};
            next[r][v] = LLVMBuildCall2(f->b, c->dot_ty, c->dot, args, 3, "");
        }
    }
    LLVMValueRef kg2 = LLVMBuildAdd(f->b, kg, qc_cpu_i64(f, 1), "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(f->b);
    LLVMAddIncoming(kg, &kg2, &from, 1);
    for (int32_t r = 0; r < rows; r++)
        for (int32_t v = 0; v < nv; v++) LLVMAddIncoming(acc[r][v], &next[r][v], &from, 1);
    LLVMBuildBr(f->b, head);
    LLVMPositionBuilderAtEnd(f->b, done);
    for (int32_t r = 0; r < rows; r++) {
        LLVMValueRef m = LLVMBuildAdd(f->b, m0, qc_cpu_i64(f, r), "");
        LLVMValueRef comp = LLVMBuildLoad2(f->b, f->i32,
            qc_cpu_gep(f, f->i32, f->packed, LLVMBuildAdd(f->b, m, qc_cpu_i64(f, d->off_comp / 4), "")), "");
        LLVMValueRef mult = LLVMBuildLoad2(f->b, f->f32,
            qc_cpu_gep(f, f->f32, f->packed, LLVMBuildAdd(f->b, m, qc_cpu_i64(f, d->off_mult / 4), "")), "");
        LLVMValueRef row = LLVMBuildMul(f->b, m, qc_cpu_i64(f, d->P), "");
        for (int32_t v = 0; v < nv; v++) {
            int64_t lanes = valid - (int64_t)v * PW_L;
            if (lanes > PW_L) lanes = PW_L;
            LLVMValueRef off = LLVMBuildAdd(f->b, row, LLVMBuildAdd(f->b, p0, qc_cpu_i64(f, (int64_t)v * PW_L), ""), "");
            requant_store(c, acc[r][v], comp, mult, yp, off, lanes);
        }
    }
}

/* One unit's work for a position block with `valid` positions: pack, then
 * the filter rows [m_lo, m_hi) in tiles of PW_R and one narrower tail tile. */
static void block(pctx *c, LLVMValueRef xp, LLVMValueRef yp, LLVMValueRef p0, LLVMValueRef cb,
                  int64_t valid) {
    qc_cpu_fn *f = c->f;
    const pw *d = c->d;
    LLVMContextRef cx = f->cg->ctx;
    pack_block(c, xp, p0, valid);
    LLVMValueRef m_lo = LLVMBuildMul(f->b, cb, qc_cpu_i64(f, d->CB), "");
    LLVMValueRef m_end = LLVMBuildAdd(f->b, m_lo, qc_cpu_i64(f, d->CB), "");
    LLVMValueRef big = LLVMBuildICmp(f->b, LLVMIntSGT, m_end, qc_cpu_i64(f, d->M), "");
    m_end = LLVMBuildSelect(f->b, big, qc_cpu_i64(f, d->M), m_end, "");
    /* full tiles: m0 + R <= m_end (qc_cpu_loop takes whole steps only) */
    qc_cpu_loop ml;
    LLVMValueRef m0 = qc_cpu_loop_begin(f, &ml, m_lo, m_end, PW_R);
    tile(c, m0, PW_R, yp, p0, valid);
    qc_cpu_loop_end(f, &ml);
    int32_t tail = (int32_t)(d->M % PW_R);   /* only the last row block has a tail (CB % R == 0) */
    if (tail) {
        LLVMBasicBlockRef t = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.mtail");
        LLVMBasicBlockRef j = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.mdone");
        LLVMValueRef start = qc_cpu_i64(f, d->M - tail);
        LLVMValueRef here = LLVMBuildAnd(f->b, LLVMBuildICmp(f->b, LLVMIntSGE, start, m_lo, ""),
                                         LLVMBuildICmp(f->b, LLVMIntSLT, start, m_end, ""), "");
        LLVMBuildCondBr(f->b, here, t, j);
        LLVMPositionBuilderAtEnd(f->b, t);
        tile(c, start, tail, yp, p0, valid);
        LLVMBuildBr(f->b, j);
        LLVMPositionBuilderAtEnd(f->b, j);
    }
}

static void emit(qc_cpu_fn *f, const pw *d) {
    pctx c = {.f = f, .d = d};
    LLVMContextRef cx = f->cg->ctx;
    c.v16i8 = LLVMVectorType(f->i8, PW_L);
    c.v64i8 = LLVMVectorType(f->i8, 64);
    c.vi32 = LLVMVectorType(f->i32, PW_L);
    c.vf32 = LLVMVectorType(f->f32, PW_L);
    unsigned id = LLVMLookupIntrinsicID("llvm.x86.avx512.vpdpbusd.512", 28);
    c.dot = LLVMGetIntrinsicDeclaration(f->cg->mod, id, NULL, 0);
    c.dot_ty = LLVMIntrinsicGetType(cx, id, NULL, 0);
    /* the scratch lives in the entry block (one stack slot per call) */
    LLVMTypeRef st = LLVMArrayType2(f->i8, (uint64_t)(d->KG * PW_V * 64));
    c.scratch = LLVMBuildAlloca(f->b, st, "pw.scratch");
    LLVMSetAlignment(c.scratch, 64);
    LLVMValueRef x = qc_cpu_fn_in(f, 0), y = qc_cpu_fn_out(f, 0);
    int64_t per_img = d->NCB * d->NPB, pblk = (int64_t)PW_V * PW_L;
    int64_t last_valid = d->P - (d->NPB - 1) * pblk;
    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(f, &ul, f->begin, f->end, 1);
    LLVMValueRef img = LLVMBuildSDiv(f->b, u, qc_cpu_i64(f, per_img), "");
    LLVMValueRef rem = LLVMBuildSRem(f->b, u, qc_cpu_i64(f, per_img), "");
    LLVMValueRef cb = LLVMBuildSDiv(f->b, rem, qc_cpu_i64(f, d->NPB), "");
    LLVMValueRef pb = LLVMBuildSRem(f->b, rem, qc_cpu_i64(f, d->NPB), "");
    LLVMValueRef xp = qc_cpu_gep(f, f->i8, x, LLVMBuildMul(f->b, img, qc_cpu_i64(f, d->C * d->P), ""));
    LLVMValueRef yp = qc_cpu_gep(f, f->i8, y, LLVMBuildMul(f->b, img, qc_cpu_i64(f, d->M * d->P), ""));
    LLVMValueRef p0 = LLVMBuildMul(f->b, pb, qc_cpu_i64(f, pblk), "");
    if (last_valid == pblk) {
        block(&c, xp, yp, p0, cb, pblk);
    } else {
        LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.full");
        LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.part");
        LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.join");
        LLVMValueRef is_last = LLVMBuildICmp(f->b, LLVMIntEQ, pb, qc_cpu_i64(f, d->NPB - 1), "");
        LLVMBuildCondBr(f->b, is_last, part, full);
        LLVMPositionBuilderAtEnd(f->b, full);
        block(&c, xp, yp, p0, cb, pblk);
        LLVMBuildBr(f->b, join);
        LLVMPositionBuilderAtEnd(f->b, part);
        block(&c, xp, yp, p0, cb, last_valid);
        LLVMBuildBr(f->b, join);
        LLVMPositionBuilderAtEnd(f->b, join);
    }
    qc_cpu_loop_end(f, &ul);
}

/* Whether node n is a conv this kernel takes; fills *d and the packed blob.
 * QC_ERR_UNSUPPORTED (with a reason) otherwise. */
static qc_status analyze(qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, pw *d, uint8_t **blob,
                         size_t *blob_len) {
    memset(d, 0, sizeof *d);
    *blob = NULL;
    if (n->op != QC_OP_QCONV && n->op != QC_OP_QLINEAR_CONV)
        return qc_error(QC_ERR_UNSUPPORTED, "not a QConv / QLinearConv");
    if (!cg->feat.avx512vnni || !cg->feat.avx512bw)
        return qc_error(QC_ERR_UNSUPPORTED, "needs avx512vnni + avx512bw");
    if (n->n_in < 8 || n->n_out != 1 || n->in[0] < 0) return qc_error(QC_ERR_UNSUPPORTED, "inputs");
    const qc_type *xt = &g->values[n->in[0]].type, *yt = &g->values[n->out[0]].type;
    const qc_value *wv = qc_i8_const_in(g, n, 3);
    if (!wv || wv->type.rank != 4 || xt->rank != 4 || yt->rank != 4)
        return qc_error(QC_ERR_UNSUPPORTED, "not a 2-D conv with constant weights");
    if (wv->type.dims[2] != 1 || wv->type.dims[3] != 1 || qc_attr_int(n, "group", 1) != 1)
        return qc_error(QC_ERR_UNSUPPORTED, "not a 1x1 conv of one group");
    const qc_attr *a = qc_node_attr(n, "strides");
    for (int32_t i = 0; a && i < a->n; i++)
        if (a->ints[i] != 1) return qc_error(QC_ERR_UNSUPPORTED, "strided");
    a = qc_node_attr(n, "pads");
    for (int32_t i = 0; a && i < a->n; i++)
        if (a->ints[i] != 0) return qc_error(QC_ERR_UNSUPPORTED, "padded");
    const char *ap = qc_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        return qc_error(QC_ERR_UNSUPPORTED, "auto_pad");   /* SAME on 1x1 pads nothing, but keep it simple */
    if ((xt->dtype != QC_U8 && xt->dtype != QC_I8) || (yt->dtype != QC_U8 && yt->dtype != QC_I8) ||
        wv->type.dtype != QC_I8)
        return qc_error(QC_ERR_UNSUPPORTED, "types (x, y u8/i8; w i8)");
    for (int32_t k = 1; k < 4; k++)
        if (xt->dims[k] == QC_DIM_SYM || yt->dims[k] == QC_DIM_SYM)
            return qc_error(QC_ERR_UNSUPPORTED, "symbolic non-batch dim");
    d->C = xt->dims[1];
    d->M = wv->type.dims[0];
    d->P = xt->dims[2] * xt->dims[3];
    if (wv->type.dims[1] != d->C || yt->dims[1] != d->M || yt->dims[2] != xt->dims[2] ||
        yt->dims[3] != xt->dims[3])
        return qc_error(QC_ERR_UNSUPPORTED, "shapes");
    if (d->C < 1 || d->C > PW_KMAX || d->M < 1 || d->P < 1)
        return qc_error(QC_ERR_UNSUPPORTED, "sizes");
    bool sym = xt->dims[0] == QC_DIM_SYM;
    d->n_a = sym ? 0 : xt->dims[0];
    d->n_b = sym ? 1 : 0;
    d->KG = (d->C + 3) / 4;
    d->NPB = (d->P + PW_V * PW_L - 1) / (PW_V * PW_L);
    d->CB = (int64_t)PW_R * PW_RB;
    d->NCB = (d->M + d->CB - 1) / d->CB;
    d->a_signed = xt->dtype == QC_I8;
    d->y_signed = yt->dtype == QC_I8;
    const float *sa, *sw, *sy;
    int64_t nsa, nsw, nsy, nza, nzw, nzy;
    int32_t *za = NULL, *zw = NULL, *zy = NULL;
    qc_status st = qc_i8_scale(g, n, 1, "x_scale", 0, &sa, &nsa);
    if (!st) st = qc_i8_scale(g, n, 4, "w_scale", d->M, &sw, &nsw);
    if (!st) st = qc_i8_scale(g, n, 6, "y_scale", 0, &sy, &nsy);
    if (!st) st = qc_i8_zero_point(g, n, 2, "x_zero_point", 0, &za, &nza);
    if (!st) st = qc_i8_zero_point(g, n, 5, "w_zero_point", d->M, &zw, &nzw);
    if (!st) st = qc_i8_zero_point(g, n, 7, "y_zero_point", 0, &zy, &nzy);
    if (!st) st = qc_i8_clamp_attrs(n, &d->act_min, &d->act_max);
    for (int64_t i = 0; !st && zw && i < nzw; i++)
        if (zw[i]) st = qc_error(QC_ERR_UNSUPPORTED, "weight zero point not 0");
    const int32_t *bias = NULL;
    if (!st && n->n_in > 8 && n->in[8] >= 0) {
        const qc_value *bv = qc_i8_const_in(g, n, 8);
        if (!bv || bv->type.dtype != QC_I32 || qc_type_numel(&bv->type) != d->M)
            st = qc_error(QC_ERR_UNSUPPORTED, "bias must be a constant i32[M]");
        else bias = bv->data;
    }
    d->off_comp = d->M * d->KG * 4;
    d->off_mult = d->off_comp + d->M * 4;
    *blob_len = (size_t)(d->off_mult + d->M * 4);
    if (!st && !(*blob = calloc(1, *blob_len))) st = qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st) {
        int64_t lo, hi;
        qc_dtype_int_range(yt->dtype, &lo, &hi);
        d->lo = (int32_t)lo, d->hi = (int32_t)hi;
        d->zy = zy ? zy[0] : 0;
        uint32_t za1 = (uint32_t)(za ? za[0] : 0) + (d->a_signed ? 128u : 0u);
        const int8_t *w = wv->data;
        uint8_t *wq = *blob;
        uint32_t *comp = (uint32_t *)(*blob + d->off_comp);
        float *mult = (float *)(*blob + d->off_mult);
        for (int64_t m = 0; m < d->M; m++) {
            uint32_t sum = 0;
            for (int64_t ch = 0; ch < d->C; ch++) {
                wq[m * d->KG * 4 + ch] = (uint8_t)w[m * d->C + ch];
                sum += (uint32_t)(int32_t)w[m * d->C + ch];
            }
            /* wrapping int32, as the accumulation */
            comp[m] = (uint32_t)(bias ? bias[m] : 0) - za1 * sum;
            mult[m] = qc_requant_multiplier(sa[0], sw[nsw == 1 ? 0 : m], sy[0]);
        }
    }
    free(za);
    free(zw);
    free(zy);
    if (st) {
        free(*blob);
        *blob = NULL;
    }
    return st;
}

qc_status qc_cpu_gen_qpw(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    pw d;
    uint8_t *blob = NULL;
    size_t len = 0;
    qc_status st = analyze(cg, g, n, &d, &blob, &len);
    if (st) return st;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    emit(&f, &d);
    qc_cpu_fn_end(&f);
    k->packed = blob;
    k->packed_len = len;
    int64_t per_img = d.NCB * d.NPB;
    k->units_a = d.n_a * per_img;
    k->units_b = d.n_b * per_img;
    /* ps per unit: CB x 32 x 4 KG multiply-adds at ~60 per ns (16 lanes x 4
     * bytes, about one vpdpbusd per cycle), ~4 ns per k-group of packing and
     * ~3 ns per output vector of epilogue (a model, not a measurement) */
    double macs = (double)d.CB * PW_V * PW_L * 4.0 * (double)d.KG;
    double ps = macs / 60.0 * 1000.0 + (double)d.KG * 4000.0 + (double)d.CB * PW_V * 3000.0;
    k->cost_ps = qc_cpu_cost_ps(ps);
    k->grain = ps >= 200000.0 ? 1 : (int64_t)(200000.0 / ps) + 1;
    snprintf(k->variant, sizeof k->variant, "qpointwise avx512vnni %dx%d", PW_R, PW_V * PW_L);
    return NULL;
}
