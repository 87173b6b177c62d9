/* cli_bench.c — `qcomp bench MODEL --backend B [--scheme S [--calib FILE]]
 * [--input NAME=FILE | --batch N] --runs R [--warmup W] [--threads T]
 * [--json FILE]`.
 *
 * Times a model the way a host application runs it: import (or load a .qcm),
 * optionally quantize, compile in memory (qc_compile_optimize +
 * qc_compile_jit), one session on the chosen runtime device, caller-owned
 * output buffers, W untimed runs, then R runs each timed with the monotonic
 * clock. It reports latency percentiles, throughput, CPU utilisation over the
 * timed runs and the process's peak RSS, as one table and optionally JSON
 * with the same field names the peers in bench/peers/ write, so one driver
 * (bench/run_seed.sh) can put them side by side.
 *
 * Nothing here asserts on speed: it measures and reports. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ir/dtype.h"
#include "ir/ir.h"
#include "ir/json_out.h"
#include "passes/calibrate.h"
#include "passes/quantize.h"
#include "qcomp/qcomp.h"
#include "tools/cli.h"
#include "tools/cli_args.h"

#define CMD "bench"
#define MAX_RUNS 10000000L
#define MAX_BATCH (1L << 24)
#define MAX_THREADS 256L
#define MAX_FILES 16
#define MAX_IO 16
#define CALIB_BATCH 64

typedef struct bench_opts {
    const char *model, *backend, *json, *scheme_name;
    const char *inputs[MAX_FILES];
    int n_inputs;
    const char *calib[MAX_FILES];
    int n_calib;
    qc_qscheme scheme;   /* QC_QS_NONE: run the model's own precision */
    long batch;          /* -1: not given */
    long runs, warmup, threads, seed;
    bool list_backends;
} bench_opts;

/* The model's inputs as the bench sees them: from the graph before
 * compiling, or from the loaded artifact. Pointers borrow from either. */
typedef struct io_sig {
    int32_t n;
    const char *names[MAX_IO];
    const qc_tensor_desc *descs[MAX_IO];
    const char *batch_name;   /* NULL: every shape is static */
} io_sig;

typedef struct bench_result {
    const char *device;
    int32_t threads;
    int64_t batch;
    double load_ms, quantize_ms, compile_ms;
    double min_ms, p50_ms, p90_ms, mean_ms, max_ms;
    /* Device time per run (qc_session_last_run_stats: vulkan's timestamps,
     * the sum of the run's dispatch times); device_runs 0: not measured. */
    double device_min_ms, device_p50_ms;
    long device_runs;
    double throughput, cpu_percent, peak_rss_mb;
    double ops;      /* per run: 2 x MACs of the GEMM / conv layers (0: unknown) */
    bool calibrated_on_input;
    bool compiled;   /* false for a .qcm: loaded as it is */
} bench_result;

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp bench MODEL [--backend NAME] [--scheme S [--calib FILE.npy]...]\n"
            "                   [--input NAME=FILE.npy]... | [--batch N]\n"
            "                   [--runs R] [--warmup W] [--threads T] [--seed S] [--json FILE]\n"
            "       qcomp bench --list-backends\n"
            "\n"
            "Times MODEL (.onnx, .qcir, or a .qcm artifact) on a runtime device: compiles\n"
            "it in memory, runs W warm-up runs, then R timed runs, and prints min / p50 /\n"
            "p90 / mean latency, throughput, CPU utilisation, peak RSS and compile time;\n"
            "where the device measures its own kernel time (vulkan), its min / p50 too.\n"
            "\n"
            "  --backend NAME     runtime device (see --list-backends; default: best available)\n"
            "  --scheme S         quantize first: int8, int8-dynamic, int8-weight, int4-weight,\n"
            "                     fp16, bf16, fp8-e4m3, fp8-e5m2, 16x8, kmeans (as `qcomp\n"
            "                     quantize`); fp32 or none (default) runs the model as given\n"
            "  --calib FILE       calibration data (.npy; NAME=FILE for several inputs); without\n"
            "                     it, schemes that calibrate use the bench input\n"
            "  --input NAME=FILE  bind an input to a .npy file (plain FILE for one input)\n"
            "  --batch N          generate random inputs (seeded, non-zero) with batch N\n"
            "                     (default 1 when neither --input nor --batch is given)\n"
            "  --runs R           timed runs (default 100)\n"
            "  --warmup W         untimed runs first (default 10)\n"
            "  --threads T        runtime worker threads (default 0 = all CPUs)\n"
            "  --seed S           seed of the generated inputs (default 1)\n"
            "  --json FILE        also write the results as JSON\n"
            "  --list-backends    print the devices that open on this machine, one a line\n"
            "\n"
            "Peak RSS is the whole process's (import and compile included). Exit status:\n"
            "0 ok, 1 error, 2 usage.\n");
}

