/* hal_ktable.c — validating the cpu sections of an artifact (ktable.h) before
 * anything trusts them, in the manner of runtime/artifact.c: every offset,
 * length, count, index and string is checked, and an error names the section
 * and the byte offset at fault. The machine code itself is, like any shared
 * object, trusted once its container is valid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/hal_ktable.h"
#include "runtime/artifact_format.h"

static const qc_rt_section *section(const qc_model_data *m, uint32_t kind) {
    for (int32_t i = 0; i < m->n_sections; i++)
        if (m->sections[i].kind == kind && m->sections[i].target == QC_TARGET_CPU)
            return &m->sections[i];
    return NULL;
}

static qc_status bad(size_t at, const char *what) {
    return qc_error(QC_ERR_INVALID, "cpu KTABLE section, byte %zu: %s", at, what);
}

/* A string of the pool at `off`: in range, terminated, printable. */
static qc_status pool_string(const uint8_t *pool, uint32_t size, uint32_t off, size_t at,
                             bool symbol, const char **out) {
    if (off >= size) return bad(at, "string offset past the string pool");
    const char *s = (const char *)pool + off;
    size_t len = strnlen(s, size - off);
    if (len == size - off) return bad(at, "unterminated string");
    if (len >= QC_CPU_KT_MAX_STRING) return bad(at, "string longer than 255 bytes");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = symbol ? (c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                            (c >= 'A' && c <= 'Z'))
                         : (c >= 0x20 && c < 0x7f);
        if (!ok) return bad(at, symbol ? "symbol has a character outside [A-Za-z0-9_]"
                                       : "non-printable character in a string");
    }
    if (symbol && !len) return bad(at, "empty symbol of a generated kernel");
    *out = s;
    return NULL;
}

static bool zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

static qc_status entry(const qc_model_data *m, const qc_rt_section *pk, const uint8_t *e,
                       size_t at, const uint8_t *pool, uint32_t pool_size, int32_t node,
                       uint32_t version, qc_cpu_kentry *k) {
    k->kind = qc_le32(e + QC_CPU_KT_E_KIND);
    if (k->kind != QC_CPU_KT_GENERATED && k->kind != QC_CPU_KT_FALLBACK)
        return bad(at, "entry kind is neither generated nor fallback");
    if (version < 2 && !zero(e + 56, 8)) return bad(at, "reserved bytes not zero");
    k->chain = qc_le32(e + QC_CPU_KT_E_CHAIN);
    k->row_bytes = qc_le32(e + QC_CPU_KT_E_ROW_BYTES);
    if (k->chain == 1 || (!k->chain) != (!k->row_bytes))
        return bad(at + QC_CPU_KT_E_CHAIN, "chain length 1, or row bytes without a chain");
    qc_status st = pool_string(pool, pool_size, qc_le32(e + QC_CPU_KT_E_TEXT),
                               at + QC_CPU_KT_E_TEXT, false, &k->text);
    if (st) return st;
    k->units_a = (int64_t)qc_le64(e + QC_CPU_KT_E_UNITS_A);
    k->units_b = (int64_t)qc_le64(e + QC_CPU_KT_E_UNITS_B);
    k->grain = (int64_t)qc_le64(e + QC_CPU_KT_E_GRAIN);
    k->cost_ps = qc_le32(e + QC_CPU_KT_E_COST);
    uint64_t off = qc_le64(e + QC_CPU_KT_E_PACK_OFF), len = qc_le64(e + QC_CPU_KT_E_PACK_LEN);
    k->symbol = "";
    if (k->kind == QC_CPU_KT_FALLBACK) {
        if (qc_le32(e + QC_CPU_KT_E_SYMBOL) || k->units_a || k->units_b || off || len ||
            k->cost_ps || k->chain)
            return bad(at, "fallback entry with kernel fields set");
        return NULL;
    }
    st = pool_string(pool, pool_size, qc_le32(e + QC_CPU_KT_E_SYMBOL), at + QC_CPU_KT_E_SYMBOL,
                     true, &k->symbol);
    if (st) return st;
    /* Units are bounded so units_a + units_b * batch cannot overflow for any
     * batch a session can bind (arena sizes already limit it far below). */
    if (k->units_a < 0 || k->units_b < 0 || k->units_a > (INT64_C(1) << 48) ||
        k->units_b > (INT64_C(1) << 32))
        return bad(at + QC_CPU_KT_E_UNITS_A, "work units out of range");
    if (k->grain < 1 || k->grain > (INT64_C(1) << 48))
        return bad(at + QC_CPU_KT_E_GRAIN, "grain out of range");
    if (len) {
        if (!pk) return bad(at + QC_CPU_KT_E_PACK_LEN, "packed constants but no PACKED section");
        if (off % QC_CPU_PACK_ALIGN) return bad(at + QC_CPU_KT_E_PACK_OFF, "packed offset not 64-aligned");
        if (off > pk->len || len > pk->len - off)
            return bad(at + QC_CPU_KT_E_PACK_OFF, "packed range past the PACKED section");
        k->packed = pk->data + off;
        k->packed_len = len;
    } else if (off) {
        return bad(at + QC_CPU_KT_E_PACK_OFF, "packed offset without a length");
    }
    /* A kernel writes its outputs into planned arena slots: make sure the
     * node has such outputs (the artifact loader checked the ids). */
    const qc_node *n = &m->nodes[node];
    if (n->n_in > 64 || n->n_out > 64) return bad(at, "generated kernel for a node with > 64 inputs");
    for (int32_t o = 0; o < n->n_out; o++) {
        int32_t v = n->out[o];
        if (v < 0 || m->values[v].data || m->values[v].off_a < 0)
            return bad(at, "generated kernel for a node whose output has no arena slot");
    }
    return NULL;
}

/* A chain covers generated nodes whose units all scale with the batch, and
 * chains do not nest (the device launches a chain at its head and skips its
 * other nodes). */
static qc_status check_chains(const qc_cpu_ktable *t) {
    for (int32_t i = 0; i < t->n; i++) {
        uint32_t len = t->e[i].chain;
        if (!len) continue;
        size_t at = QC_CPU_KT_HEADER + (size_t)i * QC_CPU_KT_ENTRY + QC_CPU_KT_E_CHAIN;
        if (len > (uint32_t)(t->n - i)) return bad(at, "chain runs past the last node");
        for (uint32_t j = 0; j < len; j++) {
            const qc_cpu_kentry *e = &t->e[i + (int32_t)j];
            if (e->kind != QC_CPU_KT_GENERATED || e->units_a || !e->units_b || (j && e->chain))
                return bad(at, "chain over a node that is not a batch-scaled generated kernel, "
                               "or over another chain");
        }
        i += (int32_t)len - 1;
    }
    return NULL;
}

qc_status qc_cpu_ktable_parse(const qc_model_data *m, qc_cpu_ktable *t) {
    memset(t, 0, sizeof *t);
    const qc_rt_section *kt = section(m, QC_CPU_SEC_KTABLE);
    if (!kt)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "the artifact has no cpu code (compile it with --target cpu)");
    const uint8_t *p = kt->data;
    if (kt->len < QC_CPU_KT_HEADER) return bad(0, "shorter than its 64-byte header");
    if (qc_le32(p + QC_CPU_KT_H_MAGIC) != QC_CPU_KT_MAGIC) return bad(0, "bad magic");
    uint32_t ver = qc_le32(p + QC_CPU_KT_H_VERSION);
    if (ver < 1 || ver > QC_CPU_KT_VERSION) {
        char msg[96];
        snprintf(msg, sizeof msg, "version %u (this runtime reads %u)", ver, QC_CPU_KT_VERSION);
        return bad(QC_CPU_KT_H_VERSION, msg);
    }
    t->features = qc_le32(p + QC_CPU_KT_H_FEATURES);
    if (t->features >> QC_CPU_FEAT_COUNT) return bad(QC_CPU_KT_H_FEATURES, "unknown feature bits");
    uint32_t n = qc_le32(p + QC_CPU_KT_H_NODES), strings = qc_le32(p + QC_CPU_KT_H_STRINGS);
    if ((int64_t)n != m->n_nodes) return bad(QC_CPU_KT_H_NODES, "entry count differs from the graph's nodes");
    if (qc_le32(p + QC_CPU_KT_H_FLAGS) || !zero(p + 56, 8)) return bad(QC_CPU_KT_H_FLAGS, "reserved bytes not zero");
    const char *cpu = (const char *)p + QC_CPU_KT_H_CPU;
    size_t cl = strnlen(cpu, QC_CPU_KT_CPU_LEN);
    if (cl == QC_CPU_KT_CPU_LEN || !zero(p + QC_CPU_KT_H_CPU + cl, QC_CPU_KT_CPU_LEN - cl))
        return bad(QC_CPU_KT_H_CPU, "CPU name not NUL-padded");
    memcpy(t->cpu, cpu, cl);
    uint64_t want = QC_CPU_KT_HEADER + (uint64_t)n * QC_CPU_KT_ENTRY + strings;
    if (want != kt->len) return bad(QC_CPU_KT_H_STRINGS, "section size differs from header + entries + strings");
    const uint8_t *pool = p + QC_CPU_KT_HEADER + (size_t)n * QC_CPU_KT_ENTRY;
    t->e = calloc((size_t)n + 1, sizeof *t->e);
    if (!t->e) return qc_error(QC_ERR_NOMEM, "cpu KTABLE: out of memory");
    t->n = (int32_t)n;
    const qc_rt_section *pk = section(m, QC_CPU_SEC_PACKED);
    for (uint32_t i = 0; i < n; i++) {
        size_t at = QC_CPU_KT_HEADER + (size_t)i * QC_CPU_KT_ENTRY;
        qc_status st = entry(m, pk, p + at, at, pool, strings, (int32_t)i, ver, &t->e[i]);
        if (st) {
            qc_cpu_ktable_free(t);
            return qc_status_wrap(st, "node %u", i);
        }
        t->n_generated += t->e[i].kind == QC_CPU_KT_GENERATED;
    }
    qc_status st = check_chains(t);
    if (st) {
        qc_cpu_ktable_free(t);
        return st;
    }
    const qc_rt_section *so = section(m, QC_CPU_SEC_SO);
    if (so) {
        t->so = so->data;
        t->so_len = so->len;
    }
    return NULL;
}

void qc_cpu_ktable_free(qc_cpu_ktable *t) {
    free(t->e);
    memset(t, 0, sizeof *t);
}
