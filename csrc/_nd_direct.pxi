# The N-d direct kernel (issue 21), included by _direct.pxi: the zero-padded
# 'valid' correlation of an N-d input in ONE threaded call,
#     out[u, z, r, c] = sum_{g, a, k, l} w[g, a, k, l] * xpad[u + g, z + oz + a, r + oy + k, c + ox + l],
# where u and g stand for the indices of every axis before the last three (the
# caller flattens them: ``grp[u * G + g]`` is the byte offset of the 3-D
# sub-volume of x that output index u meets with kernel index g, or _ND_NONE
# where that sub-volume is padding).
#
# A task is a tile of output planes x rows of one u. It walks its planes two at a
# time, copying each padded input plane it needs once into a ring of Az + 1 plane
# slots (per kernel index g) in its thread's buffer: a new plane takes the slot of
# one no output plane left to compute reads (zero padding: the padding columns of
# a buffer's rows are zeroed once per call, by the first tile that uses it, and a
# tile copies only each row's span of x, or zeros for a row of padding). The
# compute loop (csrc/_rowsnd.h) reads every kernel plane's rows from there through
# a table of plane pointers: the accumulators stay in registers across all taps.
# The ring's size does not grow with the tile's depth, so a tile takes whole
# planes' rows where they fit L2 and halo rows copied twice are few; with the old
# one-2-D-call-per-kernel-plane road every output was written and re-read once per
# kernel plane. A result larger than the caches is stored past them
# (_nd_stream_bytes).

from libc.stdlib cimport calloc

cdef extern from "_rowsnd.h":
    Py_ssize_t fc_nd_lanes(size_t itemsize) noexcept nogil
    void fc_nd_tile_f(const float** pl, Py_ssize_t P, Py_ssize_t G, Py_ssize_t Az,
                      Py_ssize_t nz, Py_ssize_t nr, Py_ssize_t bs, const float* w,
                      Py_ssize_t K, Py_ssize_t L, float* o, Py_ssize_t ozs, Py_ssize_t ors,
                      Py_ssize_t wo, int st, int sh) noexcept nogil
    void fc_nd_tile_d(const double** pl, Py_ssize_t P, Py_ssize_t G, Py_ssize_t Az,
                      Py_ssize_t nz, Py_ssize_t nr, Py_ssize_t bs, const double* w,
                      Py_ssize_t K, Py_ssize_t L, double* o, Py_ssize_t ozs, Py_ssize_t ors,
                      Py_ssize_t wo, int st, int sh) noexcept nogil
    void fc_nd_tile_g(const long double** pl, Py_ssize_t P, Py_ssize_t G, Py_ssize_t Az,
                      Py_ssize_t nz, Py_ssize_t nr, Py_ssize_t bs, const long double* w,
                      Py_ssize_t K, Py_ssize_t L, long double* o, Py_ssize_t ozs,
                      Py_ssize_t ors, Py_ssize_t wo, int st, int sh) noexcept nogil
    void fc_nd_tile_i(const int32_t** pl, Py_ssize_t P, Py_ssize_t G, Py_ssize_t Az,
                      Py_ssize_t nz, Py_ssize_t nr, Py_ssize_t bs, const int32_t* w,
                      Py_ssize_t K, Py_ssize_t L, int32_t* o, Py_ssize_t ozs,
                      Py_ssize_t ors, Py_ssize_t wo, int st, int sh) noexcept nogil
    void fc_nd_tile_l(const int64_t** pl, Py_ssize_t P, Py_ssize_t G, Py_ssize_t Az,
                      Py_ssize_t nz, Py_ssize_t nr, Py_ssize_t bs, const int64_t* w,
                      Py_ssize_t K, Py_ssize_t L, int64_t* o, Py_ssize_t ozs,
                      Py_ssize_t ors, Py_ssize_t wo, int st, int sh) noexcept nogil
    void fc_nd_tile_h(const uint16_t** pl, Py_ssize_t P, Py_ssize_t G, Py_ssize_t Az,
                      Py_ssize_t nz, Py_ssize_t nr, Py_ssize_t bs, const uint16_t* w,
                      Py_ssize_t K, Py_ssize_t L, uint16_t* o, Py_ssize_t ozs,
                      Py_ssize_t ors, Py_ssize_t wo, int st, int sh) noexcept nogil

# grp's mark for a sub-volume of padding (offsets may be negative: reversed views)
ND_NONE = -(1 << 62)
cdef Py_ssize_t _ND_NONE = -(1 << 62)