static int usage_error(void) {
    usage(stderr);
    return QC_EXIT_USAGE;
}

/* A whole-number option in [lo, hi]; false (error printed) otherwise. */
static bool int_option(const char *name, const char *v, long lo, long hi, long *out) {
    if (qc_cli_parse_int(v, lo, hi, out)) return true;
    qc_cli_error(CMD, "%s needs a whole number from %ld to %ld, got '%s'", name, lo, hi, v);
    return false;
}

static bool add_file(const char *name, const char **list, int *n, const char *v) {
    if (*n == MAX_FILES) {
        qc_cli_error(CMD, "at most %d %s options", MAX_FILES, name);
        return false;
    }
    list[(*n)++] = v;
    return true;
}

/* Returns -1 to go on, or the exit code to stop with. */
static int parse_args(int argc, char **argv, bench_opts *o) {
    o->scheme_name = "none";
    o->batch = -1;
    o->runs = 100;
    o->warmup = 10;
    o->seed = 1;
    for (int i = 1; i < argc; i++)
        if (qc_cli_is_help(argv[i])) {
            usage(stdout);
            return QC_EXIT_OK;
        }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        bool ok = true;
        if ((m = qc_cli_option(CMD, argc, argv, &i, "--backend", &v))) {
            o->backend = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--scheme", &v))) {
            o->scheme_name = v;
            o->scheme = QC_QS_NONE;
            if (m > 0 && strcmp(v, "fp32") && strcmp(v, "none") &&
                !qc_qscheme_parse(v, &o->scheme)) {
                qc_cli_error(CMD, "unknown scheme '%s' (see `qcomp bench --help`)", v);
                ok = false;
            }
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--calib", &v))) {
            ok = m < 0 || add_file("--calib", o->calib, &o->n_calib, v);
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--input", &v))) {
            ok = m < 0 || add_file("--input", o->inputs, &o->n_inputs, v);
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--batch", &v))) {
            ok = m < 0 || int_option("--batch", v, 1, MAX_BATCH, &o->batch);
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--runs", &v))) {
            ok = m < 0 || int_option("--runs", v, 1, MAX_RUNS, &o->runs);
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--warmup", &v))) {
            ok = m < 0 || int_option("--warmup", v, 0, MAX_RUNS, &o->warmup);
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--threads", &v))) {
            ok = m < 0 || int_option("--threads", v, 0, MAX_THREADS, &o->threads);
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--seed", &v))) {
            ok = m < 0 || int_option("--seed", v, 0, 1L << 30, &o->seed);
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--json", &v))) {
            o->json = v;
        } else if (!strcmp(argv[i], "--list-backends")) {
            o->list_backends = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            qc_cli_error(CMD, "unknown option '%s'", argv[i]);
            return usage_error();
        } else if (o->model) {
            qc_cli_error(CMD, "unexpected argument '%s' (the model is '%s')", argv[i], o->model);
            return usage_error();
        } else {
            o->model = argv[i];
        }
        if (m < 0 || !ok) return usage_error();
    }
    const char *bad = o->list_backends ? NULL
                      : !o->model ? "no MODEL given"
                      : (o->n_inputs && o->batch > 0)
                          ? "--input and --batch exclude each other (the files fix the batch)"
                      : (o->n_calib && o->scheme == QC_QS_NONE)
                          ? "--calib needs a quantizing --scheme"
                          : NULL;
    if (bad) {
        qc_cli_error(CMD, "%s", bad);
        return usage_error();
    }
    return -1;
}

/* ---- inputs --------------------------------------------------------------------- */

