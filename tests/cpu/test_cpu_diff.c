/* test_cpu_diff.c — differential tests of the cpu backend's fp32 generators
 * against the ref interpreter, on random shapes (odd sizes, tails of every
 * length, symbolic batch bound at random sizes) and seeded non-zero data,
 * through both paths: the JIT (qc_compile_jit_opts, ORC LLJIT in process)
 * and the AOT artifact (linked shared object, loaded with dlopen). Each case
 * also checks from the kernel table that its nodes were generated, not run
 * on the ref fallback. Float outputs must match within relative L2 1e-5
 * (docs/backend-cpu.md); Quantize/Dequantize exactly. Then the seed FNN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/hal_ktable.h"
#include "cpu_run.h"
#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "qcomp/qcomp.h"
#include "runtime/model.h"
#include "tools/npy.h"

#define REL_L2 1e-5

static qc_rng rng;

static float frand(void) {
    return (float)((double)(qc_rng_next(&rng) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static int64_t irand(int64_t lo, int64_t hi) {
    return lo + (int64_t)(qc_rng_next(&rng) % (uint64_t)(hi - lo + 1));
}

static qc_type ty(qc_dtype dt, int32_t rank, const int64_t *dims) {
    qc_type t = {.dtype = dt, .rank = rank};
    for (int32_t k = 0; k < rank; k++) t.dims[k] = dims[k];
    return t;
}

static int32_t add_const(qc_graph *g, const char *name, qc_type t, float scale) {
    int64_t n = qc_type_numel(&t);
    float *d = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) d[i] = frand() * scale;
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, d, sizeof(float) * (size_t)n, &id));
    free(d);
    return id;
}

static int32_t add_value(qc_graph *g, const char *name, qc_type t) {
    int32_t id = -1;
    CHECK_OK(qc_graph_add_value(g, name, &t, &id));
    return id;
}

static int32_t node(qc_graph *g, qc_op op, const int32_t *in, int32_t n_in, const char *out,
                    qc_type t) {
    int32_t o = add_value(g, out, t), nid = -1;
    CHECK_OK(qc_graph_add_node(g, op, out, in, n_in, &o, 1, &nid));
    return nid;
}

static int32_t out_of(const qc_graph *g, int32_t n) { return g->nodes[n].out[0]; }

/* Random input for every graph input at `batch`. */
static void make_inputs(const qc_graph *g, int64_t batch, qc_tensor *in) {
    for (int32_t i = 0; i < g->n_inputs; i++) {
        qc_tensor_desc d = g->values[g->inputs[i]].type;
        for (int32_t k = 0; k < d.rank; k++)
            if (d.dims[k] == QC_DIM_SYM) d.dims[k] = batch;
        CHECK_OK(qc_tensor_alloc(&d, &in[i]));
        float *p = in[i].data;
        for (int64_t j = 0; j < qc_type_numel(&d); j++) p[j] = frand() * 2.0f;
    }
}

static double rel_l2(const qc_tensor *a, const qc_tensor *b) {
    int64_t n = qc_type_numel(&b->desc);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = ((const float *)a->data)[i], y = ((const float *)b->data)[i];
        num += (x - y) * (x - y);
        den += y * y;
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ref on the graph as built, then the compile pipeline, then cpu both ways. */
static void check_case(const char *what, qc_graph *g, int64_t batch, bool exact) {
    qc_tensor in[4] = {0}, want[1] = {0}, got[1] = {0};
    make_inputs(g, batch, in);
    CHECK_OK(qc_ref_run(g, in, g->n_inputs, want, 1));
    CHECK_OK(qc_compile_optimize(g));
    for (int aot = 0; aot < 2; aot++) {
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, NULL, aot, in, got, &gen);
        EXPECT(!st, "%s (%s): %s", what, aot ? "aot" : "jit", st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == g->n_nodes, "%s: %d of %d nodes generated", what, (int)gen, (int)g->n_nodes);
        if (!st && want[0].data) {
            if (exact) {
                size_t bytes = qc_dtype_bytes(want[0].desc.dtype, qc_type_numel(&want[0].desc));
                EXPECT(!memcmp(got[0].data, want[0].data, bytes), "%s (%s): not bit-identical",
                       what, aot ? "aot" : "jit");
            } else {
                double e = rel_l2(&got[0], &want[0]);
                EXPECT(e <= REL_L2, "%s (%s): relative L2 error %.3g", what, aot ? "aot" : "jit", e);
            }
        }
        qc_tensor_release(&got[0]);
    }
    qc_tensor_release(&want[0]);
    for (int i = 0; i < 4; i++) qc_tensor_release(&in[i]);
    qc_graph_destroy(g);
}

