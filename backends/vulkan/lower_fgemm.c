/* lower_fgemm.c — the fp32 shader generator: Gemm, MatMul, qc.FusedGemm and
 * qc.FusedMatMul with their epilogue program (docs/ir.md "Programs")
 * evaluated per element in registers.
 *
 * One invocation computes one output element with an fp32 accumulator (ref
 * accumulates in double): results match ref within the fp32 tolerance of
 * docs/backend-vulkan.md, not bit for bit. B (and Gemm's beta * C) are
 * constants re-packed once into the constants blob. */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"

#define LOCAL_X 64
#define MAX_STEPS 16

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

static const qc_value *val(const vk_builder *b, int32_t v) { return v >= 0 ? &b->g->values[v] : NULL; }

/* A constant f32 operand that broadcasts along the rows of [M, N] output:
 * one entry, or N entries in the last dim. Stored as N floats (x scale). */
static qc_status row_const(vk_builder *b, const qc_value *x, int64_t N, float scale, bool *ok,
                           uint32_t *off) {
    *ok = false;
    int64_t c = qc_type_numel(&x->type);
    if (!x->data || x->type.dtype != QC_F32 || (c != 1 && c != N)) return NULL;
    if (c == N && (x->type.rank < 1 || x->type.dims[x->type.rank - 1] != N)) return NULL;
    float *row = malloc((size_t)N * sizeof *row);
    if (!row) return qc_error(QC_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < N; j++) row[j] = scale * ((const float *)x->data)[c == 1 ? 0 : j];
    qc_status st = qc_vk_add_const(b, row, (size_t)N * sizeof *row, off);
    free(row);
    if (!st) *ok = true;
    return st;
}

/* One program operand %k as a GLSL expression, or false if not covered:
 * a row-broadcast constant, or an arena value of the output's exact shape. */
static qc_status operand_expr(vk_builder *b, vk_kernel *k, const qc_node *n, int32_t idx,
                              const qc_value *y, int64_t N, char *expr, size_t len, bool *ok) {
    *ok = false;
    if (idx < 0 || idx >= n->n_in || n->in[idx] < 0) return NULL;
    const qc_value *x = val(b, n->in[idx]);
    if (x->data) {
        uint32_t off;
        qc_status st = row_const(b, x, N, 1.0f, ok, &off);
        if (!st && *ok) snprintf(expr, len, "uintBitsToFloat(cst.w[%uu + col])", off / 4);
        return st;
    }
    if (x->type.dtype != QC_F32 || !qc_type_equal(&x->type, &y->type) || k->n_push >= QC_VK_MAX_PUSH)
        return NULL;
    snprintf(expr, len, "uintBitsToFloat(arena.w[pc.p[%u] / 4u + gid])", k->n_push);
    qc_vk_push_value(k, n->in[idx]);
    *ok = true;
    return NULL;
}

/* Parses the next step "Op(args)" of a program into op / args / attrs. */
static bool next_step(const char **p, char *op, size_t oplen, char args[][24], int *nargs) {
    const char *c = *p;
    size_t l = strcspn(c, "(");
    if (!c[l] || !l || l >= oplen) return false;
    memcpy(op, c, l);
    op[l] = 0;
    c += l + 1;
    *nargs = 0;
    while (*c && *c != ')') {
        size_t al = strcspn(c, ",)");
        if (al == 0 || al >= 24 || *nargs >= 4) return false;
        memcpy(args[*nargs], c, al);
        args[(*nargs)++][al] = 0;
        c += al;
        if (*c == ',') c++;
    }
    if (*c != ')') return false;
    c++;
    if (*c == ';') c++;
    *p = c;
    return true;
}

/* Emits the epilogue program as GLSL statements on `y`; *ok false when a
 * step or operand is not covered. */
