/* test_memplan.c — the arena planner (passes/memplan.c): on random graphs
 * (with and without the symbolic batch) and on every tests/models model, no
 * two simultaneously live values overlap for N in {1, 2, 7, 1000} (checked
 * here independently of qc_plan_check, too); reuse happens on chains; in-place
 * reuse happens exactly where legal. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "qc_test.h"

static const int64_t batches[] = {1, 2, 7, 1000};

/* Brute-force overlap check, written from the definition: a value is live
 * from producer (inputs: -1) to last reader (outputs: n_nodes). */
static int brute_check(const qc_graph *g, const qc_plan *p, int64_t n) {
    int bad = 0;
    int32_t nv = g->n_values;
    int32_t *s = malloc(sizeof(int32_t) * (size_t)nv), *e = malloc(sizeof(int32_t) * (size_t)nv);
    for (int32_t v = 0; v < nv; v++) {
        s[v] = g->values[v].producer;
        e[v] = s[v];
    }
    for (int32_t i = 0; i < g->n_inputs; i++) s[g->inputs[i]] = e[g->inputs[i]] = -1;
    for (int32_t k = 0; k < g->n_nodes; k++)
        for (int32_t j = 0; j < g->nodes[k].n_in; j++)
            if (g->nodes[k].in[j] >= 0) e[g->nodes[k].in[j]] = k;
    for (int32_t i = 0; i < g->n_outputs; i++) e[g->outputs[i]] = g->n_nodes;
    for (int32_t u = 0; u < nv; u++) {
        if (g->values[u].data) continue;
        if (p->off_a[u] < 0) continue;
        int64_t ua, ub, va, vb;
        qc_plan_value_size(g, u, &ua, &ub);
        int64_t uo = p->off_a[u] + p->off_b[u] * n, ue = uo + ua + ub * n;
        if (uo % 64) bad++;
        if (ue > p->size_a + p->size_b * n) bad++;
        for (int32_t v = u + 1; v < nv; v++) {
            if (g->values[v].data || p->off_a[v] < 0) continue;
            if (!(s[u] <= e[v] && s[v] <= e[u])) continue;
            qc_plan_value_size(g, v, &va, &vb);
            int64_t vo = p->off_a[v] + p->off_b[v] * n, ve = vo + va + vb * n;
            if (uo >= ve || vo >= ue) continue;
            /* allowed only as a direct in-place pair at equal offsets */
            int32_t pr = g->values[v].producer;
            bool ok = uo == vo && pr >= 0 && e[u] == pr && g->nodes[pr].out[0] == v;
            if (ok) {
                ok = false;
                for (int32_t j = 0; j < g->nodes[pr].n_in; j++)
                    if (g->nodes[pr].in[j] == u && qc_plan_op_inplace(&g->nodes[pr], j)) ok = true;
            }
            if (!ok) bad++;
        }
    }
    free(s);
    free(e);
    return bad;
}

static void check_plan(const qc_graph *g, const char *what, qc_plan *p) {
    CHECK_OK(qc_memplan(g, p));
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        qc_status st = qc_plan_check(g, p, batches[i]);
        CHECK_MSG(!st, "%s N=%lld: %s", what, (long long)batches[i], st ? qc_status_message(st) : "");
        qc_status_free(st);
        int bad = brute_check(g, p, batches[i]);
        CHECK_MSG(bad == 0, "%s N=%lld: %d overlaps", what, (long long)batches[i], bad);
    }
}

static uint32_t rng_next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A random DAG of unary/binary float ops over [B?, w] tensors (w varies so
 * sizes differ; Add only joins equal shapes), a few outputs. */
