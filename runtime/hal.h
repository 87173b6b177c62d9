/* hal.h — internal: the hardware abstraction layer. One qc_hal_driver
 * (a vtable) per backend; a qc_device is one opened instance of it.
 *
 * Sessions talk to devices only through this table: allocate one arena,
 * copy inputs in, launch every scheduled node over the arena, sync, copy
 * outputs out. The ref device (backends/ref/hal.c) is the first; cpu,
 * vulkan and cuda add theirs to the registry in runtime/hal.c.
 *
 * Threading: one device serves every session of a runtime, and sessions may
 * run concurrently, so every entry point must be safe to call from several
 * threads at once on different buffers (the ref device keeps no mutable
 * state at all). */
#ifndef QC_RUNTIME_HAL_H
#define QC_RUNTIME_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/model.h"
#include "runtime/threadpool.h"

typedef struct qc_device qc_device;   /* a driver's private state */

/* Device memory. `host` is non-NULL when the CPU can address it directly
 * (ref, cpu); GPU drivers keep their own handle and leave host NULL. */
typedef struct qc_hal_buffer {
    void *host;
    uint64_t handle;
    size_t size;
} qc_hal_buffer;

typedef enum qc_hal_copy_kind { QC_COPY_H2D = 1, QC_COPY_D2H, QC_COPY_D2D } qc_hal_copy_kind;

/* H2D: host_src -> dst + dst_off. D2H: src + src_off -> host_dst.
 * D2D: src + src_off -> dst + dst_off. Ranges are checked by the caller. */
typedef struct qc_hal_copy {
    qc_hal_copy_kind kind;
    qc_hal_buffer *dst;
    size_t dst_off;
    void *host_dst;
    const qc_hal_buffer *src;
    size_t src_off;
    const void *host_src;
    size_t bytes;
} qc_hal_copy;

/* One scheduled node, bound to a session's arena at a concrete batch.
 * descs[v] is value v's concrete type: the session fills it for every value
 * before the first launch (declared types with the batch substituted), and
 * launch overwrites the node's outputs with the types actually produced
 * (data-dependent shapes), which must fit the planned slot. */
typedef struct qc_hal_launch {
    const qc_model_data *model;
    int32_t node;
    int64_t batch;            /* 0 when the model has no symbolic dim */
    qc_hal_buffer *arena;
    qc_tensor_desc *descs;
    void *model_state;        /* what the driver's model_open made, or NULL */
    /* NULL, or per value: a host address that replaces the value's arena
     * slot (graph inputs the session reads in place instead of copying;
     * only for drivers with host_memory). Never written through. */
    const void *const *host_values;
} qc_hal_launch;

/* What a device measured over one session run (run_end). */
typedef struct qc_hal_run_stats {
    int64_t device_ns;        /* kernel time on the device, or -1: not measured */
    int32_t recorded;         /* command buffers (re)recorded for the run, or -1: n/a */
} qc_hal_run_stats;

typedef struct qc_hal_create_params {
    qc_threadpool *pool;      /* the runtime's pool, shared; may be NULL */
    /* True when the user named this device (--backend NAME); false while
     * "best available" probes. A driver may decline to be picked by default
     * when what it found is a poor choice (vulkan on a CPU implementation
     * such as lavapipe, which is slower than the cpu and ref devices). */
    bool requested;
} qc_hal_create_params;

typedef struct qc_hal_driver {
    const char *name;         /* "ref", "cpu", ... (the --backend names) */
    uint32_t target;          /* QC_TARGET_* whose code section it runs, or NONE */
    int32_t priority;         /* "best available" = highest priority that opens */
    bool host_memory;         /* kernels read plain host pointers: the session may
                               * pass suitably aligned inputs in place (host_values) */
    qc_status (*create)(const qc_hal_create_params *params, qc_device **out);
    void (*destroy)(qc_device *d);
    qc_status (*alloc)(qc_device *d, size_t bytes, qc_hal_buffer *out);
    void (*free)(qc_device *d, qc_hal_buffer *buf);
    qc_status (*copy)(qc_device *d, const qc_hal_copy *c);
    /* Checks once per model that this device can run it (code section
     * present, every op supported) so errors come at load, not mid-run. */
    qc_status (*check_model)(qc_device *d, const qc_model_data *m);
    /* Optional (may be NULL): the model that check_model accepted is about
     * to be freed; drops what the device cached for it (pipelines,
     * uploaded constants). */
    void (*release_model)(qc_device *d, const qc_model_data *m);
    qc_status (*launch)(qc_device *d, const qc_hal_launch *l);
    qc_status (*sync)(qc_device *d);
    /* Optional (NULL: none): per-model device state (loaded code, resolved
     * kernels), made once at load after check_model, passed to every launch
     * of that model as qc_hal_launch.model_state, and closed when the
     * model's last reference goes. Keeping it with the model, not in the
     * device, lets several models and sessions run at once without locks. */
    qc_status (*model_open)(qc_device *d, const qc_model_data *m, void **state);
    void (*model_close)(qc_device *d, void *state);
    /* Optional (NULL: none): bracket one session run over `arena`.
     * run_begin comes after the arena is sized and before the inputs are
     * copied in; run_end after the last launch (also when a launch failed)
     * and before the outputs are copied out, and fills *stats (the session
     * sets it to -1 / -1 first). A device that records work per arena uses
     * them to find the run's boundaries (vulkan: replaying recorded command
     * buffers, reading its timestamp queries); the state they touch lives
     * in the arena, which one session owns, so they need no locks. */
    qc_status (*run_begin)(qc_device *d, qc_hal_buffer *arena);
    qc_status (*run_end)(qc_device *d, qc_hal_buffer *arena, qc_hal_run_stats *stats);
} qc_hal_driver;

/* Runs one node with the ref kernels, exactly as the ref device does
 * (backends/ref/hal.c). Host devices (cpu) call it for the nodes they have
 * no generated code for, so a fallback node is bit-identical to ref. */
qc_status qc_hal_ref_launch(const qc_hal_launch *l);

/* ---- registry (runtime/hal.c) ----------------------------------------------- */

int32_t qc_hal_driver_count(void);
const qc_hal_driver *qc_hal_driver_at(int32_t i);
/* Opens the driver named `name`, or with name NULL the highest-priority one
 * that opens. An unknown name is QC_ERR_NOT_FOUND listing the available ones. */
qc_status qc_hal_open(const char *name, const qc_hal_create_params *params,
                      const qc_hal_driver **driver, qc_device **out);

/* The drivers the registry knows. */
extern const qc_hal_driver qc_hal_ref_driver;      /* backends/ref/hal.c */
/* Built in when cmake/backends.cmake enables them (QC_HAVE_<B>). */
extern const qc_hal_driver qc_hal_cpu_driver;      /* backends/cpu/hal*.c */
extern const qc_hal_driver qc_hal_vulkan_driver;   /* backends/vulkan/hal*.c */
extern const qc_hal_driver qc_hal_cuda_driver;     /* backends/cuda/hal*.c */

#endif
