/* gen_qdw.c — int8 depthwise convolution (qc.QConv / QLinearConv with
 * group == C == M, one input channel per output channel): a direct kernel.
 *
 * The im2col + GEMM path (gen_qconv.c) turns a depthwise layer into C
 * GEMMs with K = kh*kw and N = 1, which no register tile fits; mobilenet's
 * depthwise layers took most of its time that way. Here a work unit is one
 * output row (n, c, oh), computed 16 output columns at a time:
 *
 *   acc = bias[c] + sum over valid (kh, kw) of (x - za) * (w[c][kh][kw] - zb[c])
 *
 * in exact int32 lanes (widen x, subtract za, multiply by the constant
 * w - zb, add: the same integers as the ref's qconv.c, any order), then the
 * requantization of ir/quant.h per channel: float(acc) * mult[c] rounded
 * half to even (NaN -> 0), clamped against lo - zy / hi - zy in float, + zy,
 * then the act clamp — the steps of gen_int8.c's epilogue. Padding
 * contributes nothing (ref widens x - za and skips taps outside the input).
 * A stride-s tap of 16 columns is one load of 16 s bytes and a shuffle
 * (s <= 4); the interior runs 16 columns at a time, then 8 and 4 for the
 * rest. Window rows outside the input are skipped per row at run time;
 * border columns (some taps in the padding) are unrolled at compile time
 * with their own valid taps.
 *
 * On avx512vnni, when every w - zb fits a byte, emit_vnni multiplies the
 * taps 4 at a time with vpdpbusd instead (its comment below says how).
 *
 * Packed constants per channel c: wz[c][kh*kw] (i32), bias'[c] (i32),
 * mult[c] (f32); for emit_vnni also the filter bytes per row and group of
 * 4 taps and the prefix sums of the rows' byte sums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gen_int8.h"
#include "backends/cpu/ir_util.h"
#include "ir/dtype.h"
#include "ir/quant.h"
#include "ops/infer_nn.h"

#define DW_V 16

typedef struct dw {
    bool a_signed, y_signed;
    bool fout;                        /* float output (qc.QConv without y_scale): f32 stores */
    int64_t C, H, W, OH, OW, kh, kw, sh, sw, dh, dw, ph, pw;
    int64_t planes_a, planes_b;       /* N * C = a + b * batch */
    int32_t za, zy, lo, hi, act_min, act_max;
    int64_t off_bias, off_mult;       /* in the packed blob */
    /* the vpdpbusd variant (emit_vnni): tap groups of 4 per window row */
    bool vnni;
    int64_t G;                        /* ceil(kw / 4) */
    int64_t off_wq, off_pre;          /* wq[c][kh][G] i32 (4 filter bytes), pre[c][kh + 1] */
} dw;

typedef struct dctx {
    qc_cpu_fn *f;
    const dw *d;
    LLVMValueRef xp;                  /* the input plane */
    LLVMValueRef wz;                  /* this channel's wz row (i32 *) */
    LLVMValueRef ih0, klo, khi;       /* runtime window rows */
} dctx;

static LLVMTypeRef vi32(qc_cpu_fn *f, int32_t w) { return w == 1 ? f->i32 : LLVMVectorType(f->i32, (unsigned)w); }

/* x - za for tap column iw of w columns (stride sw) of input row xr, as i32. */
static LLVMValueRef tap(const dctx *c, LLVMValueRef xr, LLVMValueRef iw, int32_t w) {
    qc_cpu_fn *f = c->f;
    const dw *d = c->d;
    LLVMValueRef v;
    if (w == 1 || d->sw == 1) {
        LLVMTypeRef t = w == 1 ? f->i8 : LLVMVectorType(f->i8, (unsigned)w);
        v = LLVMBuildLoad2(f->b, t, qc_cpu_gep(f, f->i8, xr, iw), "");
        LLVMSetAlignment(v, 1);
    } else {
        LLVMValueRef wide = LLVMBuildLoad2(f->b, LLVMVectorType(f->i8, (unsigned)(w * d->sw)),
                                           qc_cpu_gep(f, f->i8, xr, iw), "");
        LLVMSetAlignment(wide, 1);
        LLVMValueRef mask[DW_V];
        for (int32_t i = 0; i < w; i++) mask[i] = qc_cpu_i32(f, (int32_t)(i * d->sw));
        v = LLVMBuildShuffleVector(f->b, wide, LLVMGetUndef(LLVMTypeOf(wide)),
                                   LLVMConstVector(mask, (unsigned)w), "");
    }
    v = d->a_signed ? LLVMBuildSExt(f->b, v, vi32(f, w), "") : LLVMBuildZExt(f->b, v, vi32(f, w), "");
    return LLVMBuildSub(f->b, v, qc_cpu_splat(f, w, qc_cpu_i32(f, d->za)), "");
}

