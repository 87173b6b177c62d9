/* gen_qconv.c — the cpu kernel generator for qc.QConv / QLinearConv: each
 * (image, group) is a GEMM of im2col(x) [positions, Cg*k] by the group's
 * filters [Cg*k, Mg], run by the int8 core's micro-kernel (gen_int8.h).
 *
 * Work unit: one block of mr output positions of one image and group. The
 * kernel gathers the block's im2col rows into a stack scratch through a
 * compile-time table of tap offsets (any spatial rank, strides, pads,
 * dilations, auto_pad; -1 marks padding, which reads x's zero point so
 * that x - x_zp is 0 there, as in the ref), then calls the micro-kernel,
 * which stores NCHW output (positions contiguous, channels strided).
 * Positions whose taps are all inside the input copy each kernel row of
 * taps as one short vector instead of tap by tap. Depthwise convs go to
 * the direct kernel of gen_qdw.c first (qc_cpu_gen_qconv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/gen.h"
#include "backends/cpu/gen_int8.h"
#include "ir/dtype.h"

#define SP_MAX (QC_MAX_RANK - 2)
#define SCRATCH_MAX (256 * 1024)   /* bytes of im2col scratch on the stack */
#define TABLE_MAX (1 << 24)        /* tap-table entries */

typedef struct conv_geom {
    int32_t sp;
    int64_t c, m, cg, mg, group;
    int64_t in[SP_MAX], k[SP_MAX], out[SP_MAX], stride[SP_MAX], dil[SP_MAX], pad[SP_MAX];
    int64_t in_size, k_size, out_size;
} conv_geom;

static void attr_ints(const qc_node *n, const char *key, int32_t len, int64_t def, int64_t *v) {
    const qc_attr *a = qc_node_attr(n, key);
    for (int32_t i = 0; i < len; i++) v[i] = a && a->n == len ? a->ints[i] : def;
}

/* The ref's geometry (backends/ref/qconv.c make_geom) from the types. */
static qc_status make_geom(const qc_node *n, const qc_type *x, const qc_type *w,
                           const qc_type *y, conv_geom *g) {
    if (x->rank < 3 || x->rank > QC_MAX_RANK || w->rank != x->rank || y->rank != x->rank)
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "unexpected conv ranks");
    memset(g, 0, sizeof *g);
    g->sp = x->rank - 2;
    g->c = x->dims[1];
    g->m = w->dims[0];
    g->group = qc_attr_int(n, "group", 1);
    if (g->group < 1 || g->c % g->group || g->m % g->group)
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "bad group");
    g->cg = g->c / g->group;
    g->mg = g->m / g->group;
    g->in_size = g->k_size = g->out_size = 1;
    int64_t pads[2 * SP_MAX];
    attr_ints(n, "strides", g->sp, 1, g->stride);
    attr_ints(n, "dilations", g->sp, 1, g->dil);
    attr_ints(n, "pads", 2 * g->sp, 0, pads);
    const char *ap = qc_attr_string(n, "auto_pad", "NOTSET");
    for (int32_t d = 0; d < g->sp; d++) {
        g->in[d] = x->dims[d + 2];
        g->k[d] = w->dims[d + 2];
        g->out[d] = y->dims[d + 2];
        if (g->in[d] < 1 || g->k[d] < 1 || g->out[d] < 1)
            return qc_node_error(n, QC_ERR_UNSUPPORTED, "conv dims must be static and >= 1");
        g->pad[d] = pads[d];
        if (!strcmp(ap, "VALID")) g->pad[d] = 0;
        if (!strncmp(ap, "SAME_", 5)) {
            int64_t extent = (g->k[d] - 1) * g->dil[d] + 1;
            int64_t total = (g->out[d] - 1) * g->stride[d] + extent - g->in[d];
            if (total < 0) total = 0;
            g->pad[d] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
        }
        g->in_size *= g->in[d];
        g->k_size *= g->k[d];
        g->out_size *= g->out[d];
    }
    return NULL;
}

