/* tensor.c — TensorProto -> qcomp type + bytes.
 *
 * A TensorProto carries its data in exactly one place: raw_data (fixed-width
 * little endian), a typed field (float_data, int32_data — which also holds
 * the 8/16-bit types, bools and fp8 bit patterns, one element per entry,
 * and packed int4 bytes —, int64_data, double_data, uint64_data), or an
 * external file. Every count is checked against the dims before anything
 * is allocated, so the allocation never exceeds what the file really holds:
 * a lying header yields an error naming the tensor, not a huge malloc. */
/* realpath() is XSI, beyond the POSIX level the build defines. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx/onnx_internal.h"
#include "ir/dtype.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raw_data is little endian; qcomp's ONNX reader assumes a little-endian host"
#endif

/* TensorProto.DataType numbers (onnx.proto; 17-22 postdate the system's
 * onnx.proto, so they are spelled out here). */
enum {
    T_UNDEFINED = 0, T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_UINT16 = 4, T_INT16 = 5,
    T_INT32 = 6, T_INT64 = 7, T_STRING = 8, T_BOOL = 9, T_FLOAT16 = 10, T_DOUBLE = 11,
    T_UINT32 = 12, T_UINT64 = 13, T_COMPLEX64 = 14, T_COMPLEX128 = 15, T_BFLOAT16 = 16,
    T_FLOAT8E4M3FN = 17, T_FLOAT8E4M3FNUZ = 18, T_FLOAT8E5M2 = 19, T_FLOAT8E5M2FNUZ = 20,
    T_UINT4 = 21, T_INT4 = 22, T_FLOAT4E2M1 = 23,
};

static const char *const type_names[] = {
    "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
    "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128",
    "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4",
    "INT4", "FLOAT4E2M1"};

qc_dtype qc_onnx_dtype(int32_t t) {
    switch (t) {
    case T_FLOAT: return QC_F32;
    case T_DOUBLE: return QC_F64;
    case T_FLOAT16: return QC_F16;
    case T_BFLOAT16: return QC_BF16;
    case T_INT64: return QC_I64;
    case T_INT32: return QC_I32;
    case T_INT16: return QC_I16;
    case T_INT8: return QC_I8;
    case T_UINT8: return QC_U8;
    case T_BOOL: return QC_BOOL;
    case T_FLOAT8E4M3FN: return QC_F8E4M3FN;
    case T_FLOAT8E5M2: return QC_F8E5M2;
    case T_INT4: return QC_I4;
    case T_UINT4: return QC_U4;
    default: return QC_DT_UNDEF;
    }
}

const char *qc_onnx_dtype_name(int32_t t, char *buf, size_t n) {
    if (t >= 0 && (size_t)t < sizeof type_names / sizeof type_names[0]) return type_names[t];
    snprintf(buf, n, "type %d", (int)t);
    return buf;
}

/* ---- shape -------------------------------------------------------------------- */

/* A bound on element counts far above any real tensor, so that byte sizes
 * (count * 8) and later arithmetic never overflow. */
#define MAX_NUMEL ((int64_t)1 << 56)

static qc_status decode_type(const Onnx__TensorProto *t, const char *what, qc_type *type,
                             int64_t *numel) {
    char buf[32];
    if (!t->has_data_type || t->data_type == T_UNDEFINED)
        return qc_error(QC_ERR_INVALID, "%s has no data_type", what);
    qc_dtype dt = qc_onnx_dtype(t->data_type);
    if (dt == QC_DT_UNDEF)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: element type %s is not supported by qcomp",
                        what, qc_onnx_dtype_name(t->data_type, buf, sizeof buf));
    if (t->n_dims > QC_MAX_RANK)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: rank %zu exceeds qcomp's maximum of %d", what,
                        t->n_dims, QC_MAX_RANK);
    memset(type, 0, sizeof *type);
    type->dtype = dt;
    type->rank = (int32_t)t->n_dims;
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        int64_t d = t->dims[i];
        if (d < 0)
            return qc_error(QC_ERR_INVALID, "%s: dim %zu is negative (%lld)", what, i,
                            (long long)d);
        if (d > 0 && n > MAX_NUMEL / d)
            return qc_error(QC_ERR_INVALID, "%s: element count overflows (dim %zu is %lld)", what,
                            i, (long long)d);
        n *= d;
        type->dims[i] = d;
    }
    *numel = n;
    return NULL;
}

