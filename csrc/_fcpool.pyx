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
    double fc_pool_set_wake_us(double us) noexcept nogil
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


def set_wake_us(double us) -> float:
    """The shortest job, in microseconds on one thread, for which a call wakes sleeping
    workers (shorter ones take only workers still spinning); returns the previous
    value (a negative ``us`` only reads it)."""
    return fc_pool_set_wake_us(us)


ctypedef struct _Probe:
    int* slots
    double task_us


cdef void _probe_task(void* ctx, Py_ssize_t task, int slot) noexcept nogil:
    cdef _Probe* p = <_Probe*>ctx
    cdef double until = fc_now_us() + p.task_us
    p.slots[task] = slot
    while p.task_us > 0 and fc_now_us() < until:
        pass


def run_probe(Py_ssize_t ntasks, int nthreads, double task_us=0, double work_us=-1):
    """Run ``ntasks`` tasks of ``task_us`` microseconds each (busy), announced as a job
    of ``work_us`` microseconds (< 0: unknown, wake sleepers); returns (threads that
    worked, the slot of each task): a check of the pool itself, for tests."""
    import numpy as np
    slots = np.full(ntasks, -1, np.intc)
    cdef int[::1] s = slots
    cdef int worked
    cdef _Probe p
    p.slots = &s[0] if ntasks else NULL
    p.task_us = task_us
    with nogil:
        worked = fc_parallel_for_work(ntasks, nthreads, _probe_task, &p, work_us)
    return worked, slots
