/* Weight-gradient loops of fastconv.nn's direct road (csrc/_nn_direct.pxi), with
 * output channels in the vector lanes, in the manner of oneDNN's backward-weights
 * kernels:
 *
 *   gw[o][c, t] = sum over the batch and the output pixels (i, j) of
 *                 go[o][i, j] * x[c][i * WB + j + toff[t]]
 *
 * The gradient is first transposed into blocks of VL output channels, pixel-major
 * (gt[q][lane], q = i * Wo + j), the input stays in its packed planes (pitch WB).
 * fc_nn_gwo*_* keeps OV blocks of VL output channels x CT (channel, tap) pairs in
 * registers and walks the output pixels: per pixel OV vector loads of the gradient
 * and CT broadcast inputs feed OV * CT multiply-adds. Only real output pixels are
 * visited, so every product is one torch forms (no padding columns multiplied by
 * zero gradients) and each sum runs over the pixels in one fixed order: the block,
 * the task and the thread count do not change a bit of it.
 *
 * GCC vector extensions where the compiler has them (FC_HAVE_VEC); plain loops
 * otherwise (MSVC), with the same sums in the same order.
 */
#ifndef FC_NN_GW_H
#define FC_NN_GW_H

#include "_nn_rows.h"
#include "_rows2.h"

/* (channel, tap) pairs per register block for OV vectors of output channels: OV * CT
 * accumulators + OV gradient vectors + a broadcast fill the register file. The
 * widest block that the channels fill is taken (FC_NN_GOV at most): it loads the
 * fewest vectors per multiply-add (4 x 6: 10 loads a 24; 2 x 6: 8 a 12 on 16
 * registers, where 4 x 3 would spill). */
#if FC_NN_WIDE
#define FC_NN_GOV 4
#define FC_NN_GCT1 12
#define FC_NN_GCT2 12
#define FC_NN_GCT4 6
#else
#define FC_NN_GOV 2
#define FC_NN_GCT1 12
#define FC_NN_GCT2 6
#define FC_NN_GCT4 2
#endif

#if FC_HAVE_VEC

/* acc[(c * OV + o) * VL + lane] += sum over rows r < nr, columns j < wo of
 * g[o][(r * wo + j) * VL + lane] * x[c][r * wb + j]  (g[o] = g + o * gs) */
#define FC_NN_GWO(SUF, T, OV, CT)                                                      \
static void fc_nn_gwo##OV##_##SUF(const T* g, ptrdiff_t gs, const T* const* x,         \
                                  ptrdiff_t nr, ptrdiff_t wo, ptrdiff_t wb,            \
                                  T* acc_mem) {                                        \
    fc_nnv_##SUF acc[CT][OV], gv[OV];                                                  \
    const T* xr[CT];                                                                   \
    ptrdiff_t r, j;                                                                    \
    int o, c;                                                                          \
    for (c = 0; c < CT; c++) {                                                         \
        xr[c] = x[c];                                                                  \
        for (o = 0; o < OV; o++)                                                       \
            memcpy(&acc[c][o], acc_mem + (c * OV + o) * FC_NN_VL_##SUF,                \
                   sizeof acc[c][o]);                                                  \
    }                                                                                  \
    for (r = 0; r < nr; r++) {                                                         \
        for (j = 0; j < wo; j++, g += FC_NN_VL_##SUF) {                                \
            for (o = 0; o < OV; o++) gv[o] = fc_nn_load_##SUF(g + o * gs);             \
            for (c = 0; c < CT; c++) {                                                 \
                const T xb = xr[c][j];                                                 \
                for (o = 0; o < OV; o++) acc[c][o] += gv[o] * xb;                      \
            }                                                                          \
        }                                                                              \
        for (c = 0; c < CT; c++) xr[c] += wb;                                          \
    }                                                                                  \
    for (c = 0; c < CT; c++)                                                           \
        for (o = 0; o < OV; o++)                                                       \
            memcpy(acc_mem + (c * OV + o) * FC_NN_VL_##SUF, &acc[c][o],                \
                   sizeof acc[c][o]);                                                  \
}

/* dst[q * VL + l] = src[l * ss + q] for q < nq, l < VL: VL rows of the gradient
 * (output channels) as pixel-major lanes, VL x VL blocks transposed in registers by
 * log2(VL) rounds of zips */
