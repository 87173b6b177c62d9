/* test_vulkan_replay.c — recorded command buffers replayed across runs, and
 * the device timestamps (docs/backend-vulkan.md, "Device"):
 *   - one session run many times with fresh random inputs gives outputs
 *     BIT-IDENTICAL to a fresh ref session and to a fresh vulkan session
 *     on the same inputs, for an all-shader int8 graph and for one whose
 *     ref fallback node splits the schedule into two shader segments;
 *   - qc_session_last_run_stats: the first run records every segment, a
 *     run with the same batch records none (replay), another batch
 *     re-records, going back re-records again; device time > 0 where the
 *     queue has timestamps; two sessions of one model replay their own;
 *   - a run with a bad input fails cleanly and the next good run still
 *     matches ref;
 *   - QC_VULKAN_PIPELINE_CACHE: written at release, read back at the next
 *     load, and a damaged or foreign file (bad header, truncated) is
 *     ignored, the model loading and running as before;
 *   - QC_VULKAN_PROFILE=1 runs (its table goes to stderr).
 * Random data with a fresh seed per run (printed; QC_TEST_SEED reproduces).
 * Exit 77 without a device. */
#include <time.h>
#include <unistd.h>

#include "vk_test.h"

static int failures;

/* x f32[B,K] -> QuantizeLinear -> QGemm -> [Floor on ref: split] ->
 * ... -> u8 y[B,N]. Every shader op here is bit-identical to ref. */
static char *make_graph(rng *r, int K, int N, bool split) {
    text t = {0};
    tadd(&t, "qcir 1\ngraph g batch B {\n  input x: f32[B,%d]\n", K);
    tadd(&t, "  const sx: f32[] = [%.9g]\n  const zx: u8[] = [%d]\n", (double)rng_float(r, 0.004f, 0.01f),
         rng_int(r, 100, 150));
    tadd(&t, "  q: u8[B,%d] = QuantizeLinear(x, sx, zx)\n", K);
    tadd(&t, "  const sa: f32[] = [%.9g]\n  const za: u8[] = [%d]\n", (double)rng_float(r, 0.004f, 0.01f),
         rng_int(r, 100, 150));
    tadd(&t, "  const b: i8[%d,%d] = [", K, N);
    for (int i = 0; i < K * N; i++) tadd(&t, "%s%d", i ? ", " : "", rng_int(r, -127, 127));
    tadd(&t, "]\n  const sb: f32[] = [%.9g]\n  const zb: i8[] = [0]\n", (double)rng_float(r, 0.002f, 0.01f));
    tadd(&t, "  const sy: f32[] = [%.9g]\n  const zy: u8[] = [%d]\n", 0.02, rng_int(r, 100, 150));
    tadd(&t, "  y1: u8[B,%d] = qc.QGemm(q, sa, za, b, sb, zb, sy, zy)\n", N);
    if (!split) {
        tadd(&t, "  output y1\n}\n");
        return t.s;
    }
    /* Floor has no shader: it runs on ref between two shader segments. */
    tadd(&t, "  f: f32[B,%d] = DequantizeLinear(y1, sy, zy)\n", N);
    tadd(&t, "  g: f32[B,%d] = Floor(f)\n", N);
    tadd(&t, "  const sg: f32[] = [0.05]\n  const zg: u8[] = [128]\n");
    tadd(&t, "  y: u8[B,%d] = QuantizeLinear(g, sg, zg)\n", N);
    tadd(&t, "  output y\n}\n");
    return t.s;
}

static void fill_input(rng *r, qc_tensor *x, int64_t batch, int K) {
    *x = (qc_tensor){.desc = {QC_F32, 2, {batch, K}}};
    float *p = malloc(sizeof *p * (size_t)(batch * K) + 1);
    for (int64_t i = 0; i < batch * K; i++) p[i] = rng_float(r, -1.5f, 1.5f);
    x->data = p;
}

static bool same_bytes(const qc_tensor *a, const qc_tensor *b, int64_t n) {
    return a->data && b->data && !memcmp(a->data, b->data, (size_t)n);
}

