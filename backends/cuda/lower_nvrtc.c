/* lower_nvrtc.c — CUDA C -> cubin / PTX with NVRTC. libqcomp links
 * libnvrtc.so by path (cmake/backend_cuda.cmake): NVRTC needs no driver,
 * so the compiler starts and compiles for any sm on a machine without a GPU.
 *
 * Options: --fmad=false keeps the numerics contract (no FMA contraction;
 * the integer paths also spell every rounding with __*_rn intrinsics), no
 * fast-math, C++17 for hex float literals. */
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/lower.h"

static qc_status nvrtc_error(nvrtcResult r, const char *call, const char *name, int arch) {
    return qc_error(QC_ERR_INTERNAL, "cuda: %s failed for '%s' (%s_%d): %s", call, name,
                    arch ? "sm" : "compute", arch ? arch : 80, nvrtcGetErrorString(r));
}

qc_status cu_nvrtc_compile(const char *src, const char *name, int arch, bool want_ptx,
                           uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram(&prog, src, name, 0, NULL, NULL);
    if (r != NVRTC_SUCCESS) return nvrtc_error(r, "nvrtcCreateProgram", name, arch);
    char archopt[48];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=%s_%d", want_ptx ? "compute" : "sm", arch);
    const char *opts[] = {archopt, "--fmad=false", "--std=c++17", "-default-device",
                          "--prec-div=true", "--prec-sqrt=true", "--ftz=false"};
    r = nvrtcCompileProgram(prog, (int)(sizeof opts / sizeof opts[0]), opts);
    qc_status st = NULL;
    if (r != NVRTC_SUCCESS) {
        size_t loglen = 0;
        char *log = NULL;
        if (nvrtcGetProgramLogSize(prog, &loglen) == NVRTC_SUCCESS && (log = malloc(loglen + 1))) {
            if (nvrtcGetProgramLog(prog, log) != NVRTC_SUCCESS) log[0] = 0;
            log[loglen] = 0;
        }
        /* The log names lines of the generated source: keep it whole, but
         * bounded so a runaway error list stays readable. */
        st = qc_error(QC_ERR_INTERNAL, "cuda: nvrtcCompileProgram failed for '%s' (%s): %s\n%.4000s",
                      name, archopt, nvrtcGetErrorString(r), log ? log : "");
        free(log);
        nvrtcDestroyProgram(&prog);
        return st;
    }
    size_t n = 0;
    r = want_ptx ? nvrtcGetPTXSize(prog, &n) : nvrtcGetCUBINSize(prog, &n);
    if (r != NVRTC_SUCCESS) st = nvrtc_error(r, want_ptx ? "nvrtcGetPTXSize" : "nvrtcGetCUBINSize", name, arch);
    uint8_t *buf = st ? NULL : malloc(n ? n : 1);
    if (!st && !buf) st = qc_error(QC_ERR_NOMEM, "cuda: out of memory for a %zu-byte image", n);
    if (!st) {
        r = want_ptx ? nvrtcGetPTX(prog, (char *)buf) : nvrtcGetCUBIN(prog, (char *)buf);
        if (r != NVRTC_SUCCESS) st = nvrtc_error(r, want_ptx ? "nvrtcGetPTX" : "nvrtcGetCUBIN", name, arch);
    }
    nvrtcDestroyProgram(&prog);
    if (st) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return NULL;
}