# An N-d call as its tasks see it (byte strides; ``ps``: a padded plane's samples).
ctypedef struct _NdTiles:
    const char* x
    const Py_ssize_t* grp
    const void* w
    char* out
    char* bufs
    char* ptabs
    char* ready
    Py_ssize_t xzs, xrs, xcs, Mz, M, N, ous, ozs, ors
    Py_ssize_t per_bytes, bs, ps, P, G, Az, K, L, Tz, T, Oz, Ho, Wo, oz, oy, ox
    Py_ssize_t ring     # plane slots per kernel index g (_nd_ring)
    Py_ssize_t qa, qb, wp, re, nzt, nrt, xitem
    int skip, kind
    int src        # x's element type (_SRC_*, converted as rows are copied), or -1
    int narrow     # out holds 8-bit integers (computed in 16-bit lanes)
    int stream     # results stored past the caches (_nd_stream_bytes)
    int shift      # 3-tap rows' column taps from shifts (_shift_taps, _direct.pxi)


cdef inline void _nd_rows(const num_t** pl, Py_ssize_t P, Py_ssize_t G, Py_ssize_t Az,
                          Py_ssize_t nz, Py_ssize_t nr, Py_ssize_t bs, const num_t* w,
                          Py_ssize_t K, Py_ssize_t L, num_t* o, Py_ssize_t ozs,
                          Py_ssize_t ors, Py_ssize_t wo, int st, int sh) noexcept nogil:
    if num_t is float:
        fc_nd_tile_f(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st, sh)
    elif num_t is double:
        fc_nd_tile_d(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st, sh)
    elif num_t is int32_t:
        fc_nd_tile_i(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st, sh)
    elif num_t is int64_t:
        fc_nd_tile_l(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st, sh)
    elif num_t is uint16_t:
        fc_nd_tile_h(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st, sh)
    else:
        fc_nd_tile_g(pl, P, G, Az, nz, nr, bs, w, K, L, o, ozs, ors, wo, st, sh)


cdef void _nd_fill_plane(num_t* tag, _NdTiles* j, const num_t** pl, num_t* buf,
                         Py_ssize_t u, Py_ssize_t z0, Py_ssize_t r0, Py_ssize_t nr,
                         Py_ssize_t p) noexcept nogil:
    """The tile's input plane ``p`` (every group g) into its ring slot of the buffer,
    and its entry in the plane table (NULL: a plane of padding that adds nothing)."""
    cdef Py_ssize_t g, q, ri, goff
    cdef Py_ssize_t zi = j.oz + z0 + p
    cdef Py_ssize_t n = j.qb - j.qa
    cdef Py_ssize_t nbytes = n * <Py_ssize_t>sizeof(num_t)
    cdef num_t* pb
    cdef num_t* dst
    cdef const char* base
    cdef const char* src
    for g in range(j.G):
        goff = j.grp[u * j.G + g]
        pb = buf + (g * j.ring + p % j.ring) * j.ps
        pl[g * j.P + p] = pb
        # a row's padding columns were zeroed once, for the whole call (_nd_zero_pads):
        # only its columns [qa, qb) of x are written
        if goff == _ND_NONE or zi < 0 or zi >= j.Mz:
            if j.skip:
                # its products are zeros (w is finite): nothing to add
                pl[g * j.P + p] = NULL
                continue
            for q in range(nr + j.K - 1):
                memset(pb + q * j.bs + j.qa, 0, nbytes)
            continue
        base = j.x + goff + zi * j.xzs + (j.ox + j.qa) * j.xcs
        for q in range(nr + j.K - 1):
            ri = j.oy + r0 + q
            dst = pb + q * j.bs + j.qa
            if ri < 0 or ri >= j.M:
                memset(dst, 0, nbytes)
            elif j.src >= 0:
                _cast_run(j.src, base + ri * j.xrs, j.xcs, n, dst)
            elif j.xcs == <Py_ssize_t>sizeof(num_t):
                memcpy(dst, base + ri * j.xrs, nbytes)
            else:
                _nd_gather(base + ri * j.xrs, j.xcs, n, dst)


cdef void _nd_prefetch_plane(_NdTiles* j, Py_ssize_t u, Py_ssize_t z0, Py_ssize_t r0,
                             Py_ssize_t nr, Py_ssize_t p, Py_ssize_t itemsize) noexcept nogil:
    """Start the loads of the tile's input plane ``p`` (its rows of x, every group)."""
    cdef Py_ssize_t g, q, ri, goff
    cdef Py_ssize_t zi = j.oz + z0 + p
    cdef Py_ssize_t nbytes = (j.qb - j.qa) * itemsize
    cdef const char* base
    if zi < 0 or zi >= j.Mz or j.xcs != itemsize:
        return
    for g in range(j.G):
        goff = j.grp[u * j.G + g]
        if goff == _ND_NONE:
            continue
        base = j.x + goff + zi * j.xzs + (j.ox + j.qa) * j.xcs
        for q in range(nr + j.K - 1):
            ri = j.oy + r0 + q
            if 0 <= ri < j.M:
                _prefetch(base + ri * j.xrs, nbytes)


