"""The direct road of fastconv.nn: compiled multi-channel kernels, no im2col matrix.

The input is repacked into zero-padded planes split by stride phase, their rows
flattened with one pitch WB (csrc/_nn_direct.pxi, ``nn_pack``; or each task packs
the rows it reads into its window: see ``packing``). An output
pixel ``q = i * WB + j`` then reads input ``q + toff[t]`` at tap ``t`` in every
channel, and the layer is a sum over (channel, tap) of shifted contiguous rows:

- forward: blocks of output channels x strips of pixels in vector registers
  (``nn_conv``), or, where the strips would compute many pixels that are not
  outputs (small planes), blocks of output channels in the vector lanes x runs of
  one output row's pixels (``nn_conv_lanes``): the same sums in the same order;
- input gradient (and ``conv_transpose2d``): the same kernel over the output
  gradient with the flipped, channel-transposed weights, once per stride phase of
  the input (the taps that reach that phase);
- weight gradient: output channels in the vector lanes, each pixel's gradient
  vectors times broadcast inputs (``nn_grad_weight_lanes``), where a group has a
  vector of output channels; else (depthwise) blocks of dot products of the
  gradient's rows with the shifted input rows (``nn_grad_weight``). Each sum runs
  in a fixed order (the batch cut into a constant number of parts, added in order).

Threads are fastconv's pool's; every result element is computed by one task in
one order, so results do not depend on the thread count.
"""
from __future__ import annotations

from functools import lru_cache
from typing import ContextManager, NamedTuple

import numpy as np

from .._engine import kernels
from .._runtime.switch import Switch
from ._args import Geometry

# Bytes of repacked input a forward task's strips should read (its channels x its
# strips plus the kernel's rows): about a quarter of the 2 MiB L2 of the
# development machine, so the strips' input stays in L2 while every output-channel
# block passes over it.
_WINDOW_BYTES = 256 << 10
# The weight gradient with output channels in the lanes (layers whose groups have
# at least a vector of output channels): a task's partial sums (its output
# channels x its (channel, tap) pairs) take up to _GW_ACC_BYTES, in L2 with the
# task's chunk of gradient rows, which it transposes into lanes, _GW_ROW_PIXELS
# output pixels at a time. Chunks of 64, 128, 256, 512, 1024 and 2048 pixels
# measured 79, 84, 87, 89, 89 and 89% of the FMA peak on one core (issue 22's
# 8x64x56^2 layer, float32): larger chunks spend less on loading the register
# blocks' sums. The batch is cut into parts (their sums added in order at the end)
# up to _GW_TASKS tasks: a constant, so the bits do not depend on the thread count.
_GW_ACC_BYTES = 160 << 10
_GW_ROW_PIXELS = 1024
_GW_TASKS = 16
# The other layers' weight gradient (depthwise, few output channels per group): a
# task owns up to _GW_OUT output channels x _GW_TAPS (channel, tap) sums, kept as
# vector partial sums, packs each sample's rows and planes for them into its tile
# and walks them in chunks of _GW_CHUNK_BYTES. Chunks of 2, 4, 8, 16 and 32 KiB
# measured 56-73, 59-78, 65-82, 65-85 and 68-89 GFLOP/s on one core (issue 22's
# layers, float32, other jobs running, before the per-sample tiles).
_GW_OUT = 32
_GW_TAPS = 144
_GW_CHUNK_BYTES = 16 << 10


_route = Switch(("auto", "direct", "gemm"), "route")
# The direct road's kernel: 'auto' picks per layer (_lanes_chosen)
_kernel = Switch(("auto", "strips", "lanes"), "kernel")
# Who packs the input: 'auto' (= 'tasks': each compute task the rows it reads;
# unit-stride forwards and input gradients, and the lanes weight gradient at any
# stride) or 'whole' (nn_pack, once, before the sums; as strided forwards do)
_packing = Switch(("auto", "tasks", "whole"), "packing")


