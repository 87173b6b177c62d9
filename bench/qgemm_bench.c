/* qgemm_bench.c — single-thread GOPS of the cpu backend's generated
 * qc.QGemm kernels (backends/cpu/gen_qgemm.c), per ISA variant and tile,
 * with and without LLVM's default<O2> pipeline, against the VNNI peak
 * (vpdpbusd/cycle x 64 MACs x 2 ops x the clock, measured: see cpu_mhz).
 *
 *   qgemm_bench [M K N]...        default: 1000 200 128 and 512 512 512,
 *                                 then ResNet-18's 3x3 conv layers, routed
 *                                 (direct / grid) and through im2col
 *   QC_CONV_SHAPES="C,H,M,k,s;..." other conv layers (C -> M channels, H x H,
 *                                 k x k window, stride s)
 *   QC_VNNI_PER_CYCLE=1.9         vpdpbusd issued per cycle for the peak
 *
 * Times are the fastest single call over ~0.5 s per kernel (robust to a
 * shared machine; in-cache for these sizes).
 *
 * A program, not a test: it prints one table and asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/cg.h"
#include "backends/cpu/gen.h"
#include "backends/cpu/gen_int8.h"
#include "backends/cpu/hal_ktable.h"
#include "ir/ir.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpuinfo_mhz(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) {
            mhz = atof(strchr(line, ':') + 1);
            break;
        }
    if (f) fclose(f);
    return mhz;
}

/* The clock the core actually runs at: /proc/cpuinfo's "cpu MHz" is the
 * nominal one on many VMs (2300 where a turbo clock of ~2950 runs). A chain
 * of dependent imul (3 cycles each on every x86-64 core since Nehalem)
 * timed for ~50 ms measures it; elsewhere, or if that fails, cpuinfo. */
static double cpu_mhz(const char **how) {
#if defined(__x86_64__) && defined(__GNUC__)
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        uint64_t x = 3, n = 4000000;   /* 4 imul per iteration */
        double t0 = now_s();
        __asm__ volatile("1:\n\t"
                         "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                         "dec %1\n\tjnz 1b"
                         : "+r"(x), "+r"(n));
        double mhz = 4.0 * 3.0 * 4000000.0 / (now_s() - t0) / 1e6;
        if (mhz > best) best = mhz;
    }
    if (best > 100) {
        *how = "measured: dependent imul chain";
        return best;
    }
#endif
    *how = "/proc/cpuinfo";
    return cpuinfo_mhz();
}

static void die(qc_status st, const char *what) {
    if (!st) return;
    fprintf(stderr, "%s: %s\n", what, qc_status_message(st));
    exit(1);
}

static int32_t add_const(qc_graph *g, const char *name, qc_dtype dt, int32_t rank,
                         const int64_t *dims, const void *data, size_t nbytes) {
    qc_type t = {.dtype = dt, .rank = rank};
    for (int32_t d = 0; d < rank; d++) t.dims[d] = dims[d];
    int32_t id;
    die(qc_graph_add_const(g, name, &t, data, nbytes, &id), "add_const");
    return id;
}

