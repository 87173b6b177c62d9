/* test_quant.c — proves the quantization formulas of ir/quant.h against an
 * independent formulation.
 *
 * The reference never calls rintf or the float operators the contract names.
 * It uses two facts instead:
 *  - an fp32 +, *, / of two floats equals the same operation in double
 *    rounded once to float (53 >= 2*24 + 2, so that double rounding is
 *    innocuous), and a float*float product is exact in double;
 *  - round-half-to-even can be decided exactly in double: floor(d) and
 *    d - floor(d) are exact, so a tie is an exact comparison with 0.5.
 * Saturation is done on int64 after clamping the rounded value to +-2^40,
 * which is a different structure from quant.h's bound comparisons.
 *
 * The random seed is fresh per run and printed; QC_SEED=<n> reproduces it. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/quant.h"
#include "qc_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define QC_RANDOM_SAMPLES 500000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QC_RANDOM_SAMPLES 500000
#endif
#endif
#ifndef QC_RANDOM_SAMPLES
#define QC_RANDOM_SAMPLES 1000000
#endif


/* ---- random numbers: splitmix64, seeded per run ------------------------- */

static qc_rng rng_state;

static uint64_t rng_next(void) { return qc_rng_next(&rng_state); }

static uint32_t rng_u32(void) { return (uint32_t)(rng_next() >> 32); }

