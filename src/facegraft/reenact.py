"""Reenactment: a still portrait driven by someone else's motion (a driving video or a motion file).

Relative motion by default: the driver's change of pose and expression from its own neutral frame
is applied to the portrait's own pose and shape, so the portrait keeps its face shape and framing.
The face is re-rendered from the portrait's own skin on the new geometry; hair, ears and neck follow
the head; the background stays; eyes follow the driver's gaze; an opened mouth gets the driver's
mouth interior, brought to the portrait's brightness.
"""

from __future__ import annotations

import dataclasses
import fractions
import functools
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from facegraft.analysis import Face, FaceTracker, analyze_image, load_face_model, project
from facegraft.analysis.geometry import euler_from_matrix, matrix_from_euler
from facegraft.analysis.types import Pose
from facegraft.config import AnalysisConfig, ProvenanceConfig, VideoConfig
from facegraft.errors import FacegraftError
from facegraft.generate.profile import build_profile
from facegraft.analysis.regions import INNER_LIPS, LEFT_EYE, RIGHT_EYE
from facegraft.generate.base import GeneratedFace
from facegraft.generate.mesh import MeshRenderer
from facegraft.generate.warp import Portrait, head_maps, prepare_portrait, warp_portrait
from facegraft.io import MediaKind, VideoReader, probe, read_image
from facegraft.io.run import VideoRun, VIDEO_SUFFIXES
from facegraft.io.motion import read_motion
from facegraft.provenance import FrameMarker, Stamp, require_consent
from facegraft.refine.blend import multiband_blend
from facegraft.refine.composite import FACE_WIDTH_IOD, face_alpha, grow_window, place_generated

HOLD_SECONDS = 0.5  # a driver face that vanishes is held this long, then eased back to neutral
EASE_SECONDS = 0.5
NEUTRAL_SEARCH_SECONDS = 3.0  # the automatic neutral frame is looked for in the first seconds


@dataclasses.dataclass(frozen=True)
class ReenactSettings:
    absolute: bool = False  # apply the driver's head rotation directly instead of its change
    driver_neutral: int | None = None  # driver frame to treat as neutral (default: found automatically)
    analysis: AnalysisConfig = AnalysisConfig(max_faces=1)
    video: VideoConfig = VideoConfig()
    provenance: ProvenanceConfig = ProvenanceConfig()


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


@dataclasses.dataclass(frozen=True)
class ReenactSummary:
    output: Path
    frames: int
    frames_with_driver_face: int
    neutral_frame: int
    seconds: float


def _state_from_face(index: int, t: float, face: Face) -> DriverState:
    return DriverState(index, t, face.pose.rotation, np.array([face.pose.tx, face.pose.ty]), face.pose.scale,
                       face.expression.offsets.astype(np.float32),
                       np.array([face.expression.named["gaze_x"], face.expression.named["gaze_y"]]),
                       face.landmarks[INNER_LIPS, :2].astype(np.float32),
                       np.array([face.expression.named["eye_open_right"], face.expression.named["eye_open_left"]]))


def states_from_video(path: Path, config: AnalysisConfig, progress: bool,
                      on_frame: Callable[[int, int], None] | None = None,
                      most: int | None = None) -> tuple[list[DriverState], object]:
    """The driver's motion per frame (of the first `most` frames when given);
    `on_frame(frames done, frames total)` after each frame."""
    states = []
    with VideoReader(path) as reader, FaceTracker(config) as tracker:
        bar = tqdm(total=reader.info.frame_count or None, unit="frame", file=sys.stderr, disable=not progress,
                   desc="driver", leave=False)
        followed: int | None = None
        for frame in reader:
            faces = tracker.update(frame.rgb, frame.time)
            face = next((f for f in faces if f.track == followed), None) or (max(faces, key=lambda f: f.pose.scale)
                                                                            if faces else None)
            followed = face.track if face is not None else followed
            states.append(_state_from_face(frame.index, frame.time, face) if face is not None
                          else DriverState(frame.index, frame.time, None, None, None, None, None, None))
            bar.update(1)
            if on_frame is not None:
                on_frame(len(states), reader.info.frame_count)
            if most is not None and len(states) >= most:
                break
        bar.close()
        info = reader.info
    return states, info


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
            states.append(DriverState(index, t, None, None, None, None, None, None))
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


