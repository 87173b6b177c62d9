/* runner.c — the ONNX backend node tests on a qcomp backend.
 *
 *   onnx_node_runner [--backend ref|ref-artifact|cpu|cpu-artifact] [--claimed FILE] [--filter TEXT] [--no-fail]
 *                    [-v|-vv] [--results] [--no-fork] [DIR]
 *
 * DIR (default: Debian's libonnx-testdata) holds test_* folders, each with
 * model.onnx and test_data_set_0/{input,output}_N.pb. Every test is imported,
 * run on the backend and its outputs compared with ONNX's tolerances (floats
 * rtol 1e-3, atol 1e-7; integers and bools exact). A test is:
 *   pass         every output matches;
 *   unsupported  the importer or backend said QC_ERR_UNSUPPORTED;
 *   fail         anything else (wrong numbers, other errors, crash, hang).
 * qcomp compiles static shapes: when a test's import fails as unsupported
 * (e.g. a Reshape whose shape is a graph input), it is imported again with
 * every input bound to its test value as a constant (qc_onnx_options.bindings;
 * first without constant folding, so the kernels still run on the backend,
 * then with it, for shapes computed from those inputs) and counted as
 * "with inputs bound" in the summary.
 *
 * Output: a table per op (the set of op types in the test's model) with
 * pass/fail/unsupported counts, then the totals, ending with exactly one line
 * "N passed, M failed". With --claimed FILE (one op type per line, '#'
 * comments, "!test_name" excuses one test as unsupported) the exit status is
 * non-zero if any test whose ops are all claimed fails, or is unsupported
 * without being excused. --results prints one line per test
 * (tests/onnx_node/suggest_claims.py reads them). Each test runs in a forked
 * child (unless --no-fork) so a crash or hang in one kernel is one failure,
 * not the end of the run. --no-fail makes any failing test (not unsupported
 * ones) fail the run: for suites without a claimed list. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "onnx.pb-c.h"
#include "qcomp/qcomp.h"
#include "qcomp/qcrt.h"
#include "tools/compare.h"

#define DEFAULT_DIR "/usr/share/libonnx-testdata/data/node"
#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_IO 64
#define TEST_TIMEOUT_S 120
#define PATH_CAP 4096   /* a test folder's path; files in it get 64 more bytes */

enum { R_PASS, R_FAIL, R_UNSUPPORTED };

typedef struct result {
    int cls;
    int bound;          /* passed only with its inputs bound as constants */
    char why[1000];
} result;

typedef struct options {
    const char *dir;
    const char *claimed_file;
    const char *filter;
    int verbose;
    bool fork;
    bool results;       /* one line per test: RESULT name ops */
    bool no_fail;       /* exit 1 if any test fails (unsupported is fine) */
} options;

typedef qc_status (*backend_fn)(const qc_graph *, const qc_tensor *, int32_t, qc_tensor *,
                                int32_t);

/* ---- one test ------------------------------------------------------------------- */

static void set_result(result *r, int cls, const char *fmt, const char *msg) {
    r->cls = cls;
    snprintf(r->why, sizeof r->why, fmt, msg);
}

/* The test's tensors: input_0.pb, input_1.pb, ... until one is missing. */
static int read_tensors(const char *dir, const char *kind, qc_tensor *t, char **names,
                        result *r) {
    int n = 0;
    for (; n < MAX_IO; n++) {
        char path[PATH_CAP + 64];
        snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", dir, kind, n);
        if (access(path, F_OK) != 0) break;
        qc_status st = qc_onnx_read_tensor_file(path, &t[n], &names[n]);
        if (st) {
            set_result(r, qc_status_code(st) == QC_ERR_UNSUPPORTED ? R_UNSUPPORTED : R_FAIL,
                       "reading test data: %s", qc_status_message(st));
            qc_status_free(st);
            return -1;
        }
    }
    return n;
}

/* Index of the test tensor feeding graph input `name` (by name, else by
 * position among the graph's inputs). */
static int match_input(char **names, int n, const char *name, int position) {
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(names[i], name)) return i;
    return position < n ? position : -1;
}

/* Unpacks a model file with protobuf-c (NULL on any failure). */
static Onnx__ModelProto *load_model_proto(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat sb;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (fstat(fileno(f), &sb) == 0 && sb.st_size > 0 && (buf = malloc((size_t)sb.st_size)))
        len = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    Onnx__ModelProto *m = buf ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
    free(buf);
    if (m && !m->graph) {
        onnx__model_proto__free_unpacked(m, NULL);
        m = NULL;
    }
    return m;
}

