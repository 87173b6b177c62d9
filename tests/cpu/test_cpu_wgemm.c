/* test_cpu_wgemm.c — differential tests of the cpu backend's weight-only and
 * half-precision GEMMs (backends/cpu/gen_wgemm.c) against the ref
 * interpreter, and of the qc.WGemm rewrite (passes/wgemm_fold.c):
 *   dq        DequantizeLinear(i8|u8|i4|u4 weight, scale, zp?) -> Gemm/MatMul,
 *             blocked along K (blocks that do not divide K), per output
 *             channel, per K row, per tensor; random zero points;
 *   codebook  Gather(f32 codebook, Cast(u8|u4 indices, to=i32)) -> Gemm/MatMul;
 *   half      fp16 / bf16 Gemm / MatMul with a half weight, bias, epilogue;
 *   cast      the boundary Casts f32 <-> f16 / bf16 (bit-identical).
 * Random shapes (odd K, N tails of every length, a symbolic batch, 3-D MatMul
 * inputs), a bias + activation epilogue, JIT and AOT, and the avx512 / avx2 /
 * sse2 variants through named CPUs. Each case checks: the optimized graph is
 * one qc.WGemm that holds the compressed weight; ref on it is bit-identical
 * to ref on the unfused chain; every node is generated (except fp16 on sse2,
 * which has no f16c: ref); the cpu output is within tolerance of ref (f32:
 * per element |d| <= 1e-5 (|y| + max|y|) — f32 accumulation against ref's
 * double; half: <= 2 half-ulps of |y| + 1 % of max|y| in those units). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_run.h"
#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "qcomp/qcomp.h"

static qc_rng rng;
/* NULL: native (JIT and AOT); else a named CPU (AOT only) */
static const char *g_cpu;

