"""tune(): measure this machine's cost-model constants and crossovers.

Times the direct kernel at two kernel sizes (a per-output and a per-tap cost) and
the FFT path at one size (a per-point-per-log cost), for single and double
precision, fits the constants of ``_plan``'s model, then reports the kernel size
where the FFT path overtakes direct as predicted and as measured. The constants
go to a per-user JSON file that ``_plan`` loads lazily on first use.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from . import _fft, _plan
from ._convolve2d import correlate_plane
from ._threads import get_num_threads
from ._timing import best_time

_PROBE = 512          # output side of the timing problems
_KS = (3, 11)         # direct kernel sizes for the two-point fit
_K_FFT = 31


class _Progress:
    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.done, self.stream = total, 0, stream

    def step(self, what: str) -> None:
        self.done += 1
        if self.stream is not None:
            bar = "#" * (20 * self.done // self.total)
            self.stream.write(f"\rtuning [{bar:<20}] {self.done}/{self.total} {what:<28}")
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")


def _time_direct(dt: np.dtype, n: int, k: int, repeat: int) -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n + k - 1, n + k - 1)).astype(dt)
    w = rng.standard_normal((k, k)).astype(dt)
    return best_time(lambda: correlate_plane(x, w, (n, n), (0, 0), 0, 0, dt), repeat)


def _time_fft(dt: np.dtype, n: int, k: int, repeat: int) -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n + k - 1, n + k - 1)).astype(dt)
    w = rng.standard_normal((k, k)).astype(dt)
    nt = get_num_threads()
    return best_time(lambda: _fft.correlate_plane_fft(x, w, (n, n), (0, 0), 0, 0, dt, nt),
                     repeat)


def _fit(dt: np.dtype, n: int, repeat: int, step: Callable[[str], None]) -> dict[str, float]:
    per = []
    for k in _KS:
        per.append(_time_direct(dt, n, k, repeat) / (n * n))
        step(f"{dt.name} direct k={k}")
    (k1, k2), (t1, t2) = _KS, per
    c_tap = max((t2 - t1) / (k2 * k2 - k1 * k1), 1e-14)
    c_out = max(t1 - c_tap * k1 * k1, 1e-12)
    t = _time_fft(dt, n, _K_FFT, repeat)
    step(f"{dt.name} fft k={_K_FFT}")
    by, bx = _fft.block_shape((n, n), (_K_FFT, _K_FFT), True)
    blocks = -(-n // (by - _K_FFT + 1)) * -(-n // (bx - _K_FFT + 1))
    work = blocks * by * bx * math.log2(by * bx)
    c_fft = max((t - (n + _K_FFT) ** 2 * c_out) / work, 1e-14)
    return {"c_out": c_out, "c_tap": c_tap, "c_fft": c_fft}


def crossover(dt: np.dtype, n: int, measure: bool, repeat: int = 3) -> int | None:
    """Smallest odd k (3..63) where the FFT path beats direct on an n x n output,
    by the model (``measure=False``) or by timing."""
    for k in range(3, 65, 2):
        if measure:
            faster = _time_fft(dt, n, k, repeat) < _time_direct(dt, n, k, repeat)
        else:
            faster = _plan.fft_cost((n, n), (k, k), dt) < _plan.direct_cost((n, n), (k, k), dt)
        if faster:
            return k
    return None


def _measured_crossover(dt: np.dtype, n: int, step: Callable[[str], None]) -> int | None:
    """Bisect on k (odd) for the measured crossover: few timings, not 31."""
    lo, hi = 1, 32                      # k = 2*i + 1; find the first i where fft wins
    while lo < hi:
        mid = (lo + hi) // 2
        k = 2 * mid + 1
        fft_wins = _time_fft(dt, n, k, 2) < _time_direct(dt, n, k, 2)
        step(f"{dt.name} crossover k={k}")
        lo, hi = (lo, mid) if fft_wins else (mid + 1, hi)
    return 2 * lo + 1 if lo < 32 else None


def tune(save: bool = True, verbose: bool = True, path: str | Path | None = None,
         repeat: int = 3, probe: int = _PROBE) -> dict:
    """Measure this machine's crossovers between fastconv's paths and store them.

    Fits the constants of the cost model behind ``method='auto'`` and
    :func:`choose_method` by timing the direct and FFT paths in single and double
    precision (under a minute on a 2-core machine), then reports where the FFT
    path overtakes direct, predicted and measured.

    Parameters
    ----------
    save : bool, optional
        Write the constants to the per-user cache file (default True), from
        which later processes load them lazily on first use.
    verbose : bool, optional
        Show a progress bar and the crossover table on stderr / stdout.
    path : str or Path, optional
        The cache file (default: ``$FASTCONV_TUNE_FILE`` or
        ``~/.cache/fastconv/tune.json``).
    repeat : int, optional
        Timings per measurement (the best is kept).
    probe : int, optional
        Output side of the timed problems (default 512).

    Returns
    -------
    result : dict
        ``{"constants": {...}, "crossovers": {...}, "threads": n, "file": str}``;
        the constants are also put in force in this process.

    Examples
    --------
    >>> import fastconv
    >>> result = fastconv.tune(save=False, verbose=False)   # doctest: +SKIP
    """
    dts = (np.dtype(np.float32), np.dtype(np.float64))
    prog = _Progress(len(dts) * (len(_KS) + 1 + 5), sys.stderr if verbose else None)
    t0 = time.perf_counter()
    consts = {_plan.precision(dt): _fit(dt, probe, repeat, prog.step) for dt in dts}
    _plan.set_constants(consts)
    crossings = {}
    for dt in dts:
        crossings[dt.name] = {"model": crossover(dt, probe, measure=False),
                              "measured": _measured_crossover(dt, probe, prog.step)}
    prog.close()
    target = Path(path) if path is not None else _plan.cache_file()
    result = {"constants": consts, "crossovers": crossings, "threads": get_num_threads(),
              "output": probe, "seconds": round(time.perf_counter() - t0, 1),
              "file": str(target) if save else None}
    if save:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, indent=2))
    if verbose:
        print(f"fastconv.tune: {result['seconds']} s, {result['threads']} threads, "
              f"{probe}x{probe} output; FFT overtakes direct at k =")
        for name, c in crossings.items():
            print(f"  {name:8s} model {c['model']}, measured {c['measured']}")
        print(f"constants saved to {target}" if save else "constants not saved")
    return result
