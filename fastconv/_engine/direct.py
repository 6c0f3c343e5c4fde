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


_U16, _I32, _I64 = np.dtype(np.uint16), np.dtype(np.int32), np.dtype(np.int64)


def compute_dtype(dt: np.dtype) -> np.dtype:
    """The type the kernel accumulates a ``dt`` result in (its lanes).

    Integers wrap modulo 2**bits, so a result is exact when computed modulo any
    larger power of two and truncated: 8- and 16-bit results run in 16-bit lanes
    (x86 has no 8-bit multiply), 32-bit in int32 and 64-bit in int64, the bit
    pattern being the same for signed and unsigned types. The Numba kernel keeps
    int32 lanes for the narrow types."""
    if dt.kind in "iu":
        if dt.itemsize <= 2:
            return _I32 if kernels.uses_numba() else _U16
        return _I32 if dt.itemsize == 4 else _I64
    if dt.kind == "c":
        return np.dtype(f"f{dt.itemsize // 2}")
    return dt


def lanes_view(a: np.ndarray, ct: np.dtype) -> np.ndarray | None:
    """``a`` as the kernel reads or writes it in lanes of ``ct``: itself, or an
    integer array of ``ct``'s width viewed as ``ct`` (same bits, no copy); None
    when the kernel must convert."""
    if a.dtype == ct:
        return a
    if a.dtype.kind in "iu" and ct.kind in "iu" and a.dtype.itemsize == ct.itemsize \
            and a.dtype.isnative:
        return a.view(ct)
    return None


def converts_in_tile(x: np.ndarray, ct: np.dtype) -> bool:
    """Whether the compiled tiles can read ``x`` in its own type and convert it
    (integers modulo the lanes' width, integers to floats, float32 to float64)."""
    dt = x.dtype
    if not dt.isnative or dt.kind not in "biuf" or dt.itemsize > 8 \
            or dt == np.float16 or kernels.uses_numba():
        return False
    if ct.kind == "f":
        return dt.kind != "f" or dt.itemsize <= ct.itemsize
    return ct.kind in "iu" and dt.kind != "f" and dt.itemsize <= ct.itemsize