static float frand(void) {
    return (float)((double)(qc_rng_next(&rng) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static int64_t irand(int64_t lo, int64_t hi) {
    return lo + (int64_t)(qc_rng_next(&rng) % (uint64_t)(hi - lo + 1));
}

static qc_type ty(qc_dtype dt, int32_t rank, const int64_t *dims) {
    qc_type t = {.dtype = dt, .rank = rank};
    for (int32_t k = 0; k < rank; k++) t.dims[k] = dims[k];
    return t;
}

static int32_t add_value(qc_graph *g, const char *name, qc_type t) {
    int32_t id = -1;
    CHECK_OK(qc_graph_add_value(g, name, &t, &id));
    return id;
}

/* A constant of type t with elements set by fill(e) (any dtype). */
static int32_t add_const_fn(qc_graph *g, const char *name, qc_type t, double (*fill)(int64_t),
                            bool integer) {
    int64_t n = qc_type_numel(&t);
    size_t bytes = qc_dtype_bytes(t.dtype, n);
    void *d = calloc(1, bytes ? bytes : 1);
    for (int64_t e = 0; e < n; e++) {
        if (integer) qc_elem_set_i64(t.dtype, d, e, (int64_t)fill(e));
        else qc_elem_set_f64(t.dtype, d, e, fill(e));
    }
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, d, bytes, &id));
    free(d);
    return id;
}

static qc_dtype g_code_t;   /* the dtype fill_code draws for */
static int64_t g_code_n;    /* codebook size (codebook cases) */
static double fill_code(int64_t e) {
    (void)e;
    if (g_code_n) return (double)irand(0, g_code_n - 1);
    int64_t lo, hi;
    qc_dtype_int_range(g_code_t, &lo, &hi);
    return (double)irand(lo, hi);
}
static double fill_scale(int64_t e) { return (void)e, 0.002 + 0.05 * (frand() + 1.0); }
static double fill_unit(int64_t e) { return (void)e, frand(); }

#define AMAX 2.0   /* |x| <= AMAX */

/* The graph's input (random, never all zero) with the batch bound. */
static void alloc_in(const qc_graph *g, int64_t batch, qc_tensor *t) {
    qc_tensor_desc d = g->values[g->inputs[0]].type;
    for (int32_t k = 0; k < d.rank; k++)
        if (d.dims[k] == QC_DIM_SYM) d.dims[k] = batch;
    CHECK_OK(qc_tensor_alloc(&d, t));
    int64_t n = qc_type_numel(&d);
    for (int64_t e = 0; e < n; e++) qc_elem_set_f64(d.dtype, t->data, e, AMAX * frand());
}

/* The GEMM on x and weight w [K,N] (MatMul) or [N,K] (Gemm transB): Gemm or
 * MatMul, bias, then Relu or Sigmoid or nothing; returns the output id. */
typedef struct shape {
    bool gemm, transb, sym, rank3;
    int64_t M, K, N, lead;   /* lead: the 3-D MatMul's first dim */
    qc_dtype io;
    int act;                 /* 0 none, 1 Relu, 2 Sigmoid */
    bool bias;
} shape;

static void random_shape(shape *s, qc_dtype io) {
    s->gemm = irand(0, 1);
    s->transb = s->gemm && irand(0, 3) != 0;
    s->sym = irand(0, 1);
    s->rank3 = !s->gemm && irand(0, 2) == 0;
    s->M = irand(0, 3) ? irand(1, 40) : irand(60, 300);   /* big: staged codebook panels */
    s->K = irand(0, 3) ? 2 * irand(0, 90) + 1 : irand(1, 300);   /* mostly odd */
    s->N = irand(1, 3) == 1 ? irand(1, 9) : irand(10, 100);
    s->lead = irand(1, 4);
    s->io = io;
    s->act = (int)irand(0, 2);
    s->bias = irand(0, 3) != 0;
}

static int32_t build_gemm(qc_graph *g, const shape *s, int32_t w) {
    qc_dtype io = s->io;
    int64_t M = s->sym ? QC_DIM_SYM : s->M;
    int64_t xd[3], yd[3], nd[1] = {s->N};
    int32_t rank = s->rank3 ? 3 : 2;
    if (s->rank3) {
        xd[0] = M, xd[1] = s->lead, xd[2] = s->K;
        yd[0] = M, yd[1] = s->lead, yd[2] = s->N;
    } else {
        xd[0] = M, xd[1] = s->K;
        yd[0] = M, yd[1] = s->N;
    }
    if (s->sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int32_t x = add_value(g, "x", ty(io, rank, xd));
    CHECK_OK(qc_graph_add_input(g, x));
    int32_t y = add_value(g, "mm", ty(io, rank, yd)), nid = -1;
    if (s->gemm) {
        int32_t in[3] = {x, w, -1};
        if (s->bias) in[2] = add_const_fn(g, "bias", ty(io, 1, nd), fill_unit, false);
        CHECK_OK(qc_graph_add_node(g, QC_OP_GEMM, "gemm", in, s->bias ? 3 : 2, &y, 1, &nid));
        if (s->transb) CHECK_OK(qc_node_set_int(g, nid, "transB", 1));
    } else {
        int32_t in[2] = {x, w};
        CHECK_OK(qc_graph_add_node(g, QC_OP_MATMUL, "matmul", in, 2, &y, 1, &nid));
        if (s->bias) {
            int32_t b = add_const_fn(g, "bias", ty(io, 1, nd), fill_unit, false);
            int32_t yb = add_value(g, "mmb", ty(io, rank, yd)), ain[2] = {y, b};
            CHECK_OK(qc_graph_add_node(g, QC_OP_ADD, "addb", ain, 2, &yb, 1, &nid));
            y = yb;
        }
    }
    if (s->act) {
        int32_t ya = add_value(g, "y", ty(io, rank, yd));
        CHECK_OK(qc_graph_add_node(g, s->act == 1 ? QC_OP_RELU : QC_OP_SIGMOID, "act", &y, 1,
                                   &ya, 1, &nid));
        y = ya;
    }
    CHECK_OK(qc_graph_add_output(g, y));
    return y;
}

/* f32: accumulation order and precision (ref sums in double). Half: the
 * base op's result is rounded to half before the epilogue (ref does the
 * same), and the f32 vs double sum can land on the other side of a rounding
 * boundary: one ulp of a value up to max|y| + |bias| (<= 1), which a bias
 * Add may then leave on a small output. u: 2^-10 (f16), 2^-7 (bf16). */
static double tol_of(qc_dtype t, double y, double ymax, double sum_bound) {
    if (t == QC_F32) return 1e-5 * fabs(y) + 6e-8 * sum_bound;
    double u = t == QC_F16 ? 1.0 / 1024.0 : 1.0 / 128.0;
    return u * (fabs(y) + ymax + 1.0);
}

/* sum_bound: K * max|a| * max|b|, the scale of the f32 rounding error of a
 * dot product (the errors of the K partial sums are each at most one f32
 * half-ulp, 6e-8, of a partial sum at most that large). */
static void compare(const char *what, const qc_tensor *got, const qc_tensor *want,
                    double sum_bound, bool *ok) {
    int64_t n = qc_type_numel(&want->desc);
    qc_dtype t = want->desc.dtype;
    double ymax = 0.0;
    for (int64_t e = 0; e < n; e++) ymax = fmax(ymax, fabs(qc_elem_get_f64(t, want->data, e)));
    int64_t bad = 0, same = 0;
    for (int64_t e = 0; e < n; e++) {
        double a = qc_elem_get_f64(t, got->data, e), b = qc_elem_get_f64(t, want->data, e);
        same += a == b;
        if (!(fabs(a - b) <= tol_of(t, b, ymax, sum_bound))) {
            if (bad++ < 3)
                fprintf(stderr, "  %s: element %lld got %.9g want %.9g\n", what, (long long)e, a,
                        b);
        }
    }
    /* half rounds where ref rounds: nearly every element is bit-identical */
    bool mostly_same = t == QC_F32 || same * 10 >= n * 9;
    if (!mostly_same)
        fprintf(stderr, "  %s: only %lld of %lld half outputs bit-identical\n", what,
                (long long)same, (long long)n);
    *ok = bad == 0 && mostly_same;
}

/* ref on the graph as built, the compile pipeline, checks on the optimized
 * graph, ref on it (bit-identical), then cpu by JIT and AOT. */
static void check(const char *what, qc_graph *g, int64_t batch, bool wgemm, bool may_fall_back,
                  double sum_bound) {
    qc_tensor in = {0}, want = {0}, want2 = {0}, got = {0};
    alloc_in(g, batch, &in);
    CHECK_OK(qc_ref_run(g, &in, 1, &want, 1));
    CHECK_OK(qc_compile_optimize(g));
    int32_t n_wgemm = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) n_wgemm += g->nodes[i].op == QC_OP_WGEMM;
    EXPECT(g->n_nodes == 1, "%s: %d nodes after the pipeline, want 1", what, (int)g->n_nodes);
    EXPECT(n_wgemm == (wgemm ? 1 : 0), "%s: %d qc.WGemm nodes", what, (int)n_wgemm);
    for (int32_t i = 0; wgemm && i < g->n_nodes; i++) {
        const qc_node *n = &g->nodes[i];
        qc_dtype wt = n->op == QC_OP_WGEMM ? g->values[n->in[1]].type.dtype : QC_F32;
        EXPECT(wt != QC_F32 && wt != QC_I32, "%s: the weight is held as %s", what,
               qc_dtype_name(wt));
    }
    CHECK_OK(qc_ref_run(g, &in, 1, &want2, 1));
    size_t bytes = qc_dtype_bytes(want.desc.dtype, qc_type_numel(&want.desc));
    EXPECT(want2.data && !memcmp(want.data, want2.data, bytes),
           "%s: ref on the optimized graph differs from ref on the chain", what);
    for (int aot = g_cpu ? 1 : 0; aot < 2; aot++) {
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, g_cpu, aot, &in, &got, &gen);
        EXPECT(!st, "%s (%s): %s", what, aot ? "aot" : "jit", st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == (may_fall_back ? 0 : g->n_nodes), "%s: %d of %d nodes generated", what,
               (int)gen, (int)g->n_nodes);
        if (got.data) {
            bool ok = false;
            compare(what, &got, &want, sum_bound, &ok);
            EXPECT(ok, "%s (%s): output out of tolerance", what, aot ? "aot" : "jit");
        }
        qc_tensor_release(&got);
    }
    qc_tensor_release(&in);
    qc_tensor_release(&want);
    qc_tensor_release(&want2);
    qc_graph_destroy(g);
}

