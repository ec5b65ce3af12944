"""``bench``: the benchmarks (speed, FLOP utilisation, quality) into ``bench/results.json`` and ``RESULTS.md``."""
from __future__ import annotations

from pathlib import Path

from .. import bench as benchmarks


def add(sub) -> None:
    b = sub.add_parser("bench", help="benchmarks: speed, FLOP utilisation -> results file")
    b.add_argument("--quick", action="store_true", help="a small version for CI")
    b.add_argument("--out", default="bench", help="folder for results.json and RESULTS.md")
    b.add_argument("--only", choices=sorted(benchmarks.SECTIONS),
                   help="re-measure one section into the results already in --out")
    b.set_defaults(func=run)


def run(args) -> None:
    benchmarks.main(quick=args.quick, out=Path(args.out), only=args.only)