static qc_graph *random_graph(uint32_t seed, bool sym) {
    uint32_t r = seed * 2654435761u + 1;
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("rand", &g));
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int32_t vals[64];
    int nvals = 0;
    static const int64_t widths[] = {16, 40, 100, 7};
    char name[32];
    int n_in = 1 + (int)(rng_next(&r) % 2);
    for (int i = 0; i < n_in; i++) {
        qc_type t = {.dtype = QC_F32, .rank = 2,
                     .dims = {sym ? QC_DIM_SYM : 3, widths[rng_next(&r) % 4]}};
        snprintf(name, sizeof name, "in%d", i);
        CHECK_OK(qc_graph_add_value(g, name, &t, &vals[nvals]));
        CHECK_OK(qc_graph_add_input(g, vals[nvals++]));
    }
    int n_nodes = 5 + (int)(rng_next(&r) % 25);
    static const qc_op unary[] = {QC_OP_RELU, QC_OP_SIGMOID, QC_OP_TANH, QC_OP_EXP};
    for (int k = 0; k < n_nodes && nvals < 63; k++) {
        int32_t a = vals[rng_next(&r) % (uint32_t)nvals];
        qc_type ta = g->values[a].type;
        int32_t o;
        snprintf(name, sizeof name, "v%d", k);
        uint32_t kind = rng_next(&r) % 4;
        if (kind == 0) {   /* binary with a partner of equal shape, if any */
            int32_t b = a;
            for (int t = 0; t < 8; t++) {
                int32_t c = vals[rng_next(&r) % (uint32_t)nvals];
                if (qc_type_equal(&g->values[c].type, &ta)) b = c;
            }
            int32_t in[2] = {a, b};
            CHECK_OK(qc_graph_add_value(g, name, &ta, &o));
            CHECK_OK(qc_graph_add_node(g, QC_OP_ADD, name, in, 2, &o, 1, NULL));
        } else if (kind == 1) {   /* a differently sized value: Flatten-free resize via MatMul */
            int64_t w = widths[rng_next(&r) % 4];
            qc_type tw = {.dtype = QC_F32, .rank = 2, .dims = {ta.dims[1], w}};
            size_t nb = (size_t)(ta.dims[1] * w) * sizeof(float);
            float *wd = calloc(1, nb);
            int32_t wv, in[2];
            char wn[40];
            snprintf(wn, sizeof wn, "w%d", k);
            CHECK_OK(qc_graph_add_const(g, wn, &tw, wd, nb, &wv));
            free(wd);
            qc_type to = ta;
            to.dims[1] = w;
            in[0] = a;
            in[1] = wv;
            CHECK_OK(qc_graph_add_value(g, name, &to, &o));
            CHECK_OK(qc_graph_add_node(g, QC_OP_MATMUL, name, in, 2, &o, 1, NULL));
        } else {
            CHECK_OK(qc_graph_add_value(g, name, &ta, &o));
            CHECK_OK(qc_graph_add_node(g, unary[rng_next(&r) % 4], name, &a, 1, &o, 1, NULL));
        }
        vals[nvals++] = o;
    }
    /* last value plus maybe a random earlier one as outputs */
    CHECK_OK(qc_graph_add_output(g, vals[nvals - 1]));
    int32_t extra = vals[n_in + (int)(rng_next(&r) % (uint32_t)(nvals - n_in))];
    if (extra != vals[nvals - 1] && rng_next(&r) % 2) CHECK_OK(qc_graph_add_output(g, extra));
    return g;
}

static void test_random(void) {
    for (uint32_t seed = 1; seed <= 300; seed++) {
        qc_graph *g = random_graph(seed, seed % 2 == 0);
        qc_status st = qc_graph_verify(g);
        CHECK_MSG(!st, "seed %u: %s", seed, st ? qc_status_message(st) : "");
        qc_status_free(st);
        qc_plan p;
        char what[32];
        snprintf(what, sizeof what, "random seed %u", seed);
        check_plan(g, what, &p);
        qc_plan_free(&p);
        qc_graph_destroy(g);
    }
}

/* x -> MatMul -> a -> MatMul -> b -> ... (distinct, non-in-place ops): only
 * neighbours are live together, so the arena is ~2 buffers, not n. */
static void test_chain_reuse(void) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("chain", &g));
    CHECK_OK(qc_graph_set_batch(g, "N"));
    qc_type t = {.dtype = QC_F32, .rank = 2, .dims = {QC_DIM_SYM, 100}};
    qc_type tw = {.dtype = QC_F32, .rank = 2, .dims = {100, 100}};
    static float wd[100 * 100];
    int32_t prev, w;
    CHECK_OK(qc_graph_add_value(g, "x", &t, &prev));
    CHECK_OK(qc_graph_add_input(g, prev));
    CHECK_OK(qc_graph_add_const(g, "w", &tw, wd, sizeof wd, &w));
    for (int k = 0; k < 10; k++) {
        char name[16];
        snprintf(name, sizeof name, "h%d", k);
        int32_t o, in[2] = {prev, w};
        CHECK_OK(qc_graph_add_value(g, name, &t, &o));
        CHECK_OK(qc_graph_add_node(g, QC_OP_MATMUL, name, in, 2, &o, 1, NULL));
        prev = o;
    }
    CHECK_OK(qc_graph_add_output(g, prev));
    qc_plan p;
    check_plan(g, "chain", &p);
    /* 11 buffers of 400*N bytes; peak must be 2 (input + output may not
     * overlap the neighbours they are live with, but reuse alternates). */
    CHECK_MSG(p.size_a == 0 && p.size_b == 2 * 448, "chain arena %lld + %lld*N",
              (long long)p.size_a, (long long)p.size_b);
    qc_plan_free(&p);
    /* For the cpu's row-blocked runs the ten MatMuls form one run: x (read
     * from before it) and h9 (a graph output) stay live across the run, so
     * their slots are disjoint from every other; h0..h8 are internal to the
     * run (the device keeps them in block scratch) and still alternate. */
    CHECK_OK(qc_memplan_flags(g, QC_PLAN_ROW_CHAINS, &p));
    CHECK_OK(qc_plan_check(g, &p, 7));
    CHECK_MSG(p.size_a == 0 && p.size_b == 4 * 448, "row-chain arena %lld + %lld*N",
              (long long)p.size_a, (long long)p.size_b);
    int32_t ext[2] = {g->inputs[0], g->outputs[0]};
    for (int e = 0; e < 2; e++)
        for (int32_t v = 0; v < g->n_values; v++)
            if (v != ext[e] && p.off_a[v] >= 0)
                CHECK_MSG(p.off_b[v] != p.off_b[ext[e]], "'%s' shares a slot with '%s'",
                          g->values[v].name, g->values[ext[e]].name);
    qc_plan_free(&p);
    qc_graph_destroy(g);
}

