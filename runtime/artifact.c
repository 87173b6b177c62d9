/* artifact.c — the .qcm loader: bytes -> validated qc_model_data.
 *
 * Everything in the image is untrusted. Each offset, length, count, index
 * and enum is checked before it is used, counts are bounded by the bytes
 * left in their section before anything is allocated, and every error names
 * the section and byte offset. After a successful parse, sessions and
 * kernels may rely on: ids in range, topological order, arity within the op
 * table, declared types equal to what inference gives, constants of exactly
 * their type's size, plan offsets inside the arena. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "runtime/artifact_format.h"
#include "runtime/crc32.h"
#include "runtime/model.h"

#define MAX_NODE_IO 64
#define MAX_NODE_ATTRS 1024
/* Static element counts above this are rejected, so byte sizes (x8) and
 * plan sums never overflow int64. */
#define MAX_NUMEL ((int64_t)1 << 56)

/* All of a model's allocations: one list freed together. */
typedef struct chunk {
    struct chunk *next;
    max_align_t data[];
} chunk;

typedef struct owned {
    void *image;     /* the copied file bytes (copy = true), or NULL */
    chunk *chunks;
} owned;

static void *pool_alloc(owned *o, size_t n) {
    chunk *c = calloc(1, sizeof *c + (n ? n : 1));
    if (!c) return NULL;
    c->next = o->chunks;
    o->chunks = c;
    return c->data;
}

/* A cursor over one section. `st` holds the first error; every read after
 * it fails too, so callers check once per record. */
typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    size_t file_off;     /* where the section starts in the file */
    const char *sec;     /* "GRAPH", "PLAN", ... */
    const char *source;
    qc_status st;
} rd;

static qc_status fail_at(rd *r, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static qc_status fail_at(rd *r, size_t at, const char *fmt, ...) {
    if (r->st) return r->st;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r->file_off)   /* header or section table: offsets are file offsets */
        r->st = qc_error(QC_ERR_PARSE, "%s: %s, byte %zu: %s", r->source, r->sec, at, msg);
    else
        r->st = qc_error(QC_ERR_PARSE, "%s: %s section, byte %zu (file byte %zu): %s",
                         r->source, r->sec, at, r->file_off + at, msg);
    return r->st;
}

static bool rd_need(rd *r, size_t n, const char *what) {
    if (r->st) return false;
    if (n <= r->len - r->pos) return true;
    fail_at(r, r->pos, "truncated: %s needs %zu bytes, %zu left", what, n, r->len - r->pos);
    return false;
}

static uint32_t rd_u32(rd *r, const char *what) {
    if (!rd_need(r, 4, what)) return 0;
    uint32_t v = qc_le32(r->p + r->pos);
    r->pos += 4;
    return v;
}

static int64_t rd_i64(rd *r, const char *what) {
    if (!rd_need(r, 8, what)) return 0;
    uint64_t v = qc_le64(r->p + r->pos);
    r->pos += 8;
    return (int64_t)v;
}