/* The non-initializer graph inputs of the model, in order (for binding). */
static int model_inputs(const char *model, const char **out, Onnx__ModelProto **keep) {
    Onnx__ModelProto *m = load_model_proto(model);
    if (!m) return -1;
    int n = 0;
    for (size_t i = 0; i < m->graph->n_input && n < MAX_IO; i++) {
        bool init = false;
        for (size_t k = 0; k < m->graph->n_initializer && !init; k++)
            init = !strcmp(m->graph->initializer[k]->name, m->graph->input[i]->name);
        if (!init) out[n++] = m->graph->input[i]->name;
    }
    *keep = m;
    return n;
}

/* Imports the model; on an unsupported-import, again with every input bound
 * to its test value. */
static qc_status import(const char *dir, qc_tensor *in, char **in_names, int n_in,
                        qc_graph **g, int *bound) {
    char model[PATH_CAP + 64];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    *bound = 0;
    qc_status st = qc_onnx_import_file(model, NULL, g);
    if (!st || qc_status_code(st) != QC_ERR_UNSUPPORTED || n_in == 0) return st;
    const char *names[MAX_IO];
    Onnx__ModelProto *m = NULL;
    int n = model_inputs(model, names, &m);
    if (n != n_in) {
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return st;
    }
    qc_onnx_binding b[MAX_IO];
    for (int i = 0; i < n; i++) {
        int k = match_input(in_names, n_in, names[i], i);
        b[i].name = names[i];
        b[i].value = k >= 0 ? &in[k] : NULL;
    }
    qc_onnx_options o;
    qc_onnx_options_init(&o);
    o.fold_constants = 0;
    o.bindings = b;
    o.n_bindings = n;
    qc_status st2 = qc_onnx_import_file(model, &o, g);
    /* Shapes computed from the bound inputs need folding to become static. */
    if (st2 && qc_status_code(st2) == QC_ERR_UNSUPPORTED) {
        qc_status_free(st2);
        o.fold_constants = 1;
        st2 = qc_onnx_import_file(model, &o, g);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    if (st2) {
        qc_status_free(st2);
        return st;   /* report the plain import's error */
    }
    qc_status_free(st);
    *bound = 1;
    return NULL;
}

static void compare_outputs(const qc_graph *g, const qc_tensor *got, const qc_tensor *want,
                            int n, result *r) {
    for (int i = 0; i < n; i++) {
        qc_compare_report rep;
        qc_tensor_compare(&got[i], &want[i], RTOL, ATOL, &rep);
        if (!rep.match) {
            char msg[700];
            snprintf(msg, sizeof msg, "output '%s': %s (%lld mismatches)",
                     g->values[g->outputs[i]].name, rep.why, (long long)rep.mismatches);
            set_result(r, R_FAIL, "%s", msg);
            return;
        }
    }
    r->cls = R_PASS;
}

/* Binds graph inputs to test tensors (by name, else by position) and runs. */
static void run_graph(const qc_graph *g, backend_fn backend, qc_tensor *in, char **in_names,
                      int n_in, const qc_tensor *want, int n_want, result *r) {
    qc_tensor args[MAX_IO], got[MAX_IO];
    memset(got, 0, sizeof got);
    if (g->n_outputs != n_want || g->n_inputs > MAX_IO) {
        char msg[100];
        snprintf(msg, sizeof msg, "%d outputs, the test has %d", (int)g->n_outputs, n_want);
        set_result(r, R_FAIL, "%s", msg);
        return;
    }
    qc_status st = NULL;
    for (int32_t i = 0; i < g->n_inputs && !st; i++) {
        int k = match_input(in_names, n_in, g->values[g->inputs[i]].name, i);
        if (k < 0) st = qc_error(QC_ERR_INVALID, "no test data for input '%s'",
                                 g->values[g->inputs[i]].name);
        else args[i] = in[k];
    }
    if (!st) st = backend(g, args, g->n_inputs, got, g->n_outputs);
    if (st) {
        set_result(r, qc_status_code(st) == QC_ERR_UNSUPPORTED ? R_UNSUPPORTED : R_FAIL,
                   "run: %s", qc_status_message(st));
        qc_status_free(st);
        return;
    }
    compare_outputs(g, got, want, n_want, r);
    for (int32_t i = 0; i < g->n_outputs; i++) qc_tensor_release(&got[i]);
}

/* Reads the test data, imports, runs and compares. Test data qcomp cannot
 * read (sequences, strings, ...) only decides the outcome once the import
 * has had its say: a model qcomp does not support is "unsupported" even
 * when its data is unreadable too. */
static void run_test(const char *dir, backend_fn backend, result *r) {
    qc_tensor in[MAX_IO], want[MAX_IO];
    char *in_names[MAX_IO] = {0}, *want_names[MAX_IO] = {0};
    memset(in, 0, sizeof in);
    memset(want, 0, sizeof want);
    result data_err;
    memset(&data_err, 0, sizeof data_err);
    int n_in = read_tensors(dir, "input", in, in_names, &data_err);
    int n_want = n_in < 0 ? -1 : read_tensors(dir, "output", want, want_names, &data_err);
    qc_graph *g = NULL;
    qc_status st = import(dir, in, in_names, n_want < 0 ? 0 : n_in, &g, &r->bound);
    if (st)
        set_result(r, qc_status_code(st) == QC_ERR_UNSUPPORTED ? R_UNSUPPORTED : R_FAIL,
                   "import: %s", qc_status_message(st));
    else if (n_want < 0) *r = data_err;
    else run_graph(g, backend, in, in_names, n_in, want, n_want, r);
    qc_status_free(st);
    qc_graph_destroy(g);
    for (int i = 0; i < MAX_IO; i++) {
        qc_tensor_release(&in[i]);
        qc_tensor_release(&want[i]);
        free(in_names[i]);
        free(want_names[i]);
    }
}

/* Runs one test in a child process; a crash, sanitizer exit or timeout is a
 * failure naming what happened. */
static void run_isolated(const char *dir, backend_fn backend, bool use_fork, result *r) {
    memset(r, 0, sizeof *r);
    r->cls = R_FAIL;
    if (!use_fork) {
        run_test(dir, backend, r);
        return;
    }
    int fds[2];
    fflush(NULL);
    if (pipe(fds) != 0) {
        set_result(r, R_FAIL, "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(TEST_TIMEOUT_S);
        result cr;
        memset(&cr, 0, sizeof cr);
        run_test(dir, backend, &cr);
        ssize_t w = write(fds[1], &cr, sizeof cr);
        close(fds[1]);
        exit(w == (ssize_t)sizeof cr ? 0 : 3);   /* exit(), so leak checks still run */
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        set_result(r, R_FAIL, "fork: %s", strerror(errno));
        return;
    }
    size_t got = 0;
    for (ssize_t k; got < sizeof *r && (k = read(fds[0], (char *)r + got, sizeof *r - got)) != 0;) {
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) break;
        got += (size_t)k;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    char msg[100];
    if (WIFSIGNALED(status)) {
        snprintf(msg, sizeof msg, "%s (signal %d)",
                 WTERMSIG(status) == SIGALRM ? "timed out" : "crashed", WTERMSIG(status));
        set_result(r, R_FAIL, "%s", msg);
    } else if (got != sizeof *r || WEXITSTATUS(status) != 0) {
        snprintf(msg, sizeof msg, "test process exited with status %d (sanitizer report?)",
                 WEXITSTATUS(status));
        set_result(r, R_FAIL, "%s", msg);
    }
}

/* ---- the op sets and the table ------------------------------------------------------ */

typedef struct strset {
    char **items;
    int n, cap;
} strset;

static bool set_has(const strset *s, const char *x) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->items[i], x)) return true;
    return false;
}

