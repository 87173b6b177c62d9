/* gen_qpw.c — int8 convolutions on NCHW tensors vectorised over output
 * positions: the pointwise kernel (1x1, stride 1, no padding) and the
 * direct kernel (any kernel size, stride 1, any padding / dilation), both
 * for one group.
 *
 * The im2col path (gen_qconv.c) has to transpose X into position rows and
 * store Y lane by lane. Here the lanes are positions instead: vpdpbusd's
 * unsigned operand is 16 positions x 4 input channels of X, interleaved once
 * into a stack scratch, and its signed operand is 4 bytes of one filter
 * broadcast, so a register tile is R filters x V vectors of 16 positions
 * and each output row of 16 positions is one 16-byte store.
 *
 *   pointwise: per image the GEMM Y[m][p] = sum_c W[m][c] X[c][p]; a unit
 *     interleaves a block of V * 16 flattened positions (the last block is
 *     masked), so 7x7 maps fill the lanes too.
 *   direct: a unit is one output row; it interleaves the KH input rows its
 *     window reads, padded: scratch[kh][kg][iw'] holds 4 channel bytes of
 *     column iw' - pad_left, so the operand of tap (kh, kw) for positions
 *     ow.. is one unaligned 64-byte load at iw' = ow + kw * dil. Padding
 *     columns and window rows outside the input hold x's zero point.
 *
 * Numerics (ir/quant.h, exactly the ref's qconv.c): with x' = x (u8) or
 * x ^ 0x80 (i8, = x + 128) and za' = za (+ 128),
 *   acc[m][p] = sum_taps (x - za) * w + bias[m]
 *             = sum_taps x' * w + (bias[m] - za' * sum_taps w)
 * in wrapping int32: a padding tap reads x' = za' and adds za' * w, which the
 * per-filter constant takes away again, exactly as the ref skips it. Then
 * the per-channel requantization, the act clamp and the store. Weights must
 * be i8 with zero points 0 (the symmetric scheme every int8 recipe uses);
 * anything else goes to the im2col path. Channels are padded to a multiple
 * of 4 with zero filter bytes, which add nothing.
 *
 * Packed constants: wq[M][KG][T] (4 filter bytes per k-group and tap, as
 * i32), comp[M] (i32), mult[M] (f32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gen_int8.h"
#include "backends/cpu/ir_util.h"
#include "ir/dtype.h"
#include "ir/quant.h"
#include "ops/infer_nn.h"

#define PW_L 16          /* i32 lanes of a zmm */
#define PW_V 2           /* position vectors per block */
#define PW_R 12          /* filter rows per register tile (R x V = 24 accumulators) */
#define PW_RB 4           /* pointwise: register tiles per unit (48 filters) */
#define PW_KMAX 4096     /* channels: scratch = K / 4 x V x 64 bytes on the stack */
#define PW_SCRATCH_MAX (192 * 1024)   /* direct: bytes of interleaved rows on the stack */

typedef struct pw {
    bool a_signed, y_signed, direct;
    int64_t C, M, P, KG, NPB, NCB, CB;
    /* direct: geometry, taps T = KH * KW, padded scratch row of WS columns */
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pwl, T, WS, NOB;
    int32_t za1;                      /* za' as a byte (the padding value) */
    /* grid (direct, stride 1, short rows): the padded image as one flat row
     * of RG rows x WG columns, positions q = oh * WG + ow computed on it */
    bool grid;
    int64_t WG, RG, Q, NQB, SG;
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
    int64_t ystride;                  /* bytes between filters' outputs at yp */
} pctx;

static LLVMValueRef splat32(pctx *c, LLVMValueRef s) { return qc_cpu_splat(c->f, PW_L, s); }

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

/* The operand of k-group kg, tap t, vector v: pointwise, the block's
 * interleaved vector; direct, 16 positions from column ow0 + 16 v of the
 * tap's padded row. */
static LLVMValueRef operand(pctx *c, LLVMValueRef kg, int64_t t, int32_t v, LLVMValueRef ow0) {
    qc_cpu_fn *f = c->f;
    const pw *d = c->d;
    LLVMValueRef at;
    unsigned align = 64;
    if (!d->direct) {
        at = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, kg, qc_cpu_i64(f, PW_V * 64), ""),
                          qc_cpu_i64(f, (int64_t)v * 64), "");
    } else if (d->grid) {
        /* position q0 + 16 v + the tap's flat shift on the padded grid */
        int64_t kh = t / d->KW, kw = t % d->KW;
        LLVMValueRef col = LLVMBuildAdd(f->b, ow0, qc_cpu_i64(f, (int64_t)v * PW_L + kh * d->dh * d->WG + kw * d->dw), "");
        at = LLVMBuildMul(f->b, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, kg, qc_cpu_i64(f, d->SG), ""), col, ""),
                          qc_cpu_i64(f, 4), "");
        align = 4;
    } else {
        /* column kw * dil of the padded row is phase (kw * dil) % s, column
         * (kw * dil) / s of that phase */
        int64_t kh = t / d->KW, kw = t % d->KW, ph = kw * d->dw % d->sw, pc = kw * d->dw / d->sw;
        LLVMValueRef row = LLVMBuildAdd(f->b, qc_cpu_i64(f, (kh * d->sw + ph) * d->KG), kg, "");
        LLVMValueRef col = LLVMBuildAdd(f->b, ow0, qc_cpu_i64(f, (int64_t)v * PW_L + pc), "");
        at = LLVMBuildMul(f->b, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, row, qc_cpu_i64(f, d->WS), ""), col, ""),
                          qc_cpu_i64(f, 4), "");
        align = 4;
    }
    LLVMValueRef x = LLVMBuildLoad2(f->b, c->vi32, qc_cpu_gep(f, f->i8, c->scratch, at), "");
    LLVMSetAlignment(x, align);
    return x;
}

