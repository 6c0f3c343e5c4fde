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
    int FC_POOL_API_VERSION
    int fc_parallel_for(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                        void* ctx) noexcept nogil
    int fc_pool_workers() noexcept nogil
    int fc_pool_set_spin_us(int us) noexcept nogil

cdef fc_pool_api _api
_api.version = FC_POOL_API_VERSION
_api.parallel_for = fc_parallel_for
_C_API = PyCapsule_New(<void*>&_api, b"fastconv._runtime._fcpool._C_API", NULL)


def workers() -> int:
    """Pool threads started so far in this process (0 in a fresh fork child)."""
    return fc_pool_workers()


def set_spin_us(int us) -> int:
    """How long an idle worker spins before it sleeps (microseconds); returns the
    previous value (a negative ``us`` only reads it)."""
    return fc_pool_set_spin_us(us)


cdef void _count_slots(void* ctx, Py_ssize_t task, int slot) noexcept nogil:
    cdef int* seen = <int*>ctx
    seen[task] = slot


def run_probe(Py_ssize_t ntasks, int nthreads):
    """Run ``ntasks`` empty tasks; returns (threads that worked, the slot of each
    task): a check of the pool itself, for tests."""
    import numpy as np
    slots = np.full(ntasks, -1, np.intc)
    cdef int[::1] s = slots
    cdef int worked
    with nogil:
        worked = fc_parallel_for(ntasks, nthreads, _count_slots, &s[0] if ntasks else NULL)
    return worked, slots
