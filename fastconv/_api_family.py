"""Public entry points beyond 2-D: scipy.signal's N-d functions, numpy's 1-D ones,
filtering along one axis and batches of images.

Which reference each function follows:

====================  =============================================  ==========================
fastconv              follows                                        mode default / 'same' size
====================  =============================================  ==========================
convolve, correlate   scipy.signal.convolve / correlate (N-d)        'full' / shape of in1
fftconvolve           scipy.signal.fftconvolve (``axes``)            'full' / shape of in1
oaconvolve            scipy.signal.oaconvolve (``axes``)             'full' / shape of in1
np_convolve           numpy.convolve (1-D)                           'full' / the longer input
np_correlate          numpy.correlate (1-D)                          'valid' / the longer input
convolve1d            scipy.signal.convolve on every 1-D slice       'full' / x along axis
correlate1d           scipy.signal.correlate on every 1-D slice      'full' / x along axis
convolve2d_batch      scipy.signal.convolve2d on every image         'full' / the image
correlate2d_batch     scipy.signal.correlate2d on every image        'full' / the image
====================  =============================================  ==========================

Deliberate differences from the references:

* Integer results are always exact (wrapping around on overflow like the direct
  sums), whatever ``method``: scipy's ``method='fft'`` rounds a float64 FFT and
  can be off where the sums exceed 2**53.
* Inputs holding Inf or NaN are computed directly even when ``method='fft'`` or
  the FFT functions are called: an Inf or NaN stays where the sums put it instead
  of spreading over the whole output, and scipy's RuntimeWarning is not issued.
* fftconvolve and oaconvolve may compute short kernels directly: their values
  agree with scipy's to FFT rounding (more accurately, not identically).
* Types the kernels do not compute (bool, float16, object), empty and 0-d
  inputs run the reference's own code, so results and errors are its own.
* convolve1d is not scipy.ndimage.convolve1d: it has no boundary modes and its
  'same' window is scipy.signal.convolve's.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from ._batch import conv2d_batch_impl
from ._fftconv import fftconv_impl
from ._numpy_1d import np_convolve_impl, np_correlate_impl
from ._scipy_nd import conv_axis_impl, conv_nd_impl

Mode = Literal["full", "valid", "same"]
Method = Literal["auto", "direct", "separable", "fft"]
Boundary = Literal["fill", "wrap", "symm", "pad", "circular", "symmetric"]


def convolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
             method: Method = "auto") -> np.ndarray:
    """Convolve two N-dimensional arrays.

    The arguments, result and exceptions are those of
    :func:`scipy.signal.convolve`; 1-D, 2-D and N-d inputs run in fastconv's
    multi-threaded kernels.

    Parameters
    ----------
    in1 : array_like
        First input.
    in2 : array_like
        Second input, with as many dimensions as `in1`.
    mode : {'full', 'valid', 'same'}, optional
        ``'full'`` (default): the whole linear convolution. ``'valid'``: only
        outputs that need no zero padding; one input must be at least as large
        as the other in every dimension (the larger one plays ``in1``).
        ``'same'``: the shape of `in1`, centred on the full result.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        scipy's methods plus fastconv's ``'separable'`` (two 1-D passes, for a
        rank-1 kernel of each 2-D slice; a 1-D kernel runs direct). ``'auto'``
        (default) asks fastconv's cost model, not scipy's.

    Returns
    -------
    out : ndarray
        ``np.result_type(in1, in2)``; integers wrap around on overflow exactly.

    Raises
    ------
    ValueError
        If the dimensionalities differ, `mode` or `method` is unknown, or in
        ``'valid'`` mode neither input contains the other.

    See Also
    --------
    fastconv.convolve2d : 2-D with boundary modes.
    np_convolve : numpy.convolve's 1-D semantics.

    Notes
    -----
    A long 1-D signal is folded into a matrix of overlapping rows (a strided
    view, no copy) so that every thread has rows to compute. Three or more
    dimensions run as sums of 2-D correlations of slices, or one FFT over all
    axes when the cost model predicts it faster. The module docstring of
    ``fastconv._api_family`` lists where results differ from scipy's.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return conv_nd_impl(in1, in2, mode, method, flip=True)


