/* gen_int8.c — the int8 GEMM core shared by qc.QGemm and qc.QConv: weight
 * packing with the zero-point compensation folded in at compile time, and
 * register-blocked micro-kernels built with the LLVM C API (gen_int8.h has
 * the math).
 *
 * A micro-kernel keeps mr x np accumulator vectors in registers (np <= nr
 * panels of `lanes` columns) and walks K in groups of 4 bytes (vpdpbusd) or
 * 2 widened values (pmaddwd). No pass pipeline is needed: the IR is already
 * what we want executed (facts.md: default<O2> slowed a hand-built kernel). */
#include <stdio.h>
#include <string.h>

#include "backends/cpu/gen_int8.h"
#include "ir/quant.h"

/* ---- tiles ------------------------------------------------------------------- */

int32_t qc_i8_lanes(qc_i8_isa isa) {
    switch (isa) {
    case QC_I8_VNNI512: return 16;
    case QC_I8_VNNI256: case QC_I8_PMADDWD256: return 8;
    default: return 4;
    }
}

int32_t qc_i8_kgroup(qc_i8_isa isa) {
    return isa == QC_I8_VNNI512 || isa == QC_I8_VNNI256 ? 4 : 2;
}

const char *qc_i8_isa_name(qc_i8_isa isa) {
    static const char *const names[] = {"avx512vnni", "avxvnni", "avx2", "sse2"};
    return names[isa];
}

double qc_i8_row_cost_ps(const qc_i8_layout *lo) {
    /* multiply-adds per ns (GOPS / 2) of each variant */
    static const double rate[] = {420.0, 195.0, 70.0, 27.0};
    int32_t L = qc_i8_lanes(lo->tile.isa);
    double macs = (double)lo->kg * qc_i8_kgroup(lo->tile.isa) * (double)lo->npan * L;
    return macs / rate[lo->tile.isa] * 1e3 + (double)lo->npan * L * 20.0 + 500.0;
}

qc_i8_tile qc_i8_tile_for(const qc_cpu_features *f) {
    /* 32 zmm: 8 x 3 accumulators + 3 weight vectors + the broadcast fit. */
    if (f->avx512vnni && f->avx512f && f->avx512bw) return (qc_i8_tile){QC_I8_VNNI512, 8, 3};
    /* vpdpbusd ymm: VEX form with avxvnni, EVEX with avx512vnni+vl; LLVM
     * picks the encoding from the features. 16 ymm without AVX-512. */
    if (f->avxvnni || (f->avx512vnni && f->avx512vl)) return (qc_i8_tile){QC_I8_VNNI256, 4, 3};
    /* vpmaddubsw would saturate (u8*i8 pair sums exceed int16); pmaddwd on
     * bytes widened to int16 is exact. 6 x 2 accumulators + 2 weight vectors
     * + the broadcast fill the 16 ymm: with A pre-widened, 142 GOPS on
     * 1000x200x128 vs 105 for 4 x 2 (qgemm_bench, avx2-only EPYC). */
    if (f->avx2) return (qc_i8_tile){QC_I8_PMADDWD256, 6, 2};
    return (qc_i8_tile){QC_I8_PMADDWD128, 4, 2};
}

/* ---- packing ------------------------------------------------------------------ */

static int64_t align64(int64_t v) { return (v + 63) & ~(int64_t)63; }

static int32_t b_prime(const qc_i8_gemm *g, int64_t k, int64_t n) {
    int64_t i = k * g->b_sk + n * g->b_sn;
    return g->b_signed ? ((const int8_t *)g->b)[i] : (int32_t)((const uint8_t *)g->b)[i] - 128;
}

static int32_t zb_prime(const qc_i8_gemm *g, int64_t n) {
    int32_t z = g->b_zp ? g->b_zp[g->b_zp_count == 1 ? 0 : n] : 0;
    return g->b_signed ? z : z - 128;
}

void qc_i8_layout_init(const qc_i8_gemm *g, qc_i8_tile tile, qc_i8_layout *lo) {
    int32_t lanes = qc_i8_lanes(tile.isa), kgrp = qc_i8_kgroup(tile.isa);
    memset(lo, 0, sizeof *lo);
    lo->tile = tile;
    lo->k = g->k;
    lo->n = g->n;
    lo->kg = (g->k + kgrp - 1) / kgrp;
    lo->npan = (g->n + lanes - 1) / lanes;
    int64_t cols = lo->npan * lanes;
    lo->off_comp = align64(lo->npan * lo->kg * 4 * lanes);
    lo->off_mult = lo->off_comp + align64(cols * 4);
    lo->off_zb = lo->off_mult + align64(cols * 4);
    lo->size = lo->off_zb + align64(cols * 4);
    lo->za_rt = g->a_zp_runtime;
    if (lo->za_rt) {
        lo->off_czb = lo->size;
        lo->size += align64(cols * 4);
    }
    for (int64_t n = 0; n < g->n; n++) lo->has_zb = lo->has_zb || zb_prime(g, n) != 0;
}

