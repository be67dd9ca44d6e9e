"""Face motion capture: analyse an image or video and export pose and expression per frame."""

from __future__ import annotations

import dataclasses
from pathlib import Path


from facegraft.analysis import FaceTracker, analyze_image
from facegraft.analysis.overlay import draw_faces
from facegraft.config import AnalysisConfig
from facegraft.io import MediaKind, probe, read_image, write_image
from facegraft.io.image import image_format
from facegraft.io.motion import MotionWriter, check_motion_path, face_record
from facegraft.io.run import Progress, VideoRun, check_video_suffix


@dataclasses.dataclass(frozen=True)
class CaptureSummary:
    frames: int
    frames_with_faces: int
    records: int
    tracks: int
    output: Path
    preview: Path | None


def capture_motion(source: str | Path, output: str | Path, preview: str | Path | None = None,
                   config: AnalysisConfig = AnalysisConfig(),
                   on_progress: Progress | None = None) -> CaptureSummary:
    """Write the motion of every face in `source` to `output` (.jsonl or .csv), optionally with a preview.

    `on_progress(frames done, frames total)` is called after each frame; an exception it raises
    aborts the run (no output is left behind).
    """
    source, output = Path(source), check_motion_path(Path(output))
    kind = probe(source)
    if preview is not None:
        preview = Path(preview)
        _check_preview_suffix(preview, kind)
    with VideoRun((source,), on_progress) as run:
        writer = MotionWriter(run.write_text(output), output.suffix.lower())
        if kind is MediaKind.IMAGE:
            counts = _capture_image(source, writer, preview, config)
            run.report(1, 1)
        else:
            counts = _capture_video(run, source, writer, preview, config)
    return CaptureSummary(*counts, output=output, preview=preview)


def _check_preview_suffix(preview: Path, kind: MediaKind) -> None:
    if kind is MediaKind.IMAGE:
        image_format(preview)
    else:
        check_video_suffix(preview, "a video preview")


def _capture_image(source: Path, writer: MotionWriter, preview: Path | None,
                   config: AnalysisConfig) -> tuple[int, int, int, int]:
    rgb = read_image(source)
    faces = analyze_image(rgb, config)
    for face in faces:
        writer.write(face_record(0, 0.0, face))
    if preview is not None:
        write_image(preview, draw_faces(rgb, faces), inputs=(source,))
    return 1, int(bool(faces)), len(faces), len(faces)


def _capture_video(run: VideoRun, source: Path, writer: MotionWriter, preview: Path | None,
                   config: AnalysisConfig) -> tuple[int, int, int, int]:
    reader = run.read(source)
    tracker = run.hold(FaceTracker(config))
    info = reader.info
    video_out = None
    if preview is not None:
        video_out = run.write_video(preview, info.width, info.height, info.fps,
                                    audio_from=source if info.has_audio else None)
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
        run.report(frames, info.frame_count)
    return frames, with_faces, writer.count, len(tracks)
