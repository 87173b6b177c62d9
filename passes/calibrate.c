/* calibrate.c — streaming calibration statistics (see calibrate.h).
 *
 * Each observed f32 tensor keeps min/max plus a fixed-size histogram of |x|.
 * The histogram starts at the first batch's range and doubles its range by
 * merging bin pairs when larger values arrive, so memory is O(bins) per
 * tensor however much data flows through, and the merge is exact (no sample
 * is re-binned by guesswork). Thresholds are computed on |x| because the
 * weights and most activations we quantize symmetrically care about
 * magnitude; asymmetric ranges clip the signed min/max to [-T, T]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/dtype.h"
#include "backends/ref/ref.h"
#include "passes/calibrate.h"

qc_status qc_hist_init(qc_hist *h, int32_t nbins) {
    memset(h, 0, sizeof *h);
    if (nbins < 2 || nbins % 2)
        return qc_error(QC_ERR_INVALID, "histogram needs an even bin count >= 2, got %d", nbins);
    h->bins = calloc((size_t)nbins, sizeof *h->bins);
    if (!h->bins) return qc_error(QC_ERR_NOMEM, "out of memory for a calibration histogram");
    h->nbins = nbins;
    h->min = INFINITY;
    h->max = -INFINITY;
    return NULL;
}

void qc_hist_free(qc_hist *h) {
    free(h->bins);
    memset(h, 0, sizeof *h);
}

/* Doubles the range until amax fits: bins 2i and 2i+1 merge into bin i. */
static void hist_grow(qc_hist *h, double amax) {
    while (amax >= h->width * h->nbins) {
        int32_t half = h->nbins / 2;
        for (int32_t i = 0; i < half; i++) h->bins[i] = h->bins[2 * i] + h->bins[2 * i + 1];
        memset(h->bins + half, 0, sizeof *h->bins * (size_t)half);
        h->width *= 2.0;
    }
}

qc_status qc_hist_add(qc_hist *h, const float *x, int64_t n) {
    double amax = 0.0;
    float mn = h->min, mx = h->max;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v))
            return qc_error(QC_ERR_INVALID, "non-finite value %g at element %lld", (double)v,
                            (long long)i);
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        double a = fabs((double)v);
        if (a > amax) amax = a;
    }
    h->min = mn;
    h->max = mx;
    /* The first non-zero batch fixes the bin width, just above amax / nbins
     * so the largest value lands inside the last bin. */
    if (h->width == 0.0 && amax > 0.0) h->width = amax * (1.0 + 1e-6) / h->nbins;
    if (h->width > 0.0) hist_grow(h, amax);
    for (int64_t i = 0; i < n; i++) {
        int64_t b = h->width > 0.0 ? (int64_t)(fabs((double)x[i]) / h->width) : 0;
        if (b >= h->nbins) b = h->nbins - 1;
        h->bins[b]++;
    }
    h->count += (uint64_t)n;
    return NULL;
}

static float hist_amax(const qc_hist *h) {
    if (h->count == 0) return 0.0f;
    return fmaxf(fabsf(h->min), fabsf(h->max));
}

/* Last non-empty bin + 1: thresholds beyond it cannot matter. */
static int32_t hist_used(const qc_hist *h) {
    int32_t used = h->nbins;
    while (used > 1 && h->bins[used - 1] == 0) used--;
    return used;
}

static float thr_percentile(const qc_hist *h, double p) {
    double target = ceil(p / 100.0 * (double)h->count);
    uint64_t cum = 0;
    for (int32_t i = 0; i < h->nbins; i++) {
        if ((double)(cum + h->bins[i]) >= target) {
            /* Interpolate inside the bin: samples are taken as spread evenly. */
            double f = h->bins[i] ? (target - (double)cum) / (double)h->bins[i] : 1.0;
            return (float)fmin((i + f) * h->width, hist_amax(h));
        }
        cum += h->bins[i];
    }
    return hist_amax(h);
}

/* MXNet/TensorRT smoothing: zero entries get eps, taken from the non-zero
 * ones, so KL(P||Q) stays finite where Q has holes. Returns false when q is
 * all zeros. */
static bool smooth(double *q, int32_t n) {
    const double eps = 1e-4;
    int32_t nz = 0;
    for (int32_t i = 0; i < n; i++) nz += q[i] != 0.0;
    if (nz == 0) return false;
    double take = eps * (double)(n - nz) / nz;
    for (int32_t i = 0; i < n; i++) q[i] = q[i] != 0.0 ? q[i] - take : eps;
    return true;
}

/* TensorRT's entropy calibration: for each candidate threshold (bin i), P is
 * the histogram clipped at i (outliers folded into the last bin), Q is P
 * quantized to 128 levels and expanded back over the non-zero bins; the
 * threshold with the smallest KL(P||Q) wins. */
