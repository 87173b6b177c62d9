/* gen_qelem.c — quantized elementwise kernels: QLinearAdd / QLinearMul
 * (com.microsoft, made by qdq_fold from DQ, DQ -> Add/Mul -> Q), u8 or i8,
 * per-tensor scales and zero points, numpy broadcasting.
 *
 * Numerics are backends/ref/quant.c's qlinear_binary step for step, so the
 * result is bit-identical: each operand dequantized as
 * (float)(q - zp) * scale (ir/quant.h qc_dequantize: the difference is an
 * exact small integer), one fp32 add or multiply, then qc_quantize
 * (quantize.h: x / C_scale rounded exactly as the fp32 divide rounds, rint,
 * NaN -> 0, saturate, + zp) into the output range narrowed by act_min /
 * act_max (a Relu / Clip qdq_fold folded in). Plain fadd/fmul without
 * fast-math flags: LLVM never contracts them into an FMA. Scales and zero
 * points are read from the node's inputs at run time, so they need not be
 * constants (a non-constant C_scale keeps the divide).
 *
 * Iteration: the output shape is collapsed to the fewest dims (size-1 dims
 * dropped, neighbours merged where both operands broadcast the same way),
 * each operand getting a stride per dim (0 where it broadcasts). The
 * innermost dim is the vector loop: an operand either runs along it
 * contiguously or is one element splat over it. A work unit is a block of
 * at most QE_BLOCK elements of one inner row, so a single huge same-shape
 * add still splits over the pool; a symbolic batch dim (leading, output dim
 * 0) is the outermost unit index. */
#include <stdio.h>
#include <string.h>

#include "backends/cpu/ir_util.h"
#include "backends/cpu/quantize.h"
#include "ir/dtype.h"

#define QE_MAX_DIMS QC_MAX_RANK
#define QE_BLOCK 4096        /* inner elements per work unit at most */
#define QE_GRAIN_ELEMS 8192  /* smallest task the pool should see, in elements */

typedef struct qdim {
    int64_t n;          /* output elements along the dim */
    int64_t sa, sb;     /* operand strides in elements, 0 = broadcast */
} qdim;

typedef struct qelem {
    bool mul;
    qc_dtype t;                    /* of A, B and C */
    int32_t lo, hi;                /* the output range: t's, narrowed by act_min / act_max */
    int32_t nd;                    /* collapsed static dims; d[nd - 1] is the inner one */
    qdim d[QE_MAX_DIMS];
    bool batch;                    /* output dim 0 is the symbolic batch */
    int64_t item_a, item_b, item_c;  /* elements per batch item (0 = operand broadcasts) */
    int64_t blk, nblk;             /* inner block length and blocks per inner row */
    int64_t units;                 /* per batch item (or in all) */
} qelem;

/* ---- analysis -------------------------------------------------------------------- */

static bool is_q8(qc_dtype t) { return t == QC_U8 || t == QC_I8; }

/* A present scale input must be one f32; a present zero point one element of t. */
static qc_status check_param(const qc_graph *g, const qc_node *n, int32_t k, bool scale,
                             qc_dtype t) {
    int32_t v = k < n->n_in ? n->in[k] : -1;
    if (v < 0) {
        if (scale) return qc_error(QC_ERR_UNSUPPORTED, "absent scale input %d", (int)k);
        return NULL;
    }
    const qc_type *ty = &g->values[v].type;
    for (int32_t d = 0; d < ty->rank; d++)
        if (ty->dims[d] == QC_DIM_SYM) return qc_error(QC_ERR_UNSUPPORTED, "symbolic param shape");
    if (qc_type_numel(ty) != 1) return qc_error(QC_ERR_UNSUPPORTED, "input %d not per tensor", (int)k);
    if (ty->dtype != (scale ? QC_F32 : t))
        return qc_error(QC_ERR_UNSUPPORTED, "input %d dtype %s", (int)k, qc_dtype_name(ty->dtype));
    return NULL;
}

