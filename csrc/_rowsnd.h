/* The N-d direct kernel's compute loop (csrc/_nd_direct.pxi fills the tiles).
 *
 * A tile is a block of output planes (along the last leading axis, "z") and rows,
 * for one index of the axes before it. Its padded input planes sit in a per-thread
 * buffer: for each index g of the kernel's axes before z, a ring of the Az + 1
 * planes one pair of output planes reads, each nr + K - 1 rows of bs samples. A
 * table of plane pointers (pl[g * P + p] for the tile's plane p, NULL for a plane
 * of zeros that is skipped) ties them together,
 * so every kernel plane's rows are read straight from the buffer: the whole N-d
 * sum is one pass, its accumulators in registers from the first tap to the store.
 *
 * Output rows go in blocks of up to 2 planes x 2 rows (x FC_ND_NV vectors): input
 * row q of plane p feeds the rows (dz, dr) with kernel tap (p - dz, q - dr) where
 * that tap exists, so one vector load feeds up to four multiply-adds (3x3x3: 2.25
 * a load, where the 2-D pair loop gets 1.5). Each output's sum runs over the taps
 * in one order (g, then the z tap, the row tap, the column tap), each a
 * multiply-add onto a sum that starts at zero, whatever block computes it: results
 * do not depend on the tiling, so not on the thread count.
 *
 * Built with GCC vector extensions where the compiler has them (FC_HAVE_VEC); long
 * double, and every type elsewhere (MSVC), run a plain loop with the same order.
 */
#ifndef FC_ROWSND_H
#define FC_ROWSND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "_portable.h"

#ifndef FC_VEC_BYTES
#define FC_VEC_BYTES 16
#endif

/* Vectors per output row of a block: 4 rows x FC_ND_NV accumulators + FC_ND_NV
 * loaded vectors + broadcast weights fit 32 registers (AVX-512) or 16. */
#if FC_VEC_BYTES >= 64
#define FC_ND_NV 4
#else
#define FC_ND_NV 2
#endif

/* Output vectors of a chunk of the 1-D loop (fc_fold_rows). */
#define FC_1D_NV 8
/* The chunk runs as FC_1D_SUB interleaved sub-chunks of FC_1D_NS vectors: a load
 * feeds up to I multiply-adds within its sub-chunk, and the sub-chunks give
 * FC_1D_SUB x 2 independent chains of sums (one sub-chunk of 8 had 2 in flight and
 * waited on the multiply-add latency). */
#define FC_1D_SUB 4
#define FC_1D_NS (FC_1D_NV / FC_1D_SUB)
/* Offset q VL of each sub-chunk (q a literal, up to FC_1D_NS + 2 for 4 vectors of taps). */
#define FC_1DQ(SUF, Q)                                                                 \
    if ((Q) < FC_1D_NS + I - 1) {                                                      \
        fc_1dq_##SUF(s, w, 0, ms, acc, (Q), I);                                        \
        if (I > 1)                                                                     \
            fc_1dq_##SUF(s, w, ms, vl, acc, (Q), I - 1);                               \
    }
