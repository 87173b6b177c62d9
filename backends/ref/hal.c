/* hal.c — the ref device: host memory, and nodes run one at a time with the
 * reference kernels (backends/ref/kernels.h) over the session's arena.
 *
 * This is the runtime-side twin of the graph interpreter (interp.c): the
 * same inference (qc_infer_node on concrete types and data) and the same
 * kernels, so its outputs are bit-identical to qc_ref_run. It sees only the
 * loaded artifact (runtime/model.h), never the IR. The device keeps no
 * mutable state, so concurrent sessions need no locking. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/kernels.h"
#include "ir/dtype.h"
#include "runtime/hal.h"

#define REF_MAX_IO 64
#define REF_ALIGN 64

struct qc_device {
    qc_threadpool *pool;   /* unused by the (serial) ref kernels today */
};

static qc_status ref_create(const qc_hal_create_params *params, qc_device **out) {
    qc_device *d = calloc(1, sizeof *d);
    if (!d) return qc_error(QC_ERR_NOMEM, "ref device: out of memory");
    d->pool = params ? params->pool : NULL;
    *out = d;
    return NULL;
}

static void ref_destroy(qc_device *d) { free(d); }

static qc_status ref_alloc(qc_device *d, size_t bytes, qc_hal_buffer *out) {
    (void)d;
    memset(out, 0, sizeof *out);
    if (bytes > SIZE_MAX - REF_ALIGN)
        return qc_error(QC_ERR_NOMEM, "ref device: %zu bytes is too large", bytes);
    size_t rounded = (bytes + REF_ALIGN - 1) / REF_ALIGN * REF_ALIGN;
    /* 64-byte alignment: plan offsets are multiples of 64, so every value is
     * as aligned as any kernel could want. */
    void *p = aligned_alloc(REF_ALIGN, rounded ? rounded : REF_ALIGN);
    if (!p) return qc_error(QC_ERR_NOMEM, "ref device: out of memory allocating %zu bytes", bytes);
    out->host = p;
    out->size = bytes;
    return NULL;
}

static void ref_free(qc_device *d, qc_hal_buffer *buf) {
    (void)d;
    free(buf->host);
    memset(buf, 0, sizeof *buf);
}

static qc_status ref_copy(qc_device *d, const qc_hal_copy *c) {
    (void)d;
    switch (c->kind) {
    case QC_COPY_H2D: memcpy((uint8_t *)c->dst->host + c->dst_off, c->host_src, c->bytes); break;
    case QC_COPY_D2H: memcpy(c->host_dst, (const uint8_t *)c->src->host + c->src_off, c->bytes); break;
    case QC_COPY_D2D:
        memmove((uint8_t *)c->dst->host + c->dst_off, (const uint8_t *)c->src->host + c->src_off,
                c->bytes);
        break;
    default: return qc_error(QC_ERR_INVALID, "ref device: unknown copy kind %d", (int)c->kind);
    }
    return NULL;
}

static qc_status ref_check_model(qc_device *d, const qc_model_data *m) {
    (void)d;
    /* Ref runs the graph section itself, which every artifact has; unknown
     * ops would fail here rather than in the middle of a run. */
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const qc_node *n = &m->nodes[i];
        if (!qc_op_get_info(n->op)) return qc_node_error(n, QC_ERR_UNSUPPORTED, "unknown op");
        if (n->n_in > REF_MAX_IO || n->n_out > REF_MAX_IO)
            return qc_node_error(n, QC_ERR_UNSUPPORTED, "more than %d inputs or outputs",
                                 REF_MAX_IO);
    }
    return NULL;
}

static size_t desc_bytes(const qc_tensor_desc *d) {
    int64_t n = qc_type_numel(d);
    return n < 0 ? 0 : qc_dtype_bytes(d->dtype, n);
}

/* The planned slot of a non-constant value: [off, off + bytes). The session
 * has checked every slot fits the arena at this batch. */
static uint8_t *slot(const qc_hal_launch *l, int32_t v) {
    const qc_rt_value *rv = &l->model->values[v];
    if (l->host_values && l->host_values[v]) return (uint8_t *)(uintptr_t)l->host_values[v];
    return (uint8_t *)l->arena->host + rv->off_a + rv->off_b * l->batch;
}

