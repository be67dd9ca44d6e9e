"""`facegraft reenact`: make a still portrait move like a driving video or motion file, or speak audio."""

from __future__ import annotations

import argparse
import fractions
from pathlib import Path

from facegraft.cli.common import config_errors, warn
from facegraft.cli.options import (add_background_option, add_provenance_options, add_video_options, default,
                                   provenance_config)
from facegraft.cli.progress import frame_bar
from facegraft.config import VideoConfig
from facegraft.errors import FacegraftError
from facegraft.reenact import ReenactSettings


def add_parser(sub) -> None:
    re_p = sub.add_parser("reenact", help="make a still portrait move like a driving video or motion file, "
                                          "or speak an audio file")
    re_p.add_argument("--source", "-s", type=Path, required=True, help="the portrait (an image)")
    re_p.add_argument("--driver", "-d", type=Path, help="driving video, or a motion file from facegraft analyze")
    re_p.add_argument("--audio", "-a", type=Path,
                      help="speech for the portrait to speak (WAV, MP3 or any file with an audio track), instead of --driver")
    re_p.add_argument("--transcript", metavar="TEXT", help="with --audio: the words spoken (English), to align to")
    re_p.add_argument("--fps", type=_fps, default=fractions.Fraction(25), help="with --audio: frames a second (default 25)")
    re_p.add_argument("--output", "-o", type=Path, required=True, help="video (.mp4 .mov .mkv)")
    re_p.add_argument("--driver-neutral", type=int, metavar="N", default=default(ReenactSettings, "driver_neutral"),
                      help="driver frame to use as neutral (default: found)")
    re_p.add_argument("--absolute", action="store_true", help="apply the driver's head rotation directly")
    add_background_option(re_p)
    add_video_options(re_p, encoder_help=None, quality_help="video CRF (default %(default)s)")
    re_p.add_argument("--quiet", "-q", action="store_true")
    add_provenance_options(re_p)
    re_p.set_defaults(func=run)


def _fps(text: str) -> fractions.Fraction:
    try:
        value = fractions.Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a frame rate: {text!r}") from None
    if not 1 <= value <= 120:
        raise argparse.ArgumentTypeError(f"{text}: the frame rate must be 1 to 120")
    return value


def run(args: argparse.Namespace) -> int:
    from facegraft.reenact import reenact
    if (args.driver is None) == (args.audio is None):
        raise FacegraftError("--audio with --driver (dubbing a video) is not supported yet: give one of them"
                             if args.driver else "reenact needs --driver VIDEO or --audio SPEECH")
    if args.audio is None and args.transcript is not None:
        raise FacegraftError("--transcript goes with --audio")
    with config_errors():
        settings = ReenactSettings(absolute=args.absolute, driver_neutral=args.driver_neutral,
                                   video=VideoConfig(encoder=args.encoder, quality=args.quality),
                                   provenance=provenance_config(args), background=args.background)
    if args.audio is not None:
        return _speak(args, settings)
    with frame_bar("reenact", args.quiet) as bar:
        summary = reenact(args.source, args.driver, args.output, settings, on_progress=bar)
    if summary.frames_with_driver_face == 0:
        warn(f"no face found in the driver {args.driver}; the portrait stays still")
    if not args.quiet:
        print(f"reenacted {summary.frames} frames (driver neutral frame {summary.neutral_frame}, "
              f"{summary.frames / max(summary.seconds, 1e-6):.1f} frames/s) -> {summary.output}")
    return 0


def _speak(args: argparse.Namespace, settings: ReenactSettings) -> int:
    from facegraft.reenact.run import speak
    with frame_bar("reenact", args.quiet) as bar:
        summary = speak(args.source, args.audio, args.output, settings, transcript=args.transcript, fps=args.fps,
                        on_progress=bar)
    if summary.note:
        warn(summary.note)
    if not args.quiet:
        print(f"spoke {summary.frames} frames ({float(args.fps):g} fps, mouth from {summary.mouth_from}, "
              f"{summary.frames / max(summary.seconds, 1e-6):.1f} frames/s) -> {summary.output}")
    return 0
