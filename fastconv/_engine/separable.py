"""Separable kernels: detect an outer product and run two 1-D passes.

A K x L kernel ``w = outer(u, v)`` turns K*L multiply-adds per output into K+L:
first ``t = xpad (*) v`` along rows for the K-1 extra rows the second pass needs,
then ``out = t (*) u`` along columns. Both passes are the direct primitive with a
1 x L and a K x 1 kernel, so boundaries, threads and dtypes behave as there.
Real types run both in one compiled call (the fused kernel: the intermediate
rows stay in a ring in L1); complex types and the Numba backend run two calls.

Integers stay bit-exact: an integer kernel is split only into integer factors
(``outer(u, v) == w`` exactly), and wrap-around arithmetic is a ring, so the
two-pass sum equals the direct one modulo 2**bits.
"""
from __future__ import annotations

import math
from functools import lru_cache, reduce
from typing import Any

import numpy as np

from . import kernels
from .boundary import FILL
from .direct import (compute_dtype, converts_in_tile, correlate_plane, deliver, lane_scalar,
                     lanes_view, out_lanes, threads_for)

# A float kernel counts as rank 1 when the rest of its SVD is below this many
# units of rounding of its largest singular value (rounding while building an
# outer product in the kernel's own precision leaves a few units).
_RANK1_ULPS = 16


def factor(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(u, v)`` with ``outer(u, v) == w`` (to rounding for floats, exactly for
    integers), or None when ``w`` is not rank 1. The factors are read-only."""
    if w.size > _CACHE_MAX_TAPS:
        return _factor(w)
    # The same kernel comes back call after call (and per chunk of a Dask array):
    # remember the last few answers (the SVD of a 15 x 15 kernel took 0.3 ms).
    return _factor_cached(w.dtype.str, w.shape, w.tobytes())


_CACHE_MAX_TAPS = 64 * 64


@lru_cache(maxsize=16)
def _factor_cached(dtype: str, shape: tuple[int, int], data: bytes
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    uv = _factor(np.frombuffer(data, dtype).reshape(shape))
    if uv is not None:
        for a in uv:
            a.flags.writeable = False
    return uv


def _factor(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    K, L = w.shape
    if K < 2 or L < 2 or not np.isfinite(w).all():
        return None
    if w.dtype.kind in "iub":
        return _factor_int(w.astype(np.int64))
    ww = w.astype(np.complex128 if w.dtype.kind == "c" else np.float64)
    # Cheap rejection before the SVD: rank 1 means every 2x2 minor of the
    # pivot row/column vanishes; test against the largest entry's row/column.
    p = np.unravel_index(np.argmax(np.abs(ww)), ww.shape)
    if ww[p] == 0:
        return None
    cand = np.outer(ww[:, p[1]], ww[p[0], :]) / ww[p]
    scale = np.abs(ww).max()
    if np.abs(cand - ww).max() > 1e-3 * scale:
        return None
    uu, s, vh = np.linalg.svd(ww)
    eps = np.finfo(w.real.dtype if w.dtype.kind == "c" else w.dtype).eps
    if s[1] > _RANK1_ULPS * eps * s[0] * math.sqrt(K * L):
        return None
    r = math.sqrt(s[0])
    return uu[:, 0] * r, vh[0, :] * r


def _factor_int(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    nz = np.flatnonzero(np.any(w != 0, axis=1))
    if nz.size == 0:
        return None
    row = w[nz[0]]
    g = reduce(math.gcd, (int(abs(v)) for v in row))
    v = row // g
    c = int(np.flatnonzero(v)[0])
    u = w[:, c] // v[c]
    if not np.array_equal(np.outer(u, v), w):
        return None
    return u, v


def correlate_plane_separable(x: np.ndarray, u: np.ndarray, v: np.ndarray,
                              out_shape: tuple[int, int], origin: tuple[int, int],
                              boundary: int, fill: Any, dtype: np.dtype) -> np.ndarray:
    """The primitive for ``w = outer(u, v)`` as two passes of the direct primitive
    (for complex types and the Numba backend)."""
    Ho, Wo = out_shape
    K = u.shape[0]
    oy, ox = origin
    t = correlate_plane(x, v.reshape(1, -1).astype(dtype), (Ho + K - 1, Wo), (oy, ox),
                        boundary, fill, dtype)
    return correlate_plane(t, u.reshape(-1, 1).astype(dtype), (Ho, Wo), (0, 0), FILL, 0,
                           dtype)


def checks_itself(method: str, dt: np.dtype) -> bool:
    """Whether ``method`` runs the fused separable kernel, which finds Inf and NaN
    in x itself (so x needs no separate pass over memory first)."""
    return method == "separable" and dt.kind != "c" and not kernels.uses_numba()


def correlate_fused(x: np.ndarray, u: np.ndarray, v: np.ndarray,
                    out_shape: tuple[int, int], origin: tuple[int, int], boundary: int,
                    fill: Any, dt: np.dtype, out: np.ndarray | None = None
                    ) -> np.ndarray | None:
    """Both 1-D passes in one compiled call (the intermediate stays in L1), the
    result in ``dt`` (into ``out`` if given); None when x turned out to hold Inf or
    NaN (the result then holds garbage). ``x`` is read in its own type where the
    strips can convert it, as the direct tiles do."""
    ct = compute_dtype(dt)
    res = out if out is not None and out.flags.writeable and out_lanes(out, ct) is not None \
        else np.empty(out_shape, dt)
    ol = out_lanes(res, ct)
    xl = lanes_view(x, ct)
    nt = threads_for(out_shape[0] * out_shape[1] * (u.size + v.size), ct.itemsize)
    args = (u.astype(ct), v.astype(ct), ol, origin[0], origin[1], boundary,
            lane_scalar(fill, dt, ct), nt)
    mod = kernels.build()
    if xl is not None and ol.dtype == ct:
        finite = mod.correlate_valid_separable(xl, *args)
    else:
        xc = x if converts_in_tile(x, ct) else x.astype(ct)
        finite = mod.correlate_valid_separable_cast(xc, *args)
    if not finite:
        return None
    return deliver(res, out)