/* Uniform in [lo, hi] (inclusive); the modulo bias is irrelevant here. */
static int64_t rng_range(int64_t lo, int64_t hi) {
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

static void rng_seed_from_env_or_clock(void) { rng_state.s = qc_test_seed("test_quant"); }

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* A positive float with a random 24-bit mantissa and exponent in [elo, ehi]. */
static float rng_float_exp(int elo, int ehi) {
    int e = (int)rng_range(elo, ehi);
    return ldexpf(1.0f + (float)(rng_u32() & 0x7fffff) / 8388608.0f, e);
}

/* ---- the reference ------------------------------------------------------ */

/* fp32 operations, each rounded once to float through double (see top). */
static float ref_fdiv(float a, float b) { return (float)((double)a / (double)b); }
static float ref_fmul(float a, float b) { return (float)((double)a * (double)b); }
static float ref_fsub(float a, float b) { return (float)((double)a - (double)b); }

/* Round half to even, decided exactly. d is any double (inf passes through). */
static double ref_rint(double d) {
    if (!(fabs(d) < 4503599627370496.0)) return d;   /* >= 2^52: integral already, or inf */
    double fl = floor(d), frac = d - fl;             /* both exact */
    if (frac > 0.5) return fl + 1.0;
    if (frac < 0.5) return fl;
    return fmod(fl, 2.0) == 0.0 ? fl : fl + 1.0;     /* exact tie: the even neighbour */
}

/* saturate(r + zp) to [lo, hi]; NaN counts as 0 (quant.h: NaN -> zp). */
static int32_t ref_saturate(double r, int32_t zp, int32_t lo, int32_t hi) {
    if (isnan(r)) r = 0.0;
    if (r > 1099511627776.0) r = 1099511627776.0;    /* 2^40: far outside any int32 */
    if (r < -1099511627776.0) r = -1099511627776.0;
    int64_t v = (int64_t)r + zp;
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

static int32_t ref_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
    return ref_saturate(ref_rint((double)ref_fdiv(x, scale)), zp, lo, hi);
}

static float ref_dequantize(int32_t q, float scale, int32_t zp) {
    return ref_fmul((float)((int64_t)q - (int64_t)zp), scale);
}

static float ref_multiplier(float sa, float sb, float sy) {
    return ref_fdiv(ref_fmul(sa, sb), sy);
}

static int32_t ref_requantize(int32_t acc, float m, int32_t zp, int32_t lo, int32_t hi) {
    return ref_saturate(ref_rint((double)ref_fmul((float)(double)acc, m)), zp, lo, hi);
}

static void ref_dynamic_u8(float xmin, float xmax, float *scale, int32_t *zp) {
    float lo = xmin < 0.0f ? xmin : 0.0f, hi = xmax > 0.0f ? xmax : 0.0f;
    float s = ref_fdiv(ref_fsub(hi, lo), 255.0f);
    *scale = s;
    *zp = s == 0.0f ? 0 : ref_saturate(ref_rint(-(double)ref_fdiv(lo, s)), 0, 0, 255);
}

/* ---- output ranges under test -------------------------------------------- */

typedef struct range {
    const char *name;
    int32_t lo, hi;
} range;

static const range RANGES[] = {
    {"i8", -128, 127}, {"u8", 0, 255},     {"i16", -32768, 32767},
    {"u16", 0, 65535}, {"i4", -8, 7},      {"u4", 0, 15},
    {"i32", INT32_MIN, INT32_MAX},
};
#define NRANGES ((int)(sizeof RANGES / sizeof RANGES[0]))

/* A zero point in the range; for i32 mostly moderate, sometimes extreme. */
static int32_t rng_zp(const range *r) {
    if (r->lo == INT32_MIN) {
        switch (rng_u32() % 4) {
        case 0: return 0;
        case 1: return (int32_t)rng_range(-1000, 1000);
        case 2: return (int32_t)rng_range(-(1 << 30), 1 << 30);
        default: return (int32_t)rng_u32();
        }
    }
    return (int32_t)rng_range(r->lo, r->hi);
}

/* ---- known answers (hand-computed; ONNX operator examples) --------------- */

static void test_known_answers(void) {
    /* ONNX QuantizeLinear example: x / 2 + 128, u8 */
    const float qx[] = {0, 2, 3, 1000, -254, -1000};
    const int32_t qy[] = {128, 129, 130, 255, 1, 0};
    for (int i = 0; i < 6; i++) CHECK(qc_quantize(qx[i], 2.0f, 128, 0, 255) == qy[i]);
    /* ties to even at both signs, zp 0, i8 */
    const float tx[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 127.5f, -128.5f};
    const int32_t ty[] = {0, 2, 2, 0, -2, -2, 126, 127, -128};
    for (int i = 0; i < 9; i++) CHECK(qc_quantize(tx[i], 1.0f, 0, -128, 127) == ty[i]);
    CHECK(qc_quantize(1e30f, 1e-30f, 0, -128, 127) == 127);    /* quotient overflows to inf */
    CHECK(qc_quantize(-INFINITY, 1.0f, 3, -8, 7) == -8);
    CHECK(qc_quantize(INFINITY, 1.0f, 3, 0, 15) == 15);
    CHECK(qc_quantize(NAN, 0.1f, 77, 0, 255) == 77);
    CHECK(qc_quantize(0.0f, 0.0f, 5, 0, 255) == 5);             /* 0/0 is NaN -> zp */
    CHECK(qc_quantize(2147483648.0f, 1.0f, -5, INT32_MIN, INT32_MAX) == 2147483643);
    CHECK(qc_quantize(-2147483648.0f, 1.0f, 100, INT32_MIN, INT32_MAX) == -2147483548);
    CHECK(qc_quantize(16777216.0f, 1.0f, 1, INT32_MIN, 16777218) == 16777217);
    /* ONNX DequantizeLinear example */
    const int32_t dq[] = {0, 3, 128, 255};
    const float dy[] = {-256, -250, 0, 254};
    for (int i = 0; i < 4; i++) CHECK(qc_dequantize(dq[i], 2.0f, 128) == dy[i]);
    CHECK(qc_dequantize(INT32_MAX, 1.0f, -1) == 2147483648.0f);   /* q - zp needs int64 */
    CHECK(qc_dequantize(INT32_MIN, 0.5f, 1) == -1073741824.0f);  /* (float)(-2^31 - 1) = -2^31 */
    /* requantize */
    CHECK(qc_requantize(3, 0.5f, 0, -128, 127) == 2);           /* 1.5 -> 2 */
    CHECK(qc_requantize(5, 0.5f, 0, -128, 127) == 2);           /* 2.5 -> 2 */
    CHECK(qc_requantize(-5, 0.5f, 10, -128, 127) == 8);         /* -2.5 -> -2 */
    CHECK(qc_requantize(INT32_MAX, 1.0f, 0, -128, 127) == 127);
    CHECK(qc_requantize(INT32_MIN, 1.0f, 0, 0, 255) == 0);
    CHECK(qc_requantize(INT32_MAX, 1.0f, 0, INT32_MIN, INT32_MAX) == INT32_MAX);
    CHECK(qc_requantize(INT32_MIN, 1.0f, 0, INT32_MIN, INT32_MAX) == INT32_MIN);
    CHECK(qc_requantize(16777217, 1.0f, 0, INT32_MIN, INT32_MAX) == 16777216); /* (float)acc */
    /* ONNX DynamicQuantizeLinear examples: scale bits and zero point */
    float s;
    int32_t zp;
    qc_dynamic_qparams_u8(-3.0f, 2.0f, &s, &zp);                /* [0,2,-3,-2.5,1.34,0.5] */
    CHECK(f2u(s) == 0x3ca0a0a1u && zp == 153);
    const float x1[] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
    const int32_t y1[] = {153, 255, 0, 26, 221, 179};
    for (int i = 0; i < 6; i++) CHECK(qc_quantize(x1[i], s, zp, 0, 255) == y1[i]);
    qc_dynamic_qparams_u8(-4.0f, -1.0f, &s, &zp);               /* all negative */
    CHECK(f2u(s) == 0x3c808081u && zp == 255);
    const float x2[] = {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f};
    const int32_t y2[] = {191, 121, 172, 96, 42, 0};
    for (int i = 0; i < 6; i++) CHECK(qc_quantize(x2[i], s, zp, 0, 255) == y2[i]);
    qc_dynamic_qparams_u8(1.0f, 4.0f, &s, &zp);                 /* all positive */
    CHECK(f2u(s) == 0x3c808081u && zp == 0);
    qc_dynamic_qparams_u8(-1.0f, 1.0f, &s, &zp);  /* 1/s = 127.49999 in fp32: 127, not 128 */
    CHECK(f2u(s) == 0x3c008081u && zp == 127);
    qc_dynamic_qparams_u8(-0.98828125f, 1.00390625f, &s, &zp);  /* -lo/s = 126.5 exactly */
    CHECK(s == 0.0078125f && zp == 126);
    qc_dynamic_qparams_u8(0.0f, 0.0f, &s, &zp);                 /* all zero */
    CHECK(s == 0.0f && zp == 0);
    qc_dynamic_qparams_u8(-0.0f, -0.0f, &s, &zp);
    CHECK(s == 0.0f && zp == 0);
    /* multiplier order: (sa * sb) / sy, not sa * (sb / sy) */
    CHECK(qc_requant_multiplier(0.1f, 0.2f, 0.3f) == ref_fdiv(ref_fmul(0.1f, 0.2f), 0.3f));
    CHECK(qc_requant_multiplier(1e-30f, 1e-30f, 1e-30f) == 0.0f); /* product underflows first */
    CHECK(qc_requant_multiplier(1e30f, 1e30f, 1e30f) == INFINITY); /* product overflows first */
}

/* ---- quantize ------------------------------------------------------------ */

static void check_quantize(float x, float scale, int32_t zp, const range *r) {
    int32_t got = qc_quantize(x, scale, zp, r->lo, r->hi);
    int32_t want = ref_quantize(x, scale, zp, r->lo, r->hi);
    EXPECT(got == want,
           "quantize(%.9g, scale %.9g, zp %" PRId32 ", %s) = %" PRId32 ", want %" PRId32,
           (double)x, (double)scale, zp, r->name, got, want);
}

static void test_quantize_random(int n) {
    int ties = 0;
    for (int t = 0; t < n; t++) {
        const range *r = &RANGES[rng_u32() % NRANGES];
        int32_t zp = rng_zp(r);
        float scale = rng_float_exp(-30, 10);
        float x;
        /* span of q - zp values worth aiming at: the range plus a margin */
        int64_t klo = (int64_t)r->lo - zp - 3, khi = (int64_t)r->hi - zp + 3;
        if (klo < -(1 << 22)) klo = -(1 << 22);
        if (khi > (1 << 22)) khi = 1 << 22;
        switch (rng_u32() % 6) {
        case 0: /* on or near the grid: x = (k + frac) * scale, as fp32 */
        case 1: {
            static const float fracs[] = {0.0f, 0.5f, -0.5f, 0.49999997f, 0.50000006f, 0.25f};
            float k = (float)rng_range(klo, khi);
            x = (k + fracs[rng_u32() % 6]) * scale;
            break;
        }
        case 2: { /* exact ties: scale = m * 2^e (m odd, small), x/scale = k + 0.5 exactly */
            int m = 1 + 2 * (int)(rng_u32() % 8);
            int e = (int)rng_range(-20, 4);
            scale = ldexpf((float)m, e);
            int64_t k = rng_range(klo < -(1 << 18) ? -(1 << 18) : klo,
                                  khi > (1 << 18) ? 1 << 18 : khi);
            x = ldexpf((float)((2 * k + 1) * m), e - 1);   /* (2k+1)*m < 2^24: exact */
            int32_t got = qc_quantize(x, scale, zp, r->lo, r->hi);
            /* the tie must go to the even one of k, k+1 */
            int64_t even = (k & 1) ? k + 1 : k;
            int64_t want = even + zp;
            want = want < r->lo ? r->lo : want > r->hi ? r->hi : want;
            EXPECT(got == want, "tie %.9g / %.9g + %" PRId32 " (%s) = %" PRId32 ", want %" PRId64,
                   (double)x, (double)scale, zp, r->name, got, want);
            ties++;
            break;
        }
        case 3: { /* any float at all, including NaN, inf, subnormals */
            uint32_t u = rng_u32();
            memcpy(&x, &u, 4);
            break;
        }
        case 4: /* moderate magnitudes, random sign */
            x = rng_float_exp(-40, 40);
            if (rng_u32() & 1) x = -x;
            break;
        default: { /* specials */
            static const float sp[] = {0.0f,      -0.0f,   INFINITY,     -INFINITY, NAN,
                                       FLT_MAX,   -FLT_MAX, FLT_TRUE_MIN, 1e30f,     -1e30f,
                                       2147483648.0f, -2147483648.0f, 2147483520.0f};
            x = sp[rng_u32() % (sizeof sp / sizeof sp[0])];
            if (rng_u32() & 1) scale = rng_float_exp(-126, -100);  /* tiny: overflow */
            break;
        }
        }
        check_quantize(x, scale, zp, r);
    }
    CHECK(ties > n / 10);
}

/* Every grid point and half-point of every small range with several zero
 * points and scales: systematic rather than random. */
static void test_quantize_sweep(void) {
    static const float scales[] = {1.0f, 0.1f, 0.0078125f, 3.0f, 0.0235294122f, 1e-3f};
    for (int ri = 0; ri < NRANGES; ri++) {
        const range *r = &RANGES[ri];
        if (r->hi - (int64_t)r->lo > 70000) continue;          /* i32 is sampled, not swept */
        int32_t zps[] = {r->lo, r->hi, (int32_t)(((int64_t)r->lo + r->hi) / 2), 0};
        for (int zi = 0; zi < 4; zi++) {
            int32_t zp = zps[zi];
            if (zp < r->lo || zp > r->hi) continue;
            for (int si = 0; si < 6; si++) {
                float scale = scales[si];
                for (int64_t k = (int64_t)r->lo - zp - 2; k <= (int64_t)r->hi - zp + 2; k++) {
                    float kf = (float)k;
                    check_quantize(kf * scale, scale, zp, r);
                    check_quantize((kf + 0.5f) * scale, scale, zp, r);
                    check_quantize(nextafterf((kf + 0.5f) * scale, INFINITY), scale, zp, r);
                    check_quantize(nextafterf((kf + 0.5f) * scale, -INFINITY), scale, zp, r);
                }
                check_quantize(INFINITY, scale, zp, r);
                check_quantize(-INFINITY, scale, zp, r);
                check_quantize(NAN, scale, zp, r);
                check_quantize(-NAN, scale, zp, r);
                check_quantize(FLT_MAX, scale, zp, r);
                check_quantize(-FLT_MAX, scale, zp, r);
                EXPECT(qc_quantize(NAN, scale, zp, r->lo, r->hi) == zp, "NaN -> zp");
                EXPECT(qc_quantize(INFINITY, scale, zp, r->lo, r->hi) == r->hi, "inf -> hi");
                EXPECT(qc_quantize(-INFINITY, scale, zp, r->lo, r->hi) == r->lo, "-inf -> lo");
            }
        }
    }
}

/* ---- dequantize ------------------------------------------------------------ */

static void test_dequantize(int n) {
    for (int t = 0; t < n; t++) {
        const range *r = &RANGES[rng_u32() % NRANGES];
        int32_t zp = rng_zp(r);
        int32_t q = (int32_t)rng_range(r->lo, r->hi);
        if (t % 50 == 0) q = (t / 50) & 1 ? r->lo : r->hi;           /* the extremes */
        float scale = rng_float_exp(-40, 20);
        if (rng_u32() % 20 == 0) scale = rng_float_exp(-149, -120);  /* subnormal products */
        float got = qc_dequantize(q, scale, zp), want = ref_dequantize(q, scale, zp);
        EXPECT(f2u(got) == f2u(want),
               "dequantize(%" PRId32 ", %.9g, %" PRId32 ") = %.9g, want %.9g", q,
               (double)scale, zp, (double)got, (double)want);
    }
    /* q - zp at the far ends of int32 (overflows int32 arithmetic) */
    int32_t ends[] = {INT32_MIN, INT32_MAX, -1, 0, 1};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            float got = qc_dequantize(ends[i], 0.25f, ends[j]);
            EXPECT(got == ref_dequantize(ends[i], 0.25f, ends[j]), "dequantize ends %d %d", i, j);
        }
}

