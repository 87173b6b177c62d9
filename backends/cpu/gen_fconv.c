/* gen_fconv.c — fp32 Conv and qc.FusedConv on NCHW tensors (1-D and 2-D,
 * any groups, strides, pads, dilations, auto_pad), vectorised over output
 * positions.
 *
 * Per (image, group) the convolution is the GEMM
 *   Y[m][q] = sum_k Wg[m][k] * X'[k][q],   k = (c, kh, kw), q = output position,
 * where X' is im2col(X). The lanes are output positions, so each filter row
 * of a register tile is NV whole vectors of Y (one store each, no transpose)
 * and the filter is a broadcast scalar. A work unit is one block of NP = NV
 * x L positions of one image and group: it builds its block of X' in a
 * stack scratch once (a chunk of input channels at a time, when the block
 * is too large) and runs every filter of the group over it, MR filters per
 * register tile, so the gather is amortised over all Mg filters.
 *
 * Three ways to fill X' (chosen at compile time):
 *   pointwise  1x1, stride 1, no padding: X' is X itself, read in place;
 *   row        column stride 1 and rows >= L positions: blocks lie within
 *              one output row, so each tap of a vector is one masked
 *              contiguous load (the mask drops padding columns and the
 *              row's tail; a padding row loads nothing);
 *   flat       otherwise (strided columns, short rows): blocks of the
 *              flattened output, each lane's input position computed, one
 *              masked gather per tap and vector.
 * With one filter tile per group (depthwise; Mg <= MR) X' would be read
 * once, so the direct variant skips it: each channel's taps are loaded
 * (row or flat) right where the multiply-adds use them.
 * Padding reads 0 (Conv's zero padding). The epilogue adds the bias, runs
 * the fused program (prog.h) and stores the block with the tail mask.
 *
 * Numerics: fp32 multiply-add per tap (fused where the target has FMA) in
 * the ref's order of taps (c, kh, kw); the ref accumulates in double, so
 * results agree to fp32 rounding of the sum, not bit for bit (float paths
 * are tolerance-checked: tests/cpu/test_cpu_fconv.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/prog.h"
#include "ir/dtype.h"
#include "ops/infer_nn.h"

#define FC_OPS 16
#define FC_NV 2                    /* position vectors per block */
#define FC_SCRATCH (128 * 1024)    /* bytes of X' per chunk, on the stack */
#define FC_DIRECT_TAPS 49          /* direct variant: taps unrolled per channel, up to 7x7 */

typedef enum fc_mode { FC_POINTWISE, FC_ROW, FC_FLAT } fc_mode;

/* How an epilogue operand broadcasts onto Y [N, M, positions]. */
typedef enum fc_bcast { FC_BC_SCALAR, FC_BC_CHANNEL, FC_BC_FULL } fc_bcast;

typedef struct fconv {
    int32_t L, NP, MR;             /* lanes, positions per block, filters per tile */
    fc_mode mode;
    bool direct;                   /* row / flat without X': taps loaded per channel */
    int64_t C, M, G, Cg, Mg;
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw;
    int64_t T, K, HW, Q;           /* taps, GEMM depth, input / output plane sizes */
    int64_t NOB, NQB;              /* row: blocks per output row; blocks per plane */
    int64_t CC;                    /* input channels per chunk of X' */
    int64_t NT;                    /* filter tiles per group (the last may be partial) */
    int64_t n_a, n_b;              /* images = a + b * batch */
    int32_t bias;                  /* node input of the bias, or -1 */
    qc_cpu_prog prog;
    bool has_prog;
    fc_bcast bc[FC_OPS];
} fconv;

typedef struct fctx {
    qc_cpu_fn *f;
    const fconv *d;
    LLVMValueRef ptr[FC_OPS];      /* node inputs */
    LLVMValueRef img, m, q;        /* the epilogue's position (i64) */
    LLVMValueRef mask;             /* its lanes */
} fctx;

static qc_status unsupported(const char *why) { return qc_error(QC_ERR_UNSUPPORTED, "%s", why); }

/* ---- analysis --------------------------------------------------------------------- */

static bool classify(const qc_type *t, const qc_type *y, fc_bcast *out) {
    bool ones = true;
    for (int32_t k = 0; k < t->rank; k++) ones = ones && t->dims[k] == 1;
    if (ones) return *out = FC_BC_SCALAR, true;
    if (t->rank == y->rank) {
        bool same = true;
        for (int32_t k = 0; k < t->rank; k++) same = same && t->dims[k] == y->dims[k];
        if (same) return *out = FC_BC_FULL, true;
    }
    /* right-aligned: [M, 1, ...] reaching back to Y's channel axis */
    int32_t lead = y->rank - t->rank;
    if (lead < 0 || lead > 1) return false;
    for (int32_t k = 0; k < t->rank; k++) {
        int32_t axis = lead + k;
        if (t->dims[k] != (axis == 1 ? y->dims[1] : 1)) return false;
    }
    return *out = FC_BC_CHANNEL, true;
}

