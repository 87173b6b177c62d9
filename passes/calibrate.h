/* calibrate.h — post-training calibration: run the float graph over
 * calibration batches and keep, per float tensor, its min/max and a
 * histogram of |x| in bounded memory, from which a clipping threshold is
 * chosen by one of four methods. Activations are never kept. */
#ifndef QC_PASSES_CALIBRATE_H
#define QC_PASSES_CALIBRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef enum qc_calib_method {
    QC_CALIB_MINMAX = 0,   /* observed min / max */
    QC_CALIB_PERCENTILE,   /* |x| threshold at a percentile (default 99.99) */
    QC_CALIB_ENTROPY,      /* TensorRT: KL-optimal threshold, 2048 bins -> 128 levels */
    QC_CALIB_MSE,          /* threshold minimizing the expected quantization MSE */
} qc_calib_method;

/* Default bin count: TensorRT's entropy calibrator uses 2048. */
#define QC_CALIB_BINS 2048

/* A streaming histogram of |x| over [0, width * nbins). When a value beyond
 * the range arrives, the range doubles and pairs of bins merge, so the bin
 * count (and memory) is fixed and no sample is ever dropped. */
typedef struct qc_hist {
    int32_t nbins;
    double width;       /* bin width; 0 until the first non-zero |x| */
    uint64_t *bins;
    uint64_t count;     /* samples, zeros included */
    float min, max;     /* signed extremes */
} qc_hist;

qc_status qc_hist_init(qc_hist *h, int32_t nbins);
void qc_hist_free(qc_hist *h);
/* Adds n samples; NaN/Inf are refused (QC_ERR_INVALID, "non-finite value"). */
qc_status qc_hist_add(qc_hist *h, const float *x, int64_t n);

/* The |x| clipping threshold of a histogram. `percentile` in (0, 100] is used
 * by QC_CALIB_PERCENTILE; `levels` (positive quantization levels, 127 for
 * int8, 7 for int4) by QC_CALIB_MSE. MINMAX returns max(|min|, |max|). */
float qc_hist_threshold(const qc_hist *h, qc_calib_method m, double percentile, int levels);

/* Per-value statistics of a graph. */
typedef struct qc_calib {
    const qc_graph *g;
    int32_t n_values;
    qc_hist *hist;        /* per value id; nbins 0 when not observed */
    int64_t batches, samples;
    bool progress;        /* print progress on stderr (set by the CLI when it is a tty) */
} qc_calib;

qc_status qc_calib_create(const qc_graph *g, qc_calib **out);
void qc_calib_destroy(qc_calib *c);

/* Checks one calibration tensor against graph input `input_index` (dtype,
 * rank, static dims, non-empty, finite). `source` names the file in errors. */
qc_status qc_calib_check_input(const qc_graph *g, int32_t input_index, const qc_tensor *t,
                               const char *source);

/* Runs the float graph on one batch (one tensor per graph input, batch dim
 * first) and adds every f32 value it produces to the statistics. */
qc_status qc_calib_add_batch(qc_calib *c, const qc_tensor *inputs, int32_t n_inputs);

/* Splits full calibration tensors into batches of at most `batch` rows along
 * dim 0 (all inputs must have the same row count) and adds each. */
qc_status qc_calib_add_rows(qc_calib *c, const qc_tensor *inputs, int32_t n_inputs, int64_t batch);

/* The calibrated range [lo, hi] of a value: minmax gives the observed
 * extremes; the other methods clip them to [-T, T] with T from the
 * histogram. QC_ERR_NOT_FOUND when the value was never observed. */
qc_status qc_calib_range(const qc_calib *c, int32_t value_id, qc_calib_method m,
                         double percentile, int levels, float *lo, float *hi);

const char *qc_calib_method_name(qc_calib_method m);
bool qc_calib_method_parse(const char *s, qc_calib_method *m);

#endif
