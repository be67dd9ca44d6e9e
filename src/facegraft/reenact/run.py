"""The reenactment run: a portrait driven by a driving video, a motion file or speech audio, written
atomically through a VideoRun, every frame labelled and watermarked."""

from __future__ import annotations

import dataclasses
import fractions
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from facegraft.config import AnalysisConfig, ProvenanceConfig, VideoConfig
from facegraft.errors import FacegraftError
from facegraft.io.run import VIDEO_SUFFIXES, Progress, VideoRun
from facegraft.io.video import VideoWriter
from facegraft.provenance import FrameMarker, Stamp, require_consent
from facegraft.refine.background import Background, BackgroundCompositor
from facegraft.reenact.driver import (DriverState, check_driver_video, choose_neutral, driver_images, is_motion_file,
                                      states_from_motion, states_from_video)
from facegraft.reenact.render import PortraitRenderer, load_portrait
from facegraft.reenact.talking import talk


@dataclasses.dataclass(frozen=True)
class ReenactSettings:
    absolute: bool = False  # apply the driver's head rotation directly instead of its change
    driver_neutral: int | None = None  # driver frame to treat as neutral (default: found automatically)
    analysis: AnalysisConfig = AnalysisConfig(max_faces=1)
    video: VideoConfig = VideoConfig()
    provenance: ProvenanceConfig = ProvenanceConfig()
    background: Background | None = None  # blur or replace what is behind the portrait's person


@dataclasses.dataclass(frozen=True)
class ReenactSummary:
    output: Path
    frames: int
    frames_with_driver_face: int
    neutral_frame: int
    seconds: float
    mouth_from: str | None = None  # speech audio: "speech" (aligned phones) or "sound" (loudness alone)
    note: str | None = None  # speech audio: why the sound alone drove the mouth


@dataclasses.dataclass(frozen=True)
class _Driver:
    """What the run takes from its driver."""

    states: list[DriverState]
    fps: fractions.Fraction
    audio: Path | None  # where the output's audio comes from
    images: Iterator[np.ndarray | None] | None  # the video's frames, for the mouth interior (motion files: None)


def reenact(source: str | Path, driver: str | Path, output: str | Path, settings: ReenactSettings = ReenactSettings(),
            on_progress: Progress | None = None) -> ReenactSummary:
    """Make the portrait `source` move like `driver` (a video or a motion file), writing `output` atomically.

    `on_progress(done, total)` counts steps: each driver video frame is one step when analysed and
    one when rendered (a motion file's frames only when rendered). An exception it raises aborts
    the run, leaving no output.
    """
    require_consent(settings.provenance)
    source, driver, output = Path(source), Path(driver), Path(output)
    started = time.perf_counter()
    if output.suffix.lower() not in VIDEO_SUFFIXES:
        raise FacegraftError(f"{output}: a reenactment is a video: end the output in .mp4, .mov or .mkv")
    portrait_rgb, face = load_portrait(source)
    with VideoRun((source, driver), on_progress) as run:
        # Before the driver's analysis, so a missing background image fails at once.
        backdrop = run.hold(BackgroundCompositor(settings.background)) if settings.background else None
        drive = _read_driver(run, driver, settings.analysis)
        neutral = choose_neutral(drive.states, float(drive.fps), settings.driver_neutral)
        renderer = PortraitRenderer(portrait_rgb, face, source.name, drive.states[neutral], settings.absolute)
        marker = FrameMarker(Stamp.new(settings.provenance))
        marker.check()
        h, w = portrait_rgb.shape[:2]
        writer = run.write_video(output, w, h, drive.fps, settings.video, marker.stamp.container_metadata(),
                                 audio_from=drive.audio)
        _render(run, writer, renderer, marker, drive, backdrop)
    found = sum(s.offsets is not None for s in drive.states)
    return ReenactSummary(output, len(drive.states), found, neutral, time.perf_counter() - started)


def speak(source: str | Path, audio: str | Path, output: str | Path, settings: ReenactSettings = ReenactSettings(),
          transcript: str | None = None, fps: fractions.Fraction | int = 25,
          on_progress: Progress | None = None) -> ReenactSummary:
    """Make the portrait `source` speak `audio` (WAV, MP3, or any file with an audio track), writing
    `output` atomically with that audio, `fps` frames a second.

    The mouth follows the phones recognised in the audio (aligned to `transcript` when given), or,
    when no speech is recognised, its loudness and spectrum (the summary's `note` says so).
    `on_progress(done, total)` counts rendered frames.
    """
    require_consent(settings.provenance)
    source, audio, output = Path(source), Path(audio), Path(output)
    started = time.perf_counter()
    if output.suffix.lower() not in VIDEO_SUFFIXES:
        raise FacegraftError(f"{output}: a reenactment is a video: end the output in .mp4, .mov or .mkv")
    fps = fractions.Fraction(fps)
    if not 1 <= fps <= 120:
        raise FacegraftError(f"--fps {float(fps):g}: the frame rate must be 1 to 120")
    portrait_rgb, face = load_portrait(source)
    with VideoRun((source, audio), on_progress) as run:
        backdrop = run.hold(BackgroundCompositor(settings.background)) if settings.background else None
        run.report(0, 0)  # recognition first, its length unknown
        speech = talk(audio, face.shape, float(fps), transcript)
        renderer = PortraitRenderer(portrait_rgb, face, source.name, speech.neutral, absolute=False)
        marker = FrameMarker(Stamp.new(settings.provenance))
        marker.check()
        h, w = portrait_rgb.shape[:2]
        writer = run.write_video(output, w, h, fps, settings.video, marker.stamp.container_metadata(),
                                 audio_from=audio)
        _render(run, writer, renderer, marker, _Driver(speech.states, fps, audio, None), backdrop)
    return ReenactSummary(output, len(speech.states), len(speech.states), 0, time.perf_counter() - started,
                          speech.mouth_from, speech.note)


def _read_driver(run: VideoRun, driver: Path, config: AnalysisConfig) -> _Driver:
    if is_motion_file(driver):
        states, fps = states_from_motion(driver)
        return _Driver(states, fps, None, None)
    check_driver_video(driver)
    reader = run.read(driver)
    # Analysing and rendering each count one step per frame: the analysis is the first half.
    states = states_from_video(reader, config, on_frame=lambda done, total: run.report(done, 2 * total))
    info = reader.info
    return _Driver(states, info.fps, driver if info.has_audio else None, driver_images(run.read(driver)))


def _render(run: VideoRun, writer: VideoWriter, renderer: PortraitRenderer, marker: FrameMarker,
            drive: _Driver, backdrop: BackgroundCompositor | None = None) -> None:
    states = drive.states
    analysed = 0 if drive.images is None else len(states)  # steps already reported
    for rendered, state in enumerate(states, 1):
        driver_rgb = next(drive.images) if drive.images is not None else None
        frame = renderer.frame(state, driver_rgb)
        # The new background goes behind the moving portrait before the label and watermark mark it.
        if backdrop is not None:
            frame = backdrop.composite(frame, frame)
        writer.write(marker.mark(frame), state.time)
        run.report(analysed + rendered, analysed + len(states))
