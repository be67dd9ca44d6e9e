"""Faces in video: stable track ids, model fitting and temporal smoothing, one frame at a time."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import linear_sum_assignment

from facegraft.analysis.facemodel import (N_MESH, FaceModel, expression_of, fit_pose, load_face_model,
                                          neutral_shape, project)
from facegraft.analysis.landmarker import MeshLandmarker, RawFace, box_iou
from facegraft.analysis.smoothing import OneEuroFilter
from facegraft.analysis.types import Face, Pose
from facegraft.config import AnalysisConfig, SmoothingConfig

# Two mesh results overlapping this much are the same face found twice.
DUPLICATE_IOU = 0.5
# A detection continues a track when its box overlaps the track's last box at least this much.
MATCH_IOU = 0.2


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    xy = landmarks[:N_MESH, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def dedupe(raw: list[RawFace]) -> list[RawFace]:
    kept: list[RawFace] = []
    for face in raw:
        box = landmark_box(face.landmarks)
        if all(box_iou(box, landmark_box(k.landmarks)) < DUPLICATE_IOU for k in kept):
            kept.append(face)
    return kept


def build_face(track: int, landmarks: np.ndarray, score: float, pose: Pose, shape: np.ndarray,
               identity: np.ndarray, model: FaceModel) -> Face:
    return Face(
        track=track, box=landmark_box(landmarks), score=score, landmarks=landmarks.astype(np.float32),
        landmarks68=landmarks[model.ibug68, :2].astype(np.float32),
        iris_right=landmarks[468, :2].astype(np.float32), iris_left=landmarks[473, :2].astype(np.float32),
        pose=pose, identity=identity, expression=expression_of(shape, identity, model), shape=shape)


class _PoseShapeFilter:
    """Smooths pose and canonical shape; the output landmarks are re-projected from both."""

    def __init__(self, cfg: SmoothingConfig):
        self._rotation = OneEuroFilter(cfg.rotation_min_cutoff, cfg.rotation_beta, cfg.derivative_cutoff)
        self._position = OneEuroFilter(cfg.translation_min_cutoff, cfg.translation_beta, cfg.derivative_cutoff)
        self._log_scale = OneEuroFilter(cfg.translation_min_cutoff, cfg.translation_beta, cfg.derivative_cutoff)
        self._shape = OneEuroFilter(cfg.shape_min_cutoff, cfg.shape_beta, cfg.derivative_cutoff)

    def reset(self) -> None:
        for f in (self._rotation, self._position, self._log_scale, self._shape):
            f.reset()

    def __call__(self, pose: Pose, shape: np.ndarray, time: float) -> tuple[Pose, np.ndarray]:
        pitch, yaw, roll = self._rotation(np.array([pose.pitch, pose.yaw, pose.roll]), time)
        tx, ty = self._position(np.array([pose.tx, pose.ty]), time, speed_unit=pose.scale)
        scale = float(np.exp(self._log_scale(np.array([np.log(pose.scale)]), time)[0]))
        smoothed = Pose(pitch=float(pitch), yaw=float(yaw), roll=float(roll), tx=float(tx), ty=float(ty),
                        tz=pose.tz * pose.scale / scale, scale=scale)
        return smoothed, self._shape(shape, time)


@dataclasses.dataclass
class _Track:
    id: int
    box: np.ndarray
    last_frame: int
    score: float
    score_frame: int
    smoother: _PoseShapeFilter | None
    shape_sum: np.ndarray
    weight_sum: float = 0.0

    def identity(self, shape: np.ndarray, yaw: float, model: FaceModel) -> np.ndarray:
        # Frontal views are the most reliable evidence of the neutral shape.
        weight = max(np.cos(np.radians(yaw)) ** 4, 1e-3)
        self.shape_sum = self.shape_sum + weight * shape
        self.weight_sum += weight
        return neutral_shape(self.shape_sum / self.weight_sum, model)


class FaceTracker:
    """Feed frames in order with `update`; get the faces of each frame with stable track ids.

    Identity is estimated over each track (a running, frontal-weighted mean of its shapes), so
    it settles within the first frames and then changes little.
    """

    def __init__(self, config: AnalysisConfig = AnalysisConfig(), landmarker: MeshLandmarker | None = None):
        self.config = config
        self._model = load_face_model()
        self._landmarker = landmarker or MeshLandmarker(config.max_faces, video=True,
                                                        min_confidence=config.min_confidence)
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._frame = -1

    def update(self, rgb: np.ndarray, time: float | None = None) -> list[Face]:
        self._frame += 1
        time = self._frame / 30.0 if time is None else float(time)
        raw = dedupe(self._landmarker.detect(rgb))
        tracks = self._assign([landmark_box(r.landmarks) for r in raw])
        self._refresh_scores(rgb, raw, tracks)
        faces = [self._face(track, face, rgb.shape[:2], time) for track, face in zip(tracks, raw)]
        self._tracks = [t for t in self._tracks if self._frame - t.last_frame <= self.config.max_track_gap]
        return sorted(faces, key=lambda f: f.track)

    def _assign(self, boxes: list[np.ndarray]) -> list[_Track]:
        live = [t for t in self._tracks if self._frame - t.last_frame <= self.config.max_track_gap]
        matched: dict[int, _Track] = {}
        if live and boxes:
            cost = np.array([[1.0 - box_iou(b, t.box) for t in live] for b in boxes])
            for row, col in zip(*linear_sum_assignment(cost)):
                if 1.0 - cost[row, col] >= MATCH_IOU:
                    matched[row] = live[col]
        out = []
        for row, box in enumerate(boxes):
            track = matched.get(row) or self._new_track(box)
            if self._frame - track.last_frame > 2 and track.smoother:
                track.smoother.reset()  # a face back after a gap must not be pulled from where it was
            track.box, track.last_frame = box, self._frame
            out.append(track)
        return out

    def _new_track(self, box: np.ndarray) -> _Track:
        cfg = self.config.smoothing
        track = _Track(id=self._next_id, box=box, last_frame=self._frame, score=0.0, score_frame=-1,
                       smoother=_PoseShapeFilter(cfg) if cfg.enabled else None,
                       shape_sum=np.zeros_like(self._model.template))
        self._next_id += 1
        self._tracks.append(track)
        return track

    def _refresh_scores(self, rgb: np.ndarray, raw: list[RawFace], tracks: list[_Track]) -> None:
        stale = [t.score_frame < 0 or self._frame - t.score_frame >= self.config.score_interval for t in tracks]
        if not any(stale):
            return
        scores = self._landmarker.detection_scores(rgb, [t.box for t in tracks])
        for track, score in zip(tracks, scores):
            track.score, track.score_frame = score, self._frame

    def _face(self, track: _Track, raw: RawFace, size: tuple[int, int], time: float) -> Face:
        pose, shape = fit_pose(raw.landmarks, (size[1], size[0]), self._model)
        identity = track.identity(shape, pose.yaw, self._model)
        landmarks = raw.landmarks
        if track.smoother:
            pose, shape = track.smoother(pose, shape, time)
            landmarks = project(shape, pose)
        return build_face(track.id, landmarks, track.score, pose, shape, identity, self._model)

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
