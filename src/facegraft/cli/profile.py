"""`facegraft profile`: analyse source photos once into a reusable profile."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    prof = sub.add_parser("profile", help="build a reusable source profile from photos of one person")
    prof.add_argument("sources", nargs="+", type=Path, help="photos of the source person")
    prof.add_argument("--output", "-o", type=Path, required=True, help="profile file (.npz)")
    prof.add_argument("--quiet", "-q", action="store_true")
    prof.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facegraft.api import make_profile
    path = make_profile(args.sources, args.output)
    if not args.quiet:
        print(f"profile of {len(args.sources)} photo(s) -> {path}")
    return 0
