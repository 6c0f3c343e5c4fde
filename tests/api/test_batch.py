"""convolve2d_batch / correlate2d_batch: equal to convolve2d / correlate2d per image."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv._engine import batch
from helpers import close, rand


@pytest.mark.parametrize("pool", [True, False], ids=["pool", "per-image"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int16],
                         ids=lambda d: np.dtype(d).name)
def test_equals_scipy_per_image(monkeypatch, func, mode, boundary, dtype, pool):
    monkeypatch.setattr(batch, "_POOL_BELOW", 1 << 40 if pool else 0)
    rng = np.random.default_rng(1)
    stack = rand(rng, (2, 3, 17, 12), dtype)
    k = rand(rng, (4, 3), dtype)
    fill = 2 if boundary == "fill" else 0
    with fastconv.threads(2):
        got = getattr(fastconv, func + "_batch")(stack, k, mode, boundary, fill)
    ref = np.stack([getattr(ss, func)(im, k, mode, boundary, fill)
                    for im in stack.reshape(-1, 17, 12)]).reshape(got.shape)
    assert got.shape[:2] == (2, 3)
    close(got, ref, stack, k)


@pytest.mark.parametrize("method", ["direct", "fft", "separable"])
def test_methods(method):
    rng = np.random.default_rng(2)
    stack = rand(rng, (5, 40, 40), np.float64)
    k = np.outer(rand(rng, 9, np.float64), rand(rng, 7, np.float64))
    got = fastconv.convolve2d_batch(stack, k, "same", "symm", method=method)
    ref = np.stack([ss.convolve2d(im, k, "same", "symm") for im in stack])
    close(got, ref, stack, k)


def test_single_image_and_empty_stack():
    rng = np.random.default_rng(3)
    img, k = rand(rng, (9, 8), np.float64), rand(rng, (3, 3), np.float64)
    close(fastconv.convolve2d_batch(img, k), ss.convolve2d(img, k), img, k)
    assert fastconv.convolve2d_batch(np.ones((0, 9, 8)), k, "valid").shape == (0, 7, 6)


def test_kernel_larger_than_images_swaps_like_convolve2d():
    rng = np.random.default_rng(4)
    stack, k = rand(rng, (3, 4, 5), np.complex128), rand(rng, (6, 7), np.complex128)
    got = fastconv.correlate2d_batch(stack, k, "valid")
    ref = np.stack([ss.correlate2d(im, k, "valid") for im in stack])
    close(got, ref, stack, k)


def test_errors():
    with pytest.raises(ValueError, match="2 dimensions"):
        fastconv.convolve2d_batch(np.ones(5), np.ones((2, 2)))
    with pytest.raises(ValueError, match="2-D"):
        fastconv.convolve2d_batch(np.ones((2, 5, 5)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="valid"):
        fastconv.convolve2d_batch(np.ones((2, 3, 5)), np.ones((5, 3)), "valid")
    with pytest.raises(ValueError, match="boundary"):
        fastconv.convolve2d_batch(np.ones((2, 3, 5)), np.ones((2, 2)), boundary="x")
    with pytest.raises(ValueError, match="method"):
        fastconv.convolve2d_batch(np.ones((2, 3, 5)), np.ones((2, 2)), method="x")
    with pytest.raises(ValueError, match="not available"):
        fastconv.convolve2d_batch(np.ones((2, 3, 5), bool), np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="fillvalue"):
        fastconv.convolve2d_batch(np.ones((2, 3, 5)), np.ones((2, 2)), fillvalue=[1, 2])


def test_inputs_not_modified():
    rng = np.random.default_rng(5)
    stack, k = rand(rng, (4, 10, 10), np.float32), rand(rng, (3, 3), np.float32)
    s0, k0 = stack.copy(), k.copy()
    fastconv.convolve2d_batch(stack, k, "same", "wrap")
    np.testing.assert_array_equal(stack, s0)
    np.testing.assert_array_equal(k, k0)


def test_strided_stack_and_mixed_types():
    rng = np.random.default_rng(6)
    stack = rand(rng, (20, 16, 6), np.int8).transpose(2, 0, 1)     # (6, 20, 16), not contiguous
    k = rand(rng, (3, 4), np.float32)
    got = fastconv.convolve2d_batch(stack, k, "same", "wrap")
    ref = np.stack([ss.convolve2d(im, k, "same", "wrap") for im in stack])
    close(got, ref, stack, k)


def test_thread_count_does_not_change_results():
    rng = np.random.default_rng(7)
    stack, k = rand(rng, (9, 30, 30), np.float64), rand(rng, (5, 5), np.float64)
    with fastconv.threads(1):
        one = fastconv.correlate2d_batch(stack, k, "full", "symm")
    with fastconv.threads(3):
        three = fastconv.correlate2d_batch(stack, k, "full", "symm")
    np.testing.assert_array_equal(one, three)