static void sig_from_graph(const qc_graph *g, io_sig *s) {
    s->n = g->n_inputs;
    s->batch_name = g->batch;
    for (int32_t i = 0; i < g->n_inputs && i < MAX_IO; i++) {
        s->names[i] = g->values[g->inputs[i]].name;
        s->descs[i] = &g->values[g->inputs[i]].type;
    }
}

static void sig_from_model(const qc_model *m, io_sig *s) {
    s->n = qc_model_input_count(m);
    s->batch_name = qc_model_batch_name(m);
    for (int32_t i = 0; i < s->n && i < MAX_IO; i++) {
        s->names[i] = qc_model_input_name(m, i);
        s->descs[i] = qc_model_input_desc(m, i);
    }
}

/* Which input a NAME=FILE (or, for a one-input model, FILE) argument binds. */
static qc_status resolve_file(const io_sig *s, const char *opt, const char *arg, int32_t *index,
                              const char **file) {
    size_t best = 0;
    *index = -1;
    for (int32_t i = 0; i < s->n; i++) {
        size_t n = strlen(s->names[i]);
        if (n > best && !strncmp(arg, s->names[i], n) && arg[n] == '=') {
            best = n;
            *index = i;
        }
    }
    *file = *index >= 0 ? arg + best + 1 : arg;
    if (*index < 0 && s->n == 1) *index = 0;
    if (*index >= 0) return NULL;
    return qc_error(QC_ERR_INVALID,
                    "%s '%s': the model has %d inputs; name one as NAME=FILE (first: '%s')", opt,
                    arg, (int)s->n, s->n ? s->names[0] : "");
}

/* Checks a file's tensor against input i; *batch tracks the symbolic dim. */
static qc_status check_input(const io_sig *s, int32_t i, const char *file, const qc_tensor *t,
                             int64_t *batch) {
    const qc_tensor_desc *want = s->descs[i];
    bool ok = t->desc.dtype == want->dtype && t->desc.rank == want->rank;
    for (int32_t k = 0; ok && k < want->rank; k++) {
        if (want->dims[k] != QC_DIM_SYM) ok = t->desc.dims[k] == want->dims[k];
        else if (*batch < 0) *batch = t->desc.dims[k];
        else ok = t->desc.dims[k] == *batch;
    }
    if (ok) return NULL;
    char have[160], need[160];
    qc_type_format(&t->desc, NULL, have, sizeof have);
    qc_type_format(want, s->batch_name, need, sizeof need);
    return qc_error(QC_ERR_INVALID, "input '%s': file %s has %s, model expects %s", s->names[i],
                    file, have, need);
}

static qc_status read_inputs(const io_sig *s, const bench_opts *o, qc_tensor *in,
                             int64_t *batch) {
    const char *files[MAX_IO] = {0};
    for (int a = 0; a < o->n_inputs; a++) {
        int32_t i;
        const char *file;
        qc_status st = resolve_file(s, "--input", o->inputs[a], &i, &file);
        if (st) return st;
        if (files[i])
            return qc_error(QC_ERR_INVALID, "input '%s' is given twice (%s and %s)", s->names[i],
                            files[i], file);
        files[i] = file;
    }
    for (int32_t i = 0; i < s->n; i++) {
        if (!files[i])
            return qc_error(QC_ERR_INVALID,
                            "input '%s' has no --input file (give every input, or use --batch N)",
                            s->names[i]);
        qc_status st = qc_cli_read_tensor(files[i], &in[i]);
        if (st) return qc_status_wrap(st, "input '%s'", s->names[i]);
        if ((st = check_input(s, i, files[i], &in[i], batch))) return st;
    }
    return NULL;
}

/* splitmix64: a fixed, seedable stream, so every run of the bench (and a
 * rerun on another machine) feeds the same numbers. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Floats uniform in (0, 1) like the seed's np.random.rand, never exactly 0
 * (a zero input can hide a skipped kernel); integers 1..4, which stay valid
 * as small indices or counts; bools true. */