/* acc over the runtime window rows for w columns starting at column ow,
 * with the taps kw in `kmask` (bit k: tap k is inside the row). */
static LLVMValueRef accumulate(const dctx *c, LLVMValueRef ow, int32_t w, uint64_t kmask,
                               LLVMValueRef init) {
    qc_cpu_fn *f = c->f;
    const dw *d = c->d;
    LLVMContextRef cx = f->cg->ctx;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(f->b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cx, f->fn, "dw.k");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cx, f->fn, "dw.kb");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cx, f->fn, "dw.kd");
    LLVMBuildBr(f->b, head);
    LLVMPositionBuilderAtEnd(f->b, head);
    LLVMValueRef k = LLVMBuildPhi(f->b, f->i64, "kh"), acc = LLVMBuildPhi(f->b, vi32(f, w), "acc");
    LLVMValueRef k0 = c->klo;
    LLVMAddIncoming(k, &k0, &pre, 1);
    LLVMAddIncoming(acc, &init, &pre, 1);
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLE, k, c->khi, ""), body, done);
    LLVMPositionBuilderAtEnd(f->b, body);
    LLVMValueRef ih = LLVMBuildAdd(f->b, c->ih0, LLVMBuildMul(f->b, k, qc_cpu_i64(f, d->dh), ""), "");
    LLVMValueRef xr = qc_cpu_gep(f, f->i8, c->xp, LLVMBuildMul(f->b, ih, qc_cpu_i64(f, d->W), ""));
    LLVMValueRef iw0 = LLVMBuildSub(f->b, LLVMBuildMul(f->b, ow, qc_cpu_i64(f, d->sw), ""),
                                    qc_cpu_i64(f, d->pw), "");
    LLVMValueRef a = acc;
    for (int64_t t = 0; t < d->kw; t++) {
        if (!((kmask >> t) & 1)) continue;
        LLVMValueRef iw = LLVMBuildAdd(f->b, iw0, qc_cpu_i64(f, t * d->dw), "");
        /* wz[kh * kw + t] */
        LLVMValueRef wi = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, k, qc_cpu_i64(f, d->kw), ""),
                                       qc_cpu_i64(f, t), "");
        LLVMValueRef wv = LLVMBuildLoad2(f->b, f->i32, qc_cpu_gep(f, f->i32, c->wz, wi), "");
        LLVMSetAlignment(wv, 4);
        a = LLVMBuildAdd(f->b, a, LLVMBuildMul(f->b, tap(c, xr, iw, w), qc_cpu_splat(f, w, wv), ""), "");
    }
    LLVMValueRef k2 = LLVMBuildAdd(f->b, k, qc_cpu_i64(f, 1), "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(f->b);
    LLVMAddIncoming(k, &k2, &from, 1);
    LLVMAddIncoming(acc, &a, &from, 1);
    LLVMBuildBr(f->b, head);
    LLVMPositionBuilderAtEnd(f->b, done);
    return acc;
}

/* ir/quant.h's requantization of w accumulators, the act clamp, the store
 * of the first `lanes` (a masked store when fewer than w). */