static qc_status read_epilogue(const qc_graph *g, const qc_node *n, int32_t n_base, fconv *d) {
    const qc_type *ty = &g->values[n->out[0]].type;
    qc_status st = qc_cpu_prog_parse(qc_attr_string(n, "program", ""), n->n_in, &d->prog);
    if (st) return st;
    d->has_prog = d->prog.n > 0;
    for (int32_t k = n_base; k < n->n_in; k++) {
        if (n->in[k] < 0) return unsupported("absent epilogue operand");
        if (g->values[n->in[k]].type.dtype != QC_F32) return unsupported("epilogue operand not f32");
        if (!classify(&g->values[n->in[k]].type, ty, &d->bc[k]))
            return unsupported("epilogue operand broadcast");
    }
    for (int32_t s = 0; s < d->prog.n; s++)
        for (int32_t a = 0; a < d->prog.s[s].n_in; a++)
            if (d->prog.s[s].in[a] >= 0 && d->prog.s[s].in[a] < n_base)
                return unsupported("epilogue reads a base input");
    return NULL;
}

/* The geometry, as 2-D (a 1-D conv is one row of height 1). */
static qc_status read_geometry(const qc_node *n, const qc_type *xt, const qc_type *wt, fconv *d) {
    qc_type xs = *xt;
    if (xs.dims[0] == QC_DIM_SYM) xs.dims[0] = 1;
    qc_nn_window win;
    qc_status st = qc_nn_window_get(n, &xs, wt, &win);
    if (st) return st;
    bool two = win.nsp == 2;
    d->H = two ? win.in[0] : 1, d->W = win.in[two];
    d->OH = two ? win.out[0] : 1, d->OW = win.out[two];
    d->KH = two ? win.kernel[0] : 1, d->KW = win.kernel[two];
    d->sh = two ? win.stride[0] : 1, d->sw = win.stride[two];
    d->dh = two ? win.dilation[0] : 1, d->dw = win.dilation[two];
    d->ph = two ? win.pad_begin[0] : 0, d->pw = win.pad_begin[two];
    return NULL;
}

static qc_status analyze(const qc_cpu_cg *cg, const qc_graph *g, const qc_node *n, fconv *d) {
    memset(d, 0, sizeof *d);
    bool fused = n->op == QC_OP_FUSED_CONV;
    int32_t n_base = fused ? (int32_t)qc_attr_int(n, "n_base", n->n_in) : n->n_in;
    if (n_base < 2 || n_base > 3 || n_base > n->n_in || n->n_in > FC_OPS || n->n_out != 1)
        return unsupported("unexpected inputs");
    if (n->in[0] < 0 || n->in[1] < 0) return unsupported("absent X or W");
    const qc_type *xt = &g->values[n->in[0]].type, *wt = &g->values[n->in[1]].type;
    const qc_type *yt = &g->values[n->out[0]].type;
    if (xt->dtype != QC_F32 || wt->dtype != QC_F32 || yt->dtype != QC_F32)
        return unsupported("not fp32");
    if (xt->rank != 3 && xt->rank != 4) return unsupported("only 1-D and 2-D convolutions");
    if (wt->rank != xt->rank || yt->rank != xt->rank) return unsupported("ranks");
    if (!g->values[n->in[1]].data) return unsupported("W is not a constant (packed at compile time)");
    for (int32_t k = 1; k < xt->rank; k++)
        if (xt->dims[k] == QC_DIM_SYM || yt->dims[k] == QC_DIM_SYM)
            return unsupported("symbolic non-batch dim");
    d->bias = n_base > 2 && n->in[2] >= 0 ? 2 : -1;
    if (d->bias >= 0 && (g->values[n->in[2]].type.dtype != QC_F32 ||
                         qc_type_numel(&g->values[n->in[2]].type) != wt->dims[0]))
        return unsupported("bias");
    qc_status st = read_geometry(n, xt, wt, d);
    if (!st && fused) st = read_epilogue(g, n, n_base, d);
    if (st) return st;

    d->C = xt->dims[1];
    d->M = wt->dims[0];
    d->G = qc_attr_int(n, "group", 1);
    if (d->G < 1 || d->C % d->G || d->M % d->G || wt->dims[1] * d->G != d->C || yt->dims[1] != d->M)
        return unsupported("group / channel shapes");
    d->Cg = d->C / d->G;
    d->Mg = d->M / d->G;
    d->T = d->KH * d->KW;
    d->K = d->Cg * d->T;
    d->HW = d->H * d->W;
    d->Q = d->OH * d->OW;
    if (d->HW >= INT32_MAX / 2 || d->Q >= INT32_MAX / 2) return unsupported("planes over 2^30");

    d->L = cg->feat.avx512f ? 16 : cg->feat.avx2 ? 8 : 4;
    d->NP = FC_NV * d->L;
    d->MR = d->L == 16 ? 12 : d->L == 8 ? 6 : 4;
    bool unit = d->T == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0 &&
                d->OH == d->H && d->OW == d->W;
    d->mode = unit ? FC_POINTWISE : d->sw == 1 && d->OW >= d->L ? FC_ROW : FC_FLAT;
    d->NOB = (d->OW + d->NP - 1) / d->NP;
    d->NQB = d->mode == FC_ROW ? d->OH * d->NOB : (d->Q + d->NP - 1) / d->NP;
    d->NT = (d->Mg + d->MR - 1) / d->MR;
    /* One filter tile per group (depthwise, few filters): X' would be read
     * back once, so the taps are loaded straight into the multiply-adds */
    d->direct = d->mode != FC_POINTWISE && d->NT == 1 && d->T <= FC_DIRECT_TAPS;
    d->CC = d->Cg;   /* no X' (pointwise, direct): every channel in one pass */
    if (d->mode != FC_POINTWISE && !d->direct) {
        int64_t per_c = d->T * d->NP * (int64_t)sizeof(float);
        if (per_c > FC_SCRATCH) return unsupported("kernel window too large for the scratch");
        if (FC_SCRATCH / per_c < d->CC) d->CC = FC_SCRATCH / per_c;
    }
    bool sym = xt->dims[0] == QC_DIM_SYM;
    d->n_a = sym ? 0 : xt->dims[0];
    d->n_b = sym ? 1 : 0;
    return NULL;
}

