/* rt_internal.h — internal: the runtime objects behind the public handles
 * (runtime.c: runtime + model, session.c: sessions, arena.c: arenas). */
#ifndef QC_RUNTIME_RT_INTERNAL_H
#define QC_RUNTIME_RT_INTERNAL_H

#include <stdatomic.h>

#include "qcomp/qcrt.h"
#include "runtime/hal.h"
#include "runtime/model.h"
#include "runtime/threadpool.h"

struct qc_runtime {
    const qc_hal_driver *driver;
    qc_device *device;
    qc_threadpool *pool;
};

struct qc_model {
    atomic_int refs;
    qc_runtime *rt;
    qc_model_data *data;
    void (*free_data)(qc_model_data *);
    void *dev_state;          /* driver->model_open's state, closed on the last release */
};

/* Wraps already-validated model data (takes ownership: free_data runs on the
 * last release, also when this fails). Used by the loaders and by the
 * compiler's in-memory path. Checks rt's device can run it. */
qc_status qc_model_wrap(qc_runtime *rt, qc_model_data *data, void (*free_data)(qc_model_data *),
                        qc_model **out);
const qc_model_data *qc_model_get_data(const qc_model *m);


/* ---- arena (arena.c) -------------------------------------------------------- */

typedef struct qc_arena {
    qc_hal_buffer buf;
    bool allocated;
} qc_arena;

/* a + b * batch with overflow checks; `what` names the quantity in errors. */
qc_status qc_arena_eval(int64_t a, int64_t b, int64_t batch, const char *what, int64_t *out);
/* Makes the arena at least `bytes` large (contents are not kept). */
qc_status qc_arena_reserve(const qc_runtime *rt, qc_arena *ar, int64_t bytes);
void qc_arena_release(const qc_runtime *rt, qc_arena *ar);

#endif
