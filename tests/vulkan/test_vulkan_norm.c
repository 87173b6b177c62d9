/* test_vulkan_norm.c — differential tests of the pooling, Softmax and
 * LayerNormalization shaders against ref, on seeded random data (fresh seed
 * per run unless QC_TEST_SEED is set; the seed is printed):
 *   - MaxPool 2-D NCHW, f32 / u8 / i8, random kernels 1..4, strides 1..3,
 *     dilations, explicit pads, SAME_UPPER / SAME_LOWER / VALID, ceil_mode,
 *     batch 1..3 symbolic, odd sizes; f32 data with NaN, +-inf, +-0:
 *     BIT-IDENTICAL (any NaN matches NaN);
 *   - AveragePool (count_include_pad 0/1, the same geometry) and
 *     GlobalAveragePool (rank 3 and 4, planes up to 5000): |d| <= 1e-6 |ref|
 *     + 1e-7 per element (inputs in [-1, 1]), NaN / inf inputs give the
 *     same class;
 *   - Softmax (last axis, rows 1..5000, batch, -inf entries, rows with NaN,
 *     +inf, all -inf) and LayerNormalization (last axis and axis 1 of a
 *     rank-3 tensor, constant or input Scale, optional B, epsilons, rows
 *     with NaN / inf, sometimes the Mean / InvStdDev outputs too): |d| <=
 *     1e-5 |ref| + 1e-6 per element, NaN where ref has NaN.
 * Each case checks its node ran a shader. Exit 77 without a device. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <time.h>

#include "backends/vulkan/vk_format.h"
#include "vk_test.h"

static int failures, cases;

static bool run_both(const char *what, const char *src, const qc_tensor *in, int n_in, qc_tensor *got,
                     qc_tensor *want) {
    cases++;
    return vt_run_both(what, src, in, n_in, got, want, &failures);
}

/* tol_rel < 0: bit-identical (any NaN matches NaN); else |d| <= tol_rel |ref|
 * + tol_abs, infinities equal, NaN where ref has NaN. */
static void compare_f32(const char *what, const float *g, const float *w, int64_t n, double tol_rel,
                        double tol_abs) {
    int64_t bad = 0, first = -1, exact = 0;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok;
        if (isnan(w[i]) || isnan(g[i])) ok = isnan(w[i]) && isnan(g[i]);
        else if (tol_rel < 0) ok = vt_bits(g[i]) == vt_bits(w[i]);
        else if (isinf(w[i]) || isinf(g[i])) ok = g[i] == w[i];
        else {
            double d = fabs((double)g[i] - w[i]), lim = tol_rel * fabs(w[i]) + tol_abs;
            ok = d <= lim;
            if (d / lim > worst) worst = d / lim;
        }
        exact += vt_bits(g[i]) == vt_bits(w[i]);
        if (!ok && !bad++) first = i;
    }
    CHECK(bad == 0, "%s: %lld of %lld out of tolerance (first at %lld: %.9g vs ref %.9g)", what, (long long)bad,
          (long long)n, (long long)first, first < 0 ? 0.0 : (double)g[first], first < 0 ? 0.0 : (double)w[first]);
    if (tol_rel >= 0)
        printf("  %s: %lld of %lld bit-identical, worst |d| / tolerance %.3g\n", what, (long long)exact,
               (long long)n, worst);
}

static float special_f32(rng *r) {
    /* -NaN too: its key is the smallest, so a max on keys that let a later
     * tap replace a NaN first tap would show (with +NaN it would not). */
    static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1e-40f, -1e-40f};
    return sp[rng_int(r, 0, 7)];
}

/* ---- MaxPool / AveragePool -------------------------------------------------------- */

