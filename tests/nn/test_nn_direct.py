"""fastconv.nn's direct kernels (fastconv/nn/_direct.py, csrc/_nn_direct.pxi) on
every ISA build: against torch (float64, when installed) or the plane-by-plane
numpy reference, bit-identical for every thread count, gradients by finite
differences and by the adjoint identities."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn_reference as ref
from fastconv import nn, threads
from fastconv.nn import _direct
from fastconv.nn._args import Geometry

# (N, C, H, W, O, kernel, stride, padding, dilation, groups): every argument, odd
# sizes that leave partial strips and register blocks (O not a multiple of 8).
LAYERS = [
    (2, 3, 11, 13, 5, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (1, 4, 12, 10, 6, (3, 5), (2, 1), (1, 2), (1, 1), 2),
    (2, 6, 13, 13, 6, (3, 3), (1, 1), (2, 2), (2, 2), 6),         # depthwise, dilated
    (1, 3, 17, 15, 9, (7, 7), (2, 2), (3, 3), (1, 1), 1),         # a small ResNet stem
    (2, 4, 9, 9, 12, (3, 3), (1, 1), "same", (2, 1), 2),
    (1, 2, 10, 9, 4, (4, 2), (3, 2), (0, 1), (1, 2), 1),
    (2, 4, 8, 8, 8, (1, 1), (1, 1), (0, 0), (1, 1), 4),           # 1x1, channel multiplier 2
    (1, 3, 7, 8, 2, (2, 3), (1, 1), "valid", (1, 1), 1),
    (1, 16, 9, 11, 20, (3, 3), (2, 2), (1, 0), (1, 1), 1),        # blocks of 8 and a tail
    (3, 8, 6, 5, 3, (5, 5), (1, 1), (2, 2), (1, 1), 1),           # kernel > part of input
    (1, 2, 14, 6, 2, (3, 1), (3, 1), (0, 0), (3, 1), 1),          # stride 3: empty phases
]
FWD_TOL = {np.float32: 2e-5, np.float64: 1e-9}


def _data(case, dtype, seed=0):
    n, c, h, w, o, k, s, p, d, g = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c // g) + k).astype(dtype)
    return x, wt, dict(stride=s, padding=p, dilation=d, groups=g)


def _want(x, w, go, kw):
    """Forward and gradients of the reference: torch in float64 if installed."""
    try:
        import torch
    except ImportError:
        return (ref.conv2d(x, w, **kw), ref.grad_input(x.shape, w, go, **kw),
                ref.grad_weight(x, w.shape, go, **kw))
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tw = torch.tensor(w.astype(np.float64), requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, **kw)
    ty.backward(torch.tensor(go.astype(np.float64)))
    return ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()


def _close(got, want, dtype):
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=FWD_TOL[dtype] * scale)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", LAYERS)
def test_direct_matches_torch(case, dtype, isa):
    x, w, kw = _data(case, dtype)
    with _direct.route("direct"):
        y = nn.conv2d(x, w, **kw)
        go = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
        gx, gw, _ = nn.conv2d_backward(x, w, go, **kw)
    want = _want(x, w, go, kw)
    for got, exp in zip((y, gx, gw), want):
        _close(got, exp, dtype)


@pytest.mark.parametrize("case", [
    # (N, C, H, W, O, kernel, stride, padding, output_padding, dilation, groups)
    (2, 4, 5, 6, 3, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),
    (1, 4, 6, 5, 4, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 2),
    (1, 2, 7, 7, 2, (3, 2), (1, 3), (0, 1), (0, 2), (2, 1), 2),
    (1, 2, 4, 5, 2, (3, 3), (1, 1), (0, 0), (1, 0), (2, 1), 1),
])
def test_direct_conv_transpose2d(case, isa):
    n, c, h, w, o, k, s, p, op, d, g = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((c, o // g) + k)
    b = rng.standard_normal(o)
    kw = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    with _direct.route("direct"):
        got = nn.conv_transpose2d(x, wt, b, **kw)
    _close(got, ref.conv_transpose2d(x, wt, b, **kw), np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", [LAYERS[0], LAYERS[3], LAYERS[4], LAYERS[8],
                                  (2, 6, 13, 13, 6, (3, 3), (1, 1), (1, 1), (1, 1), 6)])
def test_direct_results_independent_of_thread_count(case, dtype):
    x, w, kw = _data(case, dtype, seed=3)
    x = np.concatenate([x] * 3)              # more tasks than threads
    go = None
    results = []
    with _direct.route("direct"):
        for nt in (1, 2, 3, 7):
            with threads(nt):
                y = nn.conv2d(x, w, **kw)
                if go is None:
                    go = np.random.default_rng(4).standard_normal(y.shape).astype(dtype)
                results.append((y,) + nn.conv2d_backward(x, w, go, **kw)[:2])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# The six layers of issue 22 shrunk (fewer samples, channels and pixels), and sizes
# that leave narrow runs at a row's end (widths 15, 29) and partial blocks of
# output channels (36, 33, 40): the channel-in-lanes kernel where the cost rule
# would not always choose it.
LANES_LAYERS = [
    (2, 3, 23, 23, 40, (7, 7), (2, 2), (3, 3), (1, 1), 1),        # the stem
    (1, 16, 15, 15, 36, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (1, 32, 14, 14, 32, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (1, 40, 7, 29, 33, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (2, 4, 16, 16, 32, (5, 5), (1, 1), (2, 2), (1, 1), 1),
    (1, 8, 12, 12, 8, (3, 3), (1, 1), (1, 1), (1, 1), 8),         # depthwise
    (1, 12, 11, 13, 34, (3, 5), (2, 1), (1, 2), (2, 1), 2),       # strided, dilated, grouped
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", LAYERS + LANES_LAYERS)
def test_lanes_kernel_gives_the_strips_bits(case, dtype, isa):
    """Both kernels sum each output over (channel, tap) in one order: the same bits,
    forward and input gradient, and torch's values."""
    x, w, kw = _data(case, dtype, seed=10)
    got = {}
    with _direct.route("direct"):
        for name in ("strips", "lanes"):
            with _direct.kernel(name):
                y = nn.conv2d(x, w, **kw)
                go = np.random.default_rng(11).standard_normal(y.shape).astype(dtype)
                got[name] = (y, nn.conv2d_grad_input(x.shape, w, go, **kw))
    for a, b in zip(got["strips"], got["lanes"]):
        np.testing.assert_array_equal(a, b)
    want = _want(x, w, go, kw)
    for a, b in zip(got["lanes"], want):
        _close(a, b, dtype)


