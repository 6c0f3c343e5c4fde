"""fastconv: fast, exact CPU convolution for Python.

A multi-threaded, GIL-free drop-in for ``scipy.signal.convolve2d`` and
``correlate2d``: same signature, same results (integers bit-exact, floats to
rounding), same dtypes, shapes and exceptions.
"""
from ._api.batch import convolve2d_batch, correlate2d_batch
from ._api.numpy1d import np_convolve, np_correlate
from ._api.patch import patch_scipy, unpatch_scipy
from ._api.scipy2d import choose_method, convolve2d, correlate2d
from ._api.scipy_fft import fftconvolve, oaconvolve
from ._api.scipy_nd import convolve, convolve1d, correlate, correlate1d
from ._engine.tune import tune
from ._runtime.memory import buffer_cache_info, set_buffer_cache
from ._runtime.threads import get_num_threads, set_num_threads, threads
from ._runtime import threadpoolctl_hook

threadpoolctl_hook.install()

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