/* In place: h = MatMul(x); r = Relu(h); s = Reshape(r); o = Add(s, s2)...
 * Relu and Reshape reuse h's block; a Relu on the graph input does not. */
static void test_inplace(void) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("inplace", &g));
    qc_type t = {.dtype = QC_F32, .rank = 2, .dims = {4, 16}};
    qc_type t2 = {.dtype = QC_F32, .rank = 1, .dims = {64}};
    qc_type tw = {.dtype = QC_F32, .rank = 2, .dims = {16, 16}};
    qc_type ts = {.dtype = QC_I64, .rank = 1, .dims = {1}};
    static float wd[256];
    int64_t shape[1] = {64};
    int32_t x, w, sh, xr, h, r, s, o, keep;
    CHECK_OK(qc_graph_add_value(g, "x", &t, &x));
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_const(g, "w", &tw, wd, sizeof wd, &w));
    CHECK_OK(qc_graph_add_const(g, "shape", &ts, shape, sizeof shape, &sh));
    CHECK_OK(qc_graph_add_value(g, "xr", &t, &xr));
    CHECK_OK(qc_graph_add_value(g, "h", &t, &h));
    CHECK_OK(qc_graph_add_value(g, "r", &t, &r));
    CHECK_OK(qc_graph_add_value(g, "keep", &t, &keep));
    CHECK_OK(qc_graph_add_value(g, "s", &t2, &s));
    CHECK_OK(qc_graph_add_value(g, "o", &t2, &o));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "xr", &x, 1, &xr, 1, NULL));   /* input: no */
    int32_t mm[2] = {xr, w};
    CHECK_OK(qc_graph_add_node(g, QC_OP_MATMUL, "h", mm, 2, &h, 1, NULL));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "r", &h, 1, &r, 1, NULL));      /* yes */
    CHECK_OK(qc_graph_add_node(g, QC_OP_SIGMOID, "keep", &r, 1, &keep, 1, NULL)); /* r read later: no */
    int32_t rs[2] = {r, sh};
    CHECK_OK(qc_graph_add_node(g, QC_OP_RESHAPE, "s", rs, 2, &s, 1, NULL));  /* yes */
    CHECK_OK(qc_graph_add_node(g, QC_OP_EXP, "o", &s, 1, &o, 1, NULL));      /* yes (o is output) */
    CHECK_OK(qc_graph_add_output(g, o));
    CHECK_OK(qc_graph_add_output(g, keep));
    CHECK_OK(qc_graph_verify(g));
    qc_plan p;
    check_plan(g, "inplace", &p);
    CHECK(p.off_a[xr] != p.off_a[x]);
    CHECK(p.off_a[r] == p.off_a[h]);
    CHECK(p.off_a[keep] != p.off_a[r]);
    CHECK(p.off_a[s] == p.off_a[r]);
    CHECK(p.off_a[o] == p.off_a[s]);
    CHECK(p.off_a[w] == -1 && p.off_b[sh] == -1);
    qc_plan_free(&p);
    CHECK_OK(qc_pass_run_pipeline(g, "memplan"));
    qc_graph_destroy(g);
}

static void test_models(void) {
    DIR *d = opendir("tests/models");
    CHECK(d != NULL);
    if (!d) return;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "tests/models/%s/model.onnx", de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fclose(f);
        qc_onnx_options opts;
        qc_onnx_options_init(&opts);
        qc_graph *g = NULL;
        qc_status st = qc_onnx_import_file(path, &opts, &g);
        CHECK_MSG(!st, "%s: %s", path, st ? qc_status_message(st) : "");
        qc_status_free(st);
        if (!g) continue;
        qc_plan p;
        check_plan(g, de->d_name, &p);
        int64_t sum_a = 0, sum_b = 0;
        for (int32_t v = 0; v < g->n_values; v++) {
            if (p.off_a[v] < 0) continue;
            int64_t a, b;
            qc_plan_value_size(g, v, &a, &b);
            sum_a += a;
            sum_b += b;
        }
        printf("%-24s arena %lld + %lld*N bytes, sum of buffers %lld + %lld*N\n", de->d_name,
               (long long)p.size_a, (long long)p.size_b, (long long)sum_a, (long long)sum_b);
        qc_plan_free(&p);
        qc_graph_destroy(g);
        n++;
    }
    closedir(d);
    CHECK(n >= 4);
}

int main(void) {
    test_random();
    test_chain_reuse();
    test_inplace();
    test_models();
    return qc_test_summary("memplan");
}
