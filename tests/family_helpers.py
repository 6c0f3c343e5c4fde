"""Shared data makers and the tolerance rule for the family tests."""
from __future__ import annotations

import numpy as np

# Relative to max|in1| * sum|in2|: FFT rounding (either side may use an FFT).
TOL = {"f4": 1e-5, "c8": 1e-5, "f8": 1e-12, "c16": 1e-12, "f16": 1e-12, "c32": 1e-12}


def rand(rng, shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    if dt.kind in "iu":
        lo = 0 if dt.kind == "u" else -50
        return rng.integers(lo, 50, shape).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def close(got, ref, a, b) -> None:
    """Same type, shape and values: exact for integers, to rounding for floats."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if ref.dtype.kind in "iub":
        np.testing.assert_array_equal(got, ref)
        return
    if ref.size == 0:
        return
    bound = max(1.0, float(np.abs(np.asarray(a)).max(initial=0))
                * float(np.abs(np.asarray(b)).sum()))
    # an input in single precision makes scipy's FFT single precision too
    single = any(np.asarray(v).dtype in (np.float32, np.complex64) for v in (a, b))
    tol = (1e-5 if single else TOL[ref.dtype.str[1:]]) * bound
    err = float(np.abs(got.astype(np.clongdouble) - ref.astype(np.clongdouble)).max())
    assert err <= tol, f"max error {err} > {tol}"
