/* qcomp.h — the compiler's public C API: load, verify, print and run a model
 * on the reference interpreter, and compile it to an artifact in memory for
 * the runtime (qcrt.h, included for status, tensors and qc_model). */
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


/* ---- in-memory compilation (compiler/jit.c) -------------------------------
 * Verify, plan memory and serialize the .qcm artifact without touching the
 * file system. g is not modified, so no optimization passes run here: run
 * them on the graph first (as `qcomp compile` does) to get the same image. */

/* Runs the default optimization pipeline on g in place (const_fold, dce,
 * qdq_fold, fuse, dce: those present in this build) and verifies the result;
 * the same passes `qcomp compile` runs before writing. */
qc_status qc_compile_optimize(qc_graph *g);
/* The artifact image, malloc'd; the caller free()s *buf. */
qc_status qc_compile_to_memory(const qc_graph *g, void **buf, size_t *len);
/* Compiles g and loads the image into rt (copied, so nothing outlives the
 * call but the model): a qc_model ready for qc_session_create, released with
 * qc_model_release. */
qc_status qc_compile_jit(qc_runtime *rt, const qc_graph *g, qc_model **out);

#ifdef __cplusplus
}
#endif
#endif
