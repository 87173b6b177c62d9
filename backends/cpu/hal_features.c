/* hal_features.c — what this host's CPU and OS support, read with cpuid and
 * xgetbv (never assumed from the CPU name): an AVX / AVX-512 / AMX feature
 * counts only when XCR0 shows the OS saves its register state, and AMX tile
 * data needs the process to ask Linux for permission (arch_prctl
 * ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) before the first tile use. */
#define _GNU_SOURCE 1   /* syscall() */
#include <stdio.h>
#include <string.h>

#include "backends/cpu/hal_ktable.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#define QC_X86 1
#endif

static const char *const feat_names[QC_CPU_FEAT_COUNT] = {
    "sse4.1", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni",
    "avxvnni", "avx512bf16", "avx512fp16", "amx-tile", "amx-int8", "amx-bf16",
};

const char *qc_cpu_feature_name(uint32_t bit) {
    for (int i = 0; i < QC_CPU_FEAT_COUNT; i++)
        if (bit == 1u << i) return feat_names[i];
    return "?";
}

#ifdef QC_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}
#endif

uint32_t qc_cpu_host_features(void) {
    uint32_t m = 0;
#ifdef QC_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    unsigned c1 = c;
    uint64_t xcr0 = (c1 >> 27 & 1) ? xgetbv0() : 0;   /* OSXSAVE */
    bool os_avx = (xcr0 & 0x6) == 0x6;                 /* XMM + YMM */
    bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  /* opmask, ZMM hi256, hi16 ZMM */
    bool os_amx = (xcr0 & 0x60000) == 0x60000;         /* XTILECFG + XTILEDATA */
    if (c1 >> 19 & 1) m |= QC_CPU_FEAT_SSE41;
    if (os_avx && (c1 >> 12 & 1)) m |= QC_CPU_FEAT_FMA;
    if (os_avx && (c1 >> 29 & 1)) m |= QC_CPU_FEAT_F16C;
    unsigned max = __get_cpuid_max(0, NULL);
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (os_avx && (b >> 5 & 1)) m |= QC_CPU_FEAT_AVX2;
        if (os_avx512) {
            if (b >> 16 & 1) m |= QC_CPU_FEAT_AVX512F;
            if (b >> 30 & 1) m |= QC_CPU_FEAT_AVX512BW;
            if (b >> 31 & 1) m |= QC_CPU_FEAT_AVX512VL;
            if (c >> 11 & 1) m |= QC_CPU_FEAT_AVX512VNNI;
            if (d >> 23 & 1) m |= QC_CPU_FEAT_AVX512FP16;
        }
        if (os_amx) {
            if (d >> 24 & 1) m |= QC_CPU_FEAT_AMX_TILE;
            if (d >> 25 & 1) m |= QC_CPU_FEAT_AMX_INT8;
            if (d >> 22 & 1) m |= QC_CPU_FEAT_AMX_BF16;
        }
        unsigned a7 = a;
        if (a7 >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            if (os_avx && (a >> 4 & 1)) m |= QC_CPU_FEAT_AVXVNNI;
            if (os_avx512 && (a >> 5 & 1)) m |= QC_CPU_FEAT_AVX512BF16;
        }
    }
#endif
    return m;
}

qc_status qc_cpu_check_host(uint32_t required, const char *cpu) {
    uint32_t have = qc_cpu_host_features(), missing = required & ~have;
    if (missing) {
        uint32_t first = missing & (0u - missing);
        char list[256] = "";
        size_t at = 0;
        for (int i = 0; i < QC_CPU_FEAT_COUNT && at < sizeof list; i++)
            if (missing >> i & 1)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", at ? " " : "",
                                       feat_names[i]);
        return qc_error(QC_ERR_UNSUPPORTED,
                        "this CPU lacks %s, which the code (generated for cpu '%s') needs "
                        "(missing: %s); recompile with --cpu native or an older --cpu",
                        qc_cpu_feature_name(first), cpu, list);
    }
#ifdef QC_X86
    if (required & (QC_CPU_FEAT_AMX_TILE | QC_CPU_FEAT_AMX_INT8 | QC_CPU_FEAT_AMX_BF16)) {
        /* ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18. Idempotent. */
        if (syscall(SYS_arch_prctl, 0x1023, 18) != 0)
            return qc_error(QC_ERR_UNSUPPORTED,
                            "the code needs AMX but Linux refused tile data permission "
                            "(arch_prctl ARCH_REQ_XCOMP_PERM)");
    }
#endif
    return NULL;
}