static float thr_entropy(const qc_hist *h) {
    const int32_t levels = 128;
    int32_t used = hist_used(h);
    if (used <= levels) return hist_amax(h);
    double *p = malloc(sizeof(double) * (size_t)used), *q = malloc(sizeof(double) * (size_t)used);
    if (!p || !q) {
        free(p);
        free(q);
        return hist_amax(h);
    }
    double best = INFINITY;
    int32_t best_i = used;
    double outliers = 0.0;
    for (int32_t i = used; i < h->nbins; i++) outliers += (double)h->bins[i];
    /* Walk candidates from the top so the outlier sum is updated in O(1). */
    double tail = outliers;
    for (int32_t i = used; i >= levels; i--) {
        if (i < used) tail += (double)h->bins[i];
        double psum = 0.0;
        for (int32_t k = 0; k < i; k++) p[k] = (double)h->bins[k];
        p[i - 1] += tail;
        for (int32_t k = 0; k < i; k++) psum += p[k];
        for (int32_t j = 0; j < levels; j++) {
            int32_t s = (int32_t)((int64_t)j * i / levels), e = (int32_t)((int64_t)(j + 1) * i / levels);
            double sum = 0.0;
            int32_t nz = 0;
            for (int32_t k = s; k < e; k++) {
                sum += (double)h->bins[k];
                nz += h->bins[k] != 0;
            }
            for (int32_t k = s; k < e; k++) q[k] = (h->bins[k] != 0 && nz) ? sum / nz : 0.0;
        }
        double qsum = 0.0;
        for (int32_t k = 0; k < i; k++) qsum += q[k];
        if (qsum <= 0.0 || psum <= 0.0) continue;
        for (int32_t k = 0; k < i; k++) {
            p[k] /= psum;
            q[k] /= qsum;
        }
        if (!smooth(q, i)) continue;
        double kl = 0.0;
        for (int32_t k = 0; k < i; k++)
            if (p[k] > 0.0) kl += p[k] * log(p[k] / q[k]);
        if (kl < best) {
            best = kl;
            best_i = i;
        }
    }
    free(p);
    free(q);
    return (float)fmin(best_i * h->width, hist_amax(h));
}

/* Threshold minimizing the expected squared error of symmetric uniform
 * quantization with `levels` positive steps: values beyond T cost their
 * clipping distance squared, values inside cost the rounding noise step²/12
 * (uniform-error model, exact enough at histogram resolution). */
static float thr_mse(const qc_hist *h, int levels) {
    int32_t used = hist_used(h);
    double best = INFINITY;
    int32_t best_i = used;
    for (int32_t i = 1; i <= used; i++) {
        double t = i * h->width, step = t / levels, err = 0.0;
        for (int32_t b = 0; b < used; b++) {
            if (!h->bins[b]) continue;
            double c = (b + 0.5) * h->width;
            double e = c > t ? (c - t) * (c - t) : step * step / 12.0;
            err += (double)h->bins[b] * e;
        }
        if (err < best) {
            best = err;
            best_i = i;
        }
    }
    return (float)fmin(best_i * h->width, hist_amax(h));
}

float qc_hist_threshold(const qc_hist *h, qc_calib_method m, double percentile, int levels) {
    if (h->count == 0 || h->width == 0.0) return hist_amax(h);
    switch (m) {
    case QC_CALIB_PERCENTILE: return thr_percentile(h, percentile);
    case QC_CALIB_ENTROPY: return thr_entropy(h);
    case QC_CALIB_MSE: return thr_mse(h, levels > 0 ? levels : 127);
    default: return hist_amax(h);
    }
}

/* ---- per-graph statistics ------------------------------------------------ */

qc_status qc_calib_create(const qc_graph *g, qc_calib **out) {
    *out = NULL;
    qc_calib *c = calloc(1, sizeof *c);
    if (c) c->hist = calloc((size_t)g->n_values + 1, sizeof *c->hist);
    if (!c || !c->hist) {
        free(c);
        return qc_error(QC_ERR_NOMEM, "out of memory for calibration statistics");
    }
    c->g = g;
    c->n_values = g->n_values;
    *out = c;
    return NULL;
}

void qc_calib_destroy(qc_calib *c) {
    if (!c) return;
    for (int32_t i = 0; i < c->n_values; i++) qc_hist_free(&c->hist[i]);
    free(c->hist);
    free(c);
}