void qc_i8_pack(const qc_i8_gemm *g, const qc_i8_layout *lo, uint8_t *dst) {
    int32_t lanes = qc_i8_lanes(lo->tile.isa), kgrp = qc_i8_kgroup(lo->tile.isa);
    int64_t nr = lo->tile.nr, vbytes = 4 * lanes;
    /* Panels in groups of nr (the last group may be short); within a group
     * vector (kgroup, panel) at (kg * np + p), so the micro-kernel streams. */
    for (int64_t j = 0; j * nr < lo->npan; j++) {
        int64_t np = lo->npan - j * nr < nr ? lo->npan - j * nr : nr;
        uint8_t *grp = dst + j * nr * lo->kg * vbytes;
        for (int64_t kq = 0; kq < lo->kg; kq++)
            for (int64_t p = 0; p < np; p++)
                for (int32_t c = 0; c < lanes; c++)
                    for (int32_t t = 0; t < kgrp; t++) {
                        int64_t k = kq * kgrp + t, n = (j * nr + p) * lanes + c;
                        int32_t v = k < g->k && n < g->n ? b_prime(g, k, n) : 0;
                        uint8_t *e = grp + (kq * np + p) * vbytes;
                        if (kgrp == 4) e[c * 4 + t] = (uint8_t)(int8_t)v;
                        else memcpy(e + (c * 2 + t) * 2, &(int16_t){(int16_t)v}, 2);
                    }
    }
    /* runtime za: fold nothing of it here; the kernel applies za' * czb */
    uint32_t za = g->a_zp_runtime ? 0u : (uint32_t)(g->a_zp + (g->a_signed ? 128 : 0));
    for (int64_t n = 0; n < g->n; n++) {
        uint32_t colsum = 0, zb = (uint32_t)zb_prime(g, n);
        for (int64_t k = 0; k < g->k; k++) colsum += (uint32_t)b_prime(g, k, n);
        /* Unsigned arithmetic: wraps like the ref's qk_wrap_add. */
        uint32_t comp = (g->bias ? (uint32_t)g->bias[n] : 0u) - za * colsum +
                        (uint32_t)g->k * za * zb;
        float mult = g->b_scale ? qc_requant_multiplier(
                         g->a_scale, g->b_scale[g->b_scale_count == 1 ? 0 : n], g->y_scale)
                                : 1.0f;   /* MatMulInteger: no requantization */
        memcpy(dst + lo->off_comp + n * 4, &comp, 4);
        memcpy(dst + lo->off_mult + n * 4, &mult, 4);
        memcpy(dst + lo->off_zb + n * 4, &zb, 4);
        if (lo->za_rt) {
            uint32_t czb = colsum - (uint32_t)g->k * zb;
            memcpy(dst + lo->off_czb + n * 4, &czb, 4);
        }
    }
}

/* ---- IR helpers ---------------------------------------------------------------- */

typedef struct gen {
    qc_cpu_cg *cg;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    const qc_i8_layout *lo;
    const qc_i8_micro_cfg *mc;
    LLVMTypeRef i8, i16, i32, i64, f32, ptr, vi32, vf32, vi8, v2i16;
    int32_t lanes, kgrp;
    LLVMValueRef dot;       /* the intrinsic of this ISA */
    LLVMTypeRef dot_ty;
    LLVMValueRef za;        /* lo->za_rt: za' splat over the lanes (i32 vector) */
    bool a_wide;            /* pmaddwd: A rows pre-widened to u16 pairs (emit_micro) */
} gen;

static LLVMValueRef ci32(gen *g, int64_t v) { return LLVMConstInt(g->i32, (uint64_t)v, 1); }
static LLVMValueRef ci64(gen *g, int64_t v) { return LLVMConstInt(g->i64, (uint64_t)v, 1); }

static LLVMValueRef splat(LLVMValueRef scalar, int32_t n) {
    LLVMValueRef e[16];
    for (int32_t i = 0; i < n; i++) e[i] = scalar;
    return LLVMConstVector(e, (unsigned)n);
}

static LLVMValueRef intrinsic(qc_cpu_cg *cg, const char *name, LLVMTypeRef *over, size_t n_over,
                              LLVMTypeRef *fty) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    if (!id) return NULL;
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(cg->mod, id, over, n_over);
    *fty = LLVMIntrinsicGetType(cg->ctx, id, over, n_over);
    return f;
}

