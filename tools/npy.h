/* npy.h — NumPy .npy files (format versions 1.0-3.0), the tensor format users
 * already have. Supported element types: f32 f64 f16 i64 i32 i16 i8 u8 bool;
 * C order only. Every header field and the data length are validated: a
 * malformed file gives an error naming the file and the fault. */
#ifndef QC_TOOLS_NPY_H
#define QC_TOOLS_NPY_H

#include <stddef.h>

#include "qcomp/qcrt.h"

/* Parses an in-memory .npy image; `name` is used in error messages. On
 * success *out owns freshly allocated data (qc_tensor_release). */
qc_status qc_npy_parse(const void *buf, size_t len, const char *name, qc_tensor *out);
qc_status qc_npy_read(const char *path, qc_tensor *out);
/* Writes atomically (temporary file + rename): on error no partial file is
 * left at `path`. */
qc_status qc_npy_write(const char *path, const qc_tensor *t);

#endif