static void set_add(strset *s, const char *x) {
    if (set_has(s, x)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        char **items = realloc(s->items, (size_t)s->cap * sizeof *items);
        if (!items) {
            fprintf(stderr, "onnx_node_runner: out of memory\n");
            exit(2);
        }
        s->items = items;
    }
    s->items[s->n] = strdup(x);
    if (!s->items[s->n]) {
        fprintf(stderr, "onnx_node_runner: out of memory\n");
        exit(2);
    }
    s->n++;
}

static void set_free(strset *s) {
    for (int i = 0; i < s->n; i++) free(s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The model's op types ("Add", or "domain.Op" outside the default domain),
 * sorted; false if the model cannot be read. */
static bool model_ops(const char *dir, strset *ops) {
    char path[PATH_CAP + 64];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    Onnx__ModelProto *m = load_model_proto(path);
    if (!m) return false;
    for (size_t i = 0; i < m->graph->n_node; i++) {
        const Onnx__NodeProto *np = m->graph->node[i];
        const char *d = np->domain ? np->domain : "";
        char name[300];
        if (!*d || !strcmp(d, "ai.onnx")) snprintf(name, sizeof name, "%s", np->op_type);
        else snprintf(name, sizeof name, "%s.%s", d, np->op_type);
        set_add(ops, name);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    qsort(ops->items, (size_t)ops->n, sizeof *ops->items, cmp_str);
    return true;
}

typedef struct row {
    char *key;
    int count[3];
} row;

typedef struct table {
    row *rows;
    int n, cap;
} table;

static void table_add(table *t, const char *key, int cls) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].key, key)) {
            t->rows[i].count[cls]++;
            return;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        row *rows = realloc(t->rows, (size_t)t->cap * sizeof *rows);
        if (!rows) {
            fprintf(stderr, "onnx_node_runner: out of memory\n");
            exit(2);
        }
        t->rows = rows;
    }
    memset(&t->rows[t->n], 0, sizeof t->rows[t->n]);
    t->rows[t->n].key = strdup(key);
    t->rows[t->n].count[cls] = 1;
    t->n++;
}

