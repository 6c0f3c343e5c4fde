/* Register-blocked loops of fastconv.nn's direct convolution (csrc/_nn_direct.pxi).
 *
 * Forward (and the input gradient, which is the same sum with other taps):
 * every input channel of a layer sits in a zero-padded plane, split by stride
 * phase, whose rows are flattened with a pitch WB, so output pixel q = i*WB + j of
 * a stride-1 plane reads input q + toff[t] at tap t: a strip of consecutive
 * output pixels reads a contiguous input vector per tap. fc_nn_fwd_* keeps a
 * block of OB output channels x NV vectors of such a strip in registers; each
 * loaded input vector feeds OB multiply-adds and each (broadcast) weight NV.
 * The sum over (input channel, tap) runs in one fixed order, whatever the thread
 * count or the strip.
 *
 * For small planes the strips' dropped columns and plane ends cost more than
 * they save: fc_nn_cl*_* keeps output channels in the lanes instead (as oneDNN's
 * direct convolution does), FC_NN_CLV vectors of them x R consecutive pixels of
 * one output row, each input value broadcast to FC_NN_CLV multiply-adds. It
 * computes no pixel that is not an output and skips the taps whose input rows are
 * all padding (at 14^2 and 3x3, 1 of 21); each output's sum runs over (input
 * channel, tap) in the same order as fc_nn_fwd_*'s: the same bits (a skipped
 * product is an exact zero), unless a weight is Inf or NaN.
 *
 * Weight gradient: gw[o][c, t] = sum_q go[o][q] * x[c][q + toff[t]], a dot product
 * of two contiguous rows (go flattened with the same pitch, zero in its unused
 * columns). fc_nn_dot_* adds a chunk of a WO x WC block of these dot products to
 * vector partial sums, WO + WC loads feeding WO * WC multiply-adds;
 * fc_nn_dot_end_* sums each one's lanes in a fixed order at the end.
 *
 * GCC vector extensions where the compiler has them (FC_HAVE_VEC); plain loops
 * otherwise (MSVC), with the same results up to rounding.
 */
#ifndef FC_NN_ROWS_H
#define FC_NN_ROWS_H

#include <stddef.h>
#include <string.h>
#include "_portable.h"

#ifndef FC_VEC_BYTES
#define FC_VEC_BYTES 16
#endif

/* 32 vector registers on AVX-512 and AArch64, 16 on SSE/AVX2 */
#if FC_VEC_BYTES >= 64 || FC_ARM64
#define FC_NN_WIDE 1
#else
#define FC_NN_WIDE 0
#endif

/* Accumulator blocks (output channels x vectors) per output-channel block OB:
 * OB * NV accumulators + NV loaded vectors + one broadcast fill the register file. */
#if FC_NN_WIDE
#define FC_NN_NV8 3
#define FC_NN_NV4 6
#define FC_NN_NV2 8
#define FC_NN_NV1 12
#define FC_NN_WO 4
#define FC_NN_WC 6
#define FC_NN_WC1 12
#else
#define FC_NN_NV8 1
#define FC_NN_NV4 3
#define FC_NN_NV2 4
#define FC_NN_NV1 8
#define FC_NN_WO 3
#define FC_NN_WC 3
#define FC_NN_WC1 6
#endif

/* Channel-in-lanes blocks: FC_NN_CLV vectors of output channels x up to
 * FC_NN_CLR pixels of a row, FC_NN_CLV * FC_NN_CLR accumulators + FC_NN_CLV weight
 * vectors in the register file (the input values are broadcast from memory). */
#define FC_NN_CLV 2
#if FC_NN_WIDE
#define FC_NN_CLR 14
#else
#define FC_NN_CLR 6
#endif

#define FC_NN_H(n) (((n) + 1) / 2)

#if FC_HAVE_VEC
#if FC_X86
#define FC_NN_KEEP(v) __asm__("" : "+v"(v))
#elif FC_ARM64
#define FC_NN_KEEP(v) __asm__("" : "+w"(v))
#else
#define FC_NN_KEEP(v) ((void)0)
#endif

