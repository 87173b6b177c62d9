/* test_vulkan_diff.c — differential tests of the vulkan shaders against
 * ref on seeded random shapes (odd sizes, non-zero data):
 *   - int8 qc.QGemm: u8/i8 activations, i8/u8 weights, per-column scales,
 *     zero points, bias, output clamp, rank-3 input, exact .5 ties; outputs
 *     BIT-IDENTICAL to ref, for both the packed int8 dot product variant
 *     and the int32 unpack variant (QC_VULKAN_NO_INT_DOT=1);
 *   - fp32 Gemm / MatMul / fused epilogues: relative L2 error < 1e-5.
 * Each case also checks that its node really ran a shader (kernel record
 * mode), so a silent ref fallback cannot pass. Exit 77 without a device. */
#include <math.h>

#include "backends/vulkan/vk_format.h"
#include "vk_test.h"

static int failures;

static void add_ints(text *t, rng *r, int64_t n, int lo, int hi) {
    for (int64_t i = 0; i < n; i++) tadd(t, "%s%d", i ? ", " : "", rng_int(r, lo, hi));
}

/* One QGemm case; rank3 puts a 3 between batch and K. */
static void qgemm_case(rng *r, int M, int K, int N, bool a_signed, bool b_signed, bool zb_nonzero,
                       bool bias, bool clamp, bool rank3, bool ties) {
    text t = {0};
    const char *at = a_signed ? "i8" : "u8", *bt = b_signed ? "i8" : "u8";
    float sa = ties ? 0.5f : rng_float(r, 0.005f, 0.05f);
    tadd(&t, "qcir 1\ngraph q batch B {\n  input a: %s[B,%s%d]\n", at, rank3 ? "3," : "", K);
    tadd(&t, "  const sa: f32[] = [%.9g]\n  const za: %s[] = [%d]\n", (double)sa, at,
         a_signed ? 0 : rng_int(r, 100, 150));
    tadd(&t, "  const b: %s[%d,%d] = [", bt, K, N);
    add_ints(&t, r, (int64_t)K * N, b_signed ? -127 : 0, b_signed ? 127 : 255);
    tadd(&t, "]\n  const sb: f32[%d] = [", N);
    for (int j = 0; j < N; j++) tadd(&t, "%s%.9g", j ? ", " : "", ties ? 1.0 : (double)rng_float(r, 0.002f, 0.01f));
    tadd(&t, "]\n  const zb: %s[%d] = [", bt, N);
    for (int j = 0; j < N; j++)
        tadd(&t, "%s%d", j ? ", " : "", zb_nonzero ? rng_int(r, b_signed ? -10 : 120, b_signed ? 10 : 136) : (b_signed ? 0 : 128));
    /* y scale so that outputs spread over the 8-bit range (ties: mult 0.5). */
    float sy = ties ? 1.0f : sa * 0.006f * sqrtf((float)K) * 9000.0f / 127.0f * rng_float(r, 0.5f, 2.0f);
    tadd(&t, "]\n  const sy: f32[] = [%.9g]\n  const zy: u8[] = [%d]\n", (double)sy, rng_int(r, 0, 255));
    if (bias) {
        tadd(&t, "  const bias: i32[%d] = [", N);
        add_ints(&t, r, N, -20000, 20000);
        tadd(&t, "]\n");
    }
    tadd(&t, "  y: u8[B,%s%d] = qc.QGemm(a, sa, za, b, sb, zb, sy, zy%s)", rank3 ? "3," : "", N, bias ? ", bias" : "");
    if (clamp) tadd(&t, " {act_min=%d, act_max=%d}", rng_int(r, 0, 60), rng_int(r, 180, 255));
    tadd(&t, "\n  output y\n}\n");
    int64_t rows = (int64_t)M * (rank3 ? 3 : 1), n_in = rows * K;
    qc_tensor in = {.desc = {a_signed ? QC_I8 : QC_U8, rank3 ? 3 : 2, {M, rank3 ? 3 : K, K}}};
    uint8_t *data = malloc((size_t)n_in);
    for (int64_t i = 0; i < n_in; i++) data[i] = (uint8_t)rng_u32(r);
    if (ties)
        for (int64_t i = 0; i < n_in; i++) data[i] = (uint8_t)(a_signed ? rng_int(r, -3, 3) : rng_int(r, 0, 255));
    in.data = data;
    char what[160];
    snprintf(what, sizeof what, "QGemm M=%d K=%d N=%d a=%s b=%s zb=%d bias=%d clamp=%d rank3=%d ties=%d", M, K,
             N, at, bt, zb_nonzero, bias, clamp, rank3, ties);
    CHECK(vt_shader_nodes(t.s) == 1, "%s: the node does not run a shader", what);
    qc_tensor got = {0}, want = {0};
    qc_status sv = vt_run(t.s, "vulkan", &in, 1, &got, 1);
    qc_status sr = vt_run(t.s, "ref", &in, 1, &want, 1);
    CHECK(!sv && !sr, "%s: vulkan: %s / ref: %s\n%s", what, qc_status_message(sv), qc_status_message(sr), t.s);
    if (!sv && !sr) {
        int64_t n = rows * N, bad = 0, first = -1;
        for (int64_t i = 0; i < n; i++)
            if (((uint8_t *)got.data)[i] != ((uint8_t *)want.data)[i] && !bad++) first = i;
        CHECK(bad == 0, "%s: %lld of %lld outputs differ (first at %lld: %d vs ref %d)", what, (long long)bad,
              (long long)n, (long long)first, first >= 0 ? ((uint8_t *)got.data)[first] : 0,
              first >= 0 ? ((uint8_t *)want.data)[first] : 0);
    }
    qc_status_free(sv);
    qc_status_free(sr);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(data);
    free(t.s);
}

