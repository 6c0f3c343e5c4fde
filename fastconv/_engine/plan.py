"""Which path computes a convolution: a cost model with machine-tuned constants.

Each candidate's time is predicted from operation counts and a few per-machine
constants (seconds per unit of work, per precision):

* direct:    Ho*Wo * (c_out + c_tap * K*L)
* separable: the same model, for a 1 x L pass over Ho+K-1 rows plus a K x 1 pass
* fft:       blocks * By*Bx * log2(By*Bx) * c_fft  +  padded area * c_out

``DEFAULTS`` were fitted on a 2-core AVX-512 x86-64 (see docs/design.md, "Planning
and tune"); :func:`fastconv.tune` measures this machine's constants in under a minute
and stores them in a per-user cache file, loaded lazily on first use.
"""
from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from . import fft, fft_nd, fftlib
from .separable import factor


# Seconds per unit, at the default thread count, keyed by precision class: c_out
# and c_tap fit the direct path's times at 1024^2 and 4096^2 (k = 3..15) on the
# 2-core AVX-512 development machine (three tune() runs agree within their noise);
# c_fft is the median seconds per (block points x log2 block points) of
# the FFT path over 512^2..4096^2 images and k = 15..63 (the spread is +-30%).
# 'single' covers float32/complex64 and integers up to 32 bits (int32 kernels),
# 'double' covers float64/complex128/64-bit integers (and integer FFTs, in float64).
DEFAULTS: dict[str, dict[str, float]] = {
    "single": {"c_out": 1.8e-10, "c_tap": 1.0e-11, "c_fft": 2.7e-10},
    "double": {"c_out": 2.4e-10, "c_tap": 2.05e-11, "c_fft": 4.5e-10},
}

# The FFT library's seconds per unit over scipy.fft's: c_fft is in scipy.fft's units
# (tune() divides its measurement by this). ducc0's 2-D FFT path took 0.63-0.89x
# (float32, median 0.8) and 0.49-0.77x (float64, median 0.6) of scipy.fft's time at
# 1024^2 and 4096^2, k = 31 and 63, on the development machine (docs/design.md,
# "The FFT backend").
FFT_LIBRARY_SPEED: dict[str, dict[str, float]] = {
    "scipy": {"single": 1.0, "double": 1.0},
    "ducc0": {"single": 0.8, "double": 0.6},
}


def fft_seconds(prec: str) -> float:
    """Seconds per unit of the FFT paths with the FFT library in force."""
    return constants()[prec]["c_fft"] * FFT_LIBRARY_SPEED[fftlib.name()][prec]


# Below this predicted direct time, 'auto' does not look further.
_PLAN_FREE_SECONDS = 2e-4

_lock = threading.Lock()
_constants: dict[str, dict[str, float]] | None = None


