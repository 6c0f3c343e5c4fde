"""The primitive by method: the planner's choice, guarded by the exactness gates.

``correlate_plane_method`` is the one call every 2-D front end makes (and the N-d,
1-D, batch and Dask paths for each plane): ``out[i, j] = sum w[a, b] *
x_ext[i+oy+a, j+ox+b]`` computed direct, separable or by FFT. Whatever the method,
inputs a fast path cannot compute exactly (Inf or NaN, long doubles, integers
whose FFT could round wrongly) run direct.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._runtime.memory import recycled
from .._runtime.threads import get_num_threads
from . import fft, plan
from .direct import compute_dtype, correlate_plane, deliver
from .gates import all_finite, check_boundary_input, fft_dtype
from .separable import checks_itself, correlate_fused, correlate_plane_separable, factor


def plan_method(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int], fill: Any,
                dt: np.dtype) -> str:
    """The method correlate_plane_method(..., 'auto') runs for these inputs."""
    method = _plan_auto(x, w, out_shape, fill, dt)[0]
    if checks_itself(method, dt) and not all_finite(x, w, fill):
        return "direct"       # what the fused kernel falls back to when it finds them
    return method


def _plan_auto(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int], fill: Any,
               dt: np.dtype) -> tuple[str, Any]:
    """``(method, factors)`` for 'auto', with the exactness checks already passed
    (finite inputs; an integer FFT provably exact)."""
    if 0 in out_shape or w.size == 0:
        return "direct", None
    method, uv = plan.choose(out_shape, w, dt, fft_dtype(dt) is not None)
    if method != "direct" and not all_finite(None if checks_itself(method, dt) else x,
                                             w, fill):
        return "direct", None
    if method == "fft" and dt.kind in "iu" and not fft.integer_fft_is_exact(
            x, w, fill, fft.block_shape(out_shape, w.shape, True)):
        return "direct", None
    return method, uv


def runs_direct(method: str, out_shape: tuple[int, int], w: np.ndarray) -> bool:
    """Whether ``method`` runs the direct loop here with no planning and no gate: a
    forced 'direct', or 'auto' on a kernel of at most 9 taps or an empty output."""
    return method == "direct" or method == "auto" and plan.direct_without_planning(out_shape, w)


def correlate_plane_method(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
                           origin: tuple[int, int], boundary: int, fill: Any,
                           out_dtype: np.dtype, method: str = "auto",
                           out: np.ndarray | None = None) -> np.ndarray:
    """The primitive by ``method`` ('auto' asks the cost model in ``plan``), into
    ``out`` if given (as in :func:`direct.correlate_plane`).

    A forced 'fft' or 'separable' still honours the exact contract: inputs holding
    Inf/NaN, long doubles, and integers whose FFT could round wrongly run direct.
    """
    nbytes = max(x.nbytes, out_shape[0] * out_shape[1] * out_dtype.itemsize)
    if runs_direct(method, out_shape, w):
        # what _correlate_plane_method would run, without the planner's and the
        # gates' calls (~1 us, an eighth of a 32^2 3x3 call)
        return recycled(nbytes, correlate_plane, x, w, out_shape, origin, boundary, fill,
                        out_dtype, out)
    return recycled(nbytes, _correlate_plane_method, x, w, out_shape, origin, boundary, fill,
                    out_dtype, method, out)


def _correlate_plane_method(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
                            origin: tuple[int, int], boundary: int, fill: Any,
                            out_dtype: np.dtype, method: str,
                            out: np.ndarray | None) -> np.ndarray:
    direct = lambda: correlate_plane(x, w, out_shape, origin, boundary, fill,  # noqa: E731
                                     out_dtype, out)
    fdt = fft_dtype(out_dtype)
    uv = None
    if method == "auto":
        method, uv = _plan_auto(x, w, out_shape, fill, out_dtype)   # checks done there
    elif method != "direct" and 0 not in out_shape and w.size:
        # a forced method: its exactness checks run here
        if method == "separable" and fdt is not None:
            uv = factor(w)
            if uv is None:
                raise ValueError("method='separable' needs a rank-1 (outer product) kernel")
        if fdt is None or not all_finite(None if checks_itself(method, out_dtype) else x,
                                         w, fill):
            return direct()
        if method == "fft" and out_dtype.kind in "iu" and not fft.integer_fft_is_exact(
                x, w, fill, fft.block_shape(out_shape, w.shape, True)):
            return direct()
    if method == "direct" or 0 in out_shape or w.size == 0:
        return direct()
    check_boundary_input(x, boundary)
    if method == "separable":
        if checks_itself(method, out_dtype):
            res = correlate_fused(x, *uv, out_shape, origin, boundary, fill, out_dtype, out)
            if res is None:      # x held Inf or NaN: the direct loop treats them as scipy
                return direct()
            return res
        # complex or the Numba backend: two passes of the plain primitive
        sdt = out_dtype if out_dtype.kind in "fc" else compute_dtype(out_dtype)
        res = correlate_plane_separable(x, *uv, out_shape, origin, boundary, fill, sdt)
        return deliver(res if sdt == out_dtype else res.astype(out_dtype), out)
    res = fft.correlate_plane_fft(x, w, out_shape, origin, boundary, fill, fdt,
                                  get_num_threads(),
                                  fft.block_shape(out_shape, w.shape, fdt.kind == "f"),
                                  out_dtype)
    return deliver(res, out)
