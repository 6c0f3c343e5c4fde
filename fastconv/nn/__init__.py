"""Convolution layers for neural networks, on the CPU: ``fastconv.nn``.

The first arguments of each function are those of its ``torch.nn.functional`` /
``torch.nn.grad`` namesake and the results agree with torch's to rounding, for
float32 and float64 NCHW arrays; torch is never imported. Differences from torch:

- Errors are ``ValueError`` (wrong shape or value: channel mismatch, groups not
  dividing the channels, non-positive stride, kernel larger than the padded
  input, ...) or ``TypeError`` (wrong type: a float stride, a float16 array),
  where torch raises ``RuntimeError``.
- dtypes follow numpy promotion: float32 with float64 computes in float64;
  integer and bool arrays compute in float64; float16, long double and complex
  raise ``TypeError``.

``import fastconv.nn`` imports numpy only; the Numba kernels compile on the first
call (and are cached on disk).
"""
from __future__ import annotations

import math
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike

from .._engine.boundary import FILL
from .._engine.dispatch import correlate_plane_method
from .._runtime.memory import recycled
from . import _args as A
from . import _direct
from ._args import Geometry

IntOrPair = Union[int, tuple[int, int]]
Padding = Union[int, tuple[int, int], str]

# When a layer is a stack of independent planes (one input and one output channel
# per group), a few planes go to the 2-D engine one by one; more go to the direct
# kernels in one threaded call (each 2-D call costs ~10 us), or to im2col when the
# direct road is switched off, unless each plane has at least _PLANE_MIN_OUTPUTS.
# Measured on the 2-core development machine, float32, 2 threads, other jobs
# running: one 1024^2 k5 plane took 1.4 ms as a plane vs 2.2 ms direct, 4 planes of
# 512^2 1.1 vs 1.3 ms; 64 planes of 128^2 1.8 vs 1.4 ms, 512 of 96^2 7.1 vs 6.5 ms,
# 32 of 256^2 k7 3.9 vs 2.8 ms. Against im2col: 256 planes of 32^2 k3 took 2.7 ms as
# planes vs 1.2 ms by im2col, 64^2 3.7 vs 2.9 ms, 112^2 6.8 vs 7.7 ms.
_PLANE_MIN_OUTPUTS = 96 * 96
_FEW_PLANES = 4

__all__ = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight", "conv2d_backward",
           "conv_transpose2d"]


def _nthreads() -> int:
    from .._runtime.threads import get_num_threads
    return get_num_threads()


def _layer(x: Any, weight: Any, stride: Any, padding: Any, dilation: Any, groups: Any,
           *extra: np.ndarray) -> tuple[np.ndarray, np.ndarray, Geometry, tuple[int, int]]:
    """Validated C-contiguous x and weight in the compute dtype, geometry, output size."""
    xa = A.array4d(x, "input")
    wa = A.array4d(weight, "weight")
    dt = A.float_dtype(xa, wa, *extra)
    geom, out_hw = A.conv_shapes(xa.shape, wa.shape, dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups))
    return (np.ascontiguousarray(xa, dtype=dt), np.ascontiguousarray(wa, dtype=dt),
            geom, out_hw)


def _is_plane_stack(w_shape: tuple, geom: Geometry) -> bool:
    """One input and one output channel per group, unit stride and dilation: every
    output plane is a plain 2-D correlation of one input plane."""
    o, cg, _, _ = w_shape
    return cg == 1 and o == geom.groups and geom.stride == (1, 1) and geom.dilation == (1, 1)


def _plane_route(w_shape: tuple, geom: Geometry, out_hw: tuple[int, int], n: int) -> bool:
    if not _is_plane_stack(w_shape, geom):
        return False
    if n * geom.groups <= _FEW_PLANES:
        return True
    return (not _direct.chosen(w_shape, geom)
            and out_hw[0] * out_hw[1] >= _PLANE_MIN_OUTPUTS)


def _correlate_planes(x: np.ndarray, w: np.ndarray, pad: tuple[tuple[int, int], tuple[int, int]],
                      out: np.ndarray) -> np.ndarray:
    """out[n, c] = the 'valid' correlation of x[n, c], zero-padded by ``pad``, with
    w[c, 0]: the engine's primitive pads virtually, writing each plane in place."""
    origin = (-pad[0][0], -pad[1][0])
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            correlate_plane_method(x[n, c], w[c, 0], out.shape[2:], origin, FILL, 0, x.dtype,
                                   out=out[n, c])
    return out


