/* test_vulkan_qelem.c — differential tests against ref of the QLinearAdd /
 * QLinearMul, qc.Elementwise, pure copy (Flatten, Reshape, Identity,
 * Squeeze, Unsqueeze) and float-output qc.QGemm shaders, on seeded random
 * data (fresh seed per run unless QC_TEST_SEED is set; the seed is
 * printed):
 *   - QLinearAdd / QLinearMul: random shapes of rank 0..4 with numpy
 *     broadcasting (either operand, both ways, one element, a symbolic
 *     batch carried by one or both operands), u8 and i8, random nonzero zero points (some absent), scales that make
 *     exact .5 ties, that saturate most outputs or that round most to the
 *     zero point, act_min / act_max, a constant operand: BIT-IDENTICAL;
 *   - qc.Elementwise chains of 2..5 steps (Relu, Clip, LeakyRelu, Neg,
 *     Abs, Add / Sub / Mul with an arena or constant operand, broadcast
 *     forms) made by the fuse pass, as resnet's Add + Relu tail, inputs
 *     with +-0, +-inf, quiet and signaling NaNs, denormals: the
 *     bit-identical steps only, so BIT-IDENTICAL (NaNs as a class);
 *   - copies of odd byte sizes (1..~25000 bytes, u8 / i8 / f32 / i64, one
 *     planned in place between two shaders): BIT-IDENTICAL;
 *   - qc.QGemm with a float output (a classifier head; u8/i8 x i8/u8,
 *     N % 4 == 0 or not, bias or none), dot-product and unpack variants:
 *     BIT-IDENTICAL.
 * Each case checks its node ran a shader. Exit 77 without a device. */
#include <math.h>
#include <stdint.h>
#include <time.h>

#include "vk_test.h"

static int failures, cases;

static bool run_both(const char *what, const char *src, const qc_tensor *in, int n_in, qc_tensor *got,
                     qc_tensor *want) {
    cases++;
    return vt_run_both(what, src, in, n_in, got, want, &failures);
}

/* Byte-compares got and want (n bytes), reporting the first difference. */
static void same_bytes(const char *what, const qc_tensor *got, const qc_tensor *want, size_t n) {
    bool shape = got->desc.rank == want->desc.rank && got->desc.dtype == want->desc.dtype;
    for (int32_t i = 0; shape && i < got->desc.rank; i++) shape = got->desc.dims[i] == want->desc.dims[i];
    CHECK(shape, "%s: output type differs from ref's", what);
    if (!shape) return;
    const uint8_t *g = got->data, *w = want->data;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (g[i] != w[i] && !bad++) first = i;
    CHECK(bad == 0, "%s: %zu of %zu bytes differ (first at %zu: %#x vs ref %#x)", what, bad, n, first,
          bad ? g[first] : 0, bad ? w[first] : 0);
}

static size_t desc_numel(const qc_tensor_desc *d) {
    size_t n = 1;
    for (int32_t i = 0; i < d->rank; i++) n *= (size_t)d->dims[i];
    return n;
}

static void dims_text(text *t, const char *dt, int rank, const int *d, bool batch) {
    tadd(t, "%s[", dt);
    for (int i = 0; i < rank; i++) {
        if (i == 0 && batch) tadd(t, "B");
        else tadd(t, "%s%d", i ? "," : "", d[i]);
    }
    tadd(t, "]");
}

/* ---- QLinearAdd / QLinearMul ------------------------------------------------------- */

typedef struct qshape {
    int rank, d[4];
    bool batch;   /* dim 0 is the symbolic B */
} qshape;

static int64_t shape_numel(const qshape *s, int batch) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= i == 0 && s->batch ? batch : s->d[i];
    return n;
}

/* An operand shape broadcasting into out: a trailing slice of it, dims kept
 * or set to 1; never the batch when constant. */