static void add_floats(text *t, rng *r, int64_t n) {
    for (int64_t i = 0; i < n; i++) tadd(t, "%s%.9g", i ? ", " : "", (double)rng_float(r, -1.0f, 1.0f));
}

/* kind 0: Gemm transB + bias + Relu (fused), 1: Gemm [K,N] alpha/beta +
 * Add(row const) + Sigmoid, 2: MatMul rank 3, 3: Gemm transA (static). */
static void fgemm_case(rng *r, int kind, int M, int K, int N) {
    text t = {0};
    int64_t rows = kind == 2 ? 3 * (int64_t)M : M;
    tadd(&t, "qcir 1\ngraph f batch B {\n");
    if (kind == 3) tadd(&t, "  input a: f32[%d,%d]\n", K, M);
    else if (kind == 2) tadd(&t, "  input a: f32[B,3,%d]\n", K);
    else tadd(&t, "  input a: f32[B,%d]\n", K);
    if (kind == 0) tadd(&t, "  const w: f32[%d,%d] = [", N, K);
    else tadd(&t, "  const w: f32[%d,%d] = [", K, N);
    add_floats(&t, r, (int64_t)K * N);
    tadd(&t, "]\n  const c: f32[%d] = [", N);
    add_floats(&t, r, N);
    tadd(&t, "]\n  const c2: f32[1,%d] = [", N);
    add_floats(&t, r, N);
    tadd(&t, "]\n");
    switch (kind) {
    case 0: tadd(&t, "  h = Gemm(a, w, c) {transB=1}\n  y = Relu(h)\n"); break;
    case 1: tadd(&t, "  h = Gemm(a, w, c) {alpha=0.75, beta=1.25}\n  h2 = Add(h, c2)\n  y = Sigmoid(h2)\n"); break;
    case 2: tadd(&t, "  y = MatMul(a, w)\n"); break;
    default: tadd(&t, "  y = Gemm(a, w, c) {transA=1}\n"); break;
    }
    tadd(&t, "  output y\n}\n");
    qc_tensor in = {.desc = {QC_F32, kind == 2 ? 3 : 2, {kind == 3 ? K : M, kind == 2 ? 3 : kind == 3 ? M : K, K}}};
    int64_t n_in = rows * K;
    float *data = malloc((size_t)n_in * sizeof *data);
    for (int64_t i = 0; i < n_in; i++) data[i] = rng_float(r, -1.0f, 1.0f);
    in.data = data;
    char what[96];
    snprintf(what, sizeof what, "fp32 case %d M=%d K=%d N=%d", kind, M, K, N);
    CHECK(vt_shader_nodes(t.s) == 1, "%s: the node does not run a shader", what);
    qc_tensor got = {0}, want = {0};
    qc_status sv = vt_run(t.s, "vulkan", &in, 1, &got, 1);
    qc_status sr = vt_run(t.s, "ref", &in, 1, &want, 1);
    CHECK(!sv && !sr, "%s: vulkan: %s / ref: %s", what, qc_status_message(sv), qc_status_message(sr));
    if (!sv && !sr) {
        double num = 0, den = 0;
        for (int64_t i = 0; i < rows * N; i++) {
            double g = ((float *)got.data)[i], w = ((float *)want.data)[i];
            num += (g - w) * (g - w);
            den += w * w;
        }
        double rel = sqrt(num / (den > 0 ? den : 1));
        CHECK(rel < 1e-5, "%s: relative L2 error %g", what, rel);
    }
    qc_status_free(sv);
    qc_status_free(sr);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(data);
    free(t.s);
}

static void qgemm_suite(uint64_t seed) {
    rng r = {seed};
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {7, 13, 4}, {2, 8, 12}, {17, 64, 33},
                                    {5, 3, 9}, {9, 31, 16}, {33, 200, 128}};
    int i = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++, i++) {
        const int *sh = shapes[s];
        qgemm_case(&r, sh[0], sh[1], sh[2], i % 3 == 1, i % 4 != 3, i % 2 == 1, i % 3 != 2, i % 4 == 2,
                   false, false);
    }
    qgemm_case(&r, 4, 10, 6, false, true, true, true, true, true, false);   /* rank-3 input */
    qgemm_case(&r, 6, 3, 5, true, true, false, false, false, false, true);  /* .5 ties, K % 4 != 0 */
    qgemm_case(&r, 6, 4, 8, false, true, false, false, false, false, true); /* .5 ties, N % 4 == 0 */
}

int main(void) {
    if (!vt_device_opens("vulkan")) return 77;
    qgemm_suite(20240611);
    fgemm_case(&(rng){7}, 0, 5, 200, 33);
    fgemm_case(&(rng){8}, 1, 3, 7, 5);
    fgemm_case(&(rng){9}, 2, 4, 16, 10);
    fgemm_case(&(rng){10}, 3, 6, 9, 4);
    /* The int32 unpack variants (the device must not pick the dot product). */
    setenv("QC_VULKAN_NO_INT_DOT", "1", 1);
    qgemm_suite(777);
    unsetenv("QC_VULKAN_NO_INT_DOT");
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