def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
           stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1,
           groups: int = 1) -> np.ndarray:
    """2-D convolution layer (cross-correlation), as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : array_like
        Input, shape (N, C, H, W).
    weight : array_like
        Filters, shape (O, C / groups, kh, kw).
    bias : array_like, optional
        Shape (O,), added to each output channel.
    stride : int or (int, int), optional
        Step between output positions, >= 1.
    padding : int, (int, int), 'same' or 'valid', optional
        Zeros added on both sides of each spatial axis. 'same' (stride 1 only)
        keeps the input size, the odd leftover going to the bottom/right.
    dilation : int or (int, int), optional
        Spacing between kernel taps, >= 1.
    groups : int, optional
        Input and output channels are split into this many independent groups.

    Returns
    -------
    y : ndarray
        Shape (N, O, Ho, Wo) with ``Ho = (H + 2p - d (kh - 1) - 1) // s + 1``;
        float32 or float64 (see the module notes).

    Raises
    ------
    ValueError
        Wrong ndim, channels, groups, stride, padding, dilation or bias shape, or a
        kernel larger than the padded input.
    TypeError
        Non-integer geometry arguments or unsupported dtypes.

    Notes
    -----
    ``y[n, o, i, j] = b[o] + sum_{c, a, b} w[o, c, a, b] x_pad[n, g(o) + c,
    i s + a d, j s + b d]``. Layers run on direct compiled kernels (blocks of
    output channels x strips of pixels in vector registers, fastconv's threads;
    results do not depend on the thread count); a 1x1 layer with unit stride and
    no padding is one BLAS matrix product per group, and a few single-channel
    planes run on the 2-D engine (as :func:`fastconv.correlate2d`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> x = np.ones((1, 2, 5, 5), np.float32)
    >>> nn.conv2d(x, np.ones((3, 2, 3, 3), np.float32), padding=1).shape
    (1, 3, 5, 5)
    """
    xa, wa, geom, out_hw = _layer(x, weight, stride, padding, dilation, groups,
                                  *([] if bias is None else [np.asarray(bias)]))
    b = A.bias_of(bias, wa.shape[0])
    y = recycled(_nbytes((xa.shape[0], wa.shape[0]) + out_hw, xa.dtype), _forward, xa, wa,
                 geom, out_hw)
    if b is not None:
        y += b.astype(y.dtype).reshape(1, -1, 1, 1)
    return y


def _nbytes(shape: tuple, dt: np.dtype) -> int:
    return math.prod(shape) * np.dtype(dt).itemsize


def _forward(xa: np.ndarray, wa: np.ndarray, geom: Geometry,
             out_hw: tuple[int, int]) -> np.ndarray:
    if _plane_route(wa.shape, geom, out_hw, xa.shape[0]):
        return _correlate_planes(xa, wa, geom.pad,
                                 np.empty((xa.shape[0], wa.shape[0]) + out_hw, xa.dtype))
    if _direct.chosen(wa.shape, geom):
        return _direct.forward(xa, wa, geom, out_hw, _nthreads())
    from . import _gemm
    return _gemm.forward(xa, wa, geom, out_hw)


def _grad_output(grad_output: Any, n: int, o: int, out_hw: tuple[int, int],
                 dt: np.dtype) -> np.ndarray:
    go = A.array4d(grad_output, "grad_output")
    if go.shape != (n, o) + tuple(out_hw):
        raise ValueError(f"grad_output must have shape {(n, o) + tuple(out_hw)} for this "
                         f"layer, got {go.shape}")
    return np.ascontiguousarray(go, dtype=dt)


def _grad_input(go: np.ndarray, wa: np.ndarray, geom: Geometry,
                in_shape: tuple[int, int, int, int]) -> np.ndarray:
    return recycled(max(_nbytes(in_shape, go.dtype), go.nbytes), _grad_input_of, go, wa, geom,
                    in_shape)


def _grad_input_of(go: np.ndarray, wa: np.ndarray, geom: Geometry,
                   in_shape: tuple[int, int, int, int]) -> np.ndarray:
    kh, kw = wa.shape[2:]
    (pt, pb), (pl, pr) = geom.pad
    # The adjoint of a unit-stride plane correlation is the correlation of the
    # padded gradient with the flipped kernel (the complementary padding).
    back = ((kh - 1 - pt, kh - 1 - pb), (kw - 1 - pl, kw - 1 - pr))
    if _plane_route(wa.shape, geom, go.shape[2:], go.shape[0]) and min(min(p) for p in back) >= 0:
        return _correlate_planes(go, wa[:, :, ::-1, ::-1], back, np.empty(in_shape, go.dtype))
    if _direct.chosen(wa.shape, geom):
        return _direct.grad_input(go, wa, geom, in_shape, _nthreads())
    from . import _gemm
    return _gemm.grad_input(go, wa, geom, in_shape)


