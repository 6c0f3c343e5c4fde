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

    static void *fc_fresh(size_t n) {
        void *p = NULL;
    #if defined(_WIN32)
        p = malloc(n);
    #else
        /* 2 MiB alignment lets transparent huge pages back large blocks (as
           numpy's own policy asks for), 64 bytes keeps vector stores aligned */
        size_t align = n >= ((size_t)4 << 20) ? ((size_t)2 << 20) : 64;
        if (posix_memalign(&p, align, n) != 0) p = NULL;
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (p && align > 64) madvise(p, n, MADV_HUGEPAGE);
    #endif
    #endif
        return p;
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
        return malloc(n ? n : 1);
    }

    static void *fc_calloc(void *ctx, size_t nelem, size_t elsize) {
        (void)ctx;
        return calloc(nelem ? nelem : 1, elsize ? elsize : 1);
    }

    static void *fc_realloc(void *ctx, void *ptr, size_t n) {
        (void)ctx;
        /* every block came from malloc, calloc or posix_memalign, all of which
           realloc and free accept */
        return realloc(ptr, n ? n : 1);
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
            free(fc_blocks[oldest].p);
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
        free(ptr);
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
                    free(fc_blocks[i].p);
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
