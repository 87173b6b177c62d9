/* test_dtype.c — proves the scalar conversions of ir/dtype.h against an
 * independent reference.
 *
 * The reference never shares code or bit tricks with dtype.h: decoders are
 * written from the bit fields with ldexp() in double, and every encoder is
 * checked against "the nearest entry of the sorted table of all finite values
 * of the target type", found by binary search, ties going to the code with
 * the even last mantissa bit, plus the overflow rule of the type (IEEE inf
 * for f16/bf16, saturation for the fp8 types). Because the table is built
 * from the reference decoder, one wrong bit anywhere in dtype.h shows up as a
 * mismatch.
 *
 * Coverage: every bit pattern of every 16- and 8-bit type is decoded; every
 * midpoint between adjacent values (and the f32 values a few ulps around it)
 * is encoded; a few million random f32 bit patterns are encoded. The random
 * seed is fresh per run and printed; QC_SEED=<n> reproduces a run. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/dtype.h"
#include "qc_test.h"

/* Sanitizer builds run the same checks on a smaller random sample: the
 * exhaustive parts are cheap, the random part is what costs time there. */
#if defined(__SANITIZE_ADDRESS__)
#define QC_RANDOM_SAMPLES 2000000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QC_RANDOM_SAMPLES 2000000
#endif
#endif
#ifndef QC_RANDOM_SAMPLES
#define QC_RANDOM_SAMPLES 6000000
#endif


/* ---- random numbers: splitmix64, seeded per run ------------------------- */

static qc_rng rng_state;

static uint64_t rng_next(void) { return qc_rng_next(&rng_state); }

static uint32_t rng_u32(void) { return (uint32_t)(rng_next() >> 32); }

static void rng_seed_from_env_or_clock(void) { rng_state.s = qc_test_seed("test_dtype"); }

/* ---- small helpers ------------------------------------------------------ */

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Same float bit for bit, except that any two NaNs of the same sign match:
 * the contract keeps NaN a NaN and its sign, not its payload. */
static int same_float(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) && (signbit(a) != 0) == (signbit(b) != 0);
    return f2u(a) == f2u(b);
}

/* ---- a format description and its reference ------------------------------ */

/* A small binary float format with `ebits` exponent bits and `mbits`
 * mantissa bits (IEEE layout: sign, biased exponent, mantissa). `nfinite` is
 * the number of non-negative finite codes; codes 0..nfinite-1 are then in
 * increasing order of value, which the reference encoder relies on. */
typedef struct fmt {
    const char *name;
    int ebits, mbits, bias;
    int total_bits;              /* 16 or 8 */
    uint32_t nfinite;            /* non-negative finite codes: 0 .. nfinite-1 */
    int saturating;              /* fp8: beyond max -> max; else beyond -> inf */
    uint32_t inf_code;           /* code of +inf (non-saturating formats) */
    int e4m3fn;                  /* the fn variant: only S.1111.111 is NaN, no inf */
    double *table;               /* value of code i, i in 0..nfinite (see below) */
} fmt;

/* Reference decoder: the value of `code` from its fields, in double. Written
 * from the format definition alone (no table, no dtype.h). */
static double ref_decode(const fmt *f, uint32_t code) {
    uint32_t sign = code >> (f->total_bits - 1) & 1u;
    uint32_t e = (code >> f->mbits) & ((1u << f->ebits) - 1u);
    uint32_t m = code & ((1u << f->mbits) - 1u);
    uint32_t emax_field = (1u << f->ebits) - 1u;
    double v;
    if (f->e4m3fn) {
        if (e == emax_field && m == (1u << f->mbits) - 1u) return copysign(NAN, sign ? -1.0 : 1.0);
    } else if (e == emax_field) {
        if (m) return copysign(NAN, sign ? -1.0 : 1.0);
        return sign ? -INFINITY : INFINITY;
    }
    if (e == 0) v = ldexp((double)m, 1 - f->bias - f->mbits);
    else v = ldexp((double)((1u << f->mbits) + m), (int)e - f->bias - f->mbits);
    return sign ? -v : v;
}

/* table[i] = value of code i for i < nfinite; table[nfinite] is the value the
 * next code would have if the exponent range went on (2^(emax+1)). It serves
 * as the upper neighbour of the largest finite value: for IEEE formats the
 * midpoint between them is where rounding to inf starts, and that next code
 * has an even mantissa (0), so a tie there goes up, to inf, as IEEE says. */