static qshape operand_shape(rng *r, const qshape *out, bool constant) {
    qshape s = {0};
    s.rank = rng_int(r, 0, 3) == 0 ? rng_int(r, 0, out->rank) : out->rank;
    int lead = out->rank - s.rank;
    for (int i = 0; i < s.rank; i++) {
        int od = lead + i;
        bool keep = rng_int(r, 0, 2) != 0;
        if (od == 0 && out->batch) {
            s.batch = keep && !constant;
            s.d[i] = 1;
        } else {
            s.d[i] = keep ? out->d[od] : 1;
        }
    }
    return s;
}

static void bytes_text(text *t, rng *r, int64_t n, uint8_t *data, bool i8) {
    tadd(t, " = [");
    for (int64_t i = 0; i < n; i++) {
        data[i] = (uint8_t)rng_u32(r);
        tadd(t, "%s%d", i ? ", " : "", i8 ? (int)(int8_t)data[i] : (int)data[i]);
    }
    tadd(t, "]");
}

static void qelem_case(rng *r, int iter) {
    bool mul = rng_int(r, 0, 2) == 0;
    bool ia8 = rng_int(r, 0, 1) != 0, ib8 = ia8, ic8 = ia8;   /* inference wants one type */
    qshape out = {.rank = rng_int(r, 0, 4)};
    out.batch = out.rank > 0 && rng_int(r, 0, 2) == 0;
    int big = rng_int(r, 0, out.rank ? out.rank - 1 : 0);   /* one dim up to 61 */
    for (int i = 0; i < out.rank; i++) out.d[i] = i == big ? rng_int(r, 1, 61) : rng_int(r, 1, 7);
    bool b_const = rng_int(r, 0, 4) == 0;
    qshape sa_ = operand_shape(r, &out, false), sb_ = operand_shape(r, &out, b_const);
    if (out.batch && !sa_.batch && !sb_.batch) sa_ = out;   /* someone carries the batch */
    int batch = out.batch ? rng_int(r, 1, 3) : 1;
    /* scales: 0 random, 1 exact .5 ties, 2 saturating, 3 rounds to the zero point */
    int sk = rng_int(r, 0, 3);
    float sa = rng_float(r, 0.002f, 0.1f), sb = rng_float(r, 0.002f, 0.1f);
    float sc = mul ? sa * sb * 256.0f : (sa + sb) * 1.5f;
    if (sk == 1) {
        sa = sb = mul ? 0.5f : 0.25f;
        sc = 0.5f;
    }
    if (sk == 2) sc *= 0.01f;
    if (sk == 3) sc *= 40.0f;
    const char *ta = ia8 ? "i8" : "u8", *tb = ib8 ? "i8" : "u8", *tc = ic8 ? "i8" : "u8";
    text t = {0};
    tadd(&t, "qcir 1\ngraph qe%s {\n  input a: ", out.batch ? " batch B" : "");
    dims_text(&t, ta, sa_.rank, sa_.d, sa_.batch);
    tadd(&t, "\n");
    int64_t nb = shape_numel(&sb_, batch);
    uint8_t *bconst = malloc((size_t)nb + 1);
    if (b_const) {
        tadd(&t, "  const b: ");
        dims_text(&t, tb, sb_.rank, sb_.d, false);
        bytes_text(&t, r, nb, bconst, ib8);
        tadd(&t, "\n");
    } else {
        tadd(&t, "  input b: ");
        dims_text(&t, tb, sb_.rank, sb_.d, sb_.batch);
        tadd(&t, "\n");
    }
    int za = ia8 ? rng_int(r, -128, 127) : rng_int(r, 0, 255);
    int zb = ib8 ? rng_int(r, -128, 127) : rng_int(r, 0, 255);
    int zc = ic8 ? rng_int(r, -128, 127) : rng_int(r, 0, 255);
    bool pa = rng_int(r, 0, 4) != 0, pb = rng_int(r, 0, 4) != 0, pc = rng_int(r, 0, 4) != 0;
    tadd(&t, "  const sa: f32[] = [%.9g]\n  const sb: f32[] = [%.9g]\n  const sc: f32[] = [%.9g]\n",
         (double)sa, (double)sb, (double)sc);
    tadd(&t, "  const za: %s[] = [%d]\n  const zb: %s[] = [%d]\n  const zc: %s[] = [%d]\n", ta, za, tb, zb, tc, zc);
    tadd(&t, "  y = %s(a, sa, %s, b, sb, %s, sc%s)", mul ? "QLinearMul" : "QLinearAdd", pa ? "za" : "_",
         pb ? "zb" : "_", pc ? ", zc" : "");
    char act[64] = "";
    if (rng_int(r, 0, 3) == 0) {
        int lo = ic8 ? -128 : 0, hi = ic8 ? 127 : 255;
        int amin = rng_int(r, lo, hi), amax = rng_int(r, amin, hi);
        snprintf(act, sizeof act, " act %d..%d", amin, amax);
        tadd(&t, " {act_min=%d, act_max=%d}", amin, amax);
    }
    tadd(&t, "\n  output y\n}\n");
    qc_tensor in[2];
    memset(in, 0, sizeof in);
    qshape *ops[2] = {&sa_, &sb_};
    const bool i8s[2] = {ia8, ib8};
    int n_in = b_const ? 1 : 2;
    for (int k = 0; k < n_in; k++) {
        in[k].desc.dtype = i8s[k] ? QC_I8 : QC_U8;
        in[k].desc.rank = ops[k]->rank;
        for (int i = 0; i < ops[k]->rank; i++) in[k].desc.dims[i] = i == 0 && ops[k]->batch ? batch : ops[k]->d[i];
        int64_t n = shape_numel(ops[k], batch);
        uint8_t *d = malloc((size_t)n + 1);
        for (int64_t i = 0; i < n; i++) d[i] = (uint8_t)rng_u32(r);
        in[k].data = d;
    }
    char what[200];
    snprintf(what, sizeof what, "qelem#%d %s a %s%dd b %s%dd%s y %s%dd%s batch %d scales %.6g/%.6g/%.6g z %d/%d/%d%s",
             iter, mul ? "mul" : "add", ta, sa_.rank, tb, sb_.rank, b_const ? " const" : "", tc, out.rank,
             out.batch ? " B" : "", batch, (double)sa, (double)sb, (double)sc, pa ? za : 0, pb ? zb : 0,
             pc ? zc : 0, act);
    qc_tensor got = {0}, want = {0};
    if (run_both(what, t.s, in, n_in, &got, &want))
        same_bytes(what, &got, &want, desc_numel(&want.desc));   /* the broadcast shape */
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    for (int k = 0; k < n_in; k++) free(in[k].data);
    free(bconst);
    free(t.s);
}

