"""scipy.signal's N-d functions: convolve / correlate (any ndim), and convolve1d /
correlate1d (scipy.signal.convolve of every 1-D slice along one axis).

validate (``rules_nd``) -> reduce to the zero-padded N-d primitive
(``_engine.nd.correlate_nd``) -> finish (reverse/conjugate where scipy swapped inputs).
Inputs the kernels do not compute (bool, float16, object; empty or 0-d arrays,
whose errors and results scipy defines case by case) run scipy's own code.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._engine.boundary import FILL
from .._engine.dispatch import correlate_plane_method
from .._engine.nd import (correlate_direct_nd, correlate_nd, direct_nd_applies,
                          routes_to_direct_nd)
from .._engine.oned import correlate_1d
from .._runtime.threads import get_num_threads
from . import rules, rules_nd
from .rules import Method, Mode


def convolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
             method: Method = "auto") -> np.ndarray:
    """Convolve two N-dimensional arrays.

    The arguments, result and exceptions are those of
    :func:`scipy.signal.convolve`; 1-D, 2-D and N-d inputs run in fastconv's
    multi-threaded kernels.

    Parameters
    ----------
    in1 : array_like
        First input.
    in2 : array_like
        Second input, with as many dimensions as `in1`.
    mode : {'full', 'valid', 'same'}, optional
        ``'full'`` (default): the whole linear convolution. ``'valid'``: only
        outputs that need no zero padding; one input must be at least as large
        as the other in every dimension (the larger one plays ``in1``).
        ``'same'``: the shape of `in1`, centred on the full result.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        scipy's methods plus fastconv's ``'separable'`` (two 1-D passes, for a
        rank-1 kernel of each 2-D slice; a 1-D kernel runs direct). ``'auto'``
        (default) asks fastconv's cost model, not scipy's.

    Returns
    -------
    out : ndarray
        ``np.result_type(in1, in2)``; integers wrap around on overflow exactly.

    Raises
    ------
    ValueError
        If the dimensionalities differ, `mode` or `method` is unknown, or in
        ``'valid'`` mode neither input contains the other.

    See Also
    --------
    fastconv.convolve2d : 2-D with boundary modes.
    np_convolve : numpy.convolve's 1-D semantics.

    Notes
    -----
    A long 1-D signal is folded into a matrix of overlapping rows (a strided
    view, no copy) so that every thread has rows to compute. Three or more
    dimensions of real data run in one threaded call of the N-d direct kernel
    (every tap summed in registers, tiles of planes and rows sized for the
    cache), or one FFT over all axes when the cost model predicts it faster. The module docstring of
    ``fastconv._api`` lists where results differ from scipy's.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _conv_nd(in1, in2, mode, method, flip=True)


def correlate(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
              method: Method = "auto") -> np.ndarray:
    """Cross-correlate two N-dimensional arrays.

    The arguments, result and exceptions are those of
    :func:`scipy.signal.correlate`: ``z[k] = sum_l in1[l] * conj(in2[l - k + K - 1])``
    over the full output.

    Parameters
    ----------
    in1 : array_like
        First input.
    in2 : array_like
        Second input, with as many dimensions as `in1`; it is conjugated.
    mode : {'full', 'valid', 'same'}, optional
        As in :func:`convolve`. ``'same'`` is centred at ``(K - 1) // 2`` of the
        full result in every axis (scipy's rule for N-d correlate; correlate2d
        centres at ``K // 2``). When ``'valid'`` swaps the inputs the result is
        the swapped correlation reversed and conjugated, as in scipy.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        As in :func:`convolve`.

    Returns
    -------
    out : ndarray
        ``np.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        For the same inputs as :func:`convolve`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.correlate(np.array([0.0, 1.0, 0.5, 0.0]), np.array([1.0, 0.5]), "valid")
    array([0.5 , 1.25, 0.5 ])
    """
    return _conv_nd(in1, in2, mode, method, flip=False)


