"""Many problems of one plan: the images of a stack, the row bands of one large
problem.

A stack under the direct method is one compiled call whose tasks are (image, tile
of rows) (``direct.correlate_stack_into``). Otherwise one multi-threaded kernel call
per piece would give each call too little work for a thread team; instead the
pieces are spread over a pool of Python threads, each running its kernels on one
core (``_runtime.pool``; the kernels release the GIL), and each piece is written
where it belongs in the caller's output.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._runtime.pool import run_split
from .boundary import FILL
from .direct import correlate_into, correlate_stack_into
from .dispatch import correlate_plane_method, plan_method

# Below this many multiply-adds per image, images go to a thread pool (one core
# each) instead of one multi-threaded kernel call per image.
_POOL_BELOW = 1 << 22


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
            correlate_into(out[lo:hi], xs, w, (0, 0), FILL, 0, dt)
        else:
            correlate_plane_method(xs, w, (hi - lo, out.shape[1]), (0, 0), FILL, 0, dt,
                                   method, out[lo:hi])

    run_split(rows, out.shape[0])


def correlate_stack(out: np.ndarray, imgs: np.ndarray, w: np.ndarray,
                    origin: tuple[int, int], boundary: int, fill: Any, dt: np.dtype,
                    method: str) -> np.ndarray:
    """``out[i]`` = the primitive of ``imgs[i]`` (B, H, W) with ``w``, for every
    image; ``w`` is C-contiguous ``dt`` and ``method`` already planned for the
    stack (a forced 'fft'/'separable' still falls back per image where it cannot
    be exact)."""
    out_shape = out.shape[1:]
    if method == "direct" and correlate_stack_into(out, imgs, w, origin, boundary, fill, dt):
        return out

    def run(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            if method == "direct":
                correlate_into(out[i], imgs[i], w, origin, boundary, fill, dt)
            else:
                correlate_plane_method(imgs[i], w, out_shape, origin, boundary, fill, dt,
                                       method, out[i])

    if out_shape[0] * out_shape[1] * w.size < _POOL_BELOW:
        run_split(run, imgs.shape[0])
    else:
        run(0, imgs.shape[0])
    return out