/* ---- requantize ------------------------------------------------------------ */

static void test_multiplier(int n) {
    int order_matters = 0;
    for (int t = 0; t < n; t++) {
        float sa = rng_float_exp(-20, 2), sb = rng_float_exp(-20, 2), sy = rng_float_exp(-20, 2);
        if (t % 100 == 0) { sa = rng_float_exp(-80, -60); sb = rng_float_exp(-80, -60); }
        float got = qc_requant_multiplier(sa, sb, sy), want = ref_multiplier(sa, sb, sy);
        EXPECT(f2u(got) == f2u(want), "multiplier(%.9g, %.9g, %.9g) = %.9g, want %.9g",
               (double)sa, (double)sb, (double)sy, (double)got, (double)want);
        /* count cases that would catch the other association */
        if (f2u(ref_fmul(sa, ref_fdiv(sb, sy))) != f2u(want)) order_matters++;
    }
    CHECK_MSG(order_matters > n / 20, "only %d of %d samples tell the orders apart",
              order_matters, n);
}

static void check_requantize(int32_t acc, float m, int32_t zp, const range *r) {
    int32_t got = qc_requantize(acc, m, zp, r->lo, r->hi);
    int32_t want = ref_requantize(acc, m, zp, r->lo, r->hi);
    EXPECT(got == want,
           "requantize(%" PRId32 ", m %.9g, zp %" PRId32 ", %s) = %" PRId32 ", want %" PRId32,
           acc, (double)m, zp, r->name, got, want);
}

