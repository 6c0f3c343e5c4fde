"""Bad input gets scipy's exception type (and message where scipy has a clear one)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv

FUNCS = ["convolve2d", "correlate2d"]
A, B = np.ones((4, 5)), np.ones((2, 3))

BAD = [
    ("1-D in1", (np.ones(5), B), {}),
    ("0-D in2", (A, np.float64(2)), {}),
    ("3-D", (np.ones((2, 2, 2)), np.ones((2, 2, 2))), {}),
    ("ragged list", ([[1, 2], [3]], B), {}),
    ("mode name", (A, B), {"mode": "VALID"}),
    ("mode unhashable", (A, B), {"mode": ["full"]}),
    ("boundary name", (A, B), {"boundary": "nearest"}),
    ("boundary reflect", (A, B), {"boundary": "reflect"}),
    ("boundary unhashable", (A, B), {"boundary": ["fill"]}),
    ("valid neither contains", (np.ones((3, 5)), np.ones((5, 3))), {"mode": "valid"}),
    ("bool result", (A.astype(bool), B.astype(bool)), {}),
    ("float16 result", (A.astype(np.float16), B.astype(np.float16)), {}),
    ("float16 with int8", (A.astype(np.float16), B.astype(np.int8)), {}),
    ("object", (A.astype(object), B.astype(object)), {}),
    ("datetime", (A.astype("M8[s]"), B.astype("M8[s]")), {}),
    ("strings", (A.astype("U1"), B.astype("U1")), {}),
    ("fill complex into real", (A, B), {"fillvalue": 1 + 0j}),
    ("fill nan into int", (A.astype(int), B.astype(int)), {"fillvalue": np.nan}),
    ("fill 1e40 into int32", (A.astype(np.int32), B.astype(np.int32)), {"fillvalue": 1e40}),
    ("fill -1 into uint8", (A.astype(np.uint8), B.astype(np.uint8)), {"fillvalue": -1}),
    ("fill 300 into uint8", (A.astype(np.uint8), B.astype(np.uint8)), {"fillvalue": 300}),
    ("fill float array into int", (A.astype(int), B.astype(int)), {"fillvalue": np.array([2.0])}),
    ("fill list of two", (A, B), {"fillvalue": [1, 2]}),
    ("fill empty", (A, B), {"fillvalue": []}),
    ("fill not a number", (A, B), {"fillvalue": "abc"}),
    ("empty full negative dims", (np.ones((0, 0)), np.ones((0, 0))), {}),
]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_same_exception_type_as_scipy(func, case):
    _, args, kw = case
    with pytest.raises(Exception) as ref:
        getattr(ss, func)(*args, **kw)
    with pytest.raises(ref.type) as got:
        getattr(fastconv, func)(*args, **kw)
    if ref.type is ValueError and "fillvalue" in str(ref.value):
        assert str(got.value) == str(ref.value)


@pytest.mark.parametrize("boundary", ["wrap", "symm", "circular", "symmetric"])
def test_fillvalue_ignored_unless_fill(boundary):
    for fv in ([1, 2], 1j, [], "abc"):
        got = fastconv.convolve2d(A, B, boundary=boundary, fillvalue=fv)
        np.testing.assert_array_equal(got, ss.convolve2d(A, B, boundary=boundary))


def test_messages_name_the_function():
    with pytest.raises(ValueError, match="convolve2d inputs must both be 2-D"):
        fastconv.convolve2d(np.ones(3), B)
    with pytest.raises(ValueError, match="correlate2d inputs must both be 2-D"):
        fastconv.correlate2d(np.ones(3), B)
    with pytest.raises(ValueError, match="not available for this type"):
        fastconv.correlate2d(A.astype(bool), B.astype(bool))
