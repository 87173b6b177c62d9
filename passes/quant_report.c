/* quant_report.c — what quantization cost: per-layer SQNR / relative error
 * (float vs quantized graph on the same calibration batch, layer outputs
 * matched by name), top-1 accuracy, sizes; printed as a table and as JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "ir/json_out.h"
#include "passes/quantize.h"

/* Float pass: keep copies of the layer outputs. Quantized pass: compare. */
typedef struct measure {
    qc_quant_report *rep;
    float **ref;          /* per layer: float output (copy), or NULL */
    int64_t *n;
    bool compare;
} measure;

static int32_t layer_of(const qc_quant_report *r, const char *name) {
    for (int32_t i = 0; i < r->n_layers; i++)
        if (!strcmp(r->layers[i].output, name)) return i;
    return -1;
}

static qc_status measure_obs(void *user, const qc_graph *g, int32_t id, const qc_tensor *t) {
    measure *m = user;
    if (!qc_dtype_is_float(t->desc.dtype)) return NULL;
    int32_t l = layer_of(m->rep, g->values[id].name);
    if (l < 0) return NULL;
    int64_t n = qc_type_numel(&t->desc);
    if (!m->compare && t->desc.dtype != QC_F32) return NULL;
    if (!m->compare) {
        free(m->ref[l]);
        m->ref[l] = malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (!m->ref[l]) return qc_error(QC_ERR_NOMEM, "out of memory measuring layers");
        memcpy(m->ref[l], t->data, sizeof(float) * (size_t)n);
        m->n[l] = n;
        return NULL;
    }
    if (!m->ref[l] || m->n[l] != n) return NULL;
    double sig = 0.0, err = 0.0;
    for (int64_t i = 0; i < n; i++) {
        /* fp16/bf16 graphs: their half values compare as read */
        double r = m->ref[l][i], d = qc_elem_get_f64(t->desc.dtype, t->data, i) - r;
        sig += r * r;
        err += d * d;
    }
    qc_quant_layer *L = &m->rep->layers[l];
    L->rel_err = sig > 0.0 ? sqrt(err / sig) : (err > 0.0 ? INFINITY : 0.0);
    L->sqnr_db = err > 0.0 ? 10.0 * log10(sig / err) : INFINITY;
    return NULL;
}

qc_status qc_quant_measure_layers(const qc_graph *fp, const qc_graph *q, const qc_tensor *inputs,
                                  int32_t n_inputs, qc_quant_report *rep) {
    int32_t nl = rep->n_layers;
    measure m = {rep, calloc((size_t)nl + 1, sizeof(float *)), calloc((size_t)nl + 1, sizeof(int64_t)),
                 false};
    qc_status st = (!m.ref || !m.n) ? qc_error(QC_ERR_NOMEM, "out of memory") : NULL;
    if (!st) st = qc_ref_run_observed(fp, inputs, n_inputs, NULL, 0, measure_obs, &m);
    m.compare = true;
    if (!st) st = qc_ref_run_observed(q, inputs, n_inputs, NULL, 0, measure_obs, &m);
    for (int32_t i = 0; m.ref && i < nl; i++) free(m.ref[i]);
    free(m.ref);
    free(m.n);
    return st;
}

static qc_status run_rows(const qc_graph *g, const qc_tensor *x, int64_t r, int64_t k,
                          qc_tensor *out) {
    qc_tensor part = *x;
    int64_t row = qc_type_numel(&x->desc) / x->desc.dims[0];
    part.desc.dims[0] = k;
    part.data = (char *)x->data + qc_dtype_bytes(x->desc.dtype, row * r);
    int32_t no = g->n_outputs;
    qc_tensor outs[16];
    if (no < 1 || no > 16) return qc_error(QC_ERR_UNSUPPORTED, "graph has %d outputs", (int)no);
    qc_status st = qc_ref_run(g, &part, 1, outs, no);
    if (st) return st;
    *out = outs[0];
    for (int32_t i = 1; i < no; i++) qc_tensor_release(&outs[i]);
    return NULL;
}

