/* onnx_off.c — the ONNX frontend's entry points in a build configured with
 * QC_WITH_ONNX=OFF (no protobuf-c / libonnx-dev, e.g. a GPU machine with
 * only the CUDA toolkit): every call fails with a clear message, text IR
 * (.qcir) and artifacts (.qcm) work as usual. */
#include <string.h>

#include "frontend/onnx/onnx.h"

#define QC_ONNX_OFF "this qcomp was built without the ONNX frontend (QC_WITH_ONNX=OFF); " \
                    "use text IR (.qcir) or rebuild with protobuf-c and libonnx-dev"

void qc_onnx_options_init(qc_onnx_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->fold_constants = 1;
}

qc_status qc_onnx_import_file(const char *path, const qc_onnx_options *opts, qc_graph **out) {
    (void)opts;
    if (out) *out = NULL;
    return qc_error(QC_ERR_UNSUPPORTED, "'%s': %s", path ? path : "?", QC_ONNX_OFF);
}

qc_status qc_onnx_import(const void *buf, size_t len, const char *source, const char *base_dir,
                         const qc_onnx_options *opts, qc_graph **out) {
    (void)buf, (void)len, (void)base_dir, (void)opts;
    if (out) *out = NULL;
    return qc_error(QC_ERR_UNSUPPORTED, "'%s': %s", source ? source : "?", QC_ONNX_OFF);
}

int qc_onnx_is_model_file(const char *path) {
    size_t n = path ? strlen(path) : 0;
    return n >= 5 && !strcmp(path + n - 5, ".onnx");
}

qc_status qc_onnx_read_tensor_file(const char *path, qc_tensor *out, char **name_out) {
    if (out) memset(out, 0, sizeof *out);
    if (name_out) *name_out = NULL;
    return qc_error(QC_ERR_UNSUPPORTED, "'%s': %s", path ? path : "?", QC_ONNX_OFF);
}

qc_status qc_onnx_export(const qc_graph *g, int opset, void **buf, size_t *len) {
    (void)g, (void)opset;
    if (buf) *buf = NULL;
    if (len) *len = 0;
    return qc_error(QC_ERR_UNSUPPORTED, "ONNX export: %s", QC_ONNX_OFF);
}

qc_status qc_onnx_export_file(const qc_graph *g, int opset, const char *path) {
    (void)g, (void)opset;
    return qc_error(QC_ERR_UNSUPPORTED, "'%s': %s", path ? path : "?", QC_ONNX_OFF);
}