/* kind 0: MaxPool f32, 1: u8, 2: i8, 3: AveragePool f32. */
static void window_case(rng *r, int kind) {
    bool avg = kind == 3, bytes = kind == 1 || kind == 2;
    const char *dt = kind == 1 ? "u8" : kind == 2 ? "i8" : "f32";
    int N = rng_int(r, 1, 3), C = rng_int(r, 1, 4), H = rng_int(r, 1, 19), W = rng_int(r, 1, 23);
    int k[2], s[2], d[2], p[4], in[2] = {H, W};
    for (int i = 0; i < 2; i++) {
        d[i] = !avg && rng_int(r, 0, 3) == 0 ? 2 : 1;
        k[i] = rng_int(r, 1, 4);
        while (k[i] > 1 && (k[i] - 1) * d[i] + 1 > in[i]) k[i]--;
        if ((k[i] - 1) * d[i] + 1 > in[i]) d[i] = 1;
        s[i] = rng_int(r, 1, 3);
        p[i] = rng_int(r, 0, 1) ? rng_int(r, 0, k[i] - 1) : 0;
        p[i + 2] = rng_int(r, 0, 1) ? rng_int(r, 0, k[i] - 1) : 0;
    }
    int mode = rng_int(r, 0, 5);
    bool ceil_mode = mode > 2 && rng_int(r, 0, 1);
    bool incl = avg && rng_int(r, 0, 1);
    text t = {0};
    tadd(&t, "qcir 1\ngraph p batch B {\n  input x: %s[B,%d,%d,%d]\n", dt, C, H, W);
    tadd(&t, "  y = %s(x) {kernel_shape=[%d, %d], strides=[%d, %d]", avg ? "AveragePool" : "MaxPool", k[0], k[1],
         s[0], s[1]);
    if (d[0] > 1 || d[1] > 1) tadd(&t, ", dilations=[%d, %d]", d[0], d[1]);
    if (mode == 0) tadd(&t, ", auto_pad=\"SAME_UPPER\"");
    else if (mode == 1) tadd(&t, ", auto_pad=\"SAME_LOWER\"");
    else if (mode == 2) tadd(&t, ", auto_pad=\"VALID\"");
    else tadd(&t, ", pads=[%d, %d, %d, %d]", p[0], p[1], p[2], p[3]);
    if (ceil_mode) tadd(&t, ", ceil_mode=1");
    if (incl) tadd(&t, ", count_include_pad=1");
    tadd(&t, "}\n  output y\n}\n");
    int64_t n = (int64_t)N * C * H * W;
    qc_tensor x = {.desc = {kind == 1 ? QC_U8 : kind == 2 ? QC_I8 : QC_F32, 4, {N, C, H, W}}};
    void *data = malloc((size_t)n * 4);
    bool specials = rng_int(r, 0, 2) == 0;
    for (int64_t i = 0; i < n; i++) {
        if (bytes) ((uint8_t *)data)[i] = (uint8_t)(i == 0 ? 7 : rng_u32(r));
        else if (specials && rng_int(r, 0, 9) == 0) ((float *)data)[i] = special_f32(r);
        else ((float *)data)[i] = rng_float(r, -1.0f, 1.0f) + (i == 0 ? 2.0f : 0.0f);
    }
    /* a max tie of -0 / +0 (ref keeps the first) in some cases */
    if (!bytes && !avg && specials && n >= 2) ((float *)data)[0] = -0.0f, ((float *)data)[1] = 0.0f;
    x.data = data;
    char what[200];
    snprintf(what, sizeof what, "%s %s N=%d C=%d H=%d W=%d k=%dx%d s=%dx%d d=%dx%d pads=%d,%d,%d,%d mode=%d ceil=%d incl=%d sp=%d",
             avg ? "AveragePool" : "MaxPool", dt, N, C, H, W, k[0], k[1], s[0], s[1], d[0], d[1], p[0], p[1], p[2], p[3],
             mode, ceil_mode, incl, specials);
    qc_tensor got = {0}, want = {0};
    if (run_both(what, t.s, &x, 1, &got, &want)) {
        int64_t m = 1;
        for (int32_t i = 0; i < want.desc.rank; i++) m *= want.desc.dims[i];
        CHECK(got.desc.rank == 4 && got.desc.dims[2] == want.desc.dims[2] && got.desc.dims[3] == want.desc.dims[3],
              "%s: output shape", what);
        if (bytes) {
            int64_t bad = 0;
            for (int64_t i = 0; i < m; i++) bad += ((uint8_t *)got.data)[i] != ((uint8_t *)want.data)[i];
            CHECK(bad == 0, "%s: %lld of %lld bytes differ", what, (long long)bad, (long long)m);
        } else {
            compare_f32(what, got.data, want.data, m, avg ? 1e-6 : -1, 1e-7);
        }
    }
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(data);
    free(t.s);
}