/* Operand x's dim aligned with output dim d (numpy: right-aligned), 1 if none. */
static int64_t operand_dim(const qc_type *x, const qc_type *o, int32_t d) {
    int32_t id = d - (o->rank - x->rank);
    return id >= 0 ? x->dims[id] : 1;
}

/* Product of x's static dims right of output dim d: x's stride along d. */
static int64_t operand_stride(const qc_type *x, const qc_type *o, int32_t d) {
    int64_t s = 1;
    for (int32_t e = d + 1; e < o->rank; e++) s *= operand_dim(x, o, e);
    return s;
}

static qc_status analyze(const qc_graph *g, const qc_node *n, qelem *q) {
    memset(q, 0, sizeof *q);
    q->mul = n->op == QC_OP_QLINEAR_MUL;
    if (n->n_out != 1 || n->n_in < 7 || n->in[0] < 0 || n->in[3] < 0)
        return qc_error(QC_ERR_UNSUPPORTED, "inputs");
    const qc_type *ta = &g->values[n->in[0]].type, *tb = &g->values[n->in[3]].type;
    const qc_type *to = &g->values[n->out[0]].type;
    q->t = to->dtype;
    if (!is_q8(q->t) || ta->dtype != q->t || tb->dtype != q->t)
        return qc_error(QC_ERR_UNSUPPORTED, "A, B, C not one of u8 / i8");
    int64_t lo, hi;
    qc_dtype_int_range(q->t, &lo, &hi);
    int64_t amin = qc_attr_int(n, "act_min", lo), amax = qc_attr_int(n, "act_max", hi);
    if (amin < lo || amax > hi || amin > amax)
        return qc_error(QC_ERR_UNSUPPORTED, "act_min/act_max outside the output type");
    q->lo = (int32_t)amin;
    q->hi = (int32_t)amax;
    static const int32_t scales[3] = {1, 4, 6}, zps[3] = {2, 5, 7};
    for (int32_t k = 0; k < 3; k++) {
        qc_status st = check_param(g, n, scales[k], true, q->t);
        if (!st) st = check_param(g, n, zps[k], false, q->t);
        if (st) return st;
    }
    if (ta->rank > to->rank || tb->rank > to->rank)
        return qc_error(QC_ERR_UNSUPPORTED, "operand rank above output rank");
    /* A symbolic dim only as the output's leading one; an operand has it
     * there too or broadcasts along it. */
    int32_t first = 0;
    if (to->rank > 0 && to->dims[0] == QC_DIM_SYM) {
        q->batch = true;
        first = 1;
        int64_t a0 = operand_dim(ta, to, 0), b0 = operand_dim(tb, to, 0);
        if ((a0 != QC_DIM_SYM && a0 != 1) || (b0 != QC_DIM_SYM && b0 != 1))
            return qc_error(QC_ERR_UNSUPPORTED, "batch dim");
        q->item_a = a0 == QC_DIM_SYM ? operand_stride(ta, to, 0) : 0;
        q->item_b = b0 == QC_DIM_SYM ? operand_stride(tb, to, 0) : 0;
        q->item_c = operand_stride(to, to, 0);
    }
    for (int32_t d = first; d < to->rank; d++) {
        int64_t o = to->dims[d], a = operand_dim(ta, to, d), b = operand_dim(tb, to, d);
        if (o == QC_DIM_SYM || a == QC_DIM_SYM || b == QC_DIM_SYM)
            return qc_error(QC_ERR_UNSUPPORTED, "symbolic dim past the leading one");
        if ((a != o && a != 1) || (b != o && b != 1))
            return qc_error(QC_ERR_UNSUPPORTED, "shapes do not broadcast");
        if (o == 0) return qc_error(QC_ERR_UNSUPPORTED, "empty output");
        if (o == 1) continue;
        qdim nd = {.n = o, .sa = a == o ? operand_stride(ta, to, d) : 0,
                   .sb = b == o ? operand_stride(tb, to, d) : 0};
        qdim *prev = q->nd ? &q->d[q->nd - 1] : NULL;
        /* Merge into the previous dim when each operand runs along both
         * (contiguously, as dims in between are 1) or along neither. */
        if (prev && (prev->sa != 0) == (nd.sa != 0) && (prev->sb != 0) == (nd.sb != 0)) {
            prev->n *= o;
            prev->sa = nd.sa;
            prev->sb = nd.sb;
        } else {
            q->d[q->nd++] = nd;
        }
    }
    if (q->nd == 0) q->d[q->nd++] = (qdim){.n = 1, .sa = 1, .sb = 1};   /* one element */
    const qdim *in = &q->d[q->nd - 1];
    q->blk = in->n < QE_BLOCK ? in->n : QE_BLOCK;
    q->nblk = (in->n + q->blk - 1) / q->blk;
    q->units = q->nblk;
    for (int32_t k = 0; k + 1 < q->nd; k++) q->units *= q->d[k].n;
    return NULL;
}

