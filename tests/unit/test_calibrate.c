/* test_calibrate.c — calibration statistics: the streaming histogram (range
 * growth by bin merging keeps every sample), each threshold method on a
 * distribution whose answer is known, the per-graph driver (batch
 * splitting, observed intermediates) and the errors for bad calibration
 * data (NaN/Inf, wrong shape or dtype, empty). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/calibrate.h"
#include "qc_test.h"

#define N_SAMPLES 1000000

static double unit(qc_rng *r) { return ((double)(qc_rng_next(r) >> 11) + 0.5) * 0x1p-53; }

static float *gen(qc_rng *r, char kind) {
    float *x = malloc(sizeof(float) * N_SAMPLES);
    for (int64_t i = 0; x && i < N_SAMPLES; i++) {
        double u = unit(r), v = unit(r);
        switch (kind) {
        case 'u': x[i] = (float)(2.0 * u - 1.0); break;                                     /* U(-1,1) */
        case 'g': x[i] = (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v)); break;        /* N(0,1) */
        default: x[i] = (float)(u < 0.5 ? log(2.0 * v) : -log(2.0 * v)); break;             /* Laplace(0,1) */
        }
    }
    return x;
}

static float threshold_of(const float *x, int64_t n, int64_t chunk, qc_calib_method m, double p,
                          int levels, qc_hist *keep) {
    qc_hist h;
    CHECK_OK(qc_hist_init(&h, QC_CALIB_BINS));
    for (int64_t i = 0; i < n; i += chunk) CHECK_OK(qc_hist_add(&h, x + i, n - i < chunk ? n - i : chunk));
    float t = qc_hist_threshold(&h, m, p, levels);
    if (keep) *keep = h;
    else qc_hist_free(&h);
    return t;
}

static void test_histogram(qc_rng *r) {
    /* Growing ranges: every sample is kept and min/max are exact. */
    qc_hist h;
    CHECK_OK(qc_hist_init(&h, 16));
    float a[4] = {0.1f, -0.2f, 0.0f, 0.05f}, b[3] = {3.0f, -7.5f, 1.0f}, c[1] = {1000.0f};
    CHECK_OK(qc_hist_add(&h, a, 4));
    CHECK_OK(qc_hist_add(&h, b, 3));
    CHECK_OK(qc_hist_add(&h, c, 1));
    uint64_t sum = 0;
    for (int i = 0; i < h.nbins; i++) sum += h.bins[i];
    CHECK(sum == 8 && h.count == 8);
    CHECK(h.min == -7.5f && h.max == 1000.0f);
    CHECK(h.width * h.nbins > 1000.0);
    CHECK(qc_hist_threshold(&h, QC_CALIB_MINMAX, 0, 0) == 1000.0f);
    float bad[2] = {1.0f, NAN};
    qc_status st = qc_hist_add(&h, bad, 2);
    CHECK(st && strstr(qc_status_message(st), "non-finite"));
    qc_status_free(st);
    qc_hist_free(&h);
    st = qc_hist_init(&h, 7);
    CHECK(st != NULL);
    qc_status_free(st);

    /* An all-zero tensor: threshold 0, no division by zero. */
    float z[3] = {0, 0, 0};
    CHECK_OK(qc_hist_init(&h, 16));
    CHECK_OK(qc_hist_add(&h, z, 3));
    CHECK(qc_hist_threshold(&h, QC_CALIB_ENTROPY, 0, 0) == 0.0f);
    qc_hist_free(&h);

    float *u = gen(r, 'u'), *g = gen(r, 'g'), *l = gen(r, 'l');
    CHECK(u && g && l);
    if (u && g && l) {
        /* Percentile 99.99 of |U(-1,1)| is 0.9999; one bin is 1/2048 wide. */
        float tp = threshold_of(u, N_SAMPLES, 4096, QC_CALIB_PERCENTILE, 99.99, 0, NULL);
        printf("percentile 99.99 of |U(-1,1)|: %.5f (expected 0.9999 +- 0.0002)\n", (double)tp);
        CHECK(fabsf(tp - 0.9999f) < 0.0002f);
        float tp90 = threshold_of(u, N_SAMPLES, 4096, QC_CALIB_PERCENTILE, 90.0, 0, NULL);
        CHECK(fabsf(tp90 - 0.9f) < 0.002f);
        /* Chunking must not matter (growth by merging is exact once the
         * range is set by the first chunk's maximum). */
        float tmm = threshold_of(u, N_SAMPLES, 1000, QC_CALIB_MINMAX, 0, 0, NULL);
        CHECK(tmm <= 1.0f && tmm > 0.9999f);
        /* Entropy (TensorRT's KL method) on N(0,1): a clipping threshold well
         * inside the observed max (~4.9 for 1e6 samples) but beyond 2.5 sigma. */
        float te = threshold_of(g, N_SAMPLES, 65536, QC_CALIB_ENTROPY, 0, 0, NULL);
        float gmax = threshold_of(g, N_SAMPLES, 65536, QC_CALIB_MINMAX, 0, 0, NULL);
        printf("entropy threshold of N(0,1): %.3f (max %.3f; expected in [2.5, 4.5])\n", (double)te,
               (double)gmax);
        CHECK(te >= 2.5f && te <= 4.5f);
        /* MSE-optimal clipping of Laplace(0,1): Banner et al. give 5.03 for
         * 4-bit (15 levels, levels=7 here) and 9.89 for 8-bit. */
        float tm4 = threshold_of(l, N_SAMPLES, 65536, QC_CALIB_MSE, 0, 7, NULL);
        float tm8 = threshold_of(l, N_SAMPLES, 65536, QC_CALIB_MSE, 0, 127, NULL);
        printf("mse threshold of Laplace(0,1): 4-bit %.3f (expected [4.0, 6.0]), 8-bit %.3f "
               "(expected [8.0, max])\n", (double)tm4, (double)tm8);
        CHECK(tm4 >= 4.0f && tm4 <= 6.0f);
        CHECK(tm8 >= 8.0f && tm8 > tm4);
    }
    free(u);
    free(g);
    free(l);
}