static qc_status epilogue(vk_builder *b, vk_kernel *k, const qc_node *n, const qc_value *y,
                          int64_t N, vk_text *t, bool *ok) {
    *ok = true;
    const char *p = qc_attr_string(n, "program", "");
    for (int s = 0; *p; s++) {
        char op[32], args[4][24], x[2][96];
        int na;
        if (s >= MAX_STEPS || !next_step(&p, op, sizeof op, args, &na)) return *ok = false, NULL;
        int nx = 0;
        float alpha = 0.01f;
        bool run_first = na > 0 && !strcmp(args[0], "$");
        for (int a = 0; a < na; a++) {
            if (!strcmp(args[a], "$")) {
                if (nx < 2) snprintf(x[nx++], sizeof x[0], "y");
            } else if (args[a][0] == '%') {
                bool got;
                qc_status st = nx < 2 ? operand_expr(b, k, n, atoi(args[a] + 1), y, N, x[nx], sizeof x[0], &got)
                                      : NULL;
                if (st) return st;
                if (nx >= 2 || !got) return *ok = false, NULL;
                nx++;
            } else if (!strncmp(args[a], "alpha=", 6)) {
                alpha = strtof(args[a] + 6, NULL);
            } else {
                return *ok = false, NULL;
            }
        }
        if (nx == 1 && !strcmp(op, "Relu")) qc_vk_text_add(t, "  y = max(y, 0.0);\n");
        else if (nx == 1 && !strcmp(op, "Sigmoid")) qc_vk_text_add(t, "  y = 1.0 / (1.0 + exp(-y));\n");
        else if (nx == 1 && !strcmp(op, "Tanh")) qc_vk_text_add(t, "  y = tanh(y);\n");
        else if (nx == 1 && !strcmp(op, "Neg")) qc_vk_text_add(t, "  y = -y;\n");
        else if (nx == 1 && !strcmp(op, "Abs")) qc_vk_text_add(t, "  y = abs(y);\n");
        else if (nx == 1 && !strcmp(op, "LeakyRelu"))
            qc_vk_text_add(t, "  y = y < 0.0 ? y * uintBitsToFloat(0x%xu) : y;\n",
                           (unsigned)(union { float f; uint32_t u; }){alpha}.u);
        else if (nx == 2 && (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") ||
                             !strcmp(op, "Div"))) {
            const char *sym = op[0] == 'A' ? "+" : op[0] == 'S' ? "-" : op[0] == 'M' ? "*" : "/";
            qc_vk_text_add(t, "  y = %s %s %s;\n", x[0], sym, x[1]);
        } else if (!strcmp(op, "Clip") && run_first && nx >= 1) {
            if (nx >= 2) qc_vk_text_add(t, "  y = max(y, %s);\n", x[1]);
            if (na >= 3) return *ok = false, NULL;   /* a max bound: 3 operands, not covered here */
        } else {
            return *ok = false, NULL;
        }
    }
    return NULL;
}

