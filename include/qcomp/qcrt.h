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

/* Allocates zeroed storage for `desc` (which must have no symbolic dim),
 * 64-byte aligned: such an input is read in place by the host devices
 * instead of being copied into the session's arena. */
qc_status qc_tensor_alloc(const qc_tensor_desc *desc, qc_tensor *out);
void qc_tensor_release(qc_tensor *t);


/* ---- runtime -------------------------------------------------------------
 * Objects and ownership:
 *  - qc_runtime: a device (backend) plus a thread pool. Create one per
 *    process (or per device); it must outlive every model and session made
 *    from it. Thread-safe.
 *  - qc_model: a loaded, validated artifact. Immutable after load and
 *    reference-counted: qc_model_load_* returns one reference, every session
 *    holds another, qc_model_release drops one; the last release frees it.
 *    Introspection and session creation are safe from any thread.
 *  - qc_session: one inference context over a model: its own arena on the
 *    device, so sessions of one model run concurrently from different
 *    threads. One session is used by one thread at a time. */

typedef struct qc_runtime qc_runtime;
typedef struct qc_model qc_model;
typedef struct qc_session qc_session;

typedef struct qc_runtime_options {
    int32_t threads;        /* worker threads; 0 = number of online CPUs */
    const char *backend;    /* device name ("ref", ...); NULL = best available */
} qc_runtime_options;

void qc_runtime_options_init(qc_runtime_options *opts);
/* opts may be NULL (defaults). An unknown backend is QC_ERR_NOT_FOUND whose
 * message lists the available ones. */
qc_status qc_runtime_create(const qc_runtime_options *opts, qc_runtime **out);
void qc_runtime_destroy(qc_runtime *rt);
const char *qc_runtime_device_name(const qc_runtime *rt);
int32_t qc_runtime_thread_count(const qc_runtime *rt);
/* Devices libqcrt knows (whether or not they open on this machine). */
int32_t qc_runtime_device_count(void);
const char *qc_runtime_device_at(int32_t i);   /* NULL if out of range */

typedef enum qc_load_mode {
    QC_LOAD_COPY = 0,     /* the model copies the bytes; buf may be freed after */
    QC_LOAD_BORROW = 1,   /* the caller keeps buf alive and unchanged until the
                           * model's last release */
} qc_load_mode;

/* Loads a .qcm artifact; checks it fully and that rt's device can run it. */
qc_status qc_model_load_file(qc_runtime *rt, const char *path, qc_model **out);
qc_status qc_model_load_memory(qc_runtime *rt, const void *buf, size_t len, qc_load_mode mode,
                               qc_model **out);

/* A model linked into the program: `qcomp compile MODEL --target cpu
 * --emit-object m.o --emit-header m.h` writes an ELF object defining one
 * qc_static_model (the artifact image without a shared-object section, and
 * its cpu kernels as plain functions) and a header declaring it; link m.o
 * and libqcrt, then qc_model_load_static(rt, &qcm_NAME, &m). No file, no
 * dlopen and no LLVM at run time; the image is borrowed (it is static). */
typedef struct qc_static_kernel {
    const char *symbol;
    void *fn;
} qc_static_kernel;
#define QC_STATIC_MODEL_ABI 1u
typedef struct qc_static_model {
    uint32_t abi;                     /* QC_STATIC_MODEL_ABI */
    uint32_t target;                  /* the code's target id (cpu), set by qcomp */
    const unsigned char *image;
    uint64_t image_len;
    const qc_static_kernel *kernels;
    uint64_t n_kernels;
} qc_static_model;
qc_status qc_model_load_static(qc_runtime *rt, const qc_static_model *sm, qc_model **out);

void qc_model_retain(qc_model *m);
void qc_model_release(qc_model *m);   /* NULL is a no-op */

const char *qc_model_name(const qc_model *m);
/* Name of the symbolic (batch) dim, or NULL when every shape is static. */
const char *qc_model_batch_name(const qc_model *m);
int32_t qc_model_input_count(const qc_model *m);
int32_t qc_model_output_count(const qc_model *m);
/* NULL when i is out of range. Descriptors may hold QC_DIM_SYM. */
const char *qc_model_input_name(const qc_model *m, int32_t i);
const char *qc_model_output_name(const qc_model *m, int32_t i);
const qc_tensor_desc *qc_model_input_desc(const qc_model *m, int32_t i);
const qc_tensor_desc *qc_model_output_desc(const qc_model *m, int32_t i);
/* Index of the input/output named `name`, or -1. */
int32_t qc_model_find_input(const qc_model *m, const char *name);
int32_t qc_model_find_output(const qc_model *m, const char *name);

typedef struct qc_session_options {
    /* The symbolic dim's value, fixed for the session's life (runs with
     * another batch fail). -1 (the default): bound from each run's inputs,
     * the arena growing when a run needs more. Ignored for static models. */
    int64_t batch;
} qc_session_options;

void qc_session_options_init(qc_session_options *opts);
/* Retains m until qc_session_destroy. opts may be NULL. */
qc_status qc_session_create(qc_model *m, const qc_session_options *opts, qc_session **out);
void qc_session_destroy(qc_session *s);
/* The batch the arena is sized for, or -1 before the first run. */
int64_t qc_session_batch(const qc_session *s);

/* What the device measured over the session's last run (diagnostics and
 * benchmarks; both fields -1 before the first run or where the device does
 * not measure them). */
typedef struct qc_run_stats {
    /* Time the device spent in the run's kernels, in nanoseconds (vulkan:
     * timestamp queries around every dispatch, summed). */
    int64_t device_ns;
    /* Command buffers recorded for the run (vulkan): 0 when every one was
     * replayed as recorded by an earlier run. */
    int32_t recorded;
} qc_run_stats;
void qc_session_last_run_stats(const qc_session *s, qc_run_stats *out);

/* Runs the model. inputs[] bind the model inputs in order (dtype, rank and
 * static dims must match; symbolic dims agree). For each outputs[i]:
 *  - data == NULL: the runtime allocates it (release with qc_tensor_release);
 *  - data != NULL: a caller buffer whose desc must equal the output's
 *    actual dtype and shape; it is written in place.
 * On failure no runtime-allocated output is left allocated. */
qc_status qc_session_run(qc_session *s, const qc_tensor *inputs, int32_t n_inputs,
                         qc_tensor *outputs, int32_t n_outputs);
/* The same with tensors bound by name: every model input named exactly once;
 * outputs may be any subset, in any order. */
qc_status qc_session_run_named(qc_session *s, const char *const *input_names,
                               const qc_tensor *inputs, int32_t n_inputs,
                               const char *const *output_names, qc_tensor *outputs,
                               int32_t n_outputs);

#ifdef __cplusplus
}
#endif
#endif
