/* test_vulkan_conv.c — the int8 convolution shaders (qc.QConv and
 * QLinearConv, backends/vulkan/lower_conv.c) against ref on seeded random
 * data: odd channel counts, K not a multiple of 4, 1x1, 3x3, 7x7 stride 2,
 * strides, explicit pads, SAME_UPPER / SAME_LOWER / VALID, dilation 2,
 * groups, depthwise (with and without a channel multiplier), 1-D, batch 1
 * and 3 behind a symbolic batch dim, u8 / i8 activations, weights and
 * outputs, per-tensor and per-channel weight scales and zero points,
 * non-zero activation zero points (so padded taps matter), bias and clamp.
 * Outputs must be BIT-IDENTICAL to ref, for the packed int8 dot product
 * variant and for the int32 unpack variant (QC_VULKAN_NO_INT_DOT=1); every
 * case checks that its node really ran a shader. Also: what falls back
 * (3-D conv, weights in the arena, float output) and with which reason.
 * Fresh seed per run (printed); QC_TEST_SEED=n reproduces a run. Exit 77
 * without a Vulkan device. */
#include <math.h>
#include <time.h>

#include "vk_test.h"

static int failures;

typedef struct conv_case {
    int batch, c, h, w, m, kh, kw, sh, sw, dh, dw, group;
    int pads[4];            /* h_begin, w_begin, h_end, w_end (1-D: w_begin, w_end in [1], [3]) */
    const char *auto_pad;   /* NULL: explicit pads */
    bool one_d;
} conv_case;