/* rows filters from m0 (runtime) over the scratch: the k-group loop (taps
 * unrolled inside) with rows x V accumulators as phis, then the epilogue;
 * outputs go to y + m * P + p0 + 16 v, `valid` positions from p0. */
static void tile(pctx *c, LLVMValueRef m0, int32_t rows, LLVMValueRef yp, LLVMValueRef p0,
                 int64_t valid, LLVMValueRef ow0) {
    qc_cpu_fn *f = c->f;
    const pw *d = c->d;
    LLVMContextRef cx = f->cg->ctx;
    int32_t nv = (int32_t)((valid + PW_L - 1) / PW_L);
    LLVMValueRef wrow[PW_R];
    for (int32_t r = 0; r < rows; r++) {
        LLVMValueRef m = LLVMBuildAdd(f->b, m0, qc_cpu_i64(f, r), "");
        wrow[r] = qc_cpu_gep(f, f->i32, f->packed, LLVMBuildMul(f->b, m, qc_cpu_i64(f, d->KG * d->T), ""));
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
    LLVMValueRef next[PW_R][PW_V];
    for (int32_t r = 0; r < rows; r++)
        for (int32_t v = 0; v < nv; v++) next[r][v] = acc[r][v];
    LLVMValueRef wk = LLVMBuildMul(f->b, kg, qc_cpu_i64(f, d->T), "");
    for (int64_t t = 0; t < d->T; t++) {
        LLVMValueRef xv[PW_V];
        for (int32_t v = 0; v < nv; v++) xv[v] = operand(c, kg, t, v, ow0);
        LLVMValueRef wi = LLVMBuildAdd(f->b, wk, qc_cpu_i64(f, t), "");
        for (int32_t r = 0; r < rows; r++) {
            LLVMValueRef w = LLVMBuildLoad2(f->b, f->i32, qc_cpu_gep(f, f->i32, wrow[r], wi), "");
            LLVMSetAlignment(w, 4);
            LLVMValueRef wb = splat32(c, w);
            for (int32_t v = 0; v < nv; v++) {
                /* vpdpbusd(acc, unsigned bytes, signed bytes): the order matters */
                LLVMValueRef args[3] = {next[r][v], xv[v], wb};
                next[r][v] = LLVMBuildCall2(f->b, c->dot_ty, c->dot, args, 3, "");
            }
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
        LLVMValueRef row = LLVMBuildMul(f->b, m, qc_cpu_i64(f, c->ystride), "");
        for (int32_t v = 0; v < nv; v++) {
            int64_t lanes = valid - (int64_t)v * PW_L;
            if (lanes > PW_L) lanes = PW_L;
            LLVMValueRef off = LLVMBuildAdd(f->b, row, LLVMBuildAdd(f->b, p0, qc_cpu_i64(f, (int64_t)v * PW_L), ""), "");
            requant_store(c, acc[r][v], comp, mult, yp, off, lanes);
        }
    }
}

/* The filters of row block cb over the packed scratch: tiles of PW_R and
 * one narrower tail tile. */
static void filters(pctx *c, LLVMValueRef yp, LLVMValueRef p0, LLVMValueRef cb, int64_t valid,
                    LLVMValueRef ow0) {
    qc_cpu_fn *f = c->f;
    const pw *d = c->d;
    LLVMContextRef cx = f->cg->ctx;
    LLVMValueRef m_lo = LLVMBuildMul(f->b, cb, qc_cpu_i64(f, d->CB), "");
    LLVMValueRef m_end = LLVMBuildAdd(f->b, m_lo, qc_cpu_i64(f, d->CB), "");
    LLVMValueRef big = LLVMBuildICmp(f->b, LLVMIntSGT, m_end, qc_cpu_i64(f, d->M), "");
    m_end = LLVMBuildSelect(f->b, big, qc_cpu_i64(f, d->M), m_end, "");
    /* full tiles: m0 + R <= m_end (qc_cpu_loop takes whole steps only) */
    qc_cpu_loop ml;
    LLVMValueRef m0 = qc_cpu_loop_begin(f, &ml, m_lo, m_end, PW_R);
    tile(c, m0, PW_R, yp, p0, valid, ow0);
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
        tile(c, start, tail, yp, p0, valid, ow0);
        LLVMBuildBr(f->b, j);
        LLVMPositionBuilderAtEnd(f->b, j);
    }
}

/* Types, the intrinsic, and the scratch of `bytes` in the entry block (one
 * stack slot per call). */
static void ctx_init(pctx *c, qc_cpu_fn *f, const pw *d, int64_t bytes) {
    memset(c, 0, sizeof *c);
    c->f = f;
    c->d = d;
    c->v16i8 = LLVMVectorType(f->i8, PW_L);
    c->v64i8 = LLVMVectorType(f->i8, 64);
    c->vi32 = LLVMVectorType(f->i32, PW_L);
    c->vf32 = LLVMVectorType(f->f32, PW_L);
    unsigned id = LLVMLookupIntrinsicID("llvm.x86.avx512.vpdpbusd.512", 28);
    c->dot = LLVMGetIntrinsicDeclaration(f->cg->mod, id, NULL, 0);
    c->dot_ty = LLVMIntrinsicGetType(f->cg->ctx, id, NULL, 0);
    c->scratch = LLVMBuildAlloca(f->b, LLVMArrayType2(f->i8, (uint64_t)bytes), "pw.scratch");
    LLVMSetAlignment(c->scratch, 64);
    c->ystride = d->P;
}

static void emit_pointwise(qc_cpu_fn *f, const pw *d) {
    pctx c;
    ctx_init(&c, f, d, d->KG * PW_V * 64);
    LLVMContextRef cx = f->cg->ctx;
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
        pack_block(&c, xp, p0, pblk);
        filters(&c, yp, p0, cb, pblk, NULL);
    } else {
        LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.full");
        LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.part");
        LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.join");
        LLVMValueRef is_last = LLVMBuildICmp(f->b, LLVMIntEQ, pb, qc_cpu_i64(f, d->NPB - 1), "");
        LLVMBuildCondBr(f->b, is_last, part, full);
        LLVMPositionBuilderAtEnd(f->b, full);
        pack_block(&c, xp, p0, pblk);
        filters(&c, yp, p0, cb, pblk, NULL);
        LLVMBuildBr(f->b, join);
        LLVMPositionBuilderAtEnd(f->b, part);
        pack_block(&c, xp, p0, last_valid);
        filters(&c, yp, p0, cb, last_valid, NULL);
        LLVMBuildBr(f->b, join);
        LLVMPositionBuilderAtEnd(f->b, join);
    }
    qc_cpu_loop_end(f, &ul);
}

