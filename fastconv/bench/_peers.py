"""Other libraries' 2-D convolutions, each set up to do the same work as
``fastconv.convolve2d(x, h, 'same', boundary)``.

Equal work means the same output values and size from the same inputs:

- ``scipy.signal.convolve2d`` is the reference itself (all dtypes, all boundaries).
- ``scipy.signal.fftconvolve`` / ``oaconvolve`` with ``mode='same'``: zero fill only,
  and floats/complex only (an FFT cannot give the exact wrapped integer result).
- ``scipy.ndimage.convolve`` keeps the input size; ``mode='constant'`` (cval 0) is
  'fill', ``'grid-wrap'`` is 'wrap', ``'reflect'`` (edge sample repeated) is 'symm'.
  Its kernel centre matches scipy.signal's only for odd kernel sizes.
- ``cv2.filter2D`` correlates, so it gets the flipped kernel; ``BORDER_CONSTANT`` is
  'fill' and ``BORDER_REFLECT`` is 'symm' (it has no periodic border); float32 and
  float64 only (no int32, no complex).
- ``torch.nn.functional.conv2d`` also correlates: flipped kernel, ``padding=k//2``
  (zero fill only), float32/float64.

The scipy peers run on one thread whatever the setting (``fftconvolve`` and
``oaconvolve`` take no ``workers`` argument); cv2 and torch are given the same
thread count as fastconv.
"""
from __future__ import annotations

import importlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

Runner = Callable[[], object]

_FLOATS = frozenset({"float32", "float64"})
_FFT_DTYPES = _FLOATS | {"complex128"}
_ALL_DTYPES = _FLOATS | {"int32", "complex128"}


def _flipped(h: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(h[::-1, ::-1])


def _signal_convolve2d(mods, x, h, boundary) -> Runner:
    return lambda: mods.convolve2d(x, h, "same", boundary)


def _fftconvolve(mods, x, h, boundary) -> Runner:
    return lambda: mods.fftconvolve(x, h, "same")


def _oaconvolve(mods, x, h, boundary) -> Runner:
    return lambda: mods.oaconvolve(x, h, "same")


_NDIMAGE_MODE = {"fill": "constant", "wrap": "grid-wrap", "symm": "reflect"}


def _ndimage(mods, x, h, boundary) -> Runner:
    mode = _NDIMAGE_MODE[boundary]
    return lambda: mods.convolve(x, h, mode=mode, cval=0.0)


def _cv2(cv2, x, h, boundary) -> Runner:
    border = {"fill": cv2.BORDER_CONSTANT, "symm": cv2.BORDER_REFLECT}[boundary]
    hf = _flipped(h)
    return lambda: cv2.filter2D(x, -1, hf, borderType=border)


def _torch(torch, x, h, boundary) -> Runner:
    import torch.nn.functional as F

    xt = torch.from_numpy(np.ascontiguousarray(x))[None, None]
    ht = torch.from_numpy(_flipped(h))[None, None]
    pad = h.shape[0] // 2

    def run():
        with torch.no_grad():
            return F.conv2d(xt, ht, padding=pad)
    return run


@contextmanager
def _thread_setting(get: Callable[[], int], put: Callable[[int], None], n: int) -> Iterator[None]:
    """Run with a library's thread count at ``n``, restored afterwards."""
    old = get()
    if old == n:        # torch rebuilds its thread pool on every set: only when needed
        yield
        return
    put(n)
    try:
        yield
    finally:
        put(old)


def _cv2_threads(cv2, n: int):
    return _thread_setting(cv2.getNumThreads, cv2.setNumThreads, n)


def _torch_threads(torch, n: int):
    return _thread_setting(torch.get_num_threads, torch.set_num_threads, n)


@contextmanager
def _single_threaded(mod, n: int) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class Peer:
    """A peer library's convolution and what it can do with equal work."""
    name: str                       # as shown in the report's notes
    label: str                      # short column label
    module: str                     # imported when the peer is looked up
    dtypes: frozenset[str]
    boundaries: tuple[str, ...]
    odd_kernels_only: bool
    threaded: bool                  # follows the cell's thread count
    _make: Callable = field(repr=False)
    _threads: Callable = field(repr=False, default=_single_threaded)
    # how its time grows with the kernel size k, for predicting too-slow calls
    # (direct methods k^2; FFT methods barely grow)
    k_power: float = 2.0
    # largest n^2 k^2 it is run on (None: no limit); see the torch entry
    max_taps: int | None = None

    def too_big(self, n: int, k: int) -> str | None:
        """Why this peer is not run on an ``n x n`` image and ``k x k`` kernel, if so."""
        if self.max_taps is not None and n * n * k * k > self.max_taps:
            return f"skipped (n^2 k^2 > {self.max_taps:.1e}: unfolded input too large)"
        return None

    def supports(self, dtype: str, k: int, boundary: str) -> bool:
        return (dtype in self.dtypes and boundary in self.boundaries
                and (k % 2 == 1 or not self.odd_kernels_only))

    def runner(self, x: np.ndarray, h: np.ndarray, boundary: str) -> Runner:
        """A zero-argument call doing the same work as convolve2d(x, h, 'same', boundary)."""
        return self._make(importlib.import_module(self.module), x, h, boundary)

    def threads(self, n: int):
        """Context manager running the peer on ``n`` threads (a no-op for scipy)."""
        return self._threads(importlib.import_module(self.module), n)


PEERS: tuple[Peer, ...] = (
    Peer("scipy.signal.convolve2d", "scipy", "scipy.signal", _ALL_DTYPES,
         ("fill", "wrap", "symm"), False, False, _signal_convolve2d),
    Peer("scipy.signal.fftconvolve", "fftconvolve", "scipy.signal", _FFT_DTYPES,
         ("fill",), True, False, _fftconvolve, k_power=0.5),
    Peer("scipy.signal.oaconvolve", "oaconvolve", "scipy.signal", _FFT_DTYPES,
         ("fill",), True, False, _oaconvolve, k_power=0.5),
    Peer("scipy.ndimage.convolve", "ndimage", "scipy.ndimage", _ALL_DTYPES,
         ("fill", "wrap", "symm"), True, False, _ndimage),
    Peer("cv2.filter2D", "cv2", "cv2", _FLOATS, ("fill", "symm"), True, True,
         _cv2, _cv2_threads),
    # torch's CPU conv2d for one channel unfolds the input (im2col: n^2 k^2 values);
    # past 2^30 of them it takes minutes and tens of GB (1024^2, k=63: 75 s)
    Peer("torch.nn.functional.conv2d", "torch", "torch", _FLOATS, ("fill",), True, True,
         _torch, _torch_threads, k_power=3.0, max_taps=1 << 30),
)


def available_peers(names: tuple[str, ...] | None = None) -> tuple[list[Peer], dict[str, str]]:
    """The peers whose library imports here, and a skip message for each that does not.

    ``names`` selects peers by ``name`` or ``label`` (default: all of them).
    """
    found, skipped = [], {}
    for peer in PEERS:
        if names is not None and peer.name not in names and peer.label not in names:
            continue
        try:
            importlib.import_module(peer.module)
        except ImportError as exc:
            skipped[peer.name] = f"{peer.name} skipped: {peer.module} is not installed ({exc})"
            continue
        found.append(peer)
    return found, skipped
