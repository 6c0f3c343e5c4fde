"""numpy.convolve / numpy.correlate on fastconv's 1-D engine.

numpy differs from scipy.signal in three ways that matter here: 'same' has the
length of the LONGER input (scipy: of in1), the inputs are swapped when the
second is longer, and correlate's default mode is 'valid'. Types the kernels do
not compute (bool, float16, object) run numpy's own code.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._engine.oned import correlate_1d
from . import rules, rules_nd
from .rules import Mode


def np_convolve(a: ArrayLike, v: ArrayLike, mode: Mode = "full") -> np.ndarray:
    """Convolve two 1-D sequences with :func:`numpy.convolve`'s semantics.

    Unlike :func:`convolve` (scipy's), the inputs are swapped when `v` is the
    longer, and ``'same'`` returns ``max(len(a), len(v))`` samples.

    Parameters
    ----------
    a, v : array_like
        1-D inputs (scalars count as length 1).
    mode : {'full', 'valid', 'same'} or {2, 0, 1}, optional
        As numpy; default ``'full'``.

    Returns
    -------
    out : ndarray
        ``np.result_type(a, v)``, integers wrapping around as numpy's do.

    Raises
    ------
    ValueError
        For empty or multi-dimensional inputs or an unknown mode string/number.
    TypeError
        For a mode that is neither a string nor an integer.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.np_convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5], "same")
    array([1. , 2.5, 4. ])
    """
    return _np_convolve(a, v, mode)


def np_correlate(a: ArrayLike, v: ArrayLike, mode: Mode = "valid") -> np.ndarray:
    """Cross-correlate two 1-D sequences with :func:`numpy.correlate`'s semantics.

    ``c[k] = sum_n a[n + k] * conj(v[n])``; default mode ``'valid'``; when `v`
    is the longer the result is numpy's (the swapped correlation, reversed and
    conjugated), and ``'same'`` returns ``max(len(a), len(v))`` samples.

    Parameters
    ----------
    a, v : array_like
        1-D inputs.
    mode : {'valid', 'same', 'full'} or {0, 1, 2}, optional
        As numpy; default ``'valid'``.

    Returns
    -------
    out : ndarray
        ``np.result_type(a, v)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`np_convolve`.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.np_correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([3.5])
    """
    return _np_correlate(a, v, mode)


def _prepare(a: Any, v: Any, mode: Any, mode_first: bool
             ) -> tuple[np.ndarray, np.ndarray, int, np.dtype | None]:
    """Checks in numpy's order: correlate parses the mode before looking at the
    arrays and refuses scalars; convolve promotes scalars and parses the mode last."""
    if mode_first:
        rules_nd.numpy_mode(mode)
    a1, v1 = rules_nd.numpy_1d(a, not mode_first), rules_nd.numpy_1d(v, not mode_first)
    if a1.shape[0] == 0:
        raise ValueError("a cannot be empty")
    if v1.shape[0] == 0:
        raise ValueError("v cannot be empty")
    m = rules_nd.numpy_mode(mode)
    try:
        dt = rules.result_dtype(a1, v1)
    except TypeError:
        dt = None
    return a1, v1, m, (dt if dt is not None and rules_nd.engine_dtype(dt) else None)


def _np_correlate(a: Any, v: Any, mode: Any) -> np.ndarray:
    a1, v1, m, dt = _prepare(a, v, mode, True)
    if dt is None:
        return np.correlate(a, v, mode)
    M, N = a1.shape[0], v1.shape[0]
    if N > M:
        # numpy's own rule: c_av[k] = conj(c_va[-k])
        out = _np_correlate(v1, a1, m)
        return np.ascontiguousarray(out[::-1].conj())
    # full correlation c[k] = sum_n a[k + n - (N-1)] conj(v[n]), k = 0 .. M+N-2
    n_out, start = {2: (M + N - 1, 0), 1: (M, (N - 1) // 2), 0: (M - N + 1, N - 1)}[m]
    return correlate_1d(a1, v1.conj().astype(dt), n_out,
                        start - (N - 1), dt, "auto")


def _np_convolve(a: Any, v: Any, mode: Any) -> np.ndarray:
    a1, v1, m, dt = _prepare(a, v, mode, False)
    if dt is None:
        return np.convolve(a, v, mode)
    if v1.shape[0] > a1.shape[0]:
        a1, v1 = v1, a1
    M, N = a1.shape[0], v1.shape[0]
    n_out, start = {2: (M + N - 1, 0), 1: (M, (N - 1) // 2), 0: (M - N + 1, N - 1)}[m]
    return correlate_1d(a1, v1[::-1].astype(dt), n_out,
                        start - (N - 1), dt, "auto")
