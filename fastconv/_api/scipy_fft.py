"""scipy.signal.fftconvolve / oaconvolve: scipy's argument, broadcasting and output
rules, computed by fastconv (``_engine.fft_axes``); the values agree with scipy's
to FFT rounding.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._engine.fft_axes import full_over_axes
from . import rules, rules_nd
from .rules import Mode


def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
                axes: int | ArrayLike | None = None) -> np.ndarray:
    """Convolve two N-dimensional arrays over `axes`, as scipy.signal.fftconvolve.

    The arguments, broadcasting rules, result type and exceptions are those of
    :func:`scipy.signal.fftconvolve`: the axes not convolved must have equal
    lengths or length 1 in one input; integers give float64. The transforms run
    on fastconv's thread count; one kernel shared by every slice runs through
    fastconv's engine, which computes short kernels directly.

    Parameters
    ----------
    in1, in2 : array_like
        Inputs with the same number of dimensions.
    mode : {'full', 'valid', 'same'}, optional
        As in :func:`convolve`; 'same' takes `in1`'s shape in every axis.
    axes : int or sequence of int or None, optional
        Axes to convolve over (default: all).

    Returns
    -------
    out : ndarray
        Floating point (or complex) result.

    Raises
    ------
    ValueError
        If the dimensionalities differ, `axes` is invalid or empty, the other
        axes cannot broadcast, `mode` is unknown, or neither input contains the
        other in 'valid' mode.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> stack = np.ones((2, 4, 4))
    >>> fastconv.fftconvolve(stack, np.ones((1, 3, 3)), mode="same", axes=(1, 2))[0, 0, 0]
    np.float64(4.0)
    """
    return _fftconv(in1, in2, mode, axes, oa=False)


def oaconvolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
               axes: int | ArrayLike | None = None) -> np.ndarray:
    """Convolve two N-dimensional arrays over `axes`, as scipy.signal.oaconvolve.

    Same arguments, rules and result as :func:`fftconvolve` (scipy's two
    functions differ only in algorithm); fastconv's engine picks overlap-save
    FFTs or direct sums by its cost model.

    Parameters
    ----------
    in1, in2, mode, axes
        As :func:`fftconvolve`.

    Returns
    -------
    out : ndarray
        As :func:`fftconvolve`; the exceptions are its too.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.oaconvolve(np.ones(1000), np.ones(3) / 3, mode="valid")[:2]
    array([1., 1.])
    """
    return _fftconv(in1, in2, mode, axes, oa=True)


def _reference(oa: bool):
    import scipy.signal as ss
    return ss.oaconvolve if oa else ss.fftconvolve


def _fftconv(in1: Any, in2: Any, mode: Any, axes: Any, oa: bool) -> Any:
    a1, a2 = np.asarray(in1), np.asarray(in2)
    try:
        dt_ok = rules_nd.engine_dtype(rules.result_dtype(a1, a2)) and \
            np.result_type(a1, a2) not in (np.longdouble, np.clongdouble)
    except TypeError:
        dt_ok = False
    if (a1.ndim == 0 and a2.ndim == 0) or not dt_ok:
        # scalars, and types scipy.fft handles its own way (bool, float16, long double)
        return _reference(oa)(in1, in2, mode, axes)
    if a1.ndim != a2.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if a1.size == 0 or a2.size == 0:
        return np.asarray([])
    swap, ax = rules_nd.freq_conv_axes(a1.shape, a2.shape, mode, axes, a1.ndim,
                                       sort=oa and a1.shape != a2.shape)
    if mode not in rules.MODES:
        raise ValueError("acceptable mode flags are 'valid', 'same', or 'full'")
    if swap:
        a1, a2 = a2, a1
    if not ax:
        full = a1 * a2
    else:
        full = full_over_axes(a1, a2, ax, rules_nd.fft_result_dtype(a1.dtype, a2.dtype))
    return _apply_mode(full, a1.shape, a2.shape, mode, ax)


def _apply_mode(ret: np.ndarray, s1: Sequence[int], s2: Sequence[int], mode: str,
                ax: Sequence[int]) -> np.ndarray:
    """scipy's window on the full result: 'same' centres on in1's shape over EVERY
    axis (a broadcast axis too), 'valid' only shrinks the convolved axes."""
    if mode == "full":
        return ret.copy()
    if mode == "same":
        new = list(s1)
    else:
        new = [s1[a] - s2[a] + 1 if a in ax else ret.shape[a] for a in range(ret.ndim)]
    start = [(c - n) // 2 for c, n in zip(ret.shape, new)]
    return ret[tuple(slice(b, b + n) for b, n in zip(start, new))].copy()
