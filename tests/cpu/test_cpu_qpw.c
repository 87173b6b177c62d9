/* test_cpu_qpw.c — the int8 convolutions vectorised over positions
 * (backends/cpu/gen_qpw.c: pointwise and direct stride-1) against the ref
 * kernel, JIT and AOT, bit for bit.
 *
 * 200 random qc.QConv nodes of one group, half 1x1 without padding (the
 * pointwise kernel), half with kernels 1..5 x 1..5, dilations, explicit pads
 * or auto_pad and strides 1..3 (the direct kernel):
 * channels 1..70 (k-group tails), filters 1..110 or 128..160 (tile and row-block tails),
 * 1..22 x 1..22 positions (the masked last block), u8/i8 activations with a
 * random zero point, i8 weights with zero points 0, per-tensor or
 * per-channel scales, u8/i8 outputs, optional bias and act clamp, a fixed or
 * symbolic batch; output scales from in range to mostly saturating. On a
 * host with avx512vnni each case checks from the kernel table that the node
 * ran the kernel it should (short rows at stride 1: the direct kernel's
 * padded-grid variant; short rows under >= 128 filters: im2col); a case with a nonzero weight zero point, or short
 * rows with a stride, checks that none did (and still matches the ref on the im2col
 * path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "cpu_run.h"
#include "ir/dtype.h"
#include "qc_test.h"

static qc_rng rng;

static int64_t irand(int64_t lo, int64_t hi) {
    return lo + (int64_t)(qc_rng_next(&rng) % (uint64_t)(hi - lo + 1));
}
static float frand(float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(qc_rng_next(&rng) >> 11) / 9007199254740992.0);
}

static int32_t add_const(qc_graph *g, const char *name, qc_dtype dt, int32_t rank,
                         const int64_t *dims, const void *data) {
    qc_type t = {.dtype = dt, .rank = rank};
    for (int32_t k = 0; k < rank; k++) t.dims[k] = dims[k];
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, data, qc_dtype_bytes(dt, qc_type_numel(&t)), &id));
    return id;
}

static void fill_zp(uint8_t *z, int64_t n, bool is_signed) {
    for (int64_t i = 0; i < n; i++)
        z[i] = is_signed ? (uint8_t)(int8_t)irand(-30, 30) : (uint8_t)irand(0, 255);
}

static qc_graph *make_pw(char *desc, size_t dlen, const char **want) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("pw", &g));
    bool sym = irand(0, 1);
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int64_t C = irand(1, 70), M = irand(1, 110), H = irand(1, 22), W = irand(1, 22);
    if (irand(0, 2) == 0) W = irand(12, 70);   /* rows the direct kernel takes, several blocks */
    if (irand(0, 7) == 0) M = irand(128, 160);   /* short rows then go to im2col */
    bool a_s = irand(0, 2) == 0, y_s = irand(0, 1), zw_nonzero = irand(0, 7) == 0;
    bool per_ch = irand(0, 1), bias = irand(0, 1), clamp = irand(0, 2) == 0;
    /* the window: 1x1 unpadded (pointwise) or anything of stride 1 (direct) */
    int64_t k[2] = {1, 1}, st[2] = {1, 1}, dil[2] = {1, 1}, p[4] = {0, 0, 0, 0}, mode = -1;
    bool direct = irand(0, 1);
    if (direct) {
        for (int i = 0; i < 2; i++) {
            int64_t in = i ? W : H;
            dil[i] = irand(0, 3) == 0 ? 2 : 1;
            k[i] = irand(1, 5);
            while (k[i] > 1 && (k[i] - 1) * dil[i] + 1 > in) k[i]--;
            if ((k[i] - 1) * dil[i] + 1 > in) dil[i] = 1;
            p[i] = irand(0, k[i]);
            p[i + 2] = irand(0, k[i]);
        }
        if (irand(0, 2) == 0) st[irand(0, 1)] = irand(2, 3);
        if (irand(0, 5) == 0) st[0] = st[1] = 2;
        mode = irand(0, 3);
    }
    qc_type xt = {.dtype = a_s ? QC_I8 : QC_U8, .rank = 4, .dims = {sym ? QC_DIM_SYM : irand(1, 2), C, H, W}};
    int32_t ids[9], y = -1, nid = -1;
    CHECK_OK(qc_graph_add_value(g, "x", &xt, &ids[0]));
    CHECK_OK(qc_graph_add_input(g, ids[0]));
    int64_t one = 1, nch = per_ch ? M : 1;
    float sx = frand(0.005f, 0.05f), sy;
    float *sw = malloc((size_t)nch * sizeof *sw);
    uint8_t *zw = calloc((size_t)nch, 1);
    for (int64_t c = 0; c < nch; c++) sw[c] = frand(0.002f, 0.03f);
    if (zw_nonzero) zw[irand(0, nch - 1)] = (uint8_t)(int8_t)irand(-5, 5) | 1;
    /* typical |acc| ~ 128 * 64 * sqrt(C k): sy from in range to saturating */
    sy = sx * sw[0] * 128.0f * 64.0f * frand(0.02f, 2.0f);
    uint8_t zx, zy;
    fill_zp(&zx, 1, a_s);
    fill_zp(&zy, 1, y_s);
    ids[1] = add_const(g, "sx", QC_F32, 0, &one, &sx);
    ids[2] = add_const(g, "zx", a_s ? QC_I8 : QC_U8, 0, &one, &zx);
    int64_t wd[4] = {M, C, k[0], k[1]}, nw = M * C * k[0] * k[1];
    uint8_t *w = malloc((size_t)nw);
    for (int64_t i = 0; i < nw; i++) w[i] = (uint8_t)qc_rng_next(&rng);
    ids[3] = add_const(g, "w", QC_I8, 4, wd, w);
    free(w);
    ids[4] = add_const(g, "sw", QC_F32, per_ch ? 1 : 0, &nch, sw);
    ids[5] = add_const(g, "zw", QC_I8, per_ch ? 1 : 0, &nch, zw);
    ids[6] = add_const(g, "sy", QC_F32, 0, &one, &sy);
    ids[7] = add_const(g, "zy", y_s ? QC_I8 : QC_U8, 0, &one, &zy);
    free(sw);
    free(zw);
    int32_t *bv = malloc((size_t)M * sizeof *bv);
    for (int64_t c = 0; c < M; c++) bv[c] = (int32_t)irand(-40000, 40000);
    if (bias) ids[8] = add_const(g, "bias", QC_I32, 1, &M, bv);
    free(bv);
    qc_type yt = {.dtype = QC_DT_UNDEF};
    CHECK_OK(qc_graph_add_value(g, "y", &yt, &y));
    CHECK_OK(qc_graph_add_node(g, QC_OP_QCONV, "pw", ids, bias ? 9 : 8, &y, 1, &nid));
    CHECK_OK(qc_node_set_ints(g, nid, "kernel_shape", k, 2));
    if (st[0] > 1 || st[1] > 1 || irand(0, 1)) CHECK_OK(qc_node_set_ints(g, nid, "strides", st, 2));
    if (dil[0] > 1 || dil[1] > 1) CHECK_OK(qc_node_set_ints(g, nid, "dilations", dil, 2));
    if (mode == 0) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_UPPER"));
    else if (mode == 1) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_LOWER"));
    else if (mode >= 2) CHECK_OK(qc_node_set_ints(g, nid, "pads", p, 4));
    int64_t amin = 0, amax = 0;
    if (clamp) {
        int64_t lo = y_s ? -128 : 0;
        amin = irand(lo, lo + 120);
        amax = irand(amin, lo + 255);
        CHECK_OK(qc_node_set_int(g, nid, "act_min", amin));
        CHECK_OK(qc_node_set_int(g, nid, "act_max", amax));
    }
    CHECK_OK(qc_graph_add_output(g, y));
    CHECK_OK(qc_graph_infer(g));
    snprintf(desc, dlen,
             "C=%lld M=%lld H=%lld W=%lld k=%lldx%lld s=%lldx%lld d=%lldx%lld pads=%lld,%lld,%lld,%lld "
             "mode=%lld x=%s y=%s per_ch=%d zw!=0:%d bias=%d clamp=%d[%lld,%lld] sym=%d sy=%g",
             (long long)C, (long long)M, (long long)H, (long long)W, (long long)k[0],
             (long long)k[1], (long long)st[0], (long long)st[1], (long long)dil[0],
             (long long)dil[1], (long long)p[0], (long long)p[1], (long long)p[2], (long long)p[3],
             (long long)mode, a_s ? "i8" : "u8", y_s ? "i8" : "u8", per_ch, zw_nonzero, bias,
             clamp, (long long)amin, (long long)amax, sym, (double)sy);
    /* which kernel: pointwise for 1x1 without padding (auto_pad SAME on a
     * 1x1 pads nothing either), direct for any other stride-1 window */
    bool unpadded = mode < 0 || mode <= 1 || (!p[0] && !p[1] && !p[2] && !p[3]);
    if (zw_nonzero) *want = NULL;
    else if (k[0] == 1 && k[1] == 1 && unpadded && st[0] == 1 && st[1] == 1) *want = "qpointwise";
    else {
        /* the direct kernel runs rows that keep >= 3/4 of their 16-lane
         * vectors busy; shorter ones on the padded grid at stride 1 */
        int64_t ow = g->values[y].type.dims[3];
        bool s1 = st[0] == 1 && st[1] == 1;
        *want = ow * 4 >= (ow + 15) / 16 * 16 * 3 ? "qdirect" : s1 ? "grid" : NULL;
        /* a window over rows of <= 16 outputs with >= 128 filters: im2col
         * first (gen_qconv.c prefers_im2col) */
        if (k[0] * k[1] > 1 && ow <= 16 && M >= 128) *want = "im2col";
    }
    return g;
}

