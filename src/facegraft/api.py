"""The library's front door for swaps: `swap(...)` and `make_profile(...)`; the CLI and UI call these."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from facegraft.analysis import Face, FaceTracker, analyze_image
from facegraft.config import AnalysisConfig, ProvenanceConfig, SwapConfig, VideoConfig
from facegraft.errors import FacegraftError
from facegraft.generate.profile import SourceProfile, load_sources, profile_from_files, save_profile
from facegraft.io import MediaKind, make_folder, probe, read_image, write_image
from facegraft.io.image import image_format
from facegraft.io.run import Progress, VideoRun, check_video_suffix
from facegraft.models import Models
from facegraft.pipeline import is_repeat, run_in_order
from facegraft.provenance import FrameMarker, Stamp, require_consent
from facegraft.refine.background import Background, BackgroundCompositor
from facegraft.refine.maskview import grey_mask, mask_overlay
from facegraft.select import FaceSelector, Reference, SelectionConfig, references_from_images
from facegraft.swapper import FaceResult, FaceSwapper

PREVIEW_FRAMES = 5


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a swap run can be told, in one value passed down explicitly."""

    swap: SwapConfig = SwapConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    selection: SelectionConfig = SelectionConfig()
    video: VideoConfig = VideoConfig()
    provenance: ProvenanceConfig = ProvenanceConfig()
    background: Background | None = None  # blur or replace what is behind the person (None: keep it)


@dataclasses.dataclass(frozen=True)
class SwapSummary:
    output: Path
    frames: int
    frames_swapped: int
    faces_swapped: int
    seconds: float
    previews: tuple[Path, ...]  # the side-by-side target|output PNGs
    masks: tuple[Path, ...] = ()  # the --debug-masks PNGs

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def make_profile(sources: Sequence[str | Path], output: str | Path) -> Path:
    """Analyse source photos once and save the reusable profile (.npz)."""
    paths = [Path(p) for p in sources]
    return save_profile(profile_from_files(paths), Path(output), inputs=tuple(paths))


def swap(sources: Sequence[str | Path], target: str | Path, output: str | Path, settings: Settings = Settings(),
         reference: str | Path | None = None, mapping: Sequence[tuple[str | Path, Sequence[str | Path]]] = (),
         preview_dir: str | Path | None = None, debug_dir: str | Path | None = None,
         on_progress: Progress | None = None) -> SwapSummary:
    """Swap the source person into `target` (image or video), writing `output` atomically.

    `reference`: swap only the target person who looks like this photo. `mapping`: several
    (reference photo, source photos or profile) pairs, each target person getting their own source.
    `on_progress(done, total)` is called after each frame; an exception it raises aborts the run.
    """
    require_consent(settings.provenance)
    target, output = Path(target), Path(output)
    kind = probe(target)
    _check_output_type(output, kind)
    inputs = (target, *(Path(s) for s in sources))
    models = Models()  # loaded once for the whole run
    # Made first, so a missing or unreadable background image fails before the slow source analysis.
    with _backdrop(settings.background, models, video=kind is not MediaKind.IMAGE) as backdrop:
        profiles, references, selection = _plan(sources, reference, mapping, settings.selection, models)
        selector = FaceSelector(selection, references, models)
        for directory in (Path(d) for d in (preview_dir, debug_dir) if d is not None):
            make_folder(directory)
        started = time.perf_counter()
        marker = FrameMarker(Stamp.new(settings.provenance))
        marker.check()
        report = on_progress or (lambda done, total: None)
        if kind is MediaKind.IMAGE:
            report(0, 1)
            counts, written = _swap_image(target, output, profiles, selector, settings, marker, preview_dir,
                                           debug_dir, inputs, models, backdrop)
            report(1, 1)
        else:
            counts, written = _swap_video(target, output, profiles, selector, settings, marker, preview_dir,
                                           debug_dir, inputs, report, models, backdrop)
    previews = tuple(p for p in written if debug_dir is None or p.parent != Path(debug_dir))
    masks = tuple(p for p in written if p not in previews)
    return SwapSummary(output, *counts, seconds=time.perf_counter() - started, previews=previews, masks=masks)