/* One graph: a long-lived session against fresh ref and vulkan sessions. */
static void replay_case(rng *r, int K, int N, bool split) {
    char *src = make_graph(r, K, N, split);
    int shaders = vt_shader_nodes(src);
    CHECK(shaders >= (split ? 2 : 1), "split=%d: %d shader nodes", split, shaders);
    qc_runtime *rt = NULL;
    qc_model *m = NULL;
    qc_session *s = NULL, *s2 = NULL;
    qc_status st = vt_open(src, "vulkan", &rt, &m);
    if (!st) st = qc_session_create(m, NULL, &s);
    if (!st) st = qc_session_create(m, NULL, &s2);
    CHECK(!st, "split=%d: open: %s", split, qc_status_message(st));
    qc_status_free(st);
    qc_run_stats rs;
    qc_session_last_run_stats(s, &rs);
    CHECK(rs.device_ns == -1 && rs.recorded == -1, "stats before the first run: %lld %d",
          (long long)rs.device_ns, (int)rs.recorded);
    /* batches: 5 runs of b0, 3 of b1, 3 of b0 again, then 2 of b2 */
    int64_t b0 = rng_int(r, 1, 40), b1 = b0 + rng_int(r, 1, 30), b2 = rng_int(r, 1, 3);
    int64_t plan[] = {b0, b0, b0, b0, b0, b1, b1, b1, b0, b0, b0, b2, b2};
    int n_plan = (int)(sizeof plan / sizeof *plan);
    int segs_first = -1;
    for (int k = 0; s && k < n_plan; k++) {
        int64_t batch = plan[k];
        qc_tensor x, got = {0}, want = {0}, fresh = {0}, other = {0};
        fill_input(r, &x, batch, K);
        qc_status sv = qc_session_run(s, &x, 1, &got, 1);
        CHECK(!sv, "split=%d run %d (batch %lld): %s", split, k, (long long)batch, qc_status_message(sv));
        qc_session_last_run_stats(s, &rs);
        bool new_batch = k == 0 || plan[k - 1] != batch;
        if (!sv) {
            if (k == 0) segs_first = rs.recorded;
            if (new_batch)
                CHECK(rs.recorded == segs_first && rs.recorded >= (split ? 2 : 1),
                      "split=%d run %d: batch %lld -> %lld recorded %d command buffers, want %d", split, k,
                      (long long)(k ? plan[k - 1] : -1), (long long)batch, (int)rs.recorded, segs_first);
            else
                CHECK(rs.recorded == 0, "split=%d run %d: same batch, yet %d command buffers recorded (no replay)",
                      split, k, (int)rs.recorded);
            CHECK(rs.device_ns != 0, "split=%d run %d: device time %lld", split, k, (long long)rs.device_ns);
        }
        /* The second session runs in between: its own recording, its own replay. */
        qc_status s2v = qc_session_run(s2, &x, 1, &other, 1);
        qc_run_stats rs2;
        qc_session_last_run_stats(s2, &rs2);
        CHECK(!s2v && (new_batch || rs2.recorded == 0), "split=%d run %d: second session: %s, recorded %d", split,
              k, qc_status_message(s2v), (int)rs2.recorded);
        qc_status sr = vt_run(src, "ref", &x, 1, &want, 1);
        qc_status sf = vt_run(src, "vulkan", &x, 1, &fresh, 1);
        CHECK(!sr && !sf, "split=%d run %d: ref: %s / fresh vulkan: %s", split, k, qc_status_message(sr),
              qc_status_message(sf));
        int64_t n = batch * N;
        if (!sv && !sr) CHECK(same_bytes(&got, &want, n), "split=%d run %d (batch %lld): replayed != ref", split, k,
                              (long long)batch);
        if (!sv && !sf) CHECK(same_bytes(&got, &fresh, n), "split=%d run %d: replayed != fresh session", split, k);
        if (!s2v && !sr) CHECK(same_bytes(&other, &want, n), "split=%d run %d: second session != ref", split, k);
        qc_status_free(sv);
        qc_status_free(s2v);
        qc_status_free(sr);
        qc_status_free(sf);
        qc_tensor_release(&got);
        qc_tensor_release(&want);
        qc_tensor_release(&fresh);
        qc_tensor_release(&other);
        free(x.data);
        /* A bad input between good runs: a clean error, nothing measured. */
        if (k == 2) {
            qc_tensor bad = {.desc = {QC_U8, 2, {batch, K}}, .data = calloc((size_t)(batch * K), 1)}, o = {0};
            qc_status sb = qc_session_run(s, &bad, 1, &o, 1);
            CHECK(sb && qc_status_code(sb) == QC_ERR_INVALID, "a u8 input for an f32 one: %s",
                  sb ? qc_status_message(sb) : "accepted");
            qc_session_last_run_stats(s, &rs);
            CHECK(rs.device_ns == -1 && rs.recorded == -1, "stats after a failed run: %lld %d",
                  (long long)rs.device_ns, (int)rs.recorded);
            CHECK(!o.data, "a failed run left an output allocated");
            qc_status_free(sb);
            free(bad.data);
        }
    }
    printf("split=%d K=%d N=%d batches %lld/%lld/%lld: %d command buffer(s) per recording, last device time %lld ns\n",
           split, K, N, (long long)b0, (long long)b1, (long long)b2, segs_first, (long long)rs.device_ns);
    qc_session_destroy(s);
    qc_session_destroy(s2);
    qc_model_release(m);
    qc_runtime_destroy(rt);
    free(src);
}