/* Gemm (random transA/transB/alpha/beta/C broadcast) + an epilogue chain. */
static void case_gemm(int iter) {
    int64_t M = irand(1, 40), K = irand(1, 70), N = irand(1, 90);
    bool ta = irand(0, 3) == 0, tb = irand(0, 1), sym = !ta && irand(0, 1);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("gemm", &g));
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int64_t ad[2] = {ta ? K : (sym ? QC_DIM_SYM : M), ta ? M : K};
    int32_t x = add_value(g, "x", ty(QC_F32, 2, ad));
    CHECK_OK(qc_graph_add_input(g, x));
    int64_t bd[2] = {tb ? N : K, tb ? K : N};
    int32_t w = add_const(g, "w", ty(QC_F32, 2, bd), 0.5f);
    int cmode = (int)irand(0, 3);   /* none, [N], [M,1] (static M), scalar */
    if (cmode == 2 && sym) cmode = 1;
    int64_t cd[2] = {cmode == 2 ? M : N, 1};
    int32_t c = cmode == 0 ? -1
                : add_const(g, "c", cmode == 1 ? ty(QC_F32, 1, cd) :
                                    cmode == 2 ? ty(QC_F32, 2, cd) : ty(QC_F32, 1, (int64_t[]){1}), 1.0f);
    int32_t in[3] = {x, w, c};
    int64_t yd[2] = {sym ? QC_DIM_SYM : M, N};
    int32_t n = node(g, QC_OP_GEMM, in, c >= 0 ? 3 : 2, "y0", ty(QC_F32, 2, yd));
    CHECK_OK(qc_node_set_int(g, n, "transA", ta));
    CHECK_OK(qc_node_set_int(g, n, "transB", tb));
    if (irand(0, 1)) CHECK_OK(qc_node_set_float(g, n, "alpha", 0.75f));
    if (irand(0, 1)) CHECK_OK(qc_node_set_float(g, n, "beta", 1.5f));
    int32_t cur = out_of(g, n);
    static const qc_op acts[] = {QC_OP_RELU, QC_OP_SIGMOID, QC_OP_TANH, QC_OP_LEAKY_RELU,
                                 QC_OP_HARD_SWISH, QC_OP_IDENTITY};
    int steps = (int)irand(0, 3);
    for (int s = 0; s < steps; s++) {
        char name[16];
        snprintf(name, sizeof name, "e%d", s);
        qc_op op = acts[irand(0, 5)];
        if (op == QC_OP_IDENTITY) {   /* a binary step with a row operand */
            int64_t rd[1] = {N};
            int32_t r = add_const(g, name[0] == 'e' ? "rowop" : "r", ty(QC_F32, 1, rd), 1.0f);
            int32_t bin[2] = {cur, r};
            cur = out_of(g, node(g, QC_OP_MUL, bin, 2, name, ty(QC_F32, 2, yd)));
            break;   /* one row constant per graph (its name is fixed) */
        }
        cur = out_of(g, node(g, op, &cur, 1, name, ty(QC_F32, 2, yd)));
    }
    CHECK_OK(qc_graph_add_output(g, cur));
    char what[96];
    snprintf(what, sizeof what, "gemm#%d M=%lld K=%lld N=%lld ta=%d tb=%d c=%d steps=%d", iter,
             (long long)M, (long long)K, (long long)N, ta, tb, cmode, steps);
    check_case(what, g, M, false);
}

