/* npy.c — .npy reader and writer (see npy.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/dtype.h"
#include "tools/npy.h"

static const struct {
    const char *descr;
    qc_dtype dtype;
} qc_npy_types[] = {
    {"<f4", QC_F32}, {"<f8", QC_F64}, {"<f2", QC_F16}, {"<i8", QC_I64}, {"<i4", QC_I32},
    {"<i2", QC_I16}, {"|i1", QC_I8},  {"|u1", QC_U8},  {"|b1", QC_BOOL},
};

static const char *descr_of(qc_dtype t) {
    for (size_t i = 0; i < sizeof qc_npy_types / sizeof qc_npy_types[0]; i++)
        if (qc_npy_types[i].dtype == t) return qc_npy_types[i].descr;
    return NULL;
}

/* Finds 'key': in the header dict and returns a pointer just past the colon. */
static const char *dict_value(const char *hdr, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

/* The header is a Python dict literal written by numpy's repr; we accept the
 * keys in any order but each value must have the exact form numpy writes. */
static qc_status parse_header(const char *hdr, const char *name, qc_tensor_desc *d) {
    const char *p = hdr;
    while (*p == ' ') p++;
    if (*p != '{') return qc_error(QC_ERR_PARSE, "%s: npy header is not a dict", name);
    p = dict_value(hdr, "descr");
    if (!p) return qc_error(QC_ERR_PARSE, "%s: npy header has no 'descr'", name);
    if (*p != '\'')
        return qc_error(QC_ERR_UNSUPPORTED,
                        "%s: npy 'descr' is not a simple type string (structured arrays are "
                        "not supported)",
                        name);
    char descr[16] = {0};
    size_t n = 0;
    for (p++; *p && *p != '\'' && n < sizeof descr - 1; p++) descr[n++] = *p;
    if (*p != '\'') return qc_error(QC_ERR_PARSE, "%s: npy 'descr' is malformed", name);
    /* Byte-sized types have no byte order; numpy writes '|' but any marker is
     * equivalent. */
    if ((descr[0] == '<' || descr[0] == '>' || descr[0] == '=') &&
        (strcmp(descr + 1, "b1") == 0 || strcmp(descr + 1, "i1") == 0 ||
         strcmp(descr + 1, "u1") == 0))
        descr[0] = '|';
    d->dtype = QC_DT_UNDEF;
    for (size_t i = 0; i < sizeof qc_npy_types / sizeof qc_npy_types[0]; i++)
        if (strcmp(descr, qc_npy_types[i].descr) == 0) d->dtype = qc_npy_types[i].dtype;
    if (d->dtype == QC_DT_UNDEF && descr[0] == '>')
        return qc_error(QC_ERR_UNSUPPORTED,
                        "%s: npy element type '%s' is big-endian; only little-endian files "
                        "are supported",
                        name, descr);
    if (d->dtype == QC_DT_UNDEF)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "%s: npy element type '%s' is not supported (f32 f64 f16 i64 i32 i16 i8 "
                        "u8 bool, little-endian)",
                        name, descr);
    p = dict_value(hdr, "fortran_order");
    if (!p) return qc_error(QC_ERR_PARSE, "%s: npy header has no 'fortran_order'", name);
    if (strncmp(p, "True", 4) == 0)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: Fortran-order npy files are not supported", name);
    if (strncmp(p, "False", 5) != 0)
        return qc_error(QC_ERR_PARSE, "%s: npy 'fortran_order' is neither True nor False", name);
    p = dict_value(hdr, "shape");
    if (!p) return qc_error(QC_ERR_PARSE, "%s: npy header has no 'shape'", name);
    if (*p != '(') return qc_error(QC_ERR_PARSE, "%s: npy 'shape' is not a tuple", name);
    p++;
    d->rank = 0;
    /* "()", "(5,)", "(2, 3)", "(2, 3,)": dims separated by exactly one comma. */
    for (;;) {
        while (*p == ' ') p++;
        if (*p == ')') break;
        if (*p == '-')
            return qc_error(QC_ERR_PARSE, "%s: npy dim %d is negative", name, (int)d->rank);
        if (*p < '0' || *p > '9')
            return qc_error(QC_ERR_PARSE, "%s: npy 'shape' is malformed", name);
        if (d->rank == QC_MAX_RANK)
            return qc_error(QC_ERR_UNSUPPORTED, "%s: npy rank exceeds %d", name, QC_MAX_RANK);
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno || v > ((long long)1 << 40))
            return qc_error(QC_ERR_PARSE, "%s: npy dim %d is out of range", name, (int)d->rank);
        d->dims[d->rank++] = v;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        else if (*p != ')') return qc_error(QC_ERR_PARSE, "%s: npy 'shape' is malformed", name);
    }
    return NULL;
}

/* "[2,3]" for error messages. */
static const char *shape_text(const qc_tensor_desc *d, char *buf, size_t n) {
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < d->rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? "," : "", (long long)d->dims[i]);
    if (at < n) snprintf(buf + at, n - at, "]");
    return buf;
}

