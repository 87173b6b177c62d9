/* test_vulkan_ew.c — differential tests of the QuantizeLinear /
 * DequantizeLinear and fp32 elementwise shaders against ref, on seeded
 * random data (fresh seed per run unless QC_TEST_SEED is set; the seed is
 * printed):
 *   - QuantizeLinear / DequantizeLinear, u8 and i8, per tensor and per axis
 *     (axis 1 of [B, C], axis 0 of [R, C]), random scales and zero points,
 *     odd sizes 1..700: BIT-IDENTICAL. Quantize inputs include values on
 *     and a few ulps around half-integer quotients (k + 0.5) * s, exact
 *     multiples, saturating values, NaN, +-inf, +-0, denormals, FLT_MAX,
 *     and tiny / huge scales;
 *   - Relu, Abs, Neg, Clip, LeakyRelu (with NaN, +-inf, -0, denormals) and
 *     Add, Sub, Mul (same shape, one element, trailing-dims broadcast,
 *     constant operands): BIT-IDENTICAL;
 *   - Div (<= 3 ULP: the spec's 2.5), Sqrt (<= 3 ULP), Exp, Sigmoid, Tanh
 *     (relative L2 < 1e-5, non-finite results of the same class).
 * Everything runs twice: with the device's features, and with
 * QC_VULKAN_NO_INT8_STORAGE=1 (the uint32-packed quantize/dequantize
 * variants). Each case checks its node ran a shader. Exit 77 without a
 * device. */
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

/* ---- QuantizeLinear / DequantizeLinear --------------------------------------------- */

static float pick_scale(rng *r, int kind) {
    switch (kind) {
    case 0: return 0.1f;
    case 1: return 1.0f / 3.0f;
    case 2: return 1e-30f;    /* quotients overflow: saturation, x / s = inf */
    case 3: return 3e38f;     /* quotients underflow toward 0 */
    case 4: return 1e-41f;    /* a denormal scale */
    default: return rng_float(r, 0.001f, 0.2f);
    }
}

/* One quantize input for a channel with scale s: boundary, multiple, random, special. */
static float quant_input(rng *r, float s) {
    int c = rng_int(r, 0, 99);
    if (c < 45) {   /* on or a few ulps around (k + 0.5) * s */
        float x = (float)(((double)rng_int(r, -140, 140) + 0.5) * (double)s);
        for (int d = rng_int(r, -3, 3); d; d += d > 0 ? -1 : 1) x = nextafterf(x, d > 0 ? INFINITY : -INFINITY);
        return x;
    }
    if (c < 55) return (float)rng_int(r, -300, 300) * s;
    if (c < 85) return rng_float(r, -300.0f, 300.0f) * s;
    static const float special[] = {0.0f, -0.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, 1e-40f, -1e-40f,
                                    FLT_MIN, 1.0f, -1.0f, 127.5f, -128.5f};
    if (c < 93) return special[rng_int(r, 0, (int)(sizeof special / sizeof special[0]) - 1)];
    if (c < 96) return NAN;
    return c < 98 ? INFINITY : -INFINITY;
}

