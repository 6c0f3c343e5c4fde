"""Shared data makers and reference comparisons for the tests of every wing."""
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


def rand_full_range(rng, shape, dtype):
    """Random values over a dtype's whole range (integers to their limits, so
    sums wrap around)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# Tolerance relative to the largest possible |output| (max|in1| * sum|in2|): a
# different summation order moves a float result by a few ulps of that bound.
RTOL = {np.dtype(np.float32): 2e-6, np.dtype(np.complex64): 2e-6,
        np.dtype(np.float64): 1e-13, np.dtype(np.complex128): 1e-13,
        np.dtype(np.longdouble): 1e-13, np.dtype(np.clongdouble): 1e-13}


def assert_matches(got: np.ndarray, ref: np.ndarray, in1=None, in2=None, fill=0) -> None:
    """Same dtype, shape and values as the reference: exact for integers, within
    rounding for floats, with NaN and +-Inf at exactly the same places."""
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if ref.dtype.kind in "iub":
        np.testing.assert_array_equal(got, ref)
        return
    parts = [(got.real, ref.real), (got.imag, ref.imag)] if ref.dtype.kind == "c" else [(got, ref)]
    mag = 1.0
    if in1 is not None and np.size(in2):   # an empty in1 still has fill values
        a1 = np.abs(np.asarray(in1, dtype=np.clongdouble))
        a2 = np.abs(np.asarray(in2, dtype=np.clongdouble))
        a1 = a1[np.isfinite(a1)]
        a2f = a2[np.isfinite(a2)]
        m1 = max(float(a1.max()) if a1.size else 0.0, abs(complex(fill)) if np.isfinite(complex(fill)) else 0.0)
        mag = max(mag, m1 * float(a2f.sum()))
    for g, r in parts:
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r))
        np.testing.assert_array_equal(np.isposinf(g), np.isposinf(r))
        np.testing.assert_array_equal(np.isneginf(g), np.isneginf(r))
        fin = np.isfinite(r)
        err = np.abs(g[fin].astype(np.longdouble) - r[fin].astype(np.longdouble))
        tol = RTOL[ref.dtype] * mag
        assert err.size == 0 or err.max() <= tol, f"max error {err.max()} > {tol}"


# Calls that convolve2d / correlate2d (and fastconv.dask's) refuse with scipy's exception.
_A, _B = np.ones((4, 5)), np.ones((2, 3))
BAD_2D_ARGS = [
    ("1-D in1", (np.ones(5), _B), {}),
    ("0-D in2", (_A, np.float64(2)), {}),
    ("3-D", (np.ones((2, 2, 2)), np.ones((2, 2, 2))), {}),
    ("ragged list", ([[1, 2], [3]], _B), {}),
    ("mode name", (_A, _B), {"mode": "VALID"}),
    ("mode unhashable", (_A, _B), {"mode": ["full"]}),
    ("boundary name", (_A, _B), {"boundary": "nearest"}),
    ("boundary reflect", (_A, _B), {"boundary": "reflect"}),
    ("boundary unhashable", (_A, _B), {"boundary": ["fill"]}),
    ("valid neither contains", (np.ones((3, 5)), np.ones((5, 3))), {"mode": "valid"}),
    ("bool result", (_A.astype(bool), _B.astype(bool)), {}),
    ("float16 result", (_A.astype(np.float16), _B.astype(np.float16)), {}),
    ("float16 with int8", (_A.astype(np.float16), _B.astype(np.int8)), {}),
    ("object", (_A.astype(object), _B.astype(object)), {}),
    ("datetime", (_A.astype("M8[s]"), _B.astype("M8[s]")), {}),
    ("strings", (_A.astype("U1"), _B.astype("U1")), {}),
    ("fill complex into real", (_A, _B), {"fillvalue": 1 + 0j}),
    ("fill nan into int", (_A.astype(int), _B.astype(int)), {"fillvalue": np.nan}),
    ("fill 1e40 into int32", (_A.astype(np.int32), _B.astype(np.int32)), {"fillvalue": 1e40}),
    ("fill -1 into uint8", (_A.astype(np.uint8), _B.astype(np.uint8)), {"fillvalue": -1}),
    ("fill 300 into uint8", (_A.astype(np.uint8), _B.astype(np.uint8)), {"fillvalue": 300}),
    ("fill float array into int", (_A.astype(int), _B.astype(int)), {"fillvalue": np.array([2.0])}),
    ("fill list of two", (_A, _B), {"fillvalue": [1, 2]}),
    ("fill empty", (_A, _B), {"fillvalue": []}),
    ("fill not a number", (_A, _B), {"fillvalue": "abc"}),
    ("empty full negative dims", (np.ones((0, 0)), np.ones((0, 0))), {}),
]
