/* test_cpu_qelem.c — differential test of the cpu backend's QLinearAdd /
 * QLinearMul kernels (backends/cpu/gen_qelem.c) against the ref kernel:
 * random output shapes (odd sizes, inner rows longer than one work unit,
 * a symbolic batch bound at random sizes), numpy broadcasting of either
 * operand (dims of 1, missing leading dims, scalars), u8 and i8, random
 * scales and zero points including ones that saturate most of the output,
 * scales that make half the results exact ties (round half to even),
 * absent zero points, and scales that are graph inputs rather than
 * constants. Chains DQ, DQ -> Add/Mul -> Relu/Clip -> Q must fold
 * (qdq_fold) into one node whose ref result equals the chain's bit for
 * bit. Every case runs through the JIT and the AOT artifact, must
 * have its node generated (not the ref fallback), and must be
 * bit-identical to ref; the vector widths 16 / 8 / 4 are forced through
 * named CPUs where the host can run them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "cpu_run.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"

static qc_rng rng;
/* Reference output elements at the type's bounds and strictly inside: both
 * must occur, or the saturation cases were not exercised. */
static int64_t n_saturated, n_inside;
static int n_folded;   /* chains whose folded ref matched the chain's */

static int64_t irand(int64_t lo, int64_t hi) {
    return lo + (int64_t)(qc_rng_next(&rng) % (uint64_t)(hi - lo + 1));
}
static float frand01(void) { return (float)((double)(qc_rng_next(&rng) >> 40) / 16777216.0); }

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

static int32_t add_scalar(qc_graph *g, const char *name, qc_dtype dt, const void *v) {
    qc_type t = {.dtype = dt, .rank = irand(0, 1) ? 1 : 0, .dims = {1}};
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, v, qc_dtype_bytes(dt, 1), &id));
    return id;
}

/* A scale spanning 1e-4 .. 1e-1 (log-uniform-ish). */
static float rand_scale(void) {
    static const float decades[4] = {1e-4f, 1e-3f, 1e-2f, 1e-1f};
    return decades[irand(0, 3)] * (0.5f + 4.5f * frand01());
}

static void fill_bytes(qc_tensor *t) {
    uint8_t *p = t->data;
    int64_t n = qc_type_numel(&t->desc);
    for (int64_t i = 0; i < n; i++) p[i] = (uint8_t)(qc_rng_next(&rng) >> 33);
}

typedef struct qcase {
    char what[512];
    qc_graph *g;
    int64_t batch;
    float runtime_scale;        /* the value of a scale that is a graph input, or 0 */
    bool chain;                 /* built as DQ, DQ -> Add/Mul -> Relu/Clip -> Q */
} qcase;

/* An operand shape broadcasting to out: a suffix of its dims, each kept or 1. */
static void operand_shape(const qc_type *out, int mode, qc_type *t) {
    memset(t, 0, sizeof *t);
    t->dtype = out->dtype;
    if (mode == 0) {   /* the output's shape */
        *t = *out;
        return;
    }
    int32_t drop = (int32_t)irand(0, out->rank);
    t->rank = out->rank - drop;
    for (int32_t k = 0; k < t->rank; k++) {
        int64_t d = out->dims[k + drop];
        t->dims[k] = irand(0, 2) == 0 ? 1 : d;
    }
}

static void dims_str(const qc_type *t, char *buf, size_t len) {
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int32_t k = 0; k < t->rank && at < len; k++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", k ? "," : "",
                               t->dims[k] == QC_DIM_SYM ? -1LL : (long long)t->dims[k]);
    if (at < len) snprintf(buf + at, len - at, "]");
}

/* The QDQ form qdq_fold turns into one QLinearAdd / QLinearMul with an
 * output clamp: DQ(a), DQ(b) -> Add/Mul -> Relu | Clip(lo, hi) -> Q. The
 * clip bounds are random multiples of the output scale (so they land on
 * and between quantization steps); returns the output value. */