static float rd_f32(rd *r, const char *what) {
    uint32_t u = rd_u32(r, what);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* A count whose records take at least `min_size` bytes each: bounded by the
 * bytes left, so no count can drive an allocation beyond the file's size. */
static bool rd_count(rd *r, const char *what, size_t min_size, uint32_t *out) {
    size_t at = r->pos;
    uint32_t n = rd_u32(r, what);
    if (r->st) return false;
    if (n > INT32_MAX || (size_t)n > (r->len - r->pos) / min_size) {
        fail_at(r, at, "%s %u does not fit in the %zu bytes left", what, n, r->len - r->pos);
        return false;
    }
    *out = n;
    return true;
}

/* ---- GRAPH ------------------------------------------------------------------ */

typedef struct gctx {
    rd r;
    owned *o;
    qc_model_data *m;
    uint32_t n_strings;
    char **strings;
    const uint8_t *consts;    /* CONSTANTS section, or NULL */
    size_t consts_len;
    uint8_t *def;             /* per value: 1 input, 2 constant, 3 node output */
} gctx;

static qc_status nomem(void) { return qc_error(QC_ERR_NOMEM, "out of memory loading a model"); }

static qc_status read_strings(gctx *c) {
    rd *r = &c->r;
    if (!rd_count(r, "string count", 4, &c->n_strings)) return r->st;
    c->strings = pool_alloc(c->o, (size_t)c->n_strings * sizeof *c->strings);
    if (!c->strings) return nomem();
    for (uint32_t i = 0; i < c->n_strings; i++) {
        size_t at = r->pos;
        uint32_t n = rd_u32(r, "string length");
        if (!rd_need(r, n, "string bytes")) return r->st;
        if (memchr(r->p + r->pos, 0, n))
            return fail_at(r, at, "string %u contains a NUL byte", i);
        char *s = pool_alloc(c->o, (size_t)n + 1);
        if (!s) return nomem();
        memcpy(s, r->p + r->pos, n);
        r->pos += n;
        c->strings[i] = s;
    }
    return NULL;
}

/* A string index; NO_STRING gives NULL when `optional`. */
static bool rd_string(gctx *c, const char *what, bool optional, char **out) {
    size_t at = c->r.pos;
    uint32_t i = rd_u32(&c->r, what);
    if (c->r.st) return false;
    if (i == QC_QCM_NO_STRING && optional) {
        *out = NULL;
        return true;
    }
    if (i >= c->n_strings) {
        fail_at(&c->r, at, "%s: string index %u out of range (%u strings)", what, i,
                c->n_strings);
        return false;
    }
    *out = c->strings[i];
    return true;
}

static qc_status read_quant(gctx *c, int32_t vi, qc_rt_value *v) {
    rd *r = &c->r;
    size_t at = r->pos;
    uint32_t kind = rd_u32(r, "quant kind");
    if (r->st || kind == 0) return r->st;
    if (kind > 3) return fail_at(r, at, "value %d has quant kind %u", vi, kind);
    qc_rt_quant *q = &v->quant;
    q->kind = (int32_t)kind;
    q->axis = (int32_t)rd_u32(r, "quant axis");
    q->block = (int32_t)rd_u32(r, "quant block");
    uint32_t count;
    if (!rd_count(r, "quant count", 8, &count)) return r->st;
    q->count = (int32_t)count;
    int64_t want = 1;
    if (kind != 1) {   /* per axis / per block */
        if (q->axis < 0 || q->axis >= v->desc.rank)
            return fail_at(r, at, "value %d: quant axis %d outside rank %d", vi, q->axis,
                           v->desc.rank);
        int64_t d = v->desc.dims[q->axis];
        if (d == QC_DIM_SYM) return fail_at(r, at, "value %d: quant axis is the batch dim", vi);
        if (kind == 2) want = d;
        else {
            int64_t numel = qc_type_numel(&v->desc);
            if (q->block < 1 || numel < 0)
                return fail_at(r, at, "value %d: bad block quant (block %d)", vi, q->block);
            want = d ? numel / d * ((d + q->block - 1) / q->block) : 0;
        }
    }
    if (count != want)
        return fail_at(r, at, "value %d: %u quant entries, its shape needs %lld", vi, count,
                       (long long)want);
    float *scale = pool_alloc(c->o, (size_t)count * sizeof *scale);
    int32_t *zero = pool_alloc(c->o, (size_t)count * sizeof *zero);
    if (!scale || !zero) return nomem();
    int64_t lo, hi;
    qc_dtype_int_range(v->desc.dtype, &lo, &hi);
    for (uint32_t k = 0; k < count; k++) {
        size_t sat = r->pos;
        scale[k] = rd_f32(r, "quant scale");
        if (!r->st && !(scale[k] > 0.0f && isfinite(scale[k])))
            return fail_at(r, sat, "value %d: quant scale[%u] is not a positive number", vi, k);
    }
    for (uint32_t k = 0; k < count; k++) {
        size_t zat = r->pos;
        zero[k] = (int32_t)rd_u32(r, "quant zero point");
        if (!r->st && qc_dtype_is_int(v->desc.dtype) && (zero[k] < lo || zero[k] > hi))
            return fail_at(r, zat, "value %d: zero point %d outside %s range", vi, zero[k],
                           qc_dtype_name(v->desc.dtype));
    }
    q->scale = scale;
    q->zero = zero;
    return r->st;
}

static qc_status read_type(gctx *c, int32_t vi, qc_rt_value *v) {
    rd *r = &c->r;
    size_t at = r->pos;
    uint32_t dt = rd_u32(r, "dtype");
    if (r->st) return r->st;
    if (dt == 0 || dt >= QC_DT_COUNT) return fail_at(r, at, "value %d has dtype %u", vi, dt);
    at = r->pos;
    uint32_t rank = rd_u32(r, "rank");
    if (r->st) return r->st;
    if (rank > QC_MAX_RANK)
        return fail_at(r, at, "value %d has rank %u (at most %d)", vi, rank, QC_MAX_RANK);
    v->desc.dtype = (qc_dtype)dt;
    v->desc.rank = (int32_t)rank;
    int64_t numel = 1;
    for (uint32_t d = 0; d < rank; d++) {
        at = r->pos;
        int64_t dim = rd_i64(r, "dim");
        if (r->st) return r->st;
        if (dim == QC_DIM_SYM && !c->m->batch)
            return fail_at(r, at, "value %d: symbolic dim but the graph has no batch name", vi);
        if (dim < 0 && dim != QC_DIM_SYM)
            return fail_at(r, at, "value %d: dim %u is %lld", vi, d, (long long)dim);
        if (dim > 0 && (dim > MAX_NUMEL || numel > MAX_NUMEL / dim))
            return fail_at(r, at, "value %d: shape has more than 2^56 elements", vi);
        if (dim > 0) numel *= dim;
        v->desc.dims[d] = dim;
    }
    return NULL;
}

static qc_status read_value(gctx *c, int32_t vi) {
    rd *r = &c->r;
    qc_rt_value *v = &c->m->values[vi];
    v->off_a = v->off_b = QC_QCM_NO_OFFSET;
    char *name;
    size_t nat = r->pos;
    if (!rd_string(c, "value name", false, &name)) return r->st;
    if (!*name) return fail_at(r, nat, "value %d has an empty name", vi);
    v->name = name;
    qc_status st = read_type(c, vi, v);
    if (!st) st = read_quant(c, vi, v);
    if (st) return st;
    size_t at = r->pos;
    uint32_t flags = rd_u32(r, "value flags");
    if (r->st) return r->st;
    if (flags & ~QC_QCM_VALUE_CONST) return fail_at(r, at, "value %d has flags %#x", vi, flags);
    if (!flags) return NULL;
    at = r->pos;
    int64_t off = rd_i64(r, "constant offset");
    int64_t len = rd_i64(r, "constant length");
    if (r->st) return r->st;
    if (!c->consts) return fail_at(r, at, "value %d is a constant but there is no CONSTANTS", vi);
    int64_t numel = qc_type_numel(&v->desc);
    if (numel < 0) return fail_at(r, at, "constant %d has a symbolic dim", vi);
    if (off < 0 || len < 0 || (uint64_t)off > c->consts_len ||
        (uint64_t)len > c->consts_len - (uint64_t)off || off % QC_QCM_ALIGN)
        return fail_at(r, at, "constant %d: bytes %lld+%lld outside the %zu-byte CONSTANTS (or "
                       "not %u-aligned)", vi, (long long)off, (long long)len, c->consts_len,
                       QC_QCM_ALIGN);
    if ((size_t)len != qc_dtype_bytes(v->desc.dtype, numel))
        return fail_at(r, at, "constant %d: %lld bytes, its type needs %zu", vi, (long long)len,
                       qc_dtype_bytes(v->desc.dtype, numel));
    v->data = c->consts + off;
    v->nbytes = (size_t)len;
    c->def[vi] = 2;
    return NULL;
}

static qc_status read_io(gctx *c, bool inputs) {
    rd *r = &c->r;
    const char *what = inputs ? "graph input" : "graph output";
    uint32_t n;
    if (!rd_count(r, what, 4, &n)) return r->st;
    int32_t *ids = pool_alloc(c->o, (size_t)n * sizeof *ids);
    if (!ids) return nomem();
    for (uint32_t i = 0; i < n; i++) {
        size_t at = r->pos;
        uint32_t id = rd_u32(r, what);
        if (r->st) return r->st;
        if (id >= (uint32_t)c->m->n_values)
            return fail_at(r, at, "%s %u is value %u, out of range", what, i, id);
        if (inputs && c->def[id])
            return fail_at(r, at, "graph input %u ('%s') is a constant or listed twice", i,
                           c->m->values[id].name);
        if (inputs) c->def[id] = 1;
        ids[i] = (int32_t)id;
    }
    if (inputs) {
        c->m->n_inputs = (int32_t)n;
        c->m->inputs = ids;
    } else {
        if (!n) return fail_at(r, r->pos, "the graph has no outputs");
        c->m->n_outputs = (int32_t)n;
        c->m->outputs = ids;
    }
    return NULL;
}

static qc_status read_attr(gctx *c, qc_attr *a) {
    rd *r = &c->r;
    if (!rd_string(c, "attribute name", false, &a->name)) return r->st;
    size_t at = r->pos;
    uint32_t kind = rd_u32(r, "attribute kind");
    if (r->st) return r->st;
    a->kind = (qc_attr_kind)kind;
    uint32_t n;
    switch (kind) {
    case QC_ATTR_INT: a->i = rd_i64(r, "int attribute"); break;
    case QC_ATTR_FLOAT: a->f = rd_f32(r, "float attribute"); break;
    case QC_ATTR_STRING: rd_string(c, "string attribute", false, &a->s); break;
    case QC_ATTR_INTS:
        if (!rd_count(r, "ints length", 8, &n)) break;
        a->n = (int32_t)n;
        a->ints = pool_alloc(c->o, (size_t)n * sizeof *a->ints);
        if (!a->ints) return nomem();
        for (uint32_t k = 0; k < n; k++) a->ints[k] = rd_i64(r, "ints element");
        break;
    case QC_ATTR_FLOATS:
        if (!rd_count(r, "floats length", 4, &n)) break;
        a->n = (int32_t)n;
        a->floats = pool_alloc(c->o, (size_t)n * sizeof *a->floats);
        if (!a->floats) return nomem();
        for (uint32_t k = 0; k < n; k++) a->floats[k] = rd_f32(r, "floats element");
        break;
    default: return fail_at(r, at, "attribute '%s' has kind %u", a->name, kind);
    }
    return r->st;
}

/* Inference on the declared input types (and constant data), compared with
 * the declared output types: kernels then never see a shape they did not
 * expect. */
static qc_status check_types(gctx *c, int32_t ni, size_t at) {
    const qc_node *n = &c->m->nodes[ni];
    qc_type in[MAX_NODE_IO], out[MAX_NODE_IO];
    const void *data[MAX_NODE_IO];
    for (int32_t k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) {
            memset(&in[k], 0, sizeof in[k]);
            data[k] = NULL;
            continue;
        }
        in[k] = c->m->values[n->in[k]].desc;
        data[k] = c->m->values[n->in[k]].data;
    }
    memset(out, 0, sizeof out);
    qc_infer_ctx ctx = {c->m->batch, n, n->n_in, in, data, n->n_out, out};
    qc_status st = qc_infer_node(&ctx);
    if (st) {
        fail_at(&c->r, at, "node %d: %s", ni, qc_status_message(st));
        qc_status_free(st);
        return c->r.st;
    }
    for (int32_t k = 0; k < n->n_out; k++) {
        const qc_rt_value *v = &c->m->values[n->out[k]];
        if (!qc_type_equal(&v->desc, &out[k])) {
            char have[160], want[160];
            qc_type_format(&v->desc, c->m->batch, have, sizeof have);
            qc_type_format(&out[k], c->m->batch, want, sizeof want);
            return fail_at(&c->r, at, "node %d: output '%s' is declared %s but the op gives %s",
                           ni, v->name, have, want);
        }
    }
    return NULL;
}

