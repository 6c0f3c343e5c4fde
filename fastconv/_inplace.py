"""The direct primitive writing into a slice of the caller's output array.

``correlate_plane`` returns a new array; callers that assemble one result from
many pieces (rows of a folded signal, images of a stack) would then copy every
piece. For real types that the kernel accumulates in their own type, the kernel
can write the piece where it belongs instead. ``correlate_rows`` also spreads
the rows of one large problem over the worker pool (see ``_pool``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _validate as V
from ._convolve2d import (_check_boundary_input, _compute_dtype, _direct_fn, _threads_for,
                          correlate_plane, correlate_plane_method, plan_method)
from ._pool import run_split


def can_write_in_place(dt: np.dtype) -> bool:
    return dt.kind != "c" and _compute_dtype(dt) == dt


def correlate_into(out: np.ndarray, x: np.ndarray, w: np.ndarray, origin: tuple[int, int],
                   boundary: int, fill: Any, dt: np.dtype) -> None:
    """``out[...] = correlate_plane(x, w, out.shape, origin, boundary, fill, dt)``,
    without the temporary where the type allows. ``w`` is C-contiguous ``dt``."""
    if not can_write_in_place(dt) or out.size == 0 or w.size == 0 or \
            not out.flags.c_contiguous:
        out[...] = correlate_plane(x, w, out.shape, origin, boundary, fill, dt)
        return
    _check_boundary_input(x, boundary)
    nt = _threads_for(out.size * w.size)
    _direct_fn(dt)(x.astype(dt, copy=False), w, out, origin[0], origin[1], boundary,
                   dt.type(fill), nt)


def correlate_rows(out: np.ndarray, x: np.ndarray, w: np.ndarray, dt: np.dtype,
                   method: str) -> None:
    """``out`` (R, Wo) = the zero-padded-free 'valid' correlation of ``x``
    (R + K - 1, Wo + L - 1) with ``w`` (K, L), its rows spread over the worker
    pool; each piece reads only the input rows it needs."""
    K = w.shape[0]
    w = np.ascontiguousarray(w, dtype=dt)
    if method == "auto":
        method = plan_method(x, w, out.shape, 0, dt)     # once, not per piece

    def rows(lo: int, hi: int) -> None:
        xs = x[lo:hi + K - 1]
        if method == "direct":
            correlate_into(out[lo:hi], xs, w, (0, 0), V.FILL, 0, dt)
        else:
            out[lo:hi] = correlate_plane_method(xs, w, (hi - lo, out.shape[1]), (0, 0),
                                                V.FILL, 0, dt, method)

    run_split(rows, out.shape[0])
