/* pad.c — ref kernels for the data-movement ops where each output element
 * is one input element at a computed position (or a constant): Pad, Tile,
 * Expand, Trilu, DepthToSpace and SpaceToDepth.
 *
 * Each kernel walks the output in row-major order with its multi-index and
 * maps that index to the source element, one axis at a time. Elements are
 * moved without being looked at, so every dtype works, the packed 4-bit
 * types included. */
#include <string.h>

#include "backends/ref/tensor_kernels.h"
#include "ir/dtype.h"
#include "ops/infer_tensor.h"

/* Advances a row-major multi-index over dims; false after the last one. */
static bool next_index(int64_t *idx, const int64_t *dims, int32_t rank) {
    for (int32_t k = rank - 1; k >= 0; k--) {
        if (++idx[k] < dims[k]) return true;
        idx[k] = 0;
    }
    return false;
}

static void row_major_strides(const qc_tensor_desc *d, int64_t *s) {
    int64_t stride = 1;
    for (int32_t k = d->rank - 1; k >= 0; k--) {
        s[k] = stride;
        stride *= d->dims[k];
    }
}

/* v mod m in [0, m) for m > 0. */
static int64_t pos_mod(int64_t v, int64_t m) {
    int64_t r = v % m;
    return r < 0 ? r + m : r;
}

/* ---- Pad ---------------------------------------------------------------------- */

/* Source index along one axis for output coordinate o, or -1 for the
 * constant. Negative pads crop first (cb, ce elements off the ends), then
 * the positive pads extend the `kept` elements that remain, numpy.pad's way
 * (reflect repeats with period 2 * (kept - 1), wrap with period kept). */
static int64_t pad_source(qc_pad_mode mode, int64_t o, int64_t d, int64_t begin, int64_t end) {
    int64_t cb = begin < 0 ? -begin : 0, ce = end < 0 ? -end : 0;
    int64_t kept = d - cb - ce, j = o - (begin > 0 ? begin : 0);
    if (j >= 0 && j < kept) return cb + j;
    switch (mode) {
    case QC_PAD_CONSTANT: return -1;
    case QC_PAD_EDGE: j = j < 0 ? 0 : kept - 1; break;
    case QC_PAD_WRAP: j = pos_mod(j, kept); break;
    case QC_PAD_REFLECT:
        if (kept == 1) {
            j = 0;
        } else {
            j = pos_mod(j, 2 * (kept - 1));
            if (j >= kept) j = 2 * (kept - 1) - j;
        }
        break;
    }
    return cb + j;
}

static qc_status pad(const qc_ref_args *a) {
    /* Re-derive the plan with the same code inference used. */
    qc_type types[4] = {{0}};
    const void *data[4] = {NULL};
    for (int32_t i = 0; i < a->n_in && i < 4; i++) {
        types[i] = a->in[i].desc;
        data[i] = a->in[i].data;
    }
    qc_type out;
    qc_infer_ctx ctx = {NULL, a->node, a->n_in < 4 ? a->n_in : 4, types, data, 1, &out};
    int64_t begin[QC_MAX_RANK], end[QC_MAX_RANK], in_stride[QC_MAX_RANK];
    qc_pad_mode mode;
    qc_status st = qc_infer_pad_plan(&ctx, begin, end, &mode, &out);
    if (st) return st;
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    qc_dtype t = x->desc.dtype;
    /* The constant in the data's own encoding: input 2, or the float
     * attribute `value` (opsets before 11), or 0. */
    uint8_t cval[8] = {0};
    if (a->n_in > 2 && a->in[2].data && qc_type_numel(&a->in[2].desc) == 1)
        qc_ref_copy_elems(t, cval, 0, a->in[2].data, 0, 1);
    else if (qc_dtype_is_float(t))
        qc_elem_set_f64(t, cval, 0, qc_attr_float(a->node, "value", 0.0f));
    else
        qc_elem_set_i64(t, cval, 0, qc_ref_float_to_int(qc_attr_float(a->node, "value", 0.0f), t));
    row_major_strides(&x->desc, in_stride);
    int64_t n = qc_type_numel(&y->desc), idx[QC_MAX_RANK] = {0};
    for (int64_t i = 0; i < n; i++, next_index(idx, y->desc.dims, y->desc.rank)) {
        int64_t src = 0;
        for (int32_t k = 0; k < x->desc.rank && src >= 0; k++) {
            int64_t s = pad_source(mode, idx[k], x->desc.dims[k], begin[k], end[k]);
            src = s < 0 ? -1 : src + s * in_stride[k];
        }
        if (src < 0) qc_ref_copy_elems(t, y->data, i, cval, 0, 1);
        else qc_ref_copy_elems(t, y->data, i, x->data, src, 1);
    }
    return NULL;
}

