"""The N-d primitive: ``out[i] = sum_a w[a] * xpad[i + origin + a]`` with zero padding.

One dimension runs folded on the 2-D engine (``oned``), two dimensions are the
2-D primitive itself, and three or more are either the N-d direct kernel (one
threaded call for the whole sum, csrc/_nd_direct.pxi) or overlap-save FFTs over all
axes (``fft_nd``). Integers accumulate in the 2-D kernels' integer lanes
(``direct.compute_dtype``), so wrap-around is exact. Complex data, a forced
'separable' and the Numba backend sum 2-D correlations of slices.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._runtime import memory
from .._runtime.threads import get_num_threads
from . import fft_nd, kernels, plan
from .batch import correlate_rows, correlate_stack
from .boundary import FILL
from .direct import compute_dtype, converts_in_tile, lanes_view, threads_for
from .dispatch import correlate_plane_method
from .gates import all_finite, fft_dtype
from .oned import correlate_1d


def correlate_nd(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int],
                 origin: Sequence[int], dt: np.dtype, method: str) -> np.ndarray:
    """The primitive for any ndim >= 1; ``x`` and ``w`` hold ``dt`` values and
    ``w`` is applied as given (already flipped or conjugated by the caller)."""
    out_shape = tuple(map(int, out_shape))
    if 0 in out_shape or w.size == 0:
        return np.zeros(out_shape, dt)
    if x.ndim == 1:
        return correlate_1d(x, w, out_shape[0], origin[0], dt,
                            "direct" if method == "separable" else method)
    if x.ndim == 2:
        return correlate_plane_method(x, w, out_shape, tuple(origin), FILL, 0, dt, method)
    if math.prod(w.shape[:-2]) == 1:     # w is not empty: every length is >= 1
        return _correlate_stack(x, w, out_shape, origin, dt, method)
    if method == "auto":
        method = _choose_nd(x, w, out_shape, dt)
    if method == "fft" and _fft_ok(x, w, out_shape, dt):
        return fft_nd.correlate_fft(x, w, out_shape, origin, dt, fft_dtype(dt),
                                    get_num_threads())
    if method == "separable" or not direct_nd_applies(dt):
        return _correlate_slices(x, w, out_shape, origin, dt,
                                 "direct" if method == "fft" else method)
    if x.size == 0:
        return np.zeros(out_shape, dt)
    return _direct_nd(x, w, out_shape, origin, dt)


# Kernels of at most this many taps run direct under 'auto' without the cost model.
AUTO_DIRECT_TAPS = 27


def routes_to_direct_nd(w_shape: Sequence[int], method: str) -> bool:
    """Whether correlate_nd sends a 3-D call of a real type whose ``direct_nd_applies``
    with a kernel of this shape to the N-d direct kernel, whatever the values (the N-d
    front plans such calls): not a stack's one-deep kernel, and 'direct', or 'auto'
    with a kernel small enough to skip the cost model."""
    return math.prod(w_shape[:-2]) != 1 and (
        method == "direct" or (method == "auto" and math.prod(w_shape) <= AUTO_DIRECT_TAPS))


def direct_nd_applies(dt: np.dtype) -> bool:
    """Whether the N-d direct kernel computes ``dt`` here: real types, Cython
    kernels (the Numba backend has 2-D kernels only)."""
    return dt.kind != "c" and not kernels.uses_numba()


# a 3-D input is its own only sub-volume
_ONE_VOLUME = np.zeros(1, np.intp)
_ONE_VOLUME.flags.writeable = False
_nd_kernels: dict[tuple[object, str, bool], Any] = {}


def _nd_kernel(mod: Any, ct: np.dtype, cast: bool = False) -> Any:
    """correlate_valid_nd (``cast``: correlate_valid_nd_cast, which converts x in the
    tiles) of build ``mod`` specialised for ``ct`` (matching the fused signatures on
    every call cost ~1 us)."""
    key = (mod, ct.char, cast)
    fn = _nd_kernels.get(key)
    if fn is None:
        # the specialisations are correlate_valid's (same fused types)
        f = mod.correlate_valid_nd_cast if cast else mod.correlate_valid_nd
        fn = _nd_kernels[key] = f[kernels._SPECIALISATIONS[ct]]
    return fn


def _subvolume_offsets(x: np.ndarray, w_lead: Sequence[int], out_lead: Sequence[int],
                       origin: Sequence[int], none: int) -> np.ndarray:
    """``grp[u, g]``: byte offset from ``x[0, ..., 0]`` of the 3-D sub-volume that
    output index u meets with kernel index g over x's axes before the last three
    (both flattened in C order), or ``none`` where that sub-volume is padding."""
    n = len(out_lead)
    off = np.zeros((1,) * (2 * n), np.intp)
    ok = np.ones((1,) * (2 * n), bool)
    for d in range(n):
        src = (np.arange(out_lead[d]) + origin[d])[:, None] + np.arange(w_lead[d])[None, :]
        shape = [1] * (2 * n)
        shape[d], shape[n + d] = out_lead[d], w_lead[d]
        off = off + (src * x.strides[d]).reshape(shape)
        ok = ok & ((src >= 0) & (src < x.shape[d])).reshape(shape)
    grp = np.where(ok, off, none)
    return np.ascontiguousarray(grp.reshape(math.prod(out_lead), math.prod(w_lead)),
                                dtype=np.intp).ravel()


def correlate_direct_nd(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int],
                        origin: Sequence[int], dt: np.dtype) -> np.ndarray:
    """The zero-padded primitive for ndim >= 3 in one call of the N-d direct kernel:
    the axes before the last three are flattened into a table of sub-volumes, the
    last three are the kernel's planes, rows and columns."""
    out_shape = tuple(map(int, out_shape))
    if x.size == 0 or w.size == 0 or 0 in out_shape:
        return np.zeros(out_shape, dt)
    return _direct_nd(x, w, out_shape, origin, dt)


