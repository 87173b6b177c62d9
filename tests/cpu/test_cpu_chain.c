/* test_cpu_chain.c — row-blocked chains on the cpu device (backends/cpu/chain.c,
 * hal.c launch_chain) against the ref interpreter.
 *
 * Random int8 MLPs — QuantizeLinear, then 2..6 qc.QGemm layers (random
 * widths, u8/i8, zero points, bias, clamp), ending in a u8 output, a float
 * output qc.QGemm or a DequantizeLinear + Sigmoid — run at batch sizes that
 * split into blocks unevenly (1, 7, 8, 33, 257, 1000), with 2 threads, through
 * the JIT and the AOT artifact. Each case checks from the kernel table that
 * the whole graph is ONE chain (so blocking is what ran) and that integer
 * and float-output QGemm results are bit-identical to ref (the sigmoid tail:
 * within 1e-6 relative). Run under ASan in CI, which also catches a
 * block writing outside its rows. */
#include <math.h>
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

static int32_t add_value(qc_graph *g, const char *name, qc_dtype dt, int64_t cols) {
    qc_type t = {.dtype = dt, .rank = 2, .dims = {QC_DIM_SYM, cols}};
    int32_t id = -1;
    CHECK_OK(qc_graph_add_value(g, name, &t, &id));
    return id;
}

static int32_t add_scalar(qc_graph *g, const char *name, qc_dtype dt, const void *v) {
    qc_type t = {.dtype = dt, .rank = 0};
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, v, qc_dtype_bytes(dt, 1), &id));
    return id;
}

static int32_t add_zp(qc_graph *g, const char *name, bool is_signed) {
    uint8_t z = is_signed ? (uint8_t)(int8_t)irand(-20, 20) : (uint8_t)irand(0, 255);
    return add_scalar(g, name, is_signed ? QC_I8 : QC_U8, &z);
}

/* A random int8 MLP over x: f32[N, k0]; how it ends depends on `tail`. */
static qc_graph *make_mlp(int layers, int tail, char *desc, size_t dlen) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("mlp", &g));
    CHECK_OK(qc_graph_set_batch(g, "N"));
    int64_t k = irand(1, 90);
    int n = snprintf(desc, dlen, "layers=%d tail=%d widths=%lld", layers, tail, (long long)k);
    int32_t x = add_value(g, "x", QC_F32, k);
    CHECK_OK(qc_graph_add_input(g, x));
    bool s_signed = irand(0, 3) == 0;
    float sx = frand(0.005f, 0.05f);
    int32_t in_q[3] = {x, add_scalar(g, "sx", QC_F32, &sx), add_zp(g, "zx", s_signed)};
    int32_t a = add_value(g, "xq", s_signed ? QC_I8 : QC_U8, k);
    CHECK_OK(qc_graph_add_node(g, QC_OP_QUANTIZE_LINEAR, "q", in_q, 3, &a, 1, NULL));
    int32_t sa = in_q[1], za = in_q[2];
    bool a_signed = s_signed;
    for (int l = 0; l < layers; l++) {
        int64_t nn = irand(1, 70);
        n += snprintf(desc + n, dlen - (size_t)n, ",%lld", (long long)nn);
        bool b_signed = irand(0, 3) != 0, y_signed = irand(0, 1);
        bool last = l == layers - 1, fout = last && tail == 1;
        char name[32];
        int8_t *w = malloc((size_t)(k * nn));
        for (int64_t i = 0; i < k * nn; i++) w[i] = (int8_t)irand(-127, 127);
        qc_type wt = {.dtype = b_signed ? QC_I8 : QC_U8, .rank = 2, .dims = {k, nn}};
        int32_t ids[9];
        snprintf(name, sizeof name, "w%d", l);
        CHECK_OK(qc_graph_add_const(g, name, &wt, w, (size_t)(k * nn), &ids[3]));
        free(w);
        float sb = frand(0.002f, 0.02f);
        float sy = sx * sb * 128.0f * 128.0f * frand(0.3f, 3.0f) / 16.0f;
        ids[0] = a;
        ids[1] = sa;
        ids[2] = za;
        snprintf(name, sizeof name, "sb%d", l);
        ids[4] = add_scalar(g, name, QC_F32, &sb);
        snprintf(name, sizeof name, "zb%d", l);
        ids[5] = add_zp(g, name, b_signed);
        snprintf(name, sizeof name, "sy%d", l);
        ids[6] = fout ? -1 : add_scalar(g, name, QC_F32, &sy);
        snprintf(name, sizeof name, "zy%d", l);
        ids[7] = fout ? -1 : add_zp(g, name, y_signed);
        int32_t *bias = malloc(sizeof(int32_t) * (size_t)nn);
        for (int64_t i = 0; i < nn; i++) bias[i] = (int32_t)irand(-50000, 50000);
        qc_type bt = {.dtype = QC_I32, .rank = 1, .dims = {nn}};
        snprintf(name, sizeof name, "bias%d", l);
        CHECK_OK(qc_graph_add_const(g, name, &bt, bias, sizeof(int32_t) * (size_t)nn, &ids[8]));
        free(bias);
        snprintf(name, sizeof name, "h%d", l);
        int32_t y = add_value(g, name, fout ? QC_F32 : y_signed ? QC_I8 : QC_U8, nn);
        int32_t nid = -1;
        CHECK_OK(qc_graph_add_node(g, QC_OP_QGEMM, name, ids, 9, &y, 1, &nid));
        if (!fout && irand(0, 2) == 0) {   /* a Relu folded as the clamp */
            int64_t lo = y_signed ? -128 : 0;
            CHECK_OK(qc_node_set_int(g, nid, "act_min", irand(lo, lo + 120)));
        }
        a = y;
        k = nn;
        sx = sy;
        sa = ids[6];
        za = ids[7];
        a_signed = y_signed;
    }
    if (tail == 2) {   /* DequantizeLinear, then Sigmoid */
        int32_t dq_in[3] = {a, sa, za};
        int32_t f = add_value(g, "yf", QC_F32, k), y = add_value(g, "y", QC_F32, k);
        CHECK_OK(qc_graph_add_node(g, QC_OP_DEQUANTIZE_LINEAR, "dq", dq_in, 3, &f, 1, NULL));
        CHECK_OK(qc_graph_add_node(g, QC_OP_SIGMOID, "y", &f, 1, &y, 1, NULL));
        a = y;
    }
    (void)a_signed;
    CHECK_OK(qc_graph_add_output(g, a));
    CHECK_OK(qc_graph_verify(g));
    return g;
}

