"""fastconv.nn against torch (when installed), the plane-by-plane numpy reference
(tests/nn/nn_reference.py) and finite differences."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn_reference as ref
from fastconv import nn

# (N, C, H, W, O, kernel, stride, padding, dilation, groups)
GRID = [
    (2, 3, 9, 11, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (1, 4, 12, 10, 6, (3, 5), (2, 1), (1, 2), (1, 1), 2),
    (2, 2, 13, 13, 2, (3, 3), (1, 1), (2, 2), (2, 2), 2),       # depthwise, dilated
    (1, 3, 16, 15, 5, (7, 7), (2, 2), (3, 3), (1, 1), 1),       # a small ResNet stem
    (3, 6, 8, 8, 3, (1, 1), (1, 1), (0, 0), (1, 1), 3),
    (1, 2, 10, 9, 4, (4, 2), (3, 2), (0, 1), (1, 2), 1),
    (2, 1, 70, 66, 1, (5, 5), (1, 1), (2, 2), (1, 1), 1),       # single plane: correlate2d
    (1, 2, 66, 70, 2, (4, 3), (1, 1), "same", (1, 1), 2),       # depthwise planes, even k
    (1, 1, 70, 70, 1, (3, 3), (1, 1), (0, 2), (1, 1), 1),       # plane route, uneven pads
    (2, 4, 9, 9, 4, (3, 2), (1, 1), "same", (2, 1), 1),
    (1, 3, 7, 8, 2, (2, 3), (1, 1), "valid", (1, 1), 1),
    (3, 4, 10, 9, 4, (3, 3), (1, 1), (1, 0), (1, 1), 4),        # many small depthwise planes
    (4, 12, 5, 7, 8, (1, 1), (1, 1), (0, 0), (2, 3), 1),        # plain 1x1: planes in place
    (2, 8, 6, 6, 4, (1, 1), (1, 1), "valid", (1, 1), 2),        # plain 1x1, groups
    (2, 6, 7, 5, 9, (1, 1), (1, 1), (1, 1), (1, 1), 3),         # 1x1 padded: im2col
]
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _data(case, dtype, seed=0):
    n, c, h, w, o, k, s, p, d, g = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c // g) + k).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    return x, wt, b, dict(stride=s, padding=p, dilation=d, groups=g)


def _close(got, want, dtype):
    assert got.dtype == np.dtype(dtype), got.dtype
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", GRID)
def test_conv2d_and_gradients_match_reference(case, dtype):
    x, w, b, kw = _data(case, dtype)
    y = nn.conv2d(x, w, b, **kw)
    _close(y, ref.conv2d(x, w, b, **kw), dtype)
    go = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    gx, gw, gb = nn.conv2d_backward(x, w, go, **kw)
    _close(gx, ref.grad_input(x.shape, w, go, **kw), dtype)
    _close(gw, ref.grad_weight(x, w.shape, go, **kw), dtype)
    _close(gb, go.sum(axis=(0, 2, 3)), dtype)
    _close(nn.conv2d_grad_input(x.shape, w, go, **kw), gx, dtype)
    _close(nn.conv2d_grad_weight(x, w.shape, go, **kw), gw, dtype)


TRANSPOSE_GRID = [
    # (N, C, H, W, O, kernel, stride, padding, output_padding, dilation, groups)
    (2, 4, 5, 6, 3, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),   # 2x upsampling
    (1, 4, 6, 5, 4, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 2),   # DCGAN-style k4 s2 p1
    (1, 2, 7, 7, 2, (3, 2), (1, 3), (0, 1), (0, 2), (2, 1), 2),
    (2, 3, 4, 4, 2, (5, 5), (3, 1), (2, 0), (1, 0), (1, 1), 1),
    (1, 2, 4, 5, 2, (3, 3), (1, 1), (0, 0), (1, 0), (2, 1), 1),  # output_padding < dilation
    (2, 4, 5, 6, 6, (1, 1), (1, 1), (0, 0), (1, 1), (2, 2), 2),  # 1x1: padded rows, no taps
    (2, 4, 5, 6, 6, (1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 2),  # plain 1x1
    (1, 1, 70, 70, 1, (5, 5), (1, 1), (2, 2), (0, 0), (1, 1), 1), # plane route
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", TRANSPOSE_GRID)
def test_conv_transpose2d_matches_reference(case, dtype):
    n, c, h, w, o, k, s, p, op, d, g = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((c, o // g) + k).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    kw = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    _close(nn.conv_transpose2d(x, wt, b, **kw), ref.conv_transpose2d(x, wt, b, **kw), dtype)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("case", GRID[:6] + GRID[9:])
def test_matches_torch(case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w, b, kw = _data(case, np.float64, seed=3)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv2d(tx, tw, tb, **kw)
    _close(nn.conv2d(x, w, b, **kw), ty.detach().numpy(), np.float64)
    go = np.random.default_rng(4).standard_normal(ty.shape)
    ty.backward(torch.tensor(go))
    gx, gw, gb = nn.conv2d_backward(x, w, go, **kw)
    for got, want in ((gx, tx.grad), (gw, tw.grad), (gb, tb.grad)):
        _close(got, want.numpy(), np.float64)
    if kw["padding"] not in ("same", "valid"):
        n, c, h, wd, o, k, s, p, d, g = case
        wt = np.random.default_rng(5).standard_normal((c, o // g) + k)
        for op in {0, min(s) - 1}:
            want = F.conv_transpose2d(tx.detach(), torch.tensor(wt), None, s, p, op, g, d)
            _close(nn.conv_transpose2d(x, wt, None, s, p, op, g, d), want.numpy(), np.float64)


def test_gradients_match_finite_differences():
    """Directional derivatives of L = <conv2d(x, w) + b, go> in float64."""
    x, w, b, kw = _data(GRID[1], np.float64, seed=6)
    rng = np.random.default_rng(7)
    go = rng.standard_normal(nn.conv2d(x, w, b, **kw).shape)
    loss = lambda x_, w_, b_: float(np.vdot(nn.conv2d(x_, w_, b_, **kw), go))  # noqa: E731
    gx, gw, gb = nn.conv2d_backward(x, w, go, **kw)
    ref.assert_finite_differences(loss, [x, w, b], [gx, gw, gb], rng)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_adjoint_identities(data):
    """<conv2d(x, w), g> = <x, grad_input(g)> = <w, grad_weight(x, g)>, and
    conv_transpose2d is grad_input, on random geometries."""
    x, wt, kwargs, rng = ref.draw_layer(data.draw, [1, 2], 2, 2, 9)
    s, p, d, g = kwargs["stride"], kwargs["padding"], kwargs["dilation"], kwargs["groups"]
    (h, w), (kh, kw) = x.shape[2:], wt.shape[2:]
    y = nn.conv2d(x, wt, **kwargs)
    np.testing.assert_allclose(y, ref.conv2d(x, wt, **kwargs), atol=1e-12)
    go = rng.standard_normal(y.shape)
    gx = nn.conv2d_grad_input(x.shape, wt, go, **kwargs)
    gw = nn.conv2d_grad_weight(x, wt.shape, go, **kwargs)
    lhs = np.vdot(y, go)
    assert np.vdot(x, gx) == pytest.approx(lhs, rel=1e-9, abs=1e-9)
    assert np.vdot(wt, gw) == pytest.approx(lhs, rel=1e-9, abs=1e-9)
    extra = tuple(hw + 2 * pp - dd * (k - 1) - 1 - (yo - 1) * ss
                  for hw, pp, dd, k, yo, ss in zip((h, w), p, d, (kh, kw), y.shape[2:], s))
    if all(e < max(ss, dd) for e, ss, dd in zip(extra, s, d)):
        ct = nn.conv_transpose2d(go, wt, stride=s, padding=p, output_padding=extra,
                                 groups=g, dilation=d)
        np.testing.assert_allclose(ct, gx, atol=1e-12)


def test_dtypes_and_inputs_untouched():
    x, w, b, kw = _data(GRID[0], np.float32)
    x0, w0 = x.copy(), w.copy()
    assert nn.conv2d(x, w, b, **kw).dtype == np.float32
    assert nn.conv2d(x, w.astype(np.float64), **kw).dtype == np.float64
    xi = np.arange(2 * 3 * 9 * 11).reshape(2, 3, 9, 11) % 7
    wi = (3 * w).astype(np.int64)
    got = nn.conv2d(xi, wi, **kw)
    assert got.dtype == np.float64
    _close(got, ref.conv2d(xi.astype(np.float64), wi.astype(np.float64), **kw), np.float64)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    # non-contiguous views and big-endian data read correctly
    xs = np.asfortranarray(x)[:, :, ::-1]
    _close(nn.conv2d(xs, w.astype(">f4"), **kw), ref.conv2d(np.ascontiguousarray(xs), w, **kw),
           np.float32)


def _bad(**over):
    args = dict(x=np.zeros((1, 4, 8, 8)), weight=np.zeros((2, 2, 3, 3)), groups=2)
    args.update(over)
    return args


@pytest.mark.parametrize("args, exc", [
    (_bad(x=np.zeros((4, 8, 8))), ValueError),                       # 3-D input
    (_bad(weight=np.zeros((2, 3, 3))), ValueError),                   # 3-D weight
    (_bad(groups=1), ValueError),                                     # channel mismatch
    (_bad(groups=3), ValueError),                                     # groups not dividing
    (_bad(groups=0), ValueError),
    (_bad(groups=2.0), TypeError),
    (_bad(stride=0), ValueError),
    (_bad(stride=(1, -1)), ValueError),
    (_bad(stride=1.5), TypeError),
    (_bad(stride=(1, 1, 1)), ValueError),
    (_bad(padding=-1), ValueError),
    (_bad(padding="reflect"), ValueError),
    (_bad(padding="same", stride=2), ValueError),
    (_bad(dilation=0), ValueError),
    (_bad(weight=np.zeros((2, 2, 9, 9))), ValueError),               # kernel > input
    (_bad(bias=np.zeros(3)), ValueError),
    (_bad(x=np.zeros((1, 4, 8, 8), np.float16), weight=np.zeros((2, 2, 3, 3), np.float16)),
     TypeError),
    (_bad(x=np.zeros((1, 4, 8, 8), np.complex128)), TypeError),
    (_bad(x=np.array([[[["a"]]]])), TypeError),
])
def test_conv2d_errors(args, exc):
    with pytest.raises(exc):
        nn.conv2d(**args)


def test_gradient_and_transpose_errors():
    x, w = np.zeros((1, 2, 8, 8)), np.zeros((3, 2, 3, 3))
    with pytest.raises(ValueError, match="grad_output"):
        nn.conv2d_grad_input(x.shape, w, np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match="grad_output"):
        nn.conv2d_backward(x, w, np.zeros((1, 3, 6, 5)))
    with pytest.raises(ValueError):
        nn.conv2d_grad_weight(x, (3, 2, 3), np.zeros((1, 3, 6, 6)))
    with pytest.raises(TypeError):
        nn.conv2d_grad_input(None, w, np.zeros((1, 3, 6, 6)))
    with pytest.raises(ValueError, match="output_padding"):
        nn.conv_transpose2d(x, np.zeros((2, 3, 3, 3)), stride=2, output_padding=2)
    with pytest.raises(ValueError):
        nn.conv_transpose2d(x, np.zeros((3, 3, 3, 3)))            # channel mismatch
    with pytest.raises(ValueError):
        nn.conv_transpose2d(x, np.zeros((2, 3, 3, 3)), padding=5)  # empty output
    with pytest.raises(ValueError):
        nn.conv_transpose2d(x, np.zeros((2, 3, 3, 3)), padding="same")


def test_import_is_light():
    """`import fastconv.nn` imports neither numba nor torch nor scipy."""
    code = ("import sys, fastconv.nn; "
            "print(sorted(m for m in ('numba', 'torch', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/")
    assert out.stdout.strip() == "[]"


def test_empty_batch_and_channels():
    """Empty sums are zeros: no samples, no input channels, no filters."""
    x, w = np.ones((0, 2, 5, 5)), np.ones((3, 2, 3, 3))
    assert nn.conv2d(x, w).shape == (0, 3, 3, 3)
    gx, gw, gb = nn.conv2d_backward(x, w, np.ones((0, 3, 3, 3)))
    assert gx.shape == x.shape and gw.shape == w.shape and not gw.any() and not gb.any()
    y = nn.conv2d(np.ones((2, 0, 5, 5)), np.ones((3, 0, 3, 3)), bias=np.arange(3.0))
    np.testing.assert_array_equal(y, np.broadcast_to(np.arange(3.0).reshape(1, 3, 1, 1), y.shape))
    assert nn.conv2d(np.ones((2, 2, 5, 5)), np.ones((0, 2, 3, 3))).shape == (2, 0, 3, 3)


def test_concurrent_calls_agree():
    """Layers called from several Python threads at once give the serial results."""
    from concurrent.futures import ThreadPoolExecutor
    cases = [_data(GRID[i], np.float64, seed=i) for i in (0, 1, 3, 6)]
    want = [nn.conv2d_backward(x, w, nn.conv2d(x, w, b, **kw), **kw) for x, w, b, kw in cases]

    def run(i):
        x, w, b, kw = cases[i % len(cases)]
        return nn.conv2d_backward(x, w, nn.conv2d(x, w, b, **kw), **kw)

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(run, range(16)))
    for i, g in enumerate(got):
        for a, b in zip(g, want[i % len(cases)]):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plain_1x1_reads_the_planes_in_place(dtype, monkeypatch):
    """A 1x1 layer with unit stride and no padding multiplies the input's planes where
    they are: the same products as through im2col's copy (forward and both
    gradients), from a non-contiguous input too."""
    from fastconv.nn import _gemm
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 7, 9, 12)).astype(dtype).transpose(0, 1, 3, 2)
    w = rng.standard_normal((10, 7, 1, 1)).astype(dtype)
    go = rng.standard_normal((5, 10, 12, 9)).astype(dtype)
    plain = (nn.conv2d(x, w), *nn.conv2d_backward(x, w, go))
    monkeypatch.setattr(_gemm, "_plain_1x1", lambda k_hw, geom: False)
    copied = (nn.conv2d(x, w), *nn.conv2d_backward(x, w, go))
    for a, b in zip(plain, copied):
        np.testing.assert_allclose(a, b, rtol=10 * np.finfo(dtype).eps, atol=0)
    _close(plain[0], ref.conv2d(x, w), dtype)