/* W [M][Cg][taps] as [G][NT][K][MR]: MR consecutive filters per k, the last
 * tile zero-padded, so a tile's k step is MR contiguous broadcasts. */
static qc_status pack_w(const qc_graph *g, const qc_node *n, const fconv *d, qc_cpu_kernel *k) {
    const float *w = g->values[n->in[1]].data;
    size_t len = sizeof(float) * (size_t)(d->G * d->NT * d->K * d->MR);
    float *pk = calloc(1, len ? len : 1);
    if (!pk) return qc_error(QC_ERR_NOMEM, "out of memory packing W (%zu bytes)", len);
    for (int64_t gi = 0; gi < d->G; gi++)
        for (int64_t t = 0; t < d->NT; t++)
            for (int64_t kk = 0; kk < d->K; kk++)
                for (int64_t r = 0; r < d->MR; r++) {
                    int64_t m = t * d->MR + r;
                    if (m < d->Mg)
                        pk[((gi * d->NT + t) * d->K + kk) * d->MR + r] = w[(gi * d->Mg + m) * d->K + kk];
                }
    k->packed = (uint8_t *)pk;
    k->packed_len = len;
    return NULL;
}

/* ---- code --------------------------------------------------------------------------- */

static LLVMValueRef i64c(qc_cpu_fn *f, int64_t v) { return qc_cpu_i64(f, v); }
static LLVMValueRef add(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(f->b, a, b, ""); }
static LLVMValueRef mul(qc_cpu_fn *f, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildMul(f->b, a, b, ""); }

static LLVMValueRef splat_i32(qc_cpu_fn *f, int32_t w, int64_t v) {
    LLVMValueRef e[16];
    for (int32_t i = 0; i < w; i++) e[i] = LLVMConstInt(f->i32, (uint64_t)v, 1);
    return LLVMConstVector(e, (unsigned)w);
}

static LLVMValueRef prog_operand(void *ctx, int32_t k, int32_t w) {
    fctx *c = ctx;
    qc_cpu_fn *f = c->f;
    const fconv *d = c->d;
    switch (d->bc[k]) {
    case FC_BC_SCALAR: return qc_cpu_splat(f, w, qc_cpu_loadf(f, 1, c->ptr[k], i64c(f, 0)));
    case FC_BC_CHANNEL: return qc_cpu_splat(f, w, qc_cpu_loadf(f, 1, c->ptr[k], c->m));
    case FC_BC_FULL:
    default: {
        LLVMValueRef plane = add(f, mul(f, c->img, i64c(f, d->M)), c->m);
        return qc_cpu_loadf_masked(f, w, c->ptr[k], add(f, mul(f, plane, i64c(f, d->Q)), c->q), c->mask);
    }
    }
}

/* The unit's block of positions. */
typedef struct fblock {
    LLVMValueRef img, g, q0;       /* i64 */
    LLVMValueRef oh, ow0;          /* row mode */
    LLVMValueRef mask[FC_NV];      /* lanes that are real positions */
    LLVMValueRef ihb[FC_NV], iwb[FC_NV];   /* flat mode: i32 lanes, window origin */
    LLVMValueRef xg, yg;           /* the group's first input / output plane */
    LLVMValueRef scratch;
    LLVMValueRef full;             /* i1: every lane of the block is a position */
} fblock;