static LLVMValueRef gep(gen *g, LLVMValueRef p, LLVMValueRef off) {
    return LLVMBuildGEP2(g->b, g->i8, p, &off, 1, "");
}

static LLVMValueRef load_al(gen *g, LLVMTypeRef t, LLVMValueRef p, unsigned align) {
    LLVMValueRef v = LLVMBuildLoad2(g->b, t, p, "");
    LLVMSetAlignment(v, align);
    return v;
}

static LLVMBasicBlockRef block(gen *g, const char *name) {
    return LLVMAppendBasicBlockInContext(g->cg->ctx, g->fn, name);
}

/* ---- the micro-kernel ---------------------------------------------------------- */

/* One k-group of activations of a row as an i32 the dot step broadcasts:
 * 4 bytes (vpdpbusd) or 2 bytes zero-extended to i16 each (pmaddwd). Only
 * `have` (< kgrp at the K tail) bytes exist; the rest stay 0 so the rowsum
 * counts only real elements (the packed B is 0 there anyway). */
static LLVMValueRef a_group(gen *g, LLVMValueRef row, LLVMValueRef kbyte, int32_t have) {
    LLVMBuilderRef b = g->b;
    LLVMValueRef p = gep(g, row, kbyte), v;
    uint32_t flip = g->mc->a_signed ? 0x80u : 0u;   /* i8 -> u8: A + 128 */
    if (have == 4) {
        v = load_al(g, g->i32, p, 1);
        if (flip) v = LLVMBuildXor(b, v, ci32(g, 0x80808080u), "");
    } else if (have == 2 && g->kgrp == 2) {
        v = LLVMBuildZExt(b, load_al(g, g->i16, p, 1), g->i32, "");
        if (flip) v = LLVMBuildXor(b, v, ci32(g, 0x8080), "");
        LLVMValueRef lo8 = LLVMBuildAnd(b, v, ci32(g, 0xff), "");
        LLVMValueRef hi8 = LLVMBuildShl(b, LLVMBuildAnd(b, v, ci32(g, 0xff00), ""), ci32(g, 8), "");
        v = LLVMBuildOr(b, lo8, hi8, "");
    } else {
        v = ci32(g, 0);
        int32_t shift = g->kgrp == 4 ? 8 : 16;
        for (int32_t t = 0; t < have; t++) {
            LLVMValueRef e = load_al(g, g->i8, gep(g, row, LLVMBuildAdd(b, kbyte, ci64(g, t), "")), 1);
            e = LLVMBuildZExt(b, e, g->i32, "");
            if (flip) e = LLVMBuildXor(b, e, ci32(g, (int64_t)flip), "");
            v = LLVMBuildOr(b, v, LLVMBuildShl(b, e, ci32(g, t * shift), ""), "");
        }
    }
    return v;
}

static LLVMValueRef dot_step(gen *g, LLVMValueRef acc, LLVMValueRef abc, LLVMValueRef bv) {
    LLVMBuilderRef b = g->b;
    if (g->kgrp == 4) {
        /* vpdpbusd(acc, unsigned bytes, signed bytes): the order matters. */
        LLVMValueRef args[3] = {acc, abc, bv};
        return LLVMBuildCall2(b, g->dot_ty, g->dot, args, 3, "");
    }
    LLVMValueRef args[2] = {LLVMBuildBitCast(b, abc, g->v2i16, ""),
                            LLVMBuildBitCast(b, bv, g->v2i16, "")};
    return LLVMBuildAdd(b, acc, LLVMBuildCall2(b, g->dot_ty, g->dot, args, 2, ""), "");
}

static LLVMValueRef broadcast(gen *g, LLVMValueRef s) {
    LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(g->vi32), s, ci32(g, 0), "");
    return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(g->vi32),
                                  LLVMConstNull(LLVMVectorType(g->i32, (unsigned)g->lanes)), "");
}

#define MAXR 8
#define MAXP 4

typedef struct accs {
    LLVMValueRef v[MAXR][MAXP], rs[MAXR];
} accs;

