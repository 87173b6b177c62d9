/* compare.h — elementwise tensor comparison with ONNX-style tolerances
 * (|got - want| <= atol + rtol * |want| for floats; integers exact; NaN
 * matches NaN, inf matches the same inf). Shared by the CLI's `compare`
 * command and the tests. */
#ifndef QC_TOOLS_COMPARE_H
#define QC_TOOLS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "qcomp/qcrt.h"

typedef struct qc_compare_report {
    bool match;             /* same dtype and shape, every element within tolerance */
    int64_t mismatches;     /* elements outside tolerance */
    int64_t first_bad;      /* index of the first one, or -1 */
    double max_abs_err;     /* over finite pairs */
    double max_rel_err;     /* |got-want| / |want| where want != 0 */
    double rel_l2_err;      /* ||got-want|| / ||want|| (0 when want is all zero) */
    char why[400];          /* human-readable reason when !match */
} qc_compare_report;

void qc_tensor_compare(const qc_tensor *got, const qc_tensor *want, double rtol, double atol,
                       qc_compare_report *r);

#endif
