"""tune(): measure this machine's cost-model constants and crossovers.

Times the direct kernel at four kernel sizes (least squares for a per-output and a
per-tap cost) and the FFT path at two (a per-point-per-log cost), for single and
double precision, fits the constants of ``plan``'s model (each clamped to within
20x of the shipped default, so one disturbed timing on a shared machine cannot
derail 'auto'), then reports the kernel size where the FFT path overtakes direct
as predicted and as measured. The constants
go to a per-user JSON file that ``plan`` loads lazily on first use.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from .._runtime.threads import get_num_threads
from .._runtime.timing import best_time
from . import fft, fftlib, plan
from .direct import correlate_plane

_PROBE = 768                 # output side of the timing problems
_KS = (3, 7, 11, 15)         # direct kernel sizes for the least-squares fit
_K_FFT = (15, 23, 31)        # FFT kernel sizes: around the crossover, where the choice matters
_K_CROSS = (9, 13, 17, 21, 25, 31, 41, 51, 63)
# A fitted constant outside [default / _CLAMP, default * _CLAMP] is a timing
# accident (a shared, noisy machine), not a property of the hardware.
_CLAMP = 20.0


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
    return best_time(lambda: fft.correlate_plane_fft(x, w, (n, n), (0, 0), 0, 0, dt, nt),
                     repeat)


def _clamp(value: float, default: float) -> float:
    return min(max(value, default / _CLAMP), default * _CLAMP)


def _fit(dt: np.dtype, n: int, repeat: int, step: Callable[[str], None]) -> dict[str, float]:
    """Least-squares fit of the direct model, then the FFT constant from two sizes."""
    default = plan.DEFAULTS[plan.precision(dt)]
    per = []
    for k in _KS:
        per.append(_time_direct(dt, n, k, repeat) / (n * n))
        step(f"{dt.name} direct k={k}")
    c_tap, c_out = np.polyfit(np.square(_KS).astype(float), per, 1)
    c_out = _clamp(float(c_out), default["c_out"])
    c_tap = _clamp(float(c_tap), default["c_tap"])
    fits = []
    for k in _K_FFT:
        t = _time_fft(dt, n, k, repeat)
        step(f"{dt.name} fft k={k}")
        by, bx = fft.block_shape((n, n), (k, k), True)
        blocks = -(-n // (by - k + 1)) * -(-n // (bx - k + 1))
        single = plan._SINGLE_BLOCK_FACTOR if blocks == 1 else 1.0
        fits.append((t - (n + k) ** 2 * c_out) / (blocks * by * bx * math.log2(by * bx) * single))
    # stored in scipy.fft's units, whichever library ran (plan.FFT_LIBRARY_SPEED)
    speed = plan.FFT_LIBRARY_SPEED[fftlib.name()][plan.precision(dt)]
    c_fft = _clamp(float(np.median(fits)) / speed, default["c_fft"])
    return {"c_out": c_out, "c_tap": c_tap, "c_fft": c_fft}


def crossover(dt: np.dtype, n: int) -> int | None:
    """Smallest k in the scanned sizes where the model prefers FFT over direct."""
    for k in _K_CROSS:
        if plan.fft_cost((n, n), (k, k), dt) < plan.direct_cost((n, n), (k, k), dt):
            return k
    return None


def _measured_crossover(dt: np.dtype, n: int, repeat: int,
                        step: Callable[[str], None]) -> int | None:
    """Smallest scanned k where the FFT path measured faster than direct."""
    found = None
    for k in _K_CROSS:
        if found is None:
            if _time_fft(dt, n, k, repeat) < _time_direct(dt, n, k, repeat):
                found = k
        step(f"{dt.name} crossover k={k}")
    return found


def tune(save: bool = True, verbose: bool = True, path: str | Path | None = None,
         repeat: int = 5, probe: int = _PROBE) -> dict:
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
        Output side of the timed problems (default 768).

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
    prog = _Progress(len(dts) * (len(_KS) + len(_K_FFT) + len(_K_CROSS)),
                     sys.stderr if verbose else None)
    t0 = time.perf_counter()
    consts = {plan.precision(dt): _fit(dt, probe, repeat, prog.step) for dt in dts}
    plan.set_constants(consts)
    crossings = {}
    for dt in dts:
        crossings[dt.name] = {"model": crossover(dt, probe),
                              "measured": _measured_crossover(dt, probe, repeat, prog.step)}
    prog.close()
    target = Path(path) if path is not None else plan.cache_file()
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
