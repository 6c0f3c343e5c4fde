"""The benchmark grid: which cells run, fastconv's paths, inputs and timing.

A cell is (image size, kernel size, dtype, boundary, threads); in each cell every
one of fastconv's paths and every peer that can do the same work is timed, all
with ``mode='same'``.
"""
from __future__ import annotations

import functools
import inspect
import sys
import time
import typing
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import numpy as np

import fastconv
from fastconv._engine import kernels

from ._peers import Peer

# The direct kernel has two implementations, forced with kernels.direct_backend.
_DIRECT_BACKENDS = ("cython", "numba")
# What convolve2d's ``method=`` is expected to accept, if its annotation does not say.
_DEFAULT_METHODS = ("auto", "direct", "separable", "fft")


@dataclass(frozen=True)
class Cell:
    n: int
    k: int
    dtype: str
    boundary: str = "fill"
    threads: int = 0            # 0: every thread fastconv uses by default

    def key(self) -> str:
        return f"{self.n}^2 k{self.k} {self.dtype} {self.boundary} {self.threads or 'all'}thr"


@dataclass(frozen=True)
class Timing:
    seconds: float | None       # best of ``calls``; None when not run
    calls: int = 0
    note: str = ""


def _method_values() -> tuple[str, ...] | None:
    """The values of convolve2d's ``method=`` keyword, or None when it has none."""
    params = inspect.signature(fastconv.convolve2d).parameters
    if "method" not in params:
        return None
    try:
        hint = typing.get_type_hints(fastconv.convolve2d).get("method")
    except Exception:   # an annotation that does not resolve: fall back to the known names
        hint = None
    values = tuple(v for v in typing.get_args(hint) if isinstance(v, str))
    return values or _DEFAULT_METHODS


def our_paths() -> tuple[str, ...]:
    """fastconv's paths to time: 'auto', each forced ``method=`` value, and the
    direct method once per kernel implementation ('direct[cython]', 'direct[numba]')."""
    methods = _method_values() or ("auto", "direct")
    paths = []
    for m in methods:
        if m == "direct":
            paths += [f"direct[{b}]" for b in _DIRECT_BACKENDS]
        else:
            paths.append(m)
    return tuple(paths)


def path_runner(path: str, x: np.ndarray, h: np.ndarray, boundary: str) -> Callable[[], object]:
    """A zero-argument call of ``fastconv.convolve2d(x, h, 'same', boundary)`` on ``path``."""
    method, _, backend = path.partition("[")
    kwargs = {"method": method} if _method_values() is not None else {}

    def run():
        # direct_backend is process-wide: set it inside the call so nothing leaks
        with kernels.direct_backend(backend.rstrip("]") or "auto"):
            return fastconv.convolve2d(x, h, "same", boundary, **kwargs)
    return run


