/* dtype.h — element type facts and scalar conversions (header-only).
 *
 * Header-only so that the runtime and every backend's runtime side can share
 * the exact same conversion code as the compiler and the ref interpreter
 * (DESIGN.md: numerics written once). All conversions to narrower float types
 * round to nearest, ties to even. f16 and bf16 are IEEE-like (overflow gives
 * inf); the fp8 types saturate (ONNX Cast with saturate=1, the default):
 * finite or infinite values beyond the largest finite value become +-448
 * (e4m3fn) or +-57344 (e5m2). NaN stays NaN. */
#ifndef QC_IR_DTYPE_H
#define QC_IR_DTYPE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "qcomp/qcrt.h"

/* Bits per element; 4 for the packed int4 types. 0 for QC_DT_UNDEF. */
static inline int qc_dtype_bits(qc_dtype t) {
    switch (t) {
    case QC_F64: case QC_I64: return 64;
    case QC_F32: case QC_I32: return 32;
    case QC_F16: case QC_BF16: case QC_I16: return 16;
    case QC_F8E4M3FN: case QC_F8E5M2: case QC_I8: case QC_U8: case QC_BOOL: return 8;
    case QC_I4: case QC_U4: return 4;
    default: return 0;
    }
}

/* Bytes needed for `count` elements (int4 types round up to whole bytes). */
static inline size_t qc_dtype_bytes(qc_dtype t, int64_t count) {
    return (size_t)(((uint64_t)count * (uint64_t)qc_dtype_bits(t) + 7u) / 8u);
}

static inline bool qc_dtype_is_float(qc_dtype t) {
    return t == QC_F32 || t == QC_F16 || t == QC_BF16 || t == QC_F8E4M3FN ||
           t == QC_F8E5M2 || t == QC_F64;
}

static inline bool qc_dtype_is_int(qc_dtype t) {
    return t == QC_I64 || t == QC_I32 || t == QC_I16 || t == QC_I8 || t == QC_U8 ||
           t == QC_I4 || t == QC_U4;
}

/* Text names used by the IR printer/parser and error messages. */
static inline const char *qc_dtype_name(qc_dtype t) {
    static const char *const names[QC_DT_COUNT] = {
        "undef", "f32", "f16", "bf16", "f8e4m3fn", "f8e5m2", "f64",
        "i64", "i32", "i16", "i8", "u8", "i4", "u4", "bool"};
    return (t >= 0 && t < QC_DT_COUNT) ? names[t] : "invalid";
}

static inline qc_dtype qc_dtype_from_name(const char *s) {
    for (int t = 1; t < QC_DT_COUNT; t++)
        if (strcmp(s, qc_dtype_name((qc_dtype)t)) == 0) return (qc_dtype)t;
    return QC_DT_UNDEF;
}

/* Integer range of an integer dtype (bool: 0..1). */
static inline void qc_dtype_int_range(qc_dtype t, int64_t *lo, int64_t *hi) {
    switch (t) {
    case QC_I64: *lo = INT64_MIN; *hi = INT64_MAX; break;
    case QC_I32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case QC_I16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case QC_I8: *lo = -128; *hi = 127; break;
    case QC_U8: *lo = 0; *hi = 255; break;
    case QC_I4: *lo = -8; *hi = 7; break;
    case QC_U4: *lo = 0; *hi = 15; break;
    case QC_BOOL: *lo = 0; *hi = 1; break;
    default: *lo = 0; *hi = 0; break;
    }
}

static inline uint32_t qc_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float qc_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* ---- f16 (IEEE binary16) ---------------------------------------------- */

static inline float qc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return qc_bits_f32(sign | 0x7f800000u | (man << 13));   /* inf/NaN */
    if (exp == 0) {                                  /* zero or subnormal: man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    return qc_bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t qc_f32_to_f16(float f) {
    uint32_t x = qc_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  /* >= 65520 rounds to inf */
    if (ax < 0x38800000u) {
        /* Result is subnormal or zero: value / 2^-24, rounded half to even.
         * The product is exact in float (scaling by a power of two) and
         * below 2^23, so rintf (ties to even) gives the subnormal mantissa. */
        float v = qc_bits_f32(ax) * 16777216.0f;
        return (uint16_t)(sign | (uint16_t)rintf(v));
    }
    /* Normal: rebias the exponent and round the 13 dropped mantissa bits. */
    uint32_t r = ax - 0x38000000u;                   /* exponent bias 127 -> 15 */
    uint32_t lsb = (r >> 13) & 1u;
    r += 0xfffu + lsb;
    return (uint16_t)(sign | (uint16_t)(r >> 13));
}

/* ---- bf16 ------------------------------------------------------------- */

