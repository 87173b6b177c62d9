/* test_cpu_qdw.c — the direct int8 depthwise convolution (backends/cpu/gen_qdw.c)
 * against the ref kernel, JIT and AOT, bit for bit.
 *
 * Random qc.QConv nodes with group == C == M: u8/i8 activations, i8/u8
 * weights, per-tensor or per-channel weight scales and zero points, random
 * activation / output zero points, optional bias, an optional act clamp,
 * kernels 1..5 x 1..5 (now and then 6..17 wide), strides 1..5 (the vector path takes <= 4), dilations,
 * explicit pads or auto_pad, sizes 1..60 x 1..90, a symbolic batch; output
 * scales from in-range to mostly saturating. Each case checks from the
 * kernel table that the node ran the depthwise kernel; on an avx512vnni host
 * a third of them take its vpdpbusd variant (i8-range filter bytes), and
 * the run checks that some did. */
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

static qc_graph *make_dw(char *desc, size_t dlen, const char **variant_want) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("dw", &g));
    bool sym = irand(0, 1);
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int64_t C = irand(2, 12), H = irand(1, 40), W = irand(1, 90);
    if (irand(0, 4) == 0) H = irand(41, 60);
    bool a_s = irand(0, 2) == 0, b_s = irand(0, 3) != 0, y_s = irand(0, 1);
    bool per_ch = irand(0, 1), bias = irand(0, 1), clamp = irand(0, 2) == 0;
    bool fout = irand(0, 4) == 0;   /* float output: no y_scale / y_zero_point (rule 3c) */
    if (fout) clamp = false;
    int64_t k[2], s[2], d[2], p[4];
    for (int i = 0; i < 2; i++) {
        int64_t in = i ? W : H;
        d[i] = irand(0, 4) == 0 ? irand(2, 3) : 1;
        k[i] = irand(1, 5);
        if (i == 1 && irand(0, 9) == 0) k[i] = irand(6, 17);   /* several groups of 4 taps */
        while (k[i] > 1 && (k[i] - 1) * d[i] + 1 > in) k[i]--;
        if ((k[i] - 1) * d[i] + 1 > in) d[i] = 1;
        s[i] = irand(0, 5) == 0 ? irand(3, 5) : irand(1, 2);
        p[i] = irand(0, 1) ? irand(0, k[i]) : 0;
        p[i + 2] = irand(0, 1) ? irand(0, k[i]) : 0;
    }
    qc_type xt = {.dtype = a_s ? QC_I8 : QC_U8, .rank = 4, .dims = {sym ? QC_DIM_SYM : irand(1, 2), C, H, W}};
    int32_t ids[9], y = -1, nid = -1;
    CHECK_OK(qc_graph_add_value(g, "x", &xt, &ids[0]));
    CHECK_OK(qc_graph_add_input(g, ids[0]));
    int64_t one = 1, nch = per_ch ? C : 1;
    float sx = frand(0.005f, 0.05f), sw[64], sy;
    for (int64_t c = 0; c < nch; c++) sw[c] = frand(0.002f, 0.03f);
    /* typical |acc| ~ 128 * 64 * sqrt(taps): sy from in range to saturating */
    sy = sx * sw[0] * 128.0f * 64.0f * frand(0.02f, 2.0f);
    uint8_t zx, zw[64], zy;
    fill_zp(&zx, 1, a_s);
    fill_zp(zw, nch, b_s);
    if (irand(0, 2) == 0) memset(zw, 0, sizeof zw);
    fill_zp(&zy, 1, y_s);
    ids[1] = add_const(g, "sx", QC_F32, 0, &one, &sx);
    ids[2] = add_const(g, "zx", a_s ? QC_I8 : QC_U8, 0, &one, &zx);
    int64_t wd[4] = {C, 1, k[0], k[1]}, nw = C * k[0] * k[1];
    uint8_t *w = malloc((size_t)nw);
    for (int64_t i = 0; i < nw; i++) w[i] = (uint8_t)qc_rng_next(&rng);
    ids[3] = add_const(g, "w", b_s ? QC_I8 : QC_U8, 4, wd, w);
    free(w);
    ids[4] = add_const(g, "sw", QC_F32, per_ch ? 1 : 0, &nch, sw);
    ids[5] = add_const(g, "zw", b_s ? QC_I8 : QC_U8, per_ch ? 1 : 0, &nch, zw);
    ids[6] = add_const(g, "sy", QC_F32, 0, &one, &sy);
    ids[7] = add_const(g, "zy", y_s ? QC_I8 : QC_U8, 0, &one, &zy);
    int32_t bv[64];
    for (int64_t c = 0; c < C; c++) bv[c] = (int32_t)irand(-40000, 40000);
    if (bias) ids[8] = add_const(g, "bias", QC_I32, 1, &C, bv);
    if (fout) ids[6] = ids[7] = -1;
    qc_type yt = {.dtype = QC_DT_UNDEF};
    CHECK_OK(qc_graph_add_value(g, "y", &yt, &y));
    CHECK_OK(qc_graph_add_node(g, QC_OP_QCONV, "dw", ids, bias ? 9 : 8, &y, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "group", C));
    CHECK_OK(qc_node_set_ints(g, nid, "kernel_shape", k, 2));
    CHECK_OK(qc_node_set_ints(g, nid, "strides", s, 2));
    if (d[0] > 1 || d[1] > 1) CHECK_OK(qc_node_set_ints(g, nid, "dilations", d, 2));
    int64_t mode = irand(0, 5);
    if (mode == 0) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_UPPER"));
    else if (mode == 1) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_LOWER"));
    else CHECK_OK(qc_node_set_ints(g, nid, "pads", p, 4));
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
             "C=%lld H=%lld W=%lld k=%lldx%lld s=%lldx%lld d=%lldx%lld pads=%lld,%lld,%lld,%lld "
             "mode=%lld x=%s w=%s y=%s per_ch=%d bias=%d clamp=%d[%lld,%lld] sym=%d sy=%g",
             (long long)C, (long long)H, (long long)W, (long long)k[0], (long long)k[1],
             (long long)s[0], (long long)s[1], (long long)d[0], (long long)d[1], (long long)p[0],
             (long long)p[1], (long long)p[2], (long long)p[3], (long long)mode,
             a_s ? "i8" : "u8", b_s ? "i8" : "u8", fout ? "f32" : y_s ? "i8" : "u8", per_ch, bias, clamp,
             (long long)amin, (long long)amax, sym, (double)sy);
    *variant_want = "qdepthwise";
    return g;
}

