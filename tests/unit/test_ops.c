/* test_ops.c — runs every case under tests/ops/cases on the ref interpreter.
 *
 * A case is a folder with model.qcir, input_<i>.npy for each graph input and
 * output_<i>.npy for each graph output, all produced by the committed numpy
 * generators (tests/ops/gen_*.py) so this test needs no python. Optional
 * files: `tol` ("rtol atol" for float outputs; default 1e-5 1e-6) and
 * `expect_error` (the case must fail, with this text in the message).
 * Integer outputs must match exactly. argv[1], if given, filters case names. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "qc_test.h"
#include "tools/compare.h"
#include "tools/npy.h"

#define CASES_DIR "tests/ops/cases"

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 4096);
    if (buf && fread(buf, 1, 4095, f) == 0) buf[0] = 0;
    fclose(f);
    if (buf) buf[strcspn(buf, "\r\n")] = 0;
    return buf;
}

/* Runs one case; returns 1 on pass. */
static int run_case(const char *dir) {
    char path[2048], why[512] = "";   /* dir is < 1024 bytes */
    qc_graph *g = NULL;
    qc_tensor in[16] = {0}, out[16] = {0};
    int n_in = 0, ok = 0;
    snprintf(path, sizeof path, "%s/expect_error", dir);
    char *expect_error = read_text(path);
    snprintf(path, sizeof path, "%s/tol", dir);
    char *tol = read_text(path);
    double rtol = 1e-5, atol = 1e-6;
    if (tol) sscanf(tol, "%lf %lf", &rtol, &atol);

    snprintf(path, sizeof path, "%s/model.qcir", dir);
    qc_status st = qc_graph_parse_file(path, &g);
    if (!st) st = qc_graph_verify(g);
    if (!st && (g->n_inputs > 16 || g->n_outputs > 16))
        st = qc_error(QC_ERR_INVALID, "case has too many inputs/outputs");
    for (int i = 0; !st && i < g->n_inputs; i++, n_in++) {
        snprintf(path, sizeof path, "%s/input_%d.npy", dir, i);
        st = qc_npy_read(path, &in[i]);
    }
    if (!st) st = qc_ref_run(g, in, n_in, out, g->n_outputs);
    if (expect_error) {
        ok = st && strstr(qc_status_message(st), expect_error) != NULL;
        snprintf(why, sizeof why, "expected an error containing '%s', got '%s'", expect_error,
                 st ? qc_status_message(st) : "success");
        if (!st)
            for (int i = 0; i < g->n_outputs; i++) qc_tensor_release(&out[i]);
    } else if (st) {
        snprintf(why, sizeof why, "%s", qc_status_message(st));
    } else {
        ok = 1;
        for (int i = 0; i < g->n_outputs; i++) {
            qc_tensor want;
            snprintf(path, sizeof path, "%s/output_%d.npy", dir, i);
            qc_status rs = qc_npy_read(path, &want);
            if (rs) {
                snprintf(why, sizeof why, "%s", qc_status_message(rs));
                qc_status_free(rs);
                ok = 0;
            } else {
                qc_compare_report rep;
                qc_tensor_compare(&out[i], &want, rtol, atol, &rep);
                if (ok && !rep.match) {
                    snprintf(why, sizeof why, "output %d: %s (%lld mismatches)", i, rep.why,
                             (long long)rep.mismatches);
                    ok = 0;
                }
                qc_tensor_release(&want);
            }
            qc_tensor_release(&out[i]);
        }
    }
    qc_status_free(st);
    for (int i = 0; i < n_in; i++) qc_tensor_release(&in[i]);
    qc_graph_destroy(g);
    free(expect_error);
    free(tol);
    if (!ok) fprintf(stderr, "FAIL %s: %s\n", dir, why);
    return ok;
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    DIR *d = opendir(CASES_DIR);
    if (!d) {
        fprintf(stderr, "cannot open %s (run from the source root)\n", CASES_DIR);
        return 1;
    }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (filter && !strstr(e->d_name, filter)) continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (names) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", CASES_DIR, names[i]);
        CHECK_MSG(run_case(dir), "case %s", names[i]);
        free(names[i]);
    }
    free(names);
    CHECK_MSG(n > 0 || filter, "no op cases found under %s", CASES_DIR);
    return qc_test_summary("ops");
}