def convolve1d(x: ArrayLike, h: ArrayLike, axis: int = -1, mode: Mode = "full",
               method: Method = "auto") -> np.ndarray:
    """Convolve every 1-D slice of `x` along `axis` with the 1-D filter `h`.

    The result equals applying :func:`scipy.signal.convolve` ``(s, h, mode)`` to
    every slice ``s`` along `axis` (not :func:`scipy.ndimage.convolve1d`, which
    has boundary modes and a different centre).

    Parameters
    ----------
    x : array_like
        N-d input, N >= 1.
    h : array_like
        1-D filter.
    axis : int, optional
        The axis to filter along (default: the last).
    mode : {'full', 'valid', 'same'}, optional
        As :func:`convolve`, per slice.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        As :func:`convolve` ('separable' runs direct).

    Returns
    -------
    out : ndarray
        `x`'s shape with `axis` resized by `mode`; ``np.result_type(x, h)``.

    Raises
    ------
    ValueError
        If `h` is not 1-D, either is empty along the axis, or the type is not
        supported (as convolve2d). ``numpy.exceptions.AxisError`` for a bad axis.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.convolve1d(np.ones((2, 5)), [1.0, 1.0], mode="valid")
    array([[2., 2., 2., 2.],
           [2., 2., 2., 2.]])
    """
    return _conv_axis(x, h, axis, mode, method, flip=True)


def correlate1d(x: ArrayLike, h: ArrayLike, axis: int = -1, mode: Mode = "full",
                method: Method = "auto") -> np.ndarray:
    """Cross-correlate every 1-D slice of `x` along `axis` with `h`.

    Equals :func:`scipy.signal.correlate` ``(s, h, mode)`` on every slice.
    Parameters, result and exceptions are as :func:`convolve1d`.

    Parameters
    ----------
    x : array_like
        N-d input.
    h : array_like
        1-D template (conjugated).
    axis : int, optional
        Default: the last.
    mode : {'full', 'valid', 'same'}, optional
        As :func:`correlate`, per slice.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        As :func:`convolve1d`.

    Returns
    -------
    out : ndarray
        Shaped and typed as :func:`convolve1d`'s result.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.correlate1d(np.arange(4.0)[None], [1.0, -1.0], mode="valid")
    array([[-1., -1., -1.]])
    """
    return _conv_axis(x, h, axis, mode, method, flip=False)


def _reference(flip: bool):
    import scipy.signal as ss
    return ss.convolve if flip else ss.correlate


def _result_dtype_or_none(a1: np.ndarray, a2: np.ndarray) -> np.dtype | None:
    try:
        dt = rules.result_dtype(a1, a2)
    except TypeError:
        return None
    return dt if rules_nd.engine_dtype(dt) else None


def _normalize_axis_index(axis: Any, ndim: int) -> int:
    try:
        from numpy.lib.array_utils import normalize_axis_index
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import normalize_axis_index
    return normalize_axis_index(axis, ndim)


def _reverse(a: np.ndarray) -> np.ndarray:
    return a[(slice(None, None, -1),) * a.ndim]


# Calls already validated and routed to the N-d direct kernel, by (in1's dtype,
# in2's dtype, their shapes, mode, method, flip): (swap, out_shape, origin, dt). A
# repeated call skips the checks and the routing, ~3 us of a ~7 us front (a 32 x 64 x
# 64 x 3^3 call is ~40 us on 2 cores). Only what the key decides goes in: real
# floating types equal to the result's, 3-D, and a route correlate_nd takes without
# looking at values (nd.routes_to_direct_nd).
_plans: dict[tuple, tuple[bool, tuple[int, ...], tuple[int, ...], np.dtype]] = {}


