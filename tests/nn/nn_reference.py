"""A slow, obviously-correct numpy reference for fastconv.nn, built plane by plane on
fastconv's exact 2-D correlate2d/convolve2d (themselves tested against scipy).

Strides become subsampling (or zero-insertion for the adjoints), dilation becomes
zero-insertion in the kernel, padding an explicit np.pad: no im2col anywhere.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastconv


def _pads(padding, stride, dilation, k_hw):
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for d, k in zip(dilation, k_hw))
    return ((padding[0], padding[0]), (padding[1], padding[1]))


def _dilate(w2: np.ndarray, d: tuple[int, int]) -> np.ndarray:
    kh, kw = w2.shape
    out = np.zeros(((kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1), w2.dtype)
    out[::d[0], ::d[1]] = w2
    return out


def _upsample(g2: np.ndarray, s: tuple[int, int]) -> np.ndarray:
    ho, wo = g2.shape
    out = np.zeros(((ho - 1) * s[0] + 1, (wo - 1) * s[1] + 1), g2.dtype)
    out[::s[0], ::s[1]] = g2
    return out


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, _, _ = x.shape
    o, cg, kh, kw = w.shape
    pads = _pads(padding, stride, dilation, (kh, kw))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    og = o // groups
    out = None
    for i in range(n):
        for oc in range(o):
            g = oc // og
            acc = 0
            for ci in range(cg):
                kernel = _dilate(w[oc, ci], dilation)
                full = fastconv.correlate2d(xp[i, g * cg + ci], kernel, "valid")
                acc = acc + full[::stride[0], ::stride[1]]
            if out is None:
                out = np.zeros((n, o) + acc.shape, np.result_type(x, w))
            out[i, oc] = acc
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def grad_input(in_shape, w, go, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = in_shape
    o, cg, kh, kw = w.shape
    pads = _pads(padding, stride, dilation, (kh, kw))
    hp, wp = h + sum(pads[0]), wd + sum(pads[1])
    og = o // groups
    dxp = np.zeros((n, c, hp, wp), go.dtype)
    for i in range(n):
        for oc in range(o):
            g = oc // og
            up = _upsample(go[i, oc], stride)
            for ci in range(cg):
                full = fastconv.convolve2d(up, _dilate(w[oc, ci], dilation), "full")
                dxp[i, g * cg + ci, :full.shape[0], :full.shape[1]] += full[:hp, :wp]
    return dxp[:, :, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd]


def grad_weight(x, w_shape, go, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    o, cg, kh, kw = w_shape
    pads = _pads(padding, stride, dilation, (kh, kw))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    og = o // groups
    gw = np.zeros(w_shape, go.dtype)
    for i in range(x.shape[0]):
        for oc in range(o):
            g = oc // og
            up = _upsample(go[i, oc], stride)
            for ci in range(cg):
                full = fastconv.correlate2d(xp[i, g * cg + ci], up, "valid")
                gw[oc, ci] += full[:(kh - 1) * dilation[0] + 1:dilation[0],
                                   :(kw - 1) * dilation[1] + 1:dilation[1]]
    return gw


def conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                     groups=1, dilation=(1, 1)):
    """By its definition: every input pixel scatters a scaled kernel into the output."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = c // groups
    s, d, p, op = stride, dilation, padding, output_padding
    full = np.zeros((n, og * groups, (h - 1) * s[0] + d[0] * (kh - 1) + 1 + op[0],
                     (wd - 1) * s[1] + d[1] * (kw - 1) + 1 + op[1]), np.result_type(x, w))
    for g in range(groups):
        xs = x[:, g * cg:(g + 1) * cg]
        for a in range(kh):
            for bb in range(kw):
                contrib = np.einsum("nchw,co->nohw", xs, w[g * cg:(g + 1) * cg, :, a, bb])
                full[:, g * og:(g + 1) * og,
                     a * d[0]:a * d[0] + (h - 1) * s[0] + 1:s[0],
                     bb * d[1]:bb * d[1] + (wd - 1) * s[1] + 1:s[1]] += contrib
    out = full[:, :, p[0]:full.shape[2] - p[0], p[1]:full.shape[3] - p[1]]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


def draw_layer(draw, groups, max_in, max_out, max_side):
    """A random layer for the hypothesis tests: (x, weight, kwargs, rng), with groups
    from ``groups``, up to ``max_in`` / ``max_out`` channels a group and sides up to
    ``max_side`` (at least the dilated kernel's extent less the padding)."""
    from hypothesis import strategies as st
    g = draw(st.sampled_from(groups))
    c, o = g * draw(st.integers(1, max_in)), g * draw(st.integers(1, max_out))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, d[0] * (kh - 1) + 1 - 2 * p[0]), max_side))
    w = draw(st.integers(max(1, d[1] * (kw - 1) + 1 - 2 * p[1]), max_side))
    n = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((o, c // g, kh, kw))
    return x, wt, dict(stride=s, padding=p, dilation=d, groups=g), rng


def assert_finite_differences(loss, args: list, grads, rng, eps: float = 1e-3) -> None:
    """Each ``grads[i]`` (the gradient of ``loss(*args)`` in ``args[i]``) against the
    central difference of ``loss`` along a random direction v: <grad, v> =
    (loss(.., a + eps v, ..) - loss(.., a - eps v, ..)) / (2 eps), in float64."""
    for which, grad in enumerate(grads):
        v = rng.standard_normal(grad.shape)
        plus, minus = list(args), list(args)
        plus[which] = plus[which] + eps * v
        minus[which] = minus[which] - eps * v
        fd = (loss(*plus) - loss(*minus)) / (2 * eps)
        assert fd == pytest.approx(float(np.vdot(grad, v)), rel=1e-7, abs=1e-8)
