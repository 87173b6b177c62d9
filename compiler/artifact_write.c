/* artifact_write.c — qc_graph + qc_plan -> .qcm bytes (docs/artifact.md).
 *
 * The image is assembled in memory (GRAPH needs its string table first, and
 * the header needs every section's CRC), then written in one go. Nothing here
 * trusts the loader to catch writer bugs: the round-trip tests do. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/artifact_write.h"
#include "compiler/target.h"
#include "ir/dtype.h"
#include "passes/memplan.h"
#include "runtime/artifact_format.h"
#include "runtime/crc32.h"

/* A growable byte buffer; `failed` makes every later append a no-op so
 * callers check once at the end. */
typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int failed;
} wbuf;

static void wb_bytes(wbuf *b, const void *data, size_t n) {
    if (b->failed) return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) { b->failed = 1; return; }
            cap *= 2;
        }
        uint8_t *np = realloc(b->p, cap);
        if (!np) { b->failed = 1; return; }
        b->p = np;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void wb_u32(wbuf *b, uint32_t v) {
    uint8_t t[4];
    qc_put32(t, v);
    wb_bytes(b, t, 4);
}

static void wb_u64(wbuf *b, uint64_t v) {
    uint8_t t[8];
    qc_put64(t, v);
    wb_bytes(b, t, 8);
}

static void wb_f32(wbuf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    wb_u32(b, u);
}

static void wb_pad(wbuf *b, size_t align) {
    static const uint8_t zeros[QC_QCM_ALIGN];
    while (!b->failed && b->len % align) wb_bytes(b, zeros, align - b->len % align);
}

/* The string table: each string gets the next index (no dedup: names are
 * mostly unique anyway, and a simpler writer is easier to trust). */
typedef struct strtab {
    wbuf data;
    uint32_t count;
    uint32_t op_name[QC_OP_COUNT];   /* string index of each op's name, once */
} strtab;

static uint32_t st_add(strtab *t, const char *s) {
    if (!s) return QC_QCM_NO_STRING;
    size_t n = strlen(s);
    if (n > UINT32_MAX - 1) { t->data.failed = 1; return QC_QCM_NO_STRING; }
    wb_u32(&t->data, (uint32_t)n);
    wb_bytes(&t->data, s, n);
    return t->count++;
}

static void write_attr(wbuf *b, strtab *t, const qc_attr *a) {
    wb_u32(b, st_add(t, a->name));
    wb_u32(b, (uint32_t)a->kind);
    switch (a->kind) {
    case QC_ATTR_INT: wb_u64(b, (uint64_t)a->i); break;
    case QC_ATTR_FLOAT: wb_f32(b, a->f); break;
    case QC_ATTR_STRING: wb_u32(b, st_add(t, a->s ? a->s : "")); break;
    case QC_ATTR_INTS:
        wb_u32(b, (uint32_t)a->n);
        for (int32_t k = 0; k < a->n; k++) wb_u64(b, (uint64_t)a->ints[k]);
        break;
    case QC_ATTR_FLOATS:
        wb_u32(b, (uint32_t)a->n);
        for (int32_t k = 0; k < a->n; k++) wb_f32(b, a->floats[k]);
        break;
    }
}