/* ---- direct: one output row per unit --------------------------------------------- */

/* The interleaved 64 bytes of k-group kg under 16 padded columns: per
 * channel 4 kg + j, n = 16 s input bytes from column `start` of row xrow
 * (lanes outside `mask` read the raw byte that flips to za'; a channel past
 * C reads nothing, its filter bytes are 0), every s-th byte kept, flipped
 * for i8 x. */
static LLVMValueRef channels4(pctx *c, LLVMValueRef xrow, LLVMValueRef kg, LLVMValueRef start,
                              LLVMValueRef mask, int32_t n) {
    qc_cpu_fn *f = c->f;
    LLVMBuilderRef b = f->b;
    const pw *d = c->d;
    int32_t s = n / PW_L;
    LLVMTypeRef vn = LLVMVectorType(f->i8, (unsigned)n);
    LLVMValueRef zv[64], k80[PW_L], pick[PW_L];
    for (int i = 0; i < n; i++) zv[i] = LLVMConstInt(f->i8, (unsigned)(d->za1 ^ (d->a_signed ? 0x80 : 0)), 0);
    for (int i = 0; i < PW_L; i++) {
        k80[i] = LLVMConstInt(f->i8, 0x80, 0);
        pick[i] = qc_cpu_i32(f, i * s);
    }
    LLVMValueRef r[4];
    for (int64_t j = 0; j < 4; j++) {
        LLVMValueRef ch = LLVMBuildAdd(b, LLVMBuildMul(b, kg, qc_cpu_i64(f, 4), ""), qc_cpu_i64(f, j), "");
        LLVMValueRef real = LLVMBuildICmp(b, LLVMIntSLT, ch, qc_cpu_i64(f, d->C), "");
        LLVMValueRef m = LLVMBuildSelect(b, real, mask, LLVMConstNull(LLVMTypeOf(mask)), "");
        LLVMValueRef off = LLVMBuildAdd(b, LLVMBuildMul(b, ch, qc_cpu_i64(f, d->H * d->W), ""), start, "");
        LLVMValueRef args[4] = {qc_cpu_gep(f, f->i8, xrow, off), qc_cpu_i32(f, 1), m,
                                LLVMConstVector(zv, (unsigned)n)};
        LLVMValueRef v = qc_cpu_intrin2(f, "llvm.masked.load", vn, f->ptr, args, 4);
        if (s > 1) v = LLVMBuildShuffleVector(b, v, LLVMGetUndef(vn), LLVMConstVector(pick, PW_L), "");
        if (d->a_signed) v = LLVMBuildXor(b, v, LLVMConstVector(k80, PW_L), "");
        r[j] = v;
    }
    return interleave4(c, r);
}