static const conv_case cases[] = {
    {1, 5, 7, 9, 6, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, NULL, false},        /* 1x1, plane 63 */
    {1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, {1, 1, 1, 1}, NULL, false},        /* 3x3 pad 1, K = 27 */
    {3, 7, 11, 13, 5, 3, 3, 2, 2, 1, 1, 1, {1, 1, 1, 1}, NULL, false},      /* stride 2 */
    {1, 4, 9, 9, 3, 3, 3, 1, 1, 2, 2, 1, {2, 2, 2, 2}, NULL, false},        /* dilation 2 */
    {3, 6, 6, 7, 4, 3, 2, 1, 1, 1, 1, 2, {1, 0, 0, 1}, NULL, false},        /* group 2, odd pads */
    {1, 8, 12, 12, 8, 3, 3, 1, 1, 1, 1, 8, {1, 1, 1, 1}, NULL, false},      /* depthwise, plane 144 */
    {3, 5, 10, 9, 5, 3, 3, 2, 2, 1, 1, 5, {1, 1, 0, 1}, NULL, false},       /* depthwise stride 2 */
    {1, 4, 7, 6, 8, 3, 3, 1, 1, 1, 1, 4, {1, 1, 1, 1}, NULL, false},        /* depthwise, multiplier 2 */
    {3, 3, 32, 30, 8, 7, 7, 2, 2, 1, 1, 1, {3, 3, 3, 3}, NULL, false},      /* resnet's first conv, small */
    {1, 3, 9, 10, 4, 3, 3, 2, 2, 1, 1, 1, {0}, "SAME_UPPER", false},
    {3, 2, 7, 7, 3, 4, 4, 1, 1, 1, 1, 1, {0}, "SAME_LOWER", false},
    {1, 3, 8, 9, 2, 2, 3, 2, 1, 1, 1, 1, {0}, "VALID", false},
    {3, 32, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, {1, 1, 1, 1}, NULL, false},    /* K = 288 */
    {1, 16, 7, 7, 24, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, NULL, false},      /* 1x1, plane 49, K = 16 */
    {1, 9, 5, 6, 7, 2, 2, 3, 2, 2, 1, 1, {1, 0, 2, 1}, NULL, false},        /* stride 3, mixed dilation */
    {3, 3, 1, 17, 4, 1, 3, 1, 2, 1, 1, 1, {0, 2, 0, 1}, NULL, true},        /* 1-D, stride 2 */
    {1, 4, 1, 20, 6, 1, 5, 1, 1, 1, 2, 2, {0, 4, 0, 4}, NULL, true},        /* 1-D, dilation 2, group 2 */
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static int64_t numel(const qc_tensor *t) {
    int64_t n = 1;
    for (int32_t d = 0; d < t->desc.rank; d++) n *= t->desc.dims[d];
    return n;
}

static void add_ints(text *t, rng *r, int64_t n, int lo, int hi) {
    for (int64_t i = 0; i < n; i++) tadd(t, "%s%d", i ? ", " : "", rng_int(r, lo, hi));
}

static void add_dims(text *t, const conv_case *c, int ch, int h, int w, bool batch) {
    tadd(t, "[%s%d", batch ? "B," : "", ch);
    if (!c->one_d) tadd(t, ",%d", h);
    tadd(t, ",%d]", w);
}

/* Flags of case i on a run: every combination shows up over the cases. */
typedef struct conv_flags {
    bool x_signed, w_signed, y_signed, per_ch, zx, zw, bias, clamp, qconv;
} conv_flags;

static conv_flags flags_of(int i, rng *r) {
    conv_flags f = {
        .x_signed = i % 3 == 1, .w_signed = i % 4 != 3, .y_signed = i % 5 == 2, .per_ch = i % 2 == 0,
        .zx = i % 7 != 6, .zw = i % 3 != 0, .bias = i % 4 != 1, .clamp = i % 3 == 2, .qconv = i % 2 == 1,
    };
    if (rng_int(r, 0, 3) == 0) f.zw = !f.zw;   /* the random part */
    if (!f.qconv) f.clamp = false;            /* QLinearConv has no act_min / act_max */
    return f;
}

static void conv_case_run(const conv_case *c, int idx, rng *r) {
    conv_flags f = flags_of(idx, r);
    int cg = c->c / c->group, k = cg * c->kh * c->kw;
    const char *xt = f.x_signed ? "i8" : "u8", *wt = f.w_signed ? "i8" : "u8", *yt = f.y_signed ? "i8" : "u8";
    text t = {0};
    tadd(&t, "qcir 1\ngraph conv batch B {\n  input x: %s", xt);
    add_dims(&t, c, c->c, c->h, c->w, true);
    float sx = rng_float(r, 0.005f, 0.05f);
    int zx = f.zx ? (f.x_signed ? rng_int(r, -20, 20) : rng_int(r, 90, 160)) : 0;
    tadd(&t, "\n  const sx: f32[] = [%.9g]\n  const zx: %s[] = [%d]\n  const w: %s", (double)sx, xt, zx, wt);
    tadd(&t, c->one_d ? "[%d,%d,%d] = [" : "[%d,%d,%d,%d] = [", c->m, cg, c->one_d ? c->kw : c->kh, c->kw);
    add_ints(&t, r, (int64_t)c->m * k, f.w_signed ? -127 : 0, f.w_signed ? 127 : 255);
    int nq = f.per_ch ? c->m : 1;
    tadd(&t, f.per_ch ? "]\n  const sw: f32[%d] = [" : "]\n  const sw: f32[] = [", c->m);
    for (int j = 0; j < nq; j++) tadd(&t, "%s%.9g", j ? ", " : "", (double)rng_float(r, 0.002f, 0.01f));
    tadd(&t, f.per_ch ? "]\n  const zw: %s[%d] = [" : "]\n  const zw: %s[] = [", wt, c->m);
    for (int j = 0; j < nq; j++)
        tadd(&t, "%s%d", j ? ", " : "",
             f.zw ? rng_int(r, f.w_signed ? -10 : 118, f.w_signed ? 10 : 138) : (f.w_signed ? 0 : 128));
    /* y scale so that outputs spread over the 8-bit range */
    float sy = sx * 0.006f * sqrtf((float)k) * 9000.0f / 127.0f * rng_float(r, 0.5f, 2.0f);
    int zy = f.y_signed ? rng_int(r, -30, 30) : rng_int(r, 0, 255);
    tadd(&t, "]\n  const sy: f32[] = [%.9g]\n  const zy: %s[] = [%d]\n", (double)sy, yt, zy);
    if (f.bias) {
        tadd(&t, "  const bias: i32[%d] = [", c->m);
        add_ints(&t, r, c->m, -20000, 20000);
        tadd(&t, "]\n");
    }
    tadd(&t, "  y = %s(x, sx, zx, w, sw, zw, sy, zy%s) {", f.qconv ? "qc.QConv" : "QLinearConv",
         f.bias ? ", bias" : "");
    if (c->one_d) tadd(&t, "strides=[%d], dilations=[%d], kernel_shape=[%d]", c->sw, c->dw, c->kw);
    else tadd(&t, "strides=[%d, %d], dilations=[%d, %d], kernel_shape=[%d, %d]", c->sh, c->sw, c->dh, c->dw,
              c->kh, c->kw);
    tadd(&t, ", group=%d", c->group);
    if (c->auto_pad) tadd(&t, ", auto_pad=\"%s\"", c->auto_pad);
    else if (c->one_d) tadd(&t, ", pads=[%d, %d]", c->pads[1], c->pads[3]);
    else tadd(&t, ", pads=[%d, %d, %d, %d]", c->pads[0], c->pads[1], c->pads[2], c->pads[3]);
    if (f.clamp) tadd(&t, ", act_min=%d, act_max=%d", f.y_signed ? rng_int(r, -100, -60) : rng_int(r, 0, 60),
                      f.y_signed ? rng_int(r, 50, 127) : rng_int(r, 180, 255));
    tadd(&t, "}\n  output y\n}\n");

    int64_t n_in = (int64_t)c->batch * c->c * c->h * c->w;
    qc_tensor in = {.desc = {f.x_signed ? QC_I8 : QC_U8, c->one_d ? 3 : 4, {c->batch, c->c, c->one_d ? c->w : c->h, c->w}}};
    uint8_t *data = malloc((size_t)n_in);
    for (int64_t i = 0; i < n_in; i++) data[i] = (uint8_t)rng_u32(r);
    in.data = data;
    char what[256];
    snprintf(what, sizeof what,
             "case %d (%s N=%d C=%d %dx%d M=%d k=%dx%d s=%d,%d d=%d,%d g=%d %s) x=%s w=%s y=%s perch=%d zx=%d "
             "zw=%d bias=%d clamp=%d",
             idx, f.qconv ? "qc.QConv" : "QLinearConv", c->batch, c->c, c->h, c->w, c->m, c->kh, c->kw, c->sh,
             c->sw, c->dh, c->dw, c->group, c->auto_pad ? c->auto_pad : "pads", xt, wt, yt, f.per_ch, zx, f.zw,
             f.bias, f.clamp);
    qc_tensor got = {0}, want = {0};
    if (vt_run_both(what, t.s, &in, 1, &got, &want, &failures)) {
        int64_t n = numel(&want), bad = 0, first = -1, nonzp = 0;
        CHECK(numel(&got) == n, "%s: %lld outputs vs ref %lld", what, (long long)numel(&got),
              (long long)n);
        const uint8_t *g = got.data, *w = want.data;
        for (int64_t i = 0; i < n && numel(&got) == n; i++) {
            if (g[i] != w[i] && !bad++) first = i;
            nonzp += w[i] != (uint8_t)zy;
        }
        CHECK(bad == 0, "%s: %lld of %lld outputs differ (first at %lld: %d vs ref %d)\n%s", what, (long long)bad,
              (long long)n, (long long)first, first >= 0 ? g[first] : 0, first >= 0 ? w[first] : 0, t.s);
        CHECK(nonzp > n / 4, "%s: only %lld of %lld outputs leave the zero point (a weak test)", what,
              (long long)nonzp, (long long)n);
    }
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(data);
    free(t.s);
}

/* The fallback reason of the first node of src's vulkan section, or -1. */
static int first_reason(const char *src) {
    uint8_t *img = NULL;
    size_t len = 0, off = 0, slen = 0;
    qc_status st = vt_compile(src, "vulkan", &img, &len);
    int reason = -1;
    if (!st && vt_find_section(img, len, &off, &slen) >= 0) {
        const uint8_t *s = img + off, *k = s + qc_le32(s + QC_VK_H_KERNELS_OFF);
        reason = qc_le32(k + QC_VK_K_MODE) == QC_VK_MODE_REF ? (int)qc_le32(k + QC_VK_K_REASON) : 0;
    }
    if (st) printf("compile failed: %s\n", qc_status_message(st));
    qc_status_free(st);
    free(img);
    return reason;
}

static void fallback_cases(void) {
    static const char head[] = "qcir 1\ngraph f {\n  const sx: f32[] = [0.02]\n  const zx: u8[] = [128]\n"
                               "  const sw: f32[] = [0.01]\n  const zw: i8[] = [0]\n  const sy: f32[] = [0.1]\n"
                               "  const zy: u8[] = [3]\n";
    char src[1024];
    /* 3-D conv: shape */
    snprintf(src, sizeof src,
             "%s  input x: u8[1,2,3,3,3]\n  const w: i8[1,2,1,1,1] = [1, -1]\n"
             "  y = QLinearConv(x, sx, zx, w, sw, zw, sy, zy)\n  output y\n}\n", head);
    int r = first_reason(src);
    CHECK(r == QC_VK_FB_SHAPE, "3-D conv: reason %d, want %d", r, QC_VK_FB_SHAPE);
    /* weights in the arena: shape (not packed at compile time) */
    snprintf(src, sizeof src,
             "%s  input x: u8[1,2,3,3]\n  input w: i8[1,2,1,1]\n"
             "  y = QLinearConv(x, sx, zx, w, sw, zw, sy, zy)\n  output y\n}\n", head);
    r = first_reason(src);
    CHECK(r == QC_VK_FB_SHAPE, "arena weights: reason %d, want %d", r, QC_VK_FB_SHAPE);
    /* an x scale that is not one constant: quantization */
    snprintf(src, sizeof src,
             "%s  input x: u8[1,2,3,3]\n  input sx2: f32[]\n  const w: i8[1,2,1,1] = [1, -1]\n"
             "  y = QLinearConv(x, sx2, zx, w, sw, zw, sy, zy)\n  output y\n}\n", head);
    r = first_reason(src);
    CHECK(r == QC_VK_FB_QUANT, "input x_scale: reason %d, want %d", r, QC_VK_FB_QUANT);
}

int main(void) {
    if (!vt_device_opens("vulkan")) return 77;
    uint64_t seed = vt_seed();
    rng r = {seed};
    for (int i = 0; i < N_CASES; i++) conv_case_run(&cases[i], i, &r);
    /* The int32 unpack variants (the device must not pick the dot product). */
    setenv("QC_VULKAN_NO_INT_DOT", "1", 1);
    for (int i = 0; i < N_CASES; i++) conv_case_run(&cases[i], i, &r);
    unsetenv("QC_VULKAN_NO_INT_DOT");
    fallback_cases();
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
