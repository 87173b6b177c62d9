/* test_cpu_qgemm.c — differential tests of the cpu backend's int8 kernel
 * generators (backends/cpu/gen_qgemm.c, gen_qconv.c) against the ref
 * kernels: random qc.QGemm / qc.QConv nodes, compiled for every ISA variant
 * this host can run, JIT-loaded, run over several [begin, end) splits and
 * compared bit for bit with qc_ref_eval_node.
 *
 * Many kernels go into one module per ISA (one object, one JIT); LLVM code
 * generation (~12 ms per kernel here) dominates the run time, so each
 * kernel also runs on a second activation draw (another batch size where
 * the batch dim is symbolic). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cg.h"
#include "backends/cpu/gen.h"
#include "backends/cpu/gen_int8.h"
#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"

#define BATCH 48   /* kernels per module */

typedef struct tcase {
    qc_graph *g;
    int32_t node;
    qc_tensor in[9];
    int32_t n_in;
    void *a_data;          /* the activation (input 0) */
    qc_tensor_desc y_desc;
    int64_t batch;         /* bound symbolic dim, 0 if none */
    bool sym;              /* dim 0 of input 0 is the symbolic batch dim */
    int64_t unit_bytes;    /* bytes of input 0 per index of its dim 0 */
    int64_t max_batch;     /* largest batch a redraw picks */
    qc_cpu_kernel k;
    qc_cpu_kernel_fn fn;
    char desc[160];
} tcase;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t rnd(qc_rng *r, int64_t lo, int64_t hi) {   /* [lo, hi] */
    return lo + (int64_t)(qc_rng_next(r) % (uint64_t)(hi - lo + 1));
}

static float rndf(qc_rng *r, float lo, float hi) {
    return lo + (hi - lo) * (float)((qc_rng_next(r) >> 40) * (1.0 / 16777216.0));
}

/* A zero point: often 0 or the extremes, else anything in range. */
static int32_t rnd_zp(qc_rng *r, bool is_signed) {
    int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    switch (rnd(r, 0, 5)) {
    case 0: return 0;
    case 1: return lo;
    case 2: return hi;
    default: return (int32_t)rnd(r, lo, hi);
    }
}

static void fill_bytes(qc_rng *r, void *p, int64_t n) {
    uint8_t *b = p;
    for (int64_t i = 0; i < n; i++) b[i] = (uint8_t)qc_rng_next(r);
    if (n) b[0] |= 1;   /* never all zero */
}

static int32_t add_const(qc_graph *g, const char *name, qc_dtype dt, int32_t rank,
                         const int64_t *dims, const void *data) {
    qc_type t = {.dtype = dt, .rank = rank};
    int64_t n = 1;
    for (int32_t d = 0; d < rank; d++) n *= (t.dims[d] = dims[d]);
    int32_t id = -1;
    qc_status st = qc_graph_add_const(g, name, &t, data, qc_dtype_bytes(dt, n), &id);
    CHECK_OK(st);
    return id;
}

static int32_t add_zp(qc_graph *g, const char *name, bool is_signed, int64_t count,
                      const int32_t *v) {
    uint8_t buf[4096];
    for (int64_t i = 0; i < count; i++) buf[i] = (uint8_t)v[i];
    return add_const(g, name, is_signed ? QC_I8 : QC_U8, count > 1 ? 1 : 0, &count, buf);
}

static void bind_inputs(tcase *c) {
    const qc_node *n = &c->g->nodes[c->node];
    c->n_in = n->n_in;
    for (int32_t i = 0; i < n->n_in; i++) {
        memset(&c->in[i], 0, sizeof c->in[i]);
        if (n->in[i] < 0) continue;
        const qc_value *v = &c->g->values[n->in[i]];
        c->in[i].desc = v->type;
        c->in[i].data = v->data;
    }
}

/* Output scale that keeps results in range most of the time, sometimes
 * saturating, rarely 0 (multiplier inf: NaN/inf paths). */
static float rnd_y_scale(qc_rng *r, float sa, float sb, int64_t k) {
    int64_t pick = rnd(r, 0, 40);
    if (pick == 0) return 0.0f;
    float typical = sa * sb * 128.0f * 128.0f * sqrtf((float)k) / 128.0f;
    return typical * rndf(r, pick < 5 ? 0.01f : 0.3f, 3.0f);
}

/* ---- QGemm cases -------------------------------------------------------------- */