static void gap_case(rng *r, int rank, int inner, bool specials) {
    int N = rng_int(r, 1, 3), C = rng_int(r, 1, 5);
    int h = rank == 4 ? rng_int(r, 1, 9) : 1, w = inner / h > 0 ? inner / h : 1;
    text t = {0};
    if (rank == 4) tadd(&t, "qcir 1\ngraph g batch B {\n  input x: f32[B,%d,%d,%d]\n", C, h, w);
    else tadd(&t, "qcir 1\ngraph g batch B {\n  input x: f32[B,%d,%d]\n", C, w);
    tadd(&t, "  y = GlobalAveragePool(x)\n  output y\n}\n");
    int64_t n = (int64_t)N * C * h * w;
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = specials && rng_int(r, 0, 199) == 0 ? special_f32(r) : rng_float(r, -1.0f, 1.0f) + 0.01f;
    qc_tensor in = {.desc = {QC_F32, rank, {N, C, h, w}}, .data = x}, got = {0}, want = {0};
    if (rank == 3) in.desc.dims[2] = w;
    char what[96];
    snprintf(what, sizeof what, "GlobalAveragePool rank %d N=%d C=%d plane %d sp=%d", rank, N, C, h * w, specials);
    if (run_both(what, t.s, &in, 1, &got, &want)) compare_f32(what, got.data, want.data, (int64_t)N * C, 1e-6, 1e-7);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(x);
    free(t.s);
}

/* ---- Softmax / LayerNormalization ------------------------------------------------- */

/* Row specials: 0 none, 1 some -inf entries, 2 also rows with NaN / +inf / all -inf. */
static void fill_rows(rng *r, float *x, int64_t rows, int64_t len, float lo, float hi, int specials) {
    for (int64_t i = 0; i < rows * len; i++) {
        x[i] = rng_float(r, lo, hi);
        if (specials && rng_int(r, 0, 19) == 0) x[i] = -INFINITY;
    }
    if (specials < 2) return;
    for (int64_t row = 0; row < rows; row++) {
        int c = rng_int(r, 0, 4);
        float *p = x + row * len;
        if (c == 0) p[rng_int(r, 0, (int)len - 1)] = NAN;
        if (c == 1) p[rng_int(r, 0, (int)len - 1)] = INFINITY;
        if (c == 2)
            for (int64_t j = 0; j < len; j++) p[j] = -INFINITY;
    }
}

static void softmax_case(rng *r, int len, bool rank3, int specials) {
    int N = rng_int(r, 1, 3);
    text t = {0};
    tadd(&t, "qcir 1\ngraph s batch B {\n  input x: f32[B,%s%d]\n  y = Softmax(x) {axis=-1}\n  output y\n}\n",
         rank3 ? "3," : "", len);
    int64_t rows = (int64_t)N * (rank3 ? 3 : 1), n = rows * len;
    float *x = malloc((size_t)n * sizeof *x);
    fill_rows(r, x, rows, len, -12.0f, 12.0f, specials);
    qc_tensor in = {.desc = {QC_F32, rank3 ? 3 : 2, {N, rank3 ? 3 : len, len}}, .data = x}, got = {0}, want = {0};
    char what[96];
    snprintf(what, sizeof what, "Softmax N=%d%s len %d specials %d", N, rank3 ? "x3" : "", len, specials);
    if (run_both(what, t.s, &in, 1, &got, &want)) compare_f32(what, got.data, want.data, n, 1e-5, 1e-6);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(x);
    free(t.s);
}

