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
 * where the compiler has them; elsewhere fc_row2_* return 0 and the caller uses
 * the one-row loop.
 */
#ifndef FC_ROWS2_H
#define FC_ROWS2_H

#include <stddef.h>
#include <string.h>

#ifndef FC_VEC_BYTES
#define FC_VEC_BYTES 16
#endif
/* vectors per row: 2 rows x 4 accumulators + 4 loaded vectors + 2 weights fit
 * the 16 registers of SSE/AVX2 */
#define FC_NV 4

#if defined(__GNUC__)
#if defined(__x86_64__) || defined(__i386__)
#define FC_KEEP(v) __asm__("" : "+v"(v))
#else
#define FC_KEEP(v) ((void)0)
#endif

#define FC_DEF_ROWS2(SUF, T)                                                          \
typedef T fc_vec_##SUF __attribute__((vector_size(FC_VEC_BYTES)));                     \
enum { FC_VL_##SUF = FC_VEC_BYTES / sizeof(T) };                                       \
                                                                                       \
static inline fc_vec_##SUF fc_load_##SUF(const T* p) {                                 \
    fc_vec_##SUF v;                                                                    \
    memcpy(&v, p, sizeof v);                                                           \
    FC_KEEP(v);                                                                        \
    return v;                                                                          \
}                                                                                      \
                                                                                       \
/* FC_NV vectors of outputs of rows o0 and o1 (K >= 2). */                             \
static inline void fc_chunk2_##SUF(const T* src, ptrdiff_t bs, const T* w,             \
                                   ptrdiff_t K, ptrdiff_t L, T* o0, T* o1) {           \
    fc_vec_##SUF a0[FC_NV], a1[FC_NV], v[FC_NV];                                       \
    const T* s = src;                                                                  \
    const T* wa;                                                                       \
    const T* wb;                                                                       \
    ptrdiff_t a, b;                                                                    \
    int j;                                                                             \
    /* input row 0: row 0's first tap row */                                           \
    for (j = 0; j < FC_NV; j++) {                                                      \
        v[j] = fc_load_##SUF(s + j * FC_VL_##SUF);                                     \
        a0[j] = w[0] * v[j];                                                           \
    }                                                                                  \
    for (b = 1; b < L; b++)                                                            \
        for (j = 0; j < FC_NV; j++) {                                                  \
            v[j] = fc_load_##SUF(s + b + j * FC_VL_##SUF);                             \
            a0[j] += w[b] * v[j];                                                      \
        }                                                                              \
    /* input rows 1..K-1: tap row a of row 0, tap row a-1 of row 1 */                  \
    for (a = 1; a < K; a++) {                                                          \
        s = src + a * bs;                                                              \
        wa = w + a * L;                                                                \
        wb = wa - L;                                                                   \
        for (j = 0; j < FC_NV; j++) {                                                  \
            v[j] = fc_load_##SUF(s + j * FC_VL_##SUF);                                 \
            a0[j] += wa[0] * v[j];                                                     \
        }                                                                              \
        if (a == 1)                                                                    \
            for (j = 0; j < FC_NV; j++) a1[j] = wb[0] * v[j];                          \
        else                                                                           \
            for (j = 0; j < FC_NV; j++) a1[j] += wb[0] * v[j];                         \
        for (b = 1; b < L; b++) {                                                      \
            for (j = 0; j < FC_NV; j++)                                                \
                v[j] = fc_load_##SUF(s + b + j * FC_VL_##SUF);                         \
            for (j = 0; j < FC_NV; j++) {                                              \
                a0[j] += wa[b] * v[j];                                                 \
                a1[j] += wb[b] * v[j];                                                 \
            }                                                                          \
        }                                                                              \
    }                                                                                  \
    /* input row K: row 1's last tap row */                                            \
    s = src + K * bs;                                                                  \
    wb = w + (K - 1) * L;                                                              \
    for (b = 0; b < L; b++)                                                            \
        for (j = 0; j < FC_NV; j++) {                                                  \
            v[j] = fc_load_##SUF(s + b + j * FC_VL_##SUF);                             \
            a1[j] += wb[b] * v[j];                                                     \
        }                                                                              \
    for (j = 0; j < FC_NV; j++) {                                                      \
        memcpy(o0 + j * FC_VL_##SUF, &a0[j], sizeof a0[j]);                            \
        memcpy(o1 + j * FC_VL_##SUF, &a1[j], sizeof a1[j]);                            \
    }                                                                                  \
}                                                                                      \
                                                                                       \
/* Rows o0 and o1 (wo outputs each) from padded input rows src, src + bs, ...        \
   Returns 0, computing nothing, when a row is narrower than one chunk or K < 2. */  \
static int fc_row2_##SUF(const T* src, ptrdiff_t bs, const T* w, ptrdiff_t K,          \
                         ptrdiff_t L, T* o0, T* o1, ptrdiff_t wo) {                     \
    const ptrdiff_t cw = FC_NV * FC_VL_##SUF;                                           \
    ptrdiff_t c0;                                                                       \
    if (wo < cw || K < 2)                                                               \
        return 0;                                                                       \
    for (c0 = 0; c0 + cw <= wo; c0 += cw)                                               \
        fc_chunk2_##SUF(src + c0, bs, w, K, L, o0 + c0, o1 + c0);                       \
    if (c0 < wo) /* the last chunk shifted back to end at the row's end */              \
        fc_chunk2_##SUF(src + wo - cw, bs, w, K, L, o0 + wo - cw, o1 + wo - cw);        \
    return 1;                                                                           \
}

FC_DEF_ROWS2(f, float)
FC_DEF_ROWS2(d, double)

#else  /* no vector extensions: the one-row loop does all rows */

static int fc_row2_f(const float* src, ptrdiff_t bs, const float* w, ptrdiff_t K,
                     ptrdiff_t L, float* o0, float* o1, ptrdiff_t wo) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)o1; (void)wo;
    return 0;
}
static int fc_row2_d(const double* src, ptrdiff_t bs, const double* w, ptrdiff_t K,
                     ptrdiff_t L, double* o0, double* o1, ptrdiff_t wo) {
    (void)src; (void)bs; (void)w; (void)K; (void)L; (void)o0; (void)o1; (void)wo;
    return 0;
}

#endif
#endif
