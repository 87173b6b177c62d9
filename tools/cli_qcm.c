/* cli_qcm.c — .qcm artifacts in the CLI: sniffing, loading with the
 * runtime's validating loader, and the section listing `inspect` prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/artifact_write.h"
#include "runtime/artifact_format.h"
#include "runtime/model.h"
#include "tools/cli_args.h"

bool qc_cli_is_qcm_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char magic[8];
    bool yes = fread(magic, 1, 8, f) == 8 && !memcmp(magic, QC_QCM_MAGIC, 8);
    fclose(f);
    return yes;
}

qc_status qc_cli_load_qcm(const char *path, qc_model_data **out) {
    return qc_model_data_read_file(path, out);
}

int qc_cli_qcm_devices(const char *path, const char **names, int cap) {
    static const struct { uint32_t target; const char *device; } order[] = {
        {QC_TARGET_CUDA, "cuda"}, {QC_TARGET_VULKAN, "vulkan"}, {QC_TARGET_CPU, "cpu"}};
    int n = 0;
    qc_model_data *m = NULL;
    qc_status st = qc_cli_load_qcm(path, &m);
    if (st) qc_status_free(st);
    for (size_t i = 0; m && i < sizeof order / sizeof order[0] && n < cap - 1; i++)
        if (m->targets & (1u << order[i].target)) names[n++] = order[i].device;
    qc_model_data_free(m);
    if (n < cap) names[n++] = "ref";
    return n;
}

qc_status qc_cli_load_qcm_graph(const char *path, bool verify, qc_graph **out) {
    *out = NULL;
    qc_model_data *m = NULL;
    qc_status st = qc_cli_load_qcm(path, &m);
    if (!st) st = qc_cli_name_file(qc_artifact_to_graph(m, out), path);
    if (!st && verify) st = qc_cli_name_file(qc_graph_verify(*out), path);
    if (st) {
        qc_graph_destroy(*out);
        *out = NULL;
    }
    qc_model_data_free(m);
    return st;
}

static const char *kind_name(uint32_t k) {
    switch (k) {
    case QC_SEC_GRAPH: return "GRAPH";
    case QC_SEC_CONSTANTS: return "CONSTANTS";
    case QC_SEC_PLAN: return "PLAN";
    default: return k >= QC_SEC_TARGET ? "TARGET" : "?";
    }
}

static const char *target_name(uint32_t t) {
    static const char *const names[] = {"-", "ref", "cpu", "vulkan", "cuda"};
    return t < sizeof names / sizeof names[0] ? names[t] : "?";
}

qc_status qc_cli_print_qcm_sections(const char *path, FILE *f) {
    qc_model_data *m = NULL;
    qc_status st = qc_cli_load_qcm(path, &m);
    if (st) return st;
    fprintf(f, "artifact: %d sections\n", (int)m->n_sections);
    fprintf(f, "  %-10s %-7s %10s %10s  %s\n", "kind", "target", "offset", "length", "crc32");
    for (int32_t i = 0; i < m->n_sections; i++) {
        const qc_rt_section *s = &m->sections[i];
        fprintf(f, "  %-10s %-7s %10llu %10zu  %08x\n", kind_name(s->kind),
                target_name(s->target), (unsigned long long)s->offset, s->len, (unsigned)s->crc);
    }
    if (m->arena_b)
        fprintf(f, "  arena: %lld + %lld * %s bytes\n", (long long)m->arena_a,
                (long long)m->arena_b, m->batch ? m->batch : "N");
    else
        fprintf(f, "  arena: %lld bytes\n", (long long)m->arena_a);
    qc_model_data_free(m);
    return NULL;
}