/* Offset in one x plane of tap kk for output position o, or -1 (padding). */
static int32_t tap_offset(const conv_geom *g, int64_t o, int64_t kk) {
    int64_t off = 0, oc[SP_MAX], kc[SP_MAX];
    for (int32_t d = g->sp - 1; d >= 0; d--) {
        oc[d] = o % g->out[d];
        o /= g->out[d];
        kc[d] = kk % g->k[d];
        kk /= g->k[d];
    }
    for (int32_t d = 0; d < g->sp; d++) {
        int64_t pos = oc[d] * g->stride[d] - g->pad[d] + kc[d] * g->dil[d];
        if (pos < 0 || pos >= g->in[d]) return -1;
        off = off * g->in[d] + pos;
    }
    return (int32_t)off;
}

/* ---- IR -------------------------------------------------------------------------- */

typedef struct loop {
    LLVMBasicBlockRef pre, body;
    LLVMValueRef iv;
} loop;

/* for (iv = 0; iv < count; iv++) with count >= 1 (do-while form). */
static loop loop_begin(LLVMBuilderRef b, LLVMValueRef fn, LLVMTypeRef i64) {
    loop l = {.pre = LLVMGetInsertBlock(b)};
    l.body = LLVMAppendBasicBlockInContext(LLVMGetTypeContext(i64), fn, "l");
    LLVMBuildBr(b, l.body);
    LLVMPositionBuilderAtEnd(b, l.body);
    l.iv = LLVMBuildPhi(b, i64, "iv");
    return l;
}

static void loop_end(LLVMBuilderRef b, LLVMValueRef fn, loop *l, LLVMValueRef count) {
    LLVMTypeRef i64 = LLVMTypeOf(l->iv);
    LLVMValueRef next = LLVMBuildAdd(b, l->iv, LLVMConstInt(i64, 1, 0), "");
    LLVMBasicBlockRef end = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(LLVMGetTypeContext(i64), fn, "l.done");
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
    LLVMAddIncoming(l->iv, &zero, &l->pre, 1);
    LLVMAddIncoming(l->iv, &next, &end, 1);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, next, count, ""), l->body, done);
    LLVMPositionBuilderAtEnd(b, done);
}

typedef struct conv_plan {
    conv_geom g;
    int64_t npb, mr, kdim;        /* position blocks, rows per block, K = Cg * k_size */
    int64_t off_groups, group_size;
    int64_t off_inner;            /* per-position "all taps inside" bytes, or 0: no fast path */
    int32_t x_zp_raw;             /* the byte padding reads */
    int64_t esize;                /* output element bytes: 1, or 4 for a float output */
} conv_plan;

static LLVMValueRef c64(LLVMTypeRef i64, int64_t v) { return LLVMConstInt(i64, (uint64_t)v, 1); }

