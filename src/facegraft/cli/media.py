"""`facegraft media fetch`: the sample media for tests and the demo."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    media_p = sub.add_parser("media", help="sample media for tests and the demo")
    media_sub = media_p.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    fetch_p = media_sub.add_parser("fetch", help="download and verify the sample media into the cache")
    fetch_p.add_argument("names", nargs="*", help="sample file names (default: all)")
    fetch_p.add_argument("--quiet", action="store_true")
    fetch_p.set_defaults(func=fetch)


def fetch(args: argparse.Namespace) -> int:
    from facegraft import samples
    paths = samples.fetch(args.names or None, quiet=args.quiet)
    if not args.quiet:
        print(f"{len(paths)} sample files ready in {samples.cache_dir()}")
    return 0