static void test_requantize(int n) {
    for (int t = 0; t < n; t++) {
        const range *r = &RANGES[rng_u32() % NRANGES];
        int32_t zp = rng_zp(r);
        int32_t acc;
        float m = rng_float_exp(-30, 2);
        switch (rng_u32() % 5) {
        case 0: acc = (int32_t)rng_u32(); break;                         /* any int32 */
        case 1: acc = (int32_t)rng_range(-100000, 100000); break;
        case 2: { static const int32_t e[] = {INT32_MIN, INT32_MAX, INT32_MIN + 1,
                                              INT32_MAX - 1, 0, 1, -1, 16777217, -16777217};
                  acc = e[rng_u32() % 9]; break; }
        case 3: { /* exact ties: m = 2^-k, acc an odd multiple of 2^(k-1) */
            int k = (int)rng_range(1, 20);
            m = ldexpf(1.0f, -k);
            int64_t odd = 2 * rng_range(-(1 << 9), 1 << 9) + 1;
            acc = (int32_t)(odd * ((int64_t)1 << (k - 1)));   /* no shift of a negative */
            break;
        }
        default: /* acc * m lands in or near the output range */
            acc = (int32_t)rng_range(-(1 << 24), 1 << 24);
            m = (float)(((double)r->hi - r->lo + 8) / (double)(1 << 25)) *
                (0.5f + (float)(rng_u32() % 1000) / 1000.0f);
            break;
        }
        check_requantize(acc, m, zp, r);
    }
    /* every output range at the accumulator extremes with zp at its ends */
    for (int ri = 0; ri < NRANGES; ri++) {
        const range *r = &RANGES[ri];
        int32_t accs[] = {INT32_MIN, INT32_MAX, 0};
        int32_t zps[] = {r->lo, r->hi, 0};
        float ms[] = {1.0f, 1e-9f, 0.5f, 1e9f, INFINITY};
        for (int a = 0; a < 3; a++)
            for (int z = 0; z < 3; z++)
                for (int k = 0; k < 5; k++) {
                    if (zps[z] < r->lo || zps[z] > r->hi) continue;
                    check_requantize(accs[a], ms[k], zps[z], r);
                }
    }
}

