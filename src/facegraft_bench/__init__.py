"""Benchmarks: speed and quality figures on the sample media, printed by `facegraft bench`.

A shell beside the library (it may import anything in facegraft; nothing in facegraft imports it):
`measure` times and scores analysis, smoothing, swap, reenact, live and the UI preview;
`watermark` attacks the invisible watermark and reports what survives (the tests reuse its attacks);
`background` times background blur and replacement;
`quality` swaps a matrix of source photos onto target clips and scores every pair (contact.py draws its
contact sheet); `memory` compares the peak memory of a 20-minute swap with a 20-second one. Both take
about 15 minutes, so they run only when named, as does `lipsync` (a portrait speaks each development
clip's audio; its mouth against the clip's own; ~15 minutes, needs the development media).
"""

from __future__ import annotations

import dataclasses

from facegraft.errors import FacegraftError
from facegraft.provenance.watermark import Z_MIN
from facegraft_bench import background, lipsync, measure, memory, quality
from facegraft_bench import watermark as rb

DEFAULT_PARTS = ("analysis", "smoothing", "swap", "reenact", "live", "preview", "watermark", "background")
# Minutes, not seconds: run only when named.
NAMED_ONLY = ("quality", "memory", "lipsync")


def main(parts: list[str], quality_options: quality.QualityOptions | None = None) -> int:
    """Run the named parts (all but `quality` when none) and print their figures; unknown names are refused.

    `quality_options`: the quality matrix's settings; their dev_media None means the default folder
    (<repo>/../shared/media-dev) where it exists."""
    known = DEFAULT_PARTS + NAMED_ONLY
    unknown = set(parts) - set(known)
    if unknown:
        raise FacegraftError(f"unknown bench part {sorted(unknown)[0]!r}; choose from {', '.join(known)}")
    parts = set(parts or DEFAULT_PARTS)
    print(f"machine: {measure.machine()}")
    if "analysis" in parts:
        for size in ((640, 360), (1280, 720)):
            for faces in (1, 4):
                speed = measure.analysis_speed(size, faces)
                print(f"analysis {size[0]}x{size[1]} max_faces={faces}: mean {speed.mean_ms:.1f} ms/frame "
                      f"({1000 / speed.mean_ms:.0f} fps), median {speed.median_ms:.1f}, p95 {speed.p95_ms:.1f}")
    if "smoothing" in parts:
        report = measure.smoothing_report()
        for key, value in dataclasses.asdict(report).items():
            print(f"smoothing {key}: {value:.3f}")
    if "swap" in parts:
        for size in ((640, 360), (1280, 720)):
            for name in ("fast", "balanced", "quality"):
                speed = measure.swap_speed(size, name)
                print(f"swap {size[0]}x{size[1]} {name}: mean {speed.mean_ms:.1f} ms/frame "
                      f"({1000 / speed.mean_ms:.1f} fps), median {speed.median_ms:.1f}, p95 {speed.p95_ms:.1f}")
        for workers in (1, 2):
            print(f"swap pipeline single_face.mp4 balanced workers={workers}: "
                  f"{measure.pipeline_fps('balanced', workers):.1f} frames/s end to end")
    if "reenact" in parts:
        for driver in ("single_face.mp4", "carphone_pristine.mp4"):
            r = measure.reenact_report("astronaut.png", driver)
            print(f"reenact astronaut.png by {driver}: identity distance median {r.identity_median:.3f}, "
                  f"correlation eyes {r.eye_correlation:.3f} jaw {r.jaw_correlation:.3f} roll {r.roll_correlation:.3f}, "
                  f"{r.fps:.1f} frames/s")
    if "preview" in parts:
        r = measure.preview_report()
        print(f"UI swap preview (astronaut.png onto single_face.mp4, balanced): source profile {r.profile_seconds:.2f} s "
              f"once; settings change {r.settings_change_ms:.0f} ms; new frame {r.new_frame_ms:.0f} ms (medians)")
    if "live" in parts:
        for clip in ("single_face.mp4", "carphone_pristine.mp4"):
            r = measure.live_report(clip)
            print(f"live {clip} as a {r.size[0]}x{r.size[1]} camera at {r.source_fps:.0f} fps (fast preset, {r.seconds:.0f} s): "
                  f"{r.fps:.1f} fps out, latency median {r.latency_median_ms:.0f} ms, p95 {r.latency_p95_ms:.0f}, "
                  f"max {r.latency_max_ms:.0f}, {100 * r.dropped_share:.1f}% of frames dropped")
    if "watermark" in parts:
        print_watermark_report()
    if "background" in parts:
        for r in background.report():
            print(f"background {r.setting.split(':')[0]} {r.clip} {r.size[0]}x{r.size[1]}: {r.total_ms:.1f} ms/frame "
                  f"(person matte {r.matte_ms:.1f}, compositing {r.composite_ms:.1f}; medians)")
    if "quality" in parts:
        print_quality_report(quality_options or quality.QualityOptions())
    if "memory" in parts:
        print_memory_report((quality_options or quality.QualityOptions()).preset)
    if "lipsync" in parts:
        print_lipsync_report((quality_options or quality.QualityOptions()).dev_media)
    return 0


