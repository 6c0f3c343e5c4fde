"""``fastconv-bench`` / ``python -m fastconv.bench``: run a grid, print the
Markdown table, write JSON and a PNG plot, optionally compare with an older run."""
from __future__ import annotations

import argparse
import os
import sys

from . import run
from ._report import (compare, default_paths, load_json, markdown, plot, update_readme,
                      write_json)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fastconv-bench",
        description="Time fastconv.convolve2d against scipy.signal, scipy.ndimage, "
                    "cv2 and torch, and the machine's matmul rate and copy bandwidth.")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--full", action="store_const", dest="grid", const="full",
                   help="the long grid (every size, kernel, dtype, boundary, threads)")
    g.add_argument("--grid", choices=("tiny", "quick", "full"),
                   help="which grid to run (default: quick, about 3 minutes on 2 cores)")
    p.set_defaults(grid="quick")
    p.add_argument("--compare", metavar="OLD.json",
                   help="after the run, show what changed since this earlier result")
    p.add_argument("--against", metavar="NEW.json",
                   help="with --compare: compare with this result instead of running")
    p.add_argument("--out", metavar="DIR", default=".",
                   help="where fastconv-bench.json and fastconv-bench.png go (default: .)")
    p.add_argument("--peers", nargs="*", metavar="NAME",
                   help="only these peers (labels: scipy fftconvolve oaconvolve ndimage cv2 torch)")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    p.add_argument("--readme", metavar="README.md",
                   help="also put the table and plot between this file's fastconv-bench markers")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.against:
        if not args.compare:
            _parser().error("--against needs --compare OLD.json")
        print(compare(load_json(args.compare), load_json(args.against)))
        return 0
    old = load_json(args.compare) if args.compare else None   # fail before a long run
    result = run(args.grid, tuple(args.peers) if args.peers is not None else None,
                 progress=not args.quiet)
    for msg in result["peers_skipped"].values():
        print(msg, file=sys.stderr)
    print(markdown(result))
    os.makedirs(args.out, exist_ok=True)
    json_path, png_path = default_paths(args.out)
    write_json(result, json_path)
    print(f"\nwrote {json_path}", file=sys.stderr)
    why_not = "plot not asked for" if args.no_plot else plot(result, png_path)
    print(why_not or f"wrote {png_path}", file=sys.stderr)
    if args.readme:
        update_readme(result, args.readme, None if why_not else png_path)
        print(f"updated {args.readme}", file=sys.stderr)
    if old is not None:
        print()
        print(compare(old, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