/* ---- qc.Elementwise ----------------------------------------------------------------- */

static float chain_input(rng *r) {
    int c = rng_int(r, 0, 99);
    if (c < 85) return rng_float(r, -4.0f, 4.0f);
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-40f, 3e38f, -3e38f};
    if (c < 97) return special[rng_int(r, 0, (int)(sizeof special / sizeof special[0]) - 1)];
    static const uint32_t snan[] = {0x7f800001u, 0xff900000u, 0x7fa00005u};   /* signaling NaNs */
    float f;
    memcpy(&f, &snan[rng_int(r, 0, 2)], sizeof f);
    return f;
}

/* A chain of 2..5 bit-identical fp32 steps on x [B, (3,) C] that fuse turns
 * into one qc.Elementwise: operands an input z of x's shape, constants of
 * shape [C], [3, C] or one element. */
static void chain_case(rng *r, int iter) {
    int cols = rng_int(r, 1, 70), mid = rng_int(r, 0, 1) ? 3 : 0, batch = rng_int(r, 1, 3);
    int steps = rng_int(r, 2, 5);
    text t = {0}, body = {0};
    char shape[32];
    if (mid) snprintf(shape, sizeof shape, "B,3,%d", cols);
    else snprintf(shape, sizeof shape, "B,%d", cols);
    tadd(&t, "qcir 1\ngraph ch batch B {\n  input x: f32[%s]\n  input z: f32[%s]\n", shape, shape);
    const char *cur = "x";
    char names[6][16], desc[128] = "";   /* "t" + any int fits 16 (gcc checks the full range) */
    for (int i = 0; i < steps; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        int op = rng_int(r, 0, 9);
        const char *opn[] = {"Relu", "Clip", "LeakyRelu", "Neg", "Abs", "Add", "Sub", "Mul", "Add", "Mul"};
        size_t dl = strlen(desc);
        snprintf(desc + dl, sizeof desc - dl, "%s%s", i ? "," : "", opn[op]);
        if (op == 1) {
            float lo = rng_float(r, -2.0f, 0.5f), hi = rng_float(r, 0.0f, 3.0f);
            tadd(&t, "  const lo%d: f32[] = [%.9g]\n  const hi%d: f32[] = [%.9g]\n", i, (double)lo, i, (double)hi);
            tadd(&body, "  %s = Clip(%s, lo%d, hi%d)\n", names[i], cur, i, i);
        } else if (op == 2) {
            tadd(&body, "  %s = LeakyRelu(%s) {alpha=%.9g}\n", names[i], cur, (double)rng_float(r, 0.01f, 0.5f));
        } else if (op < 5) {
            tadd(&body, "  %s = %s(%s)\n", names[i], opn[op], cur);
        } else {
            int form = rng_int(r, 0, 3);   /* 0 z, 1 const [C], 2 const one element, 3 const [3, C] */
            if (form == 3 && !mid) form = 1;
            char other[16] = "z";
            if (form) {
                int cn = form == 1 ? cols : form == 2 ? 1 : 3 * cols;
                snprintf(other, sizeof other, "c%d", i);
                if (form == 1) tadd(&t, "  const c%d: f32[%d] = [", i, cols);
                else if (form == 2) tadd(&t, "  const c%d: f32[] = [", i);
                else tadd(&t, "  const c%d: f32[3,%d] = [", i, cols);
                for (int e = 0; e < cn; e++) tadd(&t, "%s%.9g", e ? ", " : "", (double)rng_float(r, -2.0f, 2.0f));
                tadd(&t, "]\n");
            }
            bool swap = rng_int(r, 0, 1);
            tadd(&body, "  %s = %s(%s, %s)\n", names[i], opn[op], swap ? other : cur, swap ? cur : other);
        }
        cur = names[i];
    }
    tadd(&t, "%s  output %s\n}\n", body.s, cur);
    int64_t n = (int64_t)batch * (mid ? 3 : 1) * cols;
    qc_tensor in[2];
    memset(in, 0, sizeof in);
    for (int k = 0; k < 2; k++) {
        in[k].desc = (qc_tensor_desc){.dtype = QC_F32, .rank = mid ? 3 : 2};
        in[k].desc.dims[0] = batch;
        if (mid) in[k].desc.dims[1] = 3;
        in[k].desc.dims[in[k].desc.rank - 1] = cols;
        float *d = malloc((size_t)n * sizeof *d);
        for (int64_t e = 0; e < n; e++) d[e] = chain_input(r);
        in[k].data = d;
    }
    char what[200];
    snprintf(what, sizeof what, "chain#%d [%s] batch %d: %s", iter, shape, batch, desc);
    qc_tensor got = {0}, want = {0};
    /* NaNs compare as a class: which operand's payload a binary op keeps
     * is the hardware's choice (lavapipe measured bit-identical, payloads
     * included, but the spec does not promise it). */
    if (run_both(what, t.s, in, 2, &got, &want)) {
        const uint32_t *g = got.data, *w = want.data;
        int64_t bad = 0, first = -1;
        for (int64_t e = 0; e < n; e++) {
            bool gn = (g[e] & 0x7fffffffu) > 0x7f800000u, wn = (w[e] & 0x7fffffffu) > 0x7f800000u;
            if (gn || wn ? gn != wn : g[e] != w[e])
                if (!bad++) first = e;
        }
        CHECK(bad == 0, "%s: %lld of %lld differ (first at %lld: %#x vs ref %#x)\n%s", what, (long long)bad,
              (long long)n, (long long)first, first < 0 ? 0 : g[first], first < 0 ? 0 : w[first], t.s);
    }
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    for (int k = 0; k < 2; k++) free(in[k].data);
    free(t.s);
    free(body.s);
}

