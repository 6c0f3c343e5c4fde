"""The direct primitive writing into a slice of the caller's output array.

``correlate_plane`` returns a new array; callers that assemble one result from
many pieces (rows of a folded signal, images of a stack) would then copy every
piece. For real types that the kernel accumulates in their own type, the kernel
can write the piece where it belongs instead.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._convolve2d import (_check_boundary_input, _compute_dtype, _direct_fn, _threads_for,
                          correlate_plane)


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