static void block_start(qc_cpu_fn *f, const fconv *d, LLVMValueRef u, LLVMValueRef X,
                        LLVMValueRef Y, fblock *bl) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef per_img = i64c(f, d->G * d->NQB);
    bl->img = LLVMBuildUDiv(b, u, per_img, "");
    LLVMValueRef rem = LLVMBuildURem(b, u, per_img, "");
    bl->g = LLVMBuildUDiv(b, rem, i64c(f, d->NQB), "");
    LLVMValueRef qb = LLVMBuildURem(b, rem, i64c(f, d->NQB), "");
    LLVMValueRef cplane = add(f, mul(f, bl->img, i64c(f, d->C)), mul(f, bl->g, i64c(f, d->Cg)));
    LLVMValueRef mplane = add(f, mul(f, bl->img, i64c(f, d->M)), mul(f, bl->g, i64c(f, d->Mg)));
    bl->xg = qc_cpu_gep(f, f->f32, X, mul(f, cplane, i64c(f, d->HW)));
    bl->yg = qc_cpu_gep(f, f->f32, Y, mul(f, mplane, i64c(f, d->Q)));
    if (d->mode == FC_ROW) {
        bl->oh = LLVMBuildUDiv(b, qb, i64c(f, d->NOB), "");
        bl->ow0 = mul(f, LLVMBuildURem(b, qb, i64c(f, d->NOB), ""), i64c(f, d->NP));
        bl->q0 = add(f, mul(f, bl->oh, i64c(f, d->OW)), bl->ow0);
        for (int32_t v = 0; v < FC_NV; v++)
            bl->mask[v] = qc_cpu_range_mask(f, add(f, bl->ow0, i64c(f, v * d->L)), d->OW, d->L);
        bl->full = LLVMBuildICmp(b, LLVMIntSLE, add(f, bl->ow0, i64c(f, d->NP)), i64c(f, d->OW), "");
        return;
    }
    bl->q0 = mul(f, qb, i64c(f, d->NP));
    bl->full = LLVMBuildICmp(b, LLVMIntSLE, add(f, bl->q0, i64c(f, d->NP)), i64c(f, d->Q), "");
    for (int32_t v = 0; v < FC_NV; v++)
        bl->mask[v] = qc_cpu_range_mask(f, add(f, bl->q0, i64c(f, v * d->L)), d->Q, d->L);
    if (d->mode != FC_FLAT) return;
    LLVMTypeRef vi = LLVMVectorType(f->i32, (unsigned)d->L);
    LLVMValueRef iota[16];
    for (int32_t i = 0; i < d->L; i++) iota[i] = qc_cpu_i32(f, i);
    LLVMValueRef q32 = LLVMBuildTrunc(b, bl->q0, f->i32, "");
    for (int32_t v = 0; v < FC_NV; v++) {
        LLVMValueRef base = LLVMBuildInsertElement(b, LLVMGetUndef(vi), q32, qc_cpu_i32(f, 0), "");
        base = LLVMBuildShuffleVector(b, base, LLVMGetUndef(vi), LLVMConstNull(vi), "");
        LLVMValueRef q = LLVMBuildAdd(b, base, LLVMConstVector(iota, (unsigned)d->L), "");
        q = LLVMBuildAdd(b, q, splat_i32(f, d->L, v * d->L), "");
        LLVMValueRef oh = LLVMBuildUDiv(b, q, splat_i32(f, d->L, d->OW), "");
        LLVMValueRef ow = LLVMBuildURem(b, q, splat_i32(f, d->L, d->OW), "");
        bl->ihb[v] = LLVMBuildSub(b, LLVMBuildMul(b, oh, splat_i32(f, d->L, d->sh), ""),
                                  splat_i32(f, d->L, d->ph), "");
        bl->iwb[v] = LLVMBuildSub(b, LLVMBuildMul(b, ow, splat_i32(f, d->L, d->sw), ""),
                                  splat_i32(f, d->L, d->pw), "");
    }
}

