/* test_cpu_fconv.c — the fp32 convolution kernel (backends/cpu/gen_fconv.c)
 * against the ref kernel, JIT and AOT.
 *
 * 160 random Conv nodes: 1-D and 2-D, groups (incl. depthwise and channel
 * multipliers), kernels 1..7, strides 1..3, dilations, explicit pads or
 * auto_pad, channels up to 160 per group (the chunked X' path), maps from
 * 1 to 70 wide, a fixed or symbolic batch, with or without bias; half are
 * followed by a Relu and / or an Add of a per-channel, scalar or full
 * constant, which the fuse pass folds into a qc.FusedConv epilogue. Random
 * data in [-1, 1]. Each case checks from the kernel table that the conv
 * ran the generated kernel, in the mode it should (pointwise, row or flat),
 * and that every output is within fp32 accumulation error of the ref (which
 * sums in double): |got - want| <= 1e-5 * (sum over the window of |x w| + 1). */
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

static float *rand_floats(int64_t n) {
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = frand(-1.0f, 1.0f);
    return v;
}

static int32_t add_const(qc_graph *g, const char *name, int32_t rank, const int64_t *dims,
                         const float *data) {
    qc_type t = {.dtype = QC_F32, .rank = rank};
    for (int32_t k = 0; k < rank; k++) t.dims[k] = dims[k];
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, data, sizeof(float) * (size_t)qc_type_numel(&t), &id));
    return id;
}

typedef struct fcase {
    char desc[384];
    const char *want_mode;     /* expected kernel mode */
    float *w;                  /* the weights, for the error bound */
    int64_t C, M, G, sp, in[2], k[2], st[2], dil[2], pb[2], out[2];
} fcase;

/* The window along one dim: kernel, dilation and stride that fit `in`. */
static void pick_window(fcase *c, int d) {
    int64_t in = c->in[d];
    c->dil[d] = irand(0, 3) == 0 ? 2 : 1;
    c->k[d] = irand(0, 4) == 0 ? 1 : irand(1, 7);
    while (c->k[d] > 1 && (c->k[d] - 1) * c->dil[d] + 1 > in) c->k[d]--;
    if ((c->k[d] - 1) * c->dil[d] + 1 > in) c->dil[d] = 1;
    c->st[d] = irand(0, 2) == 0 ? irand(2, 3) : 1;
}

