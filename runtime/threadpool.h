/* threadpool.h — internal: the runtime's fixed-size thread pool.
 *
 * A pool of `threads` workers (the caller of parallel_for counts as one, so
 * threads - 1 are spawned). Sized once at creation, defaulting to the number
 * of online CPUs, so kernels never oversubscribe the machine. Work is handed
 * out in contiguous chunks pulled from an atomic counter, so uneven ranges
 * balance without a queue. One parallel_for runs at a time; a call made
 * while another is in flight (another session's thread, or a nested call
 * from inside fn) runs serially on its caller instead of waiting, which can
 * neither deadlock nor add threads. */
#ifndef QC_RUNTIME_THREADPOOL_H
#define QC_RUNTIME_THREADPOOL_H

#include <stdint.h>

#include "qcomp/qcrt.h"

typedef struct qc_threadpool qc_threadpool;

/* fn handles indices [begin, end); `worker` is in [0, size) and unique among
 * the threads running one parallel_for (for per-thread scratch). */
typedef void (*qc_parallel_fn)(void *ctx, int64_t begin, int64_t end, int32_t worker);

/* threads <= 0 means the number of online CPUs. */
qc_status qc_threadpool_create(int32_t threads, qc_threadpool **out);
/* Joins every worker; the pool must be idle (no parallel_for in flight). */
void qc_threadpool_destroy(qc_threadpool *p);
int32_t qc_threadpool_size(const qc_threadpool *p);
/* Calls fn over [0, n) split into chunks and returns when all are done.
 * p may be NULL (runs serially). */
void qc_threadpool_parallel_for(qc_threadpool *p, int64_t n, qc_parallel_fn fn, void *ctx);
/* The default thread count: online CPUs (at least 1). */
int32_t qc_threadpool_default_threads(void);

#endif
