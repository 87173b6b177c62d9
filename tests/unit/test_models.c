/* test_models.c — the model suite (tests/models, made by gen_models.py) on
 * the ref interpreter: for each tests/models/<name>/ folder (and each folder
 * of $QC_LARGE_MODELS_DIR when set), import model.onnx with default options,
 * verify, run input_<i>.npy and compare with output_<i>.npy:
 *   - float outputs: relative L2 error <= meta.json's rel_l2_tol (1e-5 for
 *     models exported from torch; 0 = bit exact),
 *   - integer outputs: exact;
 * then rerun the first `second_batch` rows (meta.json, default 3; 0 = skip)
 * to prove the symbolic batch binds to another size, and, where meta.json
 * records an accuracy, classify <accuracy_data>/test_x.npy and check the
 * accuracy against test_y.npy within 0.5 percentage points.
 *
 * Usage (from the source root): test_models [NAME...]  runs only those.
 * QC_MODELS_NO_FOLD=1 imports with fold_constants off (for debugging). */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "tools/compare.h"
#include "tools/npy.h"

#define MODELS_DIR "tests/models"
#define MAX_IO 16
#define ACCURACY_PP 0.005

typedef struct model_meta {
    double rel_l2_tol;
    int64_t second_batch;
    bool has_accuracy;
    double accuracy;
    char accuracy_data[256];
} model_meta;

/* ---- small helpers -------------------------------------------------------- */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096) break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Finds `"key":` in a flat JSON text; returns the text after the colon. */
static const char *json_find(const char *json, const char *key) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    for (const char *p = strstr(json, pat); p; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
        if (*q == ':') {
            q++;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
            return q;
        }
    }
    return NULL;
}

static bool json_number(const char *json, const char *key, double *out) {
    const char *v = json_find(json, key);
    if (!v) return false;
    char *end;
    double d = strtod(v, &end);
    if (end == v) return false;
    *out = d;
    return true;
}

static bool json_string(const char *json, const char *key, char *out, size_t n) {
    const char *v = json_find(json, key);
    if (!v || *v != '"') return false;
    v++;
    const char *e = strchr(v, '"');
    if (!e || (size_t)(e - v) >= n) return false;
    memcpy(out, v, (size_t)(e - v));
    out[e - v] = '\0';
    return true;
}

