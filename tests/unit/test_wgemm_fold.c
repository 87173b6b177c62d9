/* test_wgemm_fold.c — the weight-only rewrite without any backend but ref
 * (passes/wgemm_fold.c, the const_fold exemption, qc.WGemm's inference and
 * ref kernel): through the compile pipeline (qc_compile_optimize),
 *  - int8 / int4 DequantizeLinear -> Gemm (+ bias, Relu) and a kmeans
 *    codebook Cast + Gather -> MatMul each become ONE qc.WGemm that holds
 *    the compressed weight (no decoded copy among the constants), whose
 *    ref result is bit-identical to the unfused chain's;
 *  - a weight read by two GEMMs keeps the old behaviour (decoder folded to
 *    f32, no qc.WGemm);
 *  - qc.WGemm prints and parses back to the same text.
 * Random shapes and data, seeded (QC_SEED replays). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "qcomp/qcomp.h"

static qc_rng rng;

static float frand(void) {
    return (float)((double)(qc_rng_next(&rng) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static int64_t irand(int64_t lo, int64_t hi) {
    return lo + (int64_t)(qc_rng_next(&rng) % (uint64_t)(hi - lo + 1));
}

static qc_type ty(qc_dtype dt, int32_t rank, int64_t d0, int64_t d1) {
    qc_type t = {.dtype = dt, .rank = rank};
    t.dims[0] = d0;
    t.dims[1] = d1;
    return t;
}

static int32_t value(qc_graph *g, const char *name, qc_type t) {
    int32_t id = -1;
    CHECK_OK(qc_graph_add_value(g, name, &t, &id));
    return id;
}

/* A constant: integers in [lo, hi] (lo < hi) or floats in [-1, 1] (lo == hi). */
static int32_t constant(qc_graph *g, const char *name, qc_type t, int64_t lo, int64_t hi) {
    int64_t n = qc_type_numel(&t);
    size_t bytes = qc_dtype_bytes(t.dtype, n);
    void *d = calloc(1, bytes ? bytes : 1);
    for (int64_t e = 0; e < n; e++) {
        if (lo < hi) qc_elem_set_i64(t.dtype, d, e, irand(lo, hi));
        else qc_elem_set_f64(t.dtype, d, e, 0.01 + 0.05 * (frand() + 1.0));
    }
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, d, bytes, &id));
    free(d);
    return id;
}

static size_t const_bytes(const qc_graph *g) {
    size_t b = 0;
    for (int32_t v = 0; v < g->n_values; v++)
        if (g->values[v].data) b += g->values[v].nbytes;
    return b;
}

static int count(const qc_graph *g, qc_op op) {
    int c = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op;
    return c;
}

/* ref before and after the pipeline (bit-identical), then the text round
 * trip; returns the optimized graph's node count of `op`. */
static int run(const char *what, qc_graph *g, int64_t M, int64_t K, bool expect_wgemm) {
    qc_tensor in = {0}, want[2], got[2];
    memset(want, 0, sizeof want);
    memset(got, 0, sizeof got);
    int32_t no = g->n_outputs;
    qc_tensor_desc d = g->values[g->inputs[0]].type;
    d.dims[0] = M;
    CHECK_OK(qc_tensor_alloc(&d, &in));
    for (int64_t e = 0; e < M * K; e++) ((float *)in.data)[e] = frand();
    CHECK_OK(qc_ref_run(g, &in, 1, want, no));
    size_t before = const_bytes(g);
    CHECK_OK(qc_compile_optimize(g));
    int n_w = count(g, QC_OP_WGEMM);
    EXPECT(n_w == (expect_wgemm ? 1 : 0), "%s: %d qc.WGemm", what, n_w);
    if (expect_wgemm) {
        EXPECT(g->n_nodes == 1, "%s: %d nodes after the pipeline", what, (int)g->n_nodes);
        /* no decoded copy (f32 weight, i32 indices) was added */
        EXPECT(const_bytes(g) <= before, "%s: %zu constant bytes after the pipeline, %zu before",
               what, const_bytes(g), before);
        const qc_node *n = &g->nodes[0];
        qc_dtype wt = n->n_in > 1 ? g->values[n->in[1]].type.dtype : QC_F32;
        EXPECT(wt != QC_F32 && wt != QC_I32, "%s: qc.WGemm holds a %s weight", what,
               qc_dtype_name(wt));
    } else {
        EXPECT(count(g, QC_OP_DEQUANTIZE_LINEAR) == 0 && count(g, QC_OP_GATHER) == 0,
               "%s: the shared weight's decoder was not folded", what);
    }
    CHECK_OK(qc_ref_run(g, &in, 1, got, no));
    for (int32_t o = 0; o < no; o++)
        EXPECT(got[o].data && want[o].data &&
                   !memcmp(got[o].data, want[o].data,
                           qc_dtype_bytes(QC_F32, qc_type_numel(&want[o].desc))),
               "%s: ref after the pipeline differs from ref before (output %d)", what, (int)o);
    char *t1 = NULL, *t2 = NULL;
    qc_graph *g2 = NULL;
    CHECK_OK(qc_graph_print_string(g, &t1));
    CHECK_OK(qc_graph_parse(t1, strlen(t1), what, &g2));
    CHECK_OK(qc_graph_print_string(g2, &t2));
    EXPECT(t1 && t2 && !strcmp(t1, t2), "%s: print -> parse -> print differs", what);
    free(t1);
    free(t2);
    qc_graph_destroy(g2);
    qc_tensor_release(&in);
    for (int32_t o = 0; o < no; o++) {
        qc_tensor_release(&want[o]);
        qc_tensor_release(&got[o]);
    }
    qc_graph_destroy(g);
    return n_w;
}