def _grad_weight(xa: np.ndarray, go: np.ndarray, geom: Geometry,
                 w_shape: tuple[int, int, int, int]) -> np.ndarray:
    # the result is small; its temporaries (the batch parts' sums, im2col's columns on
    # the BLAS road) are up to the input's size
    return recycled(max(xa.nbytes, go.nbytes), _grad_weight_of, xa, go, geom, w_shape)


def _grad_weight_of(xa: np.ndarray, go: np.ndarray, geom: Geometry,
                    w_shape: tuple[int, int, int, int]) -> np.ndarray:
    if _direct.chosen(w_shape, geom):
        gw = _direct.grad_weight(xa, go, geom, w_shape, _nthreads())
        if gw is not None:
            return gw
    if _is_plane_stack(w_shape, geom):
        # One small output (kh x kw) per plane from a large 'kernel' (dL/dy): a
        # vectorised dot-product kernel, where im2col would copy the input kh*kw
        # times and the direct 2-D kernel has only kh*kw outputs to spread.
        from . import _kernels
        xp = np.pad(xa, ((0, 0), (0, 0)) + tuple(geom.pad))
        return _kernels.plane_grad_weight(xp, go, w_shape[2:], _nthreads())
    from . import _gemm
    return _gemm.grad_weight(xa, go, geom, w_shape)


def conv2d_grad_input(input_shape: Any, weight: ArrayLike, grad_output: ArrayLike,
                      stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1,
                      groups: int = 1) -> np.ndarray:
    """Gradient of :func:`conv2d` with respect to its input, as
    ``torch.nn.grad.conv2d_input``.

    Parameters
    ----------
    input_shape : sequence of 4 ints
        (N, C, H, W) of the layer's input (it fixes H and W when a stride > 1
        leaves some input rows or columns unread).
    weight : array_like
        The layer's filters, (O, C / groups, kh, kw).
    grad_output : array_like
        dL/dy, the shape of the layer's output.
    stride, padding, dilation, groups
        As in :func:`conv2d`.

    Returns
    -------
    grad_input : ndarray
        dL/dx, shape `input_shape`.
    """
    shape = A.shape4(input_shape, "input_shape")
    wa = A.array4d(weight, "weight")
    go_raw = A.array4d(grad_output, "grad_output")
    dt = A.float_dtype(wa, go_raw)
    geom, out_hw = A.conv_shapes(shape, wa.shape, dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups))
    go = _grad_output(go_raw, shape[0], wa.shape[0], out_hw, dt)
    return _grad_input(go, np.ascontiguousarray(wa, dtype=dt), geom, shape)


def conv2d_grad_weight(x: ArrayLike, weight_shape: Any, grad_output: ArrayLike,
                       stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1,
                       groups: int = 1) -> np.ndarray:
    """Gradient of :func:`conv2d` with respect to its weight, as
    ``torch.nn.grad.conv2d_weight``.

    Parameters
    ----------
    x : array_like
        The layer's input, (N, C, H, W).
    weight_shape : sequence of 4 ints
        (O, C / groups, kh, kw).
    grad_output : array_like
        dL/dy, the shape of the layer's output.
    stride, padding, dilation, groups
        As in :func:`conv2d`.

    Returns
    -------
    grad_weight : ndarray
        dL/dW, shape `weight_shape`: the correlation of the input with dL/dy,
        summed over the batch.
    """
    shape = A.shape4(weight_shape, "weight_shape")
    xa = A.array4d(x, "input")
    go_raw = A.array4d(grad_output, "grad_output")
    dt = A.float_dtype(xa, go_raw)
    geom, out_hw = A.conv_shapes(xa.shape, shape, dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups))
    go = _grad_output(go_raw, xa.shape[0], shape[0], out_hw, dt)
    return _grad_weight(np.ascontiguousarray(xa, dtype=dt), go, geom, shape)