/* u8 a [M,K] x i8 b [K,N] per-channel scales, bias: the qdq_fold shape. */
static qc_graph *make_graph(int64_t M, int64_t K, int64_t N, int32_t *node) {
    qc_graph *g;
    die(qc_graph_create("bench", &g), "graph");
    qc_type at = {.dtype = QC_U8, .rank = 2, .dims = {M, K}};
    int32_t ids[9], yid;
    die(qc_graph_add_value(g, "a", &at, &ids[0]), "a");
    die(qc_graph_add_input(g, ids[0]), "a");
    float sa = 0.02f, sy = 0.5f;
    uint8_t za = 3, zy = 128;
    int8_t zb = 0;
    int8_t *b = malloc((size_t)(K * N));
    float *sb = malloc((size_t)N * sizeof *sb);
    int32_t *bias = malloc((size_t)N * sizeof *bias);
    for (int64_t i = 0; i < K * N; i++) b[i] = (int8_t)(i * 37 % 251 - 125);
    for (int64_t j = 0; j < N; j++) sb[j] = 0.001f * (float)(1 + j % 7), bias[j] = (int32_t)(j * 13);
    int64_t one = 1, bd[2] = {K, N};
    ids[1] = add_const(g, "sa", QC_F32, 0, &one, &sa, 4);
    ids[2] = add_const(g, "za", QC_U8, 0, &one, &za, 1);
    ids[3] = add_const(g, "b", QC_I8, 2, bd, b, (size_t)(K * N));
    ids[4] = add_const(g, "sb", QC_F32, 1, &N, sb, (size_t)N * 4);
    ids[5] = add_const(g, "zb", QC_I8, 0, &one, &zb, 1);
    ids[6] = add_const(g, "sy", QC_F32, 0, &one, &sy, 4);
    ids[7] = add_const(g, "zy", QC_U8, 0, &one, &zy, 1);
    ids[8] = add_const(g, "bias", QC_I32, 1, &N, bias, (size_t)N * 4);
    free(b), free(sb), free(bias);
    qc_type yt = {.dtype = QC_U8, .rank = 2, .dims = {M, N}};
    die(qc_graph_add_value(g, "y", &yt, &yid), "y");
    die(qc_graph_add_node(g, QC_OP_QGEMM, "gemm", ids, 9, &yid, 1, node), "node");
    return g;
}

/* Seconds per call of one kernel over all its units (fastest call). */
typedef qc_status (*gen_fn)(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k,
                            const qc_i8_tile *tile);

static double time_kernel(const char *cpu, const qc_i8_tile *tile, const char *passes,
                          qc_graph *g, int32_t node, gen_fn gen, const void *a, void *y,
                          char *variant) {
    qc_cpu_cg cg;
    die(qc_cpu_cg_create(cpu, "bench", &cg), "cg");
    /* code for a CPU this host is not (alderlake's avxvnni on an avx2-only
     * machine) would die of SIGILL: such rows are left out */
    uint32_t need = qc_cpu_features_mask(&cg.feat);
    if ((qc_cpu_host_features() & need) != need) {
        qc_cpu_cg_destroy(&cg);
        return -1;
    }
    qc_cpu_kernel k = {.symbol = "qgemm_bench"};
    qc_status st = gen(&cg, g, node, &k, tile);
    if (st) {
        qc_status_free(st);
        qc_cpu_cg_destroy(&cg);
        return -1;
    }
    snprintf(variant, 48, "%s", k.variant);
    uint8_t *obj;
    size_t len;
    qc_cpu_jit *jit;
    die(qc_cpu_cg_emit_object(&cg, passes, &obj, &len), "emit");
    die(qc_cpu_jit_create(obj, len, &jit), "jit");
    qc_status le = NULL;
    qc_cpu_kernel_fn fn = (qc_cpu_kernel_fn)(uintptr_t)qc_cpu_jit_lookup(jit, k.symbol, &le);
    die(le, "lookup");
    void *packed = aligned_alloc(64, (k.packed_len + 63) & ~(size_t)63);
    memcpy(packed, k.packed, k.packed_len);
    void *ins[9] = {(void *)a}, *outs[1] = {y};
    qc_cpu_kargs ka = {.in = ins, .out = outs, .packed = packed};
    int64_t M = k.units_a;
    fn(&ka, 0, M);   /* warm up */
    /* The minimum over single calls for ~0.5 s: on a shared machine a call
     * that was preempted is only slower, never faster. */
    double best = 1e30, t_end = now_s() + 0.5;
    for (int calls = 0; calls < 5 || now_s() < t_end; calls++) {
        double t0 = now_s();
        fn(&ka, 0, M);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    free(packed);
    free(k.packed);
    qc_cpu_jit_destroy(jit);
    free(obj);
    qc_cpu_cg_destroy(&cg);
    return best;
}

/* x u8 [1, C, H, H] * w i8 [M, C, kk, kk], pads kk / 2, stride sd: a
 * ResNet-style layer with OH x OH outputs (*oh). */
static qc_graph *make_conv(int64_t C, int64_t H, int64_t M, int64_t kk, int64_t sd, int64_t *oh,
                           int32_t *node) {
    *oh = (H + 2 * (kk / 2) - kk) / sd + 1;
    qc_graph *g;
    die(qc_graph_create("bench", &g), "graph");
    qc_type xt = {.dtype = QC_U8, .rank = 4, .dims = {1, C, H, H}};
    int32_t ids[9], yid;
    die(qc_graph_add_value(g, "x", &xt, &ids[0]), "x");
    die(qc_graph_add_input(g, ids[0]), "x");
    float sx = 0.02f, sw = 0.001f, sy = 0.5f;
    uint8_t zx = 3, zy = 128;
    int8_t zw = 0;
    int64_t one = 1, wd[4] = {M, C, kk, kk}, n = M * C * kk * kk;
    int8_t *w = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) w[i] = (int8_t)(i * 37 % 251 - 125);
    ids[1] = add_const(g, "sx", QC_F32, 0, &one, &sx, 4);
    ids[2] = add_const(g, "zx", QC_U8, 0, &one, &zx, 1);
    ids[3] = add_const(g, "w", QC_I8, 4, wd, w, (size_t)n);
    ids[4] = add_const(g, "sw", QC_F32, 0, &one, &sw, 4);
    ids[5] = add_const(g, "zw", QC_I8, 0, &one, &zw, 1);
    ids[6] = add_const(g, "sy", QC_F32, 0, &one, &sy, 4);
    ids[7] = add_const(g, "zy", QC_U8, 0, &one, &zy, 1);
    free(w);
    qc_type yt = {.dtype = QC_U8, .rank = 4, .dims = {1, M, *oh, *oh}};
    die(qc_graph_add_value(g, "y", &yt, &yid), "y");
    die(qc_graph_add_node(g, QC_OP_QCONV, "conv", ids, 8, &yid, 1, node), "node");
    int64_t pads[4] = {kk / 2, kk / 2, kk / 2, kk / 2};
    die(qc_node_set_ints(g, *node, "pads", pads, 4), "pads");
    int64_t strides[2] = {sd, sd};
    die(qc_node_set_ints(g, *node, "strides", strides, 2), "strides");
    return g;
}

