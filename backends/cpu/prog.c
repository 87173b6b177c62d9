/* prog.c — parse, check and emit elementwise programs (prog.h). */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/prog.h"
#include "ir/dtype.h"

static float attr(const qc_cpu_step *s, const char *name, float def) {
    return qc_prog_step_attr(s, name, def);
}

/* Which ops the vector code handles, and their arities. */
static bool supported(const qc_cpu_step *s) {
    switch (s->op) {
    case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: return s->n_in == 2;
    case QC_OP_CLIP: return s->n_in >= 1 && s->n_in <= 3 && s->in[0] == -1;
    case QC_OP_RELU: case QC_OP_LEAKY_RELU: case QC_OP_SIGMOID: case QC_OP_TANH:
    case QC_OP_EXP: case QC_OP_NEG: case QC_OP_ABS: case QC_OP_SQRT: case QC_OP_RECIPROCAL:
    case QC_OP_HARD_SIGMOID: case QC_OP_HARD_SWISH: case QC_OP_SOFTSIGN:
    case QC_OP_THRESHOLDED_RELU: case QC_OP_IDENTITY:
        return s->n_in == 1 && s->in[0] == -1;
    default: return false;
    }
}

qc_status qc_cpu_prog_parse(const char *text, int32_t n_inputs, qc_cpu_prog *p) {
    memset(p, 0, sizeof *p);
    const char *c = text;
    while (*c) {
        if (p->n >= QC_CPU_PROG_MAX)
            return qc_error(QC_ERR_UNSUPPORTED, "program longer than %d steps", QC_CPU_PROG_MAX);
        qc_cpu_step *s = &p->s[p->n];
        const char *at = c;
        if (!qc_prog_parse_step(&c, n_inputs, s))
            return qc_error(QC_ERR_INVALID, "bad program step at '%.40s'", at);
        if (!supported(s)) {
            const qc_op_info *info = qc_op_get_info(s->op);
            return qc_error(QC_ERR_UNSUPPORTED, "program step %s has no cpu code",
                            info ? info->name : "?");
        }
        p->n++;
    }
    return NULL;
}