cdef void _nd_tile(num_t* tag, _NdTiles* j, Py_ssize_t t, int slot) noexcept nogil:
    """Tile ``t``: its output planes two at a time, each pair after the input planes
    it needs are in the slot's ring (pair z reads planes z .. z + Az, at most Az + 1
    of them, so a plane's slot is free once the pair before has been computed). The
    loads of the next pair's two new planes are started before the pair's sums, so
    the copy of a volume that is not in cache overlaps the multiply-adds instead of
    taking turns with them."""
    cdef num_t* buf = <num_t*>(j.bufs + slot * j.per_bytes)
    cdef const num_t** pl = <const num_t**>(j.ptabs + slot * j.G * j.P * sizeof(void*))
    cdef Py_ssize_t per_u = j.nzt * j.nrt
    cdef Py_ssize_t u = t // per_u
    cdef Py_ssize_t z0 = (t % per_u) // j.nrt * j.Tz
    cdef Py_ssize_t r0 = (t % per_u) % j.nrt * j.T
    cdef Py_ssize_t nz = min(j.Tz, j.Oz - z0)
    cdef Py_ssize_t nr = min(j.T, j.Ho - r0)
    cdef Py_ssize_t ozs = j.ozs // <Py_ssize_t>sizeof(num_t)
    cdef Py_ssize_t ors = j.ors // <Py_ssize_t>sizeof(num_t)
    cdef num_t* o = <num_t*>(j.out + u * j.ous + z0 * j.ozs + r0 * j.ors)
    # a narrow store's two planes of lanes, after the planes of input (a line apart)
    cdef num_t* scratch = buf + j.G * j.ring * j.ps + 64 // <Py_ssize_t>sizeof(num_t)
    cdef Py_ssize_t dz, r
    cdef Py_ssize_t z = 0, Z, filled = 0, p
    if not j.ready[slot]:
        # the slot's first tile of the call: its buffer's padding, once
        _nd_zero_pads(buf, j.G * j.ring * (j.T + j.K - 1), j.bs, j.qa, j.qb, j.re)
        j.ready[slot] = 1
    while z < nz:
        Z = 2 if z + 1 < nz else 1
        # planes z .. z + Z + Az - 2 feed output planes z .. z + Z - 1
        while filled < z + Z + j.Az - 1:
            _nd_fill_plane(tag, j, pl, buf, u, z0, r0, nr, filled)
            filled = filled + 1
        for p in range(filled, min(filled + 2, nz + j.Az - 1)):
            _nd_prefetch_plane(j, u, z0, r0, nr, p, j.xitem)
        # the table's planes from z on: output plane z + dz reads planes z + dz + a
        if j.narrow:
            _nd_rows(pl + z, j.P, j.G, j.Az, Z, nr, j.bs, <const num_t*>j.w, j.K, j.L,
                     scratch, j.T * j.bs, j.bs, j.Wo, 0, j.shift)
            for dz in range(Z):
                for r in range(nr):
                    _store_low_bytes(scratch + (dz * j.T + r) * j.bs,
                                     <uint8_t*>(j.out + u * j.ous + (z0 + z + dz) * j.ozs
                                                + (r0 + r) * j.ors), j.Wo)
        else:
            _nd_rows(pl + z, j.P, j.G, j.Az, Z, nr, j.bs, <const num_t*>j.w, j.K, j.L,
                     o + z * ozs, ozs, ors, j.Wo, j.stream, j.shift)
        z = z + Z
    if j.stream:
        fc_sfence()     # the streamed stores are weakly ordered: before the pool's "done"


cdef inline void _nd_gather(const char* src, Py_ssize_t step, Py_ssize_t n,
                           num_t* dst) noexcept nogil:
    cdef Py_ssize_t c
    for c in range(n):
        dst[c] = (<const num_t*>(src + c * step))[0]