/* A chunk with its taps' vector count a literal. */
#define FC_1DCHUNK(SUF, S, O)                                                          \
    {                                                                                  \
        const ptrdiff_t I_ = (L + FC_NDL_##SUF - 1) / FC_NDL_##SUF;                    \
        if (I_ == 1) fc_1dchunk_##SUF((S), w, L, (O), 1);                              \
        else if (I_ == 2) fc_1dchunk_##SUF((S), w, L, (O), 2);                         \
        else if (I_ == 3) fc_1dchunk_##SUF((S), w, L, (O), 3);                         \
        else fc_1dchunk_##SUF((S), w, L, (O), 4);                                      \
    }

/* One output row (the scalar loop's chunk, in samples). */
#define FC_ND_SCALAR_CHUNK 16

#if FC_HAVE_VEC
#if FC_X86
#define FC_ND_KEEP(v) __asm__("" : "+v"(v))
#elif FC_ARM64
#define FC_ND_KEEP(v) __asm__("" : "+w"(v))
#else
#define FC_ND_KEEP(v) ((void)0)
#endif

/* A result vector's store; st (the call's choice, csrc/_nd_direct.pxi): streamed
 * past the caches where it is aligned (FC_STREAM_V, _portable.h). */
typedef char fc_ndbytes __attribute__((vector_size(FC_VEC_BYTES)));

FC_ALWAYS_INLINE void fc_nd_put(void* p, fc_ndbytes v, const int st) {
    if (st && FC_CAN_STREAM(p))
        FC_STREAM_V(p, v);
    else
        memcpy(p, &v, sizeof v);
}

/* W: the lane width of the shifted column taps (FC_SHIFT_W, _portable.h), 0 for a
 * type that always loads. */
#define FC_DEF_ND(SUF, T, W)                                                           \
typedef T fc_ndvec_##SUF __attribute__((vector_size(FC_VEC_BYTES)));                   \
enum { FC_NDL_##SUF = FC_VEC_BYTES / sizeof(T), FC_NDSH_##SUF = FC_CAN_SHIFT_W##W };  \
                                                                                       \
static inline fc_ndvec_##SUF fc_ndload_##SUF(const T* p) {                             \
    fc_ndvec_##SUF v;                                                                  \
    memcpy(&v, p, sizeof v);                                                           \
    /* a register, not a memory operand re-read by each of up to four FMAs */          \
    FC_ND_KEEP(v);                                                                     \
    return v;                                                                          \
}                                                                                      \
                                                                                       \
/* Tap l of one input row (its vectors v) into the accumulator sets in mask m (bit  \
   2 dz + dr; a literal after inlining, so the sets not fed cost nothing). wq: the  \
   weights row of set 0 (dz = dr = 0); set (dz, dr) uses the row dz planes and dr   \
   rows before. */                                                                 \
FC_ALWAYS_INLINE void fc_ndtap_##SUF(const fc_ndvec_##SUF* v, ptrdiff_t l, ptrdiff_t L, \
        const T* wq, ptrdiff_t KL, fc_ndvec_##SUF acc[4][FC_ND_NV], const int m,      \
        const int NV) {                                                                \
    int j, k;                                                                          \
    for (k = 0; k < 4; k++)                                                            \
        if (m & (1 << k)) {                                                            \
            const T wk = wq[l - (k >> 1) * KL - (k & 1) * L];                          \
            for (j = 0; j < NV; j++)                                                   \
                acc[k][j] += wk * v[j];                                                \
        }                                                                              \
}                                                                                      \
                                                                                       \
