# cython: language_level=3
"""Result buffers that outlive their arrays, so the next call of the same size
skips the operating system's page faults.

A fresh large array is freshly mapped memory: the kernel faults in and zeroes
every page on first write, which was 25-45% of a memory-bound convolution
(4096^2 float32 3x3: 9.8 ms, 5.8 ms on recycled memory). fastconv allocates its
large results and temporaries through a numpy allocation policy (NEP 49) whose
``free`` keeps up to a capped number of bytes of blocks for reuse instead of
returning them to the system. Only arrays fastconv makes use it; numpy's own
policy stays the default for everything else.
"""
cimport numpy as cnp

cnp.import_array()

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #include <pythread.h>
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif

    /* Blocks at least this big are recycled; smaller ones come from malloc's own
       heap, which reuses them anyway. */
    #define FC_MIN_BYTES ((size_t)1 << 20)
    #define FC_SLOTS 64

    typedef struct { void *p; size_t n; unsigned long long age; } fc_block;
    static fc_block fc_blocks[FC_SLOTS];
    static size_t fc_held = 0, fc_cap = 0;
    static unsigned long long fc_clock = 0, fc_hits = 0, fc_misses = 0;
    static PyThread_type_lock fc_lock = NULL;

    /* Allocation. posix_memalign has no Windows twin whose blocks plain free()
       accepts: there every block of this policy comes from _aligned_malloc, 64-byte
       aligned, and goes back through _aligned_realloc/_aligned_free (with the
       alignment it was made with). Elsewhere small blocks are malloc's, and
       posix_memalign's blocks are realloc's and free's like malloc's. */
    #if defined(_WIN32)
    #include <malloc.h>
    static void *fc_aligned_alloc(size_t align, size_t n) {
        return _aligned_malloc(n ? n : 1, align);
    }
    static void fc_aligned_free(void *p) { _aligned_free(p); }
    static void *fc_sys_malloc(size_t n) { return fc_aligned_alloc(64, n); }
    static void *fc_sys_calloc(size_t k, size_t n) {
        void *p = (n && k > (size_t)-1 / n) ? NULL : fc_aligned_alloc(64, k * n);
        if (p) memset(p, 0, k * n);
        return p;
    }
    static void *fc_sys_realloc(void *p, size_t n) { return _aligned_realloc(p, n ? n : 1, 64); }
    #else
    static void *fc_aligned_alloc(size_t align, size_t n) {
        void *p = NULL;
        return posix_memalign(&p, align, n ? n : 1) == 0 ? p : NULL;
    }
    static void fc_aligned_free(void *p) { free(p); }
    static void *fc_sys_malloc(size_t n) { return malloc(n ? n : 1); }
    static void *fc_sys_calloc(size_t k, size_t n) { return calloc(k ? k : 1, n ? n : 1); }
    static void *fc_sys_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
    #endif

    static void *fc_fresh(size_t n) {
    #if defined(_WIN32)
        return fc_sys_malloc(n);
    #else
        /* 2 MiB alignment lets transparent huge pages back large blocks (as
           numpy's own policy asks for), 64 bytes keeps vector stores aligned */
        size_t align = n >= ((size_t)4 << 20) ? ((size_t)2 << 20) : 64;
        void *p = fc_aligned_alloc(align, n);
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (p && align > 64) madvise(p, n, MADV_HUGEPAGE);
    #endif
        return p;
    #endif
    }

    static void *fc_malloc(void *ctx, size_t n) {
        (void)ctx;
        if (n >= FC_MIN_BYTES && fc_lock) {
            void *p = NULL;
            PyThread_acquire_lock(fc_lock, WAIT_LOCK);
            for (int i = 0; i < FC_SLOTS; i++) {
                if (fc_blocks[i].p && fc_blocks[i].n == n) {
                    p = fc_blocks[i].p;
                    fc_blocks[i].p = NULL;
                    fc_held -= n;
                    break;
                }
            }
            if (p) fc_hits++; else fc_misses++;
            PyThread_release_lock(fc_lock);
            return p ? p : fc_fresh(n);
        }
        return fc_sys_malloc(n);
    }

    static void *fc_calloc(void *ctx, size_t nelem, size_t elsize) {
        (void)ctx;
        return fc_sys_calloc(nelem, elsize);
    }

    static void *fc_realloc(void *ctx, void *ptr, size_t n) {
        (void)ctx;
        /* every block came from fc_sys_* or fc_aligned_alloc, which it accepts */
        return fc_sys_realloc(ptr, n);
    }

    /* Drop the oldest blocks until ``want`` more bytes fit under the cap and a
       slot is free; the caller holds the lock. Returns a free slot or -1. */
    static int fc_make_room(size_t want) {
        for (;;) {
            int empty = -1, oldest = -1;
            for (int i = 0; i < FC_SLOTS; i++) {
                if (!fc_blocks[i].p) { if (empty < 0) empty = i; }
                else if (oldest < 0 || fc_blocks[i].age < fc_blocks[oldest].age) oldest = i;
            }
            if (empty >= 0 && fc_held + want <= fc_cap) return empty;
            if (oldest < 0) return -1;
            fc_aligned_free(fc_blocks[oldest].p);
            fc_held -= fc_blocks[oldest].n;
            fc_blocks[oldest].p = NULL;
        }
    }

    static void fc_free(void *ctx, void *ptr, size_t n) {
        (void)ctx;
        if (ptr && n >= FC_MIN_BYTES && fc_lock) {
            PyThread_acquire_lock(fc_lock, WAIT_LOCK);
            int slot = n <= fc_cap ? fc_make_room(n) : -1;
            if (slot >= 0) {
                fc_blocks[slot].p = ptr;
                fc_blocks[slot].n = n;
                fc_blocks[slot].age = ++fc_clock;
                fc_held += n;
                ptr = NULL;
            }
            PyThread_release_lock(fc_lock);
        }
        fc_aligned_free(ptr);
    }

    static PyDataMem_Handler fc_handler = {
        "fastconv_recycle", 1, {NULL, fc_malloc, fc_calloc, fc_realloc, fc_free}
    };

    static int fc_init(size_t cap) {
        fc_cap = cap;
        if (!fc_lock) fc_lock = PyThread_allocate_lock();
        return fc_lock != NULL;
    }

    /* In a forked child the lock may have been held by a thread that does not
       exist there: start with a new one. */
    static void fc_after_fork(void) {
        fc_lock = PyThread_allocate_lock();
    }

    /* New cap; blocks beyond it are released now. */
    static void fc_set_cap(size_t cap) {
        PyThread_acquire_lock(fc_lock, WAIT_LOCK);
        fc_cap = cap;
        if (fc_held > cap || cap == 0) {
            for (int i = 0; i < FC_SLOTS && fc_held > cap; i++) {
                if (fc_blocks[i].p) {
                    fc_aligned_free(fc_blocks[i].p);
                    fc_held -= fc_blocks[i].n;
                    fc_blocks[i].p = NULL;
                }
            }
        }
        PyThread_release_lock(fc_lock);
    }
    """
    ctypedef struct PyDataMem_Handler:
        pass
    PyDataMem_Handler fc_handler
    size_t FC_MIN_BYTES
    size_t fc_held, fc_cap
    unsigned long long fc_hits, fc_misses
    int fc_init(size_t cap)
    void fc_set_cap(size_t cap)
    void fc_after_fork()
    object PyDataMem_SetHandler(object handler)
    object PyCapsule_New(void *pointer, const char *name, void *destructor)

import os

import numpy as np

#: bytes of freed blocks kept for reuse unless ``FASTCONV_BUFFER_CACHE_MB`` says otherwise
DEFAULT_CAP = 512 << 20

MIN_BYTES = FC_MIN_BYTES


def _cap_from_env() -> int:
    v = os.environ.get("FASTCONV_BUFFER_CACHE_MB", "").strip()
    if not v:
        return DEFAULT_CAP
    try:
        mb = float(v)
    except ValueError:
        raise ValueError(f"FASTCONV_BUFFER_CACHE_MB must be a number of MiB, got {v!r}") from None
    if not mb >= 0:
        raise ValueError(f"FASTCONV_BUFFER_CACHE_MB must be >= 0, got {v!r}")
    return int(mb * (1 << 20))


if not fc_init(_cap_from_env()):
    raise MemoryError("fastconv: cannot allocate the buffer cache's lock")


def _after_fork() -> None:
    fc_after_fork()


os.register_at_fork(after_in_child=_after_fork)

# The capsule stays alive with this module; every array made under the policy
# holds a reference to it as well.
cdef object _policy = PyCapsule_New(<void *>&fc_handler, b"mem_handler", NULL)


def empty(shape, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)``, on a recycled block when it is large."""
    dt = np.dtype(dtype)
    n = dt.itemsize
    for s in (shape if isinstance(shape, tuple) else (shape,)):
        n *= s
    if n < FC_MIN_BYTES or fc_cap == 0:
        return np.empty(shape, dt)
    old = PyDataMem_SetHandler(_policy)
    try:
        return np.empty(shape, dt)
    finally:
        PyDataMem_SetHandler(old)


class active:
    """Context in which every numpy allocation of this thread uses the policy:
    for calls whose temporaries are made by other libraries (``scipy.fft``)."""

    def __enter__(self):
        self._old = PyDataMem_SetHandler(_policy)
        return self

    def __exit__(self, *exc):
        PyDataMem_SetHandler(self._old)
        return False


def set_cap(nbytes: int) -> int:
    """Keep at most ``nbytes`` of freed blocks (0: none, and release them now).
    Returns the previous cap."""
    if nbytes < 0:
        raise ValueError(f"the buffer cache size must be >= 0, got {nbytes}")
    prev = fc_cap
    fc_set_cap(<size_t>nbytes)
    return prev


def stats() -> dict:
    """Bytes held now, the cap, and how many large requests were served from
    held blocks (hits) or fresh memory (misses)."""
    return {"held": fc_held, "cap": fc_cap, "hits": fc_hits, "misses": fc_misses}