/* ---- DynamicQuantizeLinear params ------------------------------------------ */

static void check_dynamic(float xmin, float xmax) {
    float s, ws;
    int32_t zp, wzp;
    qc_dynamic_qparams_u8(xmin, xmax, &s, &zp);
    ref_dynamic_u8(xmin, xmax, &ws, &wzp);
    EXPECT(f2u(s) == f2u(ws) && zp == wzp,
           "dynamic(%.9g, %.9g) = (%.9g, %" PRId32 "), want (%.9g, %" PRId32 ")", (double)xmin,
           (double)xmax, (double)s, zp, (double)ws, wzp);
    /* Properties that hold whatever the formula: zp is a valid u8; if xmin
     * and xmax have opposite signs, xmin and xmax quantize within one step
     * of the ends of the range, and 0 maps exactly to zp. */
    EXPECT(zp >= 0 && zp <= 255, "zp %" PRId32 " out of u8", zp);
    if (xmin < 0.0f && xmax > 0.0f && isfinite(s) && s > 0.0f) {
        EXPECT(qc_quantize(0.0f, s, zp, 0, 255) == zp, "0 must quantize to zp");
        EXPECT(qc_quantize(xmin, s, zp, 0, 255) <= 1, "xmin -> %" PRId32,
               qc_quantize(xmin, s, zp, 0, 255));
        EXPECT(qc_quantize(xmax, s, zp, 0, 255) >= 254, "xmax -> %" PRId32,
               qc_quantize(xmax, s, zp, 0, 255));
    }
}