#define FC_NN_DEF(SUF, T)                                                              \
typedef T fc_nnv_##SUF __attribute__((vector_size(FC_VEC_BYTES)));                     \
enum { FC_NN_VL_##SUF = FC_VEC_BYTES / sizeof(T) };                                    \
                                                                                       \
static inline fc_nnv_##SUF fc_nn_load_##SUF(const T* p) {                              \
    fc_nnv_##SUF v;                                                                    \
    memcpy(&v, p, sizeof v);                                                           \
    /* a register: GCC would otherwise re-fold the load into each FMA */               \
    FC_NN_KEEP(v);                                                                     \
    return v;                                                                          \
}                                                                                      \
                                                                                       \
/* WO x WC dot products of length nv vectors, added lane by lane to the vector     \
   partial sums acc[(o * WC + c) * VL + lane] (kept in memory between chunks of the \
   sum, so a chunk needs no horizontal sum): acc[o][c] += g[o] * x[c] */            \
static void fc_nn_dot_##SUF(const T* const* g, const T* const* x, ptrdiff_t nv,        \
                            T* acc_mem) {                                              \
    fc_nnv_##SUF acc[FC_NN_WO][FC_NN_WC], gv[FC_NN_WO], xv;                            \
    ptrdiff_t k;                                                                       \
    int o, c;                                                                          \
    for (o = 0; o < FC_NN_WO; o++)                                                     \
        for (c = 0; c < FC_NN_WC; c++)                                                 \
            memcpy(&acc[o][c], acc_mem + (o * FC_NN_WC + c) * FC_NN_VL_##SUF,          \
                   sizeof acc[o][c]);                                                  \
    for (k = 0; k < nv * FC_NN_VL_##SUF; k += FC_NN_VL_##SUF) {                        \
        for (o = 0; o < FC_NN_WO; o++) gv[o] = fc_nn_load_##SUF(g[o] + k);             \
        for (c = 0; c < FC_NN_WC; c++) {                                               \
            xv = fc_nn_load_##SUF(x[c] + k);                                           \
            for (o = 0; o < FC_NN_WO; o++) acc[o][c] += gv[o] * xv;                    \
        }                                                                              \
    }                                                                                  \
    for (o = 0; o < FC_NN_WO; o++)                                                     \
        for (c = 0; c < FC_NN_WC; c++)                                                 \
            memcpy(acc_mem + (o * FC_NN_WC + c) * FC_NN_VL_##SUF, &acc[o][c],          \
                   sizeof acc[o][c]);                                                  \
}                                                                                      \
                                                                                       \
/* One gradient row x WC1 input rows (a depthwise layer has one output channel per \
   group): the partial sums acc[c * VL + lane] */                                    \