static bool overlaps(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
    return na && nb && a < b + nb && b < a + na;
}

qc_status qc_hal_ref_launch(const qc_hal_launch *l) {
    const qc_model_data *m = l->model;
    const qc_node *n = &m->nodes[l->node];
    qc_tensor in[REF_MAX_IO], out[REF_MAX_IO];
    qc_type in_types[REF_MAX_IO], out_types[REF_MAX_IO];
    const void *in_data[REF_MAX_IO];
    size_t in_bytes[REF_MAX_IO];
    for (int32_t k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        in_bytes[k] = 0;
        int32_t v = n->in[k];
        if (v >= 0) {
            const qc_rt_value *rv = &m->values[v];
            in[k].desc = rv->data ? rv->desc : l->descs[v];
            in[k].data = rv->data ? (void *)rv->data : slot(l, v);
            if (!rv->data) in_bytes[k] = desc_bytes(&in[k].desc);
        }
        in_types[k] = in[k].desc;
        in_data[k] = in[k].data;
    }
    qc_infer_ctx ctx = {m->batch, n, n->n_in, in_types, in_data, n->n_out, out_types};
    qc_status st = qc_infer_node(&ctx);
    if (st) return st;

    /* Outputs go straight into their slots, zeroed first as the kernels
     * expect, unless a slot overlaps an input (an in-place pair from the
     * planner): then the kernel writes a scratch buffer copied over after,
     * so no kernel ever has to cope with aliasing. */
    void *scratch[REF_MAX_IO] = {0};
    for (int32_t k = 0; k < n->n_out && !st; k++) {
        int32_t v = n->out[k];
        const qc_rt_value *rv = &m->values[v];
        size_t have = desc_bytes(&l->descs[v]), need = desc_bytes(&out_types[k]);
        if (rv->desc.dtype != QC_DT_UNDEF && out_types[k].dtype != rv->desc.dtype) {
            st = qc_node_error(n, QC_ERR_INTERNAL, "output '%s' is %s but the artifact declares %s",
                               rv->name, qc_dtype_name(out_types[k].dtype),
                               qc_dtype_name(rv->desc.dtype));
            break;
        }
        if (need > have) {
            st = qc_node_error(n, QC_ERR_INTERNAL,
                               "output '%s' needs %zu bytes but its planned slot holds %zu",
                               rv->name, need, have);
            break;
        }
        out[k].desc = out_types[k];
        out[k].data = slot(l, v);
        bool alias = false;
        for (int32_t j = 0; j < n->n_in && !alias; j++)
            alias = in[j].data && overlaps(out[k].data, need, in[j].data, in_bytes[j]);
        if (alias) {
            scratch[k] = calloc(need ? need : 1, 1);
            if (!scratch[k]) st = qc_node_error(n, QC_ERR_NOMEM, "out of memory");
            out[k].data = scratch[k];
        } else if (need) {
            memset(out[k].data, 0, need);
        }
    }
    if (!st) {
        qc_ref_args a = {n, n->n_in, in, n->n_out, out};
        st = qc_ref_run_kernel(&a);
    }
    for (int32_t k = 0; k < n->n_out; k++) {
        if (!st && scratch[k]) memcpy(slot(l, n->out[k]), scratch[k], desc_bytes(&out[k].desc));
        free(scratch[k]);
        if (!st) l->descs[n->out[k]] = out[k].desc;
    }
    return st;
}

static qc_status ref_launch(qc_device *d, const qc_hal_launch *l) {
    (void)d;
    return qc_hal_ref_launch(l);
}

static qc_status ref_sync(qc_device *d) {
    (void)d;
    return NULL;   /* launches complete before they return */
}

const qc_hal_driver qc_hal_ref_driver = {
    .name = "ref",
    .target = QC_TARGET_REF,
    .priority = 0,   /* the fallback: every compiled backend outranks it */
    .host_memory = true,
    .create = ref_create,
    .destroy = ref_destroy,
    .alloc = ref_alloc,
    .free = ref_free,
    .copy = ref_copy,
    .check_model = ref_check_model,
    .launch = ref_launch,
    .sync = ref_sync,
};