static qc_status read_node(gctx *c, int32_t ni) {
    rd *r = &c->r;
    qc_node *n = &c->m->nodes[ni];
    size_t at = r->pos;
    char *op_name;
    if (!rd_string(c, "op name", false, &op_name)) return r->st;
    qc_op op = qc_op_from_name(op_name);
    const qc_op_info *info = qc_op_get_info(op);
    if (!info || op == QC_OP_INVALID)
        return fail_at(r, at, "node %d has op '%s', which this runtime does not know", ni,
                       op_name);
    n->op = op;
    if (!rd_string(c, "node name", true, &n->name)) return r->st;
    size_t io_at = r->pos;
    uint32_t n_in = rd_u32(r, "input count");
    if (r->st) return r->st;
    if (n_in < (uint32_t)info->min_in || n_in > (uint32_t)info->max_in || n_in > MAX_NODE_IO)
        return fail_at(r, io_at, "node %d (%s) has %u inputs, the op takes %d..%d", ni,
                       info->name, n_in, info->min_in, info->max_in);
    n->n_in = (int32_t)n_in;
    n->in = pool_alloc(c->o, n_in * sizeof *n->in);
    if (!n->in) return nomem();
    for (uint32_t k = 0; k < n_in; k++) {
        size_t iat = r->pos;
        uint32_t id = rd_u32(r, "node input");
        if (r->st) return r->st;
        if (id == UINT32_MAX) {
            /* An absent optional input: as in the verifier, any position
             * (QLinearMul's zero points sit between required inputs);
             * inference rejects the ones an op needs. */
            n->in[k] = -1;
            continue;
        }
        if (id >= (uint32_t)c->m->n_values || !c->def[id])
            return fail_at(r, iat, "node %d input %u: value %u is not defined before use", ni,
                           k, id);
        n->in[k] = (int32_t)id;
    }
    io_at = r->pos;
    uint32_t n_out = rd_u32(r, "output count");
    if (r->st) return r->st;
    if (n_out < (uint32_t)info->min_out || n_out > (uint32_t)info->max_out ||
        n_out > MAX_NODE_IO)
        return fail_at(r, io_at, "node %d (%s) has %u outputs, the op gives %d..%d", ni,
                       info->name, n_out, info->min_out, info->max_out);
    n->n_out = (int32_t)n_out;
    n->out = pool_alloc(c->o, n_out * sizeof *n->out);
    if (!n->out) return nomem();
    for (uint32_t k = 0; k < n_out; k++) {
        size_t oat = r->pos;
        uint32_t id = rd_u32(r, "node output");
        if (r->st) return r->st;
        if (id >= (uint32_t)c->m->n_values || c->def[id])
            return fail_at(r, oat, "node %d output %u: value %u is out of range or already "
                           "defined", ni, k, id);
        c->def[id] = 3;
        n->out[k] = (int32_t)id;
    }
    uint32_t n_attr;
    size_t nat = r->pos;
    if (!rd_count(r, "attribute count", 12, &n_attr)) return r->st;
    if (n_attr > MAX_NODE_ATTRS)   /* bounds the quadratic duplicate check below */
        return fail_at(r, nat, "node %d has %u attributes (at most %d)", ni, n_attr,
                       MAX_NODE_ATTRS);
    n->n_attr = (int32_t)n_attr;
    n->attr = pool_alloc(c->o, (size_t)n_attr * sizeof *n->attr);
    if (!n->attr) return nomem();
    for (uint32_t k = 0; k < n_attr; k++) {
        size_t aat = r->pos;
        qc_status st = read_attr(c, &n->attr[k]);
        if (st) return st;
        /* Lookups take the first match; a duplicate would be silently unused. */
        for (uint32_t j = 0; j < k; j++)
            if (!strcmp(n->attr[j].name, n->attr[k].name))
                return fail_at(r, aat, "node %d has attribute '%s' twice", ni, n->attr[k].name);
    }
    return check_types(c, ni, at);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Value names are unique (the runtime binds inputs and outputs by name). */
static qc_status check_names(gctx *c) {
    int32_t n = c->m->n_values;
    const char **names = malloc((size_t)(n ? n : 1) * sizeof *names);
    if (!names) return nomem();
    for (int32_t i = 0; i < n; i++) names[i] = c->m->values[i].name;
    qsort(names, (size_t)n, sizeof *names, cmp_name);
    qc_status st = NULL;
    for (int32_t i = 1; i < n && !st; i++)
        if (!strcmp(names[i - 1], names[i]))
            st = fail_at(&c->r, 0, "two values are named '%s'", names[i]);
    free(names);
    return st;
}

static qc_status read_graph(gctx *c) {
    rd *r = &c->r;
    qc_model_data *m = c->m;
    qc_status st = read_strings(c);
    if (st) return st;
    char *name, *batch;
    if (!rd_string(c, "graph name", true, &name) || !rd_string(c, "batch name", true, &batch))
        return r->st;
    m->name = name;
    m->batch = batch;
    uint32_t n;
    if (!rd_count(r, "value count", 20, &n)) return r->st;
    m->n_values = (int32_t)n;
    m->values = pool_alloc(c->o, (size_t)n * sizeof *m->values);
    c->def = pool_alloc(c->o, n);
    if (!m->values || !c->def) return nomem();
    for (int32_t i = 0; i < m->n_values; i++)
        if ((st = read_value(c, i))) return st;
    if ((st = check_names(c)) || (st = read_io(c, true)) || (st = read_io(c, false))) return st;
    if (!rd_count(r, "node count", 20, &n)) return r->st;
    m->n_nodes = (int32_t)n;
    m->nodes = pool_alloc(c->o, (size_t)n * sizeof *m->nodes);
    if (!m->nodes) return nomem();
    for (int32_t i = 0; i < m->n_nodes; i++)
        if ((st = read_node(c, i))) return st;
    for (int32_t i = 0; i < m->n_outputs; i++)
        if (!c->def[m->outputs[i]])
            return fail_at(r, r->pos, "graph output '%s' is never defined",
                           m->values[m->outputs[i]].name);
    for (int32_t i = 0; i < m->n_values; i++)
        if (!c->def[i])
            return fail_at(r, r->pos, "value '%s' is not an input, constant or node output",
                           m->values[i].name);
    if (r->pos != r->len)
        return fail_at(r, r->pos, "%zu bytes of trailing data", r->len - r->pos);
    return NULL;
}

/* ---- PLAN ------------------------------------------------------------------- */

/* Arena bytes a value needs, as a + b * batch (for packed 4-bit types with
 * a symbolic dim an upper bound: ceil(s*N/2) <= ceil(s/2)*N). False when
 * the size is not linear in the batch (two symbolic dims). */
static bool value_size(const qc_rt_value *v, int64_t *sa, int64_t *sb) {
    int64_t stat = 1;
    int nsym = 0;
    for (int32_t d = 0; d < v->desc.rank; d++) {
        if (v->desc.dims[d] == QC_DIM_SYM) nsym++;
        else stat *= v->desc.dims[d];
    }
    int64_t bytes = (int64_t)qc_dtype_bytes(v->desc.dtype, stat);
    *sa = nsym ? 0 : bytes;
    *sb = nsym ? bytes : 0;
    return nsym <= 1;
}

/* Plan numbers above this are rejected, so sums of two never overflow. */
#define MAX_PLAN ((int64_t)1 << 60)

/* x.a + x.b * N <= y.a + y.b * N for every batch N >= 1 (both linear). */
static bool lin_fits(int64_t xa, int64_t xb, int64_t ya, int64_t yb) {
    return xb <= yb && xa + xb <= ya + yb;
}

static qc_status read_plan(rd *r, qc_model_data *m) {
    size_t at = r->pos;
    uint32_t n = rd_u32(r, "plan value count");
    uint32_t align = rd_u32(r, "plan alignment");
    int64_t size_a = rd_i64(r, "arena size a"), size_b = rd_i64(r, "arena size b");
    if (r->st) return r->st;
    if (n != (uint32_t)m->n_values)
        return fail_at(r, at, "plan covers %u values, the graph has %d", n, m->n_values);
    if (align == 0 || align > 4096 || (align & (align - 1)))
        return fail_at(r, at + 4, "plan alignment %u is not a power of two <= 4096", align);
    if (size_a < 0 || size_b < 0 || size_a > MAX_PLAN || size_b > MAX_PLAN)
        return fail_at(r, at + 8, "arena size %lld + %lld * batch out of range",
                       (long long)size_a, (long long)size_b);
    for (int32_t i = 0; i < m->n_values; i++) {
        qc_rt_value *v = &m->values[i];
        size_t vat = r->pos;
        int64_t a = rd_i64(r, "value offset a"), b = rd_i64(r, "value offset b");
        if (r->st) return r->st;
        if (v->data) {
            if (a != QC_QCM_NO_OFFSET || b != QC_QCM_NO_OFFSET)
                return fail_at(r, vat, "constant '%s' has an arena offset", v->name);
            continue;
        }
        int64_t sa, sb;
        if (!value_size(v, &sa, &sb))
            return fail_at(r, vat, "value '%s' uses the batch dim twice", v->name);
        /* Offsets a and b are each non-negative and aligned (so a + b * N is
         * aligned for every N), and the value's end fits the arena's. */
        if (a < 0 || b < 0 || a > MAX_PLAN || b > MAX_PLAN || a % align || b % align ||
            !lin_fits(a + sa, b + sb, size_a, size_b))
            return fail_at(r, vat, "value '%s' at %lld + %lld * batch (size %lld + %lld * batch) "
                           "is not aligned inside the arena of %lld + %lld * batch", v->name,
                           (long long)a, (long long)b, (long long)sa, (long long)sb,
                           (long long)size_a, (long long)size_b);
        v->off_a = a;
        v->off_b = b;
    }
    if (r->pos != r->len)
        return fail_at(r, r->pos, "%zu bytes of trailing data", r->len - r->pos);
    m->arena_a = size_a;
    m->arena_b = size_b;
    return NULL;
}

/* ---- container ------------------------------------------------------------- */

static const char *kind_name(uint32_t kind) {
    switch (kind) {
    case QC_SEC_GRAPH: return "GRAPH";
    case QC_SEC_CONSTANTS: return "CONSTANTS";
    case QC_SEC_PLAN: return "PLAN";
    default: return "TARGET";
    }
}

/* Bytes outside the header, table and sections (alignment padding) must be
 * zero: no CRC covers them, and this way every damaged byte is an error. */
static qc_status check_padding(rd *t, const uint8_t *img, size_t len, size_t table_end,
                               const qc_model_data *m) {
    for (size_t at = table_end; at < len; at++) {
        if (!img[at]) continue;
        bool covered = false;
        for (int32_t j = 0; j < m->n_sections && !covered; j++) {
            size_t so = (size_t)(m->sections[j].data - img);
            if (at >= so && at - so < m->sections[j].len) {
                covered = true;
                at = so + m->sections[j].len - 1;   /* skip the section */
            }
        }
        if (!covered) return fail_at(t, at, "padding byte is not 0");
    }
    return NULL;
}

/* Header and section table; fills m->sections (pointing into `img`). */
static qc_status read_container(const uint8_t *img, size_t len, const char *source, owned *o,
                                qc_model_data *m) {
    rd h = {img, len, 0, 0, "header", source, NULL};
    if (len < QC_QCM_HEADER_SIZE)
        return fail_at(&h, 0, "file is %zu bytes, shorter than the 64-byte header", len);
    if (memcmp(img, QC_QCM_MAGIC, 8)) return fail_at(&h, 0, "not a .qcm file (bad magic)");
    uint32_t version = qc_le32(img + QC_QCM_H_VERSION);
    if (version != QC_QCM_VERSION)
        return fail_at(&h, QC_QCM_H_VERSION, "format version %u, this runtime reads %u",
                       version, QC_QCM_VERSION);
    if (qc_le32(img + QC_QCM_H_HEADER_CRC) != qc_crc32(0, img, QC_QCM_H_HEADER_CRC))
        return fail_at(&h, QC_QCM_H_HEADER_CRC, "header CRC mismatch (file corrupted)");
    uint64_t fsize = qc_le64(img + QC_QCM_H_FILE_SIZE);
    uint32_t count = qc_le32(img + QC_QCM_H_SECTION_COUNT);
    uint32_t toff = qc_le32(img + QC_QCM_H_TABLE_OFFSET);
    if (qc_le32(img + QC_QCM_H_HEADER_SIZE) != QC_QCM_HEADER_SIZE)
        return fail_at(&h, QC_QCM_H_HEADER_SIZE, "header size is not 64");
    if (fsize != len)
        return fail_at(&h, QC_QCM_H_FILE_SIZE, "header says %llu bytes, file has %zu (truncated?)",
                       (unsigned long long)fsize, len);
    if (count < 1 || count > QC_QCM_MAX_SECTIONS)
        return fail_at(&h, QC_QCM_H_SECTION_COUNT, "%u sections (1..64 allowed)", count);
    if (toff != QC_QCM_HEADER_SIZE)
        return fail_at(&h, QC_QCM_H_TABLE_OFFSET, "section table at %u, not 64", toff);
    if (qc_le32(img + QC_QCM_H_FLAGS))
        return fail_at(&h, QC_QCM_H_FLAGS, "unknown flags %#x", qc_le32(img + QC_QCM_H_FLAGS));
    for (size_t k = QC_QCM_H_RESERVED; k < QC_QCM_H_HEADER_CRC; k++)
        if (img[k]) return fail_at(&h, k, "reserved header byte is not 0");
    size_t tlen = (size_t)count * QC_QCM_ENTRY_SIZE, table_end = toff + tlen;
    if (table_end > len) return fail_at(&h, toff, "section table runs past the end of the file");
    if (qc_le32(img + QC_QCM_H_TABLE_CRC) != qc_crc32(0, img + toff, tlen))
        return fail_at(&h, QC_QCM_H_TABLE_CRC, "section table CRC mismatch (file corrupted)");
    m->sections = pool_alloc(o, count * sizeof *m->sections);
    if (!m->sections) return nomem();
    m->n_sections = (int32_t)count;
    rd t = {img, len, 0, 0, "section table", source, NULL};
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = img + toff + (size_t)i * QC_QCM_ENTRY_SIZE;
        size_t at = toff + (size_t)i * QC_QCM_ENTRY_SIZE;
        uint32_t kind = qc_le32(e), target = qc_le32(e + 4);
        uint64_t off = qc_le64(e + 8), slen = qc_le64(e + 16);
        if (!(kind >= QC_SEC_GRAPH && kind <= QC_SEC_PLAN) &&
            !(kind >= QC_SEC_TARGET && kind <= QC_SEC_TARGET_LAST))
            return fail_at(&t, at, "section %u has unknown kind %u", i, kind);
        if (target > QC_TARGET_CUDA)
            return fail_at(&t, at + 4, "section %u has unknown target %u", i, target);
        if ((kind == QC_SEC_GRAPH || kind == QC_SEC_CONSTANTS) != (target == QC_TARGET_NONE))
            return fail_at(&t, at + 4, "section %u (%s): target %u not allowed", i,
                           kind_name(kind), target);
        if (off % QC_QCM_ALIGN || off < table_end || off > len || slen > len - off)
            return fail_at(&t, at + 8, "section %u: bytes %llu+%llu outside the file or not "
                           "64-aligned after the table", i, (unsigned long long)off,
                           (unsigned long long)slen);
        if (qc_le32(e + 28)) return fail_at(&t, at + 28, "section %u: reserved field not 0", i);
        if (qc_le32(e + 24) != qc_crc32(0, img + off, (size_t)slen))
            return fail_at(&t, at + 24, "section %u (%s): CRC mismatch (file corrupted)", i,
                           kind_name(kind));
        if (kind == QC_SEC_TARGET && target == QC_TARGET_REF && slen)
            return fail_at(&t, at + 16, "section %u: the ref target marker must be empty", i);
        for (uint32_t j = 0; j < i; j++) {
            const qc_rt_section *s = &m->sections[j];
            size_t so = (size_t)(s->data - img);
            if (s->kind == kind && s->target == target)
                return fail_at(&t, at, "section %u duplicates section %u (%s)", i, j,
                               kind_name(kind));
            if (slen && s->len && off < so + s->len && so < off + slen)
                return fail_at(&t, at + 8, "section %u overlaps section %u", i, j);
        }
        m->sections[i] = (qc_rt_section){.kind = kind, .target = target, .data = img + off,
                                         .len = (size_t)slen, .offset = off,
                                         .crc = qc_le32(e + 24)};
        if (kind >= QC_SEC_TARGET) m->targets |= 1u << target;
    }
    return check_padding(&t, img, len, table_end, m);
}