/* Tap l (a literal: each call is inlined) of a row's vectors, shifted out of a[]. */ \
FC_ALWAYS_INLINE void fc_ndshifted_##SUF(const fc_ndvec_##SUF* a, fc_ndvec_##SUF* v,    \
                                         const int l, const int NV) {                  \
    int j;                                                                             \
    for (j = 0; j < NV; j++)                                                           \
        v[j] = l == 0 ? a[j] : (fc_ndvec_##SUF)FC_SHIFT_W##W(a[j], a[j + 1], l);       \
}                                                                                      \
                                                                                       \
/* One input row's L taps into the sets in mask m. sh (a literal; L = 3 and s       \
   aligned): taps 1 and 2 shifted from NV + 1 aligned loads, where two of every     \
   three loads would split a cache line; each tap a call of its own, so the shifts' \
   counts are literals whatever gcc unrolls. */                                    \
FC_ALWAYS_INLINE void fc_ndrow_##SUF(const T* s, ptrdiff_t L, const T* wq,            \
                                     ptrdiff_t KL, fc_ndvec_##SUF acc[4][FC_ND_NV],    \
                                     const int m, const int NV, const int sh) {        \
    fc_ndvec_##SUF v[FC_ND_NV], a[FC_ND_NV + 1];                                       \
    ptrdiff_t l;                                                                       \
    int j;                                                                             \
    if (FC_NDSH_##SUF && sh) {                                                         \
        for (j = 0; j <= NV; j++)                                                      \
            a[j] = fc_ndload_##SUF(s + j * FC_NDL_##SUF);                              \
        fc_ndshifted_##SUF(a, v, 0, NV);                                               \
        fc_ndtap_##SUF(v, 0, L, wq, KL, acc, m, NV);                                   \
        fc_ndshifted_##SUF(a, v, 1, NV);                                               \
        fc_ndtap_##SUF(v, 1, L, wq, KL, acc, m, NV);                                   \
        fc_ndshifted_##SUF(a, v, 2, NV);                                               \
        fc_ndtap_##SUF(v, 2, L, wq, KL, acc, m, NV);                                   \
        return;                                                                        \
    }                                                                                  \
    for (l = 0; l < L; l++) {                                                          \
        for (j = 0; j < NV; j++)                                                       \
            v[j] = fc_ndload_##SUF(s + l + j * FC_NDL_##SUF);                          \
        fc_ndtap_##SUF(v, l, L, wq, KL, acc, m, NV);                                   \
    }                                                                                  \
}                                                                                      \
                                                                                       \
/* One input plane's rows into the sets of planes zm (bit dz) of an R-row block:    \
   row q feeds block row dr with tap row q - dr. */                                \
FC_ALWAYS_INLINE void fc_ndplane_##SUF(const T* base, ptrdiff_t bs, const T* wp,      \
        ptrdiff_t K, ptrdiff_t L, fc_ndvec_##SUF acc[4][FC_ND_NV], const int zm,       \
        const int R, const int NV, const int sh) {                                     \
    const ptrdiff_t KL = K * L;                                                        \
    const int first = (zm & 1) | (zm & 2) << 1;      /* dr = 0 of each plane */       \
    const int mid = R == 2 ? first | first << 1 : first;                               \
    ptrdiff_t q;                                                                       \
    fc_ndrow_##SUF(base, L, wp, KL, acc, first, NV, sh);                               \
    for (q = 1; q < K; q++)                                                            \
        fc_ndrow_##SUF(base + q * bs, L, wp + q * L, KL, acc, mid, NV, sh);            \
    if (R == 2)                                                                        \
        fc_ndrow_##SUF(base + K * bs, L, wp + K * L, KL, acc, first << 1, NV, sh);     \
}                                                                                      \
                                                                                       \
/* Z planes x R rows (Z, R in {1, 2}) of NV vectors at offset off of each plane     \
   row; the first nst samples of each vector group are stored (nst < NV vectors:    \
   a row narrower than one vector). Input plane p feeds block plane dz with tap     \
   plane p - dz. */                                                                \