static qc_graph *make_conv(fcase *c) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("fconv", &g));
    bool sym = irand(0, 1);
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    c->sp = irand(0, 4) == 0 ? 1 : 2;
    int64_t shape = irand(0, 9);
    c->G = shape < 6 ? 1 : shape < 8 ? irand(2, 4) : irand(2, 24);   /* grouped / depthwise-like */
    int64_t cg = shape >= 8 ? 1 : irand(0, 5) == 0 ? irand(100, 160) : irand(1, 40);
    int64_t mg = shape >= 8 ? irand(1, 2) : irand(1, 70);
    c->C = cg * c->G;
    c->M = mg * c->G;
    c->in[0] = c->sp == 2 ? irand(1, 24) : 1;
    c->in[1] = irand(0, 2) == 0 ? irand(16, 70) : irand(1, 24);
    c->k[0] = c->st[0] = c->dil[0] = 1;
    if (c->sp == 2) pick_window(c, 0);
    pick_window(c, 1);
    bool pointwise = irand(0, 3) == 0;
    if (pointwise) c->k[0] = c->k[1] = c->st[0] = c->st[1] = 1;
    int64_t mode = pointwise ? -1 : irand(0, 3);   /* SAME_UPPER, SAME_LOWER, pads, pads */
    int64_t p[4] = {0, 0, 0, 0};
    for (int d = 0; d < 2; d++) {
        p[d] = irand(0, c->k[d]);
        p[d + 2] = irand(0, c->k[d]);
    }
    if (c->sp == 1) p[0] = p[2] = 0;
    bool bias = irand(0, 1), relu = irand(0, 2) == 0;
    int64_t add_kind = irand(0, 5);   /* 0 channel, 1 scalar, 2 full (fixed batch), else none */

    int64_t n0 = sym ? QC_DIM_SYM : irand(1, 2);
    qc_type xt = {.dtype = QC_F32, .rank = (int32_t)(2 + c->sp), .dims = {n0, c->C}};
    for (int d = 0; d < c->sp; d++) xt.dims[2 + d] = c->in[2 - c->sp + d];
    int32_t ids[3], y = -1, nid = -1;
    CHECK_OK(qc_graph_add_value(g, "x", &xt, &ids[0]));
    CHECK_OK(qc_graph_add_input(g, ids[0]));
    int64_t wd[4] = {c->M, cg}, nw = c->M * cg;
    for (int d = 0; d < c->sp; d++) wd[2 + d] = c->k[2 - c->sp + d], nw *= c->k[2 - c->sp + d];
    c->w = rand_floats(nw);
    ids[1] = add_const(g, "w", xt.rank, wd, c->w);
    float *bv = rand_floats(c->M);
    if (bias) ids[2] = add_const(g, "b", 1, &c->M, bv);
    free(bv);
    qc_type ut = {.dtype = QC_DT_UNDEF};
    CHECK_OK(qc_graph_add_value(g, "conv", &ut, &y));
    CHECK_OK(qc_graph_add_node(g, QC_OP_CONV, "conv", ids, bias ? 3 : 2, &y, 1, &nid));
    int64_t kk[2], ss[2], dd[2], pp[4];
    for (int d = 0; d < c->sp; d++) {
        int s = 2 - c->sp + d;
        kk[d] = c->k[s], ss[d] = c->st[s], dd[d] = c->dil[s];
        pp[d] = p[s], pp[d + c->sp] = p[s + 2];
    }
    CHECK_OK(qc_node_set_ints(g, nid, "kernel_shape", kk, c->sp));
    if (c->G > 1) CHECK_OK(qc_node_set_int(g, nid, "group", c->G));
    if (c->st[0] > 1 || c->st[1] > 1 || irand(0, 1)) CHECK_OK(qc_node_set_ints(g, nid, "strides", ss, c->sp));
    if (c->dil[0] > 1 || c->dil[1] > 1) CHECK_OK(qc_node_set_ints(g, nid, "dilations", dd, c->sp));
    if (mode == 0) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_UPPER"));
    else if (mode == 1) CHECK_OK(qc_node_set_string(g, nid, "auto_pad", "SAME_LOWER"));
    else if (mode >= 2) CHECK_OK(qc_node_set_ints(g, nid, "pads", pp, 2 * c->sp));
    CHECK_OK(qc_graph_infer(g));
    const qc_type *ct = &g->values[y].type;
    int32_t last = y;
    if (relu) {
        int32_t r = -1;
        CHECK_OK(qc_graph_add_value(g, "relu", &ut, &r));
        CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "relu", &last, 1, &r, 1, &nid));
        last = r;
    }
    if (add_kind <= 1 || (add_kind == 2 && !sym)) {
        int64_t od[5] = {1}, rank = 1;
        if (add_kind == 0) {
            od[0] = c->M, rank = 1 + c->sp;
            for (int d = 0; d < c->sp; d++) od[1 + d] = 1;
        } else if (add_kind == 2) {
            rank = ct->rank;
            for (int32_t d = 0; d < ct->rank; d++) od[d] = ct->dims[d];
        }
        int64_t no = 1;
        for (int64_t d = 0; d < rank; d++) no *= od[d];
        float *ov = rand_floats(no);
        int32_t in2[2] = {last, add_const(g, "operand", (int32_t)rank, od, ov)}, r = -1;
        free(ov);
        CHECK_OK(qc_graph_add_value(g, "sum", &ut, &r));
        CHECK_OK(qc_graph_add_node(g, QC_OP_ADD, "add", in2, 2, &r, 1, &nid));
        last = r;
    }
    CHECK_OK(qc_graph_add_output(g, last));
    CHECK_OK(qc_graph_infer(g));
    ct = &g->values[y].type;
    c->out[0] = c->sp == 2 ? ct->dims[2] : 1;
    c->out[1] = ct->dims[ct->rank - 1];
    for (int d = 0; d < 2; d++) {   /* resolved begin pads, for the error bound */
        int64_t ext = (c->k[d] - 1) * c->dil[d] + 1;
        int64_t total = (c->out[d] - 1) * c->st[d] + ext - c->in[d];
        if (total < 0) total = 0;
        c->pb[d] = mode == 0 ? total / 2 : mode == 1 ? total - total / 2 : mode >= 2 ? p[d] : 0;
        if (c->sp == 1 && d == 0) c->pb[d] = 0;
    }
    snprintf(c->desc, sizeof c->desc,
             "sp=%lld C=%lld M=%lld G=%lld in=%lldx%lld k=%lldx%lld s=%lldx%lld d=%lldx%lld "
             "pads=%lld,%lld,%lld,%lld mode=%lld bias=%d relu=%d add=%lld sym=%d",
             (long long)c->sp, (long long)c->C, (long long)c->M, (long long)c->G,
             (long long)c->in[0], (long long)c->in[1], (long long)c->k[0], (long long)c->k[1],
             (long long)c->st[0], (long long)c->st[1], (long long)c->dil[0], (long long)c->dil[1],
             (long long)p[0], (long long)p[1], (long long)p[2], (long long)p[3], (long long)mode,
             bias, relu, (long long)add_kind, sym);
    /* the kernel's mode: positions in L-lane vectors, L = 16 / 8 / 4 */
    int64_t L = __builtin_cpu_supports("avx512f") ? 16 : __builtin_cpu_supports("avx2") ? 8 : 4;
    bool unit = c->k[0] == 1 && c->k[1] == 1 && c->st[0] == 1 && c->st[1] == 1 &&
                c->out[0] == c->in[0] && c->out[1] == c->in[1] && c->pb[0] == 0 && c->pb[1] == 0;
    c->want_mode = unit ? "pointwise" : c->st[1] == 1 && c->out[1] >= L ? "row" : "flat";
    return g;
}