def cache_file() -> Path:
    """Where tune() stores its constants (``FASTCONV_TUNE_FILE`` overrides)."""
    env = os.environ.get("FASTCONV_TUNE_FILE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fastconv" / "tune.json"


def constants() -> dict[str, dict[str, float]]:
    """The cost-model constants in force: tuned ones if a cache file exists."""
    global _constants
    if _constants is None:
        with _lock:
            if _constants is None:
                _constants = _load()
    return _constants


def _load() -> dict[str, dict[str, float]]:
    merged = {k: dict(v) for k, v in DEFAULTS.items()}
    try:
        data = json.loads(cache_file().read_text())
        for prec, vals in data.get("constants", {}).items():
            if prec in merged:
                merged[prec].update({k: float(v) for k, v in vals.items()
                                     if k in merged[prec] and float(v) > 0})
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # no (or an unreadable) cache: the defaults stand
    return merged


def set_constants(c: dict[str, dict[str, float]] | None) -> None:
    """Install constants (None: reload from the cache file on next use)."""
    global _constants
    with _lock:
        _constants = None if c is None else {k: dict(v) for k, v in c.items()}


def precision(dt: np.dtype) -> str:
    if dt.kind in "iu":
        return "single" if dt.itemsize <= 4 else "double"
    return "single" if dt in (np.float32, np.complex64) else "double"


def _cplx_factor(dt: np.dtype, path: str) -> float:
    """A complex call's cost over a real one of the same precision. Direct: three
    real multiply-adds per tap (Gauss's form) on three planes; it measured 3.9-4.7x
    the real kernel at 1024^2, k = 7-15, where the FFT may compete (kernels of up
    to 49 taps take a cheaper interleaved loop, far from the crossover). FFT: twice
    the points."""
    if dt.kind != "c":
        return 1.0
    return 4.0 if path == "direct" else 2.0


def direct_cost(out_shape: tuple[int, int], k_shape: tuple[int, int], dt: np.dtype) -> float:
    c = constants()[precision(dt)]
    Ho, Wo = out_shape
    K, L = k_shape
    return Ho * Wo * (c["c_out"] + c["c_tap"] * K * L) * _cplx_factor(dt, "direct")


# The N-d direct kernel (csrc/_nd_direct.pxi) against the 2-D model: a tap costs what
# a 2-D tap costs (its loop ran at 1.96e-11 s per multiply-add on one core, 64^3 x
# 9^3 float32, against c_tap = 1.0e-11 for two), and an output about twice c_out (the
# tile copies its planes once each, plus halos; 128^3 x 3^3 measured 2.4x, 64^3 x
# 3^3 0.6x, on the 2-core AVX-512 machine, issue 21).
ND_OUT_FACTOR = 2.0
ND_TAP_FACTOR = 1.0


def direct_nd_cost(out_shape: tuple[int, ...], k_shape: tuple[int, ...],
                   dt: np.dtype) -> float:
    """Predicted seconds of the N-d direct kernel (real types) for ``out_shape``
    outputs of a ``k_shape`` kernel."""
    c = constants()[precision(dt)]
    return math.prod(out_shape) * (ND_OUT_FACTOR * c["c_out"]
                                   + ND_TAP_FACTOR * c["c_tap"] * math.prod(k_shape))


def separable_cost(out_shape: tuple[int, int], k_shape: tuple[int, int],
                   dt: np.dtype) -> float:
    Ho, Wo = out_shape
    K, L = k_shape
    return (direct_cost((Ho + K - 1, Wo), (1, L), dt) + direct_cost((Ho, Wo), (K, 1), dt))


def fft_cost(out_shape: tuple[int, int], k_shape: tuple[int, int], dt: np.dtype) -> float:
    Ho, Wo = out_shape
    K, L = k_shape
    fdt = np.dtype(np.float64) if dt.kind in "iu" else dt
    c = constants()[precision(fdt)]
    real = dt.kind != "c"
    by, bx = fft.block_length(Ho, K, real), fft.block_length(Wo, L, real)
    blocks = -(-Ho // (by - K + 1)) * -(-Wo // (bx - L + 1))
    n = by * bx
    # one block skips the tiles' copies and batching (see fft.block_length)
    single = _SINGLE_BLOCK_FACTOR if blocks == 1 else 1.0
    return (blocks * n * math.log2(max(n, 2)) * fft_seconds(precision(fdt)) * single
            * _cplx_factor(dt, "fft") + (Ho + K) * (Wo + L) * c["c_out"])


def fft_nd_cost(out_shape, k_shape, dt: np.dtype) -> float:
    """The N-d FFT path (three or more axes): its overlap-save's work units
    (``fft_nd.units``, transforms plus copies) at the 2-D path's seconds per unit."""
    fdt = np.dtype(np.float64) if dt.kind in "iu" else dt
    return (fft_nd.units(out_shape, k_shape, dt.kind != "c") * fft_seconds(precision(fdt))
            * _cplx_factor(dt, "fft"))


# Seconds per unit of a single-block transform over a tiled one: one transform on
# all cores against batches of blocks on a worker per core (fitted 1.23-1.24).
_SINGLE_BLOCK_FACTOR = 1.25


def direct_without_planning(out_shape: tuple[int, int], w: np.ndarray) -> bool:
    """Whether :func:`choose` picks 'direct' before any cost or check.

    Parameters
    ----------
    out_shape : tuple of int
        The output's shape.
    w : ndarray
        The kernel.

    Returns
    -------
    bool
        True for kernels of at most 9 taps (no other path beats their direct sums)
        and for empty outputs.
    """
    return w.size <= 9 or 0 in out_shape


def choose(out_shape: tuple[int, int], w: np.ndarray, dt: np.dtype,
           fast_paths_ok: bool) -> tuple[str, Any]:
    """``(method, payload)``: payload is the (u, v) factors for 'separable'.
    ``fast_paths_ok`` is False for long doubles, which only direct keeps exact."""
    k_shape = w.shape
    if direct_without_planning(out_shape, w):
        return "direct", None
    costs = {"direct": direct_cost(out_shape, k_shape, dt)}
    if costs["direct"] < _PLAN_FREE_SECONDS:
        return "direct", None   # planning (an SVD, a bound) would cost more than it saves
    if not fast_paths_ok:
        return "direct", None
    uv = factor(w)
    if uv is not None:
        costs["separable"] = separable_cost(out_shape, k_shape, dt)
    costs["fft"] = fft_cost(out_shape, k_shape, dt)
    best = min(costs, key=costs.get)
    return best, (uv if best == "separable" else None)
