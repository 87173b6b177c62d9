/* cli_run.c — `qcomp run MODEL [--input NAME=FILE]... [--output-dir DIR]
 * [--backend NAME] [--repeat N] [--quiet]`.
 *
 * Loads and verifies a model (.qcir text IR or .onnx), binds each graph
 * input to a .npy or ONNX TensorProto .pb file (checking
 * dtype and shape against the graph before anything runs, so a wrong file is
 * reported by name instead of as a kernel failure), runs it N times, prints a
 * preview of each output and the timing, and optionally writes every output
 * as DIR/<name>.npy. Writing is all-or-nothing: outputs are staged under
 * temporary names and only renamed into place once all of them are written. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/ref/ref.h"
#include "qcomp/qcomp.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "tools/cli.h"
#include "tools/cli_args.h"
#include "tools/npy.h"

#define CMD "run"
#define PREVIEW_COUNT 8
#define MAX_REPEAT 1000000L
/* Sanitized output names are cut here so "<name>_<k>.npy" plus the staging
 * suffixes stay under NAME_MAX (255). */
#define MAX_FILE_STEM 160

typedef qc_status (*backend_run_fn)(const qc_graph *, const qc_tensor *, int32_t, qc_tensor *,
                                    int32_t);

/* The backends `run` can execute; compiled backends join this table. */
static const struct {
    const char *name;
    backend_run_fn run;
} backends[] = {
    {"ref", qc_ref_run},
};

typedef struct run_opts {
    const char *model;
    const char **inputs;   /* the --input arguments as given: "NAME=FILE" or "FILE" */
    int n_inputs;
    const char *out_dir;
    const char *backend;
    long repeat;
    bool quiet;
} run_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp run MODEL [--input NAME=FILE.npy]... [--output-dir DIR]\n"
            "                 [--backend NAME] [--repeat N] [--quiet]\n"
            "\n"
            "Runs MODEL (a .qcir text IR file, an .onnx model, or a .qcm artifact from\n"
            "`qcomp compile`, run through the runtime library) and prints each output's\n"
            "type and first values, and the run time.\n"
            "\n"
            "  --input NAME=FILE.npy  bind graph input NAME to a .npy file, or to a\n"
            "                         serialized ONNX TensorProto with NAME=FILE.pb (repeat\n"
            "                         for each input; plain FILE when there is one input)\n"
            "  --output-dir DIR       write each output to DIR/<name>.npy (created if\n"
            "                         missing; characters outside [A-Za-z0-9_.-] become\n"
            "                         '_', clashing names get _2, _3, ...)\n"
            "  --backend NAME         device to run on. A .qcm artifact runs on any runtime\n"
            "                         device (ref, cpu, vulkan, cuda) its code is for;\n"
            "                         default: the best one it has code for that opens\n"
            "                         here, else ref. A .qcir / .onnx model runs on ref, or\n"
            "                         is compiled in memory for the device named (JIT)\n"
            "  --repeat N             run N times, report min and median time\n"
            "  --quiet                print nothing but errors\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage.\n");
}

static int usage_error(void) {
    usage(stderr);
    return QC_EXIT_USAGE;
}

/* Returns -1 to go on, or the exit code to stop with. */
static int parse_args(int argc, char **argv, run_opts *o) {
    o->backend = NULL;   /* chosen once the model's kind is known */
    o->repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (qc_cli_is_help(argv[i])) {
            usage(stdout);
            return QC_EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if ((m = qc_cli_option(CMD, argc, argv, &i, "--input", &v))) {
            if (m < 0) return usage_error();
            o->inputs[o->n_inputs++] = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--output-dir", &v))) {
            if (m < 0) return usage_error();
            o->out_dir = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--backend", &v))) {
            if (m < 0) return usage_error();
            o->backend = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--repeat", &v))) {
            if (m < 0) return usage_error();
            if (!qc_cli_parse_int(v, 1, MAX_REPEAT, &o->repeat)) {
                qc_cli_error(CMD, "--repeat needs a whole number from 1 to %ld, got '%s'",
                             MAX_REPEAT, v);
                return usage_error();
            }
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            o->quiet = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            qc_cli_error(CMD, "unknown option '%s'", argv[i]);
            return usage_error();
        } else if (o->model) {
            qc_cli_error(CMD, "unexpected argument '%s' (the model is '%s')", argv[i], o->model);
            return usage_error();
        } else {
            o->model = argv[i];
        }
    }
    if (!o->model) {
        qc_cli_error(CMD, "no MODEL given");
        return usage_error();
    }
    return -1;
}

/* ---- model and inputs ------------------------------------------------------ */