/* ---- Tile, Expand ---------------------------------------------------------------- */

static qc_status tile(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    int64_t in_stride[QC_MAX_RANK], idx[QC_MAX_RANK] = {0}, n = qc_type_numel(&y->desc);
    row_major_strides(&x->desc, in_stride);
    for (int64_t i = 0; i < n; i++, next_index(idx, y->desc.dims, y->desc.rank)) {
        int64_t src = 0;   /* output elements exist only where every input dim is > 0 */
        for (int32_t k = 0; k < x->desc.rank; k++)
            src += (idx[k] % x->desc.dims[k]) * in_stride[k];
        qc_ref_copy_elems(x->desc.dtype, y->data, i, x->data, src, 1);
    }
    return NULL;
}

static qc_status expand(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    int64_t s[QC_MAX_RANK], idx[QC_MAX_RANK] = {0}, n = qc_type_numel(&y->desc);
    qc_ref_bcast_strides(&x->desc, y->desc.rank, s);
    for (int64_t i = 0; i < n; i++, next_index(idx, y->desc.dims, y->desc.rank)) {
        int64_t src = 0;
        for (int32_t k = 0; k < y->desc.rank; k++) src += idx[k] * s[k];
        qc_ref_copy_elems(x->desc.dtype, y->data, i, x->data, src, 1);
    }
    return NULL;
}

/* ---- Trilu ----------------------------------------------------------------------- */

/* Keeps the elements on and above (upper=1) or on and below (upper=0) the
 * k-th diagonal of every matrix in the last two dims; the rest stay zero
 * (outputs are allocated zeroed). */
static qc_status trilu(const qc_ref_args *a) {
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    bool upper = qc_attr_int(a->node, "upper", 1) != 0;
    int64_t k = a->n_in > 1 && a->in[1].data ? qc_elem_get_i64(QC_I64, a->in[1].data, 0) : 0;
    int32_t r = x->desc.rank;
    int64_t rows = x->desc.dims[r - 2], cols = x->desc.dims[r - 1];
    int64_t n = qc_type_numel(&x->desc);
    for (int64_t i = 0; i < n; i++) {
        int64_t col = i % cols, row = (i / cols) % rows;
        int64_t diag = col - row;   /* |diag| < 2^56: no overflow comparing with any k */
        if (upper ? diag >= k : diag <= k)
            qc_ref_copy_elems(x->desc.dtype, y->data, i, x->data, i, 1);
    }
    return NULL;
}

/* ---- DepthToSpace, SpaceToDepth ------------------------------------------------- */

/* Both ops pair a [N, C, H, W] "depth" tensor with a [N, C / b^2, H * b,
 * W * b] "space" tensor: space[n, c, h * b + i, w * b + j] is
 * depth[n, ch, h, w] with ch = (i * b + j) * Cs + c (DCR, and SpaceToDepth)
 * or c * b * b + i * b + j (CRD), Cs being the space tensor's channels. */
static qc_status depth_space(const qc_ref_args *a) {
    bool to_space = a->node->op == QC_OP_DEPTH_TO_SPACE;
    const qc_tensor *x = &a->in[0];
    qc_tensor *y = &a->out[0];
    const qc_tensor_desc *sp = to_space ? &y->desc : &x->desc;   /* the space side */
    const qc_tensor_desc *dp = to_space ? &x->desc : &y->desc;   /* the depth side */
    int64_t b = qc_attr_int(a->node, "blocksize", 1);
    bool crd = to_space && strcmp(qc_attr_string(a->node, "mode", "DCR"), "CRD") == 0;
    int64_t cs = sp->dims[1], cd = dp->dims[1], hd = dp->dims[2], wd = dp->dims[3];
    int64_t idx[4] = {0}, n = qc_type_numel(sp);
    for (int64_t s = 0; s < n; s++, next_index(idx, sp->dims, 4)) {
        int64_t c = idx[1], h = idx[2] / b, i = idx[2] % b, w = idx[3] / b, j = idx[3] % b;
        int64_t ch = crd ? c * b * b + i * b + j : (i * b + j) * cs + c;
        int64_t d = ((idx[0] * cd + ch) * hd + h) * wd + w;
        if (to_space) qc_ref_copy_elems(x->desc.dtype, y->data, s, x->data, d, 1);
        else qc_ref_copy_elems(x->desc.dtype, y->data, d, x->data, s, 1);
    }
    return NULL;
}

qc_status qc_ref_pad(const qc_ref_args *a) {
    switch (a->node->op) {
    case QC_OP_PAD: return pad(a);
    case QC_OP_TILE: return tile(a);
    case QC_OP_EXPAND: return expand(a);
    case QC_OP_TRILU: return trilu(a);
    default: return depth_space(a);
    }
}
