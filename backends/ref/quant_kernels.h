/* quant_kernels.h — internal to the ref backend: the quantized kernels split
 * over quant.c (Q/DQ, DynamicQuantizeLinear, QLinearAdd/Mul, dispatch),
 * qmatmul.c and qconv.c, and the small helpers they share.
 *
 * Every kernel runs after type inference (ir/infer_quant.c) accepted the
 * node for these exact input types and data, so shapes, dtypes and
 * parameter layouts are already consistent; the kernels only compute.
 * All quantize / dequantize / requantize arithmetic goes through ir/quant.h. */
#ifndef QC_BACKENDS_REF_QUANT_KERNELS_H
#define QC_BACKENDS_REF_QUANT_KERNELS_H

#include <stdint.h>
#include <stdlib.h>

#include "backends/ref/kernels.h"
#include "ir/dtype.h"
#include "ops/op.h"

qc_status qc_ref_qlinear_matmul(const qc_ref_args *a);   /* qmatmul.c */
qc_status qc_ref_matmul_integer(const qc_ref_args *a);   /* qmatmul.c */
qc_status qc_ref_qlinear_conv(const qc_ref_args *a);     /* qconv.c */
qc_status qc_ref_conv_integer(const qc_ref_args *a);     /* qconv.c */

/* Input i, or an empty (absent) tensor when the node has fewer inputs:
 * optional trailing inputs may be left out entirely. */
static inline const qc_tensor *qk_in(const qc_ref_args *a, int32_t i) {
    static const qc_tensor absent;
    return i < a->n_in ? &a->in[i] : &absent;
}

static inline int64_t qk_numel(const qc_tensor *t) { return qc_type_numel(&t->desc); }

static inline bool qk_present(const qc_tensor *t) {
    return t->desc.dtype != QC_DT_UNDEF && t->data != NULL;
}

/* Entry i of a scale that is either per tensor (one entry) or a vector. */
static inline float qk_scale_at(const qc_tensor *s, int64_t i) {
    return ((const float *)s->data)[qk_numel(s) == 1 ? 0 : i];
}

/* Entry i of an optional zero point (absent means 0), like qk_scale_at. */
static inline int32_t qk_zp_at(const qc_tensor *z, int64_t i) {
    if (!qk_present(z)) return 0;
    return (int32_t)qc_elem_get_i64(z->desc.dtype, z->data, qk_numel(z) == 1 ? 0 : i);
}

/* int32 accumulation that wraps like the hardware does instead of being
 * undefined behaviour: only reachable with absurdly long reductions
 * (255 * 255 * 33000 > 2^31), but a reference must not crash on them. */
static inline int32_t qk_wrap_add(int32_t acc, int32_t v) {
    return (int32_t)((uint32_t)acc + (uint32_t)v);
}

/* Widens an 8-bit tensor to int32 with its zero point subtracted, so the
 * integer loops work on exact (q - zp) values. Element i uses zero point
 * entry (i / inner) % zp_count: inner = K, count = M for a per-row matmul
 * operand; inner = 1, count = N per column; inner = C/group*k.., count = M
 * for per-output-channel conv weights. NULL if out of memory. */
static inline int32_t *qk_widen_minus_zp(const qc_tensor *t, const qc_tensor *zp, int64_t inner) {
    int64_t n = qk_numel(t);
    int64_t zcount = qk_present(zp) ? qk_numel(zp) : 1;
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(int32_t) - 1) return NULL;
    int32_t *w = malloc((size_t)(n ? n : 1) * sizeof *w);
    if (!w) return NULL;
    for (int64_t i = 0; i < n; i++)   /* n > 0 implies inner > 0 */
        w[i] = (int32_t)qc_elem_get_i64(t->desc.dtype, t->data, i) -
               qk_zp_at(zp, (i / inner) % zcount);
    return w;
}

/* Index into an input of shape idims (rank irank, right-aligned against the
 * output shape odims of rank orank, numpy broadcasting) of output element
 * oi. Dims of size 1 in the input repeat. Only called for a non-empty
 * output, so no odims entry is 0. */
static inline int64_t qk_broadcast_index(const int64_t *odims, int32_t orank,
                                         const int64_t *idims, int32_t irank, int64_t oi) {
    int64_t index = 0, stride = 1;
    for (int32_t d = orank - 1; d >= 0; d--) {
        int64_t coord = oi % odims[d];
        oi /= odims[d];
        int32_t id = d - (orank - irank);
        if (id < 0) break;
        if (idims[id] != 1) index += coord * stride;
        stride *= idims[id];
    }
    return index;
}

#endif
