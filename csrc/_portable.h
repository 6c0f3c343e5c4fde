/* What differs between the compilers fastconv's kernels build with: gcc >= 9,
 * clang >= 14 (Linux, Apple), clang-cl and MSVC. Everything else in csrc/ is
 * plain C11 or uses the macros below.
 *
 * FC_HAVE_VEC   1 where GCC vector extensions exist (gcc, clang, clang-cl); the
 *               row-pair loops of _rows2.h need them, elsewhere the one-row loops
 *               of _direct.pxi compute every row. -DFC_PLAIN_C forces 0, so the
 *               MSVC road can be built and tested with gcc or clang.
 * FC_SHUF_*     lane shuffles: __builtin_shuffle is GCC's only, clang's
 *               __builtin_shufflevector wants literal indices (GCC has it from 12).
 * FC_PREFETCH   a read prefetch into all cache levels, or nothing (also under
 *               gcc's name __builtin_prefetch for compilers without it).
 * FC_FMA_HW     1 where the target has a fused multiply-add instruction.
 * FC_FMA(F)     a * b + c rounded once there (the compiler inlines and vectorises
 *               it), a multiply and an add elsewhere: every compiler's build of one
 *               ISA then gives the same bits, which -ffp-contract alone did not.
 * fc_cpu_has_avx2 / fc_cpu_has_avx512   CPU features by cpuid and xgetbv (the
 *               OS must save the wide registers too), for compilers without
 *               __builtin_cpu_supports (MSVC) and to cross-check it.
 */
#ifndef FC_PORTABLE_H
#define FC_PORTABLE_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && !defined(FC_PLAIN_C)
#define FC_HAVE_VEC 1
#else
#define FC_HAVE_VEC 0
#endif

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#define FC_X86 1
#else
#define FC_X86 0
#endif

#if defined(__aarch64__) || defined(_M_ARM64)
#define FC_ARM64 1
#else
#define FC_ARM64 0
#endif

#if defined(__FMA__) || FC_ARM64 || defined(__ARM_FEATURE_FMA)
#define FC_FMA_HW 1
#else
#define FC_FMA_HW 0
#endif

#if FC_FMA_HW && (defined(__GNUC__) || defined(__clang__))
#define FC_FMAF(a, b, c) __builtin_fmaf((a), (b), (c))
#define FC_FMA(a, b, c) __builtin_fma((a), (b), (c))
#elif FC_FMA_HW
#include <math.h>
#define FC_FMAF(a, b, c) fmaf((a), (b), (c))
#define FC_FMA(a, b, c) fma((a), (b), (c))
#else
#define FC_FMAF(a, b, c) ((a) * (b) + (c))
#define FC_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* the compiler's name and version, for build_info() */
#define FC_STR_(x) #x
#define FC_STR(x) FC_STR_(x)
#if defined(__clang__)
#define FC_COMPILER "clang " FC_STR(__clang_major__) "." FC_STR(__clang_minor__)
#elif defined(__GNUC__)
#define FC_COMPILER "gcc " FC_STR(__GNUC__) "." FC_STR(__GNUC_MINOR__)
#elif defined(_MSC_VER)
#define FC_COMPILER "msvc " FC_STR(_MSC_VER)
#else
#define FC_COMPILER "unknown"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FC_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 3)
#define FC_PREFETCH_L2(p) __builtin_prefetch((const void*)(p), 0, 2)
#elif defined(_MSC_VER) && FC_X86
#include <xmmintrin.h>
#define FC_PREFETCH(p) _mm_prefetch((const char*)(p), _MM_HINT_T0)
#define FC_PREFETCH_L2(p) _mm_prefetch((const char*)(p), _MM_HINT_T1)
#else
#define FC_PREFETCH(p) ((void)(p))
#define FC_PREFETCH_L2(p) ((void)(p))
#endif
#if !defined(__GNUC__) && !defined(__clang__)
/* _direct.pxi's Cython code names gcc's builtin (a declaration shared with the
   OpenMP glue there, left as it was): elsewhere it is FC_PREFETCH */
#define __builtin_prefetch(p) FC_PREFETCH(p)
#endif

/* Shuffles of vectors of N lanes, N a literal (FC_SHUF_* below are picked by
 * token pasting with the lane count):
 *   FC_SWAP_N(v)      (v1, v0, v3, v2, ...): each (re, im) pair swapped
 *   FC_ZIPLO_N(a, b)  (a0, b0, a1, b1, ...) from the low halves
 *   FC_ZIPHI_N(a, b)  the same from the high halves */