static void emit_driver(qc_cpu_cg *cg, LLVMValueRef kern, LLVMValueRef micro, const conv_plan *p) {
    LLVMContextRef c = cg->ctx;
    LLVMTypeRef i8 = LLVMInt8TypeInContext(c), i32 = LLVMInt32TypeInContext(c);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(c);
    const conv_geom *g = &p->g;
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, kern, "entry");
    LLVMBasicBlockRef unit = LLVMAppendBasicBlockInContext(c, kern, "unit");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, kern, "done");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef kargs = LLVMGetParam(kern, 0), begin = LLVMGetParam(kern, 1);
    LLVMValueRef end = LLVMGetParam(kern, 2);
    LLVMValueRef x = qc_i8_load_arg(b, cg, kargs, 0, 0), y = qc_i8_load_arg(b, cg, kargs, 1, 0);
    LLVMValueRef blob = qc_i8_load_arg(b, cg, kargs, 2, 0);
    LLVMValueRef scratch = LLVMBuildArrayAlloca(b, i8, c64(i64, p->mr * p->kdim), "im2col");
    LLVMSetAlignment(scratch, 64);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, begin, end, ""), unit, done);

    LLVMPositionBuilderAtEnd(b, unit);
    LLVMValueRef u = LLVMBuildPhi(b, i64, "u");
    LLVMValueRef per_img = c64(i64, g->group * p->npb);
    LLVMValueRef img = LLVMBuildSDiv(b, u, per_img, "");
    LLVMValueRef rem = LLVMBuildSRem(b, u, per_img, "");
    LLVMValueRef gi = LLVMBuildSDiv(b, rem, c64(i64, p->npb), "");
    LLVMValueRef p0 = LLVMBuildMul(b, LLVMBuildSRem(b, rem, c64(i64, p->npb), ""), c64(i64, p->mr), "");
    LLVMValueRef left = LLVMBuildSub(b, c64(i64, g->out_size), p0, "");
    LLVMValueRef mrv = c64(i64, p->mr);
    LLVMValueRef rows = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, left, mrv, ""), left, mrv, "");
    /* first input channel plane of this image and group */
    LLVMValueRef plane0 = LLVMBuildMul(
        b, LLVMBuildAdd(b, LLVMBuildMul(b, img, c64(i64, g->c), ""),
                        LLVMBuildMul(b, gi, c64(i64, g->cg), ""), ""),
        c64(i64, g->in_size), "");
    LLVMValueRef xg = LLVMBuildGEP2(b, i8, x, &plane0, 1, "");

    /* im2col: scratch[r][ic * k_size + kk] = x[plane ic][tab[o][kk]] or zp.
     * A position's taps do not depend on the channel: with few taps (3x3)
     * they are loaded once per row and the channel loop is a plain gather. */
    loop lr = loop_begin(b, kern, i64);
    LLVMValueRef o = LLVMBuildAdd(b, p0, lr.iv, "");
    LLVMValueRef srow = LLVMBuildMul(b, lr.iv, c64(i64, p->kdim), "");
    LLVMValueRef trow = LLVMBuildMul(b, o, c64(i64, g->k_size * 4), "");
    /* Fast path for a position whose taps are all inside the input (a
     * per-position flag after the tap table): with dilation 1 along the last
     * spatial dim, the kw taps of one kernel row are kw consecutive bytes of
     * x and of the scratch row, so each row of taps moves as one <kw x i8>
     * load and store (exactly kw bytes: nothing read past the input or
     * written past the row), from the table's offset of its first tap only.
     * Positions touching the padding take the per-tap gather below. */
    int64_t kwid = g->sp ? g->k[g->sp - 1] : 1;
    bool rows_fast = p->off_inner > 0;
    LLVMBasicBlockRef gather = NULL, joined = NULL;
    if (rows_fast) {
        LLVMValueRef foff = LLVMBuildAdd(b, c64(i64, p->off_inner), o, "");
        LLVMValueRef flag = LLVMBuildLoad2(b, i8, LLVMBuildGEP2(b, i8, blob, &foff, 1, ""), "");
        LLVMValueRef all = LLVMBuildICmp(b, LLVMIntNE, flag, LLVMConstInt(i8, 0, 0), "");
        LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(c, kern, "im2col.rows");
        gather = LLVMAppendBasicBlockInContext(c, kern, "im2col.taps");
        joined = LLVMAppendBasicBlockInContext(c, kern, "im2col.done");
        LLVMBuildCondBr(b, all, fast, gather);
        LLVMPositionBuilderAtEnd(b, fast);
        LLVMValueRef first[64];
        int64_t nrow = g->k_size / kwid;
        for (int64_t j = 0; j < nrow; j++) {
            LLVMValueRef toff = LLVMBuildAdd(b, trow, c64(i64, j * kwid * 4), "");
            LLVMValueRef tap = LLVMBuildLoad2(b, i32, LLVMBuildGEP2(b, i8, blob, &toff, 1, ""), "");
            first[j] = LLVMBuildSExt(b, tap, i64, "");
        }
        LLVMTypeRef word = LLVMVectorType(i8, (unsigned)kwid);
        loop lf = loop_begin(b, kern, i64);
        LLVMValueRef fx_off = LLVMBuildMul(b, lf.iv, c64(i64, g->in_size), "");
        LLVMValueRef fxp = LLVMBuildGEP2(b, i8, xg, &fx_off, 1, "");
        LLVMValueRef fsc = LLVMBuildAdd(b, srow, LLVMBuildMul(b, lf.iv, c64(i64, g->k_size), ""), "");
        for (int64_t j = 0; j < nrow; j++) {
            LLVMValueRef v = LLVMBuildLoad2(b, word, LLVMBuildGEP2(b, i8, fxp, &first[j], 1, ""), "");
            LLVMSetAlignment(v, 1);
            LLVMValueRef soff = LLVMBuildAdd(b, fsc, c64(i64, j * kwid), "");
            LLVMValueRef stw = LLVMBuildStore(b, v, LLVMBuildGEP2(b, i8, scratch, &soff, 1, ""));
            LLVMSetAlignment(stw, 1);
        }
        loop_end(b, kern, &lf, c64(i64, g->cg));
        LLVMBuildBr(b, joined);
        LLVMPositionBuilderAtEnd(b, gather);
    }
    bool unroll = g->k_size <= 32;
    LLVMValueRef safe[32], inside[32];
    for (int64_t t = 0; unroll && t < g->k_size; t++) {
        LLVMValueRef toff = LLVMBuildAdd(b, trow, c64(i64, t * 4), "");
        LLVMValueRef tap = LLVMBuildLoad2(b, i32, LLVMBuildGEP2(b, i8, blob, &toff, 1, ""), "");
        inside[t] = LLVMBuildICmp(b, LLVMIntSGE, tap, LLVMConstInt(i32, 0, 0), "");
        /* padding taps read offset 0 (valid) and are replaced by the zero point */
        safe[t] = LLVMBuildSExt(
            b, LLVMBuildSelect(b, inside[t], tap, LLVMConstInt(i32, 0, 0), ""), i64, "");
    }
    loop lc = loop_begin(b, kern, i64);
    LLVMValueRef xp_off = LLVMBuildMul(b, lc.iv, c64(i64, g->in_size), "");
    LLVMValueRef xp = LLVMBuildGEP2(b, i8, xg, &xp_off, 1, "");
    LLVMValueRef sc = LLVMBuildAdd(b, srow, LLVMBuildMul(b, lc.iv, c64(i64, g->k_size), ""), "");
    loop lk = {0};
    if (!unroll) lk = loop_begin(b, kern, i64);
    for (int64_t t = 0; t < (unroll ? g->k_size : 1); t++) {
        LLVMValueRef kk = unroll ? c64(i64, t) : lk.iv, in_t, safe_t;
        if (unroll) {
            in_t = inside[t];
            safe_t = safe[t];
        } else {
            LLVMValueRef toff = LLVMBuildAdd(b, trow, LLVMBuildMul(b, kk, c64(i64, 4), ""), "");
            LLVMValueRef tap = LLVMBuildLoad2(b, i32, LLVMBuildGEP2(b, i8, blob, &toff, 1, ""), "");
            in_t = LLVMBuildICmp(b, LLVMIntSGE, tap, LLVMConstInt(i32, 0, 0), "");
            safe_t = LLVMBuildSExt(
                b, LLVMBuildSelect(b, in_t, tap, LLVMConstInt(i32, 0, 0), ""), i64, "");
        }
        LLVMValueRef v = LLVMBuildLoad2(b, i8, LLVMBuildGEP2(b, i8, xp, &safe_t, 1, ""), "");
        v = LLVMBuildSelect(b, in_t, v, LLVMConstInt(i8, (uint64_t)(uint8_t)p->x_zp_raw, 0), "");
        LLVMValueRef soff = LLVMBuildAdd(b, sc, kk, "");
        LLVMBuildStore(b, v, LLVMBuildGEP2(b, i8, scratch, &soff, 1, ""));
    }
    if (!unroll) loop_end(b, kern, &lk, c64(i64, g->k_size));
    loop_end(b, kern, &lc, c64(i64, g->cg));
    if (rows_fast) {
        LLVMBuildBr(b, joined);
        LLVMPositionBuilderAtEnd(b, joined);
    }
    loop_end(b, kern, &lr, rows);

    LLVMValueRef yoff = LLVMBuildAdd(
        b, LLVMBuildMul(b, LLVMBuildAdd(b, LLVMBuildMul(b, img, c64(i64, g->m), ""),
                                        LLVMBuildMul(b, gi, c64(i64, g->mg), ""), ""),
                        c64(i64, g->out_size), ""),
        p0, "");
    yoff = LLVMBuildMul(b, yoff, c64(i64, p->esize), "");
    LLVMValueRef goff = LLVMBuildAdd(b, c64(i64, p->off_groups),
                                     LLVMBuildMul(b, gi, c64(i64, p->group_size), ""), "");
    LLVMValueRef args[7] = {scratch, c64(i64, p->kdim), LLVMBuildGEP2(b, i8, y, &yoff, 1, ""),
                            c64(i64, p->esize), LLVMBuildGEP2(b, i8, blob, &goff, 1, ""), rows,
                            LLVMConstInt(LLVMInt32TypeInContext(cg->ctx), 0, 0)};
    LLVMBuildCall2(b, qc_i8_micro_type(cg), micro, args, 7, "");
    LLVMValueRef next = LLVMBuildAdd(b, u, c64(i64, 1), "");
    LLVMBasicBlockRef last = LLVMGetInsertBlock(b);
    LLVMAddIncoming(u, &begin, &entry, 1);
    LLVMAddIncoming(u, &next, &last, 1);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, next, end, ""), unit, done);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
}

