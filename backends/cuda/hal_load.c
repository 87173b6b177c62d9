/* hal_load.c — the cuda sections of an artifact (table.h): validated field
 * by field before anything is used, then loaded once per model: the image
 * for this device's sm (cubin, else the PTX, JIT-compiled by the driver),
 * every kernel's CUfunction, the AUX bytes in device memory, and the
 * choice per node between its primary path (cuBLASLt) and its alt path.
 * Errors name the section, record and field at fault. */
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/hal_cuda.h"
#include "ir/dtype.h"
#include "runtime/artifact_format.h"

typedef struct cu_sections {
    const qc_rt_section *table, *aux;
    const qc_rt_section *images[QC_CU_SEC_IMAGE_LAST - QC_CU_SEC_IMAGE + 1];
    int n_images;
} cu_sections;

static qc_status find_sections(const qc_model_data *m, cu_sections *s) {
    memset(s, 0, sizeof *s);
    for (int32_t i = 0; i < m->n_sections; i++) {
        const qc_rt_section *x = &m->sections[i];
        if (x->target != QC_TARGET_CUDA) continue;
        if (x->kind == QC_CU_SEC_TABLE) {
            if (s->table) return qc_error(QC_ERR_INVALID, "cuda: two TABLE sections (section %d)", (int)i);
            s->table = x;
        } else if (x->kind == QC_CU_SEC_AUX) {
            if (s->aux) return qc_error(QC_ERR_INVALID, "cuda: two AUX sections (section %d)", (int)i);
            s->aux = x;
        } else if (x->kind >= QC_CU_SEC_IMAGE && x->kind <= QC_CU_SEC_IMAGE_LAST) {
            s->images[s->n_images++] = x;
        } else {
            return qc_error(QC_ERR_INVALID, "cuda: unknown section kind %u (section %d)", x->kind, (int)i);
        }
    }
    if (!s->table)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "artifact has no cuda code; recompile it with `qcomp compile --target cuda`");
    if (!s->n_images) return qc_error(QC_ERR_INVALID, "cuda: TABLE without IMAGE sections");
    return NULL;
}

#define TERR(...) qc_error(QC_ERR_INVALID, "cuda TABLE section (file offset %llu): " __VA_ARGS__)

static bool ptr_param(uint32_t k) {
    return k == QC_CU_PARAM_ARENA || k == QC_CU_PARAM_AUX || k == QC_CU_PARAM_SCRATCH;
}

