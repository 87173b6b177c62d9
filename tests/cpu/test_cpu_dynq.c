/* test_cpu_dynq.c — differential tests of the cpu backend's int8-dynamic
 * path (backends/cpu/gen_dynq.c, the runtime a-zero-point MatMulInteger of
 * gen_qgemm.c / gen_int8.c) against the ref interpreter: random shapes
 * (tails of every length, a symbolic batch bound at random sizes), seeded
 * data with the edge cases DynamicQuantizeLinear has (all zero, one sign
 * only, NaN, -0, inf), through JIT and AOT. Integer outputs and the scale /
 * zero point must be bit-identical; the float chain after MatMulInteger
 * (Cast, Mul, Add) is exact too (docs/backend-cpu.md). Every node must be
 * generated. Then the seed FNN quantized with int8-dynamic. */
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
#include "passes/quantize.h"
#include "qc_test.h"
#include "qcomp/qcomp.h"
#include "runtime/model.h"
#include "tools/npy.h"

#define MAX_IO 4

static qc_rng rng;
/* the cpu target the cases compile for: NULL = native (JIT and AOT), else a
 * named CPU (AOT only; this host must be able to run it) */
static const char *g_cpu;

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

static int32_t add_value(qc_graph *g, const char *name, qc_type t) {
    int32_t id = -1;
    CHECK_OK(qc_graph_add_value(g, name, &t, &id));
    return id;
}

/* f32 data for DynamicQuantizeLinear: mostly uniform in [-amp, amp], with
 * a mode that makes the range one-sided, all zero, or sprinkles NaN / -0 /
 * inf (the ref leaves NaN out of the range; ONNX leaves it undefined). */
static void fill_f32(float *p, int64_t n, int mode) {
    float amp = (float)(0.01 + 4.0 * (frand() + 1.0));
    for (int64_t j = 0; j < n; j++) {
        float v = frand() * amp;
        switch (mode) {
        case 1: v = fabsf(v); break;    /* non-negative: zp 0 */
        case 2: v = -fabsf(v); break;   /* non-positive: zp 255 */
        case 3: v = 0.0f; break;        /* scale 0 */
        case 4:
            if (irand(0, 7) == 0) v = NAN;
            else if (irand(0, 7) == 0) v = -0.0f;
            break;
        case 5: if (irand(0, 30) == 0) v = irand(0, 1) ? INFINITY : -INFINITY; break;
        default: break;
        }
        p[j] = v;
    }
}

/* ref on the graph as built, then the compile pipeline, then cpu both ways;
 * every output compared byte for byte. */
static void check_exact(const char *what, qc_graph *g, qc_tensor *in) {
    qc_tensor want[MAX_IO] = {0}, got[MAX_IO] = {0};
    int32_t no = g->n_outputs;
    CHECK_OK(qc_ref_run(g, in, g->n_inputs, want, no));
    CHECK_OK(qc_compile_optimize(g));
    for (int aot = g_cpu ? 1 : 0; aot < 2; aot++) {
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, g_cpu, aot, in, got, &gen);
        EXPECT(!st, "%s (%s): %s", what, aot ? "aot" : "jit", st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == g->n_nodes, "%s: %d of %d nodes generated", what, (int)gen, (int)g->n_nodes);
        for (int32_t o = 0; o < no && !st; o++) {
            if (!want[o].data || !got[o].data) continue;
            size_t bytes = qc_dtype_bytes(want[o].desc.dtype, qc_type_numel(&want[o].desc));
            bool same = !memcmp(got[o].data, want[o].data, bytes);
            if (!same && want[o].desc.dtype == QC_F32) {
                /* NaN payloads may differ; NaN must stay NaN */
                const float *a = got[o].data, *b = want[o].data;
                same = true;
                for (int64_t e = 0; e < qc_type_numel(&want[o].desc) && same; e++)
                    same = isnan(a[e]) ? isnan(b[e]) : !memcmp(&a[e], &b[e], 4);
            }
            EXPECT(same, "%s (%s): output %d not bit-identical", what, aot ? "aot" : "jit", (int)o);
        }
        for (int32_t o = 0; o < no; o++) qc_tensor_release(&got[o]);
    }
    for (int32_t o = 0; o < no; o++) qc_tensor_release(&want[o]);
    for (int32_t i = 0; i < g->n_inputs; i++) qc_tensor_release(&in[i]);
    qc_graph_destroy(g);
}

