/* cg.c — LLVM target setup for the cpu backend: CPU features, the target
 * machine, object emission and the LLJIT that loads an object in process. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "backends/cpu/cg.h"

/* ---- features ---------------------------------------------------------------- */

typedef struct feat_name {
    const char *llvm;
    size_t offset;
} feat_name;

#define F(name, field) {name, offsetof(qc_cpu_features, field)}
static const feat_name feat_names[] = {
    F("sse4.1", sse41),         F("avx2", avx2),         F("fma", fma),
    F("f16c", f16c),            F("avx512f", avx512f),   F("avx512bw", avx512bw),
    F("avx512vl", avx512vl),    F("avx512vnni", avx512vnni), F("avxvnni", avxvnni),
    F("avx512bf16", avx512bf16), F("avx512fp16", avx512fp16), F("amx-tile", amx_tile),
    F("amx-int8", amx_int8),    F("amx-bf16", amx_bf16),
};
#undef F
#define N_FEATS (sizeof feat_names / sizeof feat_names[0])

static bool *feat_field(qc_cpu_features *f, size_t i) {
    return (bool *)((char *)f + feat_names[i].offset);
}

uint32_t qc_cpu_features_mask(const qc_cpu_features *f) {
    uint32_t m = 0;
    for (size_t i = 0; i < N_FEATS; i++)
        if (*feat_field((qc_cpu_features *)f, i)) m |= 1u << i;
    return m;
}

void qc_cpu_features_from_mask(uint32_t mask, qc_cpu_features *f) {
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < N_FEATS; i++) *feat_field(f, i) = (mask >> i) & 1u;
}

void qc_cpu_features_apply(const char *s, qc_cpu_features *f) {
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len > 1 && (s[0] == '+' || s[0] == '-'))
            for (size_t i = 0; i < N_FEATS; i++)
                if (strlen(feat_names[i].llvm) == len - 1 &&
                    !strncmp(feat_names[i].llvm, s + 1, len - 1))
                    *feat_field(f, i) = s[0] == '+';
        s = end ? end + 1 : NULL;
    }
}

const char *qc_cpu_features_format(const qc_cpu_features *f, char *buf, size_t n) {
    size_t len = 0;
    if (n) buf[0] = 0;
    for (size_t i = 0; i < N_FEATS && len < n; i++)
        if (*feat_field((qc_cpu_features *)f, i))
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? " " : "", feat_names[i].llvm);
    if (n && !len) snprintf(buf, n, "(baseline x86-64)");
    return buf;
}

/* Named CPUs and the features they imply (LLVM's own table is not exposed
 * through the C API). Levels build on each other. */
#define V2 "+sse4.1"
#define V3 V2 ",+avx2,+fma,+f16c"
#define V4 V3 ",+avx512f,+avx512bw,+avx512vl"
typedef struct known_cpu {
    const char *name, *features;
} known_cpu;
static const known_cpu known_cpus[] = {
    {"x86-64", ""},
    {"x86-64-v2", V2},
    {"x86-64-v3", V3},
    {"x86-64-v4", V4},
    {"haswell", V3},
    {"skylake", V3},
    {"alderlake", V3 ",+avxvnni"},
    {"skylake-avx512", V4},
    {"cascadelake", V4 ",+avx512vnni"},
    {"icelake-server", V4 ",+avx512vnni"},
    {"rocketlake", V4 ",+avx512vnni"},
    {"tigerlake", V4 ",+avx512vnni"},
    {"cooperlake", V4 ",+avx512vnni,+avx512bf16"},
    {"sapphirerapids", V4 ",+avx512vnni,+avxvnni,+avx512bf16,+avx512fp16,+amx-tile,+amx-int8,+amx-bf16"},
    {"emeraldrapids", V4 ",+avx512vnni,+avxvnni,+avx512bf16,+avx512fp16,+amx-tile,+amx-int8,+amx-bf16"},
    {"graniterapids", V4 ",+avx512vnni,+avxvnni,+avx512bf16,+avx512fp16,+amx-tile,+amx-int8,+amx-bf16"},
    {"znver3", V3},
    {"znver4", V4 ",+avx512vnni,+avx512bf16"},
    {"znver5", V4 ",+avx512vnni,+avxvnni,+avx512bf16"},
};
#define N_KNOWN (sizeof known_cpus / sizeof known_cpus[0])

