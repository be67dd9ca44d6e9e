"""`facegraft bench`: speed and quality measurements on the sample media (the facegraft_bench package)."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegraft.cli.options import add_preset_option, positive_int


def add_parser(sub) -> None:
    bench_p = sub.add_parser("bench", help="measure speed, smoothing and swap quality on the sample media")
    bench_p.add_argument("parts", nargs="*", metavar="PART",
                         help="what to measure: analysis, smoothing, swap, reenact, live, preview, watermark, background "
                              "(default: all of these); quality, memory and lipsync (only when named: ~15 minutes each)")
    quality = bench_p.add_argument_group("quality", "the quality matrix: source photos swapped onto target clips")
    # None: the bench's own defaults (facegraft_bench.quality.QualityOptions), which load only when it runs.
    quality.add_argument("--frames", type=positive_int, help="frames of each target used (default 48)")
    add_preset_option(quality, help="swap preset of the quality and memory parts (default %(default)s)")
    quality.add_argument("--identity-frames", type=positive_int,
                         help="identity descriptors per pair, evenly spread (default 8; ~0.2 s each)")
    quality.add_argument("--json", type=Path, help="all pair results as JSON (default out/bench/quality.json)")
    quality.add_argument("--sheet", type=Path, help="contact sheet PNG (default out/bench/quality.png)")
    quality.add_argument("--dev-media", type=Path, metavar="DIR",
                         help="development media folder (default ../shared/media-dev beside the repository, "
                              "where it exists; without it the sample media make a smaller matrix)")
    quality.add_argument("--sample-media", action="store_true",
                         help="only the sample media, even where the development media exist")
    quality.add_argument("--sources", type=positive_int, metavar="N", help="use only the first N source photos")
    quality.add_argument("--targets", type=positive_int, metavar="N", help="use only the first N target clips")
    bench_p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the bench and what it measures load only when it runs.
    import facegraft_bench
    from facegraft_bench.quality import QualityOptions
    given = {"frames": args.frames, "preset": args.preset, "identity_frames": args.identity_frames,
             "json_path": args.json, "sheet_path": args.sheet, "dev_media": args.dev_media,
             "sample_only": args.sample_media or None, "sources": args.sources, "targets": args.targets}
    options = QualityOptions(**{k: v for k, v in given.items() if v is not None})
    return facegraft_bench.main(args.parts, options)
