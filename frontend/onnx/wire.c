/* wire.c — a pre-check of the protobuf wire format before protobuf-c
 * unpacks it, and whole-file reading.
 *
 * protobuf-c recurses once per nested message and has no depth limit, so a
 * hostile file of a few kilobytes nesting GraphProto -> NodeProto ->
 * AttributeProto -> GraphProto ... could exhaust the stack. It also allocates
 * a full C struct per submessage, so tiny empty submessages repeated
 * millions of times decode to many times the file's size. This walk follows
 * the schema (protobuf-c's descriptors) to bound both, and rejects
 * structurally broken input with the byte offset at fault. Also here: the
 * small file helpers the importer and the tensor reader share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/onnx/onnx_internal.h"

/* ONNX nests three messages per subgraph level (Graph -> Node -> Attribute);
 * real models stay far below this. */
#define MAX_DEPTH 96
/* Decoded size allowed per input byte, plus a fixed allowance: ordinary
 * models decode to about their own size (tensor bytes dominate). */
#define MAX_EXPANSION 16
#define EXPANSION_SLACK ((uint64_t)64 << 20)

typedef struct walk {
    const uint8_t *base;
    uint64_t decoded;      /* estimated bytes protobuf-c will allocate */
    const char *what;
} walk;

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static qc_status bad(const walk *w, const uint8_t *at, const char *why) {
    return qc_error(QC_ERR_PARSE, "%s is not valid protobuf: %s at byte %zu", w->what, why,
                    (size_t)(at - w->base));
}

static qc_status walk_message(walk *w, const uint8_t *p, const uint8_t *end,
                              const ProtobufCMessageDescriptor *desc, int depth) {
    if (depth > MAX_DEPTH) return bad(w, p, "messages nested too deeply");
    w->decoded += desc->sizeof_message;
    while (p < end) {
        const uint8_t *field_at = p;
        uint64_t key, len;
        if (!read_varint(&p, end, &key)) return bad(w, field_at, "truncated field key");
        uint32_t id = (uint32_t)(key >> 3);
        if (id == 0 || key >> 3 > 0x1fffffff) return bad(w, field_at, "invalid field number");
        switch (key & 7) {
        case 0:   /* varint */
            if (!read_varint(&p, end, &len)) return bad(w, field_at, "truncated varint");
            w->decoded += 8;
            break;
        case 1:   /* 64-bit */
            if (end - p < 8) return bad(w, field_at, "truncated 64-bit field");
            p += 8;
            w->decoded += 8;
            break;
        case 5:   /* 32-bit */
            if (end - p < 4) return bad(w, field_at, "truncated 32-bit field");
            p += 4;
            w->decoded += 8;
            break;
        case 2: { /* length-delimited: bytes, string, packed scalars or a message */
            if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p))
                return bad(w, field_at, "length runs past the end");
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, id);
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                qc_status st = walk_message(w, p, p + len, f->descriptor, depth + 1);
                if (st) return st;
                w->decoded += sizeof(void *);
            } else {
                /* Packed varints can expand up to 8x; strings get a NUL. */
                w->decoded += (f && f->type != PROTOBUF_C_TYPE_BYTES &&
                               f->type != PROTOBUF_C_TYPE_STRING) ? 8 * len : len + 1;
                w->decoded += sizeof(void *);
            }
            p += len;
            break;
        }
        default:
            return bad(w, field_at, "unsupported wire type");
        }
    }
    return NULL;
}

qc_status qc_onnx_wire_check(const uint8_t *buf, size_t len,
                             const ProtobufCMessageDescriptor *desc, const char *what) {
    walk w = {buf, 0, what};
    qc_status st = walk_message(&w, buf, buf + len, desc, 0);
    if (st) return st;
    if (w.decoded > (uint64_t)len * MAX_EXPANSION + EXPANSION_SLACK)
        return qc_error(QC_ERR_INVALID,
                        "%s has %zu bytes that would decode to about %llu bytes of protobuf "
                        "messages (refusing: a well-formed file decodes to about its own size)",
                        what, len, (unsigned long long)w.decoded);
    return NULL;
}

char *qc_onnx_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    /* "/m.onnx" lives in "/", "m.onnx" in "." */
    size_t n = slash ? (size_t)(slash - path) + (slash == path) : 1;
    char *dir = malloc(n + 1);
    if (!dir) return NULL;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = 0;
    return dir;
}

qc_status qc_onnx_read_file(const char *path, const char *what, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return qc_error(QC_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return qc_error(QC_ERR_IO, "%s: %s is not a regular file", path, what);
    }
    /* Read to EOF rather than trusting st_size: the file may change. */
    size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096, n = 0;
    uint8_t *p = malloc(cap);
    qc_status st = p ? NULL : qc_error(QC_ERR_NOMEM, "%s: out of memory reading %s", path, what);
    while (!st) {
        if (n == cap) {
            uint8_t *q = cap < SIZE_MAX / 2 ? realloc(p, cap * 2) : NULL;
            if (!q) {
                st = qc_error(QC_ERR_NOMEM, "%s: out of memory reading %s", path, what);
                break;
            }
            p = q;
            cap *= 2;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) st = qc_error(QC_ERR_IO, "%s: error reading %s", path, what);
            break;
        }
    }
    fclose(f);
    if (st) {
        free(p);
        return st;
    }
    *buf = p;
    *len = n;
    return NULL;
}