static void alloc_in(const qc_graph *g, int32_t i, int64_t batch, qc_tensor *t) {
    qc_tensor_desc d = g->values[g->inputs[i]].type;
    for (int32_t k = 0; k < d.rank; k++)
        if (d.dims[k] == QC_DIM_SYM) d.dims[k] = batch;
    CHECK_OK(qc_tensor_alloc(&d, t));
}

/* DynamicQuantizeLinear alone on [N?, C] (or 1-D / 3-D): y, scale, zp.
 * big: [N, C] with 30k..400k elements, so the kernel runs as several
 * chunks (each reducing the whole tensor) on the 2-thread pool. */
static void case_dql(int iter, bool big) {
    int32_t rank = big ? 2 : (int32_t)irand(1, 3);
    bool sym = rank > 1 && (big || irand(0, 1));
    int64_t dims[3], batch = big ? irand(30, 400) : irand(1, 9);
    for (int32_t k = 0; k < rank; k++) dims[k] = irand(1, k == rank - 1 ? 300 : 7);
    if (big) dims[1] = irand(900, 1100);
    if (sym) dims[0] = QC_DIM_SYM;
    int mode = irand(0, 2) ? 0 : (int)irand(1, 5);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("dql", &g));
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int32_t x = add_value(g, "x", ty(QC_F32, rank, dims));
    CHECK_OK(qc_graph_add_input(g, x));
    int32_t outs[3] = {add_value(g, "y", ty(QC_U8, rank, dims)),
                       add_value(g, "s", ty(QC_F32, 0, dims)),
                       add_value(g, "z", ty(QC_U8, 0, dims))};
    int32_t nid = -1;
    CHECK_OK(qc_graph_add_node(g, QC_OP_DYNAMIC_QUANTIZE_LINEAR, "dql", &x, 1, outs, 3, &nid));
    for (int o = 0; o < 3; o++) CHECK_OK(qc_graph_add_output(g, outs[o]));
    qc_tensor in[MAX_IO] = {0};
    alloc_in(g, 0, batch, &in[0]);
    fill_f32(in[0].data, qc_type_numel(&in[0].desc), mode);
    char what[96];
    snprintf(what, sizeof what, "dql#%d rank=%d last=%lld sym=%d batch=%lld mode=%d", iter,
             (int)rank, (long long)dims[rank - 1], sym, (long long)batch, mode);
    check_exact(what, g, in);
}

/* The int8-dynamic layer: DQL -> MatMulInteger(runtime a zp, constant b and
 * b zp) -> Cast -> Mul(s_a * s_b) -> Add(bias) -> Relu; outputs the i32
 * accumulator and the float result. */
