/* npy.c — .npy reader and writer (see npy.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static qc_status parse_header(const char *hdr, const char *name, qc_tensor_desc *d) {
    const char *p = dict_value(hdr, "descr");
    if (!p || *p != '\'') return qc_error(QC_ERR_PARSE, "%s: npy header has no 'descr'", name);
    char descr[16] = {0};
    size_t n = 0;
    for (p++; *p && *p != '\'' && n < sizeof descr - 1; p++) descr[n++] = *p;
    if (*p != '\'') return qc_error(QC_ERR_PARSE, "%s: npy 'descr' is malformed", name);
    if (strcmp(descr, "<b1") == 0 || strcmp(descr, "<i1") == 0 || strcmp(descr, "<u1") == 0)
        descr[0] = '|';                      /* byte types may carry either marker */
    d->dtype = QC_DT_UNDEF;
    for (size_t i = 0; i < sizeof qc_npy_types / sizeof qc_npy_types[0]; i++)
        if (strcmp(descr, qc_npy_types[i].descr) == 0) d->dtype = qc_npy_types[i].dtype;
    if (d->dtype == QC_DT_UNDEF)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "%s: npy element type '%s' is not supported (f32 f64 f16 i64 i32 i16 i8 "
                        "u8 bool, little-endian)",
                        name, descr);
    p = dict_value(hdr, "fortran_order");
    if (!p) return qc_error(QC_ERR_PARSE, "%s: npy header has no 'fortran_order'", name);
    if (strncmp(p, "False", 5) != 0)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: Fortran-order npy files are not supported", name);
    p = dict_value(hdr, "shape");
    if (!p || *p != '(') return qc_error(QC_ERR_PARSE, "%s: npy header has no 'shape'", name);
    p++;
    d->rank = 0;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (*p < '0' || *p > '9')
            return qc_error(QC_ERR_PARSE, "%s: npy 'shape' is malformed", name);
        if (d->rank == QC_MAX_RANK)
            return qc_error(QC_ERR_UNSUPPORTED, "%s: npy rank exceeds %d", name, QC_MAX_RANK);
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0 || v > ((long long)1 << 40))
            return qc_error(QC_ERR_PARSE, "%s: npy dim %d is out of range", name, (int)d->rank);
        d->dims[d->rank++] = v;
        p = end;
    }
    return NULL;
}

qc_status qc_npy_parse(const void *buf, size_t len, const char *name, qc_tensor *out) {
    const uint8_t *b = buf;
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return qc_error(QC_ERR_PARSE, "%s: not an npy file (bad magic)", name);
    size_t hlen, hstart;
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        if (len < 12) return qc_error(QC_ERR_PARSE, "%s: npy header truncated", name);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        return qc_error(QC_ERR_UNSUPPORTED, "%s: npy format version %d.%d is not supported", name,
                        b[6], b[7]);
    }
    if (hlen > len - hstart) return qc_error(QC_ERR_PARSE, "%s: npy header truncated", name);
    char *hdr = malloc(hlen + 1);
    if (!hdr) return qc_error(QC_ERR_NOMEM, "%s: out of memory", name);
    memcpy(hdr, b + hstart, hlen);
    hdr[hlen] = 0;
    qc_tensor_desc d = {0};
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
        return qc_error(QC_ERR_PARSE, "%s: npy data is %zu bytes, its header says %zu", name, have,
                        bytes);
    if ((st = qc_tensor_alloc(&d, out))) return st;
    if (bytes) memcpy(out->data, b + hstart + hlen, bytes);
    return NULL;
}

qc_status qc_npy_read(const char *path, qc_tensor *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return qc_error(QC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    qc_status st = NULL;
    uint8_t *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = qc_error(QC_ERR_IO, "%s: cannot determine file size", path);
    if (!st && !(buf = malloc((size_t)size + 1)))
        st = qc_error(QC_ERR_NOMEM, "%s: out of memory reading %ld bytes", path, size);
    if (!st && fread(buf, 1, (size_t)size, f) != (size_t)size)
        st = qc_error(QC_ERR_IO, "%s: read failed", path);
    fclose(f);
    if (!st) st = qc_npy_parse(buf, (size_t)size, path, out);
    free(buf);
    return st;
}

qc_status qc_npy_write(const char *path, const qc_tensor *t) {
    const char *descr = descr_of(t->desc.dtype);
    if (!descr)
        return qc_error(QC_ERR_UNSUPPORTED, "%s: cannot store %s tensors in npy", path,
                        qc_dtype_name(t->desc.dtype));
    char shape[QC_MAX_RANK * 24 + 8];
    size_t at = 0;
    int64_t numel = 1;
    for (int i = 0; i < t->desc.rank; i++) {
        at += (size_t)snprintf(shape + at, sizeof shape - at, "%lld,%s",
                               (long long)t->desc.dims[i], t->desc.rank > 1 ? " " : "");
        numel *= t->desc.dims[i];
    }
    if (t->desc.rank > 1) at -= 2;          /* "(2, 3)" not "(2, 3, )"; "(5,)" for rank 1 */
    shape[at] = 0;
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     descr, shape);
    /* Pad with spaces so magic + header is a multiple of 64, ending in '\n'. */
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
    size_t bytes = qc_dtype_bytes(t->desc.dtype, numel);
    bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hlen, f) == hlen &&
              (bytes == 0 || fwrite(t->data, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return qc_error(QC_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return NULL;
}