static const qc_rt_section *find_section(const qc_model_data *m, uint32_t kind,
                                         uint32_t target) {
    for (int32_t i = 0; i < m->n_sections; i++)
        if (m->sections[i].kind == kind && m->sections[i].target == target)
            return &m->sections[i];
    return NULL;
}

static qc_status parse(const uint8_t *img, size_t len, const char *source, owned *o,
                       qc_model_data *m) {
    qc_status st = read_container(img, len, source, o, m);
    if (st) return st;
    const qc_rt_section *g = find_section(m, QC_SEC_GRAPH, 0);
    if (!g) return qc_error(QC_ERR_PARSE, "%s: no GRAPH section", source);
    const qc_rt_section *k = find_section(m, QC_SEC_CONSTANTS, 0);
    gctx c = {{g->data, g->len, 0, (size_t)(g->data - img), "GRAPH", source, NULL}, o, m, 0,
              NULL, k ? k->data : NULL, k ? k->len : 0, NULL};
    st = read_graph(&c);
    if (st) return st;
    const qc_rt_section *p = find_section(m, QC_SEC_PLAN, QC_TARGET_REF);
    if (!p) return NULL;   /* no plan: the runtime plans itself */
    rd pr = {p->data, p->len, 0, (size_t)(p->data - img), "PLAN", source, NULL};
    return read_plan(&pr, m);
}

