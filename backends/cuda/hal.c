/* hal.c — the cuda device (qc_hal_cuda_driver): libcuda opened with dlopen,
 * the device's primary context, one stream, arenas in device memory
 * (cuMemAlloc, never managed memory) with a pinned host mirror for I/O, and
 * launches from the artifact's kernel table (hal_load.c parses it).
 *
 * Nodes the table marks HOST (no CUDA kernel yet) run on the host: their
 * inputs are copied to the mirror, the ref kernel runs there (through the
 * ref device, so numerics are ref's), the outputs are copied back. Slow but
 * correct; `qcomp inspect` and the load report count them.
 *
 * Without a driver or a device, create fails with "no CUDA device (...)"
 * and "best available" (runtime/hal.c) moves on to the next driver. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/hal_cuda.h"
#include "ir/dtype.h"

qc_status cu_error(const qc_device *d, CUresult r, const char *call) {
    const char *name = NULL, *msg = NULL;
    if (d && d->cu.GetErrorName) d->cu.GetErrorName(r, &name);
    if (d && d->cu.GetErrorString) d->cu.GetErrorString(r, &msg);
    return qc_error(r == CUDA_ERROR_OUT_OF_MEMORY ? QC_ERR_NOMEM : QC_ERR_INTERNAL,
                    "cuda: %s failed: %s (%s)", call, name ? name : "?", msg ? msg : "?");
}

#define CU_CHECK(d, call, args)                                 \
    do {                                                        \
        CUresult r_ = (d)->cu.call args;                        \
        if (r_ != CUDA_SUCCESS) return cu_error((d), r_, "cu" #call); \
    } while (0)

/* Driver API symbols: versioned names where cuda.h maps the plain one. */
static qc_status resolve(qc_device *d) {
    struct { void **slot; const char *sym; } t[] = {
        {(void **)&d->cu.Init, "cuInit"},
        {(void **)&d->cu.GetErrorName, "cuGetErrorName"},
        {(void **)&d->cu.GetErrorString, "cuGetErrorString"},
        {(void **)&d->cu.DeviceGetCount, "cuDeviceGetCount"},
        {(void **)&d->cu.DeviceGet, "cuDeviceGet"},
        {(void **)&d->cu.DeviceGetName, "cuDeviceGetName"},
        {(void **)&d->cu.DeviceGetAttribute, "cuDeviceGetAttribute"},
        {(void **)&d->cu.PrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
        {(void **)&d->cu.PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
        {(void **)&d->cu.CtxSetCurrent, "cuCtxSetCurrent"},
        {(void **)&d->cu.StreamCreate, "cuStreamCreate"},
        {(void **)&d->cu.StreamDestroy, "cuStreamDestroy_v2"},
        {(void **)&d->cu.StreamSynchronize, "cuStreamSynchronize"},
        {(void **)&d->cu.MemAlloc, "cuMemAlloc_v2"},
        {(void **)&d->cu.MemFree, "cuMemFree_v2"},
        {(void **)&d->cu.MemHostAlloc, "cuMemHostAlloc"},
        {(void **)&d->cu.MemFreeHost, "cuMemFreeHost"},
        {(void **)&d->cu.MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
        {(void **)&d->cu.MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"},
        {(void **)&d->cu.MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"},
        {(void **)&d->cu.ModuleLoadData, "cuModuleLoadData"},
        {(void **)&d->cu.ModuleUnload, "cuModuleUnload"},
        {(void **)&d->cu.ModuleGetFunction, "cuModuleGetFunction"},
        {(void **)&d->cu.LaunchKernel, "cuLaunchKernel"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        *t[i].slot = dlsym(d->libcuda, t[i].sym);
        if (!*t[i].slot)
            return qc_error(QC_ERR_UNSUPPORTED, "no CUDA device (libcuda.so.1 lacks %s)", t[i].sym);
    }
    return NULL;
}

static void cuda_destroy(qc_device *d);

static qc_status open_device(qc_device *d) {
    d->libcuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!d->libcuda) {
        const char *e = dlerror();
        return qc_error(QC_ERR_NOT_FOUND, "no CUDA device (libcuda.so.1: %s)", e ? e : "not found");
    }
    qc_status st = resolve(d);
    if (st) return st;
    CUresult r = d->cu.Init(0);
    if (r != CUDA_SUCCESS) {
        const char *name = "?";
        d->cu.GetErrorName(r, &name);
        return qc_error(QC_ERR_NOT_FOUND, "no CUDA device (cuInit: %s)", name);
    }
    int count = 0;
    CU_CHECK(d, DeviceGetCount, (&count));
    if (count < 1) return qc_error(QC_ERR_NOT_FOUND, "no CUDA device (cuDeviceGetCount: 0 devices)");
    CU_CHECK(d, DeviceGet, (&d->dev, 0));
    int major = 0, minor = 0;
    CU_CHECK(d, DeviceGetAttribute, (&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d->dev));
    CU_CHECK(d, DeviceGetAttribute, (&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d->dev));
    d->sm = major * 10 + minor;
    if (d->cu.DeviceGetName(d->name, (int)sizeof d->name, d->dev) != CUDA_SUCCESS) d->name[0] = 0;
    CU_CHECK(d, PrimaryCtxRetain, (&d->ctx, d->dev));
    CU_CHECK(d, CtxSetCurrent, (d->ctx));
    CU_CHECK(d, StreamCreate, (&d->stream, CU_STREAM_NON_BLOCKING));
    return NULL;
}

static qc_status cuda_create(const qc_hal_create_params *params, qc_device **out) {
    *out = NULL;
    qc_device *d = calloc(1, sizeof *d);
    if (!d) return qc_error(QC_ERR_NOMEM, "cuda device: out of memory");
    pthread_mutex_init(&d->lock, NULL);
    qc_status st = open_device(d);
    if (!st) st = qc_hal_ref_driver.create(params, &d->ref);
    if (st) {
        cuda_destroy(d);
        return st;
    }
    cu_lt_open(d);
    *out = d;
    return NULL;
}

static void cuda_destroy(qc_device *d) {
    if (!d) return;
    if (d->ctx) {
        d->cu.CtxSetCurrent(d->ctx);
        if (d->stream) d->cu.StreamSynchronize(d->stream);
        while (d->models) {
            cu_model *m = d->models;
            d->models = m->next;
            cu_model_unload(d, m);
        }
        if (d->scratch) d->cu.MemFree(d->scratch);
        cu_lt_close(d);
        if (d->stream) d->cu.StreamDestroy(d->stream);
        d->cu.PrimaryCtxRelease(d->dev);
    }
    if (d->ref) qc_hal_ref_driver.destroy(d->ref);
    if (d->libcuda) dlclose(d->libcuda);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static cu_buffer *bufof(const qc_hal_buffer *b) { return (cu_buffer *)(uintptr_t)b->handle; }

static qc_status cuda_alloc(qc_device *d, size_t bytes, qc_hal_buffer *out) {
    memset(out, 0, sizeof *out);
    cu_buffer *b = calloc(1, sizeof *b);
    if (!b) return qc_error(QC_ERR_NOMEM, "cuda device: out of memory");
    size_t n = bytes ? bytes : 64;
    CUresult r = d->cu.CtxSetCurrent(d->ctx);
    if (r == CUDA_SUCCESS) r = d->cu.MemAlloc(&b->ptr, n);
    if (r == CUDA_SUCCESS) r = d->cu.MemHostAlloc(&b->pinned, n, 0);
    if (r != CUDA_SUCCESS) {
        qc_status st = cu_error(d, r, b->ptr ? "cuMemHostAlloc" : "cuMemAlloc");
        if (b->ptr) d->cu.MemFree(b->ptr);
        free(b);
        return qc_status_wrap(st, "allocating a %zu-byte arena", bytes);
    }
    b->size = bytes;
    out->handle = (uint64_t)(uintptr_t)b;
    out->size = bytes;
    return NULL;
}

static void cuda_free(qc_device *d, qc_hal_buffer *buf) {
    cu_buffer *b = bufof(buf);
    if (b) {
        d->cu.CtxSetCurrent(d->ctx);
        d->cu.StreamSynchronize(d->stream);   /* nothing in flight may touch it */
        d->cu.MemFree(b->ptr);
        d->cu.MemFreeHost(b->pinned);
        free(b);
    }
    memset(buf, 0, sizeof *buf);
}

static qc_status cuda_copy(qc_device *d, const qc_hal_copy *c) {
    CU_CHECK(d, CtxSetCurrent, (d->ctx));
    switch (c->kind) {
    case QC_COPY_H2D: {
        cu_buffer *b = bufof(c->dst);
        /* Staged through the pinned mirror so the transfer is a real async
         * DMA; the mirror region is this value's alone during the run. */
        memcpy((uint8_t *)b->pinned + c->dst_off, c->host_src, c->bytes);
        CU_CHECK(d, MemcpyHtoDAsync, (b->ptr + c->dst_off, (uint8_t *)b->pinned + c->dst_off,
                                      c->bytes, d->stream));
        return NULL;
    }
    case QC_COPY_D2H: {
        cu_buffer *b = bufof(c->src);
        CU_CHECK(d, MemcpyDtoHAsync, ((uint8_t *)b->pinned + c->src_off, b->ptr + c->src_off,
                                      c->bytes, d->stream));
        CU_CHECK(d, StreamSynchronize, (d->stream));
        memcpy(c->host_dst, (uint8_t *)b->pinned + c->src_off, c->bytes);
        return NULL;
    }
    case QC_COPY_D2D:
        CU_CHECK(d, MemcpyDtoDAsync, (bufof(c->dst)->ptr + c->dst_off, bufof(c->src)->ptr + c->src_off,
                                      c->bytes, d->stream));
        return NULL;
    }
    return qc_error(QC_ERR_INVALID, "cuda device: unknown copy kind %d", (int)c->kind);
}

static qc_status cuda_sync(qc_device *d) {
    CU_CHECK(d, CtxSetCurrent, (d->ctx));
    CU_CHECK(d, StreamSynchronize, (d->stream));
    return NULL;
}

static cu_model *find_model(qc_device *d, const qc_model_data *m) {
    pthread_mutex_lock(&d->lock);
    cu_model *c = d->models;
    while (c && c->m != m) c = c->next;
    pthread_mutex_unlock(&d->lock);
    return c;
}

static qc_status cuda_check_model(qc_device *d, const qc_model_data *m) {
    CU_CHECK(d, CtxSetCurrent, (d->ctx));
    if (find_model(d, m)) return NULL;
    cu_model *cm = NULL;
    qc_status st = cu_model_load(d, m, &cm);
    if (st) return st;
    pthread_mutex_lock(&d->lock);
    cm->next = d->models;
    d->models = cm;
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static void cuda_release_model(qc_device *d, const qc_model_data *m) {
    pthread_mutex_lock(&d->lock);
    cu_model **p = &d->models;
    while (*p && (*p)->m != m) p = &(*p)->next;
    cu_model *cm = *p;
    if (cm) *p = cm->next;
    pthread_mutex_unlock(&d->lock);
    if (cm) {
        d->cu.CtxSetCurrent(d->ctx);
        d->cu.StreamSynchronize(d->stream);
        cu_model_unload(d, cm);
    }
}

static int64_t lin(int64_t a, int64_t b, int64_t batch) { return a + b * batch; }

/* Grows the device scratch to `bytes` (stream-ordered users: drain first). */
static qc_status scratch_reserve(qc_device *d, size_t bytes, CUdeviceptr *out) {
    qc_status st = NULL;
    pthread_mutex_lock(&d->lock);
    if (bytes > d->scratch_size) {
        CUresult r = d->cu.StreamSynchronize(d->stream);
        if (r == CUDA_SUCCESS && d->scratch) r = d->cu.MemFree(d->scratch);
        d->scratch = 0;
        d->scratch_size = 0;
        if (r == CUDA_SUCCESS) r = d->cu.MemAlloc(&d->scratch, bytes);
        if (r == CUDA_SUCCESS) d->scratch_size = bytes;
        else st = cu_error(d, r, "cuMemAlloc (scratch)");
    }
    *out = d->scratch;
    pthread_mutex_unlock(&d->lock);
    return st;
}

static qc_status param_value(qc_device *d, const cu_model *cm, const qc_hal_launch *l,
                             const cu_param_rt *p, uint64_t *slot) {
    const qc_rt_value *v;
    int64_t x = lin(p->a, p->b, l->batch);
    switch (p->kind) {
    case QC_CU_PARAM_ARENA:
        v = &l->model->values[p->value];
        *slot = bufof(l->arena)->ptr + (uint64_t)lin(v->off_a, v->off_b, l->batch) + (uint64_t)p->a;
        return NULL;
    case QC_CU_PARAM_AUX: *slot = cm->aux + (uint64_t)p->a; return NULL;
    case QC_CU_PARAM_I32: {
        if (x < INT32_MIN || x > INT32_MAX)
            return qc_error(QC_ERR_UNSUPPORTED, "cuda: kernel parameter %lld exceeds int32 at batch %lld",
                            (long long)x, (long long)l->batch);
        int32_t i = (int32_t)x;
        memcpy(slot, &i, 4);
        return NULL;
    }
    case QC_CU_PARAM_I64: memcpy(slot, &x, 8); return NULL;
    case QC_CU_PARAM_SCRATCH: {
        CUdeviceptr s;
        qc_status st = scratch_reserve(d, (size_t)(x > 0 ? x : 1), &s);
        *slot = s;
        return st;
    }
    }
    return qc_error(QC_ERR_INTERNAL, "cuda: param kind %u", p->kind);
}

static qc_status run_launch(qc_device *d, cu_model *cm, const qc_hal_launch *l, uint32_t li) {
    const cu_launch_rt *L = &cm->launches[li];
    uint64_t slots[QC_CU_MAX_PARAMS];
    void *args[QC_CU_MAX_PARAMS];
    for (uint32_t k = 0; k < L->np; k++) {
        qc_status st = param_value(d, cm, l, &cm->params[L->pfirst + k], &slots[k]);
        if (st) return st;
        args[k] = &slots[k];
    }
    int64_t g[3];
    for (int k = 0; k < 3; k++) {
        int64_t n = lin(L->grid[k].a, L->grid[k].b, l->batch);
        g[k] = n <= 0 ? 0 : (n + L->grid[k].div - 1) / L->grid[k].div;
    }
    switch (L->kind) {
    case QC_CU_LAUNCH_COPY:
        if (slots[0] == slots[1] || g[0] == 0) return NULL;   /* in place */
        CU_CHECK(d, MemcpyDtoDAsync, (slots[1], slots[0], (size_t)g[0], d->stream));
        return NULL;
    case QC_CU_LAUNCH_GEMM: {
        /* Plan lookup and enqueue under the model's lock: another session
         * at another batch may replan the cached entry. */
        cu_lt_plan *p = NULL;
        const qc_cu_gemm *gm = &cm->gemms[L->extra];
        pthread_mutex_lock(&cm->lt_lock);
        qc_status st = cu_lt_plan_get(d, cm, (int32_t)L->extra, l->batch, &p);
        if (!st)
            st = cu_lt_run(d, p, slots[gm->param_a - L->pfirst], slots[gm->param_b - L->pfirst],
                           slots[gm->param_c - L->pfirst]);
        pthread_mutex_unlock(&cm->lt_lock);
        return st;
    }
    default:
        if (!g[0] || !g[1] || !g[2]) return NULL;   /* empty batch */
        if (g[0] > 0x7fffffff || g[1] > 65535 || g[2] > 65535)
            return qc_error(QC_ERR_UNSUPPORTED, "cuda: grid %lldx%lldx%lld too large at batch %lld",
                            (long long)g[0], (long long)g[1], (long long)g[2], (long long)l->batch);
        CU_CHECK(d, LaunchKernel, (L->fn, (unsigned)g[0], (unsigned)g[1], (unsigned)g[2], L->block[0],
                                   L->block[1], L->block[2], L->shared, d->stream, args, NULL));
        return NULL;
    }
}

/* A node without a CUDA kernel: through the pinned mirror and the ref device. */
static qc_status run_host(qc_device *d, const qc_hal_launch *l) {
    const qc_model_data *m = l->model;
    const qc_node *n = &m->nodes[l->node];
    cu_buffer *b = bufof(l->arena);
    for (int32_t k = 0; k < n->n_in; k++) {
        int32_t v = n->in[k];
        if (v < 0 || m->values[v].data) continue;
        size_t off = (size_t)lin(m->values[v].off_a, m->values[v].off_b, l->batch);
        size_t bytes = qc_dtype_bytes(l->descs[v].dtype, qc_type_numel(&l->descs[v]));
        if (bytes) CU_CHECK(d, MemcpyDtoHAsync, ((uint8_t *)b->pinned + off, b->ptr + off, bytes, d->stream));
    }
    CU_CHECK(d, StreamSynchronize, (d->stream));
    qc_hal_buffer host = {.host = b->pinned, .size = b->size};
    qc_hal_launch hl = *l;
    hl.arena = &host;
    qc_status st = qc_hal_ref_driver.launch(d->ref, &hl);
    if (st) return st;
    for (int32_t k = 0; k < n->n_out; k++) {
        int32_t v = n->out[k];
        if (v < 0) continue;
        size_t off = (size_t)lin(m->values[v].off_a, m->values[v].off_b, l->batch);
        size_t bytes = qc_dtype_bytes(l->descs[v].dtype, qc_type_numel(&l->descs[v]));
        if (bytes) CU_CHECK(d, MemcpyHtoDAsync, (b->ptr + off, (uint8_t *)b->pinned + off, bytes, d->stream));
    }
    return NULL;
}

static qc_status cuda_launch(qc_device *d, const qc_hal_launch *l) {
    cu_model *cm = find_model(d, l->model);
    if (!cm) return qc_error(QC_ERR_INVALID, "cuda: model was not checked on this device");
    CU_CHECK(d, CtxSetCurrent, (d->ctx));
    const cu_node_rt *nd = &cm->nodes[l->node];
    qc_status st = NULL;
    if (nd->mode == QC_CU_NODE_HOST) st = run_host(d, l);
    else if (nd->mode == QC_CU_NODE_LAUNCH)
        for (uint32_t i = 0; i < nd->count && !st; i++) st = run_launch(d, cm, l, nd->first + i);
    return st ? qc_status_wrap(st, "node %d '%s'", (int)l->node,
                               l->model->nodes[l->node].name ? l->model->nodes[l->node].name : "?")
              : NULL;
}

const qc_hal_driver qc_hal_cuda_driver = {
    .name = "cuda",
    .target = QC_TARGET_CUDA,
    .priority = 30,   /* a GPU outranks every host backend */
    .create = cuda_create,
    .destroy = cuda_destroy,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .copy = cuda_copy,
    .check_model = cuda_check_model,
    .release_model = cuda_release_model,
    .launch = cuda_launch,
    .sync = cuda_sync,
};
