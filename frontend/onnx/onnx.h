/* onnx.h — the ONNX importer: ModelProto (opsets 11-21) -> qc_graph.
 *
 * Parsing uses C code generated at build time by protoc-c from the system's
 * onnx.proto (Debian libonnx-dev); no hand-written protobuf parsing. What is
 * supported and how old opsets are handled: docs/onnx.md. */
#ifndef QC_FRONTEND_ONNX_ONNX_H
#define QC_FRONTEND_ONNX_ONNX_H

#include <stddef.h>

#include "ir/ir.h"

/* A graph input fixed to a value at import: it becomes a constant named like
 * the input, so shapes computed from it are static (qcomp compiles static
 * shapes; e.g. a Reshape whose target shape is a graph input). The value's
 * dtype and shape must match the input's declaration (a symbolic dim takes
 * the value's size). The importer copies the data. */
typedef struct qc_onnx_binding {
    const char *name;
    const qc_tensor *value;
} qc_onnx_binding;

typedef struct qc_onnx_options {
    /* Fold Shape/Gather/Concat/... subgraphs and other constant expressions
     * after import (passes const_fold + dce). Default on. */
    int fold_constants;
    /* Graph inputs to bind to constants (default none). */
    const qc_onnx_binding *bindings;
    int n_bindings;
} qc_onnx_options;

void qc_onnx_options_init(qc_onnx_options *o);

/* Imports an .onnx file. External data files are resolved relative to the
 * model's directory and may not escape it. On failure *out is NULL and the
 * status names the file, node and op (an unsupported model gets ONE error
 * listing every unsupported op type with its node names). opts may be NULL
 * (defaults). */
qc_status qc_onnx_import_file(const char *path, const qc_onnx_options *opts, qc_graph **out);
/* Same, from memory; `base_dir` (may be NULL: external data then refused)
 * anchors external data, `source` names the buffer in messages. */
qc_status qc_onnx_import(const void *buf, size_t len, const char *source, const char *base_dir,
                         const qc_onnx_options *opts, qc_graph **out);

/* True if the file looks like an ONNX model: its name ends in ".onnx", or
 * its first bytes are a protobuf field of ModelProto (sniffing, for files
 * named otherwise). Text IR never starts that way. */
int qc_onnx_is_model_file(const char *path);

/* Reads a serialized TensorProto (.pb, as in the ONNX backend tests) into a
 * freshly allocated tensor; *name_out (may be NULL) receives its name
 * (malloc'd, possibly empty). External data resolves next to the file. */
qc_status qc_onnx_read_tensor_file(const char *path, qc_tensor *out, char **name_out);

/* ---- export (export.c) -------------------------------------------------------
 * qc_graph -> a standard ONNX ModelProto, e.g. to check qcomp's quantization
 * in ONNX Runtime. `opset` is the default domain's opset: 13 to 21, or 0 for
 * the lowest that keeps the graph's forms (13 usually; 17 for
 * LayerNormalization, 18 for Reduce* axes inputs, 21 for int4/uint4 or
 * blocked quantization, ...). Forms that changed between opsets (axes /
 * split as inputs, Clip/Pad attributes) are rewritten for the target;
 * com.microsoft is imported when QLinearAdd/QLinearMul (or Gelu below 20)
 * appear. Constants become initializers with raw_data; the symbolic batch
 * becomes dim_param. Refused, with the offending nodes/values named: internal
 * "qc.*" ops and quantization params that no QuantizeLinear/DequantizeLinear
 * expresses (export happens before qdq_fold/fuse). */
qc_status qc_onnx_export(const qc_graph *g, int opset, void **buf, size_t *len);   /* malloc'd */
/* Same, to a file, atomically (temporary file + rename: no partial output). */
qc_status qc_onnx_export_file(const qc_graph *g, int opset, const char *path);

#endif