static int32_t add_chain(qc_graph *g, const int32_t *in, bool mul, qc_type out, float sc,
                         char *what, size_t len) {
    qc_type f = out;
    f.dtype = QC_F32;
    qc_type ta = g->values[in[0]].type, tb = g->values[in[3]].type;
    ta.dtype = tb.dtype = QC_F32;
    int32_t fa = add_value(g, "fa", ta), fb = add_value(g, "fb", tb), r = add_value(g, "r", f);
    int32_t act = add_value(g, "act", f), y = add_value(g, "y", out), nid = -1;
    CHECK_OK(qc_graph_add_node(g, QC_OP_DEQUANTIZE_LINEAR, "dqa", in, 3, &fa, 1, &nid));
    CHECK_OK(qc_graph_add_node(g, QC_OP_DEQUANTIZE_LINEAR, "dqb", in + 3, 3, &fb, 1, &nid));
    int32_t ab[2] = {fa, fb};
    CHECK_OK(qc_graph_add_node(g, mul ? QC_OP_MUL : QC_OP_ADD, "op", ab, 2, &r, 1, &nid));
    if (irand(0, 1)) {
        CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "relu", &r, 1, &act, 1, &nid));
        snprintf(what, len, " Relu");
    } else {
        float lo = sc * 0.37f * (float)irand(-150, 60), hi = lo + sc * 0.41f * (float)irand(0, 200);
        int32_t cl[3] = {r, add_scalar(g, "clo", QC_F32, &lo), add_scalar(g, "chi", QC_F32, &hi)};
        int32_t n_cl = irand(0, 3) ? 3 : 2;
        CHECK_OK(qc_graph_add_node(g, QC_OP_CLIP, "clip", cl, n_cl, &act, 1, &nid));
        snprintf(what, len, " Clip(%.6g%s%.6g)", (double)lo, n_cl == 3 ? "," : ", no max ",
                 (double)(n_cl == 3 ? hi : 0.0f));
    }
    int32_t qin[3] = {act, in[6], in[7]};
    CHECK_OK(qc_graph_add_node(g, QC_OP_QUANTIZE_LINEAR, "q", qin, 3, &y, 1, &nid));
    return y;
}

