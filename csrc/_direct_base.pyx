# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Direct kernels compiled for baseline x86-64 (or the target's default ISA; plain C,
no vector extensions, on AArch64 where the NEON build is the fast one).

Also answers which instruction sets the host supports, so that fastconv._runtime.isa can
load the best of the per-ISA builds of the same kernels.
"""

cdef extern from *:
    """
    #include "_portable.h"
    /* gcc and clang ask the CPU once, at load, through __builtin_cpu_supports; MSVC
       has no such builtin, and there cpuid answers (fc_cpu_has_*, _portable.h) */
    #if FC_X86 && (defined(__GNUC__) || defined(__clang__)) && !defined(FC_PLAIN_C)
    static int fc_has_avx2(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    static int fc_has_avx512(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    }
    #else
    static int fc_has_avx2(void) { return fc_cpu_has_avx2(); }
    static int fc_has_avx512(void) { return fc_cpu_has_avx512(); }
    #endif
    /* Advanced SIMD (NEON) and its FMA are part of every AArch64 CPU (Linux's arm64
       ABI and Apple's require them) */
    static int fc_has_neon(void) { return FC_ARM64; }
    """
    int fc_has_avx2()
    int fc_has_avx512()
    int fc_has_neon()
    int fc_cpu_has_avx2()
    int fc_cpu_has_avx512()


def cpu_features():
    """The per-ISA kernel builds this CPU can run, best last."""
    feats = ["base"]
    if fc_has_neon():
        feats.append("neon")
    if fc_has_avx2():
        feats.append("avx2")
        if fc_has_avx512():
            feats.append("avx512")
    return feats


def cpuid_features():
    """x86 builds this CPU runs by cpuid and xgetbv alone (what MSVC builds use);
    the tests check that it agrees with the compiler's answer."""
    return ["base"] + ["avx2"] * fc_cpu_has_avx2() + ["avx512"] * fc_cpu_has_avx512()


include "_direct.pxi"