/* GRAPH body (after the string table) and CONSTANTS. */
static void write_graph(const qc_graph *g, wbuf *body, strtab *t, wbuf *consts) {
    wb_u32(body, st_add(t, g->name));
    wb_u32(body, st_add(t, g->batch));
    wb_u32(body, (uint32_t)g->n_values);
    for (int32_t i = 0; i < g->n_values; i++) {
        const qc_value *v = &g->values[i];
        wb_u32(body, st_add(t, v->name));
        wb_u32(body, (uint32_t)v->type.dtype);
        wb_u32(body, (uint32_t)v->type.rank);
        for (int32_t d = 0; d < v->type.rank; d++) wb_u64(body, (uint64_t)v->type.dims[d]);
        const qc_quant *q = &v->quant;
        wb_u32(body, (uint32_t)q->kind);
        if (q->kind != QC_Q_NONE) {
            wb_u32(body, (uint32_t)q->axis);
            wb_u32(body, (uint32_t)q->block);
            wb_u32(body, (uint32_t)q->count);
            for (int32_t k = 0; k < q->count; k++) wb_f32(body, q->scale[k]);
            for (int32_t k = 0; k < q->count; k++) wb_u32(body, (uint32_t)q->zero[k]);
        }
        wb_u32(body, v->data ? QC_QCM_VALUE_CONST : 0);
        if (v->data) {
            wb_pad(consts, QC_QCM_ALIGN);
            wb_u64(body, consts->len);
            wb_u64(body, v->nbytes);
            wb_bytes(consts, v->data, v->nbytes);
        }
    }
    wb_u32(body, (uint32_t)g->n_inputs);
    for (int32_t i = 0; i < g->n_inputs; i++) wb_u32(body, (uint32_t)g->inputs[i]);
    wb_u32(body, (uint32_t)g->n_outputs);
    for (int32_t i = 0; i < g->n_outputs; i++) wb_u32(body, (uint32_t)g->outputs[i]);
    wb_u32(body, (uint32_t)g->n_nodes);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const qc_node *n = &g->nodes[i];
        /* Ops are stored by name, so renumbering ops.def never changes
         * what an existing artifact means. */
        const qc_op_info *info = qc_op_get_info(n->op);
        if (t->op_name[n->op] == QC_QCM_NO_STRING) t->op_name[n->op] = st_add(t, info->name);
        wb_u32(body, t->op_name[n->op]);
        wb_u32(body, st_add(t, n->name));
        wb_u32(body, (uint32_t)n->n_in);
        for (int32_t k = 0; k < n->n_in; k++) wb_u32(body, (uint32_t)n->in[k]);
        wb_u32(body, (uint32_t)n->n_out);
        for (int32_t k = 0; k < n->n_out; k++) wb_u32(body, (uint32_t)n->out[k]);
        wb_u32(body, (uint32_t)n->n_attr);
        for (int32_t k = 0; k < n->n_attr; k++) write_attr(body, t, &n->attr[k]);
    }
}

static void write_plan(const qc_plan *p, wbuf *b) {
    wb_u32(b, (uint32_t)p->n_values);
    wb_u32(b, (uint32_t)p->alignment);
    wb_u64(b, (uint64_t)p->size_a);
    wb_u64(b, (uint64_t)p->size_b);
    for (int32_t i = 0; i < p->n_values; i++) {
        wb_u64(b, (uint64_t)p->off_a[i]);
        wb_u64(b, (uint64_t)p->off_b[i]);
    }
}

typedef struct section {
    uint32_t kind, target;
    const wbuf *data;   /* NULL: empty */
} section;

/* Header + table + sections, each section 64-byte aligned. */
static void assemble(const section *secs, uint32_t n, wbuf *out) {
    uint8_t hdr[QC_QCM_HEADER_SIZE] = {0};
    uint8_t table[QC_QCM_MAX_SECTIONS * QC_QCM_ENTRY_SIZE] = {0};
    size_t off = QC_QCM_HEADER_SIZE + (size_t)n * QC_QCM_ENTRY_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        off = (off + QC_QCM_ALIGN - 1) / QC_QCM_ALIGN * QC_QCM_ALIGN;
        size_t len = secs[i].data ? secs[i].data->len : 0;
        const void *bytes = secs[i].data ? secs[i].data->p : NULL;
        uint8_t *e = table + i * QC_QCM_ENTRY_SIZE;
        qc_put32(e + 0, secs[i].kind);
        qc_put32(e + 4, secs[i].target);
        qc_put64(e + 8, off);
        qc_put64(e + 16, len);
        qc_put32(e + 24, qc_crc32(0, bytes, len));
        off += len;
    }
    memcpy(hdr + QC_QCM_H_MAGIC, QC_QCM_MAGIC, 8);
    qc_put32(hdr + QC_QCM_H_VERSION, QC_QCM_VERSION);
    qc_put32(hdr + QC_QCM_H_HEADER_SIZE, QC_QCM_HEADER_SIZE);
    qc_put64(hdr + QC_QCM_H_FILE_SIZE, off);
    qc_put32(hdr + QC_QCM_H_SECTION_COUNT, n);
    qc_put32(hdr + QC_QCM_H_TABLE_OFFSET, QC_QCM_HEADER_SIZE);
    qc_put32(hdr + QC_QCM_H_TABLE_CRC, qc_crc32(0, table, (size_t)n * QC_QCM_ENTRY_SIZE));
    qc_put32(hdr + QC_QCM_H_HEADER_CRC, qc_crc32(0, hdr, QC_QCM_H_HEADER_CRC));
    wb_bytes(out, hdr, sizeof hdr);
    wb_bytes(out, table, (size_t)n * QC_QCM_ENTRY_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        wb_pad(out, QC_QCM_ALIGN);
        if (secs[i].data) wb_bytes(out, secs[i].data->p, secs[i].data->len);
    }
}