static void requant_store_n(const dctx *c, LLVMValueRef acc, LLVMValueRef mult, LLVMValueRef yr,
                            LLVMValueRef ow, int32_t w, int64_t lanes) {
    qc_cpu_fn *f = c->f;
    const dw *d = c->d;
    LLVMTypeRef vf = qc_cpu_vt(f, w);
    LLVMValueRef x = LLVMBuildFMul(f->b, LLVMBuildSIToFP(f->b, acc, vf, ""), qc_cpu_splat(f, w, mult), "");
    if (d->fout) {   /* y = float(acc) * x_scale * w_scale[c], as the ref's float form */
        if (lanes >= w) qc_cpu_storef(f, w, yr, ow, x);
        else qc_cpu_storef_masked(f, w, yr, ow, x, qc_cpu_mask(f, w, (int32_t)lanes));
        return;
    }
    x = qc_cpu_intrin(f, "llvm.roundeven", vf, &x, 1);
    x = LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, ""), LLVMConstNull(vf), x, "");
    LLVMValueRef flo = qc_cpu_fconst(f, w, (double)((int64_t)d->lo - d->zy));
    LLVMValueRef fhi = qc_cpu_fconst(f, w, (double)((int64_t)d->hi - d->zy));
    x = LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, LLVMRealOLE, x, flo, ""), flo, x, "");
    x = LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, LLVMRealOGE, x, fhi, ""), fhi, x, "");
    LLVMValueRef q = LLVMBuildAdd(f->b, LLVMBuildFPToSI(f->b, x, vi32(f, w), ""),
                                  qc_cpu_splat(f, w, qc_cpu_i32(f, d->zy)), "");
    if (d->act_min > d->lo) {
        LLVMValueRef m = qc_cpu_splat(f, w, qc_cpu_i32(f, d->act_min));
        q = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, q, m, ""), m, q, "");
    }
    if (d->act_max < d->hi) {
        LLVMValueRef m = qc_cpu_splat(f, w, qc_cpu_i32(f, d->act_max));
        q = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSGT, q, m, ""), m, q, "");
    }
    LLVMTypeRef t8 = w == 1 ? f->i8 : LLVMVectorType(f->i8, (unsigned)w);
    LLVMValueRef v = LLVMBuildTrunc(f->b, q, t8, ""), p = qc_cpu_gep(f, f->i8, yr, ow);
    if (lanes >= w) {
        LLVMSetAlignment(LLVMBuildStore(f->b, v, p), 1);
    } else {
        LLVMValueRef args[4] = {v, p, qc_cpu_i32(f, 1), qc_cpu_mask(f, w, (int32_t)lanes)};
        qc_cpu_intrin2(f, "llvm.masked.store", t8, f->ptr, args, 4);
    }
}

static void requant_store(const dctx *c, LLVMValueRef acc, LLVMValueRef mult, LLVMValueRef yr,
                          LLVMValueRef ow, int32_t w) {
    requant_store_n(c, acc, mult, yr, ow, w, w);
}

static uint64_t border_mask(const dw *d, int64_t ow) {
    uint64_t m = 0;
    for (int64_t t = 0; t < d->kw; t++) {
        int64_t iw = ow * d->sw - d->pw + t * d->dw;
        if (iw >= 0 && iw < d->W) m |= UINT64_C(1) << t;
    }
    return m;
}