static void fmt_build_table(fmt *f) {
    f->table = malloc(sizeof(double) * (f->nfinite + 1));
    for (uint32_t i = 0; i < f->nfinite; i++) f->table[i] = ref_decode(f, i);
    double maxv = f->table[f->nfinite - 1];
    int e;
    (void)frexp(maxv, &e);
    f->table[f->nfinite] = ldexp(1.0, e);
}

static uint32_t fmt_sign_bit(const fmt *f) { return 1u << (f->total_bits - 1); }

/* Reference encoder for any double a (finite or not, not NaN): the nearest
 * table entry, ties to the even code; then the format's overflow rule. The
 * midpoint of two adjacent table values needs one bit more than the format
 * has, so it is exact in double and the comparison with a is exact. */
static uint32_t ref_encode(const fmt *f, double x) {
    uint32_t sign = signbit(x) ? fmt_sign_bit(f) : 0u;
    double a = fabs(x);
    uint32_t code;
    if (a >= f->table[f->nfinite]) code = f->nfinite;   /* at or past 2^(emax+1) */
    else {
        /* largest i with table[i] <= a (table[0] == 0 <= a) */
        uint32_t lo = 0, hi = f->nfinite;               /* table[hi] > a */
        while (hi - lo > 1) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (f->table[mid] <= a) lo = mid;
            else hi = mid;
        }
        double m = (f->table[lo] + f->table[lo + 1]) / 2.0;
        if (a < m) code = lo;
        else if (a > m) code = lo + 1;
        else code = (lo & 1u) ? lo + 1 : lo;             /* tie: the even code */
    }
    if (code >= f->nfinite) code = f->saturating ? f->nfinite - 1 : f->inf_code;
    return sign | code;
}

/* ---- the four formats, wired to dtype.h --------------------------------- */

static fmt F16 = {"f16", 5, 10, 15, 16, 0x7c00, 0, 0x7c00, 0, NULL};
static fmt BF16 = {"bf16", 8, 7, 127, 16, 0x7f80, 0, 0x7f80, 0, NULL};
static fmt E4M3 = {"f8e4m3fn", 4, 3, 7, 8, 0x7f, 1, 0, 1, NULL};
static fmt E5M2 = {"f8e5m2", 5, 2, 15, 8, 0x7c, 1, 0, 0, NULL};

static float impl_decode(const fmt *f, uint32_t c) {
    if (f == &F16) return qc_f16_to_f32((uint16_t)c);
    if (f == &BF16) return qc_bf16_to_f32((uint16_t)c);
    if (f == &E4M3) return qc_f8e4m3fn_to_f32((uint8_t)c);
    return qc_f8e5m2_to_f32((uint8_t)c);
}

static uint32_t impl_encode(const fmt *f, float x) {
    if (f == &F16) return qc_f32_to_f16(x);
    if (f == &BF16) return qc_f32_to_bf16(x);
    if (f == &E4M3) return qc_f32_to_f8e4m3fn(x);
    return qc_f32_to_f8e5m2(x);
}

static qc_dtype fmt_dtype(const fmt *f) {
    if (f == &F16) return QC_F16;
    if (f == &BF16) return QC_BF16;
    if (f == &E4M3) return QC_F8E4M3FN;
    return QC_F8E5M2;
}

/* Is `code` a NaN of the format, and is it quiet (IEEE formats)? */
static int code_is_nan(const fmt *f, uint32_t code) {
    return isnan(ref_decode(f, code));
}

/* Checks the encoding of x (f32) against the reference. NaN inputs must give
 * a NaN of the same sign; for f16/bf16 a quiet one (top mantissa bit set),
 * for the fp8 types exactly 0x7F | sign (ONNX). */
static void check_encode(const fmt *f, float x, const char *what) {
    uint32_t got = impl_encode(f, x);
    if (isnan(x)) {
        uint32_t sign = signbit(x) ? fmt_sign_bit(f) : 0u;
        int ok = code_is_nan(f, got) && (got & fmt_sign_bit(f)) == sign;
        if (f->saturating) ok = ok && got == (sign | 0x7fu);
        else ok = ok && (got & (1u << (f->mbits - 1)));
        EXPECT(ok, "%s %s: encode(NaN 0x%08" PRIx32 ") = 0x%" PRIx32, f->name, what, f2u(x),
               got);
        return;
    }
    uint32_t want = ref_encode(f, (double)x);
    EXPECT(got == want, "%s %s: encode(%.9g = 0x%08" PRIx32 ") = 0x%" PRIx32 ", want 0x%" PRIx32,
           f->name, what, (double)x, f2u(x), got, want);
}

