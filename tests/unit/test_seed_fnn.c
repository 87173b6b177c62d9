/* test_seed_fnn.c — the quickstart's example model (examples/models, made by
 * gen_seed_fnn.py) on the ref interpreter must match numpy's float64 forward
 * pass within rel 1e-5: parse, verify, run the 1000-row input, compare; then
 * run a 1-row slice to check the symbolic batch binds to another size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "tools/npy.h"

#define DIR "examples/models"
#define RTOL 1e-5
#define ATOL 1e-6

/* Compares the first `rows` rows of f32 [*,1] tensors; returns mismatches. */
static int compare_rows(const qc_tensor *got, const qc_tensor *want, int64_t rows) {
    const float *g = got->data, *w = want->data;
    int bad = 0;
    for (int64_t i = 0; i < rows; i++) {
        double err = fabs((double)g[i] - (double)w[i]);
        if (!(err <= ATOL + RTOL * fabs((double)w[i]))) {
            if (bad++ < 5)
                fprintf(stderr, "row %lld: got %.9g, expected %.9g\n", (long long)i, g[i], w[i]);
        }
    }
    return bad;
}

int main(void) {
    qc_graph *g = NULL;
    qc_tensor x = {0}, want = {0}, y = {0}, x1 = {0}, y1 = {0};
    CHECK_OK(qc_graph_parse_file(DIR "/seed_fnn.qcir", &g));
    CHECK_OK(qc_npy_read(DIR "/seed_fnn_input.npy", &x));
    CHECK_OK(qc_npy_read(DIR "/seed_fnn_expected.npy", &want));
    if (!g || !x.data || !want.data) goto done;
    CHECK_OK(qc_graph_verify(g));
    CHECK(g->n_inputs == 1 && g->n_outputs == 1 && g->n_nodes == 12);
    CHECK(x.desc.dtype == QC_F32 && x.desc.rank == 2 && x.desc.dims[0] == 1000 &&
          x.desc.dims[1] == 200);
    CHECK(want.desc.dtype == QC_F32 && want.desc.rank == 2 && want.desc.dims[0] == 1000 &&
          want.desc.dims[1] == 1);

    qc_status st = qc_ref_run(g, &x, 1, &y, 1);
    CHECK_MSG(!st, "qc_ref_run: %s", qc_status_message(st));
    qc_status_free(st);
    if (!st) {
        CHECK(y.desc.dtype == QC_F32 && y.desc.rank == 2 && y.desc.dims[0] == 1000 &&
              y.desc.dims[1] == 1);
        int bad = compare_rows(&y, &want, 1000);
        CHECK_MSG(bad == 0, "%d of 1000 outputs outside rel %g of numpy", bad, RTOL);
    }

    /* Batch 1: row 17 alone gives the same answer as within the batch. */
    qc_tensor_desc d1 = {QC_F32, 2, {1, 200}};
    CHECK_OK(qc_tensor_alloc(&d1, &x1));
    if (x1.data) {
        memcpy(x1.data, (const float *)x.data + 17 * 200, 200 * sizeof(float));
        st = qc_ref_run(g, &x1, 1, &y1, 1);
        CHECK_MSG(!st, "qc_ref_run batch 1: %s", qc_status_message(st));
        qc_status_free(st);
        if (!st) {
            qc_tensor row = {want.desc, (float *)want.data + 17};
            CHECK(y1.desc.dims[0] == 1 && compare_rows(&y1, &row, 1) == 0);
        }
    }
done:
    qc_tensor_release(&x);
    qc_tensor_release(&x1);
    qc_tensor_release(&y);
    qc_tensor_release(&y1);
    qc_tensor_release(&want);
    qc_graph_destroy(g);
    return qc_test_summary("test_seed_fnn");
}