/* x[N,K] -> Gemm(x, DQ(w[Nout,K] int, blocked scale), bias) -> Relu */
static void case_dq(int iter, bool four) {
    int64_t M = irand(1, 9), K = irand(1, 100), N = irand(1, 40), bs = irand(1, K + 2);
    qc_dtype wt = four ? (irand(0, 1) ? QC_I4 : QC_U4) : (irand(0, 1) ? QC_I8 : QC_U8);
    int64_t lo, hi;
    qc_dtype_int_range(wt, &lo, &hi);
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("dq", &g));
    CHECK_OK(qc_graph_set_batch(g, "N"));
    int32_t x = value(g, "x", ty(QC_F32, 2, QC_DIM_SYM, K));
    CHECK_OK(qc_graph_add_input(g, x));
    int64_t nb = (K + bs - 1) / bs;
    int32_t dq_in[3] = {constant(g, "w", ty(wt, 2, N, K), lo, hi),
                        constant(g, "w_scale", ty(QC_F32, 2, N, nb), 0, 0),
                        constant(g, "w_zp", ty(wt, 2, N, nb), lo, hi)};
    int32_t wf = value(g, "w_dq", ty(QC_F32, 2, N, K)), nid = -1;
    CHECK_OK(qc_graph_add_node(g, QC_OP_DEQUANTIZE_LINEAR, "dq", dq_in, 3, &wf, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "axis", 1));
    CHECK_OK(qc_node_set_int(g, nid, "block_size", bs));
    int32_t gin[3] = {x, wf, constant(g, "b", ty(QC_F32, 1, N, 0), 0, 0)};
    int32_t y = value(g, "yg", ty(QC_F32, 2, QC_DIM_SYM, N));
    CHECK_OK(qc_graph_add_node(g, QC_OP_GEMM, "gemm", gin, 3, &y, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "transB", 1));
    int32_t yr = value(g, "y", ty(QC_F32, 2, QC_DIM_SYM, N));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "relu", &y, 1, &yr, 1, &nid));
    CHECK_OK(qc_graph_add_output(g, yr));
    char what[96];
    snprintf(what, sizeof what, "dq#%d %s K=%lld N=%lld block=%lld", iter, qc_dtype_name(wt),
             (long long)K, (long long)N, (long long)bs);
    run(what, g, M, K, true);
}

/* x -> MatMul(x, Gather(codebook, Cast(indices))); shared: two MatMuls read
 * the same reconstructed weight. */
static void case_codebook(int iter, bool shared) {
    int64_t M = irand(1, 9), K = irand(1, 100), N = irand(1, 40);
    bool four = irand(0, 1);
    int64_t k = four ? 16 : 256;
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("cb", &g));
    CHECK_OK(qc_graph_set_batch(g, "N"));
    int32_t x = value(g, "x", ty(QC_F32, 2, QC_DIM_SYM, K));
    CHECK_OK(qc_graph_add_input(g, x));
    int32_t idx = constant(g, "idx", ty(four ? QC_U4 : QC_U8, 2, K, N), 0, k - 1);
    int32_t cb = constant(g, "codebook", ty(QC_F32, 1, k, 0), 0, 0);
    int32_t i32 = value(g, "idx_i32", ty(QC_I32, 2, K, N)), nid = -1;
    CHECK_OK(qc_graph_add_node(g, QC_OP_CAST, "cast", &idx, 1, &i32, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "to", 6));
    int32_t gin[2] = {cb, i32}, wf = value(g, "w", ty(QC_F32, 2, K, N));
    CHECK_OK(qc_graph_add_node(g, QC_OP_GATHER, "gather", gin, 2, &wf, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "axis", 0));
    for (int r = 0; r < (shared ? 2 : 1); r++) {
        int32_t min[2] = {x, wf}, y = value(g, r ? "y2" : "y", ty(QC_F32, 2, QC_DIM_SYM, N));
        CHECK_OK(qc_graph_add_node(g, QC_OP_MATMUL, r ? "mm2" : "mm", min, 2, &y, 1, &nid));
        CHECK_OK(qc_graph_add_output(g, y));
    }
    char what[96];
    snprintf(what, sizeof what, "codebook#%d u%d K=%lld N=%lld shared=%d", iter, four ? 4 : 8,
             (long long)K, (long long)N, shared);
    run(what, g, M, K, !shared);
}

int main(void) {
    rng.s = qc_test_seed("test_wgemm_fold");
    for (int i = 0; i < 20; i++) case_dq(i, i % 2);
    for (int i = 0; i < 12; i++) case_codebook(i, false);
    for (int i = 0; i < 4; i++) case_codebook(100 + i, true);
    return qc_test_summary("test_wgemm_fold");
}