static void make_qgemm(qc_rng *r, tcase *c, int idx, bool big) {
    memset(c, 0, sizeof *c);
    int64_t M = big ? rnd(r, 60, 300) : rnd(r, 1, 40), K = big ? rnd(r, 50, 300) : rnd(r, 1, 80);
    int64_t N = big ? rnd(r, 40, 200) : rnd(r, 1, 70);
    if (rnd(r, 0, 9) == 0) K = rnd(r, 1, 5);
    bool a_s = rnd(r, 0, 2) == 0, b_s = rnd(r, 0, 3) != 0, y_s = rnd(r, 0, 1);
    bool per_col = rnd(r, 0, 1), bzp_nonzero = rnd(r, 0, 3) == 0 || !b_s, bias = rnd(r, 0, 1);
    bool clamp = rnd(r, 0, 2) == 0, sym = rnd(r, 0, 3) == 0;
    /* 1 in 6 MatMulInteger, 1 in 6 QLinearMatMul (neither has bias or clamp) */
    int64_t pick = rnd(r, 0, 5);
    qc_op op = pick == 0 ? QC_OP_MATMUL_INTEGER : pick == 1 ? QC_OP_QLINEAR_MATMUL : QC_OP_QGEMM;
    if (op != QC_OP_QGEMM) bias = clamp = false;
    /* 1 in 5 qc.QGemm with a float output (no y_scale / y_zero_point) */
    bool fout = op == QC_OP_QGEMM && rnd(r, 0, 4) == 0;
    if (fout) clamp = false;
    CHECK_OK(qc_graph_create("t", &c->g));
    qc_graph *g = c->g;
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    qc_type at = {.dtype = a_s ? QC_I8 : QC_U8, .rank = 2, .dims = {sym ? QC_DIM_SYM : M, K}};
    int32_t ids[9], aid = -1, yid = -1;
    CHECK_OK(qc_graph_add_value(g, "a", &at, &aid));
    CHECK_OK(qc_graph_add_input(g, aid));
    ids[0] = aid;
    float sa = rndf(r, 1e-3f, 0.1f), sb[512], sy;
    int32_t za = rnd_zp(r, a_s), zb[512], zy = rnd_zp(r, y_s), biasv[512];
    int64_t nsc = per_col ? N : 1, one = 1;
    for (int64_t j = 0; j < nsc; j++) {
        sb[j] = rndf(r, 1e-3f, 0.05f);
        zb[j] = bzp_nonzero ? rnd_zp(r, b_s) : 0;
    }
    sy = rnd_y_scale(r, sa, sb[0], K);
    ids[1] = add_const(g, "sa", QC_F32, 0, &one, &sa);
    ids[2] = add_zp(g, "za", a_s, 1, &za);
    int8_t *bw = malloc((size_t)(K * N));
    fill_bytes(r, bw, K * N);
    int64_t bd[2] = {K, N};
    ids[3] = add_const(g, "b", b_s ? QC_I8 : QC_U8, 2, bd, bw);
    free(bw);
    ids[4] = add_const(g, "sb", QC_F32, per_col ? 1 : 0, &nsc, sb);
    ids[5] = add_zp(g, "zb", b_s, nsc, zb);
    ids[6] = add_const(g, "sy", QC_F32, 0, &one, &sy);
    ids[7] = add_zp(g, "zy", y_s, 1, &zy);
    for (int64_t j = 0; j < N; j++) biasv[j] = (int32_t)rnd(r, -100000, 100000);
    if (bias) ids[8] = add_const(g, "bias", QC_I32, 1, &N, biasv);
    qc_type yt = {.dtype = y_s ? QC_I8 : QC_U8, .rank = 2, .dims = {sym ? QC_DIM_SYM : M, N}};
    int32_t n_ids = bias ? 9 : 8;
    if (fout) {
        yt.dtype = QC_F32;
        ids[6] = ids[7] = -1;
    }
    if (op == QC_OP_MATMUL_INTEGER) {   /* (A, B, a_zp, b_zp) -> i32 */
        yt.dtype = QC_I32;
        int32_t mi[4] = {ids[0], ids[3], ids[2], ids[5]};
        memcpy(ids, mi, sizeof mi);
        n_ids = 4;
    }
    CHECK_OK(qc_graph_add_value(g, "y", &yt, &yid));
    CHECK_OK(qc_graph_add_node(g, op, "gemm", ids, n_ids, &yid, 1, &c->node));
    int64_t amin = 0, amax = 0;
    if (clamp) {
        int64_t lo = y_s ? -128 : 0;
        amin = rnd(r, lo, lo + 100);
        amax = rnd(r, amin, lo + 255);
        CHECK_OK(qc_node_set_int(g, c->node, "act_min", amin));
        CHECK_OK(qc_node_set_int(g, c->node, "act_max", amax));
    }
    bind_inputs(c);
    c->sym = sym;
    c->unit_bytes = K;
    c->max_batch = 40;
    c->a_data = malloc((size_t)(M * K));
    fill_bytes(r, c->a_data, M * K);
    c->in[0].desc.dims[0] = M;
    c->in[0].data = c->a_data;
    c->batch = sym ? M : 0;
    snprintf(c->k.symbol, sizeof c->k.symbol, "qgemm_%d", idx);
    snprintf(c->desc, sizeof c->desc,
             "%s M=%lld K=%lld N=%lld a=%s b=%s y=%s za=%d zb0=%d zy=%d per_col=%d bias=%d "
             "clamp=%d[%lld,%lld] sym=%d sy=%g",
             fout ? "qc.QGemm(f32 out)" : qc_op_get_info(op)->name, (long long)M, (long long)K, (long long)N, a_s ? "i8" : "u8", b_s ? "i8" : "u8",
             y_s ? "i8" : "u8", za, zb[0], zy, per_col, bias, clamp, (long long)amin,
             (long long)amax, sym, (double)sy);
}