/* ---- copies ------------------------------------------------------------------------ */

/* x [B, a, b] of dtype dt -> op -> y, compared byte for byte; a * b * size
 * is an odd byte count most of the time. */
static void copy_case(rng *r, int iter) {
    static const char *const dts[] = {"u8", "i8", "f32", "i64"};
    static const qc_dtype dtv[] = {QC_U8, QC_I8, QC_F32, QC_I64};
    static const int size[] = {1, 1, 4, 8};
    int ti = rng_int(r, 0, 3), a = rng_int(r, 1, 13), c = rng_int(r, 1, 79), batch = rng_int(r, 1, 3);
    int op = rng_int(r, 0, 5);
    if (op == 5) ti = 2;   /* f32 between two shaders: memplan lets the Flatten run in place */
    text t = {0};
    tadd(&t, "qcir 1\ngraph cp batch B {\n  input x: %s[B,%d,%d]\n", dts[ti], a, c);
    switch (op) {
    case 0: tadd(&t, "  y = Flatten(x) {axis=1}\n"); break;
    case 1: tadd(&t, "  const sh: i64[3] = [0, %d, %d]\n  y = Reshape(x, sh)\n", c, a); break;
    case 2: tadd(&t, "  y = Identity(x)\n"); break;
    case 3: tadd(&t, "  const ax: i64[1] = [1]\n  y = Unsqueeze(x, ax)\n"); break;
    case 4: tadd(&t, "  const ax: i64[1] = [2]\n  u = Unsqueeze(x, ax)\n  y = Squeeze(u, ax)\n"); break;
    default: tadd(&t, "  u = Abs(x)\n  f = Flatten(u) {axis=1}\n  y = Neg(f)\n"); break;
    }
    tadd(&t, "  output y\n}\n");
    size_t bytes = (size_t)batch * a * c * size[ti];
    qc_tensor in = {.desc = {dtv[ti], 3, {batch, a, c}}};
    uint8_t *d = malloc(bytes);
    for (size_t i = 0; i < bytes; i++) d[i] = (uint8_t)rng_u32(r);
    in.data = d;
    static const char *const opn[] = {"Flatten", "Reshape", "Identity", "Unsqueeze", "Unsqueeze+Squeeze",
                                      "Abs+Flatten+Neg"};
    char what[120];
    snprintf(what, sizeof what, "copy#%d %s %s [%d,%d,%d] = %zu bytes", iter, opn[op], dts[ti], batch, a, c, bytes);
    int sh = vt_shader_nodes(t.s);
    CHECK(sh >= 1, "%s: no node runs a shader\n%s", what, t.s);
    cases++;
    qc_tensor got = {0}, want = {0};
    qc_status sv = vt_run(t.s, "vulkan", &in, 1, &got, 1), sr = vt_run(t.s, "ref", &in, 1, &want, 1);
    CHECK(!sv && !sr, "%s: vulkan: %s / ref: %s", what, qc_status_message(sv), qc_status_message(sr));
    if (!sv && !sr) same_bytes(what, &got, &want, bytes);
    qc_status_free(sv);
    qc_status_free(sr);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(d);
    free(t.s);
}