/* ---- code -------------------------------------------------------------------------- */

typedef struct qe_ctx {
    qc_cpu_fn *f;
    const qelem *q;
    LLVMValueRef sa, sb, sc;       /* f32 scales */
    LLVMValueRef za, zb, zc;       /* i32 zero points */
    qc_cpu_quantizer qz;           /* the output's: sc, zc, [lo, hi] */
} qe_ctx;

static LLVMTypeRef ivt(LLVMTypeRef el, int32_t w) {
    return w == 1 ? el : LLVMVectorType(el, (unsigned)w);
}

static LLVMValueRef widen(qe_ctx *c, LLVMValueRef v, LLVMTypeRef to) {
    return c->q->t == QC_I8 ? LLVMBuildSExt(c->f->b, v, to, "") : LLVMBuildZExt(c->f->b, v, to, "");
}

/* An 8-bit zero point input as i32 (absent: 0). */
static LLVMValueRef load_zp(qe_ctx *c, const qc_node *n, int32_t k) {
    qc_cpu_fn *f = c->f;
    if (k >= n->n_in || n->in[k] < 0) return qc_cpu_i32(f, 0);
    LLVMValueRef v = LLVMBuildLoad2(f->b, f->i8, qc_cpu_fn_in(f, k), "");
    return widen(c, v, f->i32);
}

/* qc_dequantize on w lanes of 8-bit q: (float)(q - zp) * scale. */
static LLVMValueRef dequant(qe_ctx *c, int32_t w, LLVMValueRef q8, LLVMValueRef zp,
                            LLVMValueRef scale) {
    qc_cpu_fn *f = c->f;
    LLVMValueRef qi = widen(c, q8, ivt(f->i32, w));
    LLVMValueRef d = LLVMBuildSIToFP(f->b, LLVMBuildSub(f->b, qi, qc_cpu_splat(f, w, zp), ""),
                                     qc_cpu_vt(f, w), "");
    return LLVMBuildFMul(f->b, d, qc_cpu_splat(f, w, scale), "");
}

/* Operand at base + j: w contiguous elements, or the one element at base
 * splat (a broadcast operand along the inner dim). */
static LLVMValueRef operand(qe_ctx *c, int32_t w, LLVMValueRef base, bool runs, LLVMValueRef j,
                            LLVMValueRef zp, LLVMValueRef scale) {
    qc_cpu_fn *f = c->f;
    if (!runs) {
        LLVMValueRef s = LLVMBuildLoad2(f->b, f->i8, base, "");
        return qc_cpu_splat(f, w, dequant(c, 1, s, zp, scale));
    }
    LLVMValueRef v = LLVMBuildLoad2(f->b, ivt(f->i8, w), qc_cpu_gep(f, f->i8, base, j), "");
    LLVMSetAlignment(v, 1);
    return dequant(c, w, v, zp, scale);
}

