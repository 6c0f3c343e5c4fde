"""fastconv's own thread pool on a busy machine and a quiet one (issue 18).

Every number is a ratio measured in this run, the two sides timed alternately:

* loaded: one CPU-bound process (started and stopped here) runs beside us; the
  default thread count's time over one thread's, for a 2048^2 float32 7x7 call and
  for a loop of 128^2 float64 3x3 'symm' calls (targets <= 1.15 and <= 1.3).
* quiet: one thread's time over two threads' at 2048^2 for k >= 5 (target >= 1.8).
* after a pause: a job of CPU work posted right after the caller slept, whose woken
  worker lands on the caller's CPU on the VMs here; its time with the worker moved
  off that CPU (the pool's default on Linux) over its time with the worker staying,
  and one thread's time over each (medians: the point is the usual call, not the
  luckiest).
"""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import pytest

import fastconv
from fastconv.bench._grid import make_inputs
from conftest import ROWS

ROUNDS = 9


@contextmanager
def busy_neighbour() -> Iterator[None]:
    """One CPU-bound process for the duration of the block."""
    p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)                 # let it reach the CPU
        yield
    finally:
        p.kill()
        p.wait()


def alternate(a: Callable[[], object], b: Callable[[], object],
              rounds: int = ROUNDS) -> tuple[float, float]:
    """Best times of ``a`` and ``b``, timed in turns (a shared machine drifts)."""
    ta, tb = [], []
    for _ in range(rounds):
        for f, ts in ((a, ta), (b, tb)):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
    return min(ta), min(tb)


