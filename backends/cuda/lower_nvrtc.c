/* lower_nvrtc.c — CUDA C -> cubin / PTX with NVRTC. NVRTC needs no driver,
 * so the compiler compiles for any sm on a machine without a GPU. libnvrtc
 * is opened with dlopen the first time a cuda target is compiled, never
 * linked: it is a large library whose static initializers cost every
 * process that links it ~30 MB of RSS and startup time, and `qcomp run` or
 * a host app that never compiles for cuda should not pay that.
 *
 * Options: --fmad=false keeps the numerics contract (no FMA contraction;
 * the integer paths also spell every rounding with __*_rn intrinsics), no
 * fast-math, C++17 for hex float literals. */
#include <dlfcn.h>
#include <nvrtc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/lower.h"

/* The NVRTC entry points, resolved once per process and kept (a library
 * handle that is never closed, like LLVM's target registry: no state that
 * changes after initialization). */
typedef struct nvrtc_api {
    void *lib;
    char err[256];
    nvrtcResult (*create)(nvrtcProgram *, const char *, const char *, int, const char *const *,
                          const char *const *);
    nvrtcResult (*compile)(nvrtcProgram, int, const char *const *);
    nvrtcResult (*destroy)(nvrtcProgram *);
    nvrtcResult (*log_size)(nvrtcProgram, size_t *);
    nvrtcResult (*log)(nvrtcProgram, char *);
    nvrtcResult (*ptx_size)(nvrtcProgram, size_t *);
    nvrtcResult (*ptx)(nvrtcProgram, char *);
    nvrtcResult (*cubin_size)(nvrtcProgram, size_t *);
    nvrtcResult (*cubin)(nvrtcProgram, char *);
    const char *(*error_string)(nvrtcResult);
} nvrtc_api;

static nvrtc_api api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void *sym(const char *name, bool *ok) {
    void *p = dlsym(api.lib, name);
    if (!p) *ok = false;
    return p;
}

static void load_nvrtc(void) {
    const char *names[] = {"libnvrtc.so.13", QC_NVRTC_PATH, "libnvrtc.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !api.lib; i++)
        api.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!api.lib) {
        snprintf(api.err, sizeof api.err, "cannot open libnvrtc (%s)", dlerror());
        return;
    }
    bool ok = true;
    *(void **)&api.create = sym("nvrtcCreateProgram", &ok);
    *(void **)&api.compile = sym("nvrtcCompileProgram", &ok);
    *(void **)&api.destroy = sym("nvrtcDestroyProgram", &ok);
    *(void **)&api.log_size = sym("nvrtcGetProgramLogSize", &ok);
    *(void **)&api.log = sym("nvrtcGetProgramLog", &ok);
    *(void **)&api.ptx_size = sym("nvrtcGetPTXSize", &ok);
    *(void **)&api.ptx = sym("nvrtcGetPTX", &ok);
    *(void **)&api.cubin_size = sym("nvrtcGetCUBINSize", &ok);
    *(void **)&api.cubin = sym("nvrtcGetCUBIN", &ok);
    *(void **)&api.error_string = sym("nvrtcGetErrorString", &ok);
    if (!ok) {
        snprintf(api.err, sizeof api.err, "libnvrtc lacks an NVRTC entry point (%s)", dlerror());
        dlclose(api.lib);
        api.lib = NULL;
    }
}

static qc_status nvrtc_error(nvrtcResult r, const char *call, const char *name, int arch) {
    return qc_error(QC_ERR_INTERNAL, "cuda: %s failed for '%s' (%s_%d): %s", call, name,
                    arch ? "sm" : "compute", arch ? arch : 80, api.error_string(r));
}

qc_status cu_nvrtc_compile(const char *src, const char *name, int arch, bool want_ptx,
                           uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (pthread_once(&api_once, load_nvrtc) != 0 || !api.lib)
        return qc_error(QC_ERR_UNSUPPORTED, "cuda: %s; the CUDA toolkit's NVRTC is needed to "
                        "compile for cuda", api.err[0] ? api.err : "NVRTC unavailable");
    nvrtcProgram prog;
    nvrtcResult r = api.create(&prog, src, name, 0, NULL, NULL);
    if (r != NVRTC_SUCCESS) return nvrtc_error(r, "nvrtcCreateProgram", name, arch);
    char archopt[48];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=%s_%d", want_ptx ? "compute" : "sm", arch);
    const char *opts[] = {archopt, "--fmad=false", "--std=c++17", "-default-device",
                          "--prec-div=true", "--prec-sqrt=true", "--ftz=false"};
    r = api.compile(prog, (int)(sizeof opts / sizeof opts[0]), opts);
    qc_status st = NULL;
    if (r != NVRTC_SUCCESS) {
        size_t loglen = 0;
        char *log = NULL;
        if (api.log_size(prog, &loglen) == NVRTC_SUCCESS && (log = malloc(loglen + 1))) {
            if (api.log(prog, log) != NVRTC_SUCCESS) log[0] = 0;
            log[loglen] = 0;
        }
        /* The log names lines of the generated source: keep it whole, but
         * bounded so a runaway error list stays readable. */
        st = qc_error(QC_ERR_INTERNAL, "cuda: nvrtcCompileProgram failed for '%s' (%s): %s\n%.4000s",
                      name, archopt, api.error_string(r), log ? log : "");
        free(log);
        api.destroy(&prog);
        return st;
    }
    size_t n = 0;
    r = want_ptx ? api.ptx_size(prog, &n) : api.cubin_size(prog, &n);
    if (r != NVRTC_SUCCESS) st = nvrtc_error(r, want_ptx ? "nvrtcGetPTXSize" : "nvrtcGetCUBINSize", name, arch);
    uint8_t *buf = st ? NULL : malloc(n ? n : 1);
    if (!st && !buf) st = qc_error(QC_ERR_NOMEM, "cuda: out of memory for a %zu-byte image", n);
    if (!st) {
        r = want_ptx ? api.ptx(prog, (char *)buf) : api.cubin(prog, (char *)buf);
        if (r != NVRTC_SUCCESS) st = nvrtc_error(r, want_ptx ? "nvrtcGetPTX" : "nvrtcGetCUBIN", name, arch);
    }
    api.destroy(&prog);
    if (st) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return NULL;
}
