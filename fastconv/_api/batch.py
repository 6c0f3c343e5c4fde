"""convolve2d_batch / correlate2d_batch: a stack (..., H, W) with one 2-D kernel,
each image exactly as convolve2d / correlate2d would compute it.

The arguments are validated and the method planned once for the stack, then the
engine runs every image (``_engine.batch.correlate_stack``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._engine import plan
from .._engine.batch import correlate_stack
from .._engine.gates import fft_dtype
from .._runtime import memory
from . import rules
from .rules import Boundary, Method, Mode
from .scipy2d import conv2d_impl


def convolve2d_batch(stack: ArrayLike, kernel: ArrayLike, mode: Mode = "full",
                     boundary: Boundary = "fill", fillvalue: Any = 0, *,
                     method: Method = "auto") -> np.ndarray:
    """Convolve every image of a stack ``(..., H, W)`` with one 2-D kernel.

    The result equals ``fastconv.convolve2d(img, kernel, mode, boundary,
    fillvalue, method=method)`` for every image, stacked: every mode, boundary
    and dtype rule of :func:`scipy.signal.convolve2d` applies per image. The
    direct method runs the whole stack in one threaded call (tasks over images
    and tiles of rows); otherwise small images are spread over threads (one
    image per core at a time) and large ones use all threads each.

    Parameters
    ----------
    stack : array_like
        Images along the last two axes; any number (>= 0) of leading axes.
    kernel : array_like
        2-D kernel.
    mode, boundary, fillvalue, method
        As :func:`fastconv.convolve2d`.

    Returns
    -------
    out : ndarray
        Shape ``stack.shape[:-2] + convolve2d's output shape``.

    Raises
    ------
    ValueError
        If `stack` has fewer than 2 dimensions, `kernel` is not 2-D, or for any
        input :func:`fastconv.convolve2d` refuses.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.convolve2d_batch(np.ones((8, 32, 32)), np.ones((3, 3)), "same").shape
    (8, 32, 32)
    """
    return _conv2d_batch(stack, kernel, mode, boundary, fillvalue, True, method)


def correlate2d_batch(stack: ArrayLike, kernel: ArrayLike, mode: Mode = "full",
                      boundary: Boundary = "fill", fillvalue: Any = 0, *,
                      method: Method = "auto") -> np.ndarray:
    """Cross-correlate every image of a stack ``(..., H, W)`` with one 2-D kernel.

    Equals :func:`fastconv.correlate2d` on every image; see
    :func:`convolve2d_batch`.

    Parameters
    ----------
    stack : array_like
        Images along the last two axes.
    kernel : array_like
        2-D template (conjugated).
    mode, boundary, fillvalue, method
        As :func:`fastconv.correlate2d`.

    Returns
    -------
    out : ndarray
        Shape ``stack.shape[:-2] +`` correlate2d's output shape.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.correlate2d_batch(np.ones((2, 3, 4, 4)), np.ones((2, 2)), "valid").shape
    (2, 3, 3, 3)
    """
    return _conv2d_batch(stack, kernel, mode, boundary, fillvalue, False, method)


def _conv2d_batch(stack: Any, kernel: Any, mode: Any, boundary: Any, fillvalue: Any,
                  flip: bool, method: Any) -> np.ndarray:
    name = "convolve2d_batch" if flip else "correlate2d_batch"
    rules.check_method(method)
    s, k = np.asarray(stack), np.asarray(kernel)
    if s.ndim < 2:
        raise ValueError(f"{name}: the stack must have at least 2 dimensions (..., H, W)")
    if k.ndim != 2:
        raise ValueError(f"{name}: the kernel must be 2-D")
    lead, img_shape = s.shape[:-2], s.shape[-2:]
    m = rules.mode_code(mode)
    b = rules.boundary_code(boundary)
    dt = rules.result_dtype(s, k)
    fill = rules.fill_scalar(fillvalue, dt) if b == rules.FILL else 0
    rules.check_supported(dt, "convolve2d")
    imgs = s.reshape((-1,) + img_shape)
    B = imgs.shape[0]
    swap = rules.inputs_swap_needed(mode, img_shape, k.shape)
    if swap or 0 in img_shape:
        # The kernel is the larger input (scipy swaps the roles) or the images are
        # empty: rare corners with their own rules; let convolve2d apply them.
        outs = [conv2d_impl(im, k, mode, boundary, fillvalue, flip, method) for im in imgs]
        if outs:
            return np.stack(outs).reshape(lead + outs[0].shape)
        shp, _ = (rules.out_shape_and_origin(m, flip, k.shape, img_shape) if swap else
                  rules.out_shape_and_origin(m, flip, img_shape, k.shape))
        return np.empty(lead + shp, dt)
    out_shape, origin = rules.out_shape_and_origin(m, flip, img_shape, k.shape)
    w = np.ascontiguousarray(k[::-1, ::-1] if flip else k.conj(), dtype=dt)
    out = memory.empty((B,) + out_shape, dt)
    if method == "auto" and 0 not in out_shape and w.size:
        # Plan once for the stack: planning (a rank test of the kernel, cost
        # model) costs more than the convolution of a small image. A forced
        # 'fft'/'separable' still falls back per image where it cannot be exact.
        method = plan.choose(out_shape, w, dt, fft_dtype(dt) is not None)[0]
    correlate_stack(out, imgs, w, origin, b, fill, dt, method)
    return out.reshape(lead + out_shape)