static qc_status generate_inputs(const io_sig *s, const bench_opts *o, qc_tensor *in,
                                 int64_t *batch) {
    if (!s->batch_name && o->batch > 0)
        return qc_error(QC_ERR_INVALID,
                        "--batch %ld: the model has only static shapes (no batch dim to bind)",
                        o->batch);
    *batch = s->batch_name ? (o->batch > 0 ? o->batch : 1) : -1;
    for (int32_t i = 0; i < s->n; i++) {
        qc_tensor_desc d = *s->descs[i];
        for (int32_t k = 0; k < d.rank; k++)
            if (d.dims[k] == QC_DIM_SYM) d.dims[k] = *batch;
        qc_status st = qc_tensor_alloc(&d, &in[i]);
        if (st) return qc_status_wrap(st, "generating input '%s'", s->names[i]);
        uint64_t state = (uint64_t)o->seed * 1000003u + (uint64_t)i;
        int64_t n = qc_type_numel(&d);
        for (int64_t k = 0; k < n; k++) {
            uint64_t r = next_random(&state);
            if (qc_dtype_is_float(d.dtype))
                qc_elem_set_f64(d.dtype, in[i].data, k, ((double)(r >> 40) + 0.5) / 16777216.0);
            else
                qc_elem_set_i64(d.dtype, in[i].data, k, d.dtype == QC_BOOL ? 1 : 1 + (int64_t)(r % 4));
        }
    }
    return NULL;
}

/* Inputs from files or generated; *batch is the symbolic dim's value, or
 * for a static model the first input's leading dim (what throughput counts). */
static qc_status make_inputs(const io_sig *s, const bench_opts *o, qc_tensor *in,
                             int64_t *batch) {
    if (s->n > MAX_IO)
        return qc_error(QC_ERR_UNSUPPORTED, "the model has %d inputs; bench takes at most %d",
                        (int)s->n, MAX_IO);
    *batch = -1;
    qc_status st = o->n_inputs ? read_inputs(s, o, in, batch) : generate_inputs(s, o, in, batch);
    if (!st && *batch < 0) *batch = s->n && in[0].desc.rank ? in[0].desc.dims[0] : 1;
    return st;
}

/* ---- quantize and compile ------------------------------------------------------- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Feeds every --calib file (or, without any, the bench inputs) to c. */
static qc_status calibrate(const qc_graph *g, const io_sig *s, const bench_opts *o,
                           const qc_tensor *bench_in, qc_calib *c) {
    if (!o->n_calib) return qc_calib_add_rows(c, bench_in, s->n, CALIB_BATCH);
    qc_tensor set[MAX_IO];
    memset(set, 0, sizeof set);
    int32_t have = 0;
    qc_status st = NULL;
    for (int f = 0; f < o->n_calib && !st; f++) {
        int32_t i;
        const char *file;
        st = resolve_file(s, "--calib", o->calib[f], &i, &file);
        if (st) break;
        qc_tensor_release(&set[i]);
        st = qc_cli_read_tensor(file, &set[i]);
        if (!st) st = qc_calib_check_input(g, i, &set[i], file);
        if (!st) have |= 1 << i;
        if (!st && have == (1 << s->n) - 1) {   /* one full set: feed it */
            st = qc_calib_add_rows(c, set, s->n, CALIB_BATCH);
            if (st) st = qc_status_wrap(st, "calibration data '%s'", file);
            for (int32_t k = 0; k < s->n; k++) qc_tensor_release(&set[k]);
            have = 0;
        }
    }
    if (!st && have)
        st = qc_error(QC_ERR_INVALID, "--calib: not every model input was given a file");
    for (int32_t k = 0; k < s->n; k++) qc_tensor_release(&set[k]);
    return st;
}

/* Replaces *g by its quantized form (passes/quantize.h, as `qcomp quantize`). */
static qc_status quantize(qc_graph **g, const io_sig *s, const bench_opts *o,
                          const qc_tensor *bench_in, bench_result *r) {
    qc_quant_config cfg;
    qc_quant_config_default(&cfg);
    cfg.scheme = o->scheme;
    qc_calib *calib = NULL;
    qc_status st = NULL;
    bool pre = qc_graph_is_quantized(*g);
    if (!pre && qc_qscheme_needs_calib(o->scheme)) {
        st = qc_calib_create(*g, &calib);
        if (!st) st = calibrate(*g, s, o, bench_in, calib);
        r->calibrated_on_input = !o->n_calib;
    }
    qc_graph *q = NULL;
    qc_quant_report rep;
    memset(&rep, 0, sizeof rep);
    if (!st) st = qc_quantize_graph(*g, calib, &cfg, &q, &rep);
    if (!st && rep.passthrough) fprintf(stderr, "qcomp bench: note: %s\n", rep.note);
    qc_quant_report_free(&rep);
    qc_calib_destroy(calib);
    if (st) return qc_status_wrap(st, "quantizing to %s", qc_qscheme_name(o->scheme));
    qc_graph_destroy(*g);
    *g = q;
    return NULL;
}