/* Loads and runs src once on vulkan; true when it ran and matched ref. */
static bool load_and_run(rng *r, const char *src, int K, int N) {
    qc_tensor x, got = {0}, want = {0};
    fill_input(r, &x, 3, K);
    qc_status sv = vt_run(src, "vulkan", &x, 1, &got, 1);
    qc_status sr = vt_run(src, "ref", &x, 1, &want, 1);
    bool ok = !sv && !sr && same_bytes(&got, &want, 3 * N);
    if (!ok) printf("  vulkan: %s / ref: %s\n", qc_status_message(sv), qc_status_message(sr));
    qc_status_free(sv);
    qc_status_free(sr);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    free(x.data);
    return ok;
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void pipeline_cache_case(rng *r) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/qc_vk_cache_%ld.bin", (long)getpid());
    remove(path);
    setenv("QC_VULKAN_PIPELINE_CACHE", path, 1);
    char *src = make_graph(r, 37, 19, true);
    CHECK(load_and_run(r, src, 37, 19), "pipeline cache: first load (no file yet)");
    long n = file_size(path);
    CHECK(n >= 32, "pipeline cache: %s not written at release (%ld bytes)", path, n);
    CHECK(load_and_run(r, src, 37, 19), "pipeline cache: load with the cache file");
    /* A foreign file (pipelineCacheUUID changed): ignored, not passed on. */
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 20, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 20, SEEK_SET);
        fputc(c ^ 0x5a, f);
        fclose(f);
    }
    CHECK(load_and_run(r, src, 37, 19), "pipeline cache: a file with a foreign UUID");
    /* Truncated to a part of its header, and garbage: ignored too. */
    if ((f = fopen(path, "wb"))) {
        fputs("0123456789", f);
        fclose(f);
    }
    CHECK(load_and_run(r, src, 37, 19), "pipeline cache: a truncated file");
    CHECK(file_size(path) >= 32, "pipeline cache: not rewritten after a bad file");
    /* An unwritable path: the model still loads and runs. */
    setenv("QC_VULKAN_PIPELINE_CACHE", "/nonexistent-dir/cache.bin", 1);
    CHECK(load_and_run(r, src, 37, 19), "pipeline cache: unwritable path");
    unsetenv("QC_VULKAN_PIPELINE_CACHE");
    remove(path);
    free(src);
}

int main(void) {
    if (!vt_device_opens("vulkan")) return 77;
    uint64_t seed = vt_seed();
    rng r = {seed};
    replay_case(&r, rng_int(&r, 1, 70), rng_int(&r, 1, 40), false);
    replay_case(&r, rng_int(&r, 1, 70), rng_int(&r, 1, 40), true);
    /* The unpack / packed variants: other pipelines, same replay. */
    setenv("QC_VULKAN_NO_INT_DOT", "1", 1);
    setenv("QC_VULKAN_NO_INT8_STORAGE", "1", 1);
    replay_case(&r, rng_int(&r, 1, 70), rng_int(&r, 1, 40), true);
    unsetenv("QC_VULKAN_NO_INT_DOT");
    unsetenv("QC_VULKAN_NO_INT8_STORAGE");
    pipeline_cache_case(&r);
    setenv("QC_VULKAN_PROFILE", "1", 1);
    char *src = make_graph(&r, 9, 5, true);
    CHECK(load_and_run(&r, src, 9, 5), "QC_VULKAN_PROFILE=1 run");
    free(src);
    unsetenv("QC_VULKAN_PROFILE");
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