qc_status qc_calib_check_input(const qc_graph *g, int32_t idx, const qc_tensor *t,
                               const char *source) {
    const qc_value *v = &g->values[g->inputs[idx]];
    char want[160], got[160];
    qc_type_format(&v->type, g->batch, want, sizeof want);
    qc_type_format(&t->desc, NULL, got, sizeof got);
    bool ok = t->desc.dtype == v->type.dtype && t->desc.rank == v->type.rank;
    for (int32_t k = 0; ok && k < t->desc.rank; k++)
        ok = v->type.dims[k] == QC_DIM_SYM || v->type.dims[k] == t->desc.dims[k];
    if (!ok)
        return qc_error(QC_ERR_INVALID,
                        "calibration data '%s' for input '%s' is %s, the model wants %s", source,
                        v->name, got, want);
    int64_t n = qc_type_numel(&t->desc);
    if (n <= 0 || t->desc.rank == 0 || t->desc.dims[0] == 0)
        return qc_error(QC_ERR_INVALID, "calibration data '%s' for input '%s' is empty (%s)",
                        source, v->name, got);
    if (t->desc.dtype == QC_F32) {
        const float *x = t->data;
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(x[i]))
                return qc_error(QC_ERR_INVALID,
                                "calibration data '%s' for input '%s' holds a non-finite value "
                                "(%g at flat index %lld)",
                                source, v->name, (double)x[i], (long long)i);
    }
    return NULL;
}

static qc_status observe_value(void *user, const qc_graph *g, int32_t id, const qc_tensor *t) {
    qc_calib *c = user;
    if (t->desc.dtype != QC_F32 || id < 0 || id >= c->n_values) return NULL;
    qc_hist *h = &c->hist[id];
    if (!h->bins) {
        qc_status st = qc_hist_init(h, QC_CALIB_BINS);
        if (st) return st;
    }
    int64_t n = qc_type_numel(&t->desc);
    return qc_status_wrap(qc_hist_add(h, t->data, n), "calibration: tensor '%s'",
                          g->values[id].name);
}

qc_status qc_calib_add_batch(qc_calib *c, const qc_tensor *inputs, int32_t n_inputs) {
    qc_status st = qc_ref_run_observed(c->g, inputs, n_inputs, NULL, 0, observe_value, c);
    if (st) return qc_status_wrap(st, "calibration batch %lld", (long long)c->batches + 1);
    c->batches++;
    c->samples += n_inputs ? inputs[0].desc.dims[0] : 0;
    if (c->progress) fprintf(stderr, "\rcalibrating: %lld samples", (long long)c->samples);
    return NULL;
}

qc_status qc_calib_add_rows(qc_calib *c, const qc_tensor *inputs, int32_t n_inputs,
                            int64_t batch) {
    if (n_inputs <= 0 || n_inputs > 64)
        return qc_error(QC_ERR_INVALID, "calibration needs 1..64 inputs, got %d", (int)n_inputs);
    int64_t rows = inputs[0].desc.rank ? inputs[0].desc.dims[0] : 0;
    for (int32_t i = 1; i < n_inputs; i++)
        if (!inputs[i].desc.rank || inputs[i].desc.dims[0] != rows)
            return qc_error(QC_ERR_INVALID,
                            "calibration inputs differ in row count (%lld vs %lld at input %d)",
                            (long long)rows, (long long)(inputs[i].desc.rank ? inputs[i].desc.dims[0] : 0),
                            (int)i);
    if (batch < 1) batch = 64;
    qc_tensor part[64];
    for (int64_t r = 0; r < rows; r += batch) {
        int64_t k = rows - r < batch ? rows - r : batch;
        for (int32_t i = 0; i < n_inputs; i++) {
            part[i] = inputs[i];
            int64_t row_elems = qc_type_numel(&inputs[i].desc) / rows;
            part[i].desc.dims[0] = k;
            part[i].data = (char *)inputs[i].data + qc_dtype_bytes(inputs[i].desc.dtype, row_elems * r);
        }
        qc_status st = qc_calib_add_batch(c, part, n_inputs);
        if (st) return st;
    }
    if (c->progress) fputc('\n', stderr);
    return NULL;
}

qc_status qc_calib_range(const qc_calib *c, int32_t id, qc_calib_method m, double percentile,
                         int levels, float *lo, float *hi) {
    if (id < 0 || id >= c->n_values || !c->hist[id].bins || c->hist[id].count == 0)
        return qc_error(QC_ERR_NOT_FOUND, "tensor '%s' was not observed during calibration",
                        id >= 0 && id < c->g->n_values ? c->g->values[id].name : "?");
    const qc_hist *h = &c->hist[id];
    *lo = h->min;
    *hi = h->max;
    if (m != QC_CALIB_MINMAX) {
        float t = qc_hist_threshold(h, m, percentile, levels);
        if (*lo < -t) *lo = -t;
        if (*hi > t) *hi = t;
    }
    return NULL;
}

const char *qc_calib_method_name(qc_calib_method m) {
    static const char *const names[] = {"minmax", "percentile", "entropy", "mse"};
    return (unsigned)m < 4 ? names[m] : "?";
}

bool qc_calib_method_parse(const char *s, qc_calib_method *m) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, qc_calib_method_name((qc_calib_method)i))) {
            *m = (qc_calib_method)i;
            return true;
        }
    return false;
}
