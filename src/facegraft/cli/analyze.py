"""`facegraft analyze`: export the face motion of an image or video."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegraft.cli.common import warn
from facegraft.cli.options import default, positive_int
from facegraft.cli.progress import frame_bar
from facegraft.config import AnalysisConfig, SmoothingConfig


def add_parser(sub) -> None:
    an = sub.add_parser("analyze", help="export face motion (pose, expression, landmarks) of an image or video")
    an.add_argument("input", type=Path, help="image or video")
    an.add_argument("--output", "-o", type=Path, required=True, help="motion file: .jsonl or .csv")
    an.add_argument("--preview", type=Path, help="write the input with mesh and pose axes drawn on it")
    an.add_argument("--max-faces", type=positive_int, default=default(AnalysisConfig, "max_faces"),
                    help="most faces per frame (default %(default)s)")
    an.add_argument("--no-smoothing", action="store_true", help="raw per-frame values (video)")
    an.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    an.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facegraft.capture import capture_motion
    config = AnalysisConfig(max_faces=args.max_faces, smoothing=SmoothingConfig(enabled=not args.no_smoothing))
    with frame_bar("analyze", args.quiet) as bar:
        summary = capture_motion(args.input, args.output, args.preview, config, on_progress=bar)
    if summary.records == 0:
        warn(f"no face found in {args.input}; wrote an empty motion file")
    if not args.quiet:
        print(f"{summary.records} face records from {summary.frames} frames "
              f"({summary.frames_with_faces} with faces, {summary.tracks} tracks) -> {summary.output}")
        if summary.preview:
            print(f"preview -> {summary.preview}")
    return 0
