/* hal_lt.c — cuBLASLt, opened with dlopen (libcublasLt.so.13 from the
 * loader's path or the toolkit's lib64): matmul descriptors and the
 * heuristic's algorithm per (model, gemm record, batch), made on first use
 * (at load for a nominal batch) and cached; then cublasLtMatmul on the
 * device stream with a device workspace. Missing cuBLASLt is not an error:
 * GEMM nodes then run their dp4a alt path (hal_load.c). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "backends/cuda/hal_cuda.h"

#ifndef QC_CUDA_LIBDIR
#define QC_CUDA_LIBDIR "/usr/local/cuda/lib64"
#endif
#define LT_WORKSPACE (32u << 20)

void cu_lt_open(qc_device *d) {
    static const char *const paths[] = {"libcublasLt.so.13", QC_CUDA_LIBDIR "/libcublasLt.so.13",
                                        "/usr/local/cuda/lib64/libcublasLt.so.13", "libcublasLt.so"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0] && !d->liblt; i++)
        d->liblt = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
    if (!d->liblt) return;
    struct { void **slot; const char *sym; } t[] = {
        {(void **)&d->lt.Create, "cublasLtCreate"},
        {(void **)&d->lt.Destroy, "cublasLtDestroy"},
        {(void **)&d->lt.GetStatusName, "cublasLtGetStatusName"},
        {(void **)&d->lt.MatmulDescCreate, "cublasLtMatmulDescCreate"},
        {(void **)&d->lt.MatmulDescDestroy, "cublasLtMatmulDescDestroy"},
        {(void **)&d->lt.MatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute"},
        {(void **)&d->lt.MatrixLayoutCreate, "cublasLtMatrixLayoutCreate"},
        {(void **)&d->lt.MatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy"},
        {(void **)&d->lt.PreferenceCreate, "cublasLtMatmulPreferenceCreate"},
        {(void **)&d->lt.PreferenceDestroy, "cublasLtMatmulPreferenceDestroy"},
        {(void **)&d->lt.PreferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute"},
        {(void **)&d->lt.AlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic"},
        {(void **)&d->lt.Matmul, "cublasLtMatmul"},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && ok; i++) ok = (*t[i].slot = dlsym(d->liblt, t[i].sym));
    if (ok && d->lt.Create(&d->lt_handle) == CUBLAS_STATUS_SUCCESS &&
        d->cu.MemAlloc(&d->lt_ws, LT_WORKSPACE) == CUDA_SUCCESS) {
        d->lt_ws_size = LT_WORKSPACE;
        d->have_lt = true;
        return;
    }
    if (d->lt_handle) d->lt.Destroy(d->lt_handle);
    d->lt_handle = NULL;
    dlclose(d->liblt);
    d->liblt = NULL;
}

void cu_lt_close(qc_device *d) {
    if (d->lt_ws) d->cu.MemFree(d->lt_ws);
    if (d->lt_handle) d->lt.Destroy(d->lt_handle);
    if (d->liblt) dlclose(d->liblt);
    d->lt_ws = 0;
    d->lt_handle = NULL;
    d->liblt = NULL;
    d->have_lt = false;
}

void cu_lt_plan_free(qc_device *d, cu_lt_plan *p) {
    if (p->lc) d->lt.MatrixLayoutDestroy(p->lc);
    if (p->lb) d->lt.MatrixLayoutDestroy(p->lb);
    if (p->la) d->lt.MatrixLayoutDestroy(p->la);
    if (p->desc) d->lt.MatmulDescDestroy(p->desc);
    memset(p, 0, sizeof *p);
    p->batch = -1;
}

static qc_status lt_err(const qc_device *d, cublasStatus_t s, const char *call) {
    return qc_error(QC_ERR_INTERNAL, "cuda: %s failed: %s", call,
                    d->lt.GetStatusName ? d->lt.GetStatusName(s) : "?");
}

#define LT_CHECK(d, call, args)                                          \
    do {                                                                 \
        cublasStatus_t s_ = (d)->lt.call args;                           \
        if (s_ != CUBLAS_STATUS_SUCCESS) return lt_err((d), s_, "cublasLt" #call); \
    } while (0)

static cudaDataType_t lt_type(uint32_t t) {
    switch (t) {
    case QC_CU_DT_I8: return CUDA_R_8I;
    case QC_CU_DT_I32: return CUDA_R_32I;
    case QC_CU_DT_F16: return CUDA_R_16F;
    case QC_CU_DT_E4M3: return CUDA_R_8F_E4M3;
    default: return CUDA_R_32F;
    }
}

static qc_status make_plan(qc_device *d, const qc_cu_gemm *g, int64_t batch, cu_lt_plan *p) {
    int64_t n = g->n_a + g->n_b * batch;
    if (n < 1) n = 1;   /* an empty batch launches nothing; keep descriptors valid */
    bool i32 = g->compute == QC_CU_COMPUTE_32I;
    LT_CHECK(d, MatmulDescCreate, (&p->desc, i32 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F,
                                   i32 ? CUDA_R_32I : CUDA_R_32F));
    cublasOperation_t ta = g->transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = g->transb ? CUBLAS_OP_T : CUBLAS_OP_N;
    LT_CHECK(d, MatmulDescSetAttribute, (p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_CHECK(d, MatmulDescSetAttribute, (p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    /* Column-major: A is (transa ? k x m : m x k), B is (transb ? n x k : k x n). */
    LT_CHECK(d, MatrixLayoutCreate, (&p->la, lt_type(g->dtype_a), (uint64_t)(g->transa ? g->k : g->m),
                                     (uint64_t)(g->transa ? g->m : g->k), g->lda));
    LT_CHECK(d, MatrixLayoutCreate, (&p->lb, lt_type(g->dtype_b), (uint64_t)(g->transb ? n : g->k),
                                     (uint64_t)(g->transb ? g->k : n), g->ldb));
    LT_CHECK(d, MatrixLayoutCreate, (&p->lc, lt_type(g->dtype_c), (uint64_t)g->m, (uint64_t)n, g->ldc));
    cublasLtMatmulPreference_t pref = NULL;
    LT_CHECK(d, PreferenceCreate, (&pref));
    uint64_t ws = d->lt_ws_size;
    cublasStatus_t s = d->lt.PreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &ws, sizeof ws);
    int found = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = d->lt.AlgoGetHeuristic(d->lt_handle, p->desc, p->la, p->lb, p->lc, p->lc, pref, 1,
                                   &p->algo, &found);
    d->lt.PreferenceDestroy(pref);
    p->ok = s == CUBLAS_STATUS_SUCCESS && found > 0;
    p->batch = batch;
    return NULL;
}

qc_status cu_lt_plan_get(qc_device *d, cu_model *cm, int32_t gi, int64_t batch, cu_lt_plan **out) {
    *out = NULL;
    if (!d->have_lt) return qc_error(QC_ERR_UNSUPPORTED, "cuda: cuBLASLt is not available");
    cu_lt_plan *p = &cm->lt[gi];
    qc_status st = NULL;
    /* The caller holds cm->lt_lock (or is the loader, alone with cm). */
    if (p->batch != batch) {
        cu_lt_plan_free(d, p);
        st = make_plan(d, &cm->gemms[gi], batch, p);
        if (st) cu_lt_plan_free(d, p);
    }
    if (!st && !p->ok)
        st = qc_error(QC_ERR_UNSUPPORTED, "cuda: cuBLASLt heuristic has no algorithm for gemm %d at "
                      "batch %lld", (int)gi, (long long)batch);
    *out = p;
    return st;
}

qc_status cu_lt_run(qc_device *d, const cu_lt_plan *p, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c) {
    int32_t one = 1, zero = 0;
    LT_CHECK(d, Matmul, (d->lt_handle, p->desc, &one, (const void *)(uintptr_t)a, p->la,
                         (const void *)(uintptr_t)b, p->lb, &zero, (const void *)(uintptr_t)c, p->lc,
                         (void *)(uintptr_t)c, p->lc, &p->algo.algo, (void *)(uintptr_t)d->lt_ws,
                         d->lt_ws_size, (cudaStream_t)d->stream));
    return NULL;
}
