/* calib_observe.h — the ref interpreter with an observer: calibration needs every
 * intermediate tensor of the float graph, which qc_ref_run frees as soon as
 * its last reader has run. */
#ifndef QC_PASSES_CALIB_OBSERVE_H
#define QC_PASSES_CALIB_OBSERVE_H

#include "ir/ir.h"

/* Called once per graph input and once per node output, right after the
 * value is bound or computed and before the interpreter may free it. The
 * tensor is only valid during the call. A non-NULL status stops the run and
 * is returned by qc_ref_run_observed. */
typedef qc_status (*qc_ref_observer)(void *user, const qc_graph *g, int32_t value_id,
                                     const qc_tensor *t);

/* qc_ref_run, calling `observe` for every value as it is produced. outputs
 * may be NULL with n_outputs 0 when only the observations matter. */
qc_status qc_ref_run_observed(const qc_graph *g, const qc_tensor *inputs, int32_t n_inputs,
                              qc_tensor *outputs, int32_t n_outputs, qc_ref_observer observe,
                              void *user);

#endif