qc_status qc_model_data_parse(const void *buf, size_t len, bool copy, const char *source,
                              qc_model_data **out) {
    *out = NULL;
    if (!source) source = "model";
    if (!buf && len) return qc_error(QC_ERR_INVALID, "%s: no bytes given", source);
    owned *o = calloc(1, sizeof *o);
    qc_model_data *m = calloc(1, sizeof *m);
    if (!o || !m) {
        free(o);
        free(m);
        return nomem();
    }
    m->owned = o;
    const uint8_t *img = buf;
    if (copy && len) {
        /* 64-aligned, so constants (64-aligned in the file) are too. */
        size_t cap = (len + QC_QCM_ALIGN - 1) / QC_QCM_ALIGN * QC_QCM_ALIGN;
        o->image = aligned_alloc(QC_QCM_ALIGN, cap);
        if (!o->image) {
            qc_model_data_free(m);
            return nomem();
        }
        memcpy(o->image, buf, len);
        img = o->image;
    }
    qc_status st = parse(img, len, source, o, m);
    if (st) {
        qc_model_data_free(m);
        return st;
    }
    *out = m;
    return NULL;
}

void qc_model_data_free(qc_model_data *m) {
    if (!m) return;
    if (m->code.release) m->code.release(m->code.ctx);
    owned *o = m->owned;
    if (o) {
        for (chunk *c = o->chunks; c;) {
            chunk *next = c->next;
            free(c);
            c = next;
        }
        free(o->image);
        free(o);
    }
    free(m);
}
