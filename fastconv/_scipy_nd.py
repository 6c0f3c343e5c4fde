"""Bodies of the N-d entry points with scipy.signal's semantics: convolve /
correlate (any ndim), convolve1d / correlate1d (one axis of an N-d array).

validate (``_validate_nd``) -> reduce to the zero-padded N-d primitive
(``_nd.correlate_nd``) -> finish (reverse/conjugate where scipy swapped inputs).
Inputs the kernels do not compute (bool, float16, object; empty or 0-d arrays,
whose errors and results scipy defines case by case) run scipy's own code.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _validate as V
from . import _validate_nd as VN
from ._convolve2d import correlate_plane_method
from ._nd import correlate_nd
from ._oned import correlate_1d
from ._threads import get_num_threads


def _reference(flip: bool):
    import scipy.signal as ss
    return ss.convolve if flip else ss.correlate


def _result_dtype_or_none(a1: np.ndarray, a2: np.ndarray) -> np.dtype | None:
    try:
        dt = V.result_dtype(a1, a2)
    except TypeError:
        return None
    return dt if VN.engine_dtype(dt) else None


def _normalize_axis_index(axis: Any, ndim: int) -> int:
    try:
        from numpy.lib.array_utils import normalize_axis_index
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import normalize_axis_index
    return normalize_axis_index(axis, ndim)


def _reverse(a: np.ndarray) -> np.ndarray:
    return a[(slice(None, None, -1),) * a.ndim]


def conv_nd_impl(in1: Any, in2: Any, mode: Any, method: Any, flip: bool) -> Any:
    """scipy.signal.convolve (flip=True) / correlate (flip=False) with our engine."""
    VN.check_scipy_method(method)
    a1, a2 = np.asarray(in1), np.asarray(in2)
    dt = _result_dtype_or_none(a1, a2)
    if (a1.ndim == 0 and a2.ndim == 0) or dt is None or (
            a1.ndim == a2.ndim and (a1.size == 0 or a2.size == 0)):
        return _reference(flip)(in1, in2, mode, "direct" if method == "separable" else method)
    VN.check_same_ndim(a1, a2, "volume and kernel should have the same dimensionality"
                       if flip else "in1 and in2 should have the same dimensionality")
    m = VN.check_mode(mode)
    swap = V.inputs_swap_needed(mode, a1.shape, a2.shape)
    # 'full' is symmetric up to reversal: make the smaller array the kernel.
    swap = swap or (m == 2 and a2.size > a1.size)
    if swap:
        a1, a2 = a2, a1
    w = _reverse(a2) if flip else a2.conj()
    out_shape, origin = VN.nd_out_shape_and_origin(m, a1.shape, a2.shape)
    out = correlate_nd(a1.astype(dt, copy=False), w.astype(dt, copy=False),
                       out_shape, origin, dt, method)
    if swap and not flip:
        # corr(in1, in2) is corr(in2, in1) reversed and conjugated
        out = np.ascontiguousarray(_reverse(out).conj())
    return out


def conv_axis_impl(x: Any, h: Any, axis: Any, mode: Any, method: Any, flip: bool) -> np.ndarray:
    """convolve1d / correlate1d: scipy.signal.convolve / correlate of every 1-D
    slice of ``x`` along ``axis`` with the 1-D ``h``."""
    VN.check_scipy_method(method)
    xa, ha = np.asarray(x), np.asarray(h)
    if ha.ndim != 1:
        raise ValueError("h must be a 1-D array")
    if xa.ndim < 1:
        raise ValueError("x must have at least one dimension")
    ax = _normalize_axis_index(axis, xa.ndim)
    m = VN.check_mode(mode)
    dt = V.result_dtype(xa, ha)
    V.check_supported(dt, "convolve1d" if flip else "correlate1d")
    n, L = xa.shape[ax], ha.shape[0]
    if n == 0 or L == 0:
        raise ValueError("x along axis and h must not be empty")
    if m == 0 and L > n:
        # scipy swaps the pair: the result is the window of the full sum where
        # the shorter input lies inside the longer (same formula either way)
        n_out, origin = L - n + 1, n - L
    else:
        (n_out,), (origin,) = VN.nd_out_shape_and_origin(m, (n,), (L,))
    w = (ha[::-1] if flip else ha.conj()).astype(dt)
    xm = np.moveaxis(xa, ax, -1)
    lead = xm.shape[:-1]
    rows = xm.reshape(-1, n).astype(dt, copy=False)
    B = rows.shape[0]
    if B == 0:
        out = np.zeros((0, n_out), dt)
    elif B < 2 * get_num_threads() and n >= 1 << 15:
        # few long rows: fold each one so every thread has work
        out = np.stack([correlate_1d(r, w, n_out, origin, dt, method) for r in rows])
    else:
        # independent rows are a 2-D correlation with a 1 x L kernel
        out = correlate_plane_method(rows, w[None, :], (B, n_out), (0, origin), V.FILL, 0,
                                     dt, "direct" if method == "separable" else method)
    out = out.reshape(lead + (n_out,))
    return np.ascontiguousarray(np.moveaxis(out, -1, ax))