static void make_case(int iter, bool chain, qcase *c) {
    memset(c, 0, sizeof *c);
    c->chain = chain;
    bool mul = irand(0, 2) == 0, s8 = irand(0, 1);
    qc_dtype dt = s8 ? QC_I8 : QC_U8;
    qc_type out = {.dtype = dt, .rank = (int32_t)irand(0, 4)};
    for (int32_t k = 0; k < out.rank; k++) out.dims[k] = irand(0, 3) ? irand(1, 9) : irand(10, 70);
    if (out.rank > 0 && irand(0, 4) == 0) out.dims[out.rank - 1] = irand(4000, 9000);   /* > one unit */
    bool sym = out.rank > 0 && irand(0, 3) == 0;
    c->batch = sym ? irand(1, 4) : 0;
    qc_type ta, tb;
    operand_shape(&out, (int)irand(0, 2), &ta);
    operand_shape(&out, (int)irand(0, 2), &tb);
    if (ta.rank < out.rank && tb.rank < out.rank) {   /* keep the output's rank: A gets leading 1s */
        int32_t pad = out.rank - ta.rank;
        memmove(ta.dims + pad, ta.dims, sizeof ta.dims[0] * (size_t)ta.rank);
        for (int32_t k = 0; k < pad; k++) ta.dims[k] = 1;
        ta.rank = out.rank;
    }
    /* The output is the broadcast of the two (a dim the sampling made 1 in
     * both operands is 1 in the output too). */
    for (int32_t k = 0; k < out.rank; k++) {
        int32_t ia = k - (out.rank - ta.rank), ib = k - (out.rank - tb.rank);
        int64_t da = ia >= 0 ? ta.dims[ia] : 1, db = ib >= 0 ? tb.dims[ib] : 1;
        out.dims[k] = da > db ? da : db;
    }
    if (sym) {
        out.dims[0] = QC_DIM_SYM;
        int32_t ia = 0 - (out.rank - ta.rank), ib = 0 - (out.rank - tb.rank);
        if (ia == 0 && ta.dims[0] != 1) ta.dims[0] = QC_DIM_SYM;
        if (ib == 0 && tb.dims[0] != 1) tb.dims[0] = QC_DIM_SYM;
        bool has = (ia == 0 && ta.dims[0] == QC_DIM_SYM) || (ib == 0 && tb.dims[0] == QC_DIM_SYM);
        if (!has) ta = out;   /* neither carries the batch: A gets the output's shape */
    }
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("qelem", &g));
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    int32_t a = add_value(g, "a", ta), b = add_value(g, "b", tb);
    CHECK_OK(qc_graph_add_input(g, a));
    CHECK_OK(qc_graph_add_input(g, b));
    /* Output scale: 0 = matched to the operands, 1 = tiny (saturates most
     * of the output), 2 = large (most of it rounds to the zero point). */
    int sat = (int)irand(0, 3);
    float sa = rand_scale(), sb = rand_scale();
    float sc = mul ? sa * sb * 512.0f : (sa + sb) * 2.0f;   /* mostly in range */
    if (sat == 1) sc *= 0.01f;
    if (sat == 2) sc *= 50.0f;
    if (sat == 3) {   /* exact halves: every other element a rounding tie */
        sa = sb = 0.25f;
        sc = mul ? 0.125f : 0.5f;
    }
    int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
    int32_t z[3];
    uint8_t zbytes[3];   /* the zero points as stored (u8 or two's-complement i8) */
    bool zp_present[3];
    for (int k = 0; k < 3; k++) {
        z[k] = (int32_t)irand(lo, hi);
        zbytes[k] = (uint8_t)z[k];
        zp_present[k] = chain || irand(0, 4) != 0;   /* qdq_fold needs them */
    }
    bool scale_input = !chain && irand(0, 4) == 0;   /* C_scale a graph input */
    int32_t in[8];
    in[0] = a;
    in[1] = add_scalar(g, "sa", QC_F32, &sa);
    in[2] = zp_present[0] ? add_scalar(g, "za", dt, &zbytes[0]) : -1;
    in[3] = b;
    in[4] = add_scalar(g, "sb", QC_F32, &sb);
    in[5] = zp_present[1] ? add_scalar(g, "zb", dt, &zbytes[1]) : -1;
    if (scale_input) {
        int64_t one[1] = {1};
        in[6] = add_value(g, "sc", ty(QC_F32, 1, one));
        CHECK_OK(qc_graph_add_input(g, in[6]));
        c->runtime_scale = sc;
    } else {
        in[6] = add_scalar(g, "sc", QC_F32, &sc);
    }
    in[7] = zp_present[2] ? add_scalar(g, "zc", dt, &zbytes[2]) : -1;
    int32_t n_in = zp_present[2] ? 8 : 7;
    char extra[96] = "";
    int32_t y = -1;
    if (chain) {
        y = add_chain(g, in, mul, out, sc, extra, sizeof extra);
    } else {
        int32_t nid = -1;
        y = add_value(g, "y", out);
        CHECK_OK(qc_graph_add_node(g, mul ? QC_OP_QLINEAR_MUL : QC_OP_QLINEAR_ADD, "q", in, n_in,
                                   &y, 1, &nid));
        if (irand(0, 3) == 0) {   /* an output clamp, as qdq_fold writes it */
            int64_t amin = irand(lo, hi), amax = irand(amin, hi);
            CHECK_OK(qc_node_set_int(g, nid, "act_min", amin));
            CHECK_OK(qc_node_set_int(g, nid, "act_max", amax));
            snprintf(extra, sizeof extra, " act=%lld..%lld", (long long)amin, (long long)amax);
        }
    }
    CHECK_OK(qc_graph_add_output(g, y));
    c->g = g;
    char da[48], db[48], dy[48];
    dims_str(&ta, da, sizeof da);
    dims_str(&tb, db, sizeof db);
    dims_str(&out, dy, sizeof dy);
    snprintf(c->what, sizeof c->what,
             "%s#%d %s %s a%s b%s y%s batch=%lld sa=%.6g sb=%.6g sc=%.6g%s z=%d/%d/%d "
             "present=%d%d%d%s",
             chain ? "chain" : "qelem", iter, mul ? "mul" : "add", s8 ? "i8" : "u8", da, db, dy, (long long)c->batch,
             (double)sa, (double)sb, (double)sc, scale_input ? " (input)" : "", z[0], z[1], z[2],
             zp_present[0], zp_present[1], zp_present[2], extra);
}

static void make_inputs(const qcase *c, qc_tensor *in) {
    const qc_graph *g = c->g;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        qc_tensor_desc d = g->values[g->inputs[i]].type;
        for (int32_t k = 0; k < d.rank; k++)
            if (d.dims[k] == QC_DIM_SYM) d.dims[k] = c->batch;
        CHECK_OK(qc_tensor_alloc(&d, &in[i]));
        if (d.dtype == QC_F32) *(float *)in[i].data = c->runtime_scale;
        else fill_bytes(&in[i]);
    }
}

/* The first element where two 8-bit tensors of want's shape differ, or -1. */
static int64_t first_diff(const qc_tensor *got, const qc_tensor *want) {
    int64_t n = qc_type_numel(&want->desc);
    for (int64_t i = 0; i < n; i++)
        if (((const uint8_t *)got->data)[i] != ((const uint8_t *)want->data)[i]) return i;
    return -1;
}

/* A chain must have become one QLinearAdd / QLinearMul whose ref kernel
 * gives exactly what ref gave for the unfused chain. */