#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#if FC_HAVE_VEC && defined(__clang__)
#define FC_SV __builtin_shufflevector
#define FC_SWAP_2(v) FC_SV(v, v, 1, 0)
#define FC_SWAP_4(v) FC_SV(v, v, 1, 0, 3, 2)
#define FC_SWAP_8(v) FC_SV(v, v, 1, 0, 3, 2, 5, 4, 7, 6)
#define FC_SWAP_16(v) FC_SV(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)
#define FC_ZIPLO_2(a, b) FC_SV(a, b, 0, 2)
#define FC_ZIPHI_2(a, b) FC_SV(a, b, 1, 3)
#define FC_ZIPLO_4(a, b) FC_SV(a, b, 0, 4, 1, 5)
#define FC_ZIPHI_4(a, b) FC_SV(a, b, 2, 6, 3, 7)
#define FC_ZIPLO_8(a, b) FC_SV(a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define FC_ZIPHI_8(a, b) FC_SV(a, b, 4, 12, 5, 13, 6, 14, 7, 15)
#define FC_ZIPLO_16(a, b) \
    FC_SV(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define FC_ZIPHI_16(a, b) \
    FC_SV(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#endif

/* CPU features by cpuid: leaf 1 ECX bits FMA (12), OSXSAVE (27), AVX (28); leaf 7
 * EBX bits AVX2 (5), AVX512F (16), DQ (17), BW (30), VL (31); XCR0 must enable the
 * SSE/AVX state (bits 1-2) and for AVX-512 the opmask/ZMM state (bits 5-7). */
#if FC_X86 && (defined(_MSC_VER) || defined(__GNUC__) || defined(__clang__))
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static inline void fc_cpuid(int leaf, int sub, unsigned r[4]) {
    int x[4];
    __cpuidex(x, leaf, sub);
    r[0] = (unsigned)x[0]; r[1] = (unsigned)x[1]; r[2] = (unsigned)x[2]; r[3] = (unsigned)x[3];
}
static inline unsigned long long fc_xcr0(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static inline void fc_cpuid(int leaf, int sub, unsigned r[4]) {
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static inline unsigned long long fc_xcr0(void) {
    unsigned lo, hi;
    /* xgetbv by its encoding: assemblers and -m flags need not know the mnemonic */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif
static inline int fc_cpu_has_avx2(void) {
    unsigned r[4];
    fc_cpuid(0, 0, r);
    if (r[0] < 7) return 0;
    fc_cpuid(1, 0, r);
    if ((r[2] & (1u << 27 | 1u << 28 | 1u << 12)) != (1u << 27 | 1u << 28 | 1u << 12))
        return 0;
    if ((fc_xcr0() & 0x6) != 0x6) return 0;
    fc_cpuid(7, 0, r);
    return (r[1] >> 5) & 1;
}
static inline int fc_cpu_has_avx512(void) {
    unsigned r[4];
    const unsigned need = 1u << 16 | 1u << 17 | 1u << 30 | 1u << 31;
    if (!fc_cpu_has_avx2()) return 0;
    if ((fc_xcr0() & 0xe6) != 0xe6) return 0;
    fc_cpuid(7, 0, r);
    return (r[1] & need) == need;
}
/* Whether cross-lane shifts of 512-bit vectors are cheaper than loads that split a
 * cache line: AMD family 1Ah (Zen 5) and later, whose 512-bit shuffles do not share
 * the FMA pipes' cycles (the N-d loop's 3-tap rows, csrc/_rowsnd.h: 92% of the core's
 * FMA peak against 69% with loads; on Zen 4 the shifts cost 70% against 89%). */
static inline int fc_cpu_prefers_shifts(void) {
    unsigned r[4], fam;
    fc_cpuid(0, 0, r);
    /* "AuthenticAMD": ebx "Auth", edx "enti", ecx "cAMD" */
    if (r[1] != 0x68747541u || r[3] != 0x69746e65u || r[2] != 0x444d4163u || r[0] < 1)
        return 0;
    fc_cpuid(1, 0, r);
    fam = (r[0] >> 8) & 0xf;
    if (fam == 0xf)
        fam += (r[0] >> 20) & 0xff;
    return fam >= 0x1a;
}
#else
static inline int fc_cpu_has_avx2(void) { return 0; }
static inline int fc_cpu_has_avx512(void) { return 0; }
static inline int fc_cpu_prefers_shifts(void) { return 0; }
#endif


/* Streaming (non-temporal) stores for outputs too large to stay in cache: they
 * skip reading each output line before overwriting it, a third of the memory
 * traffic of a 3x3 kernel. Only for aligned vectors (FC_CAN_STREAM); the caller
 * fences (fc_sfence) before its results are handed over. FC_STREAM_V stores a
 * vector of any lane type. */
#if FC_X86 && FC_HAVE_VEC
#include <immintrin.h>
#include <stdint.h>
#if defined(FC_VEC_BYTES) && FC_VEC_BYTES >= 64 && defined(__AVX512F__)
#define FC_STREAM_V(p, v) _mm512_stream_si512((void*)(p), (__m512i)(v))
#elif defined(FC_VEC_BYTES) && FC_VEC_BYTES >= 32 && defined(__AVX__)
#define FC_STREAM_V(p, v) _mm256_stream_si256((__m256i*)(p), (__m256i)(v))
#else
#define FC_STREAM_V(p, v) _mm_stream_si128((__m128i*)(p), (__m128i)(v))
#endif
static inline void fc_sfence(void) { _mm_sfence(); }
#define FC_CAN_STREAM(p) (((uintptr_t)(p) & (FC_VEC_BYTES - 1)) == 0)
#else
#define FC_STREAM_V(p, v) memcpy((p), &(v), sizeof(v))
static inline void fc_sfence(void) { }
#define FC_CAN_STREAM(p) 0
#endif

/* A row's column taps 1..4 from aligned vectors instead of loads that split a cache
 * line, where the build and the CPU make that cheaper (fc_cpu_prefers_shifts; the
 * N-d and 2-D loops, _rowsnd.h and _rows2.h). W: the lane width in bytes (4, 8; 0 for
 * a type that always loads); VT: the loop's vector type.
 * FC_SHIFT_W(lo, hi, l): lanes l.. of lo:hi (l a literal after inlining; a longer
 * chain of alternatives, for 7-tap rows, made gcc stop unrolling the tap loops that
 * pass l, and the shifted loops ran at half speed).
 * FC_HEAD_W(p, n, VT): the first n lanes at p, the rest zero; the lanes past n are
 * not read (a masked load: no fault past the end of an array read in place). */
#if FC_X86 && FC_HAVE_VEC && defined(FC_VEC_BYTES) && FC_VEC_BYTES >= 64 \
    && defined(__AVX512F__)
#define FC_ALIGNR_W4(lo, hi, n) _mm512_alignr_epi32((__m512i)(hi), (__m512i)(lo), n)
#define FC_ALIGNR_W8(lo, hi, n) _mm512_alignr_epi64((__m512i)(hi), (__m512i)(lo), n)
#define FC_SHIFT_W4(lo, hi, l) ((l) == 1 ? FC_ALIGNR_W4(lo, hi, 1)                        \
    : (l) == 2 ? FC_ALIGNR_W4(lo, hi, 2) : (l) == 3 ? FC_ALIGNR_W4(lo, hi, 3)              \
    : FC_ALIGNR_W4(lo, hi, 4))
#define FC_SHIFT_W8(lo, hi, l) ((l) == 1 ? FC_ALIGNR_W8(lo, hi, 1)                        \
    : (l) == 2 ? FC_ALIGNR_W8(lo, hi, 2) : (l) == 3 ? FC_ALIGNR_W8(lo, hi, 3)              \
    : FC_ALIGNR_W8(lo, hi, 4))
#define FC_HEAD_W4(p, n, VT) \
    ((VT)_mm512_maskz_loadu_epi32((__mmask16)((1u << (n)) - 1), (const void*)(p)))
#define FC_HEAD_W8(p, n, VT) \
    ((VT)_mm512_maskz_loadu_epi64((__mmask8)((1u << (n)) - 1), (const void*)(p)))
#define FC_CAN_SHIFT_W4 1
#define FC_CAN_SHIFT_W8 1
#else
#define FC_SHIFT_W4(lo, hi, l) (lo)
#define FC_SHIFT_W8(lo, hi, l) (lo)
#define FC_HEAD_W4(p, n, VT) ((VT){0})
#define FC_HEAD_W8(p, n, VT) ((VT){0})
#define FC_CAN_SHIFT_W4 0
#define FC_CAN_SHIFT_W8 0
#endif
#define FC_SHIFT_W0(lo, hi, l) (lo)
#define FC_HEAD_W0(p, n, VT) ((VT){0})
#define FC_CAN_SHIFT_W0 0

/* A row loop kept out of its callers: inlined into a tile function with its other
 * live values, gcc kept the shifted taps' arrays in memory (rep movsq around every
 * chunk) and a 4096^2 3x3 float64 call ran 2.7x slower than the loads. */
#if defined(__GNUC__) || defined(__clang__)
#  define FC_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#  define FC_NOINLINE __declspec(noinline)
#else
#  define FC_NOINLINE
#endif

/* Hot per-chunk helpers are inlined into their row loops whatever the caller's size:
 * once the kernels' tile loops became task functions (one per dtype, called by the
 * pool), gcc stopped inlining the float64 pair chunk and a 1024^2 3x3 call ran 17%
 * slower on one thread. */
#if defined(__GNUC__) || defined(__clang__)
#  define FC_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#  define FC_ALWAYS_INLINE static __forceinline
#else
#  define FC_ALWAYS_INLINE static inline
#endif

#endif
