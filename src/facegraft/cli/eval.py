"""`facegraft eval`: score a swap result (optionally making it first) and write the report."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from facegraft.cli.options import add_preset_option, default, positive_int
from facegraft.cli.progress import frame_bar
from facegraft.errors import FacegraftError
from facegraft.evaluate import EvalConfig
from facegraft.io import make_folder


def add_parser(sub) -> None:
    ev = sub.add_parser("eval", help="score a swap result against its source and target (metrics and report)")
    ev.add_argument("--source", "-s", nargs="+", type=Path, required=True,
                    help="photos of the source person, or a profile .npz")
    ev.add_argument("--target", "-t", type=Path, required=True, help="the original image or video")
    ev.add_argument("--output", "-o", type=Path, required=True,
                    help="the swap result to score (with --run: where the swap is written)")
    ev.add_argument("--report", type=Path, help="write a self-contained HTML report here")
    ev.add_argument("--json", type=Path, help="write all metrics as JSON here")
    ev.add_argument("--run", action="store_true", help="make the swap first (facegraft.api.swap) and time it")
    add_preset_option(ev, help="swap preset with --run (default %(default)s)")
    ev.add_argument("--consent", action="store_true",
                    help="with --run: state that everyone whose face is used agreed to it (the swap requires it)")
    ev.add_argument("--identity-frames", type=positive_int, default=default(EvalConfig, "identity_frames"),
                    help="most frames given identity descriptors, evenly spread (default %(default)s; ~0.2 s each)")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    ev.epilog = ("--source and --target also take the name of a sample file (e.g. astronaut.png) "
                 "when no such path exists; it is fetched into the media cache.")
    ev.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facegraft.evaluate import evaluate, summary_lines, write_json, write_report
    _check_suffix(args.report, (".html", ".htm"), "--report writes an HTML page")
    _check_suffix(args.json, (".json",), "--json writes JSON")
    sources = [resolve_input(p) for p in args.source]
    target = resolve_input(args.target)
    speed = _run_swap(sources, target, args) if args.run else None
    with frame_bar("eval", args.quiet) as bar:
        evaluation = evaluate(sources, target, args.output, EvalConfig(identity_frames=args.identity_frames),
                              on_progress=bar)
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
    if path.exists() or path.name != str(path) or path.name not in samples.names():
        return path
    return samples.path(path.name)


def _run_swap(sources: list[Path], target: Path, args: argparse.Namespace):
    from facegraft.api import Settings, swap
    from facegraft.config import ProvenanceConfig, preset
    from facegraft.evaluate import speed_section
    settings = Settings(swap=preset(args.preset), provenance=ProvenanceConfig(consent=args.consent))
    output = _with_parent(args.output)
    with frame_bar("swap", args.quiet) as bar:
        summary = swap(sources, target, output, settings, on_progress=bar)
    return speed_section(summary.seconds, summary.frames, summary.frames_swapped, args.preset)


def _check_suffix(path: Path | None, suffixes: tuple[str, ...], what: str) -> None:
    # Checked before the (long) evaluation, so a wrong name costs nothing.
    if path is not None and path.suffix.lower() not in suffixes:
        raise FacegraftError(f"{path}: {what}; give a name ending in {' or '.join(suffixes)}")


def _with_parent(path: Path) -> Path:
    # Reports usually go to a fresh folder (out/eval/); making it saves a step.
    make_folder(path.resolve().parent)
    return path
