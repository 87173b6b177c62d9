/* artifact_write.h — the compiler side of the .qcm artifact: serializes a
 * verified qc_graph and its memory plan (passes/memplan.h) into the format
 * of docs/artifact.md, read back by the runtime's loader (runtime/model.h). */
#ifndef QC_IR_ARTIFACT_WRITE_H
#define QC_IR_ARTIFACT_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"
#include "runtime/model.h"

/* The memory plan (passes/memplan.h). Only its layout is needed here; the
 * writer stores a plan, it does not make one. */
typedef struct qc_plan qc_plan;

/* Serializes `g` (verified) with `plan` (NULL: no PLAN section; the artifact
 * then only runs through a runtime that plans memory itself) into a malloc'd
 * image. Sections: GRAPH, CONSTANTS, PLAN (target ref), and the ref target
 * marker. */
qc_status qc_artifact_write_mem(const qc_graph *g, const qc_plan *plan, uint8_t **out,
                                size_t *len);

/* Same, with the targets to mark (bit set 1 << QC_TARGET_*; the ref marker
 * is written when QC_TARGET_REF is in it) and the backends' code sections
 * (compiler/target.h) appended after PLAN. */
typedef struct qc_code_sections qc_code_sections;
qc_status qc_artifact_write_mem_ex(const qc_graph *g, const qc_plan *plan, uint32_t targets,
                                   const qc_code_sections *code, uint8_t **out, size_t *len);
/* Writes an image to path atomically (temp file + rename). */
qc_status qc_artifact_write_image(const uint8_t *img, size_t len, const char *path);

/* Same, to `path`, atomically: written to a temporary file next to it and
 * renamed into place, so on any error no (partial) file is left behind and
 * an existing file at `path` is untouched. */
qc_status qc_artifact_write_file(const qc_graph *g, const qc_plan *plan, const char *path);

/* Rebuilds a qc_graph from a loaded artifact (same ids, names, types, quant
 * params, constants, nodes and attributes), for `qcomp inspect` and to run
 * an artifact through the graph interpreter. */
qc_status qc_artifact_to_graph(const qc_model_data *m, qc_graph **out);

#endif