class _Motion:
    """Turns each driver state into the portrait's shape and pose, holding and easing over gaps."""

    def __init__(self, portrait_face: Face, neutral: DriverState, absolute: bool):
        self.face = portrait_face
        self.neutral = neutral
        self.absolute = absolute
        self._last: tuple | None = None
        self._missing_since: float | None = None

    def at(self, state: DriverState) -> tuple[np.ndarray, Pose, np.ndarray]:
        if state.offsets is not None:
            self._missing_since = None
            self._last = self._delta(state)
            shape, pose, gaze = self._apply(*self._last, amount=1.0)
            if state.eyes is not None and self.neutral.eyes is not None:
                ratios = state.eyes / np.maximum(self.neutral.eyes, 0.05)
                shape = scale_eyelids(shape, self.face.shape, ratios)
            return shape, pose, gaze
        if self._last is None:
            return self._apply(*self._zero(), amount=0.0)
        if self._missing_since is None:
            self._missing_since = state.time
        gone = state.time - self._missing_since
        amount = 1.0 if gone <= HOLD_SECONDS else float(np.exp(-(gone - HOLD_SECONDS) / EASE_SECONDS))
        return self._apply(*self._last, amount=amount)

    def _zero(self):
        return np.eye(3), np.zeros(2), 1.0, np.zeros((478, 3)), np.zeros(2)

    def _delta(self, s: DriverState):
        n = self.neutral
        rotation = s.rotation @ n.rotation.T
        move = (s.position - n.position) * (self.face.pose.scale / n.scale)
        return rotation, move, s.scale / n.scale, s.offsets - n.offsets, s.gaze - n.gaze

    def _apply(self, rotation, move, zoom, offsets, gaze, amount: float):
        p = self.face.pose
        if amount < 1.0:  # ease toward neutral through the rotation's angles
            rotation = matrix_from_euler(*(amount * np.array(euler_from_matrix(rotation))))
            move, zoom, offsets, gaze = move * amount, 1 + (zoom - 1) * amount, offsets * amount, gaze * amount
        base = self.neutral.rotation if self.absolute else None
        new_rot = (rotation @ base) if base is not None else rotation @ p.rotation
        pitch, yaw, roll = euler_from_matrix(new_rot)
        scale = p.scale * zoom
        pose = Pose(pitch, yaw, roll, p.tx + move[0], p.ty + move[1], p.tz * p.scale / scale, scale)
        return self.face.shape + offsets, pose, gaze


