"""Bodies of np_convolve / np_correlate: numpy.convolve / numpy.correlate semantics
on fastconv's 1-D engine.

numpy differs from scipy.signal in three ways that matter here: 'same' has the
length of the LONGER input (scipy: of in1), the inputs are swapped when the
second is longer, and correlate's default mode is 'valid'. Types the kernels do
not compute (bool, float16, object) run numpy's own code.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _validate as V
from . import _validate_nd as VN
from ._oned import correlate_1d


def _prepare(a: Any, v: Any, mode: Any, mode_first: bool
             ) -> tuple[np.ndarray, np.ndarray, int, np.dtype | None]:
    """Checks in numpy's order: correlate parses the mode before looking at the
    arrays and refuses scalars; convolve promotes scalars and parses the mode last."""
    if mode_first:
        VN.numpy_mode(mode)
    a1, v1 = VN.numpy_1d(a, not mode_first), VN.numpy_1d(v, not mode_first)
    if a1.shape[0] == 0:
        raise ValueError("a cannot be empty")
    if v1.shape[0] == 0:
        raise ValueError("v cannot be empty")
    m = VN.numpy_mode(mode)
    try:
        dt = V.result_dtype(a1, v1)
    except TypeError:
        dt = None
    return a1, v1, m, (dt if dt is not None and VN.engine_dtype(dt) else None)


def np_correlate_impl(a: Any, v: Any, mode: Any) -> np.ndarray:
    a1, v1, m, dt = _prepare(a, v, mode, True)
    if dt is None:
        return np.correlate(a, v, mode)
    M, N = a1.shape[0], v1.shape[0]
    if N > M:
        # numpy's own rule: c_av[k] = conj(c_va[-k])
        out = np_correlate_impl(v1, a1, m)
        return np.ascontiguousarray(out[::-1].conj())
    # full correlation c[k] = sum_n a[k + n - (N-1)] conj(v[n]), k = 0 .. M+N-2
    n_out, start = {2: (M + N - 1, 0), 1: (M, (N - 1) // 2), 0: (M - N + 1, N - 1)}[m]
    return correlate_1d(a1.astype(dt, copy=False), v1.conj().astype(dt), n_out,
                        start - (N - 1), dt, "auto")


def np_convolve_impl(a: Any, v: Any, mode: Any) -> np.ndarray:
    a1, v1, m, dt = _prepare(a, v, mode, False)
    if dt is None:
        return np.convolve(a, v, mode)
    if v1.shape[0] > a1.shape[0]:
        a1, v1 = v1, a1
    M, N = a1.shape[0], v1.shape[0]
    n_out, start = {2: (M + N - 1, 0), 1: (M, (N - 1) // 2), 0: (M - N + 1, N - 1)}[m]
    return correlate_1d(a1.astype(dt, copy=False), v1[::-1].astype(dt), n_out,
                        start - (N - 1), dt, "auto")