static void fc_nn_dot1_##SUF(const T* g, const T* const* x, ptrdiff_t nv,               \
                             T* acc_mem) {                                             \
    fc_nnv_##SUF acc[FC_NN_WC1], gv;                                                   \
    ptrdiff_t k;                                                                       \
    int c;                                                                             \
    for (c = 0; c < FC_NN_WC1; c++)                                                    \
        memcpy(&acc[c], acc_mem + c * FC_NN_VL_##SUF, sizeof acc[c]);                  \
    for (k = 0; k < nv * FC_NN_VL_##SUF; k += FC_NN_VL_##SUF) {                        \
        gv = fc_nn_load_##SUF(g + k);                                                  \
        for (c = 0; c < FC_NN_WC1; c++) acc[c] += gv * fc_nn_load_##SUF(x[c] + k);     \
    }                                                                                  \
    for (c = 0; c < FC_NN_WC1; c++)                                                    \
        memcpy(acc_mem + c * FC_NN_VL_##SUF, &acc[c], sizeof acc[c]);                  \
}

/* OB output channels x NV vectors of output pixels (see the header comment):
 * out[o * os + p] = sum_{c < cin, t < ntaps} w[(c * ntaps + t) * OB + o]
 *                                            * in[c * cp + toff[t] + p]          */
#define FC_NN_FWD(SUF, T, OB, NV, TAG)                                                 \
static void fc_nn_fwd##OB##TAG##_##SUF(const T* in, ptrdiff_t cp, ptrdiff_t cin,            \
                                  const ptrdiff_t* toff, ptrdiff_t ntaps, const T* w,  \
                                  T* out, ptrdiff_t os) {                              \
    fc_nnv_##SUF acc[OB][NV], v[NV];                                                   \
    const T* s;                                                                        \
    ptrdiff_t c, t;                                                                    \
    int o, j;                                                                          \
    for (o = 0; o < OB; o++)                                                           \
        for (j = 0; j < NV; j++) acc[o][j] = (fc_nnv_##SUF){0};                        \
    for (c = 0; c < cin; c++) {                                                        \
        for (t = 0; t < ntaps; t++, w += OB) {                                         \
            s = in + c * cp + toff[t];                                                 \
            for (j = 0; j < NV; j++) v[j] = fc_nn_load_##SUF(s + j * FC_NN_VL_##SUF);  \
            for (o = 0; o < OB; o++) {                                                 \
                const T wo = w[o];                                                     \
                for (j = 0; j < NV; j++) acc[o][j] += wo * v[j];                       \
            }                                                                          \
        }                                                                              \
    }                                                                                  \
    for (o = 0; o < OB; o++)                                                           \
        for (j = 0; j < NV; j++)                                                       \
            memcpy(out + o * os + j * FC_NN_VL_##SUF, &acc[o][j], sizeof acc[o][j]);   \
}

/* FC_NN_CLV vectors of output channels (lanes) x R pixels, as pixel-major rows:
 * out[k * CLV * VL + o] = sum_{c < cin, t0 <= t < t1}
 *                         w[(c * ntaps + t) * CLV * VL + o] * in[c * cp + toff[t] + k]
 * (the taps [t0, t1) of ntaps: those whose input rows are not all padding)         */
#define FC_NN_CL(SUF, T, R)                                                            \
static void fc_nn_cl##R##_##SUF(const T* in, ptrdiff_t cp, ptrdiff_t cin,             \
                                const ptrdiff_t* toff, ptrdiff_t t0, ptrdiff_t t1,     \
                                ptrdiff_t ntaps, const T* w, T* out) {                 \
    fc_nnv_##SUF acc[R][FC_NN_CLV], wv[FC_NN_CLV];                                     \
    const T* s;                                                                        \
    const T* wc;                                                                       \
    ptrdiff_t c, t;                                                                    \
    int k, v;                                                                          \
    for (k = 0; k < R; k++)                                                            \
        for (v = 0; v < FC_NN_CLV; v++) acc[k][v] = (fc_nnv_##SUF){0};                 \
    for (c = 0; c < cin; c++) {                                                        \
        wc = w + (c * ntaps + t0) * FC_NN_CLV * FC_NN_VL_##SUF;                        \
        for (t = t0; t < t1; t++, wc += FC_NN_CLV * FC_NN_VL_##SUF) {                  \
            s = in + c * cp + toff[t];                                                 \
            for (v = 0; v < FC_NN_CLV; v++)                                            \
                wv[v] = fc_nn_load_##SUF(wc + v * FC_NN_VL_##SUF);                     \
            for (k = 0; k < R; k++) {                                                  \
                const T x = s[k];                                                      \
                for (v = 0; v < FC_NN_CLV; v++) acc[k][v] += x * wv[v];                \
            }                                                                          \
        }                                                                              \
    }                                                                                  \
    for (k = 0; k < R; k++)                                                            \
        for (v = 0; v < FC_NN_CLV; v++)                                                \
            memcpy(out + (k * FC_NN_CLV + v) * FC_NN_VL_##SUF, &acc[k][v],             \
                   sizeof acc[k][v]);                                                  \
}

#else  /* plain C: the same sums, lane by lane (MSVC) */

#define FC_NN_VL_f (FC_VEC_BYTES / 4)
#define FC_NN_VL_d (FC_VEC_BYTES / 8)

#define FC_NN_DEF(SUF, T)                                                              \
static void fc_nn_dot_##SUF(const T* const* g, const T* const* x, ptrdiff_t nv,        \
                            T* acc_mem) {                                              \
    int o, c;                                                                          \
    ptrdiff_t k;                                                                       \
    for (o = 0; o < FC_NN_WO; o++)                                                     \
        for (c = 0; c < FC_NN_WC; c++)                                                 \
            for (k = 0; k < nv * FC_NN_VL_##SUF; k++)                                  \
                acc_mem[(o * FC_NN_WC + c) * FC_NN_VL_##SUF + k % FC_NN_VL_##SUF]      \
                    += g[o][k] * x[c][k];                                              \
}                                                                                      \
                                                                                       \
static void fc_nn_dot1_##SUF(const T* g, const T* const* x, ptrdiff_t nv,               \
                             T* acc_mem) {                                             \
    int c;                                                                             \
    ptrdiff_t k;                                                                       \
    for (c = 0; c < FC_NN_WC1; c++)                                                    \
        for (k = 0; k < nv * FC_NN_VL_##SUF; k++)                                      \
            acc_mem[c * FC_NN_VL_##SUF + k % FC_NN_VL_##SUF] += g[k] * x[c][k];        \
}

#define FC_NN_FWD(SUF, T, OB, NV, TAG)                                                 \
static void fc_nn_fwd##OB##TAG##_##SUF(const T* in, ptrdiff_t cp, ptrdiff_t cin,            \
                                  const ptrdiff_t* toff, ptrdiff_t ntaps, const T* w,  \
                                  T* out, ptrdiff_t os) {                              \
    const ptrdiff_t n = NV * FC_NN_VL_##SUF;                                           \
    ptrdiff_t c, t, p;                                                                 \
    int o;                                                                             \
    for (o = 0; o < OB; o++)                                                           \
        for (p = 0; p < n; p++) out[o * os + p] = 0;                                   \
    for (c = 0; c < cin; c++)                                                          \
        for (t = 0; t < ntaps; t++, w += OB) {                                         \
            const T* s = in + c * cp + toff[t];                                        \
            for (o = 0; o < OB; o++)                                                   \
                for (p = 0; p < n; p++) out[o * os + p] += w[o] * s[p];                \
        }                                                                              \
}

#define FC_NN_CL(SUF, T, R)                                                            \
static void fc_nn_cl##R##_##SUF(const T* in, ptrdiff_t cp, ptrdiff_t cin,             \
                                const ptrdiff_t* toff, ptrdiff_t t0, ptrdiff_t t1,     \
                                ptrdiff_t ntaps, const T* w, T* out) {                 \
    const int nb = FC_NN_CLV * FC_NN_VL_##SUF;                                         \
    ptrdiff_t c, t;                                                                    \
    int k, o;                                                                          \
    for (k = 0; k < R * nb; k++) out[k] = 0;                                           \
    for (c = 0; c < cin; c++)                                                          \
        for (t = t0; t < t1; t++) {                                                    \
            const T* s = in + c * cp + toff[t];                                        \
            const T* wt = w + (c * ntaps + t) * nb;                                    \
            for (k = 0; k < R; k++)                                                    \
                for (o = 0; o < nb; o++) out[k * nb + o] += wt[o] * s[k];              \
        }                                                                              \
}

#endif

/* the partial sums' lanes (blocks of wc rows), summed pairwise in a fixed order,
   into out[o * ldo + c]: the end of both roads' dot products */
#define FC_NN_DOT_END(SUF, T)                                                          \
static void fc_nn_dot_end_##SUF(const T* acc_mem, int wc, T* out, ptrdiff_t ldo,       \
                                int no, int nc) {                                      \
    T l[FC_NN_VL_##SUF];                                                               \
    int o, c, n, i;                                                                    \
    for (o = 0; o < no; o++)                                                           \
        for (c = 0; c < nc; c++) {                                                     \
            memcpy(l, acc_mem + (o * wc + c) * FC_NN_VL_##SUF, sizeof l);              \
            for (n = FC_NN_VL_##SUF / 2; n >= 1; n /= 2)                               \
                for (i = 0; i < n; i++) l[i] += l[i + n];                              \
            out[o * ldo + c] = l[0];                                                   \
        }                                                                              \
}

/* both roads' instances: per type, block of output channels and strip width */
FC_NN_DEF(f, float)
FC_NN_DEF(d, double)
FC_NN_DOT_END(f, float)
FC_NN_DOT_END(d, double)
FC_NN_FWD(f, float, 8, FC_NN_NV8, )
FC_NN_FWD(f, float, 4, FC_NN_NV4, )
FC_NN_FWD(f, float, 2, FC_NN_NV2, )
FC_NN_FWD(f, float, 1, FC_NN_NV1, )
FC_NN_FWD(d, double, 8, FC_NN_NV8, )
FC_NN_FWD(d, double, 4, FC_NN_NV4, )
FC_NN_FWD(d, double, 2, FC_NN_NV2, )
FC_NN_FWD(d, double, 1, FC_NN_NV1, )
/* narrower strips for the end of a plane: half the vectors, or one */
FC_NN_FWD(f, float, 8, FC_NN_H(FC_NN_NV8), h)
FC_NN_FWD(f, float, 4, FC_NN_H(FC_NN_NV4), h)
FC_NN_FWD(f, float, 2, FC_NN_H(FC_NN_NV2), h)
FC_NN_FWD(f, float, 1, FC_NN_H(FC_NN_NV1), h)
FC_NN_FWD(d, double, 8, FC_NN_H(FC_NN_NV8), h)
FC_NN_FWD(d, double, 4, FC_NN_H(FC_NN_NV4), h)
FC_NN_FWD(d, double, 2, FC_NN_H(FC_NN_NV2), h)
FC_NN_FWD(d, double, 1, FC_NN_H(FC_NN_NV1), h)
FC_NN_FWD(f, float, 8, 1, o)
FC_NN_FWD(f, float, 4, 1, o)
FC_NN_FWD(f, float, 2, 1, o)
FC_NN_FWD(f, float, 1, 1, o)
FC_NN_FWD(d, double, 8, 1, o)
FC_NN_FWD(d, double, 4, 1, o)
FC_NN_FWD(d, double, 2, 1, o)
FC_NN_FWD(d, double, 1, 1, o)


/* channel-in-lanes blocks of every width up to FC_NN_CLR (a row's last block is
 * narrower) */
#define FC_NN_CL_ALL(SUF, T)                                                           \
    FC_NN_CL(SUF, T, 1) FC_NN_CL(SUF, T, 2) FC_NN_CL(SUF, T, 3)                        \
    FC_NN_CL(SUF, T, 4) FC_NN_CL(SUF, T, 5) FC_NN_CL(SUF, T, 6)
#define FC_NN_CL_LIST(SUF)                                                             \
    fc_nn_cl1_##SUF, fc_nn_cl2_##SUF, fc_nn_cl3_##SUF, fc_nn_cl4_##SUF,                \
    fc_nn_cl5_##SUF, fc_nn_cl6_##SUF
#if FC_NN_WIDE
#define FC_NN_CL_WIDE(SUF, T)                                                          \
    FC_NN_CL(SUF, T, 7) FC_NN_CL(SUF, T, 8) FC_NN_CL(SUF, T, 9)                        \
    FC_NN_CL(SUF, T, 10) FC_NN_CL(SUF, T, 11) FC_NN_CL(SUF, T, 12)                     \
    FC_NN_CL(SUF, T, 13) FC_NN_CL(SUF, T, 14)
#define FC_NN_CL_WLIST(SUF)                                                            \
    , fc_nn_cl7_##SUF, fc_nn_cl8_##SUF, fc_nn_cl9_##SUF, fc_nn_cl10_##SUF,             \
    fc_nn_cl11_##SUF, fc_nn_cl12_##SUF, fc_nn_cl13_##SUF, fc_nn_cl14_##SUF
#else
#define FC_NN_CL_WIDE(SUF, T)
#define FC_NN_CL_WLIST(SUF)
#endif

/* fc_nn_cl_*(r, ...): the block of r pixels, 1 <= r <= FC_NN_CLR */
#define FC_NN_CLPICK(SUF, T)                                                           \
FC_NN_CL_ALL(SUF, T)                                                                   \
FC_NN_CL_WIDE(SUF, T)                                                                  \
typedef void (*fc_nn_cl_fn_##SUF)(const T*, ptrdiff_t, ptrdiff_t, const ptrdiff_t*,   \
                                  ptrdiff_t, ptrdiff_t, ptrdiff_t, const T*, T*);      \
static const fc_nn_cl_fn_##SUF fc_nn_cl_tab_##SUF[FC_NN_CLR] = {                       \
    FC_NN_CL_LIST(SUF) FC_NN_CL_WLIST(SUF)};                                           \
static inline void fc_nn_cl_##SUF(int r, const T* in, ptrdiff_t cp, ptrdiff_t cin,     \
                                  const ptrdiff_t* toff, ptrdiff_t t0, ptrdiff_t t1,   \
                                  ptrdiff_t ntaps, const T* w, T* out) {               \
    fc_nn_cl_tab_##SUF[r - 1](in, cp, cin, toff, t0, t1, ntaps, w, out);               \
}

FC_NN_CLPICK(f, float)
FC_NN_CLPICK(d, double)

/* A pixel-major block (r pixels x FC_NN_CLV * VL channels) to the first nc
 * channels' rows: out[o * so + k * sp] = blk[k * CLV * VL + o] (strides in
 * elements). About a cycle an output: 10% of a layer whose sums are 147 deep
 * (3 channels x 7x7), 1% at 2304 (256 x 3x3); _lanes_chosen charges it. */
#define FC_NN_CLPUT(SUF, T)                                                            \
static void fc_nn_cl_put_##SUF(const T* blk, int r, int nc, T* out, ptrdiff_t so,      \
                               ptrdiff_t sp) {                                         \
    const int nb = FC_NN_CLV * (int)(FC_VEC_BYTES / sizeof(T));                        \
    int o, k;                                                                          \
    if (sp == 1) {                                                                     \
        for (o = 0; o < nc; o++)                                                       \
            for (k = 0; k < r; k++) out[o * so + k] = blk[k * nb + o];                 \
    } else {                                                                           \
        for (o = 0; o < nc; o++)                                                       \
            for (k = 0; k < r; k++) out[o * so + k * sp] = blk[k * nb + o];            \
    }                                                                                  \
}
FC_NN_CLPUT(f, float)
FC_NN_CLPUT(d, double)

/* Output channels per channel-in-lanes block. */
static inline ptrdiff_t fc_nn_cl_block(int dbl) {
    return FC_NN_CLV * (dbl ? FC_VEC_BYTES / 8 : FC_VEC_BYTES / 4);
}

/* Output pixels per strip for an output-channel block of ob (1, 2, 4 or 8). */
static inline ptrdiff_t fc_nn_strip(int ob, int dbl) {
    ptrdiff_t vl = dbl ? FC_VEC_BYTES / 8 : FC_VEC_BYTES / 4;
    return vl * (ob == 8 ? FC_NN_NV8 : ob == 4 ? FC_NN_NV4 : ob == 2 ? FC_NN_NV2 : FC_NN_NV1);
}

static inline ptrdiff_t fc_nn_vl(int dbl) {
    return dbl ? FC_VEC_BYTES / 8 : FC_VEC_BYTES / 4;
}

/* The variant for an output-channel block of ob and a strip of at least nv vectors:
 * full strips, and the narrower ones where a plane ends (the tail computes fewer
 * dropped pixels; each pixel's sum is the same whichever variant computes it). */
#define FC_NN_PICK(SUF, T)                                                             \
static inline void fc_nn_fwd_##SUF(int ob, ptrdiff_t nv, const T* in, ptrdiff_t cp,    \
                                   ptrdiff_t cin, const ptrdiff_t* toff,               \
                                   ptrdiff_t ntaps, const T* w, T* out, ptrdiff_t os) {\
    if (ob == 8) {                                                                     \
        if (nv <= 1) fc_nn_fwd8o_##SUF(in, cp, cin, toff, ntaps, w, out, os);          \
        else if (nv <= FC_NN_H(FC_NN_NV8)) fc_nn_fwd8h_##SUF(in, cp, cin, toff, ntaps, w, out, os); \
        else fc_nn_fwd8_##SUF(in, cp, cin, toff, ntaps, w, out, os);                   \
    } else if (ob == 4) {                                                              \
        if (nv <= 1) fc_nn_fwd4o_##SUF(in, cp, cin, toff, ntaps, w, out, os);          \
        else if (nv <= FC_NN_H(FC_NN_NV4)) fc_nn_fwd4h_##SUF(in, cp, cin, toff, ntaps, w, out, os); \
        else fc_nn_fwd4_##SUF(in, cp, cin, toff, ntaps, w, out, os);                   \
    } else if (ob == 2) {                                                              \
        if (nv <= 1) fc_nn_fwd2o_##SUF(in, cp, cin, toff, ntaps, w, out, os);          \
        else if (nv <= FC_NN_H(FC_NN_NV2)) fc_nn_fwd2h_##SUF(in, cp, cin, toff, ntaps, w, out, os); \
        else fc_nn_fwd2_##SUF(in, cp, cin, toff, ntaps, w, out, os);                   \
    } else {                                                                           \
        if (nv <= 1) fc_nn_fwd1o_##SUF(in, cp, cin, toff, ntaps, w, out, os);          \
        else if (nv <= FC_NN_H(FC_NN_NV1)) fc_nn_fwd1h_##SUF(in, cp, cin, toff, ntaps, w, out, os); \
        else fc_nn_fwd1_##SUF(in, cp, cin, toff, ntaps, w, out, os);                   \
    }                                                                                  \
}

FC_NN_PICK(f, float)
FC_NN_PICK(d, double)

#endif
