"""`facegraft eval`: score a swap result (optionally making it first) and write the report.

cli.py registers it with `add_eval_parser(sub)`; everything else about the command lives here.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from facegraft.cli import positive_int
from facegraft.errors import FacegraftError


def add_eval_parser(subparsers) -> None:
    ev = subparsers.add_parser("eval", help="score a swap result against its source and target (metrics and report)")
    ev.add_argument("--source", "-s", nargs="+", type=Path, required=True,
                    help="photos of the source person, or a profile .npz")
    ev.add_argument("--target", "-t", type=Path, required=True, help="the original image or video")
    ev.add_argument("--output", "-o", type=Path, required=True,
                    help="the swap result to score (with --run: where the swap is written)")
    ev.add_argument("--report", type=Path, help="write a self-contained HTML report here")
    ev.add_argument("--json", type=Path, help="write all metrics as JSON here")
    ev.add_argument("--run", action="store_true", help="make the swap first (facegraft.api.swap) and time it")
    ev.add_argument("--preset", choices=("fast", "balanced", "quality"), default="balanced",
                    help="swap preset with --run (default balanced)")
    ev.add_argument("--consent", action="store_true",
                    help="with --run: state that everyone whose face is used agreed to it (the swap requires it)")
    ev.add_argument("--identity-frames", type=positive_int, default=40,
                    help="most frames given identity descriptors, evenly spread (default 40; ~0.2 s each)")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    ev.epilog = ("--source and --target also take the name of a sample file (e.g. astronaut.png) "
                 "when no such path exists; it is fetched into the media cache.")
    ev.set_defaults(func=run_eval_command)


def run_eval_command(args: argparse.Namespace) -> int:
    from facegraft.evaluate.metrics import EvalConfig, evaluate
    from facegraft.evaluate.report import summary_lines, write_json, write_report
    sources = [resolve_input(p) for p in args.source]
    target = resolve_input(args.target)
    speed = _run_swap(sources, target, args) if args.run else None
    evaluation = evaluate(sources, target, args.output, EvalConfig(identity_frames=args.identity_frames),
                          progress=not args.quiet)
    if speed is not None:
        evaluation = dataclasses.replace(evaluation, speed=speed)
    inputs = (target, args.output, *sources)
    written = []
    if args.json:
        written.append(write_json(evaluation, _with_parent(args.json), inputs))
    if args.report:
        written.append(write_report(evaluation, _with_parent(args.report), inputs))
    if not args.quiet:
        print("\n".join(summary_lines(evaluation)))
        for path in written:
            print(f"-> {path}")
    return 0


def resolve_input(path: Path) -> Path:
    """A path as given; a bare sample-media name (astronaut.png) when no such file exists."""
    from facegraft import samples
    if path.exists() or path.name != str(path) or path.name not in {s.name for s in samples.SAMPLES}:
        return path
    return samples.path(path.name)


def _run_swap(sources: list[Path], target: Path, args: argparse.Namespace):
    from facegraft.api import Settings, swap
    from facegraft.config import ProvenanceConfig, preset
    from facegraft.evaluate.report import speed_section
    settings = Settings(swap=preset(args.preset), provenance=ProvenanceConfig(consent=args.consent))
    summary = swap(sources, target, _with_parent(args.output), settings, progress=not args.quiet)
    return speed_section(summary.seconds, summary.frames, summary.frames_swapped, args.preset)


def _with_parent(path: Path) -> Path:
    # Reports usually go to a fresh folder (out/eval/); making it saves a step.
    try:
        path.resolve().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacegraftError(f"cannot create the folder for {path} ({exc.strerror or exc})") from None
    return path