/* acc += one k-group (index kq, `have` real values) for every row and panel. */
static void k_step(gen *g, int32_t rows, int32_t np, LLVMValueRef *arow, LLVMValueRef gbase,
                   LLVMValueRef kq, int32_t have, accs *a) {
    LLVMBuilderRef b = g->b;
    int64_t vbytes = 4 * g->lanes;
    LLVMValueRef bv[MAXP];
    LLVMValueRef voff = LLVMBuildMul(b, kq, ci64(g, np * vbytes), "");
    for (int32_t p = 0; p < np; p++)
        bv[p] = load_al(g, g->vi32, gep(g, gbase, LLVMBuildAdd(b, voff, ci64(g, p * vbytes), "")),
                        (unsigned)vbytes);
    LLVMValueRef kbyte = LLVMBuildMul(b, kq, ci64(g, g->kgrp), "");
    LLVMValueRef ones = splat(ci32(g, g->kgrp == 4 ? 0x01010101 : 0x00010001), g->lanes);
    for (int32_t r = 0; r < rows; r++) {
        /* widened rows: k-group kq is the i32 at 4 kq, tail already zero */
        LLVMValueRef av = g->a_wide
                              ? load_al(g, g->i32, gep(g, arow[r], LLVMBuildMul(b, kq, ci64(g, 4), "")), 4)
                              : a_group(g, arow[r], kbyte, have);
        LLVMValueRef abc = broadcast(g, av);
        for (int32_t p = 0; p < np; p++) a->v[r][p] = dot_step(g, a->v[r][p], abc, bv[p]);
        if (g->lo->has_zb) a->rs[r] = dot_step(g, a->rs[r], abc, ones);
    }
}

/* round half to even; without SSE4.1 roundeven would become a libm call,
 * so use the 2^23 trick there (exact for |x| < 2^23; larger floats are
 * integral already). */
static LLVMValueRef round_even(gen *g, LLVMValueRef f) {
    LLVMBuilderRef b = g->b;
    LLVMTypeRef fty = NULL;
    LLVMTypeRef over = g->vf32;
    if (g->cg->feat.sse41) {
        LLVMValueRef fn = intrinsic(g->cg, "llvm.roundeven", &over, 1, &fty);
        return LLVMBuildCall2(b, fty, fn, &f, 1, "");
    }
    LLVMValueRef fabs = intrinsic(g->cg, "llvm.fabs", &over, 1, &fty);
    LLVMValueRef ax = LLVMBuildCall2(b, fty, fabs, &f, 1, "");
    LLVMValueRef two23 = splat(LLVMConstReal(g->f32, 8388608.0), g->lanes);
    LLVMValueRef t = LLVMBuildFSub(b, LLVMBuildFAdd(b, ax, two23, ""), two23, "");
    LLVMTypeRef cty = NULL;
    LLVMValueRef cs = intrinsic(g->cg, "llvm.copysign", &over, 1, &cty);
    LLVMValueRef args[2] = {t, f};
    t = LLVMBuildCall2(b, cty, cs, args, 2, "");
    LLVMValueRef big = LLVMBuildFCmp(b, LLVMRealOGE, ax, two23, "");
    return LLVMBuildSelect(b, big, f, t, "");
}

/* Requantizes one accumulator vector exactly like qc_requantize +
 * qc_sat_round_add (NaN -> 0, then clamp in float against lo - zp / hi - zp,
 * which are exact floats for 8-bit outputs) and the ref's act clamp. */
static LLVMValueRef requant(gen *g, LLVMValueRef acc, LLVMValueRef rs, LLVMValueRef blob,
                            LLVMValueRef col) {
    LLVMBuilderRef b = g->b;
    const qc_i8_micro_cfg *mc = g->mc;
    unsigned al = (unsigned)(4 * g->lanes);
    LLVMValueRef c4 = LLVMBuildMul(b, col, ci64(g, 4), "");
    LLVMValueRef comp = load_al(g, g->vi32, gep(g, blob, LLVMBuildAdd(b, c4, ci64(g, g->lo->off_comp), "")), al);
    LLVMValueRef v = LLVMBuildAdd(b, acc, comp, "");   /* no nsw: wraps like the ref */
    if (g->lo->has_zb) {
        LLVMValueRef zb = load_al(g, g->vi32, gep(g, blob, LLVMBuildAdd(b, c4, ci64(g, g->lo->off_zb), "")), al);
        v = LLVMBuildSub(b, v, LLVMBuildMul(b, zb, rs, ""), "");
    }
    if (g->lo->za_rt) {
        LLVMValueRef czb = load_al(g, g->vi32, gep(g, blob, LLVMBuildAdd(b, c4, ci64(g, g->lo->off_czb), "")), al);
        v = LLVMBuildSub(b, v, LLVMBuildMul(b, g->za, czb, ""), "");
    }
    if (mc->out_i32) return v;   /* MatMulInteger: the accumulator itself */
    LLVMValueRef mult = load_al(g, g->vf32, gep(g, blob, LLVMBuildAdd(b, c4, ci64(g, g->lo->off_mult), "")), al);
    LLVMValueRef f = LLVMBuildFMul(b, LLVMBuildSIToFP(b, v, g->vf32, ""), mult, "");
    if (mc->out_f32) return f;
    f = round_even(g, f);
    LLVMValueRef zero = LLVMConstNull(g->vf32);
    f = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, f, f, ""), zero, f, "");
    LLVMValueRef flo = splat(LLVMConstReal(g->f32, (double)((int64_t)mc->lo - mc->y_zp)), g->lanes);
    LLVMValueRef fhi = splat(LLVMConstReal(g->f32, (double)((int64_t)mc->hi - mc->y_zp)), g->lanes);
    f = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLE, f, flo, ""), flo, f, "");
    f = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGE, f, fhi, ""), fhi, f, "");
    LLVMValueRef q = LLVMBuildAdd(b, LLVMBuildFPToSI(b, f, g->vi32, ""),
                                  splat(ci32(g, mc->y_zp), g->lanes), "");
    if (mc->act_min > mc->lo) {
        LLVMValueRef m = splat(ci32(g, mc->act_min), g->lanes);
        q = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, q, m, ""), m, q, "");
    }
    if (mc->act_max < mc->hi) {
        LLVMValueRef m = splat(ci32(g, mc->act_max), g->lanes);
        q = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, q, m, ""), m, q, "");
    }
    return LLVMBuildTrunc(b, q, g->vi8, "");
}

