/* qconv.c — ref kernels for QLinearConv and ConvInteger: a direct integer
 * convolution of (x - x_zp) and (w - w_zp) accumulated in int32 (plus the
 * i32 bias for QLinearConv), then requantized per output channel with
 * multiplier (x_scale * w_scale[oc]) / y_scale (ir/quant.h).
 *
 * The conv geometry (auto_pad, pads, strides, dilations, groups) follows
 * ONNX Conv and matches the output shape computed in ir/infer_quant.c; the
 * float Conv in nn*.c has its own copy, which could later become one shared
 * helper. Padding contributes nothing: a padded x equals x_zp, so x - x_zp
 * is 0 there. */
#include <string.h>

#include "backends/ref/quant_kernels.h"
#include "ir/quant.h"

#define SP_MAX (QC_MAX_RANK - 2)

typedef struct conv_geom {
    int32_t sp;                    /* spatial rank */
    int64_t batch, c, m, cg, mg;   /* channels in / out, and per group */
    int64_t in[SP_MAX], k[SP_MAX], out[SP_MAX];
    int64_t stride[SP_MAX], dil[SP_MAX], pad[SP_MAX];   /* pad: leading side */
    int64_t in_size, k_size, out_size;                  /* spatial products */
} conv_geom;

/* An ints attribute already validated by inference, or def everywhere. */
static void attr_ints(const qc_node *n, const char *key, int32_t len, int64_t def, int64_t *v) {
    const qc_attr *a = qc_node_attr(n, key);
    for (int32_t i = 0; i < len; i++) v[i] = a && a->n == len ? a->ints[i] : def;
}

static conv_geom make_geom(const qc_node *n, const qc_tensor *x, const qc_tensor *w,
                           const qc_tensor *y) {
    const qc_tensor_desc *xd = &x->desc, *wd = &w->desc, *yd = &y->desc;
    int64_t group = qc_attr_int(n, "group", 1);
    conv_geom g = {.sp = xd->rank - 2, .batch = xd->dims[0], .c = xd->dims[1],
                   .m = wd->dims[0], .in_size = 1, .k_size = 1, .out_size = 1};
    g.cg = g.c / group;
    g.mg = g.m / group;
    int64_t pads[2 * SP_MAX];
    attr_ints(n, "strides", g.sp, 1, g.stride);
    attr_ints(n, "dilations", g.sp, 1, g.dil);
    attr_ints(n, "pads", 2 * g.sp, 0, pads);
    const char *ap = qc_attr_string(n, "auto_pad", "NOTSET");
    for (int32_t d = 0; d < g.sp; d++) {
        g.in[d] = xd->dims[d + 2];
        g.k[d] = wd->dims[d + 2];
        g.out[d] = yd->dims[d + 2];
        g.pad[d] = pads[d];
        if (!strcmp(ap, "VALID")) g.pad[d] = 0;
        if (!strncmp(ap, "SAME_", 5)) {
            /* Total padding that makes out = ceil(in / stride); the odd
             * element goes at the end for SAME_UPPER, the start for LOWER. */
            int64_t extent = (g.k[d] - 1) * g.dil[d] + 1;
            int64_t total = (g.out[d] - 1) * g.stride[d] + extent - g.in[d];
            if (total < 0) total = 0;
            g.pad[d] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
        }
        g.in_size *= g.in[d];
        g.k_size *= g.k[d];
        g.out_size *= g.out[d];
    }
    return g;
}

/* Offset into one x channel plane of kernel tap `kk` for output position
 * `o`, or -1 when the tap falls into the padding. */
static int64_t tap_offset(const conv_geom *g, int64_t o, int64_t kk) {
    int64_t off = 0;
    int64_t oc[SP_MAX], kc[SP_MAX];
    for (int32_t d = g->sp - 1; d >= 0; d--) {
        oc[d] = o % g->out[d];
        o /= g->out[d];
        kc[d] = kk % g->k[d];
        kk /= g->k[d];
    }
    for (int32_t d = 0; d < g->sp; d++) {
        int64_t pos = oc[d] * g->stride[d] - g->pad[d] + kc[d] * g->dil[d];
        if (pos < 0 || pos >= g->in[d]) return -1;
        off = off * g->in[d] + pos;
    }
    return off;
}

