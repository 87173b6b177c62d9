/* arena.c — a session's one device allocation. The memory plan puts every
 * non-constant value at off_a + off_b * batch inside it, so sizing it is a
 * single evaluation of arena_a + arena_b * batch. */
#include "runtime/rt_internal.h"

qc_status qc_arena_eval(int64_t a, int64_t b, int64_t batch, const char *what, int64_t *out) {
    if (a < 0 || b < 0 || batch < 0)
        return qc_error(QC_ERR_INVALID, "%s: negative term (%lld + %lld * %lld)", what,
                        (long long)a, (long long)b, (long long)batch);
    if (b && batch > (INT64_MAX - a) / b)
        return qc_error(QC_ERR_INVALID, "%s overflows at batch %lld", what, (long long)batch);
    *out = a + b * batch;
    return NULL;
}

qc_status qc_arena_reserve(const qc_runtime *rt, qc_arena *ar, int64_t bytes) {
    if (bytes < 0 || (uint64_t)bytes > SIZE_MAX / 2)
        return qc_error(QC_ERR_NOMEM, "arena of %lld bytes is too large", (long long)bytes);
    if (ar->allocated && ar->buf.size >= (size_t)bytes) return NULL;
    qc_arena_release(rt, ar);
    /* Never zero bytes: a valid buffer keeps offsets of empty tensors legal. */
    qc_status st = rt->driver->alloc(rt->device, bytes ? (size_t)bytes : 1, &ar->buf);
    if (st) return qc_status_wrap(st, "allocating a %lld-byte arena on '%s'", (long long)bytes,
                                  rt->driver->name);
    ar->allocated = true;
    return NULL;
}

void qc_arena_release(const qc_runtime *rt, qc_arena *ar) {
    if (ar->allocated) rt->driver->free(rt->device, &ar->buf);
    ar->allocated = false;
}