static const char *MODEL =
    "qcir 1\n"
    "graph t batch N {\n"
    "  input x: f32[N,4]\n"
    "  const w: f32[2,4] = [1, -1, 0.5, 2, 0, 1, 1, -1]\n"
    "  h: f32[N,2] = Gemm(x, w) {transB=1}\n"
    "  y: f32[N,2] = Relu(h)\n"
    "  output y\n"
    "}\n";

static void test_driver(void) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_parse(MODEL, strlen(MODEL), "test", &g));
    if (!g) return;
    qc_calib *c = NULL;
    CHECK_OK(qc_calib_create(g, &c));
    float *x = malloc(sizeof(float) * 130 * 4);
    for (int i = 0; i < 130 * 4; i++) x[i] = (float)((i % 17) - 8) * 0.25f;
    qc_tensor t = {{QC_F32, 2, {130, 4}}, x};
    CHECK_OK(qc_calib_check_input(g, 0, &t, "x.npy"));
    CHECK_OK(qc_calib_add_rows(c, &t, 1, 64));
    CHECK(c->batches == 3 && c->samples == 130);
    float lo, hi;
    CHECK_OK(qc_calib_range(c, qc_graph_find_value(g, "x"), QC_CALIB_MINMAX, 0, 0, &lo, &hi));
    CHECK(lo == -2.0f && hi == 2.0f);
    CHECK_OK(qc_calib_range(c, qc_graph_find_value(g, "y"), QC_CALIB_MINMAX, 0, 0, &lo, &hi));
    CHECK(lo == 0.0f && hi > 0.0f);
    qc_status st = qc_calib_range(c, qc_graph_find_value(g, "w"), QC_CALIB_MINMAX, 0, 0, &lo, &hi);
    CHECK(st && qc_status_code(st) == QC_ERR_NOT_FOUND);
    qc_status_free(st);

    /* Bad data: each error names the file and the input. */
    x[5] = NAN;
    st = qc_calib_check_input(g, 0, &t, "bad.npy");
    CHECK(st && strstr(qc_status_message(st), "bad.npy") && strstr(qc_status_message(st), "'x'") &&
          strstr(qc_status_message(st), "non-finite"));
    printf("NaN: %s\n", qc_status_message(st));
    qc_status_free(st);
    x[5] = INFINITY;
    st = qc_calib_check_input(g, 0, &t, "inf.npy");
    CHECK(st && strstr(qc_status_message(st), "non-finite"));
    qc_status_free(st);
    x[5] = 0.0f;
    qc_tensor wrong = {{QC_F32, 2, {130, 3}}, x};
    st = qc_calib_check_input(g, 0, &wrong, "shape.npy");
    CHECK(st && strstr(qc_status_message(st), "shape.npy") &&
          strstr(qc_status_message(st), "f32[N,4]"));
    printf("shape: %s\n", qc_status_message(st));
    qc_status_free(st);
    qc_tensor dt = {{QC_F64, 2, {130, 4}}, x};
    st = qc_calib_check_input(g, 0, &dt, "dtype.npy");
    CHECK(st && strstr(qc_status_message(st), "f64"));
    qc_status_free(st);
    qc_tensor empty = {{QC_F32, 2, {0, 4}}, x};
    st = qc_calib_check_input(g, 0, &empty, "empty.npy");
    CHECK(st && strstr(qc_status_message(st), "empty"));
    printf("empty: %s\n", qc_status_message(st));
    qc_status_free(st);

    qc_calib_method m;
    CHECK(qc_calib_method_parse("entropy", &m) && m == QC_CALIB_ENTROPY);
    CHECK(!qc_calib_method_parse("kl", &m));
    free(x);
    qc_calib_destroy(c);
    qc_graph_destroy(g);
}

int main(void) {
    qc_rng r = {qc_test_seed("test_calibrate")};
    test_histogram(&r);
    test_driver();
    return qc_test_summary("test_calibrate");
}
