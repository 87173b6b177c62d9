/* qcrt.h — the qcomp runtime's public C API: status values, element types and
 * tensor descriptors shared by the compiler (qcomp.h) and the runtime.
 *
 * Conventions (after IREE's base API):
 *  - every fallible call returns a qc_status; NULL means success;
 *  - a non-NULL status owns a message naming what failed and where; the caller
 *    releases it with qc_status_free() (or hands it on);
 *  - no global mutable state: everything lives in objects the caller owns. */
#ifndef QCOMP_QCRT_H
#define QCOMP_QCRT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------ */

typedef enum qc_code {
    QC_OK = 0,
    QC_ERR_INVALID,     /* bad argument, malformed input, type/shape mismatch */
    QC_ERR_PARSE,       /* text or file could not be parsed */
    QC_ERR_UNSUPPORTED, /* valid input using something not implemented */
    QC_ERR_IO,          /* file system error */
    QC_ERR_NOMEM,       /* allocation failed */
    QC_ERR_INTERNAL,    /* broken invariant inside qcomp */
    QC_ERR_NOT_FOUND,   /* named thing (tensor, device, file) does not exist */
} qc_code;

typedef struct qc_status_s *qc_status;   /* NULL == success */

qc_status qc_error(qc_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
qc_status qc_error_v(qc_code code, const char *fmt, va_list ap);
/* Prefix an existing error's message with more context ("while X: <msg>").
 * Takes ownership of st and returns it (or a new status). NULL stays NULL. */
qc_status qc_status_wrap(qc_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
qc_code qc_status_code(qc_status st);
const char *qc_status_message(qc_status st);   /* "" for NULL */
void qc_status_free(qc_status st);
const char *qc_code_name(qc_code code);

/* ---- element types ----------------------------------------------------- */

typedef enum qc_dtype {
    QC_DT_UNDEF = 0,
    QC_F32,
    QC_F16,
    QC_BF16,
    QC_F8E4M3FN,
    QC_F8E5M2,
    QC_F64,
    QC_I64,
    QC_I32,
    QC_I16,
    QC_I8,
    QC_U8,
    QC_I4,      /* packed two per byte, element 2k in the low nibble (ONNX order) */
    QC_U4,
    QC_BOOL,    /* one byte, 0 or 1 */
    QC_DT_COUNT
} qc_dtype;

/* ---- tensors ----------------------------------------------------------- */

#define QC_MAX_RANK 8
/* A dimension value standing for the graph's one symbolic (batch) dimension. */
#define QC_DIM_SYM (-1)

typedef struct qc_tensor_desc {
    qc_dtype dtype;
    int32_t rank;
    int64_t dims[QC_MAX_RANK];
} qc_tensor_desc;

/* A dense row-major tensor. `data` is owned by whoever filled it in; tensors
 * returned by qcomp are released with qc_tensor_release(). */
typedef struct qc_tensor {
    qc_tensor_desc desc;
    void *data;
} qc_tensor;

/* Allocates zeroed storage for `desc` (which must have no symbolic dim). */
qc_status qc_tensor_alloc(const qc_tensor_desc *desc, qc_tensor *out);
void qc_tensor_release(qc_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
