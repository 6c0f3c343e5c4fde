"""1-D correlation on the 2-D engine, folded so that every thread has rows to do.

The 2-D kernels split work by output rows, so a long signal run as ONE row would
use one thread and a row buffer the size of the signal. Instead the interior of
the output is folded into a matrix: with a chunk length C,

    out[i0 + r*C + c] = sum_b w[b] * x[s0 + r*C + c + b]

is a 2-D 'valid' correlation of the overlapping strided VIEW
``xv[r, c] = x[s0 + r*C + c]`` (shape ``(R, C + L - 1)``, no copy) with the
``1 x L`` kernel. float32 and float64 rows run in the 1-D loop of csrc/_rowsnd.h
on fastconv's thread pool (kernels of up to four vectors of taps); other types,
longer kernels and a forced method spread the rows over a pool of single-core
workers (``_runtime.pool``) running the 2-D kernel. The few outputs near the ends, which read the zero padding, and the
tail that does not fill a whole chunk run as short single-row problems.
"""
from __future__ import annotations

import numpy as np

from .._runtime import memory
from . import kernels
from .batch import correlate_rows
from .boundary import FILL
from .direct import threads_for
from .dispatch import correlate_plane_method

# Folded rows are this many times the kernel length, and at least _MIN_CHUNK
# outputs: long enough that the kernel's per-row overhead (a row copy, the halo
# of L-1 samples read twice) stays small, short enough that a row stays in L1/L2.
_MIN_CHUNK = 4096
_CHUNK_PER_TAP = 8


def chunk_length(n_out: int, taps: int) -> int:
    """The fold's row length C for ``n_out`` outputs and a ``taps``-long kernel."""
    return max(_MIN_CHUNK, _CHUNK_PER_TAP * taps)


def _row(x: np.ndarray, w: np.ndarray, lo: int, hi: int, origin: int, dt: np.dtype,
         method: str) -> np.ndarray:
    """Outputs ``lo .. hi-1`` as one row; only the samples they read are passed."""
    L = w.shape[0]
    n = x.shape[0]
    s_lo = min(max(0, lo + origin), n)
    s_hi = max(min(n, hi + origin + L - 1), s_lo)
    part = x[s_lo:s_hi]
    return correlate_plane_method(part[None, :], w[None, :], (1, hi - lo),
                                  (0, lo + origin - s_lo), FILL, 0, dt, method)[0]


def _folded(xv: np.ndarray, w: np.ndarray, rows: np.ndarray, dt: np.dtype) -> bool:
    """The folded rows in the 1-D loop (csrc/_rowsnd.h: each loaded vector feeds
    several taps' multiply-adds, where the 2-D kernel's one-row loop loads one per
    tap); False where it does not apply (the caller runs the 2-D kernel)."""
    if dt not in (np.float32, np.float64) or xv.dtype != dt or kernels.uses_numba():
        return False        # (a signal of another type: the 2-D rows convert it)
    R, C = rows.shape
    L = w.shape[0]
    return kernels.build().correlate_folded(xv, np.ascontiguousarray(w, dtype=dt), rows,
                                            threads_for(R * C * L, dt.itemsize))


def correlate_1d(x: np.ndarray, w: np.ndarray, n_out: int, origin: int, dt: np.dtype,
                 method: str) -> np.ndarray:
    """``out[i] = sum_b w[b] * xpad[i + origin + b]`` (zero padding), ``n_out`` long.

    ``w`` holds ``dt`` values and is applied as given; ``x`` (any stride) may be of
    any type whose values ``dt`` holds (the 2-D tiles convert its rows).
    """
    n, L = x.shape[0], w.shape[0]
    C = chunk_length(n_out, L)
    # Outputs whose whole window lies inside x.
    i0 = min(max(0, -origin), n_out)
    i1 = max(i0, min(n_out, n - L + 1 - origin))
    R = (i1 - i0) // C
    if R < 2:
        return _row(x, w, 0, n_out, origin, dt, method)
    s0 = i0 + origin
    st = x.strides[0]
    xv = np.lib.stride_tricks.as_strided(x[s0:], shape=(R, C + L - 1), strides=(C * st, st),
                                         writeable=False)
    out = memory.empty(n_out, dt)
    rows = out[i0:i0 + R * C].reshape(R, C)
    if not (method in ("auto", "direct") and _folded(xv, w, rows, dt)):
        correlate_rows(rows, xv, w[None, :], dt, method)
    if i0 > 0:
        out[:i0] = _row(x, w, 0, i0, origin, dt, method)
    if i0 + R * C < n_out:
        out[i0 + R * C:] = _row(x, w, i0 + R * C, n_out, origin, dt, method)
    return out