/* axis1: x [B, 3, len] normalized over [3, len] with Scale [3, len]. */
static void layernorm_case(rng *r, int len, bool axis1, int bias, bool scale_input, int specials) {
    int N = rng_int(r, 1, 3);
    int64_t L = (int64_t)len * (axis1 ? 3 : 1), rows = (int64_t)N * (axis1 ? 1 : 3), n = rows * L;
    static const float epss[] = {1e-5f, 1e-3f, 1e-12f, 0.1f};
    float eps = epss[rng_int(r, 0, 3)];
    text t = {0};
    char shp[32];
    snprintf(shp, sizeof shp, axis1 ? "3,%d" : "%d", len);
    tadd(&t, "qcir 1\ngraph l batch B {\n  input x: f32[B,3,%d]\n", len);
    float *sc = malloc((size_t)L * sizeof *sc), *bi = malloc((size_t)L * sizeof *bi);
    for (int64_t j = 0; j < L; j++) sc[j] = rng_float(r, -2.0f, 2.0f), bi[j] = rng_float(r, -1.0f, 1.0f);
    if (scale_input) {
        tadd(&t, "  input sc: f32[%s]\n", shp);
    } else {
        tadd(&t, "  const sc: f32[%s] = [", shp);
        for (int64_t j = 0; j < L; j++) tadd(&t, "%s%.9g", j ? ", " : "", (double)sc[j]);
        tadd(&t, "]\n");
    }
    if (bias == 1) {
        tadd(&t, "  const bi: f32[%s] = [", shp);
        for (int64_t j = 0; j < L; j++) tadd(&t, "%s%.9g", j ? ", " : "", (double)bi[j]);
        tadd(&t, "]\n");
    }
    if (bias == 2) tadd(&t, "  const bi: f32[] = [%.9g]\n", (double)bi[0]);
    bool stats = rng_int(r, 0, 1);   /* the Mean / InvStdDev outputs too */
    tadd(&t, "  y%s = LayerNormalization(x, sc%s) {axis=%d, epsilon=%.9g}\n  output y%s\n}\n", stats ? ", m, iv" : "",
         bias ? ", bi" : "", axis1 ? 1 : -1, (double)eps, stats ? "\n  output m\n  output iv" : "");
    float *x = malloc((size_t)n * sizeof *x);
    fill_rows(r, x, rows, L, -3.0f, 5.0f, 0);
    if (specials)
        for (int64_t row = 0; row < rows; row++)
            if (rng_int(r, 0, 2) == 0) x[row * L + rng_int(r, 0, (int)L - 1)] = rng_int(r, 0, 1) ? NAN : INFINITY;
    qc_tensor in[2] = {{.desc = {QC_F32, 3, {N, 3, len}}, .data = x},
                       {.desc = {QC_F32, axis1 ? 2 : 1, {axis1 ? 3 : len, len}}, .data = sc}};
    char what[128];
    snprintf(what, sizeof what, "LayerNorm N=%d len %lld axis %d bias %d scale_input %d eps %g sp %d stats %d", N,
             (long long)L, axis1 ? 1 : -1, bias, scale_input, (double)eps, specials, stats);
    if (!stats) {
        qc_tensor got = {0}, want = {0};
        if (run_both(what, t.s, in, scale_input ? 2 : 1, &got, &want))
            compare_f32(what, got.data, want.data, n, 1e-5, 1e-6);
        qc_tensor_release(&got);
        qc_tensor_release(&want);
    } else {
        cases++;
        int sh = vt_shader_nodes(t.s);
        CHECK(sh == 1, "%s: %d nodes run a shader, want 1", what, sh);
        qc_tensor got[3], want[3];
        memset(got, 0, sizeof got);
        memset(want, 0, sizeof want);
        qc_status sv = vt_run(t.s, "vulkan", in, scale_input ? 2 : 1, got, 3);
        qc_status sr = vt_run(t.s, "ref", in, scale_input ? 2 : 1, want, 3);
        CHECK(!sv && !sr, "%s: vulkan: %s / ref: %s", what, qc_status_message(sv), qc_status_message(sr));
        if (!sv && !sr)
            for (int o = 0; o < 3; o++) {
                char w2[160];
                snprintf(w2, sizeof w2, "%s output %d", what, o);
                compare_f32(w2, got[o].data, want[o].data, o ? rows : n, 1e-5, 1e-6);
            }
        qc_status_free(sv);
        qc_status_free(sr);
        for (int o = 0; o < 3; o++) qc_tensor_release(&got[o]), qc_tensor_release(&want[o]);
    }
    free(x);
    free(sc);
    free(bi);
    free(t.s);
}

int main(void) {
    if (!vt_device_opens("vulkan")) return 77;
    uint64_t seed = vt_seed();
    rng r = {seed};
    for (int i = 0; i < 48; i++) window_case(&r, i % 4);
    static const int planes[] = {1, 7, 49, 127, 129, 1000, 5003};
    for (int i = 0; i < 7; i++) gap_case(&r, i % 2 ? 3 : 4, planes[i], i % 3 == 2);
    static const int lens[] = {1, 2, 5, 127, 128, 129, 1000, 4099};
    for (int i = 0; i < 8; i++) {
        softmax_case(&r, lens[i], i % 2 == 1, i % 3);
        layernorm_case(&r, lens[i] > 1000 ? lens[i] / 3 : lens[i], i % 3 == 1, i % 3, i % 4 == 3, i % 2);
    }
    printf("%s: %d cases, %d failure(s)\n", failures ? "FAIL" : "ok", cases, failures);
    return failures ? 1 : 0;
}