@pytest.mark.parametrize("case", LANES_LAYERS[1:5])
def test_lanes_kernel_independent_of_thread_count(case):
    x, w, kw = _data(case, np.float32, seed=12)
    x = np.concatenate([x] * 3)
    with _direct.route("direct"), _direct.kernel("lanes"):
        y = nn.conv2d(x, w, **kw)
        go = np.random.default_rng(13).standard_normal(y.shape).astype(np.float32)
        results = []
        for nt in (1, 2, 3, 7):
            with threads(nt):
                results.append((nn.conv2d(x, w, **kw), nn.conv2d_grad_input(x.shape, w, go, **kw)))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kernel", ["strips", "lanes"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", LAYERS + LANES_LAYERS)
def test_tasks_packing_gives_the_whole_packing_bits(case, dtype, kernel, isa):
    """Unit-stride layers' tasks pack the rows they read (one window per task, in
    row groups that depend on the thread count); the bits are those of the input
    packed once, forward and input gradient, for every thread count."""
    x, w, kw = _data(case, dtype, seed=14)
    got = []
    with _direct.route("direct"), _direct.kernel(kernel):
        for mode, nt in (("whole", 2), ("tasks", 1), ("tasks", 2), ("tasks", 5)):
            with _direct.packing(mode), threads(nt):
                y = nn.conv2d(x, w, **kw)
                go = np.random.default_rng(15).standard_normal(y.shape).astype(dtype)
                got.append((y, nn.conv2d_grad_input(x.shape, w, go, **kw)))
    for other in got[1:]:
        for a, b in zip(got[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(8, 64, 56, 56), (3, 5, 7, 9), (1, 300, 1, 17), (2, 4, 0, 3),
                                   (0, 3, 4, 4), (2, 0, 3, 3)])