cdef void _nd_zero_pads(num_t* buf, Py_ssize_t nrows, Py_ssize_t bs, Py_ssize_t qa,
                        Py_ssize_t qb, Py_ssize_t re) noexcept nogil:
    """Zero columns [0, qa) and [qb, re) of every row of a slot's buffer: the padding
    columns the compute loop reads and no tile writes (re: the end of what it reads,
    a vector past the row only when the row is narrower than a vector; the rest of
    the slack is never read). A few samples a row, so stores in a loop (two memset
    calls a row cost ~5% of a 64^3 x 3^3 call)."""
    cdef Py_ssize_t p, c
    cdef num_t* row
    for p in range(nrows):
        row = buf + p * bs
        for c in range(qa):
            row[c] = 0
        for c in range(qb, re):
            row[c] = 0


cdef void _nd_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NdTiles* j = <_NdTiles*>ctx
    if j.kind == 0:
        _nd_tile(<float*>NULL, j, t, slot)
    elif j.kind == 1:
        _nd_tile(<double*>NULL, j, t, slot)
    elif j.kind == 2:
        _nd_tile(<long double*>NULL, j, t, slot)
    elif j.kind == 3:
        _nd_tile(<int32_t*>NULL, j, t, slot)
    elif j.kind == 5:
        _nd_tile(<uint16_t*>NULL, j, t, slot)
    else:
        _nd_tile(<int64_t*>NULL, j, t, slot)


# Tiles per thread a multi-threaded call is cut into at least (see _nd_tiling). Kernel
# calls, 2 threads, 3^3 float32, quiet machine: 1, 2, 4 and 8 a thread within 2% of
# each other on 64^3 and 128^3, 8 a thread 19% slower on 32 x 64 x 64 (more halo
# copied); with a busy-loop process on one core, 32 x 64 x 64 took 51 / 49 / 58 / 61 us
# at 1 / 2 / 4 / 8 a thread. 2: the 32 x 64 x 64 call is no longer one tile a thread.
cdef Py_ssize_t _nd_tasks_per_thread = 2

# What a cut of the rows costs beyond its halo, against a cut of the planes: tiles of
# whole planes read x and write the result in runs of whole planes. Kernel calls, 2
# threads, 3^3 float32, tiles forced, in turns (best / median us): 64^3 in 16 x 64 or
# 32 x 64 tiles 51.5 / 83.2 and 51.3 / 79.9, in 22 x 32 or 32 x 32 (the same halo
# rows) 54.4 / 98.6 and 54.7 / 100.2; 32 x 64 x 64 in 16 x 64 tiles 36.3 / 42.9, in
# 32 x 16 44.1 / 53.1. Where cutting planes copies far more halo, rows still win:
# 8 x 128 x 128 in 8 x 32 tiles 21.3 / 22.9, in 4 x 128 23.1 / 25.2.
cdef double _nd_row_cut_cost = 1.15

# Results of at least this many bytes are stored past the caches (non-temporal
# stores, x86): a store to a line not in cache first reads it, so a result larger
# than the caches cost its size in DRAM reads on top of the writes, a third of a
# 3^3 call's traffic. 2 threads, float32 3^3, 'same', calls in turns (best / median):
# 128^3 (8 MiB) 907 / 1140 us streamed, 982 / 1252 cached; 80 x 128^2 (5 MiB) 518 /
# 610 against 647 / 815; 160^3 2091 / 2185 against 2374 / 2498; with the result then
# summed (its reader pays for DRAM), 128^3 1281 / 1518 against 1275 / 1631 and 160^3
# 2751 / 2890 against 3078 / 3204. Smaller results stay where their reader finds
# them: 64^3 (1 MiB) summed took 192 us streamed against 161 cached; 96^3 (3.4 MiB)
# was even (569 / 634 against 530 / 727).
cdef Py_ssize_t _nd_stream_bytes = 4 << 20


def set_nd_stream_bytes(Py_ssize_t n):
    """Set the size from which a result is stored past the caches (tests and
    benchmarks compare); returns the previous value."""
    global _nd_stream_bytes
    if n < 0:
        raise ValueError("fastconv: a size in bytes is at least 0")
    old = _nd_stream_bytes
    _nd_stream_bytes = n
    return old


def set_nd_tasks_per_thread(Py_ssize_t n):
    """Set the fewest tiles per thread of a multi-threaded N-d call (benchmarks try
    others); returns the previous value."""
    global _nd_tasks_per_thread
    if n < 1:
        raise ValueError("fastconv: at least one tile per thread")
    old = _nd_tasks_per_thread
    _nd_tasks_per_thread = n
    return old


cdef inline double _halo_cost(Py_ssize_t n, Py_ssize_t parts, Py_ssize_t k) noexcept nogil:
    """Input rows (or planes) copied per output one when ``n`` outputs are cut into
    ``parts`` tiles of a ``k``-tap axis: each tile copies its k - 1 halo too."""
    cdef Py_ssize_t t = (n + parts - 1) // parts
    return <double>(t + k - 1) / <double>t


