/* test_quant_guard.c — the int8-vs-fp32 guard (passes/quant_guard.h): a
 * layer whose int8 estimate is slower than fp32 on a forced sse2 variant is
 * kept float, the same layer is quantized on avx512vnni, --force overrides;
 * the decision reaches the quantized graph as qc.precision and survives the
 * text IR round trip; a Gemm -> Relu -> Gemm chain shares its Q/DQ; batch 1 is weight-bound (int8 wins); int8-dynamic
 * on cpu (ref kernels) stays float; non-integer schemes are not judged. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/calibrate.h"
#include "passes/quant_guard.h"
#include "passes/quantize.h"
#include "qc_test.h"

/* One Gemm, x[N,256] x w[16,256]^T: at batch 64 it is compute
 * bound. sse2: int8 54 GOPS vs fp32 41.5 GFLOPS is not enough to pay the
 * 1.5 elements/ns quantize of x; avx512vnni (855 vs 166, 9.7/ns) is. */
static qc_graph *make_gemm(bool chain) {
    enum { K = 256, N = 16 };
    size_t len = 1 << 16;
    char *t = malloc(len);
    size_t at = (size_t)snprintf(t, len, "qcir 1\ngraph g batch N {\n  input x: f32[N,%d]\n"
                                        "  const w: f32[%d,%d] = [", K, N, K);
    for (int i = 0; i < N * K; i++)
        at += (size_t)snprintf(t + at, len - at, i ? ", %g" : "%g", 0.01 * ((i * 37) % 101 - 50));
    if (!chain)
        at += (size_t)snprintf(t + at, len - at,
                               "]\n  y: f32[N,%d] = Gemm(x, w) {transB=1} @fc\n  output y\n}\n", N);
    else {   /* fc -> Relu -> fc2 (a second 16x16 layer) */
        at += (size_t)snprintf(t + at, len - at, "]\n  const w2: f32[%d,%d] = [", N, N);
        for (int i = 0; i < N * N; i++)
            at += (size_t)snprintf(t + at, len - at, i ? ", %g" : "%g", 0.02 * ((i * 7) % 31 - 15));
        at += (size_t)snprintf(t + at, len - at,
                               "]\n  h: f32[N,%d] = Gemm(x, w) {transB=1} @fc\n  r: f32[N,%d] = Relu(h)\n"
                               "  y: f32[N,%d] = Gemm(r, w2) {transB=1} @fc2\n  output y\n}\n", N, N, N);
    }
    qc_graph *g = NULL;
    qc_status st = qc_graph_parse(t, at, "gemm.qcir", &g);
    free(t);
    if (st) {
        fprintf(stderr, "parse: %s\n", qc_status_message(st));
        qc_status_free(st);
    }
    return g;
}

static void test_decisions(const qc_graph *g) {
    qc_guard_result r;
    CHECK_OK(qc_guard_decide(g, QC_QS_INT8, QC_GUARD_SSE2, 64, false, &r));
    CHECK(r.n_layers == 1 && r.kept_float == 1);
    if (r.n_layers == 1) {
        CHECK_MSG(!r.layers[0].quantize && r.layers[0].int_us >= r.layers[0].fp_us,
                  "sse2: int8 %g us, fp32 %g us", r.layers[0].int_us, r.layers[0].fp_us);
        CHECK(r.node_scheme[r.layers[0].node_id] == QC_QS_NONE);
        char why[192];
        qc_guard_reason(&r, &r.layers[0], why, sizeof why);
        CHECK_MSG(strstr(why, "kept float: int8 est ") && strstr(why, "on sse2"), "%s", why);
    }
    qc_guard_result_free(&r);

    CHECK_OK(qc_guard_decide(g, QC_QS_INT8, QC_GUARD_AVX512VNNI, 64, false, &r));
    CHECK(r.n_layers == 1 && r.kept_float == 0);
    if (r.n_layers == 1) {
        CHECK_MSG(r.layers[0].quantize && !r.layers[0].forced &&
                      r.layers[0].int_us < r.layers[0].fp_us,
                  "avx512vnni: int8 %g us, fp32 %g us", r.layers[0].int_us, r.layers[0].fp_us);
        CHECK(r.node_scheme[r.layers[0].node_id] == QC_QS_INT8);
    }
    qc_guard_result_free(&r);

    CHECK_OK(qc_guard_decide(g, QC_QS_INT8, QC_GUARD_SSE2, 64, true, &r));
    CHECK(r.n_layers == 1 && r.kept_float == 0);
    if (r.n_layers == 1) {
        CHECK(r.layers[0].quantize && r.layers[0].forced);
        CHECK(r.node_scheme[r.layers[0].node_id] == QC_QS_INT8);
    }
    qc_guard_result_free(&r);

    /* batch 1 on sse2: streaming the weights (4x fewer bytes in int8) bounds
     * both kernels, which outweighs the Q/DQ of one row */
    CHECK_OK(qc_guard_decide(g, QC_QS_INT8, QC_GUARD_SSE2, 1, false, &r));
    CHECK(r.kept_float == 0);
    qc_guard_result_free(&r);

    /* int8-dynamic pays a two-pass quantize of its input and two passes over
     * its i32 output: for this small layer, kept float even on vnni */
    CHECK_OK(qc_guard_decide(g, QC_QS_INT8_DYNAMIC, QC_GUARD_AVX512VNNI, 64, false, &r));
    CHECK(r.kept_float == 1);
    qc_guard_result_free(&r);

    /* weight-only and float schemes are not judged */
    CHECK_OK(qc_guard_decide(g, QC_QS_INT4_WEIGHT, QC_GUARD_SSE2, 64, false, &r));
    CHECK(r.n_layers == 0 && r.node_scheme[0] == QC_QS_INT4_WEIGHT);
    qc_guard_result_free(&r);

    qc_guard_isa isa;
    CHECK(qc_guard_isa_parse("avxvnni", &isa) && isa == QC_GUARD_AVXVNNI);
    CHECK(!qc_guard_isa_parse("avx1024", &isa));
    CHECK(qc_guard_host_isa() < QC_GUARD_CUDA);
    CHECK(qc_guard_isa_for_target(QC_MIXED_CUDA) == QC_GUARD_CUDA);
}