def test_bias_gradient_sums_in_float64(shape, isa):
    """conv2d_backward's float32 bias gradient: each channel's sum, accumulated in
    float64 (numpy's float32 sum is pairwise in float32), the same bits for any
    thread count, within an ulp of the correctly rounded sum."""
    dtype = np.float32
    go = np.random.default_rng(16).standard_normal(shape).astype(dtype) * 100
    want = go.astype(np.float64).sum(axis=(0, 2, 3))
    got = []
    for nt in (1, 2, 5):
        out = np.full(shape[1], np.nan, dtype)
        _direct.channel_sums(go, out, nt)
        got.append(out)
    for other in got[1:]:
        np.testing.assert_array_equal(got[0], other)
    np.testing.assert_allclose(got[0], want.astype(dtype), rtol=np.finfo(dtype).eps, atol=0)
    if go.size:
        x = np.zeros((shape[0], 1, shape[2], shape[3]), dtype)
        gb = nn.conv2d_backward(x, np.ones((shape[1], 1, 1, 1), dtype), go)[2]
        np.testing.assert_array_equal(gb, got[0])


def test_tasks_pack_one_unit_stride_call():
    assert _direct._tasks_pack(1, (1, 1))
    assert not _direct._tasks_pack(1, (2, 1))     # strided: phases packed once
    assert not _direct._tasks_pack(4, (1, 1))     # a strided gradient's phase calls
    with _direct.packing("whole"):
        assert not _direct._tasks_pack(1, (1, 1))


def test_kernel_choice_by_counted_work():
    """The lanes where the strips' dropped columns and plane ends cost more than the
    lanes' transpose (small planes, many channels); the strips on the stem's large
    plane and where a block of the lanes' output channels would be mostly empty."""
    strip, block, vl = 48, 32, 16
    assert _direct._lanes_chosen(256, (14, 14), 256 * 9, 15, strip, 8, block, vl)
    assert not _direct._lanes_chosen(64, (112, 112), 3 * 49, 115, strip, 8, block, vl)
    assert not _direct._lanes_chosen(3, (14, 14), 64 * 9, 15, strip, 4, block, vl)
    with _direct.kernel("lanes"):
        assert _direct._lanes_chosen(3, (14, 14), 64 * 9, 15, strip, 4, block, vl)
    with _direct.kernel("strips"):
        assert not _direct._lanes_chosen(256, (14, 14), 256 * 9, 15, strip, 8, block, vl)
    with pytest.raises(ValueError):
        with _direct.kernel("im2col"):
            pass


def test_row_taps_skip_the_rows_of_padding():
    # 3x3, padding 1, 4 output rows: the first row's kernel row 0 and the last's
    # kernel row 2 read padding only
    np.testing.assert_array_equal(
        _direct._row_taps(4, 1, (-1, -1, -1, 0, 0, 0, 1, 1, 1), 4),
        [[3, 9], [0, 9], [0, 9], [0, 6]])
    # stride 2, dilation 2, padding 3 over 5 input rows: rows u*2 + 2a - 3; taps
    # in another order skip only those before the first and after the last read
    np.testing.assert_array_equal(_direct._row_taps(3, 2, (-3, -1, 1), 5),
                                  [[2, 3], [1, 3], [0, 2]])
    np.testing.assert_array_equal(_direct._row_taps(2, 1, (0, -1, 0, 3), 3),
                                  [[0, 3], [0, 3]])
    np.testing.assert_array_equal(_direct._row_taps(1, 1, (-2, -1, 5), 3), [[0, 0]])


