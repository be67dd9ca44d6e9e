"""`facegraft` command line: a thin shell over the library API."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from pathlib import Path

from facegraft.errors import FacegraftError

PROG = "facegraft"


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _analysis_config(args: argparse.Namespace):
    from facegraft.config import AnalysisConfig, SmoothingConfig
    return AnalysisConfig(max_faces=args.max_faces, smoothing=SmoothingConfig(enabled=not args.no_smoothing))


def cmd_media_fetch(args: argparse.Namespace) -> int:
    from facegraft import samples
    paths = samples.fetch(args.names or None, quiet=args.quiet)
    if not args.quiet:
        print(f"{len(paths)} sample files ready in {samples.cache_dir()}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from facegraft.capture import capture_motion
    summary = capture_motion(args.input, args.output, args.preview, _analysis_config(args),
                             progress=not args.quiet)
    if summary.records == 0:
        _warn(f"no face found in {args.input}; wrote an empty motion file")
    if not args.quiet:
        print(f"{summary.records} face records from {summary.frames} frames "
              f"({summary.frames_with_faces} with faces, {summary.tracks} tracks) -> {summary.output}")
        if summary.preview:
            print(f"preview -> {summary.preview}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from facegraft.api import make_profile
    path = make_profile(args.sources, args.output)
    if not args.quiet:
        print(f"profile of {len(args.sources)} photo(s) -> {path}")
    return 0


def _settings(args: argparse.Namespace):
    from facegraft.api import Settings
    from facegraft.config import AnalysisConfig, VideoConfig, preset
    from facegraft.select import SelectionConfig
    overrides = {k: v for k, v in dict(shape_transfer=args.shape_transfer, detail=args.detail, blend=args.blend,
                                       eyes=args.eyes).items() if v is not None}
    if args.no_occlusion:
        overrides["occlusion"] = False
    try:
        return Settings(
            swap=preset(args.preset, **overrides),
            analysis=AnalysisConfig(max_faces=args.max_faces),
            selection=SelectionConfig(mode=args.faces, order=args.order),
            video=VideoConfig(encoder=args.encoder, quality=args.quality, workers=args.workers),
            provenance=_provenance(args))
    except ValueError as exc:
        raise FacegraftError(str(exc)) from None


def _provenance(args: argparse.Namespace):
    from facegraft.config import ProvenanceConfig
    return ProvenanceConfig(consent=args.consent, visible_label=not args.no_visible_label, label_text=args.label_text,
                            label_corner=args.label_corner, label_opacity=args.label_opacity, label_font=args.label_font)


def _add_provenance_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--consent", action="store_true",
                        help="state that everyone whose face is used agreed to it (required)")
    parser.add_argument("--no-visible-label", action="store_true",
                        help="leave out the visible label (the invisible watermark and metadata stay)")
    parser.add_argument("--label-text", default="AI-generated", help='visible label text (default "AI-generated")')
    parser.add_argument("--label-corner", default="bottom-right",
                        choices=("bottom-right", "bottom-left", "top-right", "top-left"))
    parser.add_argument("--label-opacity", type=float, default=0.85, help="0..1 (default 0.85)")
    parser.add_argument("--label-font", help="TrueType font file for the label (default: an installed font that has its characters)")


def cmd_verify(args: argparse.Namespace) -> int:
    from facegraft.provenance.verify import verify
    from facegraft.provenance.watermark import Z_MIN
    try:
        verdict = verify(args.file)
    except FacegraftError as exc:
        return _fail(str(exc), 2)
    meta = verdict.metadata
    note = next((meta[k] for k in ("Description", "comment") if k in meta), None)
    if verdict.found:
        p = verdict.reading.payload
        print(f"{args.file}: made by facegraft (watermark found): version {p.version_text}, run {p.run_text}, "
              f"confidence {verdict.confidence:.2f} ({verdict.frames_marked}/{verdict.frames_checked} frames read alone; "
              f"evidence score {verdict.reading.score:.1f}, found from {Z_MIN})")
    else:
        print(f"{args.file}: no facegraft watermark found ({verdict.frames_checked} frames checked)")
    if note:
        print(f"metadata: {note}")
    return 0 if verdict.found else 1


def _mapping(pairs: list[str]) -> list[tuple[Path, list[Path]]]:
    out = []
    for pair in pairs:
        ref, sep, src = pair.partition("=")
        if not sep or not ref or not src:
            raise FacegraftError(f"--map {pair!r}: write it as REFERENCE=SOURCE (for example ref.jpg=person.npz)")
        out.append((Path(ref), [Path(s) for s in src.split(",")]))
    return out


def cmd_swap(args: argparse.Namespace) -> int:
    from facegraft.api import swap
    if not args.source and not args.map:
        raise FacegraftError("give --source PHOTO [PHOTO ...] (or a profile .npz), or --map REFERENCE=SOURCE")
    summary = swap(args.source or [], args.target, args.output, _settings(args), reference=args.reference,
                   mapping=_mapping(args.map or []), preview_dir=args.preview, debug_dir=args.debug_masks,
                   progress=not args.quiet)
    if summary.faces_swapped == 0:
        _warn(f"no face was swapped in {args.target}; the output is the unchanged target")
    if not args.quiet:
        print(f"swapped {summary.faces_swapped} faces in {summary.frames_swapped} of {summary.frames} frames "
              f"({summary.fps:.1f} frames/s) -> {summary.output}")
        for path in summary.previews:
            print(f"preview -> {path}")
    return 0


def cmd_reenact(args: argparse.Namespace) -> int:
    from facegraft.config import VideoConfig
    from facegraft.reenact import ReenactSettings, reenact
    try:
        settings = ReenactSettings(absolute=args.absolute, driver_neutral=args.driver_neutral,
                                   video=VideoConfig(encoder=args.encoder, quality=args.quality),
                                   provenance=_provenance(args))
    except ValueError as exc:
        raise FacegraftError(str(exc)) from None
    summary = reenact(args.source, args.driver, args.output, settings, progress=not args.quiet)
    if summary.frames_with_driver_face == 0:
        _warn(f"no face found in the driver {args.driver}; the portrait stays still")
    if not args.quiet:
        print(f"reenacted {summary.frames} frames (driver neutral frame {summary.neutral_frame}, "
              f"{summary.frames / max(summary.seconds, 1e-6):.1f} frames/s) -> {summary.output}")
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    import contextlib
    from facegraft.api import Settings, load_sources
    from facegraft.config import AnalysisConfig, preset
    from facegraft.live import LiveConfig, LiveSwap, VirtualCamera, run_live
    from facegraft.provenance import require_consent
    from facegraft.select import SelectionConfig
    try:
        settings = Settings(swap=preset(args.preset), selection=SelectionConfig(mode=args.faces),
                            analysis=AnalysisConfig(max_faces=1 if args.faces == "one" else args.max_faces),
                            provenance=_provenance(args))
        config = LiveConfig(args.input, args.width, args.height, loop=args.loop)
    except ValueError as exc:
        raise FacegraftError(str(exc)) from None
    require_consent(settings.provenance)  # before the slow part: building the source profile
    with contextlib.ExitStack() as stack:
        camera = (stack.enter_context(VirtualCamera(args.virtual_camera, args.width, args.height))
                  if args.virtual_camera else None)
        live = stack.enter_context(LiveSwap(load_sources(args.source), settings, config))
        summary = run_live(live, _live_sink(camera, args.quiet), args.duration)
    if not args.quiet:
        print(f"live: {summary.frames} frames in {summary.seconds:.1f} s ({summary.fps:.1f} fps), "
              f"latency median {summary.latency_median_ms:.0f} ms, {summary.dropped} dropped")
    return 0


def _live_sink(camera, quiet: bool):
    """What happens to each live frame: published to the virtual camera, a status line every 2 s."""
    import time
    shown = time.perf_counter()

    def sink(frame) -> None:
        nonlocal shown
        if camera is not None:
            camera.write(frame.rgb)
        if not quiet and time.perf_counter() - shown >= 2.0:
            print(f"live: {frame.fps:.1f} fps, latency {frame.latency_ms:.0f} ms, {frame.dropped} dropped",
                  file=sys.stderr, flush=True)
            shown = time.perf_counter()
    return sink


def cmd_demo(args: argparse.Namespace) -> int:
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
    summary = swap([source], target, out / "swap.mp4", settings, preview_dir=out / "previews", progress=True)
    motion = capture_motion(target, out / "motion.jsonl", out / "motion_preview.mp4", progress=True)
    print(f"swapped video ({summary.frames} frames, {summary.fps:.1f} frames/s): {summary.output.resolve()}")
    print(f"side-by-side previews:  {(out / 'previews').resolve()}")
    print(f"motion capture ({motion.records} records): {motion.output.resolve()}")
    print(f"motion preview video:   {motion.preview.resolve()}")
    print("next: `make ui` (or `facegraft ui`) starts the local web app: swap, reenact, analyze, verify, live")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from facegraft import bench
    known = ("analysis", "smoothing", "swap", "reenact", "live", "preview", "watermark")
    unknown = set(args.parts) - set(known)
    if unknown:
        raise FacegraftError(f"unknown bench part {sorted(unknown)[0]!r}; choose from {', '.join(known)}")
    parts = set(args.parts or known)
    print(f"machine: {bench.machine()}")
    if "analysis" in parts:
        for size in ((640, 360), (1280, 720)):
            for faces in (1, 4):
                speed = bench.analysis_speed(size, faces)
                print(f"analysis {size[0]}x{size[1]} max_faces={faces}: mean {speed.mean_ms:.1f} ms/frame "
                      f"({1000 / speed.mean_ms:.0f} fps), median {speed.median_ms:.1f}, p95 {speed.p95_ms:.1f}")
    if "smoothing" in parts:
        report = bench.smoothing_report()
        for key, value in dataclasses.asdict(report).items():
            print(f"smoothing {key}: {value:.3f}")
    if "swap" in parts:
        for size in ((640, 360), (1280, 720)):
            for name in ("fast", "balanced", "quality"):
                speed = bench.swap_speed(size, name)
                print(f"swap {size[0]}x{size[1]} {name}: mean {speed.mean_ms:.1f} ms/frame "
                      f"({1000 / speed.mean_ms:.1f} fps), median {speed.median_ms:.1f}, p95 {speed.p95_ms:.1f}")
        for workers in (1, 2):
            print(f"swap pipeline single_face.mp4 balanced workers={workers}: "
                  f"{bench.pipeline_fps('balanced', workers):.1f} frames/s end to end")
    if "reenact" in parts:
        for driver in ("single_face.mp4", "carphone_pristine.mp4"):
            r = bench.reenact_report("astronaut.png", driver)
            print(f"reenact astronaut.png by {driver}: identity distance median {r.identity_median:.3f}, "
                  f"correlation eyes {r.eye_correlation:.3f} jaw {r.jaw_correlation:.3f} roll {r.roll_correlation:.3f}, "
                  f"{r.fps:.1f} frames/s")
    if "preview" in parts:
        r = bench.preview_report()
        print(f"UI swap preview (astronaut.png onto single_face.mp4, balanced): source profile {r.profile_seconds:.2f} s "
              f"once; settings change {r.settings_change_ms:.0f} ms; new frame {r.new_frame_ms:.0f} ms (medians)")
    if "live" in parts:
        for clip in ("single_face.mp4", "carphone_pristine.mp4"):
            r = bench.live_report(clip)
            print(f"live {clip} as a {r.size[0]}x{r.size[1]} camera at {r.source_fps:.0f} fps (fast preset, {r.seconds:.0f} s): "
                  f"{r.fps:.1f} fps out, latency median {r.latency_median_ms:.0f} ms, p95 {r.latency_p95_ms:.0f}, "
                  f"max {r.latency_max_ms:.0f}, {100 * r.dropped_share:.1f}% of frames dropped")
    if "watermark" in parts:
        print_watermark_report()
    return 0


def print_watermark_report() -> None:
    from facegraft.provenance import robustness as rb
    from facegraft.provenance.watermark import Z_MIN
    runs = len(rb.RUN_IDS)
    for row in rb.image_rows():
        print(f"watermark image {row.name} {'still' if row.still else 'video'} layout: PSNR min {row.psnr_min:.1f} dB, "
              f"flat-block RMS max {row.flat_rms:.2f}; read back (lowest score) " +
              ", ".join(f"{k} {n}/{runs} ({row.lowest[k]:.1f})" for k, n in row.found.items()))
    for row in rb.video_rows():
        print(f"watermark video {row.name} {row.attack}: payload found for {row.found} of {len(rb.VIDEO_RUN_IDS)} run ids, "
              f"lowest score {row.lowest:.1f}; frames read alone at least {row.frames_alone[0]}/{row.frames_alone[1]}")
    positives, reads, highest = rb.false_positive_reads()
    print(f"watermark false positives: {positives} of {reads} reads of unmarked photos and frames "
          f"(highest payload score {highest:.1f}; found from {Z_MIN})")
    for size in ((640, 480), (1920, 1080)):
        embed_ms, read_ms = rb.embed_and_read_ms(size)
        print(f"watermark speed at {size[0]}x{size[1]}: embed {embed_ms:.1f} ms, read {read_ms:.1f} ms (medians)")


def cmd_ui(args: argparse.Namespace) -> int:
    from facegraft.ui.config import DEFAULT_DATA_DIR, UiConfig
    from facegraft.ui.server import UiServer
    try:
        config = UiConfig(host=args.host, port=args.port, data_dir=args.data_dir or DEFAULT_DATA_DIR,
                          max_upload_bytes=args.max_upload_mb * 1024 * 1024, open_browser=args.open)
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except ValueError as exc:
        raise FacegraftError(str(exc)) from None
    except OSError as exc:
        raise FacegraftError(f"cannot use the data folder {args.data_dir} ({exc.strerror or exc})") from None
    server = UiServer(config)
    if not config.loopback:
        _warn(f"listening on {args.host}: anyone who can reach this machine can use the UI and its files")
    print(f"facegraft ui: {server.url}  (jobs in {config.data_dir}; Ctrl+C stops)", flush=True)
    # A service manager's SIGTERM stops the server as cleanly as Ctrl+C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve()
    except KeyboardInterrupt:
        # serve() has closed the server; a running job is back in the queue for the next start.
        print("facegraft ui: stopped", flush=True)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Local face analysis and face swapping.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    media_p = sub.add_parser("media", help="sample media for tests and the demo")
    media_sub = media_p.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    fetch_p = media_sub.add_parser("fetch", help="download and verify the sample media into the cache")
    fetch_p.add_argument("names", nargs="*", help="sample file names (default: all)")
    fetch_p.add_argument("--quiet", action="store_true")
    fetch_p.set_defaults(func=cmd_media_fetch)

    an = sub.add_parser("analyze", help="export face motion (pose, expression, landmarks) of an image or video")
    an.add_argument("input", type=Path, help="image or video")
    an.add_argument("--output", "-o", type=Path, required=True, help="motion file: .jsonl or .csv")
    an.add_argument("--preview", type=Path, help="write the input with mesh and pose axes drawn on it")
    an.add_argument("--max-faces", type=positive_int, default=4, help="most faces per frame (default 4)")
    an.add_argument("--no-smoothing", action="store_true", help="raw per-frame values (video)")
    an.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    an.set_defaults(func=cmd_analyze)

    prof = sub.add_parser("profile", help="build a reusable source profile from photos of one person")
    prof.add_argument("sources", nargs="+", type=Path, help="photos of the source person")
    prof.add_argument("--output", "-o", type=Path, required=True, help="profile file (.npz)")
    prof.add_argument("--quiet", "-q", action="store_true")
    prof.set_defaults(func=cmd_profile)

    sw = sub.add_parser("swap", help="put the source's face on the target (image or video), keeping the target's motion")
    sw.add_argument("--source", "-s", nargs="+", type=Path, help="photos of the source person, or a profile .npz")
    sw.add_argument("--target", "-t", type=Path, required=True, help="image or video")
    sw.add_argument("--output", "-o", type=Path, required=True, help="image (.jpg .png .webp) or video (.mp4 .mov .mkv)")
    sw.add_argument("--faces", choices=("one", "all", "reference"), default="one", help="which target faces (default one)")
    sw.add_argument("--reference", type=Path, help="swap only the target person who looks like this photo")
    sw.add_argument("--map", action="append", metavar="REF=SOURCE",
                    help="swap the target person like REF with SOURCE (photos joined by commas, or a .npz); repeatable")
    sw.add_argument("--order", choices=("largest", "left-right"), default="largest", help="which face counts as first")
    sw.add_argument("--preset", choices=("fast", "balanced", "quality"), default="balanced")
    sw.add_argument("--shape-transfer", type=float, help="0..1: how much of the source's face shape to use")
    sw.add_argument("--detail", type=float, help="0..1: how much of the source's fine skin detail to keep")
    sw.add_argument("--blend", choices=("multiband", "poisson", "alpha"))
    sw.add_argument("--eyes", choices=("target", "source"), help="eye colour from the target (default) or source")
    sw.add_argument("--no-occlusion", action="store_true", help="paint over whatever covers the face")
    sw.add_argument("--max-faces", type=positive_int, default=4)
    sw.add_argument("--encoder", default="libx264", help="video encoder (default libx264)")
    sw.add_argument("--quality", type=int, default=20, help="video CRF, lower is better (default 20)")
    sw.add_argument("--workers", type=positive_int, default=2, help="threads for decode/process/encode (default 2)")
    sw.add_argument("--preview", type=Path, metavar="DIR", help="write side-by-side target|output PNGs here")
    sw.add_argument("--debug-masks", type=Path, metavar="DIR", help="write the blend and occlusion masks here")
    sw.add_argument("--quiet", "-q", action="store_true")
    _add_provenance_options(sw)
    sw.set_defaults(func=cmd_swap)

    re_p = sub.add_parser("reenact", help="make a still portrait move like a driving video or motion file")
    re_p.add_argument("--source", "-s", type=Path, required=True, help="the portrait (an image)")
    re_p.add_argument("--driver", "-d", type=Path, required=True, help="driving video, or a motion file from facegraft analyze")
    re_p.add_argument("--output", "-o", type=Path, required=True, help="video (.mp4 .mov .mkv)")
    re_p.add_argument("--driver-neutral", type=int, metavar="N", help="driver frame to use as neutral (default: found)")
    re_p.add_argument("--absolute", action="store_true", help="apply the driver's head rotation directly")
    re_p.add_argument("--encoder", default="libx264")
    re_p.add_argument("--quality", type=int, default=20, help="video CRF (default 20)")
    re_p.add_argument("--quiet", "-q", action="store_true")
    _add_provenance_options(re_p)
    re_p.set_defaults(func=cmd_reenact)

    lv = sub.add_parser("live", help="swap the source's face into a camera (or a video played as one) as it comes")
    lv.add_argument("--source", "-s", nargs="+", type=Path, required=True, help="photos of the source person, or a profile .npz")
    lv.add_argument("--input", "-i", default="0", help="camera number, /dev/videoN, or a video file or URL played live (default 0)")
    lv.add_argument("--virtual-camera", metavar="/dev/videoN", help="publish the output to this v4l2loopback device")
    lv.add_argument("--width", type=positive_int, default=640, help="frame width (default 640)")
    lv.add_argument("--height", type=positive_int, default=480, help="frame height (default 480)")
    lv.add_argument("--preset", choices=("fast", "balanced", "quality"), default="fast",
                    help="swap quality; only fast keeps up with a camera on a small CPU (default fast)")
    lv.add_argument("--faces", choices=("one", "all"), default="one", help="which faces (default one)")
    lv.add_argument("--max-faces", type=positive_int, default=4, help="most faces with --faces all (default 4)")
    lv.add_argument("--loop", action="store_true", help="replay a video file forever")
    lv.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: at the end, or Ctrl+C)")
    lv.add_argument("--quiet", "-q", action="store_true")
    _add_provenance_options(lv)
    lv.set_defaults(func=cmd_live)

    from facegraft.evaluate.command import add_eval_parser
    add_eval_parser(sub)

    ver = sub.add_parser("verify", help="tell whether a file carries the facegraft watermark (exit 0 yes, 1 no, 2 error)")
    ver.add_argument("file", type=Path)
    ver.set_defaults(func=cmd_verify)

    demo = sub.add_parser("demo", help="run facegraft on the sample media and print where the output is")
    demo.add_argument("--output-dir", default="out/demo", help="where to write (default out/demo)")
    demo.set_defaults(func=cmd_demo)

    ui_p = sub.add_parser("ui", help="start the local web app (swap, reenact, analyze, verify, live) in your browser")
    ui_p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    ui_p.add_argument("--port", type=port_number, default=0, help="port (default: any free one, printed)")
    ui_p.add_argument("--data-dir", type=Path, help="where jobs, uploads and outputs live (default ~/.local/share/facegraft/ui)")
    ui_p.add_argument("--max-upload-mb", type=positive_int, default=2048, help="largest upload in MB (default 2048)")
    ui_p.add_argument("--open", action="store_true", help="open the page in the default browser")
    ui_p.set_defaults(func=cmd_ui)

    bench_p = sub.add_parser("bench", help="measure speed and smoothing on the sample media")
    bench_p.add_argument("parts", nargs="*", metavar="PART",
                         help="what to measure: analysis, smoothing, swap, reenact, live, preview, watermark (default: all)")
    bench_p.set_defaults(func=cmd_bench)
    return parser


def positive_int(text: str) -> int:
    value = _whole_number(text, "whole number")
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def port_number(text: str) -> int:
    value = _whole_number(text, "port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535 (0: any free port)")
    return value


def _whole_number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text}") from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("facegraft")
    except PackageNotFoundError:
        return "0+unknown"


def _silence_native_logs() -> None:
    """Send fd 2 (where MediaPipe's C++ threads log) to /dev/null; Python's stderr keeps the terminal.

    Set FACEGRAFT_NATIVE_LOGS=1 to see the native logs when debugging.
    """
    if os.environ.get("FACEGRAFT_NATIVE_LOGS") == "1":
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace")
    except (OSError, ValueError, AttributeError):
        pass  # no real fd 2 (embedded or captured): nothing to protect


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None:
        _silence_native_logs()
    try:
        return args.func(args)
    except FacegraftError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted; no output was written", 130)
    except MemoryError:
        return _fail("out of memory; try a smaller input")


if __name__ == "__main__":
    sys.exit(main())
