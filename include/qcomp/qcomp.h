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
 * qdq_fold, const_fold_dq, fuse, dce) and verifies the result;
 * the same passes `qcomp compile` runs before writing. */
qc_status qc_compile_optimize(qc_graph *g);
/* What to generate. Zero-initialize (or qc_compile_options_init) and set
 * what you need; later fields may be added, so never rely on its size. */
typedef struct qc_compile_options {
    /* Comma-separated targets whose code goes into the artifact: "ref",
     * "cpu", "vulkan", "cuda" (those built into this libqcomp, see
     * qc_compile_targets_available). NULL or "" = "ref". One artifact may
     * carry several; the runtime picks one at load. */
    const char *targets;
    /* cpu target: the CPU to generate code for, "native" (NULL: the host,
     * with its features detected at compile time) or an LLVM CPU name such
     * as "x86-64-v3", "x86-64-v4", "sapphirerapids", "znver4". */
    const char *cpu;
    /* cpu target, for static linking (qc_model_load_static): also write an
     * ELF object holding the kernels and the artifact image, and a C header
     * declaring `extern const qc_static_model qcm_<static_name>;`. NULL: no. */
    const char *emit_object;
    const char *emit_header;          /* NULL: no header */
    const char *static_name;          /* C identifier; NULL: made from the graph name */
} qc_compile_options;

void qc_compile_options_init(qc_compile_options *o);
/* "ref,cpu,..." : the targets this build can generate code for. */
const char *qc_compile_targets_available(void);

/* The artifact image, malloc'd; the caller free()s *buf. opts may be NULL
 * (target ref only). */
qc_status qc_compile_to_memory(const qc_graph *g, void **buf, size_t *len);
qc_status qc_compile_to_memory_opts(const qc_graph *g, const qc_compile_options *opts,
                                    void **buf, size_t *len);
/* Writes the artifact to path atomically (no partial file on any error). */
qc_status qc_compile_to_file(const qc_graph *g, const qc_compile_options *opts,
                             const char *path);
/* Compiles g and loads the image into rt (copied, so nothing outlives the
 * call but the model): a qc_model ready for qc_session_create, released with
 * qc_model_release. */
qc_status qc_compile_jit(qc_runtime *rt, const qc_graph *g, qc_model **out);
/* Same with options; with opts->targets NULL the target is the runtime's
 * device ("ref" for the ref device, "cpu" for cpu, ...). */
qc_status qc_compile_jit_opts(qc_runtime *rt, const qc_graph *g, const qc_compile_options *opts,
                              qc_model **out);

#ifdef __cplusplus
}
#endif
#endif
