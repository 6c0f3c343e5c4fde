"""patch_scipy / unpatch_scipy swap scipy.signal's functions reversibly."""
from __future__ import annotations

import numpy as np
import scipy.signal

import fastconv


def test_patch_and_undo():
    orig = scipy.signal.convolve2d, scipy.signal.correlate2d
    a, b = np.arange(20.0).reshape(4, 5), np.ones((2, 2))
    ref = scipy.signal.convolve2d(a, b)
    with fastconv.patch_scipy():
        assert scipy.signal.convolve2d is fastconv.convolve2d
        assert scipy.signal.correlate2d is fastconv.correlate2d
        fastconv.patch_scipy()  # twice is harmless
        np.testing.assert_array_equal(scipy.signal.convolve2d(a, b), ref)
    assert (scipy.signal.convolve2d, scipy.signal.correlate2d) == orig
    fastconv.patch_scipy()
    fastconv.unpatch_scipy()
    fastconv.unpatch_scipy()
    assert (scipy.signal.convolve2d, scipy.signal.correlate2d) == orig