def scale_eyelids(shape: np.ndarray, portrait: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Open or close the portrait's lids by the driver's ratio to its own neutral opening.

    Adding the driver's lid offsets moves lids by the driver's distances, which does not shut
    eyes larger than the driver's; a ratio closes any eye on a blink and widens it on surprise.
    """
    out = shape.copy()
    for ring, weights, ratio in ((RIGHT_EYE, _lid_weights(0), ratios[0]), (LEFT_EYE, _lid_weights(1), ratios[1])):
        def opening(s: np.ndarray) -> float:
            return float(np.mean(s[ring[1:8], 1]) - np.mean(s[ring[9:16], 1]))
        now, wanted = opening(shape), opening(portrait) * float(np.clip(ratio, 0.0, 1.6))
        if abs(now) < 1e-6:
            continue
        a, b = shape[ring[0]], shape[ring[8]]
        t = np.clip((shape[:, 0] - a[0]) / (b[0] - a[0] + 1e-9), 0.0, 1.0)
        midline = a[1] + t * (b[1] - a[1])
        factor = wanted / now
        out[:, 1] += weights * (shape[:, 1] - midline) * (factor - 1.0)
    return out


@functools.cache
def _lid_weights(side: int) -> np.ndarray:
    """How much each vertex follows the lids of one eye (1 on the lid margin, fading over the lid)."""
    template = load_face_model().template
    ring = (RIGHT_EYE, LEFT_EYE)[side]
    d = np.linalg.norm(template[:, None, :] - template[None, ring, :], axis=2).min(axis=1)
    weights = np.exp(-(d / 0.06) ** 2)
    weights[ring] = 1.0
    weights[468:] = 0.0  # the irises are gaze, not lids
    return weights


def reenact(source: str | Path, driver: str | Path, output: str | Path, settings: ReenactSettings = ReenactSettings(),
            progress: bool = False, on_progress: Callable[[int, int], None] | None = None) -> ReenactSummary:
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
    portrait_rgb, face = _portrait(source)
    if _is_motion_file(driver):
        states, fps = states_from_motion(driver)
        audio = None
    else:
        _check_driver_video(driver)
        states, info = states_from_video(driver, settings.analysis, progress,
                                         on_frame=on_progress and (lambda done, total: on_progress(done, 2 * total)))
        fps, audio = info.fps, (driver if info.has_audio else None)
    neutral = choose_neutral(states, float(fps), settings.driver_neutral)
    engine = _Reenactor(portrait_rgb, face, source.name, states[neutral], settings)
    marker = FrameMarker(Stamp.new(settings.provenance))
    marker.check()
    frames = _driver_images(driver, len(states)) if not _is_motion_file(driver) else None
    h, w = portrait_rgb.shape[:2]
    meta = marker.stamp.metadata()
    with VideoRun((source, driver), on_progress) as run:
        writer = run.write_video(output, w, h, fps, settings.video, {"comment": meta["Description"],
                                                                     "encoder": meta["Software"]}, audio_from=audio)
        bar = run.hold(tqdm(total=len(states), unit="frame", file=sys.stderr, disable=not progress,
                            desc="reenact", leave=False))
        analysed = 0 if _is_motion_file(driver) else len(states)  # steps already reported
        for rendered, state in enumerate(states, 1):
            driver_rgb = next(frames) if frames is not None else None
            writer.write(marker.mark(engine.frame(state, driver_rgb)), state.time)
            bar.update(1)
            run.report(analysed + rendered, analysed + len(states))
    found = sum(s.offsets is not None for s in states)
    return ReenactSummary(output, len(states), found, neutral, time.perf_counter() - started)


def _portrait(source: Path) -> tuple[np.ndarray, Face]:
    rgb = read_image(source)
    faces = analyze_image(rgb)
    if not faces:
        raise FacegraftError(f"{source}: no face mesh could be fitted to the portrait")
    return rgb, faces[0]


def _is_motion_file(driver: Path) -> bool:
    return driver.suffix.lower() in (".jsonl", ".csv")


def _check_driver_video(driver: Path) -> None:
    if probe(driver) is not MediaKind.VIDEO:
        raise FacegraftError(f"{driver}: the driver must be a video or a motion file (.jsonl, .csv)")


class ReenactPreview:
    """Single reenacted frames for interactive previews (the UI's scrubbing).

    The portrait and the driver's neutral frame are prepared once; for a video driver only its
    first seconds are analysed, where the neutral frame is looked for. Each previewed frame's
    motion comes from that driver frame alone, so it is close to, not identical with, what
    `reenact` renders with the whole clip's tracking and smoothing.
    """

    def __init__(self, source: str | Path, driver: str | Path, settings: ReenactSettings = ReenactSettings()):
        require_consent(settings.provenance)
        source, driver = Path(source), Path(driver)
        self.settings = settings
        rgb, face = _portrait(source)
        if _is_motion_file(driver):
            self.states, fps = states_from_motion(driver)
        else:
            _check_driver_video(driver)
            with VideoReader(driver) as reader:
                fps = reader.info.fps
            most = max(int(NEUTRAL_SEARCH_SECONDS * float(fps)), (settings.driver_neutral or 0) + 1)
            self.states, _ = states_from_video(driver, settings.analysis, False, most=most)
        self.fps = float(fps)
        neutral = choose_neutral(self.states, self.fps, settings.driver_neutral)
        self._engine = _Reenactor(rgb, face, source.name, self.states[neutral], settings)

    def frame(self, seconds: float, driver_rgb: np.ndarray | None = None,
              marker: FrameMarker | None = None) -> np.ndarray:
        """The portrait moved as the driver is at `seconds`, labelled and watermarked.

        `driver_rgb`: the driver video's frame at that time (None for a motion file).
        """
        if driver_rgb is not None:
            index = int(round(seconds * self.fps))
            faces = analyze_image(driver_rgb, self.settings.analysis)
            state = (_state_from_face(index, seconds, faces[0]) if faces
                     else DriverState(index, seconds, None, None, None, None, None, None))
        else:
            state = min(self.states, key=lambda s: abs(s.time - seconds))
        if marker is None:
            marker = FrameMarker(Stamp.new(self.settings.provenance))
            marker.check()
        return marker.mark(self._engine.frame(state, driver_rgb))


def _driver_images(path: Path, count: int) -> Iterator[np.ndarray | None]:
    with VideoReader(path) as reader:
        for frame in reader:
            yield frame.rgb
    while True:
        yield None


class _Reenactor:
    def __init__(self, rgb: np.ndarray, face: Face, name: str, neutral: DriverState, settings: ReenactSettings):
        self.rgb = rgb
        self.face = face
        self.portrait: Portrait = prepare_portrait(rgb, face.landmarks)
        self.profile = build_profile([(rgb, name)])
        # The portrait keeps its own shape: shape transfer 0, rendered finer than a swap.
        self.generator = MeshRenderer(shape_transfer=0.0, max_side=320)
        self.motion = _Motion(face, neutral, settings.absolute)
        self.neutral = neutral
        self.rigid = load_face_model().rigid
        self.lip_area = _ring_area(face.landmarks[INNER_LIPS, :2])
        self.skin_l = _mean_lightness(rgb, face)

    def frame(self, state: DriverState, driver_rgb: np.ndarray | None) -> np.ndarray:
        shape, pose, gaze = self.motion.at(state)
        moved = dataclasses.replace(self.face, shape=shape, pose=pose)
        points = project(shape, pose)
        motion, _ = cv2.estimateAffinePartial2D(self.face.landmarks[self.rigid, :2], points[self.rigid, :2])
        if motion is None:
            motion = np.float64([[1, 0, 0], [0, 1, 0]])
        map_x, map_y, uncovered = head_maps(self.portrait, motion)
        _follow_eyes(map_x, map_y, self.face.landmarks, points)
        _shift_irises(map_x, map_y, points, gaze)
        base = warp_portrait(self.portrait, map_x, map_y, uncovered)
        rendered = self.generator.generate(self.profile, moved, base.shape[:2])
        if rendered is None:
            return base
        out = _paste_face(base, rendered, pose.scale)
        _fill_mouth(out, points, state, driver_rgb, self.lip_area, self.skin_l)
        return out


def _ring_area(ring: np.ndarray) -> float:
    return float(abs(cv2.contourArea(ring.astype(np.float32))))


def _mean_lightness(rgb: np.ndarray, face: Face) -> float:
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(face.landmarks[[50, 280, 101, 330, 118, 347], :2]).astype(np.int32)), 1)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return float(lab[..., 0][mask > 0].mean()) if mask.any() else 128.0


def _follow_eyes(map_x: np.ndarray, map_y: np.ndarray, before: np.ndarray, after: np.ndarray) -> None:
    """Stretch each eye's content with its lids, so eyes opened wide look wide open (closing is
    covered by the lids themselves)."""
    h, w = map_x.shape
    for ring in (RIGHT_EYE, LEFT_EYE):
        matrix, _ = cv2.estimateAffine2D(after[ring, :2].astype(np.float32), before[ring, :2].astype(np.float32))
        if matrix is None:
            continue
        eye = after[ring, :2]
        width = float(np.linalg.norm(eye[0] - eye[8]))
        x0, y0 = np.floor(eye.min(axis=0) - width * 0.5).astype(int)
        x1, y1 = np.ceil(eye.max(axis=0) + width * 0.5).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillPoly(mask, [np.round(eye - (x0, y0)).astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(cv2.dilate(mask, np.ones((3, 3), np.uint8)), (0, 0), max(0.8, width * 0.08))
        xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        src_x = matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2]
        src_y = matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2]
        map_x[y0:y1, x0:x1] += mask * (src_x - map_x[y0:y1, x0:x1])
        map_y[y0:y1, x0:x1] += mask * (src_y - map_y[y0:y1, x0:x1])


def _shift_irises(map_x: np.ndarray, map_y: np.ndarray, points: np.ndarray, gaze: np.ndarray) -> None:
    """Move the eye content inside each opening by the driver's change of gaze."""
    if not np.any(gaze):
        return
    for ring in (RIGHT_EYE, LEFT_EYE):
        eye = points[ring, :2]
        width = float(np.linalg.norm(eye[0] - eye[8]))
        mask = np.zeros(map_x.shape, np.float32)
        cv2.fillPoly(mask, [np.round(eye).astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, width * 0.05))
        # x toward the subject's left is the image's right in a frontal view; y up is image up.
        map_x -= mask * float(gaze[0]) * width
        map_y += mask * float(gaze[1]) * width


def _paste_face(base: np.ndarray, rendered: GeneratedFace, scale: float) -> np.ndarray:
    face_px = FACE_WIDTH_IOD * scale
    x0, y0, x1, y1 = grow_window(rendered.window, face_px * 0.2, base.shape[:2])
    region = base[y0:y1, x0:x1]
    canvas, covered, _, weight, _ = place_generated(rendered, (x0, y0, x1, y1), region)
    out = base.copy()
    out[y0:y1, x0:x1] = multiband_blend(region, canvas, face_alpha(rendered, (x0, y0), covered, weight, face_px))
    return out


def _fill_mouth(out: np.ndarray, points: np.ndarray, state: DriverState, driver_rgb: np.ndarray | None,
                portrait_area: float, skin_l: float) -> None:
    """Give an opened mouth an inside: the driver's own (teeth, tongue), or a dark cavity."""
    ring = points[INNER_LIPS, :2].astype(np.float32)
    area = _ring_area(ring)
    if area <= portrait_area * 1.3 + 4.0:
        return  # not opened wider than the portrait's own mouth: the portrait's pixels are right
    mask = np.zeros(out.shape[:2], np.float32)
    cv2.fillPoly(mask, [np.round(ring).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.8)[..., None]
    inside = _driver_mouth(out.shape, ring, state, driver_rgb, skin_l)
    out[:] = (out * (1.0 - mask) + inside * mask + 0.5).astype(np.uint8)


def _driver_mouth(shape, ring, state: DriverState, driver_rgb, skin_l: float) -> np.ndarray:
    if driver_rgb is not None and state.lips is not None:
        matrix, _ = cv2.estimateAffine2D(state.lips, ring)
        if matrix is not None:
            inside = cv2.warpAffine(driver_rgb, matrix, (shape[1], shape[0]), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
            # Bring the driver's mouth to the portrait's brightness (teeth stay teeth-coloured).
            driver_l = cv2.cvtColor(driver_rgb, cv2.COLOR_RGB2Lab)[..., 0].mean()
            return np.clip(inside * (skin_l / max(driver_l, 1.0)) ** 0.5, 0, 255)
    cavity = np.zeros(shape, np.float32)
    cavity[..., :] = (60, 22, 24)  # a dark, warm mouth cavity
    return cavity
