/* artifact_format.h — the .qcm container and the GRAPH / PLAN encodings,
 * shared header-only by the writer (ir/artifact_write.c) and the loader
 * (runtime/artifact.c) so the two cannot drift. docs/artifact.md describes
 * every field; keep it in sync.
 *
 * Everything is little-endian; multi-byte fields inside GRAPH and PLAN are
 * not aligned (readers copy them out byte-wise). */
#ifndef QC_RUNTIME_ARTIFACT_FORMAT_H
#define QC_RUNTIME_ARTIFACT_FORMAT_H

#include <stdint.h>
#include <string.h>

#define QC_QCM_MAGIC "QCMODEL"          /* 8 bytes with its NUL */
#define QC_QCM_VERSION 1u
#define QC_QCM_HEADER_SIZE 64u
#define QC_QCM_ENTRY_SIZE 32u
#define QC_QCM_ALIGN 64u                /* section offsets and constants */
#define QC_QCM_MAX_SECTIONS 64u

/* Header field offsets. */
enum {
    QC_QCM_H_MAGIC = 0,
    QC_QCM_H_VERSION = 8,
    QC_QCM_H_HEADER_SIZE = 12,
    QC_QCM_H_FILE_SIZE = 16,
    QC_QCM_H_SECTION_COUNT = 24,
    QC_QCM_H_TABLE_OFFSET = 28,
    QC_QCM_H_FLAGS = 32,
    QC_QCM_H_TABLE_CRC = 36,
    QC_QCM_H_RESERVED = 40,   /* 20 zero bytes */
    QC_QCM_H_HEADER_CRC = 60, /* CRC of bytes 0..59 */
};

/* Section kinds. */
enum {
    QC_SEC_GRAPH = 1,
    QC_SEC_CONSTANTS = 2,
    QC_SEC_PLAN = 3,
    QC_SEC_TARGET = 16,   /* target marker/code; for target ref: empty, "ref can run GRAPH" */
    QC_SEC_TARGET_LAST = 31,   /* 17..31: more code sections, defined by the backends */
};

/* "No string" in a string-index field (the batch name of a static graph). */
#define QC_QCM_NO_STRING 0xffffffffu
/* Value flags (GRAPH value record). */
#define QC_QCM_VALUE_CONST 1u
/* Plan offsets of a value that is not in the arena (constants). */
#define QC_QCM_NO_OFFSET (-1)

/* ---- little-endian encoding helpers (used by both sides) ---------------- */

static inline uint32_t qc_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t qc_le64(const uint8_t *p) {
    return (uint64_t)qc_le32(p) | (uint64_t)qc_le32(p + 4) << 32;
}
static inline void qc_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void qc_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif
