/* lower.c — qc_cpu_lowering: the optimized graph -> one LLVM module with a
 * kernel per node the generators handle, one object for the model, and the
 * sections of ktable.h (docs/backend-cpu.md).
 *
 * Per node the op table names a generator; QC_ERR_UNSUPPORTED from it (or no
 * generator) records a ref fallback with the reason, which the cpu device
 * runs with the ref kernel and `qcomp inspect --target cpu` reports. GRAPH,
 * CONSTANTS and PLAN are untouched, so one artifact carries ref + cpu.
 * AOT: the object is linked into a shared object stored as a section.
 * JIT (qc_code_sections.jit): the object goes into an ORC LLJIT kept alive
 * by the model (a qc_code_provider), and no code section is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cg.h"
#include "backends/cpu/chain.h"
#include "backends/cpu/gen.h"
#include "backends/cpu/ktable.h"
#include "backends/cpu/link.h"
#include "backends/cpu/static_emit.h"
#include "compiler/target.h"
#include "ir/dtype.h"
#include "passes/memplan.h"
#include "runtime/artifact_format.h"

static qc_cpu_gen_fn generator_for(qc_op op) {
    switch (op) {
    case QC_OP_GEMM: case QC_OP_MATMUL: case QC_OP_FUSED_GEMM: case QC_OP_FUSED_MATMUL:
        return qc_cpu_gen_gemm;
    case QC_OP_WGEMM: return qc_cpu_gen_wgemm;
    case QC_OP_CONV: case QC_OP_FUSED_CONV: return qc_cpu_gen_fconv;
    case QC_OP_ELEMENTWISE: case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV:
    case QC_OP_RELU: case QC_OP_LEAKY_RELU: case QC_OP_SIGMOID: case QC_OP_TANH:
    case QC_OP_CLIP: case QC_OP_EXP: case QC_OP_NEG: case QC_OP_ABS: case QC_OP_SQRT:
    case QC_OP_RECIPROCAL: case QC_OP_HARD_SIGMOID: case QC_OP_HARD_SWISH: case QC_OP_SOFTSIGN:
    case QC_OP_THRESHOLDED_RELU:
        return qc_cpu_gen_elementwise;
    case QC_OP_QUANTIZE_LINEAR: case QC_OP_DEQUANTIZE_LINEAR: return qc_cpu_gen_quant;
    /* the int8-dynamic scheme's glue (gen_dynq.c) */
    case QC_OP_DYNAMIC_QUANTIZE_LINEAR: case QC_OP_CAST: return qc_cpu_gen_dynq;
    /* int8 (gen_qgemm.c, gen_qconv.c); configurations they do not handle
     * (ConvInteger today, per-row activation scales) fall back to ref. */
    case QC_OP_QGEMM: case QC_OP_QLINEAR_MATMUL: case QC_OP_MATMUL_INTEGER: return qc_cpu_gen_qgemm;
    case QC_OP_QCONV: case QC_OP_QLINEAR_CONV: case QC_OP_CONV_INTEGER: return qc_cpu_gen_qconv;
    case QC_OP_MAX_POOL: case QC_OP_GLOBAL_AVERAGE_POOL: return qc_cpu_gen_pool;
    case QC_OP_SOFTMAX: case QC_OP_LAYER_NORM: return qc_cpu_gen_norm;
    case QC_OP_QLINEAR_ADD: case QC_OP_QLINEAR_MUL: return qc_cpu_gen_qelem;
    default: return NULL;
    }
}

/* ---- a growable byte buffer ------------------------------------------------------ */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} buf;

