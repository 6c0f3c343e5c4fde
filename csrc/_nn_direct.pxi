# Direct multi-channel convolution for fastconv.nn (issue 22), included at the end
# of _direct.pxi so that it is built per instruction set like the 2-D kernels.
#
# A layer's input is first repacked (nn_pack): each channel becomes zero-padded
# planes, one per stride phase, whose rows are flattened with one pitch WB. Then
# output pixel q = i * WB + j reads input q + toff[t] at tap t, for every channel:
# the convolution is a sum over (channel, tap) of shifted contiguous rows, which the
# loops of _nn_rows.h compute for a block of output channels x a strip of pixels in
# vector registers (nn_conv), or, for small planes, a block of output channels in
# the vector lanes x a run of one output row's pixels (nn_conv_lanes: no dropped
# columns, no plane ends). The input gradient is the same sum over the output
# gradient with the flipped, channel-transposed weights, one call per stride phase
# of the input; the weight gradient keeps output channels in the vector lanes
# (nn_grad_weight_lanes, _nn_gw.h) or, for groups with few output channels, is a
# block of dot products of the same rows (nn_grad_weight). No im2col matrix: the
# repacked input is the input's size, and where the tasks pack the rows they read
# into their windows (unit-stride forwards and input gradients, both weight
# gradients at any stride) there is no repacked input at all.
#
# Every output element is computed by one task in a fixed order, so results do not
# depend on the thread count.

from libc.stdlib cimport calloc

cdef extern from "_nn_rows.h":
    enum: FC_NN_WO
    enum: FC_NN_WC
    enum: FC_NN_WC1
    enum: FC_NN_CLR
    Py_ssize_t fc_nn_strip(int ob, int dbl) noexcept nogil
    Py_ssize_t fc_nn_vl(int dbl) noexcept nogil
    Py_ssize_t fc_nn_cl_block(int dbl) noexcept nogil
    void fc_nn_cl_f(int r, const float* inp, Py_ssize_t cp, Py_ssize_t cin,
                    const Py_ssize_t* toff, Py_ssize_t t0, Py_ssize_t t1, Py_ssize_t ntaps,
                    const float* w, float* out) noexcept nogil
    void fc_nn_cl_d(int r, const double* inp, Py_ssize_t cp, Py_ssize_t cin,
                    const Py_ssize_t* toff, Py_ssize_t t0, Py_ssize_t t1, Py_ssize_t ntaps,
                    const double* w, double* out) noexcept nogil
    void fc_nn_cl_put_f(const float* blk, int r, int nc, float* out, Py_ssize_t so,
                        Py_ssize_t sp) noexcept nogil
    void fc_nn_cl_put_d(const double* blk, int r, int nc, double* out, Py_ssize_t so,
                        Py_ssize_t sp) noexcept nogil
    void fc_nn_fwd_f(int ob, Py_ssize_t nv, const float* inp, Py_ssize_t cp, Py_ssize_t cin,
                     const Py_ssize_t* toff, Py_ssize_t ntaps, const float* w,
                     float* out, Py_ssize_t os) noexcept nogil
    void fc_nn_fwd_d(int ob, Py_ssize_t nv, const double* inp, Py_ssize_t cp, Py_ssize_t cin,
                     const Py_ssize_t* toff, Py_ssize_t ntaps, const double* w,
                     double* out, Py_ssize_t os) noexcept nogil
    void fc_nn_dot_f(const float* const* g, const float* const* x, Py_ssize_t nv,
                     float* acc) noexcept nogil
    void fc_nn_dot_d(const double* const* g, const double* const* x, Py_ssize_t nv,
                     double* acc) noexcept nogil
    void fc_nn_dot1_f(const float* g, const float* const* x, Py_ssize_t nv,
                      float* acc) noexcept nogil
    void fc_nn_dot1_d(const double* g, const double* const* x, Py_ssize_t nv,
                      double* acc) noexcept nogil
    void fc_nn_dot_end_f(const float* acc, int wc, float* out, Py_ssize_t ldo, int no,
                         int nc) noexcept nogil
    void fc_nn_dot_end_d(const double* acc, int wc, double* out, Py_ssize_t ldo, int no,
                         int nc) noexcept nogil


def nn_geometry(bint dbl):
    """The loops' block sizes for float32 (dbl False) or float64: vector lanes,
    output pixels per strip for each output-channel block, and the weight
    gradient's dot-product block (Python sizes the buffers' slack from them)."""
    return {"lanes": fc_nn_vl(dbl),
            "strip": {ob: fc_nn_strip(ob, dbl) for ob in (1, 2, 4, 8)},
            "dot": (FC_NN_WO, FC_NN_WC), "dot1": FC_NN_WC1}


# ---- repack: planes split by stride phase, rows flattened with pitch WB --------

ctypedef struct _NNPack:
    const char* src
    char* dst
    Py_ssize_t s0, s1, s2, s3, C, H, W
    Py_ssize_t sn, sc, blk, sh, sw, HB, WB, oh, ow, nplanes, per
    int kind


cdef inline void _nn_pad_row(real_t* d, const char* srow, Py_ssize_t j0, Py_ssize_t j1,
                             Py_ssize_t WB, Py_ssize_t sw, Py_ssize_t s3,
                             bint cols) noexcept nogil:
    """One padded row of pitch WB: zeros, then columns [j0, j1) from the source row's
    values at ``srow`` (column j0's), every ``sw``-th one (byte stride s3), zeros
    (not written unless ``cols``: the caller's row holds them already)."""
    cdef Py_ssize_t jj
    cdef const real_t* sp
    if cols:
        for jj in range(j0):
            d[jj] = 0
    if sw == 1 and s3 == sizeof(real_t):
        memcpy(d + j0, srow, (j1 - j0) * sizeof(real_t))
    elif sw == 2 and s3 == sizeof(real_t):
        # every other value, a constant stride the compiler vectorises (the
        # general loop below took 6% of the 7x7 s2 stem's forward)
        sp = <const real_t*>srow
        for jj in range(j1 - j0):
            d[j0 + jj] = sp[2 * jj]
    else:
        for jj in range(j0, j1):
            d[jj] = (<const real_t*>(srow + (jj - j0) * sw * s3))[0]
    if cols:
        for jj in range(j1, WB):
            d[jj] = 0