/* L lanes of X' for tap (kh, kw) of input plane xc, vector v of the block. */
static LLVMValueRef load_tap(qc_cpu_fn *f, const fconv *d, const fblock *bl, LLVMValueRef xc,
                             LLVMValueRef kh, LLVMValueRef kw, int32_t v) {
    LLVMBuilderRef b = f->b;
    if (d->mode == FC_ROW) {
        LLVMValueRef ih = add(f, LLVMBuildSub(b, mul(f, bl->oh, i64c(f, d->sh)), i64c(f, d->ph), ""),
                              mul(f, kh, i64c(f, d->dh)));
        LLVMValueRef in_h = LLVMBuildICmp(b, LLVMIntULT, ih, i64c(f, d->H), "");
        ih = LLVMBuildSelect(b, in_h, ih, i64c(f, 0), "");   /* a row that exists */
        LLVMValueRef iw0 = add(f, LLVMBuildSub(b, bl->ow0, i64c(f, d->pw - v * d->L), ""),
                               mul(f, kw, i64c(f, d->dw)));
        LLVMValueRef m = LLVMBuildAnd(b, qc_cpu_range_mask(f, iw0, d->W, d->L), bl->mask[v], "");
        m = LLVMBuildAnd(b, m, qc_cpu_splat(f, d->L, in_h), "");
        return qc_cpu_loadf_masked(f, d->L, xc, add(f, mul(f, ih, i64c(f, d->W)), iw0), m);
    }
    LLVMValueRef kh32 = LLVMBuildTrunc(b, mul(f, kh, i64c(f, d->dh)), f->i32, "");
    LLVMValueRef kw32 = LLVMBuildTrunc(b, mul(f, kw, i64c(f, d->dw)), f->i32, "");
    LLVMTypeRef vi = LLVMVectorType(f->i32, (unsigned)d->L);
    LLVMValueRef kv = LLVMBuildInsertElement(b, LLVMGetUndef(vi), kh32, qc_cpu_i32(f, 0), "");
    kv = LLVMBuildShuffleVector(b, kv, LLVMGetUndef(vi), LLVMConstNull(vi), "");
    LLVMValueRef wv = LLVMBuildInsertElement(b, LLVMGetUndef(vi), kw32, qc_cpu_i32(f, 0), "");
    wv = LLVMBuildShuffleVector(b, wv, LLVMGetUndef(vi), LLVMConstNull(vi), "");
    LLVMValueRef ih = LLVMBuildAdd(b, bl->ihb[v], kv, "");
    LLVMValueRef iw = LLVMBuildAdd(b, bl->iwb[v], wv, "");
    LLVMValueRef m = LLVMBuildAnd(b, bl->mask[v],
                                  LLVMBuildICmp(b, LLVMIntULT, ih, splat_i32(f, d->L, d->H), ""), "");
    m = LLVMBuildAnd(b, m, LLVMBuildICmp(b, LLVMIntULT, iw, splat_i32(f, d->L, d->W), ""), "");
    /* masked-off lanes may hold any offset: they are not accessed */
    LLVMValueRef off = LLVMBuildAdd(b, LLVMBuildMul(b, ih, splat_i32(f, d->L, d->W), ""), iw, "");
    LLVMValueRef ptrs = LLVMBuildGEP2(b, f->f32, xc, &off, 1, "");
    LLVMTypeRef vp = LLVMVectorType(f->ptr, (unsigned)d->L);
    LLVMValueRef args[4] = {ptrs, qc_cpu_i32(f, 4), m, qc_cpu_fconst(f, d->L, 0.0)};
    return qc_cpu_intrin2(f, "llvm.masked.gather", qc_cpu_vt(f, d->L), vp, args, 4);
}

/* scratch[(c * T + kh * KW + kw) * NP ..] = X' of channels [c0, c0 + cc). */
static void im2col(qc_cpu_fn *f, const fconv *d, const fblock *bl, LLVMValueRef c0, LLVMValueRef cc) {
    qc_cpu_loop cl, hl, wl;
    LLVMValueRef c = qc_cpu_loop_begin(f, &cl, i64c(f, 0), cc, 1);
    LLVMValueRef xc = qc_cpu_gep(f, f->f32, bl->xg, mul(f, add(f, c0, c), i64c(f, d->HW)));
    LLVMValueRef kh = qc_cpu_loop_begin(f, &hl, i64c(f, 0), i64c(f, d->KH), 1);
    LLVMValueRef kw = qc_cpu_loop_begin(f, &wl, i64c(f, 0), i64c(f, d->KW), 1);
    LLVMValueRef tap = add(f, add(f, mul(f, c, i64c(f, d->T)), mul(f, kh, i64c(f, d->KW))), kw);
    LLVMValueRef dst = mul(f, tap, i64c(f, d->NP));
    for (int32_t v = 0; v < FC_NV; v++)
        qc_cpu_storef(f, d->L, bl->scratch, add(f, dst, i64c(f, v * d->L)),
                      load_tap(f, d, bl, xc, kh, kw, v));
    qc_cpu_loop_end(f, &wl);
    qc_cpu_loop_end(f, &hl);
    qc_cpu_loop_end(f, &cl);
}

/* A loop whose body runs at least once, with the tile's mr x NV
 * accumulators as phis starting at init. */
typedef struct facc_loop {
    LLVMBasicBlockRef head, done;
    LLVMValueRef iv;
    LLVMValueRef acc[12][FC_NV];
} facc_loop;