/* ---- the generator ----------------------------------------------------------------- */

qc_status qc_cpu_gen_qconv_tile(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k,
                                const qc_i8_tile *tile) {
    const qc_node *nd = &g->nodes[node];
    if (nd->op != QC_OP_QCONV && nd->op != QC_OP_QLINEAR_CONV)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "not a QConv / QLinearConv");
    if (nd->n_in < 8 || nd->n_out != 1 || nd->in[0] < 0)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "expected 8 or 9 inputs and one output");
    const qc_type *xt = &g->values[nd->in[0]].type, *yt = &g->values[nd->out[0]].type;
    const qc_value *wv = qc_i8_const_in(g, nd, 3);
    if (xt->dtype != QC_U8 && xt->dtype != QC_I8)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "x must be u8 or i8");
    if (!wv || (wv->type.dtype != QC_U8 && wv->type.dtype != QC_I8))
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "w must be a constant u8/i8 tensor");
    /* qc.QConv without y_scale: float output (qdq_fold rule 3c) */
    bool fout = qc_i8_float_output(g, nd);
    if (yt->dtype != QC_U8 && yt->dtype != QC_I8 && !fout)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "y must be u8, i8 or f32 (no y_scale)");
    conv_plan p = {.esize = fout ? 4 : 1};
    qc_status st = make_geom(nd, xt, &wv->type, yt, &p.g);
    if (st) return st;
    const conv_geom *cgm = &p.g;
    p.kdim = cgm->cg * cgm->k_size;
    qc_i8_tile t = tile ? *tile : qc_i8_tile_for(&cg->feat);
    p.mr = t.mr;
    p.npb = (cgm->out_size + p.mr - 1) / p.mr;
    if (p.mr * p.kdim > SCRATCH_MAX || cgm->out_size * cgm->k_size > TABLE_MAX)
        return qc_node_error(nd, QC_ERR_UNSUPPORTED, "conv too large for the im2col scratch");
    static const float unit = 1.0f;
    const float *sx, *sy = &unit;
    int64_t cnt;
    int32_t *zx = NULL, *zw = NULL, *zy = NULL;
    qc_i8_gemm gm = {.k = p.kdim, .n = cgm->mg, .a_signed = xt->dtype == QC_I8,
                     .b_signed = wv->type.dtype == QC_I8, .b_sk = 1, .b_sn = p.kdim,
                     .y_signed = yt->dtype == QC_I8};
    const float *sw;
    int64_t sw_count, zw_count;
    st = qc_i8_scale(g, nd, 1, "x_scale", 0, &sx, &cnt);
    if (!st) st = qc_i8_scale(g, nd, 4, "w_scale", cgm->m, &sw, &sw_count);
    if (!st && !fout) st = qc_i8_scale(g, nd, 6, "y_scale", 0, &sy, &cnt);
    if (!st) st = qc_i8_zero_point(g, nd, 2, "x_zero_point", 0, &zx, &cnt);
    if (!st) st = qc_i8_zero_point(g, nd, 5, "w_zero_point", cgm->m, &zw, &zw_count);
    if (!st && !fout) st = qc_i8_zero_point(g, nd, 7, "y_zero_point", 0, &zy, &cnt);
    if (!st) st = qc_i8_clamp_attrs(nd, &gm.act_min, &gm.act_max);
    const int32_t *bias = NULL;
    if (!st && nd->n_in > 8 && nd->in[8] >= 0) {
        const qc_value *bv = qc_i8_const_in(g, nd, 8);
        if (!bv || bv->type.dtype != QC_I32 || qc_type_numel(&bv->type) != cgm->m)
            st = qc_node_error(nd, QC_ERR_UNSUPPORTED, "bias must be a constant i32[M]");
        else bias = bv->data;
    }
    bool sym = false;
    for (int32_t d = 1; d < xt->rank; d++) sym = sym || xt->dims[d] == QC_DIM_SYM;
    if (!st && sym) st = qc_node_error(nd, QC_ERR_UNSUPPORTED, "only the batch dim may be symbolic");
    if (st) goto out;
    gm.a_scale = sx[0];
    gm.y_scale = sy[0];
    gm.a_zp = zx ? zx[0] : 0;
    gm.y_zp = zy ? zy[0] : 0;
    p.x_zp_raw = gm.a_zp;

    /* One layout for every group (same shapes); the rowsum term is on if
     * any group needs it (zb' = 0 groups then add 0). */
    qc_i8_layout lo;
    qc_i8_layout_init(&gm, t, &lo);
    qc_i8_gemm gs[1];
    for (int64_t gi = 0; gi < cgm->group; gi++) {
        gs[0] = gm;
        gs[0].b_zp = zw ? zw + (zw_count == 1 ? 0 : gi * cgm->mg) : NULL;
        gs[0].b_zp_count = zw_count;
        qc_i8_layout l2;
        qc_i8_layout_init(&gs[0], t, &l2);
        lo.has_zb = lo.has_zb || l2.has_zb;
    }
    int64_t kw_last = cgm->sp ? cgm->k[cgm->sp - 1] : 1;
    bool fast_rows = cgm->sp >= 1 && cgm->dil[cgm->sp - 1] == 1 && kw_last > 1 && kw_last <= 16 &&
                     cgm->k_size / kw_last <= 64;
    p.off_inner = fast_rows ? cgm->out_size * cgm->k_size * 4 : 0;
    int64_t tab_bytes = (cgm->out_size * cgm->k_size * 4 + (fast_rows ? cgm->out_size : 0) + 63) &
                        ~(int64_t)63;
    p.off_groups = tab_bytes;
    p.group_size = lo.size;
    int64_t total = tab_bytes + cgm->group * lo.size;
    if (total > ((int64_t)1 << 31)) {
        st = qc_node_error(nd, QC_ERR_UNSUPPORTED, "packed weights too large");
        goto out;
    }
    int64_t lo8 = 0, hi8 = 0;
    if (!fout) qc_dtype_int_range(yt->dtype, &lo8, &hi8);
    qc_i8_micro_cfg mc = {.a_signed = gm.a_signed, .y_zp = gm.y_zp, .lo = (int32_t)lo8,
                          .hi = (int32_t)hi8, .act_min = gm.act_min, .act_max = gm.act_max,
                          .y_sn = cgm->out_size, .out_f32 = fout};
    char mname[80];
    snprintf(mname, sizeof mname, "%s.micro", k->symbol);
    LLVMValueRef micro;
    st = qc_i8_define_micro(cg, &lo, &mc, mname, &micro);
    if (st) {
        st = qc_status_wrap(st, "node '%s'", nd->name ? nd->name : "?");
        goto out;
    }
    emit_driver(cg, qc_i8_add_kernel(cg, k->symbol), micro, &p);
    k->packed = calloc(1, (size_t)total);
    if (!k->packed) {
        st = qc_node_error(nd, QC_ERR_NOMEM, "out of memory packing w");
        goto out;
    }
    int32_t *tab = (int32_t *)k->packed;
    for (int64_t o = 0; o < cgm->out_size; o++) {
        bool inner = true;
        for (int64_t kk = 0; kk < cgm->k_size; kk++) {
            tab[o * cgm->k_size + kk] = tap_offset(cgm, o, kk);
            inner = inner && tab[o * cgm->k_size + kk] >= 0;
        }
        if (p.off_inner) k->packed[p.off_inner + o] = inner;
    }
    for (int64_t gi = 0; gi < cgm->group; gi++) {
        qc_i8_gemm gg = gm;
        int64_t c0 = gi * cgm->mg;
        gg.b = (const uint8_t *)wv->data + c0 * p.kdim;
        gg.b_zp = zw ? zw + (zw_count == 1 ? 0 : c0) : NULL;
        gg.b_zp_count = zw_count;
        gg.b_scale = sw + (sw_count == 1 ? 0 : c0);
        gg.b_scale_count = sw_count;
        gg.bias = bias ? bias + c0 : NULL;
        qc_i8_pack(&gg, &lo, k->packed + p.off_groups + gi * lo.size);
    }
    k->packed_len = (size_t)total;
    int64_t per_img = cgm->group * p.npb;
    k->units_a = xt->dims[0] == QC_DIM_SYM ? 0 : xt->dims[0] * per_img;
    k->units_b = xt->dims[0] == QC_DIM_SYM ? per_img : 0;
    k->grain = 1;
    /* a unit is mr positions of one group; the gather costs about as much
     * again as the multiply (docs/backend-cpu.md, "Measured") */
    k->cost_ps = qc_cpu_cost_ps(2.0 * (double)t.mr * qc_i8_row_cost_ps(&lo));
    snprintf(k->variant, sizeof k->variant, "qconv im2col %s %dx%d%s%s", qc_i8_isa_name(t.isa),
             (int)t.mr, (int)(t.nr * qc_i8_lanes(t.isa)), lo.has_zb ? " rowsum" : "",
             fout ? " f32-out" : "");