/* MatMul with leading batch dims folded into rows, + bias + activation. */
static void case_matmul(int iter) {
    int64_t B = irand(1, 4), M = irand(1, 17), K = irand(1, 50), N = irand(1, 70);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("matmul", &g));
    int64_t ad[3] = {B, M, K}, bd[2] = {K, N}, yd[3] = {B, M, N}, rd[1] = {N};
    int32_t x = add_value(g, "x", ty(QC_F32, 3, ad));
    CHECK_OK(qc_graph_add_input(g, x));
    int32_t w = add_const(g, "w", ty(QC_F32, 2, bd), 0.5f);
    int32_t in[2] = {x, w};
    int32_t cur = out_of(g, node(g, QC_OP_MATMUL, in, 2, "mm", ty(QC_F32, 3, yd)));
    int32_t bias = add_const(g, "bias", ty(QC_F32, 1, rd), 1.0f);
    int32_t add[2] = {bias, cur};   /* the running value second */
    cur = out_of(g, node(g, QC_OP_ADD, add, 2, "biased", ty(QC_F32, 3, yd)));
    cur = out_of(g, node(g, irand(0, 1) ? QC_OP_TANH : QC_OP_SIGMOID, &cur, 1, "act",
                         ty(QC_F32, 3, yd)));
    CHECK_OK(qc_graph_add_output(g, cur));
    char what[96];
    snprintf(what, sizeof what, "matmul#%d B=%lld M=%lld K=%lld N=%lld", iter, (long long)B,
             (long long)M, (long long)K, (long long)N);
    check_case(what, g, 0, false);
}

/* An elementwise chain (qc.Elementwise after fuse) or one op, with scalar,
 * row and full operands; a symbolic leading dim. */
static void case_elementwise(int iter) {
    int64_t R = irand(1, 9), C = irand(1, 300);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("ew", &g));
    CHECK_OK(qc_graph_set_batch(g, "N"));
    int64_t xd[2] = {QC_DIM_SYM, C}, rd[1] = {C}, sd[1] = {1};
    qc_type t = ty(QC_F32, 2, xd);
    int32_t x = add_value(g, "x", t), x2 = add_value(g, "x2", t);
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_input(g, x2));
    int32_t row = add_const(g, "row", ty(QC_F32, 1, rd), 1.0f);
    int32_t sc = add_const(g, "sc", ty(QC_F32, 1, sd), 2.0f);
    int32_t lo = add_const(g, "lo", ty(QC_F32, 0, sd), 0.0f);
    int32_t cur = x;
    int steps = (int)irand(1, 6);
    for (int s = 0; s < steps; s++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", s);
        int pick = (int)irand(0, 9);
        int32_t a2[3] = {cur, pick % 3 == 0 ? row : pick % 3 == 1 ? sc : x2, -1};
        static const qc_op bins[] = {QC_OP_ADD, QC_OP_SUB, QC_OP_MUL, QC_OP_DIV};
        static const qc_op uns[] = {QC_OP_RELU, QC_OP_TANH, QC_OP_SIGMOID, QC_OP_HARD_SWISH, QC_OP_ABS,
                                    QC_OP_NEG, QC_OP_SOFTSIGN, QC_OP_HARD_SIGMOID};
        if (pick < 4) {
            qc_op op = bins[irand(0, 3)];
            if (op == QC_OP_DIV && a2[1] == x2) op = QC_OP_MUL;   /* no division by ~0 */
            if (irand(0, 1)) {   /* operand order both ways */
                int32_t tmp = a2[0];
                a2[0] = a2[1];
                a2[1] = tmp;
                if (op == QC_OP_DIV) op = QC_OP_SUB;
            }
            cur = out_of(g, node(g, op, a2, 2, name, t));
        } else if (pick == 9) {
            int32_t cl[2] = {cur, lo};
            cur = out_of(g, node(g, QC_OP_CLIP, cl, 2, name, t));
        } else {
            cur = out_of(g, node(g, uns[irand(0, 7)], &cur, 1, name, t));
        }
    }
    CHECK_OK(qc_graph_add_output(g, cur));
    char what[64];
    snprintf(what, sizeof what, "elementwise#%d R=%lld C=%lld steps=%d", iter, (long long)R,
             (long long)C, steps);
    check_case(what, g, R, false);
}