def _with_threads(n: int, f: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        with fastconv.threads(n):
            return f()
    return run


def _loop_128(x: np.ndarray, h: np.ndarray, calls: int = 200) -> Callable[[], None]:
    def run() -> None:
        for _ in range(calls):
            fastconv.convolve2d(x, h, "same", "symm")
    return run


@pytest.mark.skipif(fastconv.get_num_threads() < 2, reason="needs two threads")
def test_loaded_machine(benchmark):
    x, h = make_inputs(2048, 7, "float32")
    big = lambda: fastconv.convolve2d(x, h, "same")  # noqa: E731
    xs, hs = make_inputs(128, 3, "float64")
    loop = _loop_128(xs, hs)
    nt = fastconv.get_num_threads()
    big(), loop()                                    # warm: pages, pool threads
    with busy_neighbour():
        t_def, t_one = alternate(_with_threads(nt, big), _with_threads(1, big))
        l_def, l_one = alternate(_with_threads(nt, loop), _with_threads(1, loop))
        benchmark.pedantic(big, rounds=3, iterations=1)
    for what, d, o, target in (("2048^2 f32 7x7", t_def, t_one, 1.15),
                               ("200 x 128^2 f64 3x3 symm", l_def, l_one, 1.3)):
        ROWS.append({"case": f"loaded: {what}", f"{nt} threads ms": f"{d * 1e3:.2f}",
                     "1 thread ms": f"{o * 1e3:.2f}",
                     "default / 1 thread": f"{d / o:.2f} (target <= {target})"})


@pytest.mark.skipif(fastconv.get_num_threads() < 2, reason="needs two threads")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("k", [5, 7, 11])
def test_quiet_two_threads_over_one(benchmark, k, dtype):
    x, h = make_inputs(2048, k, dtype)
    run = lambda: fastconv.convolve2d(x, h, "same", method="direct")  # noqa: E731
    run()
    t2, t1 = alternate(_with_threads(2, run), _with_threads(1, run))
    benchmark.pedantic(_with_threads(2, run), rounds=3, iterations=1)
    ROWS.append({"case": f"quiet: 2048^2 {dtype} {k}x{k}", "2 threads ms": f"{t2 * 1e3:.2f}",
                 "1 thread ms": f"{t1 * 1e3:.2f}",
                 "1 thread / 2 threads": f"{t1 / t2:.2f} (target >= 1.8)"})


@pytest.mark.parametrize("tasks,task_us", [(8, 50), (8, 200)])
def test_after_a_pause(benchmark, tasks, task_us):
    from fastconv._runtime import _fcpool
    nt = fastconv.get_num_threads()
    if nt < 2:
        pytest.skip("one thread: no worker to wake")
    configs = {"1 thread": (1, 0), "moved": (nt, 1), "staying": (nt, 0)}
    times: dict[str, list[float]] = {c: [] for c in configs}
    old = _fcpool.set_move_off(-1)
    try:
        for _ in range(60):
            for name, (n, move) in configs.items():
                _fcpool.set_move_off(move)
                time.sleep(0.005)           # the worker falls asleep; so does the caller
                t = time.perf_counter()
                _fcpool.run_probe(tasks, n, task_us, tasks * task_us, cpu_work=True)
                times[name].append(time.perf_counter() - t)
    finally:
        _fcpool.set_move_off(old)
    benchmark.pedantic(lambda: _fcpool.run_probe(tasks, nt, task_us, cpu_work=True),
                       rounds=3, iterations=1)
    med = {name: float(np.median(v)) for name, v in times.items()}
    row = {"case": f"{tasks} x {task_us} us of CPU work after a 5 ms sleep",
           "1 thread us": f"{med['1 thread'] * 1e6:.0f}",
           "moved us": f"{med['moved'] * 1e6:.0f}",
           "staying us": f"{med['staying'] * 1e6:.0f}",
           "moved / staying": f"{med['moved'] / med['staying']:.2f}",
           "1 thread / moved": f"{med['1 thread'] / med['moved']:.2f}x"}
    benchmark.extra_info.update(row)
    ROWS.append(row)


@pytest.mark.parametrize("shape", [(32, 64, 64), (64, 64, 64)],
                         ids=lambda s: "x".join(map(str, s)))
def test_calls_in_a_loop(benchmark, shape):
    """N-d calls back to back, as a loop over volumes makes them: the medians of the
    calls with the pool's defaults and with the old idle policy (a 30 us spin counted
    from the worker's own last task, no wait for the call's end), in turns. Between
    two such calls the caller spends 30-45 us returning and setting up, so under the
    old policy the worker was often asleep when the next call began."""
    from fastconv._runtime import _fcpool
    if fastconv.get_num_threads() < 2:
        pytest.skip("one thread: no worker to keep awake")
    rng = np.random.default_rng(16)
    x = rng.standard_normal(shape).astype(np.float32)
    h = rng.standard_normal((3, 3, 3)).astype(np.float32)
    run = lambda: fastconv.convolve(x, h, "same", method="direct")  # noqa: E731
    spin, wait = _fcpool.set_spin_us(-1), _fcpool.set_close_wait_us(-1)
    configs = {"defaults": (spin, wait), "30 us, no wait": (30, 0)}
    times: dict[str, list[float]] = {c: [] for c in configs}
    try:
        for r in range(40):
            for name in (list(configs) if r % 2 == 0 else list(configs)[::-1]):
                _fcpool.set_spin_us(configs[name][0])
                _fcpool.set_close_wait_us(configs[name][1])
                for _ in range(20):
                    t = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - t)
    finally:
        _fcpool.set_spin_us(spin)
        _fcpool.set_close_wait_us(wait)
    benchmark.pedantic(run, rounds=3, iterations=1)
    med = {name: float(np.median(v)) for name, v in times.items()}
    best = {name: min(v) for name, v in times.items()}
    row = {"case": f"loop of 3-D {shape} x 3^3 float32 calls",
           "defaults us (median / best)": f"{med['defaults'] * 1e6:.0f} / "
                                          f"{best['defaults'] * 1e6:.0f}",
           "old policy us": f"{med['30 us, no wait'] * 1e6:.0f} / "
                            f"{best['30 us, no wait'] * 1e6:.0f}",
           "old / defaults (medians)": f"{med['30 us, no wait'] / med['defaults']:.2f}"}
    benchmark.extra_info.update(row)
    ROWS.append(row)
