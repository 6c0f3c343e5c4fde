"""fastconv: fast, exact CPU convolution for Python.

A multi-threaded, GIL-free drop-in for ``scipy.signal.convolve2d`` and
``correlate2d``: same signature, same results (integers bit-exact, floats to
rounding), same dtypes, shapes and exceptions.
"""
from ._api import choose_method, convolve2d, correlate2d
from ._api_family import (convolve, convolve1d, convolve2d_batch, correlate, correlate1d,
                          correlate2d_batch, fftconvolve, np_convolve, np_correlate,
                          oaconvolve)
from ._tune import tune
from ._patch import patch_scipy, unpatch_scipy
from ._memory import buffer_cache_info, set_buffer_cache
from ._threads import get_num_threads, set_num_threads, threads

__version__ = "0.1.0"

__all__ = [
    "convolve2d",
    "correlate2d",
    "convolve",
    "correlate",
    "fftconvolve",
    "oaconvolve",
    "np_convolve",
    "np_correlate",
    "convolve1d",
    "correlate1d",
    "convolve2d_batch",
    "correlate2d_batch",
    "choose_method",
    "tune",
    "patch_scipy",
    "unpatch_scipy",
    "set_num_threads",
    "get_num_threads",
    "threads",
    "set_buffer_cache",
    "buffer_cache_info",
    "__version__",
]
