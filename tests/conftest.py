"""Shared reference-comparison helpers for the fastconv tests."""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

from fastconv._engine import kernels

# CI replays the same hypothesis examples on every run (no flaky verdicts); local
# runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

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


@pytest.fixture(params=kernels.available_isas())
def isa(request, monkeypatch):
    """Run a test once per kernel build this machine can execute."""
    build = kernels.build
    mod = build(request.param)
    monkeypatch.setattr(kernels, "build", lambda name=None: build(name or request.param))
    return request.param
