"""Bad input gets scipy's exception type (and message where scipy has a clear one)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from helpers import BAD_2D_ARGS as BAD

FUNCS = ["convolve2d", "correlate2d"]
A, B = np.ones((4, 5)), np.ones((2, 3))


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