static void buf_reserve(buf *b, size_t extra) {
    if (b->oom || b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    memset(p + b->cap, 0, cap - b->cap);
    b->p = p;
    b->cap = cap;
}

static size_t buf_add(buf *b, const void *data, size_t n, size_t align) {
    size_t at = (b->len + align - 1) / align * align;
    buf_reserve(b, at - b->len + n);
    if (b->oom) return 0;
    if (n) memcpy(b->p + at, data, n);
    b->len = at + n;
    return at;
}

/* A string in the pool (truncated to the format's limit). */
static uint32_t add_string(buf *pool, const char *s) {
    char tmp[QC_CPU_KT_MAX_STRING];
    snprintf(tmp, sizeof tmp, "%s", s);
    return (uint32_t)buf_add(pool, tmp, strlen(tmp) + 1, 1);
}

/* ---- lowering -------------------------------------------------------------------- */

typedef struct lowering {
    qc_cpu_cg cg;
    buf entries, strings, packed;
    int32_t n_generated;
    uint8_t *row_local;   /* per node: generated with batch-major units */
    char (*symbols)[64];  /* per generated kernel, in node order (static objects) */
} lowering;

/* Records one node: generated (k) or fallback (why). */
static void add_entry(lowering *L, const qc_cpu_kernel *k, const char *why, size_t pack_off) {
    uint8_t e[QC_CPU_KT_ENTRY] = {0};
    if (k) {
        qc_put32(e + QC_CPU_KT_E_KIND, QC_CPU_KT_GENERATED);
        qc_put32(e + QC_CPU_KT_E_SYMBOL, add_string(&L->strings, k->symbol));
        qc_put32(e + QC_CPU_KT_E_TEXT, add_string(&L->strings, k->variant));
        qc_put64(e + QC_CPU_KT_E_UNITS_A, (uint64_t)k->units_a);
        qc_put64(e + QC_CPU_KT_E_UNITS_B, (uint64_t)k->units_b);
        qc_put64(e + QC_CPU_KT_E_GRAIN, (uint64_t)(k->grain < 1 ? 1 : k->grain));
        qc_put32(e + QC_CPU_KT_E_COST, k->cost_ps);
        qc_put64(e + QC_CPU_KT_E_PACK_OFF, k->packed_len ? pack_off : 0);
        qc_put64(e + QC_CPU_KT_E_PACK_LEN, k->packed_len);
    } else {
        qc_put32(e + QC_CPU_KT_E_KIND, QC_CPU_KT_FALLBACK);
        qc_put32(e + QC_CPU_KT_E_TEXT, add_string(&L->strings, why));
        qc_put64(e + QC_CPU_KT_E_GRAIN, 1);
    }
    buf_add(&L->entries, e, sizeof e, 1);
}

/* Why a node cannot have a kernel whatever its op (the runtime's view). */
static const char *node_blocker(const qc_graph *g, const qc_node *n, const qc_plan *plan) {
    for (int32_t k = 0; k < n->n_out; k++) {
        int32_t v = n->out[k];
        if (v < 0 || g->values[v].data || !plan || plan->off_a[v] < 0) return "output not planned";
    }
    return NULL;
}

static qc_status lower_node(lowering *L, const qc_graph *g, const qc_plan *plan, int32_t i) {
    const qc_node *n = &g->nodes[i];
    qc_cpu_gen_fn gen = generator_for(n->op);
    const char *blocker = node_blocker(g, n, plan);
    if (!gen || blocker) {
        add_entry(L, NULL, blocker ? blocker : "no cpu generator for this op", 0);
        return NULL;
    }
    qc_cpu_kernel k;
    memset(&k, 0, sizeof k);
    snprintf(k.symbol, sizeof k.symbol, "qc_cpu_k%d", (int)i);
    qc_status st = gen(&L->cg, g, i, &k);
    if (st && qc_status_code(st) == QC_ERR_UNSUPPORTED) {
        /* A generator that gave up after starting its function leaves no
         * half-built code behind. */
        LLVMValueRef fn = LLVMGetNamedFunction(L->cg.mod, k.symbol);
        if (fn) LLVMDeleteFunction(fn);
        add_entry(L, NULL, qc_status_message(st), 0);
        qc_status_free(st);
        free(k.packed);
        return NULL;
    }
    if (st) {
        free(k.packed);
        return qc_status_wrap(st, "cpu: generating node %d '%s' (%s)", (int)i,
                              n->name ? n->name : "", qc_op_get_info(n->op)->name);
    }
    size_t off = k.packed_len ? buf_add(&L->packed, k.packed, k.packed_len, QC_CPU_PACK_ALIGN) : 0;
    free(k.packed);
    add_entry(L, &k, NULL, off);
    L->n_generated++;
    L->row_local[i] = k.row_local;
    memcpy(L->symbols[L->n_generated - 1], k.symbol, sizeof k.symbol);
    return NULL;
}

/* --emit-object: the image with this target's KTABLE and PACKED (borrowed),
 * and every kernel, as one object for static linking. */
static qc_status emit_static(lowering *L, const qc_graph *g, const qc_plan *plan, uint8_t *kt,
                             size_t kt_len, const qc_compile_options *o) {
    qc_code_section secs[2] = {{QC_CPU_SEC_KTABLE, QC_TARGET_CPU, kt, kt_len},
                               {QC_CPU_SEC_PACKED, QC_TARGET_CPU, L->packed.p, L->packed.len}};
    qc_code_sections view = {.secs = secs, .n = L->packed.len ? 2 : 1};
    const char **names = calloc((size_t)L->n_generated + 1, sizeof *names);
    if (!names) return qc_error(QC_ERR_NOMEM, "cpu: out of memory");
    for (int32_t i = 0; i < L->n_generated; i++) names[i] = L->symbols[i];
    qc_cpu_ktable_view kv = {L->n_generated, names};
    qc_status st = qc_cpu_emit_static(&L->cg, g, plan, &view, &kv, o);
    free(names);
    return st;
}

/* Marks the chain heads in the finished entries (chain.c decides). */
static qc_status add_chains(lowering *L, const qc_graph *g, const qc_plan *plan) {
    uint32_t *len = malloc(sizeof *len * ((size_t)g->n_nodes + 1));
    uint32_t *bytes = malloc(sizeof *bytes * ((size_t)g->n_nodes + 1));
    if (!len || !bytes) {
        free(len);
        free(bytes);
        return qc_error(QC_ERR_NOMEM, "cpu: out of memory planning chains");
    }
    qc_cpu_plan_chains(g, plan, L->row_local, len, bytes);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        uint8_t *e = L->entries.p + (size_t)i * QC_CPU_KT_ENTRY;
        qc_put32(e + QC_CPU_KT_E_CHAIN, len[i]);
        qc_put32(e + QC_CPU_KT_E_ROW_BYTES, bytes[i]);
    }
    free(len);
    free(bytes);
    return NULL;
}

