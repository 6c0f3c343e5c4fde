/* Two output rows at once for the direct kernel (float and double).
 *
 * Output rows i and i+1 read input rows i..i+K-1 and i+1..i+K: K-1 rows in
 * common. Loading each input vector once into a register and issuing both rows'
 * FMAs from it halves the loads per FMA, which bound the one-row loop (every
 * unaligned vector load that crosses a cache line costs two). GCC re-folds a
 * plain load into each FMA's memory operand, loading twice; an empty asm that
 * "modifies" the loaded register keeps it a register.
 *
 * Each output's sum runs in the same order, with the same operations, as the
 * one-row loop in _direct.pxi (first tap multiplied, then one multiply-add per
 * tap, row by row), so results are bit-identical whichever loop computes a row:
 * a tile's odd last row goes through the one-row loop.
 *
 * Built with GCC vector extensions (vector width FC_VEC_BYTES, set per ISA build)
 * where the compiler has them (gcc, clang, clang-cl: FC_HAVE_VEC); elsewhere
 * (MSVC) fc_row2_* return 0 and the caller uses the one-row loop.
 */
#ifndef FC_ROWS2_H
#define FC_ROWS2_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "_portable.h"

#ifndef FC_VEC_BYTES
#define FC_VEC_BYTES 16
#endif
/* lanes of a vector, as literals for the shuffles' index lists */
#if FC_VEC_BYTES == 64
#define FC_LANES_f 16
#define FC_LANES_d 8
#elif FC_VEC_BYTES == 32
#define FC_LANES_f 8
#define FC_LANES_d 4
#else
#define FC_LANES_f 4
#define FC_LANES_d 2
#endif
/* vectors per row: 2 rows x 4 accumulators + 4 loaded vectors + 2 weights fit
 * the 16 registers of SSE/AVX2 */
#define FC_NV 4

#if FC_HAVE_VEC
#if FC_X86
#define FC_KEEP(v) __asm__("" : "+v"(v))
#elif FC_ARM64
#define FC_KEEP(v) __asm__("" : "+w"(v))
#else
#define FC_KEEP(v) ((void)0)
#endif

/* The zip and pair swap of the stores: clang's shuffles take literal lane lists;
 * gcc builds the mask in a loop it folds to a constant. */
