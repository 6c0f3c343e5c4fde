"""Shared by the examples: run a program on both engines, report the speedup, save a PNG.

Every example is one function ``simulate(engine, ...)`` where ``engine`` supplies
``convolve2d``/``correlate2d``: fastconv's or scipy.signal's. Running the same
program on both gives the speedup and a cross-check of the results.
``FASTCONV_NUM_THREADS=1 python examples/NAME.py`` runs fastconv on one core: for
the many small convolutions of a simulation on a machine busy with other work, a
thread team can cost more than it saves.
"""
from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np


def engines_2d() -> dict[str, SimpleNamespace]:
    import scipy.signal

    import fastconv
    return {
        "fastconv": SimpleNamespace(convolve2d=fastconv.convolve2d,
                                    correlate2d=fastconv.correlate2d),
        "scipy": SimpleNamespace(convolve2d=scipy.signal.convolve2d,
                                 correlate2d=scipy.signal.correlate2d),
    }


def race(name: str, simulate: Callable[[SimpleNamespace], object],
         engines: dict[str, SimpleNamespace] | None = None) -> tuple[dict, float]:
    """Run ``simulate`` with each engine ({'fastconv': ..., 'scipy': ...}, by default
    the 2-D functions); print the times and fastconv's speedup."""
    results, times = {}, {}
    for label, engine in (engines or engines_2d()).items():
        t = time.perf_counter()
        results[label] = simulate(engine)
        times[label] = time.perf_counter() - t
    import fastconv
    speedup = times["scipy"] / max(times["fastconv"], 1e-9)
    print(f"{name}: fastconv {times['fastconv']:.3f} s, scipy {times['scipy']:.3f} s "
          f"-> speedup {speedup:.1f}x (threads: {fastconv.get_num_threads()})")
    return results, speedup


def _png_bytes(rgb: np.ndarray) -> bytes:
    """A minimal 8-bit RGB PNG (no filtering), for machines without matplotlib."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _ramp(v: np.ndarray) -> np.ndarray:
    """A dark-blue -> teal -> yellow ramp, close to matplotlib's viridis ends."""
    stops = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
                      [253, 231, 37]], dtype=np.float64)
    x = np.clip(v, 0, 1) * (len(stops) - 1)
    i = np.minimum(x.astype(int), len(stops) - 2)
    f = (x - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).round().astype(np.uint8)


def save_png(path: str | Path, image: np.ndarray, cmap: str = "viridis") -> Path:
    """Save a 2-D array, scaled to its range, as a PNG (matplotlib when installed)."""
    path = Path(path)
    a = np.asarray(image, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    v = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.imsave(path, v, cmap=cmap, vmin=0, vmax=1)
    except ImportError:
        path.write_bytes(_png_bytes(_ramp(v)))
    return path