static void test_dynamic(int n) {
    for (int t = 0; t < n; t++) {
        float a, b;
        switch (t % 4) {
        case 0: /* mixed signs */
            a = -rng_float_exp(-20, 20);
            b = rng_float_exp(-20, 20);
            break;
        case 1: /* all positive: zp must be 0 */
            a = rng_float_exp(-20, 20);
            b = a + rng_float_exp(-20, 20);
            break;
        case 2: /* all negative: zp must be 255 */
            b = -rng_float_exp(-20, 20);
            a = b - rng_float_exp(-20, 20);
            break;
        default: /* wide dynamic range, tiny magnitudes */
            a = -rng_float_exp(-126, 100);
            b = rng_float_exp(-126, 100);
            break;
        }
        check_dynamic(a, b);
        if (t % 4 == 1) {
            float s; int32_t zp;
            qc_dynamic_qparams_u8(a, b, &s, &zp);
            EXPECT(zp == 0, "all positive: zp %" PRId32, zp);
        }
        if (t % 4 == 2) {
            float s; int32_t zp;
            qc_dynamic_qparams_u8(a, b, &s, &zp);
            EXPECT(zp == 255, "all negative: zp %" PRId32, zp);
        }
    }
    /* Exact ties in the zero point: with s = m * 2^e (m odd, small),
     * lo = -(k + 0.5) * s and hi = lo + 255 * s, every step is exact, so
     * s comes out as chosen and -lo / s is exactly k + 0.5: zp must be the
     * even one of k, k + 1. */
    for (int t = 0; t < n / 4; t++) {
        int m = 1 + 2 * (int)(rng_u32() % 32), e = (int)rng_range(-30, 10);
        int k = (int)rng_range(0, 254);
        float sc = ldexpf((float)m, e);
        float lo = -ldexpf((float)((2 * k + 1) * m), e - 1);
        float hi = ldexpf((float)((2 * (255 - k) - 1) * m), e - 1);
        float s;
        int32_t zp;
        qc_dynamic_qparams_u8(lo, hi, &s, &zp);
        EXPECT(s == sc && zp == ((k & 1) ? k + 1 : k),
               "dynamic tie (%.9g, %.9g) = (%.9g, %" PRId32 "), want (%.9g, %d)", (double)lo,
               (double)hi, (double)s, zp, (double)sc, (k & 1) ? k + 1 : k);
        check_dynamic(lo, hi);
    }
    check_dynamic(0.0f, 0.0f);
    check_dynamic(-0.0f, 0.0f);
    check_dynamic(0.0f, 1.0f);
    check_dynamic(-1.0f, 0.0f);
    check_dynamic(-FLT_MAX, FLT_MAX);   /* range overflows to inf */
    check_dynamic(-FLT_TRUE_MIN, FLT_TRUE_MIN);
}

int main(void) {
    rng_seed_from_env_or_clock();
    clock_t t0 = clock();
    test_known_answers();
    int before = qc_test_passed + qc_test_failed;
    test_quantize_sweep();
    test_quantize_random(QC_RANDOM_SAMPLES);
    printf("  quantize     %8d checks\n", qc_test_passed + qc_test_failed - before);
    before = qc_test_passed + qc_test_failed;
    test_dequantize(QC_RANDOM_SAMPLES / 4);
    printf("  dequantize   %8d checks\n", qc_test_passed + qc_test_failed - before);
    before = qc_test_passed + qc_test_failed;
    test_multiplier(QC_RANDOM_SAMPLES / 4);
    test_requantize(QC_RANDOM_SAMPLES);
    printf("  requantize   %8d checks\n", qc_test_passed + qc_test_failed - before);
    before = qc_test_passed + qc_test_failed;
    test_dynamic(QC_RANDOM_SAMPLES / 4);
    printf("  dynamic u8   %8d checks\n", qc_test_passed + qc_test_failed - before);
    printf("  total %.2f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    return qc_test_summary("test_quant");
}
