/* cli_compare.c — `qcomp compare GOT.npy WANT.npy [--rtol R] [--atol A]`:
 * compares two tensors (e.g. one backend's output with another's, or with a
 * framework's) and prints max abs/rel error, relative L2 error and the count
 * of elements outside tolerance. Exit 0 when they match, 1 when not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/compare.h"
#include "tools/npy.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp compare GOT.npy WANT.npy [--rtol R] [--atol A]\n"
            "  Elementwise |got-want| <= atol + rtol*|want| (defaults rtol 1e-3, atol 1e-7,\n"
            "  ONNX's test tolerances); integer tensors must match exactly.\n"
            "  Exit 0 if they match, 1 if not (or on error), 2 on usage errors.\n");
}

static int parse_double(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && *out >= 0.0;
}

int qc_cli_compare(int argc, char **argv) {
    const char *files[2] = {NULL, NULL};
    int nfiles = 0;
    double rtol = 1e-3, atol = 1e-7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return QC_EXIT_OK;
        }
        if ((!strcmp(argv[i], "--rtol") || !strcmp(argv[i], "--atol")) && i + 1 < argc) {
            double *dst = argv[i][2] == 'r' ? &rtol : &atol;
            if (!parse_double(argv[i + 1], dst)) {
                fprintf(stderr, "qcomp compare: %s needs a non-negative number, got '%s'\n",
                        argv[i], argv[i + 1]);
                return QC_EXIT_USAGE;
            }
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "qcomp compare: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return QC_EXIT_USAGE;
        } else if (nfiles < 2) {
            files[nfiles++] = argv[i];
        } else {
            usage(stderr);
            return QC_EXIT_USAGE;
        }
    }
    if (nfiles != 2) {
        usage(stderr);
        return QC_EXIT_USAGE;
    }
    qc_tensor got = {0}, want = {0};
    qc_status st = qc_npy_read(files[0], &got);
    if (!st) st = qc_npy_read(files[1], &want);
    if (st) {
        fprintf(stderr, "qcomp compare: %s\n", qc_status_message(st));
        qc_status_free(st);
        qc_tensor_release(&got);
        return QC_EXIT_ERROR;
    }
    qc_compare_report r;
    qc_tensor_compare(&got, &want, rtol, atol, &r);
    printf("max abs err %.3g, max rel err %.3g, rel L2 err %.3g, %lld outside tolerance "
           "(rtol %g, atol %g): %s\n",
           r.max_abs_err, r.max_rel_err, r.rel_l2_err, (long long)r.mismatches, rtol, atol,
           r.match ? "match" : "MISMATCH");
    if (!r.match) fprintf(stderr, "qcomp compare: %s vs %s: %s\n", files[0], files[1], r.why);
    qc_tensor_release(&got);
    qc_tensor_release(&want);
    return r.match ? QC_EXIT_OK : QC_EXIT_ERROR;
}
