/* test_public_api.c — the public headers agree with the internal ones (a
 * mismatch between qcomp.h and ir/ir.h or backends/ref/ref.h is a compile
 * error here), and status values behave as documented. */
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "qcomp/qcomp.h"

int main(void) {
    CHECK(qc_status_code(NULL) == QC_OK);
    CHECK(strcmp(qc_status_message(NULL), "") == 0);
    qc_status st = qc_error(QC_ERR_INVALID, "value '%s' is %d", "x", 3);
    CHECK(qc_status_code(st) == QC_ERR_INVALID);
    CHECK(strcmp(qc_status_message(st), "value 'x' is 3") == 0);
    st = qc_status_wrap(st, "while loading %s", "m.qcir");
    CHECK(strcmp(qc_status_message(st), "while loading m.qcir: value 'x' is 3") == 0);
    CHECK(qc_status_code(st) == QC_ERR_INVALID);
    qc_status_free(st);
    CHECK(qc_status_wrap(NULL, "nothing") == NULL);
    qc_status_free(NULL);
    CHECK(strcmp(qc_code_name(QC_ERR_PARSE), "parse error") == 0);

    qc_tensor t;
    qc_tensor_desc bad = {.dtype = QC_F32, .rank = 1, .dims = {QC_DIM_SYM}};
    st = qc_tensor_alloc(&bad, &t);
    CHECK(st && strstr(qc_status_message(st), "dim 0"));
    qc_status_free(st);
    qc_tensor_desc ok = {.dtype = QC_I4, .rank = 1, .dims = {5}};
    CHECK_OK(qc_tensor_alloc(&ok, &t));
    qc_tensor_release(&t);
    CHECK(t.data == NULL);
    return qc_test_summary("public_api");
}