FC_ALWAYS_INLINE void fc_ndblk_##SUF(const T* const* pl, ptrdiff_t P, ptrdiff_t G,     \
        ptrdiff_t Az, ptrdiff_t off, ptrdiff_t bs, const T* w, ptrdiff_t K,            \
        ptrdiff_t L, T* o, ptrdiff_t ozs, ptrdiff_t ors, ptrdiff_t nst, const int Z,   \
        const int R, const int NV, const int st, const int sh) {                       \
    fc_ndvec_##SUF acc[4][FC_ND_NV];                                                   \
    const ptrdiff_t KL = K * L;                                                        \
    const int live = (R == 2 ? 3 : 1) | (Z == 2 ? (R == 2 ? 12 : 4) : 0);             \
    const T* const* pg;                                                                \
    const T* wg;                                                                       \
    ptrdiff_t g, p;                                                                    \
    int j, k;                                                                          \
    for (k = 0; k < 4; k++)                                                            \
        for (j = 0; j < FC_ND_NV; j++) {                                               \
            fc_ndvec_##SUF zero = {0};                                                 \
            acc[k][j] = zero;                                                          \
        }                                                                              \
    for (g = 0; g < G; g++) {                                                          \
        pg = pl + g * P;                                                               \
        wg = w + g * Az * KL;                                                          \
        if (pg[0] != NULL)                                                             \
            fc_ndplane_##SUF(pg[0] + off, bs, wg, K, L, acc, 1, R, NV, sh);            \
        for (p = 1; p < Az; p++)                                                       \
            if (pg[p] != NULL)                                                         \
                fc_ndplane_##SUF(pg[p] + off, bs, wg + p * KL, K, L, acc,              \
                                 Z == 2 ? 3 : 1, R, NV, sh);                           \
        if (Z == 2 && pg[Az] != NULL)                                                  \
            fc_ndplane_##SUF(pg[Az] + off, bs, wg + Az * KL, K, L, acc, 2, R, NV, sh); \
    }                                                                                  \
    for (k = 0; k < 4; k++) {                                                          \
        T* ok;                                                                         \
        if (!(live >> k & 1))                                                          \
            continue;                                                                  \
        ok = o + (k >> 1) * ozs + (k & 1) * ors;                                       \
        if (nst >= NV * FC_NDL_##SUF) {                                                \
            for (j = 0; j < NV; j++)                                                   \
                fc_nd_put(ok + j * FC_NDL_##SUF, (fc_ndbytes)acc[k][j], st);          \
        } else {                                                                       \
            memcpy(ok, &acc[k][0], nst * sizeof(T));                                   \
        }                                                                              \
    }                                                                                  \
}                                                                                      \
                                                                                       \
FC_ALWAYS_INLINE void fc_ndblk_any_##SUF(const T* const* pl, ptrdiff_t P, ptrdiff_t G, \
        ptrdiff_t Az, ptrdiff_t off, ptrdiff_t bs, const T* w, ptrdiff_t K,            \
        ptrdiff_t L, T* o, ptrdiff_t ozs, ptrdiff_t ors, ptrdiff_t nst, int Z, int R,  \
        const int NV, int st, const int sh) {                                          \
    if (Z == 2 && R == 2)                                                              \
        fc_ndblk_##SUF(pl, P, G, Az, off, bs, w, K, L, o, ozs, ors, nst, 2, 2, NV, st,  \
                       sh);                                                            \
    else if (Z == 2)                                                                   \
        fc_ndblk_##SUF(pl, P, G, Az, off, bs, w, K, L, o, ozs, ors, nst, 2, 1, NV, st,  \
                       sh);                                                            \
    else if (R == 2)                                                                   \
        fc_ndblk_##SUF(pl, P, G, Az, off, bs, w, K, L, o, ozs, ors, nst, 1, 2, NV, st,  \
                       sh);                                                            \
    else                                                                               \
        fc_ndblk_##SUF(pl, P, G, Az, off, bs, w, K, L, o, ozs, ors, nst, 1, 1, NV, st,  \
                       sh);                                                            \
}                                                                                      \
                                                                                       \
/* Output planes 0..nz-1 x rows 0..nr-1 (wo samples each) of a tile: plane z, row  \
   r at o + z * ozs + r * ors; its input plane p (of group g) at pl[g * P + p],      \
   rows bs apart, each at least wo + L - 1 + one vector long (zero slack), planes    \
   and rows on cache lines. st: the whole-vector stores are streamed past the       \
   caches where aligned (the caller fences). sh (a literal): 3-tap rows take their  \
   column taps from shifts (fc_ndrow) in the chunks that start on a vector.         \
   Lanes of the last aligned load past a row's last tap are never used. */          \