static void list_known(char *buf, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < N_KNOWN && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", known_cpus[i].name);
}

/* ---- target machine ---------------------------------------------------------- */

static void init_llvm_once(void) {
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
}

static qc_status init_llvm(void) {
    /* LLVM's target registry is process-wide; registering it once is the
     * only shared state and is never torn down. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (pthread_once(&once, init_llvm_once) != 0)
        return qc_error(QC_ERR_INTERNAL, "cpu backend: initializing LLVM failed");
    return NULL;
}

/* Splits "name,+a,-b" into the CPU name and its LLVM feature string. */
static qc_status resolve_cpu(const char *spec, qc_cpu_cg *cg) {
    if (!spec || !*spec || !strncmp(spec, "native", 6) ) {
        const char *rest = spec && !strncmp(spec, "native", 6) ? spec + 6 : "";
        if (*rest && *rest != ',')
            return qc_error(QC_ERR_INVALID, "cpu '%s': expected 'native[,+feat...]'", spec);
        char *name = LLVMGetHostCPUName(), *host = LLVMGetHostCPUFeatures();
        snprintf(cg->cpu, sizeof cg->cpu, "%s", name);
        size_t n = strlen(host) + strlen(rest) + 2;
        cg->features = malloc(n);
        if (cg->features) snprintf(cg->features, n, "%s%s", host, rest);
        LLVMDisposeMessage(name);
        LLVMDisposeMessage(host);
        cg->native = true;
        if (!cg->features) return qc_error(QC_ERR_NOMEM, "out of memory");
        qc_cpu_features_apply(cg->features, &cg->feat);
        return NULL;
    }
    const char *comma = strchr(spec, ',');
    size_t nlen = comma ? (size_t)(comma - spec) : strlen(spec);
    const known_cpu *k = NULL;
    for (size_t i = 0; i < N_KNOWN; i++)
        if (strlen(known_cpus[i].name) == nlen && !strncmp(known_cpus[i].name, spec, nlen))
            k = &known_cpus[i];
    if (!k) {
        char names[512];
        list_known(names, sizeof names);
        return qc_error(QC_ERR_NOT_FOUND, "unknown cpu '%.*s' (known: native, %s)", (int)nlen,
                        spec, names);
    }
    snprintf(cg->cpu, sizeof cg->cpu, "%s", k->name);
    const char *extra = comma ? comma : "";
    size_t n = strlen(k->features) + strlen(extra) + 2;
    cg->features = malloc(n);
    if (!cg->features) return qc_error(QC_ERR_NOMEM, "out of memory");
    /* k->features starts with '+' or is empty; extra starts with ','. */
    snprintf(cg->features, n, "%s%s", k->features, *k->features ? extra : (comma ? comma + 1 : ""));
    qc_cpu_features_apply(cg->features, &cg->feat);
    return NULL;
}

qc_status qc_cpu_cg_create(const char *cpu, const char *module_name, qc_cpu_cg *cg) {
    memset(cg, 0, sizeof *cg);
    qc_status st = init_llvm();
    if (!st) st = resolve_cpu(cpu, cg);
    if (st) {
        qc_cpu_cg_destroy(cg);
        return st;
    }
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef target = NULL;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) {
        st = qc_error(QC_ERR_UNSUPPORTED, "cpu backend: no LLVM target for '%s': %s", triple,
                      err ? err : "?");
        LLVMDisposeMessage(err);
        LLVMDisposeMessage(triple);
        qc_cpu_cg_destroy(cg);
        return st;
    }
    /* PIC: the AOT object is linked into a shared object. */
    cg->tm = LLVMCreateTargetMachine(target, triple, cg->cpu, cg->features,
                                     LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                     LLVMCodeModelDefault);
    cg->ctx = LLVMContextCreate();
    cg->mod = LLVMModuleCreateWithNameInContext(module_name ? module_name : "qcomp", cg->ctx);
    if (!cg->tm || !cg->ctx || !cg->mod) {
        LLVMDisposeMessage(triple);
        qc_cpu_cg_destroy(cg);
        return qc_error(QC_ERR_INTERNAL, "cpu backend: creating the LLVM target machine failed");
    }
    cg->td = LLVMCreateTargetDataLayout(cg->tm);
    LLVMSetTarget(cg->mod, triple);
    LLVMSetModuleDataLayout(cg->mod, cg->td);
    LLVMDisposeMessage(triple);
    return NULL;
}