static void emit(qc_cpu_fn *f, const dw *d) {
    LLVMValueRef x = qc_cpu_fn_in(f, 0), y = qc_cpu_fn_out(f, 0);
    uint64_t all = d->kw >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << d->kw) - 1;
    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(f, &ul, f->begin, f->end, 1);
    LLVMValueRef plane = LLVMBuildSDiv(f->b, u, qc_cpu_i64(f, d->OH), "");
    LLVMValueRef oh = LLVMBuildSRem(f->b, u, qc_cpu_i64(f, d->OH), "");
    LLVMValueRef ch = LLVMBuildSRem(f->b, plane, qc_cpu_i64(f, d->C), "");
    dctx c = {f, d, NULL, NULL, NULL, NULL, NULL};
    c.xp = qc_cpu_gep(f, f->i8, x, LLVMBuildMul(f->b, plane, qc_cpu_i64(f, d->H * d->W), ""));
    c.wz = qc_cpu_gep(f, f->i32, f->packed, LLVMBuildMul(f->b, ch, qc_cpu_i64(f, d->kh * d->kw), ""));
    LLVMValueRef bias = LLVMBuildLoad2(f->b, f->i32,
        qc_cpu_gep(f, f->i32, f->packed, LLVMBuildAdd(f->b, ch, qc_cpu_i64(f, d->off_bias / 4), "")), "");
    LLVMValueRef mult = LLVMBuildLoad2(f->b, f->f32,
        qc_cpu_gep(f, f->f32, f->packed, LLVMBuildAdd(f->b, ch, qc_cpu_i64(f, d->off_mult / 4), "")), "");
    LLVMValueRef yr = qc_cpu_gep(f, d->fout ? f->f32 : f->i8, y, LLVMBuildMul(f->b, u, qc_cpu_i64(f, d->OW), ""));
    qc_cpu_window_rows(f, oh, d->sh, d->ph, d->dh, d->kh, d->H, &c.ih0, &c.klo, &c.khi);
    /* interior columns: every tap inside the row */
    int64_t lo = (d->pw + d->sw - 1) / d->sw, reach = d->W - 1 - (d->kw - 1) * d->dw + d->pw;
    int64_t hi = reach < 0 ? 0 : reach / d->sw + 1;
    if (lo > d->OW) lo = d->OW;
    if (hi > d->OW) hi = d->OW;
    if (hi < lo) hi = lo;
    for (int64_t ow = 0; ow < lo; ow++)
        requant_store(&c, accumulate(&c, qc_cpu_i64(f, ow), 1, border_mask(d, ow), bias), mult, yr,
                      qc_cpu_i64(f, ow), 1);
    /* Interior columns in vectors of 16, then one of 8 and one of 4 for
     * what is left (mobilenet's 14- and 7-wide rows have no 16-column run),
     * then scalar. A vector's widest load (stride sw) stays inside the row. */
    int64_t at = lo;
    for (int32_t w = DW_V; w >= 4 && d->sw <= 4; w /= 2) {
        int64_t n = 0;
        while (at + (n + 1) * w <= hi &&
               (at + n * w) * d->sw - d->pw + (d->kw - 1) * d->dw + d->sw * w - 1 < d->W)
            n++;
        if (!n) continue;
        LLVMValueRef bw = qc_cpu_splat(f, w, bias);
        if (n == 1) {
            LLVMValueRef ow = qc_cpu_i64(f, at);
            requant_store(&c, accumulate(&c, ow, w, all, bw), mult, yr, ow, w);
        } else {
            qc_cpu_loop vl;
            LLVMValueRef ow = qc_cpu_loop_begin(f, &vl, qc_cpu_i64(f, at), qc_cpu_i64(f, at + n * w), w);
            requant_store(&c, accumulate(&c, ow, w, all, bw), mult, yr, ow, w);
            qc_cpu_loop_end(f, &vl);
        }
        at += n * w;
    }
    if (at < hi) {
        qc_cpu_loop sl;
        LLVMValueRef ow = qc_cpu_loop_begin(f, &sl, qc_cpu_i64(f, at), qc_cpu_i64(f, hi), 1);
        requant_store(&c, accumulate(&c, ow, 1, all, bias), mult, yr, ow, 1);
        qc_cpu_loop_end(f, &sl);
    }
    for (int64_t ow = hi; ow < d->OW; ow++)
        requant_store(&c, accumulate(&c, qc_cpu_i64(f, ow), 1, border_mask(d, ow), bias), mult, yr,
                      qc_cpu_i64(f, ow), 1);
    qc_cpu_loop_end(f, &ul);
}

/* ---- vpdpbusd variant ----------------------------------------------------------------
 *
 * With avx512vnni the taps of a window row are multiplied 4 at a time: one
 * (masked) load of the row's 64-byte window under 16 output columns, one
 * byte permute putting each column's 4 taps x[ow * s + (4g + j) * dil] into
 * its lane, one vpdpbusd against the 4 filter bytes of the group (zero past
 * kw). Raw bytes x' (x, or x ^ 0x80 for i8) go in, so
 *   acc = sum_taps x' w + bias - za' * (sum of the valid rows' filter bytes)
 * where a column outside the input loads za' (the masked load's fill), which
 * adds za' * w and cancels against the full row sum, and the valid rows
 * [klo, khi] come from the window as in emit(): prefix sums of the row sums
 * give their total. Every column, border or not, takes the same path; the
 * last block of a row is a masked store. Needs s * 15 + (kw - 1) * dil < 64. */

