"""np_convolve / np_correlate against numpy.convolve / numpy.correlate."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from helpers import close, rand

LENGTHS = [(7, 4), (7, 3), (4, 7), (3, 7), (5, 5), (6, 3), (1, 9), (9, 1), (20_000, 31),
           (31, 20_000)]
MODES = ["full", "same", "valid", 0, 1, 2]
DTYPES = [np.float32, np.float64, np.complex64, np.complex128, np.int8, np.uint8, np.int64]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_matches_numpy(func, lengths, mode, dtype):
    rng = np.random.default_rng(sum(lengths))
    a, v = rand(rng, lengths[0], dtype), rand(rng, lengths[1], dtype)
    close(getattr(fastconv, "np_" + func)(a, v, mode), getattr(np, func)(a, v, mode), a, v)


@pytest.mark.parametrize("pair", [(np.uint8, np.int8), (np.uint8, np.float32),
                                  (np.int16, np.float64), (np.int8, np.uint16),
                                  (np.float32, np.complex64), (np.uint8, np.complex128)],
                         ids=lambda p: f"{np.dtype(p[0]).name}-{np.dtype(p[1]).name}")
@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_mixed_types_convert_in_the_tile(func, pair):
    """The signal is read in its own type (long enough for the folded rows), values
    over each integer type's whole range so sums wrap."""
    rng = np.random.default_rng(4)
    a = rng.integers(np.iinfo(pair[0]).min, np.iinfo(pair[0]).max, 20_000).astype(pair[0]) \
        if np.dtype(pair[0]).kind in "iu" else rand(rng, 20_000, pair[0])
    v = rand(rng, 31, pair[1])
    for mode in ("full", "same", "valid"):
        close(getattr(fastconv, "np_" + func)(a, v, mode), getattr(np, func)(a, v, mode), a, v)


def test_default_modes_differ_like_numpy():
    a, v = np.arange(10.0), np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(fastconv.np_convolve(a, v), np.convolve(a, v))
    np.testing.assert_array_equal(fastconv.np_correlate(a, v), np.correlate(a, v))
    assert fastconv.np_correlate(a, v).shape == (8,)


@pytest.mark.parametrize("args", [
    (3.0, [1.0, 2.0]), ([True, False, True], [True, True]), ([1, 2, 3], [1.5]),
    (np.ones(5, np.float16), np.ones(2, np.float16)), ([1, 2], [3, 4, 5]),
    (np.array([1, 2], object), np.array([3, 4], object)),
], ids=["scalar", "bool", "int-float", "float16", "lists", "object"])
@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_other_inputs_like_numpy(func, args):
    try:
        ref = getattr(np, func)(*args, "full")
    except ValueError:   # numpy.correlate refuses scalars
        with pytest.raises(ValueError, match="depth"):
            getattr(fastconv, "np_" + func)(*args, "full")
        return
    got = getattr(fastconv, "np_" + func)(*args, "full")
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("args", [
    ([], [1.0]), ([1.0], []), (np.ones((2, 2)), [1.0]), ([1.0, 2.0], [1.0], "middle"),
    ([1.0, 2.0], [1.0], 3), ([1.0, 2.0], [1.0], None), ([1.0, 2.0], [1.0], 1.5),
], ids=["empty-a", "empty-v", "2-d", "bad-name", "bad-int", "none", "float"])
def test_errors_like_numpy(func, args):
    with pytest.raises(Exception) as ref:
        getattr(np, func)(*args)
    with pytest.raises(type(ref.value)):
        getattr(fastconv, "np_" + func)(*args)


@settings(max_examples=80, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), mode=st.sampled_from(["full", "same", "valid"]),
       func=st.sampled_from(["convolve", "correlate"]), seed=st.integers(0, 2**31),
       dtype=st.sampled_from([np.complex128, np.int16]))
def test_property_matches_numpy(m, n, mode, func, seed, dtype):
    rng = np.random.default_rng(seed)
    a, v = rand(rng, m, dtype), rand(rng, n, dtype)
    close(getattr(fastconv, "np_" + func)(a, v, mode), getattr(np, func)(a, v, mode), a, v)