def test_direct_gradients_match_finite_differences():
    """Directional derivatives of L = <conv2d(x, w), go> in float64, torch aside."""
    x, w, kw = _data(LAYERS[1], np.float64, seed=6)
    rng = np.random.default_rng(7)
    with _direct.route("direct"):
        go = rng.standard_normal(nn.conv2d(x, w, **kw).shape)
        loss = lambda x_, w_: float(np.vdot(nn.conv2d(x_, w_, **kw), go))  # noqa: E731
        gx, gw, _ = nn.conv2d_backward(x, w, go, **kw)
        ref.assert_finite_differences(loss, [x, w], [gx, gw], rng)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_direct_adjoint_identities(data):
    """<conv2d(x, w), g> = <x, grad_input(g)> = <w, grad_weight(x, g)> on random
    geometries, the forward against the numpy reference."""
    x, wt, kwargs, rng = ref.draw_layer(data.draw, [1, 2, 3], 3, 9, 12)
    with _direct.route("direct"):
        y = nn.conv2d(x, wt, **kwargs)
        np.testing.assert_allclose(y, ref.conv2d(x, wt, **kwargs), atol=1e-12)
        go = rng.standard_normal(y.shape)
        gx = nn.conv2d_grad_input(x.shape, wt, go, **kwargs)
        gw = nn.conv2d_grad_weight(x, wt.shape, go, **kwargs)
    lhs = np.vdot(y, go)
    assert np.vdot(x, gx) == pytest.approx(lhs, rel=1e-9, abs=1e-9)
    assert np.vdot(wt, gw) == pytest.approx(lhs, rel=1e-9, abs=1e-9)


def test_route_choice_and_override():
    from fastconv.nn._args import Geometry
    plain = Geometry((1, 1), (1, 1), ((0, 0), (0, 0)), 1)
    assert not _direct.chosen((8, 4, 1, 1), plain)           # a matrix product: BLAS
    assert _direct.chosen((8, 4, 3, 3), plain)
    with _direct.route("direct"):
        assert _direct.chosen((8, 4, 1, 1), plain)
    with _direct.route("gemm"):
        assert not _direct.chosen((8, 4, 3, 3), plain)
    with pytest.raises(ValueError):
        with _direct.route("fft"):
            pass
    x, w, kw = _data(LAYERS[6], np.float64)
    with _direct.route("gemm"):
        want = nn.conv2d(x, w, **kw)
    with _direct.route("direct"):
        _close(nn.conv2d(x, w, **kw), want, np.float64)


def test_direct_reads_strided_and_special_values():
    """A non-contiguous input is read in place; NaN and Inf reach exactly the
    outputs whose windows hold them."""
    x, w, kw = _data(LAYERS[0], np.float64)
    big = np.zeros((x.shape[0], x.shape[1], x.shape[2] * 2, x.shape[3] * 3))
    big[:, :, ::2, ::3] = x
    view = big[:, :, ::2, ::3]
    with _direct.route("direct"):
        _close(nn.conv2d(view, w, **kw), ref.conv2d(x, w, **kw), np.float64)
        x2 = x.copy()
        x2[0, 1, 5, 6] = np.nan
        y = nn.conv2d(x2, w, **kw)
    bad = np.isnan(y)
    assert bad[0, :, 4:7, 5:8].all() and bad.sum() == bad[0, :, 4:7, 5:8].size


