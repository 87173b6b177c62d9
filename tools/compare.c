/* compare.c — see compare.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/ir.h"
#include "tools/compare.h"

static bool same_shape(const qc_tensor_desc *a, const qc_tensor_desc *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

void qc_tensor_compare(const qc_tensor *got, const qc_tensor *want, double rtol, double atol,
                       qc_compare_report *r) {
    memset(r, 0, sizeof *r);
    r->first_bad = -1;
    if (got->desc.dtype != want->desc.dtype || !same_shape(&got->desc, &want->desc)) {
        char a[160], b[160];
        qc_type_format(&got->desc, NULL, a, sizeof a);
        qc_type_format(&want->desc, NULL, b, sizeof b);
        snprintf(r->why, sizeof r->why, "got %s, expected %s", a, b);
        return;
    }
    qc_dtype t = got->desc.dtype;
    int64_t numel = qc_type_numel(&got->desc);
    double err2 = 0.0, ref2 = 0.0;
    for (int64_t i = 0; i < numel; i++) {
        bool ok;
        double g, w;
        if (qc_dtype_is_float(t)) {
            g = qc_elem_get_f64(t, got->data, i);
            w = qc_elem_get_f64(t, want->data, i);
            if (isnan(g) || isnan(w)) ok = isnan(g) && isnan(w);
            else if (isinf(g) || isinf(w)) ok = g == w;
            else {
                double d = fabs(g - w);
                ok = d <= atol + rtol * fabs(w);
                if (d > r->max_abs_err) r->max_abs_err = d;
                if (w != 0.0 && d / fabs(w) > r->max_rel_err) r->max_rel_err = d / fabs(w);
                err2 += d * d;
                ref2 += w * w;
            }
        } else {
            int64_t gi = qc_elem_get_i64(t, got->data, i), wi = qc_elem_get_i64(t, want->data, i);
            ok = gi == wi;
            g = (double)gi;
            w = (double)wi;
            double d = fabs(g - w);
            if (d > r->max_abs_err) r->max_abs_err = d;
            err2 += d * d;
            ref2 += w * w;
        }
        if (!ok) {
            if (r->first_bad < 0) {
                r->first_bad = i;
                snprintf(r->why, sizeof r->why, "element %lld is %.9g, expected %.9g",
                         (long long)i, g, w);
            }
            r->mismatches++;
        }
    }
    r->rel_l2_err = ref2 > 0.0 ? sqrt(err2 / ref2) : sqrt(err2);
    r->match = r->mismatches == 0;
}
