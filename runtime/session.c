/* session.c — qc_session: one arena on the runtime's device, sized for a
 * bound batch, and the run loop: bind inputs, copy them in, launch every
 * node in schedule order, sync, copy outputs out.
 *
 * Everything mutable during a run (arena, per-value concrete types) belongs
 * to the session, and the model is read-only, so sessions of one model run
 * concurrently without locks. */
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "runtime/rt_internal.h"

struct qc_session {
    qc_model *model;             /* retained */
    const qc_runtime *rt;
    const qc_model_data *d;
    int64_t fixed_batch;         /* from the options, or -1 */
    int64_t batch;               /* what the arena is checked for, or -1 */
    int64_t arena_bytes;
    qc_arena arena;
    qc_tensor_desc *descs;       /* per value: concrete type during a run */
    const void **host_values;    /* per value: an input read in place this run, or NULL */
    qc_hal_run_stats stats;      /* the device's measurements of the last run */
};

void qc_session_options_init(qc_session_options *opts) {
    memset(opts, 0, sizeof *opts);
    opts->batch = -1;
}

qc_status qc_session_create(qc_model *m, const qc_session_options *opts, qc_session **out) {
    if (!out) return qc_error(QC_ERR_INVALID, "qc_session_create: out is NULL");
    *out = NULL;
    if (!m) return qc_error(QC_ERR_INVALID, "qc_session_create: model is NULL");
    qc_session_options defaults;
    qc_session_options_init(&defaults);
    if (!opts) opts = &defaults;
    qc_session *s = calloc(1, sizeof *s);
    if (!s) return qc_error(QC_ERR_NOMEM, "qc_session_create: out of memory");
    s->d = m->data;
    s->descs = calloc((size_t)s->d->n_values + 1, sizeof *s->descs);
    s->host_values = calloc((size_t)s->d->n_values + 1, sizeof *s->host_values);
    if (!s->descs || !s->host_values) {
        free(s->descs);
        free(s->host_values);
        free(s);
        return qc_error(QC_ERR_NOMEM, "qc_session_create: out of memory");
    }
    qc_model_retain(m);
    s->model = m;
    s->rt = m->rt;
    s->batch = -1;
    s->stats = (qc_hal_run_stats){-1, -1};
    s->fixed_batch = s->d->batch ? opts->batch : -1;
    if (s->fixed_batch < -1) s->fixed_batch = -1;
    *out = s;
    return NULL;
}

void qc_session_destroy(qc_session *s) {
    if (!s) return;
    qc_arena_release(s->rt, &s->arena);
    free(s->descs);
    free(s->host_values);
    qc_model_release(s->model);
    free(s);
}

int64_t qc_session_batch(const qc_session *s) { return s->batch; }

void qc_session_last_run_stats(const qc_session *s, qc_run_stats *out) {
    if (!out) return;
    out->device_ns = s ? s->stats.device_ns : -1;
    out->recorded = s ? s->stats.recorded : -1;
}

/* ---- binding ------------------------------------------------------------------ */

/* A host device reads input v straight from the caller's tensor, saving the
 * copy into the arena, when the tensor is aligned like an arena slot (which
 * qc_tensor_alloc guarantees) and v is not also a graph output (those are
 * copied out of the arena). Kernels never write their inputs, so the
 * caller's data stays untouched. */
static bool can_read_in_place(const qc_session *s, int32_t v, const void *data) {
    if (!s->rt->driver->host_memory || ((uintptr_t)data & 63u)) return false;
    for (int32_t o = 0; o < s->d->n_outputs; o++)
        if (s->d->outputs[o] == v) return false;
    return true;
}

static char *fmt_desc(const qc_session *s, const qc_tensor_desc *t, char *buf, size_t n) {
    qc_type_format(t, s->d->batch, buf, n);
    return buf;
}