/* ---- per-format checks --------------------------------------------------- */

/* Stores v with qc_elem_set_f64 as element 1 of a properly aligned buffer of
 * the format's dtype and returns the code written there. */
static uint32_t elem_store(const fmt *f, double v) {
    union { uint16_t h[2]; uint8_t b[4]; } u;
    memset(&u, 0, sizeof u);
    qc_elem_set_f64(fmt_dtype(f), f->total_bits == 16 ? (void *)u.h : (void *)u.b, 1, v);
    return f->total_bits == 16 ? u.h[1] : u.b[1];
}


/* Every code decodes to the reference value (exact: each value of these
 * formats is an f32). */
static void test_decode_all(const fmt *f) {
    uint32_t n = 1u << f->total_bits;
    for (uint32_t c = 0; c < n; c++) {
        float got = impl_decode(f, c);
        float want = (float)ref_decode(f, c);
        EXPECT(same_float(got, want), "%s decode(0x%" PRIx32 ") = %.9g, want %.9g", f->name, c,
               (double)got, (double)want);
    }
}

/* Every finite code (both signs, both zeros, subnormals) re-encodes to
 * itself; NaN codes re-encode to a NaN of the same sign. */
static void test_roundtrip_all(const fmt *f) {
    uint32_t n = 1u << f->total_bits;
    for (uint32_t c = 0; c < n; c++) {
        float v = impl_decode(f, c);
        uint32_t back = impl_encode(f, v);
        if (code_is_nan(f, c))
            EXPECT(code_is_nan(f, back) && (back & fmt_sign_bit(f)) == (c & fmt_sign_bit(f)),
                   "%s NaN 0x%" PRIx32 " re-encodes to 0x%" PRIx32, f->name, c, back);
        else if (isinf(v)) /* e5m2's inf: the encoder saturates (ONNX saturate=1) */
            EXPECT(back == ((c & fmt_sign_bit(f)) | (f->saturating ? f->nfinite - 1 : f->inf_code)),
                   "%s inf 0x%" PRIx32 " re-encodes to 0x%" PRIx32, f->name, c, back);
        else
            EXPECT(back == c, "%s 0x%" PRIx32 " (%.9g) re-encodes to 0x%" PRIx32, f->name, c,
                   (double)v, back);
    }
}

/* For every pair of adjacent non-negative values (and the pair max / next
 * power of two, where IEEE formats overflow), the exact midpoint rounds to
 * the even code and the f32 values one ulp either side round to the nearer
 * one; same for the negated values. Also checked against the reference. */
static void test_midpoints(const fmt *f) {
    for (uint32_t i = 0; i < f->nfinite; i++) {
        double lo = f->table[i], hi = f->table[i + 1];
        double mid = (lo + hi) / 2.0;
        float m = (float)mid;
        EXPECT((double)m == mid, "%s midpoint %.17g not an f32", f->name, mid);
        uint32_t even = (i & 1u) ? i + 1 : i;
        uint32_t above = i + 1;
        if (even >= f->nfinite) even = f->saturating ? f->nfinite - 1 : f->inf_code;
        if (above >= f->nfinite) above = f->saturating ? f->nfinite - 1 : f->inf_code;
        float below_m = nextafterf(m, 0.0f), above_m = nextafterf(m, INFINITY);
        for (int s = 0; s < 2; s++) {
            float sg = s ? -1.0f : 1.0f;
            uint32_t sb = s ? fmt_sign_bit(f) : 0u;
            uint32_t g_mid = impl_encode(f, sg * m);
            uint32_t g_lo = impl_encode(f, sg * below_m);
            uint32_t g_hi = impl_encode(f, sg * above_m);
            EXPECT(g_mid == (sb | even), "%s tie %.9g -> 0x%" PRIx32 ", want even 0x%" PRIx32,
                   f->name, (double)(sg * m), g_mid, sb | even);
            EXPECT(g_lo == (sb | i), "%s below tie %.9g -> 0x%" PRIx32 ", want 0x%" PRIx32,
                   f->name, (double)(sg * below_m), g_lo, sb | i);
            EXPECT(g_hi == (sb | above), "%s above tie %.9g -> 0x%" PRIx32 ", want 0x%" PRIx32,
                   f->name, (double)(sg * above_m), g_hi, sb | above);
            /* The reference agrees with the hand-made expectation, so it
             * is itself checked here. */
            EXPECT(ref_encode(f, (double)(sg * m)) == (sb | even), "%s ref tie", f->name);
        }
    }
}