LLVMValueRef qc_cpu_prog_emit(qc_cpu_fn *f, const qc_cpu_prog *p, int32_t w, LLVMValueRef x,
                              qc_cpu_operand_fn operand, void *ctx) {
    LLVMBuilderRef b = f->b;
#define C(v) qc_cpu_fconst(f, w, (v))
    for (int32_t i = 0; i < p->n; i++) {
        const qc_cpu_step *s = &p->s[i];
        LLVMValueRef a[QC_CPU_STEP_ARGS];
        for (int32_t k = 0; k < s->n_in; k++) a[k] = s->in[k] < 0 ? x : operand(ctx, s->in[k], w);
        LLVMValueRef zero = C(0.0), one = C(1.0);
        switch (s->op) {
        case QC_OP_ADD: x = LLVMBuildFAdd(b, a[0], a[1], ""); break;
        case QC_OP_SUB: x = LLVMBuildFSub(b, a[0], a[1], ""); break;
        case QC_OP_MUL: x = LLVMBuildFMul(b, a[0], a[1], ""); break;
        case QC_OP_DIV: x = LLVMBuildFDiv(b, a[0], a[1], ""); break;
        case QC_OP_RELU: {   /* x < 0 ? 0 : x, as ref: keeps -0 and NaN */
            LLVMValueRef lt = LLVMBuildFCmp(b, LLVMRealOLT, x, zero, "");
            x = LLVMBuildSelect(b, lt, zero, x, "");
            break;
        }
        case QC_OP_LEAKY_RELU: {
            LLVMValueRef lt = LLVMBuildFCmp(b, LLVMRealOLT, x, zero, "");
            x = LLVMBuildSelect(b, lt, LLVMBuildFMul(b, C(attr(s, "alpha", 0.01f)), x, ""), x, "");
            break;
        }
        case QC_OP_THRESHOLDED_RELU: {
            LLVMValueRef gt = LLVMBuildFCmp(b, LLVMRealOGT, x, C(attr(s, "alpha", 1.0f)), "");
            x = LLVMBuildSelect(b, gt, x, zero, "");
            break;
        }
        case QC_OP_CLIP: {   /* max(x, lo) then min(., hi); NaN passes (ref's order) */
            LLVMValueRef lo = s->n_in > 1 ? a[1] : NULL, hi = s->n_in > 2 ? a[2] : NULL;
            bool has_lo = lo || attr(s, "min", 1.0f) == attr(s, "min", 2.0f);
            bool has_hi = hi || attr(s, "max", 1.0f) == attr(s, "max", 2.0f);
            if (!lo && has_lo) lo = C(attr(s, "min", 0.0f));
            if (!hi && has_hi) hi = C(attr(s, "max", 0.0f));
            if (lo) {
                LLVMValueRef lt = LLVMBuildFCmp(b, LLVMRealOLT, x, lo, "");
                x = LLVMBuildSelect(b, lt, lo, x, "");
            }
            if (hi) {
                LLVMValueRef gt = LLVMBuildFCmp(b, LLVMRealOGT, x, hi, "");
                x = LLVMBuildSelect(b, gt, hi, x, "");
            }
            break;
        }
        case QC_OP_SIGMOID: x = qc_cpu_sigmoid(f, w, x); break;
        case QC_OP_TANH: x = qc_cpu_tanh(f, w, x); break;
        case QC_OP_EXP: x = qc_cpu_exp(f, w, x); break;
        case QC_OP_NEG: x = LLVMBuildFNeg(b, x, ""); break;
        case QC_OP_ABS: x = qc_cpu_intrin(f, "llvm.fabs", LLVMTypeOf(x), &x, 1); break;
        case QC_OP_SQRT: x = qc_cpu_intrin(f, "llvm.sqrt", LLVMTypeOf(x), &x, 1); break;
        case QC_OP_RECIPROCAL: x = LLVMBuildFDiv(b, one, x, ""); break;
        case QC_OP_HARD_SIGMOID: {
            LLVMValueRef v = LLVMBuildFAdd(
                b, LLVMBuildFMul(b, C(attr(s, "alpha", 0.2f)), x, ""), C(attr(s, "beta", 0.5f)), "");
            x = qc_cpu_max_keepnan(f, qc_cpu_min_keepnan(f, v, one), zero);
            break;
        }
        case QC_OP_HARD_SWISH: {
            LLVMValueRef v = LLVMBuildFAdd(b, LLVMBuildFDiv(b, x, C(6.0), ""), C(0.5), "");
            v = qc_cpu_max_keepnan(f, qc_cpu_min_keepnan(f, v, one), zero);
            x = LLVMBuildFMul(b, x, v, "");
            break;
        }
        case QC_OP_SOFTSIGN: {
            LLVMValueRef ax = qc_cpu_intrin(f, "llvm.fabs", LLVMTypeOf(x), &x, 1);
            x = LLVMBuildFDiv(b, x, LLVMBuildFAdd(b, one, ax, ""), "");
            break;
        }
        default: break;   /* Identity; the rest were rejected by parse */
        }
    }
    return x;
#undef C
}

bool qc_cpu_bcast_of(const qc_type *t, const qc_type *o, bool allow_col, qc_cpu_bcast *out) {
    if (t->dtype != QC_F32) return false;
    int64_t n = qc_type_numel(t);
    if (n == 1) {
        *out = QC_CPU_BC_SCALAR;
        return true;
    }
    if (qc_type_equal(t, o)) {
        *out = QC_CPU_BC_FULL;
        return true;
    }
    if (o->rank < 1 || t->rank < 1 || t->rank > o->rank) return false;
    int64_t cols = o->dims[o->rank - 1];
    bool lead_ones = true;
    for (int32_t k = 0; k + 1 < t->rank; k++) lead_ones = lead_ones && t->dims[k] == 1;
    if (lead_ones && cols != QC_DIM_SYM && t->dims[t->rank - 1] == cols) {
        *out = QC_CPU_BC_ROW;
        return true;
    }
    if (allow_col && o->rank == 2 && t->dims[t->rank - 1] == 1 && t->rank >= 1 &&
        (t->rank == 1 ? false : t->dims[t->rank - 2] == o->dims[0]) && o->dims[0] != QC_DIM_SYM) {
        *out = QC_CPU_BC_COL;
        return true;
    }
    return false;
}