/* ---- running ----------------------------------------------------------------- */

/* Runs c's kernel over [0, units) split at random points and compares every
 * byte with the ref output. */
/* New activation data (and a new batch if dim 0 is symbolic). */
static void redraw(qc_rng *r, tcase *c) {
    int64_t nb = c->sym ? rnd(r, 1, c->max_batch) : c->in[0].desc.dims[0];
    free(c->a_data);
    c->a_data = malloc((size_t)(nb * c->unit_bytes));
    fill_bytes(r, c->a_data, nb * c->unit_bytes);
    c->in[0].desc.dims[0] = nb;
    c->in[0].data = c->a_data;
    c->batch = c->sym ? nb : 0;
}

static int runs;   /* kernel runs compared with ref (test-local counter) */

static void run_case(qc_rng *r, tcase *c, const char *isa) {
    qc_tensor want[1];
    qc_status st = qc_ref_eval_node(c->g, c->node, c->in, want);
    if (st) {
        CHECK_MSG(0, "ref failed on %s: %s", c->desc, qc_status_message(st));
        qc_status_free(st);
        return;
    }
    int64_t n = (int64_t)qc_dtype_bytes(want[0].desc.dtype, qc_type_numel(&want[0].desc));
    uint8_t *got = malloc((size_t)(n ? n : 1));
    void *ins[9], *outs[1] = {got};
    for (int32_t i = 0; i < c->n_in; i++) ins[i] = c->in[i].data;
    /* kernel_abi.h: the device hands kernels a 64-byte aligned blob. */
    size_t plen = (c->k.packed_len + 63) & ~(size_t)63;
    void *packed = plen ? aligned_alloc(64, plen) : NULL;
    if (plen) memcpy(packed, c->k.packed, c->k.packed_len);
    qc_cpu_kargs ka = {.in = ins, .out = outs, .packed = packed, .batch = c->batch};
    int64_t units = c->k.units_a + c->k.units_b * c->batch;
    for (int split = 0; split < 3; split++) {
        memset(got, 0xA5, (size_t)n);
        int64_t at = 0;
        while (at < units) {
            int64_t len = split == 0 ? units : rnd(r, 1, units - at);
            c->fn(&ka, at, at + len);
            at += len;
        }
        int64_t bad = -1;
        for (int64_t e = 0; e < n && bad < 0; e++)
            if (got[e] != ((uint8_t *)want[0].data)[e]) bad = e;
        EXPECT(bad < 0, "[%s %s] %s split %d: element %lld got %d want %d", isa, c->k.variant,
               c->desc, split, (long long)bad, bad < 0 ? 0 : got[bad],
               bad < 0 ? 0 : ((uint8_t *)want[0].data)[bad]);
        if (bad >= 0) break;
    }
    free(got);
    free(packed);
    qc_tensor_release(&want[0]);
}

static void free_case(tcase *c) {
    qc_graph_destroy(c->g);
    free(c->a_data);
    free(c->k.packed);
}

typedef void (*make_fn)(qc_rng *r, tcase *c, int idx, bool big);
typedef qc_status (*gen_fn)(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k,
                            const qc_i8_tile *tile);