/* scratch[kh] for output row oh: window row ih = oh * sh - ph + kh * dh,
 * padded with za' (all za' when ih is outside), split into its s column
 * phases: scratch[kh][p][kg][j] holds the 4 channel bytes of padded column
 * s * j + p, so each tap's operand is one contiguous load (docs above). */
static void pack_rows(pctx *c, LLVMValueRef xp, LLVMValueRef oh) {
    qc_cpu_fn *f = c->f;
    LLVMBuilderRef b = f->b;
    const pw *d = c->d;
    LLVMContextRef cx = f->cg->ctx;
    int32_t n = (int32_t)(PW_L * d->sw);   /* input bytes under 16 phase columns */
    LLVMValueRef z64[64];
    for (int i = 0; i < 64; i++) z64[i] = LLVMConstInt(f->i8, (unsigned)d->za1, 0);
    LLVMValueRef zfill = LLVMConstVector(z64, 64);
    int64_t row_bytes = d->sw * d->KG * d->WS * 4;
    for (int64_t kh = 0; kh < d->KH; kh++) {
        LLVMValueRef ih = LLVMBuildAdd(b, LLVMBuildMul(b, oh, qc_cpu_i64(f, d->sh), ""),
                                       qc_cpu_i64(f, kh * d->dh - d->ph), "");
        LLVMValueRef in = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, ih, qc_cpu_i64(f, 0), ""),
                                       LLVMBuildICmp(b, LLVMIntSLT, ih, qc_cpu_i64(f, d->H), ""), "");
        LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.row");
        LLVMBasicBlockRef no = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.padrow");
        LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(cx, f->fn, "pw.rowdone");
        LLVMBuildCondBr(b, in, yes, no);
        /* outside: za' everywhere */
        LLVMPositionBuilderAtEnd(b, no);
        qc_cpu_loop fl;
        LLVMValueRef o = qc_cpu_loop_begin(f, &fl, qc_cpu_i64(f, kh * row_bytes),
                                           qc_cpu_i64(f, (kh + 1) * row_bytes), 64);
        LLVMSetAlignment(LLVMBuildStore(b, zfill, qc_cpu_gep(f, f->i8, c->scratch, o)), 64);
        qc_cpu_loop_end(f, &fl);
        LLVMBuildBr(b, next);
        /* inside: per phase, k-group and 16 phase columns, 4 channel rows */
        LLVMPositionBuilderAtEnd(b, yes);
        LLVMValueRef xrow = qc_cpu_gep(f, f->i8, xp, LLVMBuildMul(b, ih, qc_cpu_i64(f, d->W), ""));
        for (int64_t p = 0; p < d->sw; p++) {
            qc_cpu_loop kl;
            LLVMValueRef kg = qc_cpu_loop_begin(f, &kl, qc_cpu_i64(f, 0), qc_cpu_i64(f, d->KG), 1);
            qc_cpu_loop cl;
            LLVMValueRef jb = qc_cpu_loop_begin(f, &cl, qc_cpu_i64(f, 0), qc_cpu_i64(f, d->WS), PW_L);
            /* input column of lane 0: padded column s * jb + p, minus the left pad */
            LLVMValueRef start = LLVMBuildAdd(b, LLVMBuildMul(b, jb, qc_cpu_i64(f, d->sw), ""),
                                              qc_cpu_i64(f, p - d->pwl), "");
            LLVMValueRef mask = qc_cpu_range_mask(f, start, d->W, n);
            LLVMValueRef v = channels4(c, xrow, kg, start, mask, n);
            LLVMValueRef plane = LLVMBuildAdd(b, qc_cpu_i64(f, (kh * d->sw + p) * d->KG), kg, "");
            LLVMValueRef at = LLVMBuildMul(b, LLVMBuildAdd(b, LLVMBuildMul(b, plane, qc_cpu_i64(f, d->WS), ""), jb, ""),
                                           qc_cpu_i64(f, 4), "");
            LLVMSetAlignment(LLVMBuildStore(b, v, qc_cpu_gep(f, f->i8, c->scratch, at)), 64);
            qc_cpu_loop_end(f, &cl);
            qc_cpu_loop_end(f, &kl);
        }
        LLVMBuildBr(b, next);
        LLVMPositionBuilderAtEnd(b, next);
    }
}