static void case_layer(int iter) {
    bool sym = irand(0, 1);
    int64_t M = irand(1, 40), K = irand(1, 150), N = irand(1, 100), batch = irand(1, 40);
    bool b_u8 = irand(0, 3) == 0;
    int zb_mode = (int)irand(0, 2);   /* 0 none, 1 per tensor, 2 per column */
    int mode = irand(0, 3) ? 0 : (int)irand(1, 4);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("dyn", &g));
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int64_t xd[2] = {sym ? QC_DIM_SYM : M, K}, bd[2] = {K, N}, yd[2] = {sym ? QC_DIM_SYM : M, N};
    int64_t nd[1] = {N}, one[1] = {1};
    int32_t x = add_value(g, "x", ty(QC_F32, 2, xd));
    CHECK_OK(qc_graph_add_input(g, x));
    int32_t q[3] = {add_value(g, "xq", ty(QC_U8, 2, xd)), add_value(g, "xs", ty(QC_F32, 0, one)),
                    add_value(g, "xz", ty(QC_U8, 0, one))};
    int32_t nid = -1;
    CHECK_OK(qc_graph_add_node(g, QC_OP_DYNAMIC_QUANTIZE_LINEAR, "dql", &x, 1, q, 3, &nid));
    qc_type bt = ty(b_u8 ? QC_U8 : QC_I8, 2, bd);
    uint8_t *bdat = malloc((size_t)(K * N));
    for (int64_t e = 0; e < K * N; e++) bdat[e] = (uint8_t)irand(0, 255);
    int32_t b = -1, bz = -1, bs = -1, bias = -1;
    CHECK_OK(qc_graph_add_const(g, "b", &bt, bdat, (size_t)(K * N), &b));
    free(bdat);
    if (zb_mode) {
        int64_t cnt = zb_mode == 2 ? N : 1;
        qc_type zt = zb_mode == 2 ? ty(bt.dtype, 1, nd) : ty(bt.dtype, 0, one);
        uint8_t *z = malloc((size_t)cnt);
        for (int64_t e = 0; e < cnt; e++) z[e] = (uint8_t)(irand(0, 2) ? (b_u8 ? 128 : 0) : irand(0, 255));
        CHECK_OK(qc_graph_add_const(g, "bz", &zt, z, (size_t)cnt, &bz));
        free(z);
    }
    float sb = 0.001f + 0.01f * (frand() + 1.0f);
    qc_type st = ty(QC_F32, 0, one);
    CHECK_OK(qc_graph_add_const(g, "bs", &st, &sb, 4, &bs));
    float *bv = malloc(sizeof(float) * (size_t)N);
    for (int64_t e = 0; e < N; e++) bv[e] = frand();
    qc_type biast = ty(QC_F32, 1, nd);
    CHECK_OK(qc_graph_add_const(g, "bias", &biast, bv, sizeof(float) * (size_t)N, &bias));
    free(bv);
    int32_t mm_in[4] = {q[0], b, q[2], bz};
    int32_t acc = add_value(g, "acc", ty(QC_I32, 2, yd));
    CHECK_OK(qc_graph_add_node(g, QC_OP_MATMUL_INTEGER, "mm", mm_in, zb_mode ? 4 : 3, &acc, 1, &nid));
    int32_t accf = add_value(g, "accf", ty(QC_F32, 2, yd));
    CHECK_OK(qc_graph_add_node(g, QC_OP_CAST, "cast", &acc, 1, &accf, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "to", 1));
    int32_t sc = add_value(g, "sc", ty(QC_F32, 0, one)), sin[2] = {q[1], bs};
    CHECK_OK(qc_graph_add_node(g, QC_OP_MUL, "scale", sin, 2, &sc, 1, &nid));
    int32_t un = add_value(g, "un", ty(QC_F32, 2, yd)), uin[2] = {accf, sc};
    CHECK_OK(qc_graph_add_node(g, QC_OP_MUL, "rescale", uin, 2, &un, 1, &nid));
    int32_t yb = add_value(g, "yb", ty(QC_F32, 2, yd)), bin[2] = {un, bias};
    CHECK_OK(qc_graph_add_node(g, QC_OP_ADD, "addb", bin, 2, &yb, 1, &nid));
    int32_t y = add_value(g, "y", ty(QC_F32, 2, yd));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "relu", &yb, 1, &y, 1, &nid));
    CHECK_OK(qc_graph_add_output(g, acc));
    CHECK_OK(qc_graph_add_output(g, y));
    qc_tensor in[MAX_IO] = {0};
    alloc_in(g, 0, batch, &in[0]);
    fill_f32(in[0].data, qc_type_numel(&in[0].desc), mode);
    char what[128];
    snprintf(what, sizeof what, "layer#%d M=%lld K=%lld N=%lld sym=%d batch=%lld b=%s zb=%d mode=%d",
             iter, (long long)M, (long long)K, (long long)N, sym, (long long)batch,
             b_u8 ? "u8" : "i8", zb_mode, mode);
    check_exact(what, g, in);
}

/* MatMulInteger with a and a_zero_point both graph inputs (u8 or i8: the i8
 * path flips a by 128), constant b. */
static void case_mmi_input_zp(int iter) {
    bool a_i8 = irand(0, 1), b_u8 = irand(0, 1);
    int64_t M = irand(1, 30), K = irand(1, 90), N = irand(1, 70);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("mmi", &g));
    int64_t ad[2] = {M, K}, bd[2] = {K, N}, yd[2] = {M, N}, one[1] = {1};
    qc_dtype at = a_i8 ? QC_I8 : QC_U8;
    int32_t a = add_value(g, "a", ty(at, 2, ad)), za = add_value(g, "za", ty(at, 0, one));
    CHECK_OK(qc_graph_add_input(g, a));
    CHECK_OK(qc_graph_add_input(g, za));
    qc_type bt = ty(b_u8 ? QC_U8 : QC_I8, 2, bd);
    uint8_t *bdat = malloc((size_t)(K * N));
    for (int64_t e = 0; e < K * N; e++) bdat[e] = (uint8_t)irand(0, 255);
    int32_t b = -1, nid = -1;
    CHECK_OK(qc_graph_add_const(g, "b", &bt, bdat, (size_t)(K * N), &b));
    free(bdat);
    int32_t in3[3] = {a, b, za};
    int32_t y = add_value(g, "y", ty(QC_I32, 2, yd));
    CHECK_OK(qc_graph_add_node(g, QC_OP_MATMUL_INTEGER, "mm", in3, 3, &y, 1, &nid));
    CHECK_OK(qc_graph_add_output(g, y));
    qc_tensor in[MAX_IO] = {0};
    alloc_in(g, 0, 0, &in[0]);
    alloc_in(g, 1, 0, &in[1]);
    uint8_t *ap = in[0].data;
    for (int64_t e = 0; e < M * K; e++) ap[e] = (uint8_t)irand(0, 255);
    *(uint8_t *)in[1].data = (uint8_t)(irand(0, 2) ? irand(0, 255) : irand(0, 1) ? 0 : 255);
    char what[96];
    snprintf(what, sizeof what, "%s mmi_zp#%d M=%lld K=%lld N=%lld a=%s b=%s",
             g_cpu ? g_cpu : "native", iter, (long long)M, (long long)K, (long long)N,
             a_i8 ? "i8" : "u8", b_u8 ? "u8" : "i8");
    check_exact(what, g, in);
}

