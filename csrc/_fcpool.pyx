# cython: language_level=3
"""fastconv's thread pool (csrc/fc_pool.c), shared by every compiled kernel module.

The kernel modules get the pool's C entry point from the capsule ``_C_API`` at
import; Python sees the pool's state here (tests, threadpoolctl).
"""
from cpython.pycapsule cimport PyCapsule_New

cdef extern from "fc_pool.h":
    ctypedef void (*fc_task_fn)(void* ctx, Py_ssize_t task, int slot) noexcept nogil
    ctypedef struct fc_pool_api:
        int version
        int (*parallel_for)(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                            void* ctx) noexcept nogil
        int (*parallel_for_work)(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                                 void* ctx, double work_us) noexcept nogil
    int FC_POOL_API_VERSION
    int fc_parallel_for(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                        void* ctx) noexcept nogil
    int fc_parallel_for_work(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                             void* ctx, double work_us) noexcept nogil
    int fc_pool_workers() noexcept nogil
    int fc_pool_set_spin_us(int us) noexcept nogil
    int fc_pool_set_close_wait_us(int us) noexcept nogil
    double fc_pool_set_wake_us(double us) noexcept nogil
    int fc_pool_set_move_off(int on) noexcept nogil
    long long fc_pool_moves() noexcept nogil
    int fc_pool_move_self(int* frm, int* to) noexcept nogil
    double fc_now_us() noexcept nogil

cdef fc_pool_api _api
_api.version = FC_POOL_API_VERSION
_api.parallel_for = fc_parallel_for
_api.parallel_for_work = fc_parallel_for_work
_C_API = PyCapsule_New(<void*>&_api, b"fastconv._runtime._fcpool._C_API", NULL)


def workers() -> int:
    """Pool threads started so far in this process (0 in a fresh fork child)."""
    return fc_pool_workers()


def set_spin_us(int us) -> int:
    """How long an idle worker spins before it sleeps (microseconds); returns the
    previous value (a negative ``us`` only reads it)."""
    return fc_pool_set_spin_us(us)


def set_close_wait_us(int us) -> int:
    """How long a worker done with its share of a call waits for the call to end, its
    spin then counting from the end (microseconds; 0: it spins from its own last
    task); returns the previous value (a negative ``us`` only reads it)."""
    return fc_pool_set_close_wait_us(us)


def set_wake_us(double us) -> float:
    """The shortest job, in microseconds on one thread, for which a call wakes sleeping
    workers (shorter ones take only workers still spinning); returns the previous
    value (a negative ``us`` only reads it)."""
    return fc_pool_set_wake_us(us)


def set_move_off(int on) -> int:
    """Whether a worker woken on the CPU of the call it is to join first moves to
    another CPU (Linux; elsewhere nothing moves); returns the previous setting (a
    negative ``on`` only reads it)."""
    return fc_pool_set_move_off(on)


def moves() -> int:
    """How many times a woken worker has moved off its caller's CPU (diagnostics)."""
    return fc_pool_moves()


def move_self() -> tuple:
    """Move the calling thread off its CPU as a worker does (for tests): returns
    (moved, CPU before, CPU after); its allowed CPUs are the same afterwards."""
    cdef int a, b, moved
    moved = fc_pool_move_self(&a, &b)
    return bool(moved), a, b


ctypedef struct _Probe:
    int* slots
    double task_us
    double caller_task_us    # >= 0: the caller's tasks (slot 0) last this long instead
    long long chain          # > 0: each task runs this many steps of arithmetic


cdef double _chain(long long n) noexcept nogil:
    """n steps of a dependent multiply-add: CPU work, which takes twice as long when
    two threads share a CPU (a wall-clock spin does not)."""
    cdef double x = 1.0
    cdef long long i
    for i in range(n):
        x = x * 1.0000001 + 1e-9
    return x


cdef void _probe_task(void* ctx, Py_ssize_t task, int slot) noexcept nogil:
    cdef _Probe* p = <_Probe*>ctx
    cdef double us = p.caller_task_us if slot == 0 and p.caller_task_us >= 0 else p.task_us
    cdef double until = fc_now_us() + us
    p.slots[task] = slot
    if p.chain > 0:
        if _chain(p.chain) == -1.0:     # never: uses the result, writes nothing shared
            p.slots[task] = -2
        return
    while us > 0 and fc_now_us() < until:
        pass


cdef double _chain_per_us = 0


def _calibrate_chain() -> float:
    """Steps of _chain per microsecond on this CPU (the best of a few runs)."""
    global _chain_per_us
    cdef double t, best = 1e300, sink = 0
    cdef int i
    if _chain_per_us == 0:
        for i in range(5):
            t = fc_now_us()
            sink += _chain(200000)
            best = min(best, fc_now_us() - t)
        _chain_per_us = 200000 / best + 0 * sink
    return _chain_per_us


def run_probe(Py_ssize_t ntasks, int nthreads, double task_us=0, double work_us=-1,
              bint cpu_work=False, double caller_task_us=-1):
    """Run ``ntasks`` tasks of ``task_us`` microseconds each (busy), announced as a job
    of ``work_us`` microseconds (< 0: unknown, wake sleepers); returns (threads that
    worked, the slot of each task): a check of the pool itself, for tests and benches.

    ``cpu_work``: each task is a fixed amount of arithmetic that takes ``task_us`` on
    an idle CPU, instead of a wall-clock spin, so two threads sharing a CPU are as
    slow as one. ``caller_task_us`` (>= 0, wall-clock spins only): the caller's
    tasks last this long, the workers' ``task_us``."""
    import numpy as np
    slots = np.full(ntasks, -1, np.intc)
    cdef int[::1] s = slots
    cdef int worked
    cdef _Probe p
    p.slots = &s[0] if ntasks else NULL
    p.task_us = task_us
    p.caller_task_us = caller_task_us
    p.chain = <long long>(task_us * _calibrate_chain()) if cpu_work and task_us > 0 else 0
    with nogil:
        worked = fc_parallel_for_work(ntasks, nthreads, _probe_task, &p, work_us)
    return worked, slots