static inline float qc_bf16_to_f32(uint16_t b) { return qc_bits_f32((uint32_t)b << 16); }

static inline uint16_t qc_f32_to_bf16(float f) {
    uint32_t x = qc_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);  /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;                 /* overflow carries into inf, as IEEE does */
    return (uint16_t)(x >> 16);
}

/* ---- fp8 -------------------------------------------------------------- */

/* Generic saturating encoder for a small float format with `mbits` mantissa
 * bits, exponent bias `bias`, largest finite value `maxv` and NaN code
 * `nan`. Works on the exact value in double, so every step is exact except
 * the single rint() (ties to even). */
static inline uint8_t qc_f8_encode(float f, int mbits, int bias, double maxv, uint8_t nan) {
    uint32_t x = qc_f32_bits(f);
    uint8_t sign = (uint8_t)((x >> 24) & 0x80u);
    if (isnan(f)) return (uint8_t)(sign | nan);
    double a = fabs((double)f);
    if (a >= maxv) return (uint8_t)(sign | qc_f8_encode((float)maxv, mbits, bias, 1e300, nan));
    int emin = 1 - bias;
    int e;
    (void)frexp(a, &e);
    e -= 1;                              /* a in [2^e, 2^(e+1)) */
    if (a == 0.0 || e < emin) e = emin;  /* subnormal range shares the quantum */
    double quantum = ldexp(1.0, e - mbits);
    double q = rint(a / quantum);        /* exact division by a power of two */
    if (q == 0.0) return sign;
    double v = q * quantum;
    if (v > maxv) v = maxv;              /* a rounded up past max: saturate */
    (void)frexp(v, &e);
    e -= 1;
    if (e < emin) return (uint8_t)(sign | (uint8_t)(v / ldexp(1.0, emin - mbits)));
    uint8_t man = (uint8_t)(v / ldexp(1.0, e - mbits) - ldexp(1.0, mbits));
    return (uint8_t)(sign | (uint8_t)((e + bias) << mbits) | man);
}

static inline uint8_t qc_f32_to_f8e4m3fn(float f) { return qc_f8_encode(f, 3, 7, 448.0, 0x7f); }
static inline uint8_t qc_f32_to_f8e5m2(float f) { return qc_f8_encode(f, 2, 15, 57344.0, 0x7f); }

static inline float qc_f8e4m3fn_to_f32(uint8_t b) {
    float s = (b & 0x80) ? -1.0f : 1.0f;
    int exp = (b >> 3) & 0xf, man = b & 7;
    if (exp == 0xf && man == 7) return copysignf(NAN, s);      /* keep the sign, as f16 does */
    if (exp == 0) return s * ldexpf((float)man, -9);            /* man * 2^(1-7-3) */
    return s * ldexpf((float)(8 + man), exp - 10);              /* 1.man * 2^(exp-7) */
}

static inline float qc_f8e5m2_to_f32(uint8_t b) {
    float s = (b & 0x80) ? -1.0f : 1.0f;
    int exp = (b >> 2) & 0x1f, man = b & 3;
    if (exp == 0x1f) return man ? copysignf(NAN, s) : s * INFINITY;
    if (exp == 0) return s * ldexpf((float)man, -16);           /* man * 2^(1-15-2) */
    return s * ldexpf((float)(4 + man), exp - 17);              /* 1.man * 2^(exp-15) */
}

/* ---- int4 packing (two elements per byte, even index in the low nibble) -- */

static inline int qc_i4_get(const uint8_t *p, int64_t i) {
    int v = (p[i >> 1] >> ((i & 1) * 4)) & 0xf;
    return v >= 8 ? v - 16 : v;
}
static inline int qc_u4_get(const uint8_t *p, int64_t i) { return (p[i >> 1] >> ((i & 1) * 4)) & 0xf; }
static inline void qc_4bit_set(uint8_t *p, int64_t i, int v) {
    int sh = (int)(i & 1) * 4;
    p[i >> 1] = (uint8_t)((p[i >> 1] & ~(0xf << sh)) | ((v & 0xf) << sh));
}

/* ---- generic element access (used by the interpreter's slow paths) ------ */

/* double -> float rounding to odd: the float nearest v in the direction of
 * zero, with its last mantissa bit forced to 1 when v was not exact. Narrowing
 * double -> f32 -> f16/bf16/fp8 with ordinary rounding at both steps rounds
 * twice and can land on the wrong side of a tie (a double just above an f16
 * midpoint first becomes the midpoint, then ties to even). Rounding to odd
 * first keeps the "inexact" information in the sticky last bit, and since f32
 * keeps at least 2 more bits than each of those narrow types everywhere in
 * their range, the second rounding then equals rounding v directly. Out of
 * float range it gives FLT_MAX (odd), which every narrow encoder then turns
 * into inf or the saturated maximum as it would v itself. */