static void emit_vnni(qc_cpu_fn *f, const dw *d) {
    LLVMBuilderRef b = f->b;
    LLVMContextRef cx = f->cg->ctx;
    LLVMTypeRef v64 = LLVMVectorType(f->i8, 64), vi = vi32(f, DW_V);
    unsigned id = LLVMLookupIntrinsicID("llvm.x86.avx512.vpdpbusd.512", 28);
    LLVMValueRef dot = LLVMGetIntrinsicDeclaration(f->cg->mod, id, NULL, 0);
    LLVMTypeRef dot_ty = LLVMIntrinsicGetType(cx, id, NULL, 0);
    int32_t za1 = d->za + (d->a_signed ? 128 : 0);
    LLVMValueRef fill[64], flip[64], perm[64];
    for (int i = 0; i < 64; i++) {
        /* the raw byte that reads as za' after the flip */
        fill[i] = LLVMConstInt(f->i8, (unsigned)((za1 ^ (d->a_signed ? 0x80 : 0)) & 0xff), 0);
        flip[i] = LLVMConstInt(f->i8, 0x80, 0);
    }
    LLVMValueRef fillv = LLVMConstVector(fill, 64), flipv = LLVMConstVector(flip, 64);
    /* one permute per group of 4 taps: G = ceil(kw / 4) <= 13, since the
     * window bound 15 s + (kw - 1) dil < 64 keeps kw <= 49 */
    LLVMValueRef pv[16];
    for (int64_t g = 0; g < d->G; g++) {
        for (int32_t l = 0; l < DW_V; l++)
            for (int32_t j = 0; j < 4; j++) {
                int64_t t = 4 * g + j;
                perm[4 * l + j] = qc_cpu_i32(f, t < d->kw ? (int32_t)(l * d->sw + t * d->dw) : 0);
            }
        pv[g] = LLVMConstVector(perm, 64);
    }
    LLVMValueRef x = qc_cpu_fn_in(f, 0), y = qc_cpu_fn_out(f, 0);
    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(f, &ul, f->begin, f->end, 1);
    LLVMValueRef plane = LLVMBuildSDiv(b, u, qc_cpu_i64(f, d->OH), "");
    LLVMValueRef oh = LLVMBuildSRem(b, u, qc_cpu_i64(f, d->OH), "");
    LLVMValueRef ch = LLVMBuildSRem(b, plane, qc_cpu_i64(f, d->C), "");
    LLVMValueRef xp = qc_cpu_gep(f, f->i8, x, LLVMBuildMul(b, plane, qc_cpu_i64(f, d->H * d->W), ""));
    LLVMValueRef yr = qc_cpu_gep(f, d->fout ? f->f32 : f->i8, y, LLVMBuildMul(b, u, qc_cpu_i64(f, d->OW), ""));
    LLVMValueRef wq = qc_cpu_gep(f, f->i32, f->packed,
        LLVMBuildAdd(b, qc_cpu_i64(f, d->off_wq / 4), LLVMBuildMul(b, ch, qc_cpu_i64(f, d->kh * d->G), ""), ""));
    LLVMValueRef pre = qc_cpu_gep(f, f->i32, f->packed,
        LLVMBuildAdd(b, qc_cpu_i64(f, d->off_pre / 4), LLVMBuildMul(b, ch, qc_cpu_i64(f, d->kh + 1), ""), ""));
    LLVMValueRef bias = LLVMBuildLoad2(b, f->i32,
        qc_cpu_gep(f, f->i32, f->packed, LLVMBuildAdd(b, ch, qc_cpu_i64(f, d->off_bias / 4), "")), "");
    LLVMValueRef mult = LLVMBuildLoad2(b, f->f32,
        qc_cpu_gep(f, f->f32, f->packed, LLVMBuildAdd(b, ch, qc_cpu_i64(f, d->off_mult / 4), "")), "");
    LLVMValueRef ih0, klo, khi;
    qc_cpu_window_rows(f, oh, d->sh, d->ph, d->dh, d->kh, d->H, &ih0, &klo, &khi);
    /* comp = bias - za' * (pre[khi + 1] - pre[klo]), 0 rows when klo > khi */
    LLVMValueRef none = LLVMBuildICmp(b, LLVMIntSGT, klo, khi, "");
    LLVMValueRef khi1 = LLVMBuildSelect(b, none, klo, LLVMBuildAdd(b, khi, qc_cpu_i64(f, 1), ""), "");
    LLVMValueRef phi_ = LLVMBuildLoad2(b, f->i32, qc_cpu_gep(f, f->i32, pre, khi1), "");
    LLVMValueRef plo = LLVMBuildLoad2(b, f->i32, qc_cpu_gep(f, f->i32, pre, klo), "");
    LLVMValueRef wsum = LLVMBuildSub(b, phi_, plo, "");
    LLVMValueRef comp = LLVMBuildSub(b, bias, LLVMBuildMul(b, qc_cpu_i32(f, za1), wsum, ""), "");
    LLVMValueRef compv = qc_cpu_splat(f, DW_V, comp);
    int64_t nb = (d->OW + DW_V - 1) / DW_V, last = d->OW - (nb - 1) * DW_V;
    for (int part = 0; part < 2; part++) {
        /* part 0: the whole blocks before the last (a loop); part 1: the last */
        int64_t b0 = part ? nb - 1 : 0, b1 = part ? nb : nb - 1;
        if (b1 <= b0) continue;
        int64_t lanes = part ? last : DW_V;
        qc_cpu_loop bl;
        LLVMValueRef ow0 = qc_cpu_loop_begin(f, &bl, qc_cpu_i64(f, b0 * DW_V), qc_cpu_i64(f, b1 * DW_V), DW_V);
        /* the window's columns: start = ow0 * s - pw; byte i valid iff 0 <= start + i < W */
        LLVMValueRef start = LLVMBuildSub(b, LLVMBuildMul(b, ow0, qc_cpu_i64(f, d->sw), ""), qc_cpu_i64(f, d->pw), "");
        LLVMValueRef cmask = qc_cpu_range_mask(f, start, d->W, 64);
        /* rows klo..khi */
        LLVMBasicBlockRef pre_b = LLVMGetInsertBlock(b);
        LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cx, f->fn, "dwv.k");
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cx, f->fn, "dwv.kb");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cx, f->fn, "dwv.kd");
        LLVMBuildBr(b, head);
        LLVMPositionBuilderAtEnd(b, head);
        LLVMValueRef k = LLVMBuildPhi(b, f->i64, "kh"), acc = LLVMBuildPhi(b, vi, "acc");
        LLVMAddIncoming(k, &klo, &pre_b, 1);
        LLVMAddIncoming(acc, &compv, &pre_b, 1);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLE, k, khi, ""), body, done);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef ih = LLVMBuildAdd(b, ih0, LLVMBuildMul(b, k, qc_cpu_i64(f, d->dh), ""), "");
        LLVMValueRef wp = qc_cpu_gep(f, f->i8, xp, LLVMBuildAdd(b, LLVMBuildMul(b, ih, qc_cpu_i64(f, d->W), ""), start, ""));
        LLVMValueRef largs[4] = {wp, qc_cpu_i32(f, 1), cmask, fillv};
        LLVMValueRef win = qc_cpu_intrin2(f, "llvm.masked.load", v64, f->ptr, largs, 4);
        if (d->a_signed) win = LLVMBuildXor(b, win, flipv, "");
        LLVMValueRef a = acc;
        for (int64_t g = 0; g < d->G; g++) {
            LLVMValueRef xv = LLVMBuildShuffleVector(b, win, LLVMGetUndef(v64), pv[g], "");
            LLVMValueRef wi = LLVMBuildAdd(b, LLVMBuildMul(b, k, qc_cpu_i64(f, d->G), ""), qc_cpu_i64(f, g), "");
            LLVMValueRef w = LLVMBuildLoad2(b, f->i32, qc_cpu_gep(f, f->i32, wq, wi), "");
            LLVMSetAlignment(w, 4);
            LLVMValueRef args[3] = {a, LLVMBuildBitCast(b, xv, vi, ""), qc_cpu_splat(f, DW_V, w)};
            a = LLVMBuildCall2(b, dot_ty, dot, args, 3, "");
        }
        LLVMValueRef k2 = LLVMBuildAdd(b, k, qc_cpu_i64(f, 1), "");
        LLVMBasicBlockRef from = LLVMGetInsertBlock(b);
        LLVMAddIncoming(k, &k2, &from, 1);
        LLVMAddIncoming(acc, &a, &from, 1);
        LLVMBuildBr(b, head);
        LLVMPositionBuilderAtEnd(b, done);
        dctx c = {f, d, NULL, NULL, NULL, NULL, NULL};
        requant_store_n(&c, acc, mult, yr, ow0, DW_V, lanes);
        qc_cpu_loop_end(f, &bl);
    }
    qc_cpu_loop_end(f, &ul);
}