static void acc_loop_begin(qc_cpu_fn *f, const fconv *d, int32_t mr, LLVMValueRef init[][FC_NV],
                           const char *name, facc_loop *l) {
    LLVMBuilderRef b = f->b;
    LLVMContextRef ctx = f->cg->ctx;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    l->head = LLVMAppendBasicBlockInContext(ctx, f->fn, name);
    l->done = LLVMAppendBasicBlockInContext(ctx, f->fn, "facc.done");
    LLVMBuildBr(b, l->head);
    LLVMPositionBuilderAtEnd(b, l->head);
    l->iv = LLVMBuildPhi(b, f->i64, "iv");
    LLVMValueRef z64 = i64c(f, 0);
    LLVMAddIncoming(l->iv, &z64, &pre, 1);
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < FC_NV; v++) {
            l->acc[r][v] = LLVMBuildPhi(b, qc_cpu_vt(f, d->L), "facc");
            LLVMAddIncoming(l->acc[r][v], &init[r][v], &pre, 1);
        }
}

/* Closes the loop after `count` iterations with next[][] as the new sums. */
static void acc_loop_end(qc_cpu_fn *f, int32_t mr, facc_loop *l, LLVMValueRef next[][FC_NV],
                         LLVMValueRef count) {
    LLVMBuilderRef b = f->b;
    LLVMValueRef i1 = add(f, l->iv, i64c(f, 1));
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMAddIncoming(l->iv, &i1, &latch, 1);
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < FC_NV; v++) LLVMAddIncoming(l->acc[r][v], &next[r][v], &latch, 1);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, i1, count, ""), l->head, l->done);
    LLVMPositionBuilderAtEnd(b, l->done);
}

/* Stores tile accumulators (acc[r][v], filters t*MR + r of the group);
 * `final` adds the bias and runs the epilogue. */
static void store_tile(fctx *c, const fblock *bl, LLVMValueRef t, int32_t mr,
                       LLVMValueRef acc[][FC_NV], bool final) {
    qc_cpu_fn *f = c->f;
    const fconv *d = c->d;
    LLVMValueRef out[12][FC_NV], at[12][FC_NV];
    for (int32_t r = 0; r < mr; r++) {
        LLVMValueRef mg = add(f, mul(f, t, i64c(f, d->MR)), i64c(f, r));
        c->img = bl->img;
        c->m = add(f, mul(f, bl->g, i64c(f, d->Mg)), mg);
        for (int32_t v = 0; v < FC_NV; v++) {
            LLVMValueRef y = acc[r][v];
            c->q = add(f, bl->q0, i64c(f, v * d->L));
            c->mask = bl->mask[v];
            if (final && d->bias >= 0)
                y = LLVMBuildFAdd(f->b, y, qc_cpu_splat(f, d->L, qc_cpu_loadf(f, 1, c->ptr[d->bias], c->m)), "");
            if (final && d->has_prog) y = qc_cpu_prog_emit(f, &d->prog, d->L, y, prog_operand, c);
            out[r][v] = y;
            at[r][v] = add(f, mul(f, mg, i64c(f, d->Q)), c->q);
        }
    }
    /* AVX-512 masks its stores for free; AVX2's vmaskmovps store is slow
     * (microcoded on AMD), so whole blocks store plainly and only the
     * tail blocks go through the mask */
    LLVMBasicBlockRef plain = NULL, masked = NULL, join = NULL;
    if (!f->cg->feat.avx512f) {
        LLVMContextRef ctx = f->cg->ctx;
        plain = LLVMAppendBasicBlockInContext(ctx, f->fn, "fst.full");
        masked = LLVMAppendBasicBlockInContext(ctx, f->fn, "fst.mask");
        join = LLVMAppendBasicBlockInContext(ctx, f->fn, "fst.done");
        LLVMBuildCondBr(f->b, bl->full, plain, masked);
        LLVMPositionBuilderAtEnd(f->b, plain);
        for (int32_t r = 0; r < mr; r++)
            for (int32_t v = 0; v < FC_NV; v++) qc_cpu_storef(f, d->L, bl->yg, at[r][v], out[r][v]);
        LLVMBuildBr(f->b, join);
        LLVMPositionBuilderAtEnd(f->b, masked);
    }
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < FC_NV; v++)
            qc_cpu_storef_masked(f, d->L, bl->yg, at[r][v], out[r][v], bl->mask[v]);
    if (join) {
        LLVMBuildBr(f->b, join);
        LLVMPositionBuilderAtEnd(f->b, join);
    }
}

/* One register tile: filters t*MR .. t*MR + mr - 1 over the chunk's cc
 * channels, accumulating onto the earlier chunks' partial sums in Y. */
