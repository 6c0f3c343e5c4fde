# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Direct kernels compiled for baseline x86-64 (or the target's default ISA).

Also answers which instruction sets the host supports, so that fastconv._runtime.isa can
load the best of the per-ISA builds of the same kernels.
"""

cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
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
    static int fc_has_avx2(void) { return 0; }
    static int fc_has_avx512(void) { return 0; }
    #endif
    """
    int fc_has_avx2()
    int fc_has_avx512()


def cpu_features():
    """The per-ISA kernel builds this CPU can run, best last."""
    feats = ["base"]
    if fc_has_avx2():
        feats.append("avx2")
        if fc_has_avx512():
            feats.append("avx512")
    return feats


include "_direct.pxi"