/* axis: -1 per tensor, 1 per column of [B, C], 0 per row of [R, C] (static R). */
static void qdq_case(rng *r, bool quant, bool i8, int rows, int cols, int axis, int scale_kind) {
    const char *qt = i8 ? "i8" : "u8";
    int lo = i8 ? -128 : 0, hi = i8 ? 127 : 255;
    int nch = axis < 0 ? 1 : axis == 1 ? cols : rows;
    float *sc = malloc(sizeof *sc * (size_t)nch);
    int *zp = malloc(sizeof *zp * (size_t)nch);
    text t = {0};
    tadd(&t, "qcir 1\ngraph q%s {\n", axis == 0 ? "" : " batch B");
    if (axis == 0) tadd(&t, "  input x: %s[%d,%d]\n", quant ? "f32" : qt, rows, cols);
    else tadd(&t, "  input x: %s[B,%d]\n", quant ? "f32" : qt, cols);
    tadd(&t, axis < 0 ? "  const s: f32[] = [" : "  const s: f32[%d] = [", nch);
    for (int c = 0; c < nch; c++) {
        sc[c] = pick_scale(r, c == 0 ? scale_kind : 5);
        tadd(&t, "%s%.9g", c ? ", " : "", (double)sc[c]);
    }
    tadd(&t, axis < 0 ? "]\n  const z: %s[] = [" : "]\n  const z: %s[%d] = [", qt, nch);
    for (int c = 0; c < nch; c++) {
        zp[c] = rng_int(r, lo, hi);
        tadd(&t, "%s%d", c ? ", " : "", zp[c]);
    }
    char lead[16] = "B,";
    if (axis == 0) snprintf(lead, sizeof lead, "%d,", rows);
    tadd(&t, "]\n  y: %s[%s%d] = %s(x, s, z)", quant ? qt : "f32", lead, cols,
         quant ? "QuantizeLinear" : "DequantizeLinear");
    if (axis == 0) tadd(&t, "  {axis=0}");
    if (axis == 1) tadd(&t, "  {axis=1}");
    tadd(&t, "\n  output y\n}\n");
    int64_t n = (int64_t)rows * cols;
    qc_tensor in = {.desc = {quant ? QC_F32 : i8 ? QC_I8 : QC_U8, 2, {rows, cols}}};
    void *data = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
        int c = axis < 0 ? 0 : axis == 1 ? (int)(i % cols) : (int)(i / cols);
        if (quant) ((float *)data)[i] = quant_input(r, sc[c]);
        else ((uint8_t *)data)[i] = (uint8_t)rng_u32(r);
    }
    in.data = data;
    char what[160];
    snprintf(what, sizeof what, "%s %s %dx%d axis %d scale %.9g", quant ? "QuantizeLinear" : "DequantizeLinear",
             qt, rows, cols, axis, (double)sc[0]);
    qc_tensor got = {0}, want = {0};
    if (run_both(what, t.s, &in, 1, &got, &want)) {
        int64_t bad = 0, first = -1;
        for (int64_t i = 0; i < n; i++) {
            bool same = quant ? ((uint8_t *)got.data)[i] == ((uint8_t *)want.data)[i]
                              : vt_bits(((float *)got.data)[i]) == vt_bits(((float *)want.data)[i]);
            if (!same && !bad++) first = i;
        }
        CHECK(bad == 0, "%s: %lld of %lld differ (first at %lld, x bits %#x: %#x vs ref %#x)", what,
              (long long)bad, (long long)n, (long long)first,
              first < 0 ? 0 : quant ? vt_bits(((float *)data)[first]) : ((uint8_t *)data)[first],
              first < 0 ? 0 : quant ? ((uint8_t *)got.data)[first] : vt_bits(((float *)got.data)[first]),
              first < 0 ? 0 : quant ? ((uint8_t *)want.data)[first] : vt_bits(((float *)want.data)[first]));
    }
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(data);
    free(t.s);
    free(sc);
    free(zp);
}

static void qdq_suite(rng *r) {
    static const int sizes[] = {1, 2, 3, 5, 7, 13, 97, 255, 333, 517, 699, 700};
    int i = 0;
    for (int quant = 1; quant >= 0; quant--)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++, i++) {
            int axis = i % 3 == 0 ? 1 : i % 5 == 0 ? 0 : -1;
            int rows = axis == 0 ? rng_int(r, 1, 5) : rng_int(r, 1, 3);
            qdq_case(r, quant, i % 2 == 1, rows, sizes[s], axis, i % 7);
        }
    /* Every special scale, per tensor, both types. */
    for (int kind = 0; kind < 5; kind++) {
        qdq_case(r, true, kind % 2 == 0, 2, rng_int(r, 1, 700), -1, kind);
        qdq_case(r, false, kind % 2 == 1, 2, rng_int(r, 1, 700), -1, kind);
    }
}

/* ---- fp32 elementwise ----------------------------------------------------------- */

