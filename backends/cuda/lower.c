/* lower.c — the cuda target lowering (qc_cuda_lowering): decides per node
 * how it runs (fused chain, generated kernel, cuBLASLt GEMM + epilogue,
 * device copy, or host fallback), generates ONE CUDA C translation unit for
 * all kernels, compiles it with NVRTC to cubin for sm_80, sm_89, sm_90 and
 * PTX for compute_80 (JIT fallback for other GPUs), and emits the TABLE,
 * IMAGE and AUX sections of table.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/lower.h"
#include "compiler/target.h"
#include "runtime/artifact_format.h"
#include "runtime/model.h"

/* The cubins every artifact carries; PTX (compute_80) covers the rest. */
static const int cu_archs[] = {80, 89, 90};

/* ---- buffers ------------------------------------------------------------------ */

static bool buf_grow(cu_buf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void cu_buf_put(cu_buf *b, const void *data, size_t n) {
    if (!n || !buf_grow(b, n)) return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void cu_buf_printf(cu_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_grow(b, (size_t)n + 1)) return;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;   /* the NUL stays just past len */
}

void cu_buf_put32(cu_buf *b, uint32_t v) {
    uint8_t t[4];
    qc_put32(t, v);
    cu_buf_put(b, t, 4);
}

void cu_buf_put64(cu_buf *b, uint64_t v) {
    uint8_t t[8];
    qc_put64(t, v);
    cu_buf_put(b, t, 8);
}

void cu_buf_align(cu_buf *b, size_t a) {
    static const uint8_t zeros[64];
    while (b->len % a) cu_buf_put(b, zeros, a - b->len % a > 64 ? 64 : a - b->len % a);
}

void cu_buf_free(cu_buf *b) {
    free(b->p);
    *b = (cu_buf){0};
}

/* ---- table under construction ---------------------------------------------------- */

int32_t cu_add_launch(cu_lower *l, uint32_t kind, const char *name) {
    if (l->n_launches == l->cap_launches) {
        int32_t cap = l->cap_launches ? 2 * l->cap_launches : 16;
        cu_launch *p = realloc(l->launches, sizeof *p * (size_t)cap);
        if (!p) {
            l->src.failed = true;
            return -1;
        }
        l->launches = p;
        l->cap_launches = cap;
    }
    uint32_t off = (uint32_t)l->names.len;
    cu_buf_put(&l->names, name, strlen(name) + 1);
    cu_launch *L = &l->launches[l->n_launches];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    L->name = off;
    for (int k = 0; k < 3; k++) {   /* a valid 1x1x1 default (GEMM records use none) */
        L->grid[k] = (cu_dim){1, 0, 1};
        L->block[k] = 1;
    }
    L->pfirst = (uint32_t)l->n_params;
    return l->n_launches++;
}

void cu_add_param(cu_lower *l, int32_t li, uint32_t kind, uint32_t value, int64_t a, int64_t b) {
    if (l->n_params == l->cap_params) {
        int32_t cap = l->cap_params ? 2 * l->cap_params : 64;
        cu_param *p = realloc(l->params, sizeof *p * (size_t)cap);
        if (!p) {
            l->src.failed = true;
            return;
        }
        l->params = p;
        l->cap_params = cap;
    }
    /* Params of a launch are contiguous: added right after cu_add_launch. */
    l->params[l->n_params++] = (cu_param){kind, value, a, b};
    l->launches[li].np++;
}

int64_t cu_add_aux(cu_lower *l, const void *data, size_t n) {
    cu_buf_align(&l->aux, 16);
    int64_t off = (int64_t)l->aux.len;
    cu_buf_put(&l->aux, data, n);
    return off;
}

static bool copy_op(qc_op op) {
    return op == QC_OP_IDENTITY || op == QC_OP_RESHAPE || op == QC_OP_FLATTEN ||
           op == QC_OP_SQUEEZE || op == QC_OP_UNSQUEEZE;
}

/* One node's decision (the node record stays HOST when nothing fits). */
static qc_status lower_node(cu_lower *l, int32_t n) {
    const qc_graph *g = l->g;
    const qc_node *nd = &g->nodes[n];
    bool taken = false;
    qc_status st = cu_gen_fused_chain(l, n, &taken);
    if (st || taken) return st;
    if (nd->op == QC_OP_QGEMM) {
        cu_qgemm q;
        bool ok;
        const char *why;
        if ((st = cu_qgemm_analyze(g, n, &q, &ok, &why)) || !ok) return st;
        st = cu_gen_qgemm(l, &q);
        cu_qgemm_free(&q);
        return st;
    }
    cu_qdq qq;
    if ((nd->op == QC_OP_QUANTIZE_LINEAR || nd->op == QC_OP_DEQUANTIZE_LINEAR) &&
        cu_qdq_analyze(g, n, &qq))
        return cu_gen_qdq(l, n, &qq);
    if (cu_unary_supported(g, n)) return cu_gen_unary(l, n);
    if (copy_op(nd->op) && nd->n_out == 1 && !g->values[nd->in[0]].data) return cu_gen_copy(l, n);
    return NULL;
}

static void put_dim(cu_buf *b, const cu_dim *d) {
    cu_buf_put64(b, (uint64_t)d->a);
    cu_buf_put64(b, (uint64_t)d->b);
    cu_buf_put32(b, d->div);
}

static void write_table(const cu_lower *l, cu_buf *t) {
    int32_t nn = l->g->n_nodes;
    cu_buf_put32(t, QC_CU_MAGIC);
    cu_buf_put32(t, QC_CU_VERSION);
    cu_buf_put32(t, (uint32_t)nn);
    cu_buf_put32(t, (uint32_t)l->n_launches);
    cu_buf_put32(t, (uint32_t)l->n_params);
    cu_buf_put32(t, (uint32_t)l->n_gemms);
    cu_buf_put32(t, (uint32_t)l->names.len);
    cu_buf_put32(t, 0);
    for (int32_t i = 0; i < nn; i++) {
        const cu_node *d = &l->nodes[i];
        cu_buf_put32(t, d->mode);
        cu_buf_put32(t, d->first);
        cu_buf_put32(t, d->count);
        cu_buf_put32(t, d->alt_first);
        cu_buf_put32(t, d->alt_count);
    }
    for (int32_t i = 0; i < l->n_launches; i++) {
        const cu_launch *L = &l->launches[i];
        cu_buf_put32(t, L->kind);
        cu_buf_put32(t, L->name);
        cu_buf_put32(t, L->pfirst);
        cu_buf_put32(t, L->np);
        for (int k = 0; k < 3; k++) put_dim(t, &L->grid[k]);
        for (int k = 0; k < 3; k++) cu_buf_put32(t, L->block[k]);
        cu_buf_put32(t, L->shared);
        cu_buf_put32(t, L->extra);
    }
    for (int32_t i = 0; i < l->n_params; i++) {
        const cu_param *p = &l->params[i];
        cu_buf_put32(t, p->kind);
        cu_buf_put32(t, p->value);
        cu_buf_put64(t, (uint64_t)p->a);
        cu_buf_put64(t, (uint64_t)p->b);
    }
    for (int32_t i = 0; i < l->n_gemms; i++) {
        const qc_cu_gemm *m = &l->gemms[i];
        const uint32_t u0[6] = {m->dtype_a, m->dtype_b, m->dtype_c, m->compute, m->transa, m->transb};
        for (int k = 0; k < 6; k++) cu_buf_put32(t, u0[k]);
        const int64_t s[7] = {m->m, m->n_a, m->n_b, m->k, m->lda, m->ldb, m->ldc};
        for (int k = 0; k < 7; k++) cu_buf_put64(t, (uint64_t)s[k]);
        const uint32_t u1[5] = {m->param_a, m->param_b, m->param_c, m->scale_mode, m->epilogue};
        for (int k = 0; k < 5; k++) cu_buf_put32(t, u1[k]);
    }
    cu_buf_put(t, l->names.p, l->names.len);
}

static qc_status add_buf_section(qc_code_sections *out, uint32_t kind, cu_buf *b) {
    if (b->failed) return qc_error(QC_ERR_NOMEM, "cuda: out of memory building a section");
    uint8_t *p = b->p ? b->p : malloc(1);
    size_t len = b->len;
    *b = (cu_buf){0};
    if (!p) return qc_error(QC_ERR_NOMEM, "cuda: out of memory");
    return qc_code_sections_add(out, kind, QC_TARGET_CUDA, p, len);
}

/* One IMAGE section: header + cubin (arch) or PTX (arch 0). */
static qc_status add_image(qc_code_sections *out, uint32_t kind, const char *src, const char *name,
                           int arch, bool ptx) {
    uint8_t *img = NULL;
    size_t n = 0;
    qc_status st = cu_nvrtc_compile(src, name, arch, ptx, &img, &n);
    if (st) return st;
    cu_buf b = {0};
    cu_buf_put32(&b, QC_CU_IMAGE_MAGIC);
    cu_buf_put32(&b, ptx ? 0u : (uint32_t)arch);
    cu_buf_put32(&b, (uint32_t)n);
    cu_buf_put32(&b, 0);
    cu_buf_put(&b, img, n);
    free(img);
    return add_buf_section(out, kind, &b);
}

static void lower_free(cu_lower *l) {
    free(l->nodes);
    free(l->launches);
    free(l->params);
    free(l->gemms);
    cu_buf_free(&l->names);
    cu_buf_free(&l->src);
    cu_buf_free(&l->aux);
}

static qc_status build(const qc_graph *g, const qc_plan *plan, cu_lower *l) {
    memset(l, 0, sizeof *l);
    l->g = g;
    l->plan = plan;
    l->nodes = calloc((size_t)g->n_nodes + 1, sizeof *l->nodes);
    if (!l->nodes) return qc_error(QC_ERR_NOMEM, "cuda: out of memory");
    qc_status st = cu_gen_prelude(l);
    for (int32_t i = 0; i < g->n_nodes && !st; i++) {
        if (l->nodes[i].mode == QC_CU_NODE_COVERED) continue;
        st = lower_node(l, i);
        if (st) st = qc_status_wrap(st, "cuda: node %d '%s'", (int)i,
                                    g->nodes[i].name ? g->nodes[i].name : "?");
    }
    if (!st && (l->src.failed || l->names.failed || l->aux.failed))
        st = qc_error(QC_ERR_NOMEM, "cuda: out of memory generating code");
    return st;
}

qc_status qc_cuda_generate_source(const qc_graph *g, const qc_plan *plan, char **src) {
    cu_lower l;
    *src = NULL;
    qc_status st = build(g, plan, &l);
    if (!st) {
        cu_buf_put(&l.src, "", 1);
        if (l.src.failed) st = qc_error(QC_ERR_NOMEM, "cuda: out of memory");
        else {
            *src = (char *)l.src.p;
            l.src = (cu_buf){0};
        }
    }
    lower_free(&l);
    return st;
}

static qc_status cuda_lower(const qc_graph *g, const qc_plan *plan, const qc_compile_options *o,
                           qc_code_sections *out) {
    (void)o;
    if (!plan) return qc_error(QC_ERR_INVALID, "cuda: lowering needs a memory plan");
    cu_lower l;
    qc_status st = build(g, plan, &l);
    cu_buf table = {0};
    if (!st) {
        write_table(&l, &table);
        st = add_buf_section(out, QC_CU_SEC_TABLE, &table);
    }
    if (!st) {
        cu_buf_put(&l.src, "", 1);   /* NUL-terminate for NVRTC */
        if (l.src.failed) st = qc_error(QC_ERR_NOMEM, "cuda: out of memory");
    }
    const char *name = g->name && *g->name ? g->name : "model";
    uint32_t kind = QC_CU_SEC_IMAGE;
    for (size_t i = 0; !st && i < sizeof cu_archs / sizeof cu_archs[0]; i++)
        st = add_image(out, kind++, (const char *)l.src.p, name, cu_archs[i], false);
    if (!st) st = add_image(out, kind, (const char *)l.src.p, name, 80, true);
    if (!st) st = add_buf_section(out, QC_CU_SEC_AUX, &l.aux);
    cu_buf_free(&table);
    lower_free(&l);
    return st;
}

const qc_target_lowering qc_cuda_lowering = {
    .name = "cuda",
    .target = QC_TARGET_CUDA,
    .lower = cuda_lower,
};
