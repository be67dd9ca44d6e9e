"""`facegraft demo`: run facegraft on the sample media and print where the output is."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegraft.cli.progress import frame_bar


def add_parser(sub) -> None:
    demo = sub.add_parser("demo", help="run facegraft on the sample media and print where the output is")
    demo.add_argument("--output-dir", default="out/demo", help="where to write (default %(default)s)")
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facegraft import samples
    from facegraft.api import Settings, swap
    from facegraft.capture import capture_motion
    from facegraft.config import ProvenanceConfig
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    source, target = samples.path("astronaut.png"), samples.path("single_face.mp4")
    print(f"swapping the face in {source.name} onto {target.name} ...")
    # The demo's faces are public sample media published for research and testing.
    settings = Settings(provenance=ProvenanceConfig(consent=True))
    with frame_bar("swap") as bar:
        summary = swap([source], target, out / "swap.mp4", settings, preview_dir=out / "previews", on_progress=bar)
    with frame_bar("analyze") as bar:
        motion = capture_motion(target, out / "motion.jsonl", out / "motion_preview.mp4", on_progress=bar)
    print(f"swapped video ({summary.frames} frames, {summary.fps:.1f} frames/s): {summary.output.resolve()}")
    print(f"side-by-side previews:  {(out / 'previews').resolve()}")
    print(f"motion capture ({motion.records} records): {motion.output.resolve()}")
    print(f"motion preview video:   {motion.preview.resolve()}")
    print("next: `make ui` (or `facegraft ui`) starts the local web app: swap, reenact, analyze, verify, live")
    return 0