/* ---- qc.QGemm, float output ------------------------------------------------------- */

/* y f32 = float(acc + bias) * (sa * sb[n]): a classifier head, as qdq_fold
 * makes it (y_scale, y_zp absent). */
static void qgemm_f32_case(rng *r, int M, int K, int N, bool a8, bool b8, bool bias) {
    text t = {0};
    const char *at = a8 ? "i8" : "u8", *bt = b8 ? "i8" : "u8";
    float sa = rng_float(r, 0.005f, 0.05f);
    tadd(&t, "qcir 1\ngraph qf batch B {\n  input a: %s[B,%d]\n", at, K);
    tadd(&t, "  const sa: f32[] = [%.9g]\n  const za: %s[] = [%d]\n", (double)sa, at,
         a8 ? rng_int(r, -5, 5) : rng_int(r, 100, 150));
    tadd(&t, "  const b: %s[%d,%d] = [", bt, K, N);
    for (int64_t i = 0; i < (int64_t)K * N; i++) tadd(&t, "%s%d", i ? ", " : "", b8 ? rng_int(r, -127, 127) : rng_int(r, 0, 255));
    tadd(&t, "]\n  const sb: f32[%d] = [", N);
    for (int j = 0; j < N; j++) tadd(&t, "%s%.9g", j ? ", " : "", (double)rng_float(r, 0.002f, 0.01f));
    tadd(&t, "]\n  const zb: %s[%d] = [", bt, N);
    for (int j = 0; j < N; j++) tadd(&t, "%s%d", j ? ", " : "", b8 ? rng_int(r, -3, 3) : rng_int(r, 120, 136));
    tadd(&t, "]\n");
    if (bias) {
        tadd(&t, "  const bias: i32[%d] = [", N);
        for (int j = 0; j < N; j++) tadd(&t, "%s%d", j ? ", " : "", rng_int(r, -20000, 20000));
        tadd(&t, "]\n");
    }
    tadd(&t, "  y: f32[B,%d] = qc.QGemm(a, sa, za, b, sb, zb, _, _%s)\n  output y\n}\n", N, bias ? ", bias" : "");
    qc_tensor in = {.desc = {a8 ? QC_I8 : QC_U8, 2, {M, K}}};
    uint8_t *data = malloc((size_t)M * K);
    for (int64_t i = 0; i < (int64_t)M * K; i++) data[i] = (uint8_t)rng_u32(r);
    in.data = data;
    char what[160];
    snprintf(what, sizeof what, "QGemm f32 out M=%d K=%d N=%d a=%s b=%s bias=%d%s", M, K, N, at, bt, bias,
             getenv("QC_VULKAN_NO_INT_DOT") ? " (unpack)" : "");
    qc_tensor got = {0}, want = {0};
    if (run_both(what, t.s, &in, 1, &got, &want)) same_bytes(what, &got, &want, (size_t)M * N * 4);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(data);
    free(t.s);
}

static void qgemm_f32_suite(rng *r) {
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {2, 8, 12}, {1, 512, 1000}, {5, 33, 10}, {4, 64, 16}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        qgemm_f32_case(r, shapes[s][0], shapes[s][1], shapes[s][2], s % 3 == 1, s % 4 != 3, s % 2 == 0);
}

int main(void) {
    uint64_t seed = vt_seed();
    if (!vt_device_opens("vulkan")) return 77;
    rng r = {seed};
    for (int i = 0; i < 60; i++) qelem_case(&r, i);
    for (int i = 0; i < 40; i++) chain_case(&r, i);
    for (int i = 0; i < 25; i++) copy_case(&r, i);
    qgemm_f32_suite(&r);
    setenv("QC_VULKAN_NO_INT_DOT", "1", 1);   /* the int32 unpack variant */
    qgemm_f32_suite(&r);
    unsetenv("QC_VULKAN_NO_INT_DOT");
    printf("%s: %d cases, %d failure(s)\n", failures ? "FAIL" : "ok", cases, failures);
    return failures ? 1 : 0;
}
