/* runtime.c — qc_runtime (a device + a thread pool) and qc_model (a loaded
 * artifact, immutable and reference-counted) behind the public API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_internal.h"

/* ---- runtime ------------------------------------------------------------- */

void qc_runtime_options_init(qc_runtime_options *opts) {
    memset(opts, 0, sizeof *opts);
}

qc_status qc_runtime_create(const qc_runtime_options *opts, qc_runtime **out) {
    if (!out) return qc_error(QC_ERR_INVALID, "qc_runtime_create: out is NULL");
    *out = NULL;
    qc_runtime_options defaults;
    qc_runtime_options_init(&defaults);
    if (!opts) opts = &defaults;
    if (opts->threads < 0)
        return qc_error(QC_ERR_INVALID, "qc_runtime_create: threads is %d (0 = all CPUs)",
                        (int)opts->threads);
    qc_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return qc_error(QC_ERR_NOMEM, "qc_runtime_create: out of memory");
    qc_status st = qc_threadpool_create(opts->threads, &rt->pool);
    if (!st) {
        qc_hal_create_params params = {.pool = rt->pool};
        st = qc_hal_open(opts->backend, &params, &rt->driver, &rt->device);
    }
    if (st) {
        qc_runtime_destroy(rt);
        return qc_status_wrap(st, "qc_runtime_create");
    }
    *out = rt;
    return NULL;
}

void qc_runtime_destroy(qc_runtime *rt) {
    if (!rt) return;
    if (rt->device) rt->driver->destroy(rt->device);
    qc_threadpool_destroy(rt->pool);
    free(rt);
}

const char *qc_runtime_device_name(const qc_runtime *rt) { return rt->driver->name; }
int32_t qc_runtime_thread_count(const qc_runtime *rt) { return qc_threadpool_size(rt->pool); }
int32_t qc_runtime_device_count(void) { return qc_hal_driver_count(); }

const char *qc_runtime_device_at(int32_t i) {
    const qc_hal_driver *d = qc_hal_driver_at(i);
    return d ? d->name : NULL;
}

/* ---- model ----------------------------------------------------------------- */

qc_status qc_model_wrap(qc_runtime *rt, qc_model_data *data, void (*free_data)(qc_model_data *),
                        qc_model **out) {
    *out = NULL;
    qc_status st = NULL;
    if (rt->driver->check_model) st = rt->driver->check_model(rt->device, data);
    if (st) {
        st = qc_status_wrap(st, "model '%s' cannot run on device '%s'",
                            data->name ? data->name : "?", rt->driver->name);
        free_data(data);
        return st;
    }
    qc_model *m = calloc(1, sizeof *m);
    if (!m) {
        if (rt->driver->release_model) rt->driver->release_model(rt->device, data);
        free_data(data);
        return qc_error(QC_ERR_NOMEM, "loading a model: out of memory");
    }
    if (rt->driver->model_open) {
        st = rt->driver->model_open(rt->device, data, &m->dev_state);
        if (st) {
            st = qc_status_wrap(st, "model '%s' cannot run on device '%s'",
                                data->name ? data->name : "?", rt->driver->name);
            free_data(data);
            free(m);
            return st;
        }
    }
    atomic_init(&m->refs, 1);
    m->rt = rt;
    m->data = data;
    m->free_data = free_data;
    *out = m;
    return NULL;
}

const qc_model_data *qc_model_get_data(const qc_model *m) { return m->data; }

qc_status qc_model_load_memory_code(qc_runtime *rt, const void *buf, size_t len,
                                    qc_load_mode mode, const qc_code_provider *code,
                                    qc_model **out) {
    qc_code_provider none = {0};
    if (!code) code = &none;
    qc_status st = NULL;
    if (out) *out = NULL;
    if (!out) st = qc_error(QC_ERR_INVALID, "qc_model_load_memory: out is NULL");
    else if (!rt || !buf)
        st = qc_error(QC_ERR_INVALID, "qc_model_load_memory: %s is NULL", rt ? "buf" : "rt");
    else if (mode != QC_LOAD_COPY && mode != QC_LOAD_BORROW)
        st = qc_error(QC_ERR_INVALID, "qc_model_load_memory: unknown load mode %d", (int)mode);
    qc_model_data *data = NULL;
    if (!st) st = qc_model_data_parse(buf, len, mode == QC_LOAD_COPY, "<memory>", &data);
    if (st) {
        if (code->release) code->release(code->ctx);   /* ours from the call on */
        return qc_status_wrap(st, "qc_model_load_memory");
    }
    data->code = *code;
    return qc_model_wrap(rt, data, qc_model_data_free, out);
}