static void format_dims(const qc_type *t, char *buf, size_t n) {
    qc_type_format(t, NULL, buf, n);
}

/* ---- typed fields ------------------------------------------------------------- */

/* Which typed field may hold a type's data: ONNX packs every type narrower
 * than 32 bits (and int32) into int32_data. */
typedef enum field { F_NONE, F_FLOAT, F_INT32, F_INT64, F_DOUBLE, F_UINT64 } field;

static field field_for(qc_dtype dt) {
    switch (dt) {
    case QC_F32: return F_FLOAT;
    case QC_F64: return F_DOUBLE;
    case QC_I64: return F_INT64;
    default: return F_INT32;
    }
}

static const char *field_name(field f) {
    static const char *const names[] = {"none", "float_data", "int32_data", "int64_data",
                                        "double_data", "uint64_data"};
    return names[f];
}

/* Stores int32_data entry v as element (or packed byte) i of a `dt` buffer,
 * checking it is in the type's range. Bit-pattern types (f16, bf16, fp8 and
 * the packed int4 bytes) also accept the sign-extended form of their bits. */
static bool put_int32(qc_dtype dt, void *dst, size_t i, int32_t v) {
    switch (dt) {
    case QC_I32: ((int32_t *)dst)[i] = v; return true;
    case QC_I16:
        if (v < INT16_MIN || v > INT16_MAX) return false;
        ((int16_t *)dst)[i] = (int16_t)v;
        return true;
    case QC_I8:
        if (v < INT8_MIN || v > INT8_MAX) return false;
        ((int8_t *)dst)[i] = (int8_t)v;
        return true;
    case QC_U8:
        if (v < 0 || v > UINT8_MAX) return false;
        ((uint8_t *)dst)[i] = (uint8_t)v;
        return true;
    case QC_BOOL:   /* any nonzero value is true, as numpy reads it */
        ((uint8_t *)dst)[i] = v != 0;
        return true;
    case QC_F16: case QC_BF16:
        if (v < INT16_MIN || v > UINT16_MAX) return false;
        ((uint16_t *)dst)[i] = (uint16_t)v;
        return true;
    case QC_F8E4M3FN: case QC_F8E5M2: case QC_I4: case QC_U4:
        if (v < INT8_MIN || v > UINT8_MAX) return false;
        ((uint8_t *)dst)[i] = (uint8_t)v;
        return true;
    default: return false;
    }
}

/* The typed field holding data, or F_NONE; several non-empty fields (or one
 * plus raw_data) is an error. */
static qc_status pick_source(const Onnx__TensorProto *t, const char *what, field *f,
                             size_t *count, bool *raw) {
    struct { field f; size_t n; } fields[] = {
        {F_FLOAT, t->n_float_data}, {F_INT32, t->n_int32_data}, {F_INT64, t->n_int64_data},
        {F_DOUBLE, t->n_double_data}, {F_UINT64, t->n_uint64_data}};
    const char *first = t->has_raw_data && t->raw_data.len ? "raw_data" : NULL;
    *f = F_NONE;
    *count = 0;
    *raw = t->has_raw_data;
    if (t->n_string_data)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: string_data is not supported", what);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!fields[i].n) continue;
        if (first)
            return qc_error(QC_ERR_INVALID, "%s has data in both %s and %s", what, first,
                            field_name(fields[i].f));
        first = field_name(fields[i].f);
        *f = fields[i].f;
        *count = fields[i].n;
        *raw = false;
    }
    return NULL;
}

/* Checks that typed field f may hold the tensor's type and has exactly the
 * element count its shape needs (before anything is allocated). */
