/* threadpool.c — fixed worker threads, one parallel_for at a time.
 *
 * Workers wait until the job generation changes, pull chunks from an atomic
 * counter until the range is exhausted, then report done. The submitting
 * thread works too, so a pool of size 1 spawns nothing and runs inline.
 *
 * Waiting spins briefly before sleeping on a condition variable: a model
 * runs its kernels back to back, tens of microseconds each, and waking a
 * sleeping thread costs about as much as a small kernel (measured: the
 * seed FNN int8 at batch 1000 took 0.32 ms on 2 threads with sleep-only
 * waits vs 0.12 ms on one). The spin is bounded, so an idle pool sleeps. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/threadpool.h"

#define QC_POOL_MAX_THREADS 1024

struct qc_threadpool {
    int32_t n_threads;          /* including the submitting thread */
    int32_t n_spawned;          /* workers actually started */
    pthread_t *threads;
    pthread_mutex_t submit;     /* held for a whole parallel_for */
    pthread_mutex_t mu;         /* guards everything below but `next` */
    pthread_cond_t work_cv, done_cv;
    atomic_uint_fast64_t gen;   /* written under mu; read spinning without it */
    atomic_bool stop;
    atomic_int active;          /* workers not yet done with this generation */
    qc_parallel_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_llong next;
};

typedef struct worker_arg {
    qc_threadpool *p;
    int32_t id;
} worker_arg;

int32_t qc_threadpool_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > QC_POOL_MAX_THREADS ? QC_POOL_MAX_THREADS : (int32_t)n;
}

/* About 50-100 us of polling on current x86 cores before a thread sleeps. */
#define QC_POOL_SPIN 4000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_chunks(qc_threadpool *p, int32_t worker) {
    for (;;) {
        long long b = atomic_fetch_add(&p->next, p->chunk);
        if (b >= p->n) return;
        int64_t e = b + p->chunk < p->n ? b + p->chunk : p->n;
        p->fn(p->ctx, b, e, worker);
    }
}

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    qc_threadpool *p = wa.p;
    uint64_t seen = 0;
    for (;;) {
        for (int i = 0; i < QC_POOL_SPIN && atomic_load(&p->gen) == seen && !atomic_load(&p->stop);
             i++)
            cpu_relax();
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (!atomic_load(&p->stop) && atomic_load(&p->gen) == seen)
                pthread_cond_wait(&p->work_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = atomic_load(&p->gen);
        run_chunks(p, wa.id);
        if (atomic_fetch_sub(&p->active, 1) == 1) {
            /* Under mu, so a submitter about to sleep cannot miss it. */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

qc_status qc_threadpool_create(int32_t threads, qc_threadpool **out) {
    *out = NULL;
    if (threads <= 0) threads = qc_threadpool_default_threads();
    if (threads > QC_POOL_MAX_THREADS)
        return qc_error(QC_ERR_INVALID, "qc_threadpool_create: %d threads requested, at most %d",
                        (int)threads, QC_POOL_MAX_THREADS);
    qc_threadpool *p = calloc(1, sizeof *p);
    if (!p) return qc_error(QC_ERR_NOMEM, "qc_threadpool_create: out of memory");
    p->n_threads = threads;
    pthread_mutex_init(&p->submit, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->gen, 0);
    atomic_init(&p->stop, false);
    atomic_init(&p->active, 0);
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        qc_threadpool_destroy(p);
        return qc_error(QC_ERR_NOMEM, "qc_threadpool_create: out of memory");
    }
    for (int32_t i = 1; i < threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) {
            qc_threadpool_destroy(p);
            return qc_error(QC_ERR_NOMEM, "qc_threadpool_create: out of memory");
        }
        wa->p = p;
        wa->id = i;
        if (pthread_create(&p->threads[p->n_spawned], NULL, worker_main, wa) != 0) {
            free(wa);
            qc_threadpool_destroy(p);
            return qc_error(QC_ERR_INTERNAL, "qc_threadpool_create: could not start thread %d of %d",
                            (int)i, (int)threads);
        }
        p->n_spawned++;
    }
    *out = p;
    return NULL;
}

void qc_threadpool_destroy(qc_threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n_spawned; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->submit);
    free(p);
}

int32_t qc_threadpool_size(const qc_threadpool *p) { return p ? p->n_threads : 1; }

void qc_threadpool_parallel_for(qc_threadpool *p, int64_t n, qc_parallel_fn fn, void *ctx) {
    if (n <= 0) return;
    /* Serial when there is nothing to share, or when the pool is busy: waiting
     * could deadlock a nested call, and joining would oversubscribe. */
    if (!p || p->n_spawned == 0 || n == 1 || pthread_mutex_trylock(&p->submit) != 0) {
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    /* About four chunks per thread: enough to balance uneven work without
     * making the atomic counter hot. */
    int64_t chunk = n / ((int64_t)p->n_threads * 4);
    p->chunk = chunk < 1 ? 1 : chunk;
    atomic_store(&p->next, 0);
    atomic_store(&p->active, p->n_spawned);
    atomic_fetch_add(&p->gen, 1);   /* publishes fn/ctx/n/chunk to spinning workers */
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p, 0);
    for (int i = 0; i < QC_POOL_SPIN && atomic_load(&p->active) > 0; i++) cpu_relax();
    if (atomic_load(&p->active) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->active) > 0) pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->submit);
}
