"""Numba ``prange`` kernels of fastconv.nn: im2col and its adjoint col2im.

Imported only when a layer runs (``import fastconv.nn`` does not import numba);
compiled on first use per dtype and cached on disk (``cache=True``). Padding is
applied on the fly, so the caller's input is never copied to a padded array.
Each task owns one (sample, channel) plane, so no two threads write one element.
"""
from __future__ import annotations

import numba
import numpy as np

from .._runtime.numba_threads import jit, run


def _span(off, stride, n_in, n_out):
    """Output indices j0..j1 whose input index j*stride + off lies in [0, n_in)."""
    j0 = max(0, (-off + stride - 1) // stride)
    last = n_in - 1 - off
    j1 = min(n_out, last // stride + 1) if last >= 0 else 0
    return j0, max(j0, j1)


_span_nb = numba.njit(cache=True, inline="always")(_span)


def _im2col_py(x, cols, sh, sw, ph, pw, dh, dw, kh, kw, ho, wo):
    nb, c_in, h, w = x.shape
    for t in numba.prange(nb * c_in):
        n = t // c_in
        c = t - n * c_in
        for a in range(kh):
            i0, i1 = _span_nb(a * dh - ph, sh, h, ho)
            for b in range(kw):
                off = b * dw - pw
                j0, j1 = _span_nb(off, sw, w, wo)
                dst = cols[n, (c * kh + a) * kw + b]
                dst[:i0 * wo] = 0
                dst[i1 * wo:] = 0
                for i in range(i0, i1):
                    src = x[n, c, i * sh + a * dh - ph]
                    base = i * wo
                    dst[base:base + j0] = 0
                    if sw == 1:        # a slice copy vectorises; the strided gather cannot
                        dst[base + j0:base + j1] = src[j0 + off:j1 + off]
                    elif j1 > j0:
                        dst[base + j0:base + j1] = src[j0 * sw + off:(j1 - 1) * sw + off + 1:sw]
                    dst[base + j1:base + wo] = 0


def _col2im_py(cols, dx, sh, sw, ph, pw, dh, dw, kh, kw, ho, wo):
    nb, c_in, h, w = dx.shape
    for t in numba.prange(nb * c_in):
        n = t // c_in
        c = t - n * c_in
        dx[n, c] = 0
        for a in range(kh):
            i0, i1 = _span_nb(a * dh - ph, sh, h, ho)
            for b in range(kw):
                off = b * dw - pw
                j0, j1 = _span_nb(off, sw, w, wo)
                srcrow = cols[n, (c * kh + a) * kw + b]
                for i in range(i0, i1):
                    dst = dx[n, c, i * sh + a * dh - ph]
                    base = i * wo
                    if sw == 1:
                        dst[j0 + off:j1 + off] += srcrow[base + j0:base + j1]
                    else:
                        for j in range(j0, j1):
                            dst[j * sw + off] += srcrow[base + j]


def _plane_grad_weight_py(xp, go, part, rows, zero):
    nb, c_in, ho, wo = go.shape
    kh, kw = part.shape[1], part.shape[2]
    nblk = (ho + rows - 1) // rows
    for t in numba.prange(nb * c_in * nblk):
        nc = t // nblk
        n = nc // c_in
        c = nc - n * c_in
        r0 = (t - nc * nblk) * rows
        for i in range(r0, min(ho, r0 + rows)):
            for a in range(kh):
                for b in range(kw):
                    acc = zero
                    for j in range(wo):
                        acc += xp[n, c, i + a, j + b] * go[n, c, i, j]
                    part[t, a, b] += acc


_im2col = jit(_im2col_py)
_col2im = jit(_col2im_py)
# A dot-product reduction: LLVM vectorises it only when allowed to reassociate
# (and to ignore the sign of zero); the sum order changes within rounding, while
# NaN and Inf keep their IEEE meaning (no 'nnan'/'ninf').
_plane_grad_weight = numba.njit(parallel=True, nogil=True, cache=True,
                                fastmath={"reassoc", "nsz", "contract"})(_plane_grad_weight_py)


def im2col(x: np.ndarray, cols: np.ndarray, geom, k_hw, out_hw, nthreads: int) -> None:
    """cols[n, (c, a, b), i*wo + j] = x[n, c, i*sh + a*dh - ph, j*sw + b*dw - pw] (0 outside)."""
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    run(_im2col, nthreads, x, cols, sh, sw, geom.pad[0][0], geom.pad[1][0],
        dh, dw, k_hw[0], k_hw[1], out_hw[0], out_hw[1])


def col2im(cols: np.ndarray, dx: np.ndarray, geom, k_hw, out_hw, nthreads: int) -> None:
    """The adjoint of :func:`im2col`: dx = sum of cols scattered back (overwrites dx)."""
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    run(_col2im, nthreads, cols, dx, sh, sw, geom.pad[0][0], geom.pad[1][0],
        dh, dw, k_hw[0], k_hw[1], out_hw[0], out_hw[1])


def plane_grad_weight(xp: np.ndarray, go: np.ndarray, k_hw, nthreads: int) -> np.ndarray:
    """gw[c, 0, a, b] = sum_n,i,j xp[n, c, i + a, j + b] go[n, c, i, j] for the padded
    input ``xp``: the weight gradient of one-channel-per-group planes (unit stride
    and dilation) without an im2col buffer of kh*kw copies of the input."""
    n, c, ho, _ = go.shape
    tasks = 4 * nthreads          # a few row blocks per thread even out the load
    rows = max(1, min(ho, -(-n * c * ho // tasks)))
    nblk = -(-ho // rows)
    part = np.zeros((n * c * nblk,) + tuple(k_hw), go.dtype)
    run(_plane_grad_weight, nthreads, xp, go, part, rows, go.dtype.type(0))
    return part.reshape(n, c, nblk, *k_hw).sum(axis=(0, 2))[:, None]
