/* qcomp.h — the compiler's public C API (today: load, verify, print and run a
 * model on the reference interpreter; compile-to-artifact arrives with the
 * runtime milestone). Includes qcrt.h for status and tensors. */
#ifndef QCOMP_QCOMP_H
#define QCOMP_QCOMP_H

#include <stdio.h>

#include "qcomp/qcrt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qc_graph qc_graph;

/* Parses a textual IR model (.qcir); *out is owned by the caller. */
qc_status qc_graph_parse_file(const char *path, qc_graph **out);
qc_status qc_graph_parse(const char *text, size_t len, const char *source, qc_graph **out);
qc_status qc_graph_verify(const qc_graph *g);
qc_status qc_graph_print(const qc_graph *g, FILE *f);
void qc_graph_destroy(qc_graph *g);

/* Runs a verified graph on the reference interpreter; outputs are allocated
 * by the callee and released with qc_tensor_release(). */
qc_status qc_ref_run(const qc_graph *g, const qc_tensor *inputs, int32_t n_inputs,
                     qc_tensor *outputs, int32_t n_outputs);

#ifdef __cplusplus
}
#endif
#endif
