"""`facegraft swap`: put the source's face on the target, keeping the target's motion."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegraft.cli.common import config_errors, warn
from facegraft.cli.options import (add_background_option, add_preset_option, add_provenance_options, add_video_options,
                                   default, positive_int, provenance_config)
from facegraft.cli.progress import frame_bar
from facegraft.config import BLEND_MODES, AnalysisConfig, VideoConfig, preset
from facegraft.errors import FacegraftError
from facegraft.select import MODES, ORDERS, SelectionConfig


def add_parser(sub) -> None:
    sw = sub.add_parser("swap", help="put the source's face on the target (image or video), keeping the target's motion")
    sw.add_argument("--source", "-s", nargs="+", type=Path, help="photos of the source person, or a profile .npz")
    sw.add_argument("--target", "-t", type=Path, required=True, help="image or video")
    sw.add_argument("--output", "-o", type=Path, required=True, help="image (.jpg .png .webp) or video (.mp4 .mov .mkv)")
    sw.add_argument("--faces", choices=MODES, default=default(SelectionConfig, "mode"),
                    help="which target faces (default %(default)s)")
    sw.add_argument("--reference", type=Path, help="swap only the target person who looks like this photo")
    sw.add_argument("--map", action="append", metavar="REF=SOURCE",
                    help="swap the target person like REF with SOURCE (photos joined by commas, or a .npz); repeatable")
    sw.add_argument("--order", choices=ORDERS, default=default(SelectionConfig, "order"),
                    help="which face counts as first")
    add_preset_option(sw)
    # No defaults here: an option left out keeps the preset's value.
    sw.add_argument("--shape-transfer", type=float, help="0..1: how much of the source's face shape to use")
    sw.add_argument("--detail", type=float, help="0..1: how much of the source's fine skin detail to keep")
    sw.add_argument("--blend", choices=BLEND_MODES)
    sw.add_argument("--eyes", choices=("target", "source"), help="eye colour from the target (default) or source")
    sw.add_argument("--no-occlusion", action="store_true", help="paint over whatever covers the face")
    add_background_option(sw)
    sw.add_argument("--max-faces", type=positive_int, default=default(AnalysisConfig, "max_faces"))
    add_video_options(sw, encoder_help="video encoder (default %(default)s)",
                      quality_help="video CRF, lower is better (default %(default)s)")
    sw.add_argument("--workers", type=positive_int, default=default(VideoConfig, "workers"),
                    help="threads for decode/process/encode (default %(default)s)")
    sw.add_argument("--preview", type=Path, metavar="DIR", help="write side-by-side target|output PNGs here")
    sw.add_argument("--debug-masks", type=Path, metavar="DIR", help="write the masks the swap used (face blend, hands, other occluders, "
                                                                  "person with --background) for the preview frames here")
    sw.add_argument("--quiet", "-q", action="store_true")
    add_provenance_options(sw)
    sw.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facegraft.api import swap
    if not args.source and not args.map:
        raise FacegraftError("give --source PHOTO [PHOTO ...] (or a profile .npz), or --map REFERENCE=SOURCE")
    settings, mapping = _settings(args), _mapping(args.map or [])
    with frame_bar("swap", args.quiet) as bar:
        summary = swap(args.source or [], args.target, args.output, settings, reference=args.reference,
                       mapping=mapping, preview_dir=args.preview, debug_dir=args.debug_masks, on_progress=bar)
    if summary.faces_swapped == 0:
        warn(f"no face was swapped in {args.target}; the output is the unchanged target")
    if not args.quiet:
        faces = "1 face" if summary.faces_swapped == 1 else f"{summary.faces_swapped} faces"
        frames = "1 frame" if summary.frames == 1 else f"{summary.frames} frames"
        print(f"swapped {faces} in {summary.frames_swapped} of {frames} "
              f"({summary.fps:.1f} frames/s) -> {summary.output}")
        for path in summary.previews:
            print(f"preview -> {path}")
        if summary.masks:
            print(f"debug masks -> {args.debug_masks} ({len(summary.masks)} PNGs)")
    return 0


def _settings(args: argparse.Namespace):
    from facegraft.api import Settings
    overrides = {k: v for k, v in dict(shape_transfer=args.shape_transfer, detail=args.detail, blend=args.blend,
                                       eyes=args.eyes).items() if v is not None}
    if args.no_occlusion:
        overrides["occlusion"] = False
    with config_errors():
        return Settings(
            swap=preset(args.preset, **overrides),
            analysis=AnalysisConfig(max_faces=args.max_faces),
            selection=SelectionConfig(mode=args.faces, order=args.order),
            video=VideoConfig(encoder=args.encoder, quality=args.quality, workers=args.workers),
            provenance=provenance_config(args),
            background=args.background)


def _mapping(pairs: list[str]) -> list[tuple[Path, list[Path]]]:
    out = []
    for pair in pairs:
        ref, sep, src = pair.partition("=")
        if not sep or not ref or not src:
            raise FacegraftError(f"--map {pair!r}: write it as REFERENCE=SOURCE (for example ref.jpg=person.npz)")
        out.append((Path(ref), [Path(s) for s in src.split(",")]))
    return out