static uint8_t *build_ktable(lowering *L, int32_t n_nodes, size_t *len) {
    buf t = {0};
    uint8_t h[QC_CPU_KT_HEADER] = {0};
    qc_put32(h + QC_CPU_KT_H_MAGIC, QC_CPU_KT_MAGIC);
    qc_put32(h + QC_CPU_KT_H_VERSION, QC_CPU_KT_VERSION);
    qc_put32(h + QC_CPU_KT_H_FEATURES, qc_cpu_features_mask(&L->cg.feat));
    qc_put32(h + QC_CPU_KT_H_NODES, (uint32_t)n_nodes);
    qc_put32(h + QC_CPU_KT_H_STRINGS, (uint32_t)L->strings.len);
    /* NUL-padded, truncated to 31 bytes (LLVM CPU names are shorter). */
    memcpy(h + QC_CPU_KT_H_CPU, L->cg.cpu, strnlen(L->cg.cpu, QC_CPU_KT_CPU_LEN - 1));
    buf_add(&t, h, sizeof h, 1);
    buf_add(&t, L->entries.p, L->entries.len, 1);
    buf_add(&t, L->strings.p, L->strings.len, 1);
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

static void *jit_lookup(void *ctx, const char *symbol) {
    qc_status st = NULL;
    void *p = qc_cpu_jit_lookup(ctx, symbol, &st);
    qc_status_free(st);
    return p;
}

static void jit_release(void *ctx) { qc_cpu_jit_destroy(ctx); }

static qc_status emit_code(lowering *L, qc_code_sections *out) {
    uint8_t *obj = NULL;
    size_t obj_len = 0;
    qc_status st = qc_cpu_cg_emit_object(&L->cg, NULL, &obj, &obj_len);
    if (st) return st;
    if (out->jit) {
        qc_cpu_jit *j = NULL;
        st = qc_cpu_jit_create(obj, obj_len, &j);
        free(obj);
        if (st) return st;
        if (out->code.release) out->code.release(out->code.ctx);
        out->code = (qc_code_provider){QC_TARGET_CPU, j, jit_lookup, jit_release};
        return NULL;
    }
    uint8_t *so = NULL;
    size_t so_len = 0;
    st = qc_cpu_link_shared(obj, obj_len, &so, &so_len);
    free(obj);
    if (st) return st;
    return qc_code_sections_add(out, QC_CPU_SEC_SO, QC_TARGET_CPU, so, so_len);
}

static qc_status cpu_lower(const qc_graph *g, const qc_plan *plan, const qc_compile_options *o,
                           qc_code_sections *out) {
    lowering L;
    memset(&L, 0, sizeof L);
    qc_status st = qc_cpu_cg_create(o ? o->cpu : NULL, g->name, &L.cg);
    if (st) return st;
    if (out->jit && !L.cg.native)
        st = qc_error(QC_ERR_INVALID, "cpu: the JIT runs on this host; --cpu '%s' is for AOT only",
                      o && o->cpu ? o->cpu : "");
    L.row_local = st ? NULL : calloc((size_t)g->n_nodes + 1, 1);
    L.symbols = st ? NULL : calloc((size_t)g->n_nodes + 1, sizeof *L.symbols);
    if (!st && (!L.row_local || !L.symbols)) st = qc_error(QC_ERR_NOMEM, "cpu: out of memory");
    if (!st && o && o->emit_object && out->jit)
        st = qc_error(QC_ERR_INVALID, "cpu: a static object is written by an AOT compile, not the JIT");
    for (int32_t i = 0; i < g->n_nodes && !st; i++) st = lower_node(&L, g, plan, i);
    if (!st && (L.entries.oom || L.strings.oom || L.packed.oom))
        st = qc_error(QC_ERR_NOMEM, "cpu: out of memory building the kernel table");
    if (!st) st = add_chains(&L, g, plan);
    if (!st && L.n_generated) st = emit_code(&L, out);
    size_t kt_len = 0;
    uint8_t *kt = st ? NULL : build_ktable(&L, g->n_nodes, &kt_len);
    if (!st && !kt) st = qc_error(QC_ERR_NOMEM, "cpu: out of memory building the kernel table");
    if (!st && o && o->emit_object) st = emit_static(&L, g, plan, kt, kt_len, o);
    if (st) free(kt);
    if (!st) st = qc_code_sections_add(out, QC_CPU_SEC_KTABLE, QC_TARGET_CPU, kt, kt_len);
    if (!st && L.packed.len) {
        st = qc_code_sections_add(out, QC_CPU_SEC_PACKED, QC_TARGET_CPU, L.packed.p, L.packed.len);
        L.packed.p = NULL;
    }
    free(L.row_local);
    free(L.symbols);
    free(L.entries.p);
    free(L.strings.p);
    free(L.packed.p);
    qc_cpu_cg_destroy(&L.cg);
    return st;
}

const qc_target_lowering qc_cpu_lowering = {
    .name = "cpu",
    .target = QC_TARGET_CPU,
    .lower = cpu_lower,
};
