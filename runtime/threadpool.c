/* threadpool.c — fixed worker threads, one parallel_for at a time.
 *
 * A job is split into C contiguous chunks (chunk i = [i*n/C, (i+1)*n/C)).
 * Chunks are claimed through one 64-bit word, `claim` = generation (32 bits)
 * | C (16) | next chunk (16), advanced by compare-and-swap. The submitting
 * thread claims chunks too and then waits only for the chunks a worker
 * actually claimed: a worker that is asleep, descheduled or late never
 * delays a job, it just finds nothing left. (The previous design waited for
 * every worker to acknowledge every job: on this shared 2-core machine, with
 * the other core busy, each node of the seed FNN then waited one scheduler
 * slice, ~0.2 ms, and 2 threads ran 12x slower than 1.)
 *
 * Why the fields are safe to read: the submitter writes fn/ctx/n before it
 * publishes the job's claim word (release) and rewrites them only after all
 * C chunks are done; a claim succeeds only on the current word, so whoever
 * holds a claimed chunk sees that job's fields and keeps them alive.
 *
 * Waiting spins briefly before sleeping on a condition variable: a model
 * runs its kernels back to back, tens of microseconds each, and waking a
 * sleeping thread costs about as much as a small kernel. The spin is
 * bounded, so an idle pool sleeps. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/threadpool.h"

#define QC_POOL_MAX_THREADS 1024
/* Chunks per thread: with contiguous static-size chunks, two per thread
 * absorbs a late start of one thread without making claims frequent. */
#define QC_POOL_CHUNKS_PER_THREAD 2

struct qc_threadpool {
    int32_t n_threads;          /* including the submitting thread */
    int32_t n_spawned;          /* workers actually started */
    pthread_t *threads;
    pthread_mutex_t submit;     /* held for a whole parallel_for */
    /* Written by the submitter only between jobs (see the header comment). */
    qc_parallel_fn fn;
    void *ctx;
    int64_t n;
    _Alignas(64) atomic_uint_fast64_t claim;   /* gen | chunks | next */
    _Alignas(64) atomic_int done;              /* chunks finished in this job */
    _Alignas(64) pthread_mutex_t mu;           /* for sleeping only */
    pthread_cond_t work_cv, done_cv;
    atomic_int sleepers;        /* workers waiting (or about to) on work_cv */
    atomic_bool waiting;        /* the submitter waits (or is about to) on done_cv */
    atomic_bool stop;
};

typedef struct worker_arg {
    qc_threadpool *p;
    int32_t id;
} worker_arg;

#define CLAIM_GEN(v) ((uint32_t)((v) >> 32))
#define CLAIM_CHUNKS(v) ((uint32_t)(((v) >> 16) & 0xffffu))
#define CLAIM_NEXT(v) ((uint32_t)((v) & 0xffffu))

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

/* Claims and runs chunks of the current job until none is left. */
static void run_chunks(qc_threadpool *p, int32_t worker) {
    uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
    for (;;) {
        uint32_t c = CLAIM_CHUNKS(v), i = CLAIM_NEXT(v);
        if (i >= c) return;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        int64_t b = p->n * i / c, e = p->n * (i + 1) / c;
        if (b < e) p->fn(p->ctx, b, e, worker);
        if (atomic_fetch_add(&p->done, 1) + 1 == (int)c &&   /* seq_cst: pairs with `waiting` */
            atomic_load(&p->waiting)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
        v = atomic_load_explicit(&p->claim, memory_order_acquire);
    }
}

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    qc_threadpool *p = wa.p;
    uint32_t seen = 0;
    for (;;) {
        for (int i = 0; i < QC_POOL_SPIN && CLAIM_GEN(atomic_load(&p->claim)) == seen &&
                        !atomic_load(&p->stop);
             i++)
            cpu_relax();
        if (CLAIM_GEN(atomic_load(&p->claim)) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);   /* seq_cst: pairs with the submitter's */
            while (!atomic_load(&p->stop) && CLAIM_GEN(atomic_load(&p->claim)) == seen)
                pthread_cond_wait(&p->work_cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = CLAIM_GEN(atomic_load(&p->claim));
        run_chunks(p, wa.id);
    }
    return NULL;
}

qc_status qc_threadpool_create(int32_t threads, qc_threadpool **out) {
    *out = NULL;
    if (threads <= 0) threads = qc_threadpool_default_threads();
    if (threads > QC_POOL_MAX_THREADS)
        return qc_error(QC_ERR_INVALID, "qc_threadpool_create: %d threads requested, at most %d",
                        (int)threads, QC_POOL_MAX_THREADS);
    qc_threadpool *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
    if (!p) return qc_error(QC_ERR_NOMEM, "qc_threadpool_create: out of memory");
    memset(p, 0, sizeof *p);
    p->n_threads = threads;
    pthread_mutex_init(&p->submit, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->claim, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->waiting, false);
    atomic_init(&p->stop, false);
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
    int64_t c = (int64_t)p->n_threads * QC_POOL_CHUNKS_PER_THREAD;
    if (c > n) c = n;
    if (c > 0xffff) c = 0xffff;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    uint64_t gen = (uint64_t)CLAIM_GEN(atomic_load(&p->claim)) + 1;
    /* seq_cst store, then the sleepers load: a worker either sees this job
     * or is counted and gets the broadcast. */
    atomic_store(&p->claim, (gen << 32) | ((uint64_t)c << 16));
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
    }
    run_chunks(p, 0);
    /* Every chunk is claimed; wait for those still running elsewhere. */
    for (int i = 0; i < QC_POOL_SPIN && atomic_load(&p->done) < (int)c; i++) cpu_relax();
    if (atomic_load(&p->done) < (int)c) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->waiting, true);
        while (atomic_load(&p->done) < (int)c) pthread_cond_wait(&p->done_cv, &p->mu);
        atomic_store(&p->waiting, false);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->submit);
}