/* "x: f32[N,4], mask: bool[N]" into a malloc'd string (NULL if out of memory). */
static char *input_list(const qc_graph *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    if (g->n_inputs == 0) fputs("(none)", f);
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const qc_value *v = &g->values[g->inputs[i]];
        char type[160];
        qc_type_format(&v->type, g->batch, type, sizeof type);
        fprintf(f, "%s%s: %s", i ? ", " : "", v->name, type);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* An error whose message ends with the graph's input list. */
static qc_status error_with_inputs(const qc_graph *g, const char *what) {
    char *list = input_list(g);
    qc_status st = qc_error(QC_ERR_INVALID, "%s; model inputs: %s", what,
                            list ? list : "(out of memory listing them)");
    free(list);
    return st;
}

/* Which graph input an --input argument binds, and its file. The longest
 * input name followed by '=' wins, so names containing '=' still work; a bare
 * FILE (or an unmatched NAME=FILE that is an existing file) binds the only
 * input. */
static qc_status resolve_input(const qc_graph *g, const char *arg, int32_t *index,
                               const char **file) {
    size_t best = 0;
    *index = -1;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const char *name = g->values[g->inputs[i]].name;
        size_t n = strlen(name);
        if (n > best && !strncmp(arg, name, n) && arg[n] == '=') {
            best = n;
            *index = i;
        }
    }
    if (*index >= 0) {
        *file = arg + best + 1;
        if (!**file) return qc_error(QC_ERR_INVALID, "--input '%s' names no file", arg);
        return NULL;
    }
    if (g->n_inputs == 0)
        return qc_error(QC_ERR_INVALID, "--input '%s': the model takes no inputs", arg);
    const char *eq = strchr(arg, '=');
    if (g->n_inputs == 1 && (!eq || access(arg, F_OK) == 0)) {
        *index = 0;
        *file = arg;
        return NULL;
    }
    char what[512];
    if (eq)
        snprintf(what, sizeof what, "--input '%s': the model has no input named '%.*s'", arg,
                 (int)(eq - arg), arg);
    else
        snprintf(what, sizeof what,
                 "--input '%s' has no NAME=, which only works for a model with one input", arg);
    return error_with_inputs(g, what);
}

/* Checks a loaded file against graph input `index`; *batch / *batch_from
 * track the symbolic dim's size and which input bound it. */
static qc_status check_input(const qc_graph *g, int32_t index, const char *file,
                             const qc_tensor *t, int64_t *batch, int32_t *batch_from) {
    const qc_value *v = &g->values[g->inputs[index]];
    const char *bname = g->batch ? g->batch : "?";
    bool ok = t->desc.dtype == v->type.dtype && t->desc.rank == v->type.rank;
    int64_t bound = *batch;
    for (int32_t k = 0; ok && k < v->type.rank; k++) {
        if (v->type.dims[k] != QC_DIM_SYM) ok = t->desc.dims[k] == v->type.dims[k];
        else if (bound < 0) bound = t->desc.dims[k];
        else ok = t->desc.dims[k] == bound;
    }
    if (ok) {
        if (*batch < 0 && bound >= 0) *batch_from = index;
        *batch = bound;
        return NULL;
    }
    char have[160], want[160], why[256] = "";
    qc_type_format(&t->desc, NULL, have, sizeof have);
    qc_type_format(&v->type, g->batch, want, sizeof want);
    /* When only the batch size disagrees, say which input fixed it. */
    if (*batch >= 0 && t->desc.dtype == v->type.dtype && t->desc.rank == v->type.rank)
        snprintf(why, sizeof why, " with %s=%lld (from input '%s')", bname, (long long)*batch,
                 g->values[g->inputs[*batch_from]].name);
    return qc_error(QC_ERR_INVALID, "input '%s': file %s has %s, model expects %s%s", v->name,
                    file, have, want, why);
}