def _direct_nd(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, ...],
               origin: Sequence[int], dt: np.dtype) -> np.ndarray:
    """correlate_direct_nd of non-empty arrays, ``out_shape`` a tuple of ints. Kept
    lean: a 32 x 64 x 64 volume with a 3^3 kernel is a ~60 us call on 2 cores, and
    this front's Python was ~10 us of it."""
    ct = compute_dtype(dt)
    mod = kernels.build()
    n = x.ndim - 3
    xl = lanes_view(x, ct)          # signed/unsigned of the lanes' width: a view
    # another type is converted row by row in the tiles, else copied whole (float16)
    cast = xl is None and converts_in_tile(x, ct)
    xc = xl if xl is not None else x if cast else x.astype(ct)
    grp = _ONE_VOLUME if n == 0 else _subvolume_offsets(xc, w.shape[:n], out_shape[:n],
                                                        origin[:n], mod.ND_NONE)
    w4 = np.ascontiguousarray(w[None] if n == 0 else w.reshape((-1,) + w.shape[n:]),
                              dtype=ct)
    # 8-bit results from 16-bit lanes: the tiles store each result's low byte
    narrow = cast and dt.kind in "iu" and dt.itemsize < ct.itemsize
    rdt = dt if dt.itemsize == ct.itemsize or narrow else ct
    shape = (grp.size // w4.shape[0],) + out_shape[n:]
    # small results are numpy's own (the recycling policy's call costs ~0.3 us more)
    size = math.prod(shape)
    res = (memory.empty if size * rdt.itemsize >= memory.MIN_BYTES else np.empty)(shape, rdt)
    out = res if narrow else lanes_view(res, ct)
    # a finite kernel times a plane of padding adds zeros: the kernel skips them
    # (-1: the kernel checks w's values itself, ~2 us less than numpy's isfinite)
    fn = _nd_kernel(mod, ct, cast)
    fn(xc[(0,) * n], grp, w4, out, origin[n], origin[n + 1], origin[n + 2],
       1 if ct.kind in "iu" else -1, threads_for(size * w4.size, ct.itemsize))
    res = res.reshape(out_shape)
    # `is` first: a dtype comparison costs ~0.15 us
    return res if rdt is dt or rdt == dt else res.astype(dt)


def _correlate_stack(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, ...],
                     origin: Sequence[int], dt: np.dtype, method: str) -> np.ndarray:
    """A kernel one deep along the leading axes: a 2-D kernel for every plane of a
    stack, run as the batch functions run it (planned once; small planes spread over
    the worker pool), not as one tall image per kernel plane (0.36-0.63x of
    convolve2d_batch on 64 x 256^2). Such a kernel pads nothing on the leading axes,
    so the output keeps x's leading shape."""
    imgs = x.reshape((-1,) + x.shape[-2:])
    w2 = np.ascontiguousarray(w.reshape(w.shape[-2:]), dtype=dt)
    plane = out_shape[-2:]
    if method == "auto":
        method = plan.choose(plane, w2, dt, fft_dtype(dt) is not None)[0]
    out = memory.empty((imgs.shape[0],) + plane, dt)
    correlate_stack(out, imgs, w2, tuple(origin[-2:]), FILL, 0, dt, method)
    return out.reshape(out_shape)