static qc_status check_typed(const Onnx__TensorProto *t, const char *what, const qc_type *type,
                             int64_t numel, field f, size_t count) {
    qc_dtype dt = type->dtype;
    char dims[160], buf[32];
    if (f != field_for(dt))
        return qc_error(QC_ERR_INVALID, "%s: %s cannot hold %s elements", what, field_name(f),
                        qc_onnx_dtype_name(t->data_type, buf, sizeof buf));
    /* int4 types pack two elements per int32_data entry (one byte each). */
    size_t want = (dt == QC_I4 || dt == QC_U4) ? (size_t)(numel + 1) / 2 : (size_t)numel;
    if (count != want) {
        format_dims(type, dims, sizeof dims);
        return qc_error(QC_ERR_INVALID, "%s: %s has %zu values, its shape %s needs %zu", what,
                        field_name(f), count, dims, want);
    }
    return NULL;
}

/* Copies a typed field checked by check_typed into dst. */
static qc_status copy_typed(const Onnx__TensorProto *t, const char *what, qc_dtype dt, field f,
                            size_t count, void *dst) {
    switch (f) {
    case F_FLOAT: memcpy(dst, t->float_data, count * sizeof(float)); break;
    case F_DOUBLE: memcpy(dst, t->double_data, count * sizeof(double)); break;
    case F_INT64: memcpy(dst, t->int64_data, count * sizeof(int64_t)); break;
    default:
        for (size_t i = 0; i < count; i++)
            if (!put_int32(dt, dst, i, t->int32_data[i]))
                return qc_error(QC_ERR_INVALID, "%s: int32_data[%zu] = %d is out of range for %s",
                                what, i, (int)t->int32_data[i], qc_dtype_name(dt));
        break;
    }
    return NULL;
}

/* ---- external data ------------------------------------------------------------ */

/* Parses a non-negative decimal that fits in int64. */
static bool parse_size(const char *s, uint64_t *out) {
    if (!s || !*s) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (uint64_t)INT64_MAX / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > (uint64_t)INT64_MAX) return false;
    *out = v;
    return true;
}

/* A location is a plain relative path below the model's directory: not
 * absolute, no "." or ".." components, no empty components. Symlinks are
 * checked after resolution (resolve_location). */
static qc_status check_location(const char *loc, const char *what) {
    if (!*loc) return qc_error(QC_ERR_INVALID, "%s: external data location is empty", what);
    if (loc[0] == '/')
        return qc_error(QC_ERR_INVALID,
                        "%s: external data location '%s' is an absolute path (it must be "
                        "relative to the model's directory)", what, loc);
    for (const char *c = loc; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return qc_error(QC_ERR_INVALID,
                            "%s: external data location '%s' has a '%.*s' component (it must "
                            "stay inside the model's directory)", what, loc, (int)n, c);
        c += n + (c[n] == '/');
    }
    return NULL;
}

/* realpath() of base_dir/loc, which must lie inside realpath(base_dir):
 * a symlink pointing elsewhere is refused. Returns a malloc'd path. */
static qc_status resolve_location(const char *base_dir, const char *loc, const char *what,
                                  char **out) {
    *out = NULL;
    char *base = realpath(base_dir, NULL);
    if (!base)
        return qc_error(QC_ERR_IO, "%s: model directory '%s': %s", what, base_dir,
                        strerror(errno));
    size_t n = strlen(base) + strlen(loc) + 2;
    char *joined = malloc(n);
    qc_status st = NULL;
    if (!joined) st = qc_error(QC_ERR_NOMEM, "out of memory");
    char *real = NULL;
    if (!st) {
        snprintf(joined, n, "%s/%s", base, loc);
        real = realpath(joined, NULL);
        if (!real)
            st = qc_error(QC_ERR_IO, "%s: external data file '%s' (in %s): %s", what, loc,
                          base_dir, strerror(errno));
    }
    size_t bl = strlen(base);
    /* base "/" is its own prefix case: everything is below it. */
    if (!st && !(strncmp(real, base, bl) == 0 && (real[bl] == '/' || bl == 1)))
        st = qc_error(QC_ERR_INVALID,
                      "%s: external data file '%s' resolves to %s, outside the model's directory "
                      "%s (symlink?)", what, loc, real, base);
    free(base);
    free(joined);
    if (st) {
        free(real);
        return st;
    }
    *out = real;
    return NULL;
}