FC_ALWAYS_INLINE void fc_nd_tile_body_##SUF(const T* const* pl, ptrdiff_t P,            \
        ptrdiff_t G, ptrdiff_t Az, ptrdiff_t nz, ptrdiff_t nr, ptrdiff_t bs,           \
        const T* w, ptrdiff_t K, ptrdiff_t L, T* o, ptrdiff_t ozs, ptrdiff_t ors,      \
        ptrdiff_t wo, int st, const int sh) {                                          \
    const ptrdiff_t cw = FC_ND_NV * FC_NDL_##SUF, vl = FC_NDL_##SUF;                  \
    ptrdiff_t z, r, c, Z, R;                                                           \
    for (z = 0; z < nz; z += Z) {                                                      \
        Z = z + 1 < nz ? 2 : 1;                                                        \
        for (r = 0; r < nr; r += R) {                                                  \
            T* orow = o + z * ozs + r * ors;                                           \
            ptrdiff_t off = r * bs;                                                    \
            R = r + 1 < nr ? 2 : 1;                                                    \
            if (wo < vl) {                                                             \
                fc_ndblk_any_##SUF(pl + z, P, G, Az, off, bs, w, K, L, orow, ozs, ors, \
                                   wo, Z, R, 1, 0, sh);                                \
                continue;                                                              \
            }                                                                          \
            /* wide chunks, then one-vector chunks, the last shifted back to end at   \
               the row's end (its overlap recomputed by the same operations) */        \
            for (c = 0; c + cw <= wo; c += cw)                                         \
                fc_ndblk_any_##SUF(pl + z, P, G, Az, off + c, bs, w, K, L, orow + c,   \
                                   ozs, ors, cw, Z, R, FC_ND_NV, st, sh);              \
            for (; c < wo; c += vl) {                                                  \
                if (c + vl <= wo)                                                      \
                    fc_ndblk_any_##SUF(pl + z, P, G, Az, off + c, bs, w, K, L,         \
                                       orow + c, ozs, ors, vl, Z, R, 1, st, sh);       \
                else                                                                   \
                    fc_ndblk_any_##SUF(pl + z, P, G, Az, off + wo - vl, bs, w, K, L,   \
                                       orow + wo - vl, ozs, ors, vl, Z, R, 1, st, 0);  \
            }                                                                          \
        }                                                                              \
    }                                                                                  \
}                                                                                      \
                                                                                       \
/* sh: the caller's choice of shifted column taps (fc_cpu_prefers_shifts), taken   \
   for 3-tap rows of the types that have them. */                                  \
static void fc_nd_tile_##SUF(const T* const* pl, ptrdiff_t P, ptrdiff_t G,             \
        ptrdiff_t Az, ptrdiff_t nz, ptrdiff_t nr, ptrdiff_t bs, const T* w,            \
        ptrdiff_t K, ptrdiff_t L, T* o, ptrdiff_t ozs, ptrdiff_t ors, ptrdiff_t wo,    \
        int st, int sh) {                                                              \
    if (FC_NDSH_##SUF && sh && L == 3)                                                 \
        fc_nd_tile_body_##SUF(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st,  \
                              1);                                                      \
    else                                                                               \
        fc_nd_tile_body_##SUF(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st,  \
                              0);                                                      \
}                                                                                      \
                                                                                       \
/* 1-D: out[r * os + c] = sum_b w[b] * x[r * xs + c + b] (c < C), rows of a long    \
   signal folded with overlaps. The one-row 2-D loop loads a vector per tap and    \
   multiply-add (the loads, unaligned, bound it); here a chunk's output vectors    \
   share them: within a sub-chunk, the vector at offset q VL + m (m < VL) is tap    \
   m + i VL of output vector q - i, so one load feeds up to I = ceil(L / VL)       \
   multiply-adds (31 taps, 16 lanes: 160 loads for 248). Walking q, then m, every  \
   output's taps run in ascending order, each a multiply-add onto a sum from zero: \
   the 2-D loop's sum, bit for bit, so a row gives the same bits whichever loop    \
   computes it (convolve1d picks the fold or the 2-D kernel by thread count).      \
   q, I and the chunk sizes are literals (the accumulators stay in registers). */  \