static inline float qc_f64_to_f32_odd(double v) {
    float f = (float)v;
    if (isnan(v) || (double)f == v) return f;
    uint32_t u = qc_f32_bits(f);
    if (u & 1u) return f;               /* already the odd one of the two neighbours */
    /* f and its neighbour towards v bracket v, and exactly one of them is odd. */
    bool away = fabs(v) > fabs((double)f);
    return qc_bits_f32(away ? u + 1u : u - 1u);
}

/* Element i of a buffer of type t, as double (exact for every type but i64
 * beyond 2^53; use qc_elem_get_i64 for integer work). */
static inline double qc_elem_get_f64(qc_dtype t, const void *p, int64_t i) {
    switch (t) {
    case QC_F32: return ((const float *)p)[i];
    case QC_F64: return ((const double *)p)[i];
    case QC_F16: return qc_f16_to_f32(((const uint16_t *)p)[i]);
    case QC_BF16: return qc_bf16_to_f32(((const uint16_t *)p)[i]);
    case QC_F8E4M3FN: return qc_f8e4m3fn_to_f32(((const uint8_t *)p)[i]);
    case QC_F8E5M2: return qc_f8e5m2_to_f32(((const uint8_t *)p)[i]);
    case QC_I64: return (double)((const int64_t *)p)[i];
    case QC_I32: return ((const int32_t *)p)[i];
    case QC_I16: return ((const int16_t *)p)[i];
    case QC_I8: return ((const int8_t *)p)[i];
    case QC_U8: case QC_BOOL: return ((const uint8_t *)p)[i];
    case QC_I4: return qc_i4_get((const uint8_t *)p, i);
    case QC_U4: return qc_u4_get((const uint8_t *)p, i);
    default: return 0.0;
    }
}

static inline int64_t qc_elem_get_i64(qc_dtype t, const void *p, int64_t i) {
    switch (t) {
    case QC_I64: return ((const int64_t *)p)[i];
    case QC_I32: return ((const int32_t *)p)[i];
    case QC_I16: return ((const int16_t *)p)[i];
    case QC_I8: return ((const int8_t *)p)[i];
    case QC_U8: case QC_BOOL: return ((const uint8_t *)p)[i];
    case QC_I4: return qc_i4_get((const uint8_t *)p, i);
    case QC_U4: return qc_u4_get((const uint8_t *)p, i);
    default: return (int64_t)qc_elem_get_f64(t, p, i);
    }
}

/* Store v into element i, converting with the rules above (float targets
 * round v itself to nearest even, once; integer targets take the value as
 * is, wrapping like a C cast: callers that need saturation clamp first). */
static inline void qc_elem_set_f64(qc_dtype t, void *p, int64_t i, double v) {
    switch (t) {
    case QC_F32: ((float *)p)[i] = (float)v; break;
    case QC_F64: ((double *)p)[i] = v; break;
    case QC_F16: ((uint16_t *)p)[i] = qc_f32_to_f16(qc_f64_to_f32_odd(v)); break;
    case QC_BF16: ((uint16_t *)p)[i] = qc_f32_to_bf16(qc_f64_to_f32_odd(v)); break;
    case QC_F8E4M3FN: ((uint8_t *)p)[i] = qc_f32_to_f8e4m3fn(qc_f64_to_f32_odd(v)); break;
    case QC_F8E5M2: ((uint8_t *)p)[i] = qc_f32_to_f8e5m2(qc_f64_to_f32_odd(v)); break;
    case QC_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case QC_I32: ((int32_t *)p)[i] = (int32_t)(int64_t)v; break;
    case QC_I16: ((int16_t *)p)[i] = (int16_t)(int64_t)v; break;
    case QC_I8: ((int8_t *)p)[i] = (int8_t)(int64_t)v; break;
    case QC_U8: ((uint8_t *)p)[i] = (uint8_t)(int64_t)v; break;
    case QC_BOOL: ((uint8_t *)p)[i] = v != 0.0; break;
    case QC_I4: case QC_U4: qc_4bit_set((uint8_t *)p, i, (int)(int64_t)v); break;
    default: break;
    }
}

static inline void qc_elem_set_i64(qc_dtype t, void *p, int64_t i, int64_t v) {
    switch (t) {
    case QC_I64: ((int64_t *)p)[i] = v; break;
    case QC_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case QC_I16: ((int16_t *)p)[i] = (int16_t)v; break;
    case QC_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case QC_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case QC_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case QC_I4: case QC_U4: qc_4bit_set((uint8_t *)p, i, (int)v); break;
    default: qc_elem_set_f64(t, p, i, (double)v); break;
    }
}

#endif