static void emit_direct(qc_cpu_fn *f, const pw *d) {
    pctx c;
    ctx_init(&c, f, d, d->KH * d->sw * d->KG * d->WS * 4);
    LLVMContextRef cx = f->cg->ctx;
    LLVMBuilderRef b = f->b;
    LLVMValueRef x = qc_cpu_fn_in(f, 0), y = qc_cpu_fn_out(f, 0);
    int64_t per_img = d->OH * d->NCB, oblk = (int64_t)PW_V * PW_L;
    int64_t last_valid = d->OW - (d->NOB - 1) * oblk;
    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(f, &ul, f->begin, f->end, 1);
    LLVMValueRef img = LLVMBuildSDiv(b, u, qc_cpu_i64(f, per_img), "");
    LLVMValueRef rem = LLVMBuildSRem(b, u, qc_cpu_i64(f, per_img), "");
    LLVMValueRef cb = LLVMBuildSDiv(b, rem, qc_cpu_i64(f, d->OH), "");
    LLVMValueRef oh = LLVMBuildSRem(b, rem, qc_cpu_i64(f, d->OH), "");
    LLVMValueRef xp = qc_cpu_gep(f, f->i8, x, LLVMBuildMul(b, img, qc_cpu_i64(f, d->C * d->H * d->W), ""));
    LLVMValueRef yp = qc_cpu_gep(f, f->i8, y, LLVMBuildMul(b, img, qc_cpu_i64(f, d->M * d->P), ""));
    pack_rows(&c, xp, oh);
    LLVMValueRef yrow = LLVMBuildMul(b, oh, qc_cpu_i64(f, d->OW), "");
    /* whole blocks of 32 columns, then the last (compile-time width) */
    if (d->NOB > 1) {
        qc_cpu_loop ol;
        LLVMValueRef ow0 = qc_cpu_loop_begin(f, &ol, qc_cpu_i64(f, 0), qc_cpu_i64(f, (d->NOB - 1) * oblk), oblk);
        filters(&c, yp, LLVMBuildAdd(b, yrow, ow0, ""), cb, oblk, ow0);
        qc_cpu_loop_end(f, &ol);
    }
    LLVMValueRef ow0 = qc_cpu_i64(f, (d->NOB - 1) * oblk);
    filters(&c, yp, LLVMBuildAdd(b, yrow, ow0, ""), cb, last_valid, ow0);
    (void)cx;
    qc_cpu_loop_end(f, &ul);
}

/* ---- grid: the direct kernel for short rows ---------------------------------------
 *
 * A 7-wide map fills 7 of a vector's 16 lanes row by row. On the padded
 * grid (rows -ph .. OH - 1 - ph + (KH - 1) dh of the input, WG = OW +
 * (KW - 1) dil columns each, as one flat row per k-group) output (oh, ow) is
 * flat position q = oh * WG + ow and its tap (kh, kw) reads q + kh dh WG +
 * kw dil, so vectors run over q across rows; the WG - OW columns per row
 * that are not outputs are computed and dropped. A unit is (image, filter
 * block): it packs the whole padded image, computes its filters into a
 * stack staging area, then copies each output row out. */

static void pack_grid(pctx *c, LLVMValueRef xp) {
    qc_cpu_fn *f = c->f;
    LLVMBuilderRef b = f->b;
    const pw *d = c->d;
    qc_cpu_loop kl;
    LLVMValueRef kg = qc_cpu_loop_begin(f, &kl, qc_cpu_i64(f, 0), qc_cpu_i64(f, d->KG), 1);
    /* rows in order: a block's columns past WG spill into the next row's
     * start, which that row then writes over (and the last into the slack) */
    qc_cpu_loop rl;
    LLVMValueRef r = qc_cpu_loop_begin(f, &rl, qc_cpu_i64(f, 0), qc_cpu_i64(f, d->RG), 1);
    LLVMValueRef ih = LLVMBuildSub(b, r, qc_cpu_i64(f, d->ph), "");
    LLVMValueRef in = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, ih, qc_cpu_i64(f, 0), ""),
                                   LLVMBuildICmp(b, LLVMIntSLT, ih, qc_cpu_i64(f, d->H), ""), "");
    LLVMValueRef ihc = LLVMBuildSelect(b, in, ih, qc_cpu_i64(f, 0), "");
    LLVMValueRef xrow = qc_cpu_gep(f, f->i8, xp, LLVMBuildMul(b, ihc, qc_cpu_i64(f, d->W), ""));
    qc_cpu_loop cl;
    LLVMValueRef jb = qc_cpu_loop_begin(f, &cl, qc_cpu_i64(f, 0), qc_cpu_i64(f, (d->WG + PW_L - 1) / PW_L * PW_L), PW_L);
    LLVMValueRef start = LLVMBuildSub(b, jb, qc_cpu_i64(f, d->pwl), "");
    LLVMValueRef mask = qc_cpu_range_mask(f, start, d->W, PW_L);
    mask = LLVMBuildSelect(b, in, mask, LLVMConstNull(LLVMTypeOf(mask)), "");   /* a padding row: all za' */
    LLVMValueRef v = channels4(c, xrow, kg, start, mask, PW_L);
    LLVMValueRef flat = LLVMBuildAdd(b, LLVMBuildMul(b, r, qc_cpu_i64(f, d->WG), ""), jb, "");
    LLVMValueRef at = LLVMBuildMul(b, LLVMBuildAdd(b, LLVMBuildMul(b, kg, qc_cpu_i64(f, d->SG), ""), flat, ""),
                                   qc_cpu_i64(f, 4), "");
    LLVMSetAlignment(LLVMBuildStore(b, v, qc_cpu_gep(f, f->i8, c->scratch, at)), 4);
    qc_cpu_loop_end(f, &cl);
    qc_cpu_loop_end(f, &rl);
    qc_cpu_loop_end(f, &kl);
}