/* QuantizeLinear -> DequantizeLinear per tensor, int8 and uint8: exact. */
static void case_quant(int iter) {
    int64_t n = irand(1, 200);
    bool u8 = irand(0, 1);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("q", &g));
    int64_t xd[1] = {n};
    qc_type t = ty(QC_F32, 1, xd), qt = ty(u8 ? QC_U8 : QC_I8, 1, xd);
    int32_t x = add_value(g, "x", t);
    CHECK_OK(qc_graph_add_input(g, x));
    float s = 0.01f + (frand() + 1.0f) * 0.02f;
    qc_type st = ty(QC_F32, 0, xd), zt = ty(u8 ? QC_U8 : QC_I8, 0, xd);
    int32_t sc = -1, zp = -1;
    CHECK_OK(qc_graph_add_const(g, "s", &st, &s, 4, &sc));
    uint8_t z = (uint8_t)(u8 ? irand(0, 255) : irand(-20, 20));
    CHECK_OK(qc_graph_add_const(g, "z", &zt, &z, 1, &zp));
    int32_t in[3] = {x, sc, zp};
    int32_t q = out_of(g, node(g, QC_OP_QUANTIZE_LINEAR, in, 3, "q", qt));
    int32_t in2[3] = {q, sc, zp};
    int32_t y = out_of(g, node(g, QC_OP_DEQUANTIZE_LINEAR, in2, 3, "y", t));
    CHECK_OK(qc_graph_add_output(g, y));
    char what[64];
    snprintf(what, sizeof what, "quant#%d n=%lld %s", iter, (long long)n, u8 ? "u8" : "i8");
    check_case(what, g, 0, true);
}

/* The seed FNN on cpu (JIT and AOT) against ref, at batch 1000 and 7. */
static void case_seed_fnn(void) {
    qc_graph *g = NULL;
    qc_tensor x = {0};
    CHECK_OK(qc_onnx_import_file("tests/models/seed_fnn/model.onnx", NULL, &g));
    if (!g) return;
    qc_tensor want = {0};
    CHECK_OK(qc_npy_read("tests/models/seed_fnn/input_0.npy", &x));
    CHECK_OK(qc_ref_run(g, &x, 1, &want, 1));
    CHECK_OK(qc_compile_optimize(g));
    for (int aot = 0; aot < 2 && want.data; aot++) {
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, NULL, aot, &x, &got, &gen);
        EXPECT(!st, "seed_fnn (%s): %s", aot ? "aot" : "jit", st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == g->n_nodes, "seed_fnn: %d of %d nodes generated", (int)gen, (int)g->n_nodes);
        if (got.data) {
            double e = rel_l2(&got, &want);
            printf("seed_fnn (%s): relative L2 vs ref %.3g\n", aot ? "aot" : "jit", e);
            EXPECT(e <= REL_L2, "seed_fnn: relative L2 %.3g", e);
        }
        qc_tensor_release(&got);
    }
    qc_tensor_release(&want);
    qc_tensor_release(&x);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_diff");
    for (int i = 0; i < 40; i++) case_gemm(i);
    for (int i = 0; i < 15; i++) case_matmul(i);
    for (int i = 0; i < 40; i++) case_elementwise(i);
    for (int i = 0; i < 10; i++) case_quant(i);
    case_seed_fnn();
    return qc_test_summary("test_cpu_diff");
}