/* int8 / int4 weight-only: DequantizeLinear(w, scale, zp?) -> the GEMM. */
static void case_dq(int iter) {
    static const qc_dtype codes[4] = {QC_I8, QC_U8, QC_I4, QC_U4};
    shape s;
    random_shape(&s, QC_F32);
    qc_dtype wt = codes[irand(0, 3)];
    int layout = (int)irand(0, 5);   /* 0-2 blocked along K, 3 per N, 4 per K row, 5 per tensor */
    bool zp = wt == QC_U8 || wt == QC_U4 || irand(0, 2) == 0;
    int64_t K = s.K, N = s.N;
    int64_t block = layout <= 2 ? irand(1, K + 3) : 0;
    int32_t kax = s.transb ? 1 : 0;
    int64_t wd[2] = {s.transb ? N : K, s.transb ? K : N};
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("wdq", &g));
    g_code_t = wt;
    g_code_n = 0;
    int32_t w = add_const_fn(g, "w", ty(wt, 2, wd), fill_code, true);
    qc_type st;
    int64_t axis = 1;
    if (layout <= 2) {
        int64_t sd[2] = {wd[0], wd[1]};
        sd[kax] = (K + block - 1) / block;
        st = ty(QC_F32, 2, sd);
        axis = kax;
    } else if (layout == 3 || layout == 4) {
        int32_t ax = layout == 3 ? 1 - kax : kax;
        int64_t sd[1] = {wd[ax]};
        st = ty(QC_F32, 1, sd);
        axis = ax;
    } else {
        st = ty(QC_F32, 0, wd);
    }
    int32_t sc = add_const_fn(g, "w_scale", st, fill_scale, false);
    int32_t in[3] = {w, sc, -1}, nid = -1;
    if (zp) {
        qc_type zt = st;
        zt.dtype = wt;
        in[2] = add_const_fn(g, "w_zp", zt, fill_code, true);
    }
    int32_t wf = add_value(g, "w_dq", ty(QC_F32, 2, wd));
    CHECK_OK(qc_graph_add_node(g, QC_OP_DEQUANTIZE_LINEAR, "dq", in, zp ? 3 : 2, &wf, 1, &nid));
    if (layout != 5) CHECK_OK(qc_node_set_int(g, nid, "axis", axis));
    if (block) CHECK_OK(qc_node_set_int(g, nid, "block_size", block));
    build_gemm(g, &s, wf);
    char what[160];
    snprintf(what, sizeof what,
             "%s dq#%d %s %s%s M=%lld K=%lld N=%lld layout=%d block=%lld zp=%d sym=%d act=%d",
             g_cpu ? g_cpu : "native", iter, qc_dtype_name(wt), s.gemm ? "Gemm" : "MatMul",
             s.rank3 ? "3d" : s.transb ? "^T" : "", (long long)s.M, (long long)K, (long long)N,
             layout, (long long)block, zp, s.sym, s.act);
    int64_t lo, hi;
    qc_dtype_int_range(wt, &lo, &hi);
    check(what, g, s.M, true, false, (double)K * AMAX * (double)(hi - lo) * 0.102);
}

