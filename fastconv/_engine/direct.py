"""The direct primitive: every tap summed in the compiled loops.

``out[i, j] = sum w[a, b] * x_ext[i+oy+a, j+ox+b]``, the 'valid' correlation of the
boundary-extended input; the kernels extend only the rows a tile needs, in a
per-thread buffer, so the padded image is never built.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._runtime.threads import get_num_threads
from . import kernels
from .complex import correlate_complex
from .gates import check_boundary_input

# Below this much work per thread, sharing a call costs more than it saves. Kernel
# calls on 2 cores, 2 threads over 1: 128^2 3x3 float64 1.0x, 256^2 3x3 1.27x in
# float64 and 0.81x in float32, 384^2 3x3 1.49x and 1.20x, 512^2 3x3 1.84x and 1.44x.
# Work counts float64 multiply-adds; a float32 or int32 one counts half (twice the
# lanes per vector).
MIN_WORK_PER_THREAD = 1 << 18
# Outputs narrower than this (one AVX-512 vector of float32) and tall run transposed:
# 1018 x 3 outputs of a 7 x 7 kernel took 136 us, its transpose ~10 us.
_NARROW = 16


def compute_dtype(dt: np.dtype) -> np.dtype:
    """The type the kernel accumulates in. Integers wrap modulo 2**bits, so any
    integer result is exact when computed in a wider integer type of the same
    signedness-agnostic bit pattern and truncated at the end (scipy's wrap-around)."""
    if dt.kind in "iu":
        return np.dtype(np.int32) if dt.itemsize <= 4 else np.dtype(np.int64)
    if dt.kind == "c":
        return np.dtype(f"f{dt.itemsize // 2}")
    return dt


def threads_for(work: int, itemsize: int = 8) -> int:
    """Threads for ``work`` multiply-adds of ``itemsize``-byte numbers: at most the
    caller's count, and one per MIN_WORK_PER_THREAD of (float64-equivalent) work."""
    work = work * itemsize // 8
    if work < 2 * MIN_WORK_PER_THREAD:
        return 1    # whatever the count: skips the thread-local look-up on small calls
    return min(get_num_threads(), work // MIN_WORK_PER_THREAD)


def correlate_plane(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
                    origin: tuple[int, int], boundary: int, fill: Any,
                    out_dtype: np.dtype, out: np.ndarray | None = None) -> np.ndarray:
    """The primitive: out[i, j] = sum w[a, b] * x_ext[i+oy+a, j+ox+b], in ``out_dtype``.

    ``x`` and ``w`` already hold ``out_dtype`` values; ``w`` is the kernel as it is
    applied (flipped for a convolution, conjugated for a correlation). ``out``, if
    given, is an ``out_shape`` array of ``out_dtype`` (a block of a larger array may
    do) that receives the result and is returned; the real kernels write into it
    directly when its rows are contiguous.
    """
    ct = compute_dtype(out_dtype)
    Ho, Wo = out_shape
    K, L = w.shape
    if Ho * Wo == 0 or K * L == 0:
        # No taps: every sum is empty (scipy returns zeros, whatever the boundary).
        return deliver(np.zeros(out_shape, out_dtype), out)
    check_boundary_input(x, boundary)
    nt = threads_for(Ho * Wo * K * L, ct.itemsize)
    oy, ox = origin
    if out_dtype.kind == "c":
        return deliver(correlate_complex(x, w, out_shape, oy, ox, boundary, fill, out_dtype,
                                         ct, nt), out)
    xc = x.astype(ct, copy=False)
    if Wo < _NARROW and Ho > 2 * Wo:
        # A tall, narrow output (a strip of a tiled image): each row would be one
        # short chain of dependent multiply-adds. Transposed, its rows are long.
        res = np.empty((Wo, Ho), ct)
        kernels.direct_fn(ct)(xc.T, _kernel_for(w.T, ct), res, ox, oy,
                              boundary, _scalar(fill, ct), nt)
        return deliver(res.T if ct == out_dtype else res.T.astype(out_dtype), out)
    res = out if out is not None and writable_in_place(out, ct) else np.empty(out_shape, ct)
    kernels.direct_fn(ct)(xc, _kernel_for(w, ct), res, oy, ox, boundary, _scalar(fill, ct), nt)
    return deliver(res if ct == out_dtype else res.astype(out_dtype), out)


def _scalar(fill: Any, ct: np.dtype) -> Any:
    """``fill`` as a ``ct`` scalar (usually it is one already)."""
    return fill if type(fill) is ct.type else ct.type(fill)


def _kernel_for(w: np.ndarray, ct: np.dtype) -> np.ndarray:
    """``w`` as the direct kernel takes it: of type ``ct``; C-contiguous for Numba
    (the Cython kernel copies any strides itself)."""
    if w.dtype != ct or kernels.uses_numba():
        return np.ascontiguousarray(w, dtype=ct)
    return w


def writable_in_place(out: np.ndarray | None, ct: np.dtype) -> bool:
    """Whether the direct kernel can write ``out`` itself: its type, contiguous rows,
    and (for Numba, which would compile anew for another layout) C-contiguous."""
    if out is None or out.dtype != ct or out.strides[1] != ct.itemsize:
        return False
    return not kernels.uses_numba() or out.flags.c_contiguous


def deliver(res: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``res``, or ``out`` holding it when the caller gave one."""
    if out is None or res is out:
        return res
    out[...] = res
    return out


def can_write_in_place(dt: np.dtype) -> bool:
    """Whether the kernel accumulates ``dt`` in ``dt`` itself (real, not widened)."""
    return dt.kind != "c" and compute_dtype(dt) == dt


def correlate_into(out: np.ndarray, x: np.ndarray, w: np.ndarray, origin: tuple[int, int],
                   boundary: int, fill: Any, dt: np.dtype) -> None:
    """``out[...] = correlate_plane(x, w, out.shape, origin, boundary, fill, dt)``,
    without the temporary where the type allows. ``w`` is C-contiguous ``dt``."""
    if not can_write_in_place(dt) or out.size == 0 or w.size == 0 or \
            not out.flags.c_contiguous:
        out[...] = correlate_plane(x, w, out.shape, origin, boundary, fill, dt)
        return
    check_boundary_input(x, boundary)
    nt = threads_for(out.size * w.size, dt.itemsize)
    kernels.direct_fn(dt)(x.astype(dt, copy=False), w, out, origin[0], origin[1], boundary,
                          _scalar(fill, dt), nt)