static void store_out(gen *g, LLVMValueRef q, LLVMValueRef yrow, LLVMValueRef col, int32_t valid) {
    LLVMBuilderRef b = g->b;
    int64_t es = g->mc->out_i32 || g->mc->out_f32 ? 4 : 1;   /* output element bytes */
    if (g->mc->y_sn == 1 && valid == g->lanes) {
        LLVMValueRef st = LLVMBuildStore(b, q, gep(g, yrow, LLVMBuildMul(b, col, ci64(g, es), "")));
        LLVMSetAlignment(st, 1);
        return;
    }
    /* The N-tail panel of a contiguous row: one masked store where the
     * target has byte/dword masked stores (vmovdqu8/vmovdqu32 with a
     * constant k mask), instead of one scalar store per valid lane. */
    const qc_cpu_features *ft = &g->cg->feat;
    bool masked = ft->avx512f && (es == 4 ? (g->lanes == 16 || ft->avx512vl)
                                          : ft->avx512bw && (g->lanes == 16 || ft->avx512vl));
    if (g->mc->y_sn == 1 && valid > 1 && masked) {
        LLVMTypeRef i1 = LLVMInt1TypeInContext(g->cg->ctx);
        LLVMValueRef mk[16];
        for (int32_t c = 0; c < g->lanes; c++) mk[c] = LLVMConstInt(i1, c < valid, 0);
        LLVMValueRef mask = LLVMConstVector(mk, (unsigned)g->lanes);
        LLVMValueRef ptr = gep(g, yrow, LLVMBuildMul(b, col, ci64(g, es), ""));
        LLVMTypeRef vt = LLVMTypeOf(q), over[2] = {vt, g->ptr}, fty = NULL;
        LLVMValueRef fn = intrinsic(g->cg, "llvm.masked.store", over, 2, &fty);
        LLVMValueRef args[4] = {q, ptr, ci32(g, 1), mask};
        LLVMBuildCall2(b, fty, fn, args, 4, "");
        return;
    }
    for (int32_t c = 0; c < valid; c++) {
        LLVMValueRef e = LLVMBuildExtractElement(b, q, ci32(g, c), "");
        LLVMValueRef off = LLVMBuildMul(b, LLVMBuildAdd(b, col, ci64(g, c), ""),
                                        ci64(g, g->mc->y_sn * es), "");
        LLVMValueRef st = LLVMBuildStore(b, e, gep(g, yrow, off));
        LLVMSetAlignment(st, 1);
    }
}

/* One group of np panels starting at panel index jv * nr: zeroed
 * accumulators, the K loop, the K tail, the epilogue. */