/* Every f32 within `k` ulps of each value and of each midpoint, both signs:
 * all rounding boundaries from the inside. */
static void test_boundaries(const fmt *f, int k) {
    for (uint32_t i = 0; i < f->nfinite; i++) {
        float pts[2] = {(float)f->table[i], (float)((f->table[i] + f->table[i + 1]) / 2.0)};
        for (int p = 0; p < 2; p++) {
            uint32_t u = f2u(pts[p]);
            for (int d = -k; d <= k; d++) {
                if ((int64_t)u + d < 0 || (int64_t)u + d > 0x7f800000) continue;
                float x = u2f((uint32_t)((int64_t)u + d));
                check_encode(f, x, "boundary");
                check_encode(f, -x, "boundary");
            }
        }
    }
}

/* Random f32: half raw bit patterns (every exponent, NaNs, infs, f32
 * subnormals), half with the exponent drawn around the format's own range
 * (where raw bits rarely land for the narrow formats). */
static void test_random(const fmt *f, int n) {
    int emax = (int)floor(log2(f->table[f->nfinite])), emin = 1 - f->bias - f->mbits;
    for (int t = 0; t < n; t++) {
        uint32_t r = rng_u32();
        float x;
        if (t & 1) x = u2f(r);
        else {
            int e = emin - 3 + (int)(rng_u32() % (uint32_t)(emax - emin + 6));
            x = ldexpf(1.0f + (float)(r & 0x7fffff) / 8388608.0f, e);
            if (r >> 31) x = -x;
        }
        check_encode(f, x, "random");
    }
}

/* Overflow / saturation / NaN / inf / zero specials. */
static void test_specials(const fmt *f) {
    double maxv = f->table[f->nfinite - 1];
    uint32_t maxc = f->nfinite - 1, sb = fmt_sign_bit(f);
    uint32_t over = f->saturating ? maxc : f->inf_code;
    double mid_over = (maxv + f->table[f->nfinite]) / 2.0;
    float xs[] = {(float)maxv, nextafterf((float)mid_over, 0.0f), (float)mid_over,
                  nextafterf((float)mid_over, INFINITY), FLT_MAX, INFINITY};
    uint32_t want[] = {maxc, maxc, over, over, over, over};
    for (int i = 0; i < 6; i++) {
        EXPECT(impl_encode(f, xs[i]) == want[i], "%s overflow case %d: %.9g -> 0x%" PRIx32, f->name,
               i, (double)xs[i], impl_encode(f, xs[i]));
        EXPECT(impl_encode(f, -xs[i]) == (sb | want[i]), "%s overflow case -%d", f->name, i);
    }
    EXPECT(impl_encode(f, 0.0f) == 0, "%s +0", f->name);
    EXPECT(impl_encode(f, -0.0f) == sb, "%s -0", f->name);
    EXPECT(impl_encode(f, FLT_TRUE_MIN) == 0, "%s tiny", f->name);
    EXPECT(impl_encode(f, -FLT_TRUE_MIN) == sb, "%s -tiny -> -0", f->name);
    /* NaNs: quiet, signalling (payload only in the low f32 bits, which a
     * careless shift would turn into inf), both signs. */
    uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0x7fbfffffu, 0x7fffffffu, 0x7f802000u};
    for (int i = 0; i < 5; i++) {
        check_encode(f, u2f(nans[i]), "nan");
        check_encode(f, u2f(nans[i] | 0x80000000u), "nan");
    }
    if (!f->saturating) {
        EXPECT(same_float(impl_decode(f, f->inf_code), INFINITY), "%s +inf decode", f->name);
        EXPECT(same_float(impl_decode(f, sb | f->inf_code), -INFINITY), "%s -inf decode", f->name);
    }
}

/* qc_elem_set_f64 narrows a double: it must round v itself (once), which the
 * reference does directly on the double. Doubles a tiny relative distance
 * from midpoints are where narrowing through f32 first would go wrong. */
