/* lower_conv.c — shader generator for int8 convolutions: qc.QConv and
 * QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias?),
 * 1-D and 2-D NCHW, any strides / pads / auto_pad / dilations / groups
 * (depthwise included), u8 / i8 activations and weights, per-tensor or
 * per-output-channel weight scale and zero point, i32 bias, act clamp, a
 * symbolic batch dim. Anything else falls back to ref with a reason.
 *
 * A direct convolution (no im2col buffer). The reduction index k runs over
 * (ic, kh, kw) of one group, exactly ONNX's W layout [M][C/group][KH][KW]
 * flattened per output channel, so the lowering packs W as
 * [M][⌈K/4⌉] uint32 words (4 int8 each, zero-padded) and stores one tap
 * table of 2 words per k: the offset of the tap inside the group's x planes
 * (ic·H·W + kh·DH·W + kw·DW) and its dilated (kh·DH, kw·DW). A shader
 * gathers four x bytes per table word into one packed word and feeds it,
 * with the weight word, to the int8 dot product (variant 0) or the unpack
 * (variant 1) that lower_gemm.c's QGemm uses.
 *
 * Numerics (backends/ref/qconv.c is the oracle): ref accumulates
 * bias + Σ over the taps inside the input of (x − zx)(w − zw[oc]) in int32
 * with wraparound. The shader substitutes zx for a tap in the padding
 * (x' = zx there, so (x' − zx) = 0, the same term ref leaves out) and then
 * sums over all K taps:
 *   Σ (x' − zx)(w − zw) = Σ x'w − zw·Σ x' − zx·Σ w + K·zx·zw,
 * so with corr[oc] = bias[oc] − zx·Σ_k w[oc][k] + K·zx·zw[oc] (computed
 * here, modulo 2^32) the accumulator is Σ x'w − zw[oc]·Σ x' + corr[oc],
 * the very int32 ref wraps to. Requantization: qc_vk_glsl_requant with
 * mult[oc] = qc_requant_multiplier(sx, sw[oc], sy), as ref computes it. */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"
#include "ops/infer_nn.h"
#include "ir/quant.h"

#define LOCAL_X 64
/* Tap coordinates are packed as 16-bit (kh·DH, kw·DW); the table's tail
 * entries (k ≥ K) use 0xffff, which lands outside any input at most
 * DIM_MAX high or wide, so they read the zero-point byte and TAILMASK
 * clears them. */
#define DIM_MAX 32767

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

static bool is_i8ish(qc_dtype t) { return t == QC_U8 || t == QC_I8; }

/* The conv's geometry as the shader sees it: 1-D convs become H = 1. */
typedef struct conv_shape {
    int64_t c, h, w, m, cg, mg, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw, k;
} conv_shape;