/* qc_quantize(r, sc, zc, lo, hi) on w lanes, stored as 8 bits at base + j.
 * The act_min / act_max clamp after it is the same clamp with narrower
 * bounds: they lie inside the type's range, so clamp(Q(r), amin, amax) is
 * amin where r <= amin - zp, amax where r >= amax - zp, else r + zp. */
static void quantize_store(qe_ctx *c, int32_t w, LLVMValueRef r, LLVMValueRef base,
                           LLVMValueRef j) {
    qc_cpu_fn *f = c->f;
    LLVMValueRef v = qc_cpu_quantize(f, &c->qz, w, r);
    LLVMValueRef st = LLVMBuildStore(f->b, LLVMBuildTrunc(f->b, v, ivt(f->i8, w), ""),
                                     qc_cpu_gep(f, f->i8, base, j));
    LLVMSetAlignment(st, 1);
}

typedef struct qe_row {
    LLVMValueRef pa, pb, pc;       /* operand / output pointers at the row's start */
} qe_row;

static void emit_step(qe_ctx *c, int32_t w, const qe_row *r, LLVMValueRef j) {
    const qdim *in = &c->q->d[c->q->nd - 1];
    LLVMValueRef fa = operand(c, w, r->pa, in->sa != 0, j, c->za, c->sa);
    LLVMValueRef fb = operand(c, w, r->pb, in->sb != 0, j, c->zb, c->sb);
    LLVMValueRef v = c->q->mul ? LLVMBuildFMul(c->f->b, fa, fb, "") : LLVMBuildFAdd(c->f->b, fa, fb, "");
    quantize_store(c, w, v, r->pc, j);
}

/* idx * stride + acc (i64), skipping zero strides. */
static LLVMValueRef add_scaled(qc_cpu_fn *f, LLVMValueRef acc, LLVMValueRef idx, int64_t stride) {
    if (!stride) return acc;
    return LLVMBuildAdd(f->b, acc, LLVMBuildMul(f->b, idx, qc_cpu_i64(f, stride), ""), "");
}

/* The body of the unit loop: unit u -> (batch item, outer coordinates,
 * inner block), then the vector loop and a scalar tail over the block. */
static void emit_unit(qe_ctx *c, LLVMValueRef u, LLVMValueRef a, LLVMValueRef bp,
                      LLVMValueRef out) {
    qc_cpu_fn *f = c->f;
    const qelem *q = c->q;
    LLVMBuilderRef b = f->b;
    LLVMValueRef zero = qc_cpu_i64(f, 0);
    LLVMValueRef oa = zero, ob = zero, oc = zero, rem = u;
    if (q->batch) {
        LLVMValueRef bi = LLVMBuildUDiv(b, u, qc_cpu_i64(f, q->units), "");
        rem = LLVMBuildURem(b, u, qc_cpu_i64(f, q->units), "");
        oa = add_scaled(f, oa, bi, q->item_a);
        ob = add_scaled(f, ob, bi, q->item_b);
        oc = add_scaled(f, oc, bi, q->item_c);
    }
    LLVMValueRef row = LLVMBuildUDiv(b, rem, qc_cpu_i64(f, q->nblk), "");
    LLVMValueRef blk = LLVMBuildURem(b, rem, qc_cpu_i64(f, q->nblk), "");
    const qdim *in = &q->d[q->nd - 1];
    oc = add_scaled(f, oc, row, in->n);   /* the output is contiguous */
    LLVMValueRef rest = row;
    for (int32_t k = q->nd - 2; k >= 0; k--) {
        LLVMValueRef n = qc_cpu_i64(f, q->d[k].n);
        LLVMValueRef coord = k ? LLVMBuildURem(b, rest, n, "") : rest;
        if (k) rest = LLVMBuildUDiv(b, rest, n, "");
        oa = add_scaled(f, oa, coord, q->d[k].sa);
        ob = add_scaled(f, ob, coord, q->d[k].sb);
    }
    LLVMValueRef j0 = LLVMBuildMul(b, blk, qc_cpu_i64(f, q->blk), "");
    LLVMValueRef j1 = LLVMBuildAdd(b, j0, qc_cpu_i64(f, q->blk), "");
    LLVMValueRef len = qc_cpu_i64(f, in->n);
    j1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, j1, len, ""), j1, len, "");
    qe_row r = {.pa = qc_cpu_gep(f, f->i8, a, oa), .pb = qc_cpu_gep(f, f->i8, bp, ob),
                .pc = qc_cpu_gep(f, f->i8, out, oc)};
    /* Row pointers hold the inner dim's start; a running operand indexes by j. */
    qc_cpu_loop vl, sl;
    LLVMValueRef j = qc_cpu_loop_begin(f, &vl, j0, j1, f->vw);
    emit_step(c, f->vw, &r, j);
    qc_cpu_loop_end(f, &vl);
    j = qc_cpu_loop_begin(f, &sl, vl.iv, j1, 1);
    emit_step(c, 1, &r, j);
    qc_cpu_loop_end(f, &sl);
}