/* Checks inputs against the declared types and finds the batch they imply. */
static qc_status bind_batch(qc_session *s, const qc_tensor *inputs, int64_t *batch) {
    const qc_model_data *d = s->d;
    int64_t b = s->fixed_batch;
    for (int32_t i = 0; i < d->n_inputs; i++) {
        const qc_rt_value *v = &d->values[d->inputs[i]];
        const qc_tensor_desc *t = &inputs[i].desc;
        char want[160], got[160];
        if (t->rank < 0 || t->rank > QC_MAX_RANK)
            return qc_error(QC_ERR_INVALID, "qc_session_run: input '%s' has rank %d", v->name,
                            (int)t->rank);
        bool ok = t->dtype == v->desc.dtype && t->rank == v->desc.rank;
        for (int32_t k = 0; ok && k < t->rank; k++) {
            int64_t w = v->desc.dims[k];
            if (t->dims[k] < 0) ok = false;
            else if (w != QC_DIM_SYM) ok = t->dims[k] == w;
            else if (b >= 0 && t->dims[k] != b) {
                return qc_error(QC_ERR_INVALID,
                                "qc_session_run: input '%s' (%s): dim %d is %lld but %s is %lld",
                                v->name, fmt_desc(s, t, got, sizeof got), (int)k,
                                (long long)t->dims[k], d->batch, (long long)b);
            } else {
                b = t->dims[k];
            }
        }
        if (!ok)
            return qc_error(QC_ERR_INVALID, "qc_session_run: input '%s' is %s, the model takes %s",
                            v->name, fmt_desc(s, t, got, sizeof got),
                            fmt_desc(s, &v->desc, want, sizeof want));
        if (!inputs[i].data && qc_type_numel(t) != 0)
            return qc_error(QC_ERR_INVALID, "qc_session_run: input '%s' has no data", v->name);
    }
    if (b < 0 && d->batch) {
        /* Only reachable when no input carries the batch dim. */
        bool used = false;
        for (int32_t i = 0; i < d->n_values && !used; i++)
            for (int32_t k = 0; k < d->values[i].desc.rank; k++)
                used |= d->values[i].desc.dims[k] == QC_DIM_SYM;
        if (used)
            return qc_error(QC_ERR_INVALID,
                            "qc_session_run: no input binds %s; set qc_session_options.batch",
                            d->batch);
    }
    *batch = b < 0 ? 0 : b;
    return NULL;
}

static qc_status concrete_desc(const qc_session *s, const qc_rt_value *v, int64_t batch,
                               qc_tensor_desc *out) {
    *out = v->desc;
    for (int32_t k = 0; k < out->rank; k++)
        if (out->dims[k] == QC_DIM_SYM) out->dims[k] = batch;
    int64_t n = qc_type_numel(out);
    if (n < 0 || (qc_dtype_bits(out->dtype) && (uint64_t)n > (uint64_t)INT64_MAX / 8))
        return qc_error(QC_ERR_INVALID, "value '%s' does not fit at %s = %lld", v->name,
                        s->d->batch ? s->d->batch : "batch", (long long)batch);
    return NULL;
}

/* Sizes the arena for `batch` and checks every planned slot lies inside it
 * (the loader checked the plan's form; only the batch can break it now). */
static qc_status bind_arena(qc_session *s, int64_t batch) {
    const qc_model_data *d = s->d;
    if (s->batch == batch) return NULL;
    s->batch = -1;
    int64_t size = 0;
    qc_status st = qc_arena_eval(d->arena_a, d->arena_b, batch, "arena size", &size);
    if (st) return qc_status_wrap(st, "qc_session_run");
    for (int32_t i = 0; i < d->n_values; i++) {
        const qc_rt_value *v = &d->values[i];
        if (v->data) continue;
        qc_tensor_desc t;
        if ((st = concrete_desc(s, v, batch, &t))) return qc_status_wrap(st, "qc_session_run");
        int64_t off = 0;
        if (v->off_a < 0)
            return qc_error(QC_ERR_INVALID, "qc_session_run: value '%s' has no arena slot", v->name);
        if ((st = qc_arena_eval(v->off_a, v->off_b, batch, v->name, &off)))
            return qc_status_wrap(st, "qc_session_run: arena offset of");
        size_t bytes = qc_dtype_bytes(t.dtype, qc_type_numel(&t));
        if ((uint64_t)off > (uint64_t)size || bytes > (uint64_t)(size - off))
            return qc_error(QC_ERR_INVALID,
                            "qc_session_run: value '%s' (%zu bytes at %lld) overruns the "
                            "%lld-byte arena at %s = %lld", v->name, bytes, (long long)off,
                            (long long)size, d->batch ? d->batch : "batch", (long long)batch);
    }
    if ((st = qc_arena_reserve(s->rt, &s->arena, size))) return qc_status_wrap(st, "qc_session_run");
    s->batch = batch;
    s->arena_bytes = size;
    return NULL;
}