/* Parses the table into cm; every index and enum is checked. */
static qc_status parse_table(const qc_model_data *m, const qc_rt_section *sec, size_t aux_len,
                             cu_model *cm) {
    const uint8_t *p = sec->data;
    unsigned long long fo = (unsigned long long)sec->offset;
    if (sec->len < QC_CU_HEADER_SIZE) return TERR("%zu bytes, shorter than its header", fo, sec->len);
    if (qc_le32(p) != QC_CU_MAGIC) return TERR("bad magic", fo);
    if (qc_le32(p + 4) != QC_CU_VERSION) return TERR("version %u, this runtime reads %u", fo, qc_le32(p + 4), QC_CU_VERSION);
    uint32_t nn = qc_le32(p + 8), nl = qc_le32(p + 12), np = qc_le32(p + 16), ng = qc_le32(p + 20);
    uint32_t sl = qc_le32(p + 24);
    if (nn != (uint32_t)m->n_nodes) return TERR("%u node records for a %d-node graph", fo, nn, (int)m->n_nodes);
    uint64_t need = (uint64_t)QC_CU_HEADER_SIZE + (uint64_t)nn * QC_CU_NODE_SIZE +
                    (uint64_t)nl * QC_CU_LAUNCH_SIZE + (uint64_t)np * QC_CU_PARAM_SIZE +
                    (uint64_t)ng * QC_CU_GEMM_SIZE + sl;
    if (nl > (1u << 24) || np > (1u << 24) || ng > (1u << 20) || need != sec->len)
        return TERR("counts (%u launches, %u params, %u gemms, %u string bytes) do not match its %zu bytes",
                    fo, nl, np, ng, sl, sec->len);
    const uint8_t *strings = p + need - sl;
    if (sl && strings[sl - 1] != 0) return TERR("string table is not NUL-terminated", fo);
    cm->n_nodes = (int32_t)nn;
    cm->n_launches = (int32_t)nl;
    cm->n_params = (int32_t)np;
    cm->n_gemms = (int32_t)ng;
    cm->nodes = calloc(nn + 1, sizeof *cm->nodes);
    cm->launches = calloc(nl + 1, sizeof *cm->launches);
    cm->params = calloc(np + 1, sizeof *cm->params);
    cm->gemms = calloc(ng + 1, sizeof *cm->gemms);
    cm->lt = calloc(ng + 1, sizeof *cm->lt);
    if (!cm->nodes || !cm->launches || !cm->params || !cm->gemms || !cm->lt)
        return qc_error(QC_ERR_NOMEM, "cuda: out of memory loading the table");
    const uint8_t *q = p + QC_CU_HEADER_SIZE;
    const uint8_t *lrec = q + (size_t)nn * QC_CU_NODE_SIZE;
    const uint8_t *prec = lrec + (size_t)nl * QC_CU_LAUNCH_SIZE;
    const uint8_t *grec = prec + (size_t)np * QC_CU_PARAM_SIZE;
    for (uint32_t i = 0; i < np; i++) {
        const uint8_t *r = prec + (size_t)i * QC_CU_PARAM_SIZE;
        cu_param_rt *x = &cm->params[i];
        *x = (cu_param_rt){qc_le32(r), qc_le32(r + 4), (int64_t)qc_le64(r + 8), (int64_t)qc_le64(r + 16)};
        if (x->kind < QC_CU_PARAM_ARENA || x->kind > QC_CU_PARAM_SCRATCH) return TERR("param %u: kind %u", fo, i, x->kind);
        if (x->kind == QC_CU_PARAM_ARENA &&
            (x->value >= (uint32_t)m->n_values || m->values[x->value].data ||
             m->values[x->value].off_a < 0 || x->a != 0))
            return TERR("param %u: value %u is not an arena value", fo, i, x->value);
        if (x->kind == QC_CU_PARAM_AUX && (x->a < 0 || (uint64_t)x->a > aux_len))
            return TERR("param %u: AUX offset %lld outside its %zu bytes", fo, i, (long long)x->a, aux_len);
        if (x->kind == QC_CU_PARAM_SCRATCH && (x->a < 0 || x->b < 0 || x->a > (1ll << 40) || x->b > (1ll << 32)))
            return TERR("param %u: scratch size out of range", fo, i);
    }
    for (uint32_t i = 0; i < ng; i++) {
        const uint8_t *r = grec + (size_t)i * QC_CU_GEMM_SIZE;
        qc_cu_gemm *g = &cm->gemms[i];
        uint32_t u0[6], u1[5];
        int64_t s[7];
        for (int k = 0; k < 6; k++) u0[k] = qc_le32(r + 4 * k);
        for (int k = 0; k < 7; k++) s[k] = (int64_t)qc_le64(r + 24 + 8 * k);
        for (int k = 0; k < 5; k++) u1[k] = qc_le32(r + 80 + 4 * k);
        *g = (qc_cu_gemm){u0[0], u0[1], u0[2], u0[3], u0[4], u0[5], s[0], s[1], s[2], s[3], s[4],
                          s[5], s[6], u1[0], u1[1], u1[2], u1[3], u1[4]};
        bool ok = g->dtype_a == QC_CU_DT_I8 && g->dtype_b == QC_CU_DT_I8 && g->dtype_c == QC_CU_DT_I32 &&
                  g->compute == QC_CU_COMPUTE_32I && g->transa <= 1 && g->transb <= 1 &&
                  g->scale_mode == 0 && g->epilogue == 0;
        for (int k = 0; k < 7 && ok; k++) ok = s[k] >= 0 && s[k] < (1ll << 31);
        ok = ok && g->m > 0 && g->k > 0 && g->lda >= g->k && g->ldb >= g->k && g->ldc >= g->m;
        ok = ok && g->param_a < np && g->param_b < np && g->param_c < np &&
             cm->params[g->param_a].kind == QC_CU_PARAM_AUX && ptr_param(cm->params[g->param_b].kind) &&
             cm->params[g->param_c].kind == QC_CU_PARAM_SCRATCH;
        /* A (the weights) lives in AUX: it must fit there entirely. */
        ok = ok && (uint64_t)cm->params[g->param_a].a + (uint64_t)g->lda * (uint64_t)g->m <= aux_len;
        /* C is the scratch: the param must reserve all of it. */
        ok = ok && cm->params[g->param_c].a >= g->ldc * g->n_a * 4 && cm->params[g->param_c].b >= g->ldc * g->n_b * 4;
        if (!ok) return TERR("gemm %u: unsupported or inconsistent descriptor", fo, i);
        cm->lt[i].batch = -1;
    }
    for (uint32_t i = 0; i < nl; i++) {
        const uint8_t *r = lrec + (size_t)i * QC_CU_LAUNCH_SIZE;
        cu_launch_rt *L = &cm->launches[i];
        L->kind = qc_le32(r);
        L->name = qc_le32(r + 4);
        L->pfirst = qc_le32(r + 8);
        L->np = qc_le32(r + 12);
        for (int k = 0; k < 3; k++) {
            const uint8_t *d = r + 16 + 20 * k;
            L->grid[k].a = (int64_t)qc_le64(d);
            L->grid[k].b = (int64_t)qc_le64(d + 8);
            L->grid[k].div = qc_le32(d + 16);
            if (!L->grid[k].div || L->grid[k].a < -(1ll << 48) || L->grid[k].a > (1ll << 48) ||
                L->grid[k].b < 0 || L->grid[k].b > (1ll << 40))
                return TERR("launch %u: grid dim %d out of range", fo, i, k);
        }
        uint64_t threads = 1;
        for (int k = 0; k < 3; k++) {
            L->block[k] = qc_le32(r + 76 + 4 * k);
            threads *= L->block[k];
        }
        L->shared = qc_le32(r + 88);
        L->extra = qc_le32(r + 92);
        if (L->np > QC_CU_MAX_PARAMS || L->pfirst > np || L->np > np - L->pfirst)
            return TERR("launch %u: params [%u, +%u) outside the %u params", fo, i, L->pfirst, L->np, np);
        if (L->kind == QC_CU_LAUNCH_KERNEL) {
            if (L->name >= sl || !strings[L->name]) return TERR("launch %u: bad kernel name offset", fo, i);
            if (!threads || threads > QC_CU_MAX_BLOCK || L->shared > QC_CU_MAX_SHARED)
                return TERR("launch %u: block %ux%ux%u / %u shared bytes out of range", fo, i,
                            L->block[0], L->block[1], L->block[2], L->shared);
        } else if (L->kind == QC_CU_LAUNCH_GEMM) {
            if (L->extra >= ng || L->np != 3) return TERR("launch %u: bad gemm record", fo, i);
            const qc_cu_gemm *g = &cm->gemms[L->extra];
            if (g->param_a != L->pfirst || g->param_b != L->pfirst + 1 || g->param_c != L->pfirst + 2)
                return TERR("launch %u: gemm params are not the launch's", fo, i);
        } else if (L->kind == QC_CU_LAUNCH_COPY) {
            if (L->np != 2 || cm->params[L->pfirst].kind != QC_CU_PARAM_ARENA ||
                cm->params[L->pfirst + 1].kind != QC_CU_PARAM_ARENA || L->grid[0].div != 1 ||
                L->grid[0].a < 0)
                return TERR("launch %u: bad copy", fo, i);
        } else {
            return TERR("launch %u: kind %u", fo, i, L->kind);
        }
    }
    for (uint32_t i = 0; i < nn; i++) {
        const uint8_t *r = q + (size_t)i * QC_CU_NODE_SIZE;
        uint32_t mode = qc_le32(r), first = qc_le32(r + 4), count = qc_le32(r + 8);
        uint32_t af = qc_le32(r + 12), ac = qc_le32(r + 16);
        cu_node_rt *x = &cm->nodes[i];
        *x = (cu_node_rt){mode, first, count, af, ac};
        if (mode == QC_CU_NODE_HOST) continue;
        if (mode == QC_CU_NODE_COVERED) {
            if (first >= i || cm->nodes[first].mode != QC_CU_NODE_LAUNCH)
                return TERR("node %u: covered by node %u, which launches nothing before it", fo, i, first);
            continue;
        }
        if (mode != QC_CU_NODE_LAUNCH || !count || first > nl || count > nl - first || !ac ||
            af > nl || ac > nl - af)
            return TERR("node %u: mode %u / launches [%u,+%u) alt [%u,+%u) invalid", fo, i, mode,
                        first, count, af, ac);
        for (uint32_t k = 0; k < ac; k++)
            if (cm->launches[af + k].kind == QC_CU_LAUNCH_GEMM)
                return TERR("node %u: its alt path uses cuBLASLt", fo, i);
    }
    (void)strings;
    return NULL;
}