static void check_folded(qcase *c, const qc_tensor *in, const qc_tensor *want) {
    const qc_graph *g = c->g;
    bool one = g->n_nodes == 1 &&
               (g->nodes[0].op == QC_OP_QLINEAR_ADD || g->nodes[0].op == QC_OP_QLINEAR_MUL);
    EXPECT(one, "%s: not folded into one QLinearAdd/Mul (%d nodes)", c->what, (int)g->n_nodes);
    qc_tensor fused = {0};
    CHECK_OK(qc_ref_run(g, in, g->n_inputs, &fused, 1));
    if (fused.data && want->data) {
        int64_t bad = first_diff(&fused, want);
        EXPECT(bad < 0, "%s: folded ref differs from the chain at %lld", c->what, (long long)bad);
        n_folded++;
    }
    qc_tensor_release(&fused);
}

/* ref, then the compile pipeline, then cpu for `cpu` by JIT (host only)
 * and AOT. */
static int run_case(qcase *c, const char *cpu) {
    qc_tensor in[3] = {0}, want = {0};
    make_inputs(c, in);
    CHECK_OK(qc_ref_run(c->g, in, c->g->n_inputs, &want, 1));
    if (want.data) {
        bool s8 = want.desc.dtype == QC_I8;
        for (int64_t i = 0; i < qc_type_numel(&want.desc); i++) {
            int v = s8 ? ((int8_t *)want.data)[i] : ((uint8_t *)want.data)[i];
            if (v == (s8 ? -128 : 0) || v == (s8 ? 127 : 255)) n_saturated++;
            else n_inside++;
        }
    }
    CHECK_OK(qc_compile_optimize(c->g));
    if (c->chain) check_folded(c, in, &want);
    int runs = 0;
    for (int aot = strcmp(cpu, "native") ? 1 : 0; aot < 2; aot++) {
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(c->g, cpu, aot, in, &got, &gen);
        EXPECT(!st, "%s (%s, %s): %s", c->what, cpu, aot ? "aot" : "jit",
               st ? qc_status_message(st) : "");
        qc_status_free(st);
        EXPECT(gen == c->g->n_nodes, "%s (%s): %d of %d nodes generated", c->what, cpu, (int)gen,
               (int)c->g->n_nodes);
        if (got.data && want.data) {
            int64_t bad = first_diff(&got, &want);
            EXPECT(bad < 0, "%s (%s, %s): element %lld is %d, ref %d", c->what, cpu,
                   aot ? "aot" : "jit", (long long)bad,
                   bad < 0 ? 0 : (int)((int8_t *)got.data)[bad],
                   bad < 0 ? 0 : (int)((int8_t *)want.data)[bad]);
            runs++;
        }
        qc_tensor_release(&got);
    }
    qc_tensor_release(&want);
    for (int i = 0; i < 3; i++) qc_tensor_release(&in[i]);
    qc_graph_destroy(c->g);
    return runs;
}

/* Whether this host runs code for a CPU needing `feature` (the test only
 * builds where the cpu backend does: x86-64 with GCC or Clang). */
static bool host_has(const char *feature) {
    if (!*feature) return true;
    __builtin_cpu_init();
    if (!strcmp(feature, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(feature, "sse4.2")) return __builtin_cpu_supports("sse4.2");
    return false;
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_qelem");
    /* x16 on the host (when it has avx512), x8 through x86-64-v3, x4
     * through x86-64-v2 (sse4.2: rint without libm). */
    struct {
        const char *cpu, *needs;
        int cases, chains;
    } cpus[] = {{"native", "", 120, 80}, {"x86-64-v3", "avx2", 30, 10}, {"x86-64-v2", "sse4.2", 30, 10}};
    int runs = 0;
    for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++) {
        if (!host_has(cpus[i].needs)) {
            printf("skipped: host cannot run code for %s\n", cpus[i].cpu);
            continue;
        }
        for (int k = 0; k < cpus[i].cases + cpus[i].chains; k++) {
            qcase c;
            make_case(k, k >= cpus[i].cases, &c);
            runs += run_case(&c, cpus[i].cpu);
        }
    }
    printf("test_cpu_qelem: %d runs compared bit for bit with ref\n", runs);
    printf("test_cpu_qelem: ref elements saturated %lld, inside the range %lld\n",
           (long long)n_saturated, (long long)n_inside);
    printf("test_cpu_qelem: %d DQ/DQ/op/activation/Q chains folded bit-exactly\n", n_folded);
    EXPECT(runs > 0 && n_folded > 0, "no case ran");
    EXPECT(n_saturated > 0 && n_inside > 0, "saturating and non-saturating cases both needed");
    return qc_test_summary("test_cpu_qelem");
}