qc_status qc_quant_accuracy(const qc_graph *g, const qc_tensor *x, const qc_tensor *labels,
                            double *acc) {
    if (g->n_inputs != 1)
        return qc_error(QC_ERR_UNSUPPORTED, "accuracy needs a model with one input (it has %d)",
                        (int)g->n_inputs);
    int64_t rows = x->desc.rank ? x->desc.dims[0] : 0;
    if (rows <= 0 || qc_type_numel(&labels->desc) != rows || !qc_dtype_is_int(labels->desc.dtype))
        return qc_error(QC_ERR_INVALID,
                        "labels must be integers, one per validation row (%lld rows, %lld labels)",
                        (long long)rows, (long long)qc_type_numel(&labels->desc));
    int64_t hit = 0;
    for (int64_t r = 0; r < rows; r += 64) {
        int64_t k = rows - r < 64 ? rows - r : 64;
        qc_tensor out;
        qc_status st = run_rows(g, x, r, k, &out);
        if (st) return st;
        int64_t classes = qc_type_numel(&out.desc) / k;
        for (int64_t i = 0; i < k; i++) {
            int64_t best = 0;
            for (int64_t c = 1; c < classes; c++)
                if (qc_elem_get_f64(out.desc.dtype, out.data, i * classes + c) >
                    qc_elem_get_f64(out.desc.dtype, out.data, i * classes + best))
                    best = c;
            hit += best == qc_elem_get_i64(labels->desc.dtype, labels->data, r + i);
        }
        qc_tensor_release(&out);
    }
    *acc = (double)hit / (double)rows;
    return NULL;
}

qc_status qc_quant_output_error(const qc_graph *fp, const qc_graph *q, const qc_tensor *inputs,
                                int32_t n_inputs, double *rel_err) {
    qc_tensor a[16], b[16];
    if (fp->n_outputs > 16 || q->n_outputs != fp->n_outputs)
        return qc_error(QC_ERR_INVALID, "graphs differ in outputs");
    qc_status st = qc_ref_run(fp, inputs, n_inputs, a, fp->n_outputs);
    if (st) return st;
    st = qc_ref_run(q, inputs, n_inputs, b, q->n_outputs);
    if (!st) {
        int64_t n = qc_type_numel(&a[0].desc);
        double sig = 0.0, err = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double r = qc_elem_get_f64(a[0].desc.dtype, a[0].data, i);
            double d = qc_elem_get_f64(b[0].desc.dtype, b[0].data, i) - r;
            sig += r * r;
            err += d * d;
        }
        *rel_err = sig > 0.0 ? sqrt(err / sig) : sqrt(err);
        for (int32_t i = 0; i < q->n_outputs; i++) qc_tensor_release(&b[i]);
    }
    for (int32_t i = 0; i < fp->n_outputs; i++) qc_tensor_release(&a[i]);
    return st;
}