cdef inline Py_ssize_t _nd_ring(Py_ssize_t Tz, Py_ssize_t Az) noexcept nogil:
    """Plane slots a tile of ``Tz`` planes keeps per kernel index g: its Tz + Az - 1
    input planes, or a ring of the Az + 1 that one pair of output planes reads."""
    return min(Tz + Az - 1, Az + 1)


cdef inline Py_ssize_t _nd_row_stride(Py_ssize_t wp, Py_ssize_t itemsize) noexcept nogil:
    """Samples between a tile buffer's rows of ``wp`` padded samples: one vector of
    zeroed slack (a narrow row's loads), rows on cache lines."""
    cdef Py_ssize_t line = max(1, 64 // itemsize)
    return (wp + fc_nd_lanes(itemsize) + line - 1) // line * line


cdef inline Py_ssize_t _nd_budget_rows(Py_ssize_t bs, Py_ssize_t itemsize) noexcept nogil:
    """Buffer rows of ``bs`` samples that fit the L2 budget (at least one)."""
    return max(1, FC_L2_BYTES // (bs * itemsize))


cdef void _nd_tiling(Py_ssize_t budget_rows, Py_ssize_t U, Py_ssize_t G, Py_ssize_t Az,
                     Py_ssize_t K, Py_ssize_t Oz, Py_ssize_t Ho, int nthreads,
                     Py_ssize_t* Tz_out, Py_ssize_t* T_out) noexcept nogil:
    """Tile planes x rows: the ring of padded rows a tile keeps, G * ring *
    (T + K - 1), fits ``budget_rows`` (L2), with the fewest rows copied per output
    row (halo planes and rows are copied by both tiles that need them); then cut so
    that every thread gets tiles and the counts even out."""
    cdef Py_ssize_t Tz, T, best_tz = 0, best_t = 1, nzt, nrt, tasks
    cdef double cost, best = 1e300
    cdef int i
    # Two depths to weigh: the ring is the same for every depth from 2 planes, so of
    # those the whole depth copies the fewest halo planes; one plane has a ring a
    # plane smaller, which may hold more rows. (Comparing each depth with the best so
    # far, with a tie rule, had stalled at 32 planes of 64 and picked 47 of 48, which
    # made two tiles of 24.)
    for i in range(2):
        Tz = Oz if i == 0 else 1
        nzt = Oz // Tz
        T = budget_rows // (G * _nd_ring(Tz, Az)) - K + 1
        if T < 1:
            continue        # a shallower ring may fit
        nrt = (Ho + min(T, Ho) - 1) // min(T, Ho)
        # input rows copied per output row; the fewest tiles among equals
        cost = <double>(G * (Oz + nzt * (Az - 1)) * (Ho + nrt * (K - 1))) / <double>(Oz * Ho)
        if cost < best:
            best, best_tz, best_t = cost, Tz, (Ho + nrt - 1) // nrt
    if best_tz == 0:
        # No ring fits (wide planes, a deep kernel): the whole depth and 2 (K - 1) rows,
        # a tile copying at most 1.5x its rows. Tiles of one plane and row, as this
        # once took, copied Az x K rows per output row: 8 x 2048^2 x 9^3 took 0.29 s
        # on 2 threads, with K - 1 rows 0.17 s, with 2 (K - 1) 0.15 s; 8 x 4096^2 x 7^3
        # 0.63, 0.21 and 0.21 s.
        best_tz, best_t = Oz, min(Ho, max(1, 2 * (K - 1)))
    nzt = (Oz + best_tz - 1) // best_tz
    nrt = (Ho + best_t - 1) // best_t
    # Several threads: at least _nd_tasks_per_thread tiles each, cutting planes or
    # rows, whichever copies fewer halo rows (a row cut weighed _nd_row_cut_cost
    # more). Tiles are claimed as threads come free, so on a shared machine a thread
    # that is descheduled for a while delays the call by one small tile instead of
    # its share (32 x 64 x 64 x 3^3 made one a thread).
    while U * nzt * nrt < (_nd_tasks_per_thread * nthreads if nthreads > 1 else 1) \
            and (nzt < Oz or nrt < Ho):
        if nzt < Oz and (nrt >= Ho or _halo_cost(Oz, nzt + 1, Az) * _halo_cost(Ho, nrt, K)
                         <= _halo_cost(Oz, nzt, Az) * _halo_cost(Ho, nrt + 1, K)
                         * _nd_row_cut_cost):
            nzt += 1
        else:
            nrt += 1
    # a handful of tiles on several threads: a multiple of the threads, so none idles
    tasks = U * nzt * nrt
    if nthreads > 1 and tasks < 8 * nthreads and tasks % nthreads:
        while (U * nzt * nrt) % nthreads and nzt < Oz:
            nzt += 1
    Tz_out[0] = (Oz + nzt - 1) // nzt
    T_out[0] = (Ho + nrt - 1) // nrt


def correlate_valid_nd(const num_t[:, :, :] x, const Py_ssize_t[::1] grp,
                       const num_t[:, :, :, ::1] w, num_t[:, :, :, ::1] out,
                       Py_ssize_t oz, Py_ssize_t oy, Py_ssize_t ox, int skip_zero_planes,
                       int nthreads):
    """The zero-padded N-d primitive in one call (see the header of _nd_direct.pxi).

    ``x`` is the first 3-D sub-volume of the input (any strides); ``grp`` (U * G)
    holds the byte offset from it of the sub-volume that output index u meets with
    kernel index g over the axes before the last three, or ``ND_NONE`` for padding.
    ``w`` is (G, Az, K, L), ``out`` (U, Oz, Ho, Wo); (oz, oy, ox) is the origin in x
    of the last three axes. ``skip_zero_planes``: the kernel is finite, so planes of
    padding add nothing and are skipped (with a non-finite kernel they are summed,
    inf * 0 = nan as in the padded sum); -1: skip them if every weight is finite
    (checked here, in C: numpy's isfinite(w).all() cost ~2 us of a ~10 us call).
    """
    cdef const char* xp = <const char*>&x[0, 0, 0] if x.shape[0] > 0 and x.shape[1] > 0 \
        and x.shape[2] > 0 else NULL
    if out.shape[0] == 0 or out.shape[1] == 0 or out.shape[2] == 0 or out.shape[3] == 0:
        return
    if w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3] == 0:
        out[...] = 0
        return
    _nd_call(xp, x.shape[0], x.shape[1], x.shape[2], x.strides[0], x.strides[1],
             x.strides[2], sizeof(num_t), -1, grp, w, <char*>&out[0, 0, 0, 0], out.shape[0],
             out.shape[1], out.shape[2], out.shape[3], out.strides[0], out.strides[1],
             out.strides[2], 0, oz, oy, ox, skip_zero_planes, nthreads)


def correlate_valid_nd_cast(x, const Py_ssize_t[::1] grp, const num_t[:, :, :, ::1] w,
                            out, Py_ssize_t oz, Py_ssize_t oy, Py_ssize_t ox,
                            int skip_zero_planes, int nthreads):
    """correlate_valid_nd of an ``x`` (3-D, native byte order) of another type, each
    row converted as a tile copies it (as correlate_valid_cast does in 2-D), into an
    ``out`` (U, Oz, Ho, Wo; contiguous rows) of ``w``'s type or, for 16-bit lanes, of
    8-bit integers (each result's low byte)."""
    cdef int src = _cast_src(x)
    cdef int narrow = _cast_narrow(out, sizeof(num_t), _kind(<num_t*>NULL) == 5)
    if x.ndim != 3 or out.ndim != 4:
        raise TypeError("fastconv: correlate_valid_nd_cast takes a 3-D x and a 4-D out")
    if 0 in out.shape:
        return
    if w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3] == 0:
        out[...] = 0
        return
    cdef Py_buffer b, ob
    PyObject_GetBuffer(out, &ob, PyBUF_STRIDES | PyBUF_WRITABLE)
    try:
        _check_rows_contiguous(ob.strides[3], ob.itemsize, ob.shape[3])
        PyObject_GetBuffer(x, &b, PyBUF_STRIDES)
        try:
            _nd_call(<const char*>b.buf if b.len > 0 else NULL, b.shape[0], b.shape[1],
                     b.shape[2], b.strides[0], b.strides[1], b.strides[2], b.itemsize, src,
                     grp, w, <char*>ob.buf, ob.shape[0], ob.shape[1], ob.shape[2],
                     ob.shape[3], ob.strides[0], ob.strides[1], ob.strides[2], narrow, oz, oy,
                     ox, skip_zero_planes, nthreads)
        finally:
            PyBuffer_Release(&b)
    finally:
        PyBuffer_Release(&ob)