#define FC_NN_LANES(SUF, T)                                                            \
static void fc_nn_lanes_##SUF(const T* src, ptrdiff_t ss, ptrdiff_t nq, T* dst) {      \
    fc_vec_##SUF v[FC_VL_##SUF], u[FC_VL_##SUF];                                       \
    ptrdiff_t q = 0;                                                                   \
    int l, h;                                                                          \
    for (; q + FC_VL_##SUF <= nq; q += FC_VL_##SUF) {                                  \
        for (l = 0; l < FC_VL_##SUF; l++) memcpy(&v[l], src + l * ss + q, sizeof v[l]); \
        for (h = FC_VL_##SUF / 2; h >= 1; h /= 2) {                                    \
            for (l = 0; l < FC_VL_##SUF / 2; l++) {                                    \
                u[2 * l] = fc_zip_##SUF(v[l], v[l + FC_VL_##SUF / 2], 0);              \
                u[2 * l + 1] = fc_zip_##SUF(v[l], v[l + FC_VL_##SUF / 2], 1);          \
            }                                                                          \
            memcpy(v, u, sizeof v);                                                    \
        }                                                                              \
        for (l = 0; l < FC_VL_##SUF; l++)                                              \
            memcpy(dst + (q + l) * FC_VL_##SUF, &v[l], sizeof v[l]);                   \
    }                                                                                  \
    for (; q < nq; q++)                                                                \
        for (l = 0; l < FC_VL_##SUF; l++) dst[q * FC_VL_##SUF + l] = src[l * ss + q];  \
}

#else  /* plain C: the same sums, lane by lane (MSVC) */

#define FC_NN_LANES(SUF, T)                                                            \
static void fc_nn_lanes_##SUF(const T* src, ptrdiff_t ss, ptrdiff_t nq, T* dst) {      \
    ptrdiff_t q;                                                                       \
    int l;                                                                             \
    for (q = 0; q < nq; q++)                                                           \
        for (l = 0; l < FC_NN_VL_##SUF; l++) dst[q * FC_NN_VL_##SUF + l] = src[l * ss + q]; \
}

#define FC_NN_GWO(SUF, T, OV, CT)                                                      \
static void fc_nn_gwo##OV##_##SUF(const T* g, ptrdiff_t gs, const T* const* x,         \
                                  ptrdiff_t nr, ptrdiff_t wo, ptrdiff_t wb,            \
                                  T* acc_mem) {                                        \
    ptrdiff_t r, j;                                                                    \
    int o, c, l;                                                                       \
    for (r = 0; r < nr; r++)                                                           \
        for (j = 0; j < wo; j++, g += FC_NN_VL_##SUF)                                  \
            for (c = 0; c < CT; c++) {                                                 \
                const T xb = x[c][r * wb + j];                                         \
                for (o = 0; o < OV; o++)                                               \
                    for (l = 0; l < FC_NN_VL_##SUF; l++)                               \
                        acc_mem[(c * OV + o) * FC_NN_VL_##SUF + l] += g[o * gs + l] * xb; \
            }                                                                          \
}

#endif

FC_NN_LANES(f, float)
FC_NN_LANES(d, double)
FC_NN_GWO(f, float, 1, FC_NN_GCT1)
FC_NN_GWO(f, float, 2, FC_NN_GCT2)
FC_NN_GWO(f, float, 4, FC_NN_GCT4)
FC_NN_GWO(d, double, 1, FC_NN_GCT1)
FC_NN_GWO(d, double, 2, FC_NN_GCT2)
FC_NN_GWO(d, double, 4, FC_NN_GCT4)

/* (channel, tap) pairs per register block for OV (1, 2 or 4) vectors of channels */
static inline int fc_nn_gwo_ct(int ov) {
    return ov == 4 ? FC_NN_GCT4 : ov == 2 ? FC_NN_GCT2 : FC_NN_GCT1;
}

/* the largest OV worth taking on this build */
static inline int fc_nn_gwo_ov(void) { return FC_NN_GOV; }

#define FC_NN_GWO_PICK(SUF, T)                                                         \
static inline void fc_nn_gwo_##SUF(int ov, const T* g, ptrdiff_t gs, const T* const* x, \
                                   ptrdiff_t nr, ptrdiff_t wo, ptrdiff_t wb, T* acc) {  \
    if (ov == 4) fc_nn_gwo4_##SUF(g, gs, x, nr, wo, wb, acc);                          \
    else if (ov == 2) fc_nn_gwo2_##SUF(g, gs, x, nr, wo, wb, acc);                     \
    else fc_nn_gwo1_##SUF(g, gs, x, nr, wo, wb, acc);                                  \
}

FC_NN_GWO_PICK(f, float)
FC_NN_GWO_PICK(d, double)

/* Asks for the cache lines of [p, p + nbytes) (into L2) ahead of their use; nothing
 * where the compiler has no prefetch builtin. */
static inline void fc_nn_prefetch(const void* p, ptrdiff_t nbytes) {
#if defined(__GNUC__) || defined(__clang__)
    const char* c = (const char*)p;
    ptrdiff_t i;
    for (i = 0; i < nbytes; i += 64) __builtin_prefetch(c + i, 0, 2);
    if (nbytes > 0) __builtin_prefetch(c + nbytes - 1, 0, 2);
#else
    (void)p;
    (void)nbytes;
#endif
}

#endif