@pytest.mark.parametrize("case", [
    (2, 20, 41, 37, 27, (3, 3), (1, 1), (1, 1), (1, 1), 1),    # many strips and task groups
    (3, 12, 30, 33, 12, (5, 3), (2, 1), (2, 1), (1, 2), 3),     # grouped, strided, dilated
    (2, 8, 64, 64, 8, (3, 3), (1, 1), (1, 1), (1, 1), 8),       # depthwise, large planes
])
def test_direct_larger_layers_match_blas(case, isa):
    """Layers large enough for several strips per plane, tasks per plane and
    register blocks, against the im2col + BLAS road in float64."""
    x, w, kw = _data(case, np.float64, seed=8)
    with _direct.route("gemm"):
        y0 = nn.conv2d(x, w, **kw)
        go = np.random.default_rng(9).standard_normal(y0.shape)
        want = (y0,) + nn.conv2d_backward(x, w, go, **kw)[:2]
    with _direct.route("direct"), threads(3):
        got = (nn.conv2d(x, w, **kw),) + nn.conv2d_backward(x, w, go, **kw)[:2]
    for a, b in zip(got, want):
        _close(a, b, np.float64)


@pytest.mark.parametrize("where", [(0, 0, 3, 9), (1, 2, 6, 0)], ids=["unread", "edge"])
def test_weight_gradient_with_non_finite_input_matches_the_reference(where):
    """An Inf where no window reads it (dilation leaves columns unread) must not
    reach the weight gradient as Inf * 0 = NaN; one read at the edge gives the
    reference's Inf/NaN at exactly its taps."""
    _check_weight_gradient_with_inf(where, 4, 12)


def _check_weight_gradient_with_inf(where: tuple, out: int, seed: int) -> None:
    """The weight gradient of ``out`` outputs, 3x3 taps dilated by 4, of an input
    with an Inf at ``where``, against the reference: Inf and NaN at the same
    places, the finite values to 1e-12."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 10, 10))
    go = rng.standard_normal((2, out, 2, 2))
    x[where] = np.inf
    kw = dict(stride=1, padding=0, dilation=4)
    got = nn.conv2d_grad_weight(x, (out, 3, 3, 3), go, **kw)
    want = ref.grad_weight(x, (out, 3, 3, 3), go, stride=(1, 1), padding=(0, 0),
                           dilation=(4, 4))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-12, atol=1e-12)


# Layers whose groups hold whole vectors of output channels (16 float32 or 8 float64
# lanes with AVX-512, fewer on the narrower builds): the weight gradient's lanes
# road, with register blocks of 1, 2 and 4 vectors, pairs that leave a partial
# register block, batch parts and the six layers of issue 22 shrunk.
LANE_LAYERS = [
    (2, 3, 23, 21, 64, (7, 7), (2, 2), (3, 3), (1, 1), 1),        # the stem, shrunk
    (3, 8, 12, 13, 64, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (2, 10, 7, 9, 128, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (5, 4, 13, 11, 32, (5, 5), (1, 1), (2, 2), (1, 1), 1),
    (2, 6, 11, 10, 48, (3, 2), (2, 1), (0, 1), (2, 1), 3),        # groups of 16
    (1, 2, 9, 17, 16, (1, 3), (1, 3), (0, 2), (1, 2), 1),
    (2, 5, 8, 8, 24, (2, 2), (1, 1), "same", (3, 3), 1),          # 24 = 3 x 8 lanes
    (4, 8, 6, 6, 32, (3, 3), (3, 3), (1, 1), (1, 1), 2),          # stride 3
    (1, 4, 6, 7, 256, (3, 3), (1, 1), (1, 1), (1, 1), 1),         # 14^2 x 256: 4 channel blocks
    (2, 80, 5, 6, 64, (3, 3), (1, 1), (1, 1), (1, 1), 1),         # 720 pairs: 2 pair blocks
]


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", LANE_LAYERS)
def test_weight_gradient_lanes_road(case, dtype, isa):
    """Against torch (float64) and against the im2col road, where the layer takes the
    lanes road on this build (the others take the rows road: the same answers)."""
    x, w, kw = _data(case, dtype, seed=13)
    with _direct.route("gemm"):
        go = np.random.default_rng(14).standard_normal(nn.conv2d(x, w, **kw).shape)
        go = go.astype(dtype)
        blas = nn.conv2d_grad_weight(x, w.shape, go, **kw)
    with _direct.route("direct"):
        got = nn.conv2d_grad_weight(x, w.shape, go, **kw)
    _close(got, _want(x, w, go, kw)[2], dtype)
    _close(got, blas, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", [LANE_LAYERS[0], LANE_LAYERS[3], LANE_LAYERS[4],
                                  LANE_LAYERS[9],
                                  (9, 6, 10, 10, 64, (3, 3), (1, 1), (1, 1), (1, 1), 1)])
def test_weight_gradient_lanes_independent_of_thread_count(case, dtype, isa):
    x, w, kw = _data(case, dtype, seed=15)
    go = None
    results = []
    with _direct.route("direct"):
        for nt in (1, 2, 3, 7):
            with threads(nt):
                if go is None:
                    go = np.random.default_rng(16).standard_normal(
                        nn.conv2d(x, w, **kw).shape).astype(dtype)
                results.append(nn.conv2d_grad_weight(x, w.shape, go, **kw))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


@pytest.mark.parametrize("where", [(0, 0, 3, 9), (1, 2, 6, 0), (0, 1, 0, 0)],
                         ids=["unread", "edge", "corner"])
def test_weight_gradient_lanes_with_non_finite_input(where, isa):
    """The lanes road forms only the products a window reads: an Inf no window reads
    leaves the gradient finite, one that is read gives the reference's Inf/NaN."""
    with _direct.route("direct"):
        _check_weight_gradient_with_inf(where, 64, 17)


