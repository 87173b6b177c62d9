/* example_io.h — shared by the examples: deterministic inputs for a model
 * (so the JIT and AOT programs can be compared run for run) and printing of
 * outputs. Uses only the runtime API (qcrt.h). */
#ifndef QC_EXAMPLES_EXAMPLE_IO_H
#define QC_EXAMPLES_EXAMPLE_IO_H

#include <stdio.h>
#include <string.h>

#include "qcomp/qcrt.h"

static size_t example_numel(const qc_tensor_desc *d) {
    size_t n = 1;
    for (int32_t k = 0; k < d->rank; k++) n *= (size_t)d->dims[k];
    return n;
}

/* Allocates input i of m with `batch` for the symbolic dim and fills it with
 * a fixed pattern: floats in [-1, 1), integers in [0, 10]. */
static qc_status example_fill_input(const qc_model *m, int32_t i, int64_t batch, qc_tensor *t) {
    qc_tensor_desc d = *qc_model_input_desc(m, i);
    for (int32_t k = 0; k < d.rank; k++)
        if (d.dims[k] == QC_DIM_SYM) d.dims[k] = batch;
    qc_status st = qc_tensor_alloc(&d, t);
    if (st) return st;
    size_t n = example_numel(&d);
    for (size_t j = 0; j < n; j++) {
        int v = (int)((j * 37 + (size_t)i * 11) % 101);
        switch (d.dtype) {
        case QC_F32: ((float *)t->data)[j] = (float)v / 50.0f - 1.0f; break;
        case QC_F64: ((double *)t->data)[j] = v / 50.0 - 1.0; break;
        case QC_I64: ((int64_t *)t->data)[j] = v % 11; break;
        case QC_I32: ((int32_t *)t->data)[j] = v % 11; break;
        case QC_I8: ((int8_t *)t->data)[j] = (int8_t)(v % 11); break;
        case QC_U8: ((uint8_t *)t->data)[j] = (uint8_t)(v % 11); break;
        default: break;   /* other types stay zero */
        }
    }
    return NULL;
}

/* "name: f32[2,1] = 0.5 0.25 ..." with up to `max` values, exactly (%.9g). */
static void example_print(const char *name, const qc_tensor *t, size_t max) {
    printf("%s: dtype %d [", name, (int)t->desc.dtype);
    for (int32_t k = 0; k < t->desc.rank; k++)
        printf("%s%lld", k ? "," : "", (long long)t->desc.dims[k]);
    printf("] =");
    size_t n = example_numel(&t->desc);
    for (size_t j = 0; j < n && j < max; j++) {
        switch (t->desc.dtype) {
        case QC_F32: printf(" %.9g", ((const float *)t->data)[j]); break;
        case QC_F64: printf(" %.17g", ((const double *)t->data)[j]); break;
        case QC_I64: printf(" %lld", (long long)((const int64_t *)t->data)[j]); break;
        case QC_I32: printf(" %d", ((const int32_t *)t->data)[j]); break;
        case QC_I8: printf(" %d", ((const int8_t *)t->data)[j]); break;
        case QC_U8: case QC_BOOL: printf(" %u", ((const uint8_t *)t->data)[j]); break;
        default: printf(" ?"); break;
        }
    }
    printf("%s\n", n > max ? " ..." : "");
}

/* Runs m once on the pattern inputs and prints every output. */
static qc_status example_run(qc_model *m, int64_t batch) {
    int32_t ni = qc_model_input_count(m), no = qc_model_output_count(m);
    qc_tensor in[16], out[16];
    if (ni > 16 || no > 16) return qc_error(QC_ERR_UNSUPPORTED, "example: too many inputs/outputs");
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);   /* data == NULL: the runtime allocates outputs */
    qc_session_options so;
    qc_session_options_init(&so);
    qc_session *s = NULL;
    qc_status st = qc_session_create(m, &so, &s);
    for (int32_t i = 0; i < ni && !st; i++) st = example_fill_input(m, i, batch, &in[i]);
    if (!st) st = qc_session_run(s, in, ni, out, no);
    for (int32_t i = 0; i < no && !st; i++) example_print(qc_model_output_name(m, i), &out[i], 16);
    for (int32_t i = 0; i < no; i++) qc_tensor_release(&out[i]);
    for (int32_t i = 0; i < ni; i++) qc_tensor_release(&in[i]);
    qc_session_destroy(s);
    return st;
}

#endif