/* The cubin of sm (0: none), else the PTX; every image header validated. */
static qc_status pick_image(int sm, const cu_sections *s, const uint8_t **img, int *arch) {
    const uint8_t *ptx = NULL;
    *img = NULL;
    for (int i = 0; i < s->n_images; i++) {
        const qc_rt_section *x = s->images[i];
        if (x->len < QC_CU_IMAGE_HEADER_SIZE || qc_le32(x->data) != QC_CU_IMAGE_MAGIC ||
            qc_le32(x->data + 8) != x->len - QC_CU_IMAGE_HEADER_SIZE || qc_le32(x->data + 8) == 0)
            return qc_error(QC_ERR_INVALID, "cuda IMAGE section at file offset %llu: bad header",
                            (unsigned long long)x->offset);
        uint32_t a = qc_le32(x->data + 4);
        const uint8_t *body = x->data + QC_CU_IMAGE_HEADER_SIZE;
        if (a == 0) {
            if (body[x->len - QC_CU_IMAGE_HEADER_SIZE - 1] != 0)
                return qc_error(QC_ERR_INVALID, "cuda IMAGE section at file offset %llu: PTX is not "
                                "NUL-terminated", (unsigned long long)x->offset);
            ptx = body;
        } else if ((int)a == sm) {
            *img = body;
            *arch = (int)a;
        }
    }
    if (!*img && ptx) {
        *img = ptx;
        *arch = 0;
    }
    if (!*img)
        return qc_error(QC_ERR_UNSUPPORTED, "cuda: no image for sm_%d and no PTX in the artifact", sm);
    return NULL;
}