/* An open external data file whose range [offset, offset + want) is proven
 * to exist, so the caller may allocate `want` bytes for it. */
typedef struct ext_file {
    int fd;
    uint64_t offset;
    char *path;   /* resolved, for messages */
} ext_file;

static void external_close(ext_file *e) {
    if (e->fd >= 0) close(e->fd);
    free(e->path);
    e->fd = -1;
    e->path = NULL;
}

static qc_status external_open(const Onnx__TensorProto *t, const char *what,
                               const char *base_dir, size_t want, ext_file *e) {
    e->fd = -1;
    e->offset = 0;
    e->path = NULL;
    const char *loc = NULL;
    uint64_t length = 0;
    bool has_length = false;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const char *k = t->external_data[i]->key, *v = t->external_data[i]->value;
        if (!k || !v) continue;
        if (!strcmp(k, "location")) {
            if (loc)
                return qc_error(QC_ERR_INVALID, "%s: external data location given twice", what);
            loc = v;
        } else if (!strcmp(k, "offset")) {
            if (!parse_size(v, &e->offset))
                return qc_error(QC_ERR_INVALID, "%s: external data offset '%s' is not a "
                                "non-negative integer", what, v);
        } else if (!strcmp(k, "length")) {
            if (!parse_size(v, &length))
                return qc_error(QC_ERR_INVALID, "%s: external data length '%s' is not a "
                                "non-negative integer", what, v);
            has_length = true;
        }   /* "checksum" and unknown keys carry nothing we need */
    }
    if (!loc) return qc_error(QC_ERR_INVALID, "%s: external data has no location", what);
    qc_status st = check_location(loc, what);
    if (st) return st;
    if (!base_dir)
        return qc_error(QC_ERR_INVALID,
                        "%s: external data '%s' cannot be resolved: the model was read from "
                        "memory, with no directory", what, loc);
    if ((st = resolve_location(base_dir, loc, what, &e->path))) return st;
    e->fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (e->fd < 0)
        st = qc_error(QC_ERR_IO, "%s: cannot open external data file %s: %s", what, e->path,
                      strerror(errno));
    else if (fstat(e->fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        st = qc_error(QC_ERR_IO, "%s: external data file %s is not a regular file", what,
                      e->path);
    if (!st) {
        uint64_t size = (uint64_t)sb.st_size, offset = e->offset;
        if (!has_length) length = offset <= size ? size - offset : 0;
        if (offset > size || length > size - offset)
            st = qc_error(QC_ERR_INVALID,
                          "%s: external data range [offset %llu, length %llu] runs past the end "
                          "of %s (%llu bytes)", what, (unsigned long long)offset,
                          (unsigned long long)length, e->path, (unsigned long long)size);
        else if (length != want)
            st = qc_error(QC_ERR_INVALID,
                          "%s: external data in %s has %llu bytes, its shape needs %zu", what,
                          e->path, (unsigned long long)length, want);
    }
    if (st) external_close(e);
    return st;
}

static qc_status external_read(ext_file *e, const char *what, size_t want, void *dst) {
    for (size_t done = 0; done < want;) {
        ssize_t got = pread(e->fd, (uint8_t *)dst + done, want - done,
                            (off_t)(e->offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            return qc_error(QC_ERR_IO, "%s: reading external data file %s: %s", what, e->path,
                            got < 0 ? strerror(errno) : "unexpected end of file");
        done += (size_t)got;
    }
    return NULL;
}

/* ---- the decoder ---------------------------------------------------------------- */

qc_status qc_onnx_tensor_decode(const Onnx__TensorProto *t, const char *what,
                                const char *base_dir, qc_type *type, void **data,
                                size_t *nbytes) {
    *data = NULL;
    *nbytes = 0;
    int64_t numel = 0;
    qc_status st = decode_type(t, what, type, &numel);
    if (st) return st;
    if (t->segment)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
    bool external = t->has_data_location &&
                    t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (t->n_external_data && !external)
        return qc_error(QC_ERR_INVALID,
                        "%s has external_data entries but data_location is not EXTERNAL", what);
    field f;
    size_t count;
    bool raw;
    if ((st = pick_source(t, what, &f, &count, &raw))) return st;
    if (external && (f != F_NONE || (raw && t->raw_data.len)))
        return qc_error(QC_ERR_INVALID, "%s has both external and embedded data", what);
    size_t want = qc_dtype_bytes(type->dtype, numel);
    char dims[160];
    format_dims(type, dims, sizeof dims);
    /* Every check on the sizes happens before the allocation. */
    if (raw && !external && t->raw_data.len != want)
        return qc_error(QC_ERR_INVALID, "%s: raw_data has %zu bytes, its shape %s needs %zu",
                        what, t->raw_data.len, dims, want);
    if (!external && !raw && f == F_NONE && numel > 0)
        return qc_error(QC_ERR_INVALID, "%s has no data (its shape %s needs %lld elements)", what,
                        dims, (long long)numel);
    if (f != F_NONE && (st = check_typed(t, what, type, numel, f, count))) return st;
    ext_file ext = {-1, 0, NULL};
    if (external && (st = external_open(t, what, base_dir, want, &ext))) return st;
    uint8_t *buf = malloc(want ? want : 1);
    if (!buf) st = qc_error(QC_ERR_NOMEM, "%s: out of memory for %zu bytes", what, want);
    else if (external) st = external_read(&ext, what, want, buf);
    else if (raw && want) memcpy(buf, t->raw_data.data, want);
    else if (f != F_NONE) st = copy_typed(t, what, type->dtype, f, count, buf);
    if (!st && type->dtype == QC_BOOL)   /* qcomp bools are exactly 0 or 1 */
        for (size_t i = 0; i < want; i++) buf[i] = buf[i] != 0;
    if (!st && (type->dtype == QC_I4 || type->dtype == QC_U4) && (numel & 1) && want)
        buf[want - 1] &= 0x0f;
    external_close(&ext);
    if (st) {
        free(buf);
        return st;
    }
    *data = buf;
    *nbytes = want;
    return NULL;
}

/* ---- .pb tensor files ---------------------------------------------------------- */

qc_status qc_onnx_read_tensor_file(const char *path, qc_tensor *out, char **name_out) {
    memset(out, 0, sizeof *out);
    if (name_out) *name_out = NULL;
    uint8_t *buf;
    size_t len;
    qc_status st = qc_onnx_read_file(path, "tensor file", &buf, &len);
    if (st) return st;
    char what[512];
    st = qc_status_wrap(qc_onnx_wire_check(buf, len, &onnx__tensor_proto__descriptor,
                                           "the tensor file"), "%s", path);
    Onnx__TensorProto *t = NULL;
    if (!st) {
        t = onnx__tensor_proto__unpack(NULL, len, buf);
        if (!t)
            st = qc_error(QC_ERR_PARSE, "%s is not a valid serialized TensorProto (truncated "
                          "or another format)", path);
    }
    free(buf);
    char *dir = NULL;   /* external data of a .pb file lives next to it */
    if (!st && !(dir = qc_onnx_dirname(path))) st = qc_error(QC_ERR_NOMEM, "out of memory");
    qc_type type;
    void *data = NULL;
    size_t nbytes;
    if (!st) {
        snprintf(what, sizeof what, "%s: tensor '%s'", path, t->name ? t->name : "");
        st = qc_onnx_tensor_decode(t, what, dir, &type, &data, &nbytes);
    }
    if (!st && name_out) {
        const char *nm = t->name ? t->name : "";
        *name_out = malloc(strlen(nm) + 1);
        if (!*name_out) st = qc_error(QC_ERR_NOMEM, "out of memory");
        else strcpy(*name_out, nm);
    }
    if (st) free(data);
    else {
        out->desc = type;
        out->data = data;
    }
    free(dir);
    if (t) onnx__tensor_proto__free_unpacked(t, NULL);
    return st;
}
