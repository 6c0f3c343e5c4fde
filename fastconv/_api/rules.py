"""scipy.signal.convolve2d's argument rules, in one place.

Each check raises the exception type (and, where useful, the message) that scipy
1.17 raises for the same input, in the same order, so a drop-in caller sees no
difference. Nothing here loops over pixels.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._engine.boundary import FILL, SYMM, WRAP

Mode = Literal["full", "valid", "same"]
Boundary = Literal["fill", "wrap", "symm", "pad", "circular", "symmetric"]
Method = Literal["auto", "direct", "separable", "fft"]

MODES = {"valid": 0, "same": 1, "full": 2}
# The engine's boundary codes by scipy's names. scipy knows 'reflect' as a name but
# its C layer then rejects it with a different message; we mirror both.
BOUNDARIES = {"fill": FILL, "pad": FILL, "wrap": WRAP, "circular": WRAP, "symm": SYMM,
              "symmetric": SYMM, "reflect": None}

# Result dtypes scipy has a loop for (its OneMultAdd table): every integer and
# float/complex kind except bool and float16; never object, strings or datetimes.
_SUPPORTED_KINDS = {"i", "u", "f", "c"}


def as_2d_pair(in1: Any, in2: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``np.asarray`` both inputs and require them to be 2-D (ValueError otherwise)."""
    a1 = np.asarray(in1)
    a2 = np.asarray(in2)
    if not a1.ndim == a2.ndim == 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays")
    return a1, a2


def inputs_swap_needed(mode: Any, shape1: tuple, shape2: tuple) -> bool:
    """True when 'valid' mode must swap the inputs (in2 larger); ValueError when
    neither input is at least as large as the other in every dimension."""
    if mode != "valid":
        return False
    ok1 = all(s1 >= s2 for s1, s2 in zip(shape1, shape2))
    ok2 = all(s2 >= s1 for s1, s2 in zip(shape1, shape2))
    if not (ok1 or ok2):
        raise ValueError("For 'valid' mode, one must be at least "
                         "as large as the other in every dimension")
    return not ok1


def mode_code(mode: Any) -> int:
    try:
        return MODES[mode]
    except KeyError as e:
        raise ValueError("Acceptable mode flags are 'valid', 'same', or 'full'.") from e


def boundary_code(boundary: Any) -> int:
    try:
        code = BOUNDARIES[boundary]
    except KeyError as e:
        raise ValueError("Acceptable boundary flags are 'fill', 'circular' "
                         "(or 'wrap'), and 'symmetric' (or 'symm').") from e
    if code is None:
        raise ValueError("Incorrect boundary value.")
    return code


# result_dtype by the type numbers of two of numpy's own dtypes (isbuiltin == 1:
# native, no metadata, not flexible), which alone decide their promotion:
# np.result_type took 0.8 us of an 8 us 32^2 3x3 call.
_promoted: dict[tuple[int, int], np.dtype] = {}


def result_dtype(a1: np.ndarray, a2: np.ndarray) -> np.dtype:
    """numpy's promotion of the two inputs, in native byte order."""
    d1, d2 = a1.dtype, a2.dtype
    key = (d1.num, d2.num) if d1.isbuiltin == 1 == d2.isbuiltin else None
    dt = _promoted.get(key)
    if dt is None:
        dt = np.result_type(d1, d2)
        if dt.kind in "iufc":
            dt = dt.newbyteorder("=")
        if key is not None:
            _promoted[key] = dt
    return dt


def check_supported(dt: np.dtype, name: str) -> None:
    # dt.char, not dt == np.float16: a dtype comparison costs 0.15 us of a small call
    if dt.kind not in _SUPPORTED_KINDS or dt.char == "e":
        raise ValueError(f"{name} not available for this type.")


def fill_scalar(fillvalue: Any, dt: np.dtype) -> Any:
    """``fillvalue`` cast to the output dtype by scipy's rules, as a numpy scalar.

    An ndarray must cast safely; any other object goes through ``np.array(obj, dt)``
    (so 2.5 becomes 2 in an integer output, while -1 into uint8, NaN or 1e40 into an
    integer, and any complex into a real output are refused).
    """
    if type(fillvalue) is int and fillvalue == 0 and dt.kind in "iufc":
        return dt.type(0)   # the default: np.array(0, dt) cannot fail for these kinds
    try:
        if isinstance(fillvalue, np.ndarray):
            if not np.can_cast(fillvalue.dtype, dt, "safe"):
                raise TypeError("unsafe cast")
            arr = fillvalue.astype(dt)
        else:
            arr = np.array(fillvalue, dtype=dt)
    except Exception:
        # scipy retries through complex and reports that; a value that is not even
        # a number fails in that conversion with numpy's own error.
        np.array(fillvalue, dtype=np.complex128)
        raise ValueError("could not cast `fillvalue` directly to the output type "
                         "(it was first converted to complex).") from None
    if arr.size != 1:
        if arr.size == 0:
            raise ValueError("`fillvalue` cannot be an empty array.")
        raise ValueError("`fillvalue` must be scalar or an array with one element.")
    return arr.reshape(())[()]


METHODS = ("auto", "direct", "separable", "fft")


def check_method(method: Any) -> None:
    """fastconv's ``method=`` extension: one of METHODS."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def out_shape_and_origin(mode: int, flip: bool, in_shape: tuple[int, int],
                         k_shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """convolve2d's (flip) or correlate2d's output shape and (oy, ox):
    out[i, j] = sum w[a, b] * x_ext[i+oy+a, j+ox+b]."""
    (n0, n1), (k0, k1) = in_shape, k_shape
    if mode == 2:      # full
        return (n0 + k0 - 1, n1 + k1 - 1), (1 - k0, 1 - k1)
    if mode == 1:      # same: scipy centres convolve at (k-1)//2, correlate at k//2
        if flip:
            return (n0, n1), ((k0 - 1) // 2 - (k0 - 1), (k1 - 1) // 2 - (k1 - 1))
        return (n0, n1), (k0 // 2 - (k0 - 1), k1 // 2 - (k1 - 1))
    return (n0 - k0 + 1, n1 - k1 + 1), (0, 0)     # valid