static int cmp_row(const void *a, const void *b) {
    return strcmp(((const row *)a)->key, ((const row *)b)->key);
}

static void table_print(table *t) {
    qsort(t->rows, (size_t)t->n, sizeof *t->rows, cmp_row);
    printf("%-48s %5s %5s %6s\n", "ops (set of op types in the test's model)", "pass", "fail",
           "unsup");
    for (int i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        printf("%-48s %5d %5d %6d\n", r->key, r->count[R_PASS], r->count[R_FAIL],
               r->count[R_UNSUPPORTED]);
    }
}

static void table_free(table *t) {
    for (int i = 0; i < t->n; i++) free(t->rows[i].key);
    free(t->rows);
}

/* claimed_ops.txt: one op type per line; '#' starts a comment. A line
 * "!test_name" names a test of claimed ops that may be unsupported (a data
 * type qcomp does not have, e.g. strings); it must still never fail. */
static bool load_claimed(const char *path, strset *claimed, strset *excused) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "onnx_node_runner: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "#\r\n")] = 0;
        char *a = line, *e;
        while (*a == ' ' || *a == '\t') a++;
        for (e = a + strlen(a); e > a && (e[-1] == ' ' || e[-1] == '\t'); e--) {}
        *e = 0;
        if (*a == '!') set_add(excused, a + 1);
        else if (*a) set_add(claimed, a);
    }
    fclose(f);
    return true;
}

/* ---- main ---------------------------------------------------------------------------- */

static int usage(void) {
    fprintf(stderr, "usage: onnx_node_runner [--backend ref|ref-artifact|cpu|cpu-artifact|vulkan] [--claimed FILE] [--filter TEXT] "
                    "[--no-fail] [-v|-vv] [--results] [--no-fork] [DIR]\n");
    return 2;
}

/* --backend ref-artifact: the whole product path instead of the graph
 * interpreter: compile the graph to a .qcm image in memory, load it into the
 * runtime, and run a session on the ref device. */
static qc_status run_on_device(const char *device, const qc_graph *g, const qc_tensor *in,
                               int32_t n_in, qc_tensor *out, int32_t n_out) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.threads = 1;
    ro.backend = device;
    qc_runtime *rt = NULL;
    qc_model *m = NULL;
    qc_session *s = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (!st) st = qc_compile_jit(rt, g, &m);
    if (!st) st = qc_session_create(m, NULL, &s);
    if (!st) {
        for (int32_t i = 0; i < n_out; i++) out[i].data = NULL;   /* runtime allocates */
        st = qc_session_run(s, in, n_in, out, n_out);
    }
    qc_session_destroy(s);
    qc_model_release(m);
    qc_runtime_destroy(rt);
    return st;
}

static qc_status run_via_artifact(const qc_graph *g, const qc_tensor *in, int32_t n_in,
                                  qc_tensor *out, int32_t n_out) {
    return run_on_device("ref", g, in, n_in, out, n_out);
}

/* --backend vulkan: the same product path with code for the vulkan device
 * (the JIT targets the runtime's device); nodes without a shader run the
 * ref kernels on the device's mapped arena. */
static qc_status run_via_vulkan(const qc_graph *g, const qc_tensor *in, int32_t n_in,
                                qc_tensor *out, int32_t n_out) {
    return run_on_device("vulkan", g, in, n_in, out, n_out);
}

