"""Face motion capture: analyse an image or video and export pose and expression per frame."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from facegraft.analysis import FaceTracker, analyze_image
from facegraft.config import AnalysisConfig
from facegraft.errors import FacegraftError
from facegraft.io import MediaKind, VideoReader, VideoWriter, atomic_output, probe, read_image, write_image
from facegraft.io.image import image_format
from facegraft.io.motion import MotionWriter, check_motion_path, face_record
from facegraft.analysis.overlay import draw_faces

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")


@dataclasses.dataclass(frozen=True)
class CaptureSummary:
    frames: int
    frames_with_faces: int
    records: int
    tracks: int
    output: Path
    preview: Path | None


def capture_motion(source: str | Path, output: str | Path, preview: str | Path | None = None,
                   config: AnalysisConfig = AnalysisConfig(), progress: bool = False,
                   on_progress: Callable[[int, int], None] | None = None) -> CaptureSummary:
    """Write the motion of every face in `source` to `output` (.jsonl or .csv), optionally with a preview.

    `on_progress(frames done, frames total)` is called after each frame; an exception it raises
    aborts the run (no output is left behind).
    """
    report = on_progress or (lambda done, total: None)
    source, output = Path(source), check_motion_path(Path(output))
    kind = probe(source)
    if preview is not None:
        preview = Path(preview)
        _check_preview_suffix(preview, kind)
    with contextlib.ExitStack() as stack:
        motion_tmp = stack.enter_context(atomic_output(output, inputs=(source,)))
        fh = stack.enter_context(open(motion_tmp, "w", encoding="utf-8", newline=""))
        writer = MotionWriter(fh, output.suffix.lower())
        if kind is MediaKind.IMAGE:
            counts = _capture_image(source, writer, preview, config)
            report(1, 1)
        else:
            counts = _capture_video(source, writer, preview, config, progress, stack, report)
        fh.close()
    return CaptureSummary(*counts, output=output, preview=preview)


def _check_preview_suffix(preview: Path, kind: MediaKind) -> None:
    if kind is MediaKind.IMAGE:
        image_format(preview)
    elif preview.suffix.lower() not in VIDEO_SUFFIXES:
        raise FacegraftError(f"{preview}: a video preview must end in one of {', '.join(VIDEO_SUFFIXES)}")


def _capture_image(source: Path, writer: MotionWriter, preview: Path | None,
                   config: AnalysisConfig) -> tuple[int, int, int, int]:
    rgb = read_image(source)
    faces = analyze_image(rgb, config)
    for face in faces:
        writer.write(face_record(0, 0.0, face))
    if preview is not None:
        write_image(preview, draw_faces(rgb, faces), inputs=(source,))
    return 1, int(bool(faces)), len(faces), len(faces)


def _capture_video(source: Path, writer: MotionWriter, preview: Path | None, config: AnalysisConfig,
                   progress: bool, stack: contextlib.ExitStack,
                   report: Callable[[int, int], None]) -> tuple[int, int, int, int]:
    reader = stack.enter_context(VideoReader(source))
    tracker = stack.enter_context(FaceTracker(config))
    info = reader.info
    video_out = None
    if preview is not None:
        preview_tmp = stack.enter_context(atomic_output(preview, inputs=(source,)))
        video_out = stack.enter_context(VideoWriter(preview_tmp, info.width, info.height, info.fps,
                                                    audio_from=source if info.has_audio else None))
    bar = stack.enter_context(tqdm(total=info.frame_count or None, unit="frame", file=sys.stderr,
                                   disable=not progress, desc=source.name, leave=False))
    frames = with_faces = 0
    tracks: set[int] = set()
    for frame in reader:
        faces = tracker.update(frame.rgb, frame.time)
        for face in faces:
            writer.write(face_record(frame.index, frame.time, face))
            tracks.add(face.track)
        if video_out is not None:
            video_out.write(draw_faces(frame.rgb, faces), frame.time)
        frames += 1
        with_faces += bool(faces)
        bar.update(1)
        report(frames, info.frame_count)
    return frames, with_faces, writer.count, len(tracks)