def make_inputs(n: int, k: int, dtype: str, separable: bool = False,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random ``n x n`` image and ``k x k`` kernel of ``dtype``; ``separable``
    makes the kernel an outer product (rank 1), as the separable path needs."""
    rng = np.random.default_rng(seed + n + k)
    dt = np.dtype(dtype)

    def rand(shape):
        if dt.kind in "iu":
            hi = 1000 if shape[0] == n else 9
            return rng.integers(-hi, hi, shape, dtype=dt)
        if dt.kind == "c":
            return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
        return rng.standard_normal(shape).astype(dt)

    x = rand((n, n))
    h = (rand((k, 1)) * rand((1, k))).astype(dt) if separable else rand((k, k))
    return x, h


def time_call(fn: Callable[[], object], warm: bool, budget: float = 0.4,
              cap: float = 2.0, max_calls: int = 50) -> Timing:
    """Best wall time of ``fn``: called at least twice and again until ``budget``
    seconds are spent (at most ``max_calls`` times), but a call slower than ``cap``
    seconds is timed once. ``warm=True`` discards the first call (JIT compiles,
    caches, thread start-up)."""
    if warm:
        fn()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > cap:
        return Timing(first, 1, "timed once (slow)")
    best, calls, start = first, 1, time.perf_counter()
    # keep going while within budget: on a busy machine the first call is often
    # an outlier, and more calls give the best-of a better chance
    while calls < max_calls and (calls < 2 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        calls += 1
    return Timing(best, calls)


@contextmanager
def _thread_count(n: int, peers: list[Peer]) -> Iterator[None]:
    """fastconv and every threaded peer on ``n`` threads."""
    with ExitStack() as stack:
        stack.enter_context(fastconv.threads(n))
        for p in peers:
            if p.threaded:
                stack.enter_context(p.threads(n))
        yield


@dataclass(frozen=True)
class Grid:
    """A named list of cells and, per cell, which paths run (None: all of them)."""
    name: str
    cells: tuple[Cell, ...]
    paths: dict[Cell, tuple[str, ...]] | None = None
    peer_cap_s: float = 2.0           # a slower peer call is timed once
    peer_skip_s: float = 30.0         # a peer predicted slower than this is skipped
    limits_scale: float = 1.0         # operand size of the limit measurements
    call_budget_s: float = 0.12       # seconds of repeats per timing
    passes: int = 3                   # later passes re-time the fast calls
    retime_below_s: float = 0.1

    def paths_for(self, cell: Cell, available: tuple[str, ...]) -> tuple[str, ...]:
        want = (self.paths or {}).get(cell)
        if want is None:
            return available
        return tuple(p for p in available if p in want or p.split("[")[0] in want)


def _series(ns, ks, dtypes, boundaries=("fill",), threads=(0,)) -> list[Cell]:
    return [Cell(n, k, d, b, t) for n in ns for d in dtypes for b in boundaries
            for t in threads for k in ks]


def _quick() -> Grid:
    """About 2-3 minutes on 2 cores, most of it in scipy.signal.convolve2d."""
    main = _series([1024], [3, 5, 7, 11, 15, 31, 63], ["float32", "float64"])
    extra = (_series([1024], [7, 15], ["float32", "float64"], threads=(1,))
             + _series([1024], [3, 7, 15], ["int32", "complex128"])
             + _series([256], [3, 7, 15], ["float32"])
             + _series([4096], [3, 7], ["float32"])
             + _series([1024], [7], ["float32"], boundaries=("wrap", "symm")))
    # every path on the kernel-size sweep; 'auto' alone elsewhere
    only_auto = {c: ("auto",) for c in extra}
    return Grid("quick", tuple(main + extra), only_auto, peer_cap_s=2.0, peer_skip_s=4.0)


def _full() -> Grid:
    ks = [3, 5, 7, 9, 11, 15, 21, 31, 45, 63]
    cells = _series([256, 1024, 4096], ks, ["float32", "float64", "int32", "complex128"],
                    boundaries=("fill", "wrap", "symm"), threads=(1, 0))
    return Grid("full", tuple(cells), None, peer_cap_s=2.0, peer_skip_s=120.0)


def _tiny() -> Grid:
    """A second or two: for tests of the report itself."""
    return Grid("tiny", tuple(_series([64], [3, 5], ["float32"])), None,
                peer_cap_s=1.0, peer_skip_s=5.0, limits_scale=0.25,
                call_budget_s=0.05, passes=1)


GRIDS: dict[str, Callable[[], Grid]] = {"tiny": _tiny, "quick": _quick, "full": _full}


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, a line
    per 10% otherwise)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        self.total, self.done, self.width = max(total, 1), 0, width
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.t0 = time.perf_counter()
        self._last_decile = -1

    def step(self, label: str) -> None:
        self.done += 1
        frac = self.done / self.total
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / frac - elapsed
        bar = "#" * int(frac * self.width)
        line = (f"[{bar:<{self.width}}] {self.done}/{self.total} "
                f"{elapsed:5.0f}s (eta {eta:4.0f}s) {label}")
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
        elif int(frac * 10) > self._last_decile or self.done == self.total:
            self._last_decile = int(frac * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _predict(last: tuple[float, Cell] | None, cell: Cell, k_power: float) -> float:
    """A peer's time on ``cell`` from its last measured cell of the same dtype,
    scaling with n^2 and, towards larger kernels, with k^k_power (the peer's own
    growth rate; towards smaller kernels at most k^2)."""
    if last is None:
        return 0.0
    t, ref = last
    kpow = k_power if cell.k > ref.k else min(k_power, 2.0)
    return t * (cell.n / ref.n) ** 2 * (cell.k / ref.k) ** kpow


def _best(a: Timing | None, b: Timing) -> Timing:
    if a is None or a.seconds is None:
        return b
    return Timing(min(a.seconds, b.seconds), a.calls + b.calls, a.note)


def run_grid(grid: Grid, peers: list[Peer], progress: bool = True,
             on_pass_end: Callable[[], None] | None = None) -> list[dict]:
    """Time every path and peer in every cell; one row per (cell, path).

    The grid is run ``grid.passes`` times; after the first pass only calls faster
    than ``grid.retime_below_s`` are timed again, and each keeps its best time: on
    a shared machine a busy moment rarely hits the same call twice.
    """
    paths = our_paths()
    todo = [(c, grid.paths_for(c, paths)) for c in grid.cells]
    per_pass = sum(len(p) + len(peers) for _, p in todo)
    bar = Progress(per_pass * grid.passes) if progress else None
    default_threads = fastconv.get_num_threads()
    # last measured (seconds, cell) per (peer, dtype): predicts calls too slow to run
    last: dict[tuple[str, str], tuple[float, Cell]] = {}
    peer_t: dict[tuple, Timing] = {}     # (peer, cell or thread-free cell key) -> timing
    ours: dict[tuple[Cell, str], Timing] = {}

    def peer_key(peer: Peer, cell: Cell) -> tuple:
        # single-threaded peers do the same work at any thread count: time them once
        return (peer.name, cell if peer.threaded else (cell.n, cell.k, cell.dtype, cell.boundary))

    def again(tm: Timing | None) -> bool:
        return tm is None or (tm.seconds is not None and tm.seconds < grid.retime_below_s)

    for npass in range(grid.passes):
        timed: set[tuple] = set()
        for cell, cell_paths in todo:
            data = functools.cache(lambda c=cell: make_inputs(c.n, c.k, c.dtype))
            with _thread_count(cell.threads or default_threads, peers):
                for peer in peers:
                    if bar:
                        bar.step(f"{cell.key()} {peer.label}")
                    key = peer_key(peer, cell)
                    if (not peer.supports(cell.dtype, cell.k, cell.boundary) or key in timed
                            or not again(peer_t.get(key))):
                        continue
                    timed.add(key)
                    if npass == 0:
                        why_not = peer.too_big(cell.n, cell.k)
                        guess = _predict(last.get((peer.name, cell.dtype)), cell, peer.k_power)
                        if why_not is None and guess > grid.peer_skip_s:
                            why_not = f"skipped (predicted {guess:.0f} s)"
                        if why_not:
                            peer_t[key] = Timing(None, 0, why_not)
                            continue
                    tm = time_call(peer.runner(*data(), cell.boundary), warm=False,
                                   budget=grid.call_budget_s, cap=grid.peer_cap_s)
                    last[(peer.name, cell.dtype)] = (tm.seconds, cell)
                    peer_t[key] = _best(peer_t.get(key), tm)
                for path in cell_paths:
                    if bar:
                        bar.step(f"{cell.key()} {path}")
                    if not again(ours.get((cell, path))):
                        continue
                    xs, hs = (make_inputs(cell.n, cell.k, cell.dtype, separable=True)
                              if path == "separable" else data())
                    try:
                        tm = time_call(path_runner(path, xs, hs, cell.boundary), warm=True,
                                       budget=grid.call_budget_s)
                    except (ValueError, NotImplementedError) as exc:
                        tm = Timing(None, 0, f"not run: {exc}")
                    ours[(cell, path)] = _best(ours.get((cell, path)), tm)
        if on_pass_end:
            on_pass_end()
    if bar:
        bar.close()
    rows = []
    for cell, cell_paths in todo:
        cell_peers = {p.label: peer_t[peer_key(p, cell)] for p in peers
                      if peer_key(p, cell) in peer_t}
        for path in cell_paths:
            rows.append(_row(cell, cell.threads or default_threads, path, ours[(cell, path)],
                             cell_peers))
    return rows


def _auto_choice(x: np.ndarray, h: np.ndarray, boundary: str) -> str | None:
    """What ``fastconv.choose_method`` picks for this call, when it exists."""
    choose = getattr(fastconv, "choose_method", None)
    if choose is None:
        return None
    try:
        return str(choose(x, h, "same", boundary))
    except TypeError:
        try:
            return str(choose(x, h, "same"))
        except Exception:
            return None
    except Exception:
        return None


def _row(cell: Cell, nthreads: int, path: str, tm: Timing,
         peer_times: dict[str, Timing]) -> dict:
    row = asdict(cell)
    row.update(threads=nthreads, path=path, seconds=tm.seconds, calls=tm.calls,
               note=tm.note,
               peers={k: v.seconds for k, v in peer_times.items()},
               peer_notes={k: v.note for k, v in peer_times.items() if v.note})
    if path == "auto" and hasattr(fastconv, "choose_method"):
        choice = _auto_choice(*make_inputs(cell.n, cell.k, cell.dtype), cell.boundary)
        if choice is not None:
            row["auto_choice"] = choice
    return row
