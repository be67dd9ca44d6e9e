"""`facegraft bench`: speed and quality measurements on the sample media (the facegraft_bench package)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    bench_p = sub.add_parser("bench", help="measure speed and smoothing on the sample media")
    bench_p.add_argument("parts", nargs="*", metavar="PART",
                         help="what to measure: analysis, smoothing, swap, reenact, live, preview, watermark (default: all)")
    bench_p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the bench and what it measures load only when it runs.
    import facegraft_bench
    return facegraft_bench.main(args.parts)