cdef bint _nd_finite(const num_t[:, :, :, ::1] w) noexcept:
    """Whether every weight is finite (integers always are)."""
    cdef Py_ssize_t i, n = w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]
    cdef const num_t* p = &w[0, 0, 0, 0]
    if not (num_t is int32_t or num_t is int64_t or num_t is uint16_t):
        for i in range(n):
            if not (p[i] - p[i] == 0):      # inf - inf and nan - nan are nan
                return False
    return True


cdef int _nd_call(const char* xp, Py_ssize_t Mz, Py_ssize_t M, Py_ssize_t N,
                  Py_ssize_t xzs, Py_ssize_t xrs, Py_ssize_t xcs, Py_ssize_t xitem, int src,
                  const Py_ssize_t[::1] grp, const num_t[:, :, :, ::1] w, char* outp,
                  Py_ssize_t U, Py_ssize_t Oz, Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t ous,
                  Py_ssize_t ozs, Py_ssize_t ors, int narrow, Py_ssize_t oz, Py_ssize_t oy,
                  Py_ssize_t ox, int skip_zero_planes, int nthreads) except -1:
    """correlate_valid_nd's body, x and out given by pointer, shape and byte strides
    (out non-empty, w not empty); ``narrow``: out holds 8-bit integers, each tile's
    planes computed into a scratch block of lanes and their low bytes stored."""
    cdef Py_ssize_t G = w.shape[0], Az = w.shape[1], K = w.shape[2], L = w.shape[3]
    if grp.shape[0] != U * G:
        raise ValueError("fastconv: the sub-volume table does not match out and w")
    cdef Py_ssize_t vl = fc_nd_lanes(sizeof(num_t))
    cdef Py_ssize_t wp = Wo + L - 1
    cdef Py_ssize_t line = max(1, 64 // <Py_ssize_t>sizeof(num_t))
    cdef Py_ssize_t bs = _nd_row_stride(wp, sizeof(num_t))
    cdef Py_ssize_t Tz, T
    _nd_tiling(_nd_budget_rows(bs, sizeof(num_t)), U, G, Az, K, Oz, Ho, max(1, nthreads),
               &Tz, &T)
    cdef Py_ssize_t nzt = (Oz + Tz - 1) // Tz, nrt = (Ho + T - 1) // T
    cdef Py_ssize_t ntasks = U * nzt * nrt
    cdef int nt = max(1, min(nthreads, <int>min(ntasks, 1 << 20)))
    cdef Py_ssize_t P = Tz + Az - 1, ring = _nd_ring(Tz, Az)
    cdef Py_ssize_t ps = (T + K - 1) * bs
    # + two planes of T rows of lanes for a narrow store (kept a cache line apart)
    cdef Py_ssize_t per = G * ring * ps + (2 * T * bs + line if narrow else 0)
    cdef void* raw = malloc(per * nt * sizeof(num_t) + 64)
    cdef void* ptabs = malloc(G * P * nt * sizeof(void*))
    cdef char* ready = <char*>calloc(nt, 1)
    if raw == NULL or ptabs == NULL or ready == NULL:
        free(raw)
        free(ptabs)
        free(ready)
        raise MemoryError("fastconv: could not allocate the tile buffers")
    cdef num_t* bufs = <num_t*>((<size_t>raw + 63) & ~(<size_t>63))
    cdef _NdTiles j
    j.x = xp if Mz > 0 and M > 0 and N > 0 else NULL
    j.grp = &grp[0]
    j.w = &w[0, 0, 0, 0]
    j.out = outp
    j.narrow = narrow
    j.stream = not narrow and U * Oz * Ho * Wo * <Py_ssize_t>sizeof(num_t) >= _nd_stream_bytes
    j.shift = _shift_taps
    j.bufs = <char*>bufs
    j.ptabs = <char*>ptabs
    j.xzs, j.xrs, j.xcs, j.xitem, j.src = xzs, xrs, xcs, xitem, src
    j.Mz, j.M, j.N = Mz, M, N
    if j.x == NULL:
        j.Mz = 0        # every plane is padding
    j.ous, j.ozs, j.ors = ous, ozs, ors
    j.per_bytes = per * sizeof(num_t)
    j.bs, j.ps, j.P, j.G, j.Az, j.K, j.L = bs, ps, P, G, Az, K, L
    j.ring = ring
    j.Tz, j.T, j.Oz, j.Ho, j.Wo, j.oz, j.oy, j.ox = Tz, T, Oz, Ho, Wo, oz, oy, ox
    j.wp = wp
    # the columns the compute loop reads: [0, wp), or a vector (+ L - 1) from 0 when a
    # row is narrower than a vector (csrc/_rowsnd.h, fc_nd_tile)
    j.re = min(bs, max(wp, vl + L - 1))
    j.qa = min(max(0, -ox), wp)
    j.qb = max(j.qa, min(wp, N - ox))
    j.nzt, j.nrt = nzt, nrt
    j.skip = skip_zero_planes if skip_zero_planes >= 0 else _nd_finite(w)
    j.kind = _kind(<num_t*>NULL)
    j.ready = ready
    with nogil:
        _parallel_work(ntasks, nt, _nd_task, &j,
                       _tiles_us(U * Oz * Ho * Wo, Az * K * L, sizeof(num_t)))
    free(raw)
    free(ptabs)
    free(ready)
    return 0


def nd_tiling(Py_ssize_t itemsize, Py_ssize_t U, Py_ssize_t G, Py_ssize_t Az, Py_ssize_t K,
              Py_ssize_t L, Py_ssize_t Oz, Py_ssize_t Ho, Py_ssize_t Wo, int nthreads):
    """(Tz, T): the planes and rows of correlate_valid_nd's tiles for such a call
    (tests and the cost model read it)."""
    cdef Py_ssize_t Tz, T
    _nd_tiling(_nd_budget_rows(_nd_row_stride(Wo + L - 1, itemsize), itemsize), U, G, Az, K,
               Oz, Ho, max(1, nthreads), &Tz, &T)
    return Tz, T


# ---- 1-D: a long signal folded into overlapping rows (fastconv._engine.oned) ----

cdef extern from "_rowsnd.h":
    int fc_fold_rows_f(const float* x, Py_ssize_t xs, const float* w, Py_ssize_t L,
                       float* o, Py_ssize_t os, Py_ssize_t r0, Py_ssize_t r1,
                       Py_ssize_t C) noexcept nogil
    int fc_fold_rows_d(const double* x, Py_ssize_t xs, const double* w, Py_ssize_t L,
                       double* o, Py_ssize_t os, Py_ssize_t r0, Py_ssize_t r1,
                       Py_ssize_t C) noexcept nogil


ctypedef struct _Fold:
    const char* x
    const void* w
    char* out
    Py_ssize_t xs, os, L, C, R, rows
    int kind


cdef void _fold_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _Fold* j = <_Fold*>ctx
    cdef Py_ssize_t r0 = t * j.rows
    cdef Py_ssize_t r1 = min(j.R, r0 + j.rows)
    if j.kind == 0:
        fc_fold_rows_f(<const float*>j.x, j.xs, <const float*>j.w, j.L, <float*>j.out, j.os,
                       r0, r1, j.C)
    else:
        fc_fold_rows_d(<const double*>j.x, j.xs, <const double*>j.w, j.L, <double*>j.out,
                       j.os, r0, r1, j.C)


def correlate_folded(const real_t[:, :] xv, const real_t[::1] w, real_t[:, :] out,
                     int nthreads):
    """out[r, c] = sum_b w[b] * xv[r, c + b]: the rows of a folded 1-D signal (xv an
    overlapping view of it, unit column stride) in the 1-D loop of csrc/_rowsnd.h,
    rows shared among ``nthreads`` threads of fastconv's pool.

    Returns False, computing nothing, where that loop does not apply (no vector
    extensions in this build, a kernel longer than four vectors, rows narrower than
    a chunk, or strides that are not whole samples); the caller then runs the 2-D
    kernel's rows.
    """
    cdef Py_ssize_t R = out.shape[0], C = out.shape[1], L = w.shape[0]
    cdef Py_ssize_t item = sizeof(real_t)
    if R == 0 or C == 0 or L == 0:
        return False
    if xv.shape[0] < R or xv.shape[1] < C + L - 1 or xv.strides[1] != item \
            or out.strides[1] != item or xv.strides[0] % item or out.strides[0] % item:
        return False
    cdef _Fold j
    j.x = <const char*>&xv[0, 0]
    j.w = &w[0]
    j.out = <char*>&out[0, 0]
    j.xs = xv.strides[0] // item
    j.os = out.strides[0] // item
    j.L, j.C, j.R = L, C, R
    j.kind = 0 if real_t is float else 1
    # does the loop apply? (an empty range of rows computes nothing)
    if j.kind == 0:
        if not fc_fold_rows_f(<const float*>j.x, j.xs, <const float*>j.w, L, <float*>j.out,
                              j.os, 0, 0, C):
            return False
    elif not fc_fold_rows_d(<const double*>j.x, j.xs, <const double*>j.w, L,
                            <double*>j.out, j.os, 0, 0, C):
        return False
    cdef int nt = max(1, nthreads)
    # a few row blocks per thread even out the load
    j.rows = max(1, (R + 4 * nt - 1) // (4 * nt))
    with nogil:
        _parallel_work((R + j.rows - 1) // j.rows, nt, _fold_task, &j,
                       _tiles_us(R * C, L, sizeof(real_t)))
    return True