static void emit_grid(qc_cpu_fn *f, const pw *d) {
    pctx c;
    ctx_init(&c, f, d, d->KG * d->SG * 4);
    LLVMBuilderRef b = f->b;
    int64_t qs = d->NQB * PW_V * PW_L;   /* staging bytes per filter */
    LLVMValueRef stage = LLVMBuildAlloca(b, LLVMArrayType2(f->i8, (uint64_t)(d->CB * qs)), "pw.stage");
    LLVMSetAlignment(stage, 64);
    LLVMValueRef x = qc_cpu_fn_in(f, 0), y = qc_cpu_fn_out(f, 0);
    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(f, &ul, f->begin, f->end, 1);
    LLVMValueRef img = LLVMBuildSDiv(b, u, qc_cpu_i64(f, d->NCB), "");
    LLVMValueRef cb = LLVMBuildSRem(b, u, qc_cpu_i64(f, d->NCB), "");
    LLVMValueRef xp = qc_cpu_gep(f, f->i8, x, LLVMBuildMul(b, img, qc_cpu_i64(f, d->C * d->H * d->W), ""));
    LLVMValueRef yp = qc_cpu_gep(f, f->i8, y, LLVMBuildMul(b, img, qc_cpu_i64(f, d->M * d->P), ""));
    pack_grid(&c, xp);
    /* filter m's staged outputs at stage + (m - m_lo) * qs */
    LLVMValueRef m_lo = LLVMBuildMul(b, cb, qc_cpu_i64(f, d->CB), "");
    c.ystride = qs;
    LLVMValueRef sp = qc_cpu_gep(f, f->i8, stage, LLVMBuildNeg(b, LLVMBuildMul(b, m_lo, qc_cpu_i64(f, qs), ""), ""));
    int64_t last_valid = d->Q - (d->NQB - 1) * PW_V * PW_L;
    if (d->NQB > 1) {
        qc_cpu_loop ql;
        LLVMValueRef q0 = qc_cpu_loop_begin(f, &ql, qc_cpu_i64(f, 0), qc_cpu_i64(f, (d->NQB - 1) * PW_V * PW_L), PW_V * PW_L);
        filters(&c, sp, q0, cb, PW_V * PW_L, q0);
        qc_cpu_loop_end(f, &ql);
    }
    LLVMValueRef ql0 = qc_cpu_i64(f, (d->NQB - 1) * PW_V * PW_L);
    filters(&c, sp, ql0, cb, last_valid, ql0);
    /* copy out: row oh of filter m is stage[m - m_lo][oh * WG ..] -> y[m][oh * OW ..] */
    LLVMValueRef m_end = LLVMBuildAdd(b, m_lo, qc_cpu_i64(f, d->CB), "");
    m_end = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, m_end, qc_cpu_i64(f, d->M), ""), qc_cpu_i64(f, d->M), m_end, "");
    qc_cpu_loop ml;
    LLVMValueRef m = qc_cpu_loop_begin(f, &ml, m_lo, m_end, 1);
    qc_cpu_loop hl;
    LLVMValueRef oh = qc_cpu_loop_begin(f, &hl, qc_cpu_i64(f, 0), qc_cpu_i64(f, d->OH), 1);
    LLVMValueRef src = qc_cpu_gep(f, f->i8, sp, LLVMBuildAdd(b, LLVMBuildMul(b, m, qc_cpu_i64(f, qs), ""),
                                                              LLVMBuildMul(b, oh, qc_cpu_i64(f, d->WG), ""), ""));
    LLVMValueRef dst = qc_cpu_gep(f, f->i8, yp, LLVMBuildAdd(b, LLVMBuildMul(b, m, qc_cpu_i64(f, d->P), ""),
                                                              LLVMBuildMul(b, oh, qc_cpu_i64(f, d->OW), ""), ""));
    for (int64_t o = 0; o < d->OW; o += PW_L) {
        int64_t n = d->OW - o < PW_L ? d->OW - o : PW_L;
        LLVMValueRef mk = qc_cpu_mask(f, PW_L, (int32_t)n);
        LLVMValueRef la[4] = {qc_cpu_gep(f, f->i8, src, qc_cpu_i64(f, o)), qc_cpu_i32(f, 1), mk, LLVMConstNull(c.v16i8)};
        LLVMValueRef v = qc_cpu_intrin2(f, "llvm.masked.load", c.v16i8, f->ptr, la, 4);
        LLVMValueRef sa[4] = {v, qc_cpu_gep(f, f->i8, dst, qc_cpu_i64(f, o)), qc_cpu_i32(f, 1), mk};
        qc_cpu_intrin2(f, "llvm.masked.store", c.v16i8, f->ptr, sa, 4);
    }
    qc_cpu_loop_end(f, &hl);
    qc_cpu_loop_end(f, &ml);
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
    if (qc_attr_int(n, "group", 1) != 1) return qc_error(QC_ERR_UNSUPPORTED, "grouped");
    if ((xt->dtype != QC_U8 && xt->dtype != QC_I8) || (yt->dtype != QC_U8 && yt->dtype != QC_I8) ||
        wv->type.dtype != QC_I8)
        return qc_error(QC_ERR_UNSUPPORTED, "types (x, y u8/i8; w i8)");
    for (int32_t k = 1; k < 4; k++)
        if (xt->dims[k] == QC_DIM_SYM || yt->dims[k] == QC_DIM_SYM)
            return qc_error(QC_ERR_UNSUPPORTED, "symbolic non-batch dim");
    qc_type xs = *xt;
    if (xs.dims[0] == QC_DIM_SYM) xs.dims[0] = 1;
    qc_nn_window win;
    qc_status st = qc_nn_window_get(n, &xs, &wv->type, &win);
    if (st) return st;
    d->C = xt->dims[1];
    d->M = wv->type.dims[0];
    d->H = win.in[0], d->W = win.in[1], d->OH = win.out[0], d->OW = win.out[1];
    d->KH = win.kernel[0], d->KW = win.kernel[1], d->dh = win.dilation[0], d->dw = win.dilation[1];
    d->ph = win.pad_begin[0], d->pwl = win.pad_begin[1];
    d->sh = win.stride[0], d->sw = win.stride[1];
    if (d->sh < 1 || d->sw < 1 || d->sw > 4) return qc_error(QC_ERR_UNSUPPORTED, "column stride > 4");
    if (wv->type.dims[1] != d->C || yt->dims[1] != d->M || yt->dims[2] != d->OH ||
        yt->dims[3] != d->OW)
        return qc_error(QC_ERR_UNSUPPORTED, "shapes");
    d->P = d->OH * d->OW;
    d->T = d->KH * d->KW;
    d->direct = !(d->T == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pwl == 0 &&
                  d->OH == d->H && d->OW == d->W);
    if (d->C < 1 || d->C > PW_KMAX || d->M < 1 || d->P < 1 || d->T > 49)
        return qc_error(QC_ERR_UNSUPPORTED, "sizes");
    d->KG = (d->C + 3) / 4;
    if (d->direct && d->OW * 4 < ((d->OW + PW_L - 1) / PW_L) * PW_L * 3) {
        /* under 3/4 of a row's lanes busy (a 7-wide map fills 7 of 16): the
         * grid variant for stride 1, im2col otherwise */
        if (d->sh != 1 || d->sw != 1)
            return qc_error(QC_ERR_UNSUPPORTED, "strided, with rows too short for 16-lane vectors");
        d->grid = true;
        d->WG = d->OW + (d->KW - 1) * d->dw;
        d->RG = d->OH + (d->KH - 1) * d->dh;
        d->Q = d->OH * d->WG;
        d->NQB = (d->Q + PW_V * PW_L - 1) / (PW_V * PW_L);
        /* every vector's reach, and the last row's spill, inside the k-group */
        int64_t reach = d->NQB * PW_V * PW_L + (d->KH - 1) * d->dh * d->WG + (d->KW - 1) * d->dw;
        int64_t spill = d->RG * d->WG + PW_L;
        d->SG = ((reach > spill ? reach : spill) + PW_L - 1) / PW_L * PW_L;
        if (d->KG * d->SG * 4 > PW_SCRATCH_MAX)
            return qc_error(QC_ERR_UNSUPPORTED, "image too large for the grid scratch");
    }
    if (d->direct && !d->grid) {
        /* padded row: every column a block of 32 positions' taps read, in
         * whole 16-column pack blocks */
        d->NOB = (d->OW + PW_V * PW_L - 1) / (PW_V * PW_L);
        d->WS = (d->NOB * PW_V * PW_L + (d->KW - 1) * d->dw / d->sw + PW_L - 1) / PW_L * PW_L;
        if (d->KH * d->sw * d->KG * d->WS * 4 > PW_SCRATCH_MAX)
            return qc_error(QC_ERR_UNSUPPORTED, "rows too wide for the stack scratch");
    }
    bool sym = xt->dims[0] == QC_DIM_SYM;
    d->n_a = sym ? 0 : xt->dims[0];
    d->n_b = sym ? 1 : 0;
    d->KG = (d->C + 3) / 4;
    d->NPB = (d->P + PW_V * PW_L - 1) / (PW_V * PW_L);
    /* Filter blocks: the direct kernel re-packs its input rows for every
     * block, so as few as keep >= 16 units per image (OH rows x blocks);
     * the pointwise one has enough position blocks, so blocks of PW_RB tiles. */
    int64_t tiles = (d->M + PW_R - 1) / PW_R, nblk = (tiles + PW_RB - 1) / PW_RB;
    if (d->grid) {
        nblk = tiles < 16 ? tiles : 16;   /* one unit per block: 16 per image */
    } else if (d->direct) {
        nblk = (16 + d->OH - 1) / d->OH;
        if (nblk > tiles) nblk = tiles;
    }
    d->CB = (tiles + nblk - 1) / nblk * PW_R;
    d->NCB = (d->M + d->CB - 1) / d->CB;
    if (d->grid && d->CB * d->NQB * PW_V * PW_L > PW_SCRATCH_MAX)
        return qc_error(QC_ERR_UNSUPPORTED, "grid staging too large for the stack");
    d->a_signed = xt->dtype == QC_I8;
    d->y_signed = yt->dtype == QC_I8;
    const float *sa, *sw, *sy;
    int64_t nsa, nsw, nsy, nza, nzw, nzy;
    int32_t *za = NULL, *zw = NULL, *zy = NULL;
    st = qc_i8_scale(g, n, 1, "x_scale", 0, &sa, &nsa);
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
    d->off_comp = d->M * d->KG * d->T * 4;
    d->off_mult = d->off_comp + d->M * 4;
    *blob_len = (size_t)(d->off_mult + d->M * 4);
    if (!st && !(*blob = calloc(1, *blob_len))) st = qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st) {
        int64_t lo, hi;
        qc_dtype_int_range(yt->dtype, &lo, &hi);
        d->lo = (int32_t)lo, d->hi = (int32_t)hi;
        d->zy = zy ? zy[0] : 0;
        uint32_t za1 = (uint32_t)(za ? za[0] : 0) + (d->a_signed ? 128u : 0u);
        d->za1 = (int32_t)(za1 & 0xffu);
        const int8_t *w = wv->data;
        uint8_t *wq = *blob;
        uint32_t *comp = (uint32_t *)(*blob + d->off_comp);
        float *mult = (float *)(*blob + d->off_mult);
        for (int64_t m = 0; m < d->M; m++) {
            uint32_t sum = 0;
            for (int64_t ch = 0; ch < d->C; ch++)
                for (int64_t t = 0; t < d->T; t++) {
                    int8_t v = w[(m * d->C + ch) * d->T + t];
                    wq[((m * d->KG + ch / 4) * d->T + t) * 4 + ch % 4] = (uint8_t)v;
                    sum += (uint32_t)(int32_t)v;
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
    if (d.grid) emit_grid(&f, &d);
    else if (d.direct) emit_direct(&f, &d);
    else emit_pointwise(&f, &d);
    qc_cpu_fn_end(&f);
    k->packed = blob;
    k->packed_len = len;
    int64_t per_img = d.grid ? d.NCB : d.direct ? d.OH * d.NCB : d.NCB * d.NPB;
    k->units_a = d.n_a * per_img;
    k->units_b = d.n_b * per_img;
    /* ps per unit: its multiply-adds at ~60 per ns (16 lanes x 4 bytes,
     * about one vpdpbusd per cycle), ~4 ns per 64 bytes packed and ~3 ns per
     * output vector of epilogue (a model, not a measurement) */
    int64_t cols = d.grid ? d.NQB * PW_V * PW_L : d.direct ? d.NOB * PW_V * PW_L : PW_V * PW_L;
    int64_t packs = d.grid     ? d.KG * d.RG * ((d.WG + PW_L - 1) / PW_L)
                    : d.direct ? d.KH * d.sw * d.KG * d.WS / PW_L
                               : d.KG * PW_V;
    double macs = (double)d.CB * (double)cols * 4.0 * (double)d.KG * (double)d.T;
    double ps = macs / 60.0 * 1000.0 + (double)packs * 4000.0 + (double)d.CB * (double)cols / PW_L * 3000.0;
    k->cost_ps = qc_cpu_cost_ps(ps);
    k->grain = ps >= 200000.0 ? 1 : (int64_t)(200000.0 / ps) + 1;
    if (d.grid)
        snprintf(k->variant, sizeof k->variant, "qdirect %lldx%lld s1 grid avx512vnni %dx%d",
                 (long long)d.KH, (long long)d.KW, PW_R, PW_V * PW_L);
    else if (d.direct)
        snprintf(k->variant, sizeof k->variant, "qdirect %lldx%lld s%lldx%lld avx512vnni %dx%d",
                 (long long)d.KH, (long long)d.KW, (long long)d.sh, (long long)d.sw, PW_R, PW_V * PW_L);
    else
        snprintf(k->variant, sizeof k->variant, "qpointwise avx512vnni %dx%d", PW_R, PW_V * PW_L);
    return NULL;
}