/* Sum over output (n, m, oh, ow)'s window of |x w|: the scale of its fp32
 * rounding error. */
static double window_abs(const fcase *c, const float *x, int64_t n, int64_t m, int64_t oh, int64_t ow) {
    int64_t cg = c->C / c->G, g = m / (c->M / c->G);
    double s = 0.0;
    for (int64_t ci = 0; ci < cg; ci++)
        for (int64_t kh = 0; kh < c->k[0]; kh++) {
            int64_t ih = oh * c->st[0] - c->pb[0] + kh * c->dil[0];
            if (ih < 0 || ih >= c->in[0]) continue;
            for (int64_t kw = 0; kw < c->k[1]; kw++) {
                int64_t iw = ow * c->st[1] - c->pb[1] + kw * c->dil[1];
                if (iw < 0 || iw >= c->in[1]) continue;
                double xv = x[((n * c->C + g * cg + ci) * c->in[0] + ih) * c->in[1] + iw];
                double wv = c->w[((m * cg + ci) * c->k[0] + kh) * c->k[1] + kw];
                s += fabs(xv * wv);
            }
        }
    return s;
}

static void run_case(int iter) {
    fcase c;
    memset(&c, 0, sizeof c);
    qc_graph *g = make_conv(&c);
    CHECK_OK(qc_compile_optimize(g));
    char got_kernel[256];
    CHECK_OK(qc_test_cpu_variant(g, "conv f32", got_kernel, sizeof got_kernel));
    if (getenv("FCONV_DEBUG")) fprintf(stderr, "case %d: %s [%s]\n", iter, got_kernel, c.desc);
    EXPECT(strstr(got_kernel, c.want_mode), "case %d (%s): ran '%s', not the %s kernel", iter, c.desc,
           got_kernel, c.want_mode);
    qc_tensor_desc d = g->values[g->inputs[0]].type;
    if (d.dims[0] == QC_DIM_SYM) d.dims[0] = irand(1, 3);
    qc_tensor x = {0}, want = {0};
    CHECK_OK(qc_tensor_alloc(&d, &x));
    float *xv = x.data;
    for (int64_t i = 0; i < qc_type_numel(&d); i++) xv[i] = frand(-1.0f, 1.0f);
    CHECK_OK(qc_ref_run(g, &x, 1, &want, 1));
    for (int aot = 0; aot < 2 && want.data; aot++) {
        qc_tensor got = {0};
        int32_t gen = -1;
        qc_status st = qc_test_run_cpu(g, NULL, aot, &x, &got, &gen);
        EXPECT(!st, "case %d (%s) %s: %s", iter, c.desc, aot ? "aot" : "jit", st ? qc_status_message(st) : "");
        qc_status_free(st);
        if (!got.data) continue;
        const float *a = got.data, *b = want.data;
        int64_t N = d.dims[0], bad = 0, at = -1;
        double worst = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t m = 0; m < c.M; m++)
                for (int64_t oh = 0; oh < c.out[0]; oh++)
                    for (int64_t ow = 0; ow < c.out[1]; ow++) {
                        int64_t i = ((n * c.M + m) * c.out[0] + oh) * c.out[1] + ow;
                        double err = fabs((double)a[i] - (double)b[i]);
                        double tol = 1e-5 * (window_abs(&c, xv, n, m, oh, ow) + 1.0);
                        if (!(err <= tol)) {
                            if (!bad++) at = i;
                            if (err > worst || err != err) worst = err;
                        }
                    }
        EXPECT(!bad, "case %d (%s) %s: %lld outputs off (first [%lld] got %g want %g, worst %g)", iter,
               c.desc, aot ? "aot" : "jit", (long long)bad, (long long)at, bad ? a[at] : 0.0,
               bad ? b[at] : 0.0, worst);
        qc_tensor_release(&got);
    }
    free(c.w);
    qc_tensor_release(&want);
    qc_tensor_release(&x);
    qc_graph_destroy(g);
}

int main(void) {
    rng.s = qc_test_seed("test_cpu_fconv");
    for (int i = 0; i < 160; i++) run_case(i);
    return qc_test_summary("test_cpu_fconv");
}
