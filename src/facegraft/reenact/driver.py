"""The driver's motion: one DriverState per frame, from a driving video or from a motion file,
and the driver frame taken as its neutral face."""

from __future__ import annotations

import dataclasses
import fractions
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from facegraft.analysis import Face, FaceTracker, load_face_model
from facegraft.analysis.geometry import matrix_from_euler
from facegraft.analysis.regions import INNER_LIPS
from facegraft.config import AnalysisConfig
from facegraft.errors import FacegraftError
from facegraft.io import MediaKind, VideoReader, probe
from facegraft.io.motion import read_motion

NEUTRAL_SEARCH_SECONDS = 3.0  # the automatic neutral frame is looked for in the first seconds


@dataclasses.dataclass(frozen=True)
class DriverState:
    """The driver's motion in one frame (None fields: no face in that frame)."""

    index: int
    time: float
    rotation: np.ndarray | None  # 3x3, canonical -> viewer
    position: np.ndarray | None  # (tx, ty) pixels
    scale: float | None
    offsets: np.ndarray | None  # (478, 3) expression offsets, canonical units
    gaze: np.ndarray | None  # (gaze_x, gaze_y)
    lips: np.ndarray | None  # (len(INNER_LIPS), 2) inner-lip ring in driver pixels (video drivers only)
    eyes: np.ndarray | None = None  # (right, left) eye openness


def no_face(index: int, t: float) -> DriverState:
    """The state of a driver frame without a face."""
    return DriverState(index, t, None, None, None, None, None, None)


def state_from_face(index: int, t: float, face: Face) -> DriverState:
    return DriverState(index, t, face.pose.rotation, np.array([face.pose.tx, face.pose.ty]), face.pose.scale,
                       face.expression.offsets.astype(np.float32),
                       np.array([face.expression.named["gaze_x"], face.expression.named["gaze_y"]]),
                       face.landmarks[INNER_LIPS, :2].astype(np.float32),
                       np.array([face.expression.named["eye_open_right"], face.expression.named["eye_open_left"]]))


def is_motion_file(driver: Path) -> bool:
    return driver.suffix.lower() in (".jsonl", ".csv")


def check_driver_video(driver: Path) -> None:
    if probe(driver) is not MediaKind.VIDEO:
        raise FacegraftError(f"{driver}: the driver must be a video or a motion file (.jsonl, .csv)")


def states_from_video(reader: VideoReader, config: AnalysisConfig,
                      on_frame: Callable[[int, int], None] | None = None,
                      most: int | None = None) -> list[DriverState]:
    """The driver's motion per frame of `reader` (of the first `most` frames when given);
    `on_frame(frames done, frames total)` after each frame."""
    states = []
    with FaceTracker(config) as tracker:
        followed: int | None = None
        for frame in reader:
            faces = tracker.update(frame.rgb, frame.time)
            face = next((f for f in faces if f.track == followed), None) or (max(faces, key=lambda f: f.pose.scale)
                                                                            if faces else None)
            followed = face.track if face is not None else followed
            states.append(state_from_face(frame.index, frame.time, face) if face is not None
                          else no_face(frame.index, frame.time))
            if on_frame is not None:
                on_frame(len(states), reader.info.frame_count)
            if most is not None and len(states) >= most:
                break
    return states


def driver_images(reader: VideoReader) -> Iterator[np.ndarray | None]:
    """The driver video's frames, then None for ever (the renderer then fills mouths with a cavity)."""
    for frame in reader:
        yield frame.rgb
    while True:
        yield None


def states_from_motion(path: Path) -> tuple[list[DriverState], fractions.Fraction]:
    records = read_motion(path)
    if not records:
        raise FacegraftError(f"{path}: the motion file has no face records")
    model = load_face_model()
    basis = model.basis.reshape(len(model.basis), -1)
    track = max({r["track"] for r in records}, key=lambda t: sum(r["track"] == t for r in records))
    by_frame = {r["frame"]: r for r in records if r["track"] == track}
    last = max(by_frame)
    times = {r["frame"]: r["time"] for r in records}
    states = []
    for index in range(last + 1):
        r = by_frame.get(index)
        t = times.get(index, index / 30.0)
        if r is None:
            states.append(no_face(index, t))
            continue
        vector = np.asarray(r["expression_vector"], np.float64)
        if len(vector) != len(basis):
            raise FacegraftError(f"{path}: expression vectors have {len(vector)} numbers, this facegraft expects "
                                 f"{len(basis)}: the file was made with a different face model")
        offsets = np.zeros((478, 3), np.float32)
        offsets[:468] = (vector @ basis).reshape(468, 3)
        p = r["pose"]
        states.append(DriverState(index, t, matrix_from_euler(p["pitch"], p["yaw"], p["roll"]),
                                  np.array([p["tx"], p["ty"]]), float(p["scale"]), offsets,
                                  np.array([r["expression"].get("gaze_x", 0.0), r["expression"].get("gaze_y", 0.0)]),
                                  None, np.array([r["expression"]["eye_open_right"], r["expression"]["eye_open_left"]])))
    fps = _fps_from_times([s.time for s in states])
    return states, fps


def _fps_from_times(times: list[float]) -> fractions.Fraction:
    steps = np.diff(times)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return fractions.Fraction(30, 1)
    return fractions.Fraction(1.0 / float(np.median(steps))).limit_denominator(1001)


def choose_neutral(states: list[DriverState], fps: float, requested: int | None) -> int:
    """The driver frame with the least expression (mouth shut, eyes open) early in the clip."""
    if requested is not None:
        if not 0 <= requested < len(states) or states[requested].offsets is None:
            raise FacegraftError(f"--driver-neutral {requested}: the driver has no face in that frame")
        return requested
    window = [s for s in states[: max(1, int(NEUTRAL_SEARCH_SECONDS * fps))] if s.offsets is not None]
    window = window or [s for s in states if s.offsets is not None]
    if not window:
        raise FacegraftError("no face found in the driver")
    model = load_face_model()
    basis = model.basis.reshape(len(model.basis), -1)
    energy = [float(np.sum((basis @ s.offsets[:468].reshape(-1)) ** 2)) for s in window]
    return window[int(np.argmin(energy))].index
