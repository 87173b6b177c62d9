/* gen_half.c — fp16 / bf16 <-> f32 in registers (half.h) and the Cast
 * f32 <-> f16 / bf16 generator (qc_cpu_gen_cast_half, gen.h). */
#include <stdio.h>

#include "backends/cpu/half.h"
#include "ir/dtype.h"

LLVMTypeRef qc_cpu_ivt(qc_cpu_fn *f, LLVMTypeRef e, int32_t w) {
    (void)f;
    return w == 1 ? e : LLVMVectorType(e, (unsigned)w);
}

LLVMValueRef qc_cpu_isplat(qc_cpu_fn *f, LLVMTypeRef e, int32_t w, long long v) {
    (void)f;
    LLVMValueRef s = LLVMConstInt(e, (unsigned long long)v, 1);
    if (w == 1) return s;
    LLVMValueRef l[16];
    for (int32_t i = 0; i < w; i++) l[i] = s;
    return LLVMConstVector(l, (unsigned)w);
}

/* w lanes of i16 holding f16 / bf16 bits -> f32 (exact). */
LLVMValueRef qc_cpu_half_to_f32(qc_cpu_fn *f, qc_dtype t, LLVMValueRef h, int32_t w) {
    LLVMBuilderRef b = f->b;
    if (t == QC_F16) {
        LLVMTypeRef ht = qc_cpu_ivt(f, LLVMHalfTypeInContext(f->cg->ctx), w);
        return LLVMBuildFPExt(b, LLVMBuildBitCast(b, h, ht, ""), qc_cpu_vt(f, w), "");
    }
    LLVMValueRef x = LLVMBuildZExt(b, h, qc_cpu_ivt(f, f->i32, w), "");
    x = LLVMBuildShl(b, x, qc_cpu_isplat(f, f->i32, w, 16), "");
    return LLVMBuildBitCast(b, x, qc_cpu_vt(f, w), "");
}

/* f32 -> half bits, round half to even (ir/dtype.h: qc_f32_to_f16 / _bf16). */
LLVMValueRef qc_cpu_f32_to_half(qc_cpu_fn *f, qc_dtype t, LLVMValueRef y, int32_t w) {
    LLVMBuilderRef b = f->b;
    LLVMTypeRef i16 = LLVMInt16TypeInContext(f->cg->ctx);
    if (t == QC_F16) {
        LLVMTypeRef ht = qc_cpu_ivt(f, LLVMHalfTypeInContext(f->cg->ctx), w);
        return LLVMBuildBitCast(b, LLVMBuildFPTrunc(b, y, ht, ""), qc_cpu_ivt(f, i16, w), "");
    }
    LLVMTypeRef it = qc_cpu_ivt(f, f->i32, w);
    LLVMValueRef x = LLVMBuildBitCast(b, y, it, "");
    LLVMValueRef ax = LLVMBuildAnd(b, x, qc_cpu_isplat(f, f->i32, w, 0x7fffffff), "");
    LLVMValueRef inf = qc_cpu_isplat(f, f->i32, w, 0x7f800000);
    LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, ax, inf, "");
    LLVMValueRef hi = LLVMBuildLShr(b, x, qc_cpu_isplat(f, f->i32, w, 16), "");
    LLVMValueRef lsb = LLVMBuildAnd(b, hi, qc_cpu_isplat(f, f->i32, w, 1), "");
    LLVMValueRef half_ulp = LLVMBuildAdd(b, lsb, qc_cpu_isplat(f, f->i32, w, 0x7fff), "");
    LLVMValueRef r = LLVMBuildAdd(b, x, half_ulp, "");
    r = LLVMBuildLShr(b, r, qc_cpu_isplat(f, f->i32, w, 16), "");
    LLVMValueRef q = LLVMBuildOr(b, hi, qc_cpu_isplat(f, f->i32, w, 0x40), "");   /* quiet NaN */
    return LLVMBuildTrunc(b, LLVMBuildSelect(b, nan, q, r, ""), qc_cpu_ivt(f, i16, w), "");
}

LLVMValueRef qc_cpu_round_half(qc_cpu_fn *f, qc_dtype t, LLVMValueRef y, int32_t w) {
    return qc_cpu_half_to_f32(f, t, qc_cpu_f32_to_half(f, t, y, w), w);
}

/* w elements of type t at base + idx (elements) as f32 lanes; mask: NULL
 * for a full vector (w > 1 only). */