/* Reads and checks the shape; a reason (QC_VK_FB_*) or 0. */
static uint32_t conv_shape_get(const vk_builder *b, const qc_node *n, conv_shape *s) {
    const qc_value *X = &b->g->values[n->in[0]], *Wt = &b->g->values[n->in[3]],
                   *Y = &b->g->values[n->out[0]];
    const qc_type *xt = &X->type, *wt = &Wt->type, *yt = &Y->type;
    if (xt->rank != 3 && xt->rank != 4) return QC_VK_FB_SHAPE;   /* 3-D convs: ref */
    if (wt->rank != xt->rank || yt->rank != xt->rank) return QC_VK_FB_SHAPE;
    for (int32_t d = 1; d < xt->rank; d++)
        if (xt->dims[d] == QC_DIM_SYM || yt->dims[d] == QC_DIM_SYM || xt->dims[d] < 1 || yt->dims[d] < 1)
            return QC_VK_FB_SHAPE;
    qc_type xs = *xt;
    if (xs.dims[0] == QC_DIM_SYM) xs.dims[0] = 1;   /* the window does not depend on N */
    qc_nn_window win;
    qc_status ws = qc_nn_window_get(n, &xs, wt, &win);
    if (ws) {   /* inference accepted the node, so ref runs what we do not */
        qc_status_free(ws);
        return QC_VK_FB_SHAPE;
    }
    int32_t sp = win.nsp;
    for (int32_t i = 0; i < sp; i++)
        if (win.out[i] != yt->dims[2 + i]) return QC_VK_FB_SHAPE;
    int64_t group = qc_attr_int(n, "group", 1);
    *s = (conv_shape){.c = xt->dims[1], .m = wt->dims[0], .h = 1, .oh = 1, .kh = 1, .sh = 1, .dh = 1};
    if (group < 1 || s->c % group || s->m % group || wt->dims[1] != s->c / group || yt->dims[1] != s->m)
        return QC_VK_FB_SHAPE;
    s->cg = s->c / group;
    s->mg = s->m / group;
    int32_t i = sp == 2 ? 1 : 0;   /* W's spatial dim */
    if (sp == 2) {
        s->h = win.in[0], s->oh = win.out[0], s->kh = win.kernel[0];
        s->sh = win.stride[0], s->dh = win.dilation[0], s->ph = win.pad_begin[0];
    }
    s->w = win.in[i], s->ow = win.out[i], s->kw = win.kernel[i];
    s->sw = win.stride[i], s->dw = win.dilation[i], s->pw = win.pad_begin[i];
    s->k = s->cg * s->kh * s->kw;
    /* 32-bit indexing: one batch item of x, every stride product, the taps. */
    if (s->h > DIM_MAX || s->w > DIM_MAX || s->ph > DIM_MAX || s->pw > DIM_MAX ||
        (s->kh - 1) * s->dh >= DIM_MAX || (s->kw - 1) * s->dw >= DIM_MAX || s->oh * s->sh > (1 << 20) ||
        s->ow * s->sw > (1 << 20) || s->c * s->h * s->w > (1 << 28) || s->k > (1 << 20) ||
        s->m * s->k > (1 << 26))
        return QC_VK_FB_SIZE;
    return 0;
}

typedef struct conv_consts {
    uint32_t wt, tab, corr, zb, mult;   /* byte offsets in the constants blob */
    bool any_zb;
} conv_consts;

/* Packs W, the tap table, corr, zw and the multipliers into the blob; *ok
 * false when the quantization parameters are not covered. */
static qc_status conv_consts_add(vk_builder *b, const qc_node *n, const conv_shape *s, float sx, int32_t zx,
                                 float sy, conv_consts *cc, bool *ok) {
    const qc_value *Wt = &b->g->values[n->in[3]];
    int32_t ibias = n->n_in > 8 ? n->in[8] : -1;
    const int32_t *bias = ibias >= 0 ? b->g->values[ibias].data : NULL;
    int64_t M = s->m, K = s->k, kwd = (K + 3) / 4;
    *ok = ibias < 0 || (bias && b->g->values[ibias].type.dtype == QC_I32 &&
                        qc_type_numel(&b->g->values[ibias].type) == M);
    if (!*ok) return NULL;
    uint32_t *packed = calloc((size_t)(M * kwd), 4), *tab = malloc((size_t)kwd * 8 * 4);
    int32_t *corr = malloc((size_t)M * 4), *zw = malloc((size_t)M * 4);
    float *mult = malloc((size_t)M * 4);
    qc_status st = packed && tab && corr && zw && mult ? NULL : qc_error(QC_ERR_NOMEM, "out of memory");
    for (int64_t oc = 0; oc < M && !st && *ok; oc++) {
        float sw;
        *ok = qc_vk_const_int_at(b, n->in[5], M, oc, &zw[oc]) && qc_vk_const_f32_at(b, n->in[4], M, oc, &sw);
        if (!*ok) break;
        cc->any_zb |= zw[oc] != 0;
        mult[oc] = qc_requant_multiplier(sx, sw, sy);
        uint32_t wsum = 0;
        for (int64_t k = 0; k < K; k++) {
            int64_t q = qc_elem_get_i64(Wt->type.dtype, Wt->data, oc * K + k);
            wsum += (uint32_t)q;
            packed[oc * kwd + k / 4] |= ((uint32_t)q & 0xffu) << (8 * (k % 4));
        }
        uint32_t bv = bias ? (uint32_t)bias[oc] : 0;
        corr[oc] = (int32_t)(bv - (uint32_t)zx * wsum + (uint32_t)K * (uint32_t)zx * (uint32_t)zw[oc]);
    }
    for (int64_t k = 0; k < kwd * 4 && !st; k++) {
        if (k >= K) {
            tab[2 * k] = 0, tab[2 * k + 1] = 0xffffffffu;
            continue;
        }
        int64_t ic = k / (s->kh * s->kw), ky = k / s->kw % s->kh * s->dh, kx = k % s->kw * s->dw;
        tab[2 * k] = (uint32_t)(ic * s->h * s->w + ky * s->w + kx);
        tab[2 * k + 1] = (uint32_t)(ky << 16 | kx);
    }
    if (!st && *ok) st = qc_vk_add_const(b, packed, (size_t)(M * kwd) * 4, &cc->wt);
    if (!st && *ok) st = qc_vk_add_const(b, tab, (size_t)kwd * 8 * 4, &cc->tab);
    if (!st && *ok) st = qc_vk_add_const(b, corr, (size_t)M * 4, &cc->corr);
    if (!st && *ok && cc->any_zb) st = qc_vk_add_const(b, zw, (size_t)M * 4, &cc->zb);
    if (!st && *ok) st = qc_vk_add_const(b, mult, (size_t)M * 4, &cc->mult);
    free(packed), free(tab), free(corr), free(zw), free(mult);
    return st;
}