/* One module of `count` cases for cpu `cpu` (tile: NULL = the target's). */
static int run_batch(qc_rng *r, const char *cpu, const qc_i8_tile *tile, make_fn make,
                     gen_fn gen, int count, bool big) {
    qc_cpu_cg cg;
    qc_status st = qc_cpu_cg_create(cpu, "test", &cg);
    if (st) {
        CHECK_MSG(0, "cg %s: %s", cpu, qc_status_message(st));
        qc_status_free(st);
        return 0;
    }
    tcase *cs = calloc((size_t)count, sizeof *cs);
    int made = 0;
    for (int i = 0; i < count; i++, made++) {
        make(r, &cs[i], i, big);
        st = gen(&cg, cs[i].g, cs[i].node, &cs[i].k, tile);
        if (st) {
            CHECK_MSG(0, "gen %s: %s: %s", cpu, cs[i].desc, qc_status_message(st));
            qc_status_free(st);
            free_case(&cs[i]);
            break;
        }
    }
    uint8_t *obj = NULL;
    size_t len = 0;
    qc_cpu_jit *jit = NULL;
    double t0 = now_s();
    st = qc_cpu_cg_emit_object(&cg, NULL, &obj, &len);
    double t1 = now_s();
    if (!st) st = qc_cpu_jit_create(obj, len, &jit);
    CHECK_OK(st);
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", cpu, tile ? "/" : "", tile ? qc_i8_isa_name(tile->isa) : "");
    for (int i = 0; jit && i < made; i++) {
        qc_status le = NULL;
        cs[i].fn = (qc_cpu_kernel_fn)(uintptr_t)qc_cpu_jit_lookup(jit, cs[i].k.symbol, &le);
        if (le) {
            CHECK_MSG(0, "lookup: %s", qc_status_message(le));
            qc_status_free(le);
            continue;
        }
        /* each kernel on two activation draws; the second binds another
         * batch when dim 0 is symbolic */
        for (int draw = 0; draw < 2; draw++) {
            if (draw) redraw(r, &cs[i]);
            run_case(r, &cs[i], name);
            runs++;
        }
    }
    if (getenv("QC_TEST_TIMES"))
        printf("%s: %d cases, emit %.3f s, jit+run %.3f s, %zu bytes\n", name, made, t1 - t0,
               now_s() - t1, len);
    for (int i = 0; i < made; i++) free_case(&cs[i]);
    qc_cpu_jit_destroy(jit);
    free(obj);
    free(cs);
    qc_cpu_cg_destroy(&cg);
    return made;
}

/* ---- conv cases (gen_qconv.c) -------------------------------------------------- */

static int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1,
                        const char *ap) {
    if (!strncmp(ap, "SAME_", 5)) return (in + s - 1) / s;
    int64_t padded = strcmp(ap, "VALID") ? in + p0 + p1 : in, extent = (k - 1) * d + 1;
    return padded < extent ? 0 : (padded - extent) / s + 1;
}