LLVMValueRef qc_cpu_load_as_f32(qc_cpu_fn *f, qc_dtype t, int32_t w, LLVMValueRef base,
                                LLVMValueRef idx, LLVMValueRef mask) {
    if (t == QC_F32)
        return mask ? qc_cpu_loadf_masked(f, w, base, idx, mask) : qc_cpu_loadf(f, w, base, idx);
    LLVMTypeRef i16 = LLVMInt16TypeInContext(f->cg->ctx), vt = qc_cpu_ivt(f, i16, w);
    LLVMValueRef p = qc_cpu_gep(f, i16, base, idx), h;
    if (mask) {
        LLVMValueRef args[4] = {p, qc_cpu_i32(f, 2), mask, LLVMConstNull(vt)};
        h = qc_cpu_intrin2(f, "llvm.masked.load", vt, f->ptr, args, 4);
    } else {
        h = LLVMBuildLoad2(f->b, vt, p, "");
        LLVMSetAlignment(h, 2);
    }
    return qc_cpu_half_to_f32(f, t, h, w);
}

void qc_cpu_store_from_f32(qc_cpu_fn *f, qc_dtype t, int32_t w, LLVMValueRef base,
                           LLVMValueRef idx, LLVMValueRef y, LLVMValueRef mask) {
    if (t == QC_F32) {
        if (mask) qc_cpu_storef_masked(f, w, base, idx, y, mask);
        else qc_cpu_storef(f, w, base, idx, y);
        return;
    }
    LLVMTypeRef i16 = LLVMInt16TypeInContext(f->cg->ctx), vt = qc_cpu_ivt(f, i16, w);
    LLVMValueRef h = qc_cpu_f32_to_half(f, t, y, w), p = qc_cpu_gep(f, i16, base, idx);
    if (mask) {
        LLVMValueRef args[4] = {h, p, qc_cpu_i32(f, 2), mask};
        qc_cpu_intrin2(f, "llvm.masked.store", vt, f->ptr, args, 4);
    } else {
        LLVMSetAlignment(LLVMBuildStore(f->b, h, p), 2);
    }
}

/* ---- Cast f32 <-> f16 / bf16 -------------------------------------------------------- */

/* The fp16 / bf16 schemes' boundary Casts (graph inputs to half, outputs
 * back to f32), with the conversions above: f32 -> half rounds half to
 * even exactly as ref's Cast (qc_f32_to_f16 / qc_f32_to_bf16), half -> f32
 * is exact. Elementwise: units are elements. */
static void cast_span(qc_cpu_fn *f, qc_dtype tx, qc_dtype ty, int32_t w, LLVMValueRef x,
                      LLVMValueRef y, LLVMValueRef i) {
    LLVMValueRef v = qc_cpu_load_as_f32(f, tx, w, x, i, NULL);
    qc_cpu_store_from_f32(f, ty, w, y, i, v, NULL);
}

qc_status qc_cpu_gen_cast_half(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k) {
    const qc_node *n = &g->nodes[node];
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1 || n->out[0] < 0)
        return qc_error(QC_ERR_UNSUPPORTED, "inputs / outputs");
    qc_dtype tx = g->values[n->in[0]].type.dtype, ty = g->values[n->out[0]].type.dtype;
    bool down = tx == QC_F32 && qc_cpu_is_half(ty), up = qc_cpu_is_half(tx) && ty == QC_F32;
    if (!down && !up) return qc_error(QC_ERR_UNSUPPORTED, "not f32 <-> f16 / bf16");
    qc_dtype h = down ? ty : tx;
    if (h == QC_F16 && !cg->feat.f16c) return qc_error(QC_ERR_UNSUPPORTED, "fp16 without f16c");
    int64_t na = 0, nb = 0;
    qc_status st = qc_cpu_numel_lin(&g->values[n->out[0]].type, &na, &nb);
    if (st) return st;
    qc_cpu_fn f;
    qc_cpu_fn_begin(cg, k->symbol, &f);
    LLVMValueRef x = qc_cpu_fn_in(&f, 0), y = qc_cpu_fn_out(&f, 0);
    qc_cpu_loop vl;
    LLVMValueRef j = qc_cpu_loop_begin(&f, &vl, f.begin, f.end, f.vw);
    cast_span(&f, tx, ty, f.vw, x, y, j);
    qc_cpu_loop_end(&f, &vl);
    qc_cpu_loop sl;
    LLVMValueRef j1 = qc_cpu_loop_begin(&f, &sl, vl.iv, f.end, 1);
    cast_span(&f, tx, ty, 1, x, y, j1);
    qc_cpu_loop_end(&f, &sl);
    qc_cpu_fn_end(&f);
    k->units_a = na;
    k->units_b = nb;
    k->grain = 4096;
    k->cost_ps = qc_cpu_cost_ps(40.0 * 16.0 / f.vw);
    snprintf(k->variant, sizeof k->variant, "cast %s->%s x%d", qc_dtype_name(tx),
             qc_dtype_name(ty), (int)f.vw);
    return NULL;
}