/* Whether g's cpu kernel table has the depthwise kernel; *vnni: its
 * vpdpbusd variant. */
static bool ran_depthwise(const qc_graph *g, bool *vnni) {
    char kernel[256];
    CHECK_OK(qc_test_cpu_variant(g, "qdepthwise", kernel, sizeof kernel));
    *vnni = strstr(kernel, "vpdpbusd") != NULL;
    return kernel[0] != 0;
}

static int vnni_cases;

static void run_case(int iter) {
    char desc[512];
    const char *want_variant = NULL;
    qc_graph *g = make_dw(desc, sizeof desc, &want_variant);
    CHECK_OK(qc_compile_optimize(g));
    bool vnni = false;
    EXPECT(ran_depthwise(g, &vnni), "case %d (%s): not the depthwise kernel", iter, desc);
    vnni_cases += vnni;
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
        if (got.data)
            EXPECT(!memcmp(got.data, want.data,
                           qc_dtype_bytes(want.desc.dtype, qc_type_numel(&want.desc))),
                   "case %d (%s) %s: not bit-identical to ref", iter, desc, aot ? "aot" : "jit");
        qc_tensor_release(&got);
    }
    qc_tensor_release(&want);
    qc_tensor_release(&x);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_qdw");
    for (int i = 0; i < 150; i++) run_case(i);
    /* the vpdpbusd variant takes i8-range filter bytes and strides <= 3:
     * about a third of the cases, on a host that has avx512vnni */
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        EXPECT(vnni_cases >= 10, "only %d cases ran the vpdpbusd variant", vnni_cases);
    printf("test_cpu_qdw: %d of 150 cases on the vpdpbusd variant\n", vnni_cases);
    return qc_test_summary("test_cpu_qdw");
}