#if defined(__clang__)
#define FC_ZIP_BODY(SUF, IT)                                                          \
    return hi ? FC_CAT(FC_ZIPHI_, FC_LANES_##SUF)(a, b)                              \
              : FC_CAT(FC_ZIPLO_, FC_LANES_##SUF)(a, b);
#define FC_SWAP_BODY(SUF, IT) return FC_CAT(FC_SWAP_, FC_LANES_##SUF)(v);
#else
#define FC_ZIP_BODY(SUF, IT)                                                          \
    fc_ivec_##SUF m;                                                                  \
    int l;                                                                            \
    for (l = 0; l < FC_VL_##SUF; l++)                                                 \
        m[l] = (IT)((l & 1) * FC_VL_##SUF + l / 2 + hi * (FC_VL_##SUF / 2));          \
    return __builtin_shuffle(a, b, m);
#define FC_SWAP_BODY(SUF, IT)                                                         \
    fc_ivec_##SUF m;                                                                  \
    int l;                                                                            \
    for (l = 0; l < FC_VL_##SUF; l++) m[l] = (IT)(l ^ 1);                             \
    return __builtin_shuffle(v, m);
#endif

/* A vector load the compiler keeps in a register (see FC_KEEP). */
#define FC_DEF_LOAD(SUF, T)                                                           \
static inline fc_vec_##SUF fc_load_##SUF(const T* p) {                                 \
    fc_vec_##SUF v;                                                                    \
    memcpy(&v, p, sizeof v);                                                           \
    FC_KEEP(v);                                                                        \
    return v;                                                                          \
}

/* W: the lane width of the shifted column taps (FC_SHIFT_W, _portable.h). */
#define FC_DEF_ROWS2(SUF, T, IT, W)                                                   \
typedef T fc_vec_##SUF __attribute__((vector_size(FC_VEC_BYTES)));                     \
typedef IT fc_ivec_##SUF __attribute__((vector_size(FC_VEC_BYTES)));                   \
enum { FC_VL_##SUF = FC_VEC_BYTES / sizeof(T), FC_R2SH_##SUF = FC_CAN_SHIFT_W##W };    \
                                                                                       \
/* Lanes (a0, b0, a1, b1, ...) from the low (zlo) or high (zhi) halves of a and b:    \
   (re, im) pairs for a streamed complex store. */                                     \
static inline fc_vec_##SUF fc_zip_##SUF(fc_vec_##SUF a, fc_vec_##SUF b, int hi) {      \
    FC_ZIP_BODY(SUF, IT)                                                               \
}                                                                                      \
                                                                                       \
/* (v1, v0, v3, v2, ...): each (re, im) pair swapped */                                \
static inline fc_vec_##SUF fc_swap_##SUF(fc_vec_##SUF v) {                             \
    FC_SWAP_BODY(SUF, IT)                                                              \
}                                                                                      \
                                                                                       \
FC_DEF_LOAD(SUF, T)                                                                    \
                                                                                       \
/* sh (a literal; L <= 5, a literal too): an input row's column taps 1..L-1 are      \
   shifted out of its FC_NV vectors and the head of the next (fc_taps) instead of    \
   loaded, most of those loads splitting a cache line. The same values either way. */ \
FC_ALWAYS_INLINE void fc_taps_##SUF(const T* s, ptrdiff_t L, fc_vec_##SUF* t,          \
                                    const int sh) {                                    \
    int j;                                                                             \
    (void)L;                                                                           \
    if (!(FC_R2SH_##SUF && sh))                                                        \
        return;                                                                        \
    for (j = 0; j < FC_NV; j++)                                                        \
        t[j] = fc_load_##SUF(s + j * FC_VL_##SUF);                                     \
    t[FC_NV] = FC_HEAD_W##W(s + FC_NV * FC_VL_##SUF, L - 1, fc_vec_##SUF);              \
}                                                                                      \
                                                                                       \
/* Column tap b of the chunk's vector j in input row s. */                             \
FC_ALWAYS_INLINE fc_vec_##SUF fc_tap_##SUF(const T* s, const fc_vec_##SUF* t,          \
                                           ptrdiff_t b, int j, const int sh) {         \
    if (FC_R2SH_##SUF && sh)                                                           \
        return b == 0 ? t[j] : (fc_vec_##SUF)FC_SHIFT_W##W(t[j], t[j + 1], b);         \
    return fc_load_##SUF(s + b + j * FC_VL_##SUF);                                     \
}                                                                                      \
                                                                                       \
/* FC_NV vectors of outputs of rows o0 and o1 (K >= 2). */                             \
FC_ALWAYS_INLINE void fc_chunk2_##SUF(const T* src, ptrdiff_t bs, const T* w,          \
                                   ptrdiff_t K, ptrdiff_t L, T* o0, T* o1, int stream,  \
                                   const int sh) {                                     \
    fc_vec_##SUF a0[FC_NV], a1[FC_NV] = {{0}}, v[FC_NV], t[FC_NV + 1];                 \
    const T* s = src;                                                                  \
    const T* wa;                                                                       \
    const T* wb;                                                                       \
    ptrdiff_t a, b;                                                                    \
    int j;                                                                             \
    /* input row 0: row 0's first tap row */                                           \
    fc_taps_##SUF(s, L, t, sh);                                                        \
    for (j = 0; j < FC_NV; j++) {                                                      \
        v[j] = fc_tap_##SUF(s, t, 0, j, sh);                                           \
        a0[j] = w[0] * v[j] + (T)0;                                                    \
    }                                                                                  \
    for (b = 1; b < L; b++)                                                            \
        for (j = 0; j < FC_NV; j++) {                                                  \
            v[j] = fc_tap_##SUF(s, t, b, j, sh);                                       \
            a0[j] += w[b] * v[j];                                                      \
        }                                                                              \
    /* input rows 1..K-1: tap row a of row 0, tap row a-1 of row 1 */                  \
    for (a = 1; a < K; a++) {                                                          \
        s = src + a * bs;                                                              \
        wa = w + a * L;                                                                \
        wb = wa - L;                                                                   \
        fc_taps_##SUF(s, L, t, sh);                                                    \
        for (j = 0; j < FC_NV; j++) {                                                  \
            v[j] = fc_tap_##SUF(s, t, 0, j, sh);                                       \
            a0[j] += wa[0] * v[j];                                                     \
        }                                                                              \
        /* from zero, not "wb[0] * v + 0" at a == 1: clang merged both branches'   \
           products into one, which it then would not fuse (a mul and an add) */      \
        for (j = 0; j < FC_NV; j++) a1[j] += wb[0] * v[j];                             \
        for (b = 1; b < L; b++) {                                                      \
            for (j = 0; j < FC_NV; j++)                                                \
                v[j] = fc_tap_##SUF(s, t, b, j, sh);                                   \
            for (j = 0; j < FC_NV; j++) {                                              \
                a0[j] += wa[b] * v[j];                                                 \
                a1[j] += wb[b] * v[j];                                                 \
            }                                                                          \
        }                                                                              \
    }                                                                                  \
    /* input row K: row 1's last tap row */                                            \
    s = src + K * bs;                                                                  \
    wb = w + (K - 1) * L;                                                              \
    fc_taps_##SUF(s, L, t, sh);                                                        \
    for (b = 0; b < L; b++)                                                            \
        for (j = 0; j < FC_NV; j++) {                                                  \
            v[j] = fc_tap_##SUF(s, t, b, j, sh);                                       \
            a1[j] += wb[b] * v[j];                                                     \
        }                                                                              \
    if (stream && FC_CAN_STREAM(o0) && FC_CAN_STREAM(o1)) {                            \
        for (j = 0; j < FC_NV; j++) {                                                  \
            FC_STREAM_V(o0 + j * FC_VL_##SUF, a0[j]);                              \
            FC_STREAM_V(o1 + j * FC_VL_##SUF, a1[j]);                              \
        }                                                                              \
        return;                                                                        \
    }                                                                                  \
    for (j = 0; j < FC_NV; j++) {                                                      \
        memcpy(o0 + j * FC_VL_##SUF, &a0[j], sizeof a0[j]);                            \
        memcpy(o1 + j * FC_VL_##SUF, &a1[j], sizeof a1[j]);                            \
    }                                                                                  \
}                                                                                      \
                                                                                       \
/* One row's FC_NV vectors: row 0 of fc_chunk2, the same operations in the same     \
   order, so a tile's odd last row matches the pairs bit for bit. */                   \
FC_ALWAYS_INLINE void fc_chunk1_##SUF(const T* src, ptrdiff_t bs, const T* w,          \
                                   ptrdiff_t K, ptrdiff_t L, T* o0, const int sh) {    \
    fc_vec_##SUF a0[FC_NV], v[FC_NV], t[FC_NV + 1];                                    \
    const T* s;                                                                        \
    const T* wa;                                                                       \
    ptrdiff_t a, b;                                                                    \
    int j;                                                                             \
    fc_taps_##SUF(src, L, t, sh);                                                      \
    for (j = 0; j < FC_NV; j++) {                                                      \
        v[j] = fc_tap_##SUF(src, t, 0, j, sh);                                         \
        a0[j] = w[0] * v[j] + (T)0;                                                    \
    }                                                                                  \
    for (a = 0; a < K; a++) {                                                          \
        s = src + a * bs;                                                              \
        wa = w + a * L;                                                                \
        if (a > 0)                                                                     \
            fc_taps_##SUF(s, L, t, sh);                                                \
        for (b = (a == 0); b < L; b++)                                                 \
            for (j = 0; j < FC_NV; j++) {                                              \
                v[j] = fc_tap_##SUF(s, t, b, j, sh);                                   \
                a0[j] += wa[b] * v[j];                                                 \
            }                                                                          \
    }                                                                                  \
    for (j = 0; j < FC_NV; j++)                                                        \
        memcpy(o0 + j * FC_VL_##SUF, &a0[j], sizeof a0[j]);                            \
}                                                                                      \
                                                                                       \
/* One row of wo outputs as fc_row2 computes each of its rows; 0 where it would not. */\
FC_ALWAYS_INLINE void fc_row1_at_##SUF(const T* src, ptrdiff_t bs, const T* w,         \
        ptrdiff_t K, ptrdiff_t L, T* o0, ptrdiff_t wo, const int sh) {                 \
    const ptrdiff_t cw = FC_NV * FC_VL_##SUF;                                           \
    ptrdiff_t c0;                                                                       \
    for (c0 = 0; c0 + cw <= wo; c0 += cw)                                               \
        fc_chunk1_##SUF(src + c0, bs, w, K, L, o0 + c0, sh);                            \
    if (c0 < wo)                                                                        \
        fc_chunk1_##SUF(src + wo - cw, bs, w, K, L, o0 + wo - cw, sh);                  \
}                                                                                      \
                                                                                       \
/* sh: the caller's choice of shifted column taps (fc_cpu_prefers_shifts), taken   \
   for 3x3 and 5x5 kernels (literals, so the tap loops unroll and the shifted       \
   vectors stay in registers: with K a variable gcc kept them on the stack, and     \
   4096^2 images, read from memory, ran 1.1-1.7x slower than with the loads). */     \
FC_NOINLINE                                                                            \
static int fc_row1_##SUF(const T* src, ptrdiff_t bs, const T* w, ptrdiff_t K,          \
                         ptrdiff_t L, T* o0, ptrdiff_t wo, int sh) {                    \
    if (wo < FC_NV * FC_VL_##SUF || K < 2)                                              \
        return 0;                                                                       \
    if (FC_R2SH_##SUF && sh && L == 3 && K == 3)                                       \
        fc_row1_at_##SUF(src, bs, w, 3, 3, o0, wo, 1);                                  \
    else if (FC_R2SH_##SUF && sh && L == 5 && K == 5)                                  \
        fc_row1_at_##SUF(src, bs, w, 5, 5, o0, wo, 1);                                  \
    else                                                                                \
        fc_row1_at_##SUF(src, bs, w, K, L, o0, wo, 0);                                  \
    return 1;                                                                           \
}                                                                                      \
                                                                                       \
/* Rows o0 and o1 (wo outputs each) from padded input rows src, src + bs, ...        \
   with streaming stores where aligned if ``stream``. Returns 0, computing nothing,   \
   when a row is narrower than one chunk or K < 2. */                                  \
FC_ALWAYS_INLINE void fc_row2_at_##SUF(const T* src, ptrdiff_t bs, const T* w,         \
        ptrdiff_t K, ptrdiff_t L, T* o0, T* o1, ptrdiff_t wo, int stream, const int sh) { \
    const ptrdiff_t cw = FC_NV * FC_VL_##SUF;                                           \
    ptrdiff_t c0;                                                                       \
    for (c0 = 0; c0 + cw <= wo; c0 += cw)                                               \
        fc_chunk2_##SUF(src + c0, bs, w, K, L, o0 + c0, o1 + c0, stream, sh);           \
    if (c0 < wo) /* the last chunk shifted back to end at the row's end */              \
        fc_chunk2_##SUF(src + wo - cw, bs, w, K, L, o0 + wo - cw, o1 + wo - cw, 0, sh); \
}                                                                                      \
                                                                                       \
/* sh: as for fc_row1. */                                                              \
FC_NOINLINE                                                                            \
static int fc_row2_##SUF(const T* src, ptrdiff_t bs, const T* w, ptrdiff_t K,          \
                         ptrdiff_t L, T* o0, T* o1, ptrdiff_t wo, int stream, int sh) { \
    if (wo < FC_NV * FC_VL_##SUF || K < 2)                                              \
        return 0;                                                                       \
    if (FC_R2SH_##SUF && sh && L == 3 && K == 3)                                       \
        fc_row2_at_##SUF(src, bs, w, 3, 3, o0, o1, wo, stream, 1);                      \
    else if (FC_R2SH_##SUF && sh && L == 5 && K == 5)                                  \
        fc_row2_at_##SUF(src, bs, w, 5, 5, o0, o1, wo, stream, 1);                      \
    else                                                                                \
        fc_row2_at_##SUF(src, bs, w, K, L, o0, o1, wo, stream, 0);                      \
    return 1;                                                                           \
}

FC_DEF_ROWS2(f, float, int, 4)
FC_DEF_ROWS2(d, double, long long, 8)

/* Complex data as split planes, by Gauss's three multiplications: with
 * x = a + ib and w = c + id,
 *     k1 = c (a + b),  k2 = a (d - c),  k3 = b (c + d),
 *     Re(w x) = k1 - k3,  Im(w x) = k1 + k2,
 * so each tap costs three multiply-adds, over the planes s = a + b, a and b with
 * weights c, d - c and c + d (wc, wm, wp below), instead of four. Rows go in pairs
 * as above (three loads feed six FMAs); fc_crow1_* is the same sum for one row,
 * operation for operation, for a tile's odd last row. Outputs are interleaved
 * (re, im) like the complex result. Needs rows at least one chunk wide. */
#if FC_VEC_BYTES >= 64
#define FC_NVC 2
#else
#define FC_NVC 1  /* 2 rows x 3 sums + 3 loads + 6 weights: 15 of 16 registers */
#endif

#define FC_CLOAD3(SUF, s_, r_, i_, off)                                               \
    for (j = 0; j < FC_NVC; j++) {                                                    \
        vs[j] = fc_load_##SUF(s_ + (off) + j * FC_VL_##SUF);                          \
        vr[j] = fc_load_##SUF(r_ + (off) + j * FC_VL_##SUF);                          \
        vi[j] = fc_load_##SUF(i_ + (off) + j * FC_VL_##SUF);                          \
    }

#define FC_CSTORE(SUF, T, o, k1, k2, k3)                                              \
    do {                                                                              \
        T re_[FC_NVC * FC_VL_##SUF], im_[FC_NVC * FC_VL_##SUF];                       \
        int c_;                                                                       \
        if (stream && FC_CAN_STREAM(o)) { /* same values, streamed (see fc_chunk2) */  \
            for (j = 0; j < FC_NVC; j++) {                                            \
                fc_vec_##SUF r_ = k1[j] - k3[j], i_ = k1[j] + k2[j];                  \
                fc_vec_##SUF lo_ = fc_zip_##SUF(r_, i_, 0);                           \
                fc_vec_##SUF hi_ = fc_zip_##SUF(r_, i_, 1);                           \
                FC_STREAM_V((o) + 2 * j * FC_VL_##SUF, lo_);                      \
                FC_STREAM_V((o) + (2 * j + 1) * FC_VL_##SUF, hi_);                \
            }                                                                         \
            break;                                                                    \
        }                                                                             \
        for (j = 0; j < FC_NVC; j++) {                                                \
            fc_vec_##SUF r_ = k1[j] - k3[j], i_ = k1[j] + k2[j];                      \
            memcpy(re_ + j * FC_VL_##SUF, &r_, sizeof r_);                            \
            memcpy(im_ + j * FC_VL_##SUF, &i_, sizeof i_);                            \
        }                                                                             \
        for (c_ = 0; c_ < FC_NVC * FC_VL_##SUF; c_++) {                               \
            (o)[2 * c_] = re_[c_];                                                    \
            (o)[2 * c_ + 1] = im_[c_];                                                \
        }                                                                             \
    } while (0)

#define FC_DEF_CROWS2(SUF, T)                                                         \
FC_ALWAYS_INLINE void fc_cchunk1_##SUF(const T* ss, const T* sr, const T* si, ptrdiff_t bs, \
        const T* wc, const T* wm, const T* wp, ptrdiff_t K, ptrdiff_t L, T* o0,       \
        int stream) {                                                                 \
    fc_vec_##SUF p1[FC_NVC], p2[FC_NVC], p3[FC_NVC], vs[FC_NVC], vr[FC_NVC], vi[FC_NVC]; \
    ptrdiff_t a, b, t;                                                                \
    int j;                                                                            \
    FC_CLOAD3(SUF, ss, sr, si, 0)                                                     \
    for (j = 0; j < FC_NVC; j++) {                                                    \
        p1[j] = wc[0] * vs[j] + (T)0; p2[j] = wm[0] * vr[j] + (T)0; p3[j] = wp[0] * vi[j] + (T)0;          \
    }                                                                                 \
    for (a = 0; a < K; a++)                                                           \
        for (b = (a == 0); b < L; b++) {                                              \
            t = a * L + b;                                                            \
            FC_CLOAD3(SUF, ss + a * bs, sr + a * bs, si + a * bs, b)                  \
            for (j = 0; j < FC_NVC; j++) {                                            \
                p1[j] += wc[t] * vs[j]; p2[j] += wm[t] * vr[j]; p3[j] += wp[t] * vi[j]; \
            }                                                                         \
        }                                                                             \
    FC_CSTORE(SUF, T, o0, p1, p2, p3);                                                \
}                                                                                     \
                                                                                      \
FC_ALWAYS_INLINE void fc_cchunk2_##SUF(const T* ss, const T* sr, const T* si, ptrdiff_t bs, \
        const T* wc, const T* wm, const T* wp, ptrdiff_t K, ptrdiff_t L, T* o0, T* o1, \
        int stream) {                                                                 \
    fc_vec_##SUF p1[FC_NVC], p2[FC_NVC], p3[FC_NVC];                                  \
    fc_vec_##SUF q1[FC_NVC] = {{0}}, q2[FC_NVC] = {{0}}, q3[FC_NVC] = {{0}};          \
    fc_vec_##SUF vs[FC_NVC], vr[FC_NVC], vi[FC_NVC];                                  \
    ptrdiff_t a, b, t, u;                                                             \
    int j;                                                                            \
    /* input row 0: row 0's tap row 0 */                                              \
    FC_CLOAD3(SUF, ss, sr, si, 0)                                                     \
    for (j = 0; j < FC_NVC; j++) {                                                    \
        p1[j] = wc[0] * vs[j] + (T)0; p2[j] = wm[0] * vr[j] + (T)0; p3[j] = wp[0] * vi[j] + (T)0;          \
    }                                                                                 \
    for (b = 1; b < L; b++) {                                                         \
        FC_CLOAD3(SUF, ss, sr, si, b)                                                 \
        for (j = 0; j < FC_NVC; j++) {                                                \
            p1[j] += wc[b] * vs[j]; p2[j] += wm[b] * vr[j]; p3[j] += wp[b] * vi[j];   \
        }                                                                             \
    }                                                                                 \
    /* input rows 1..K-1: tap row a of row 0, tap row a-1 of row 1 */                 \
    for (a = 1; a < K; a++)                                                           \
        for (b = 0; b < L; b++) {                                                     \
            t = a * L + b;                                                            \
            u = t - L;                                                                \
            FC_CLOAD3(SUF, ss + a * bs, sr + a * bs, si + a * bs, b)                  \
            for (j = 0; j < FC_NVC; j++) {                                            \
                p1[j] += wc[t] * vs[j]; p2[j] += wm[t] * vr[j]; p3[j] += wp[t] * vi[j]; \
            }                                                                         \
            for (j = 0; j < FC_NVC; j++) { /* from zero: see fc_chunk2 */            \
                q1[j] += wc[u] * vs[j]; q2[j] += wm[u] * vr[j]; q3[j] += wp[u] * vi[j]; \
            }                                                                         \
        }                                                                             \
    /* input row K: row 1's tap row K-1 */                                            \
    for (b = 0; b < L; b++) {                                                         \
        u = (K - 1) * L + b;                                                          \
        FC_CLOAD3(SUF, ss + K * bs, sr + K * bs, si + K * bs, b)                      \
        for (j = 0; j < FC_NVC; j++) {                                                \
            q1[j] += wc[u] * vs[j]; q2[j] += wm[u] * vr[j]; q3[j] += wp[u] * vi[j];   \
        }                                                                             \
    }                                                                                 \
    FC_CSTORE(SUF, T, o0, p1, p2, p3);                                                \
    FC_CSTORE(SUF, T, o1, q1, q2, q3);                                                \
}                                                                                     \
                                                                                      \
/* Complex chunk width of these loops: rows narrower than this use the 4-FMA loop. */ \
static inline ptrdiff_t fc_cwidth_##SUF(void) { return FC_NVC * FC_VL_##SUF; }         \
                                                                                      \
/* One (o1 == NULL) or two rows of wo >= fc_cwidth outputs; K >= 2 for two. */        \
static void fc_crows_##SUF(const T* ss, const T* sr, const T* si, ptrdiff_t bs,         \
        const T* wc, const T* wm, const T* wp, ptrdiff_t K, ptrdiff_t L, T* o0, T* o1,   \
        ptrdiff_t wo, int stream) {                                                    \
    const ptrdiff_t cw = FC_NVC * FC_VL_##SUF;                                          \
    ptrdiff_t c0, c;                                                                    \
    for (c0 = 0; c0 < wo; c0 += cw) {                                                   \
        c = c0 + cw <= wo ? c0 : wo - cw; /* the last chunk shifted back */             \
        if (o1)                                                                         \
            fc_cchunk2_##SUF(ss + c, sr + c, si + c, bs, wc, wm, wp, K, L,               \
                             o0 + 2 * c, o1 + 2 * c, stream && c == c0);                \
        else                                                                            \
            fc_cchunk1_##SUF(ss + c, sr + c, si + c, bs, wc, wm, wp, K, L, o0 + 2 * c,   \
                             stream && c == c0);                                        \
    }                                                                                   \
}

FC_DEF_CROWS2(f, float)
FC_DEF_CROWS2(d, double)

/* Four rows at once by the same sums: input row p feeds output rows p-3..p, so one
 * vector loaded from each plane feeds up to twelve FMAs (the pairs: six), and the
 * loop is bound by the FMAs, not the loads. Each row's sum runs over the taps in the
 * same order, first tap an FMA onto zero, as fc_cchunk1/2: bit-identical. One
 * vector of outputs a row: 4 rows x 3 sums + 3 loads fit 16 registers. */
/* Input row p's taps for the rows in mask M (a literal: bit r = row r), row r's
 * weights (c, d - c, c + d interleaved per tap) at g_r; named accumulators, which
 * GCC keeps in registers across the switch (arrays it kept in memory). */
#define FC_C4_TAP(SUF, M, R, GR)                                                      \
    if ((M) & (1 << R)) {                                                             \
        s1_##R += GR[3 * b] * vs;                                                     \
        s2_##R += GR[3 * b + 1] * vr;                                                 \
        s3_##R += GR[3 * b + 2] * vi;                                                 \
    }
#define FC_C4_ROW(SUF, M)                                                             \
    for (b = 0; b < L; b++) {                                                         \
        vs = fc_load_##SUF(s_ + b);                                                   \
        vr = fc_load_##SUF(r_ + b);                                                   \
        vi = fc_load_##SUF(i_ + b);                                                   \
        FC_C4_TAP(SUF, M, 0, g0) FC_C4_TAP(SUF, M, 1, g1)                             \
        FC_C4_TAP(SUF, M, 2, g2) FC_C4_TAP(SUF, M, 3, g3)                             \
    }                                                                                 \
    break;

#define FC_DEF_CROWS4(SUF, T)                                                         \
static inline void fc_cstore1_##SUF(T* o, fc_vec_##SUF k1, fc_vec_##SUF k2,           \
                                    fc_vec_##SUF k3, int stream) {                    \
    fc_vec_##SUF r_ = k1 - k3, i_ = k1 + k2;                                          \
    fc_vec_##SUF lo_ = fc_zip_##SUF(r_, i_, 0), hi_ = fc_zip_##SUF(r_, i_, 1);        \
    if (stream && FC_CAN_STREAM(o)) {                                                 \
        FC_STREAM_V(o, lo_);                                                      \
        FC_STREAM_V(o + FC_VL_##SUF, hi_);                                        \
        return;                                                                       \
    }                                                                                 \
    memcpy(o, &lo_, sizeof lo_);                                                      \
    memcpy(o + FC_VL_##SUF, &hi_, sizeof hi_);                                        \
}                                                                                     \
                                                                                      \
FC_ALWAYS_INLINE void fc_cchunk4_##SUF(const T* ss, const T* sr, const T* si, ptrdiff_t bs, \
        const T* g, ptrdiff_t K, ptrdiff_t L, T* o, ptrdiff_t os, int stream) {       \
    const fc_vec_##SUF z = {0};                                                       \
    fc_vec_##SUF s1_0 = z, s2_0 = z, s3_0 = z, s1_1 = z, s2_1 = z, s3_1 = z;          \
    fc_vec_##SUF s1_2 = z, s2_2 = z, s3_2 = z, s1_3 = z, s2_3 = z, s3_3 = z;          \
    fc_vec_##SUF vs, vr, vi;                                                          \
    const T *g0, *g1, *g2, *g3;                                                       \
    ptrdiff_t p, b;                                                                   \
    int r, m;                                                                         \
    for (p = 0; p < K + 3; p++) {                                                     \
        const T* s_ = ss + p * bs;                                                    \
        const T* r_ = sr + p * bs;                                                    \
        const T* i_ = si + p * bs;                                                    \
        /* rows r with tap row p - r in [0, K) */                                     \
        m = 0;                                                                        \
        for (r = 0; r < 4; r++)                                                       \
            if (p >= r && p - r < K) m |= 1 << r;                                     \
        g0 = g + 3 * p * L;                                                           \
        g1 = g0 - 3 * L;                                                              \
        g2 = g1 - 3 * L;                                                              \
        g3 = g2 - 3 * L;                                                              \
        switch (m) {                                                                  \
        case 15: FC_C4_ROW(SUF, 15)                                                   \
        case 1: FC_C4_ROW(SUF, 1)                                                     \
        case 3: FC_C4_ROW(SUF, 3)                                                     \
        case 7: FC_C4_ROW(SUF, 7)                                                     \
        case 2: FC_C4_ROW(SUF, 2)                                                     \
        case 6: FC_C4_ROW(SUF, 6)                                                     \
        case 14: FC_C4_ROW(SUF, 14)                                                   \
        case 4: FC_C4_ROW(SUF, 4)                                                     \
        case 12: FC_C4_ROW(SUF, 12)                                                   \
        default: FC_C4_ROW(SUF, 8)                                                    \
        }                                                                             \
    }                                                                                 \
    fc_cstore1_##SUF(o, s1_0, s2_0, s3_0, stream);                                    \
    fc_cstore1_##SUF(o + os, s1_1, s2_1, s3_1, stream);                               \
    fc_cstore1_##SUF(o + 2 * os, s1_2, s2_2, s3_2, stream);                           \
    fc_cstore1_##SUF(o + 3 * os, s1_3, s2_3, s3_3, stream);                           \
}                                                                                     \
                                                                                      \
/* Four rows (o, o + os, ...; os in reals) of wo >= FC_VL complex outputs. */         \
static void fc_crows4_##SUF(const T* ss, const T* sr, const T* si, ptrdiff_t bs,        \
        const T* g, ptrdiff_t K, ptrdiff_t L, T* o, ptrdiff_t os, ptrdiff_t wo,         \
        int stream) {                                                                   \
    const ptrdiff_t cw = FC_VL_##SUF;                                                   \
    ptrdiff_t c0, c;                                                                    \
    for (c0 = 0; c0 < wo; c0 += cw) {                                                   \
        c = c0 + cw <= wo ? c0 : wo - cw;                                               \
        fc_cchunk4_##SUF(ss + c, sr + c, si + c, bs, g, K, L, o + 2 * c, os,                \
                         stream && c == c0);                                            \
    }                                                                                   \
}

FC_DEF_CROWS4(f, float)
FC_DEF_CROWS4(d, double)

/* Complex data interleaved (re, im), by the four-multiplication form: with
 * w = c + id, the sums R = sum c x and I = sum d x run over the interleaved rows
 * as two real correlations (a tap's shift is two reals), and
 *     out = (R.re - I.im, R.im + I.re)
 * swaps I's pairs once per output vector, not per tap. Four real multiply-adds a
 * tap against Gauss's three, but the rows need no split, sum or second plane, and
 * one loaded vector feeds four FMAs in a row pair (Gauss's: two): where the taps
 * are few the loads and the split are the cost, not the FMAs. fc_zchunk1_* is the
 * same sum for one row, operation for operation. Needs rows at least fc_zwidth
 * complex outputs wide. */
#if FC_VEC_BYTES >= 64
#define FC_NVZ 4  /* 2 rows x 2 sums x 4 + 4 loads + 4 weights: 24 of 32 registers */
#else
#define FC_NVZ 2  /* 2 rows x 2 sums x 2 + 2 loads + 4 weights: 14 of 16 registers */
#endif

#define FC_DEF_ZROWS2(SUF, T, IT)                                                     \
/* (R.re - I.im, R.im + I.re) lane pair by lane pair; the product by +-1 is exact,  \
   so contracting it into an FMA rounds the same. */                                  \
static inline fc_vec_##SUF fc_zfin_##SUF(fc_vec_##SUF r, fc_vec_##SUF i) {            \
    fc_vec_##SUF sg;                                                                  \
    int l;                                                                            \
    for (l = 0; l < FC_VL_##SUF; l++)                                                 \
        sg[l] = (l & 1) ? (T)1 : (T)-1;                                               \
    return r + sg * fc_swap_##SUF(i);                                                  \
}                                                                                     \
                                                                                      \
static inline void fc_zstore_##SUF(T* o, const fc_vec_##SUF* r, const fc_vec_##SUF* i, \
                                   int stream) {                                      \
    int j;                                                                            \
    if (stream && FC_CAN_STREAM(o)) {                                                 \
        for (j = 0; j < FC_NVZ; j++) {                                                \
            fc_vec_##SUF z = fc_zfin_##SUF(r[j], i[j]);                               \
            FC_STREAM_V(o + j * FC_VL_##SUF, z);                                  \
        }                                                                             \
        return;                                                                       \
    }                                                                                 \
    for (j = 0; j < FC_NVZ; j++) {                                                    \
        fc_vec_##SUF z = fc_zfin_##SUF(r[j], i[j]);                                   \
        memcpy(o + j * FC_VL_##SUF, &z, sizeof z);                                    \
    }                                                                                 \
}                                                                                     \
                                                                                      \
FC_ALWAYS_INLINE void fc_zchunk1_##SUF(const T* src, ptrdiff_t bs, const T* wr,       \
        const T* wi, ptrdiff_t K, ptrdiff_t L, T* o0, int stream) {                   \
    fc_vec_##SUF r0[FC_NVZ], i0[FC_NVZ], v[FC_NVZ];                                   \
    const T* s;                                                                       \
    ptrdiff_t a, b, t;                                                                \
    int j;                                                                            \
    for (j = 0; j < FC_NVZ; j++) {                                                    \
        v[j] = fc_load_##SUF(src + j * FC_VL_##SUF);                                  \
        r0[j] = wr[0] * v[j] + (T)0;                                                  \
        i0[j] = wi[0] * v[j] + (T)0;                                                  \
    }                                                                                 \
    for (a = 0; a < K; a++) {                                                         \
        s = src + a * bs;                                                             \
        for (b = (a == 0); b < L; b++) {                                              \
            t = a * L + b;                                                            \
            for (j = 0; j < FC_NVZ; j++)                                              \
                v[j] = fc_load_##SUF(s + 2 * b + j * FC_VL_##SUF);                    \
            for (j = 0; j < FC_NVZ; j++) {                                            \
                r0[j] += wr[t] * v[j];                                                \
                i0[j] += wi[t] * v[j];                                                \
            }                                                                         \
        }                                                                             \
    }                                                                                 \
    fc_zstore_##SUF(o0, r0, i0, stream);                                              \
}                                                                                     \
                                                                                      \
FC_ALWAYS_INLINE void fc_zchunk2_##SUF(const T* src, ptrdiff_t bs, const T* wr,       \
        const T* wi, ptrdiff_t K, ptrdiff_t L, T* o0, T* o1, int stream) {            \
    fc_vec_##SUF r0[FC_NVZ], i0[FC_NVZ], r1[FC_NVZ] = {{0}}, i1[FC_NVZ] = {{0}};     \
    fc_vec_##SUF v[FC_NVZ];                                                           \
    const T* s = src;                                                                 \
    ptrdiff_t a, b, t, u;                                                             \
    int j;                                                                            \
    /* input row 0: row 0's tap row 0 */                                              \
    for (j = 0; j < FC_NVZ; j++) {                                                    \
        v[j] = fc_load_##SUF(s + j * FC_VL_##SUF);                                    \
        r0[j] = wr[0] * v[j] + (T)0;                                                  \
        i0[j] = wi[0] * v[j] + (T)0;                                                  \
    }                                                                                 \
    for (b = 1; b < L; b++) {                                                         \
        for (j = 0; j < FC_NVZ; j++)                                                  \
            v[j] = fc_load_##SUF(s + 2 * b + j * FC_VL_##SUF);                        \
        for (j = 0; j < FC_NVZ; j++) {                                                \
            r0[j] += wr[b] * v[j];                                                    \
            i0[j] += wi[b] * v[j];                                                    \
        }                                                                             \
    }                                                                                 \
    /* input rows 1..K-1: tap row a of row 0, tap row a-1 of row 1 */                 \
    for (a = 1; a < K; a++) {                                                         \
        s = src + a * bs;                                                             \
        t = a * L;                                                                    \
        u = t - L;                                                                    \
        for (j = 0; j < FC_NVZ; j++) {                                                \
            v[j] = fc_load_##SUF(s + j * FC_VL_##SUF);                                \
            r0[j] += wr[t] * v[j];                                                    \
            i0[j] += wi[t] * v[j];                                                    \
        }                                                                             \
        for (j = 0; j < FC_NVZ; j++) { /* from zero: see fc_chunk2 */                 \
            r1[j] += wr[u] * v[j];                                                    \
            i1[j] += wi[u] * v[j];                                                    \
        }                                                                             \
        for (b = 1; b < L; b++) {                                                     \
            for (j = 0; j < FC_NVZ; j++)                                              \
                v[j] = fc_load_##SUF(s + 2 * b + j * FC_VL_##SUF);                    \
            for (j = 0; j < FC_NVZ; j++) {                                            \
                r0[j] += wr[t + b] * v[j];                                            \
                i0[j] += wi[t + b] * v[j];                                            \
                r1[j] += wr[u + b] * v[j];                                            \
                i1[j] += wi[u + b] * v[j];                                            \
            }                                                                         \
        }                                                                             \
    }                                                                                 \
    /* input row K: row 1's tap row K-1 */                                            \
    s = src + K * bs;                                                                 \
    u = (K - 1) * L;                                                                  \
    for (b = 0; b < L; b++) {                                                         \
        for (j = 0; j < FC_NVZ; j++)                                                  \
            v[j] = fc_load_##SUF(s + 2 * b + j * FC_VL_##SUF);                        \
        for (j = 0; j < FC_NVZ; j++) {                                                \
            r1[j] += wr[u + b] * v[j];                                                \
            i1[j] += wi[u + b] * v[j];                                                \
        }                                                                             \
    }                                                                                 \
    fc_zstore_##SUF(o0, r0, i0, stream);                                              \
    fc_zstore_##SUF(o1, r1, i1, stream);                                              \
}                                                                                     \
                                                                                      \
/* Complex chunk width of these loops: narrower rows take the split-plane loops. */   \
static inline ptrdiff_t fc_zwidth_##SUF(void) { return FC_NVZ * FC_VL_##SUF / 2; }    \
                                                                                      \
/* One (o1 == NULL) or two interleaved rows of wo >= fc_zwidth complex outputs from \
   interleaved padded rows src, src + bs, ... (bs in reals); K >= 2 for two. */      \
static void fc_zrows_##SUF(const T* src, ptrdiff_t bs, const T* wr, const T* wi,        \
        ptrdiff_t K, ptrdiff_t L, T* o0, T* o1, ptrdiff_t wo, int stream,               \
        const char* pf0, const char* pf1, ptrdiff_t pfn) {                              \
    const ptrdiff_t cw = FC_NVZ * FC_VL_##SUF / 2;                                      \
    const ptrdiff_t step = ((pfn * cw / wo) | 63) + 1;  /* bytes per chunk */           \
    ptrdiff_t c0, c, off = 0;                                                           \
    for (c0 = 0; c0 < wo; c0 += cw) {                                                   \
        c = c0 + cw <= wo ? c0 : wo - cw; /* the last chunk shifted back */             \
        for (; pfn > 0 && off < pfn && off < (c0 / cw + 1) * step; off += 64) {         \
            if (pf0) FC_PREFETCH_L2(pf0 + off);                                         \
            if (pf1) FC_PREFETCH_L2(pf1 + off);                                         \
        }                                                                               \
        if (o1)                                                                         \
            fc_zchunk2_##SUF(src + 2 * c, bs, wr, wi, K, L, o0 + 2 * c, o1 + 2 * c,      \
                             stream && c == c0);                                        \
        else                                                                            \
            fc_zchunk1_##SUF(src + 2 * c, bs, wr, wi, K, L, o0 + 2 * c,                  \
                             stream && c == c0);                                        \
    }                                                                                   \
}

FC_DEF_ZROWS2(f, float, int)
FC_DEF_ZROWS2(d, double, long long)


/* Integer lanes (16-bit for 8- and 16-bit results, 32-bit for 32-bit ones): the
 * same pair scheme, unsigned so that every product and sum wraps modulo 2^bits as
 * scipy's do (C promotes a scalar uint16_t to int, where overflow is undefined; in
 * vector extensions the lanes keep their own width). The Cython chunk kept its
 * accumulators on the stack here (gcc did not inline its 256-lane body): a load and
 * a store around every multiply-add. Integers are exact, so any order will do. */
#define FC_DEF_IROWS2(SUF, T)                                                         \
typedef T fc_vec_##SUF __attribute__((vector_size(FC_VEC_BYTES)));                     \
enum { FC_VL_##SUF = FC_VEC_BYTES / sizeof(T) };                                       \
                                                                                       \
FC_DEF_LOAD(SUF, T)                                                                    \
                                                                                       \
/* FC_NV vectors of rows o0 and (if two) o1: input row a feeds tap row a of o0 and   \
   tap row a - 1 of o1. */                                                             \
FC_ALWAYS_INLINE void fc_ichunk_##SUF(const T* src, ptrdiff_t bs, const T* w,          \
                                   ptrdiff_t K, ptrdiff_t L, T* o0, T* o1, int two) {  \
    fc_vec_##SUF a0[FC_NV] = {{0}}, a1[FC_NV] = {{0}}, v[FC_NV];                       \
    const T* s;                                                                        \
    ptrdiff_t a, b;                                                                    \
    int j;                                                                             \
    for (a = 0; a < K + two; a++) {                                                    \
        s = src + a * bs;                                                              \
        for (b = 0; b < L; b++) {                                                      \
            for (j = 0; j < FC_NV; j++)                                                \
                v[j] = fc_load_##SUF(s + b + j * FC_VL_##SUF);                         \
            if (a < K)                                                                 \
                for (j = 0; j < FC_NV; j++) a0[j] += w[a * L + b] * v[j];              \
            if (two && a > 0)                                                          \
                for (j = 0; j < FC_NV; j++) a1[j] += w[(a - 1) * L + b] * v[j];        \
        }                                                                              \
    }                                                                                  \
    for (j = 0; j < FC_NV; j++) {                                                      \
        memcpy(o0 + j * FC_VL_##SUF, &a0[j], sizeof a0[j]);                            \
        if (two) memcpy(o1 + j * FC_VL_##SUF, &a1[j], sizeof a1[j]);                   \
    }                                                                                  \
}                                                                                      \
                                                                                       \
/* Row o0 (o1 == NULL) or rows o0 and o1 of wo outputs; 0, computing nothing, when  \
   a row is narrower than one chunk. */                                                \
static int fc_irows_##SUF(const T* src, ptrdiff_t bs, const T* w, ptrdiff_t K,         \
                          ptrdiff_t L, T* o0, T* o1, ptrdiff_t wo) {                    \
    const ptrdiff_t cw = FC_NV * FC_VL_##SUF;                                           \
    ptrdiff_t c0, c;                                                                    \
    if (wo < cw)                                                                        \
        return 0;                                                                       \
    for (c0 = 0; c0 < wo; c0 += cw) {                                                   \
        c = c0 + cw <= wo ? c0 : wo - cw;   /* the last chunk shifted back */           \
        if (o1)                                                                         \
            fc_ichunk_##SUF(src + c, bs, w, K, L, o0 + c, o1 + c, 1);                   \
        else                                                                            \
            fc_ichunk_##SUF(src + c, bs, w, K, L, o0 + c, NULL, 0);                     \
    }                                                                                   \
    return 1;                                                                           \
}

FC_DEF_IROWS2(h, uint16_t)
FC_DEF_IROWS2(w, uint32_t)

#else  /* no vector extensions: the one-row loop does all rows */

static int fc_irows_h(const uint16_t* src, ptrdiff_t bs, const uint16_t* w, ptrdiff_t K,
                      ptrdiff_t L, uint16_t* o0, uint16_t* o1, ptrdiff_t wo) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)o1; (void)wo;
    return 0;
}
static int fc_irows_w(const uint32_t* src, ptrdiff_t bs, const uint32_t* w, ptrdiff_t K,
                      ptrdiff_t L, uint32_t* o0, uint32_t* o1, ptrdiff_t wo) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)o1; (void)wo;
    return 0;
}

static int fc_row1_f(const float* src, ptrdiff_t bs, const float* w, ptrdiff_t K,
                     ptrdiff_t L, float* o0, ptrdiff_t wo, int sh) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)wo; (void)sh;
    return 0;
}
static int fc_row2_f(const float* src, ptrdiff_t bs, const float* w, ptrdiff_t K,
                     ptrdiff_t L, float* o0, float* o1, ptrdiff_t wo, int stream, int sh) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)o1; (void)wo;
    (void)stream; (void)sh;
    return 0;
}
static int fc_row1_d(const double* src, ptrdiff_t bs, const double* w, ptrdiff_t K,
                     ptrdiff_t L, double* o0, ptrdiff_t wo, int sh) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)wo; (void)sh;
    return 0;
}
static int fc_row2_d(const double* src, ptrdiff_t bs, const double* w, ptrdiff_t K,
                     ptrdiff_t L, double* o0, double* o1, ptrdiff_t wo, int stream, int sh) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)o1; (void)wo;
    (void)stream; (void)sh;
    return 0;
}