qc_status qc_npy_parse(const void *buf, size_t len, const char *name, qc_tensor *out) {
    const uint8_t *b = buf;
    memset(out, 0, sizeof *out);
    if (len < 6 || memcmp(b, "\x93NUMPY", 6) != 0)
        return qc_error(QC_ERR_PARSE, "%s: not an npy file (bad magic)", name);
    if (len < 10) return qc_error(QC_ERR_PARSE, "%s: npy header truncated", name);
    size_t hlen, hstart;
    if (b[7] != 0 || b[6] < 1 || b[6] > 3)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: npy format version %d.%d is not supported", name,
                        b[6], b[7]);
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else {
        if (len < 12) return qc_error(QC_ERR_PARSE, "%s: npy header truncated", name);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    }
    if (hlen > len - hstart)
        return qc_error(QC_ERR_PARSE,
                        "%s: npy header length %zu runs past the end of the file (%zu bytes)",
                        name, hlen, len);
    char *hdr = malloc(hlen + 1);
    if (!hdr) return qc_error(QC_ERR_NOMEM, "%s: out of memory", name);
    memcpy(hdr, b + hstart, hlen);
    hdr[hlen] = 0;
    qc_tensor_desc d = {0};
    char shape[QC_MAX_RANK * 24 + 8];
    qc_status st = parse_header(hdr, name, &d);
    free(hdr);
    if (st) return st;
    int64_t numel = 1;
    for (int i = 0; i < d.rank; i++) {
        if (d.dims[i] && numel > ((int64_t)1 << 40) / d.dims[i])
            return qc_error(QC_ERR_PARSE, "%s: npy shape is too large", name);
        numel *= d.dims[i];
    }
    size_t bytes = qc_dtype_bytes(d.dtype, numel);
    size_t have = len - hstart - hlen;
    if (have != bytes)
        return qc_error(QC_ERR_PARSE, "%s: npy data is %zu bytes, its header's %s%s needs %zu",
                        name, have, qc_dtype_name(d.dtype), shape_text(&d, shape, sizeof shape),
                        bytes);
    if ((st = qc_tensor_alloc(&d, out))) return qc_status_wrap(st, "%s", name);
    if (bytes) memcpy(out->data, b + hstart + hlen, bytes);
    return NULL;
}

qc_status qc_npy_read(const char *path, qc_tensor *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return qc_error(QC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* fstat rather than fseek/ftell: a directory opens fine on Linux and
     * "seeks" to a huge end offset, which used to become a giant malloc. */
    qc_status st = NULL;
    uint8_t *buf = NULL;
    struct stat sb;
    size_t size = 0;
    if (fstat(fileno(f), &sb) != 0)
        st = qc_error(QC_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = qc_error(QC_ERR_IO, "%s: is a directory, not an npy file", path);
    else if (!S_ISREG(sb.st_mode))
        st = qc_error(QC_ERR_IO, "%s: not a regular file", path);
    else
        size = (size_t)sb.st_size;
    if (!st && !(buf = malloc(size + 1)))
        st = qc_error(QC_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    if (!st && fread(buf, 1, size, f) != size)
        st = qc_error(QC_ERR_IO, "%s: read failed", path);
    fclose(f);
    if (!st) st = qc_npy_parse(buf, size, path, out);
    free(buf);
    return st;
}

qc_status qc_npy_write(const char *path, const qc_tensor *t) {
    const char *descr = descr_of(t->desc.dtype);
    if (!descr)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: cannot store %s tensors in npy", path,
                        qc_dtype_name(t->desc.dtype));
    /* Validate before formatting: the shape buffer is sized for QC_MAX_RANK
     * dims, and a negative dim would write a header no reader accepts. */
    if (t->desc.rank < 0 || t->desc.rank > QC_MAX_RANK)
        return qc_error(QC_ERR_INVALID, "%s: tensor rank %d outside 0..%d", path,
                        (int)t->desc.rank, QC_MAX_RANK);
    int64_t numel = 1;
    for (int i = 0; i < t->desc.rank; i++) {
        int64_t dim = t->desc.dims[i];
        if (dim < 0)
            return qc_error(QC_ERR_INVALID, "%s: tensor dim %d is %lld (unbound or negative)",
                            path, i, (long long)dim);
        if (dim && numel > INT64_MAX / 8 / dim)
            return qc_error(QC_ERR_INVALID, "%s: tensor too large", path);
        numel *= dim;
    }
    size_t bytes = qc_dtype_bytes(t->desc.dtype, numel);
    if (bytes && !t->data) return qc_error(QC_ERR_INVALID, "%s: tensor has no data", path);
    char shape[QC_MAX_RANK * 24 + 8];
    size_t at = 0;
    for (int i = 0; i < t->desc.rank; i++)
        at += (size_t)snprintf(shape + at, sizeof shape - at, "%lld,%s",
                               (long long)t->desc.dims[i], t->desc.rank > 1 ? " " : "");
    if (t->desc.rank > 1) at -= 2;          /* "(2, 3)" not "(2, 3, )"; "(5,)" for rank 1 */
    shape[at] = 0;
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     descr, shape);
    /* Pad with spaces so magic + header is a multiple of 64, ending in '\n'
     * (byte-identical to what numpy writes for the same array). */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    memset(hdr + n, ' ', pad);
    hdr[n + pad] = '\n';
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return qc_error(QC_ERR_IO, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return qc_error(QC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff),
                       (uint8_t)(hlen >> 8)};
    bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hlen, f) == hlen &&
              (bytes == 0 || fwrite(t->data, 1, bytes, f) == bytes);
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        remove(tmp);
        return qc_error(QC_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return NULL;
}