static void make_qconv(qc_rng *r, tcase *c, int idx, bool big) {
    memset(c, 0, sizeof *c);
    int32_t sp = (int32_t)rnd(r, 1, 10) <= 3 ? 1 : (rnd(r, 0, 9) ? 2 : 3);
    int64_t nb = rnd(r, 1, 2), group = 1, cg, mg;
    switch (rnd(r, 0, 3)) {
    case 0: group = rnd(r, 2, 3); cg = rnd(r, 1, 4); mg = rnd(r, 1, 12); break;
    case 1: cg = 1; mg = rnd(r, 1, 2); group = rnd(r, 1, 8); break;   /* depthwise */
    default: cg = rnd(r, 1, big ? 32 : 8); mg = rnd(r, 1, big ? 64 : 40); break;
    }
    const char *aps[] = {"NOTSET", "NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    const char *ap = aps[rnd(r, 0, 5)];
    int64_t in[3], kd[3], st[3], dl[3], pads[6], out[3];
    bool wide = sp == 2 && rnd(r, 0, 7) == 0;   /* > 32 taps: the looped gather */
    for (int32_t d = 0; d < sp; d++) {
        kd[d] = wide ? rnd(r, 6, 7) : rnd(r, 1, 3);
        st[d] = rnd(r, 1, 3);
        dl[d] = rnd(r, 1, 2);
        pads[d] = rnd(r, 0, 2);
        pads[d + sp] = rnd(r, 0, 2);
        in[d] = rnd(r, 1, sp == 3 ? 5 : big ? 20 : 11);
        while (!conv_out(in[d], kd[d], st[d], dl[d], pads[d], pads[d + sp], ap)) in[d]++;
        out[d] = conv_out(in[d], kd[d], st[d], dl[d], pads[d], pads[d + sp], ap);
    }
    bool x_s = rnd(r, 0, 2) == 0, w_s = rnd(r, 0, 3) != 0, y_s = rnd(r, 0, 1);
    bool per_ch = rnd(r, 0, 1), wzp = rnd(r, 0, 3) == 0 || !w_s, bias = rnd(r, 0, 1);
    bool clamp = rnd(r, 0, 2) == 0, sym = rnd(r, 0, 3) == 0;
    bool fout = rnd(r, 0, 4) == 0;   /* float output: no y_scale / y_zero_point (rule 3c) */
    if (fout) clamp = false;
    int64_t C = cg * group, M = mg * group, ksz = 1;
    for (int32_t d = 0; d < sp; d++) ksz *= kd[d];
    CHECK_OK(qc_graph_create("t", &c->g));
    qc_graph *g = c->g;
    if (sym) CHECK_OK(qc_graph_set_batch(g, "N"));
    qc_type xt = {.dtype = x_s ? QC_I8 : QC_U8, .rank = sp + 2, .dims = {sym ? QC_DIM_SYM : nb, C}};
    qc_type yt = {.dtype = fout ? QC_F32 : y_s ? QC_I8 : QC_U8, .rank = sp + 2,
                  .dims = {sym ? QC_DIM_SYM : nb, M}};
    int64_t wd[5] = {M, cg}, xsz = nb * C;
    for (int32_t d = 0; d < sp; d++) {
        xt.dims[d + 2] = in[d];
        yt.dims[d + 2] = out[d];
        wd[d + 2] = kd[d];
        xsz *= in[d];
    }
    int32_t ids[9], xid, yid;
    CHECK_OK(qc_graph_add_value(g, "x", &xt, &xid));
    CHECK_OK(qc_graph_add_input(g, xid));
    ids[0] = xid;
    float sx = rndf(r, 1e-3f, 0.1f), sw[512], sy;
    int32_t zx = rnd_zp(r, x_s), zw[512], zy = rnd_zp(r, y_s), biasv[512];
    int64_t nsc = per_ch ? M : 1, one = 1;
    for (int64_t j = 0; j < nsc; j++) {
        sw[j] = rndf(r, 1e-3f, 0.05f);
        zw[j] = wzp ? rnd_zp(r, w_s) : 0;
    }
    sy = rnd_y_scale(r, sx, sw[0], cg * ksz);
    ids[1] = add_const(g, "sx", QC_F32, 0, &one, &sx);
    ids[2] = add_zp(g, "zx", x_s, 1, &zx);
    int8_t *w = malloc((size_t)(M * cg * ksz));
    fill_bytes(r, w, M * cg * ksz);
    ids[3] = add_const(g, "w", w_s ? QC_I8 : QC_U8, sp + 2, wd, w);
    free(w);
    ids[4] = add_const(g, "sw", QC_F32, per_ch ? 1 : 0, &nsc, sw);
    ids[5] = add_zp(g, "zw", w_s, nsc, zw);
    ids[6] = add_const(g, "sy", QC_F32, 0, &one, &sy);
    ids[7] = add_zp(g, "zy", y_s, 1, &zy);
    for (int64_t j = 0; j < M; j++) biasv[j] = (int32_t)rnd(r, -100000, 100000);
    if (bias) ids[8] = add_const(g, "bias", QC_I32, 1, &M, biasv);
    if (fout) ids[6] = ids[7] = -1;
    CHECK_OK(qc_graph_add_value(g, "y", &yt, &yid));
    CHECK_OK(qc_graph_add_node(g, QC_OP_QCONV, "conv", ids, bias ? 9 : 8, &yid, 1, &c->node));
    CHECK_OK(qc_node_set_int(g, c->node, "group", group));
    CHECK_OK(qc_node_set_ints(g, c->node, "strides", st, sp));
    CHECK_OK(qc_node_set_ints(g, c->node, "dilations", dl, sp));
    if (strcmp(ap, "NOTSET")) CHECK_OK(qc_node_set_string(g, c->node, "auto_pad", ap));
    else CHECK_OK(qc_node_set_ints(g, c->node, "pads", pads, 2 * sp));
    if (clamp) {
        int64_t lo = y_s ? -128 : 0, amin = rnd(r, lo, lo + 100);
        CHECK_OK(qc_node_set_int(g, c->node, "act_min", amin));
        CHECK_OK(qc_node_set_int(g, c->node, "act_max", rnd(r, amin, lo + 255)));
    }
    bind_inputs(c);
    c->sym = sym;
    c->unit_bytes = xsz / nb;
    c->max_batch = 3;
    c->a_data = malloc((size_t)xsz);
    fill_bytes(r, c->a_data, xsz);
    c->in[0].desc.dims[0] = nb;
    c->in[0].data = c->a_data;
    c->batch = sym ? nb : 0;
    snprintf(c->k.symbol, sizeof c->k.symbol, "qconv_%d", idx);
    snprintf(c->desc, sizeof c->desc,
             "qconv sp=%d N=%lld C=%lld M=%lld group=%lld in0=%lld k0=%lld s0=%lld d0=%lld "
             "pads0=%lld,%lld auto_pad=%s x=%s w=%s y=%s per_ch=%d wzp=%d bias=%d clamp=%d sym=%d",
             (int)sp, (long long)nb, (long long)C, (long long)M, (long long)group,
             (long long)in[0], (long long)kd[0], (long long)st[0], (long long)dl[0],
             (long long)pads[0], (long long)pads[sp], ap, x_s ? "i8" : "u8", w_s ? "i8" : "u8",
             fout ? "f32" : y_s ? "i8" : "u8", per_ch, wzp, bias, clamp, sym);
}

static int run_conv_batches(qc_rng *r, const char *cpu, int reps) {
    int n = 0;
    for (int b = 0; b < reps; b++)
        n += run_batch(r, cpu, NULL, make_qconv, qc_cpu_gen_qconv_tile, BATCH / 2, b == 0);
    return n;
}

static bool host_has(const char *cpu_needs) {
    qc_cpu_cg cg;
    qc_status st = qc_cpu_cg_create("native", "probe", &cg);
    if (st) {
        qc_status_free(st);
        return false;
    }
    qc_cpu_features need = {0};
    qc_cpu_features_apply(cpu_needs, &need);
    uint32_t have = qc_cpu_features_mask(&cg.feat), want = qc_cpu_features_mask(&need);
    qc_cpu_cg_destroy(&cg);
    return (have & want) == want;
}

int main(void) {
    qc_rng r = {qc_test_seed("test_cpu_qgemm")};
    /* Each ISA through a named CPU (what a cross-compile would get) and,
     * where it differs, through an explicit tile on the native target. */
    struct {
        const char *cpu, *needs;
    } cpus[] = {
        {"native", ""},
        {"alderlake", "+avx2,+avxvnni"},
        {"x86-64-v3", "+avx2,+fma"},
        {"x86-64", ""},
    };
    int total = 0;
    for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++) {
        if (!host_has(cpus[i].needs)) {
            printf("skipped: host cannot run code for %s\n", cpus[i].cpu);
            continue;
        }
        int reps = i == 0 ? 4 : 1;
        for (int b = 0; b < reps; b++)
            total += run_batch(&r, cpus[i].cpu, NULL, make_qgemm, qc_cpu_gen_qgemm_tile, BATCH, false);
        total += run_batch(&r, cpus[i].cpu, NULL, make_qgemm, qc_cpu_gen_qgemm_tile, 6, true);
        total += run_conv_batches(&r, cpus[i].cpu, i == 0 ? 4 : 1);
    }
    /* Tiles other than the defaults, on the host. */
    qc_i8_tile tiles[] = {{QC_I8_VNNI512, 4, 4}, {QC_I8_VNNI512, 6, 2}, {QC_I8_VNNI256, 8, 2},
                          {QC_I8_PMADDWD256, 2, 1}, {QC_I8_PMADDWD128, 8, 4}};
    for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++) {
        const char *needs = tiles[t].isa == QC_I8_VNNI512   ? "+avx512vnni,+avx512bw"
                            : tiles[t].isa == QC_I8_VNNI256 ? "+avx512vnni,+avx512vl"
                            : tiles[t].isa == QC_I8_PMADDWD256 ? "+avx2" : "";
        if (host_has(needs))
            total += run_batch(&r, "native", &tiles[t], make_qgemm, qc_cpu_gen_qgemm_tile, BATCH / 2, false);
    }
    printf("test_cpu_qgemm: %d kernels, %d kernel runs compared with ref\n", total, runs);
    return qc_test_summary("test_cpu_qgemm");
}