static ptrdiff_t fc_zwidth_f(void) { return -1; }
static ptrdiff_t fc_zwidth_d(void) { return -1; }
static void fc_zrows_f(const float* src, ptrdiff_t bs, const float* wr, const float* wi,
        ptrdiff_t K, ptrdiff_t L, float* o0, float* o1, ptrdiff_t wo, int stream,
        const char* pf0, const char* pf1, ptrdiff_t pfn) {
    (void)src; (void)bs; (void)wr; (void)wi; (void)K; (void)L; (void)o0; (void)o1;
    (void)wo; (void)stream; (void)pf0; (void)pf1; (void)pfn;
}
static void fc_zrows_d(const double* src, ptrdiff_t bs, const double* wr, const double* wi,
        ptrdiff_t K, ptrdiff_t L, double* o0, double* o1, ptrdiff_t wo, int stream,
        const char* pf0, const char* pf1, ptrdiff_t pfn) {
    (void)src; (void)bs; (void)wr; (void)wi; (void)K; (void)L; (void)o0; (void)o1;
    (void)wo; (void)stream; (void)pf0; (void)pf1; (void)pfn;
}
static void fc_crows4_f(const float* ss, const float* sr, const float* si, ptrdiff_t bs,
        const float* g, ptrdiff_t K, ptrdiff_t L, float* o, ptrdiff_t os, ptrdiff_t wo,
        int stream) {
    (void)ss; (void)sr; (void)si; (void)bs; (void)g; (void)K; (void)L;
    (void)o; (void)os; (void)wo; (void)stream;
}
static void fc_crows4_d(const double* ss, const double* sr, const double* si, ptrdiff_t bs,
        const double* g, ptrdiff_t K, ptrdiff_t L, double* o, ptrdiff_t os, ptrdiff_t wo,
        int stream) {
    (void)ss; (void)sr; (void)si; (void)bs; (void)g; (void)K; (void)L;
    (void)o; (void)os; (void)wo; (void)stream;
}
static ptrdiff_t fc_cwidth_f(void) { return -1; }
static ptrdiff_t fc_cwidth_d(void) { return -1; }
static void fc_crows_f(const float* ss, const float* sr, const float* si, ptrdiff_t bs,
        const float* wc, const float* wm, const float* wp, ptrdiff_t K, ptrdiff_t L,
        float* o0, float* o1, ptrdiff_t wo, int stream) {
    (void)ss; (void)sr; (void)si; (void)bs; (void)wc; (void)wm; (void)wp; (void)K; (void)L;
    (void)o0; (void)o1; (void)wo; (void)stream;
}
static void fc_crows_d(const double* ss, const double* sr, const double* si, ptrdiff_t bs,
        const double* wc, const double* wm, const double* wp, ptrdiff_t K, ptrdiff_t L,
        double* o0, double* o1, ptrdiff_t wo, int stream) {
    (void)ss; (void)sr; (void)si; (void)bs; (void)wc; (void)wm; (void)wp; (void)K; (void)L;
    (void)o0; (void)o1; (void)wo; (void)stream;
}

#endif
#endif