/* The routed generator (direct, pointwise or im2col, as a model gets it). */
static qc_status gen_routed(qc_cpu_cg *cg, const qc_graph *g, int32_t node, qc_cpu_kernel *k,
                            const qc_i8_tile *tile) {
    (void)tile;
    return qc_cpu_gen_qconv(cg, g, node, k);
}

/* ResNet-18's 3x3 layers (C = M channels on H x H), each through the
 * routed generator and through im2col. */
static void bench_conv(double peak) {
    int64_t shapes[16][5] = {{64, 56, 64, 3, 1}, {128, 28, 128, 3, 1}, {256, 14, 256, 3, 1}, {512, 7, 512, 3, 1}};
    size_t n = 4;
    const char *env = getenv("QC_CONV_SHAPES");   /* "C,H,M,k,s;..." */
    if (env) n = 0;   /* the list replaces the default */
    for (long long c, h, m, kk, sd; env && n < 16 &&
                                    sscanf(env, "%lld,%lld,%lld,%lld,%lld", &c, &h, &m, &kk, &sd) == 5;) {
        shapes[n][0] = c, shapes[n][1] = h, shapes[n][2] = m, shapes[n][3] = kk, shapes[n][4] = sd, n++;
        env = strchr(env, ';');
        if (env) env++;
    }
    for (size_t s = 0; s < n; s++) {
        int64_t C = shapes[s][0], H = shapes[s][1], M = shapes[s][2], kk = shapes[s][3], OH;
        int32_t node;
        qc_graph *g = make_conv(C, H, M, kk, shapes[s][4], &OH, &node);
        uint8_t *x = malloc((size_t)(C * H * H)), *y = malloc((size_t)(M * H * H));
        for (int64_t i = 0; i < C * H * H; i++) x[i] = (uint8_t)(i * 29 % 256);
        char shape[32];
        snprintf(shape, sizeof shape, "conv %lldx%lld>%lld k%llds%lld", (long long)C, (long long)H,
                 (long long)M, (long long)kk, (long long)shapes[s][4]);
        const char *cpus[] = {"native", "x86-64-v3"};
        gen_fn gens[] = {gen_routed, qc_cpu_gen_qconv_tile};
        for (int c = 0; c < 2; c++)
            for (int v = 0; v < 2; v++) {
                char variant[48] = "";
                double t = time_kernel(cpus[c], NULL, NULL, g, node, gens[v], x, y, variant);
                if (t < 0 || (v == 1 && strstr(variant, "im2col") && c == 1)) continue;
                double gops = 2.0 * (double)(M * OH * OH) * (double)(C * kk * kk) / t / 1e9;
                printf("%-18s %-10s %-32s %10s %8.1f %6.1f%%\n", shape, cpus[c], variant, "none",
                       gops, 100 * gops / peak);
            }
        free(x), free(y);
        qc_graph_destroy(g);
    }
}