/* kmeans: Gather(codebook, Cast(u8|u4 indices, to=i32)) -> the GEMM. */
static void case_codebook(int iter) {
    shape s;
    random_shape(&s, QC_F32);
    bool four = irand(0, 1);
    qc_dtype it = four ? QC_U4 : QC_U8;
    int64_t k = irand(0, 1) ? (four ? 16 : 256) : irand(1, four ? 16 : 256);
    int64_t wd[2] = {s.transb ? s.N : s.K, s.transb ? s.K : s.N}, kd[1] = {k};
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("wcb", &g));
    g_code_t = it;
    g_code_n = k;
    int32_t idx = add_const_fn(g, "w_indices", ty(it, 2, wd), fill_code, true);
    g_code_n = 0;
    int32_t cb = add_const_fn(g, "w_codebook", ty(QC_F32, 1, kd), fill_unit, false);
    int32_t i32 = add_value(g, "w_i32", ty(QC_I32, 2, wd)), nid = -1;
    CHECK_OK(qc_graph_add_node(g, QC_OP_CAST, "cast", &idx, 1, &i32, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "to", 6));
    int32_t gin[2] = {cb, i32}, wf = add_value(g, "w_rec", ty(QC_F32, 2, wd));
    CHECK_OK(qc_graph_add_node(g, QC_OP_GATHER, "gather", gin, 2, &wf, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "axis", 0));
    build_gemm(g, &s, wf);
    char what[160];
    snprintf(what, sizeof what, "%s codebook#%d %s k=%lld %s%s M=%lld K=%lld N=%lld sym=%d act=%d",
             g_cpu ? g_cpu : "native", iter, qc_dtype_name(it), (long long)k,
             s.gemm ? "Gemm" : "MatMul", s.rank3 ? "3d" : s.transb ? "^T" : "", (long long)s.M,
             (long long)s.K, (long long)s.N, s.sym, s.act);
    check(what, g, s.M, true, false, (double)s.K * AMAX);
}

/* fp16 / bf16: the whole GEMM in half (as the fp16 / bf16 schemes leave it). */
static void case_half(int iter, qc_dtype t) {
    shape s;
    random_shape(&s, t);
    int64_t wd[2] = {s.transb ? s.N : s.K, s.transb ? s.K : s.N};
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("whalf", &g));
    int32_t w = add_const_fn(g, "w", ty(t, 2, wd), fill_unit, false);
    build_gemm(g, &s, w);
    char what[160];
    snprintf(what, sizeof what, "%s half#%d %s %s%s M=%lld K=%lld N=%lld sym=%d bias=%d act=%d",
             g_cpu ? g_cpu : "native", iter, qc_dtype_name(t), s.gemm ? "Gemm" : "MatMul",
             s.rank3 ? "3d" : s.transb ? "^T" : "", (long long)s.M, (long long)s.K,
             (long long)s.N, s.sym, s.bias, s.act);
    bool no_f16c = t == QC_F16 && g_cpu && !strcmp(g_cpu, "x86-64");
    check(what, g, s.M, false, no_f16c, (double)s.K * AMAX);
}