static void emit_tile(fctx *c, const fblock *bl, LLVMValueRef t, int32_t mr, LLVMValueRef c0,
                      LLVMValueRef cc, bool chunked) {
    qc_cpu_fn *f = c->f;
    const fconv *d = c->d;
    LLVMBuilderRef b = f->b;
    LLVMContextRef ctx = f->cg->ctx;
    LLVMValueRef wt = qc_cpu_gep(f, f->f32, f->packed,
                                 mul(f, add(f, mul(f, add(f, mul(f, bl->g, i64c(f, d->NT)), t), i64c(f, d->K)),
                                            mul(f, c0, i64c(f, d->T))),
                                     i64c(f, d->MR)));
    LLVMValueRef init[12][FC_NV];
    LLVMValueRef zero = qc_cpu_fconst(f, d->L, 0.0);
    LLVMValueRef first = chunked ? LLVMBuildICmp(b, LLVMIntEQ, c0, i64c(f, 0), "") : NULL;
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < FC_NV; v++) {
            init[r][v] = zero;
            if (!chunked) continue;
            LLVMValueRef mg = add(f, mul(f, t, i64c(f, d->MR)), i64c(f, r));
            LLVMValueRef at = add(f, mul(f, mg, i64c(f, d->Q)), add(f, bl->q0, i64c(f, v * d->L)));
            LLVMValueRef part = qc_cpu_loadf_masked(f, d->L, bl->yg, at, bl->mask[v]);
            init[r][v] = LLVMBuildSelect(b, first, zero, part, "");
        }

    /* k loop over the chunk, accumulators as phis */
    LLVMValueRef nk = mul(f, cc, i64c(f, d->T));
    facc_loop kl;
    acc_loop_begin(f, d, mr, init, "fk", &kl);
    LLVMValueRef kk = kl.iv, next[12][FC_NV];
    LLVMValueRef bv[FC_NV];
    for (int32_t v = 0; v < FC_NV; v++) {
        if (d->mode == FC_POINTWISE) {
            LLVMValueRef at = add(f, mul(f, add(f, c0, kk), i64c(f, d->HW)), add(f, bl->q0, i64c(f, v * d->L)));
            bv[v] = qc_cpu_loadf_masked(f, d->L, bl->xg, at, bl->mask[v]);
        } else {
            bv[v] = qc_cpu_loadf(f, d->L, bl->scratch, add(f, mul(f, kk, i64c(f, d->NP)), i64c(f, v * d->L)));
        }
    }
    LLVMValueRef wk = mul(f, kk, i64c(f, d->MR));
    for (int32_t r = 0; r < mr; r++) {
        LLVMValueRef a = qc_cpu_splat(f, d->L, qc_cpu_loadf(f, 1, wt, add(f, wk, i64c(f, r))));
        for (int32_t v = 0; v < FC_NV; v++) next[r][v] = qc_cpu_madd(f, a, bv[v], kl.acc[r][v]);
    }
    acc_loop_end(f, mr, &kl, next, nk);

    if (!chunked) {
        store_tile(c, bl, t, mr, next, true);
        return;
    }
    /* the last chunk finishes the sums; the others store partial sums */
    LLVMValueRef last = LLVMBuildICmp(b, LLVMIntSGE, add(f, c0, cc), i64c(f, d->Cg), "");
    LLVMBasicBlockRef fin = LLVMAppendBasicBlockInContext(ctx, f->fn, "ffinal");
    LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(ctx, f->fn, "fpart");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(ctx, f->fn, "fjoin");
    LLVMBuildCondBr(b, last, fin, part);
    LLVMPositionBuilderAtEnd(b, fin);
    store_tile(c, bl, t, mr, next, true);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, part);
    store_tile(c, bl, t, mr, next, false);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, join);
}

/* The direct variant: the group's mr (= Mg <= MR) filters over all Cg
 * channels, each channel's T taps unrolled and loaded from X as the
 * multiply-adds need them. */
static void emit_direct(fctx *c, const fblock *bl, int32_t mr) {
    qc_cpu_fn *f = c->f;
    const fconv *d = c->d;
    LLVMValueRef wg = qc_cpu_gep(f, f->f32, f->packed, mul(f, bl->g, i64c(f, d->K * d->MR)));
    LLVMValueRef zero = qc_cpu_fconst(f, d->L, 0.0), init[12][FC_NV], cur[12][FC_NV];
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < FC_NV; v++) init[r][v] = zero;
    facc_loop cl;
    acc_loop_begin(f, d, mr, init, "fd", &cl);
    LLVMValueRef ch = cl.iv;
    for (int32_t r = 0; r < mr; r++)
        for (int32_t v = 0; v < FC_NV; v++) cur[r][v] = cl.acc[r][v];
    LLVMValueRef xc = qc_cpu_gep(f, f->f32, bl->xg, mul(f, ch, i64c(f, d->HW)));
    LLVMValueRef wc = qc_cpu_gep(f, f->f32, wg, mul(f, ch, i64c(f, d->T * d->MR)));
    for (int64_t t = 0; t < d->T; t++) {
        LLVMValueRef xv[FC_NV];
        for (int32_t v = 0; v < FC_NV; v++)
            xv[v] = load_tap(f, d, bl, xc, i64c(f, t / d->KW), i64c(f, t % d->KW), v);
        for (int32_t r = 0; r < mr; r++) {
            LLVMValueRef a = qc_cpu_splat(f, d->L, qc_cpu_loadf(f, 1, wc, i64c(f, t * d->MR + r)));
            for (int32_t v = 0; v < FC_NV; v++) cur[r][v] = qc_cpu_madd(f, a, xv[v], cur[r][v]);
        }
    }
    acc_loop_end(f, mr, &cl, cur, i64c(f, d->Cg));
    store_tile(c, bl, i64c(f, 0), mr, cur, true);
}