FC_ALWAYS_INLINE void fc_1dq_##SUF(const T* s, const T* w, ptrdiff_t m0, ptrdiff_t m1, \
                                   fc_ndvec_##SUF acc[FC_1D_NV], const int q,          \
                                   const int I) {                                      \
    const ptrdiff_t vl = FC_NDL_##SUF;                                                 \
    fc_ndvec_##SUF v[FC_1D_SUB];                                                       \
    ptrdiff_t m;                                                                       \
    int i, u;                                                                          \
    for (m = m0; m < m1; m++) {                                                        \
        for (u = 0; u < FC_1D_SUB; u++)                                                \
            v[u] = fc_ndload_##SUF(s + (u * FC_1D_NS + q) * vl + m);                   \
        for (i = 0; i < I; i++)                                                        \
            if (q - i >= 0 && q - i < FC_1D_NS)                                        \
                for (u = 0; u < FC_1D_SUB; u++)                                        \
                    acc[u * FC_1D_NS + q - i] += w[m + i * vl] * v[u];                 \
    }                                                                                  \
}                                                                                      \
                                                                                       \
FC_ALWAYS_INLINE void fc_1dchunk_##SUF(const T* s, const T* w, ptrdiff_t L, T* o,      \
                                       const int I) {                                  \
    const ptrdiff_t vl = FC_NDL_##SUF;                                                 \
    /* phases m < ms have I taps, the rest I - 1 */                                    \
    const ptrdiff_t ms = L - (I - 1) * vl;                                             \
    fc_ndvec_##SUF acc[FC_1D_NV];                                                      \
    int j;                                                                             \
    for (j = 0; j < FC_1D_NV; j++) {                                                   \
        fc_ndvec_##SUF zero = {0};                                                     \
        acc[j] = zero;                                                                 \
    }                                                                                  \
    FC_1DQ(SUF, 0) FC_1DQ(SUF, 1) FC_1DQ(SUF, 2) FC_1DQ(SUF, 3) FC_1DQ(SUF, 4)         \
    for (j = 0; j < FC_1D_NV; j++)                                                     \
        memcpy(o + j * vl, &acc[j], sizeof acc[j]);                                    \
}                                                                                      \
                                                                                       \
/* Rows r0..r1-1; 0 (nothing computed) where the loop does not apply: more than 4   \
   vectors of taps, or rows narrower than a chunk. Row r reads x[r xs .. r xs + C +  \
   L - 2]. */                                                                      \