def _fft_ok(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int], dt: np.dtype) -> bool:
    """The FFT is used only where it keeps the exact contract (see dispatch)."""
    if fft_dtype(dt) is None or not all_finite(x, w, 0):
        return False
    if dt.kind in "iu":
        return fft_nd.is_exact_for_integers(x, w, out_shape)
    return True


_SLICES_OVERHEAD = 5.0


def _choose_nd(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int], dt: np.dtype) -> str:
    """'direct' or 'fft' by the cost model's constants, applied to N-d counts."""
    if w.size <= AUTO_DIRECT_TAPS:
        return "direct"
    if direct_nd_applies(dt):
        direct = plan.direct_nd_cost(tuple(out_shape), w.shape, dt)
    else:
        # complex data sums 2-D correlations of slices: one 2-D call per kernel
        # plane over stacked, padded planes with short rows, 3-10x slower per tap
        # than the 2-D model says (measured on (32..64, 64, 64) volumes with 5^3 and
        # 9^3 kernels, float32, 2 threads)
        lead_out = math.prod(out_shape[:-2])
        lead_w = math.prod(w.shape[:-2])
        direct = _SLICES_OVERHEAD * plan.direct_cost(
            (lead_out * out_shape[-2], out_shape[-1]), (lead_w * w.shape[-2], w.shape[-1]),
            dt)
    return "fft" if plan.fft_nd_cost(out_shape, w.shape, dt) < direct else "direct"


def _padded_window(x: np.ndarray, origin: Sequence[int], shape: Sequence[int],
                   dt: np.dtype) -> np.ndarray:
    """``xpad[origin : origin + shape]`` of the zero-padded x, as a new array."""
    win = np.zeros(tuple(shape), dt)
    dst, src = [], []
    for o, n, length in zip(origin, x.shape, shape):
        lo, hi = max(0, o), min(n, o + length)
        dst.append(slice(lo - o, max(lo - o, hi - o)))
        src.append(slice(lo, max(lo, hi)))
    win[tuple(dst)] = x[tuple(src)]
    return win


def _correlate_slices(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int],
                      origin: Sequence[int], dt: np.dtype, method: str) -> np.ndarray:
    """Sum over the leading kernel indices of 2-D correlations of x's slices."""
    if x.ndim == 3:
        return _correlate_3d(x, w, out_shape, origin, dt, method)
    out = np.zeros(out_shape, dt)
    for i in range(out_shape[0]):
        for a in range(w.shape[0]):
            src = i + origin[0] + a
            if 0 <= src < x.shape[0]:  # else this slice of xpad is padding: adds zeros
                # integers wrap in place (numpy's array addition is modular)
                out[i] += _correlate_slices(x[src], w[a], out_shape[1:], origin[1:], dt,
                                            method)
    return out


def _correlate_3d(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int],
                  origin: Sequence[int], dt: np.dtype, method: str) -> np.ndarray:
    """One 2-D call per kernel plane: the zero-padded window of x, its planes
    stacked into one tall image, is correlated with w[a]; rows that straddle two
    planes are computed and discarded ((K-1) of every Ho+K-1 rows)."""
    O, Ho, Wo = out_shape
    A, K, L = w.shape
    P, Q = Ho + K - 1, Wo + L - 1
    xpad = _padded_window(x, origin, (O + A - 1, P, Q), dt)
    out = np.zeros(out_shape, dt)
    rows = O * P - K + 1
    for a in range(A):
        tall = xpad[a:a + O].reshape(O * P, Q)
        res = np.empty((rows, Wo), dt)
        correlate_rows(res, tall, w[a], dt, method)
        # output plane i is rows i*P .. i*P+Ho-1 of the tall result
        r = res.strides[0]
        out += np.lib.stride_tricks.as_strided(res, (O, Ho, Wo), (P * r, r, res.strides[1]),
                                               writeable=False)
    return out
