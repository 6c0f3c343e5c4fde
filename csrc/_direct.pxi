# Direct 2-D correlation kernels, included by one thin .pyx per instruction set
# (_direct_base.pyx, _direct_avx2.pyx, _direct_avx512.pyx): one source, compiled
# several times with different -m flags, the best chosen at import (fastconv._runtime.isa).
#
# Every mode x boundary reaches this file as ONE primitive: the 'valid' correlation
# of a virtually padded input,
#     out[i, j] = sum_{a,b} w[a, b] * xpad[i + oy + a, j + ox + b],
# where xpad is in1 extended by the boundary rule. Only the rows a tile needs are
# materialised, in a small per-thread buffer that stays in L2; the caller's array
# is read once, with whatever strides it has.

from cpython.buffer cimport PyBUF_STRIDES, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.pycapsule cimport PyCapsule_Import
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.stdint cimport (int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t,
                          uint64_t)
from libc.math cimport INFINITY

cdef extern from *:
    """
    #ifndef FC_ACC_BYTES
    #define FC_ACC_BYTES 128  /* 8 SSE registers of accumulators */
    #endif
    #define FC_MAX_CH 256  /* 16-bit lanes: 512 bytes of accumulators */
    #define FC_HALF_CH 64
    #define FC_L2_BYTES (512 * 1024)
    #define FC_L1_BYTES (32 * 1024)
    #ifndef FC_SEP_STRIP_CHUNKS
    #define FC_SEP_STRIP_CHUNKS 2
    #endif
    #ifndef FC_STREAM_BYTES
    #define FC_STREAM_BYTES (16 << 20)
    #endif
    #ifndef FC_PREFETCH_ROWS
    #define FC_PREFETCH_ROWS 2
    #endif
    """
    void __builtin_prefetch(const void*) noexcept nogil
    enum: FC_ACC_BYTES
    enum: FC_MAX_CH
    enum: FC_HALF_CH
    enum: FC_L2_BYTES
    enum: FC_L1_BYTES
    enum: FC_PREFETCH_ROWS
    enum: FC_STREAM_BYTES
    enum: FC_SEP_STRIP_CHUNKS

# What differs between compilers (gcc, clang, MSVC; MSVC gets __builtin_prefetch there).
cdef extern from "_portable.h":
    float FC_FMAF(float, float, float) noexcept nogil
    double FC_FMA(double, double, double) noexcept nogil
    const char* FC_COMPILER
    int FC_HAVE_VEC
    int FC_FMA_HW
    int fc_cpu_prefers_shifts() noexcept nogil

cdef extern from "_rows2.h":
    int FC_VEC_BYTES
    int fc_row1_f(const float* src, Py_ssize_t bs, const float* w, Py_ssize_t K,
                  Py_ssize_t L, float* o0, Py_ssize_t wo, int sh) noexcept nogil
    int fc_row2_f(const float* src, Py_ssize_t bs, const float* w, Py_ssize_t K,
                  Py_ssize_t L, float* o0, float* o1, Py_ssize_t wo, int stream,
                  int sh) noexcept nogil
    int fc_row1_d(const double* src, Py_ssize_t bs, const double* w, Py_ssize_t K,
                  Py_ssize_t L, double* o0, Py_ssize_t wo, int sh) noexcept nogil
    int fc_row2_d(const double* src, Py_ssize_t bs, const double* w, Py_ssize_t K,
                  Py_ssize_t L, double* o0, double* o1, Py_ssize_t wo, int stream,
                  int sh) noexcept nogil
    int fc_irows_h(const uint16_t* src, Py_ssize_t bs, const uint16_t* w, Py_ssize_t K,
                   Py_ssize_t L, uint16_t* o0, uint16_t* o1, Py_ssize_t wo) noexcept nogil
    int fc_irows_w(const uint32_t* src, Py_ssize_t bs, const uint32_t* w, Py_ssize_t K,
                   Py_ssize_t L, uint32_t* o0, uint32_t* o1, Py_ssize_t wo) noexcept nogil
    void fc_sfence() noexcept nogil
    Py_ssize_t fc_cwidth_f() noexcept nogil
    Py_ssize_t fc_cwidth_d() noexcept nogil
    void fc_crows_f(const float* ss, const float* sr, const float* si, Py_ssize_t bs,
                    const float* wc, const float* wm, const float* wp, Py_ssize_t K,
                    Py_ssize_t L, float* o0, float* o1, Py_ssize_t wo, int stream) noexcept nogil
    void fc_crows_d(const double* ss, const double* sr, const double* si, Py_ssize_t bs,
                    const double* wc, const double* wm, const double* wp, Py_ssize_t K,
                    Py_ssize_t L, double* o0, double* o1, Py_ssize_t wo, int stream) noexcept nogil
    void fc_crows4_f(const float* ss, const float* sr, const float* si, Py_ssize_t bs,
                     const float* g, Py_ssize_t K, Py_ssize_t L, float* o, Py_ssize_t os,
                     Py_ssize_t wo, int stream) noexcept nogil
    void fc_crows4_d(const double* ss, const double* sr, const double* si, Py_ssize_t bs,
                     const double* g, Py_ssize_t K, Py_ssize_t L, double* o, Py_ssize_t os,
                     Py_ssize_t wo, int stream) noexcept nogil
    Py_ssize_t fc_zwidth_f() noexcept nogil
    Py_ssize_t fc_zwidth_d() noexcept nogil
    void fc_zrows_f(const float* src, Py_ssize_t bs, const float* wr, const float* wi,
                    Py_ssize_t K, Py_ssize_t L, float* o0, float* o1, Py_ssize_t wo,
                    int stream, const char* pf0, const char* pf1, Py_ssize_t pfn) noexcept nogil
    void fc_zrows_d(const double* src, Py_ssize_t bs, const double* wr, const double* wi,
                    Py_ssize_t K, Py_ssize_t L, double* o0, double* o1, Py_ssize_t wo,
                    int stream, const char* pf0, const char* pf1, Py_ssize_t pfn) noexcept nogil

# The compute (lane) types. Integers wrap modulo 2**bits, so each result is computed
# in the narrowest lanes that hold its bits: 8- and 16-bit results in uint16_t (x86
# has no 8-bit multiply), 32-bit in int32_t, 64-bit in int64_t.
ctypedef fused num_t:
    float
    double
    long double
    int32_t
    int64_t
    uint16_t

# The input types the tiles convert from (``correlate_valid_cast``): an image is read
# in its own type and widened row by row in the tile, never copied whole.
ctypedef fused src_t:
    int8_t
    uint8_t
    int16_t
    uint16_t
    int32_t
    uint32_t
    int64_t
    uint64_t
    float
    double

ctypedef fused real_t:
    float
    double

ctypedef fused cnum_t:
    float complex
    double complex
    long double complex

cdef enum:
    FILL = 0
    WRAP = 1
    SYMM = 2


# Input element types correlate_valid_cast converts from, by numpy's (kind, itemsize).
cdef enum:
    _SRC_I8, _SRC_U8, _SRC_I16, _SRC_U16, _SRC_I32, _SRC_U32, _SRC_I64, _SRC_U64, _SRC_F32, \
    _SRC_F64


def build_info():
    """How this module was compiled: the compiler, the row loops' vector bytes,
    whether GCC vector extensions (the row-pair loops) and a hardware FMA are in."""
    return {"compiler": FC_COMPILER.decode(), "vector_ext": bool(FC_HAVE_VEC),
            "fma": bool(FC_FMA_HW), "vec_bytes": FC_VEC_BYTES}


# Outputs of at least this many bytes are written with streaming stores.
cdef Py_ssize_t _stream_bytes = FC_STREAM_BYTES

def set_stream_bytes(Py_ssize_t nbytes):
    """Stream outputs of at least ``nbytes`` (tests and benchmarks force it either
    way); returns the previous threshold."""
    global _stream_bytes
    prev = _stream_bytes
    _stream_bytes = nbytes
    return prev


# Rows of 3 taps (the N-d loop, csrc/_rowsnd.h) and 3x3 and 5x5 kernels (the 2-D pair
# loop, csrc/_rows2.h) take their column taps from cross-lane shifts of the row's vectors
# instead of loads that split a cache line, on CPUs where shifts are the cheaper
# (fc_cpu_prefers_shifts: Zen 5 and later; AVX-512 builds, float and double). One
# core, 3^3 float32 tile in L2: 221-223 GFLOP/s (92% of the core's FMA peak) against
# 166-170 with the loads. The same values are loaded either way, so the same bits.
cdef int _shift_taps = fc_cpu_prefers_shifts()


def set_shifted_taps(bint on):
    """Take the row loops' column taps from shifts (where the build has them) or from
    loads (tests and benchmarks compare); returns the previous setting."""
    global _shift_taps
    old = bool(_shift_taps)
    _shift_taps = on
    return old


# fastconv's thread pool (csrc/fc_pool.c, in fastconv._runtime._fcpool): every
# kernel below cuts its work into tasks (tiles of rows, strips) that the calling
# thread and up to nthreads - 1 pool workers claim one at a time; each worker has
# its own slot, and so its own tile buffer.
cdef extern from "fc_pool.h":
    ctypedef void (*fc_task_fn)(void* ctx, Py_ssize_t task, int slot) noexcept nogil
    ctypedef struct fc_pool_api:
        int version
        int (*parallel_for)(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                            void* ctx) noexcept nogil
        int (*parallel_for_work)(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                                 void* ctx, double work_us) noexcept nogil
    int FC_POOL_API_VERSION

import fastconv._runtime._fcpool     # PyCapsule_Import finds only imported submodules
cdef fc_pool_api* _pool = <fc_pool_api*>PyCapsule_Import(b"fastconv._runtime._fcpool._C_API", 0)
if _pool.version != FC_POOL_API_VERSION:
    raise ImportError("fastconv: the thread pool module does not match the kernels")


cdef inline int _parallel(Py_ssize_t ntasks, int nthreads, fc_task_fn fn,
                          void* ctx) noexcept nogil:
    return _pool.parallel_for(ntasks, nthreads, fn, ctx)


cdef inline int _parallel_work(Py_ssize_t ntasks, int nthreads, fc_task_fn fn, void* ctx,
                               double work_us) noexcept nogil:
    """_parallel for a job of about ``work_us`` microseconds on one thread: a short
    one wakes no sleeping worker (see csrc/fc_pool.h)."""
    return _pool.parallel_for_work(ntasks, nthreads, fn, ctx, work_us)


cdef inline double _tiles_us(Py_ssize_t outputs, Py_ssize_t taps, size_t itemsize) noexcept nogil:
    """A direct call's time on one thread, roughly, in microseconds: ``taps`` vector
    multiply-adds per ``lanes`` outputs plus ~8 for the row copies and stores, at
    ~2.8 vector operations a nanosecond (256^2 float32 3x3 on one AVX-512 core:
    ~25 us of compiled time)."""
    cdef double lanes = max(<double>FC_VEC_BYTES / <double>itemsize, 1.0)
    return <double>outputs * <double>(taps + 8) / (lanes * 2800.0)


include "_peak.pxi"   # the FMA peak loop, the bench's yardstick


# A 2-D array as the tasks see it: memoryviews cannot live in the structs that carry
# a call's arguments to the pool's threads.
ctypedef struct _View:
    const char* p
    Py_ssize_t n0, n1, s0, s1


cdef inline _View _view_of(const char* p, Py_ssize_t n0, Py_ssize_t n1, Py_ssize_t s0,
                           Py_ssize_t s1) noexcept nogil:
    cdef _View v
    v.p = p
    v.n0 = n0
    v.n1 = n1
    v.s0 = s0
    v.s1 = s1
    return v


cdef inline const char* _addr(const _View* v, Py_ssize_t r, Py_ssize_t c) noexcept nogil:
    return v.p + r * v.s0 + c * v.s1


cdef inline Py_ssize_t _balanced_tile(Py_ssize_t t_cache, Py_ssize_t t_min, Py_ssize_t Ho,
                                      int nthreads) noexcept nogil:
    """Tile height: at most what fits the cache budget (``t_cache``), at least
    ``t_min`` (halo rows are recomputed per tile), and cut so every thread gets
    the same number of tiles - a small image still spreads over all threads."""
    cdef Py_ssize_t T = max(t_cache, t_min, 1)
    cdef Py_ssize_t nt = max(nthreads, 1)
    cdef Py_ssize_t rounds = (Ho + nt * T - 1) // (nt * T)
    T = (Ho + nt * rounds - 1) // (nt * rounds)
    return max(min(T, Ho), min(t_min, Ho), 1)