int main(int argc, char **argv) {
    int64_t shapes[8][3] = {{1000, 200, 128}, {512, 512, 512}};
    int n_shapes = 2;
    if (argc > 3) {
        n_shapes = 0;
        for (int i = 1; i + 2 < argc && n_shapes < 8; i += 3, n_shapes++)
            for (int j = 0; j < 3; j++) shapes[n_shapes][j] = atoll(argv[i + j]);
    }
    const char *how = "";
    double mhz = cpu_mhz(&how);
    const char *ipc_env = getenv("QC_VNNI_PER_CYCLE");
    double per_cycle = ipc_env ? atof(ipc_env) : 1.9;
    double peak = mhz * 1e6 * per_cycle * 64 * 2 / 1e9;
    printf("clock %.0f MHz (%s), VNNI peak %.0f GOPS at %.1f vpdpbusd/cycle\n", mhz, how, peak,
           per_cycle);
    struct {
        const char *cpu;
        qc_i8_tile tile;
        bool use_tile;
    } cfgs[] = {
        {"native", {QC_I8_VNNI512, 8, 3}, true}, {"native", {QC_I8_VNNI512, 6, 4}, true},
        {"native", {QC_I8_VNNI512, 4, 4}, true}, {"native", {QC_I8_VNNI512, 8, 2}, true},
        {"native", {QC_I8_VNNI512, 4, 2}, true}, {"alderlake", {0}, false},
        {"x86-64-v3", {0}, false},               {"x86-64", {0}, false},
        {"x86-64-v3", {QC_I8_PMADDWD256, 6, 2}, true}, {"x86-64-v3", {QC_I8_PMADDWD256, 4, 3}, true},
        {"alderlake", {QC_I8_VNNI256, 6, 2}, true},
    };
    printf("%-18s %-10s %-32s %10s %8s %7s\n", "shape MxKxN", "cpu", "variant", "passes", "GOPS",
           "%peak");
    for (int s = 0; s < n_shapes; s++) {
        int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        int32_t node;
        qc_graph *g = make_graph(M, K, N, &node);
        uint8_t *a = malloc((size_t)(M * K)), *y = malloc((size_t)(M * N));
        for (int64_t i = 0; i < M * K; i++) a[i] = (uint8_t)(i * 29 % 256);
        char shape[32];
        snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)M, (long long)K, (long long)N);
        for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++)
            for (int p = 0; p < 2; p++) {
                if (p && c > 0) continue;   /* default<O2> only for the default tile */
                char variant[48] = "";
                const char *passes = p ? "default<O2>" : NULL;
                double t = time_kernel(cfgs[c].cpu, cfgs[c].use_tile ? &cfgs[c].tile : NULL,
                                       passes, g, node, qc_cpu_gen_qgemm_tile, a, y, variant);
                if (t < 0) continue;
                double gops = 2.0 * (double)M * (double)K * (double)N / t / 1e9;
                printf("%-18s %-10s %-32s %10s %8.1f %6.1f%%\n", shape, cfgs[c].cpu, variant,
                       passes ? passes : "none", gops, 100 * gops / peak);
            }
        free(a), free(y);
        qc_graph_destroy(g);
    }
    bench_conv(peak);
    return 0;
}