static void test_elem_set_double(const fmt *f, int n) {
    qc_dtype t = fmt_dtype(f);
    for (uint32_t i = 0; i < f->nfinite; i++) {
        double mid = (f->table[i] + f->table[i + 1]) / 2.0;
        double eps = ldexp(mid == 0.0 ? 1.0 : mid, -40);
        double vs[3] = {mid + eps, mid - eps, mid};
        for (int j = 0; j < 3; j++) {
            for (int s = 0; s < 2; s++) {
                double v = s ? -vs[j] : vs[j];
                uint32_t got = elem_store(f, v);
                uint32_t want = ref_encode(f, v);
                EXPECT(got == want, "%s elem_set_f64(%.17g) = 0x%" PRIx32 ", want 0x%" PRIx32,
                       f->name, v, got, want);
            }
        }
    }
    /* random doubles with full 53-bit mantissas */
    int emax = (int)floor(log2(f->table[f->nfinite])), emin = 1 - f->bias - f->mbits;
    for (int k = 0; k < n; k++) {
        int e = emin - 3 + (int)(rng_u32() % (uint32_t)(emax - emin + 6));
        double v = ldexp(1.0 + (double)(rng_next() >> 11) / 9007199254740992.0, e);
        if (rng_u32() & 1) v = -v;
        uint32_t got = elem_store(f, v);
        uint32_t want = ref_encode(f, v);
        EXPECT(got == want, "%s elem_set_f64(%.17g) = 0x%" PRIx32 ", want 0x%" PRIx32, f->name,
               v, got, want);
    }
    /* beyond f32 range, and NaN */
    double big[] = {1e39, 1e300, INFINITY, 3.5e38};
    for (int k = 0; k < 4; k++) {
        for (int s = 0; s < 2; s++) {
            double v = s ? -big[k] : big[k];
            uint32_t got = elem_store(f, v);
            EXPECT(got == ref_encode(f, v), "%s elem_set_f64(%g) = 0x%" PRIx32, f->name, v, got);
        }
    }
    uint32_t nan_code = elem_store(f, NAN);
    EXPECT(code_is_nan(f, nan_code), "%s elem_set_f64(NaN) = 0x%" PRIx32, f->name, nan_code);
    uint16_t h[1] = {(uint16_t)nan_code};
    uint8_t b[1] = {(uint8_t)nan_code};
    EXPECT(isnan(qc_elem_get_f64(t, f->total_bits == 16 ? (void *)h : (void *)b, 0)),
           "%s elem_get_f64(NaN)", f->name);
}

static void test_format(fmt *f, int nrandom) {
    clock_t t0 = clock();
    int before = qc_test_passed + qc_test_failed;
    fmt_build_table(f);
    test_decode_all(f);
    test_roundtrip_all(f);
    test_midpoints(f);
    test_specials(f);
    test_boundaries(f, f->total_bits == 16 ? 3 : 64);
    test_random(f, nrandom);
    test_elem_set_double(f, nrandom / 20);
    printf("  %-9s %9d checks  %.2f s\n", f->name, qc_test_passed + qc_test_failed - before,
           (double)(clock() - t0) / CLOCKS_PER_SEC);
}

/* ---- hand-picked known answers (independent of every table above) -------- */