/* Reads and checks every input; on failure nothing stays allocated. */
static qc_status load_inputs(const qc_graph *g, const run_opts *o, qc_tensor *in) {
    const char **files = calloc((size_t)g->n_inputs + 1, sizeof *files);
    if (!files) return qc_error(QC_ERR_NOMEM, "out of memory");
    qc_status st = NULL;
    for (int a = 0; a < o->n_inputs && !st; a++) {
        int32_t idx = -1;
        const char *file = NULL;
        st = resolve_input(g, o->inputs[a], &idx, &file);
        if (!st && files[idx])
            st = qc_error(QC_ERR_INVALID, "input '%s' is given twice (%s and %s)",
                          g->values[g->inputs[idx]].name, files[idx], file);
        if (!st) files[idx] = file;
    }
    if (!st) {
        char *missing = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&missing, &len);
        int n_missing = 0;
        for (int32_t i = 0; f && i < g->n_inputs; i++)
            if (!files[i])
                fprintf(f, "%s'%s'", n_missing++ ? ", " : "", g->values[g->inputs[i]].name);
        if (!f || fclose(f) != 0) st = qc_error(QC_ERR_NOMEM, "out of memory");
        if (!st && n_missing) {
            char what[1024];
            snprintf(what, sizeof what,
                     "missing input%s %s (give each as --input NAME=FILE.npy or NAME=FILE.pb)",
                     n_missing > 1 ? "s" : "", missing);
            st = error_with_inputs(g, what);
        }
        free(missing);
    }
    int64_t batch = -1;
    int32_t batch_from = -1;
    for (int32_t i = 0; i < g->n_inputs && !st; i++) {
        st = qc_cli_read_tensor(files[i], &in[i]);
        if (st) st = qc_status_wrap(st, "input '%s'", g->values[g->inputs[i]].name);
        else st = check_input(g, i, files[i], &in[i], &batch, &batch_from);
    }
    if (st)
        for (int32_t i = 0; i < g->n_inputs; i++) qc_tensor_release(&in[i]);
    free(files);
    return st;
}

/* ---- running ----------------------------------------------------------------- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What executes the model: a graph backend, or for a .qcm artifact a
 * runtime session (libqcrt, the way a host application runs it). */
typedef struct runner {
    backend_run_fn run;
    qc_session *session;
} runner;

static qc_status run_once(const runner *r, const qc_graph *g, const qc_tensor *in,
                          qc_tensor *out) {
    if (r->session) {
        /* data == NULL: the session allocates each output. */
        for (int32_t i = 0; i < g->n_outputs; i++) memset(&out[i], 0, sizeof out[i]);
        return qc_session_run(r->session, in, g->n_inputs, out, g->n_outputs);
    }
    return r->run(g, in, g->n_inputs, out, g->n_outputs);
}

/* Runs `repeat` times, keeping the last run's outputs; ms[r] is run r's time. */
static qc_status run_timed(const runner *run, const qc_graph *g, const qc_tensor *in,
                           long repeat, qc_tensor *out, double *ms) {
    for (long r = 0; r < repeat; r++) {
        if (r > 0)
            for (int32_t i = 0; i < g->n_outputs; i++) qc_tensor_release(&out[i]);
        double t0 = now_ms();
        qc_status st = run_once(run, g, in, out);
        ms[r] = now_ms() - t0;
        if (st) return st;   /* the backend leaves no outputs allocated on failure */
    }
    return NULL;
}

static void print_timing(double *ms, long n) {
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    if (n == 1) {
        printf("time: %.3f ms\n", ms[0]);
        return;
    }
    double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    printf("time: min %.3f ms, median %.3f ms over %ld runs\n", ms[0], median, n);
}

/* "y: f32[2,3] = [0.5, -1, 2, 0, 1, 3]"; past PREVIEW_COUNT values it ends
 * "..., ... (N values)]". */
static void print_output(const qc_graph *g, int32_t i, const qc_tensor *t) {
    char type[160];
    qc_type_format(&t->desc, NULL, type, sizeof type);
    int64_t numel = qc_type_numel(&t->desc);
    printf("%s: %s = [", g->values[g->outputs[i]].name, type);
    qc_dtype dt = t->desc.dtype;
    for (int64_t k = 0; k < numel && k < PREVIEW_COUNT; k++) {
        if (k) fputs(", ", stdout);
        if (qc_dtype_is_float(dt)) printf("%.6g", qc_elem_get_f64(dt, t->data, k));
        else printf("%lld", (long long)qc_elem_get_i64(dt, t->data, k));
    }
    if (numel > PREVIEW_COUNT) printf(", ... (%lld values)", (long long)numel);
    fputs("]\n", stdout);
}

/* ---- writing outputs ------------------------------------------------------- */

/* mkdir -p: creates DIR and any missing parents. */
static qc_status make_dirs(const char *dir) {
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p) return qc_error(QC_ERR_NOMEM, "out of memory");
    memcpy(p, dir, n + 1);
    qc_status st = NULL;
    for (size_t k = 1; k <= n && !st; k++) {
        if (p[k] != '/' && p[k] != 0) continue;
        char c = p[k];
        p[k] = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            st = qc_error(QC_ERR_IO, "cannot create output directory %s: %s", p, strerror(errno));
        p[k] = c;
    }
    free(p);
    struct stat sb;
    if (st) return st;
    if (stat(dir, &sb) != 0)
        return qc_error(QC_ERR_IO, "output directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return qc_error(QC_ERR_IO, "output directory %s: exists and is not a directory", dir);
    return NULL;
}