@pytest.mark.parametrize("groups, out", [(1, 64), (8, 8), (1, 2)], ids=["lanes", "rows", "few"])
@pytest.mark.parametrize("shape", [(0, 8, 5, 5), (2, 8, 0, 5)], ids=["no-batch", "only-padding"])
def test_weight_gradient_of_empty_layers_is_zero(shape, groups, out, isa):
    x = np.ones(shape)
    kw = dict(padding=1, groups=groups)
    with _direct.route("direct"):
        go = np.ones(nn.conv2d(x, np.ones((out, 8 // groups, 1, 3)), **kw).shape)
        got = nn.conv2d_grad_weight(x, (out, 8 // groups, 1, 3), go, **kw)
    np.testing.assert_array_equal(got, np.zeros((out, 8 // groups, 1, 3)))


# The lanes weight gradient's tasks-vs-whole grid: strides 1, 2 and 3, padding,
# dilation, grouped and depthwise (the rows road: packs per task already), odd sizes,
# batches of 1 and several, rows in several chunks (wide planes: _GW_ROW_PIXELS), and
# more channels than one task's pairs or output-channel blocks hold.
GW_PACK_LAYERS = LANE_LAYERS + [
    (1, 5, 37, 70, 32, (3, 3), (1, 1), (1, 1), (1, 1), 1),        # 70 wide: chunks of 14 rows
    (3, 3, 45, 67, 64, (7, 7), (2, 2), (3, 3), (1, 1), 1),        # stem, chunks, odd sizes
    (2, 4, 29, 31, 32, (3, 3), (2, 1), (0, 2), (2, 3), 2),        # grouped, strided, dilated
    (2, 6, 23, 40, 6, (3, 3), (1, 1), (1, 1), (1, 1), 6),         # depthwise
    (2, 130, 6, 5, 16, (3, 3), (1, 1), (1, 1), (1, 1), 1),        # pairs in several blocks
]


def _gw_geometry(case, x_shape):
    n, c, h, w, o, k, s, p, d, g = case
    if p == "same":
        return None
    return Geometry(s, d, ((p[0], p[0]), (p[1], p[1])), g)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", GW_PACK_LAYERS)
def test_weight_gradient_tasks_packing_gives_the_whole_packing_bits(case, dtype, isa):
    """The lanes weight gradient's tasks pack their chunks' rows (every stride); the
    bits are those of the input packed once, at 1, 2 and 5 threads, for contiguous
    inputs (the public call) and strided views (the kernels read them in place)."""
    x, w, kw = _data(case, dtype, seed=18)
    with _direct.route("direct"):
        go = np.random.default_rng(19).standard_normal(
            nn.conv2d(x, w, **kw).shape).astype(dtype)
        got = []
        for mode, nt in (("whole", 2), ("tasks", 1), ("tasks", 2), ("tasks", 5)):
            with _direct.packing(mode), threads(nt):
                got.append(nn.conv2d_grad_weight(x, w.shape, go, **kw))
        for other in got[1:]:
            np.testing.assert_array_equal(got[0], other)
        geom = _gw_geometry(case, x.shape)
        if geom is None:
            return
        # views with every stride changed, rows or columns reversed: read in place
        big = np.zeros((x.shape[0], x.shape[1] * 2, x.shape[2] * 2, x.shape[3] * 3), dtype)
        for view in (big[:, ::2, ::-2, ::3], big[:, ::2, ::2, ::-3]):
            view[...] = x
            for mode, nt in (("whole", 1), ("tasks", 2), ("tasks", 5)):
                with _direct.packing(mode):
                    gw = _direct.grad_weight(view, go, geom, w.shape, nt)
                np.testing.assert_array_equal(gw, got[0])


def _traced_peak(fn):
    """The largest extra memory numpy allocates during fn() (tracemalloc sees every
    numpy allocation, the recycled blocks too), and fn's result."""
    import tracemalloc
    fn()                        # warm: the remembered setups, the pool
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, out


@pytest.mark.parametrize("case", [
    ((2, 16, 40, 40), (64, 16, 3, 3), dict(padding=1)),
    ((2, 3, 80, 80), (64, 3, 7, 7), dict(padding=3, stride=2)),
], ids=["3x3", "stem"])
def test_weight_gradient_memory_is_output_plus_tiles(case):
    """The lanes weight gradient's extra memory: its output and the batch parts'
    sums (at most _GW_TASKS + 1 outputs), not an input-sized packed copy; the same
    for a 4x larger input. (The tasks' tiles are C buffers, sized by the blocks.)
    A unit-stride conv2d_backward's is that plus its input gradient (the input's
    size)."""
    x_shape, w_shape, kw = case
    rng = np.random.default_rng(20)
    w = rng.standard_normal(w_shape).astype(np.float32)
    out_bytes = w.nbytes
    bound = (_direct._GW_TASKS + 1) * out_bytes + (64 << 10)
    with _direct.route("direct"), threads(2):
        peaks = {}
        for scale in (1, 2):
            n, c, h, wd = x_shape
            x = rng.standard_normal((n, c, h * scale, wd * scale)).astype(np.float32)
            go = rng.standard_normal(nn.conv2d(x, w, **kw).shape).astype(np.float32)
            for mode in ("tasks", "whole"):
                with _direct.packing(mode):
                    peak, gw = _traced_peak(lambda: nn.conv2d_grad_weight(x, w.shape, go, **kw))
                    assert gw.shape == w.shape
                    peaks[mode, scale] = peak
            if kw.get("stride", 1) == 1:
                # (a strided layer's input gradient packs the output gradient once
                # for its phases' calls: its own temporary, not the weights')
                with _direct.packing("tasks"):
                    peak, _ = _traced_peak(lambda: nn.conv2d_backward(x, w, go, **kw))
                assert peak <= x.nbytes + bound + go.shape[1] * 8, (peak, x.nbytes)
            assert peaks["tasks", scale] <= bound, (peaks, bound)
            # the test sees the packed copy where the input is packed whole
            assert peaks["whole", scale] >= x.nbytes * 0.9
        assert abs(peaks["tasks", 2] - peaks["tasks", 1]) <= (64 << 10)