/* Loads MODEL into a ready qc_model: a .qcm as it is, anything else through
 * import -> (quantize) -> optimize -> JIT. Fills the inputs on the way,
 * because calibration needs them before the model exists. */
static qc_status prepare(qc_runtime *rt, const bench_opts *o, qc_model **m, qc_tensor *in,
                         bench_result *r) {
    io_sig sig;
    double t0 = now_ms();
    if (qc_cli_is_qcm_file(o->model)) {
        if (o->scheme != QC_QS_NONE)
            return qc_error(QC_ERR_INVALID,
                            "%s is a compiled .qcm artifact; --scheme %s needs the .onnx or "
                            ".qcir model",
                            o->model, o->scheme_name);
        qc_status st = qc_cli_name_file(qc_model_load_file(rt, o->model, m), o->model);
        r->load_ms = now_ms() - t0;
        if (st) return st;
        sig_from_model(*m, &sig);
        return make_inputs(&sig, o, in, &r->batch);
    }
    qc_graph *g = NULL;
    qc_status st = qc_cli_load_model(o->model, true, &g);
    r->load_ms = now_ms() - t0;
    if (!st) {
        sig_from_graph(g, &sig);
        st = make_inputs(&sig, o, in, &r->batch);
    }
    if (!st && o->scheme != QC_QS_NONE) {
        t0 = now_ms();
        st = quantize(&g, &sig, o, in, r);
        r->quantize_ms = now_ms() - t0;
    }
    if (!st) {
        t0 = now_ms();
        st = qc_cli_name_file(qc_compile_optimize(g), o->model);
        if (!st) st = qc_cli_name_file(qc_compile_jit(rt, g, m), o->model);
        r->compile_ms = now_ms() - t0;
        r->compiled = !st;
    }
    qc_graph_destroy(g);
    return st;
}

/* ---- timing --------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between closest ranks: numpy's default percentile,
 * which the peers use too, so p50/p90 mean the same thing in every row. */
static double percentile(const double *sorted, long n, double q) {
    double pos = q * (double)(n - 1);
    long lo = (long)floor(pos);
    long hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
}

static double cpu_ms(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Outputs go to caller buffers allocated once, so the timed loop measures
 * the model, not malloc: the way a host application would call it. */
static qc_status alloc_outputs(const qc_model *m, int64_t batch, qc_tensor *out) {
    for (int32_t i = 0; i < qc_model_output_count(m); i++) {
        qc_tensor_desc d = *qc_model_output_desc(m, i);
        for (int32_t k = 0; k < d.rank; k++)
            if (d.dims[k] == QC_DIM_SYM) d.dims[k] = batch;
        qc_status st = qc_tensor_alloc(&d, &out[i]);
        if (st) return qc_status_wrap(st, "output '%s'", qc_model_output_name(m, i));
    }
    return NULL;
}

static qc_status time_runs(qc_model *m, const bench_opts *o, const qc_tensor *in,
                           bench_result *r) {
    int32_t n_in = qc_model_input_count(m), n_out = qc_model_output_count(m);
    if (n_out > MAX_IO)
        return qc_error(QC_ERR_UNSUPPORTED, "the model has %d outputs; bench takes at most %d",
                        (int)n_out, MAX_IO);
    qc_session_options so;
    qc_session_options_init(&so);
    so.batch = qc_model_batch_name(m) ? r->batch : -1;
    qc_session *s = NULL;
    qc_tensor out[MAX_IO];
    memset(out, 0, sizeof out);
    double *ms = calloc((size_t)o->runs, sizeof *ms), *dev = calloc((size_t)o->runs, sizeof *dev);
    qc_status st = ms && dev ? qc_session_create(m, &so, &s) : qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st) st = alloc_outputs(m, r->batch, out);
    for (long k = 0; k < o->warmup && !st; k++) st = qc_session_run(s, in, n_in, out, n_out);
    double wall0 = now_ms(), cpu0 = cpu_ms();
    for (long k = 0; k < o->runs && !st; k++) {
        double t0 = now_ms();
        st = qc_session_run(s, in, n_in, out, n_out);
        ms[k] = now_ms() - t0;
        qc_run_stats rs;
        qc_session_last_run_stats(s, &rs);   /* outside the timed span */
        if (rs.device_ns >= 0) dev[r->device_runs++] = (double)rs.device_ns / 1e6;
    }
    double wall = now_ms() - wall0, cpu = cpu_ms() - cpu0;
    if (!st) {
        double sum = 0;
        for (long k = 0; k < o->runs; k++) sum += ms[k];
        qsort(ms, (size_t)o->runs, sizeof *ms, cmp_double);
        r->min_ms = ms[0];
        r->max_ms = ms[o->runs - 1];
        r->p50_ms = percentile(ms, o->runs, 0.50);
        r->p90_ms = percentile(ms, o->runs, 0.90);
        r->mean_ms = sum / (double)o->runs;
        r->throughput = r->mean_ms > 0 ? (double)r->batch * 1e3 / r->mean_ms : 0;
        r->cpu_percent = wall > 0 ? 100.0 * cpu / wall : 0;
        if (r->device_runs) {
            qsort(dev, (size_t)r->device_runs, sizeof *dev, cmp_double);
            r->device_min_ms = dev[0];
            r->device_p50_ms = percentile(dev, r->device_runs, 0.50);
        }
    }
    for (int32_t i = 0; i < n_out; i++) qc_tensor_release(&out[i]);
    qc_session_destroy(s);
    free(ms);
    free(dev);
    return st;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;   /* Linux reports kilobytes */
}