/* Distance in representable floats (same sign), for ULP tolerances. */
static int64_t ulp_diff(float a, float b) {
    int64_t ka = (int64_t)(vt_bits(a) & 0x7fffffffu) * (vt_bits(a) >> 31 ? -1 : 1);
    int64_t kb = (int64_t)(vt_bits(b) & 0x7fffffffu) * (vt_bits(b) >> 31 ? -1 : 1);
    return ka > kb ? ka - kb : kb - ka;
}

/* mode 0: bit-identical (NaN matches NaN); 1: within max_ulp; 2: relative L2 < 1e-5. */
static void compare(const char *what, const float *g, const float *w, int64_t n, int mode, int64_t max_ulp) {
    int64_t bad = 0, first = -1, exact = 0;
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok;
        if (isnan(w[i]) || isnan(g[i])) ok = isnan(w[i]) && isnan(g[i]);
        else if (mode == 0) ok = vt_bits(g[i]) == vt_bits(w[i]);
        else if (isinf(w[i]) || isinf(g[i])) ok = g[i] == w[i];
        else if (mode == 1) ok = ulp_diff(g[i], w[i]) <= max_ulp;
        else {
            ok = true;
            num += ((double)g[i] - w[i]) * ((double)g[i] - w[i]);
            den += (double)w[i] * w[i];
        }
        exact += vt_bits(g[i]) == vt_bits(w[i]);
        if (!ok && !bad++) first = i;
    }
    CHECK(bad == 0, "%s: %lld of %lld out of tolerance (first at %lld: %.9g vs ref %.9g)", what, (long long)bad,
          (long long)n, (long long)first, first < 0 ? 0.0 : (double)g[first], first < 0 ? 0.0 : (double)w[first]);
    double rel = sqrt(num / (den > 0 ? den : 1));
    if (mode == 2) CHECK(rel < 1e-5, "%s: relative L2 error %g", what, rel);
    if (mode == 1) printf("  %s: %lld of %lld bit-identical to ref\n", what, (long long)exact, (long long)n);
    if (mode == 2)
        printf("  %s: %lld of %lld bit-identical to ref, relative L2 %.3g\n", what, (long long)exact,
               (long long)n, rel);
}

static float ew_input(rng *r, float lo, float hi, bool specials) {
    if (specials && rng_int(r, 0, 9) == 0) {
        static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1e-40f, -1e-40f, -1e-45f, FLT_MAX, -FLT_MAX};
        int c = rng_int(r, 0, 9);
        return c == 9 ? NAN : sp[c];
    }
    return rng_float(r, lo, hi);
}

/* A unary op on x [B, C]; `op` is the IR text of the node's right side. */
static void unary_case(rng *r, const char *op, const char *consts, int mode, float lo, float hi, bool specials) {
    int rows = rng_int(r, 1, 3), cols = rng_int(r, 1, 700);
    text t = {0};
    tadd(&t, "qcir 1\ngraph u batch B {\n  input x: f32[B,%d]\n%s  y = %s\n  output y\n}\n", cols, consts, op);
    int64_t n = (int64_t)rows * cols;
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = ew_input(r, lo, hi, specials);
    qc_tensor in = {.desc = {QC_F32, 2, {rows, cols}}, .data = x}, got = {0}, want = {0};
    char what[96];
    snprintf(what, sizeof what, "%.40s %dx%d", op, rows, cols);
    if (run_both(what, t.s, &in, 1, &got, &want)) compare(what, got.data, want.data, n, mode, 3);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(x);
    free(t.s);
}

/* kind 0: x op y same shape; 1: x op const [C]; 2: const [1, C] op x;
 * 3: x op const scalar; 4: x [B, 3, C] op y [3, C] (two inputs). */
