"""Numba ``prange`` kernels for the direct primitive (the host-specific JIT path).

Imported only when this path is used, so ``import fastconv`` never pays for numba.
Compiled on first use for each dtype and cached on disk (``cache=True``); when
neither the install folder nor numba's per-user cache folder is writable, the
kernels compile in memory instead of failing.
"""
from __future__ import annotations

import numba
import numpy as np

from .._runtime.numba_threads import jit, run

_TILE_ROWS = 32        # output rows per task: their padded input rows stay in L2


def _correlate_valid_py(x, w, out, rowmap, colmap, fill):
    Ho, Wo = out.shape
    K, L = w.shape
    Wp = Wo + L - 1
    ntiles = (Ho + _TILE_ROWS - 1) // _TILE_ROWS
    for t in numba.prange(ntiles):
        r0 = t * _TILE_ROWS
        nr = min(_TILE_ROWS, Ho - r0)
        buf = np.empty((nr + K - 1, Wp), out.dtype)
        for p in range(nr + K - 1):
            r = rowmap[r0 + p]
            for q in range(Wp):
                c = colmap[q]
                buf[p, q] = x[r, c] if (r >= 0 and c >= 0) else fill
        acc = np.empty(Wo, out.dtype)
        for i in range(nr):
            acc[:] = 0
            for a in range(K):
                for b in range(L):
                    wv = w[a, b]
                    for j in range(Wo):     # contiguous, tap hoisted: LLVM vectorises it
                        acc[j] += wv * buf[i + a, b + j]
            out[r0 + i, :] = acc


_correlate_valid = jit(_correlate_valid_py)


def _axis_map(origin: int, count: int, n: int, boundary: int) -> np.ndarray:
    """Source index of padded positions origin..origin+count-1; -1 means fill."""
    j = np.arange(origin, origin + count, dtype=np.int64)
    inside = (j >= 0) & (j < n)
    if boundary == 0 or n == 0:
        return np.where(inside, j, -1)
    if boundary == 1:
        return j % n
    k = np.where(j < 0, -1 - j, j) % (2 * n)
    return np.where(k >= n, 2 * n - 1 - k, k)


def correlate_valid(x, w, out, oy, ox, boundary, fill, nthreads):
    """Same contract as the Cython ``correlate_valid`` (csrc/_direct.pxi)."""
    Ho, Wo = out.shape
    K, L = w.shape
    rowmap = _axis_map(oy, Ho + K - 1, x.shape[0], boundary)
    colmap = _axis_map(ox, Wo + L - 1, x.shape[1], boundary)
    run(_correlate_valid, nthreads, x, w, out, rowmap, colmap, out.dtype.type(fill))