qc_status qc_model_load_memory(qc_runtime *rt, const void *buf, size_t len, qc_load_mode mode,
                               qc_model **out) {
    return qc_model_load_memory_code(rt, buf, len, mode, NULL, out);
}

qc_status qc_model_data_read_file(const char *path, qc_model_data **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return qc_error(errno == ENOENT ? QC_ERR_NOT_FOUND : QC_ERR_IO, "cannot open '%s': %s",
                        path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    qc_status st = NULL;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = qc_error(QC_ERR_NOMEM, "reading '%s': out of memory", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) st = qc_error(QC_ERR_IO, "reading '%s' failed", path);
            break;
        }
    }
    fclose(f);
    /* Copy mode: the model keeps its own aligned image, the read buffer goes. */
    if (!st) st = qc_model_data_parse(buf, len, true, path, out);
    free(buf);
    return st;
}

qc_status qc_model_load_file(qc_runtime *rt, const char *path, qc_model **out) {
    if (!out) return qc_error(QC_ERR_INVALID, "qc_model_load_file: out is NULL");
    *out = NULL;
    if (!rt || !path)
        return qc_error(QC_ERR_INVALID, "qc_model_load_file: %s is NULL", rt ? "path" : "rt");
    qc_model_data *data = NULL;
    qc_status st = qc_model_data_read_file(path, &data);
    if (st) return st;
    return qc_model_wrap(rt, data, qc_model_data_free, out);
}

void qc_model_retain(qc_model *m) {
    if (m) atomic_fetch_add(&m->refs, 1);
}

void qc_model_release(qc_model *m) {
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
    /* The device's state may point into the code; close it first. */
    if (m->rt->driver->model_close) m->rt->driver->model_close(m->rt->device, m->dev_state);
    if (m->rt->driver->release_model) m->rt->driver->release_model(m->rt->device, m->data);
    m->free_data(m->data);
    free(m);
}

const char *qc_model_name(const qc_model *m) { return m->data->name ? m->data->name : ""; }
const char *qc_model_batch_name(const qc_model *m) { return m->data->batch; }
int32_t qc_model_input_count(const qc_model *m) { return m->data->n_inputs; }
int32_t qc_model_output_count(const qc_model *m) { return m->data->n_outputs; }

static const qc_rt_value *io_value(const qc_model *m, bool input, int32_t i) {
    const qc_model_data *d = m->data;
    int32_t n = input ? d->n_inputs : d->n_outputs;
    if (i < 0 || i >= n) return NULL;
    return &d->values[input ? d->inputs[i] : d->outputs[i]];
}

const char *qc_model_input_name(const qc_model *m, int32_t i) {
    const qc_rt_value *v = io_value(m, true, i);
    return v ? v->name : NULL;
}

const char *qc_model_output_name(const qc_model *m, int32_t i) {
    const qc_rt_value *v = io_value(m, false, i);
    return v ? v->name : NULL;
}

const qc_tensor_desc *qc_model_input_desc(const qc_model *m, int32_t i) {
    const qc_rt_value *v = io_value(m, true, i);
    return v ? &v->desc : NULL;
}

const qc_tensor_desc *qc_model_output_desc(const qc_model *m, int32_t i) {
    const qc_rt_value *v = io_value(m, false, i);
    return v ? &v->desc : NULL;
}

static int32_t find_io(const qc_model *m, bool input, const char *name) {
    int32_t n = input ? m->data->n_inputs : m->data->n_outputs;
    for (int32_t i = 0; name && i < n; i++) {
        const char *vn = io_value(m, input, i)->name;
        if (vn && !strcmp(vn, name)) return i;
    }
    return -1;
}

int32_t qc_model_find_input(const qc_model *m, const char *name) { return find_io(m, true, name); }
int32_t qc_model_find_output(const qc_model *m, const char *name) {
    return find_io(m, false, name);
}