def conv2d_backward(x: ArrayLike, weight: ArrayLike, grad_output: ArrayLike,
                    stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1,
                    groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All three gradients of :func:`conv2d` (what autograd computes for it).

    Parameters
    ----------
    x, weight
        The layer's input and filters, as in :func:`conv2d`.
    grad_output : array_like
        dL/dy, the shape of the layer's output.
    stride, padding, dilation, groups
        As in :func:`conv2d`.

    Returns
    -------
    grad_input, grad_weight, grad_bias : ndarray
        dL/dx, dL/dW and dL/db (the sum of dL/dy over batch and positions).
    """
    xa, wa, geom, out_hw = _layer(x, weight, stride, padding, dilation, groups,
                                  A.array4d(grad_output, "grad_output"))
    go = _grad_output(grad_output, xa.shape[0], wa.shape[0], out_hw, xa.dtype)
    gx = _grad_input(go, wa, geom, xa.shape)
    gw = _grad_weight(xa, go, geom, wa.shape)
    return gx, gw, _grad_bias(go)


def _grad_bias(go: np.ndarray) -> np.ndarray:
    """Each channel's sum of the C-contiguous ``go`` (N, O, H, W). float32: in float64
    on fastconv's threads (numpy's ``go.sum(axis=(0, 2, 3))``, on one thread and
    pairwise in float32, took 0.25 ms of a 20 ms backward); float64: numpy's pairwise
    sum, more accurate than float64 running sums."""
    if go.dtype != np.float32:
        return go.sum(axis=(0, 2, 3))
    out = np.empty(go.shape[1], go.dtype)
    _direct.channel_sums(go, out, _nthreads())
    return out


def conv_transpose2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1,
                     dilation: IntOrPair = 1) -> np.ndarray:
    """Transposed 2-D convolution (the upsampling layer), as
    ``torch.nn.functional.conv_transpose2d``.

    It is the gradient of :func:`conv2d` with respect to its input: the layer
    whose input is this function's output maps back to `x`.

    Parameters
    ----------
    x : array_like
        Input, (N, C, H, W).
    weight : array_like
        Filters, (C, O / groups, kh, kw) -- torch's layout for this layer.
    bias : array_like, optional
        Shape (O,).
    stride, dilation : int or (int, int), optional
        Of the convolution being transposed, >= 1.
    padding : int or (int, int), optional
        Rows/columns cropped from each side of the full output, >= 0.
    output_padding : int or (int, int), optional
        Extra rows/columns at the bottom/right; smaller than the stride or the
        dilation (the rows a strided convolution would not read).
    groups : int, optional
        As in :func:`conv2d`.

    Returns
    -------
    y : ndarray
        (N, O, Ho, Wo) with ``Ho = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1``.
    """
    xa = A.array4d(x, "input")
    wa = A.array4d(weight, "weight")
    extra = [] if bias is None else [np.asarray(bias)]
    dt = A.float_dtype(xa, wa, *extra)
    n, c, h, w = xa.shape
    ci, og, kh, kw = wa.shape
    if ci != c:
        raise ValueError(f"weight of shape {wa.shape} expects {ci} input channels, "
                         f"the input has {c}")
    g = A.groups_of(groups, c, c)
    s = A.pair(stride, "stride", 1)
    d = A.pair(dilation, "dilation", 1)
    if isinstance(padding, str):
        raise ValueError("conv_transpose2d takes an int or a pair as padding, not a string")
    p = A.pair(padding, "padding", 0)
    op = A.pair(output_padding, "output_padding", 0)
    for oi, si, di in zip(op, s, d):
        if oi >= max(si, di):
            raise ValueError(f"output_padding {op} must be smaller than the stride {s} "
                             f"or the dilation {d}")
    out_hw = tuple((hw - 1) * si - 2 * pi + di * (k - 1) + oi + 1
                   for hw, si, pi, di, k, oi in zip((h, w), s, p, d, (kh, kw), op))
    if min(out_hw) < 1:
        raise ValueError(f"the output would be empty ({out_hw}): padding {p} is too large")
    out_shape = (n, og * g) + out_hw
    # The conv2d being transposed maps out_shape back to (h, w); when output_padding
    # reaches the stride (allowed if the dilation is larger) its extra rows read
    # nothing and stay zero, so the geometry is built here rather than re-derived.
    geom = Geometry(s, d, ((p[0], p[0]), (p[1], p[1])), g)
    y = _grad_input(np.ascontiguousarray(xa, dtype=dt), np.ascontiguousarray(wa, dtype=dt),
                    geom, out_shape)
    b = A.bias_of(bias, out_shape[1])
    if b is not None:
        y += b.astype(y.dtype).reshape(1, -1, 1, 1)
    return y