def print_lipsync_report(dev_media) -> None:
    folder = quality.resolve_dev_media(dev_media)
    if folder is None:
        raise FacegraftError("bench lipsync needs the development media (--dev-media DIR or ../shared/media-dev)")
    print(f"lipsync: {lipsync.PORTRAIT} speaks each clip's audio (extracted to WAV); output mouth measured with "
          f"facegraft's analysis; best lag within +-{lipsync.MAX_LAG} frames; null: the next clip's audio", flush=True)
    for result in lipsync.report(folder, on_clip=lambda r: print(lipsync.line(r), flush=True)):
        pass


def print_memory_report(preset: str) -> None:
    print(f"memory: {memory.CLIP} looped to 20 s and to 20 min, swapped with {memory.SOURCE} ({preset}), "
          "each in a fresh process", flush=True)
    report = memory.memory_report(preset=preset)
    for run in (report.short, report.long):
        print(f"memory {run.seconds_of_video / 60:.1f} min ({run.frames} frames): peak RSS {run.peak_mb:.0f} MB; "
              f"at 10/50/90% of the run {' / '.join(f'{mb:.0f}' for mb in run.rss_mb_at)} MB; {run.wall_s:.0f} s")
    verdict = "flat" if report.flat else "GROWS"
    print(f"memory growth 20 min vs 20 s: {100 * report.growth:+.1f}% ({verdict}; the limit is "
          f"+{100 * memory.FLAT_WITHIN:.0f}%)")


def print_quality_report(options: quality.QualityOptions) -> None:
    dev_media = None if options.sample_only else quality.resolve_dev_media(options.dev_media)
    options = dataclasses.replace(options, dev_media=dev_media)
    media = quality.choose_media(options.dev_media, options.sources, options.targets)
    print(f"quality: {len(media.sources)} sources x {len(media.targets)} targets, first {options.frames} frames, "
          f"preset {options.preset}; {media.note}")
    print(quality.header(), flush=True)
    report = quality.run_bench(options, on_pair=lambda pair: print(quality.pair_line(pair), flush=True))
    print("\n".join(quality.summary_lines(report.pairs)))
    print(quality.legend())
    print(f"-> {report.json_path}\n-> {report.sheet_path} ({report.sheet_size[0]}x{report.sheet_size[1]})")


def print_watermark_report() -> None:
    runs = len(rb.RUN_IDS)
    for row in rb.image_rows():
        print(f"watermark image {row.name} {'still' if row.still else 'video'} layout: PSNR min {row.psnr_min:.1f} dB, "
              f"visibility p99 {row.visibility:.2f}; read back (lowest score) " +
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