void qc_quant_report_print(const qc_quant_report *r, FILE *f) {
    if (r->note[0]) fprintf(f, "note: %s\n", r->note);
    fprintf(f, "%-28s %-8s %-12s %-21s %-13s %9s %10s\n", "layer", "op", "scheme", "scale range",
            "zero range", "SQNR dB", "rel err");
    for (int32_t i = 0; i < r->n_layers; i++) {
        const qc_quant_layer *l = &r->layers[i];
        char sr[48] = "-", zr[32] = "-";
        if (l->scale_min <= l->scale_max)
            snprintf(sr, sizeof sr, "%.3g..%.3g", (double)l->scale_min, (double)l->scale_max);
        if (l->zero_min <= l->zero_max) snprintf(zr, sizeof zr, "%d..%d", l->zero_min, l->zero_max);
        char sq[32] = "-", re[32] = "-";   /* not measured (no single-input batch) */
        if (!isnan(l->sqnr_db)) snprintf(sq, sizeof sq, "%.2f", l->sqnr_db);
        if (!isnan(l->rel_err)) snprintf(re, sizeof re, "%.3g", l->rel_err);
        fprintf(f, "%-28s %-8s %-12s %-21s %-13s %9s %10s\n", l->node,
                qc_op_get_info(l->op)->name, qc_qscheme_name(l->scheme), sr, zr, sq, re);
    }
    fprintf(f, "constants: %lld -> %lld bytes (%.2fx smaller)\n", (long long)r->bytes_before,
            (long long)r->bytes_after,
            r->bytes_after ? (double)r->bytes_before / (double)r->bytes_after : 0.0);
    if (!isnan(r->output_rel_err))
        fprintf(f, "output relative L2 error vs float on %lld rows: %.3g\n",
                (long long)r->measured_rows, r->output_rel_err);
    if (!isnan(r->acc_before))
        fprintf(f, "top-1 accuracy on %lld samples: %.4f -> %.4f (%+.2f pp)\n",
                (long long)r->val_samples, r->acc_before, r->acc_after,
                100.0 * (r->acc_after - r->acc_before));
}



qc_status qc_quant_report_json(const qc_quant_report *r, FILE *f) {
    return qc_quant_report_json_ext(r, NULL, NULL, NULL, f);
}

qc_status qc_quant_report_json_ext(const qc_quant_report *r, const char *key,
                                   void (*extra)(const void *user, FILE *f), const void *user,
                                   FILE *f) {
    fputs("{\n  \"layers\": [", f);
    for (int32_t i = 0; i < r->n_layers; i++) {
        const qc_quant_layer *l = &r->layers[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        fputs("\"node\": ", f);
        qc_json_str(f, l->node);
        fputs(", \"output\": ", f);
        qc_json_str(f, l->output);
        fprintf(f, ", \"op\": \"%s\", \"scheme\": \"%s\", \"scale_min\": ", qc_op_get_info(l->op)->name,
                qc_qscheme_name(l->scheme));
        bool has = l->scale_min <= l->scale_max;
        qc_json_num(f, has ? l->scale_min : NAN);
        fputs(", \"scale_max\": ", f);
        qc_json_num(f, has ? l->scale_max : NAN);
        if (l->zero_min <= l->zero_max)
            fprintf(f, ", \"zero_min\": %d, \"zero_max\": %d", l->zero_min, l->zero_max);
        else
            fputs(", \"zero_min\": null, \"zero_max\": null", f);
        fputs(", \"sqnr_db\": ", f);
        qc_json_num(f, l->sqnr_db);
        fputs(", \"rel_err\": ", f);
        qc_json_num(f, l->rel_err);
        fputc('}', f);
    }
    fprintf(f, "\n  ],\n  \"bytes_before\": %lld,\n  \"bytes_after\": %lld,\n  \"size_ratio\": ",
            (long long)r->bytes_before, (long long)r->bytes_after);
    qc_json_num(f, r->bytes_after ? (double)r->bytes_before / (double)r->bytes_after : NAN);
    fputs(",\n  \"output_rel_err\": ", f);
    qc_json_num(f, r->output_rel_err);
    fprintf(f, ",\n  \"measured_rows\": %lld", (long long)r->measured_rows);
    fputs(",\n  \"accuracy_before\": ", f);
    qc_json_num(f, r->acc_before);
    fputs(",\n  \"accuracy_after\": ", f);
    qc_json_num(f, r->acc_after);
    fprintf(f, ",\n  \"val_samples\": %lld,\n  \"passthrough\": %s,\n  \"note\": ",
            (long long)r->val_samples, r->passthrough ? "true" : "false");
    qc_json_str(f, r->note);
    if (key && extra) {
        fputs(",\n  ", f);
        qc_json_str(f, key);
        fputs(": ", f);
        extra(user, f);
    }
    fputs("\n}\n", f);
    return ferror(f) ? qc_error(QC_ERR_IO, "writing the JSON report failed") : NULL;
}