static size_t slot_offset(const qc_session *s, const qc_rt_value *v) {
    return (size_t)(v->off_a + v->off_b * s->batch);
}

/* ---- run ---------------------------------------------------------------------- */

static qc_status copy_out(qc_session *s, int32_t i, qc_tensor *o, bool *allocated) {
    const qc_model_data *d = s->d;
    int32_t id = d->outputs[i];
    const qc_rt_value *v = &d->values[id];
    const qc_tensor_desc *t = v->data ? &v->desc : &s->descs[id];
    size_t bytes = qc_dtype_bytes(t->dtype, qc_type_numel(t));
    *allocated = false;
    if (!o->data) {
        qc_status st = qc_tensor_alloc(t, o);
        if (st) return qc_status_wrap(st, "qc_session_run: output '%s'", v->name);
        *allocated = true;
    } else if (o->desc.rank < 0 || o->desc.rank > QC_MAX_RANK || !qc_type_equal(&o->desc, t)) {
        if (o->desc.rank < 0 || o->desc.rank > QC_MAX_RANK)
            return qc_error(QC_ERR_INVALID, "qc_session_run: output '%s' buffer has rank %d",
                            v->name, (int)o->desc.rank);
        char want[160], got[160];
        return qc_error(QC_ERR_INVALID, "qc_session_run: output '%s' is %s but its buffer is %s",
                        v->name, fmt_desc(s, t, want, sizeof want),
                        fmt_desc(s, &o->desc, got, sizeof got));
    }
    if (!bytes) return NULL;
    if (v->data) {
        memcpy(o->data, v->data, bytes);
        return NULL;
    }
    qc_hal_copy c = {.kind = QC_COPY_D2H, .host_dst = o->data, .src = &s->arena.buf,
                     .src_off = slot_offset(s, v), .bytes = bytes};
    qc_status st = s->rt->driver->copy(s->rt->device, &c);
    return st ? qc_status_wrap(st, "qc_session_run: copying out '%s'", v->name) : NULL;
}

qc_status qc_session_run(qc_session *s, const qc_tensor *inputs, int32_t n_inputs,
                         qc_tensor *outputs, int32_t n_outputs) {
    if (!s) return qc_error(QC_ERR_INVALID, "qc_session_run: session is NULL");
    const qc_model_data *d = s->d;
    const qc_runtime *rt = s->rt;
    if (n_inputs != d->n_inputs || n_outputs != d->n_outputs)
        return qc_error(QC_ERR_INVALID,
                        "qc_session_run: model '%s' takes %d inputs and %d outputs, got %d and %d",
                        d->name ? d->name : "?", (int)d->n_inputs, (int)d->n_outputs,
                        (int)n_inputs, (int)n_outputs);
    if ((n_inputs && !inputs) || (n_outputs && !outputs))
        return qc_error(QC_ERR_INVALID, "qc_session_run: inputs or outputs is NULL");
    s->stats = (qc_hal_run_stats){-1, -1};   /* a failed run measured nothing */
    int64_t batch = 0;
    qc_status st = bind_batch(s, inputs, &batch);
    if (!st) st = bind_arena(s, batch);
    if (st) return st;
    bool begun = false;
    if (rt->driver->run_begin) {
        if ((st = rt->driver->run_begin(rt->device, &s->arena.buf)))
            return qc_status_wrap(st, "qc_session_run on '%s'", rt->driver->name);
        begun = true;
    }
    for (int32_t i = 0; i < d->n_values && !st; i++)
        st = concrete_desc(s, &d->values[i], batch, &s->descs[i]);
    bool in_place = false;
    for (int32_t i = 0; i < d->n_inputs && !st; i++) {
        const qc_rt_value *v = &d->values[d->inputs[i]];
        size_t bytes = qc_dtype_bytes(inputs[i].desc.dtype, qc_type_numel(&inputs[i].desc));
        s->host_values[d->inputs[i]] = NULL;
        if (!bytes) continue;
        if (can_read_in_place(s, d->inputs[i], inputs[i].data)) {
            s->host_values[d->inputs[i]] = inputs[i].data;
            in_place = true;
            continue;
        }
        qc_hal_copy c = {.kind = QC_COPY_H2D, .dst = &s->arena.buf, .dst_off = slot_offset(s, v),
                         .host_src = inputs[i].data, .bytes = bytes};
        st = rt->driver->copy(rt->device, &c);
        if (st) st = qc_status_wrap(st, "qc_session_run: copying in '%s'", v->name);
    }
    for (int32_t ni = 0; ni < d->n_nodes && !st; ni++) {
        qc_hal_launch l = {d,       ni, batch, &s->arena.buf, s->descs, s->model->dev_state,
                           in_place ? s->host_values : NULL};
        st = rt->driver->launch(rt->device, &l);
        if (st) st = qc_status_wrap(st, "qc_session_run on '%s'", rt->driver->name);
    }
    /* Always after a run_begin, so the device never keeps a half run. */
    if (begun && rt->driver->run_end) {
        qc_status se = rt->driver->run_end(rt->device, &s->arena.buf, &s->stats);
        if (se && !st) st = qc_status_wrap(se, "qc_session_run on '%s'", rt->driver->name);
        else qc_status_free(se);
    }
    if (!st && (st = rt->driver->sync(rt->device)))
        st = qc_status_wrap(st, "qc_session_run: sync on '%s'", rt->driver->name);
    bool mine[n_outputs > 0 ? n_outputs : 1];
    int32_t done = 0;
    for (; done < n_outputs && !st; done++) st = copy_out(s, done, &outputs[done], &mine[done]);
    if (st)
        for (int32_t i = 0; i < done; i++)
            if (mine[i]) qc_tensor_release(&outputs[i]);
    return st;
}