qc_status qc_vk_gen_gemm(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    bool gemm = n->op == QC_OP_GEMM || n->op == QC_OP_FUSED_GEMM;
    bool fused = n->op == QC_OP_FUSED_GEMM || n->op == QC_OP_FUSED_MATMUL;
    int64_t n_base = fused ? qc_attr_int(n, "n_base", 2) : n->n_in;
    const qc_value *A = val(b, n->in[0]), *B = val(b, n->in[1]), *Y = val(b, n->out[0]);
    const qc_value *C = gemm && n_base > 2 && n->n_in > 2 ? val(b, n->in[2]) : NULL;
    if (!A || !B || !Y) return fallback(k, QC_VK_FB_SHAPE), NULL;
    if (A->type.dtype != QC_F32 || B->type.dtype != QC_F32 || Y->type.dtype != QC_F32)
        return fallback(k, QC_VK_FB_DTYPE), NULL;
    if (A->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    if (!B->data || B->type.rank != 2) return fallback(k, QC_VK_FB_SHAPE), NULL;
    bool ta = gemm && qc_attr_int(n, "transA", 0), tb = gemm && qc_attr_int(n, "transB", 0);
    const qc_type *at = &A->type;
    if (at->rank < 1 || (gemm && at->rank != 2) || at->dims[at->rank - 1] == QC_DIM_SYM)
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t K = ta ? at->dims[0] : at->dims[at->rank - 1];
    int64_t N = tb ? B->type.dims[0] : B->type.dims[1];
    int64_t Kb = tb ? B->type.dims[1] : B->type.dims[0];
    if (K != Kb || K <= 0 || N <= 0 || (ta && at->dims[1] == QC_DIM_SYM))
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t rows = 1;
    bool sym = false;
    for (int32_t d = 0; d < at->rank; d++) {
        if (at->dims[d] == QC_DIM_SYM) sym = true;
        else rows *= at->dims[d];
    }
    rows /= K;
    if (K * N > (1 << 28) || rows * (K > N ? K : N) > (1 << 28)) return fallback(k, QC_VK_FB_SIZE), NULL;
    int64_t ra = sym ? 0 : rows, rb = sym ? rows : 0;
    float alpha = gemm ? qc_attr_float(n, "alpha", 1.0f) : 1.0f, beta = qc_attr_float(n, "beta", 1.0f);
    /* B as [N][K] floats. */
    float *bt = malloc((size_t)(N * K) * sizeof *bt);
    if (!bt) return qc_error(QC_ERR_NOMEM, "out of memory");
    const float *bd = B->data;
    for (int64_t j = 0; j < N; j++)
        for (int64_t kk = 0; kk < K; kk++) bt[j * K + kk] = tb ? bd[j * K + kk] : bd[kk * N + j];
    uint32_t off_b = 0, off_c = 0;
    qc_status st = qc_vk_add_const(b, bt, (size_t)(N * K) * sizeof *bt, &off_b);
    free(bt);
    bool c_ok = true;
    if (!st && C) st = row_const(b, C, N, beta, &c_ok, &off_c);
    if (st) return st;
    if (!c_ok) return fallback(k, QC_VK_FB_SHAPE), NULL;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 1, .count_a = ra * N, .count_b = rb * N};
    qc_vk_push_linear(k, ra, rb);
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    vk_text body = {0};
    bool prog_ok = true;
    if (fused) st = epilogue(b, k, n, Y, N, &body, &prog_ok);
    if (!st && !prog_ok) {
        free(body.s);
        return fallback(k, QC_VK_FB_PROGRAM), NULL;
    }
    vk_text t = {0};
    qc_vk_glsl_head(&t, false, k->n_push);
    qc_vk_text_add(&t,
                   "#define K %lldu\n#define N %lldu\n#define BT %uu\n"
                   "void main() {\n"
                   "  uint gid = QC_GID;\n"
                   "  uint m = pc.p[0];\n"
                   "  if (gid >= m * N) return;\n"
                   "  uint row = gid / N, col = gid %% N, aw = pc.p[1] / 4u;\n"
                   "  float acc = 0.0;\n"
                   "  for (uint k = 0u; k < K; k++)\n"
                   "    acc += uintBitsToFloat(arena.w[%s]) * uintBitsToFloat(cst.w[BT + col * K + k]);\n"
                   "  float y = acc;\n",
                   (long long)K, (long long)N, off_b / 4,
                   ta ? "aw + k * m + row" : "aw + row * K + k");
    if (alpha != 1.0f)
        qc_vk_text_add(&t, "  y = y * uintBitsToFloat(0x%xu);\n", (unsigned)(union { float f; uint32_t u; }){alpha}.u);
    if (C) qc_vk_text_add(&t, "  y = y + uintBitsToFloat(cst.w[%uu + col]);\n", off_c / 4);
    if (body.s) qc_vk_text_add(&t, "%s", body.s);
    qc_vk_text_add(&t, "  arena.w[pc.p[2] / 4u + gid] = floatBitsToUint(y);\n}\n");
    free(body.s);
    if (!st && t.oom) st = qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st)
        st = qc_vk_add_shader(b, t.s, n->name ? n->name : "Gemm", LOCAL_X, 0, &k->variants[0]);
    free(t.s);
    k->n_variants = 1;
    return st;
}