static void emit_group(gen *g, int32_t rows, LLVMValueRef jv, int32_t np, bool partial,
                       LLVMValueRef *arow, LLVMValueRef *yrow, LLVMValueRef blob,
                       LLVMValueRef nrows) {
    LLVMBuilderRef b = g->b;
    const qc_i8_layout *lo = g->lo;
    int64_t vbytes = 4 * g->lanes, nr = lo->tile.nr;
    LLVMValueRef gbase = gep(g, blob, LLVMBuildMul(b, jv, ci64(g, nr * lo->kg * vbytes), ""));
    LLVMValueRef col0 = LLVMBuildMul(b, jv, ci64(g, nr * g->lanes), "");
    accs a;
    LLVMValueRef z = LLVMConstNull(g->vi32);
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t p = 0; p < np; p++) a.v[r][p] = z;
        a.rs[r] = z;
    }
    int64_t kfull = lo->k / g->kgrp;
    int32_t ktail = (int32_t)(lo->k % g->kgrp);
    if (kfull > 0) {
        /* do { acc += group(kq) } while (++kq < kfull), accumulators as phis */
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), body = block(g, "k"), done = block(g, "k.done");
        LLVMBuildBr(b, body);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef kq = LLVMBuildPhi(b, g->i64, "kq");
        accs ph = a;
        for (int32_t r = 0; r < rows; r++) {
            for (int32_t p = 0; p < np; p++) {
                ph.v[r][p] = LLVMBuildPhi(b, g->vi32, "acc");
                LLVMAddIncoming(ph.v[r][p], &z, &pre, 1);
            }
            if (lo->has_zb) {
                ph.rs[r] = LLVMBuildPhi(b, g->vi32, "rs");
                LLVMAddIncoming(ph.rs[r], &z, &pre, 1);
            }
        }
        accs nx = ph;
        k_step(g, rows, np, arow, gbase, kq, g->kgrp, &nx);
        LLVMValueRef kn = LLVMBuildAdd(b, kq, ci64(g, 1), "");
        LLVMBasicBlockRef end = LLVMGetInsertBlock(b);
        LLVMValueRef zero64 = ci64(g, 0);
        LLVMAddIncoming(kq, &zero64, &pre, 1);
        LLVMAddIncoming(kq, &kn, &end, 1);
        for (int32_t r = 0; r < rows; r++) {
            for (int32_t p = 0; p < np; p++) LLVMAddIncoming(ph.v[r][p], &nx.v[r][p], &end, 1);
            if (lo->has_zb) LLVMAddIncoming(ph.rs[r], &nx.rs[r], &end, 1);
        }
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, kn, ci64(g, kfull), ""), body, done);
        LLVMPositionBuilderAtEnd(b, done);
        a = nx;
    }
    if (ktail) k_step(g, rows, np, arow, gbase, ci64(g, kfull), ktail, &a);
    for (int32_t r = 0; r < rows; r++) {
        /* Rows past the block's runtime row count were computed on row 0's
         * data; they are not stored (row 0 always exists). */
        LLVMBasicBlockRef skip = NULL;
        if (r > 0) {
            LLVMBasicBlockRef st = block(g, "row.store");
            skip = block(g, "row.next");
            LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, ci64(g, r), nrows, ""), st, skip);
            LLVMPositionBuilderAtEnd(b, st);
        }
        for (int32_t p = 0; p < np; p++) {
            LLVMValueRef col = LLVMBuildAdd(b, col0, ci64(g, p * g->lanes), "");
            LLVMValueRef q = requant(g, a.v[r][p], a.rs[r], blob, col);
            int32_t valid = partial && p == np - 1 ? (int32_t)(lo->n % g->lanes) : g->lanes;
            store_out(g, q, yrow[r], col, valid);
        }
        if (skip) {
            LLVMBuildBr(b, skip);
            LLVMPositionBuilderAtEnd(b, skip);
        }
    }
}

/* pmaddwd variants: A's rows widened once per call into u16 (+128 for i8
 * A), so each k-group is one 4-byte load instead of a byte load, shift and
 * merge per row, repeated for every panel group (what made the AVX2 kernel
 * A-bound). Sixteen bytes per vector step, the K tail and the odd pad
 * element as scalars. Bounded by A_WIDE_MAX bytes of stack. */
#define A_WIDE_MAX (64 * 1024)

static LLVMValueRef widen_row(gen *g, LLVMValueRef src, LLVMValueRef dst) {
    LLVMBuilderRef b = g->b;
    const qc_i8_layout *lo = g->lo;
    bool flip = g->mc->a_signed;
    int64_t chunks = lo->k / 16;
    LLVMTypeRef v16i8 = LLVMVectorType(g->i8, 16), v16i16 = LLVMVectorType(g->i16, 16);
    if (chunks > 0) {
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), body = block(g, "aw"), done = block(g, "aw.done");
        LLVMBuildBr(b, body);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef i = LLVMBuildPhi(b, g->i64, "i");
        LLVMValueRef v = load_al(g, v16i8, gep(g, src, LLVMBuildMul(b, i, ci64(g, 16), "")), 1);
        if (flip) v = LLVMBuildXor(b, v, splat(LLVMConstInt(g->i8, 0x80, 0), 16), "");
        LLVMValueRef w = LLVMBuildZExt(b, v, v16i16, "");
        LLVMValueRef st = LLVMBuildStore(b, w, gep(g, dst, LLVMBuildMul(b, i, ci64(g, 32), "")));
        LLVMSetAlignment(st, 4);
        LLVMValueRef in = LLVMBuildAdd(b, i, ci64(g, 1), "");
        LLVMValueRef zero64 = ci64(g, 0);
        LLVMBasicBlockRef end = LLVMGetInsertBlock(b);
        LLVMAddIncoming(i, &zero64, &pre, 1);
        LLVMAddIncoming(i, &in, &end, 1);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, in, ci64(g, chunks), ""), body, done);
        LLVMPositionBuilderAtEnd(b, done);
    }
    for (int64_t e = chunks * 16; e < lo->kg * 2; e++) {
        LLVMValueRef w = LLVMConstInt(g->i16, 0, 0);
        if (e < lo->k) {
            LLVMValueRef v = load_al(g, g->i8, gep(g, src, ci64(g, e)), 1);
            if (flip) v = LLVMBuildXor(b, v, LLVMConstInt(g->i8, 0x80, 0), "");
            w = LLVMBuildZExt(b, v, g->i16, "");
        }
        LLVMSetAlignment(LLVMBuildStore(b, w, gep(g, dst, ci64(g, 2 * e))), 2);
    }
    return dst;
}