def route(name: str) -> ContextManager[None]:
    """Force the multi-channel road ('direct', 'gemm' or 'auto') inside a ``with``
    block (tests and benchmarks; process-wide, not thread-local)."""
    return _route.forced(name)


def kernel(name: str) -> ContextManager[None]:
    """Force the direct road's kernel ('strips', 'lanes' or 'auto') inside a
    ``with`` block (tests and benchmarks; process-wide, not thread-local)."""
    return _kernel.forced(name)


def packing(name: str) -> ContextManager[None]:
    """Force who packs a layer's input ('tasks', 'whole' or 'auto') inside a
    ``with`` block (tests and benchmarks; process-wide): see _tasks_pack and
    _grad_weight_lanes."""
    return _packing.forced(name)


def _tasks_pack(calls: int, stride: tuple[int, int]) -> bool:
    """Whether the compute tasks pack their own rows: one call on unit-stride
    planes (a strided layer's phases, or several calls, share one packing)."""
    return calls == 1 and stride == (1, 1) and _packing.value != "whole"


def chosen(w_shape: tuple, geom: Geometry) -> bool:
    """Whether a multi-channel layer runs on the direct kernels (else im2col + BLAS).

    A 1x1 kernel with unit stride and no padding is a plain matrix product of the
    input's planes: BLAS's blocking for it has nothing to repack."""
    if _route.value != "auto":
        return _route.value == "direct"
    _, _, kh, kw = w_shape
    plain = geom.stride == (1, 1) and geom.pad == ((0, 0), (0, 0))
    return not (kh == kw == 1 and plain)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _mod():
    return kernels.build()


def _info(mod, dt: np.dtype) -> dict:
    return mod.nn_geometry(dt == np.float64)


def _ob(og: int) -> int:
    """Output channels per register block: the largest that og fills, so few zero
    rows are computed for nothing."""
    return 8 if og >= 6 else 4 if og >= 3 else max(og, 1)


def _pack(mod, info: dict, src: np.ndarray, s: tuple[int, int], hb: int, wb: int,
          off: tuple[int, int], slack: int, nthreads: int) -> tuple[np.ndarray, int]:
    """``src`` (N, C, H, W) as planes per stride phase, rows flattened with pitch
    ``wb``: block[n, c][(ph, pw), i, j] = src[n, c, i*sh + ph - off_h, j*sw + pw - off_w],
    blocks (N, C)-ordered, each followed by ``slack`` zeros and a row (reads past the
    planes: a strip's tail, a row's right padding). Returns the buffer and the
    block size."""
    n, c = src.shape[:2]
    lanes = info["lanes"]
    blk = s[0] * s[1] * hb * wb + slack + wb + 2 * lanes
    blk = _cdiv(blk, 16) * 16
    buf = np.empty(n * c * blk + 16, src.dtype)
    mod.nn_pack(src, buf, c * blk, blk, blk, s[0], s[1], hb, wb, off[0], off[1], nthreads)
    buf[n * c * blk:] = 0
    return buf, blk


def _shared_pitch(out_w: int, lead: int, data_w: int, extent: int) -> int:
    """Row pitch of a unit-stride plane whose rows hold ``lead`` zeros then ``data_w``
    values, read at columns [0, extent) for ``out_w`` outputs per row.

    A row's reads past the pitch land in the next row's leading zeros (or in the
    zeroed slack after the last row), so the right padding shares the next row's left
    padding: fewer dropped columns per row (3x3, padding 1: 1 of 15 instead of 2 of
    16), the same sums."""
    return max(out_w, lead + data_w, extent - lead)