qc_status qc_cpu_gen_qelem(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    qelem q;
    qc_status st = analyze(g, n, &q);
    if (st) return st;
    if (!(cg->feat.sse41 || cg->feat.avx2 || cg->feat.avx512f))
        return qc_error(QC_ERR_UNSUPPORTED, "rint needs sse4.1 (no libm calls in kernels)");
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    qe_ctx c = {.f = &f, .q = &q};
    c.sa = qc_cpu_loadf(&f, 1, qc_cpu_fn_in(&f, 1), qc_cpu_i64(&f, 0));
    c.sb = qc_cpu_loadf(&f, 1, qc_cpu_fn_in(&f, 4), qc_cpu_i64(&f, 0));
    c.sc = qc_cpu_loadf(&f, 1, qc_cpu_fn_in(&f, 6), qc_cpu_i64(&f, 0));
    c.za = load_zp(&c, n, 2);
    c.zb = load_zp(&c, n, 5);
    c.zc = load_zp(&c, n, 7);
    qc_cpu_quantizer_init(&f, &c.qz, f.vw, c.sc, g->values[n->in[6]].data, c.zc, q.lo, q.hi);
    LLVMValueRef a = qc_cpu_fn_in(&f, 0), b = qc_cpu_fn_in(&f, 3), out = qc_cpu_fn_out(&f, 0);
    qc_cpu_loop ul;
    LLVMValueRef u = qc_cpu_loop_begin(&f, &ul, f.begin, f.end, 1);
    emit_unit(&c, u, a, b, out);
    qc_cpu_loop_end(&f, &ul);
    qc_cpu_fn_end(&f);
    k->units_a = q.batch ? 0 : q.units;
    k->units_b = q.batch ? q.units : 0;
    k->grain = (QE_GRAIN_ELEMS + q.blk - 1) / q.blk;
    /* measured ~150-175 ps per element at x16 on znver5 with the divide
     * form of the quantize (one vdivps per 16 lanes); the FMA form
     * (quantize.h) is cheaper, so this errs high; scaled for narrower
     * vectors; plus the per-unit index arithmetic */
    k->cost_ps = qc_cpu_cost_ps(150.0 * 16.0 / f.vw * (double)q.blk + 2000.0);
    int64_t tlo, thi;
    qc_dtype_int_range(q.t, &tlo, &thi);
    snprintf(k->variant, sizeof k->variant, "qlinear %s %s x%d %dd%s", q.mul ? "mul" : "add",
             q.t == QC_I8 ? "i8" : "u8", (int)f.vw, (int)q.nd,
             q.lo > tlo || q.hi < thi ? " clamp" : "");
    return NULL;
}