/* Whether node n is a depthwise int8 conv this generator takes; fills *d
 * and the packed blob. QC_ERR_UNSUPPORTED (with a reason) otherwise. */
static qc_status analyze(qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, dw *d, uint8_t **blob,
                         size_t *blob_len) {
    memset(d, 0, sizeof *d);
    *blob = NULL;
    if (n->op != QC_OP_QCONV && n->op != QC_OP_QLINEAR_CONV)
        return qc_error(QC_ERR_UNSUPPORTED, "not a QConv / QLinearConv");
    if (n->n_in < 8 || n->n_out != 1 || n->in[0] < 0) return qc_error(QC_ERR_UNSUPPORTED, "inputs");
    if (!cg->feat.sse41) return qc_error(QC_ERR_UNSUPPORTED, "roundeven needs sse4.1");
    const qc_type *xt = &g->values[n->in[0]].type, *yt = &g->values[n->out[0]].type;
    const qc_value *wv = qc_i8_const_in(g, n, 3);
    if (!wv || wv->type.rank != 4 || xt->rank != 4 || yt->rank != 4)
        return qc_error(QC_ERR_UNSUPPORTED, "not a 2-D conv with constant weights");
    int64_t group = qc_attr_int(n, "group", 1);
    d->C = xt->dims[1];
    if (group < 2 || group != d->C || wv->type.dims[0] != d->C || wv->type.dims[1] != 1)
        return qc_error(QC_ERR_UNSUPPORTED, "not depthwise");
    /* qc.QConv without y_scale / y_zero_point: float output (qdq_fold rule 3c) */
    d->fout = qc_i8_float_output(g, n);
    if ((xt->dtype != QC_U8 && xt->dtype != QC_I8) ||
        (yt->dtype != QC_U8 && yt->dtype != QC_I8 && !d->fout) ||
        (wv->type.dtype != QC_U8 && wv->type.dtype != QC_I8))
        return qc_error(QC_ERR_UNSUPPORTED, "types");
    for (int32_t k = 1; k < 4; k++)
        if (xt->dims[k] == QC_DIM_SYM) return qc_error(QC_ERR_UNSUPPORTED, "symbolic non-batch dim");
    bool sym = xt->dims[0] == QC_DIM_SYM;
    d->planes_a = sym ? 0 : xt->dims[0] * d->C;
    d->planes_b = sym ? d->C : 0;
    qc_type xs = *xt;
    if (sym) xs.dims[0] = 1;
    qc_nn_window win;
    qc_status st = qc_nn_window_get(n, &xs, &wv->type, &win);
    if (st) return st;
    d->H = win.in[0], d->W = win.in[1], d->OH = win.out[0], d->OW = win.out[1];
    d->kh = win.kernel[0], d->kw = win.kernel[1], d->sh = win.stride[0], d->sw = win.stride[1];
    d->dh = win.dilation[0], d->dw = win.dilation[1], d->ph = win.pad_begin[0], d->pw = win.pad_begin[1];
    if (d->OH != yt->dims[2] || d->OW != yt->dims[3] || d->kw > 63 || d->OW * d->kw > 8192 ||
        d->OW < 1)
        return qc_error(QC_ERR_UNSUPPORTED, "window");
    d->a_signed = xt->dtype == QC_I8;
    d->y_signed = yt->dtype == QC_I8;
    static const float unit = 1.0f;
    const float *sa, *sw, *sy = &unit;
    int64_t nsa, nsw, nsy = 1, nza, nzw, nzy = 1;
    int32_t *za = NULL, *zw = NULL, *zy = NULL;
    st = qc_i8_scale(g, n, 1, "x_scale", 0, &sa, &nsa);
    if (!st) st = qc_i8_scale(g, n, 4, "w_scale", d->C, &sw, &nsw);
    if (!st && !d->fout) st = qc_i8_scale(g, n, 6, "y_scale", 0, &sy, &nsy);
    if (!st) st = qc_i8_zero_point(g, n, 2, "x_zero_point", 0, &za, &nza);
    if (!st) st = qc_i8_zero_point(g, n, 5, "w_zero_point", d->C, &zw, &nzw);
    if (!st && !d->fout) st = qc_i8_zero_point(g, n, 7, "y_zero_point", 0, &zy, &nzy);
    if (!st) st = qc_i8_clamp_attrs(n, &d->act_min, &d->act_max);
    const int32_t *bias = NULL;
    if (!st && n->n_in > 8 && n->in[8] >= 0) {
        const qc_value *bv = qc_i8_const_in(g, n, 8);
        if (!bv || bv->type.dtype != QC_I32 || qc_type_numel(&bv->type) != d->C)
            st = qc_error(QC_ERR_UNSUPPORTED, "bias must be a constant i32[C]");
        else bias = bv->data;
    }
    int64_t T = d->kh * d->kw;
    d->vnni = cg->feat.avx512vnni && cg->feat.avx512bw && d->sw * (DW_V - 1) + (d->kw - 1) * d->dw < 64;
    /* vpdpbusd multiplies signed filter bytes: every w - zb must fit an i8 */
    for (int64_t e = 0; !st && d->vnni && e < d->C * T; e++) {
        int64_t ch = e / T;
        int32_t zb = zw ? zw[nzw == 1 ? 0 : ch] : 0;
        int32_t w = wv->type.dtype == QC_I8 ? ((const int8_t *)wv->data)[e] : ((const uint8_t *)wv->data)[e];
        if (w - zb < -128 || w - zb > 127) d->vnni = false;
    }
    d->G = (d->kw + 3) / 4;
    d->off_bias = d->C * T * 4;
    d->off_mult = d->off_bias + d->C * 4;
    d->off_wq = d->off_mult + d->C * 4;
    d->off_pre = d->off_wq + (d->vnni ? d->C * d->kh * d->G * 4 : 0);
    *blob_len = (size_t)(d->off_pre + (d->vnni ? d->C * (d->kh + 1) * 4 : 0));
    if (!st && !(*blob = calloc(1, *blob_len))) st = qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st) {
        int64_t lo = 0, hi = 0;
        if (!d->fout) qc_dtype_int_range(yt->dtype, &lo, &hi);
        d->lo = (int32_t)lo, d->hi = (int32_t)hi;
        d->za = za ? za[0] : 0;
        d->zy = zy ? zy[0] : 0;
        int32_t *wz = (int32_t *)*blob, *bb = (int32_t *)(*blob + d->off_bias);
        float *mm = (float *)(*blob + d->off_mult);
        for (int64_t ch = 0; ch < d->C; ch++) {
            int32_t zb = zw ? zw[nzw == 1 ? 0 : ch] : 0;
            for (int64_t t = 0; t < T; t++) {
                int64_t e = ch * T + t;
                int32_t w = wv->type.dtype == QC_I8 ? ((const int8_t *)wv->data)[e]
                                                    : ((const uint8_t *)wv->data)[e];
                wz[e] = w - zb;
            }
            bb[ch] = bias ? bias[ch] : 0;
            mm[ch] = qc_requant_multiplier(sa[0], sw[nsw == 1 ? 0 : ch], sy[0]);
            if (d->vnni) {
                /* raw filter bytes per (row, group of 4 taps), and prefix
                 * sums of the rows' byte sums (wrapping int32); the raw
                 * bytes are w - zb, which must fit an i8 */
                uint8_t *wq = *blob + d->off_wq + ch * d->kh * d->G * 4;
                uint32_t *pre = (uint32_t *)(*blob + d->off_pre) + ch * (d->kh + 1);
                for (int64_t r = 0; r < d->kh; r++) {
                    uint32_t rs = 0;
                    for (int64_t t = 0; t < d->kw; t++) {
                        int32_t v = wz[ch * T + r * d->kw + t];
                        wq[(r * d->G + t / 4) * 4 + t % 4] = (uint8_t)(int8_t)v;
                        rs += (uint32_t)v;
                    }
                    pre[r + 1] = pre[r] + rs;
                }
            }
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

qc_status qc_cpu_gen_qdw(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    dw d;
    uint8_t *blob = NULL;
    size_t len = 0;
    qc_status st = analyze(cg, g, n, &d, &blob, &len);
    if (st) return st;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    if (d.vnni) emit_vnni(&f, &d);
    else emit(&f, &d);
    qc_cpu_fn_end(&f);
    k->packed = blob;
    k->packed_len = len;
    k->units_a = d.planes_a * d.OH;
    k->units_b = d.planes_b * d.OH;
    int64_t taps = d.OW * d.kh * d.kw;
    k->grain = (8192 + taps - 1) / taps;
    k->cost_ps = qc_cpu_cost_ps((double)taps * 40.0 / DW_V + (double)d.OW * 20.0 / DW_V + 300.0);
    snprintf(k->variant, sizeof k->variant, "qdepthwise %lldx%lld s%lld %s%s", (long long)d.kh,
             (long long)d.kw, (long long)d.sh, d.vnni ? "vpdpbusd x16" : "i32x16",
             d.fout ? " f32-out" : "");
    return NULL;
}