cdef inline void _check_rows_contiguous(Py_ssize_t stride, size_t itemsize,
                                       Py_ssize_t width) except *:
    # the kernels write whole rows through a pointer to their first element
    if width > 1 and stride != <Py_ssize_t>itemsize:
        raise ValueError("fastconv: out must have contiguous rows")


cdef inline Py_ssize_t _map_index(Py_ssize_t j, Py_ssize_t n, int boundary) noexcept nogil:
    """Source index of padded index ``j`` for an axis of length ``n``; -1 means fill.

    wrap and symm repeat as often as needed (a kernel may exceed the image
    several times), as scipy does; symm repeats the edge sample.
    """
    cdef Py_ssize_t k
    if 0 <= j < n:
        return j
    if boundary == FILL or n == 0:
        return -1
    if boundary == WRAP:
        k = j % n
        return k + n if k < 0 else k
    if j < 0:
        j = -1 - j
    k = j % (2 * n)
    return 2 * n - 1 - k if k >= n else k


cdef inline void _prefetch(const void* p, Py_ssize_t nbytes) noexcept nogil:
    cdef Py_ssize_t off
    for off in range(0, nbytes, 64):
        __builtin_prefetch(<const char*>p + off)


cdef inline _View _view(const num_t[:, :] x) noexcept:
    """``x`` as a _View (NULL data when it is empty)."""
    cdef const char* p = NULL
    if x.shape[0] > 0 and x.shape[1] > 0:
        p = <const char*>&x[0, 0]
    return _view_of(p, x.shape[0], x.shape[1], x.strides[0], x.strides[1])


cdef inline void _fill_row(const _View* x, Py_ssize_t src_row, const Py_ssize_t* colmap,
                           Py_ssize_t qa, Py_ssize_t qb, Py_ssize_t ox, Py_ssize_t wp,
                           num_t fill, num_t* dst) noexcept nogil:
    """One padded row: columns [qa, qb) map straight to ox+q, the rest via colmap."""
    _fill_span(x, src_row, colmap, qa, qb, ox, 0, wp, fill, dst)


cdef void _fill_span(const _View* x, Py_ssize_t src_row, const Py_ssize_t* colmap,
                     Py_ssize_t qa, Py_ssize_t qb, Py_ssize_t ox, Py_ssize_t q0,
                     Py_ssize_t q1, num_t fill, num_t* dst) noexcept nogil:
    """Padded columns [q0, q1) of one row into dst[0:q1-q0]."""
    cdef Py_ssize_t q, c
    cdef Py_ssize_t a = max(q0, min(qa, q1))
    cdef Py_ssize_t b = max(a, min(qb, q1))
    if src_row < 0:
        for q in range(q1 - q0):
            dst[q] = fill
        return
    for q in range(q0, a):
        c = colmap[q]
        dst[q - q0] = (<const num_t*>_addr(x, src_row, c))[0] if c >= 0 else fill
    if b > a:
        if x.s1 == sizeof(num_t):
            if src_row + FC_PREFETCH_ROWS < x.n0:
                # the next rows are usually next: start their loads now (rows of a
                # block of a larger array are short, and each begins with a miss)
                _prefetch(_addr(x, src_row + FC_PREFETCH_ROWS, ox + a),
                          (b - a) * sizeof(num_t))
            memcpy(dst + a - q0, _addr(x, src_row, ox + a), (b - a) * sizeof(num_t))
        else:
            for q in range(a, b):
                dst[q - q0] = (<const num_t*>_addr(x, src_row, ox + q))[0]
    for q in range(b, q1):
        c = colmap[q]
        dst[q - q0] = (<const num_t*>_addr(x, src_row, c))[0] if c >= 0 else fill


cdef inline num_t _madd(num_t a, num_t b, num_t c) noexcept nogil:
    # a * b + c, one rounding on FMA targets whatever the compiler: left to
    # -ffp-contract, gcc's vectoriser had kept some narrow chunks' sums a multiply
    # and an add where clang fused them (csrc/_portable.h)
    if num_t is float:
        return FC_FMAF(a, b, c)
    elif num_t is double:
        return FC_FMA(a, b, c)
    elif num_t is uint16_t:
        # in unsigned 32 bits: uint16 operands promote to int, whose overflow C
        # leaves undefined; the vectoriser still computes it in 16-bit lanes
        return <uint16_t>(<uint32_t>a * <uint32_t>b + <uint32_t>c)
    else:
        return a * b + c


cdef inline void _chunk(const num_t* src, Py_ssize_t bs, const num_t* w,
                        Py_ssize_t K, Py_ssize_t L, num_t* o, Py_ssize_t n,
                        Py_ssize_t nw, num_t* o2=NULL) noexcept nogil:
    """``n`` output columns of one row, of which the first ``nw`` are stored (also
    at ``o2`` if given). Called with a literal ``n`` (a compile-time constant after
    inlining) the accumulators live in vector registers and each tap costs one load
    and one FMA per vector."""
    cdef num_t acc[FC_MAX_CH]
    cdef num_t wv
    cdef num_t zero = 0
    cdef const num_t* s
    cdef Py_ssize_t a, b, c
    # the first tap initialises the sums: zeroing them first compiled to a
    # ``rep stos`` of the whole array per chunk (~25% of a 15-tap column pass)
    wv = w[0]
    for c in range(n):
        # an FMA onto zero, as in the pair loops: with a bare product, gcc fused
        # either of the first two products into the next add, differently in
        # different loops (results then depended on the thread count)
        acc[c] = _madd(wv, src[c], zero)
    for b in range(1, L):
        wv = w[b]
        for c in range(n):
            acc[c] = _madd(wv, src[b + c], acc[c])
    for a in range(1, K):
        s = src + a * bs
        for b in range(L):
            wv = w[a * L + b]
            for c in range(n):
                acc[c] = _madd(wv, s[b + c], acc[c])
    for c in range(nw):
        o[c] = acc[c]
    if o2 != NULL:
        for c in range(nw):
            o2[c] = acc[c]


