"""`facegraft live`: swap the source's face into a camera (or a video played as one) as frames come."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from facegraft.cli.common import config_errors
from facegraft.cli.options import (add_background_option, add_preset_option, add_provenance_options, default,
                                   positive_int, provenance_config)
from facegraft.config import AnalysisConfig
from facegraft.live import LiveConfig
from facegraft.select import SelectionConfig

# Only the fast preset keeps up with a camera on a small CPU.
LIVE_PRESET = "fast"
LIVE_MODES = ("one", "all")
STATUS_EVERY_S = 2.0


def add_parser(sub) -> None:
    lv = sub.add_parser("live", help="swap the source's face into a camera (or a video played as one) as it comes")
    lv.add_argument("--source", "-s", nargs="+", type=Path, required=True,
                    help="photos of the source person, or a profile .npz")
    lv.add_argument("--input", "-i", default=default(LiveConfig, "input"),
                    help="camera number, /dev/videoN, or a video file or URL played live (default %(default)s)")
    lv.add_argument("--virtual-camera", metavar="/dev/videoN", help="publish the output to this v4l2loopback device")
    lv.add_argument("--width", type=positive_int, default=default(LiveConfig, "width"),
                    help="largest frame width; frames keep the input's aspect inside --width x --height (default %(default)s)")
    lv.add_argument("--height", type=positive_int, default=default(LiveConfig, "height"),
                    help="largest frame height (default %(default)s)")
    add_preset_option(lv, LIVE_PRESET,
                      help="swap quality; only fast keeps up with a camera on a small CPU (default %(default)s)")
    lv.add_argument("--faces", choices=LIVE_MODES, default=default(SelectionConfig, "mode"),
                    help="which faces (default %(default)s)")
    lv.add_argument("--max-faces", type=positive_int, default=default(AnalysisConfig, "max_faces"),
                    help="most faces with --faces all (default %(default)s)")
    add_background_option(lv)
    lv.add_argument("--loop", action="store_true", help="replay a video file forever")
    lv.add_argument("--duration", type=float, metavar="SECONDS",
                    help="stop after this long (default: at the end, or Ctrl+C)")
    lv.add_argument("--quiet", "-q", action="store_true")
    add_provenance_options(lv)
    lv.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facegraft.api import Settings, load_sources
    from facegraft.config import preset
    from facegraft.live import LiveSwap, VirtualCamera, run_live
    from facegraft.provenance import require_consent
    with config_errors():
        settings = Settings(swap=preset(args.preset), selection=SelectionConfig(mode=args.faces),
                            analysis=AnalysisConfig(max_faces=1 if args.faces == "one" else args.max_faces),
                            provenance=provenance_config(args), background=args.background)
        config = LiveConfig(args.input, args.width, args.height, loop=args.loop)
    require_consent(settings.provenance)  # before the slow part: building the source profile
    with contextlib.ExitStack() as stack:
        live = stack.enter_context(LiveSwap(load_sources(args.source), settings, config))
        # Opened at the frames' own size, known once the input is open, so no black bars are baked in.
        camera = (stack.enter_context(VirtualCamera(args.virtual_camera, *live.frame_size))
                  if args.virtual_camera else None)
        summary = run_live(live, _live_sink(camera, args.quiet), args.duration)
    if not args.quiet:
        print(f"live: {summary.frames} frames in {summary.seconds:.1f} s ({summary.fps:.1f} fps), "
              f"latency median {summary.latency_median_ms:.0f} ms, {summary.dropped} dropped")
    return 0


def _live_sink(camera, quiet: bool):
    """What happens to each live frame: published to the virtual camera, a status line every 2 s."""
    shown = time.perf_counter()

    def sink(frame) -> None:
        nonlocal shown
        if camera is not None:
            camera.write(frame.rgb)
        if not quiet and time.perf_counter() - shown >= STATUS_EVERY_S:
            print(f"live: {frame.fps:.1f} fps, latency {frame.latency_ms:.0f} ms, {frame.dropped} dropped",
                  file=sys.stderr, flush=True)
            shown = time.perf_counter()
    return sink