/* The chain length recorded for node 0 in the kernel table of g's artifact. */
static uint32_t head_chain(const qc_graph *g) {
    qc_compile_options co;
    qc_compile_options_init(&co);
    co.targets = "cpu";
    void *img = NULL;
    size_t len = 0;
    uint32_t chain = 0;
    CHECK_OK(qc_compile_to_memory_opts(g, &co, &img, &len));
    qc_model_data *m = NULL;
    qc_cpu_ktable t = {0};
    if (img && !qc_model_data_parse(img, len, true, "case", &m) && !qc_cpu_ktable_parse(m, &t) &&
        t.n > 0)
        chain = t.e[0].chain;
    qc_cpu_ktable_free(&t);
    qc_model_data_free(m);
    free(img);
    return chain;
}

static void run_case(int iter) {
    char desc[256];
    int layers = (int)irand(2, 6), tail = (int)irand(0, 2);
    qc_graph *g = make_mlp(layers, tail, desc, sizeof desc);
    CHECK_OK(qc_compile_optimize(g));
    uint32_t chain = head_chain(g);
    CHECK_MSG(chain == (uint32_t)g->n_nodes, "case %d (%s): chain of %u, graph has %d nodes", iter,
              desc, chain, (int)g->n_nodes);
    static const int64_t batches[] = {1, 7, 8, 33, 257, 1000};
    for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
        int64_t batch = batches[bi];
        qc_tensor x = {0}, want = {0};
        qc_tensor_desc d = g->values[g->inputs[0]].type;
        d.dims[0] = batch;
        CHECK_OK(qc_tensor_alloc(&d, &x));
        float *p = x.data;
        for (int64_t i = 0; i < qc_type_numel(&d); i++) p[i] = frand(-3.0f, 3.0f);
        CHECK_OK(qc_ref_run(g, &x, 1, &want, 1));
        for (int aot = 0; aot < 2 && want.data; aot++) {
            qc_tensor got = {0};
            int32_t gen = -1;
            qc_status st = qc_test_run_cpu(g, NULL, aot, &x, &got, &gen);
            EXPECT(!st, "case %d (%s) batch %lld %s: %s", iter, desc, (long long)batch,
                   aot ? "aot" : "jit", st ? qc_status_message(st) : "");
            qc_status_free(st);
            size_t bytes = qc_dtype_bytes(want.desc.dtype, qc_type_numel(&want.desc));
            if (got.data && tail != 2)
                EXPECT(!memcmp(got.data, want.data, bytes), "case %d (%s) batch %lld %s: not "
                       "bit-identical to ref", iter, desc, (long long)batch, aot ? "aot" : "jit");
            if (got.data && tail == 2)   /* the generated sigmoid is within ~2 ulp of ref's */
                for (int64_t i = 0; i < qc_type_numel(&want.desc); i++) {
                    float u = ((const float *)got.data)[i], v = ((const float *)want.data)[i];
                    if (fabsf(u - v) <= 1e-6f * fabsf(v) + 1e-30f) continue;
                    EXPECT(0, "case %d (%s) batch %lld %s: element %lld %.9g vs ref %.9g", iter,
                           desc, (long long)batch, aot ? "aot" : "jit", (long long)i, (double)u,
                           (double)v);
                    break;
                }
            qc_tensor_release(&got);
        }
        qc_tensor_release(&want);
        qc_tensor_release(&x);
    }
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_chain");
    for (int i = 0; i < 12; i++) run_case(i);
    return qc_test_summary("test_cpu_chain");
}