out:
    free(zx);
    free(zw);
    free(zy);
    return st;
}

/* A 2-D conv with a window (not 1x1) whose output rows are short (<= 16
 * positions: a 16-lane vector of the position-vectorised kernels is at
 * best one row) and that has many filters per group: the im2col GEMM,
 * whose gather is shared by all filters, beat the direct / grid kernels
 * there (qgemm_bench, 3x3 layers, single thread, znver5: 14x14x256 79% vs
 * 67% of the VNNI peak, 7x7x512 75% vs 64%, 7x7x1024 84% vs 73%; with 64
 * filters, or rows of 28 and more, the direct kernel won, and on 1x1
 * layers the pointwise kernel won at every size tried). */
static bool prefers_im2col(const qc_graph *g, const qc_node *nd) {
    if (nd->n_out != 1 || nd->out[0] < 0 || nd->n_in < 4 || nd->in[3] < 0) return false;
    const qc_type *yt = &g->values[nd->out[0]].type, *wt = &g->values[nd->in[3]].type;
    if (yt->rank != 4 || wt->rank != 4 || yt->dims[1] == QC_DIM_SYM || yt->dims[3] == QC_DIM_SYM)
        return false;
    int64_t group = qc_attr_int(nd, "group", 1);
    return group >= 1 && wt->dims[2] * wt->dims[3] > 1 && yt->dims[3] <= 16 &&
           yt->dims[1] / group >= 128;
}

qc_status qc_cpu_gen_qconv(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    /* depthwise layers get the direct kernel (gen_qdw.c), 1x1 ones the
     * position-vectorised one (gen_qpw.c); the rest, or a configuration
     * those do not take, the im2col GEMM (first, where prefers_im2col) */
    qc_status st = qc_cpu_gen_qdw(cg, g, node, k);
    if (!st || qc_status_code(st) != QC_ERR_UNSUPPORTED) return st;
    qc_status_free(st);
    if (prefers_im2col(g, &g->nodes[node])) {
        st = qc_cpu_gen_qconv_tile(cg, g, node, k, NULL);
        if (!st || qc_status_code(st) != QC_ERR_UNSUPPORTED) return st;
        qc_status_free(st);
    }
    st = qc_cpu_gen_qpw(cg, g, node, k);
    if (!st || qc_status_code(st) != QC_ERR_UNSUPPORTED) return st;
    qc_status_free(st);
    return qc_cpu_gen_qconv_tile(cg, g, node, k, NULL);
}