/* The seed FNN quantized int8-dynamic: all nodes generated; the output
 * (after the final Sigmoid, a few ulp: docs/backend-cpu.md) within 1e-5. */
static void case_seed_fnn(void) {
    qc_graph *f = NULL, *g = NULL;
    qc_tensor x = {0}, want = {0};
    CHECK_OK(qc_onnx_import_file("tests/models/seed_fnn/model.onnx", NULL, &f));
    if (!f) return;
    qc_quant_config cfg;
    qc_quant_config_default(&cfg);
    cfg.scheme = QC_QS_INT8_DYNAMIC;
    qc_quant_report rep = {0};
    CHECK_OK(qc_quantize_graph(f, NULL, &cfg, &g, &rep));
    qc_quant_report_free(&rep);
    qc_graph_destroy(f);
    if (!g) return;
    CHECK_OK(qc_npy_read("tests/models/seed_fnn/input_0.npy", &x));
    CHECK_OK(qc_ref_run(g, &x, 1, &want, 1));
    CHECK_OK(qc_compile_optimize(g));
    for (int aot = 0; aot < 2 && want.data; aot++) {
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, g_cpu, aot, &x, &got, &gen);
        EXPECT(!st, "seed_fnn int8-dynamic (%s): %s", aot ? "aot" : "jit",
               st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == g->n_nodes, "seed_fnn int8-dynamic: %d of %d nodes generated", (int)gen,
               (int)g->n_nodes);
        if (got.data) {
            const float *a = got.data, *b = want.data;
            double num = 0, den = 0;
            for (int64_t e = 0; e < qc_type_numel(&want.desc); e++) {
                num += ((double)a[e] - b[e]) * ((double)a[e] - b[e]);
                den += (double)b[e] * b[e];
            }
            double r = den > 0 ? sqrt(num / den) : sqrt(num);
            printf("seed_fnn int8-dynamic (%s): relative L2 vs ref %.3g\n", aot ? "aot" : "jit", r);
            EXPECT(r <= 1e-5, "seed_fnn int8-dynamic: relative L2 %.3g", r);
        }
        qc_tensor_release(&got);
    }
    qc_tensor_release(&want);
    qc_tensor_release(&x);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_dynq");
    for (int i = 0; i < 30; i++) case_dql(i, false);
    for (int i = 0; i < 6; i++) case_dql(30 + i, true);
    for (int i = 0; i < 30; i++) case_layer(i);
    for (int i = 0; i < 12; i++) case_mmi_input_zp(i);
    case_seed_fnn();
    /* the other int8 ISAs' runtime-zp epilogue (and the x8 / avx2 DQL and
     * Cast), through named CPUs: avxvnni (ymm vpdpbusd), avx2 (pmaddwd),
     * sse2 (where DQL falls back: rint needs sse4.1, so only MatMulInteger) */
    static const char *const cpus[] = {"alderlake", "x86-64-v3", "x86-64"};
    for (int c = 0; c < 3; c++) {
        g_cpu = cpus[c];
        if (!qc_test_cpu_host_can_run(g_cpu)) {
            printf("skipped: this host cannot run code for %s\n", g_cpu);
            continue;
        }
        for (int i = 0; i < 6; i++) case_mmi_input_zp(100 * (c + 1) + i);
        for (int i = 0; c < 2 && i < 6; i++) case_layer(100 * (c + 1) + i);
        for (int i = 0; c < 2 && i < 4; i++) case_dql(100 * (c + 1) + i, i == 3);
    }
    g_cpu = NULL;
    return qc_test_summary("test_cpu_dynq");
}