cdef void _nn_pack_rows(real_t* tag, const _NNPack* j, const char* s0, real_t* d0,
                        Py_ssize_t pp, Py_ssize_t i0, Py_ssize_t i1, bint cols) noexcept nogil:
    """Rows [i0, i1) of every stride phase's padded plane of the channel at ``s0``
    (strides j.s2, j.s3): phase (ph, pw)'s row i at d0 + (ph*sw + pw)*pp + (i - i0)*WB;
    rows outside the source, or past the plane (i >= HB), are zeros. Not ``cols``:
    the rows' padding columns are zeros already, and only the values are written."""
    cdef real_t* d
    cdef Py_ssize_t ph, pw, i, si, j0, j1
    for ph in range(j.sh):
        for pw in range(j.sw):
            # columns jj with 0 <= jj * sw + pw - ow < W
            j0 = max(0, (j.ow - pw + j.sw - 1) // j.sw) if j.ow > pw else 0
            j1 = (j.W - 1 + j.ow - pw) // j.sw + 1 if j.W - 1 + j.ow - pw >= 0 else 0
            j1 = min(max(j1, j0), j.WB)
            j0 = min(j0, j1)
            for i in range(i0, i1):
                d = d0 + (ph * j.sw + pw) * pp + (i - i0) * j.WB
                si = i * j.sh + ph - j.oh
                if si < 0 or si >= j.H or i >= j.HB or j1 == j0:
                    memset(d, 0, j.WB * sizeof(real_t))
                    continue
                _nn_pad_row(d, s0 + si * j.s2 + (j0 * j.sw + pw - j.ow) * j.s3, j0, j1, j.WB,
                            j.sw, j.s3, cols)


cdef void _nn_source(_NNPack* j, const real_t[:, :, :, :] src, Py_ssize_t sh, Py_ssize_t sw,
                     Py_ssize_t HB, Py_ssize_t WB, Py_ssize_t oh, Py_ssize_t ow) noexcept:
    """``j``'s source fields: ``src`` (N, C, H, W; any strides; an empty plane reads as
    no rows) and the padded planes it is packed into (stride phases sh x sw of HB x
    WB, offsets oh, ow), as nn_pack, the tasks' windows and the weight gradient's
    windows read them."""
    j.src = <const char*>&src[0, 0, 0, 0] if src.shape[2] * src.shape[3] > 0 else NULL
    j.s0, j.s1, j.s2, j.s3 = src.strides[0], src.strides[1], src.strides[2], src.strides[3]
    j.C, j.H, j.W = src.shape[1], (src.shape[2] if j.src != NULL else 0), src.shape[3]
    j.sh, j.sw, j.HB, j.WB, j.oh, j.ow = sh, sw, HB, WB, oh, ow


cdef void _nn_pack_plane(real_t* tag, _NNPack* j, Py_ssize_t t) noexcept nogil:
    cdef Py_ssize_t n = t // j.C, c = t - (t // j.C) * j.C
    cdef real_t* d0 = <real_t*>j.dst + n * j.sn + c * j.sc
    cdef Py_ssize_t used = j.sh * j.sw * j.HB * j.WB
    _nn_pack_rows(tag, j, j.src + n * j.s0 + c * j.s1, d0, j.HB * j.WB, 0, j.HB, True)
    # the slack after the planes: strips and dot products read into it
    memset(d0 + used, 0, (j.blk - used) * sizeof(real_t))


cdef void _nn_pack_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNPack* j = <_NNPack*>ctx
    cdef Py_ssize_t p
    for p in range(t * j.per, min(j.nplanes, (t + 1) * j.per)):
        if j.kind == 0:
            _nn_pack_plane(<float*>NULL, j, p)
        else:
            _nn_pack_plane(<double*>NULL, j, p)


def nn_pack(const real_t[:, :, :, :] src, real_t[::1] dst, Py_ssize_t sn, Py_ssize_t sc,
            Py_ssize_t blk, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t HB, Py_ssize_t WB,
            Py_ssize_t oh, Py_ssize_t ow, int nthreads):
    """dst[n*sn + c*sc + ((ph*sw + pw)*HB + i)*WB + j] = src[n, c, i*sh + ph - oh,
    j*sw + pw - ow], zero outside ``src``; the rest of each (n, c) block of ``blk``
    elements is zeroed (blocks must not overlap). ``src`` may have any strides."""
    cdef Py_ssize_t N = src.shape[0], C = src.shape[1]
    if N * C == 0:
        return
    if (sh * sw * HB * WB > blk or (N - 1) * sn + (C - 1) * sc + blk > dst.shape[0]
            or min(sn, sc) < blk):
        raise ValueError("fastconv: nn_pack buffer too small")
    cdef _NNPack j
    _nn_source(&j, src, sh, sw, HB, WB, oh, ow)
    j.dst = <char*>&dst[0]
    j.sn, j.sc, j.blk = sn, sc, blk
    j.kind = 0 if real_t is float else 1
    # planes of ~64 KiB a task: a 14^2 plane a task took 2x one thread's time on two
    j.nplanes = N * C
    j.per = max(1, (64 << 10) // max(1, blk * <Py_ssize_t>sizeof(real_t)))
    cdef Py_ssize_t ntasks = (N * C + j.per - 1) // j.per
    with nogil:
        _parallel(ntasks, max(1, min(nthreads, <int>ntasks)), _nn_pack_task, &j)


# ---- packing inside the compute tasks (unit stride) ---------------------------
# With unit stride a forward (or a stride-1 input gradient) needs one plane per
# channel, and each compute task packs the rows its outputs read, from the
# caller's array into its thread's window, just before it computes them: the
# window is in L2 when the sums read it, and no separately packed copy of the
# whole input is written to memory and read back (nn_pack's pass took 3-5% of a
# 64 x 56^2 3x3 layer). The window holds the same values at the same offsets as
# nn_pack's planes: the sums, so the bits, are the same.

ctypedef struct _NNWin:
    _NNPack pk              # the source and its unit-stride planes (see _nn_source)
    Py_ssize_t tmax, rows, cpw, bytes


cdef Py_ssize_t _nn_window(real_t* tag, const _NNWin* s, Py_ssize_t n, Py_ssize_t c0,
                           Py_ssize_t nc, Py_ssize_t i0, Py_ssize_t i1,
                           real_t* d) noexcept nogil:
    """Rows [i0, i1) of the padded planes of channels c0..c0+nc-1 of sample n into
    ``d``, each channel's rows followed by zeros up to the channel pitch ``s.cpw``;
    rows past the plane are zeros, as nn_pack's slack is. (_nn_pack_rows at unit
    stride, with the stride a literal here: through _nn_pack_rows the 8 x 64 x 56^2
    depthwise forward took 1.05-1.26 ms against 1.00-1.04.)"""
    cdef const _NNPack* p = &s.pk
    cdef Py_ssize_t WB = p.WB, j0 = min(p.ow, WB), j1 = min(p.ow + p.W, WB)
    cdef Py_ssize_t c, i, si
    cdef real_t* dd
    for c in range(nc):
        dd = d + c * s.cpw
        for i in range(i0, i1):
            si = i - p.oh
            if si < 0 or si >= p.H or j1 <= j0:
                memset(dd, 0, WB * sizeof(real_t))
            else:
                _nn_pad_row(dd, p.src + n * p.s0 + (c0 + c) * p.s1 + si * p.s2
                            + (j0 - p.ow) * p.s3, j0, j1, WB, 1, p.s3, True)
            dd += WB
        memset(dd, 0, (s.cpw - (i1 - i0) * WB) * sizeof(real_t))
    return s.cpw


cdef inline real_t* _nn_window_at(real_t* tag, const _NNWin* s, char* wins, int slot,
                                 Py_ssize_t q) noexcept nogil:
    """The start of a thread's window whose first flattened position is q, shifted
    so that every position keeps its alignment in nn_pack's planes (whose rows
    start on a cache line): the same loads split cache lines, however the window
    is cut (5x5 layers ran ~5% slower without it)."""
    return <real_t*>(wins + slot * s.bytes) + q % (64 // <Py_ssize_t>sizeof(real_t))


cdef int _nn_win_setup(_NNWin* s, const real_t[:, :, :, :] src, Py_ssize_t N, Py_ssize_t C,
                       Py_ssize_t HB, Py_ssize_t WB, Py_ssize_t oh, Py_ssize_t ow,
                       Py_ssize_t tmax, Py_ssize_t rows, Py_ssize_t cin) except -1:
    """The window of a task that reads up to ``rows`` rows of ``cin`` channels."""
    if src.shape[0] != N or src.shape[1] != C or oh < 0 or ow < 0:
        raise ValueError("fastconv: the source does not match the layer")
    if HB - oh < src.shape[2]:
        raise ValueError("fastconv: the planes are shorter than the source")
    _nn_source(&s.pk, src, 1, 1, HB, WB, oh, ow)
    s.tmax, s.rows = tmax, rows
    # a vector of slack, and an odd number of cache lines a channel: the channels'
    # rows at one offset then fall in different L1 sets (a pitch of 16 KiB, 60 rows
    # of 68, made a 16 x 64^2 5x5 layer 12% slower)
    cdef Py_ssize_t lines = ((rows * WB + 16) * <Py_ssize_t>sizeof(real_t) + 63) // 64
    s.cpw = (lines | 1) * 64 // <Py_ssize_t>sizeof(real_t)
    # and a cache line for _nn_window_at's shift
    s.bytes = (max(1, cin) * s.cpw * sizeof(real_t) + 63) // 64 * 64 + 64
    return 0


# ---- weights as the kernels read them: [g][o // ob][c][t][o % ob] -------------

ctypedef struct _NNPackW:
    const char* w
    char* out
    Py_ssize_t s0, s1, s2, s3, og, ci, nt, ob, nob
    int kind


cdef void _nn_packw_block(real_t* tag, _NNPackW* j, Py_ssize_t task) noexcept nogil:
    cdef Py_ssize_t g = task // j.nob, b = task - (task // j.nob) * j.nob
    cdef real_t* d = <real_t*>j.out + task * j.ci * j.nt * j.ob
    cdef Py_ssize_t nvalid = min(j.ob, j.og - b * j.ob)
    cdef const char* src = j.w + g * j.s0 + b * j.ob * j.s1
    cdef Py_ssize_t s1 = j.s1, s2 = j.s2, s3 = j.s3, nt = j.nt, ob = j.ob
    cdef Py_ssize_t c, t, o
    cdef const char* so
    # the block's ob values of a (c, t) from ob rows: a (c, t) reads the next
    # values of the rows' cache lines (0.22 ms for 256 x 256 x 3 x 3 on one core,
    # 0.34 going down each row instead)
    for c in range(j.ci):
        for t in range(nt):
            so = src + c * s2 + t * s3
            for o in range(nvalid):
                d[o] = (<const real_t*>(so + o * s1))[0]
            for o in range(nvalid, ob):
                d[o] = 0
            d += ob


cdef void _nn_packw_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNPackW* j = <_NNPackW*>ctx
    if j.kind == 0:
        _nn_packw_block(<float*>NULL, j, t)
    else:
        _nn_packw_block(<double*>NULL, j, t)


cdef real_t* _packed_weights(const real_t[:, :, :, :] w, int ob, int nthreads) except NULL:
    """A malloc'd buffer (the caller frees it) of ``w`` (G, Og, Ci, T), any strides,
    packed as the kernels read it: [((g*nob + o // ob)*Ci + c)*T + t)*ob + o % ob],
    zero for o past Og. Packed inside the conv calls, not by a Python-level call
    before them: one round trip less between two large compiled calls (a cold
    Python step after one cost 50-200 us) and no numpy array to make."""
    cdef Py_ssize_t G = w.shape[0], og = w.shape[1]
    cdef Py_ssize_t nob = (og + ob - 1) // ob
    cdef Py_ssize_t n = G * nob * w.shape[2] * w.shape[3] * ob
    cdef real_t* out = <real_t*>malloc(max(1, n) * sizeof(real_t))
    if out == NULL:
        raise MemoryError("fastconv: could not allocate the packed weights")
    if n == 0:
        return out
    cdef _NNPackW j
    j.w = <const char*>&w[0, 0, 0, 0]
    j.out = <char*>out
    j.s0, j.s1, j.s2, j.s3 = w.strides[0], w.strides[1], w.strides[2], w.strides[3]
    j.og, j.ci, j.nt, j.ob, j.nob = og, w.shape[2], w.shape[3], ob, nob
    j.kind = 0 if real_t is float else 1
    with nogil:
        _parallel(G * nob, max(1, min(nthreads, <int>(G * nob))), _nn_packw_task, &j)
    return out


# ---- forward / input gradient: blocks of output channels x strips of pixels ---

ctypedef struct _NNConv:
    const char* inp
    const char* w
    const Py_ssize_t* toff
    char* out
    char* scratch
    Py_ssize_t np_, cp, cin, G, ntaps, og, nob, ob, WB, Hu, Wu, Q, strip, nstrips, sb, ngrp, vl
    Py_ssize_t os0, os1, os2, os3, scratch_bytes
    _NNWin win
    char* wins
    int kind, fused


cdef void _nn_conv_run(real_t* tag, _NNConv* j, Py_ssize_t t, int slot) noexcept nogil:
    cdef Py_ssize_t per = j.G * j.ngrp
    cdef Py_ssize_t n = t // per
    cdef Py_ssize_t g = (t - n * per) // j.ngrp
    cdef Py_ssize_t grp = t - n * per - g * j.ngrp
    cdef Py_ssize_t s_lo = grp * j.sb, s_hi = min(j.nstrips, (grp + 1) * j.sb)
    cdef const real_t* inp
    cdef const real_t* wg = <const real_t*>j.w + g * j.nob * j.cin * j.ntaps * j.ob
    cdef real_t* sc = <real_t*>(j.scratch + slot * j.scratch_bytes)
    cdef Py_ssize_t b, s, q0, o, u, u0, u1, v, v0, v1, nvalid, nv, dos, i0, i1
    cdef Py_ssize_t cp = j.cp, qb = 0
    cdef char* orow
    cdef real_t* dst
    if j.fused:
        # the rows the strips read, from the strips' first row to their last tap
        i0 = s_lo * j.strip // j.WB
        i1 = min(i0 + j.win.rows, (s_hi * j.strip + j.win.tmax + j.WB - 1) // j.WB)
        dst = _nn_window_at(tag, &j.win, j.wins, slot, i0 * j.WB)
        cp = _nn_window(tag, &j.win, n, g * j.cin, j.cin, i0, i1, dst)
        inp = dst
        qb = i0 * j.WB              # the window's first flattened position
    else:
        inp = <const real_t*>j.inp + n * j.np_ + g * j.cin * j.cp
    for b in range(j.nob):
        nvalid = min(j.ob, j.og - b * j.ob)
        for s in range(s_lo, s_hi):
            q0 = s * j.strip
            # vectors this strip needs: all but at the plane's end
            nv = (min(j.strip, j.Q - q0) + j.vl - 1) // j.vl
            # a strip of one row's outputs, for a whole block: straight into the
            # output's rows (no copy; 55% of the 7x7 s2 stem's strips)
            u0 = q0 // j.WB
            v0 = q0 - u0 * j.WB
            if j.os3 == sizeof(real_t) and v0 + j.strip <= j.Wu and nvalid == j.ob:
                dst = <real_t*>(j.out + n * j.os0 + (g * j.og + b * j.ob) * j.os1
                                + u0 * j.os2) + v0
                dos = j.os1 // <Py_ssize_t>sizeof(real_t)
            else:
                dst = sc
                dos = j.strip
            if real_t is float:
                fc_nn_fwd_f(<int>j.ob, nv, inp + (q0 - qb), cp, j.cin, j.toff, j.ntaps,
                            wg + b * j.cin * j.ntaps * j.ob, dst, dos)
            else:
                fc_nn_fwd_d(<int>j.ob, nv, inp + (q0 - qb), cp, j.cin, j.toff, j.ntaps,
                            wg + b * j.cin * j.ntaps * j.ob, dst, dos)
            if dst != sc:
                continue
            # the strip's pixels that are outputs: rows u, columns v < Wu
            u1 = min(j.Hu, (q0 + j.strip + j.WB - 1) // j.WB)
            for o in range(nvalid):
                for u in range(u0, u1):
                    v0 = max(0, q0 - u * j.WB)
                    v1 = min(j.Wu, q0 + j.strip - u * j.WB)
                    orow = j.out + n * j.os0 + (g * j.og + b * j.ob + o) * j.os1 + u * j.os2
                    if j.os3 == sizeof(real_t):
                        if v1 > v0:
                            memcpy(orow + v0 * sizeof(real_t),
                                   sc + o * j.strip + u * j.WB + v0 - q0,
                                   (v1 - v0) * sizeof(real_t))
                    else:
                        for v in range(v0, v1):
                            (<real_t*>(orow + v * j.os3))[0] = sc[o * j.strip + u * j.WB + v - q0]


cdef void _nn_conv_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNConv* j = <_NNConv*>ctx
    if j.kind == 0:
        _nn_conv_run(<float*>NULL, j, t, slot)
    else:
        _nn_conv_run(<double*>NULL, j, t, slot)


cdef Py_ssize_t _conv_args(const real_t[:, :, :, :] w, const Py_ssize_t[::1] toff,
                           real_t[:, :, :, :] out) except -1:
    """The largest tap offset, after checking the weights, taps and output agree."""
    if w.shape[3] != toff.shape[0] or out.shape[1] != w.shape[0] * w.shape[1]:
        raise ValueError("fastconv: weights, taps and output channels disagree")
    cdef Py_ssize_t t, tmax = 0
    for t in range(toff.shape[0]):
        if toff[t] < 0:
            raise ValueError("fastconv: negative tap offset")
        tmax = max(tmax, toff[t])
    return tmax


def nn_conv(const real_t[::1] inp, Py_ssize_t np_, Py_ssize_t cp,
            const Py_ssize_t[::1] toff, const real_t[:, :, :, :] w, int ob,
            real_t[:, :, :, :] out, Py_ssize_t WB, Py_ssize_t sb, int nthreads,
            const real_t[:, :, :, :] src=None, Py_ssize_t HB=0, Py_ssize_t oh=0,
            Py_ssize_t ow=0):
    """out[n, g*og + o, u, v] = sum_{c < cin, t} w[g, o, c, t] inp[n*np_ + (g*cin + c)*cp
    + toff[t] + u*WB + v] for u, v < out's last two sizes, ``w`` (G, og, cin, T) with
    any strides. ``out`` may have any strides (the input gradient writes one stride
    phase of its result). ``ob``: output channels per register block; ``sb``: strips
    per task. ``inp`` must hold a strip's slack past every read (Python sizes it).

    With ``src`` (N, G*cin, H, W), ``inp`` is not read: ``inp`` is then nn_pack's
    unit-stride planes of ``src`` (HB rows, offsets oh, ow), packed by each task
    for the rows it reads (see _nn_window)."""
    cdef Py_ssize_t tmax = _conv_args(w, toff, out)
    cdef Py_ssize_t N = out.shape[0], G = w.shape[0], og = w.shape[1], cin = w.shape[2]
    cdef Py_ssize_t Hu = out.shape[2], Wu = out.shape[3]
    if N == 0 or og == 0 or Hu == 0 or Wu == 0:
        return
    if ob not in (1, 2, 4, 8):
        raise ValueError("fastconv: bad nn_conv block")
    cdef Py_ssize_t ntaps = toff.shape[0]
    cdef Py_ssize_t nob = (og + ob - 1) // ob
    cdef int dbl = 0 if real_t is float else 1
    cdef Py_ssize_t strip = fc_nn_strip(ob, dbl)
    cdef Py_ssize_t Q = (Hu - 1) * WB + Wu
    cdef Py_ssize_t nstrips = (Q + strip - 1) // strip
    sb = max(1, min(sb, nstrips))
    cdef _NNConv j
    j.fused = src is not None
    if j.fused:
        _nn_win_setup(&j.win, src, N, G * cin, HB, WB, oh, ow, tmax,
                      (sb * strip + tmax + WB - 1) // WB + 1, cin)
    elif (N - 1) * np_ + (G * cin - 1) * cp + tmax + nstrips * strip > inp.shape[0] and cin > 0:
        raise ValueError("fastconv: nn_conv input buffer too small")
    cdef Py_ssize_t ngrp = (nstrips + sb - 1) // sb
    cdef Py_ssize_t ntasks = N * G * ngrp
    cdef int nt = max(1, min(nthreads, <int>ntasks))
    cdef Py_ssize_t sbytes = (ob * strip * sizeof(real_t) + 63) // 64 * 64
    cdef Py_ssize_t wbytes = j.win.bytes if j.fused else 0
    cdef real_t* wpk = _packed_weights(w, ob, nthreads)
    cdef char* scratch = <char*>malloc(sbytes * nt + wbytes * nt + 64)
    if scratch == NULL:
        free(wpk)
        raise MemoryError("fastconv: could not allocate the strip buffers")
    j.inp = <const char*>&inp[0] if not j.fused else NULL
    j.w = <const char*>wpk
    j.toff = &toff[0] if ntaps > 0 else NULL
    j.out = <char*>&out[0, 0, 0, 0]
    j.scratch = <char*>((<size_t>scratch + 63) // 64 * 64)
    j.wins = j.scratch + sbytes * nt
    j.np_, j.cp, j.cin, j.G, j.ntaps, j.og, j.nob, j.ob = np_, cp, cin, G, ntaps, og, nob, ob
    j.WB, j.Hu, j.Wu, j.Q, j.strip, j.nstrips, j.sb, j.ngrp = WB, Hu, Wu, Q, strip, nstrips, sb, ngrp
    j.os0, j.os1, j.os2, j.os3 = out.strides[0], out.strides[1], out.strides[2], out.strides[3]
    j.scratch_bytes = sbytes
    j.vl = fc_nn_vl(dbl)
    j.kind = 0 if real_t is float else 1
    with nogil:
        _parallel(ntasks, nt, _nn_conv_task, &j)
    free(scratch)
    free(wpk)


# ---- forward / input gradient, small planes: output channels in the lanes -----

def nn_lanes_block(bint dbl):
    """(output channels, widest run of pixels) of nn_conv_lanes's register block
    for float32 (dbl False) or float64."""
    return fc_nn_cl_block(dbl), FC_NN_CLR

ctypedef struct _NNLanes:
    const char* inp
    const char* w
    const Py_ssize_t* toff
    const Py_ssize_t* trows
    char* out
    char* scratch
    Py_ssize_t np_, cp, cin, G, ntaps, og, nob, ob, WB, Hu, Wu, r, rb, nrg
    Py_ssize_t os0, os1, os2, os3, scratch_bytes
    _NNWin win
    char* wins
    int kind, fused


cdef void _nn_lanes_run(real_t* tag, _NNLanes* j, Py_ssize_t t, int slot) noexcept nogil:
    # task t: sample n, group g, output-channel block b (every block when the task
    # packs its window: it is read once per block), rows [u_lo, u_hi)
    cdef Py_ssize_t nb = 1 if not j.fused else j.nob
    cdef Py_ssize_t per_g = (j.nob // nb) * j.nrg
    cdef Py_ssize_t n = t // (j.G * per_g)
    cdef Py_ssize_t rest = t - n * j.G * per_g
    cdef Py_ssize_t g = rest // per_g
    rest -= g * per_g
    cdef Py_ssize_t b0 = (rest // j.nrg) * nb
    cdef Py_ssize_t u_lo = (rest - (b0 // nb) * j.nrg) * j.rb, u_hi = min(j.Hu, u_lo + j.rb)
    cdef const real_t* inp
    cdef Py_ssize_t cp = j.cp, b, i1
    cdef real_t* win
    if j.fused:
        # the rows the task's outputs read: from its first row to its last tap
        i1 = min(u_lo + j.win.rows, ((u_hi - 1) * j.WB + j.Wu + j.win.tmax + j.WB - 1) // j.WB)
        win = _nn_window_at(tag, &j.win, j.wins, slot, u_lo * j.WB)
        cp = _nn_window(tag, &j.win, n, g * j.cin, j.cin, u_lo, i1, win)
        # the window's row i is the plane's row u_lo + i
        for b in range(b0, b0 + nb):
            _nn_lanes_rows(tag, j, n, g, b, 0, u_hi - u_lo, u_lo, win, cp, slot)
    else:
        inp = <const real_t*>j.inp + n * j.np_ + g * j.cin * j.cp
        _nn_lanes_rows(tag, j, n, g, b0, u_lo, u_hi, 0, inp, cp, slot)


cdef void _nn_lanes_rows(real_t* tag, _NNLanes* j, Py_ssize_t n, Py_ssize_t g, Py_ssize_t b,
                         Py_ssize_t i_lo, Py_ssize_t i_hi, Py_ssize_t ushift,
                         const real_t* inp, Py_ssize_t cp, int slot) noexcept nogil:
    # output rows u = i + ushift for i in [i_lo, i_hi), read at inp's row i
    cdef const real_t* wblk = <const real_t*>j.w + (g * j.nob + b) * j.cin * j.ntaps * j.ob
    cdef real_t* sc = <real_t*>(j.scratch + slot * j.scratch_bytes)
    cdef Py_ssize_t nvalid = min(j.ob, j.og - b * j.ob)
    cdef Py_ssize_t u, i, v0, r
    cdef char* orow
    for i in range(i_lo, i_hi):
        u = i + ushift
        v0 = 0
        while v0 < j.Wu:
            r = min(j.r, j.Wu - v0)
            if real_t is float:
                fc_nn_cl_f(<int>r, inp + i * j.WB + v0, cp, j.cin, j.toff, j.trows[2 * u],
                           j.trows[2 * u + 1], j.ntaps, wblk, sc)
            else:
                fc_nn_cl_d(<int>r, inp + i * j.WB + v0, cp, j.cin, j.toff, j.trows[2 * u],
                           j.trows[2 * u + 1], j.ntaps, wblk, sc)
            # the pixel-major block to the output's channel planes
            orow = j.out + n * j.os0 + (g * j.og + b * j.ob) * j.os1 + u * j.os2 + v0 * j.os3
            if real_t is float:
                fc_nn_cl_put_f(sc, <int>r, <int>nvalid, <float*>orow,
                               j.os1 // <Py_ssize_t>sizeof(float),
                               j.os3 // <Py_ssize_t>sizeof(float))
            else:
                fc_nn_cl_put_d(sc, <int>r, <int>nvalid, <double*>orow,
                               j.os1 // <Py_ssize_t>sizeof(double),
                               j.os3 // <Py_ssize_t>sizeof(double))
            v0 += r


cdef void _nn_lanes_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNLanes* j = <_NNLanes*>ctx
    if j.kind == 0:
        _nn_lanes_run(<float*>NULL, j, t, slot)
    else:
        _nn_lanes_run(<double*>NULL, j, t, slot)


def nn_conv_lanes(const real_t[::1] inp, Py_ssize_t np_, Py_ssize_t cp,
                  const Py_ssize_t[::1] toff, const Py_ssize_t[:, ::1] trows,
                  const real_t[:, :, :, :] w, real_t[:, :, :, :] out,
                  Py_ssize_t WB, Py_ssize_t r, Py_ssize_t rb, int nthreads,
                  const real_t[:, :, :, :] src=None, Py_ssize_t HB=0, Py_ssize_t oh=0,
                  Py_ssize_t ow=0):
    """The sums of nn_conv (same arguments), computed by blocks of nn_lanes_block's
    output channels x ``r`` pixels of a row (the last of a row narrower; 1 <= r <=
    its widest), output row u over the taps [trows[u, 0], trows[u, 1]) only (the
    others read padding: the same bits for finite weights). ``rb``: output rows per
    task. With ``src``, as nn_conv: each task packs its rows' window and computes
    every output-channel block from it."""
    cdef Py_ssize_t tmax = _conv_args(w, toff, out)
    cdef Py_ssize_t N = out.shape[0], G = w.shape[0], og = w.shape[1], cin = w.shape[2]
    cdef Py_ssize_t Hu = out.shape[2], Wu = out.shape[3]
    cdef int dbl = 0 if real_t is float else 1
    cdef Py_ssize_t ob = fc_nn_cl_block(dbl)
    if N == 0 or og == 0 or Hu == 0 or Wu == 0:
        return
    if r < 1 or r > FC_NN_CLR:
        raise ValueError("fastconv: bad nn_conv_lanes block")
    cdef Py_ssize_t ntaps = toff.shape[0]
    cdef Py_ssize_t nob = (og + ob - 1) // ob
    cdef Py_ssize_t t
    rb = max(1, min(rb, Hu))
    cdef _NNLanes j
    j.fused = src is not None
    if j.fused:
        _nn_win_setup(&j.win, src, N, G * cin, HB, WB, oh, ow, tmax,
                      rb + (Wu + tmax + WB - 1) // WB, cin)
    elif (N - 1) * np_ + (G * cin - 1) * cp + tmax + (Hu - 1) * WB + Wu > inp.shape[0] and cin > 0:
        raise ValueError("fastconv: nn_conv_lanes input buffer too small")
    if trows.shape[0] != Hu or trows.shape[1] != 2:
        raise ValueError("fastconv: nn_conv_lanes needs a tap range per output row")
    for t in range(Hu):
        if not 0 <= trows[t, 0] <= trows[t, 1] <= ntaps:
            raise ValueError("fastconv: bad nn_conv_lanes tap range")
    cdef Py_ssize_t nrg = (Hu + rb - 1) // rb
    cdef Py_ssize_t ntasks = N * G * (1 if j.fused else nob) * nrg
    cdef int nt = max(1, min(nthreads, <int>ntasks))
    cdef Py_ssize_t sbytes = (ob * FC_NN_CLR * sizeof(real_t) + 63) // 64 * 64
    cdef Py_ssize_t wbytes = j.win.bytes if j.fused else 0
    cdef real_t* wpk = _packed_weights(w, <int>ob, nthreads)
    cdef char* scratch = <char*>malloc(sbytes * nt + wbytes * nt + 64)
    if scratch == NULL:
        free(wpk)
        raise MemoryError("fastconv: could not allocate the block buffers")
    j.inp = <const char*>&inp[0] if not j.fused else NULL
    j.w = <const char*>wpk
    j.toff = &toff[0] if ntaps > 0 else NULL
    j.trows = &trows[0, 0]
    j.out = <char*>&out[0, 0, 0, 0]
    j.scratch = <char*>((<size_t>scratch + 63) // 64 * 64)
    j.wins = j.scratch + sbytes * nt
    j.np_, j.cp, j.cin, j.G, j.ntaps, j.og, j.nob, j.ob = np_, cp, cin, G, ntaps, og, nob, ob
    j.WB, j.Hu, j.Wu, j.r, j.rb, j.nrg = WB, Hu, Wu, r, rb, nrg
    j.os0, j.os1, j.os2, j.os3 = out.strides[0], out.strides[1], out.strides[2], out.strides[3]
    j.scratch_bytes = sbytes
    j.kind = 0 if real_t is float else 1
    with nogil:
        _parallel(ntasks, nt, _nn_lanes_task, &j)
    free(scratch)
    free(wpk)


# ---- weight gradient: blocks of dot products, each owned by one task ----------

ctypedef struct _NNGradW:
    const char* x
    const char* go
    const Py_ssize_t* toff
    char* gw
    char* scratch
    Py_ssize_t xs0, xs1, xs2, xs3, H, W, gs0, gs1, gs2, Ho, Wo
    Py_ssize_t sh, sw, HB, WB, oh, ow, xblk
    Py_ssize_t N, G, og, cg, ntaps, K, kc, to, tc, nto, ntc, scratch_bytes
    int kind, failed


cdef void _nn_gw_run(real_t* tag, _NNGradW* j, Py_ssize_t t, int slot) noexcept nogil:
    cdef Py_ssize_t per = j.nto * j.ntc
    cdef Py_ssize_t g = t // per
    cdef Py_ssize_t bo = (t - g * per) // j.ntc
    cdef Py_ssize_t bc = t - g * per - bo * j.ntc
    cdef Py_ssize_t CT = j.cg * j.ntaps
    cdef Py_ssize_t o_lo = bo * j.to, o_hi = min(j.og, (bo + 1) * j.to)
    cdef Py_ssize_t c_lo = bc * j.tc, c_hi = min(CT, (bc + 1) * j.tc)
    # the input channels the task's (channel, tap) pairs read
    cdef Py_ssize_t ch_lo = c_lo // j.ntaps, nch = (c_hi - 1) // j.ntaps + 1 - c_lo // j.ntaps
    cdef real_t* gw = <real_t*>j.gw + g * j.og * CT
    # one output channel per group (depthwise): a 1 x WC1 register block, else WO x WC
    cdef int one = j.og == 1
    cdef Py_ssize_t wo = 1 if one else FC_NN_WO
    cdef Py_ssize_t wc = FC_NN_WC1 if one else FC_NN_WC
    cdef const real_t* gp[FC_NN_WO]
    cdef const real_t* xp[FC_NN_WC1 + FC_NN_WC]
    cdef Py_ssize_t vl = fc_nn_vl(0 if real_t is float else 1)
    cdef Py_ssize_t blk = wo * wc * vl
    cdef Py_ssize_t nmo = (o_hi - o_lo + wo - 1) // wo
    cdef Py_ssize_t nmc = (c_hi - c_lo + wc - 1) // wc
    cdef Py_ssize_t n, k0, nk, mo, mc, o0, c0, a, b, oi, ci, i
    cdef real_t* ab
    cdef const char* src
    cdef real_t* row
    # the task's tile: its sums, a sample's gradient rows (pitch WB, zero past Wo
    # and past Ho * WB up to K), its channels' packed planes
    cdef real_t* acc = <real_t*>(j.scratch + slot * j.scratch_bytes)
    cdef real_t* gt = acc + (j.to + wo) * (j.tc + wc) * vl
    cdef real_t* xt = gt + j.to * j.K
    cdef _NNPack pk
    memset(acc, 0, nmo * nmc * blk * sizeof(real_t))
    pk.s0, pk.s1, pk.s2, pk.s3 = j.xs0, j.xs1, j.xs2, j.xs3
    pk.C, pk.H, pk.W = nch, j.H, j.W
    pk.sn, pk.sc, pk.blk = 0, j.xblk, j.xblk
    pk.sh, pk.sw, pk.HB, pk.WB, pk.oh, pk.ow = j.sh, j.sw, j.HB, j.WB, j.oh, j.ow
    pk.dst = <char*>xt
    for n in range(j.N):
        # the sample's rows, packed where the loops read them; an Inf or NaN stops
        # the task (the rows multiply unread inputs by zeros: Inf * 0 would be NaN)
        for oi in range(o_hi - o_lo):
            src = j.go + n * j.gs0 + (g * j.og + o_lo + oi) * j.gs1
            row = gt + oi * j.K
            for i in range(j.Ho):
                memcpy(row + i * j.WB, src + i * j.gs2, j.Wo * sizeof(real_t))
                memset(row + i * j.WB + j.Wo, 0, (j.WB - j.Wo) * sizeof(real_t))
            memset(row + j.Ho * j.WB, 0, (j.K - j.Ho * j.WB) * sizeof(real_t))
        pk.src = j.x + n * j.xs0 + (g * j.cg + ch_lo) * j.xs1
        for i in range(nch):
            _nn_pack_plane(tag, &pk, i)
        if (_exceeds(gt, (o_hi - o_lo) * j.K, INFINITY)
                or _exceeds(xt, nch * j.xblk, INFINITY)):
            j.failed = 2
            return
        # chunks of the sum: a chunk's gradient rows and the input rows they meet
        # stay in L1 while the block's register blocks pass over them
        k0 = 0
        while k0 < j.K:
            nk = min(j.kc, j.K - k0)
            for mo in range(nmo):
                o0 = o_lo + mo * wo
                for a in range(wo):
                    # past the block's end: repeat its last row, whose sums are dropped
                    oi = min(o0 + a, o_hi - 1)
                    gp[a] = gt + (oi - o_lo) * j.K + k0
                for mc in range(nmc):
                    c0 = c_lo + mc * wc
                    for b in range(wc):
                        ci = min(c0 + b, c_hi - 1)
                        xp[b] = xt + (ci // j.ntaps - ch_lo) * j.xblk + j.toff[ci % j.ntaps] + k0
                    ab = acc + (mo * nmc + mc) * blk
                    if real_t is float:
                        if one:
                            fc_nn_dot1_f(<const float*>gp[0], <const float* const*>xp,
                                         nk // vl, <float*>ab)
                        else:
                            fc_nn_dot_f(<const float* const*>gp, <const float* const*>xp,
                                        nk // vl, <float*>ab)
                    else:
                        if one:
                            fc_nn_dot1_d(<const double*>gp[0], <const double* const*>xp,
                                         nk // vl, <double*>ab)
                        else:
                            fc_nn_dot_d(<const double* const*>gp, <const double* const*>xp,
                                        nk // vl, <double*>ab)
            k0 += j.kc
    for mo in range(nmo):
        o0 = o_lo + mo * wo
        for mc in range(nmc):
            c0 = c_lo + mc * wc
            ab = acc + (mo * nmc + mc) * blk
            if real_t is float:
                fc_nn_dot_end_f(<float*>ab, <int>wc, <float*>gw + o0 * CT + c0, CT,
                                <int>min(wo, o_hi - o0), <int>min(wc, c_hi - c0))
            else:
                fc_nn_dot_end_d(<double*>ab, <int>wc, <double*>gw + o0 * CT + c0, CT,
                                <int>min(wo, o_hi - o0), <int>min(wc, c_hi - c0))


cdef void _nn_gw_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNGradW* j = <_NNGradW*>ctx
    if j.kind == 0:
        _nn_gw_run(<float*>NULL, j, t, slot)
    else:
        _nn_gw_run(<double*>NULL, j, t, slot)


def nn_grad_weight(const real_t[:, :, :, :] x, const real_t[:, :, :, ::1] go, Py_ssize_t G,
                   Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t HB, Py_ssize_t WB, Py_ssize_t oh,
                   Py_ssize_t ow, const Py_ssize_t[::1] toff, real_t[:, :, ::1] gw,
                   Py_ssize_t kc, Py_ssize_t to, Py_ssize_t tc, int nthreads):
    """gw[g*og + o, c, t] = sum_{n, q < K} go_rows[n, g*og + o][q]
    * x_planes[n, g*cg + c][toff[t] + q] for ``G`` groups, gw shaped (G*og, cg, ntaps),
    where x_planes are nn_pack's planes of ``x`` (stride phases sh x sw, HB x WB,
    offsets oh, ow) and go_rows the gradient's rows with pitch WB, zero past its
    width. Each task owns a block of ``to`` x ``tc`` sums (output channel,
    (channel, tap)), packs each sample's rows and planes for them into its tile and
    adds chunks of ``kc`` (a multiple of the lane count) in order: the vector partial
    sums of every output run over (n, q) in one order, whatever the blocks and the
    thread count. Returns False, gw unfinished, if x or go holds an Inf or NaN."""
    cdef Py_ssize_t O = gw.shape[0], cg = gw.shape[1], ntaps = gw.shape[2]
    cdef Py_ssize_t N = x.shape[0], Ho = go.shape[2], Wo = go.shape[3]
    if O == 0 or cg == 0 or ntaps == 0:
        return True
    cdef Py_ssize_t vl = fc_nn_vl(0 if real_t is float else 1)
    if (kc % vl or kc <= 0 or toff.shape[0] != ntaps or G <= 0 or O % G
            or go.shape[0] != N or go.shape[1] != O or x.shape[1] != G * cg or Wo > WB):
        raise ValueError("fastconv: bad nn_grad_weight sizes")
    if N == 0 or Ho * Wo == 0:
        gw[:, :, :] = 0
        return True
    cdef Py_ssize_t og = O // G
    cdef Py_ssize_t t, tmax = 0
    for t in range(ntaps):
        tmax = max(tmax, toff[t])
    cdef _NNGradW j
    j.K = (Ho * WB + vl - 1) // vl * vl
    # a plane block holds the planes and every read past them: zeros
    j.xblk = (max(sh * sw * HB * WB, tmax + j.K) + 15) // 16 * 16
    j.x = <const char*>&x[0, 0, 0, 0] if x.shape[2] * x.shape[3] > 0 else NULL
    j.go = <const char*>&go[0, 0, 0, 0]
    j.toff = &toff[0]
    j.gw = <char*>&gw[0, 0, 0]
    j.xs0, j.xs1, j.xs2, j.xs3 = x.strides[0], x.strides[1], x.strides[2], x.strides[3]
    j.H, j.W = x.shape[2], x.shape[3]
    if j.x == NULL:
        j.H = 0
    j.gs0, j.gs1, j.gs2 = go.strides[0], go.strides[1], go.strides[2]
    j.Ho, j.Wo = Ho, Wo
    j.sh, j.sw, j.HB, j.WB, j.oh, j.ow = sh, sw, HB, WB, oh, ow
    j.N, j.G, j.og, j.cg, j.ntaps, j.kc = N, G, og, cg, ntaps, kc
    j.to, j.tc = max(1, min(to, og)), max(1, min(tc, cg * ntaps))
    j.nto = (og + j.to - 1) // j.to
    j.ntc = (cg * ntaps + j.tc - 1) // j.tc
    j.kind = 0 if real_t is float else 1
    j.failed = 0
    cdef Py_ssize_t ntasks = G * j.nto * j.ntc
    cdef int nt = max(1, min(nthreads, <int>ntasks))
    # channels a task's pairs can span
    cdef Py_ssize_t nch = min(cg, (j.tc + ntaps - 2) // ntaps + 1)
    j.scratch_bytes = (((j.to + FC_NN_WO) * (j.tc + FC_NN_WC1) * vl + j.to * j.K
                        + nch * j.xblk) * sizeof(real_t) + 63) // 64 * 64
    cdef char* scratch = <char*>malloc(j.scratch_bytes * nt + 64)
    if scratch == NULL:
        raise MemoryError("fastconv: could not allocate the weight gradient's tiles")
    j.scratch = <char*>((<size_t>scratch + 63) // 64 * 64)
    with nogil:
        _parallel(ntasks, nt, _nn_gw_task, &j)
    free(scratch)
    return j.failed == 0


# ---- weight gradient with output channels in the lanes (_nn_gw.h) -------------

cdef extern from "_nn_gw.h":
    int fc_nn_gwo_ct(int ov) noexcept nogil
    int fc_nn_gwo_ov() noexcept nogil
    void fc_nn_gwo_f(int ov, const float* g, Py_ssize_t gs, const float* const* x,
                     Py_ssize_t nr, Py_ssize_t wo, Py_ssize_t wb, float* acc) noexcept nogil
    void fc_nn_gwo_d(int ov, const double* g, Py_ssize_t gs, const double* const* x,
                     Py_ssize_t nr, Py_ssize_t wo, Py_ssize_t wb, double* acc) noexcept nogil
    void fc_nn_lanes_f(const float* src, Py_ssize_t ss, Py_ssize_t nq, float* dst) noexcept nogil
    void fc_nn_lanes_d(const double* src, Py_ssize_t ss, Py_ssize_t nq,
                       double* dst) noexcept nogil
    void fc_nn_prefetch(const void* p, Py_ssize_t nbytes) noexcept nogil


def nn_gwo_blocks():
    """The register blocks of the lanes weight gradient on this build: {vectors of
    output channels (ov): (channel, tap) pairs}, for the ov worth taking."""
    return {ov: fc_nn_gwo_ct(ov) for ov in (4, 2, 1) if ov <= fc_nn_gwo_ov()}


ctypedef struct _NNGradWO:
    const char* x
    const char* go
    const Py_ssize_t* toff
    char* gw
    char* scratch
    Py_ssize_t xnp, xcp, N, S, G, og, cg, ntaps, nob, Ho, Wo, WB, rows, tb, tc, nto, ntc, vl
    Py_ssize_t scratch_bytes, acc_elems
    int kind, ov, ct
    # fused (the tasks pack their windows): the source's geometry (pk), each tap's
    # offset in a window (wtoff), rows a chunk's window holds past the chunk's
    # (halo), a phase's and a channel's pitch in the window, a slot's window bytes
    int fused
    _NNPack pk
    const Py_ssize_t* wtoff
    Py_ssize_t halo, wpp, wcp, win_bytes
    char* wins


cdef void _nn_gwo_run(real_t* tag, _NNGradWO* j, Py_ssize_t t, int slot) noexcept nogil:
    # task t: batch part s, group g, block bo of output channels, block bc of pairs
    cdef Py_ssize_t per = j.nto * j.ntc
    cdef Py_ssize_t s = t // (j.G * per)
    cdef Py_ssize_t g = (t // per) % j.G
    cdef Py_ssize_t bo = (t % per) // j.ntc
    cdef Py_ssize_t bc = t % j.ntc
    cdef Py_ssize_t CT = j.cg * j.ntaps
    cdef Py_ssize_t vl = j.vl, ov = j.ov, ct = j.ct
    cdef Py_ssize_t b_lo = bo * j.tb, b_hi = min(j.nob, (bo + 1) * j.tb)
    cdef Py_ssize_t c_lo = bc * j.tc, c_hi = min(CT, (bc + 1) * j.tc)
    cdef Py_ssize_t nmo = (b_hi - b_lo) // ov
    cdef Py_ssize_t nmc = (c_hi - c_lo + ct - 1) // ct
    cdef Py_ssize_t blk = ov * ct * vl
    cdef Py_ssize_t P = j.Ho * j.Wo
    cdef real_t* acc = <real_t*>(j.scratch + slot * j.scratch_bytes)
    # the chunk's gradient, blocks of vl channels as pixel-major lanes
    cdef real_t* gt = acc + j.acc_elems
    cdef const real_t* xp[16]
    cdef const real_t* gb
    cdef const real_t* gs
    cdef const real_t* xn = NULL
    cdef Py_ssize_t n, r0, nr, mo, mc, c0, c, ci, o, l, oc, b, q, nl, gq
    cdef real_t* ab
    # fused: the channels the task's pairs read, packed per chunk into its window
    # (window row 0 = the chunk's first row r0, as nn_pack's row r0)
    cdef Py_ssize_t ch_lo = c_lo // j.ntaps, ch_hi = (c_hi - 1) // j.ntaps + 1
    cdef real_t* win = <real_t*>(j.wins + slot * j.win_bytes)
    cdef const Py_ssize_t* toff = j.wtoff if j.fused else j.toff
    cdef Py_ssize_t xcp = j.wcp if j.fused else j.xcp
    cdef Py_ssize_t n_hi = (s + 1) * j.N // j.S
    cdef Py_ssize_t pf_n, pf_r, pf_lo = 0, pf_w = 0, pf_rows, pf_k, pf_e
    cdef Py_ssize_t row_bytes = (j.pk.W - 1) * (j.pk.s3 if j.pk.s3 > 0 else -j.pk.s3) + sizeof(real_t)
    cdef Py_ssize_t row_lead = min(0, (j.pk.W - 1) * j.pk.s3)
    memset(acc, 0, nmo * nmc * blk * sizeof(real_t))
    # chunks of rows: a chunk's gradient, transposed into the task's tile, stays in
    # L1/L2 while the register blocks of (channel, tap) pairs pass over it
    for n in range(s * j.N // j.S, n_hi):
        if not j.fused:
            xn = <const real_t*>j.x + n * j.xnp
        r0 = 0
        while r0 < j.Ho:
            nr = min(j.rows, j.Ho - r0)
            gq = nr * j.Wo
            pf_rows = 0
            if j.fused:
                for c in range(ch_lo, ch_hi):
                    _nn_pack_rows(tag, &j.pk, j.pk.src + n * j.pk.s0 + (g * j.cg + c) * j.pk.s1,
                                  win + (c - ch_lo) * j.wcp, j.wpp, r0, r0 + nr + j.halo,
                                  False)
                # the next chunk's source rows, asked for a slice after each register
                # block below: its packing then copies from L2, not memory (one thread,
                # 64 x 56^2 3x3: the tasks' packing and sums took 4.5% more than the
                # packed-whole's sums without it, 2.5% with it; a channel's rows asked
                # for in one run instead measured no better)
                pf_n, pf_r = n, r0 + nr
                if pf_r >= j.Ho:
                    pf_n, pf_r = n + 1, 0
                if pf_n < n_hi and j.pk.H > 0:
                    pf_lo = max(0, pf_r * j.pk.sh - j.pk.oh)
                    pf_w = min(j.pk.H, (pf_r + min(j.rows, j.Ho - pf_r) + j.halo) * j.pk.sh
                               - j.pk.oh) - pf_lo
                    pf_rows = max(0, pf_w) * (ch_hi - ch_lo)
                pf_k = 0
            for b in range(b_lo, b_hi):
                gs = <const real_t*>j.go + ((n * j.G + g) * j.og + b * vl) * P + r0 * j.Wo
                nl = min(vl, j.og - b * vl)
                ab = gt + (b - b_lo) * gq * vl
                if nl == vl:
                    if real_t is float:
                        fc_nn_lanes_f(<const float*>gs, P, gq, <float*>ab)
                    else:
                        fc_nn_lanes_d(<const double*>gs, P, gq, <double*>ab)
                else:
                    for q in range(gq):
                        for l in range(nl):
                            ab[q * vl + l] = gs[l * P + q]
                        for l in range(nl, vl):
                            ab[q * vl + l] = 0
            for mo in range(nmo):
                gb = gt + mo * ov * gq * vl
                for mc in range(nmc):
                    c0 = c_lo + mc * ct
                    for c in range(ct):
                        # past the block's end: repeat its last pair, whose sums are dropped
                        ci = min(c0 + c, c_hi - 1)
                        if j.fused:
                            xp[c] = win + (ci // j.ntaps - ch_lo) * xcp + toff[ci % j.ntaps]
                        else:
                            xp[c] = (xn + (g * j.cg + ci // j.ntaps) * xcp
                                     + toff[ci % j.ntaps] + r0 * j.WB)
                    ab = acc + (mo * nmc + mc) * blk
                    if real_t is float:
                        fc_nn_gwo_f(<int>ov, <const float*>gb, gq * vl,
                                    <const float* const*>xp, nr, j.Wo, j.WB, <float*>ab)
                    else:
                        fc_nn_gwo_d(<int>ov, <const double*>gb, gq * vl,
                                    <const double* const*>xp, nr, j.Wo, j.WB, <double*>ab)
                    if pf_rows:
                        pf_e = (mo * nmc + mc + 1) * pf_rows // (nmo * nmc)
                        while pf_k < pf_e:
                            fc_nn_prefetch(j.pk.src + pf_n * j.pk.s0
                                           + (g * j.cg + ch_lo + pf_k // pf_w) * j.pk.s1
                                           + (pf_lo + pf_k % pf_w) * j.pk.s2 + row_lead,
                                           row_bytes)
                            pf_k += 1
            r0 += nr
    # the part's sums: gw[s, g*og + o, pair]
    cdef real_t* gw = <real_t*>j.gw + (s * j.G + g) * j.og * CT
    # row by row of gw: a lane's sums are strided in the tile (L2), contiguous in gw
    cdef real_t* gwr
    for mo in range(nmo):
        for o in range(ov):
            oc = (b_lo + mo * ov + o) * vl
            for l in range(min(vl, j.og - oc)):
                gwr = gw + (oc + l) * CT
                for mc in range(nmc):
                    c0 = c_lo + mc * ct
                    ab = acc + (mo * nmc + mc) * blk + o * vl + l
                    for c in range(min(ct, c_hi - c0)):
                        gwr[c0 + c] = ab[c * ov * vl]


cdef void _nn_gwo_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNGradWO* j = <_NNGradWO*>ctx
    if j.kind == 0:
        _nn_gwo_run(<float*>NULL, j, t, slot)
    else:
        _nn_gwo_run(<double*>NULL, j, t, slot)


cdef void _nn_gwo_sum_run(real_t* tag, _NNGradWO* j, Py_ssize_t t) noexcept nogil:
    # output channel t: the parts' sums added to part 0's in order
    cdef Py_ssize_t CT = j.cg * j.ntaps, s, c
    cdef real_t* d = <real_t*>j.gw + t * CT
    cdef const real_t* p
    for s in range(1, j.S):
        p = <const real_t*>j.gw + (s * j.G * j.og + t) * CT
        for c in range(CT):
            d[c] += p[c]


cdef void _nn_gwo_sum_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNGradWO* j = <_NNGradWO*>ctx
    if j.kind == 0:
        _nn_gwo_sum_run(<float*>NULL, j, t)
    else:
        _nn_gwo_sum_run(<double*>NULL, j, t)


def nn_grad_weight_lanes(const real_t[::1] x, Py_ssize_t xnp, Py_ssize_t xcp,
                         const real_t[:, :, :, ::1] go, Py_ssize_t G,
                         const Py_ssize_t[::1] toff, Py_ssize_t WB, real_t[:, :, :, ::1] gw,
                         int ov, Py_ssize_t rows, Py_ssize_t tb, Py_ssize_t tc,
                         int nthreads, const real_t[:, :, :, :] src=None, Py_ssize_t sh=1,
                         Py_ssize_t sw=1, Py_ssize_t HB=0, Py_ssize_t oh=0, Py_ssize_t ow=0):
    """gw[s, g*og + o, c, t] = sum over the samples n of batch part s, i < Ho, j < Wo
    of go[n, g*og + o, i, j] * x[n*xnp + (g*cg + c)*xcp + toff[t] + i*WB + j], gw
    shaped (S, G*og, cg, ntaps): S parts of the batch (samples [s*N/S, (s+1)*N/S)),
    added in order into gw[0] at the end. Each task owns one part, ``tb`` blocks of vl
    output channels (vl the vector length; ``tb`` a multiple of ``ov``, which must
    divide the blocks per group) and ``tc`` (channel, tap) pairs, and walks its
    samples in chunks of ``rows`` output rows; every sum runs over (n, i, j) in order,
    whatever the blocks and the thread count.

    With ``src`` (N, G*cg, H, W; any strides) in place of ``x``: x is nn_pack's
    planes of src (stride phases sh x sw, HB x WB, offsets oh, ow; toff[t] = phase *
    HB*WB + offset in the plane), and each task packs, per chunk, only the rows of
    the channels its pairs read into its thread's window: the same values at the
    same relative offsets, so the same bits, and no input-sized buffer."""
    cdef Py_ssize_t S = gw.shape[0], O = gw.shape[1], cg = gw.shape[2], ntaps = gw.shape[3]
    cdef Py_ssize_t N = go.shape[0], Ho = go.shape[2], Wo = go.shape[3]
    if S == 0 or O == 0 or cg == 0 or ntaps == 0:
        return
    cdef Py_ssize_t vl = fc_nn_vl(0 if real_t is float else 1)
    if (G <= 0 or O % G or go.shape[1] != O or ov not in (1, 2, 4)
            or toff.shape[0] != ntaps or S > max(N, 1)):
        raise ValueError("fastconv: bad nn_grad_weight_lanes sizes")
    cdef Py_ssize_t og = O // G
    cdef Py_ssize_t nob = (og + vl - 1) // vl
    if nob % ov or tb % ov or tb <= 0 or tc <= 0 or rows <= 0:
        raise ValueError("fastconv: bad nn_grad_weight_lanes blocks")
    cdef int fused = src is not None
    if fused and (src.shape[0] != N or src.shape[1] != G * cg or min(sh, sw, oh, ow) < 0
                  or sh == 0 or sw == 0 or Wo > WB or Ho > HB):
        raise ValueError("fastconv: the source does not match the layer")
    if Ho * Wo == 0 or N == 0:
        gw[:, :, :, :] = 0
        return
    cdef Py_ssize_t t, tmax = 0, plane = HB * WB, rem, rmax = 0
    for t in range(ntaps):
        tmax = max(tmax, toff[t])
        if fused:
            if toff[t] < 0 or (sh * sw > 1 and toff[t] >= sh * sw * plane):
                raise ValueError("fastconv: a tap outside the planes")
            rmax = max(rmax, toff[t] % plane if sh * sw > 1 else toff[t])
    if not fused and (N - 1) * xnp + (G * cg - 1) * xcp + tmax + (Ho - 1) * WB + Wo > x.shape[0]:
        raise ValueError("fastconv: nn_grad_weight_lanes input buffer too small")
    cdef int ct = fc_nn_gwo_ct(ov)
    cdef _NNGradWO j
    j.fused = fused
    j.x = <const char*>&x[0] if not fused else NULL
    j.go = <const char*>&go[0, 0, 0, 0]
    j.toff = &toff[0]
    j.gw = <char*>&gw[0, 0, 0, 0]
    j.xnp, j.xcp, j.N, j.S, j.G, j.og, j.cg = xnp, xcp, N, S, G, og, cg
    j.ntaps, j.nob, j.Ho, j.Wo, j.WB, j.vl = ntaps, nob, Ho, Wo, WB, vl
    j.rows = min(rows, Ho)
    j.tb, j.tc, j.ov, j.ct = min(tb, nob), tc, ov, ct
    j.nto = (nob + j.tb - 1) // j.tb
    j.ntc = (cg * ntaps + tc - 1) // tc
    j.kind = 0 if real_t is float else 1
    cdef Py_ssize_t ntasks = S * G * j.nto * j.ntc
    cdef int nt = max(1, min(nthreads, <int>ntasks))
    # a task's tile: its partial sums (its channel blocks x its pairs rounded up to
    # whole register blocks), then a chunk of its gradient rows as lanes
    j.acc_elems = (j.tb * vl * ((tc + ct - 1) // ct) * ct + 15) // 16 * 16
    j.scratch_bytes = ((j.acc_elems + j.tb * vl * j.rows * Wo) * sizeof(real_t) + 63) // 64 * 64
    cdef Py_ssize_t nch = 0, lines
    cdef Py_ssize_t* wtoff = NULL
    j.win_bytes = 0
    if fused:
        # a chunk of nr rows reads, in every phase, rows [r0, r0 + nr + halo): its
        # farthest tap's in-plane offset plus the chunk's last row's Wo columns
        # (with unit stride the shared pitch lets them run into the next row)
        j.halo = (rmax + Wo + WB - 1) // WB - 1
        j.wpp = (j.rows + j.halo) * WB
        # an odd number of cache lines a channel, as _nn_win_setup's
        lines = (sh * sw * j.wpp * <Py_ssize_t>sizeof(real_t) + 63) // 64
        j.wcp = (lines | 1) * 64 // <Py_ssize_t>sizeof(real_t)
        # channels a task's pairs can span
        nch = min(cg, (min(tc, cg * ntaps) + ntaps - 2) // ntaps + 1)
        j.win_bytes = (nch * j.wcp * <Py_ssize_t>sizeof(real_t) + 63) // 64 * 64
        wtoff = <Py_ssize_t*>malloc(ntaps * sizeof(Py_ssize_t))
        if wtoff == NULL:
            raise MemoryError("fastconv: could not allocate the weight gradient's offsets")
        for t in range(ntaps):
            rem = toff[t] % plane if sh * sw > 1 else toff[t]
            wtoff[t] = (toff[t] - rem) // max(1, plane) * j.wpp + rem
        j.wtoff = wtoff
        _nn_source(&j.pk, src, sh, sw, HB, WB, oh, ow)
    cdef char* scratch = <char*>malloc(j.scratch_bytes * nt + 64)
    # the windows zeroed once (fresh pages come zeroed): the tasks then write only
    # their rows' values, a row's padding columns staying zero in every chunk (zeros,
    # values, zeros were three library calls a row: 8 x 256 x 14^2, one thread, the
    # call took 1.031x the packed-whole's time with them, 1.017x without)
    cdef char* wins = <char*>calloc(j.win_bytes * nt + 64, 1) if fused else NULL
    if scratch == NULL or (fused and wins == NULL):
        free(scratch)
        free(wins)
        free(wtoff)
        raise MemoryError("fastconv: could not allocate the weight gradient's tiles")
    j.scratch = <char*>((<size_t>scratch + 63) // 64 * 64)
    j.wins = <char*>((<size_t>wins + 63) // 64 * 64)
    with nogil:
        _parallel(ntasks, nt, _nn_gwo_task, &j)
        if S > 1:
            _parallel(O, max(1, min(nthreads, <int>O)), _nn_gwo_sum_task, &j)
    free(scratch)
    free(wins)
    free(wtoff)


# ---- the bias gradient: each channel's sum over the batch and the pixels -------

ctypedef struct _NNSum:
    const char* go
    char* out
    Py_ssize_t N, O, HW, per
    int kind


cdef void _nn_sum_run(real_t* tag, _NNSum* j, Py_ssize_t t) noexcept nogil:
    # 16 running sums in float64, each over every 16th value, added in a fixed
    # order at the end: a loop the compiler vectorises (one running sum is bound
    # by the add's latency) with the same bits for any thread count
    cdef double acc[16]
    cdef double tot
    cdef const real_t* p
    cdef Py_ssize_t o, n, i, k, m = j.HW - j.HW % 16
    for o in range(t * j.per, min(j.O, (t + 1) * j.per)):
        for k in range(16):
            acc[k] = 0
        for n in range(j.N):
            p = <const real_t*>j.go + (n * j.O + o) * j.HW
            i = 0
            while i < m:
                for k in range(16):
                    acc[k] += p[i + k]
                i += 16
            for i in range(m, j.HW):
                acc[i - m] += p[i]
        tot = 0
        for k in range(16):
            tot += acc[k]
        (<real_t*>j.out)[o] = <real_t>tot


cdef void _nn_sum_task(void* ctx, Py_ssize_t t, int slot) noexcept nogil:
    cdef _NNSum* j = <_NNSum*>ctx
    if j.kind == 0:
        _nn_sum_run(<float*>NULL, j, t)
    else:
        _nn_sum_run(<double*>NULL, j, t)


def nn_channel_sums(const real_t[:, :, :, ::1] go, real_t[::1] out, int nthreads):
    """out[o] = the sum of go[:, o] (N, O, H, W; contiguous), in float64: the bias
    gradient. numpy's go.sum(axis=(0, 2, 3)) took 0.25 ms of a 20 ms 64 x 56^2
    layer's backward on one thread."""
    cdef Py_ssize_t N = go.shape[0], O = go.shape[1]
    if out.shape[0] != O:
        raise ValueError("fastconv: nn_channel_sums needs one sum a channel")
    cdef _NNSum j
    j.go = <const char*>&go[0, 0, 0, 0] if go.size > 0 else NULL
    j.out = <char*>&out[0] if O > 0 else NULL
    j.N, j.O, j.HW = N, O, go.shape[2] * go.shape[3]
    j.kind = 0 if real_t is float else 1
    if O == 0:
        return
    if j.go == NULL:
        for o in range(O):
            out[o] = 0
        return
    # channels of ~64 KiB of gradient a task, at least a few tasks a thread
    j.per = max(1, min((64 << 10) // max(1, N * j.HW * <Py_ssize_t>sizeof(real_t)),
                       O // max(1, 4 * nthreads)))
    cdef Py_ssize_t ntasks = (O + j.per - 1) // j.per
    with nogil:
        _parallel(ntasks, max(1, min(nthreads, <int>ntasks)), _nn_sum_task, &j)