static void emit_kernel(qc_cpu_cg *cg, const fconv *d, const qc_node *n, const char *symbol) {
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, symbol, &f);
    fctx c = {.f = &f, .d = d};
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0) c.ptr[i] = qc_cpu_fn_in(&f, i);
    LLVMValueRef Y = qc_cpu_fn_out(&f, 0);
    fblock bl = {0};
    if (d->direct) {
        qc_cpu_loop dl;
        LLVMValueRef u = qc_cpu_loop_begin(&f, &dl, f.begin, f.end, 1);
        block_start(&f, d, u, c.ptr[0], Y, &bl);
        emit_direct(&c, &bl, (int32_t)d->Mg);
        qc_cpu_loop_end(&f, &dl);
        qc_cpu_fn_end(&f);
        return;
    }
    if (d->mode != FC_POINTWISE) {
        LLVMTypeRef at = LLVMArrayType2(f.f32, (uint64_t)(d->CC * d->T * d->NP));
        bl.scratch = LLVMBuildAlloca(f.b, at, "xcol");
        LLVMSetAlignment(bl.scratch, 64);
    }
    bool chunked = d->CC < d->Cg;
    int64_t full = d->Mg / d->MR;
    int32_t tail = (int32_t)(d->Mg % d->MR);

    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(&f, &ul, f.begin, f.end, 1);
    block_start(&f, d, u, c.ptr[0], Y, &bl);
    qc_cpu_loop chl;
    int64_t chunks = (d->Cg + d->CC - 1) / d->CC;
    LLVMValueRef ci = qc_cpu_loop_begin(&f, &chl, i64c(&f, 0), i64c(&f, chunks), 1);
    LLVMValueRef c0 = mul(&f, ci, i64c(&f, d->CC));
    LLVMValueRef rest = LLVMBuildSub(f.b, i64c(&f, d->Cg), c0, "");
    LLVMValueRef cc = LLVMBuildSelect(f.b, LLVMBuildICmp(f.b, LLVMIntSLT, rest, i64c(&f, d->CC), ""),
                                      rest, i64c(&f, d->CC), "");
    if (d->mode != FC_POINTWISE) im2col(&f, d, &bl, c0, cc);
    if (full > 0) {
        qc_cpu_loop tl;
        LLVMValueRef t = qc_cpu_loop_begin(&f, &tl, i64c(&f, 0), i64c(&f, full), 1);
        emit_tile(&c, &bl, t, d->MR, c0, cc, chunked);
        qc_cpu_loop_end(&f, &tl);
    }
    if (tail) emit_tile(&c, &bl, i64c(&f, full), tail, c0, cc, chunked);
    qc_cpu_loop_end(&f, &chl);
    qc_cpu_loop_end(&f, &ul);
    qc_cpu_fn_end(&f);
}

qc_status qc_cpu_gen_fconv(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    fconv d;
    qc_status st = analyze(cg, g, n, &d);
    if (!st) st = pack_w(g, n, &d, k);
    if (st) return st;
    emit_kernel(cg, &d, n, k->symbol);

    int64_t units = d.G * d.NQB;
    k->units_a = d.n_a * units;
    k->units_b = d.n_b * units;
    /* ~2 FMAs of L lanes per cycle at ~2.6 GHz at about half efficiency, plus
     * building X' (one load and store per tap and vector) */
    double fmas = (double)d.NT * d.MR * d.K * FC_NV;
    double fill = d.mode == FC_POINTWISE ? 0.0 : (double)d.K * FC_NV * (d.mode == FC_FLAT ? 4.0 : 1.5);
    if (d.direct) fill = (double)d.K * FC_NV * (d.mode == FC_FLAT ? 3.0 : 1.0);
    double cycles = fmas / 2.0 / 0.5 + fill;
    k->cost_ps = qc_cpu_cost_ps(cycles * 1e3 / 2.6 + 300.0);
    /* >= ~64K multiply-adds per chunk */
    double per_unit = (double)d.Mg * d.K * d.NP;
    k->grain = per_unit >= 65536.0 ? 1 : (int64_t)(65536.0 / per_unit) + 1;
    static const char *const mode[] = {"pointwise", "row", "flat"};
    snprintf(k->variant, sizeof k->variant, "conv f32 %s%s %dx%d f32x%d%s%s", mode[d.mode],
             d.direct ? " direct" : "", (int)(d.direct ? d.Mg : d.MR), (int)d.NP, (int)d.L,
             d.CC < d.Cg ? " chunked" : "", d.has_prog ? " +epilogue" : "");
    return NULL;
}