static bool read_meta(const char *dir, model_meta *m) {
    memset(m, 0, sizeof *m);
    m->rel_l2_tol = 1e-5;
    m->second_batch = 3;
    char path[2048];   /* dir is shorter than 1024 bytes */
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *json = read_text(path);
    if (!json) return false;   /* defaults */
    double d;
    if (json_number(json, "rel_l2_tol", &d)) m->rel_l2_tol = d;
    if (json_number(json, "second_batch", &d)) m->second_batch = (int64_t)d;
    if (json_number(json, "accuracy", &d) || json_number(json, "fp32_accuracy", &d)) {
        m->has_accuracy = json_string(json, "accuracy_data", m->accuracy_data,
                                      sizeof m->accuracy_data);
        m->accuracy = d;
    }
    free(json);
    return true;
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of the folders of `root` holding a model.onnx. */
static int list_models(const char *root, char ***names_out) {
    *names_out = NULL;
    DIR *d = opendir(root);
    if (!d) return -1;
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/model.onnx", root, e->d_name);
        if (!file_exists(path)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (names[n]) n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *names_out = names;
    return n;
}

/* Reads <dir>/<prefix>_<i>.npy for i = 0, 1, ... until one is missing. */
static int read_npys(const char *dir, const char *prefix, qc_tensor *t, int max, char *err,
                     size_t errn) {
    int n = 0;
    for (; n < max; n++) {
        char path[1024];
        int len = snprintf(path, sizeof path, "%s/%s_%d.npy", dir, prefix, n);
        if (len < 0 || (size_t)len >= sizeof path || !file_exists(path)) break;
        qc_status st = qc_npy_read(path, &t[n]);
        if (st) {
            snprintf(err, errn, "%s", qc_status_message(st));
            qc_status_free(st);
            return -1;
        }
    }
    return n;
}

static void release_all(qc_tensor *t, int n) {
    for (int i = 0; i < n; i++) qc_tensor_release(&t[i]);
}

/* A fresh tensor holding the first `rows` rows (axis 0) of t. */
static qc_status first_rows(const qc_tensor *t, int64_t rows, qc_tensor *out) {
    qc_tensor_desc d = t->desc;
    d.dims[0] = rows;
    qc_status st = qc_tensor_alloc(&d, out);
    if (st) return st;
    int64_t numel = 1;
    for (int32_t i = 0; i < d.rank; i++) numel *= d.dims[i];
    memcpy(out->data, t->data, qc_dtype_bytes(d.dtype, numel));
    return NULL;
}

/* Compares each output; returns true when all pass. *worst receives the
 * largest float rel L2 error, *n_int (may be NULL) counts the integer outputs
 * (compared exactly); problems are described on stdout. */
static bool compare_outputs(const char *name, const char *what, const qc_tensor *got,
                            const qc_tensor *want, int n, double tol, double *worst, int *n_int) {
    bool ok = true;
    *worst = 0.0;
    for (int i = 0; i < n; i++) {
        qc_compare_report r;
        qc_tensor_compare(&got[i], &want[i], 0.0, 0.0, &r);
        bool same_type = got[i].desc.dtype == want[i].desc.dtype &&
                         got[i].desc.rank == want[i].desc.rank;
        for (int32_t k = 0; same_type && k < got[i].desc.rank; k++)
            same_type = got[i].desc.dims[k] == want[i].desc.dims[k];
        if (!same_type) {
            printf("  %s %s: output %d: %s\n", name, what, i, r.why);
            ok = false;
            continue;
        }
        if (qc_dtype_is_float(want[i].desc.dtype)) {
            if (r.rel_l2_err > *worst) *worst = r.rel_l2_err;
            bool pass = tol > 0.0 ? r.rel_l2_err <= tol && !isnan(r.rel_l2_err) : r.match;
            if (!pass) {
                /* describe the elements outside the same tolerance elementwise */
                qc_compare_report e;
                qc_tensor_compare(&got[i], &want[i], tol, 0.0, &e);
                printf("  %s %s: output %d: rel L2 error %.3g > %.3g (max abs %.3g; %lld "
                       "elements off by more than rel %.0e, first: %s)\n",
                       name, what, i, r.rel_l2_err, tol, r.max_abs_err, (long long)e.mismatches,
                       tol, e.why);
                ok = false;
            }
        } else if (n_int) {
            (*n_int)++;
            if (!r.match) {
                printf("  %s %s: integer output %d: %lld elements differ (max abs %.3g; first: "
                       "%s)\n", name, what, i, (long long)r.mismatches, r.max_abs_err, r.why);
                ok = false;
            }
        } else if (!r.match) {
            printf("  %s %s: integer output %d: %lld elements differ (max abs %.3g; first: %s)\n",
                   name, what, i, (long long)r.mismatches, r.max_abs_err, r.why);
            ok = false;
        }
    }
    return ok;
}

/* Top-1 accuracy of g (one input, output 0 = [N, classes] scores). */
static bool check_accuracy(const char *name, const qc_graph *g, const char *root,
                           const model_meta *m) {
    char px[1024], py[1024];
    snprintf(px, sizeof px, "%s/%s/test_x.npy", root, m->accuracy_data);
    snprintf(py, sizeof py, "%s/%s/test_y.npy", root, m->accuracy_data);
    qc_tensor x = {0}, y = {0}, out[MAX_IO];
    memset(out, 0, sizeof out);
    bool ok = false;
    qc_status st = qc_npy_read(px, &x);
    if (!st) st = qc_npy_read(py, &y);
    if (st) {
        printf("  %s accuracy: %s\n", name, qc_status_message(st));
        qc_status_free(st);
        goto done;
    }
    if (g->n_inputs != 1 || g->n_outputs > MAX_IO || y.desc.dtype != QC_I64 || y.desc.rank != 1 ||
        y.desc.dims[0] != x.desc.dims[0]) {
        printf("  %s accuracy: unexpected model or test data layout\n", name);
        goto done;
    }
    st = qc_ref_run(g, &x, 1, out, g->n_outputs);
    if (st) {
        printf("  %s accuracy: qc_ref_run: %s\n", name, qc_status_message(st));
        qc_status_free(st);
        goto done;
    }
    const qc_tensor *s = &out[0];
    if (s->desc.dtype != QC_F32 || s->desc.rank != 2 || s->desc.dims[0] != x.desc.dims[0]) {
        printf("  %s accuracy: output 0 is not f32 [N, classes]\n", name);
        goto done;
    }
    int64_t n = s->desc.dims[0], c = s->desc.dims[1], correct = 0;
    const float *sc = s->data;
    const int64_t *lab = y.data;
    for (int64_t i = 0; i < n; i++) {
        int64_t best = 0;
        for (int64_t j = 1; j < c; j++)
            if (sc[i * c + j] > sc[i * c + best]) best = j;
        correct += best == lab[i];
    }
    double acc = (double)correct / (double)n;
    ok = fabs(acc - m->accuracy) <= ACCURACY_PP + 1e-12;
    printf("  %s accuracy on %s/test_x: %.4f (%lld/%lld), recorded %.4f: %s\n", name,
           m->accuracy_data, acc, (long long)correct, (long long)n, m->accuracy,
           ok ? "ok" : "FAIL (differs by more than 0.5 pp)");
done:
    release_all(out, MAX_IO);
    qc_tensor_release(&x);
    qc_tensor_release(&y);
    return ok;
}

/* Runs one model folder; returns true when everything about it passes. */
static bool run_model(const char *root, const char *name) {
    char dir[1024], path[1100], err[512] = "";
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    model_meta m;
    read_meta(dir, &m);
    double t0 = now_s();

    qc_tensor in[MAX_IO], want[MAX_IO], got[MAX_IO], in2[MAX_IO], want2[MAX_IO], got2[MAX_IO];
    memset(in, 0, sizeof in);
    memset(want, 0, sizeof want);
    memset(got, 0, sizeof got);
    memset(in2, 0, sizeof in2);
    memset(want2, 0, sizeof want2);
    memset(got2, 0, sizeof got2);
    int n_in = 0, n_out = 0, n_int = 0;
    bool ok = false;
    double rel = 0.0, rel2 = -1.0;
    qc_graph *g = NULL;

    qc_onnx_options opts;
    qc_onnx_options_init(&opts);
    const char *nofold = getenv("QC_MODELS_NO_FOLD");   /* debugging: import unfolded */
    if (nofold && *nofold && strcmp(nofold, "0") != 0) opts.fold_constants = 0;
    qc_status st = qc_onnx_import_file(path, &opts, &g);
    if (st) {
        printf("%-24s  import failed: %s\n", name, qc_status_message(st));
        qc_status_free(st);
        goto done;
    }
    st = qc_graph_verify(g);
    if (st) {
        printf("%-24s  imported graph does not verify: %s\n", name, qc_status_message(st));
        qc_status_free(st);
        goto done;
    }
    n_in = read_npys(dir, "input", in, MAX_IO, err, sizeof err);
    n_out = n_in < 0 ? -1 : read_npys(dir, "output", want, MAX_IO, err, sizeof err);
    if (n_in < 0 || n_out < 0) {
        printf("%-24s  reading reference data: %s\n", name, err);
        goto done;
    }
    if (n_in != g->n_inputs || n_out != g->n_outputs) {
        printf("%-24s  graph has %d inputs / %d outputs, folder has %d / %d\n", name,
               (int)g->n_inputs, (int)g->n_outputs, n_in, n_out);
        goto done;
    }
    st = qc_ref_run(g, in, n_in, got, n_out);
    if (st) {
        printf("%-24s  %4d nodes  qc_ref_run failed: %s\n", name, (int)g->n_nodes,
               qc_status_message(st));
        qc_status_free(st);
        goto done;
    }
    ok = compare_outputs(name, "full batch", got, want, n_out, m.rel_l2_tol, &rel, &n_int);

    /* a second batch size: the first rows of every input and output */
    if (m.second_batch > 0) {
        bool can = true;
        for (int i = 0; i < n_in; i++)
            can = can && in[i].desc.rank > 0 && in[i].desc.dims[0] > m.second_batch;
        for (int i = 0; i < n_out; i++)
            can = can && want[i].desc.rank > 0 && want[i].desc.dims[0] > m.second_batch;
        if (!can) {
            printf("  %s: second batch %lld skipped (some input or output has no batch axis)\n",
                   name, (long long)m.second_batch);
        } else {
            for (int i = 0; !st && i < n_in; i++) st = first_rows(&in[i], m.second_batch, &in2[i]);
            for (int i = 0; !st && i < n_out; i++)
                st = first_rows(&want[i], m.second_batch, &want2[i]);
            if (!st) st = qc_ref_run(g, in2, n_in, got2, n_out);
            if (st) {
                printf("  %s batch %lld: %s\n", name, (long long)m.second_batch,
                       qc_status_message(st));
                qc_status_free(st);
                ok = false;
            } else {
                char what[64];
                snprintf(what, sizeof what, "batch %lld", (long long)m.second_batch);
                ok = compare_outputs(name, what, got2, want2, n_out, m.rel_l2_tol, &rel2, NULL) && ok;
            }
        }
    }
    if (m.has_accuracy) ok = check_accuracy(name, g, root, &m) && ok;

    printf("%-24s  %4d nodes  rel L2 %-9.3g", name, (int)g->n_nodes, rel);
    if (rel2 >= 0.0) printf("  batch %lld: %-9.3g", (long long)m.second_batch, rel2);
    else printf("  %-18s", "");
    printf("  (tol %.0e)", m.rel_l2_tol);
    if (n_int) printf("  +%d int output%s (exact)", n_int, n_int > 1 ? "s" : "");
    printf("  %.2fs  %s\n", now_s() - t0, ok ? "PASS" : "FAIL");
    fflush(stdout);
done:
    release_all(in, MAX_IO);
    release_all(want, MAX_IO);
    release_all(got, MAX_IO);
    release_all(in2, MAX_IO);
    release_all(want2, MAX_IO);
    release_all(got2, MAX_IO);
    qc_graph_destroy(g);
    return ok;
}

static bool selected(const char *name, int argc, char **argv) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return true;
    return false;
}

static void run_root(const char *root, int argc, char **argv) {
    char **names;
    int n = list_models(root, &names);
    if (n < 0) {
        printf("cannot read model folder %s\n", root);
        qc_test_failed++;
        return;
    }
    for (int i = 0; i < n; i++) {
        if (selected(names[i], argc, argv)) {
            if (run_model(root, names[i])) qc_test_passed++;
            else qc_test_failed++;
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv) {
    int before = qc_test_passed + qc_test_failed;
    run_root(MODELS_DIR, argc, argv);
    if (qc_test_passed + qc_test_failed == before && argc < 2) {
        printf("no models found under %s (run from the source root)\n", MODELS_DIR);
        qc_test_failed++;
    }
    const char *large = getenv("QC_LARGE_MODELS_DIR");
    if (large && *large)
        run_root(large, argc, argv);
    else
        printf("%-24s  skipped (set QC_LARGE_MODELS_DIR; make them with "
               "tests/models/gen_models.py --large DIR)\n", "resnet18, mobilenet_v2");
    return qc_test_summary("test_models");
}