/* File stems: output names with [^A-Za-z0-9_.-] mapped to '_', cut to
 * MAX_FILE_STEM, and made unique by appending _2, _3, ... in output order. */
static void output_stems(const qc_graph *g, char (*stems)[MAX_FILE_STEM + 16]) {
    for (int32_t i = 0; i < g->n_outputs; i++) {
        const char *name = g->values[g->outputs[i]].name;
        char base[MAX_FILE_STEM + 1];
        size_t n = 0;
        for (; name[n] && n < MAX_FILE_STEM; n++) {
            char c = name[n];
            bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
            base[n] = keep ? c : '_';
        }
        base[n] = 0;
        if (!n) snprintf(base, sizeof base, "output%d", (int)i);
        snprintf(stems[i], sizeof stems[i], "%s", base);
        for (int k = 2;; k++) {
            bool clash = false;
            for (int32_t j = 0; j < i && !clash; j++) clash = !strcmp(stems[j], stems[i]);
            if (!clash) break;
            snprintf(stems[i], sizeof stems[i], "%s_%d", base, k);
        }
    }
}

static void remove_files(char **paths, int32_t n) {
    for (int32_t i = 0; i < n; i++) remove(paths[i]);
}

static void free_paths(char **paths, int32_t n) {
    for (int32_t i = 0; paths && i < n; i++) free(paths[i]);
    free(paths);
}

/* Writes DIR/<stem>.npy for each output: all staged first, then renamed into
 * place; on any failure every file this run created is removed again. On
 * success *written holds the n_outputs paths (free_paths). */
static qc_status write_outputs(const qc_graph *g, const char *dir, const qc_tensor *out,
                               char ***written) {
    *written = NULL;
    qc_status st = make_dirs(dir);
    if (st) return st;
    int32_t n = g->n_outputs;
    char(*stems)[MAX_FILE_STEM + 16] = calloc((size_t)n + 1, sizeof *stems);
    char **final = calloc((size_t)n + 1, sizeof *final);
    char **stage = calloc((size_t)n + 1, sizeof *stage);
    if (!stems || !final || !stage) st = qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st) output_stems(g, stems);
    size_t dlen = strlen(dir);
    for (int32_t i = 0; i < n && !st; i++) {
        size_t len = dlen + strlen(stems[i]) + 64;
        final[i] = malloc(len);
        stage[i] = malloc(len);
        if (!final[i] || !stage[i]) {
            st = qc_error(QC_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(final[i], len, "%s/%s.npy", dir, stems[i]);
        snprintf(stage[i], len, "%s/.%s.npy.partial%ld", dir, stems[i], (long)getpid());
    }
    /* A failed qc_npy_write leaves nothing behind, so `staged` files exist. */
    int32_t staged = 0, placed = 0;
    while (!st && staged < n) {
        st = qc_npy_write(stage[staged], &out[staged]);
        if (st) st = qc_status_wrap(st, "output '%s'", g->values[g->outputs[staged]].name);
        else staged++;
    }
    if (st) remove_files(stage, staged);
    while (!st && placed < n) {
        if (rename(stage[placed], final[placed]) == 0) {
            placed++;
            continue;
        }
        st = qc_error(QC_ERR_IO, "output '%s': cannot write %s: %s",
                      g->values[g->outputs[placed]].name, final[placed], strerror(errno));
        remove_files(final, placed);
        remove_files(stage + placed, n - placed);
    }
    free_paths(stage, n);
    if (st) free_paths(final, n);
    else *written = final;
    free(stems);
    return st;
}

/* ---- the command ---------------------------------------------------------------- */

static backend_run_fn find_backend(const char *name) {
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i].name, name)) return backends[i].run;
    return NULL;
}

/* A .qcm artifact runs through the runtime API on device `backend`, or
 * without one on the best device it has code for that opens here (a cuda
 * artifact on a machine without a GPU runs on ref, saying so). Its graph
 * (rebuilt by qc_cli_load_model) still provides names and types for the
 * input checks and output files. */
static qc_status open_runtime(const run_opts *o, qc_runtime **rt) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = o->backend;
    if (o->backend) return qc_runtime_create(&ro, rt);
    const char *names[8];
    int n = qc_cli_qcm_devices(o->model, names, 8);
    qc_status st = NULL;
    for (int i = 0; i < n; i++) {
        qc_status_free(st);
        ro.backend = names[i];
        st = qc_runtime_create(&ro, rt);
        if (!st) {
            if (i > 0 && !o->quiet)
                fprintf(stderr, "qcomp run: %s does not open here; running on %s\n", names[0],
                        names[i]);
            return NULL;
        }
    }
    return st;
}