/* acc[b][oc][o] = bias[oc] + sum over the group's input channels and kernel
 * taps of xw * ww (both already q - zp). */
static void int_conv(const conv_geom *g, const int32_t *xw, const int32_t *ww,
                     const int32_t *bias, int32_t *acc) {
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t oc = 0; oc < g->m; oc++) {
            int64_t first_ic = oc / g->mg * g->cg;
            for (int64_t o = 0; o < g->out_size; o++) {
                int32_t s = bias ? bias[oc] : 0;
                for (int64_t ic = 0; ic < g->cg; ic++) {
                    const int32_t *xp = xw + (b * g->c + first_ic + ic) * g->in_size;
                    const int32_t *wp = ww + (oc * g->cg + ic) * g->k_size;
                    for (int64_t kk = 0; kk < g->k_size; kk++) {
                        int64_t off = tap_offset(g, o, kk);
                        if (off >= 0) s = qk_wrap_add(s, xp[off] * wp[kk]);
                    }
                }
                acc[(b * g->m + oc) * g->out_size + o] = s;
            }
        }
}

/* Runs the integer conv of x (input ix, zero point izx) and w (iw, izw)
 * into acc (y's element count). w's zero point may be per output channel:
 * element i of w belongs to channel i / (C/group * k_size). */
static qc_status conv_acc(const qc_ref_args *a, int32_t ix, int32_t izx, int32_t iw,
                          int32_t izw, const int32_t *bias, const conv_geom *g, int32_t *acc) {
    int32_t *xw = qk_widen_minus_zp(qk_in(a, ix), qk_in(a, izx), 1);
    int32_t *ww = qk_widen_minus_zp(qk_in(a, iw), qk_in(a, izw), g->cg * g->k_size);
    if (xw && ww) int_conv(g, xw, ww, bias, acc);
    free(xw);
    free(ww);
    return xw && ww ? NULL : qc_node_error(a->node, QC_ERR_NOMEM, "out of memory");
}

/* ConvInteger(x, w, x_zero_point?, w_zero_point?) -> i32. */
qc_status qc_ref_conv_integer(const qc_ref_args *a) {
    conv_geom g = make_geom(a->node, qk_in(a, 0), qk_in(a, 1), &a->out[0]);
    return conv_acc(a, 0, 2, 1, 3, NULL, &g, a->out[0].data);
}

/* QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?). */
qc_status qc_ref_qlinear_conv(const qc_ref_args *a) {
    qc_tensor *y = &a->out[0];
    conv_geom g = make_geom(a->node, qk_in(a, 0), qk_in(a, 3), y);
    int64_t n = qk_numel(y);
    if ((uint64_t)n > SIZE_MAX / sizeof(int32_t) - 1)
        return qc_node_error(a->node, QC_ERR_NOMEM, "output too large");
    int32_t *acc = malloc((size_t)(n ? n : 1) * sizeof *acc);
    if (!acc) return qc_node_error(a->node, QC_ERR_NOMEM, "out of memory");
    const qc_tensor *bias = qk_in(a, 8);
    qc_status st = conv_acc(a, 0, 2, 3, 5, qk_present(bias) ? bias->data : NULL, &g, acc);
    float sx = qk_scale_at(qk_in(a, 1), 0), sy = qk_scale_at(qk_in(a, 6), 0);
    const qc_tensor *sw = qk_in(a, 4);
    int32_t zy = qk_zp_at(qk_in(a, 7), 0);
    int64_t lo, hi;
    qc_dtype_int_range(y->desc.dtype, &lo, &hi);
    for (int64_t e = 0; !st && e < n; e++) {
        int64_t oc = e / g.out_size % g.m;
        float mult = qc_requant_multiplier(sx, qk_scale_at(sw, oc), sy);
        qc_elem_set_i64(y->desc.dtype, y->data, e,
                        qc_requantize(acc[e], mult, zy, (int32_t)lo, (int32_t)hi));
    }
    free(acc);
    return st;
}