typedef struct conv_glsl_args {
    bool dot, x_signed, w_signed;
    int32_t zx, zy;
    int64_t lo, hi, amin, amax;
} conv_glsl_args;

static void conv_glsl(vk_text *t, const conv_shape *s, const conv_consts *cc, const conv_glsl_args *a) {
    int64_t kwd = (s->k + 3) / 4, plane = s->oh * s->ow;
    qc_vk_text_add(t, "#version 450\n");
    if (a->dot) qc_vk_text_add(t, "#extension GL_EXT_spirv_intrinsics : require\n");
    qc_vk_text_add(t,
                   "layout(local_size_x_id = 0) in;\n"
                   "layout(std430, binding = 0) buffer Arena { uint w[]; } arena;\n"
                   "layout(std430, binding = 1) readonly buffer Consts { uint w[]; } cst;\n"
                   "layout(push_constant) uniform P { uint total; uint x_off; uint y_off; } pc;\n"
                   "const uint C = %lldu, H = %lldu, W = %lldu, M = %lldu, CG = %lldu, MG = %lldu;\n"
                   "const uint OW = %lldu, PLANE = %lldu, SH = %lldu, SW = %lldu, PH = %lldu, PW = %lldu;\n"
                   "const uint K = %lldu, KWD = %lldu, ZXB = %uu;\n"
                   "#define WT %uu\n#define TAB %uu\n#define CORR %uu\n#define MULT %uu\n"
                   "#define ZY %d\n#define LO %lld\n#define HI %lld\n#define AMIN %lld\n#define AMAX %lld\n",
                   (long long)s->c, (long long)s->h, (long long)s->w, (long long)s->m, (long long)s->cg,
                   (long long)s->mg, (long long)s->ow, (long long)plane, (long long)s->sh, (long long)s->sw,
                   (long long)s->ph, (long long)s->pw, (long long)s->k, (long long)kwd, (unsigned)a->zx & 0xffu,
                   cc->wt / 4, cc->tab / 4, cc->corr / 4, cc->mult / 4, (int)a->zy, (long long)a->lo,
                   (long long)a->hi, (long long)a->amin, (long long)a->amax);
    if (cc->any_zb) qc_vk_text_add(t, "#define ZB %uu\n", cc->zb / 4);
    if (s->k % 4)
        qc_vk_text_add(t, "#define TAILMASK 0x%xu\n", (unsigned)(0xffffffffu >> (8 * (4 - s->k % 4))));
    qc_vk_glsl_int8_dot(t, a->dot, a->x_signed, a->w_signed);
    qc_vk_glsl_requant(t);
    /* Pixel j of four: pb = byte offset of x[b][group's first channel][ih0][iw0]
     * with ih0 = oh·SH − PH, iw0 = ow·SW − PW, all uint modulo 2^32, so a
     * tap's (ih0 + ky, iw0 + kx) is inside exactly when both are below H /
     * W as unsigned, and pb + d is its byte then. A padded tap reads ZXB. */
    qc_vk_text_add(t,
                   "uint x_byte(uint o) { return (arena.w[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu; }\n"
                   "uint tap(uint pb, uint ih0, uint iw0, uint d, uint kk) {\n"
                   "  return ih0 + (kk >> 16) < H && iw0 + (kk & 0xffffu) < W ? x_byte(pb + d) : ZXB;\n}\n"
                   /* x words kw of four pixels: each table entry read once */
                   "uvec4 x_words(uvec4 pb, uvec4 ih0, uvec4 iw0, uint kw) {\n"
                   "  uvec4 v = uvec4(0u);\n"
                   "  for (uint j = 0u; j < 4u; j++) {\n"
                   "    uint e = TAB + (kw * 4u + j) * 2u, d = cst.w[e], kk = cst.w[e + 1u];\n"
                   "    v.x |= tap(pb.x, ih0.x, iw0.x, d, kk) << (8u * j);\n"
                   "    v.y |= tap(pb.y, ih0.y, iw0.y, d, kk) << (8u * j);\n"
                   "    v.z |= tap(pb.z, ih0.z, iw0.z, d, kk) << (8u * j);\n"
                   "    v.w |= tap(pb.w, ih0.w, iw0.w, d, kk) << (8u * j);\n"
                   "  }\n"
                   "#ifdef TAILMASK\n  if (kw == KWD - 1u) v &= uvec4(TAILMASK);\n#endif\n"
                   "  return v;\n}\n"
                   "uint x_word(uint pb, uint ih0, uint iw0, uint kw) {\n"
                   "  uint v = 0u;\n"
                   "  for (uint j = 0u; j < 4u; j++) {\n"
                   "    uint e = TAB + (kw * 4u + j) * 2u;\n"
                   "    v |= tap(pb, ih0, iw0, cst.w[e], cst.w[e + 1u]) << (8u * j);\n"
                   "  }\n"
                   "#ifdef TAILMASK\n  if (kw == KWD - 1u) v &= TAILMASK;\n#endif\n"
                   "  return v;\n}\n"
                   "int fix(int acc, int sa, uint oc) {\n"
                   "  int v = acc + int(cst.w[CORR + oc]);\n"
                   "#ifdef ZB\n  v -= int(cst.w[ZB + oc]) * sa;\n#endif\n"
                   "  return v;\n}\n"
                   /* where output element e's pixel reads x */
                   "void place(uint e, out uint oc, out uint pb, out uint ih0, out uint iw0) {\n"
                   "  uint bm = e / PLANE, pix = e %% PLANE, oh = pix / OW, ow = pix %% OW;\n"
                   "  oc = bm %% M;\n"
                   "  ih0 = oh * SH - PH;\n  iw0 = ow * SW - PW;\n"
                   "  pb = pc.x_off + ((bm / M) * C + (oc / MG) * CG) * H * W + ih0 * W + iw0;\n}\n"
                   "void main() {\n"
                   "  uint gid = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * "
                   "gl_WorkGroupSize.x;\n"
                   "  uint e0 = gid * 4u;\n"
                   "  if (e0 >= pc.total) return;\n"
                   "  uint word = 0u;\n");
    if (plane % 4 == 0) {
        /* The four outputs are neighbouring pixels of one output channel
         * (the plane is a multiple of 4 and e0 is): each weight word is
         * loaded once for the four. */
        qc_vk_text_add(t,
                       "  uvec4 pb, ih0, iw0;\n  uint oc;\n"
                       "  place(e0, oc, pb.x, ih0.x, iw0.x);\n"
                       "  place(e0 + 1u, oc, pb.y, ih0.y, iw0.y);\n"
                       "  place(e0 + 2u, oc, pb.z, ih0.z, iw0.z);\n"
                       "  place(e0 + 3u, oc, pb.w, ih0.w, iw0.w);\n"
                       "  ivec4 acc = ivec4(0), sa = ivec4(0);\n"
                       "  uint wrow = WT + oc * KWD;\n"
                       "  for (uint kw = 0u; kw < KWD; kw++) {\n"
                       "    uint wv = cst.w[wrow + kw];\n"
                       "    uvec4 xv = x_words(pb, ih0, iw0, kw);\n"
                       "    acc += ivec4(dot_ab(xv.x, wv), dot_ab(xv.y, wv), dot_ab(xv.z, wv), dot_ab(xv.w, wv));\n"
                       "#ifdef ZB\n    sa += ivec4(sum_a(xv.x), sum_a(xv.y), sum_a(xv.z), sum_a(xv.w));\n#endif\n"
                       "  }\n"
                       "  word = requant(fix(acc.x, sa.x, oc), oc) | requant(fix(acc.y, sa.y, oc), oc) << 8 |\n"
                       "         requant(fix(acc.z, sa.z, oc), oc) << 16 | requant(fix(acc.w, sa.w, oc), oc) << 24;\n");
    } else {
        qc_vk_text_add(t,
                       "  for (uint j = 0u; j < 4u; j++) {\n"
                       "    uint e = e0 + j;\n"
                       "    if (e >= pc.total) break;\n"
                       "    uint oc, pb, ih0, iw0;\n"
                       "    place(e, oc, pb, ih0, iw0);\n"
                       "    int acc = 0, sa = 0;\n"
                       "    uint wrow = WT + oc * KWD;\n"
                       "    for (uint kw = 0u; kw < KWD; kw++) {\n"
                       "      uint xv = x_word(pb, ih0, iw0, kw);\n"
                       "      acc += dot_ab(xv, cst.w[wrow + kw]);\n"
                       "#ifdef ZB\n      sa += sum_a(xv);\n#endif\n"
                       "    }\n"
                       "    word |= requant(fix(acc, sa, oc), oc) << (8u * j);\n"
                       "  }\n");
    }
    /* one uint32 store per invocation; the last partial word keeps the
     * bytes past the tensor (the slot's padding) */
    qc_vk_glsl_store_word(t, "pc.y_off / 4u + gid", "pc.total - e0");
}