cdef void _row(const num_t* src, Py_ssize_t bs, const num_t* w, Py_ssize_t K,
               Py_ssize_t L, num_t* o, Py_ssize_t wo, num_t* o2=NULL) noexcept nogil:
    # Every chunk has a literal width, so it vectorises with its accumulators in
    # registers (a runtime-width tail ran scalar, ~5x slower per output). The row is
    # covered by chunks of the widest width that fits; the last one is shifted left
    # to end at the row's end, recomputing a few outputs by the same operations
    # (so bit-identical). A row narrower than one vector stores part of a vector
    # that reads into the zeroed slack. float/double rows wide enough for the pair
    # loop take its one-row twin, so a tile's odd row matches the pairs bit for bit.
    # ``o2``: store the row there too (the separable ring's second copy, K = 1,
    # where the pair loop never applies).
    if o2 == NULL:
        if num_t is float:
            if fc_row1_f(src, bs, w, K, L, o, wo, _shift_taps):
                return
        elif num_t is double:
            if fc_row1_d(src, bs, w, K, L, o, wo, _shift_taps):
                return
        elif num_t is uint16_t:
            if fc_irows_h(src, bs, w, K, L, o, NULL, wo):
                return
        elif num_t is int32_t:
            if fc_irows_w(<const uint32_t*>src, bs, <const uint32_t*>w, K, L, <uint32_t*>o,
                          NULL, wo):
                return
    if wo >= <Py_ssize_t>(FC_ACC_BYTES // sizeof(num_t)):
        _row_w(src, bs, w, K, L, o, wo, FC_ACC_BYTES // sizeof(num_t), o2)
    elif wo >= <Py_ssize_t>(FC_ACC_BYTES // sizeof(num_t) // 2):
        _row_w(src, bs, w, K, L, o, wo, FC_ACC_BYTES // sizeof(num_t) // 2, o2)
    elif wo >= <Py_ssize_t>(FC_ACC_BYTES // sizeof(num_t) // 4):
        _row_w(src, bs, w, K, L, o, wo, FC_ACC_BYTES // sizeof(num_t) // 4, o2)
    elif wo >= <Py_ssize_t>(FC_ACC_BYTES // sizeof(num_t) // 8):
        _row_w(src, bs, w, K, L, o, wo, FC_ACC_BYTES // sizeof(num_t) // 8, o2)
    else:
        _chunk(src, bs, w, K, L, o, FC_ACC_BYTES // sizeof(num_t) // 8, wo, o2)


cdef inline void _row_w(const num_t* src, Py_ssize_t bs, const num_t* w, Py_ssize_t K,
                        Py_ssize_t L, num_t* o, Py_ssize_t wo, Py_ssize_t n,
                        num_t* o2=NULL) noexcept nogil:
    """A row of ``wo >= n`` outputs in chunks of ``n`` (a literal at every call),
    stored also at ``o2`` if given."""
    cdef Py_ssize_t c0 = 0
    while c0 + n <= wo:
        _chunk(src + c0, bs, w, K, L, o + c0, n, n, o2 + c0 if o2 != NULL else NULL)
        c0 += n
    if c0 < wo:
        _chunk(src + wo - n, bs, w, K, L, o + wo - n, n, n,
               o2 + wo - n if o2 != NULL else NULL)


cdef inline int _row2(const num_t* src, Py_ssize_t bs, const num_t* w, Py_ssize_t K,
                      Py_ssize_t L, num_t* o0, num_t* o1, Py_ssize_t wo,
                      int stream) noexcept nogil:
    """Two output rows sharing their input loads (csrc/_rows2.h), bit-identical to
    two _row calls; returns 0, computing nothing, where that loop does not apply.
    ``stream``: write aligned vectors with non-temporal stores (fence afterwards)."""
    if num_t is float:
        return fc_row2_f(src, bs, w, K, L, o0, o1, wo, stream, _shift_taps)
    elif num_t is double:
        return fc_row2_d(src, bs, w, K, L, o0, o1, wo, stream, _shift_taps)
    elif num_t is uint16_t:     # integers: exact, so any loop gives the same bits
        return fc_irows_h(src, bs, w, K, L, o0, o1, wo)
    elif num_t is int32_t:
        return fc_irows_w(<const uint32_t*>src, bs, <const uint32_t*>w, K, L,
                          <uint32_t*>o0, <uint32_t*>o1, wo)
    else:
        return 0


cdef inline void _tile_rows(const num_t* buf, Py_ssize_t bs, const num_t* w, Py_ssize_t K,
                            Py_ssize_t L, char* o, Py_ssize_t ostride, Py_ssize_t nr,
                            Py_ssize_t wo, int stream) noexcept nogil:
    """A tile's ``nr`` output rows (the first at ``o``, ``ostride`` bytes apart) from
    its padded rows in ``buf``: in pairs that share their input loads where the pair
    loop applies, else one by one."""
    cdef Py_ssize_t i = 0
    while i + 1 < nr and _row2(buf + i * bs, bs, w, K, L, <num_t*>(o + i * ostride),
                               <num_t*>(o + (i + 1) * ostride), wo, stream):
        i = i + 2
    while i < nr:
        _row(buf + i * bs, bs, w, K, L, <num_t*>(o + i * ostride), wo)
        i = i + 1


cdef void _zero_slack(void* buf, Py_ssize_t nrows, Py_ssize_t stride, Py_ssize_t width,
                      size_t itemsize) noexcept nogil:
    """Zero columns ``width:stride`` of every row of a tile buffer: the rows are
    filled up to ``width`` only, and a row's last vector reads into the rest (finite
    zeros keep garbage NaNs and denormals out of the discarded lanes)."""
    cdef Py_ssize_t p
    for p in range(nrows):
        memset(<char*>buf + (p * stride + width) * itemsize, 0, (stride - width) * itemsize)


# A direct-kernel call as its tasks see it (correlate_valid and, with the block
# table, correlate_valid_blocks); ``fill`` holds one num_t.
ctypedef struct _Tiles:
    _View x
    const void* w
    char* out
    const Py_ssize_t* colmap
    char* bufs
    const Py_ssize_t* redges
    const Py_ssize_t* cedges
    const Py_ssize_t* blocks
    Py_ssize_t os, per_bytes, bs, T, Ho, Wo, K, L, M, N, oy, ox, qa, qb, wp, nc, row0
    Py_ssize_t tpi, xis, ois    # a stack: tiles per image, image strides of x and out
    Py_ssize_t lo, hi           # output columns read from x in place (lo = hi: none)
    int roll                    # rows copied as the outputs need them (short rows)
    int boundary, stream, kind
    int src        # x's element type (_SRC_* below), or -1: x already holds num_t
    int narrow     # out holds 8-bit integers: each row is computed, then its low bytes stored
    long double fill[2]


cdef inline int _kind(num_t* tag) noexcept nogil:
    """num_t as a number, for the tasks' dispatch (they receive a void* context)."""
    if num_t is float:
        return 0
    elif num_t is double:
        return 1
    elif num_t is int32_t:
        return 3
    elif num_t is int64_t:
        return 4
    elif num_t is uint16_t:
        return 5
    else:           # long double
        return 2


cdef inline void _convert_run(src_t* tag, const char* s, Py_ssize_t step, Py_ssize_t n,
                              num_t* dst) noexcept nogil:
    """``n`` values of type src_t, ``step`` bytes apart, into ``dst`` as num_t (a
    widening loop the compiler vectorises when they are contiguous)."""
    cdef Py_ssize_t c
    if step == <Py_ssize_t>sizeof(src_t):
        for c in range(n):
            dst[c] = <num_t>(<const src_t*>s)[c]
    else:
        for c in range(n):
            dst[c] = <num_t>(<const src_t*>(s + c * step))[0]


cdef void _cast_run(int src, const char* s, Py_ssize_t step, Py_ssize_t n,
                    num_t* dst) noexcept nogil:
    """_convert_run for x's element type ``src`` (_SRC_*): the one place the tiles of
    every kernel (2-D, separable strips, N-d) turn a code into a type."""
    if src == _SRC_I8:
        _convert_run(<int8_t*>NULL, s, step, n, dst)
    elif src == _SRC_U8:
        _convert_run(<uint8_t*>NULL, s, step, n, dst)
    elif src == _SRC_I16:
        _convert_run(<int16_t*>NULL, s, step, n, dst)
    elif src == _SRC_U16:
        _convert_run(<uint16_t*>NULL, s, step, n, dst)
    elif src == _SRC_I32:
        _convert_run(<int32_t*>NULL, s, step, n, dst)
    elif src == _SRC_U32:
        _convert_run(<uint32_t*>NULL, s, step, n, dst)
    elif src == _SRC_I64:
        _convert_run(<int64_t*>NULL, s, step, n, dst)
    elif src == _SRC_U64:
        _convert_run(<uint64_t*>NULL, s, step, n, dst)
    elif src == _SRC_F32:
        _convert_run(<float*>NULL, s, step, n, dst)
    else:
        _convert_run(<double*>NULL, s, step, n, dst)


cdef void _fill_cast(int src, const _View* x, Py_ssize_t src_row, const Py_ssize_t* colmap,
                     Py_ssize_t qa, Py_ssize_t qb, Py_ssize_t ox, Py_ssize_t q0,
                     Py_ssize_t q1, num_t fill, num_t* dst) noexcept nogil:
    """_fill_span from an ``x`` of its own type (``src``): padded columns [q0, q1) of
    one row, each value converted as it is copied."""
    cdef Py_ssize_t q, c
    cdef Py_ssize_t a = max(q0, min(qa, q1))
    cdef Py_ssize_t b = max(a, min(qb, q1))
    if src_row < 0:
        for q in range(q1 - q0):
            dst[q] = fill
        return
    for q in range(q0, a):
        c = colmap[q]
        if c >= 0:
            _cast_run(src, _addr(x, src_row, c), 0, 1, dst + q - q0)
        else:
            dst[q - q0] = fill
    if b > a:
        if 0 < x.s1 <= 8 and src_row + FC_PREFETCH_ROWS < x.n0:
            # the next rows are usually next (see _fill_span)
            _prefetch(_addr(x, src_row + FC_PREFETCH_ROWS, ox + a), (b - a) * x.s1)
        _cast_run(src, _addr(x, src_row, ox + a), x.s1, b - a, dst + a - q0)
    for q in range(b, q1):
        c = colmap[q]
        if c >= 0:
            _cast_run(src, _addr(x, src_row, c), 0, 1, dst + q - q0)
        else:
            dst[q - q0] = fill


cdef inline void _store_low_bytes(const num_t* row, uint8_t* o, Py_ssize_t n) noexcept nogil:
    """A row of 8-bit results: each lane's low byte (the sum modulo 2**8)."""
    cdef Py_ssize_t q
    if num_t is uint16_t:
        for q in range(n):
            o[q] = <uint8_t>row[q]


cdef inline void _rows_seg(const num_t* src, Py_ssize_t sbs, const num_t* w, Py_ssize_t K,
                           Py_ssize_t L, num_t* o0, num_t* o1, Py_ssize_t wo,
                           int stream) noexcept nogil:
    """Output rows o0 and (if not NULL) o1, ``wo`` wide, from input rows ``sbs``
    apart: the pair loop where it applies, else one row at a time."""
    if o1 != NULL and _row2(src, sbs, w, K, L, o0, o1, wo, stream):
        return
    _row(src, sbs, w, K, L, o0, wo)
    if o1 != NULL:
        _row(src + sbs, sbs, w, K, L, o1, wo)


cdef inline void _tile_fill(_Tiles* j, const _View* x, num_t* buf, Py_ssize_t r0,
                            Py_ssize_t p0, Py_ssize_t p1, num_t fill) noexcept nogil:
    """Padded rows [p0, p1) of the tile at output row r0 into its buffer: whole, or
    only their border strips where the columns between are read in place."""
    cdef Py_ssize_t p, P
    cdef Py_ssize_t K = j.K, bs = j.bs, lo = j.lo, hi = j.hi
    for p in range(p0, p1):
        P = j.oy + r0 + p
        if hi > lo and K <= P < j.M - K:
            _fill_span(x, P, j.colmap, j.qa, j.qb, j.ox, 0, lo + j.L - 1, fill, buf + p * bs)
            _fill_span(x, P, j.colmap, j.qa, j.qb, j.ox, hi, j.wp, fill, buf + p * bs + hi)
        elif j.src < 0:
            _fill_row(x, _map_index(P, j.M, j.boundary), j.colmap, j.qa, j.qb, j.ox, j.wp,
                      fill, buf + p * bs)
        else:
            _fill_cast(j.src, x, _map_index(P, j.M, j.boundary), j.colmap, j.qa, j.qb, j.ox,
                       0, j.wp, fill, buf + p * bs)


cdef void _tile(num_t* tag, _Tiles* j, Py_ssize_t t, int slot) noexcept nogil:
    """Tile ``t`` of correlate_valid(_stack): row tile ``t % tpi`` of image
    ``t // tpi``; its padded rows into the slot's buffer (short rows a pair of
    output rows at a time, see _correlate_tiles), then its output rows.

    Long rows (see _correlate_tiles): output columns [lo, hi) of rows whose
    input rows all lie in x (no padding row) read x in place: only their border
    strips, columns [0, lo + L - 1) and [hi, wp) of the padded rows, are
    copied, saving the copy and its second pass through the cache (4096^2
    float32, 3x3, 2 threads: 4.0-4.2 ms against 4.5-4.7 copying whole rows).
    Rows within K of a padding row are copied whole, for the outputs that also
    read padding rows."""
    cdef num_t* buf = <num_t*>(j.bufs + slot * j.per_bytes)
    cdef num_t* row = buf + (j.T + j.K - 1) * j.bs     # the narrow store's two rows
    cdef num_t fill = (<num_t*>j.fill)[0]
    cdef const num_t* w = <const num_t*>j.w
    cdef _View x = j.x
    cdef Py_ssize_t K = j.K, L = j.L, bs = j.bs, Wo = j.Wo, lo = j.lo, hi = j.hi
    cdef Py_ssize_t r0 = (t % j.tpi) * j.T
    cdef Py_ssize_t nr = min(j.T, j.Ho - r0)
    cdef Py_ssize_t p, P, i, n
    cdef num_t* o1
    cdef char* o = j.out + (t // j.tpi) * j.ois + r0 * j.os
    x.p = x.p + (t // j.tpi) * j.xis
    if j.roll:
        # short rows: each copied just before the first output rows that need
        # it, so the loads of an image streaming from memory (the next rows
        # prefetched, see _fill_span) overlap the multiply-adds of the rows
        # before instead of taking turns with them
        p = 0
        i = 0
        while i < nr:
            n = 2 if i + 1 < nr else 1
            _tile_fill(j, &x, buf, r0, p, i + n + K - 1, fill)
            p = i + n + K - 1
            o1 = <num_t*>(o + (i + 1) * j.os) if n == 2 else NULL
            _rows_seg(buf + i * bs, bs, w, K, L, <num_t*>(o + i * j.os), o1, Wo, j.stream)
            i = i + n
        if j.stream:
            fc_sfence()
        return
    _tile_fill(j, &x, buf, r0, 0, nr + K - 1, fill)
    if j.narrow:
        # rows in pairs into two rows of lanes, then their low bytes out
        p = 0
        while p + 1 < nr and _row2(buf + p * bs, bs, w, K, L, row, row + bs, Wo, 0):
            _store_low_bytes(row, <uint8_t*>(o + p * j.os), Wo)
            _store_low_bytes(row + bs, <uint8_t*>(o + (p + 1) * j.os), Wo)
            p = p + 2
        while p < nr:
            _row(buf + p * bs, bs, w, K, L, row, Wo)
            _store_low_bytes(row, <uint8_t*>(o + p * j.os), Wo)
            p = p + 1
        return
    if hi <= lo:
        _tile_rows(buf, bs, w, K, L, o, j.os, nr, Wo, j.stream)
    else:
        i = 0
        while i < nr:
            n = 2 if i + 1 < nr else 1
            P = j.oy + r0 + i
            o1 = <num_t*>(o + (i + 1) * j.os) if n == 2 else NULL
            if 0 <= P and P + n + K - 2 < j.M:
                # the strips from the buffer, the columns between from x, whose
                # rows a pair or two ahead are prefetched (the loads of a stack of
                # images streaming from memory otherwise stalled the loop)
                for p in range(P + K + FC_PREFETCH_ROWS - 1,
                               min(P + K + FC_PREFETCH_ROWS + 1, j.M)):
                    _prefetch(_addr(&x, p, j.ox + lo), (hi - lo + L - 1) * sizeof(num_t))
                if lo > 0:
                    _rows_seg(buf + i * bs, bs, w, K, L, <num_t*>(o + i * j.os), o1, lo,
                              j.stream)
                _rows_seg(<const num_t*>_addr(&x, P, j.ox + lo),
                          x.s0 // <Py_ssize_t>sizeof(num_t), w, K, L,
                          <num_t*>(o + i * j.os) + lo, o1 + lo if n == 2 else NULL, hi - lo,
                          j.stream)
                if hi < Wo:
                    _rows_seg(buf + i * bs + hi, bs, w, K, L, <num_t*>(o + i * j.os) + hi,
                              o1 + hi if n == 2 else NULL, Wo - hi, j.stream)
            else:
                _rows_seg(buf + i * bs, bs, w, K, L, <num_t*>(o + i * j.os), o1, Wo, j.stream)
            i = i + n
    if j.stream:
        fc_sfence()


cdef void _tile_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Tiles* j = <_Tiles*>ctx
    if j.kind == 0:
        _tile(<float*>NULL, j, t, slot)
    elif j.kind == 1:
        _tile(<double*>NULL, j, t, slot)
    elif j.kind == 2:
        _tile(<long double*>NULL, j, t, slot)
    elif j.kind == 3:
        _tile(<int32_t*>NULL, j, t, slot)
    elif j.kind == 5:
        _tile(<uint16_t*>NULL, j, t, slot)
    else:
        _tile(<int64_t*>NULL, j, t, slot)


def correlate_valid(const num_t[:, :] x, const num_t[:, :] w, num_t[:, :] out,
                    Py_ssize_t oy, Py_ssize_t ox, int boundary, num_t fill,
                    int nthreads):
    """out[i, j] = sum w[a, b] * xpad[i + oy + a, j + ox + b]  (see module header).

    x and w may have any strides (a flipped kernel is a view: copying it here costs
    nanoseconds, a contiguous copy in numpy half a microsecond of a small call); out
    has contiguous rows (it may be a block of a larger array: a caller can write
    straight into its result). The GIL is released and rows of output are split into
    tiles that the caller and up to ``nthreads - 1`` workers of fastconv's pool share.
    """
    _check_rows_contiguous(out.strides[1], sizeof(num_t), out.shape[1])
    if out.shape[0] == 0 or out.shape[1] == 0:
        return
    _correlate_tiles(_view(x), w, <char*>&out[0, 0], out.strides[0], out.shape[0],
                     out.shape[1], oy, ox, boundary, fill, nthreads, -1, 0, 1, 0, 0)


def correlate_valid_stack(const num_t[:, :, :] x, const num_t[:, :] w, num_t[:, :, :] out,
                          Py_ssize_t oy, Py_ssize_t ox, int boundary, num_t fill,
                          int nthreads):
    """correlate_valid of every image of a stack, ``out[i]`` from ``x[i]``, in one
    call: its tasks are (image, tile of rows) pairs, so a stack of small images
    keeps every thread busy with no per-image call (a Python thread pool calling
    the kernel image by image paid its overhead and GIL hand-offs per image).
    Arguments as correlate_valid, with a leading image axis on x and out (any
    image strides); each output is computed as correlate_valid computes it.
    """
    cdef Py_ssize_t B = out.shape[0]
    if x.shape[0] != B:
        raise ValueError("fastconv: x and out hold different numbers of images")
    _check_rows_contiguous(out.strides[2], sizeof(num_t), out.shape[2])
    if B == 0 or out.shape[1] == 0 or out.shape[2] == 0:
        return
    cdef const char* xp = NULL      # empty images: every sample is fill
    if x.shape[1] > 0 and x.shape[2] > 0:
        xp = <const char*>&x[0, 0, 0]
    _correlate_tiles(_view_of(xp, x.shape[1], x.shape[2], x.strides[1], x.strides[2]), w,
                     <char*>&out[0, 0, 0], out.strides[1], out.shape[1], out.shape[2], oy, ox,
                     boundary, fill, nthreads, -1, 0, B, 0 if xp == NULL else x.strides[0],
                     out.strides[0])


_SRC_BY_KIND = {("i", 1): _SRC_I8, ("u", 1): _SRC_U8, ("b", 1): _SRC_U8, ("i", 2): _SRC_I16,
                ("u", 2): _SRC_U16, ("i", 4): _SRC_I32, ("u", 4): _SRC_U32, ("i", 8): _SRC_I64,
                ("u", 8): _SRC_U64, ("f", 4): _SRC_F32, ("f", 8): _SRC_F64}
# by the type's character (looked up per call; a kind and size tuple cost more); the
# C long behind 'l' is 8 bytes here and 4 on Windows, hence built from numpy's answer
import numpy as _np
_SRC_CODES = {c: _SRC_BY_KIND[_np.dtype(c).kind, _np.dtype(c).itemsize]
              for c in "?bBhHiIlLqQfd" if (_np.dtype(c).kind, _np.dtype(c).itemsize)
              in _SRC_BY_KIND}


def correlate_valid_cast(x, const num_t[:, :] w, out, Py_ssize_t oy, Py_ssize_t ox,
                         int boundary, num_t fill, int nthreads):
    """correlate_valid of an ``x`` of another type, in the lanes of ``w``'s type.

    Each tile's input rows are converted as they are copied into the tile (integers
    modulo 2**bits, integers to floats as numpy's astype, float32 to float64), so
    the call's extra memory is its tile buffers, never a converted copy of ``x``.
    ``out`` (contiguous rows) holds ``w``'s type, or for 16-bit lanes any type of
    at most 16 bits: 8-bit outputs get each result's low byte (exact modulo 2**8).
    ``x`` is a 2-D numpy array of native byte order; bool reads as uint8.
    """
    cdef int narrow
    cdef _View xv, ov
    cdef int src = _cast_args(x, out, sizeof(num_t), _kind(&fill) == 5, &xv, &ov, &narrow)
    if ov.n0 == 0 or ov.n1 == 0:
        return
    _correlate_tiles(xv, w, <char*>ov.p, ov.s0, ov.n0, ov.n1, oy, ox, boundary, fill,
                     nthreads, src, narrow, 1, 0, 0)


def correlate_valid_stack_cast(x, const num_t[:, :] w, out, Py_ssize_t oy, Py_ssize_t ox,
                               int boundary, num_t fill, int nthreads):
    """correlate_valid_stack of a 3-D ``x`` of another type, converted in the tiles,
    into a 3-D ``out`` as correlate_valid_cast takes them."""
    cdef int narrow
    cdef _View xv, ov
    cdef Py_ssize_t lead[3]
    cdef int src = _cast_args(x, out, sizeof(num_t), _kind(&fill) == 5, &xv, &ov, &narrow,
                              lead)
    if lead[0] == 0 or ov.n0 == 0 or ov.n1 == 0:
        return
    _correlate_tiles(xv, w, <char*>ov.p, ov.s0, ov.n0, ov.n1, oy, ox, boundary, fill,
                     nthreads, src, narrow, lead[0], 0 if xv.p == NULL else lead[1], lead[2])


cdef int _correlate_tiles(_View xv, const num_t[:, :] w, char* out, Py_ssize_t os,
                          Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t oy, Py_ssize_t ox,
                          int boundary, num_t fill, int nthreads, int src, int narrow,
                          Py_ssize_t B, Py_ssize_t xis, Py_ssize_t ois) except -1:
    """The tiled call behind correlate_valid(_stack)(_cast): ``Ho x Wo`` outputs at
    ``out`` from ``xv``, for each of ``B`` images (the next ``xis`` bytes further in
    x, ``ois`` in out)."""
    cdef Py_ssize_t M = xv.n0, N = xv.n1
    cdef Py_ssize_t K = w.shape[0], L = w.shape[1]
    cdef Py_ssize_t ch = FC_ACC_BYTES // sizeof(num_t)
    cdef Py_ssize_t wp = Wo + L - 1           # padded row width a tile needs
    cdef Py_ssize_t bs = wp + ch              # + slack: the last chunk may read past wp
    # Tile height: the tile's padded rows fit in L2, and at least K rows so that
    # re-reading the K-1 halo rows costs at most 2x the copy.
    cdef Py_ssize_t T = FC_L2_BYTES // (bs * sizeof(num_t)) - K + 1
    cdef Py_ssize_t tpi
    if B == 1:
        T = _balanced_tile(T, K, Ho, nthreads)
    else:
        # images share out the threads: each image in even tiles, cut finer only
        # while a few tasks would leave a thread idle at the end
        T = _balanced_tile(T, K, Ho, 1)
        tpi = (Ho + T - 1) // T
        while nthreads > 1 and (B * tpi) % nthreads and B * tpi < 8 * nthreads \
                and T > K:
            tpi = tpi + 1
            T = max((Ho + tpi - 1) // tpi, K)
    tpi = (Ho + T - 1) // T
    cdef Py_ssize_t ntiles = B * tpi
    cdef int nt = max(1, min(nthreads, <int>min(ntiles, 1 << 20)))
    cdef Py_ssize_t per = (T + K + 1) * bs    # the tile's rows + two for a narrow store
    cdef Py_ssize_t* colmap = <Py_ssize_t*>malloc(wp * sizeof(Py_ssize_t))
    cdef num_t* bufs = <num_t*>malloc(per * nt * sizeof(num_t))
    cdef num_t* wc = <num_t*>malloc(K * L * sizeof(num_t) + 1)
    if colmap == NULL or bufs == NULL or wc == NULL:
        free(colmap)
        free(bufs)
        free(wc)
        raise MemoryError("fastconv: could not allocate the tile buffers")
    cdef Py_ssize_t q, a, b
    for a in range(K):
        for b in range(L):
            wc[a * L + b] = w[a, b]
    cdef _Tiles j
    j.x = xv
    j.w = wc
    j.out = out
    j.os = os
    j.colmap = colmap
    j.bufs = <char*>bufs
    j.per_bytes = per * sizeof(num_t)
    j.bs, j.T, j.Ho, j.Wo, j.K, j.L, j.M, j.N, j.oy, j.ox = bs, T, Ho, Wo, K, L, M, N, oy, ox
    j.qa = min(max(0, -ox), wp)
    j.qb = max(j.qa, min(wp, N - ox))
    j.wp = wp
    j.boundary = boundary
    j.kind = _kind(&fill)
    j.src = src
    j.narrow = narrow
    j.tpi, j.xis, j.ois = tpi, xis, ois
    # Output columns read in place: those whose inputs lie in x's columns, less
    # strips at least half a chunk wide at the borders (their pair loop needs as
    # much), where x's rows hold the lanes' type contiguously (aligned in whole
    # samples, as the loops index rows), and only for rows so long that the K + 1
    # a pair of output rows reads overflow L1 anyway: shorter rows computed from
    # the buffer ran faster (its rows stay in L1, and its row stride is no
    # multiple of 4 KiB, which x's and out's often are, so loads do not alias
    # stores). float32, 2 threads, in place over copied: 2048^2 and 4096^2
    # 0.85-0.90x, 1024^2 1.05-1.09x, 64 x 256^2 1.17-1.20x.
    j.lo = 0 if j.qa == 0 else max(j.qa, ch // 2)
    j.hi = Wo if j.qb - L + 1 >= Wo else min(j.qb - L + 1, Wo - ch // 2)
    if not ((num_t is float or num_t is double) and src < 0 and not narrow and xv.p != NULL
            and xv.s1 == sizeof(num_t) and xv.s0 % <Py_ssize_t>sizeof(num_t) == 0
            and xis % <Py_ssize_t>sizeof(num_t) == 0
            and <size_t>xv.p % sizeof(num_t) == 0 and j.hi - j.lo >= ch // 2
            and (K + 1) * wp * <Py_ssize_t>sizeof(num_t) >= FC_L1_BYTES):
        j.lo = j.hi = 0
    # Short rows copied one pair of output rows at a time: a stack of 256^2 float32
    # images streaming from memory, 3x3, 2 threads, ran 6% faster so (1 thread:
    # 10%), and one 512^2 image 5% slower, whose rows the whole-tile copy streams
    # at full speed (and 2-3% at 4096^2).
    j.roll = j.lo == j.hi and not narrow and wp * <Py_ssize_t>sizeof(num_t) <= 2048
    (<num_t*>j.fill)[0] = fill
    # An output larger than the last-level cache of common CPUs is gone from cache
    # before anyone reads it: stream it, saving the read of each line before its write.
    j.stream = B * Ho * Wo * <Py_ssize_t>sizeof(num_t) >= _stream_bytes
    if Wo < ch // 8:
        # only a row narrower than the narrowest chunk reads past its padded width
        # (see _row); zeroing every row's slack cost 2-3 us of a 256^2 call
        _zero_slack(bufs, (T + K + 1) * nt, bs, wp, sizeof(num_t))
    for q in range(wp):
        colmap[q] = _map_index(ox + q, N, boundary)
    with nogil:
        _parallel_work(ntiles, nt, _tile_task, &j, _tiles_us(B * Ho * Wo, K * L, sizeof(num_t)))
    free(colmap)
    free(bufs)
    free(wc)
    return 0


cdef void _gather_row(const Py_ssize_t* cedges, Py_ssize_t nc, const Py_ssize_t* blk,
                      Py_ssize_t p, Py_ssize_t next_p, num_t fill,
                      num_t* dst) noexcept nogil:
    """Window row ``p`` of the blocks ``blk`` (this row's run: nc entries of
    (address, row step, column step) in bytes, address 0 for fill) into dst; the
    block's row ``next_p`` (-1: none) is prefetched, as the plain kernel does."""
    cdef Py_ssize_t j, q, n, cs
    cdef const char* src
    for j in range(nc):
        n = cedges[j + 1] - cedges[j]
        if n <= 0:
            continue
        if blk[3 * j] == 0:
            for q in range(n):
                dst[cedges[j] + q] = fill
            continue
        src = <const char*>blk[3 * j] + p * blk[3 * j + 1]
        cs = blk[3 * j + 2]
        if cs == <Py_ssize_t>sizeof(num_t):
            if next_p >= 0:
                _prefetch(<const char*>blk[3 * j] + next_p * blk[3 * j + 1],
                          n * sizeof(num_t))
            memcpy(dst + cedges[j], src, n * sizeof(num_t))
        else:
            for q in range(n):
                dst[cedges[j] + q] = (<const num_t*>(src + q * cs))[0]


def correlate_valid_blocks(const Py_ssize_t[::1] redges, const Py_ssize_t[::1] cedges,
                           const Py_ssize_t[:, ::1] blocks, const num_t[:, ::1] w,
                           num_t[:, :] out, num_t fill, int nthreads, Py_ssize_t row0=0,
                           Py_ssize_t out_bytes=-1):
    """out = the 'valid' correlation with w of a window made of blocks of arrays.

    The window's rows are cut at ``redges`` (increasing, from 0 to at least
    ``row0 + Ho + K - 1``: out's rows are the window's outputs from ``row0`` on, so
    that rows of one window can be computed apart) and its columns at ``cedges``
    (from 0 to ``Wo + L - 1``); ``out_bytes`` is the size of the whole result
    out is part of, when rows are so computed apart (it decides the streaming
    stores; -1: out's own). Block ``(i, j)`` is
    ``blocks[i * nc + j]`` = (address of its first sample, row step, column step),
    in bytes, or an address of 0 for fill samples. The caller keeps the arrays
    alive and the blocks inside them. A Dask task's window (its chunk and strips of
    the neighbours around it) is so correlated in one call, never copied whole:
    each tile gathers its rows into the per-thread buffer, as correlate_valid
    gathers its padded rows.
    """
    cdef Py_ssize_t K = w.shape[0], L = w.shape[1]
    cdef Py_ssize_t Ho = out.shape[0], Wo = out.shape[1]
    cdef Py_ssize_t nr = redges.shape[0] - 1, nc = cedges.shape[0] - 1
    _check_rows_contiguous(out.strides[1], sizeof(num_t), Wo)
    if nr < 1 or nc < 1 or blocks.shape[0] != nr * nc or blocks.shape[1] != 3:
        raise ValueError("fastconv: the block table does not match its edges")
    if redges[0] != 0 or row0 < 0 or redges[nr] < row0 + Ho + K - 1 or cedges[0] != 0 \
            or cedges[nc] != Wo + L - 1:
        raise ValueError("fastconv: the blocks do not make the window of out")
    cdef Py_ssize_t e
    for e in range(nr):
        if redges[e + 1] < redges[e]:
            raise ValueError("fastconv: the row edges decrease")
    for e in range(nc):
        if cedges[e + 1] < cedges[e]:
            raise ValueError("fastconv: the column edges decrease")
    if Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t ch = FC_ACC_BYTES // sizeof(num_t)
    cdef Py_ssize_t wp = Wo + L - 1
    cdef Py_ssize_t bs = wp + ch
    cdef Py_ssize_t T = FC_L2_BYTES // (bs * sizeof(num_t)) - K + 1
    T = _balanced_tile(T, K, Ho, nthreads)
    cdef Py_ssize_t ntiles = (Ho + T - 1) // T
    cdef int nt = max(1, min(nthreads, <int>ntiles))
    cdef Py_ssize_t per = (T + K - 1) * bs
    cdef num_t* bufs = <num_t*>malloc(per * nt * sizeof(num_t))
    if bufs == NULL:
        raise MemoryError("fastconv: could not allocate the tile buffers")
    if out_bytes < 0:
        out_bytes = Ho * Wo * <Py_ssize_t>sizeof(num_t)
    cdef _Tiles j
    j.w = &w[0, 0]
    j.out = <char*>&out[0, 0]
    j.os = out.strides[0]
    j.bufs = <char*>bufs
    j.per_bytes = per * sizeof(num_t)
    j.bs, j.T, j.Ho, j.Wo, j.K, j.L, j.nc, j.row0 = bs, T, Ho, Wo, K, L, nc, row0
    j.redges = &redges[0]
    j.cedges = &cedges[0]
    j.blocks = &blocks[0, 0]
    j.kind = _kind(&fill)
    j.src = -1
    j.narrow = 0
    (<num_t*>j.fill)[0] = fill
    j.stream = out_bytes >= _stream_bytes
    _zero_slack(bufs, (T + K - 1) * nt, bs, wp, sizeof(num_t))
    with nogil:
        _parallel(ntiles, nt, _block_tile_task, &j)
    free(bufs)


cdef void _block_tile(num_t* tag, _Tiles* j, Py_ssize_t t, int slot) noexcept nogil:
    """Tile ``t`` of correlate_valid_blocks: its window rows gathered from the
    blocks into the slot's buffer, then its output rows."""
    cdef num_t* buf = <num_t*>(j.bufs + slot * j.per_bytes)
    cdef num_t fill = (<num_t*>j.fill)[0]
    cdef Py_ssize_t r0 = t * j.T
    cdef Py_ssize_t nr = min(j.T, j.Ho - r0)
    cdef Py_ssize_t p, P, nxt
    cdef Py_ssize_t run = 0
    for p in range(nr + j.K - 1):
        P = j.row0 + r0 + p
        while j.redges[run + 1] <= P:
            run = run + 1
        nxt = P - j.redges[run] + FC_PREFETCH_ROWS
        if P + FC_PREFETCH_ROWS >= j.redges[run + 1]:
            nxt = -1
        _gather_row(j.cedges, j.nc, j.blocks + 3 * run * j.nc, P - j.redges[run], nxt, fill,
                    buf + p * j.bs)
    _tile_rows(buf, j.bs, <const num_t*>j.w, j.K, j.L, j.out + r0 * j.os, j.os, nr, j.Wo,
               j.stream)
    if j.stream:
        fc_sfence()


cdef void _block_tile_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Tiles* j = <_Tiles*>ctx
    if j.kind == 0:
        _block_tile(<float*>NULL, j, t, slot)
    elif j.kind == 1:
        _block_tile(<double*>NULL, j, t, slot)
    elif j.kind == 2:
        _block_tile(<long double*>NULL, j, t, slot)
    elif j.kind == 3:
        _block_tile(<int32_t*>NULL, j, t, slot)
    elif j.kind == 5:
        _block_tile(<uint16_t*>NULL, j, t, slot)
    else:
        _block_tile(<int64_t*>NULL, j, t, slot)


# A fused separable call as its tasks see it; ``fill`` holds one num_t.
ctypedef struct _Sep:
    _View x
    const void* u
    const void* v
    char* out
    const Py_ssize_t* colmap
    char* bufs
    Py_ssize_t os, per_bytes, bs, hs, R, St, nstrips, Tb, Ho, Wo, K, L, M, N, oy, ox
    Py_ssize_t one, qa, qb
    int boundary, stream, kind, bad
    int src, narrow   # as in _Tiles
    long double fill[2]


def correlate_valid_separable(const num_t[:, :] x, const num_t[::1] u,
                              const num_t[::1] v, num_t[:, :] out, Py_ssize_t oy,
                              Py_ssize_t ox, int boundary, num_t fill, int nthreads):
    """The primitive for a rank-1 kernel ``w = outer(u, v)``, fused in one pass.

    The output is cut into vertical strips one or two chunks wide (and, when there
    are too few strips for the threads, into bands of rows). A task walks down its
    strip: each padded input row is filtered once with ``v`` (1 x L) into a ring of
    the last K + 1 intermediate rows, and output rows are the K x 1 pass with ``u``
    over the ring, two at a time where they can share loads. Every ring row is stored
    twice (slots j and j + K + 1), so the rows an output pair needs are always
    consecutive. The ring and the input row stay in L1;
    no intermediate row is computed twice except at band edges.

    Returns False if an intermediate value (so an input, or the fill) was Inf or
    NaN; the output is then not the primitive's and the caller redoes it direct.
    """
    _check_rows_contiguous(out.strides[1], sizeof(num_t), out.shape[1])
    if out.shape[0] == 0 or out.shape[1] == 0:
        return True
    return _separable_strips(_view(x), u, v, <char*>&out[0, 0], out.strides[0],
                             out.shape[0], out.shape[1], oy, ox, boundary, fill, nthreads,
                             -1, 0)


def correlate_valid_separable_cast(x, const num_t[::1] u, const num_t[::1] v, out,
                                   Py_ssize_t oy, Py_ssize_t ox, int boundary, num_t fill,
                                   int nthreads):
    """correlate_valid_separable of an ``x`` of another type, converted in the
    strips, into an ``out`` as correlate_valid_cast takes them."""
    cdef int narrow
    cdef _View xv, ov
    cdef int src = _cast_args(x, out, sizeof(num_t), _kind(&fill) == 5, &xv, &ov, &narrow)
    if ov.n0 == 0 or ov.n1 == 0:
        return True
    return _separable_strips(xv, u, v, <char*>ov.p, ov.s0, ov.n0, ov.n1, oy, ox, boundary,
                             fill, nthreads, src, narrow)


cdef int _cast_args(x, out, size_t lane_bytes, bint lanes16, _View* xv, _View* out_view,
                    int* narrow_out, Py_ssize_t* lead=NULL) except -2:
    """x's src code (setting ``*xv``, ``*out_view`` and ``*narrow_out``) for the *_cast
    entry points, checking that the tiles can read ``x`` and write ``out``. With
    ``lead``, x and out are stacks (3-D) of as many images: ``lead`` receives their
    number and the image strides of x and out, ``*xv`` and ``*out_view`` the first
    images."""
    cdef int src = _cast_src(x)
    cdef int narrow = _cast_narrow(out, lane_bytes, lanes16)
    cdef _View ov
    cdef Py_ssize_t olead[2]
    _array_view(x, xv, 0, lead)
    _array_view(out, &ov, 1, olead if lead != NULL else NULL)
    if lead != NULL:
        if olead[0] != lead[0]:
            raise ValueError("fastconv: x and out hold different numbers of images")
        lead[2] = olead[1]
    _check_rows_contiguous(ov.s1, out.dtype.itemsize, ov.n1)
    out_view[0] = ov
    narrow_out[0] = narrow
    return src


cdef int _cast_src(x) except -2:
    """x's element type as the tiles convert it (_SRC_*); TypeError where they cannot."""
    xd = x.dtype
    cdef int src = _SRC_CODES.get(xd.char, -2)
    if src == -2 or not xd.isnative:
        raise TypeError(f"fastconv: cannot convert {xd} input in the tile")
    return src


cdef int _cast_narrow(out, size_t lane_bytes, bint lanes16) except -1:
    """Whether ``out`` takes 8-bit results from 16-bit lanes (1) or the lanes' own
    width (0); TypeError for any other output type."""
    od = out.dtype
    cdef int narrow = od.itemsize == 1
    if not (od.itemsize == lane_bytes or narrow and lanes16) or od.kind not in "iufb":
        raise TypeError(f"fastconv: cannot write {od} results from these lanes")
    return narrow


cdef int _array_view(a, _View* v, bint writable, Py_ssize_t* lead=NULL) except -1:
    """A 2-D array's data, shape and strides through the buffer protocol (x.ctypes
    cost a microsecond of a small call); the buffer is released at once, the caller
    keeping the array alive. With ``lead``, a 3-D array: ``*v`` is its first image,
    ``lead`` receives the number of images and their stride."""
    cdef Py_buffer b
    cdef int d = 0 if lead == NULL else 1
    PyObject_GetBuffer(a, &b, PyBUF_STRIDES | (PyBUF_WRITABLE if writable else 0))
    try:
        if b.ndim != 2 + d:
            raise ValueError(f"fastconv: a {2 + d}-D array is needed")
        v[0] = _view_of(<const char*>b.buf if b.len > 0 else NULL,
                        b.shape[d], b.shape[d + 1], b.strides[d], b.strides[d + 1])
        if d:
            lead[0] = b.shape[0]
            lead[1] = b.strides[0]
    finally:
        PyBuffer_Release(&b)
    return 0


cdef object _separable_strips(_View xv, const num_t[::1] u, const num_t[::1] v, char* out,
                              Py_ssize_t os, Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t oy,
                              Py_ssize_t ox, int boundary, num_t fill, int nthreads, int src,
                              int narrow):
    """The strips behind correlate_valid_separable(_cast)."""
    cdef Py_ssize_t M = xv.n0, N = xv.n1
    cdef Py_ssize_t K = u.shape[0], L = v.shape[0]
    cdef Py_ssize_t ch = FC_ACC_BYTES // sizeof(num_t)
    cdef Py_ssize_t St = FC_SEP_STRIP_CHUNKS * ch     # strip width
    cdef int nt0 = max(1, nthreads)
    # The strips do not depend on the thread count: a row's chunk widths decide its
    # rounding (gcc fuses multiply-adds in some widths and not in others), and
    # results must be identical for any count. Bands below share out narrow images.
    cdef Py_ssize_t nstrips = (Wo + St - 1) // St
    # Bands of rows when strips alone cannot keep the threads busy; each band
    # recomputes K-1 intermediate rows, so bands stay >= 4K rows tall.
    cdef Py_ssize_t nbands = 1
    if nstrips < 2 * nt0:
        nbands = max(1, min((2 * nt0 + nstrips - 1) // nstrips, Ho // (4 * K)))
    cdef Py_ssize_t Tb = (Ho + nbands - 1) // nbands
    nbands = (Ho + Tb - 1) // Tb
    cdef Py_ssize_t ntasks = nstrips * nbands
    cdef int nt = max(1, min(nt0, <int>ntasks))
    cdef Py_ssize_t wp = Wo + L - 1
    # Rows start on cache lines: the K x 1 pass then reads whole aligned vectors
    # (a misaligned vector load spans two lines and costs two).
    cdef Py_ssize_t al = max(1, 64 // <Py_ssize_t>sizeof(num_t))
    cdef Py_ssize_t bs = (St + L - 1 + ch + al - 1) // al * al   # input row (+ slack)
    cdef Py_ssize_t hs = (St + ch + al - 1) // al * al           # ring row (+ slack)
    cdef Py_ssize_t R = K + 1                  # ring rows: an output pair reads K + 1
    cdef Py_ssize_t per = bs + (2 * R + 1) * hs   # + one row for a narrow store
    cdef Py_ssize_t* colmap = <Py_ssize_t*>malloc(wp * sizeof(Py_ssize_t))
    cdef void* raw = malloc(per * nt * sizeof(num_t) + 64)
    if colmap == NULL or raw == NULL:
        free(colmap)
        free(raw)
        raise MemoryError("fastconv: could not allocate the tile buffers")
    cdef num_t* bufs = <num_t*>((<size_t>raw + 63) & ~(<size_t>63))
    cdef Py_ssize_t q
    cdef _Sep j
    j.x = xv
    j.u = &u[0]
    j.v = &v[0]
    j.out = out
    j.os = os
    j.src = src
    j.narrow = narrow
    j.colmap = colmap
    j.bufs = <char*>bufs
    j.per_bytes = per * sizeof(num_t)
    j.bs, j.hs, j.R, j.St, j.nstrips, j.Tb = bs, hs, R, St, nstrips, Tb
    j.Ho, j.Wo, j.K, j.L, j.M, j.N, j.oy, j.ox = Ho, Wo, K, L, M, N, oy, ox
    # 1, unknown to the compiler: with a literal 1 tap row, gcc kept the row pass's
    # accumulators in memory (a load and a store around every FMA)
    j.one = 1 + (M < 0)
    j.qa = min(max(0, -ox), wp)
    j.qb = max(j.qa, min(wp, N - ox))
    j.boundary = boundary
    j.kind = _kind(&fill)
    (<num_t*>j.fill)[0] = fill
    j.stream = Ho * Wo * <Py_ssize_t>sizeof(num_t) >= _stream_bytes  # as above
    j.bad = 0
    for q in range(wp):
        colmap[q] = _map_index(ox + q, N, boundary)
    with nogil:
        _parallel_work(ntasks, nt, _sep_task, &j, _tiles_us(Ho * Wo, K + L, sizeof(num_t)))
    free(colmap)
    free(raw)
    return j.bad == 0


cdef void _sep_strip(num_t* tag, _Sep* j, Py_ssize_t t, int slot) noexcept nogil:
    """Task ``t``: one strip of one band, walked down through the slot's ring."""
    cdef num_t* buf = <num_t*>(j.bufs + slot * j.per_bytes)
    cdef num_t* ring = buf + j.bs
    cdef num_t fill = (<num_t*>j.fill)[0]
    cdef const num_t* u = <const num_t*>j.u
    cdef Py_ssize_t K = j.K, L = j.L, hs = j.hs, R = j.R
    cdef Py_ssize_t c0 = (t % j.nstrips) * j.St
    cdef Py_ssize_t sw = min(j.St, j.Wo - c0)
    cdef Py_ssize_t r0 = (t // j.nstrips) * j.Tb
    cdef Py_ssize_t nr = min(j.Tb, j.Ho - r0)
    cdef Py_ssize_t i = 0, p, q
    cdef Py_ssize_t src_row
    cdef num_t* row = ring + 2 * R * hs          # a narrow store's one row
    # out[r, c0] of this strip
    cdef char* o = j.out + r0 * j.os + c0 * (1 if j.narrow else <Py_ssize_t>sizeof(num_t))
    # zero slack: the last vector of a row reads past its end
    _zero_slack(buf, 1, j.bs, sw + L - 1, sizeof(num_t))
    _zero_slack(ring, 2 * R, hs, sw, sizeof(num_t))
    for p in range(nr + K - 1):
        src_row = _map_index(j.oy + r0 + p, j.M, j.boundary)
        if j.src < 0:
            _fill_span(&j.x, src_row, j.colmap, j.qa, j.qb, j.ox, c0, c0 + sw + L - 1, fill,
                       buf)
        else:
            _fill_cast(j.src, &j.x, src_row, j.colmap, j.qa, j.qb, j.ox, c0, c0 + sw + L - 1,
                       fill, buf)
        q = p % R
        # 1 x L pass, stored at both of the row's ring slots
        _row(buf, j.bs, <const num_t*>j.v, j.one, L, ring + q * hs, sw, ring + (q + R) * hs)
        # An Inf or NaN among the inputs makes its intermediate values
        # non-finite (x * v is inf or nan for any v); the caller then redoes
        # the call direct, which treats them as scipy does. Scanning the
        # row here, in L1, replaced a separate pass over the whole input.
        if num_t is float or num_t is double:
            if _exceeds(ring + q * hs, sw, INFINITY):
                j.bad = 1
        # Output row i needs ring rows i..i+K-1 (complete once p = i+K-1); it
        # waits one row to go with i+1 through the pair loop, which shares
        # each ring load between the two (as in correlate_valid).
        while i < nr and p >= i + K - 1:
            if i + 1 < nr and p >= i + K and not j.narrow and _row2(
                    ring + (i % R) * hs, hs, u, K, 1, <num_t*>(o + i * j.os),
                    <num_t*>(o + (i + 1) * j.os), sw, j.stream):
                i = i + 2
            elif i + 1 < nr and p < i + K and p < nr + K - 2:
                break
            elif j.narrow:
                _row(ring + (i % R) * hs, hs, u, K, 1, row, sw)
                _store_low_bytes(row, <uint8_t*>(o + i * j.os), sw)
                i = i + 1
            else:
                _row(ring + (i % R) * hs, hs, u, K, 1, <num_t*>(o + i * j.os), sw)
                i = i + 1
    if j.stream:
        fc_sfence()


cdef void _sep_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Sep* j = <_Sep*>ctx
    if j.kind == 0:
        _sep_strip(<float*>NULL, j, t, slot)
    elif j.kind == 1:
        _sep_strip(<double*>NULL, j, t, slot)
    elif j.kind == 2:
        _sep_strip(<long double*>NULL, j, t, slot)
    elif j.kind == 3:
        _sep_strip(<int32_t*>NULL, j, t, slot)
    elif j.kind == 5:
        _sep_strip(<uint16_t*>NULL, j, t, slot)
    else:
        _sep_strip(<int64_t*>NULL, j, t, slot)


cdef inline void _chunk_c(const real_t* sr, const real_t* si, Py_ssize_t bs,
                          const real_t* wr, const real_t* wi, Py_ssize_t K, Py_ssize_t L,
                          real_t* o, Py_ssize_t n, Py_ssize_t nw) noexcept nogil:
    """``n`` complex outputs from split real/imaginary rows: four FMAs per tap on
    two accumulator arrays (half a real chunk each, so both stay in registers);
    ``o`` is interleaved (re, im) like the complex output array. The first ``nw``
    are stored (see _row)."""
    cdef real_t ar[FC_HALF_CH]
    cdef real_t ai[FC_HALF_CH]
    cdef real_t vr, vi
    cdef const real_t* pr
    cdef const real_t* pi
    cdef Py_ssize_t a, b, c
    for c in range(n):
        ar[c] = 0
        ai[c] = 0
    for a in range(K):
        pr = sr + a * bs
        pi = si + a * bs
        for b in range(L):
            vr = wr[a * L + b]
            vi = wi[a * L + b]
            for c in range(n):
                # scipy's order (the tap's product, then the sum), which the
                # near-overflow fallback relies on; one FMA fixed by _madd
                ar[c] += _madd(vr, pr[b + c], -vi * pi[b + c])
                ai[c] += _madd(vr, pi[b + c], vi * pr[b + c])
    for c in range(nw):
        o[2 * c] = ar[c]
        o[2 * c + 1] = ai[c]


cdef void _row_c(const real_t* sr, const real_t* si, Py_ssize_t bs, const real_t* wr,
                 const real_t* wi, Py_ssize_t K, Py_ssize_t L, real_t* o,
                 Py_ssize_t wo) noexcept nogil:
    # as _row: literal chunk widths, the last chunk shifted to end at the row's end
    if wo >= <Py_ssize_t>(FC_ACC_BYTES // (2 * sizeof(real_t))):
        _row_cw(sr, si, bs, wr, wi, K, L, o, wo, FC_ACC_BYTES // (2 * sizeof(real_t)))
    elif wo >= <Py_ssize_t>(FC_ACC_BYTES // (4 * sizeof(real_t))):
        _row_cw(sr, si, bs, wr, wi, K, L, o, wo, FC_ACC_BYTES // (4 * sizeof(real_t)))
    elif wo >= <Py_ssize_t>(FC_ACC_BYTES // (8 * sizeof(real_t))):
        _row_cw(sr, si, bs, wr, wi, K, L, o, wo, FC_ACC_BYTES // (8 * sizeof(real_t)))
    else:
        _chunk_c(sr, si, bs, wr, wi, K, L, o, FC_ACC_BYTES // (8 * sizeof(real_t)), wo)


cdef inline void _row_cw(const real_t* sr, const real_t* si, Py_ssize_t bs,
                         const real_t* wr, const real_t* wi, Py_ssize_t K, Py_ssize_t L,
                         real_t* o, Py_ssize_t wo, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t c0 = 0
    while c0 + n <= wo:
        _chunk_c(sr + c0, si + c0, bs, wr, wi, K, L, o + 2 * c0, n, n)
        c0 += n
    if c0 < wo:
        c0 = wo - n
        _chunk_c(sr + c0, si + c0, bs, wr, wi, K, L, o + 2 * c0, n, n)


cdef inline bint _interleaved(const real_t[:, :] xr, const real_t[:, :] xi) noexcept:
    """Whether xr and xi are the two halves of one interleaved complex array, whose
    rows are then contiguous (re, im) pairs."""
    return (xr.shape[0] > 0 and xr.shape[1] > 0 and xr.strides[1] == 2 * sizeof(real_t)
            and xi.strides[0] == xr.strides[0] and xi.strides[1] == xr.strides[1]
            and <char*>&xi[0, 0] == <char*>&xr[0, 0] + sizeof(real_t))


cdef void _fill_complex_row(const _View* xr, const _View* xi, Py_ssize_t src,
                            const Py_ssize_t* colmap, Py_ssize_t qa, Py_ssize_t qb,
                            Py_ssize_t ox, Py_ssize_t wp, real_t fill_re, real_t fill_im,
                            bint inter, bint gauss, real_t b, real_t* bre, real_t* bim,
                            real_t* bsum, int* badp) noexcept nogil:
    """One padded row of the complex input, split into its re and im planes (and,
    for Gauss's form, re + im, with the magnitude check); ``inter``: xr and xi are
    one interleaved array."""
    cdef Py_ssize_t q
    if inter and src >= 0 and qb > qa:
        # one pass over the complex row splits it (the strided copy of each plane
        # ran element by element)
        _fill_span(xr, src, colmap, qa, qb, ox, 0, qa, fill_re, bre)
        _fill_span(xi, src, colmap, qa, qb, ox, 0, qa, fill_im, bim)
        _split(<const real_t*>_addr(xr, src, ox + qa), qb - qa, bre + qa, bim + qa)
        _fill_span(xr, src, colmap, qa, qb, ox, qb, wp, fill_re, bre + qb)
        _fill_span(xi, src, colmap, qa, qb, ox, qb, wp, fill_im, bim + qb)
    else:
        _fill_row(xr, src, colmap, qa, qb, ox, wp, fill_re, bre)
        _fill_row(xi, src, colmap, qa, qb, ox, wp, fill_im, bim)
    if gauss:
        for q in range(wp):
            bsum[q] = bre[q] + bim[q]
        if _exceeds(bre, wp, b) or _exceeds(bim, wp, b):
            badp[0] = 1


# A complex call (split planes or interleaved rows) as its tasks see it.
ctypedef struct _Cplx:
    _View xr, xi
    const void* wr
    const void* wi
    const void* w3
    char* out
    const Py_ssize_t* colmap
    char* bufs
    Py_ssize_t os, per_bytes, bs, rows, T, Ho, Wo, K, L, M, N, oy, ox, qa, qb, wp
    int boundary, stream, gauss, inter, kind, bad
    double fill_re, fill_im, bound


cdef void _cplx_tile(real_t* tag, _Cplx* j, Py_ssize_t t, int slot) noexcept nogil:
    """Tile ``t`` of correlate_valid_complex."""
    cdef real_t* bre = <real_t*>(j.bufs + slot * j.per_bytes)
    cdef real_t* bim = bre + j.rows * j.bs
    cdef real_t* bsum = bim + j.rows * j.bs
    cdef real_t fill_re = <real_t>j.fill_re, fill_im = <real_t>j.fill_im
    cdef real_t b = <real_t>j.bound
    cdef const real_t* w3 = <const real_t*>j.w3
    cdef Py_ssize_t K = j.K, L = j.L, bs = j.bs, Wo = j.Wo
    cdef Py_ssize_t r0 = t * j.T
    cdef Py_ssize_t nr = min(j.T, j.Ho - r0)
    cdef Py_ssize_t i, p, filled, need, nxt
    cdef bint pair, quad
    # out[r0, 0] of this tile
    cdef char* o = j.out + r0 * j.os
    if not j.gauss:
        for p in range(nr + K - 1):
            _fill_complex_row(&j.xr, &j.xi, _map_index(j.oy + r0 + p, j.M, j.boundary),
                              j.colmap, j.qa, j.qb, j.ox, j.wp, fill_re, fill_im, j.inter, 0,
                              b, bre + p * bs, bim + p * bs, bsum + p * bs, &j.bad)
        for i in range(nr):
            _row_c(bre + i * bs, bim + i * bs, bs, <const real_t*>j.wr,
                   <const real_t*>j.wi, K, L, <real_t*>(o + i * j.os), Wo)
        return
    # Rows are split just before the outputs that first need them, not all
    # up front: the loads of the next rows (prefetched) stream in while the
    # multiply-adds run, instead of the two taking turns.
    filled = 0
    i = 0
    while i < nr:
        quad = i + 3 < nr
        pair = K >= 2 and i + 1 < nr
        need = i + K + 3 if quad else (i + K + 1 if pair else i + K)
        while filled < need:
            _fill_complex_row(&j.xr, &j.xi, _map_index(j.oy + r0 + filled, j.M, j.boundary),
                              j.colmap, j.qa, j.qb, j.ox, j.wp, fill_re, fill_im, j.inter, 1,
                              b, bre + filled * bs, bim + filled * bs, bsum + filled * bs,
                              &j.bad)
            if filled + FC_PREFETCH_ROWS < nr + K - 1:
                nxt = _map_index(j.oy + r0 + filled + FC_PREFETCH_ROWS, j.M, j.boundary)
                if j.inter and nxt >= 0 and j.qb > j.qa:
                    _prefetch(_addr(&j.xr, nxt, j.ox + j.qa),
                              2 * (j.qb - j.qa) * sizeof(real_t))
            filled = filled + 1
        if quad:
            _crows4(bsum + i * bs, bre + i * bs, bim + i * bs, bs, w3 + 3 * K * L, K, L,
                    <real_t*>(o + i * j.os), j.os // <Py_ssize_t>sizeof(real_t), Wo,
                    j.stream)
            i = i + 4
        elif pair:
            _crows(bsum + i * bs, bre + i * bs, bim + i * bs, bs, w3, K, L,
                   <real_t*>(o + i * j.os), <real_t*>(o + (i + 1) * j.os), Wo, j.stream)
            i = i + 2
        else:
            _crows(bsum + i * bs, bre + i * bs, bim + i * bs, bs, w3, K, L,
                   <real_t*>(o + i * j.os), NULL, Wo, j.stream)
            i = i + 1
    if j.stream:
        fc_sfence()


cdef void _cplx_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Cplx* j = <_Cplx*>ctx
    if j.kind == 0:
        _cplx_tile(<float*>NULL, j, t, slot)
    else:
        _cplx_tile(<double*>NULL, j, t, slot)


def correlate_valid_complex(const real_t[:, :] xr, const real_t[:, :] xi,
                            const real_t[:, ::1] wr, const real_t[:, ::1] wi,
                            real_t[:, ::1] out, Py_ssize_t oy, Py_ssize_t ox, int boundary,
                            real_t fill_re, real_t fill_im, int nthreads,
                            bint allow_gauss=True, double bound=INFINITY):
    """The primitive for complex data given as real and imaginary planes.

    ``xr``/``xi`` are the (any-strided) real and imaginary parts of the input,
    ``wr``/``wi`` of the kernel; ``out`` is the complex output viewed as reals,
    shape (Ho, 2*Wo). Tiles and threads as in :func:`correlate_valid`; each padded
    row is stored split (re, im, and re + im) so the inner loop vectorises. Rows at
    least one chunk wide take Gauss's three-multiplication form in groups of four
    rows, then pairs, then single rows (csrc/_rows2.h); narrower ones, and any call
    with ``allow_gauss`` false (the caller's magnitudes could overflow its sums
    a + b), the four-multiplication loop.

    Returns 1 when Gauss's form ran and every part of x it read was below ``bound``
    in magnitude (so finite), 0 when one was not (the output is then garbage: the
    caller redoes it the exact way), 2 when the four-multiplication loop ran (x
    unchecked). Checking the split rows in L2 replaced a pass over x in memory.
    """
    cdef Py_ssize_t M = xr.shape[0], N = xr.shape[1]
    cdef Py_ssize_t K = wr.shape[0], L = wr.shape[1]
    cdef Py_ssize_t Ho = out.shape[0], Wo = out.shape[1] // 2
    if Ho == 0 or Wo == 0:
        return 2
    cdef Py_ssize_t ch = FC_ACC_BYTES // (2 * sizeof(real_t))
    cdef Py_ssize_t wp = Wo + L - 1
    cdef Py_ssize_t bs = wp + ch
    cdef Py_ssize_t T = FC_L2_BYTES // (3 * bs * sizeof(real_t)) - K + 1
    T = _balanced_tile(T, K, Ho, nthreads)
    cdef Py_ssize_t ntiles = (Ho + T - 1) // T
    cdef int nt = max(1, min(nthreads, <int>ntiles))
    cdef Py_ssize_t rows = T + K - 1
    cdef Py_ssize_t per = 3 * rows * bs
    cdef Py_ssize_t cw = fc_cwidth_f() if real_t is float else fc_cwidth_d()
    cdef bint gauss = allow_gauss and cw > 0 and Wo >= cw
    cdef Py_ssize_t* colmap = <Py_ssize_t*>malloc(wp * sizeof(Py_ssize_t))
    cdef real_t* bufs = <real_t*>malloc(per * nt * sizeof(real_t))
    cdef real_t* w3 = <real_t*>malloc(6 * K * L * sizeof(real_t))
    if colmap == NULL or bufs == NULL or w3 == NULL:
        free(colmap)
        free(bufs)
        free(w3)
        raise MemoryError("fastconv: could not allocate the tile buffers")
    cdef Py_ssize_t t, q
    cdef _Cplx j
    j.xr = _view(xr)
    j.xi = _view(xi)
    j.wr = &wr[0, 0]
    j.wi = &wi[0, 0]
    j.w3 = w3
    j.out = <char*>&out[0, 0]
    j.os = out.strides[0]
    j.colmap = colmap
    j.bufs = <char*>bufs
    j.per_bytes = per * sizeof(real_t)
    j.bs, j.rows, j.T, j.Ho, j.Wo, j.K, j.L, j.M, j.N = bs, rows, T, Ho, Wo, K, L, M, N
    j.oy, j.ox, j.wp = oy, ox, wp
    j.qa = min(max(0, -ox), wp)
    j.qb = max(j.qa, min(wp, N - ox))
    j.boundary = boundary
    j.gauss = gauss
    j.inter = _interleaved(xr, xi)
    j.kind = 0 if real_t is float else 1
    j.fill_re, j.fill_im, j.bound = fill_re, fill_im, bound
    j.bad = 0
    j.stream = Ho * Wo * 2 * <Py_ssize_t>sizeof(real_t) >= _stream_bytes
    # Gauss's weights: c, d - c and c + d for the planes re + im, re and im
    for t in range(K * L):
        w3[t] = wr[t // L, t % L]
        w3[K * L + t] = wi[t // L, t % L] - wr[t // L, t % L]
        w3[2 * K * L + t] = wr[t // L, t % L] + wi[t // L, t % L]
    for t in range(K * L):      # the same, interleaved per tap (the four-row loop's)
        w3[3 * K * L + 3 * t] = w3[t]
        w3[3 * K * L + 3 * t + 1] = w3[K * L + t]
        w3[3 * K * L + 3 * t + 2] = w3[2 * K * L + t]
    _zero_slack(bufs, 3 * rows * nt, bs, wp, sizeof(real_t))
    for q in range(wp):
        colmap[q] = _map_index(ox + q, N, boundary)
    with nogil:
        _parallel(ntiles, nt, _cplx_task, &j)
    free(colmap)
    free(bufs)
    free(w3)
    if not gauss:
        return 2
    return 0 if j.bad else 1


def zcomplex_width(int itemsize):
    """Narrowest output row (in complex samples) correlate_valid_zcomplex takes for
    parts of ``itemsize`` bytes (4 or 8); -1 where this build has no such loop."""
    return fc_zwidth_f() if itemsize == 4 else fc_zwidth_d()


cdef void _fill_zrow(const _View* xr, const _View* xi, Py_ssize_t src,
                     const Py_ssize_t* colmap, Py_ssize_t qa, Py_ssize_t qb, Py_ssize_t ox,
                     Py_ssize_t wp, real_t fill_re, real_t fill_im, bint inter,
                     real_t* dst) noexcept nogil:
    """One padded row of the complex input, interleaved (re, im) like the array."""
    cdef Py_ssize_t q, c
    if src < 0:
        for q in range(wp):
            dst[2 * q] = fill_re
            dst[2 * q + 1] = fill_im
        return
    for q in range(qa):
        c = colmap[q]
        dst[2 * q] = (<const real_t*>_addr(xr, src, c))[0] if c >= 0 else fill_re
        dst[2 * q + 1] = (<const real_t*>_addr(xi, src, c))[0] if c >= 0 else fill_im
    if inter and qb > qa:
        memcpy(dst + 2 * qa, _addr(xr, src, ox + qa), 2 * (qb - qa) * sizeof(real_t))
    else:
        for q in range(qa, qb):
            dst[2 * q] = (<const real_t*>_addr(xr, src, ox + q))[0]
            dst[2 * q + 1] = (<const real_t*>_addr(xi, src, ox + q))[0]
    for q in range(qb, wp):
        c = colmap[q]
        dst[2 * q] = (<const real_t*>_addr(xr, src, c))[0] if c >= 0 else fill_re
        dst[2 * q + 1] = (<const real_t*>_addr(xi, src, c))[0] if c >= 0 else fill_im


cdef void _zcplx_tile(real_t* tag, _Cplx* j, Py_ssize_t t, int slot) noexcept nogil:
    """Tile ``t`` of correlate_valid_zcomplex."""
    cdef real_t* buf = <real_t*>(j.bufs + slot * j.per_bytes)
    cdef real_t fill_re = <real_t>j.fill_re, fill_im = <real_t>j.fill_im
    cdef real_t b = <real_t>j.bound
    cdef const real_t* wr = <const real_t*>j.wr
    cdef const real_t* wi = <const real_t*>j.wi
    cdef Py_ssize_t K = j.K, L = j.L, bs = j.bs, Wo = j.Wo
    cdef Py_ssize_t r0 = t * j.T
    cdef Py_ssize_t nr = min(j.T, j.Ho - r0)
    cdef Py_ssize_t pfn = 2 * (j.qb - j.qa) * sizeof(real_t)
    cdef Py_ssize_t i = 0, filled = 0, need, nxt
    cdef const char* pf0
    cdef const char* pf1
    cdef char* o = j.out + r0 * j.os
    # rows are copied just before the outputs that first need them
    while i < nr:
        need = i + K + 1 if (K >= 2 and i + 1 < nr) else i + K
        while filled < need:
            _fill_zrow(&j.xr, &j.xi, _map_index(j.oy + r0 + filled, j.M, j.boundary),
                       j.colmap, j.qa, j.qb, j.ox, j.wp, fill_re, fill_im, j.inter,
                       buf + filled * bs)
            if _exceeds(buf + filled * bs, 2 * j.wp, b):
                j.bad = 1
            filled = filled + 1
        # The next pair's two new rows are prefetched into L2, a slice per
        # chunk of this pair, so their loads overlap its multiply-adds (a
        # whole row's prefetches at once stalled the loop as the copy did).
        pf0 = NULL
        pf1 = NULL
        if j.inter and j.qb > j.qa:
            nxt = _map_index(j.oy + r0 + filled, j.M, j.boundary)
            if filled < nr + K - 1 and nxt >= 0:
                pf0 = _addr(&j.xr, nxt, j.ox + j.qa)
            nxt = _map_index(j.oy + r0 + filled + 1, j.M, j.boundary)
            if filled + 1 < nr + K - 1 and nxt >= 0:
                pf1 = _addr(&j.xr, nxt, j.ox + j.qa)
        if K >= 2 and i + 1 < nr:
            _zrows(buf + i * bs, bs, wr, wi, K, L, <real_t*>(o + i * j.os),
                   <real_t*>(o + (i + 1) * j.os), Wo, j.stream, pf0, pf1, pfn)
            i = i + 2
        else:
            _zrows(buf + i * bs, bs, wr, wi, K, L, <real_t*>(o + i * j.os), NULL, Wo,
                   j.stream, pf0, pf1, pfn)
            i = i + 1
    if j.stream:
        fc_sfence()


cdef void _zcplx_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Cplx* j = <_Cplx*>ctx
    if j.kind == 0:
        _zcplx_tile(<float*>NULL, j, t, slot)
    else:
        _zcplx_tile(<double*>NULL, j, t, slot)


def correlate_valid_zcomplex(const real_t[:, :] xr, const real_t[:, :] xi,
                             const real_t[:, ::1] wr, const real_t[:, ::1] wi,
                             real_t[:, ::1] out, Py_ssize_t oy, Py_ssize_t ox, int boundary,
                             real_t fill_re, real_t fill_im, int nthreads,
                             double bound=INFINITY):
    """The complex primitive on interleaved rows, four multiplications a tap.

    Arguments as :func:`correlate_valid_complex`; rows at least
    :func:`zcomplex_width` wide (the caller checks). Each tile's padded rows are
    copied as they are, interleaved, with no split (csrc/_rows2.h, fc_zrows_*).
    Returns 1 when every part of x it read was below ``bound`` in magnitude (NaN
    fails), 0 when one was not: the output is then garbage and the caller redoes
    the call the exact way. The check runs on the copied rows, in L1.
    """
    cdef Py_ssize_t M = xr.shape[0], N = xr.shape[1]
    cdef Py_ssize_t K = wr.shape[0], L = wr.shape[1]
    cdef Py_ssize_t Ho = out.shape[0], Wo = out.shape[1] // 2
    cdef Py_ssize_t cw = fc_zwidth_f() if real_t is float else fc_zwidth_d()
    if Ho == 0 or Wo == 0:
        return 1
    if cw <= 0 or Wo < cw:
        raise ValueError("fastconv: rows too narrow for the interleaved complex loop")
    cdef Py_ssize_t ch = FC_ACC_BYTES // sizeof(real_t)
    cdef Py_ssize_t wp = Wo + L - 1
    # rows start on cache lines: a tap's loads are then aligned every fourth tap
    cdef Py_ssize_t bs = (2 * wp + 2 * ch + 63 // sizeof(real_t)) // (64 // sizeof(real_t)) \
        * (64 // sizeof(real_t))
    cdef Py_ssize_t T = FC_L2_BYTES // (bs * sizeof(real_t)) - K + 1
    T = _balanced_tile(T, K, Ho, nthreads)
    cdef Py_ssize_t ntiles = (Ho + T - 1) // T
    cdef int nt = max(1, min(nthreads, <int>ntiles))
    cdef Py_ssize_t rows = T + K - 1
    cdef Py_ssize_t per = rows * bs
    cdef Py_ssize_t* colmap = <Py_ssize_t*>malloc(wp * sizeof(Py_ssize_t))
    cdef void* raw = malloc(per * nt * sizeof(real_t) + 64)
    if colmap == NULL or raw == NULL:
        free(colmap)
        free(raw)
        raise MemoryError("fastconv: could not allocate the tile buffers")
    cdef real_t* bufs = <real_t*>((<size_t>raw + 63) & ~(<size_t>63))
    cdef Py_ssize_t q
    cdef _Cplx j
    j.xr = _view(xr)
    j.xi = _view(xi)
    j.wr = &wr[0, 0]
    j.wi = &wi[0, 0]
    j.out = <char*>&out[0, 0]
    j.os = out.strides[0]
    j.colmap = colmap
    j.bufs = <char*>bufs
    j.per_bytes = per * sizeof(real_t)
    j.bs, j.rows, j.T, j.Ho, j.Wo, j.K, j.L, j.M, j.N = bs, rows, T, Ho, Wo, K, L, M, N
    j.oy, j.ox, j.wp = oy, ox, wp
    j.qa = min(max(0, -ox), wp)
    j.qb = max(j.qa, min(wp, N - ox))
    j.boundary = boundary
    j.inter = _interleaved(xr, xi)
    j.kind = 0 if real_t is float else 1
    j.fill_re, j.fill_im, j.bound = fill_re, fill_im, bound
    j.bad = 0
    j.stream = Ho * Wo * 2 * <Py_ssize_t>sizeof(real_t) >= _stream_bytes
    _zero_slack(bufs, rows * nt, bs, 2 * wp, sizeof(real_t))
    for q in range(wp):
        colmap[q] = _map_index(ox + q, N, boundary)
    with nogil:
        _parallel(ntiles, nt, _zcplx_task, &j)
    free(colmap)
    free(raw)
    return 0 if j.bad else 1


cdef inline void _zrows(const real_t* src, Py_ssize_t bs, const real_t* wr, const real_t* wi,
                        Py_ssize_t K, Py_ssize_t L, real_t* o0, real_t* o1, Py_ssize_t wo,
                        int stream, const char* pf0, const char* pf1,
                        Py_ssize_t pfn) noexcept nogil:
    if real_t is float:
        fc_zrows_f(src, bs, wr, wi, K, L, o0, o1, wo, stream, pf0, pf1, pfn)
    else:
        fc_zrows_d(src, bs, wr, wi, K, L, o0, o1, wo, stream, pf0, pf1, pfn)


cdef inline void _split(const real_t* z, Py_ssize_t n, real_t* re, real_t* im) noexcept nogil:
    """n interleaved (re, im) pairs into two planes."""
    cdef Py_ssize_t j
    for j in range(n):
        re[j] = z[2 * j]
        im[j] = z[2 * j + 1]


cdef inline void _crows4(const real_t* ss, const real_t* sr, const real_t* si, Py_ssize_t bs,
                         const real_t* g, Py_ssize_t K, Py_ssize_t L, real_t* o,
                         Py_ssize_t os, Py_ssize_t wo, int stream) noexcept nogil:
    if real_t is float:
        fc_crows4_f(ss, sr, si, bs, g, K, L, o, os, wo, stream)
    else:
        fc_crows4_d(ss, sr, si, bs, g, K, L, o, os, wo, stream)


cdef inline void _crows(const real_t* ss, const real_t* sr, const real_t* si, Py_ssize_t bs,
                        const real_t* w3, Py_ssize_t K, Py_ssize_t L, real_t* o0,
                        real_t* o1, Py_ssize_t wo, int stream) noexcept nogil:
    if real_t is float:
        fc_crows_f(ss, sr, si, bs, w3, w3 + K * L, w3 + 2 * K * L, K, L, o0, o1, wo, stream)
    else:
        fc_crows_d(ss, sr, si, bs, w3, w3 + K * L, w3 + 2 * K * L, K, L, o0, o1, wo, stream)


def correlate_valid_strict_complex(const cnum_t[:, :] x, const cnum_t[:, ::1] w,
                                   cnum_t[:, ::1] out, Py_ssize_t oy, Py_ssize_t ox,
                                   int boundary, cnum_t fill, int nthreads):
    """The same primitive for complex data with C99 complex multiplication.

    Used when a complex input holds Inf or NaN: C99's multiply recovers infinities
    that the split real/imaginary path would turn into NaN, and scipy uses it.
    """
    cdef Py_ssize_t Ho = out.shape[0], Wo = out.shape[1]
    if Ho == 0 or Wo == 0:
        return
    cdef int nt = max(1, nthreads)
    cdef _Strict j
    j.x = _view_of(<const char*>&x[0, 0] if x.shape[0] > 0 and x.shape[1] > 0 else NULL,
                   x.shape[0], x.shape[1], x.strides[0], x.strides[1])
    j.w = &w[0, 0]
    j.out = <char*>&out[0, 0]
    j.os = out.strides[0]
    j.Ho, j.Wo, j.K, j.L, j.oy, j.ox = Ho, Wo, w.shape[0], w.shape[1], oy, ox
    j.boundary = boundary
    # by size: where long double is double, its complex is double complex too
    j.kind = 0 if sizeof(cnum_t) == 8 else (1 if sizeof(cnum_t) == 16 else 2)
    (<cnum_t*>j.fill)[0] = fill
    # a few row blocks per thread even out the load
    j.rows = max(1, (Ho + 4 * nt - 1) // (4 * nt))
    with nogil:
        _parallel((Ho + j.rows - 1) // j.rows, nt, _strict_task, &j)


ctypedef struct _Strict:
    _View x
    const void* w
    char* out
    Py_ssize_t os, Ho, Wo, K, L, oy, ox, rows
    int boundary, kind
    long double fill[4]


cdef void _strict_rows(cnum_t* tag, _Strict* j, Py_ssize_t t) noexcept nogil:
    cdef const cnum_t* w = <const cnum_t*>j.w
    cdef cnum_t fill = (<cnum_t*>j.fill)[0]
    cdef cnum_t acc, v
    cdef Py_ssize_t i, c, a, b, r, q
    for i in range(t * j.rows, min(j.Ho, (t + 1) * j.rows)):
        for c in range(j.Wo):
            acc = 0
            for a in range(j.K):
                r = _map_index(i + j.oy + a, j.x.n0, j.boundary)
                for b in range(j.L):
                    q = _map_index(c + j.ox + b, j.x.n1, j.boundary)
                    v = (<const cnum_t*>_addr(&j.x, r, q))[0] if (r >= 0 and q >= 0) else fill
                    acc = acc + w[a * j.L + b] * v
            (<cnum_t*>(j.out + i * j.os))[c] = acc


cdef void _strict_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Strict* j = <_Strict*>ctx
    if j.kind == 0:
        _strict_rows(<float complex*>NULL, j, t)
    elif j.kind == 1:
        _strict_rows(<double complex*>NULL, j, t)
    else:
        _strict_rows(<long double complex*>NULL, j, t)


include "_nd_direct.pxi"


cdef inline int _exceeds(const real_t* r, Py_ssize_t n, real_t b) noexcept nogil:
    """1 if r[0:n] holds a NaN or a value of magnitude >= b (b = inf: an Inf): an
    integer OR, which vectorises (NaN fails every comparison)."""
    cdef int bad = 0
    cdef Py_ssize_t j
    for j in range(n):
        bad = bad | (r[j] != r[j]) | (r[j] >= b) | (r[j] <= -b)
    return bad


def all_finite(const real_t[:, :] x, int nthreads, double bound=INFINITY):
    """Whether every element is finite and, given ``bound``, below it in magnitude
    (NaN fails every comparison): an integer OR per row, which vectorises, at
    memory speed."""
    cdef Py_ssize_t M = x.shape[0], N = x.shape[1]
    if M == 0 or N == 0:
        return True
    if x.strides[1] % <Py_ssize_t>sizeof(real_t):
        raise ValueError("fastconv: misaligned array")
    cdef int nt = max(1, nthreads)
    cdef _Finite j
    j.x = _view(x)
    j.step = x.strides[1] // <Py_ssize_t>sizeof(real_t)
    j.bound = bound
    j.kind = 0 if real_t is float else 1
    j.bad = 0
    j.rows = max(1, (M + 4 * nt - 1) // (4 * nt))
    with nogil:
        _parallel((M + j.rows - 1) // j.rows, nt, _finite_task, &j)
    return j.bad == 0


ctypedef struct _Finite:
    _View x
    Py_ssize_t step, rows
    double bound
    int kind, bad


cdef void _finite_rows(real_t* tag, _Finite* j, Py_ssize_t t) noexcept nogil:
    cdef real_t b = <real_t>j.bound
    cdef Py_ssize_t i, c, N = j.x.n1, step = j.step
    cdef const real_t* r
    cdef int bad = 0
    for i in range(t * j.rows, min(j.x.n0, (t + 1) * j.rows)):
        r = <const real_t*>_addr(&j.x, i, 0)
        if step == 1:
            bad = bad | _exceeds(r, N, b)
        else:
            for c in range(N):
                bad = bad | (r[c * step] != r[c * step]) | (r[c * step] >= b) \
                    | (r[c * step] <= -b)
    if bad:
        j.bad = 1


cdef void _finite_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Finite* j = <_Finite*>ctx
    if j.kind == 0:
        _finite_rows(<float*>NULL, j, t)
    else:
        _finite_rows(<double*>NULL, j, t)
include "_nn_direct.pxi"
