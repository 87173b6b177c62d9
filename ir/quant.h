/* quant.h — the numerics contract for quantized arithmetic, written once.
 *
 * Header-only: the ref interpreter, the compiler passes and every backend's
 * runtime side include this same code, so an integer result can only differ
 * between backends if a backend stops using it. All arithmetic is fp32 with
 * round-half-to-even (rintf under the default rounding mode); build with
 * -ffp-contract=off so no FMA contraction changes a rounding.
 *
 * Formulas (ONNX semantics):
 *   quantize    q = saturate(rint(x / scale) + zp)
 *   dequantize  x = (float)(q - zp) * scale
 *   requantize  q = saturate(rint((float)acc * multiplier) + zp)
 *               multiplier = (scale_a * scale_b) / scale_y   (fp32, this order)
 * NaN inputs quantize to the zero point (ONNX leaves them undefined). */
#ifndef QC_IR_QUANT_H
#define QC_IR_QUANT_H

#include <math.h>
#include <stdint.h>

/* Round-half-even of r (already integral), plus zp, saturated to [lo, hi].
 * Clamping happens before the conversion so that huge or infinite values
 * never reach an out-of-range float->int conversion (UB in C). The bounds
 * lo - zp and hi - zp are compared in double, where they are exact: as floats
 * they would round once |lo - zp| or |hi - zp| passes 2^24 (int32 outputs,
 * or a large zp) and clamp values that are still in range. */
static inline int32_t qc_sat_round_add(float r, int32_t zp, int32_t lo, int32_t hi) {
    if (isnan(r)) r = 0.0f;
    double dlo = (double)((int64_t)lo - zp), dhi = (double)((int64_t)hi - zp);
    if ((double)r <= dlo) return lo;
    if ((double)r >= dhi) return hi;
    int64_t v = (int64_t)r + zp;         /* |r| < 2^33 here: the conversion is exact */
    return (int32_t)v;
}

static inline int32_t qc_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
    return qc_sat_round_add(rintf(x / scale), zp, lo, hi);
}

static inline float qc_dequantize(int32_t q, float scale, int32_t zp) {
    return (float)((int64_t)q - zp) * scale;   /* int64: q - zp can overflow int32 */
}

static inline float qc_requant_multiplier(float scale_a, float scale_b, float scale_y) {
    return (scale_a * scale_b) / scale_y;
}

static inline int32_t qc_requantize(int32_t acc, float multiplier, int32_t zp, int32_t lo,
                                    int32_t hi) {
    return qc_sat_round_add(rintf((float)acc * multiplier), zp, lo, hi);
}

/* DynamicQuantizeLinear (ONNX, uint8 output): range always includes 0,
 *   scale = (max(0,xmax) - min(0,xmin)) / 255
 *   zp    = saturate(rint(0 - min(0,xmin) / scale)) in [0, 255]
 * A zero range (all inputs 0) gives scale 0 and zp 0; quantizing with scale 0
 * is then defined as 0 (ONNX divides by zero there). */
static inline void qc_dynamic_qparams_u8(float xmin, float xmax, float *scale, int32_t *zp) {
    float lo = xmin < 0.0f ? xmin : 0.0f, hi = xmax > 0.0f ? xmax : 0.0f;
    float s = (hi - lo) / 255.0f;
    *scale = s;
    *zp = s == 0.0f ? 0 : qc_sat_round_add(rintf(0.0f - lo / s), 0, 0, 255);
}

#endif
