/* test_cpu_quantize.c — the cpu backend's QuantizeLinear (backends/cpu/
 * quantize.h) against qc_quantize (ir/quant.h), bit for bit, where an
 * exact divide is easiest to get wrong: at the rounding boundaries.
 *
 * The generated code replaces x / scale by an FMA form (Markstein) for
 * constant scales in [2^-90, 2^80]; it must round exactly as the fp32
 * divide. Each case draws a scale (random mantissa, a power of two, an
 * all-ones or near-one mantissa, magnitudes from 2^-100 to 2^90 so both the
 * FMA form and the divide run), a zero point and u8 / i8, and inputs built to
 * sit on or next to a half-integer quotient: x = RN((k + 1/2) * s) and its
 * float neighbours (a few ulps either side), plus plain random values,
 * +-0, subnormals, +-inf, NaN, +-FLT_MAX and values just inside and beyond
 * the +-s * 2^30 clamp. It runs for this host and, where the host can run
 * them, x86-64-v3 (AVX2 + FMA, 8 lanes) and x86-64-v2 (no FMA: the divide
 * form; AOT only: the JIT is for the host), JIT and AOT, and checks the node got generated code. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_run.h"
#include "ir/quant.h"
#include "qc_test.h"

static qc_rng rng;

static int64_t irand(int64_t lo, int64_t hi) {
    return lo + (int64_t)(qc_rng_next(&rng) % (uint64_t)(hi - lo + 1));
}
static float frand01(void) {
    return (float)((double)(qc_rng_next(&rng) >> 40) / 16777216.0);
}

static float next_ulps(float x, int32_t n) {
    for (; n > 0; n--) x = nextafterf(x, INFINITY);
    for (; n < 0; n++) x = nextafterf(x, -INFINITY);
    return x;
}

static float draw_scale(void) {
    float m;
    switch (irand(0, 4)) {
        case 0: m = 1.0f; break;                                   /* power of two */
        case 1: m = 0x1.fffffep0f; break;                          /* all-ones mantissa */
        case 2: m = next_ulps(1.0f, (int32_t)irand(1, 40)); break; /* just above one */
        default: m = 1.0f + frand01(); break;
    }
    int32_t e = irand(0, 5) == 0 ? (int32_t)irand(-100, 90) : (int32_t)irand(-20, 6);
    return ldexpf(m, e);
}

/* An input for scale s: mostly next to a half-integer quotient. */
static float draw_x(float s) {
    int64_t r = irand(0, 99);
    if (r < 70) {
        float k = (float)irand(-300, 300) + 0.5f;
        return next_ulps(k * s, (int32_t)irand(-3, 3));
    }
    if (r < 80) return (frand01() * 2.0f - 1.0f) * 300.0f * s;
    if (r < 84) return next_ulps(s * 0x1p30f, (int32_t)irand(-2, 2)) * (irand(0, 1) ? 1.0f : -1.0f);
    static const float special[] = {0.0f, -0.0f, 0x1p-149f, -0x1p-140f, 0x1p-127f, INFINITY,
                                    -INFINITY, FLT_MAX, -FLT_MAX, 1e30f, -1e30f, 0x1p-100f};
    if (r < 96) return special[irand(0, (int64_t)(sizeof special / sizeof special[0]) - 1)];
    return NAN;
}

static void run_case(int iter, const char *cpu) {
    bool i8 = irand(0, 1);
    qc_dtype qt = i8 ? QC_I8 : QC_U8;
    float s = draw_scale();
    int32_t zp = i8 ? (int32_t)irand(-128, 127) : (int32_t)irand(0, 255);
    if (irand(0, 2) == 0) zp = i8 ? 0 : 128;
    int64_t n = irand(1, 700);   /* vector bodies and every tail length */

    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("quantize", &g));
    qc_type xt = {.dtype = QC_F32, .rank = 1, .dims = {n}};
    qc_type st = {.dtype = QC_F32, .rank = 0}, zt = {.dtype = qt, .rank = 0};
    qc_type yt = {.dtype = QC_DT_UNDEF};
    int32_t x = -1, sc = -1, zc = -1, y = -1, nid = -1;
    int8_t zb = (int8_t)zp;
    CHECK_OK(qc_graph_add_value(g, "x", &xt, &x));
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_const(g, "s", &st, &s, sizeof s, &sc));
    CHECK_OK(qc_graph_add_const(g, "z", &zt, &zb, 1, &zc));
    CHECK_OK(qc_graph_add_value(g, "y", &yt, &y));
    int32_t in[3] = {x, sc, zc};
    CHECK_OK(qc_graph_add_node(g, QC_OP_QUANTIZE_LINEAR, "q", in, 3, &y, 1, &nid));
    CHECK_OK(qc_graph_add_output(g, y));
    CHECK_OK(qc_graph_infer(g));
    CHECK_OK(qc_compile_optimize(g));

    qc_tensor xv = {0};
    CHECK_OK(qc_tensor_alloc(&xt, &xv));
    float *xp = xv.data;
    for (int64_t i = 0; i < n; i++) xp[i] = draw_x(s);
    char desc[160];
    snprintf(desc, sizeof desc, "case %d cpu=%s %s scale=%a zp=%d n=%lld", iter,
             cpu ? cpu : "native", i8 ? "i8" : "u8", (double)s, (int)zp, (long long)n);
    int32_t lo = i8 ? -128 : 0, hi = i8 ? 127 : 255;
    for (int aot = cpu ? 1 : 0; aot < 2; aot++) {   /* the JIT is for this host only */
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status e = qc_test_run_cpu(g, cpu, aot, &xv, &got, &gen);
        EXPECT(!e, "%s %s: %s", desc, aot ? "aot" : "jit", e ? qc_status_message(e) : "");
        qc_status_free(e);
        EXPECT(gen == g->n_nodes, "%s: %d of %d nodes generated", desc, (int)gen, (int)g->n_nodes);
        for (int64_t i = 0; got.data && i < n; i++) {
            int32_t want = qc_quantize(xp[i], s, zp, lo, hi);
            int32_t v = i8 ? ((const int8_t *)got.data)[i] : ((const uint8_t *)got.data)[i];
            if (v == want) continue;
            EXPECT(0, "%s %s: x[%lld] = %a (x/s = %a) gives %d, want %d", desc,
                   aot ? "aot" : "jit", (long long)i, (double)xp[i], (double)(xp[i] / s), (int)v,
                   (int)want);
            break;
        }
        qc_tensor_release(&got);
    }
    qc_tensor_release(&xv);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_quantize");
    const char *cpus[] = {NULL, "x86-64-v3", "x86-64-v2"};
    for (size_t c = 0; c < sizeof cpus / sizeof cpus[0]; c++) {
        if (!qc_test_cpu_host_can_run(cpus[c])) {
            printf("test_cpu_quantize: skipped cpu %s (this host cannot run its code)\n", cpus[c]);
            continue;
        }
        for (int i = 0; i < 60; i++) run_case(i, cpus[c]);
    }
    return qc_test_summary("test_cpu_quantize");
}
