"""Turn timed rows into the report: derived ratios, Markdown table, JSON, plot, comparison."""
from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from typing import Iterable

import numpy as np

from ._peers import PEERS

FORMAT_VERSION = 1

# The table's fixed columns; one "vs <peer>" column per available peer follows,
# then the share of the machine's peak (matmul or copy bandwidth) and of its FMA peak.
BASE_COLUMNS = ("image", "k", "dtype", "boundary", "threads", "path", "fastconv")
PEAK_COLUMN = "% of peak"
FMA_COLUMN = "% of FMA peak"


def _flops(row: dict) -> float:
    # a complex multiply-add is four real multiplies and four adds
    per_mac = 8 if row["dtype"].startswith("complex") else 2
    return per_mac * row["n"] ** 2 * row["k"] ** 2


def _matmul_key(dtype: str, what: str = "matmul") -> str | None:
    # complex128 is computed as float64 arithmetic; integers have no BLAS or FMA peak
    prec = {"float32": "float32", "float64": "float64", "complex128": "float64"}.get(dtype)
    return f"{what}_{prec}" if prec else None


def derive(row: dict, limits: dict) -> dict:
    """Add speedups over each peer and shares of the matmul rate / copy bandwidth.

    The flop count is the direct method's, also for FFT paths (so an FFT path can
    pass 100%: it is an equivalent rate). Bytes are one read of the image and one
    write of the output, the least any method must move.
    """
    out = dict(row)
    t = row["seconds"]
    out["speedup"] = {p: (pt / t if t and pt else None) for p, pt in row["peers"].items()}
    lim = limits.get(str(row["threads"]), {})
    out["gflops"] = _flops(row) / t / 1e9 if t else None
    key = _matmul_key(row["dtype"])
    peak = lim.get(key) if key else None
    out["pct_matmul"] = 100 * out["gflops"] / peak if t and peak else None
    key = _matmul_key(row["dtype"], "fma")
    fma = lim.get(key) if key else None
    out["pct_fma"] = 100 * out["gflops"] / fma if t and fma else None
    image = row["n"] ** 2 * np.dtype(row["dtype"]).itemsize
    # a copy of an image of the same size: in cache when the image fits there
    bw = lim.get("copy_GBps_at", {}).get(str(image)) or lim.get("copy_GBps")
    out["pct_copy_bw"] = 100 * 2 * image / t / 1e9 / bw if t and bw else None
    return out


def _timing_note(t: dict) -> str:
    return (f"Times are the best of repeated calls: at least 2 and about {t['call_budget_s']} s "
            f"of them, in each of {t['passes']} passes over the grid (later passes repeat only "
            f"calls under {t['retime_below_s']} s). A call over {t['peer_cap_s']} s is timed "
            f"once; a peer call predicted (from the peer's smaller cells) to take over "
            f"{t['peer_skip_s']} s is not run.")


def build_result(grid: str, rows: list[dict], limits: dict, machine: dict,
                 skipped: dict[str, str], peer_labels: Iterable[str],
                 timing: dict | None = None) -> dict:
    """The JSON document of one run; ``timing`` holds the grid's timing rules."""
    return {
        "format": FORMAT_VERSION,
        "grid": grid,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "limits": limits,
        "peers": list(peer_labels),
        "peers_skipped": skipped,
        "notes": NOTES + ([_timing_note(timing)] if timing else []),
        "timing": timing or {},
        "rows": [derive(r, limits) for r in rows],
    }


NOTES = [
    "All calls are mode='same'. Ratios are peer time / fastconv time, both measured in this run.",
    "cv2.filter2D and torch conv2d correlate: they get the flipped kernel; cv2 uses "
    "BORDER_CONSTANT (fill) or BORDER_REFLECT (symm), torch padding=k//2 (fill only).",
    "scipy.ndimage.convolve: mode constant/grid-wrap/reflect for fill/wrap/symm; odd kernels only.",
    "fftconvolve/oaconvolve: fill only, floats and complex only (no exact integer result).",
    "'auto (x)': x is what fastconv.choose_method picks. 'separable' rows time a rank-1 "
    "kernel (that path needs one); the peers' times are for the general kernel of the "
    "same size, which costs them the same.",
    "The scipy peers run on one thread at any setting (fftconvolve/oaconvolve have no "
    "workers argument); cv2 and torch get fastconv's thread count.",
    "% of peak: the larger of our direct-equivalent GFLOP/s over np.matmul's (2048^2) "
    "and our image read+write bytes per second over np.copyto's on an image of the same "
    "size, at the same thread count; both peaks are the best of several measurements in "
    "the run. An FFT path, or a machine busier while the peak was measured, can pass 100%.",
    "% of FMA peak: the same GFLOP/s over the cores' multiply-add peak, measured in the run "
    "by a compiled loop of 12 independent FMA chains per thread (fastconv's kernel build, "
    "same thread count, same dtype; complex128 against float64).",
]