static void run_case(int iter, bool vnni) {
    char desc[512];
    const char *want_kernel = NULL;
    qc_graph *g = make_pw(desc, sizeof desc, &want_kernel);
    CHECK_OK(qc_compile_optimize(g));
    char got_kernel[256];
    CHECK_OK(qc_test_cpu_variant(g, NULL, got_kernel, sizeof got_kernel));
    bool ours = strstr(got_kernel, "qpointwise") || strstr(got_kernel, "qdirect");
    if (getenv("QPW_DEBUG")) fprintf(stderr, "case %d: %s\n", iter, got_kernel);
    if (want_kernel && vnni)
        EXPECT(strstr(got_kernel, want_kernel), "case %d (%s): ran '%s', not %s", iter, desc,
               got_kernel, want_kernel);
    else
        EXPECT(!ours, "case %d (%s): ran '%s' where it must not", iter, desc, got_kernel);
    qc_tensor_desc d = g->values[g->inputs[0]].type;
    if (d.dims[0] == QC_DIM_SYM) d.dims[0] = irand(1, 3);
    qc_tensor x = {0}, want = {0};
    CHECK_OK(qc_tensor_alloc(&d, &x));
    for (int64_t i = 0; i < qc_type_numel(&d); i++) ((uint8_t *)x.data)[i] = (uint8_t)qc_rng_next(&rng);
    CHECK_OK(qc_ref_run(g, &x, 1, &want, 1));
    for (int aot = 0; aot < 2 && want.data; aot++) {
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, NULL, aot, &x, &got, &gen);
        EXPECT(!st, "case %d (%s) %s: %s", iter, desc, aot ? "aot" : "jit",
               st ? qc_status_message(st) : "");
        qc_status_free(st);
        if (got.data && getenv("QPW_DEBUG")) {
            const uint8_t *a = got.data, *b = want.data;
            int64_t n = qc_type_numel(&want.desc), bad = 0;
            for (int64_t i = 0; i < n; i++)
                if (a[i] != b[i] && bad++ < 6) fprintf(stderr, "  [%lld] got %d want %d\n", (long long)i, a[i], b[i]);
            if (bad) fprintf(stderr, "  %lld of %lld differ\n", (long long)bad, (long long)n);
        }
        if (got.data)
            EXPECT(!memcmp(got.data, want.data, (size_t)qc_type_numel(&want.desc)),
                   "case %d (%s) %s: not bit-identical to ref", iter, desc, aot ? "aot" : "jit");
        qc_tensor_release(&got);
    }
    qc_tensor_release(&want);
    qc_tensor_release(&x);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_qpw");
    bool vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    for (int i = 0; i < 200; i++) run_case(i, vnni);
    return qc_test_summary("test_cpu_qpw");
}
