"""Thread-count control, thread-count invariance, and fastconv's own thread pool
(csrc/fc_pool.c): forked children, concurrent and nested callers, threadpoolctl,
idle workers."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv._engine import kernels


@pytest.mark.parametrize("ksize", [(7, 8), (3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.complex64,
                                   np.complex128])
def test_results_bit_identical_for_any_thread_count(isa, dtype, ksize):
    """Tiles, and so the rows a kernel computes in groups of four, two or one,
    depend on the thread count; the results must not (complex: (7, 8) takes Gauss's
    form, (3, 4) the interleaved loop)."""
    rng = np.random.default_rng(0)
    # large enough that even float32 with 3x4 taps takes several threads
    a = (rng.standard_normal((600, 513)) * 50).astype(dtype)
    if a.dtype.kind == "c":
        a = a + 1j * (rng.standard_normal(a.shape) * 50).astype(dtype)
    b = (rng.standard_normal(ksize) * 5).astype(dtype)
    if b.dtype.kind == "c":
        b = b + 1j * (rng.standard_normal(ksize) * 5).astype(dtype)
    outs = []
    for n in (1, 2, 3, 8):
        with fastconv.threads(n):
            outs.append([fastconv.convolve2d(a, b, "same", bd) for bd in ("fill", "wrap", "symm")])
    for o in outs[1:]:
        for x, y in zip(outs[0], o):
            assert x.tobytes() == y.tobytes()


def test_set_get_and_context_manager():
    old = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(3)
        assert fastconv.get_num_threads() == 3
        with fastconv.threads(1) as n:
            assert n == 1 and fastconv.get_num_threads() == 1
        assert fastconv.get_num_threads() == 3
    finally:
        fastconv.set_num_threads(old)
    for bad, exc in ((0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError)):
        with pytest.raises(exc):
            fastconv.set_num_threads(bad)


def test_context_manager_is_per_python_thread():
    seen = {}
    inside, release = threading.Event(), threading.Event()

    def worker():
        with fastconv.threads(1):
            inside.set()
            release.wait(5)
            seen["worker"] = fastconv.get_num_threads()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    seen["main"] = fastconv.get_num_threads()
    release.set()
    t.join()
    assert seen["worker"] == 1
    assert seen["main"] == fastconv.get_num_threads() != 0


def test_environment_variable_sets_default(tmp_path):
    # run outside the checkout so that the installed package is imported
    code = "import fastconv; print(fastconv.get_num_threads())"
    env = dict(os.environ, FASTCONV_NUM_THREADS="3")
    run = dict(env=env, capture_output=True, text=True, cwd=tmp_path)
    out = subprocess.run([sys.executable, "-c", code], **run)
    assert out.stdout.strip() == "3"
    env["FASTCONV_NUM_THREADS"] = "zero"
    bad = subprocess.run([sys.executable, "-c", code], **run)
    assert bad.returncode != 0 and "FASTCONV_NUM_THREADS" in bad.stderr


def test_concurrent_calls_from_python_threads():
    rng = np.random.default_rng(1)
    jobs = [(rng.standard_normal((200, 180)), rng.standard_normal((5, 5)), bd)
            for bd in ("fill", "wrap", "symm") for _ in range(4)]
    results = [None] * len(jobs)

    def run(i):
        a, b, bd = jobs[i]
        results[i] = fastconv.convolve2d(a, b, "same", bd)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (a, b, bd), r in zip(jobs, results):
        np.testing.assert_allclose(r, ss.convolve2d(a, b, "same", bd), rtol=1e-12, atol=1e-12)


def _run(code: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter; a hang fails the test instead of CI."""
    # from a temporary folder: run from the checkout, -c would import its sources
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=timeout, env=dict(os.environ, **env),
                         cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr[-3000:]
    return out