static void binary_case(rng *r, const char *op, int kind, int mode) {
    int rows = rng_int(r, 1, 3), cols = rng_int(r, 1, 300);
    text t = {0};
    tadd(&t, "qcir 1\ngraph b batch B {\n  input x: f32[B,%s%d]\n", kind == 4 ? "3," : "", cols);
    if (kind == 0) tadd(&t, "  input w: f32[B,%d]\n", cols);
    if (kind == 4) tadd(&t, "  input w: f32[3,%d]\n", cols);
    if (kind == 1 || kind == 2 || kind == 3) {
        int nc = kind == 3 ? 1 : cols;
        tadd(&t, kind == 3 ? "  const w: f32[] = [" : kind == 1 ? "  const w: f32[%d] = [" : "  const w: f32[1,%d] = [", nc);
        for (int j = 0; j < nc; j++) tadd(&t, "%s%.9g", j ? ", " : "", (double)rng_float(r, -4.0f, 4.0f));
        tadd(&t, "]\n");
    }
    tadd(&t, "  y = %s(%s)\n  output y\n}\n", op, kind == 2 ? "w, x" : "x, w");
    int64_t n = (int64_t)rows * cols * (kind == 4 ? 3 : 1), nw = kind == 0 ? n : 3 * (int64_t)cols;
    float *x = malloc((size_t)n * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    for (int64_t i = 0; i < n; i++) x[i] = rng_float(r, -4.0f, 4.0f) * (rng_int(r, 0, 3) ? 1.0f : 1e-3f);
    for (int64_t i = 0; i < nw; i++) w[i] = rng_float(r, -4.0f, 4.0f) + (rng_float(r, 0, 1) < 0.5f ? 0.25f : -0.25f);
    qc_tensor in[2] = {{.desc = {QC_F32, kind == 4 ? 3 : 2, {rows, kind == 4 ? 3 : cols, cols}}, .data = x},
                       {.desc = {QC_F32, 2, {kind == 0 ? rows : 3, cols}}, .data = w}};
    qc_tensor got = {0}, want = {0};
    char what[96];
    snprintf(what, sizeof what, "%s broadcast kind %d %dx%d", op, kind, rows, cols);
    if (run_both(what, t.s, in, kind == 0 || kind == 4 ? 2 : 1, &got, &want))
        compare(what, got.data, want.data, n, mode, 3);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(x);
    free(w);
    free(t.s);
}

static void ew_suite(rng *r) {
    unary_case(r, "Relu(x)", "", 0, -2, 2, true);
    unary_case(r, "Abs(x)", "", 0, -2, 2, true);
    unary_case(r, "Neg(x)", "", 0, -2, 2, true);
    unary_case(r, "LeakyRelu(x) {alpha=0.1}", "", 0, -100, 100, true);
    unary_case(r, "Clip(x, lo, hi)", "  const lo: f32[] = [-0.5]\n  const hi: f32[] = [0.75]\n", 0, -2, 2, true);
    unary_case(r, "Clip(x, lo)", "  const lo: f32[] = [0]\n", 0, -2, 2, true);   /* -0 stays -0 */
    unary_case(r, "Clip(x, lo, hi)", "  const lo: f32[] = [1]\n  const hi: f32[] = [-1]\n", 0, -2, 2, true);
    unary_case(r, "Sqrt(x)", "", 1, 0, 1000, false);
    unary_case(r, "Exp(x)", "", 2, -10, 10, false);
    unary_case(r, "Sigmoid(x)", "", 2, -12, 12, true);
    unary_case(r, "Tanh(x)", "", 2, -6, 6, true);
    unary_case(r, "Tanh(x)", "", 2, -0.2f, 0.2f, false);   /* the series branch */
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div"};
    for (int o = 0; o < 4; o++)
        for (int kind = 0; kind < 5; kind++) binary_case(r, ops[o], kind, o == 3 ? 1 : 0);
}

int main(void) {
    if (!vt_device_opens("vulkan")) return 77;
    uint64_t seed = vt_seed();
    for (int pass = 0; pass < 2; pass++) {
        /* pass 1: the uint32-packed variants (the device must not pick 8-bit storage). */
        if (pass) setenv("QC_VULKAN_NO_INT8_STORAGE", "1", 1);
        printf("pass %d (%s)\n", pass, pass ? "QC_VULKAN_NO_INT8_STORAGE=1" : "device features");
        rng r = {seed * 2 + (uint64_t)pass};
        qdq_suite(&r);
        if (!pass) ew_suite(&r);
    }
    unsetenv("QC_VULKAN_NO_INT8_STORAGE");
    printf("%s: %d cases, %d failure(s)\n", failures ? "FAIL" : "ok", cases, failures);
    return failures ? 1 : 0;
}
