"""The multi-channel road of fastconv.nn: im2col (Numba) then np.matmul (BLAS).

A convolution layer is a matrix product once every output position's receptive
field is laid out as a column: ``y[n, g] = W[g] (Og x K) @ cols[n, g] (K x L)``
with ``K = C/groups * kh * kw`` and ``L = Ho * Wo``. The gradients are the two
other products of the same three matrices. The batch runs in chunks so the
column buffer stays near the L3 cache instead of growing with the batch.
"""
from __future__ import annotations

import numpy as np

from ._args import Geometry

# Column-buffer bytes per chunk. The buffer is written by im2col and read once by
# BLAS right after, so it should stay in the 32 MiB L3 of the development machine
# (AMD EPYC, 2 MiB L2 per core); 8-32 MiB measured within noise of each other
# (bench/test_bench_nn.py), larger chunks only cost memory.
_COLS_BYTES = 8 << 20


# im2col/col2im run on the calling thread: BLAS already uses every core for the
# product, and a second thread team (Numba's threads) between the products left its
# workers spinning on the cores BLAS needed. Measured on the 2-core machine, with
# other jobs running: 2 im2col threads made a 8x64x56^2 k3 layer 2-4x slower than 1.
_LAYOUT_THREADS = 1


def _chunk(n: int, bytes_per_sample: int) -> int:
    return max(1, min(n, _COLS_BYTES // max(1, bytes_per_sample)))


def _plain_1x1(k_hw: tuple[int, int], geom: Geometry) -> bool:
    """A 1x1 kernel with unit stride and no padding: the input's planes are the
    columns already, so the products read them in place. (im2col's copy of them and
    its buffer's first touch were 45% of a 8 x 256 x 14^2 layer: 2.1 ms against 1.1
    for the product alone.)"""
    return k_hw == (1, 1) and geom.stride == (1, 1) and geom.pad == ((0, 0), (0, 0))


def _kernels():
    from . import _kernels           # numba: imported on the first layer call only
    return _kernels


def forward(x: np.ndarray, w: np.ndarray, geom: Geometry, out_hw: tuple[int, int]) -> np.ndarray:
    """y (N, O, Ho, Wo) of the C-contiguous ``x`` and ``w`` (same float dtype)."""
    n, c, _, _ = x.shape
    o, cg, kh, kw = w.shape
    g = geom.groups
    k, length = cg * kh * kw, out_hw[0] * out_hw[1]
    wm = w.reshape(g, o // g, k)
    y = np.empty((n, g, o // g, length), x.dtype)
    if _plain_1x1((kh, kw), geom):
        np.matmul(wm, x.reshape(n, g, k, length), out=y)
        return y.reshape(n, o, *out_hw)
    nb = _chunk(n, g * k * length * x.itemsize)
    cols = np.empty((nb, g, k, length), x.dtype)
    kern = _kernels()
    for n0 in range(0, n, nb):
        m = min(nb, n - n0)
        kern.im2col(x[n0:n0 + m], cols[:m].reshape(m, g * k, length), geom, (kh, kw),
                    out_hw, _LAYOUT_THREADS)
        np.matmul(wm, cols[:m], out=y[n0:n0 + m])
    return y.reshape(n, o, *out_hw)


def grad_input(go: np.ndarray, w: np.ndarray, geom: Geometry,
               in_shape: tuple[int, int, int, int]) -> np.ndarray:
    """dL/dx (in_shape) from dL/dy ``go`` (N, O, Ho, Wo): col2im(W^T @ go)."""
    n, o, ho, wo = go.shape
    _, cg, kh, kw = w.shape
    g = geom.groups
    k, length = cg * kh * kw, ho * wo
    wt = w.reshape(g, o // g, k).transpose(0, 2, 1)
    gog = go.reshape(n, g, o // g, length)
    dx = np.empty(in_shape, go.dtype)
    if _plain_1x1((kh, kw), geom) and tuple(in_shape[2:]) == (ho, wo):
        # (a transposed layer's output padding adds rows no product reaches: col2im)
        np.matmul(wt, gog, out=dx.reshape(n, g, k, length))
        return dx
    nb = _chunk(n, g * k * length * go.itemsize)
    cols = np.empty((nb, g, k, length), go.dtype)
    kern = _kernels()
    for n0 in range(0, n, nb):
        m = min(nb, n - n0)
        np.matmul(wt, gog[n0:n0 + m], out=cols[:m])
        kern.col2im(cols[:m].reshape(m, g * k, length), dx[n0:n0 + m], geom, (kh, kw),
                    (ho, wo), _LAYOUT_THREADS)
    return dx


def grad_weight(x: np.ndarray, go: np.ndarray, geom: Geometry,
                w_shape: tuple[int, int, int, int]) -> np.ndarray:
    """dL/dW (w_shape) from the input and dL/dy: sum over the batch of go @ cols^T."""
    n, o, ho, wo = go.shape
    _, cg, kh, kw = w_shape
    g = geom.groups
    k, length = cg * kh * kw, ho * wo
    gog = go.reshape(n, g, o // g, length)
    gw = np.zeros((g, o // g, k), go.dtype)
    nb = _chunk(n, g * k * length * x.itemsize)
    plain = _plain_1x1((kh, kw), geom)
    cols = None if plain else np.empty((nb, g, k, length), x.dtype)
    part = np.empty((nb, g, o // g, k), x.dtype)
    kern = None if plain else _kernels()
    for n0 in range(0, n, nb):
        m = min(nb, n - n0)
        if plain:
            xc = x[n0:n0 + m].reshape(m, g, k, length)
        else:
            kern.im2col(x[n0:n0 + m], cols[:m].reshape(m, g * k, length), geom, (kh, kw),
                        (ho, wo), _LAYOUT_THREADS)
            xc = cols[:m]
        np.matmul(gog[n0:n0 + m], xc.transpose(0, 1, 3, 2), out=part[:m])
        gw += part[:m].sum(axis=0)
    return gw.reshape(w_shape)
