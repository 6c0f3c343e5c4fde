"""The stack kernel (correlate_valid_stack(_cast), csrc/_direct.pxi): every image of a
stack in one call, tasks over (image, tile of rows); and the 2-D tiles' interior
columns read from x in place, only border strips and padding rows copied."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv._engine import batch, kernels
from fastconv._engine.boundary import FILL, SYMM, WRAP
from helpers import assert_matches, close, rand

BOUNDARIES = {"fill": FILL, "wrap": WRAP, "symm": SYMM}


def _per_image(mod, x, w, out_shape, oy, ox, boundary, fill, nt, cast=False):
    """The 2-D kernel image by image: what the stack call must equal bit for bit."""
    outs = []
    for im in x:
        o = np.empty(out_shape, w.dtype)
        (mod.correlate_valid_cast if cast else mod.correlate_valid)(im, w, o, oy, ox,
                                                                     boundary, fill, nt)
        outs.append(o)
    return np.stack(outs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("ks", [(3, 3), (5, 5), (2, 4), (4, 1), (1, 6)], ids=str)
def test_stack_equals_the_2d_kernel_per_image(isa, dtype, boundary, ks):
    """Every image of the stack call equals the 2-D kernel's result for it, bit for
    bit, for 'full', 'same' and 'valid' origins, widths around a vector chunk, and
    one to three threads (tasks split images into tiles when they are few)."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(31)
    b = BOUNDARIES[boundary]
    K, L = ks
    w = rand(rng, ks, dtype)
    fill = np.dtype(dtype).type(3)
    for B, H, W in [(5, 23, 70), (2, 90, 17), (3, 7, 130), (1, 40, 64), (2, 12, 300)]:
        x = rand(rng, (B, H, W), dtype)
        for (oy, ox), (Ho, Wo) in [((-(K - 1), -(L - 1)), (H + K - 1, W + L - 1)),
                                   ((-((K - 1) // 2), -((L - 1) // 2)), (H, W)),
                                   ((0, 0), (H - K + 1, W - L + 1))]:
            ref = _per_image(mod, x, w, (Ho, Wo), oy, ox, b, fill, 1)
            for nt in (1, 2, 3):
                got = np.empty((B, Ho, Wo), dtype)
                mod.correlate_valid_stack(x, w, got, oy, ox, b, fill, nt)
                assert got.tobytes() == ref.tobytes(), (B, H, W, oy, ox, nt)


def test_stack_strides_streams_and_empty_images(isa):
    """Non-contiguous stacks (transposed, reversed, every other image) and a block
    of a larger output; streamed stores forced on and off; images with no samples
    (every output a sum of fill values)."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(32)
    w = rand(rng, (3, 5), np.float32)
    base = rand(rng, (40, 8, 33), np.float32)
    for x in (base.transpose(1, 0, 2), base[::-1, ::2, ::-1].transpose(1, 0, 2),
              base.transpose(1, 2, 0)[:, ::3]):
        ref = _per_image(mod, x, w, x.shape[1:], -1, -2, WRAP, np.float32(0), 1)
        for nbytes, nt in [(1 << 62, 2), (0, 1), (0, 2)]:
            prev = mod.set_stream_bytes(nbytes)
            try:
                big = np.full((x.shape[0], x.shape[1] + 2, x.shape[2] + 3), np.nan, np.float32)
                got = big[:, 1:-1, 2:-1]
                mod.correlate_valid_stack(x, w, got, -1, -2, WRAP, np.float32(0), nt)
            finally:
                mod.set_stream_bytes(prev)
            assert got.tobytes() == np.ascontiguousarray(ref).tobytes()
            assert np.isnan(big[:, 0]).all() and np.isnan(big[:, :, :2]).all()
    empty = np.empty((3, 0, 4), np.float64)
    got = np.empty((3, 2, 2), np.float64)
    mod.correlate_valid_stack(empty, w.astype(np.float64), got, -1, -1, FILL, 2.0, 2)
    np.testing.assert_allclose(got, 2.0 * w.astype(np.float64).sum(), rtol=1e-14)
    with pytest.raises(ValueError, match="numbers of images"):
        mod.correlate_valid_stack(x, w, np.empty((1,) + x.shape[1:], np.float32), 0, 0,
                                  FILL, np.float32(0), 1)


@pytest.mark.parametrize("src,lanes,res", [
    (np.int8, np.float32, np.float32), (np.uint8, np.uint16, np.uint8),
    (np.int16, np.uint16, np.int16), (np.float32, np.float64, np.float64),
    (np.uint16, np.int32, np.int32)], ids=str)
def test_stack_cast_equals_the_2d_cast_kernel(isa, src, lanes, res):
    """The converting stack call (an input of another type, each row converted as
    it is copied; 8-bit results stored as low bytes) equals the 2-D one per image."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(33)
    x = rand(rng, (4, 19, 75), src)[:, :, ::-1]      # reversed rows: a strided copy
    w = rand(rng, (4, 3), lanes)
    ct = np.dtype(lanes)
    for b in (FILL, WRAP, SYMM):
        ref = []
        for im in x:
            o = np.empty((19, 75), res)
            mod.correlate_valid_cast(im, w, o, -2, -1, b, ct.type(1), 1)
            ref.append(o)
        for nt in (1, 2):
            got = np.empty((4, 19, 75), res)
            mod.correlate_valid_stack_cast(x, w, got, -2, -1, b, ct.type(1), nt)
            assert got.tobytes() == np.stack(ref).tobytes(), (b, nt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_in_place_interior_equals_the_copied_rows(isa, dtype, boundary):
    """Interior columns read from x in place equal the same sums over copied rows
    (x with a column stride is always copied), bit for bit: every
    origin ('full', 'same', 'valid'), odd and even kernels, one-row kernels, on
    one to three threads; and they match scipy."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(34)
    b = BOUNDARIES[boundary]
    fill = dtype(2)
    for K, L in [(1, 1), (1, 4), (2, 2), (3, 3), (6, 5), (4, 7)]:
        w = rand(rng, (K, L), dtype)
        # rows this long are read in place (K + 1 of them overflow L1), shorter
        # ones copied: both kinds, and tall images cut into tiles
        for H, W in [(7, 4200), (40, 2500), (6, 9000), (300, 200)]:
            x = rand(rng, (H, W), dtype)
            strided = np.repeat(x, 2, axis=1)[:, ::2]           # the same values, copied
            for (oy, ox), (Ho, Wo) in [((-(K - 1), -(L - 1)), (H + K - 1, W + L - 1)),
                                       ((-(K // 2), -(L // 2)), (H, W)),
                                       ((0, 0), (H - K + 1, W - L + 1))]:
                ref = np.empty((Ho, Wo), dtype)
                mod.correlate_valid(strided, w, ref, oy, ox, b, fill, 1)
                for nt in (1, 2, 3):
                    got = np.empty((Ho, Wo), dtype)
                    mod.correlate_valid(x, w, got, oy, ox, b, fill, nt)
                    assert got.tobytes() == ref.tobytes(), (K, L, H, W, oy, ox, nt)
            same = ss.correlate2d(x, w, "same", boundary, 2)
            assert_matches(fastconv.correlate2d(x, w, "same", boundary, 2, method="direct"),
                           same, x, w, 2)


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint8],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("ks", [(3, 3), (4, 2)], ids=str)
def test_batch_through_the_stack_kernel_equals_scipy(monkeypatch, isa, dtype, mode, boundary,
                                                     ks):
    """convolve2d_batch's direct road is one stack call (no per-image call runs);
    every image equals scipy's, and the result is the same for any thread count."""
    monkeypatch.setattr(batch, "correlate_into", None)      # the per-image road would fail
    rng = np.random.default_rng(35)
    stack, k = rand(rng, (2, 3, 21, 40), dtype), rand(rng, ks, dtype)
    fill = 2 if boundary == "fill" else 0
    outs = []
    for nt in (1, 2):
        with fastconv.threads(nt):
            outs.append(fastconv.convolve2d_batch(stack, k, mode, boundary, fill,
                                                  method="direct"))
    ref = np.stack([ss.convolve2d(im, k, mode, boundary, fill)
                    for im in stack.reshape(-1, 21, 40)]).reshape(outs[0].shape)
    close(outs[0], ref, stack, k)
    assert outs[1].tobytes() == outs[0].tobytes()


def test_batch_falls_back_per_image_where_the_stack_kernel_cannot_read(monkeypatch):
    """Byte-swapped and float16 stacks (converted whole), complex ones and narrow
    tall outputs (transposed per image) take the per-image road, and agree."""
    rng = np.random.default_rng(36)
    calls = []
    real = batch.correlate_into

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(batch, "correlate_into", spy)
    k = rand(rng, (3, 3), np.float64)
    for stack in (rand(rng, (3, 12, 14), np.float64).astype(">f8"),
                  rand(rng, (3, 12, 14), np.float16),
                  rand(rng, (3, 12, 14), np.complex128),
                  rand(rng, (3, 60, 4), np.float64)):
        calls.clear()
        got = fastconv.convolve2d_batch(stack, k, "same", method="direct")
        ref = np.stack([ss.convolve2d(im, k, "same") for im in stack])
        close(got, ref, stack, k)
        assert len(calls) == 3


def test_stack_through_nd_equals_batch():
    """convolve(stack, k[None]) takes the batch's road: the same bits."""
    rng = np.random.default_rng(37)
    stack, k = rand(rng, (6, 33, 50), np.float32), rand(rng, (5, 5), np.float32)
    with fastconv.threads(2):
        a = fastconv.convolve(stack, k[None], "same", method="direct")
        b = fastconv.convolve2d_batch(stack, k, "same", method="direct")
    assert a.tobytes() == b.tobytes()