static void emit_micro(gen *g, int32_t rows) {
    LLVMBuilderRef b = g->b;
    const qc_i8_layout *lo = g->lo;
    LLVMValueRef a = LLVMGetParam(g->fn, 0), lda = LLVMGetParam(g->fn, 1);
    LLVMValueRef y = LLVMGetParam(g->fn, 2), ysr = LLVMGetParam(g->fn, 3);
    LLVMValueRef blob = LLVMGetParam(g->fn, 4), nrows = LLVMGetParam(g->fn, 5);
    LLVMPositionBuilderAtEnd(b, block(g, "entry"));
    if (lo->za_rt) g->za = broadcast(g, LLVMGetParam(g->fn, 6));
    LLVMValueRef arow[MAXR], yrow[MAXR];
    for (int32_t r = 0; r < rows; r++) {
        /* A missing row reads row 0: always valid memory, result unused. */
        LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntSLT, ci64(g, r), nrows, "");
        LLVMValueRef off = LLVMBuildSelect(b, ok, LLVMBuildMul(b, lda, ci64(g, r), ""), ci64(g, 0), "");
        arow[r] = gep(g, a, off);
        yrow[r] = gep(g, y, LLVMBuildMul(b, ysr, ci64(g, r), ""));
    }
    g->a_wide = g->kgrp == 2 && (int64_t)rows * lo->kg * 4 <= A_WIDE_MAX;
    if (g->a_wide) {
        LLVMValueRef wa = LLVMBuildArrayAlloca(b, g->i32, ci64(g, rows * lo->kg), "awide");
        LLVMSetAlignment(wa, 64);
        for (int32_t r = 0; r < rows; r++)
            arow[r] = widen_row(g, arow[r], gep(g, wa, ci64(g, r * lo->kg * 4)));
    }
    int64_t nr = lo->tile.nr;
    int64_t nfull = (lo->n / g->lanes) / nr;          /* groups of nr complete panels */
    int32_t rem = (int32_t)(lo->npan - nfull * nr);   /* the rest, last maybe partial */
    if (nfull > 0) {
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), body = block(g, "n"), done = block(g, "n.done");
        LLVMBuildBr(b, body);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef j = LLVMBuildPhi(b, g->i64, "j");
        emit_group(g, rows, j, (int32_t)nr, false, arow, yrow, blob, nrows);
        LLVMValueRef jn = LLVMBuildAdd(b, j, ci64(g, 1), "");
        LLVMBasicBlockRef end = LLVMGetInsertBlock(b);
        LLVMValueRef zero64 = ci64(g, 0);
        LLVMAddIncoming(j, &zero64, &pre, 1);
        LLVMAddIncoming(j, &jn, &end, 1);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, jn, ci64(g, nfull), ""), body, done);
        LLVMPositionBuilderAtEnd(b, done);
    }
    if (rem > 0)
        emit_group(g, rows, ci64(g, nfull), rem, lo->n % g->lanes != 0, arow, yrow, blob, nrows);
    LLVMBuildRetVoid(b);
}

LLVMTypeRef qc_i8_micro_type(qc_cpu_cg *cg) {
    LLVMTypeRef ptr = LLVMPointerTypeInContext(cg->ctx, 0), i64 = LLVMInt64TypeInContext(cg->ctx);
    LLVMTypeRef params[7] = {ptr, i64, ptr, i64, ptr, i64, LLVMInt32TypeInContext(cg->ctx)};
    return LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), params, 7, 0);
}

static bool isa_allowed(const qc_cpu_features *f, qc_i8_isa isa) {
    switch (isa) {
    case QC_I8_VNNI512: return f->avx512vnni && f->avx512f && f->avx512bw;
    case QC_I8_VNNI256: return f->avxvnni || (f->avx512vnni && f->avx512vl);
    case QC_I8_PMADDWD256: return f->avx2;
    default: return true;   /* sse2 is x86-64 baseline */
    }
}