/* ---- reporting ------------------------------------------------------------------ */

static void print_table(const bench_opts *o, const bench_result *r) {
    printf("model       %s\n", o->model);
    printf("backend     %s (%d threads)\n", r->device, (int)r->threads);
    printf("scheme      %s%s\n", o->scheme_name,
           r->calibrated_on_input ? " (calibrated on the bench input)" : "");
    printf("batch       %lld\n", (long long)r->batch);
    printf("runs        %ld (after %ld warm-up)\n", o->runs, o->warmup);
    printf("latency     min %.4f  p50 %.4f  p90 %.4f  mean %.4f  max %.4f ms\n", r->min_ms,
           r->p50_ms, r->p90_ms, r->mean_ms, r->max_ms);
    if (r->device_runs)
        printf("device      min %.4f  p50 %.4f ms (kernel time on the device per run, %ld runs)\n",
               r->device_min_ms, r->device_p50_ms, r->device_runs);
    printf("throughput  %.0f inferences/s\n", r->throughput);
    if (r->ops > 0 && r->p50_ms > 0)
        printf("work        %.4f GOP per run (2 x MACs of GEMM/conv layers): %.1f GOP/s at p50\n",
               r->ops / 1e9, r->ops / (r->p50_ms * 1e6));
    printf("cpu         %.1f %% (process CPU time / wall time over the timed runs)\n",
           r->cpu_percent);
    printf("peak rss    %.1f MB\n", r->peak_rss_mb);
    printf("load        %.2f ms\n", r->load_ms);
    if (o->scheme != QC_QS_NONE) printf("quantize    %.2f ms\n", r->quantize_ms);
    if (r->compiled) printf("compile     %.2f ms\n", r->compile_ms);
    else printf("compile     - (a .qcm artifact is loaded, not compiled)\n");
}


/* One JSON object; field names match the peers' JSON lines
 * (bench/peers/), so the driver reads both alike. Written to a temporary name and renamed into place. */
