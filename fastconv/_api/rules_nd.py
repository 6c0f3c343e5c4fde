"""Argument rules of scipy.signal.convolve / correlate / fftconvolve / oaconvolve and
of numpy.convolve / correlate, in one place (messages as scipy 1.17 / numpy 2.x).

Nothing here loops over data. The 2-D rules shared with convolve2d live in
``rules``; these add N-d shapes, ``axes`` and numpy's mode spelling.
"""
from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np

from . import rules

SCIPY_METHODS = ("auto", "direct", "fft", "separable")


def engine_dtype(dt: np.dtype) -> bool:
    """True when fastconv's kernels compute this result type (else the reference
    library's own code runs: bool, float16, object and other non-numeric types)."""
    # dt.char, not dt != np.float16: a dtype comparison costs ~0.15 us of a small call
    return dt.kind in "iufc" and dt.char != "e"


def check_scipy_method(method: Any) -> None:
    if not isinstance(method, str) or method not in SCIPY_METHODS:
        raise ValueError("Acceptable method flags are 'auto', 'direct', 'fft' "
                         "or 'separable'.")


def check_mode(mode: Any) -> int:
    """scipy.signal.convolve/correlate's mode check (ValueError)."""
    try:
        return rules.MODES[mode]
    except (KeyError, TypeError):
        raise ValueError("Acceptable mode flags are 'valid', 'same', or 'full'.") from None


def check_same_ndim(a1: np.ndarray, a2: np.ndarray, message: str) -> None:
    if a1.ndim != a2.ndim:
        raise ValueError(message)


def nd_out_shape_and_origin(mode: int, in_shape: Sequence[int],
                            k_shape: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """scipy.signal.convolve/correlate's output window on the full result.

    'same' is centred at (k-1)//2 for both convolve AND correlate: scipy's N-d
    correlate is convolve with the reversed kernel (unlike correlate2d's k//2).
    Remembered per (mode, shapes): the loop cost ~0.9 us of a ~7 us call front.
    """
    key = (mode, tuple(in_shape), tuple(k_shape))
    got = _windows.get(key)
    if got is None:
        if len(_windows) >= 256:
            _windows.clear()
        got = _windows[key] = _out_shape_and_origin(mode, in_shape, k_shape)
    return got


_windows: dict[tuple, tuple[tuple[int, ...], tuple[int, ...]]] = {}


def _out_shape_and_origin(mode: int, in_shape: Sequence[int],
                          k_shape: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shape, origin = [], []
    for n, k in zip(in_shape, k_shape):
        if mode == 2:
            shape.append(n + k - 1)
            origin.append(-(k - 1))
        elif mode == 1:
            shape.append(n)
            origin.append((k - 1) // 2 - (k - 1))
        else:
            shape.append(n - k + 1)
            origin.append(0)
    return tuple(shape), tuple(origin)


# ---- numpy.convolve / numpy.correlate ---------------------------------------------

def numpy_mode(mode: Any) -> int:
    """numpy's mode argument: 'valid'/'same'/'full' or 0/1/2."""
    if isinstance(mode, str):
        if mode in rules.MODES:
            return rules.MODES[mode]
        raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")
    if isinstance(mode, (int, np.integer)) and not isinstance(mode, bool):
        if 0 <= int(mode) <= 2:
            return int(mode)
        raise ValueError("integer convolve/correlate mode must be 0, 1, or 2")
    raise TypeError("convolve/correlate mode not understood")


def numpy_1d(a: Any, scalars: bool) -> np.ndarray:
    """A 1-D array; numpy.convolve promotes scalars to length 1 (``scalars``),
    numpy.correlate refuses them."""
    arr = np.array(a, copy=None, ndmin=1 if scalars else 0)
    if arr.ndim > 1:
        raise ValueError("object too deep for desired array")
    if arr.ndim < 1:
        raise ValueError("object of too small depth for desired array")
    return arr


# ---- fftconvolve / oaconvolve axes -----------------------------------------------

def normalize_axes(axes: Any, ndim: int) -> list[int]:
    """scipy.fft's axes rules: None is every axis; ints, in range, unique."""
    if axes is None:
        return list(range(ndim))
    try:
        ax = [operator.index(axes)]
    except TypeError:
        try:
            ax = [operator.index(a) for a in axes]
        except TypeError:
            raise ValueError("axes must be a scalar or iterable of integers") from None
    out = []
    for a in ax:
        if a < -ndim or a >= ndim:
            raise ValueError("axes exceeds dimensionality of input")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("all axes must be unique")
    return out


def freq_conv_axes(s1: tuple, s2: tuple, mode: Any, axes: Any, ndim: int,
                   sort: bool) -> tuple[bool, list[int]]:
    """(swap, axes) as scipy's _init_freq_conv_axes decides them: axes where
    either input has length 1 are dropped (broadcasting does them); the other
    axes must be equal or 1 in one input."""
    noaxes = axes is None
    ax = normalize_axes(axes, ndim)
    if not noaxes and not ax:
        raise ValueError("when provided, axes cannot be empty")
    ax = [a for a in ax if s1[a] != 1 and s2[a] != 1]
    if sort:
        ax.sort()
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1
               for a in range(ndim) if a not in ax):
        raise ValueError(f"incompatible shapes for in1 and in2: {s1} and {s2}")
    swap = False
    if mode == "valid" and s1:
        ok1 = all(s1[i] >= s2[i] for i in ax)
        ok2 = all(s2[i] >= s1[i] for i in ax)
        if not (ok1 or ok2):
            raise ValueError("For 'valid' mode, one must be at least "
                             "as large as the other in every dimension")
        swap = not ok1
    return swap, ax


def fft_result_dtype(d1: np.dtype, d2: np.dtype) -> np.dtype:
    """The dtype scipy.fft gives a product of the two spectra: integers in float64,
    float16 in float32."""
    def one(d: np.dtype) -> np.dtype:
        if d.kind in "biu":
            return np.dtype(np.float64)
        if d == np.float16:
            return np.dtype(np.float32)
        return d
    return np.result_type(one(d1), one(d2))
