"""The report's grid (``fastconv-bench``) as pytest-benchmark entries.

One benchmark group per cell (image size, kernel, dtype, boundary, threads); in
it one entry per peer that can do the same work and one per fastconv path, so
pytest-benchmark's group table compares them directly. Our entries also record
the ratio over each peer in ``extra_info`` and in the session's summary table.
``FASTCONV_BENCH_GRID=tiny|quick|full`` picks the grid (default: quick). The
cells, paths, peers and timing rules are fastconv.bench's.
"""
from __future__ import annotations

import os
import time

import pytest

import fastconv
from fastconv.bench._grid import (GRIDS, _predict, _thread_count, make_inputs, our_paths,
                                  path_runner)
from fastconv.bench._peers import available_peers
from conftest import ROWS

GRID = GRIDS[os.environ.get("FASTCONV_BENCH_GRID", "quick")]()
PEERS, SKIPPED = available_peers()
_PATHS = our_paths()
ENTRIES = [(cell, "peer", p.label) for cell in GRID.cells for p in PEERS
           if p.supports(cell.dtype, cell.k, cell.boundary)]
ENTRIES += [(cell, "fastconv", path) for cell in GRID.cells
            for path in GRID.paths_for(cell, _PATHS)]
ENTRIES.sort(key=lambda e: GRID.cells.index(e[0]))     # peers first within a cell

_peer_seconds: dict[tuple, float] = {}
_last: dict[tuple, tuple] = {}


def _rounds(benchmark, fn, warm: bool) -> float:
    """Time ``fn`` with the report's rules: slow calls once, fast ones repeatedly."""
    if warm:
        fn()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    rounds = 1 if first > GRID.peer_cap_s else int(min(50, max(2, GRID.call_budget_s / first)))
    benchmark.pedantic(fn, rounds=rounds, iterations=1)
    return min(first, benchmark.stats.stats.min)


@pytest.mark.parametrize("cell,kind,name", ENTRIES,
                         ids=[f"{c.key()} {n}".replace(" ", "-") for c, _, n in ENTRIES])
def test_grid(benchmark, cell, kind, name):
    benchmark.group = cell.key()
    x, h = make_inputs(cell.n, cell.k, cell.dtype, separable=name == "separable")
    with _thread_count(cell.threads or fastconv.get_num_threads(), PEERS):
        if kind == "peer":
            peer = next(p for p in PEERS if p.label == name)
            guess = _predict(_last.get((name, cell.dtype)), cell, peer.k_power)
            if peer.too_big(cell.n, cell.k):
                pytest.skip(f"{peer.name} {peer.too_big(cell.n, cell.k)}")
            if guess > GRID.peer_skip_s:
                pytest.skip(f"{peer.name} predicted to take {guess:.0f} s")
            t = _rounds(benchmark, peer.runner(x, h, cell.boundary), warm=False)
            _last[(name, cell.dtype)] = (t, cell)
            _peer_seconds[(cell, name)] = t
            return
        t = _rounds(benchmark, path_runner(name, x, h, cell.boundary), warm=True)
    row = {"cell": cell.key(), "path": name, "ms": f"{t * 1e3:.3g}"}
    for p in PEERS:
        pt = _peer_seconds.get((cell, p.label))
        if pt:
            row[f"vs {p.label}"] = f"{pt / t:.2f}x"
    benchmark.extra_info.update(row)
    ROWS.append(row)