/* Whether a device opens here; prints the reason when not. */
static bool device_opens(const char *name) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.threads = 1;
    ro.backend = name;
    qc_runtime *rt = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (st) printf("skipped: no Vulkan device (%s)\n", qc_status_message(st));
    qc_status_free(st);
    qc_runtime_destroy(rt);
    return !st;
}

/* --backend cpu / cpu-artifact: the cpu device. "cpu" compiles through
 * qc_compile_jit_opts (kernels in an in-process ORC LLJIT); "cpu-artifact"
 * makes a ref+cpu image whose kernels are a linked shared object, loaded by
 * the runtime with dlopen (the AOT path). Two threads, so the device's split
 * over the pool runs too. */
static qc_status run_on_cpu(const qc_graph *g, const qc_tensor *in, int32_t n_in, qc_tensor *out,
                            int32_t n_out, bool aot) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.threads = 2;
    ro.backend = "cpu";
    qc_compile_options co;
    qc_compile_options_init(&co);
    co.targets = aot ? "ref,cpu" : "cpu";
    qc_runtime *rt = NULL;
    qc_model *m = NULL;
    qc_session *s = NULL;
    void *img = NULL;
    size_t len = 0;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (!st && aot) st = qc_compile_to_memory_opts(g, &co, &img, &len);
    if (!st && aot) st = qc_model_load_memory(rt, img, len, QC_LOAD_COPY, &m);
    if (!st && !aot) st = qc_compile_jit_opts(rt, g, &co, &m);
    free(img);
    if (!st) st = qc_session_create(m, NULL, &s);
    if (!st) {
        for (int32_t i = 0; i < n_out; i++) out[i].data = NULL;   /* runtime allocates */
        st = qc_session_run(s, in, n_in, out, n_out);
    }
    qc_session_destroy(s);
    qc_model_release(m);
    qc_runtime_destroy(rt);
    return st;
}

static qc_status run_cpu_jit(const qc_graph *g, const qc_tensor *in, int32_t n_in, qc_tensor *out,
                             int32_t n_out) {
    return run_on_cpu(g, in, n_in, out, n_out, false);
}

static qc_status run_cpu_aot(const qc_graph *g, const qc_tensor *in, int32_t n_in, qc_tensor *out,
                             int32_t n_out) {
    return run_on_cpu(g, in, n_in, out, n_out, true);
}

static const char *backend_name = "ref";

static int parse_args(int argc, char **argv, options *o, backend_fn *backend) {
    o->dir = DEFAULT_DIR;
    o->fork = true;
    *backend = qc_ref_run;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--backend") && i + 1 < argc) {
            i++;
            backend_name = argv[i];
            if (!strcmp(argv[i], "ref-artifact")) *backend = run_via_artifact;
            else if (!strcmp(argv[i], "vulkan")) *backend = run_via_vulkan;
            else if (!strcmp(argv[i], "cpu")) *backend = run_cpu_jit;
            else if (!strcmp(argv[i], "cpu-artifact")) *backend = run_cpu_aot;
            else if (strcmp(argv[i], "ref")) {
                fprintf(stderr,
                        "onnx_node_runner: unknown backend '%s' (available: ref, ref-artifact, "
                        "cpu, cpu-artifact, vulkan)\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--claimed") && i + 1 < argc) {
            o->claimed_file = argv[++i];
        } else if (!strcmp(a, "--filter") && i + 1 < argc) {
            o->filter = argv[++i];
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose = o->verbose < 1 ? 1 : o->verbose;
        } else if (!strcmp(a, "-vv")) {
            o->verbose = 2;
        } else if (!strcmp(a, "--no-fail")) {
            o->no_fail = true;
        } else if (!strcmp(a, "--results")) {
            o->results = true;
        } else if (!strcmp(a, "--no-fork")) {
            o->fork = false;
        } else if (a[0] == '-') {
            return usage();
        } else {
            o->dir = a;
        }
    }
    return -1;
}

/* The test folders (test_*), sorted. */
static bool list_tests(const char *dir, const char *filter, strset *tests) {
    DIR *d = opendir(dir);
    if (!d) return false;
    for (struct dirent *e; (e = readdir(d));)
        if (!strncmp(e->d_name, "test_", 5) && (!filter || strstr(e->d_name, filter)))
            set_add(tests, e->d_name);
    closedir(d);
    qsort(tests->items, (size_t)tests->n, sizeof *tests->items, cmp_str);
    return true;
}

