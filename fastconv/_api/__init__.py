"""The API wing: the entry points and the reference APIs' rules.

Each module is one reference's front: ``scipy2d`` (scipy.signal.convolve2d /
correlate2d), ``scipy_nd`` (scipy.signal.convolve / correlate and along one axis),
``scipy_fft`` (fftconvolve / oaconvolve), ``numpy1d`` (numpy.convolve /
correlate), ``batch`` (stacks of images); ``rules`` and ``rules_nd`` hold the
argument rules they share, ``patch`` puts fastconv in scipy's place. Each front
validates, reduces the call to the engine's primitive (``_engine``) and finishes
the result; nothing here loops over pixels.

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
