/* test_cpu_norm.c — Softmax and LayerNormalization on the cpu backend
 * (backends/cpu/gen_norm.c) against the ref kernels (double precision),
 * JIT and AOT.
 *
 * Random shapes of rank 1..4 over the last axis, row lengths 1..300 (vector
 * tails of every size), a symbolic batch sometimes; Softmax data from small
 * to large magnitudes (up to +-80: exp's range reduction) with -inf entries
 * and, in some rows, NaN / +inf (then the whole row is NaN, as in ref);
 * LayerNorm with random epsilon, Scale and optional B. Tolerance: NaN where
 * ref has NaN, else |d| <= 1e-5 |ref| + 1e-6 (softmax values are <= 1; a
 * layernorm output is O(1)). Every case checks its node was generated. */
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

static int32_t add_vec(qc_graph *g, const char *name, int64_t n, float lo, float hi) {
    float *d = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = frand(lo, hi);
    qc_type t = {.dtype = QC_F32, .rank = 1, .dims = {n}};
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, d, sizeof(float) * (size_t)n, &id));
    free(d);
    return id;
}

static void run_case(int iter, bool softmax) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("norm", &g));
    bool sym = irand(0, 1);
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int32_t rank = (int32_t)irand(1, 4);
    if (sym && rank < 2) rank = 2;
    int64_t len = irand(0, 3) == 0 ? irand(1, 20) : irand(21, 300);
    qc_type xt = {.dtype = QC_F32, .rank = rank};
    for (int32_t d = 0; d < rank - 1; d++) xt.dims[d] = irand(1, 4);
    if (sym) xt.dims[0] = QC_DIM_SYM;
    xt.dims[rank - 1] = len;
    int32_t x = -1, y = -1, nid = -1;
    CHECK_OK(qc_graph_add_value(g, "x", &xt, &x));
    CHECK_OK(qc_graph_add_input(g, x));
    qc_type yt = {.dtype = QC_DT_UNDEF};
    CHECK_OK(qc_graph_add_value(g, "y", &yt, &y));
    bool has_b = irand(0, 1);
    float eps = irand(0, 1) ? 1e-5f : frand(1e-6f, 1e-2f);
    float scale = softmax ? (irand(0, 2) == 0 ? 80.0f : 4.0f) : 3.0f;
    if (softmax) {
        CHECK_OK(qc_graph_add_node(g, QC_OP_SOFTMAX, "sm", &x, 1, &y, 1, &nid));
        CHECK_OK(qc_node_set_int(g, nid, "axis", irand(0, 1) ? -1 : rank - 1));
    } else {
        int32_t in[3] = {x, add_vec(g, "scale", len, -2.0f, 2.0f), has_b ? add_vec(g, "b", len, -1.0f, 1.0f) : -1};
        CHECK_OK(qc_graph_add_node(g, QC_OP_LAYER_NORM, "ln", in, has_b ? 3 : 2, &y, 1, &nid));
        CHECK_OK(qc_node_set_int(g, nid, "axis", -1));
        CHECK_OK(qc_node_set_float(g, nid, "epsilon", eps));
    }
    CHECK_OK(qc_graph_add_output(g, y));
    CHECK_OK(qc_graph_infer(g));
    CHECK_OK(qc_compile_optimize(g));
    char desc[160];
    snprintf(desc, sizeof desc, "%s rank=%d len=%lld sym=%d b=%d eps=%g scale=%g",
             softmax ? "Softmax" : "LayerNorm", (int)rank, (long long)len, (int)sym, (int)has_b,
             (double)eps, (double)scale);
    qc_tensor_desc d = xt;
    if (sym) d.dims[0] = irand(1, 5);
    qc_tensor xv = {0}, want = {0};
    CHECK_OK(qc_tensor_alloc(&d, &xv));
    float *p = xv.data;
    int64_t n = qc_type_numel(&d);
    for (int64_t i = 0; i < n; i++) {
        p[i] = frand(-scale, scale) + (softmax ? 0.0f : frand(-5.0f, 5.0f) * (float)(i % 3));
        uint64_t r = qc_rng_next(&rng) % 200;
        if (softmax && r == 0) p[i] = -INFINITY;
        if (softmax && r == 1 && irand(0, 3) == 0) p[i] = irand(0, 1) ? NAN : INFINITY;
    }
    CHECK_OK(qc_ref_run(g, &xv, 1, &want, 1));
    for (int aot = 0; aot < 2 && want.data; aot++) {
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, NULL, aot, &xv, &got, &gen);
        EXPECT(!st, "case %d (%s) %s: %s", iter, desc, aot ? "aot" : "jit",
               st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == g->n_nodes, "case %d (%s): %d of %d nodes generated", iter, desc, (int)gen,
               (int)g->n_nodes);
        for (int64_t i = 0; got.data && i < n; i++) {
            float u = ((const float *)got.data)[i], v = ((const float *)want.data)[i];
            bool ok = isnan(v) ? isnan(u) : !isnan(u) && fabsf(u - v) <= 1e-5f * fabsf(v) + 1e-6f;
            if (ok) continue;
            EXPECT(0, "case %d (%s) %s: element %lld %.9g vs ref %.9g", iter, desc,
                   aot ? "aot" : "jit", (long long)i, (double)u, (double)v);
            break;
        }
        qc_tensor_release(&got);
    }
    qc_tensor_release(&want);
    qc_tensor_release(&xv);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_norm");
    for (int i = 0; i < 60; i++) run_case(i, true);
    for (int i = 0; i < 60; i++) run_case(i, false);
    return qc_test_summary("test_cpu_norm");
}