qc_status qc_cuda_table_check(const qc_model_data *m) {
    cu_sections s;
    qc_status st = find_sections(m, &s);
    if (st) return st;
    cu_model *cm = calloc(1, sizeof *cm);
    if (!cm) return qc_error(QC_ERR_NOMEM, "cuda: out of memory");
    st = parse_table(m, s.table, s.aux ? s.aux->len : 0, cm);
    const uint8_t *img;
    int arch;
    if (!st) st = pick_image(0, &s, &img, &arch);
    free(cm->nodes);
    free(cm->launches);
    free(cm->params);
    free(cm->gemms);
    free(cm->lt);
    free(cm);
    return st;
}

void cu_model_unload(qc_device *d, cu_model *cm) {
    if (!cm) return;
    for (int32_t i = 0; cm->lt && i < cm->n_gemms; i++) cu_lt_plan_free(d, &cm->lt[i]);
    if (cm->mod) d->cu.ModuleUnload(cm->mod);
    if (cm->aux) d->cu.MemFree(cm->aux);
    pthread_mutex_destroy(&cm->lt_lock);
    free(cm->nodes);
    free(cm->launches);
    free(cm->params);
    free(cm->gemms);
    free(cm->lt);
    free(cm);
}

qc_status cu_model_load(qc_device *d, const qc_model_data *m, cu_model **out) {
    *out = NULL;
    cu_sections s;
    qc_status st = find_sections(m, &s);
    if (st) return st;
    cu_model *cm = calloc(1, sizeof *cm);
    if (!cm) return qc_error(QC_ERR_NOMEM, "cuda: out of memory");
    pthread_mutex_init(&cm->lt_lock, NULL);
    cm->m = m;
    cm->aux_len = s.aux ? s.aux->len : 0;
    st = parse_table(m, s.table, cm->aux_len, cm);
    const uint8_t *img = NULL;
    if (!st) st = pick_image(d->sm, &s, &img, &cm->image_arch);
    CUresult r = CUDA_SUCCESS;
    if (!st && (r = d->cu.ModuleLoadData(&cm->mod, img)) != CUDA_SUCCESS)
        st = qc_status_wrap(cu_error(d, r, "cuModuleLoadData"), "cuda: loading the %s image",
                            cm->image_arch ? "cubin" : "PTX");
    for (int32_t i = 0; !st && i < cm->n_launches; i++) {
        cu_launch_rt *L = &cm->launches[i];
        if (L->kind != QC_CU_LAUNCH_KERNEL) continue;
        const char *name = (const char *)s.table->data + s.table->len -
                           qc_le32(s.table->data + 24) + L->name;
        if ((r = d->cu.ModuleGetFunction(&L->fn, cm->mod, name)) != CUDA_SUCCESS)
            st = qc_status_wrap(cu_error(d, r, "cuModuleGetFunction"), "cuda: kernel '%s'", name);
    }
    if (!st && cm->aux_len) {
        if ((r = d->cu.MemAlloc(&cm->aux, cm->aux_len)) != CUDA_SUCCESS ||
            (r = d->cu.MemcpyHtoDAsync(cm->aux, s.aux->data, cm->aux_len, d->stream)) != CUDA_SUCCESS ||
            (r = d->cu.StreamSynchronize(d->stream)) != CUDA_SUCCESS)
            st = qc_status_wrap(cu_error(d, r, "uploading AUX"), "cuda: %zu bytes", cm->aux_len);
    }
    /* Path per node: cuBLASLt when it is there and its heuristic has an
     * algorithm for a nominal batch (checked again per batch at run time,
     * falling back to an error rather than silently), else the alt path. */
    for (int32_t i = 0; !st && i < cm->n_nodes; i++) {
        cu_node_rt *x = &cm->nodes[i];
        if (x->mode == QC_CU_NODE_HOST) cm->n_host++;
        if (x->mode != QC_CU_NODE_LAUNCH) continue;
        bool use_lt = d->have_lt;
        for (uint32_t k = 0; use_lt && k < x->count; k++) {
            const cu_launch_rt *L = &cm->launches[x->first + k];
            if (L->kind != QC_CU_LAUNCH_GEMM) continue;
            cu_lt_plan *p = NULL;
            qc_status e = cu_lt_plan_get(d, cm, (int32_t)L->extra, m->batch ? 1024 : 0, &p);
            use_lt = !e && p->ok;
            qc_status_free(e);
        }
        if (!use_lt) {
            x->first = x->alt_first;
            x->count = x->alt_count;
        }
    }
    if (st) {
        cu_model_unload(d, cm);
        return st;
    }
    *out = cm;
    return NULL;
}