/* The fp16 / bf16 schemes' boundary Casts: f32 -> half -> f32 on values
 * that round every way (ties, subnormals, overflow, inf, NaN); both must be
 * bit-identical to ref (NaN: stays NaN). */
static void case_cast(int iter, qc_dtype t) {
    bool no_f16c = t == QC_F16 && g_cpu && !strcmp(g_cpu, "x86-64");
    int64_t n = irand(1, 700), d[1] = {n};
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("wcast", &g));
    int32_t x = add_value(g, "x", ty(QC_F32, 1, d)), h = add_value(g, "h", ty(t, 1, d));
    int32_t y = add_value(g, "y", ty(QC_F32, 1, d)), nid = -1;
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_node(g, QC_OP_CAST, "down", &x, 1, &h, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "to", t == QC_F16 ? 10 : 16));
    CHECK_OK(qc_graph_add_node(g, QC_OP_CAST, "up", &h, 1, &y, 1, &nid));
    CHECK_OK(qc_node_set_int(g, nid, "to", 1));
    CHECK_OK(qc_graph_add_output(g, y));
    qc_tensor in = {0}, want = {0}, got = {0};
    CHECK_OK(qc_tensor_alloc(&g->values[x].type, &in));
    float *xv = in.data;
    for (int64_t e = 0; e < n; e++) {
        float v = frand() * 4.0f;
        switch (irand(0, 7)) {
        case 0: v = ldexpf(v, (int)irand(-30, 20)); break;      /* f16 subnormal .. overflow */
        case 1:   /* an f16 tie */
            v = 1.0f + (float)irand(0, 1023) / 1024.0f + 1.0f / 2048.0f;
            v = ldexpf(v, (int)irand(-14, 15));
            break;
        case 2: v = irand(0, 1) ? INFINITY : -INFINITY; break;
        case 3: v = irand(0, 1) ? NAN : -0.0f; break;
        case 4: v = ldexpf(v, (int)irand(-130, 127)); break;     /* bf16 range */
        default: break;
        }
        xv[e] = v;
    }
    CHECK_OK(qc_ref_run(g, &in, 1, &want, 1));
    CHECK_OK(qc_compile_optimize(g));
    char what[96];
    snprintf(what, sizeof what, "%s cast#%d %s n=%lld", g_cpu ? g_cpu : "native", iter,
             qc_dtype_name(t), (long long)n);
    for (int aot = g_cpu ? 1 : 0; aot < 2; aot++) {
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, g_cpu, aot, &in, &got, &gen);
        EXPECT(!st, "%s (%s): %s", what, aot ? "aot" : "jit", st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == (no_f16c ? 0 : 2), "%s: %d of 2 nodes generated", what, (int)gen);
        const float *a = got.data, *b = want.data;
        int64_t bad = 0;
        for (int64_t e = 0; a && e < n; e++)
            bad += isnan(b[e]) ? !isnan(a[e]) : memcmp(&a[e], &b[e], 4) != 0;
        EXPECT(a && !bad, "%s (%s): %lld elements differ", what, aot ? "aot" : "jit",
               (long long)bad);
        qc_tensor_release(&got);
    }
    qc_tensor_release(&in);
    qc_tensor_release(&want);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_wgemm");
    /* native (this host), then the avx512 / avx2 / sse2 variants */
    static const char *const cpus[] = {NULL, "x86-64-v4", "x86-64-v3", "x86-64"};
    for (int c = 0; c < 4; c++) {
        g_cpu = cpus[c];
        if (!qc_test_cpu_host_can_run(g_cpu)) {
            printf("skipped: this host cannot run code for %s\n", g_cpu);
            continue;
        }
        int reps = c == 0 ? 30 : 8;
        for (int i = 0; i < reps; i++) case_dq(100 * c + i);
        for (int i = 0; i < reps; i++) case_codebook(100 * c + i);
        for (int i = 0; i < reps / 2; i++) case_half(100 * c + i, QC_F16);
        for (int i = 0; i < reps / 2; i++) case_half(100 * c + 50 + i, QC_BF16);
        for (int i = 0; i < 3; i++) case_cast(100 * c + i, i % 2 ? QC_BF16 : QC_F16);
    }
    g_cpu = NULL;
    return qc_test_summary("test_cpu_wgemm");
}