def _conv_nd(in1: Any, in2: Any, mode: Any, method: Any, flip: bool) -> Any:
    """scipy.signal.convolve (flip=True) / correlate (flip=False) with our engine."""
    if type(in1) is np.ndarray and type(in2) is np.ndarray and type(mode) is str \
            and type(method) is str:
        key = (in1.dtype, in2.dtype, in1.shape, in2.shape, mode, method, flip)
        planned = _plans.get(key)
        if planned is not None and direct_nd_applies(planned[3]):
            swap, out_shape, origin, dt = planned
            a1, a2 = (in2, in1) if swap else (in1, in2)
            return correlate_direct_nd(a1, _reverse(a2) if flip else a2, out_shape, origin,
                                       dt)
    else:
        key = None
    rules_nd.check_scipy_method(method)
    a1, a2 = np.asarray(in1), np.asarray(in2)
    dt = _result_dtype_or_none(a1, a2)
    if (a1.ndim == 0 and a2.ndim == 0) or dt is None or (
            a1.ndim == a2.ndim and (a1.size == 0 or a2.size == 0)):
        return _reference(flip)(in1, in2, mode, "direct" if method == "separable" else method)
    rules_nd.check_same_ndim(a1, a2, "volume and kernel should have the same dimensionality"
                             if flip else "in1 and in2 should have the same dimensionality")
    m = rules_nd.check_mode(mode)
    swap = rules.inputs_swap_needed(mode, a1.shape, a2.shape)
    # 'full' is symmetric up to reversal: make the smaller array the kernel.
    swap = swap or (m == 2 and a2.size > a1.size)
    if swap:
        a1, a2 = a2, a1
    w = _reverse(a2) if flip else a2.conj()
    out_shape, origin = rules_nd.nd_out_shape_and_origin(m, a1.shape, a2.shape)
    if key is not None and a1.ndim == 3 and dt.kind == "f" and a1.dtype == dt == a2.dtype \
            and routes_to_direct_nd(a2.shape, method) and not (swap and not flip) \
            and 0 not in out_shape:
        if len(_plans) >= 256:
            _plans.clear()
        _plans[key] = (swap, out_shape, origin, dt)
    # the image in its own type: the engine converts it tile by tile
    out = correlate_nd(a1, w.astype(dt, copy=False), out_shape, origin, dt, method)
    if swap and not flip:
        # corr(in1, in2) is corr(in2, in1) reversed and conjugated
        out = np.ascontiguousarray(_reverse(out).conj())
    return out


def _conv_axis(x: Any, h: Any, axis: Any, mode: Any, method: Any, flip: bool) -> np.ndarray:
    """convolve1d / correlate1d: scipy.signal.convolve / correlate of every 1-D
    slice of ``x`` along ``axis`` with the 1-D ``h``."""
    rules_nd.check_scipy_method(method)
    xa, ha = np.asarray(x), np.asarray(h)
    if ha.ndim != 1:
        raise ValueError("h must be a 1-D array")
    if xa.ndim < 1:
        raise ValueError("x must have at least one dimension")
    ax = _normalize_axis_index(axis, xa.ndim)
    m = rules_nd.check_mode(mode)
    dt = rules.result_dtype(xa, ha)
    rules.check_supported(dt, "convolve1d" if flip else "correlate1d")
    n, L = xa.shape[ax], ha.shape[0]
    if n == 0 or L == 0:
        raise ValueError("x along axis and h must not be empty")
    if m == 0 and L > n:
        # scipy swaps the pair: the result is the window of the full sum where
        # the shorter input lies inside the longer (same formula either way)
        n_out, origin = L - n + 1, n - L
    else:
        (n_out,), (origin,) = rules_nd.nd_out_shape_and_origin(m, (n,), (L,))
    w = (ha[::-1] if flip else ha.conj()).astype(dt)
    xm = np.moveaxis(xa, ax, -1)
    lead = xm.shape[:-1]
    rows = xm.reshape(-1, n)            # in its own type, converted in the tiles
    B = rows.shape[0]
    if B == 0:
        out = np.zeros((0, n_out), dt)
    elif B < 2 * get_num_threads() and n >= 1 << 15:
        # few long rows: fold each one so every thread has work
        out = np.stack([correlate_1d(r, w, n_out, origin, dt, method) for r in rows])
    else:
        # independent rows are a 2-D correlation with a 1 x L kernel
        out = correlate_plane_method(rows, w[None, :], (B, n_out), (0, origin), FILL, 0,
                                     dt, "direct" if method == "separable" else method)
    out = out.reshape(lead + (n_out,))
    return np.ascontiguousarray(np.moveaxis(out, -1, ax))