qc_status qc_session_run_named(qc_session *s, const char *const *input_names,
                               const qc_tensor *inputs, int32_t n_inputs,
                               const char *const *output_names, qc_tensor *outputs,
                               int32_t n_outputs) {
    if (!s) return qc_error(QC_ERR_INVALID, "qc_session_run_named: session is NULL");
    const qc_model *m = s->model;
    int32_t ni = s->d->n_inputs, no = s->d->n_outputs;
    if (n_inputs != ni)
        return qc_error(QC_ERR_INVALID, "qc_session_run_named: model '%s' takes %d inputs, got %d",
                        qc_model_name(m), (int)ni, (int)n_inputs);
    if (n_outputs < 0 || n_outputs > no)
        return qc_error(QC_ERR_INVALID, "qc_session_run_named: %d outputs requested, model has %d",
                        (int)n_outputs, (int)no);
    qc_tensor *in = calloc((size_t)ni + 1, sizeof *in), *out = calloc((size_t)no + 1, sizeof *out);
    int32_t *where = calloc((size_t)no + 1, sizeof *where);   /* model output -> caller slot + 1 */
    bool *seen = calloc((size_t)ni + 1, 1);
    qc_status st = NULL;
    if (!in || !out || !where || !seen) st = qc_error(QC_ERR_NOMEM, "qc_session_run_named: out of memory");
    for (int32_t i = 0; i < n_inputs && !st; i++) {
        const char *name = input_names ? input_names[i] : NULL;
        int32_t k = qc_model_find_input(m, name);
        if (k < 0)
            st = qc_error(QC_ERR_NOT_FOUND, "qc_session_run_named: model '%s' has no input '%s'",
                          qc_model_name(m), name ? name : "(null)");
        else if (seen[k])
            st = qc_error(QC_ERR_INVALID, "qc_session_run_named: input '%s' given twice", name);
        else {
            seen[k] = true;
            in[k] = inputs[i];
        }
    }
    for (int32_t i = 0; i < n_outputs && !st; i++) {
        const char *name = output_names ? output_names[i] : NULL;
        int32_t k = qc_model_find_output(m, name);
        if (k < 0)
            st = qc_error(QC_ERR_NOT_FOUND, "qc_session_run_named: model '%s' has no output '%s'",
                          qc_model_name(m), name ? name : "(null)");
        else if (where[k])
            st = qc_error(QC_ERR_INVALID, "qc_session_run_named: output '%s' requested twice", name);
        else {
            where[k] = i + 1;
            out[k] = outputs[i];
        }
    }
    if (!st) st = qc_session_run(s, in, ni, out, no);
    for (int32_t k = 0; !st && k < no; k++) {
        if (where[k]) outputs[where[k] - 1] = out[k];
        else qc_tensor_release(&out[k]);   /* not asked for: runtime-allocated */
    }
    free(in);
    free(out);
    free(where);
    free(seen);
    return st;
}