int main(int argc, char **argv) {
    options o = {0};
    backend_fn backend;
    int rc = parse_args(argc, argv, &o, &backend);
    if (rc >= 0) return rc;
    strset tests = {0}, claimed = {0}, excused = {0};
    if (o.claimed_file && !load_claimed(o.claimed_file, &claimed, &excused)) return 2;
    struct stat sb;
    if (stat(o.dir, &sb) != 0 && errno == ENOENT) {
        printf("skipped: %s does not exist (install libonnx-testdata: scripts/setup.sh)\n", o.dir);
        set_free(&claimed);
        set_free(&excused);
        return 77;
    }
    if (!list_tests(o.dir, o.filter, &tests)) {
        fprintf(stderr, "onnx_node_runner: cannot read %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    if (backend == run_via_vulkan && !device_opens("vulkan")) {
        set_free(&tests);
        set_free(&claimed);
        set_free(&excused);
        return 77;
    }
    printf("ONNX node tests in %s on backend %s: %d tests\n", o.dir, backend_name, tests.n);
    table tab = {0};
    int totals[3] = {0}, bound = 0, claimed_tests = 0, claimed_bad = 0, n_excused = 0;
    for (int t = 0; t < tests.n; t++) {
        char dir[PATH_CAP];
        snprintf(dir, sizeof dir, "%s/%s", o.dir, tests.items[t]);
        strset ops = {0};
        result r;
        if (!model_ops(dir, &ops)) {
            memset(&r, 0, sizeof r);
            set_result(&r, R_FAIL, "%s", "cannot read model.onnx");
        } else {
            run_isolated(dir, backend, o.fork, &r);
        }
        char key[1000] = "";
        size_t at = 0;
        for (int i = 0; i < ops.n && at < sizeof key; i++)
            at += (size_t)snprintf(key + at, sizeof key - at, "%s%s", i ? "+" : "", ops.items[i]);
        if (!ops.n) snprintf(key, sizeof key, "(no ops)");
        bool is_claimed = o.claimed_file && ops.n > 0;
        for (int i = 0; is_claimed && i < ops.n; i++) is_claimed = set_has(&claimed, ops.items[i]);
        table_add(&tab, key, r.cls);
        totals[r.cls]++;
        bound += r.cls == R_PASS && r.bound;
        if (is_claimed && r.cls == R_UNSUPPORTED && set_has(&excused, tests.items[t])) {
            n_excused++;
        } else if (is_claimed) {
            claimed_tests++;
            if (r.cls != R_PASS) {
                claimed_bad++;
                printf("CLAIMED BUT %s: %s [%s]: %s\n",
                       r.cls == R_FAIL ? "FAILED" : "UNSUPPORTED", tests.items[t], key, r.why);
            }
        }
        if (is_claimed && r.cls == R_PASS && set_has(&excused, tests.items[t]))
            printf("NOTE: %s passes now; drop its '!' line from %s\n", tests.items[t],
                   o.claimed_file);
        static const char *const cls_name[] = {"pass", "fail", "unsupported"};
        if (o.results)
            printf("RESULT %s%s %s %s %s\n", cls_name[r.cls], r.bound ? "(bound)" : "",
                   tests.items[t], key, r.why);
        if ((r.cls == R_FAIL && o.verbose >= 1) || (r.cls == R_UNSUPPORTED && o.verbose >= 2))
            printf("%s %s [%s]: %s\n", r.cls == R_FAIL ? "FAIL" : "UNSUPPORTED", tests.items[t],
                   key, r.why);
        set_free(&ops);
    }
    table_print(&tab);
    printf("total: %d tests: %d pass (%d of them with inputs bound as constants), %d fail, "
           "%d unsupported\n", tests.n, totals[R_PASS], bound, totals[R_FAIL],
           totals[R_UNSUPPORTED]);
    if (o.claimed_file)
        printf("claimed ops (%d in %s): %d tests, %d did not pass (%d excused as unsupported)\n",
               claimed.n, o.claimed_file, claimed_tests, claimed_bad, n_excused);
    printf("unsupported: %d\n", totals[R_UNSUPPORTED]);
    printf("%d passed, %d failed\n", totals[R_PASS], totals[R_FAIL]);
    table_free(&tab);
    set_free(&tests);
    set_free(&claimed);
    set_free(&excused);
    if (o.claimed_file && claimed_bad) return 1;
    return o.no_fail && totals[R_FAIL] ? 1 : 0;
}