def _fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    ms = seconds * 1e3
    return f"{ms:.3g} ms" if ms < 1000 else f"{seconds:.3g} s"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return ""
    return f"{r:.0f}x" if r >= 10 else f"{r:.2f}x"


def _fmt_peak(row: dict) -> str:
    mm, bw = row.get("pct_matmul"), row.get("pct_copy_bw")
    if mm is None and bw is None:
        return ""
    if bw is not None and (mm is None or bw > mm):
        return f"{bw:.0f}% copy bw"
    return f"{mm:.0f}% matmul"


def _path_label(row: dict) -> str:
    choice = row.get("auto_choice")
    return f"auto ({choice})" if choice else row["path"]


def columns(result: dict) -> list[str]:
    return [*BASE_COLUMNS, *(f"vs {p}" for p in result["peers"]), PEAK_COLUMN, FMA_COLUMN]


def table_rows(result: dict) -> list[list[str]]:
    out = []
    for r in result["rows"]:
        cells = [f"{r['n']}^2", str(r["k"]), r["dtype"], r["boundary"], str(r["threads"]),
                 _path_label(r), _fmt_ms(r["seconds"]) or r.get("note", "")]
        for p in result["peers"]:
            cells.append(_fmt_ratio(r["speedup"].get(p)))
        cells.append(_fmt_peak(r))
        fma = r.get("pct_fma")
        cells.append("" if fma is None else f"{fma:.0f}%")
        out.append(cells)
    return out


def machine_line(result: dict) -> str:
    m, lim = result["machine"], result["limits"]
    peak = "; ".join(
        f"{t} thr: matmul {_num(v.get('matmul_float32'))}/{_num(v.get('matmul_float64'))} "
        f"GFLOP/s (f32/f64), FMA peak {_num(v.get('fma_float32'))}/"
        f"{_num(v.get('fma_float64'))} GFLOP/s, copy {_num(v.get('copy_GBps'))} GB/s"
        for t, v in lim.items())
    return (f"{m['cpu']}, {m['cores']} cores, fastconv {m['fastconv']} "
            f"('{m['fastconv_isa']}' kernels), numpy {m['numpy']}, scipy {m['scipy']}; "
            f"{peak}; {result['date'][:10]}, grid '{result['grid']}'")


def _num(v) -> str:
    return "?" if v is None else f"{v:.0f}"


def markdown(result: dict) -> str:
    """The run as a Markdown table, headed by the machine line and followed by notes."""
    cols = columns(result)
    lines = [f"Machine: {machine_line(result)}", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(c) + " |" for c in table_rows(result)]
    lines.append("")
    lines += [f"- {n}" for n in result["notes"]]
    lines += [f"- {msg}" for msg in result["peers_skipped"].values()]
    lines += [f"- blank {p}: {why}" for p, why in _skipped_calls(result["rows"]).items()]
    unmeasured = [t for t, v in result["limits"].items() if v.get("matmul_float32") is None]
    if unmeasured:
        lines.append(f"- matmul peak at {', '.join(unmeasured)} thread(s) not measured: setting "
                     f"numpy's BLAS thread count needs threadpoolctl (pip install threadpoolctl)")
    return "\n".join(lines)


def _skipped_calls(rows: list[dict]) -> dict[str, str]:
    """Per peer, how many cells it was not run in and the first reason."""
    notes: dict[str, list[str]] = {}
    seen = set()
    for r in rows:
        cell = (r["n"], r["k"], r["dtype"], r["boundary"], r["threads"])
        for p, note in r.get("peer_notes", {}).items():
            if note.startswith("skipped") and (cell, p) not in seen:
                seen.add((cell, p))
                notes.setdefault(p, []).append(f"{r['n']}^2 k{r['k']} {r['dtype']}: {note}")
    return {p: f"{len(ns)} cell(s) not run, e.g. {ns[0]}" for p, ns in notes.items()}


README_START = "<!-- fastconv-bench: start (generated by fastconv-bench --readme) -->"
README_END = "<!-- fastconv-bench: end -->"


def update_readme(result: dict, readme: str, png: str | None) -> None:
    """Replace the text between the README's fastconv-bench markers with this run's
    table (and the plot, linked relative to the README)."""
    with open(readme) as f:
        text = f.read()
    i, j = text.find(README_START), text.find(README_END)
    if i < 0 or j < i:
        raise ValueError(f"{readme} has no '{README_START}' ... '{README_END}' block")
    body = markdown(result)
    if png:
        rel = os.path.relpath(png, os.path.dirname(os.path.abspath(readme)))
        body += f"\n\n![time against kernel size per method]({rel.replace(os.sep, '/')})"
    with open(readme, "w") as f:
        f.write(text[:i + len(README_START)] + "\n" + body + "\n" + text[j:])


def write_json(result: dict, path: str) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=1)