qc_status qc_i8_define_micro(qc_cpu_cg *cg, const qc_i8_layout *lo, const qc_i8_micro_cfg *mc,
                              const char *name, LLVMValueRef *fn) {
    qc_i8_tile t = lo->tile;
    if (!isa_allowed(&cg->feat, t.isa))
        return qc_error(QC_ERR_UNSUPPORTED, "int8 gemm: cpu '%s' lacks %s", cg->cpu,
                        qc_i8_isa_name(t.isa));
    if (t.mr < 1 || t.mr > MAXR || t.nr < 1 || t.nr > MAXP)
        return qc_error(QC_ERR_INVALID, "int8 gemm: tile %dx%d out of range", t.mr, t.nr);
    gen g = {.cg = cg, .lo = lo, .mc = mc, .lanes = qc_i8_lanes(t.isa), .kgrp = qc_i8_kgroup(t.isa)};
    g.i8 = LLVMInt8TypeInContext(cg->ctx);
    g.i16 = LLVMInt16TypeInContext(cg->ctx);
    g.i32 = LLVMInt32TypeInContext(cg->ctx);
    g.i64 = LLVMInt64TypeInContext(cg->ctx);
    g.f32 = LLVMFloatTypeInContext(cg->ctx);
    g.ptr = LLVMPointerTypeInContext(cg->ctx, 0);
    g.vi32 = LLVMVectorType(g.i32, (unsigned)g.lanes);
    g.vf32 = LLVMVectorType(g.f32, (unsigned)g.lanes);
    g.vi8 = LLVMVectorType(g.i8, (unsigned)g.lanes);
    g.v2i16 = LLVMVectorType(g.i16, (unsigned)(2 * g.lanes));
    static const char *const dot_names[] = {"llvm.x86.avx512.vpdpbusd.512",
                                            "llvm.x86.avx512.vpdpbusd.256",
                                            "llvm.x86.avx2.pmadd.wd", "llvm.x86.sse2.pmadd.wd"};
    g.dot = intrinsic(cg, dot_names[t.isa], NULL, 0, &g.dot_ty);
    if (!g.dot)
        return qc_error(QC_ERR_INTERNAL, "int8 gemm: LLVM has no intrinsic %s", dot_names[t.isa]);
    g.b = LLVMCreateBuilderInContext(cg->ctx);
    g.fn = LLVMAddFunction(cg->mod, name, qc_i8_micro_type(cg));
    LLVMSetLinkage(g.fn, LLVMInternalLinkage);
    emit_micro(&g, t.mr);
    *fn = g.fn;
    LLVMDisposeBuilder(g.b);
    return NULL;
}

/* ---- driver helpers -------------------------------------------------------------- */

LLVMValueRef qc_i8_add_kernel(qc_cpu_cg *cg, const char *symbol) {
    LLVMTypeRef ptr = LLVMPointerTypeInContext(cg->ctx, 0), i64 = LLVMInt64TypeInContext(cg->ctx);
    LLVMTypeRef params[3] = {ptr, i64, i64};
    LLVMValueRef fn = LLVMAddFunction(cg->mod, symbol,
                                      LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), params, 3, 0));
    LLVMSetLinkage(fn, LLVMExternalLinkage);
    return fn;
}

LLVMValueRef qc_i8_load_arg(LLVMBuilderRef b, qc_cpu_cg *cg, LLVMValueRef kargs, int field,
                            int index) {
    LLVMTypeRef ptr = LLVMPointerTypeInContext(cg->ctx, 0), i64 = LLVMInt64TypeInContext(cg->ctx);
    LLVMValueRef off = LLVMConstInt(i64, (uint64_t)field * 8, 0);
    LLVMValueRef fp = LLVMBuildGEP2(b, LLVMInt8TypeInContext(cg->ctx), kargs, &off, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(b, ptr, fp, "");
    if (field == 2) return v;   /* packed: the pointer itself */
    LLVMValueRef idx = LLVMConstInt(i64, (uint64_t)index, 0);
    return LLVMBuildLoad2(b, ptr, LLVMBuildGEP2(b, ptr, v, &idx, 1, ""), "");
}

LLVMValueRef qc_i8_runtime_za(LLVMBuilderRef b, qc_cpu_cg *cg, LLVMValueRef zp, bool zp_signed,
                              bool a_signed) {
    LLVMTypeRef i8 = LLVMInt8TypeInContext(cg->ctx), i32 = LLVMInt32TypeInContext(cg->ctx);
    LLVMValueRef v = LLVMBuildLoad2(b, i8, zp, "za");
    v = zp_signed ? LLVMBuildSExt(b, v, i32, "") : LLVMBuildZExt(b, v, i32, "");
    if (a_signed) v = LLVMBuildAdd(b, v, LLVMConstInt(i32, 128, 0), "");
    return v;
}