def correlate(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
              method: Method = "auto") -> np.ndarray:
    """Cross-correlate two N-dimensional arrays.

    The arguments, result and exceptions are those of
    :func:`scipy.signal.correlate`: ``z[k] = sum_l in1[l] * conj(in2[l - k + K - 1])``
    over the full output.

    Parameters
    ----------
    in1 : array_like
        First input.
    in2 : array_like
        Second input, with as many dimensions as `in1`; it is conjugated.
    mode : {'full', 'valid', 'same'}, optional
        As in :func:`convolve`. ``'same'`` is centred at ``(K - 1) // 2`` of the
        full result in every axis (scipy's rule for N-d correlate; correlate2d
        centres at ``K // 2``). When ``'valid'`` swaps the inputs the result is
        the swapped correlation reversed and conjugated, as in scipy.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        As in :func:`convolve`.

    Returns
    -------
    out : ndarray
        ``np.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        For the same inputs as :func:`convolve`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.correlate(np.array([0.0, 1.0, 0.5, 0.0]), np.array([1.0, 0.5]), "valid")
    array([0.5 , 1.25, 0.5 ])
    """
    return conv_nd_impl(in1, in2, mode, method, flip=False)


def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
                axes: int | ArrayLike | None = None) -> np.ndarray:
    """Convolve two N-dimensional arrays over `axes`, as scipy.signal.fftconvolve.

    The arguments, broadcasting rules, result type and exceptions are those of
    :func:`scipy.signal.fftconvolve`: the axes not convolved must have equal
    lengths or length 1 in one input; integers give float64. The transforms run
    on fastconv's thread count; one kernel shared by every slice runs through
    fastconv's engine, which computes short kernels directly.

    Parameters
    ----------
    in1, in2 : array_like
        Inputs with the same number of dimensions.
    mode : {'full', 'valid', 'same'}, optional
        As in :func:`convolve`; 'same' takes `in1`'s shape in every axis.
    axes : int or sequence of int or None, optional
        Axes to convolve over (default: all).

    Returns
    -------
    out : ndarray
        Floating point (or complex) result.

    Raises
    ------
    ValueError
        If the dimensionalities differ, `axes` is invalid or empty, the other
        axes cannot broadcast, `mode` is unknown, or neither input contains the
        other in 'valid' mode.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> stack = np.ones((2, 4, 4))
    >>> fastconv.fftconvolve(stack, np.ones((1, 3, 3)), mode="same", axes=(1, 2))[0, 0, 0]
    np.float64(4.0)
    """
    return fftconv_impl(in1, in2, mode, axes, oa=False)


def oaconvolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full",
               axes: int | ArrayLike | None = None) -> np.ndarray:
    """Convolve two N-dimensional arrays over `axes`, as scipy.signal.oaconvolve.

    Same arguments, rules and result as :func:`fftconvolve` (scipy's two
    functions differ only in algorithm); fastconv's engine picks overlap-save
    FFTs or direct sums by its cost model.

    Parameters
    ----------
    in1, in2, mode, axes
        As :func:`fftconvolve`.

    Returns
    -------
    out : ndarray
        As :func:`fftconvolve`; the exceptions are its too.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.oaconvolve(np.ones(1000), np.ones(3) / 3, mode="valid")[:2]
    array([1., 1.])
    """
    return fftconv_impl(in1, in2, mode, axes, oa=True)


def np_convolve(a: ArrayLike, v: ArrayLike, mode: Mode = "full") -> np.ndarray:
    """Convolve two 1-D sequences with :func:`numpy.convolve`'s semantics.

    Unlike :func:`convolve` (scipy's), the inputs are swapped when `v` is the
    longer, and ``'same'`` returns ``max(len(a), len(v))`` samples.

    Parameters
    ----------
    a, v : array_like
        1-D inputs (scalars count as length 1).
    mode : {'full', 'valid', 'same'} or {2, 0, 1}, optional
        As numpy; default ``'full'``.

    Returns
    -------
    out : ndarray
        ``np.result_type(a, v)``, integers wrapping around as numpy's do.

    Raises
    ------
    ValueError
        For empty or multi-dimensional inputs or an unknown mode string/number.
    TypeError
        For a mode that is neither a string nor an integer.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.np_convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5], "same")
    array([1. , 2.5, 4. ])
    """
    return np_convolve_impl(a, v, mode)