def load_json(path: str) -> dict:
    with open(path) as f:
        result = json.load(f)
    if result.get("format") != FORMAT_VERSION or "rows" not in result:
        raise ValueError(f"{path} is not a fastconv bench result (format {FORMAT_VERSION})")
    return result


def plot(result: dict, path: str) -> str | None:
    """Time against kernel size per method (log-log), one panel per dtype of the
    largest sweep. Returns None when written, else why not (matplotlib missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullLocator
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install matplotlib)"
    series = _sweeps(result["rows"])
    if not series:
        return "plot skipped: no kernel-size sweep in this grid"
    fig, axes = plt.subplots(1, len(series), figsize=(5.2 * len(series), 4.2), squeeze=False)
    labels = {p.label: p.name for p in PEERS}
    for ax, ((n, dtype, boundary, threads), rows) in zip(axes[0], series.items()):
        ks = sorted({r["k"] for r in rows})
        for method in dict.fromkeys(r["path"] for r in rows):
            pts = [(r["k"], 1e3 * r["seconds"]) for r in rows
                   if r["path"] == method and r["seconds"]]
            if pts:
                ax.plot(*zip(*pts), "o-", lw=2, label=f"fastconv {method}",
                        color=plt.cm.tab10(list(dict.fromkeys(r["path"] for r in rows))
                                           .index(method) % 10))
        first = {r["k"]: r for r in rows}
        for peer in result["peers"]:
            pts = [(k, first[k]["peers"].get(peer)) for k in ks]
            pts = [(k, 1e3 * t) for k, t in pts if t]
            if pts:   # peers in a second palette, so no peer shares a path's colour
                ax.plot(*zip(*pts), "s--", lw=1, label=labels.get(peer, peer),
                        color=plt.cm.Dark2(result["peers"].index(peer) % 8))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("kernel size k (k x k)")
        ax.set_ylabel("ms (best of repeats)")
        ax.set_title(f"{n}x{n} {dtype}, '{boundary}', {threads} threads", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"fastconv.convolve2d(mode='same') vs peers - {result['machine']['cpu']}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return None


def _sweeps(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Rows grouped by (n, dtype, boundary, threads) for groups covering >= 2 kernel
    sizes, keeping the largest per dtype (at most two panels)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["n"], r["dtype"], r["boundary"], r["threads"]), []).append(r)
    best: dict[str, tuple] = {}
    for key, rs in groups.items():
        nk = len({r["k"] for r in rs})
        if nk >= 2 and (key[1] not in best or nk > len({r["k"] for r in groups[best[key[1]]]})):
            best[key[1]] = key
    chosen = sorted(best.values(), key=lambda k: -len(groups[k]))[:2]
    return {k: groups[k] for k in chosen}


def _row_key(r: dict) -> tuple:
    return (r["n"], r["k"], r["dtype"], r["boundary"], r["threads"], r["path"])


def compare(old: dict, new: dict) -> str:
    """A Markdown table of what changed between two runs, cell by cell: our time
    new/old, and our speedup over scipy.signal.convolve2d (a ratio measured within
    each run, so less affected by a busier machine) old and new."""
    old_rows = {_row_key(r): r for r in old["rows"]}
    lines = [f"Comparing {old['date']} ({old['machine']['cpu']}) -> "
             f"{new['date']} ({new['machine']['cpu']})", "",
             "| image | k | dtype | boundary | threads | path | old | new | new/old "
             "| vs scipy old | vs scipy new |", "|" + "---|" * 11]
    matched = 0
    ratios = []
    for r in new["rows"]:
        o = old_rows.get(_row_key(r))
        if o is None:
            continue
        matched += 1
        ratio = r["seconds"] / o["seconds"] if r["seconds"] and o["seconds"] else None
        if ratio:
            ratios.append(ratio)
        lines.append(f"| {r['n']}^2 | {r['k']} | {r['dtype']} | {r['boundary']} | "
                     f"{r['threads']} | {r['path']} | {_fmt_ms(o['seconds'])} | "
                     f"{_fmt_ms(r['seconds'])} | {'' if ratio is None else f'{ratio:.2f}'} | "
                     f"{_fmt_ratio(o['speedup'].get('scipy'))} | "
                     f"{_fmt_ratio(r['speedup'].get('scipy'))} |")
    lines.append("")
    if ratios:
        geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
        lines.append(f"{matched} cells in both runs; geometric mean new/old time {geo:.2f} "
                     f"(below 1: faster now).")
    else:
        lines.append("No cells in common between the two runs.")
    only = len(new["rows"]) - matched
    if only:
        lines.append(f"{only} cells only in the new run.")
    return "\n".join(lines)


def default_paths(out_dir: str) -> tuple[str, str]:
    return (os.path.join(out_dir, "fastconv-bench.json"),
            os.path.join(out_dir, "fastconv-bench.png"))