@lru_cache(maxsize=64)
def _forward_layout(x_shape: tuple, geom: Geometry, k_hw: tuple[int, int]
                    ) -> tuple[int, int, np.ndarray]:
    """Plane height and pitch of the repacked input, and each tap's offset in it
    (read-only: remembered per layer shape, see _forward_setup)."""
    _, _, h, w = x_shape
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    (pt, pb), (pl, pr) = geom.pad
    hb, wb = _cdiv(h + pt + pb, sh), _cdiv(w + pl + pr, sw)
    if sw == 1:
        wb = _shared_pitch(w + pl + pr - dw * (k_hw[1] - 1), pl, w, w + pl + pr)
    toff = np.array([((a * dh % sh) * sw + b * dw % sw) * hb * wb
                     + (a * dh // sh) * wb + b * dw // sw
                     for a in range(k_hw[0]) for b in range(k_hw[1])], np.intp)
    return hb, wb, _frozen(toff)


def _strips_per_task(info: dict, ob: int, cin: int, itemsize: int, wb: int, halo_rows: int,
                     planes: int, q: int, nthreads: int) -> int:
    strip = info["strip"][ob]
    nstrips = _cdiv(q, strip)
    fit = max(1, (_WINDOW_BYTES // max(1, cin * itemsize) - halo_rows * wb) // strip)
    # at least ~4 tasks per thread, so a late thread delays little
    want_groups = max(1, _cdiv(4 * nthreads, max(1, planes)))
    return max(1, min(fit, _cdiv(nstrips, want_groups)))


def _lanes_chosen(og: int, out_hw: tuple[int, int], depth: int, wb: int, strip: int,
                  ob: int, block: int, vl: int) -> bool:
    """Whether the channel-in-lanes kernel computes a layer (else the strips), by
    counting multiply-adds: ``depth`` (input channels x taps) for each computed
    output.

    The strips compute every column of the pitch ``wb`` and whole strips to the
    plane's end, for blocks of ``ob`` output channels; the lanes compute only the
    outputs, for blocks of ``block`` output channels, and transpose each block to
    the output's planes: about a cycle an output, charged as a vector's ``vl``
    multiply-adds. Measured on one core (float32, AVX-512; strips / lanes GFLOP/s):
    256 x 14^2 3x3 95 / 108, 16 x 14^2 3x3 80 / 89, 64 x 56^2 3x3 103 / 101,
    16 x 64^2 5x5 103 / 101, 3 x 224^2 7x7 stride 2 89 / 86."""
    if _kernel.value != "auto":
        return _kernel.value == "lanes"
    ho, wo = out_hw
    strips = _cdiv((ho - 1) * wb + wo, strip) * strip * _cdiv(og, ob) * ob * depth
    lanes = ho * wo * _cdiv(og, block) * block * (depth + vl)
    return lanes < strips


@lru_cache(maxsize=64)
def _row_taps(n_rows: int, step: int, offs: tuple[int, ...], limit: int) -> np.ndarray:
    """(n_rows, 2): for output row u, the taps [lo, hi) from the first to the last
    whose input row u * step + offs[t] lies in [0, limit); the taps outside read
    padding only (any taps between that do are exact zeros, and computed).
    Read-only, remembered: cold, after a layer's large call, its numpy steps took
    80-135 us."""
    rows = np.arange(n_rows)[:, None] * step + np.asarray(offs, np.intp)[None, :]
    ok = (rows >= 0) & (rows < limit)
    some = ok.any(axis=1)
    lo = np.where(some, ok.argmax(axis=1), 0)
    hi = np.where(some, ok.shape[1] - ok[:, ::-1].argmax(axis=1), 0)
    return _frozen(np.ascontiguousarray(np.stack([lo, hi], axis=1), dtype=np.intp))


class _Plan(NamedTuple):
    """How the kernels compute a layer's sums (see _plan)."""

    lanes: bool     # nn_conv_lanes, else nn_conv's strips
    block: int      # lanes: pixels of a row a block; strips: output channels a block
    per_task: int   # lanes: output rows a task; strips: strips a task
    slack: int      # zeros the packed input needs after each plane


def _plan(mod, info: dict, w_shape: tuple, out_shape: tuple, itemsize: int, wb: int,
          halo_rows: int, fused: bool, nthreads: int) -> _Plan:
    """The kernel and its blocking for sums of ``w_shape`` (G, Og, Ci, T) weights into
    ``out_shape`` (N, G*Og, Ho, Wo) outputs, decided before the input is packed: the
    packing's slack depends on it (the lanes read no strip tails: a 256 x 14^2 layer's
    packed input is 40% smaller), and every Python step runs before the large
    compiled calls, which then follow one another (a cold Python step between them
    cost 50-200 us). ``fused``: the tasks pack their own rows (unit stride; the
    lanes' tasks then compute every output-channel block, so there are fewer)."""
    g, og, cin, ntaps = w_shape
    n, _, ho, wo = out_shape
    block, widest = mod.nn_lanes_block(itemsize == 8)
    ob = _ob(og)
    if _lanes_chosen(og, (ho, wo), cin * ntaps, wb, info["strip"][ob], ob, block,
                     info["lanes"]):
        # a row in runs of nearly equal width, none wider than the kernel's widest
        r = _cdiv(wo, max(1, _cdiv(wo, widest)))
        # a task's rows: its input rows in about _WINDOW_BYTES, ~4 tasks per thread
        fit = max(1, _WINDOW_BYTES // max(1, cin * itemsize * wb) - halo_rows)
        tasks = max(1, n * g * (1 if fused else _cdiv(og, block)))
        rb = max(1, min(fit, _cdiv(ho, _cdiv((8 if fused else 4) * nthreads, tasks))))
        return _Plan(True, r, rb, 0)
    sb = _strips_per_task(info, ob, cin, itemsize, wb, halo_rows, n * g,
                          (ho - 1) * wb + wo, nthreads)
    return _Plan(False, ob, sb, info["strip"][ob])


def _conv(mod, plan: _Plan, packed: tuple[np.ndarray, int, int] | None,
          src: tuple[np.ndarray, int, int, int] | None, toff: np.ndarray, w: np.ndarray,
          out: np.ndarray, wb: int, row_taps: np.ndarray, nthreads: int) -> None:
    """out[n, g*og + o] = sum over (c, t) of w[g, o, c, t] times the planes of
    sample n, channel g*ci + c, shifted by toff[t] (``w`` (G, Og, Ci, T), any
    strides, packed by the kernels; ``out`` any strides): nn_conv or nn_conv_lanes
    (which skips the taps outside ``row_taps``, see _row_taps) as ``plan`` says.
    The planes are ``packed`` (buffer, sample and channel pitch; see _pack) or the
    unit-stride planes of ``src`` (array, plane height, top and left offsets), which
    the tasks pack themselves."""
    if src is not None:
        buf, np_, cp = np.empty(0, out.dtype), 0, 0
        extra = src
    else:
        (buf, np_, cp), extra = packed, ()
    if plan.lanes:
        mod.nn_conv_lanes(buf, np_, cp, toff, row_taps, w, out, wb, plan.block, plan.per_task,
                          nthreads, *extra)
    else:
        mod.nn_conv(buf, np_, cp, toff, w, plan.block, out, wb, plan.per_task, nthreads, *extra)


class _Forward(NamedTuple):
    """A forward's layout and plan: everything but the arrays' values (see
    _forward_setup)."""

    hb: int                     # packed planes' height and pitch
    wb: int
    toff: np.ndarray            # each tap's offset, ascending (read-only)
    order: np.ndarray | None    # the taps' order when it is not the kernel's
    row_taps: np.ndarray        # (Ho, 2), see _row_taps (read-only)
    plan: _Plan
    fused: bool                 # the tasks pack their rows (unit stride)


@lru_cache(maxsize=64)
def _forward_setup(isa: str, x_shape: tuple, w_shape: tuple, itemsize: int, geom: Geometry,
                   out_hw: tuple[int, int], nthreads: int, kernel: str, packing: str
                   ) -> _Forward:
    """The Python half of a forward, remembered per layer shape: run cold, right after
    the previous layer's large call left the caches to it, its ~20 numpy and Python
    steps took 0.2-0.3 ms, 2-3% of a 9 ms layer and 15-20% of a depthwise one; a
    remembered layer costs a lookup. ``isa`` (the kernel build's module name), and
    ``kernel`` and ``packing`` (the switches' values) are in the key only: builds
    differ in block sizes, and the switches change the plan."""
    mod = _mod()
    info = _info(mod, np.dtype(np.float64 if itemsize == 8 else np.float32))
    o, cg, kh, kw = w_shape
    g = geom.groups
    hb, wb, toff = _forward_layout(x_shape, geom, (kh, kw))
    (sh, _), (dh, _) = geom.stride, geom.dilation
    # the taps by ascending offset (with a stride they alternate between the phases'
    # planes): the kernels' reads ascend, 6-8% faster on stride-2 layers
    order = np.argsort(toff, kind="stable")
    row_taps = _row_taps(out_hw[0], sh, tuple((int(t) // kw) * dh - geom.pad[0][0]
                                              for t in order), x_shape[2])
    if (order != np.arange(order.size)).any():
        toff = _frozen(np.ascontiguousarray(toff[order]))
    else:
        order = None
    # unit stride: the tasks pack the rows they read (see csrc/_nn_direct.pxi)
    fused = _tasks_pack(1, geom.stride)
    plan = _plan(mod, info, (g, o // g, cg, kh * kw), (x_shape[0], o) + tuple(out_hw), itemsize,
                 wb, (kh - 1) * dh // sh, fused, nthreads)
    return _Forward(hb, wb, toff, None if order is None else _frozen(order), row_taps, plan,
                    fused)


def forward(x: np.ndarray, w: np.ndarray, geom: Geometry, out_hw: tuple[int, int],
            nthreads: int) -> np.ndarray:
    """y (N, O, Ho, Wo) of the C-contiguous ``x`` and ``w`` (same float dtype)."""
    mod = _mod()
    n, c, _, _ = x.shape
    o, cg, kh, kw = w.shape
    g = geom.groups
    f = _forward_setup(mod.__name__, x.shape, w.shape, x.itemsize, geom, tuple(out_hw),
                       nthreads, _kernel.value, _packing.value)
    y = np.empty((n, o) + tuple(out_hw), x.dtype)
    wt = w.reshape(g, o // g, cg, kh * kw)
    if f.order is not None:
        # a gathered copy (~0.3 ms for 256 x 256 x 3 x 3): only where the order changes
        wt = wt[..., f.order]
    off = (geom.pad[0][0], geom.pad[1][0])
    if f.fused:
        _conv(mod, f.plan, None, (x, f.hb) + off, f.toff, wt, y, f.wb, f.row_taps, nthreads)
        return y
    buf, cp = _pack(mod, _info(mod, x.dtype), x, geom.stride, f.hb, f.wb, off, f.plan.slack,
                    nthreads)
    _conv(mod, f.plan, (buf, c * cp, cp), None, f.toff, wt, y, f.wb, f.row_taps, nthreads)
    return y


def channel_sums(go: np.ndarray, out: np.ndarray, nthreads: int) -> None:
    """out[o] = the sum of go[:, o] (C-contiguous (N, O, H, W); float64 sums)."""
    _mod().nn_channel_sums(go, out, nthreads)


def _phase_taps(r: int, s: int, p: int, d: int, k: int) -> list[tuple[int, int]]:
    """(tap, row offset e) of the taps that reach input phase r: input row r + s*u
    gets gradient row u + e from tap a when (r + p - a*d) is a multiple of s."""
    return [(a, (r + p - a * d) // s) for a in range(k) if (r + p - a * d) % s == 0]


class _Phase(NamedTuple):
    """One stride phase of an input gradient (see _grad_input_setup)."""

    ry: int
    rx: int
    taps: tuple[int, ...] | None    # the kernel taps that reach it (None: no tap does)
    toff: np.ndarray | None         # their offsets in the packed gradient (read-only)
    row_taps: np.ndarray | None
    plan: _Plan | None


class _GradInput(NamedTuple):
    hb: int
    wb: int
    top: int
    left: int
    phases: tuple[_Phase, ...]      # the non-empty phases
    fused: bool                     # one call, whose tasks pack the rows they read


@lru_cache(maxsize=64)
def _grad_input_setup(isa: str, go_shape: tuple, w_shape: tuple, in_shape: tuple,
                      itemsize: int, geom: Geometry, nthreads: int, kernel: str,
                      packing: str) -> _GradInput:
    """The Python half of an input gradient, remembered per layer shape, as
    _forward_setup is (``isa``, ``kernel`` and ``packing`` are in the key only)."""
    mod = _mod()
    info = _info(mod, np.dtype(np.float64 if itemsize == 8 else np.float32))
    n, o, ho, wo = go_shape
    _, cg, kh, kw = w_shape
    g = geom.groups
    h, wd = in_shape[2:]
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    (pt, _), (pl, _) = geom.pad
    # the taps by ascending offset (descending kernel index): the kernels' reads then
    # ascend through the gradient's planes, as the forward's do; descending, the
    # loops ran 10-12% slower (56^2 x 64 3x3, 64^2 x 32 5x5, one core)
    rows = [_phase_taps(r, sh, pt, dh, kh)[::-1] for r in range(sh)]
    cols = [_phase_taps(r, sw, pl, dw, kw)[::-1] for r in range(sw)]
    top = max([0] + [-e for taps in rows for _, e in taps])
    left = max([0] + [-e for taps in cols for _, e in taps])
    hu, wu = _cdiv(h, sh), _cdiv(wd, sw)
    hb = max([ho + top] + [hu + e + top for taps in rows for _, e in taps])
    wb = max([wo + left] + [wu + e + left for taps in cols for _, e in taps])
    if sw == 1:
        wb = _shared_pitch(wu, left, wo, wb)
    calls = sum(1 for ry in range(min(sh, h)) for rx in range(min(sw, wd))
                if rows[ry] and cols[rx])
    # the gradient's planes are unit-stride: with one call (stride 1) its tasks pack
    # the rows they read; else the gradient is packed once for the phases' calls
    fused = _tasks_pack(calls, (1, 1))
    phases = []
    for ry in range(min(sh, h)):
        for rx in range(min(sw, wd)):
            if not rows[ry] or not cols[rx]:
                phases.append(_Phase(ry, rx, None, None, None, None))    # no tap reaches
                continue
            view_shape = (n, in_shape[1], _cdiv(h - ry, sh), _cdiv(wd - rx, sw))
            toff = np.array([(ea + top) * wb + eb + left
                             for _, ea in rows[ry] for _, eb in cols[rx]], np.intp)
            taps = tuple(a * kw + b for a, _ in rows[ry] for b, _ in cols[rx])
            row_taps = _row_taps(view_shape[2], 1, tuple(e for _, e in rows[ry]
                                                         for _ in cols[rx]), ho)
            plan = _plan(mod, info, (g, cg, o // g, len(taps)), view_shape, itemsize, wb,
                         kh * dh // sh, fused, nthreads)
            phases.append(_Phase(ry, rx, taps, _frozen(toff), row_taps, plan))
    return _GradInput(hb, wb, top, left, tuple(phases), fused)


def grad_input(go: np.ndarray, w: np.ndarray, geom: Geometry,
               in_shape: tuple[int, int, int, int], nthreads: int) -> np.ndarray:
    """dL/dx (in_shape) from dL/dy ``go`` (N, O, Ho, Wo): for each stride phase of
    x, the correlation of the padded gradient with the flipped, channel-transposed
    taps that reach that phase."""
    mod = _mod()
    o, cg, kh, kw = w.shape
    g = geom.groups
    (sh, sw) = geom.stride
    s = _grad_input_setup(mod.__name__, go.shape, w.shape, tuple(in_shape), go.itemsize, geom,
                          nthreads, _kernel.value, _packing.value)
    wflat = w.reshape(g, o // g, cg, kh * kw)
    gx = np.empty(in_shape, go.dtype)
    buf = None
    for ph in s.phases:
        view = gx[:, :, ph.ry::sh, ph.rx::sw]
        if ph.taps is None:
            view[...] = 0
            continue
        # every tap, reversed (stride 1): a view, not a gathered copy; the
        # channel-transposed weights: the gradient's channels are the inputs
        taps = (wflat[..., ::-1] if ph.taps == tuple(range(kh * kw))[::-1]
                else wflat[..., list(ph.taps)]).transpose(0, 2, 1, 3)
        if s.fused:
            _conv(mod, ph.plan, None, (go, s.hb, s.top, s.left), ph.toff, taps, view, s.wb,
                  ph.row_taps, nthreads)
            continue
        if buf is None:
            buf, cp = _pack(mod, _info(mod, go.dtype), go, (1, 1), s.hb, s.wb, (s.top, s.left),
                            max(p.plan.slack for p in s.phases if p.plan is not None),
                            nthreads)
        _conv(mod, ph.plan, (buf, go.shape[1] * cp, cp), None, ph.toff, taps, view, s.wb,
              ph.row_taps, nthreads)
    return gx


def _lanes_road(og: int, lanes: int) -> bool:
    """Whether the weight gradient puts output channels in the lanes: when at least
    7/8 of the lanes hold a channel (a group of 4 output channels used a quarter of
    them and ran at 23 GFLOP/s against the rows' 61)."""
    return 8 * og >= 7 * _cdiv(og, lanes) * lanes


def _grad_weight_lanes(x: np.ndarray, go: np.ndarray, geom: Geometry,
                       w_shape: tuple[int, int, int, int], nthreads: int) -> np.ndarray:
    """dL/dW (w_shape) with output channels in the lanes: gw[o, c, t] = sum over the
    batch and the output pixels of go[n, o, i, j] * x_packed[n, c, i*WB + j + toff[t]],
    the batch cut into parts whose sums are added in order.

    Each task packs, per chunk of rows, the rows of its channels it reads into its
    thread's window (any stride: the chunk's rows of every phase), not the whole
    input into an input-sized buffer: the extra memory is the output's parts and
    the tiles. Where several tasks read the same channels (layers with more than 4
    vectors of output channels) each packs them: on 8 x 256 x 14^2 3x3 (4 tasks a
    channel) 1-2% slower than the whole packing, within 1% or faster on the other
    layers of issue 22 (one core; docs/performance.md)."""
    mod = _mod()
    info = _info(mod, x.dtype)
    n, c, _, _ = x.shape
    _, o, _, wo = go.shape
    _, cg, kh, kw = w_shape
    g = geom.groups
    lanes = info["lanes"]
    hb, wb, toff = _forward_layout(x.shape, geom, (kh, kw))
    nob = _cdiv(o // g, lanes)
    # the widest register block the channel vectors fill
    ov, ct = next((v, t) for v, t in mod.nn_gwo_blocks().items() if nob % v == 0)
    # up to 4 vectors of output channels a task, and as many pairs as its sums' room
    tb = min(nob, 4) // ov * ov
    pairs = cg * kh * kw
    ntc = _cdiv(pairs, max(ct, _GW_ACC_BYTES // (tb * lanes * x.itemsize) // ct * ct))
    tc = _cdiv(_cdiv(pairs, ntc), ct) * ct
    parts = max(1, min(n, _cdiv(_GW_TASKS, g * _cdiv(nob, tb) * ntc)))
    gw = np.empty((parts, o, cg, kh * kw), x.dtype)
    rows = max(1, _GW_ROW_PIXELS // wo)
    off = (geom.pad[0][0], geom.pad[1][0])
    if _packing.value != "whole":
        # each task packs its chunks' rows of its channels (every stride: the
        # phases' rows of a chunk are packed together)
        mod.nn_grad_weight_lanes(np.empty(0, x.dtype), 0, 0, go, g, toff, wb, gw, ov, rows,
                                 tb, tc, nthreads, x, *geom.stride, hb, *off)
    else:
        xbuf, blk = _pack(mod, info, x, geom.stride, hb, wb, off, max(info["strip"].values()),
                          nthreads)
        mod.nn_grad_weight_lanes(xbuf, c * blk, blk, go, g, toff, wb, gw, ov, rows, tb, tc,
                                 nthreads)
    # a copy when there are parts: the result should not hold the others' memory
    return (gw[0].copy() if parts > 1 else gw[0]).reshape(w_shape)


def grad_weight(x: np.ndarray, go: np.ndarray, geom: Geometry,
                w_shape: tuple[int, int, int, int], nthreads: int) -> np.ndarray | None:
    """dL/dW (w_shape) of the C-contiguous ``x`` and ``go`` (same float dtype): output
    channels in the lanes where a group has enough of them (only the products torch
    forms), else dot products of rows, which give None when an input holds an Inf or
    NaN (the caller then takes the im2col road)."""
    if _lanes_road(w_shape[0] // geom.groups, _info(_mod(), x.dtype)["lanes"]):
        return _grad_weight_lanes(x, go, geom, w_shape, nthreads)
    return _grad_weight_rows(x, go, geom, w_shape, nthreads)


def _gw_blocks(og: int, ct: int, groups: int, dot: tuple[int, int], nthreads: int
               ) -> tuple[int, int]:
    """A weight-gradient task's block (output channels, (channel, tap) pairs): large,
    so each chunk of the gradient is read by few tasks, yet a few tasks per thread.
    Any blocks give the same bits: each sum runs over the chunks in order."""
    to = min(_cdiv(og, dot[0]) * dot[0], _GW_OUT)
    tc = min(_cdiv(ct, dot[1]) * dot[1], _GW_TAPS)
    while groups * _cdiv(og, to) * _cdiv(ct, tc) < 4 * nthreads and tc > dot[1]:
        tc = max(dot[1], _cdiv(tc // 2, dot[1]) * dot[1])
    return to, tc


def _grad_weight_rows(x: np.ndarray, go: np.ndarray, geom: Geometry,
                      w_shape: tuple[int, int, int, int], nthreads: int) -> np.ndarray | None:
    """dL/dW (w_shape) as dot products of rows: gw[o, c, t] = sum over the batch and
    the flattened output rows of go[n, o, q] * x_packed[n, c, q + toff[t]], each task
    packing a sample's rows and planes into its tile. The rows' padding columns
    multiply inputs no window reads by zeros: None if x or go holds an Inf or NaN,
    where Inf * 0 would be NaN."""
    mod = _mod()
    info = _info(mod, x.dtype)
    _, cg, kh, kw = w_shape
    g = geom.groups
    hb, wb, toff = _forward_layout(x.shape, geom, (kh, kw))
    gw = np.empty((w_shape[0], cg, kh * kw), x.dtype)
    kc = max(info["lanes"], _GW_CHUNK_BYTES // x.itemsize // info["lanes"] * info["lanes"])
    dot = (1, info["dot1"]) if w_shape[0] == g else info["dot"]
    to, tc = _gw_blocks(w_shape[0] // g, cg * kh * kw, g, dot, nthreads)
    if not mod.nn_grad_weight(x, go, g, geom.stride[0], geom.stride[1], hb, wb, geom.pad[0][0],
                              geom.pad[1][0], toff, gw, kc, to, tc, nthreads):
        return None
    return gw.reshape(w_shape)