def np_correlate(a: ArrayLike, v: ArrayLike, mode: Mode = "valid") -> np.ndarray:
    """Cross-correlate two 1-D sequences with :func:`numpy.correlate`'s semantics.

    ``c[k] = sum_n a[n + k] * conj(v[n])``; default mode ``'valid'``; when `v`
    is the longer the result is numpy's (the swapped correlation, reversed and
    conjugated), and ``'same'`` returns ``max(len(a), len(v))`` samples.

    Parameters
    ----------
    a, v : array_like
        1-D inputs.
    mode : {'valid', 'same', 'full'} or {0, 1, 2}, optional
        As numpy; default ``'valid'``.

    Returns
    -------
    out : ndarray
        ``np.result_type(a, v)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`np_convolve`.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.np_correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([3.5])
    """
    return np_correlate_impl(a, v, mode)


def convolve1d(x: ArrayLike, h: ArrayLike, axis: int = -1, mode: Mode = "full",
               method: Method = "auto") -> np.ndarray:
    """Convolve every 1-D slice of `x` along `axis` with the 1-D filter `h`.

    The result equals applying :func:`scipy.signal.convolve` ``(s, h, mode)`` to
    every slice ``s`` along `axis` (not :func:`scipy.ndimage.convolve1d`, which
    has boundary modes and a different centre).

    Parameters
    ----------
    x : array_like
        N-d input, N >= 1.
    h : array_like
        1-D filter.
    axis : int, optional
        The axis to filter along (default: the last).
    mode : {'full', 'valid', 'same'}, optional
        As :func:`convolve`, per slice.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        As :func:`convolve` ('separable' runs direct).

    Returns
    -------
    out : ndarray
        `x`'s shape with `axis` resized by `mode`; ``np.result_type(x, h)``.

    Raises
    ------
    ValueError
        If `h` is not 1-D, either is empty along the axis, or the type is not
        supported (as convolve2d). ``numpy.exceptions.AxisError`` for a bad axis.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.convolve1d(np.ones((2, 5)), [1.0, 1.0], mode="valid")
    array([[2., 2., 2., 2.],
           [2., 2., 2., 2.]])
    """
    return conv_axis_impl(x, h, axis, mode, method, flip=True)


def correlate1d(x: ArrayLike, h: ArrayLike, axis: int = -1, mode: Mode = "full",
                method: Method = "auto") -> np.ndarray:
    """Cross-correlate every 1-D slice of `x` along `axis` with `h`.

    Equals :func:`scipy.signal.correlate` ``(s, h, mode)`` on every slice.
    Parameters, result and exceptions are as :func:`convolve1d`.

    Parameters
    ----------
    x : array_like
        N-d input.
    h : array_like
        1-D template (conjugated).
    axis : int, optional
        Default: the last.
    mode : {'full', 'valid', 'same'}, optional
        As :func:`correlate`, per slice.
    method : {'auto', 'direct', 'fft', 'separable'}, optional
        As :func:`convolve1d`.

    Returns
    -------
    out : ndarray
        Shaped and typed as :func:`convolve1d`'s result.

    Examples
    --------
    >>> import numpy as np
    >>> import fastconv
    >>> fastconv.correlate1d(np.arange(4.0)[None], [1.0, -1.0], mode="valid")
    array([[-1., -1., -1.]])
    """
    return conv_axis_impl(x, h, axis, mode, method, flip=False)


def convolve2d_batch(stack: ArrayLike, kernel: ArrayLike, mode: Mode = "full",
                     boundary: Boundary = "fill", fillvalue: Any = 0, *,
                     method: Method = "auto") -> np.ndarray:
    """Convolve every image of a stack ``(..., H, W)`` with one 2-D kernel.

    The result equals ``fastconv.convolve2d(img, kernel, mode, boundary,
    fillvalue, method=method)`` for every image, stacked: every mode, boundary
    and dtype rule of :func:`scipy.signal.convolve2d` applies per image. Small
    images are spread over threads (one image per core at a time); large ones
    use all threads each.

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
    return conv2d_batch_impl(stack, kernel, mode, boundary, fillvalue, True, method)


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
    return conv2d_batch_impl(stack, kernel, mode, boundary, fillvalue, False, method)
