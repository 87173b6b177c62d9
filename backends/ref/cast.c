/* cast.c — the ref kernel for Cast. Every float conversion goes through
 * ir/dtype.h, so Cast, constant folding and every backend's runtime share one
 * definition of f16/bf16/fp8 rounding. What ONNX leaves open is decided here:
 *
 *  - float -> integer: NaN becomes 0 and values beyond the target's range
 *    saturate to its min/max; in range, the fraction is truncated toward zero
 *    (a C cast). ONNX Runtime uses a bare static_cast, which is undefined
 *    behaviour out of range, so there is no behaviour to match there;
 *  - integer -> narrower integer wraps (two's complement), like ONNX Runtime,
 *    except int4/uint4 targets, which clamp to [-8, 7] / [0, 15] as ONNX
 *    Runtime's 4-bit Cast does;
 *  - anything -> bool is v != 0 (so NaN -> 1); bool -> anything is 0 or 1;
 *  - fp8 targets saturate by default; saturate=0 follows the ONNX table
 *    (out of range -> NaN for e4m3fn, +-inf for e5m2), where "out of range"
 *    means "rounds (to nearest even) past the largest finite value". ONNX
 *    Runtime's bit-twiddling encoder differs for e4m3fn in [480, 496), which
 *    it maps to 448; we keep the monotonic rule. */
#include <math.h>
#include <string.h>

#include "backends/ref/tensor_kernels.h"
#include "ir/dtype.h"

int64_t qc_ref_float_to_int(double v, qc_dtype t) {
    int64_t lo, hi;
    qc_dtype_int_range(t, &lo, &hi);
    if (isnan(v)) return 0;
    /* (double)hi may round up (INT64_MAX -> 2^63); v >= it is out of range
     * either way, and every v below it truncates to at most hi. */
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

/* int64 -> double, rounded to odd when inexact (|v| > 2^53): the last
 * mantissa bit is forced to 1, so the narrowing in qc_elem_set_f64 that
 * follows rounds as if from v itself (the same trick as qc_f64_to_f32_odd). */
static double i64_to_f64_odd(int64_t v) {
    double d = (double)v;
    bool away;   /* |d| > |v| */
    if (d >= 9223372036854775808.0) away = true;   /* 2^63: above every int64 */
    else if ((int64_t)d == v) return d;
    else away = v > 0 ? (int64_t)d > v : (int64_t)d < v;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    if (bits & 1u) return d;
    bits = away ? bits - 1u : bits + 1u;   /* step toward v: the odd neighbour */
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* fp8 with saturate=0. A value that rounds past the largest finite value
 * (including inf) overflows. The boundary is the midpoint above the max, and
 * a tie goes to the even neighbour: e4m3fn's max 448 = 1.110b * 2^8 is even,
 * so 464 still rounds to 448; e5m2's max 57344 = 1.11b * 2^15 is odd, so
 * 61440 rounds up and overflows. */
static void set_fp8_unsaturated(qc_dtype t, void *p, int64_t i, double v) {
    uint8_t sign = signbit(v) ? 0x80u : 0u;
    if (t == QC_F8E4M3FN && fabs(v) > 464.0)
        ((uint8_t *)p)[i] = (uint8_t)(sign | 0x7fu);   /* NaN: e4m3fn has no inf */
    else if (t == QC_F8E5M2 && fabs(v) >= 61440.0)
        ((uint8_t *)p)[i] = (uint8_t)(sign | 0x7cu);   /* +-inf */
    else
        qc_elem_set_f64(t, p, i, v);
}

static bool is_fp8(qc_dtype t) { return t == QC_F8E4M3FN || t == QC_F8E5M2; }

static void store_float(qc_dtype to, void *p, int64_t i, double v, bool saturate) {
    if (to == QC_BOOL) qc_elem_set_i64(to, p, i, v != 0.0);
    else if (qc_dtype_is_int(to)) qc_elem_set_i64(to, p, i, qc_ref_float_to_int(v, to));
    else if (is_fp8(to) && !saturate) set_fp8_unsaturated(to, p, i, v);
    else qc_elem_set_f64(to, p, i, v);
}

static void store_int(qc_dtype to, void *p, int64_t i, int64_t v, bool saturate) {
    if (to == QC_BOOL) {
        qc_elem_set_i64(to, p, i, v != 0);
    } else if (to == QC_I4 || to == QC_U4) {
        int64_t lo, hi;
        qc_dtype_int_range(to, &lo, &hi);
        qc_elem_set_i64(to, p, i, v < lo ? lo : v > hi ? hi : v);
    } else if (qc_dtype_is_int(to)) {
        qc_elem_set_i64(to, p, i, v);   /* wraps */
    } else if (to == QC_F64) {
        qc_elem_set_f64(to, p, i, (double)v);   /* one rounding, to nearest */
    } else {
        store_float(to, p, i, i64_to_f64_odd(v), saturate);
    }
}

qc_status qc_ref_cast(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    qc_dtype from = x->desc.dtype, to = y->desc.dtype;
    bool saturate = qc_attr_int(a->node, "saturate", 1) != 0;
    int64_t n = qc_type_numel(&x->desc);
    if (from == to) {
        size_t bytes = qc_dtype_bytes(from, n);
        if (bytes) memcpy(y->data, x->data, bytes);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        if (qc_dtype_is_float(from))
            store_float(to, y->data, i, qc_elem_get_f64(from, x->data, i), saturate);
        else
            store_int(to, y->data, i, qc_elem_get_i64(from, x->data, i), saturate);
    }
    return NULL;
}
