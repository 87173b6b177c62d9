/* test_threadpool.c — runtime/threadpool.c: every index visited exactly
 * once, worker ids in range, serial fallback when busy or nested, sizes,
 * and clean create/destroy cycles. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "qc_test.h"
#include "runtime/threadpool.h"

typedef struct count_ctx {
    atomic_int *hits;
    int32_t size;
    atomic_int bad_worker;
} count_ctx;

static void count_fn(void *ctx, int64_t b, int64_t e, int32_t worker) {
    count_ctx *c = ctx;
    if (worker < 0 || worker >= c->size) atomic_fetch_add(&c->bad_worker, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
}

static void check_cover(qc_threadpool *p, int64_t n) {
    count_ctx c = {calloc((size_t)n + 1, sizeof(atomic_int)), qc_threadpool_size(p), 0};
    qc_threadpool_parallel_for(p, n, count_fn, &c);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i++) wrong += atomic_load(&c.hits[i]) != 1;
    CHECK_MSG(wrong == 0, "n=%lld: %lld indices not visited exactly once", (long long)n,
              (long long)wrong);
    CHECK(atomic_load(&c.bad_worker) == 0);
    free(c.hits);
}

/* A nested parallel_for must not deadlock: it runs serially. */
typedef struct nest_ctx {
    qc_threadpool *p;
    atomic_llong sum;
} nest_ctx;

static void inner_fn(void *ctx, int64_t b, int64_t e, int32_t worker) {
    (void)worker;
    nest_ctx *c = ctx;
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->sum, 1);
}

static void outer_fn(void *ctx, int64_t b, int64_t e, int32_t worker) {
    (void)worker;
    nest_ctx *c = ctx;
    for (int64_t i = b; i < e; i++) qc_threadpool_parallel_for(c->p, 10, inner_fn, c);
}

/* Several threads submitting to one pool at once (concurrent sessions). */
typedef struct submit_job {
    qc_threadpool *p;
    int ok;
} submit_job;

static void *submit_main(void *arg) {
    submit_job *j = arg;
    j->ok = 1;
    for (int r = 0; r < 50; r++) {
        atomic_int hits[257];
        for (int i = 0; i < 257; i++) atomic_init(&hits[i], 0);
        count_ctx c = {hits, qc_threadpool_size(j->p), 0};
        qc_threadpool_parallel_for(j->p, 257, count_fn, &c);
        for (int i = 0; i < 257; i++) j->ok &= atomic_load(&hits[i]) == 1;
    }
    return NULL;
}

int main(void) {
    CHECK(qc_threadpool_default_threads() >= 1);
    qc_threadpool *p = NULL;
    CHECK_OK(qc_threadpool_create(0, &p));
    CHECK(p && qc_threadpool_size(p) == qc_threadpool_default_threads());
    qc_threadpool_destroy(p);

    int32_t sizes[] = {1, 2, 4, 7};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        p = NULL;
        CHECK_OK(qc_threadpool_create(sizes[s], &p));
        if (!p) continue;
        CHECK(qc_threadpool_size(p) == sizes[s]);
        int64_t ns[] = {0, 1, 2, 3, 7, 64, 1000, 100003};
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) check_cover(p, ns[k]);
        for (int rep = 0; rep < 200; rep++) check_cover(p, 33);   /* many generations */

        nest_ctx nc = {p, 0};
        qc_threadpool_parallel_for(p, 100, outer_fn, &nc);
        CHECK(atomic_load(&nc.sum) == 1000);

        submit_job jobs[3];
        pthread_t th[3];
        for (int i = 0; i < 3; i++) {
            jobs[i] = (submit_job){p, 0};
            pthread_create(&th[i], NULL, submit_main, &jobs[i]);
        }
        for (int i = 0; i < 3; i++) {
            pthread_join(th[i], NULL);
            CHECK(jobs[i].ok);
        }
        qc_threadpool_destroy(p);
    }
    check_cover(NULL, 100);   /* no pool: serial */

    qc_status st = qc_threadpool_create(100000, &p);
    CHECK(st && p == NULL);
    qc_status_free(st);
    for (int i = 0; i < 20; i++) {   /* create/destroy cycles: no leak, no hang */
        CHECK_OK(qc_threadpool_create(3, &p));
        qc_threadpool_destroy(p);
    }
    return qc_test_summary("threadpool");
}