void qc_cpu_cg_destroy(qc_cpu_cg *cg) {
    if (cg->mod) LLVMDisposeModule(cg->mod);
    if (cg->ctx) LLVMContextDispose(cg->ctx);
    if (cg->td) LLVMDisposeTargetData(cg->td);
    if (cg->tm) LLVMDisposeTargetMachine(cg->tm);
    free(cg->features);
    memset(cg, 0, sizeof *cg);
}

static qc_status llvm_error(LLVMErrorRef e, const char *what) {
    char *msg = LLVMGetErrorMessage(e);
    qc_status st = qc_error(QC_ERR_INTERNAL, "cpu backend: %s: %s", what, msg ? msg : "?");
    LLVMDisposeErrorMessage(msg);
    return st;
}

qc_status qc_cpu_cg_emit_object(qc_cpu_cg *cg, const char *passes, uint8_t **obj, size_t *len) {
    *obj = NULL;
    *len = 0;
    char *msg = NULL;
    if (LLVMVerifyModule(cg->mod, LLVMReturnStatusAction, &msg)) {
        qc_status st = qc_error(QC_ERR_INTERNAL, "cpu backend: generated code is invalid: %s",
                                msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return st;
    }
    LLVMDisposeMessage(msg);
    if (passes && *passes) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMErrorRef e = LLVMRunPasses(cg->mod, passes, cg->tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) return llvm_error(e, "running passes");
    }
    LLVMMemoryBufferRef buf = NULL;
    msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(cg->tm, cg->mod, LLVMObjectFile, &msg, &buf)) {
        qc_status st = qc_error(QC_ERR_INTERNAL, "cpu backend: emitting the object failed: %s",
                                msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return st;
    }
    size_t n = LLVMGetBufferSize(buf);
    uint8_t *p = malloc(n ? n : 1);
    if (p) memcpy(p, LLVMGetBufferStart(buf), n);
    LLVMDisposeMemoryBuffer(buf);
    if (!p) return qc_error(QC_ERR_NOMEM, "out of memory copying the object (%zu bytes)", n);
    *obj = p;
    *len = n;
    return NULL;
}

/* ---- LLJIT ------------------------------------------------------------------- */

struct qc_cpu_jit {
    LLVMOrcLLJITRef jit;
};

qc_status qc_cpu_jit_create(const uint8_t *obj, size_t len, qc_cpu_jit **out) {
    *out = NULL;
    qc_status st = init_llvm();
    if (st) return st;
    qc_cpu_jit *j = calloc(1, sizeof *j);
    if (!j) return qc_error(QC_ERR_NOMEM, "out of memory");
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&j->jit, NULL);   /* NULL builder: host defaults */
    if (e) {
        free(j);
        return llvm_error(e, "creating the LLJIT");
    }
    LLVMMemoryBufferRef buf =
        LLVMCreateMemoryBufferWithMemoryRangeCopy((const char *)obj, len, "qcomp-kernels.o");
    /* AddObjectFile takes ownership of buf, also on error. */
    e = LLVMOrcLLJITAddObjectFile(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), buf);
    if (e) {
        st = llvm_error(e, "adding the object to the JIT");
        qc_cpu_jit_destroy(j);
        return st;
    }
    *out = j;
    return NULL;
}

void *qc_cpu_jit_lookup(qc_cpu_jit *j, const char *symbol, qc_status *err) {
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &addr, symbol);
    if (e) {
        *err = llvm_error(e, symbol);
        return NULL;
    }
    *err = NULL;
    return (void *)(uintptr_t)addr;
}

void qc_cpu_jit_destroy(qc_cpu_jit *j) {
    if (!j) return;
    if (j->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
        if (e) LLVMConsumeError(e);
    }
    free(j);
}