/* Checks what the format cannot represent (the loader rejects the rest). */
static qc_status check_input(const qc_graph *g, const qc_plan *plan) {
    if (plan && plan->n_values != g->n_values)
        return qc_error(QC_ERR_INVALID, "memory plan covers %d values, graph '%s' has %d",
                        (int)plan->n_values, g->name ? g->name : "", (int)g->n_values);
    for (int32_t i = 0; i < g->n_values; i++)
        if (!g->values[i].name)
            return qc_error(QC_ERR_INVALID, "value %d has no name", (int)i);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (!qc_op_get_info(g->nodes[i].op) || g->nodes[i].op == QC_OP_INVALID)
            return qc_error(QC_ERR_INVALID, "node %d has an invalid op", (int)i);
        for (int32_t k = 0; k < g->nodes[i].n_attr; k++)
            if (!g->nodes[i].attr[k].name)
                return qc_error(QC_ERR_INVALID, "node %d: attribute %d has no name", (int)i,
                                (int)k);
    }
    return NULL;
}

qc_status qc_artifact_write_mem(const qc_graph *g, const qc_plan *plan, uint8_t **out,
                                size_t *len) {
    return qc_artifact_write_mem_ex(g, plan, 1u << QC_TARGET_REF, NULL, out, len);
}

qc_status qc_artifact_write_mem_ex(const qc_graph *g, const qc_plan *plan, uint32_t targets,
                                   const qc_code_sections *code, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    qc_status st = check_input(g, plan);
    if (st) return st;
    strtab t = {{0}, 0, {0}};
    for (int op = 0; op < QC_OP_COUNT; op++) t.op_name[op] = QC_QCM_NO_STRING;
    wbuf body = {0}, graph = {0}, consts = {0}, planb = {0}, image = {0};
    write_graph(g, &body, &t, &consts);
    wb_u32(&graph, t.count);
    wb_bytes(&graph, t.data.p, t.data.len);
    wb_bytes(&graph, body.p, body.len);
    if (plan) write_plan(plan, &planb);
    int32_t n_code = code ? code->n : 0;
    if (n_code > (int32_t)QC_QCM_MAX_SECTIONS - 4) {
        free(t.data.p);
        free(body.p);
        free(graph.p);
        free(consts.p);
        free(planb.p);
        return qc_error(QC_ERR_INVALID, "%d code sections: more than an artifact holds",
                        (int)n_code);
    }
    section secs[QC_QCM_MAX_SECTIONS] = {{QC_SEC_GRAPH, 0, &graph}, {QC_SEC_CONSTANTS, 0, &consts}};
    wbuf code_bufs[QC_QCM_MAX_SECTIONS];
    uint32_t n = 2;
    if (plan) secs[n++] = (section){QC_SEC_PLAN, 1, &planb};
    if (targets & (1u << QC_TARGET_REF)) secs[n++] = (section){QC_SEC_TARGET, 1, NULL};
    for (int32_t i = 0; i < n_code; i++) {
        /* Borrowed bytes: wbuf is only read by assemble(). */
        code_bufs[i] = (wbuf){.p = code->secs[i].data, .len = code->secs[i].len};
        secs[n++] = (section){code->secs[i].kind, code->secs[i].target, &code_bufs[i]};
    }
    int failed = t.data.failed || body.failed || graph.failed || consts.failed || planb.failed;
    if (!failed) assemble(secs, n, &image);
    failed |= image.failed;
    free(t.data.p);
    free(body.p);
    free(graph.p);
    free(consts.p);
    free(planb.p);
    if (failed) {
        free(image.p);
        return qc_error(QC_ERR_NOMEM, "out of memory writing the artifact");
    }
    *out = image.p;
    *len = image.len;
    return NULL;
}