def out_lanes(out: np.ndarray, ct: np.dtype) -> np.ndarray | None:
    """``out`` as the kernel writes it: in ``ct``'s lanes, or 8-bit integers written
    from 16-bit lanes (their low bytes); None when it cannot write there."""
    if out.ndim != 2 or out.strides[1] != out.itemsize and out.shape[1] > 1 or \
            kernels.uses_numba() and not out.flags.c_contiguous:
        return None
    v = lanes_view(out, ct)
    if v is None and ct == _U16 and out.dtype.kind in "iu" and out.itemsize == 1:
        return out
    return v


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

    ``w`` holds ``out_dtype`` values: the kernel as it is applied (flipped for a
    convolution, conjugated for a correlation). ``x`` may be of any type whose
    values ``out_dtype`` holds (numpy's promotion): the tiles convert its rows as
    they copy them, so no converted copy of the image is made. ``out``, if
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
    fill = lane_scalar(fill, out_dtype, ct)
    wl = _kernel_for(w, ct)
    if Wo < _NARROW and Ho > 2 * Wo:
        # A tall, narrow output (a strip of a tiled image): each row would be one
        # short chain of dependent multiply-adds. Transposed, its rows are long.
        res = np.empty((Wo, Ho), out_dtype)
        _run(x.T, wl.T, res, ox, oy, boundary, fill, ct, nt)
        return deliver(res.T, out)
    if out is not None and out.flags.writeable and out_lanes(out, ct) is not None:
        res = out
    else:
        res = np.empty(out_shape, out_dtype)
    _run(x, wl, res, oy, ox, boundary, fill, ct, nt)
    return deliver(res, out)


def correlate_stack_into(out: np.ndarray, imgs: np.ndarray, w: np.ndarray,
                         origin: tuple[int, int], boundary: int, fill: Any,
                         dt: np.dtype) -> bool:
    """``out[i] = correlate_plane(imgs[i], w, ...)`` for every image of ``imgs``
    (B, H, W) in one compiled call (tasks over images and row tiles), each output
    computed as correlate_plane computes it; ``out`` is (B, Ho, Wo) of ``dt`` with
    contiguous rows. Returns False, computing nothing, where that call does not
    apply (complex data, the Numba backend, narrow tall outputs, which
    correlate_plane transposes, types the tiles cannot read or write); the caller
    then runs correlate_plane per image."""
    B, Ho, Wo = out.shape
    K, L = w.shape
    if dt.kind == "c" or kernels.uses_numba() or Wo < _NARROW and Ho > 2 * Wo:
        return False
    if B * Ho * Wo == 0 or K * L == 0:
        return False
    ct = compute_dtype(dt)
    ol = out_lanes(out[0], ct)
    if ol is None or not out.flags.writeable:
        return False
    xl = lanes_view(imgs, ct)
    cast = not (xl is not None and ol.dtype == ct)
    if cast and not converts_in_tile(imgs, ct):
        return False
    check_boundary_input(imgs[0], boundary)
    fn = kernels.stack_fn(ct, cast)
    fn(imgs if cast else xl, _kernel_for(w, ct), out if cast else lanes_view(out, ct),
       origin[0], origin[1], boundary, lane_scalar(fill, dt, ct),
       threads_for(B * Ho * Wo * K * L, ct.itemsize))
    return True


def _run(x: np.ndarray, w: np.ndarray, res: np.ndarray, oy: int, ox: int, boundary: int,
         fill: Any, ct: np.dtype, nt: int) -> None:
    """The compiled kernel into ``res`` (of the result type), in ``ct``'s lanes: x
    read as it is where the tiles can convert it, else converted first; res written
    in place where its type allows, else through a ``ct`` array."""
    xl = lanes_view(x, ct)
    ol = out_lanes(res, ct)
    if xl is not None and ol is not None and ol.dtype == ct:
        kernels.direct_fn(ct)(xl, w, ol, oy, ox, boundary, fill, nt)
        return
    if ol is not None and converts_in_tile(x, ct):
        kernels.cast_fn(ct)(x, w, ol, oy, ox, boundary, fill, nt)
        return
    # what the tiles cannot read or write (float16, long doubles, Numba's kernel)
    xc = xl if xl is not None else x.astype(ct)
    tmp = ol if ol is not None and ol.dtype == ct else np.empty(res.shape, ct)
    kernels.direct_fn(ct)(xc, w, tmp, oy, ox, boundary, fill, nt)
    if tmp is not ol:
        res[...] = tmp


def lane_scalar(fill: Any, dt: np.dtype, ct: np.dtype) -> Any:
    """The fill value (already of the result type ``dt``) as a ``ct`` scalar; an
    integer keeps its bits modulo the lanes' width, as numpy's astype does."""
    if type(fill) is ct.type:
        return fill
    if type(fill) is int and fill == 0:        # not 'fill' boundaries: the front's 0
        return ct.type(0)
    if dt.kind in "iu" and ct.kind in "iu":
        bits = 8 * ct.itemsize
        v = int(fill) & ((1 << bits) - 1)          # its bits modulo the lanes' width
        return ct.type(v - (1 << bits) if ct.kind == "i" and v >> (bits - 1) else v)
    return ct.type(fill)


def _kernel_for(w: np.ndarray, ct: np.dtype) -> np.ndarray:
    """``w`` as the direct kernel takes it: of type ``ct``; C-contiguous for Numba
    (the Cython kernel copies any strides itself)."""
    if w.dtype != ct or kernels.uses_numba():
        return np.ascontiguousarray(w, dtype=ct)
    return w


def deliver(res: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``res``, or ``out`` holding it when the caller gave one."""
    if out is None or res is out:
        return res
    out[...] = res
    return out


def correlate_into(out: np.ndarray, x: np.ndarray, w: np.ndarray, origin: tuple[int, int],
                   boundary: int, fill: Any, dt: np.dtype) -> None:
    """``out[...] = correlate_plane(x, w, out.shape, origin, boundary, fill, dt)``,
    written in place where the kernel can (``out`` of type ``dt``)."""
    correlate_plane(x, w, out.shape, origin, boundary, fill, dt, out)