static void test_known_answers(void) {
    CHECK(qc_f32_to_f16(1.0f) == 0x3c00);
    CHECK(qc_f32_to_f16(-2.0f) == 0xc000);
    CHECK(qc_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(qc_f32_to_f16(65519.996f) == 0x7bff);      /* just below the overflow midpoint */
    CHECK(qc_f32_to_f16(65520.0f) == 0x7c00);        /* the midpoint ties up, to inf */
    CHECK(qc_f32_to_f16(5.9604645e-08f) == 0x0001);  /* smallest subnormal 2^-24 */
    CHECK(qc_f32_to_f16(2.98023224e-08f) == 0x0000); /* 2^-25: tie between 0 and 2^-24 -> 0 */
    CHECK(qc_f32_to_f16(8.94069672e-08f) == 0x0002); /* 1.5 * 2^-24: tie -> 2 (even) */
    CHECK(qc_f32_to_f16(1.00048828125f) == 0x3c00);  /* 1 + 2^-11: tie -> 1.0 */
    CHECK(qc_f32_to_f16(1.00146484375f) == 0x3c02);  /* 1 + 3*2^-11: tie -> even 0x3c02 */
    CHECK(qc_f16_to_f32(0x3555) == 0.333251953125f);
    CHECK(qc_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    CHECK(qc_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(qc_f32_to_bf16(u2f(0x3f808000u)) == 0x3f80);  /* tie -> even */
    CHECK(qc_f32_to_bf16(u2f(0x3f818000u)) == 0x3f82);  /* tie -> even (up) */
    CHECK(qc_f32_to_bf16(u2f(0x3f808001u)) == 0x3f81);
    CHECK(qc_f32_to_bf16(FLT_MAX) == 0x7f80);           /* rounds past bf16 max to inf */
    CHECK(qc_f32_to_bf16(-INFINITY) == 0xff80);
    CHECK(qc_f32_to_f8e4m3fn(448.0f) == 0x7e);
    CHECK(qc_f32_to_f8e4m3fn(1e6f) == 0x7e);
    CHECK(qc_f32_to_f8e4m3fn(-INFINITY) == 0xfe);
    CHECK(qc_f32_to_f8e4m3fn(NAN) == 0x7f);
    CHECK(qc_f32_to_f8e4m3fn(-NAN) == 0xff);
    CHECK(qc_f32_to_f8e4m3fn(1.0f) == 0x38);
    CHECK(qc_f32_to_f8e4m3fn(0.001953125f) == 0x01);   /* 2^-9, smallest subnormal */
    CHECK(qc_f32_to_f8e4m3fn(0.0009765625f) == 0x00);  /* 2^-10: tie -> 0 */
    CHECK(qc_f32_to_f8e4m3fn(1.0625f) == 0x38);        /* 1 + 1/16: tie -> 1.0 */
    CHECK(qc_f32_to_f8e4m3fn(1.1875f) == 0x3a);        /* 1 + 3/16: tie -> 1.25 */
    CHECK(qc_f8e4m3fn_to_f32(0x7e) == 448.0f);
    CHECK(qc_f8e4m3fn_to_f32(0x77) == 240.0f);
    CHECK(isnan(qc_f8e4m3fn_to_f32(0x7f)) && isnan(qc_f8e4m3fn_to_f32(0xff)));
    CHECK(qc_f8e4m3fn_to_f32(0x78) == 256.0f);          /* S.1111.000 is a number in fn */
    CHECK(qc_f32_to_f8e5m2(57344.0f) == 0x7b);
    CHECK(qc_f32_to_f8e5m2(61440.0f) == 0x7b);          /* saturating, not inf */
    CHECK(qc_f32_to_f8e5m2(INFINITY) == 0x7b);
    CHECK(qc_f32_to_f8e5m2(-INFINITY) == 0xfb);
    CHECK(qc_f32_to_f8e5m2(NAN) == 0x7f);
    CHECK(qc_f32_to_f8e5m2(1.0f) == 0x3c);
    CHECK(qc_f32_to_f8e5m2(1.125f) == 0x3c);            /* tie -> even */
    CHECK(qc_f32_to_f8e5m2(1.375f) == 0x3e);            /* tie -> even (up) */
    CHECK(qc_f8e5m2_to_f32(0x01) == 1.52587890625e-05f); /* 2^-16 */
    CHECK(isinf(qc_f8e5m2_to_f32(0x7c)) && qc_f8e5m2_to_f32(0xfc) < 0);
    CHECK(isnan(qc_f8e5m2_to_f32(0x7d)) && isnan(qc_f8e5m2_to_f32(0xfe)));
}

/* ---- int4 packing -------------------------------------------------------- */

/* Every value at both nibble positions over every possible byte already
 * there: the value reads back and the other nibble and bytes are untouched. */
static void test_int4(void) {
    for (int idx = 0; idx < 2; idx++) {
        for (int bg = 0; bg < 256; bg++) {
            for (int v = -8; v < 16; v++) {
                uint8_t buf[3] = {0xa5, (uint8_t)bg, 0x5a};
                int64_t i = 2 + idx;                       /* element in buf[1] */
                qc_4bit_set(buf, i, v);
                int other = idx ? (bg & 0xf) : (bg >> 4);
                int got_other = idx ? (buf[1] & 0xf) : (buf[1] >> 4);
                EXPECT(buf[0] == 0xa5 && buf[2] == 0x5a, "int4 set touched another byte");
                EXPECT(got_other == other, "int4 set(idx %d, %d) over 0x%02x changed neighbour",
                       idx, v, bg);
                EXPECT(qc_u4_get(buf, i) == (v & 0xf), "u4 get(idx %d) after set %d", idx, v);
                if (v < 8)
                    EXPECT(qc_i4_get(buf, i) == v, "i4 get(idx %d) after set %d = %d", idx, v,
                           qc_i4_get(buf, i));
                /* ONNX order: element 2k in the low nibble */
                int nib = idx ? (buf[1] >> 4) : (buf[1] & 0xf);
                EXPECT(nib == (v & 0xf), "int4 element %d in the wrong nibble", (int)i);
            }
        }
    }
    /* A whole packed row written and read back in order. */
    uint8_t row[8];
    memset(row, 0xff, sizeof row);
    for (int i = 0; i < 16; i++) qc_elem_set_i64(QC_I4, row, i, (i % 16) - 8);
    for (int i = 0; i < 16; i++) EXPECT(qc_elem_get_i64(QC_I4, row, i) == (i % 16) - 8, "i4 row %d", i);
    EXPECT(row[0] == 0x98, "i4 packing of [-8,-7]: 0x%02x", row[0]);
    for (int i = 0; i < 16; i++) qc_elem_set_f64(QC_U4, row, i, 15 - i);
    for (int i = 0; i < 16; i++) EXPECT(qc_elem_get_f64(QC_U4, row, i) == 15 - i, "u4 row %d", i);
    EXPECT(row[0] == 0xef, "u4 packing of [15,14]: 0x%02x", row[0]);
}

/* ---- generic element access ---------------------------------------------- */

static void test_elem_roundtrip(void) {
    /* Narrow floats: every finite pattern through set_f64/get_f64. */
    const fmt *fmts[] = {&F16, &BF16, &E4M3, &E5M2};
    for (int k = 0; k < 4; k++) {
        const fmt *f = fmts[k];
        qc_dtype t = fmt_dtype(f);
        uint32_t n = 1u << f->total_bits;
        for (uint32_t c = 0; c < n; c++) {
            if (code_is_nan(f, c)) continue;
            double v = ref_decode(f, c);
            uint32_t got = elem_store(f, v);
            EXPECT(got == (isinf(v) ? ref_encode(f, v) : c), "%s elem_set_f64 0x%" PRIx32 " -> 0x%" PRIx32, f->name, c, got);
            uint16_t h[2] = {0, (uint16_t)c};
            uint8_t b[2] = {0, (uint8_t)c};
            double back = qc_elem_get_f64(t, f->total_bits == 16 ? (void *)h : (void *)b, 1);
            EXPECT(same_float((float)back, (float)v) && back == v, "%s elem_get_f64 0x%" PRIx32,
                   f->name, c);
        }
    }
    /* Integer types: every value of the narrow ones, extremes of the wide. */
    struct { qc_dtype t; int64_t lo, hi; } ints[] = {
        {QC_I8, -128, 127}, {QC_U8, 0, 255}, {QC_I16, -32768, 32767}, {QC_I4, -8, 7},
        {QC_U4, 0, 15}, {QC_BOOL, 0, 1}};
    for (int k = 0; k < 6; k++) {
        int64_t lo, hi;
        qc_dtype_int_range(ints[k].t, &lo, &hi);
        EXPECT(lo == ints[k].lo && hi == ints[k].hi, "%s range", qc_dtype_name(ints[k].t));
        for (int64_t v = lo; v <= hi; v++) {
            uint64_t buf[4] = {0};   /* aligned, and room for element 3 of any type */
            qc_elem_set_i64(ints[k].t, buf, 3, v);
            EXPECT(qc_elem_get_i64(ints[k].t, buf, 3) == v, "%s i64 %" PRId64,
                   qc_dtype_name(ints[k].t), v);
            memset(buf, 0, sizeof buf);
            qc_elem_set_f64(ints[k].t, buf, 3, (double)v);
            EXPECT(qc_elem_get_f64(ints[k].t, buf, 3) == (double)v, "%s f64 %" PRId64,
                   qc_dtype_name(ints[k].t), v);
        }
    }
    int64_t wide[] = {INT64_MIN, INT64_MAX, 0, -1, 1, (int64_t)1 << 53, INT32_MIN, INT32_MAX};
    for (int k = 0; k < 8; k++) {
        int64_t b64[1];
        qc_elem_set_i64(QC_I64, b64, 0, wide[k]);
        EXPECT(qc_elem_get_i64(QC_I64, b64, 0) == wide[k], "i64 %" PRId64, wide[k]);
        if (wide[k] >= INT32_MIN && wide[k] <= INT32_MAX) {
            int32_t b32[1];
            qc_elem_set_i64(QC_I32, b32, 0, wide[k]);
            EXPECT(qc_elem_get_i64(QC_I32, b32, 0) == wide[k], "i32 %" PRId64, wide[k]);
            qc_elem_set_f64(QC_I32, b32, 0, (double)wide[k]);
            EXPECT(qc_elem_get_f64(QC_I32, b32, 0) == (double)wide[k], "i32 f64 %" PRId64,
                   wide[k]);
        }
    }
    /* bool: any nonzero is 1 */
    uint8_t b[1];
    qc_elem_set_f64(QC_BOOL, b, 0, -0.5);
    EXPECT(b[0] == 1, "bool(-0.5)");
    qc_elem_set_f64(QC_BOOL, b, 0, -0.0);
    EXPECT(b[0] == 0, "bool(-0.0)");
    qc_elem_set_i64(QC_BOOL, b, 0, 42);
    EXPECT(b[0] == 1 && qc_elem_get_i64(QC_BOOL, b, 0) == 1, "bool(42)");
    /* f32 / f64: random bit patterns survive unchanged */
    for (int k = 0; k < 10000; k++) {
        uint32_t u = rng_u32();
        float fb[1];
        qc_elem_set_f64(QC_F32, fb, 0, (double)u2f(u));
        EXPECT(same_float(fb[0], u2f(u)), "f32 elem 0x%08" PRIx32, u);
        EXPECT(same_float((float)qc_elem_get_f64(QC_F32, fb, 0), u2f(u)), "f32 get");
        uint64_t w = rng_next();
        double d, db[1];
        memcpy(&d, &w, 8);
        qc_elem_set_f64(QC_F64, db, 0, d);
        EXPECT(isnan(d) ? isnan(db[0]) : memcmp(&d, db, 8) == 0, "f64 elem");
    }
    /* f32 store rounds a double once, to nearest even */
    float fb[1];
    qc_elem_set_f64(QC_F32, fb, 0, 1.0 + ldexp(1.0, -24));   /* tie -> 1.0 */
    EXPECT(fb[0] == 1.0f, "f32 tie");
    qc_elem_set_f64(QC_F32, fb, 0, 1.0 + 3 * ldexp(1.0, -24)); /* tie -> even, up */
    EXPECT(fb[0] == 1.0f + 2 * FLT_EPSILON, "f32 tie up");
}

/* ---- dtype facts --------------------------------------------------------- */

static void test_facts(void) {
    for (int t = 1; t < QC_DT_COUNT; t++) {
        EXPECT(qc_dtype_from_name(qc_dtype_name((qc_dtype)t)) == (qc_dtype)t, "name %d", t);
        EXPECT(qc_dtype_bits((qc_dtype)t) > 0, "bits %d", t);
        EXPECT(qc_dtype_is_float((qc_dtype)t) + qc_dtype_is_int((qc_dtype)t) ==
                   (t == QC_BOOL ? 0 : 1),
               "float/int class of %s", qc_dtype_name((qc_dtype)t));
    }
    EXPECT(qc_dtype_from_name("f17") == QC_DT_UNDEF, "unknown name");
    EXPECT(strcmp(qc_dtype_name((qc_dtype)99), "invalid") == 0, "invalid name");
    EXPECT(qc_dtype_bytes(QC_I4, 3) == 2 && qc_dtype_bytes(QC_U4, 4) == 2, "int4 bytes");
    EXPECT(qc_dtype_bytes(QC_F16, 5) == 10 && qc_dtype_bytes(QC_F8E5M2, 5) == 5, "bytes");
    EXPECT(qc_dtype_bytes(QC_I4, 0) == 0 && qc_dtype_bits(QC_DT_UNDEF) == 0, "zero bytes");
}

int main(void) {
    rng_seed_from_env_or_clock();
    clock_t t0 = clock();
    test_known_answers();
    test_facts();
    test_format(&F16, QC_RANDOM_SAMPLES);
    test_format(&BF16, QC_RANDOM_SAMPLES);
    test_format(&E4M3, QC_RANDOM_SAMPLES / 2);
    test_format(&E5M2, QC_RANDOM_SAMPLES / 2);
    test_int4();
    test_elem_roundtrip();
    printf("  total %.2f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    free(F16.table);
    free(BF16.table);
    free(E4M3.table);
    free(E5M2.table);
    return qc_test_summary("test_dtype");
}