qc_status qc_artifact_write_file(const qc_graph *g, const qc_plan *plan, const char *path) {
    uint8_t *img;
    size_t len;
    qc_status st = qc_artifact_write_mem(g, plan, &img, &len);
    if (st) return st;
    st = qc_artifact_write_image(img, len, path);
    free(img);
    return st;
}

qc_status qc_artifact_write_image(const uint8_t *img, size_t len, const char *path) {
    qc_status st = NULL;
    size_t n = strlen(path) + 48;
    char *tmp = malloc(n);
    if (!tmp) return qc_error(QC_ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.partial%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = qc_error(QC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    } else {
        size_t wrote = fwrite(img, 1, len, f);
        int err = wrote != len ? errno : 0;
        if (fflush(f) != 0 && !err) err = errno;
        if (fclose(f) != 0 && !err) err = errno;
        if (wrote != len || err)
            st = qc_error(QC_ERR_IO, "cannot write %s: %s", path, strerror(err ? err : EIO));
        else if (rename(tmp, path) != 0)
            st = qc_error(QC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        if (st) remove(tmp);
    }
    free(tmp);
    return st;
}

/* ---- artifact -> graph ------------------------------------------------------ */

static qc_status add_attrs(qc_graph *g, int32_t ni, const qc_node *n) {
    qc_status st = NULL;
    for (int32_t k = 0; k < n->n_attr && !st; k++) {
        const qc_attr *a = &n->attr[k];
        switch (a->kind) {
        case QC_ATTR_INT: st = qc_node_set_int(g, ni, a->name, a->i); break;
        case QC_ATTR_FLOAT: st = qc_node_set_float(g, ni, a->name, a->f); break;
        case QC_ATTR_STRING: st = qc_node_set_string(g, ni, a->name, a->s); break;
        case QC_ATTR_INTS: st = qc_node_set_ints(g, ni, a->name, a->ints, a->n); break;
        case QC_ATTR_FLOATS: st = qc_node_set_floats(g, ni, a->name, a->floats, a->n); break;
        default: st = qc_error(QC_ERR_INTERNAL, "attribute kind %d", (int)a->kind);
        }
    }
    return st;
}

static qc_status build_graph(const qc_model_data *m, qc_graph *g) {
    qc_status st = qc_graph_set_batch(g, m->batch);
    for (int32_t i = 0; i < m->n_values && !st; i++) {
        const qc_rt_value *v = &m->values[i];
        int32_t id;
        st = v->data ? qc_graph_add_const(g, v->name, &v->desc, v->data, v->nbytes, &id)
                     : qc_graph_add_value(g, v->name, &v->desc, &id);
        if (!st && v->quant.kind) {
            qc_quant q = {(qc_qkind)v->quant.kind, v->quant.axis, v->quant.block,
                          v->quant.count, (float *)v->quant.scale, (int32_t *)v->quant.zero};
            st = qc_value_set_quant(g, id, &q);
        }
    }
    for (int32_t i = 0; i < m->n_inputs && !st; i++) st = qc_graph_add_input(g, m->inputs[i]);
    for (int32_t i = 0; i < m->n_outputs && !st; i++) st = qc_graph_add_output(g, m->outputs[i]);
    for (int32_t i = 0; i < m->n_nodes && !st; i++) {
        const qc_node *n = &m->nodes[i];
        int32_t ni;
        st = qc_graph_add_node(g, n->op, n->name, n->in, n->n_in, n->out, n->n_out, &ni);
        if (!st) st = add_attrs(g, ni, n);
    }
    return st;
}

qc_status qc_artifact_to_graph(const qc_model_data *m, qc_graph **out) {
    *out = NULL;
    qc_graph *g = NULL;
    qc_status st = qc_graph_create(m->name ? m->name : "", &g);
    if (!st) st = build_graph(m, g);
    if (st) {
        qc_graph_destroy(g);
        return st;
    }
    *out = g;
    return NULL;
}