_FORK = """
import multiprocessing as mp, numpy as np, scipy.signal as ss, fastconv
from fastconv._runtime import _fcpool

def child(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((700, 600)), rng.standard_normal((7, 7))
    with fastconv.threads(2):
        got = fastconv.convolve2d(a, b, "same", "symm")
    ok = np.allclose(got, ss.convolve2d(a, b, "same", "symm"), rtol=1e-12, atol=1e-10)
    return bool(ok), _fcpool.workers()

if __name__ == "__main__":
    a = np.random.default_rng(0).standard_normal((800, 800))
    with fastconv.threads(2):
        fastconv.convolve2d(a, np.ones((5, 5)), "same")       # the parent's workers run
    assert _fcpool.workers() >= 1
    with mp.get_context("fork").Pool(2) as pool:
        res = pool.map(child, range(4), chunksize=1)
    assert all(ok for ok, _ in res), res
    # each child started workers of its own for its 2-thread calls
    assert all(n >= 1 for _, n in res), res
    with fastconv.threads(2):                                  # the parent still works
        fastconv.convolve2d(a, np.ones((5, 5)), "same")
    print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_children_compute_with_all_their_threads(tmp_path):
    """libgomp's team did not survive fork: a 2-thread call in a child hung forever.
    The pool starts afresh in a child; run in a subprocess so a regression times out."""
    script = tmp_path / "fork_check.py"
    script.write_text(_FORK)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_python_threads_with_different_thread_counts():
    """Calls from several Python threads at once, each with its own threads(n), share
    the pool's workers; every result is the one-thread result, bit for bit."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((600, 500)).astype(np.float32)
    b = rng.standard_normal((7, 7)).astype(np.float32)
    with fastconv.threads(1):
        want = fastconv.convolve2d(a, b, "same", "wrap")
    got: dict = {}

    def run(n: int) -> None:
        with fastconv.threads(n):
            got[n] = [fastconv.convolve2d(a, b, "same", "wrap") for _ in range(5)]

    ts = [threading.Thread(target=run, args=(n,)) for n in (1, 2, 3, 4, 8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert sorted(got) == [1, 2, 3, 4, 8]
    for outs in got.values():
        for o in outs:
            assert o.tobytes() == want.tobytes()


def test_nested_inside_thread_pools():
    """Kernels called from inside other pools (a user's executor running batches,
    whose images go to fastconv's Python pool, and 2-D calls) neither deadlock nor
    change results."""
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(4)
    stack = rng.standard_normal((6, 120, 100))
    k = rng.standard_normal((5, 5))
    want = np.stack([ss.convolve2d(im, k, "same") for im in stack])

    def work(i: int) -> np.ndarray:
        with fastconv.threads(2):
            if i % 2:
                return fastconv.convolve2d_batch(stack, k, "same")
            return np.stack([fastconv.convolve2d(im, k, "same") for im in stack])

    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(work, range(8), timeout=120))
    for o in outs:
        np.testing.assert_allclose(o, want, rtol=1e-12, atol=1e-12)


def test_an_exception_in_another_thread_leaves_calls_working():
    """One Python thread's call fails (bad input) while others run threaded calls:
    the others finish with correct results and the pool stays usable."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((500, 400)), rng.standard_normal((5, 5))
    want = ss.convolve2d(a, b, "same")
    errors, results = [], []

    def bad() -> None:
        for _ in range(20):
            try:
                fastconv.convolve2d(np.ones(3), b)
            except ValueError as e:
                errors.append(e)

    def good() -> None:
        with fastconv.threads(2):
            for _ in range(5):
                results.append(fastconv.convolve2d(a, b, "same"))

    ts = [threading.Thread(target=f) for f in (bad, good, good, bad)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert len(errors) == 40 and len(results) == 10
    for r in results:
        np.testing.assert_allclose(r, want, rtol=1e-12, atol=1e-12)
    with fastconv.threads(2):
        np.testing.assert_allclose(fastconv.convolve2d(a, b, "same"), want, rtol=1e-12,
                                   atol=1e-12)


def test_pool_runs_every_task_once_per_slot_from_many_threads():
    """Jobs posted at once from several Python threads, with several thread counts:
    every task runs (its slot recorded), on a slot below the job's thread count, and
    nothing hangs. (Which thread does which task is the scheduler's business: a
    worker may even take every task of a job before its caller starts.)"""
    from fastconv._runtime import _fcpool
    bad: list = []

    def run(n: int) -> None:
        for i in range(400):
            worked, slots = _fcpool.run_probe(20 + i % 100, n)
            if not (1 <= worked <= n and slots.min() >= 0 and slots.max() < worked):
                bad.append((n, worked, slots))

    ts = [threading.Thread(target=run, args=(n,)) for n in (1, 2, 3, 4, 8, 2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in ts) and not bad, bad[:3]
    worked, slots = _fcpool.run_probe(10, 1)           # one thread: all on the caller
    assert worked == 1 and not slots.any()
    assert _fcpool.run_probe(0, 4)[0] == 0


def test_workers_share_the_tasks():
    """A job of a hundred 1 ms tasks on two threads: the pool's worker takes some of
    them (a regression where workers never join would leave them all to the caller).
    Nothing is timed: only who ran which task is checked."""
    from fastconv._runtime import _fcpool
    worked, slots = _fcpool.run_probe(100, 2, 1000.0)
    assert worked == 2 and (slots == 1).any() and (slots == 0).any()


def test_short_jobs_wake_no_sleeping_worker():
    """A job announced as shorter than the wake threshold leaves sleeping workers
    asleep (the caller runs every task), one announced as long or unknown wakes them,
    and a worker still spinning joins either. Who ran which task is checked, nothing
    is timed: workers are put to sleep by a zero spin and a pause."""
    from fastconv._runtime import _fcpool
    old_spin, old_wake = _fcpool.set_spin_us(0), _fcpool.set_wake_us(-1)
    try:
        assert old_wake > 0 and _fcpool.set_wake_us(-1) == old_wake
        _fcpool.run_probe(4, 2, 100.0)      # the worker exists
        for _ in range(3):
            time.sleep(0.01)                # ...and sleeps
            worked, slots = _fcpool.run_probe(50, 2, 1000.0, work_us=old_wake / 2)
            assert worked == 1 and not slots.any()
        time.sleep(0.01)
        worked, slots = _fcpool.run_probe(100, 2, 1000.0, work_us=10 * old_wake)
        assert worked == 2 and (slots == 1).any()
        time.sleep(0.01)
        worked, slots = _fcpool.run_probe(100, 2, 1000.0)     # unknown: wakes
        assert worked == 2 and (slots == 1).any()
        _fcpool.set_spin_us(10 ** 6)        # a worker awake for a second...
        _fcpool.run_probe(100, 2, 1000.0)
        worked, slots = _fcpool.run_probe(100, 2, 1000.0, work_us=1.0)
        assert worked == 2 and (slots == 1).any()    # ...joins a short job too
        assert _fcpool.set_wake_us(0.0) == old_wake
    finally:
        _fcpool.set_spin_us(old_spin)
        _fcpool.set_wake_us(old_wake)


# A fresh process with one worker: a wake-up meant for an earlier call, delivered late
# to another worker of a pool grown by other tests, would join the short call.
_CLOSE_WAIT = """
from fastconv._runtime import _fcpool
_fcpool.set_spin_us(20000)
for wait in (10 ** 6, 0):
    _fcpool.set_close_wait_us(wait)
    for _ in range(3):
        # the caller holds a task for 200 ms, the worker runs the others (1 ms)
        worked, slots = _fcpool.run_probe(3, 2, 1000.0, caller_task_us=200000.0)
        assert worked == 2 and (slots == 0).any() and (slots == 1).any(), slots
        worked, slots = _fcpool.run_probe(50, 2, 200.0, work_us=1.0)
        print(wait, int(worked == 2 and (slots == 1).any()), _fcpool.workers())
"""


def test_a_worker_spins_from_the_end_of_the_call_it_left():
    """A worker done with its share of a call while the caller is still on a long task
    waits for the call's end, and its spin counts from there: the next call, announced
    as short (it wakes no sleeper), finds it awake. With no wait (close_wait_us 0) the
    worker spins from its own last task, 20 ms, and sleeps long before the caller's
    200 ms task ends. Who ran which task is checked, nothing is timed (the margins
    are milliseconds, for a loaded CI machine)."""
    from fastconv._runtime import _fcpool
    assert _fcpool.set_close_wait_us(-1) > 0
    lines = _run(_CLOSE_WAIT).stdout.split("\n")
    runs = [tuple(map(int, line.split())) for line in lines if line.strip()]
    assert runs == [(10 ** 6, 1, 1)] * 3 + [(0, 0, 1)] * 3, runs


_TWO_CPUS = (sys.platform.startswith("linux") and hasattr(os, "sched_getaffinity")
             and len(os.sched_getaffinity(0)) >= 2)


@pytest.mark.skipif(not _TWO_CPUS, reason="a worker moves between CPUs on Linux only, "
                    "with two CPUs allowed")
def test_a_moved_thread_leaves_its_cpu_and_keeps_its_allowed_cpus():
    """The move a worker woken on its caller's CPU makes: off that CPU, onto one it
    was allowed, and allowed every CPU it was before (not pinned)."""
    from fastconv._runtime import _fcpool
    allowed = os.sched_getaffinity(0)
    for _ in range(3):
        moved, before, after = _fcpool.move_self()
        assert moved and before != after and {before, after} <= allowed
        assert os.sched_getaffinity(0) == allowed


def _allowed_cpus_of_every_thread() -> set:
    """Each thread's allowed CPUs, from /proc (the pool's workers are not Python's)."""
    lists = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                lists |= {line.split(":", 1)[1].strip() for line in f
                          if line.startswith("Cpus_allowed_list")}
        except FileNotFoundError:       # a thread that ended meanwhile
            pass
    return lists


@pytest.mark.skipif(not _TWO_CPUS, reason="a worker moves between CPUs on Linux only, "
                    "with two CPUs allowed")
def test_calls_after_a_pause_leave_no_thread_pinned():
    """Calls whose caller slept before (the case in which a woken worker lands on its
    caller's CPU and moves) give the same bits with and without the move, and every
    thread is still allowed the CPUs it was."""
    from fastconv._runtime import _fcpool
    rng = np.random.default_rng(5)
    a = rng.standard_normal((512, 512)).astype(np.float32)
    b = rng.standard_normal((9, 9)).astype(np.float32)
    with fastconv.threads(1):
        ref = fastconv.convolve2d(a, b, "same")
    allowed = _allowed_cpus_of_every_thread()
    old = _fcpool.set_move_off(-1)
    try:
        for move in (1, 0):
            assert _fcpool.set_move_off(move) in (0, 1)
            moves = _fcpool.moves()
            with fastconv.threads(2):
                for _ in range(15):
                    time.sleep(0.003)       # the worker sleeps; so does the caller
                    np.testing.assert_array_equal(fastconv.convolve2d(a, b, "same"), ref)
            if not move:
                assert _fcpool.moves() == moves
    finally:
        _fcpool.set_move_off(old)
    assert _allowed_cpus_of_every_thread() == allowed


def test_threadpoolctl_limits_fastconv():
    """threadpoolctl finds fastconv's pool and limits it, whether it is imported
    before or after fastconv."""
    pytest.importorskip("threadpoolctl")
    code = """
import sys
first = sys.argv[1] if len(sys.argv) > 1 else ""
if first == "tpc":
    import threadpoolctl
import fastconv
import threadpoolctl
fastconv.set_num_threads(3)
info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "fastconv"]
assert len(info) == 1 and info[0]["num_threads"] == 3, info
with threadpoolctl.threadpool_limits(1):
    assert fastconv.get_num_threads() == 1
with threadpoolctl.threadpool_limits(limits=2, user_api="fastconv"):
    assert fastconv.get_num_threads() == 2
assert fastconv.get_num_threads() == 3
print("ok")
"""
    for order in ("fastconv", "tpc"):
        out = subprocess.run([sys.executable, "-c", code, order], capture_output=True,
                             text=True, timeout=120, cwd=tempfile.gettempdir())
        assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_no_openmp_runtime_is_loaded():
    """The kernels use fastconv's pool: no compiled module links an OpenMP runtime."""
    out = _run("import numpy as np, fastconv\n"
               "fastconv.convolve2d(np.ones((300, 300)), np.ones((5, 5)))\n"
               "print(open('/proc/self/maps').read())")
    for lib in ("libgomp", "libomp", "libiomp"):
        assert lib not in out.stdout


_IDLE_CPU = """
import time, numpy as np, fastconv
x = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
h = np.ones((5, 5), np.float32)
burnt = []
with fastconv.threads(2):
    for _ in range(6):
        fastconv.convolve2d(x, h, "same")
        c = time.process_time()
        time.sleep(0.05)            # the pool is idle: what its workers burn now
        burnt.append(time.process_time() - c)
print(sorted(burnt)[len(burnt) // 2])
"""


def test_idle_workers_hand_back_their_core():
    """After a call the pool's workers spin some tens of microseconds, then sleep:
    50 ms of idleness costs the process (nearly) no CPU time."""
    burnt = float(_run(_IDLE_CPU).stdout)
    assert burnt < 0.005, burnt