def _plan(sources, reference, mapping, selection: SelectionConfig, models: Models):
    if mapping:
        profiles, images, built = [], [], {}
        for index, (ref, srcs) in enumerate(mapping):
            key = tuple(str(Path(s).resolve()) for s in srcs)
            if key not in built:  # several target people may get the same source: analyse it once
                built[key] = load_sources(srcs, models)
            profiles.append(built[key])
            images.append((read_image(Path(ref)), index))
        refs = references_from_images(images, names=[str(r) for r, _ in mapping], models=models)
        return profiles, refs, dataclasses.replace(selection, mode="reference")
    profiles = [load_sources(sources, models)]
    if reference is not None:
        refs = references_from_images([(read_image(Path(reference)), 0)], names=[str(reference)], models=models)
        return profiles, refs, dataclasses.replace(selection, mode="reference")
    if selection.mode == "reference":
        raise FacegraftError("--faces reference needs --reference IMAGE (or --map REF=SOURCE)")
    return profiles, [], selection


@contextlib.contextmanager
def _backdrop(background: Background | None, models: Models, video: bool) -> Iterator[BackgroundCompositor | None]:
    if background is None:
        yield None
        return
    with BackgroundCompositor(background, models, video) as compositor:
        yield compositor


def _finish(frame: np.ndarray, out: np.ndarray, backdrop: BackgroundCompositor | None
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """The new background goes behind the person before the label and watermark, so those mark the
    final picture; the target frame's person mask fits the output, as the face stays in place.
    Returns the output and that person mask (None without a new background)."""
    if backdrop is None:
        return out, None
    person = backdrop.person(frame)
    return backdrop.apply(out, person), person


def _check_output_type(output: Path, kind: MediaKind) -> None:
    if kind is MediaKind.IMAGE:
        image_format(output)
    else:
        check_video_suffix(output)


def _swap_image(target, output, profiles, selector, settings, marker, preview_dir, debug_dir, inputs, models,
                backdrop):
    rgb = read_image(target)
    faces = analyze_image(rgb, settings.analysis, models)
    chosen = selector.choose(rgb, faces)
    out, results = FaceSwapper(profiles, settings.swap, video=False, models=models).swap_frame(rgb, chosen)
    out, person = _finish(rgb, out, backdrop)
    out = marker.mark(out, still=True)
    write_image(output, out, text=marker.stamp.metadata(), inputs=inputs)
    previews = _write_previews(preview_dir, debug_dir, 0, rgb, out, results, person)
    return (1, int(bool(results)), len(results)), previews


def _swap_video(target, output, profiles, selector, settings, marker, preview_dir, debug_dir, inputs,
                report: Progress, models: Models, backdrop: BackgroundCompositor | None):
    previews: list[Path] = []
    frames = swapped = faces_swapped = 0
    with VideoRun(inputs, report) as run:
        swapper = run.hold(FaceSwapper(profiles, settings.swap, video=True))
        reader = run.read(target)
        info = reader.info
        preview_at = set(np.linspace(0, max(info.frame_count - 1, 0), PREVIEW_FRAMES).round().astype(int).tolist())
        tracker = run.hold(FaceTracker(settings.analysis, models))
        writer = run.write_video(output, info.width, info.height, info.fps, settings.video,
                                 marker.stamp.container_metadata(), audio_from=target if info.has_audio else None)

        last: list = []  # the previous (input, output, results, person), to repeat for a repeated frame

        def process(frame):
            faces = tracker.update(frame.rgb, frame.time)  # the tracker sees every frame, repeated or not
            if last and is_repeat(frame.rgb, last[0]):
                # A repeated frame (a frame-rate conversion, a paused phone clip) gets the same output:
                # re-swapping it lets smoothing and per-track state move a face that stands still.
                return frame, last[1], last[2], last[3]
            out, results = swapper.swap_frame(frame.rgb, selector.choose(frame.rgb, faces))
            out, person = _finish(frame.rgb, out, backdrop)
            person = person if debug_dir is not None and frame.index in preview_at else None  # only to show
            last[:] = [frame.rgb, marker.mark(out), results, person]
            return frame, last[1], results, person

        def sink(item) -> None:
            nonlocal frames, swapped, faces_swapped
            frame, out, results, person = item
            writer.write(out, frame.time)
            frames += 1
            swapped += bool(results)
            faces_swapped += len(results)
            if frame.index in preview_at:
                previews.extend(_write_previews(preview_dir, debug_dir, frame.index, frame.rgb, out, results, person))
            run.report(frames, info.frame_count)

        run_in_order(iter(reader), process, sink, threads=settings.video.workers > 1)
    return (frames, swapped, faces_swapped), tuple(previews)


def preview_frame(profiles: SourceProfile | Sequence[SourceProfile], rgb: np.ndarray, settings: Settings = Settings(),
                  references: Sequence[Reference] = (), faces: Sequence[Face] | None = None,
                  marker: FrameMarker | None = None, still: bool = False,
                  models: Models | None = None) -> np.ndarray:
    """One frame swapped as `swap` would (labelled and watermarked), for interactive previews.
    `still`: the frame is an image target (its watermark as an image output gets it), not a video frame.

    Analysing the source photos is the slow part of a swap, so the caller passes profiles it
    keeps; `faces` (the frame's analysis), `marker` and `models` can be kept too while only settings change.
    """
    require_consent(settings.provenance)
    profiles = [profiles] if isinstance(profiles, SourceProfile) else list(profiles)
    selection = dataclasses.replace(settings.selection, mode="reference") if references else settings.selection
    if selection.mode == "reference" and not references:
        raise FacegraftError("reference selection needs at least one reference face")
    models = models or Models()
    faces = analyze_image(rgb, settings.analysis, models) if faces is None else faces
    chosen = FaceSelector(selection, references, models).choose(rgb, faces)
    out, _ = FaceSwapper(profiles, settings.swap, video=False, models=models).swap_frame(rgb, chosen)
    if marker is None:
        marker = FrameMarker(Stamp.new(settings.provenance))
        marker.check()
    with _backdrop(settings.background, models, video=False) as backdrop:
        return marker.mark(_finish(rgb, out, backdrop)[0], still)


def _write_previews(preview_dir, debug_dir, index: int, before: np.ndarray, after: np.ndarray,
                    results: list[FaceResult], person: np.ndarray | None = None) -> tuple[Path, ...]:
    written = []
    if preview_dir is not None:
        written.append(write_image(Path(preview_dir) / f"frame{index:06d}.png", np.concatenate([before, after], axis=1)))
    if debug_dir is not None:
        written.extend(_write_masks(Path(debug_dir), index, before, results, person))
    return tuple(written)


def _write_masks(directory: Path, index: int, frame: np.ndarray, results: list[FaceResult],
                 person: np.ndarray | None) -> list[Path]:
    """The masks the swap used on this frame: `mask` (blend green/blue, occlusion red, as ever), an
    `overlay` of them all tinted over the frame, and each alone in grey (`person` with --background)."""
    masks = {name: _full_frame(frame.shape[:2], results, name) for name in ("alpha", "occlusion", "hands", "occluders")}
    if person is not None:
        masks["person"] = person
    combined = np.stack([masks["occlusion"], masks["alpha"], masks["alpha"]], axis=-1)
    pictures = {"mask": grey_mask(combined), "overlay": mask_overlay(frame, masks)}
    pictures.update((name, grey_mask(masks[name])) for name in ("alpha", "hands", "occluders", "person") if name in masks)
    return [write_image(directory / f"{name}{index:06d}.png", picture) for name, picture in pictures.items()]


def _full_frame(shape: tuple[int, int], results: list[FaceResult], field: str) -> np.ndarray:
    """One of the faces' window masks (`alpha`, `hands`...) placed in the frame, the strongest where faces overlap."""
    out = np.zeros(shape, np.float32)
    for r in results:
        x0, y0, x1, y1 = r.window
        out[y0:y1, x0:x1] = np.maximum(out[y0:y1, x0:x1], getattr(r, field))
    return out
