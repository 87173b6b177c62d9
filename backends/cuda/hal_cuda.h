/* hal_cuda.h — internal to the cuda runtime side (backends/cuda/hal*.c):
 * the driver API and cuBLASLt entry points resolved with dlopen (libqcrt
 * links neither library), the device, and a loaded model's state.
 * cuda.h / cublasLt.h are included for types and enums only: nothing here
 * calls their functions by name. */
#ifndef QC_BACKENDS_CUDA_HAL_CUDA_H
#define QC_BACKENDS_CUDA_HAL_CUDA_H

#include <cublasLt.h>
#include <cuda.h>
#include <pthread.h>

#include "backends/cuda/table.h"
#include "runtime/hal.h"

typedef struct cu_api {
    CUresult (*Init)(unsigned);
    CUresult (*GetErrorName)(CUresult, const char **);
    CUresult (*GetErrorString)(CUresult, const char **);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
    CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*PrimaryCtxRelease)(CUdevice);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamDestroy)(CUstream);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemHostAlloc)(void **, size_t, unsigned);
    CUresult (*MemFreeHost)(void *);
    CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*MemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*ModuleLoadData)(CUmodule *, const void *);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
} cu_api;

typedef struct lt_api {
    cublasStatus_t (*Create)(cublasLtHandle_t *);
    cublasStatus_t (*Destroy)(cublasLtHandle_t);
    const char *(*GetStatusName)(cublasStatus_t);
    cublasStatus_t (*MatmulDescCreate)(cublasLtMatmulDesc_t *, cublasComputeType_t, cudaDataType_t);
    cublasStatus_t (*MatmulDescDestroy)(cublasLtMatmulDesc_t);
    cublasStatus_t (*MatmulDescSetAttribute)(cublasLtMatmulDesc_t, cublasLtMatmulDescAttributes_t,
                                             const void *, size_t);
    cublasStatus_t (*MatrixLayoutCreate)(cublasLtMatrixLayout_t *, cudaDataType, uint64_t, uint64_t,
                                         int64_t);
    cublasStatus_t (*MatrixLayoutDestroy)(cublasLtMatrixLayout_t);
    cublasStatus_t (*PreferenceCreate)(cublasLtMatmulPreference_t *);
    cublasStatus_t (*PreferenceDestroy)(cublasLtMatmulPreference_t);
    cublasStatus_t (*PreferenceSetAttribute)(cublasLtMatmulPreference_t,
                                             cublasLtMatmulPreferenceAttributes_t, const void *,
                                             size_t);
    cublasStatus_t (*AlgoGetHeuristic)(cublasLtHandle_t, cublasLtMatmulDesc_t,
                                       cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                                       cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                                       cublasLtMatmulPreference_t, int,
                                       cublasLtMatmulHeuristicResult_t *, int *);
    cublasStatus_t (*Matmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void *, const void *,
                             cublasLtMatrixLayout_t, const void *, cublasLtMatrixLayout_t,
                             const void *, const void *, cublasLtMatrixLayout_t, void *,
                             cublasLtMatrixLayout_t, const cublasLtMatmulAlgo_t *, void *, size_t,
                             cudaStream_t);
} lt_api;

/* A cuBLASLt plan for one gemm record at one batch: descriptors + the
 * heuristic's algorithm, made once per (model, gemm, batch) and cached. */
typedef struct cu_lt_plan {
    int64_t batch;                 /* -1: empty */
    bool ok;                       /* heuristic found an algorithm */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulHeuristicResult_t algo;
} cu_lt_plan;

/* alt_*: the path without cuBLASLt; load copies it over first/count when
 * cuBLASLt cannot run the node. */
typedef struct cu_node_rt { uint32_t mode, first, count, alt_first, alt_count; } cu_node_rt;
typedef struct cu_launch_rt {
    uint32_t kind, name, pfirst, np, extra, shared;
    struct { int64_t a, b; uint32_t div; } grid[3];
    uint32_t block[3];
    CUfunction fn;
} cu_launch_rt;
typedef struct cu_param_rt { uint32_t kind, value; int64_t a, b; } cu_param_rt;

typedef struct cu_model {
    const qc_model_data *m;
    struct cu_model *next;
    CUmodule mod;
    CUdeviceptr aux;
    size_t aux_len;
    int32_t n_nodes, n_launches, n_params, n_gemms, n_host;
    cu_node_rt *nodes;             /* the path chosen at load (primary or alt) */
    cu_launch_rt *launches;
    cu_param_rt *params;
    qc_cu_gemm *gemms;
    cu_lt_plan *lt;                /* per gemm, one cached batch */
    pthread_mutex_t lt_lock;
    int image_arch;                /* sm of the cubin loaded, 0 = PTX JIT */
} cu_model;

struct qc_device {
    void *libcuda, *liblt;
    cu_api cu;
    lt_api lt;
    bool have_lt;
    CUdevice dev;
    CUcontext ctx;
    CUstream stream;
    int sm;                        /* major * 10 + minor */
    char name[128];
    qc_device *ref;                /* the ref device, for host-fallback nodes */
    pthread_mutex_t lock;          /* models list, scratch */
    cu_model *models;
    CUdeviceptr scratch;
    size_t scratch_size;
    cublasLtHandle_t lt_handle;
    CUdeviceptr lt_ws;
    size_t lt_ws_size;
};

/* The device buffer behind qc_hal_buffer.handle: device memory plus a
 * pinned host mirror of the same size, the staging area for host I/O and
 * for host-fallback nodes. */
typedef struct cu_buffer {
    CUdeviceptr ptr;
    void *pinned;
    size_t size;
} cu_buffer;

/* "cuda: <call> failed: CUDA_ERROR_X (message)" */
qc_status cu_error(const qc_device *d, CUresult r, const char *call);
/* Parses + validates the cuda sections of m and loads them (hal_load.c). */
qc_status cu_model_load(qc_device *d, const qc_model_data *m, cu_model **out);
void cu_model_unload(qc_device *d, cu_model *cm);
/* cuBLASLt (hal_lt.c): opens libcublasLt (no error if missing: have_lt
 * stays false and GEMM nodes use their dp4a path); plans and runs. */
void cu_lt_open(qc_device *d);
void cu_lt_close(qc_device *d);
qc_status cu_lt_plan_get(qc_device *d, cu_model *cm, int32_t gi, int64_t batch, cu_lt_plan **out);
void cu_lt_plan_free(qc_device *d, cu_lt_plan *p);
qc_status cu_lt_run(qc_device *d, const cu_lt_plan *p, CUdeviceptr a, CUdeviceptr b,
                    CUdeviceptr c);

#endif