static qc_status write_json(const char *path, const bench_opts *o, const bench_result *r) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return qc_error(QC_ERR_IO, "--json %s: cannot create: %s", path, strerror(errno));
    fputs("{\"tool\": \"qcomp\", \"model\": ", f);
    qc_json_str(f, o->model);
    fputs(", \"backend\": ", f);
    qc_json_str(f, r->device);
    fputs(", \"scheme\": ", f);
    qc_json_str(f, o->scheme_name);
    fprintf(f,
            ", \"calibrated_on_input\": %s, \"compiled\": %s, \"batch\": %lld, \"runs\": %ld, \"warmup\": %ld, "
            "\"threads\": %d, \"load_ms\": %.4f, \"quantize_ms\": %.4f, \"compile_ms\": %.4f, "
            "\"min_ms\": %.6f, \"p50_ms\": %.6f, \"p90_ms\": %.6f, \"mean_ms\": %.6f, "
            "\"max_ms\": %.6f, \"throughput_per_s\": %.3f, \"cpu_percent\": %.2f, "
            "\"peak_rss_mb\": %.2f, \"gop_per_run\": %.9f, \"gops_p50\": %.3f",
            r->calibrated_on_input ? "true" : "false", r->compiled ? "true" : "false",
            (long long)r->batch, o->runs, o->warmup,
            (int)r->threads, r->load_ms, r->quantize_ms, r->compile_ms, r->min_ms, r->p50_ms,
            r->p90_ms, r->mean_ms, r->max_ms, r->throughput, r->cpu_percent, r->peak_rss_mb,
            r->ops / 1e9, r->p50_ms > 0 ? r->ops / (r->p50_ms * 1e6) : 0.0);
    /* null where the device does not measure its own time (every one but vulkan) */
    if (r->device_runs)
        fprintf(f, ", \"device_min_ms\": %.6f, \"device_p50_ms\": %.6f}\n", r->device_min_ms, r->device_p50_ms);
    else
        fputs(", \"device_min_ms\": null, \"device_p50_ms\": null}\n", f);
    qc_status st = NULL;
    if (ferror(f) | (fclose(f) != 0))
        st = qc_error(QC_ERR_IO, "--json %s: write failed: %s", path, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = qc_error(QC_ERR_IO, "--json %s: cannot rename into place: %s", path,
                      strerror(errno));
    if (st) remove(tmp);
    return st;
}

/* ---- the command ---------------------------------------------------------------- */

/* The devices that actually open here (qc_runtime_device_at lists every
 * one libqcrt knows, present or not): what bench/run_seed.sh loops over. */
static int list_backends(void) {
    for (int32_t i = 0; i < qc_runtime_device_count(); i++) {
        qc_runtime_options ro;
        qc_runtime_options_init(&ro);
        ro.backend = qc_runtime_device_at(i);
        ro.threads = 1;
        qc_runtime *rt = NULL;
        qc_status st = qc_runtime_create(&ro, &rt);
        if (!st) printf("%s\n", ro.backend);
        qc_status_free(st);
        qc_runtime_destroy(rt);
    }
    return qc_cli_flush(CMD, stdout, "to stdout") ? QC_EXIT_OK : QC_EXIT_ERROR;
}

static qc_status bench(const bench_opts *o) {
    if (access(o->model, R_OK) != 0)
        return qc_error(QC_ERR_IO, "%s: cannot read the model: %s", o->model, strerror(errno));
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = o->backend;
    ro.threads = (int32_t)o->threads;
    qc_runtime *rt = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (st) return qc_status_wrap(st, "--backend %s", o->backend ? o->backend : "(best)");
    bench_result r;
    memset(&r, 0, sizeof r);
    r.device = qc_runtime_device_name(rt);
    r.threads = qc_runtime_thread_count(rt);
    qc_tensor in[MAX_IO];
    memset(in, 0, sizeof in);
    qc_model *m = NULL;
    st = prepare(rt, o, &m, in, &r);
    if (!st) st = qc_cli_name_file(time_runs(m, o, in, &r), o->model);
    r.peak_rss_mb = peak_rss_mb();   /* before the work count re-reads the model */
    if (!st) {
        qc_status ws = qc_cli_model_ops(o->model, r.batch, &r.ops);
        qc_status_free(ws);   /* the GOP/s line is informative: skipped if unknown */
    }
    if (!st) print_table(o, &r);
    if (!st && o->json) st = write_json(o->json, o, &r);
    for (int32_t i = 0; i < MAX_IO; i++) qc_tensor_release(&in[i]);
    qc_model_release(m);
    qc_runtime_destroy(rt);
    return st;
}

int qc_cli_bench(int argc, char **argv) {
    bench_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (o.list_backends) return list_backends();
    qc_status st = bench(&o);
    if (st) return qc_cli_fail(CMD, st);
    return qc_cli_flush(CMD, stdout, "to stdout") ? QC_EXIT_OK : QC_EXIT_ERROR;
}
