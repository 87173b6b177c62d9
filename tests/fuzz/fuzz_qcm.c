/* fuzz_qcm.c — libFuzzer target for the .qcm artifact loader.
 *
 * Each input is parsed twice: as given (header, table and CRC checks), and
 * with its file size and every CRC recomputed, so mutations get past the
 * checksums into the GRAPH / PLAN validation. A model the loader accepts
 * must rebuild into a graph that passes the verifier: the loader's checks
 * are meant to be at least as strict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/artifact_write.h"
#include "runtime/artifact_format.h"
#include "runtime/crc32.h"
#include "runtime/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_one(const uint8_t *data, size_t size) {
    qc_model_data *m = NULL;
    qc_status st = qc_model_data_parse(data, size, true, "fuzz.qcm", &m);
    if (!st) {
        qc_graph *g = NULL;
        st = qc_artifact_to_graph(m, &g);
        if (!st) st = qc_graph_verify(g);
        if (st) abort();   /* accepted by the loader, rejected by the verifier */
        qc_graph_destroy(g);
    }
    qc_status_free(st);
    qc_model_data_free(m);
}

/* Makes size and checksums consistent (where the table can be found). */
static void fix_up(uint8_t *img, size_t len) {
    if (len < QC_QCM_HEADER_SIZE) return;
    qc_put64(img + QC_QCM_H_FILE_SIZE, len);
    uint32_t n = qc_le32(img + QC_QCM_H_SECTION_COUNT);
    if (n > QC_QCM_MAX_SECTIONS || QC_QCM_HEADER_SIZE + (size_t)n * QC_QCM_ENTRY_SIZE > len)
        n = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = img + QC_QCM_HEADER_SIZE + i * QC_QCM_ENTRY_SIZE;
        uint64_t off = qc_le64(e + 8), slen = qc_le64(e + 16);
        if (off <= len && slen <= len - off) qc_put32(e + 24, qc_crc32(0, img + off, slen));
    }
    qc_put32(img + QC_QCM_H_TABLE_CRC,
             qc_crc32(0, img + QC_QCM_HEADER_SIZE, (size_t)n * QC_QCM_ENTRY_SIZE));
    qc_put32(img + QC_QCM_H_HEADER_CRC, qc_crc32(0, img, QC_QCM_H_HEADER_CRC));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse_one(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fix_up(copy, size);
    parse_one(copy, size);
    free(copy);
    return 0;
}
