/* shape.c — ref kernels for Identity and the shape/data-movement ops:
 * Reshape, Flatten, Squeeze, Unsqueeze (pure copies: row-major order does not
 * change), Transpose, Slice (strided copies), Concat, Split, Gather (block
 * copies); and the shape computations Shape, Size, ConstantOfShape, Range
 * and Dropout (inference mode). They move elements without looking at them, so they work for every
 * dtype, including the packed int4 types, whose elements may start mid-byte
 * and are therefore moved one at a time. */
#include <string.h>

#include "backends/ref/tensor_kernels.h"
#include "ir/dtype.h"
#include "ops/infer_tensor.h"

void qc_ref_copy_elems(qc_dtype t, void *dst, int64_t di, const void *src, int64_t si,
                       int64_t count) {
    int bits = qc_dtype_bits(t);
    if (bits == 4) {
        for (int64_t k = 0; k < count; k++)
            qc_elem_set_i64(t, dst, di + k, qc_elem_get_i64(t, src, si + k));
        return;
    }
    size_t size = (size_t)bits / 8;
    if (count > 0)
        memcpy((char *)dst + (size_t)di * size, (const char *)src + (size_t)si * size,
               (size_t)count * size);
}

static void copy_all(const qc_ref_args *a) {
    size_t bytes = qc_dtype_bytes(a->in[0].desc.dtype, qc_type_numel(&a->in[0].desc));
    if (bytes) memcpy(a->out[0].data, a->in[0].data, bytes);
}

/* Product of dims [lo, hi). */
static int64_t prod(const qc_tensor_desc *d, int32_t lo, int32_t hi) {
    int64_t n = 1;
    for (int32_t k = lo; k < hi; k++) n *= d->dims[k];
    return n;
}

static int32_t norm_axis(int64_t axis, int32_t rank) {
    return (int32_t)(axis < 0 ? axis + rank : axis);
}

/* out[i] = src[base + sum_k idx_k * stride[k]] for every output index in
 * row-major order. */
static void strided_copy(qc_dtype t, void *dst, const qc_tensor_desc *out, const void *src,
                         int64_t base, const int64_t *stride) {
    int64_t n = qc_type_numel(out), idx[QC_MAX_RANK] = {0}, off = base;
    for (int64_t i = 0; i < n; i++) {
        qc_ref_copy_elems(t, dst, i, src, off, 1);
        for (int32_t k = out->rank - 1; k >= 0; k--) {
            off += stride[k];
            if (++idx[k] < out->dims[k]) break;
            off -= stride[k] * out->dims[k];
            idx[k] = 0;
        }
    }
}

static void row_major_strides(const qc_tensor_desc *d, int64_t *s) {
    int64_t stride = 1;
    for (int32_t k = d->rank - 1; k >= 0; k--) {
        s[k] = stride;
        stride *= d->dims[k];
    }
}

static qc_status transpose(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    const qc_attr *perm = qc_node_attr(a->node, "perm");
    int64_t in_stride[QC_MAX_RANK], stride[QC_MAX_RANK];
    row_major_strides(&x->desc, in_stride);
    for (int32_t k = 0; k < x->desc.rank; k++)
        stride[k] = in_stride[perm ? perm->ints[k] : x->desc.rank - 1 - k];
    strided_copy(x->desc.dtype, a->out[0].data, &a->out[0].desc, x->data, 0, stride);
    return NULL;
}

static qc_status slice(const qc_ref_args *a) {
    /* Re-derive the plan with the same code inference used. */
    qc_type types[5];
    const void *data[5];
    int32_t n_in = a->n_in < 5 ? a->n_in : 5;
    for (int32_t i = 0; i < n_in; i++) {
        types[i] = a->in[i].desc;
        data[i] = a->in[i].data;
    }
    qc_type out;
    qc_infer_ctx ctx = {NULL, a->node, n_in, types, data, 1, &out};
    int64_t start[QC_MAX_RANK], step[QC_MAX_RANK], in_stride[QC_MAX_RANK], stride[QC_MAX_RANK];
    qc_status st = qc_infer_slice_plan(&ctx, start, step, &out);
    if (st) return st;
    const qc_tensor *x = &a->in[0];
    row_major_strides(&x->desc, in_stride);
    int64_t base = 0;
    for (int32_t k = 0; k < x->desc.rank; k++) {
        base += start[k] * in_stride[k];
        /* An axis read at most once never advances; skipping the product
         * also avoids overflow for huge steps that select a single element. */
        stride[k] = out.dims[k] > 1 ? step[k] * in_stride[k] : 0;
    }
    strided_copy(x->desc.dtype, a->out[0].data, &out, x->data, base, stride);
    return NULL;
}

static qc_status concat(const qc_ref_args *a) {
    const qc_tensor_desc *od = &a->out[0].desc;
    qc_dtype t = od->dtype;
    int32_t axis = norm_axis(qc_attr_int(a->node, "axis", 0), od->rank);
    int64_t outer = prod(od, 0, axis), inner = prod(od, axis + 1, od->rank), at = 0;
    for (int64_t o = 0; o < outer; o++) {
        for (int32_t j = 0; j < a->n_in; j++) {
            int64_t chunk = a->in[j].desc.dims[axis] * inner;
            qc_ref_copy_elems(t, a->out[0].data, at, a->in[j].data, o * chunk, chunk);
            at += chunk;
        }
    }
    return NULL;
}

static qc_status split(const qc_ref_args *a) {
    const qc_tensor_desc *xd = &a->in[0].desc;
    qc_dtype t = xd->dtype;
    int32_t axis = norm_axis(qc_attr_int(a->node, "axis", 0), xd->rank);
    int64_t outer = prod(xd, 0, axis), inner = prod(xd, axis + 1, xd->rank), at = 0;
    for (int64_t o = 0; o < outer; o++) {
        for (int32_t j = 0; j < a->n_out; j++) {
            int64_t chunk = a->out[j].desc.dims[axis] * inner;
            qc_ref_copy_elems(t, a->out[j].data, o * chunk, a->in[0].data, at, chunk);
            at += chunk;
        }
    }
    return NULL;
}

static qc_status gather(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0], *ix = &a->in[1];
    qc_dtype t = x->desc.dtype;
    int32_t axis = norm_axis(qc_attr_int(a->node, "axis", 0), x->desc.rank);
    int64_t outer = prod(&x->desc, 0, axis), d = x->desc.dims[axis];
    int64_t inner = prod(&x->desc, axis + 1, x->desc.rank), m = qc_type_numel(&ix->desc);
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < m; j++) {
            int64_t k = qc_elem_get_i64(ix->desc.dtype, ix->data, j);
            if (k < -d || k >= d)   /* inference checks this too; never read out of bounds */
                return qc_node_error(a->node, QC_ERR_INVALID,
                                     "index %lld out of range for axis %d of size %lld",
                                     (long long)k, (int)axis, (long long)d);
            if (k < 0) k += d;
            qc_ref_copy_elems(t, a->out[0].data, (o * m + j) * inner, x->data,
                              (o * d + k) * inner, inner);
        }
    }
    return NULL;
}

/* ---- shape computation: Shape, Size, ConstantOfShape, Range, Dropout ------ */

static qc_status shape_of(const qc_ref_args *a) {
    const qc_tensor_desc *xd = &a->in[0].desc;
    int64_t start, end;
    qc_infer_shape_range(a->node, xd->rank, &start, &end);
    for (int64_t k = start; k < end; k++)
        qc_elem_set_i64(QC_I64, a->out[0].data, k - start, xd->dims[k]);
    return NULL;
}

static qc_status constant_of_shape(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    qc_dtype t = y->desc.dtype;
    const qc_attr *v = qc_node_attr(a->node, "value");
    int64_t n = qc_type_numel(&y->desc);
    /* Inference checked the kind; a FLOAT value for an integer dtype is integral. */
    for (int64_t i = 0; v && i < n; i++) {
        if (v->kind == QC_ATTR_INT) qc_elem_set_i64(t, y->data, i, v->i);
        else if (qc_dtype_is_float(t)) qc_elem_set_f64(t, y->data, i, v->f);
        else qc_elem_set_i64(t, y->data, i, qc_ref_float_to_int(v->f, t));
    }
    return NULL;   /* no value: the zeroed output already is the default 0 */
}

/* start + i * delta for each output element. Integers step in uint64 (no
 * overflow: every value lies between start and limit); floats are computed
 * in double and rounded once, like numpy.arange, rather than accumulated. */
static qc_status range(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    qc_dtype t = y->desc.dtype;
    int64_t n = qc_type_numel(&y->desc);
    if (qc_dtype_is_int(t)) {
        uint64_t s = (uint64_t)qc_elem_get_i64(t, a->in[0].data, 0);
        uint64_t d = (uint64_t)qc_elem_get_i64(t, a->in[2].data, 0);
        for (int64_t i = 0; i < n; i++)
            qc_elem_set_i64(t, y->data, i, (int64_t)(s + (uint64_t)i * d));
    } else {
        double s = qc_elem_get_f64(t, a->in[0].data, 0), d = qc_elem_get_f64(t, a->in[2].data, 0);
        for (int64_t i = 0; i < n; i++) qc_elem_set_f64(t, y->data, i, s + (double)i * d);
    }
    return NULL;
}

/* Inference mode (training_mode=true is refused by inference): the output
 * is the input and the optional mask is all true. */
static qc_status dropout(const qc_ref_args *a) {
    copy_all(a);
    if (a->n_out > 1) {
        int64_t n = qc_type_numel(&a->out[1].desc);
        for (int64_t i = 0; i < n; i++) qc_elem_set_i64(QC_BOOL, a->out[1].data, i, 1);
    }
    return NULL;
}

qc_status qc_ref_shape(const qc_ref_args *a) {
    switch (a->node->op) {
    case QC_OP_SHAPE: return shape_of(a);
    case QC_OP_SIZE:
        qc_elem_set_i64(QC_I64, a->out[0].data, 0, qc_type_numel(&a->in[0].desc));
        return NULL;
    case QC_OP_CONSTANT_OF_SHAPE: return constant_of_shape(a);
    case QC_OP_RANGE: return range(a);
    case QC_OP_DROPOUT: return dropout(a);
    case QC_OP_TRANSPOSE: return transpose(a);
    case QC_OP_SLICE: return slice(a);
    case QC_OP_CONCAT: return concat(a);
    case QC_OP_SPLIT: return split(a);
    case QC_OP_GATHER: return gather(a);
    default:   /* Identity, Reshape, Flatten, Squeeze, Unsqueeze */
        copy_all(a);
        return NULL;
    }
}
