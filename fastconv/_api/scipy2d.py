"""scipy.signal.convolve2d / correlate2d, faster: validate (scipy's rules, in its
order) -> reduce to the engine's primitive -> finish (the reversal 'valid' owes
when it swapped the inputs)."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._engine.direct import correlate_plane
from .._engine.dispatch import correlate_plane_method, plan_method, runs_direct
from .._runtime.memory import MIN_BYTES, recycled
from . import rules
from .rules import Boundary, Method, Mode


def convolve2d(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
               boundary: Boundary = "fill", fillvalue: Any = 0, *,
               method: Method = "auto") -> np.ndarray:
    """Convolve two 2-D arrays.

    The arguments, result and exceptions are those of
    :func:`scipy.signal.convolve2d`; the work runs in compiled, multi-threaded
    loops with the GIL released.

    Parameters
    ----------
    in1 : array_like
        First input, 2-D.
    in2 : array_like
        Second input, 2-D (the kernel).
    mode : {'full', 'valid', 'same'}, optional
        ``'full'`` (default) returns the whole linear convolution, shape
        ``(M+K-1, N+L-1)``. ``'valid'`` returns only the elements that need no
        padding, ``(M-K+1, N-L+1)``; when ``in2`` is at least as large as ``in1`` in
        every dimension the inputs are swapped. ``'same'`` returns an output the
        shape of ``in1``, centred on the full result (offset ``(K-1)//2``).
    boundary : {'fill', 'wrap', 'symm'}, optional
        How ``in1`` is extended beyond its edges: ``'fill'`` pads with
        `fillvalue`, ``'wrap'`` is periodic, ``'symm'`` mirrors including the edge
        sample. ``'pad'``, ``'circular'`` and ``'symmetric'`` are aliases.
    fillvalue : scalar, optional
        The padding value for ``boundary='fill'``, cast to the output type
        (default 0). Ignored for the other boundaries.
    method : {'auto', 'direct', 'separable', 'fft'}, optional, keyword-only
        fastconv's extension: the algorithm. ``'auto'`` (default) picks the
        fastest by a cost model (see :func:`choose_method`); ``'direct'`` sums
        the taps; ``'separable'`` runs two 1-D passes and needs a rank-1 kernel;
        ``'fft'`` uses overlap-save FFTs. Every method keeps the exact contract:
        inputs holding Inf or NaN, long doubles, and integers whose FFT result
        could not be proven exact run direct whatever is asked.

    Returns
    -------
    out : ndarray
        ``np.result_type(in1, in2)``; integer results wrap around on overflow
        exactly as scipy's do.

    Raises
    ------
    ValueError
        If the inputs are not 2-D, `mode`, `boundary` or `method` is unknown,
        neither input contains the other in ``'valid'`` mode, `fillvalue` cannot
        be cast to the output type, the result type is bool, float16 or not
        numeric, or ``method='separable'`` is given a kernel that is not rank 1.

    See Also
    --------
    correlate2d : the cross-correlation.

    Notes
    -----
    Every mode and boundary is computed as one primitive, a 'valid' correlation
    of the boundary-extended input with the flipped kernel; only the rows a tile
    needs are extended, in a per-thread buffer. Integer inputs accumulate in
    their own bit width, so overflow wraps around as in scipy; floats agree with
    scipy to rounding (the summation uses fused multiply-adds on CPUs that have
    them). The FFT path's error is at most 1e-5 (single precision) or 1e-12
    (double) of ``max(|in1| conv |in2|)`` over the full result; integers take
    it only when the rounded result is provably exact. Where fastconv differs
    from scipy, the README lists it.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> img = np.arange(16.0).reshape(4, 4)
    >>> fastconv.convolve2d(img, np.ones((3, 3)), mode="same", boundary="wrap")[0, 0]
    np.float64(60.0)
    """
    return conv2d_impl(in1, in2, mode, boundary, fillvalue, flip=True, method=method)


def correlate2d(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
                boundary: Boundary = "fill", fillvalue: Any = 0, *,
                method: Method = "auto") -> np.ndarray:
    """Cross-correlate two 2-D arrays.

    The arguments, result and exceptions are those of
    :func:`scipy.signal.correlate2d`: ``out[m, n] = sum conj(in2[j, k]) *
    in1_ext[m + j - K + 1, n + k - L + 1]`` for the full output.

    Parameters
    ----------
    in1 : array_like
        First input, 2-D.
    in2 : array_like
        Second input, 2-D (the template); it is conjugated.
    mode : {'full', 'valid', 'same'}, optional
        As in :func:`convolve2d`, except that ``'same'`` is centred at offset
        ``K//2`` (scipy's rule; it differs from convolve2d's for even kernels).
        When ``'valid'`` swaps the inputs, the result is the correlation of the
        swapped pair, reversed in both axes (and so, for complex data, not the
        conjugate-symmetric counterpart).
    boundary : {'fill', 'wrap', 'symm'}, optional
        As in :func:`convolve2d`.
    fillvalue : scalar, optional
        As in :func:`convolve2d`.
    method : {'auto', 'direct', 'separable', 'fft'}, optional, keyword-only
        As in :func:`convolve2d`.

    Returns
    -------
    out : ndarray
        ``np.result_type(in1, in2)``, integers wrapping around as in scipy.

    Raises
    ------
    ValueError
        For the same inputs as :func:`convolve2d`.

    See Also
    --------
    convolve2d : the convolution.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> img = np.zeros((5, 5)); img[1, 3] = 1.0
    >>> template = np.array([[1.0]])
    >>> np.unravel_index(np.argmax(fastconv.correlate2d(img, template, mode="same")), img.shape)
    (np.int64(1), np.int64(3))
    """
    return conv2d_impl(in1, in2, mode, boundary, fillvalue, flip=False, method=method)


def choose_method(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
                  boundary: Boundary = "fill") -> str:
    """The method ``convolve2d(in1, in2, mode, boundary)`` runs with ``method='auto'``.

    Like :func:`scipy.signal.choose_conv_method`, but for fastconv's paths and
    from a cost model whose constants :func:`tune` measures on this machine.

    Parameters
    ----------
    in1, in2 : array_like
        The 2-D inputs, as for :func:`convolve2d`.
    mode : {'full', 'valid', 'same'}, optional
        As for :func:`convolve2d`.
    boundary : {'fill', 'wrap', 'symm'}, optional
        As for :func:`convolve2d`.

    Returns
    -------
    method : {'direct', 'separable', 'fft'}

    Raises
    ------
    ValueError
        For the inputs :func:`convolve2d` refuses.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.choose_method(np.ones((512, 512)), np.ones((3, 3)))
    'direct'
    >>> g = np.exp(-np.linspace(-2, 2, 15) ** 2)
    >>> fastconv.choose_method(np.ones((512, 512)), np.outer(g, g))
    'separable'
    """
    return conv2d_impl(in1, in2, mode, boundary, 0, flip=True, method="auto", plan_only=True)


def conv2d_impl(in1: Any, in2: Any, mode: Any, boundary: Any, fillvalue: Any,
                flip: bool, method: str = "auto", plan_only: bool = False) -> Any:
    """Shared body of convolve2d (flip=True) and correlate2d (flip=False);
    ``plan_only`` returns the method name 'auto' would run instead."""
    name = "convolve2d" if flip else "correlate2d"
    rules.check_method(method)
    a1, a2 = rules.as_2d_pair(in1, in2, name)
    swapped = rules.inputs_swap_needed(mode, a1.shape, a2.shape)
    if swapped:
        a1, a2 = a2, a1
    if not flip:
        a2 = a2.conj()
    m = rules.mode_code(mode)
    b = rules.boundary_code(boundary)
    dt = rules.result_dtype(a1, a2)
    fill = rules.fill_scalar(fillvalue, dt) if b == rules.FILL else 0
    rules.check_supported(dt, "convolve2d")
    out_shape, origin = rules.out_shape_and_origin(m, flip, a1.shape, a2.shape)
    if min(out_shape) < 0:
        raise ValueError("negative dimensions are not allowed")
    w = a2[::-1, ::-1] if flip else a2
    nbytes = max(a1.size, out_shape[0] * out_shape[1]) * dt.itemsize
    if nbytes < MIN_BYTES and not plan_only and runs_direct(method, out_shape, w):
        # the common small call, straight to the direct primitive that the layers
        # below would reach (their frames were ~0.5 us of a 6.5 us 32^2 3x3 call)
        out = correlate_plane(a1, w.astype(dt, copy=False), out_shape, origin, b, fill, dt)
    else:
        out = recycled(nbytes, _reduced, a1, w, out_shape, origin, b, fill, dt, method,
                       plan_only)
    if swapped and not flip:
        out = out[::-1, ::-1]
    return out


def _reduced(a1: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
             origin: tuple[int, int], b: int, fill: Any, dt: np.dtype, method: str,
             plan_only: bool) -> Any:
    """The primitive (or, ``plan_only``, the method it would run), the kernel in the
    result type; the image stays in its own, converted tile by tile below."""
    w = w.astype(dt, copy=False)
    if plan_only:
        return plan_method(a1, w, out_shape, fill, dt)
    return correlate_plane_method(a1, w, out_shape, origin, b, fill, dt, method)