qc_status qc_vk_gen_qconv(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    if (n->n_in < 8 || n->n_out < 1 || n->in[0] < 0 || n->in[3] < 0 || n->out[0] < 0)
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    const qc_value *X = &b->g->values[n->in[0]], *Wt = &b->g->values[n->in[3]], *Y = &b->g->values[n->out[0]];
    if (!is_i8ish(X->type.dtype) || !is_i8ish(Wt->type.dtype) || !is_i8ish(Y->type.dtype))
        return fallback(k, QC_VK_FB_DTYPE), NULL;   /* incl. qc.QConv's float output form */
    if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    if (!Wt->data) return fallback(k, QC_VK_FB_SHAPE), NULL;   /* weights in the arena: not packed */
    conv_shape s;
    uint32_t reason = conv_shape_get(b, n, &s);
    if (reason) return fallback(k, reason), NULL;
    if (X->type.dims[0] != QC_DIM_SYM && X->type.dims[0] < 1) return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t ca, cb;
    if (!qc_vk_count_linear(&Y->type, &ca, &cb)) return fallback(k, QC_VK_FB_SIZE), NULL;
    float sx, sy;
    int32_t zx, zy;
    if (!qc_vk_const_scalar_f32(b, n->in[1], &sx) || !qc_vk_const_scalar_f32(b, n->in[6], &sy) ||
        !qc_vk_const_int_at(b, n->in[2], 1, 0, &zx) || !qc_vk_const_int_at(b, n->in[7], 1, 0, &zy))
        return fallback(k, QC_VK_FB_QUANT), NULL;
    conv_consts cc = {0};
    bool ok = true;
    qc_status st = conv_consts_add(b, n, &s, sx, zx, sy, &cc, &ok);
    if (st) return st;
    if (!ok) return fallback(k, QC_VK_FB_QUANT), NULL;
    conv_glsl_args a = {.x_signed = X->type.dtype == QC_I8, .w_signed = Wt->type.dtype == QC_I8,
                        .zx = zx, .zy = zy};
    qc_dtype_int_range(Y->type.dtype, &a.lo, &a.hi);
    a.amin = qc_attr_int(n, "act_min", a.lo);
    a.amax = qc_attr_int(n, "act_max", a.hi);
    if (a.amin < a.lo) a.amin = a.lo;   /* the clamp acts on saturated values */
    if (a.amax > a.hi) a.amax = a.hi;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 4, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    for (int v = 0; v < 2 && !st; v++) {   /* variant 0: dot product, 1: unpack */
        vk_text t = {0};
        a.dot = v == 0;
        conv_glsl(&t, &s, &cc, &a);
        if (t.oom) st = qc_error(QC_ERR_NOMEM, "out of memory");
        else st = qc_vk_add_shader(b, t.s, n->name ? n->name : "qc.QConv", LOCAL_X,
                                   v == 0 ? QC_VK_REQ_INT_DOT : 0, &k->variants[v]);
        free(t.s);
    }
    k->n_variants = 2;
    return st;
}