static int fc_fold_rows_##SUF(const T* x, ptrdiff_t xs, const T* w, ptrdiff_t L,       \
                              T* o, ptrdiff_t os, ptrdiff_t r0, ptrdiff_t r1,          \
                              ptrdiff_t C) {                                           \
    const ptrdiff_t cw = FC_1D_NV * FC_NDL_##SUF;                                      \
    ptrdiff_t r, c;                                                                    \
    if (L < 1 || L > 4 * FC_NDL_##SUF || C < cw)                                       \
        return 0;                                                                      \
    for (r = r0; r < r1; r++) {                                                        \
        const T* s = x + r * xs;                                                       \
        T* orow = o + r * os;                                                          \
        for (c = 0; c + cw <= C; c += cw)                                              \
            FC_1DCHUNK(SUF, s + c, orow + c)                                           \
        if (c < C)  /* the last chunk shifted back to end at the row's end */          \
            FC_1DCHUNK(SUF, s + C - cw, orow + C - cw)                                 \
    }                                                                                  \
    return 1;                                                                          \
}

#endif  /* FC_HAVE_VEC */

/* The plain loop: one output row at a time, in chunks of FC_ND_SCALAR_CHUNK, the
 * taps in the vector loop's order (each a multiply-add onto a sum from zero). */
#define FC_DEF_ND_SCALAR(SUF, T)                                                       \
static void fc_nd_tile_##SUF(const T* const* pl, ptrdiff_t P, ptrdiff_t G,             \
        ptrdiff_t Az, ptrdiff_t nz, ptrdiff_t nr, ptrdiff_t bs, const T* w,            \
        ptrdiff_t K, ptrdiff_t L, T* o, ptrdiff_t ozs, ptrdiff_t ors, ptrdiff_t wo,    \
        int st, int sh) {                                                              \
    T acc[FC_ND_SCALAR_CHUNK];                                                         \
    (void)st; (void)sh;                                                                \
    ptrdiff_t z, r, c0, n, c, g, az, k, l;                                             \
    for (z = 0; z < nz; z++)                                                           \
        for (r = 0; r < nr; r++)                                                       \
            for (c0 = 0; c0 < wo; c0 += FC_ND_SCALAR_CHUNK) {                          \
                n = wo - c0 < FC_ND_SCALAR_CHUNK ? wo - c0 : FC_ND_SCALAR_CHUNK;       \
                for (c = 0; c < FC_ND_SCALAR_CHUNK; c++)                               \
                    acc[c] = 0;                                                        \
                for (g = 0; g < G; g++)                                                \
                    for (az = 0; az < Az; az++) {                                      \
                        const T* base = pl[g * P + z + az];                            \
                        if (base == NULL)                                              \
                            continue;                                                  \
                        for (k = 0; k < K; k++) {                                      \
                            const T* s = base + (r + k) * bs + c0;                     \
                            const T* wk = w + ((g * Az + az) * K + k) * L;             \
                            for (l = 0; l < L; l++)                                    \
                                for (c = 0; c < n; c++)                                \
                                    acc[c] += wk[l] * s[l + c];                        \
                        }                                                              \
                    }                                                                  \
                for (c = 0; c < n; c++)                                                \
                    o[z * ozs + r * ors + c0 + c] = acc[c];                            \
            }                                                                          \
}

#if FC_HAVE_VEC
FC_DEF_ND(f, float, 4)
FC_DEF_ND(d, double, 8)
FC_DEF_ND(i, int32_t, 0)
FC_DEF_ND(l, int64_t, 0)
FC_DEF_ND(h, uint16_t, 0)   /* 8- and 16-bit results: exact modulo 2^16 */
#else
/* no vector extensions: the folded 1-D rows take the 2-D kernel's one-row loop */
static int fc_fold_rows_f(const float* x, ptrdiff_t xs, const float* w, ptrdiff_t L,
                          float* o, ptrdiff_t os, ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t C) {
    (void)x; (void)xs; (void)w; (void)L; (void)o; (void)os; (void)r0; (void)r1; (void)C;
    return 0;
}
static int fc_fold_rows_d(const double* x, ptrdiff_t xs, const double* w, ptrdiff_t L,
                          double* o, ptrdiff_t os, ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t C) {
    (void)x; (void)xs; (void)w; (void)L; (void)o; (void)os; (void)r0; (void)r1; (void)C;
    return 0;
}
FC_DEF_ND_SCALAR(f, float)
FC_DEF_ND_SCALAR(d, double)
FC_DEF_ND_SCALAR(i, int32_t)
FC_DEF_ND_SCALAR(l, int64_t)
FC_DEF_ND_SCALAR(h, uint16_t)
#endif
FC_DEF_ND_SCALAR(g, long double)

/* Vector length in samples of this build's loop for an itemsize (the tile buffer's
 * row slack); the plain loop reads no further than its chunk. */
static inline ptrdiff_t fc_nd_lanes(size_t itemsize) {
#if FC_HAVE_VEC
    return FC_VEC_BYTES / (ptrdiff_t)itemsize;
#else
    (void)itemsize;
    return FC_ND_SCALAR_CHUNK;
#endif
}

#endif
