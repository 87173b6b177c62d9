/* test_cpu_pool.c — the cpu backend's pooling kernels (backends/cpu/gen_pool.c)
 * against the ref kernels, JIT and AOT.
 *
 * MaxPool: random 2-D windows (kernel 1..5, strides 1..5 — the vector path
 * covers strides <= 4 —, dilations 1..3, explicit pads or auto_pad, ceil_mode),
 * sizes from 1x1 to 70x90, u8 / i8 / f32, a symbolic batch bound at random;
 * f32 data with NaN, +-inf and -0 mixed in. Integer and float results must
 * be bit-identical to ref (max has exactly one right answer, including
 * ref's NaN rule). GlobalAveragePool (f32): within 1e-6 relative of ref
 * (ref sums in double, the kernel in double lanes). Every case checks that
 * its node was generated, not run on the ref fallback. */
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

static void fill(qc_tensor *t) {
    int64_t n = qc_type_numel(&t->desc);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = qc_rng_next(&rng);
        if (t->desc.dtype != QC_F32) {
            ((uint8_t *)t->data)[i] = (uint8_t)r;
            continue;
        }
        float v = (float)((double)(r >> 11) / 9007199254740992.0 * 20.0 - 10.0);
        switch (r % 97) {   /* a few specials, and ties */
        case 0: v = NAN; break;
        case 1: v = INFINITY; break;
        case 2: v = -INFINITY; break;
        case 3: v = -0.0f; break;
        case 4: v = 1.0f; break;
        default: break;
        }
        ((float *)t->data)[i] = v;
    }
}

static qc_graph *make_pool(bool maxpool, qc_dtype dt, char *desc, size_t dlen) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("pool", &g));
    bool sym = irand(0, 1);
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int64_t C = irand(1, 5), H = irand(1, 40), W = irand(1, 90);
    if (irand(0, 3) == 0) H = irand(41, 70);
    qc_type xt = {.dtype = dt, .rank = 4, .dims = {sym ? QC_DIM_SYM : irand(1, 3), C, H, W}};
    int32_t x = -1, y = -1, nid = -1;
    CHECK_OK(qc_graph_add_value(g, "x", &xt, &x));
    CHECK_OK(qc_graph_add_input(g, x));
    qc_type yt = {.dtype = QC_DT_UNDEF};   /* inferred below */
    CHECK_OK(qc_graph_add_value(g, "y", &yt, &y));
    CHECK_OK(qc_graph_add_node(g, maxpool ? QC_OP_MAX_POOL : QC_OP_GLOBAL_AVERAGE_POOL, "pool",
                               &x, 1, &y, 1, &nid));
    int n = snprintf(desc, dlen, "%s %s C=%lld H=%lld W=%lld sym=%d", maxpool ? "MaxPool" : "GAP",
                     qc_dtype_name(dt), (long long)C, (long long)H, (long long)W, (int)sym);
    if (maxpool) {
        int64_t k[2], s[2], d[2], p[4];
        for (int i = 0; i < 2; i++) {
            int64_t in = i ? W : H;
            d[i] = irand(0, 4) == 0 ? irand(2, 3) : 1;
            k[i] = irand(1, 5);
            while (k[i] > 1 && (k[i] - 1) * d[i] + 1 > in) k[i]--;
            if ((k[i] - 1) * d[i] + 1 > in) d[i] = 1;
            s[i] = irand(0, 5) == 0 ? irand(3, 5) : irand(1, 2);
            p[i] = irand(0, 1) ? irand(0, k[i] - 1) : 0;   /* pads < kernel (ONNX) */
            p[i + 2] = irand(0, 1) ? irand(0, k[i] - 1) : 0;
        }
        CHECK_OK(qc_node_set_ints(g, nid, "kernel_shape", k, 2));
        CHECK_OK(qc_node_set_ints(g, nid, "strides", s, 2));
        if (d[0] > 1 || d[1] > 1) CHECK_OK(qc_node_set_ints(g, nid, "dilations", d, 2));
        int64_t mode = irand(0, 5);
        if (mode == 0) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_UPPER"));
        else if (mode == 1) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_LOWER"));
        else CHECK_OK(qc_node_set_ints(g, nid, "pads", p, 4));
        bool ceil_mode = mode > 1 && irand(0, 2) == 0;
        if (ceil_mode) CHECK_OK(qc_node_set_int(g, nid, "ceil_mode", 1));
        snprintf(desc + n, dlen - (size_t)n,
                 " k=%lldx%lld s=%lldx%lld d=%lldx%lld pads=%lld,%lld,%lld,%lld mode=%lld ceil=%d",
                 (long long)k[0], (long long)k[1], (long long)s[0], (long long)s[1],
                 (long long)d[0], (long long)d[1], (long long)p[0], (long long)p[1],
                 (long long)p[2], (long long)p[3], (long long)mode, (int)ceil_mode);
    }
    CHECK_OK(qc_graph_add_output(g, y));
    CHECK_OK(qc_graph_infer(g));
    return g;
}

static void run_case(int iter, bool maxpool) {
    static const qc_dtype dts[] = {QC_U8, QC_I8, QC_F32};
    qc_dtype dt = maxpool ? dts[irand(0, 2)] : QC_F32;
    char desc[256];
    qc_graph *g = make_pool(maxpool, dt, desc, sizeof desc);
    if (!g) return;
    CHECK_OK(qc_compile_optimize(g));
    qc_tensor_desc d = g->values[g->inputs[0]].type;
    if (d.dims[0] == QC_DIM_SYM) d.dims[0] = irand(1, 4);
    qc_tensor x = {0}, want = {0};
    CHECK_OK(qc_tensor_alloc(&d, &x));
    fill(&x);
    CHECK_OK(qc_ref_run(g, &x, 1, &want, 1));
    for (int aot = 0; aot < 2 && want.data; aot++) {
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, NULL, aot, &x, &got, &gen);
        EXPECT(!st, "case %d (%s) %s: %s", iter, desc, aot ? "aot" : "jit",
               st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == g->n_nodes, "case %d (%s): %d of %d nodes generated", iter, desc, (int)gen,
               (int)g->n_nodes);
        int64_t n = qc_type_numel(&want.desc);
        if (got.data && maxpool)
            EXPECT(!memcmp(got.data, want.data, qc_dtype_bytes(dt, n)),
                   "case %d (%s) %s: not bit-identical to ref", iter, desc, aot ? "aot" : "jit");
        for (int64_t i = 0; got.data && !maxpool && i < n; i++) {
            float u = ((const float *)got.data)[i], v = ((const float *)want.data)[i];
            if ((isnan(u) && isnan(v)) || u == v || fabsf(u - v) <= 1e-6f * fabsf(v)) continue;
            EXPECT(0, "case %d (%s) %s: element %lld %.9g vs ref %.9g", iter, desc,
                   aot ? "aot" : "jit", (long long)i, (double)u, (double)v);
            break;
        }
        qc_tensor_release(&got);
    }
    qc_tensor_release(&want);
    qc_tensor_release(&x);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_pool");
    for (int i = 0; i < 160; i++) run_case(i, true);
    for (int i = 0; i < 20; i++) run_case(i, false);
    return qc_test_summary("test_cpu_pool");
}
