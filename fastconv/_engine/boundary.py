"""Boundaries: their codes, and a window of the boundary-extended input (for the
FFT path).

The direct kernels never build the padded image: they extend rows on the fly. The
FFT path needs a real array, so this copies the interior once and fills only the
border strips through index maps that follow the same rules as the kernels
(``_map_index`` in csrc/_direct.pxi): wrap and symm repeat as often as needed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# The kernels' boundary codes (csrc/_direct.pxi): zero or fill value, periodic,
# mirrored including the edge sample.
FILL, WRAP, SYMM = 0, 1, 2


def source_index(lo: int, count: int, n: int, boundary: int) -> np.ndarray:
    """Source index of padded positions ``lo .. lo+count-1`` on an axis of length
    ``n``; -1 where the fill value goes."""
    j = np.arange(lo, lo + count, dtype=np.intp)
    inside = (j >= 0) & (j < n)
    if boundary == FILL or n == 0:
        return np.where(inside, j, -1)
    if boundary == WRAP:
        return j % n
    j = np.where(j < 0, -1 - j, j)
    k = j % (2 * n)
    return np.where(k >= n, 2 * n - 1 - k, k)


def extended_window(x: np.ndarray, origin: tuple[int, int], out: np.ndarray,
                    boundary: int, fill: Any) -> np.ndarray:
    """Write ``xpad[oy:oy+P, ox:ox+Q]`` into ``out`` (shape (P, Q)) and return it."""
    (oy, ox), (P, Q) = origin, out.shape
    M, N = x.shape
    # The part of the window inside x is a plain copy.
    r0, r1 = max(0, -oy), max(0, min(P, M - oy))
    c0, c1 = max(0, -ox), max(0, min(Q, N - ox))
    r1, c1 = max(r0, r1), max(c0, c1)
    out[r0:r1, c0:c1] = x[oy + r0:oy + r1, ox + c0:ox + c1]
    if (r0, r1, c0, c1) == (0, P, 0, Q):
        return out
    rows = source_index(oy, P, M, boundary)
    cols = source_index(ox, Q, N, boundary)
    if boundary == FILL:
        out[:r0] = fill
        out[r1:] = fill
        out[r0:r1, :c0] = fill
        out[r0:r1, c1:] = fill
        return out
    # Border strips: gather through the index maps (rows first, then columns).
    for rs in (slice(0, r0), slice(r1, P)):
        if rs.stop > rs.start:
            out[rs] = x[rows[rs]][:, cols]
    for cs in (slice(0, c0), slice(c1, Q)):
        if cs.stop > cs.start and r1 > r0:
            out[r0:r1, cs] = x[oy + r0:oy + r1][:, cols[cs]]
    return out