/* The quantized graph carries the decision; text print -> parse keeps it. */
static void test_annotate(const qc_graph *g, qc_guard_isa isa, bool want_int8) {
    qc_calib *c = NULL;
    qc_tensor x = {{0}, NULL};
    x.desc.dtype = QC_F32;
    x.desc.rank = 2;
    x.desc.dims[0] = 8;
    x.desc.dims[1] = 256;
    float *d = malloc(sizeof(float) * 8 * 256);
    for (int i = 0; i < 8 * 256; i++) d[i] = (float)((i * 13) % 29) / 29.0f - 0.5f;
    x.data = d;
    CHECK_OK(qc_calib_create(g, &c));
    CHECK_OK(qc_calib_add_rows(c, &x, 1, 64));
    qc_guard_result r;
    CHECK_OK(qc_guard_decide(g, QC_QS_INT8, isa, 64, false, &r));
    qc_quant_config cfg;
    qc_quant_config_default(&cfg);
    cfg.scheme = QC_QS_INT8;
    cfg.node_scheme = r.node_scheme;
    qc_graph *q = NULL, *back = NULL;
    qc_quant_report rep;
    CHECK_OK(qc_quantize_graph(g, c, &cfg, &q, &rep));
    if (q) {
        CHECK(rep.n_layers == (want_int8 ? 1 : 0));
        CHECK_OK(qc_guard_annotate(&r, q));
        char *text = NULL;
        CHECK_OK(qc_graph_print_string(q, &text));
        if (text) {
            CHECK_MSG(strstr(text, want_int8 ? "qc.precision=\"int8: est " : "qc.precision=\"kept float"),
                      "%s", text);
            CHECK_MSG(strstr(text, want_int8 ? "QuantizeLinear" : "Gemm(x, w)") != NULL, "%s", text);
            CHECK_OK(qc_graph_parse(text, strlen(text), "q.qcir", &back));
            char *again = NULL;
            if (back) CHECK_OK(qc_graph_print_string(back, &again));
            CHECK(again && !strcmp(again, text));
            free(again);
        }
        free(text);
        qc_quant_report_free(&rep);
    }
    qc_graph_destroy(back);
    qc_graph_destroy(q);
    qc_guard_result_free(&r);
    qc_calib_destroy(c);
    free(d);
}

/* A chain shares its brackets: fc's DQ and fc2's Q vanish when both are
 * int8 (forced here), so fc's estimate is its single-layer one minus the DQ. */
static void test_chain(const qc_graph *single) {
    qc_graph *g = make_gemm(true);
    CHECK(g != NULL);
    if (!g) return;
    qc_guard_result one, two;
    CHECK_OK(qc_guard_decide(single, QC_QS_INT8, QC_GUARD_AVX512VNNI, 64, true, &one));
    CHECK_OK(qc_guard_decide(g, QC_QS_INT8, QC_GUARD_AVX512VNNI, 64, true, &two));
    CHECK(one.n_layers == 1 && two.n_layers == 2);
    if (one.n_layers == 1 && two.n_layers == 2) {
        /* DQ of 64 x 16 values at 9.7/ns + 100 ns dispatch */
        double dq_us = (64.0 * 16.0 / 9.7 + 100.0) / 1000.0;
        CHECK_MSG(fabs(one.layers[0].int_us - two.layers[0].int_us - dq_us) < 1e-9,
                  "single %g us, chained %g us", one.layers[0].int_us, two.layers[0].int_us);
    }
    qc_guard_result_free(&one);
    qc_guard_result_free(&two);
    /* int8-dynamic quantizes every layer's input itself: nothing shared */
    CHECK_OK(qc_guard_decide(single, QC_QS_INT8_DYNAMIC, QC_GUARD_AVX512VNNI, 64, true, &one));
    CHECK_OK(qc_guard_decide(g, QC_QS_INT8_DYNAMIC, QC_GUARD_AVX512VNNI, 64, true, &two));
    if (one.n_layers == 1 && two.n_layers == 2)
        CHECK(one.layers[0].int_us == two.layers[0].int_us);
    qc_guard_result_free(&one);
    qc_guard_result_free(&two);
    qc_graph_destroy(g);
}

int main(void) {
    qc_graph *g = make_gemm(false);
    CHECK(g != NULL);
    if (g) {
        test_decisions(g);
        test_annotate(g, QC_GUARD_SSE2, false);
        test_annotate(g, QC_GUARD_AVX512VNNI, true);
        test_chain(g);
    }
    qc_graph_destroy(g);
    return qc_test_summary("test_quant_guard");
}
