"""fastconv's benchmark report: fastconv against scipy, ndimage, OpenCV and
PyTorch, and against the machine's own limits, all measured in one run.

Run it as ``fastconv-bench`` (or ``python -m fastconv.bench`` outside a source
checkout); ``--full`` runs the long grid, ``--compare OLD.json`` shows what
changed. From Python, :func:`run` returns the same result as a dict.
"""
from __future__ import annotations

from ._grid import GRIDS, our_paths
import numpy as np

from ._limits import best_limits, machine_info, measure_limits
from ._peers import PEERS, available_peers
from ._report import build_result, compare, markdown
from ._grid import run_grid

__all__ = ["run", "main", "our_paths", "PEERS"]


def run(grid: str = "quick", peers: tuple[str, ...] | None = None,
        progress: bool = True) -> dict:
    """Time a benchmark grid and return the report as a dict (the JSON document).

    Parameters
    ----------
    grid : {'quick', 'full', 'tiny'}, optional
        Which cells to run: 'quick' (about 3 minutes on 2 cores, the README's
        table), 'full' (every size, kernel, dtype, boundary and thread count;
        hours) or 'tiny' (seconds; for tests).
    peers : tuple of str, optional
        Peer names or labels to include (default: every peer that imports).
    progress : bool, optional
        Draw a progress bar on stderr.

    Returns
    -------
    result : dict
        ``machine`` (CPU, cores, versions, kernel build), ``limits`` (matmul
        GFLOP/s and copy GB/s per thread count), ``peers`` (the columns),
        ``peers_skipped`` (a message per peer that is not installed) and
        ``rows`` (one per cell and path: seconds, peer seconds, speedups,
        ``pct_matmul``, ``pct_copy_bw``).
    """
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {sorted(GRIDS)}, got {grid!r}")
    g = GRIDS[grid]()
    found, skipped = available_peers(peers)
    import fastconv
    threads = {c.threads or fastconv.get_num_threads() for c in g.cells}
    images = {c.n * c.n * np.dtype(c.dtype).itemsize for c in g.cells}

    def measure():
        return measure_limits(threads, g.limits_scale, images)
    # the peak is re-measured after each pass and the best kept, like the cells
    limits = measure()

    def remeasure():
        nonlocal limits
        limits = best_limits(limits, measure())
    rows = run_grid(g, found, progress=progress, on_pass_end=remeasure)
    timing = {k: getattr(g, k) for k in ("call_budget_s", "passes", "retime_below_s",
                                         "peer_cap_s", "peer_skip_s")}
    return build_result(g.name, rows, limits, machine_info(), skipped,
                        [p.label for p in found], timing)


def main(argv: list[str] | None = None) -> int:
    """The ``fastconv-bench`` command (see ``fastconv-bench --help``)."""
    from .__main__ import main as _main
    return _main(argv)