static qc_status open_session(const run_opts *o, qc_runtime **rt, qc_model **m,
                              qc_session **s) {
    qc_status st = open_runtime(o, rt);
    if (!st) st = qc_cli_name_file(qc_model_load_file(*rt, o->model, m), o->model);
    if (!st) st = qc_session_create(*m, NULL, s);
    return st;
}

/* A .qcir / .onnx model on a device other than ref: g (as loaded) is
 * optimized in place and compiled in memory for that device (the device's
 * lowering, then a JIT load, as `qcomp bench` does) and runs through the
 * runtime. Optimizing keeps the graph's inputs and outputs, which is all the
 * caller reads of g afterwards (a .qcm's graph is the optimized one too). */
static qc_status jit_session(const run_opts *o, qc_graph *g, qc_runtime **rt, qc_model **m,
                             qc_session **s) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = o->backend;
    qc_status st = qc_runtime_create(&ro, rt);
    if (!st) st = qc_cli_name_file(qc_compile_optimize(g), o->model);
    if (!st) st = qc_cli_name_file(qc_compile_jit(*rt, g, m), o->model);
    if (!st) st = qc_session_create(*m, NULL, s);
    return st;
}

/* Everything after argument parsing; owns and frees the graph and tensors. */
static qc_status run_model(const run_opts *o) {
    bool qcm = qc_cli_is_qcm_file(o->model);
    const char *graph_backend = o->backend ? o->backend : "ref";
    runner run = {find_backend(graph_backend), NULL};
    /* a backend without a graph runner here is a runtime device: JIT */
    bool jit = !qcm && !run.run;
    qc_runtime *rt = NULL;
    qc_model *model = NULL;
    qc_graph *g = NULL;
    qc_status st = qcm ? open_session(o, &rt, &model, &run.session) : NULL;
    if (!st) st = qc_cli_load_model(o->model, true, &g);
    if (!st && jit) st = jit_session(o, g, &rt, &model, &run.session);
    if (st) {
        qc_graph_destroy(g);
        qc_session_destroy(run.session);
        qc_model_release(model);
        qc_runtime_destroy(rt);
        return st;
    }
    qc_tensor *in = calloc((size_t)g->n_inputs + 1, sizeof *in);
    qc_tensor *out = calloc((size_t)g->n_outputs + 1, sizeof *out);
    double *ms = calloc((size_t)o->repeat, sizeof *ms);
    if (!in || !out || !ms) st = qc_error(QC_ERR_NOMEM, "out of memory");
    if (!st) st = load_inputs(g, o, in);
    if (!st) st = qc_cli_name_file(run_timed(&run, g, in, o->repeat, out, ms), o->model);
    char **written = NULL;
    if (!st && o->out_dir) st = write_outputs(g, o->out_dir, out, &written);
    if (!st && !o->quiet) {
        for (int32_t i = 0; i < g->n_outputs; i++) print_output(g, i, &out[i]);
        for (int32_t i = 0; written && i < g->n_outputs; i++)
            printf("%s%s", i ? ", " : "wrote ", written[i]);
        if (written && g->n_outputs) putchar('\n');
        print_timing(ms, o->repeat);
    }
    free_paths(written, g->n_outputs);
    /* Released tensors have NULL data, so releasing twice or never-filled
     * (calloc'd) entries is harmless. */
    for (int32_t i = 0; out && i < g->n_outputs; i++) qc_tensor_release(&out[i]);
    for (int32_t i = 0; in && i < g->n_inputs; i++) qc_tensor_release(&in[i]);
    free(in);
    free(out);
    free(ms);
    qc_graph_destroy(g);
    qc_session_destroy(run.session);
    qc_model_release(model);
    qc_runtime_destroy(rt);
    return st;
}

int qc_cli_run(int argc, char **argv) {
    run_opts o = {0};
    o.inputs = calloc((size_t)argc + 1, sizeof *o.inputs);
    if (!o.inputs) {
        qc_cli_error(CMD, "out of memory");
        return QC_EXIT_ERROR;
    }
    int rc = parse_args(argc, argv, &o);
    if (rc < 0) {
        qc_status st = run_model(&o);
        rc = st ? qc_cli_fail(CMD, st) : QC_EXIT_OK;
        if (rc == QC_EXIT_OK && !o.quiet && !qc_cli_flush(CMD, stdout, "to stdout"))
            rc = QC_EXIT_ERROR;
    }
    free(o.inputs);
    return rc;
}
