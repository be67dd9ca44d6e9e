"""Faces in video: stable track ids, model fitting and temporal smoothing, one frame at a time."""

from __future__ import annotations

import dataclasses

import numpy as np

from facegraft.analysis.facemodel import (N_MESH, FaceModel, expression_of, fit_pose, load_face_model,
                                          neutral_shape, project)
from facegraft.analysis.landmarker import Detection, FaceDetector, MeshLandmarker, box_iou, checked_rgb, tile_grid
from facegraft.analysis.smoothing import OneEuroFilter
from facegraft.analysis.types import Face, Pose
from facegraft.config import AnalysisConfig, SmoothingConfig
from facegraft.models import Models

# Two meshes overlapping this much are the same face found twice.
DUPLICATE_IOU = 0.5
# A detection brings a lost track back when it overlaps the track's last box at least this much.
REVIVE_IOU = 0.3


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    xy = landmarks[:N_MESH, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def build_face(track: int, landmarks: np.ndarray, score: float, pose: Pose, shape: np.ndarray,
               identity: np.ndarray, model: FaceModel) -> Face:
    return Face(
        track=track, box=landmark_box(landmarks), score=score, landmarks=landmarks.astype(np.float32),
        landmarks68=landmarks[model.ibug68, :2].astype(np.float32),
        iris_right=landmarks[468, :2].astype(np.float32), iris_left=landmarks[473, :2].astype(np.float32),
        pose=pose, identity=identity, expression=expression_of(shape, identity, model), shape=shape)


def covers(box: np.ndarray, detection: Detection) -> bool:
    """Whether a face box already accounts for a detection (its centre lies inside the box)."""
    cx, cy = (detection.box[:2] + detection.box[2:]) / 2
    return bool(box[0] <= cx <= box[2] and box[1] <= cy <= box[3])


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
    mesh: MeshLandmarker
    box: np.ndarray
    last_frame: int
    score: float
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

    Each tracked face is followed from frame to frame by its own mesh tracker; a face detector
    looks for new faces every `detect_interval` frames. Identity is estimated over each track
    (a running, frontal-weighted mean of its shapes), so it settles and then changes little.
    """

    def __init__(self, config: AnalysisConfig = AnalysisConfig(), models: Models | None = None):
        self.config = config
        self._models = models or Models()
        self._model = load_face_model()
        self._detector = FaceDetector(config.detection_threshold, self._models)
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._frame = -1
        self._searches = 0

    def update(self, rgb: np.ndarray, time: float | None = None) -> list[Face]:
        rgb = checked_rgb(rgb)
        self._frame += 1
        time = self._frame / 30.0 if time is None else float(time)
        found = self._follow(rgb)
        if self._detection_due(found):
            found += self._search(rgb, found)
        self._retire_old_tracks()
        faces = [self._face(track, points, rgb.shape, time) for track, points in found]
        return sorted(faces, key=lambda f: f.track)

    def _follow(self, rgb: np.ndarray) -> list[tuple[_Track, np.ndarray]]:
        found: list[tuple[_Track, np.ndarray]] = []
        for track in sorted(self._tracks, key=lambda t: t.id):
            if track.last_frame != self._frame - 1:
                continue  # lost: only a detection brings it back
            points = track.mesh.landmarks(rgb, track.box)
            if points is None:
                continue
            box = landmark_box(points)
            if any(box_iou(box, t.box) > DUPLICATE_IOU for t, _ in found):
                continue  # two trackers converged on one face: the older keeps it
            track.box, track.last_frame = box, self._frame
            found.append((track, points))
        return found

    def _detection_due(self, found: list) -> bool:
        if len(found) >= self.config.max_faces:
            return False  # no room for another face: searching would only cost time
        lost = any(t.last_frame < self._frame for t in self._tracks)
        return not found or lost or self._frame % self.config.detect_interval == 0

    def _search(self, rgb: np.ndarray, found: list[tuple[_Track, np.ndarray]]) -> list[tuple[_Track, np.ndarray]]:
        new: list[tuple[_Track, np.ndarray]] = []
        for det in self._detector.detect(rgb, self._next_tile(rgb)):
            holder = next((t for t, _ in found + new if covers(t.box, det)), None)
            if holder is not None:
                holder.score = det.score
                continue
            if len(found) + len(new) >= self.config.max_faces:
                break
            track = self._revivable(det) or self._new_track(det)
            points = track.mesh.landmarks(rgb, det.box)
            box = None if points is None else landmark_box(points)
            if box is None or any(box_iou(box, t.box) > DUPLICATE_IOU for t, _ in found + new):
                if track not in self._tracks:
                    track.mesh.close()
                continue
            if track.smoother and self._frame - track.last_frame > 2:
                track.smoother.reset()  # a face back after a gap must not be pulled from where it was
            track.box, track.last_frame, track.score = box, self._frame, det.score
            if track not in self._tracks:
                self._tracks.append(track)
                self._next_id += 1
            new.append((track, points))
        return new

    def _next_tile(self, rgb: np.ndarray) -> list[np.ndarray]:
        """One tile per search, in turn: small faces are found within a few seconds at little cost."""
        tiles = tile_grid(*rgb.shape[:2])
        if not tiles:
            return []
        self._searches += 1
        return [tiles[self._searches % len(tiles)]]

    def _revivable(self, det: Detection) -> _Track | None:
        lost = [t for t in self._tracks if t.last_frame < self._frame]
        best = max(lost, key=lambda t: box_iou(t.box, det.box), default=None)
        return best if best is not None and box_iou(best.box, det.box) >= REVIVE_IOU else None

    def _new_track(self, det: Detection) -> _Track:
        cfg = self.config.smoothing
        return _Track(id=self._next_id, mesh=MeshLandmarker(video=True, min_confidence=self.config.min_confidence, models=self._models),
                      box=det.box, last_frame=-1, score=det.score,
                      smoother=_PoseShapeFilter(cfg) if cfg.enabled else None,
                      shape_sum=np.zeros_like(self._model.template))

    def _retire_old_tracks(self) -> None:
        keep = []
        for track in self._tracks:
            if self._frame - track.last_frame <= self.config.max_track_gap:
                keep.append(track)
            else:
                track.mesh.close()
        self._tracks = keep

    def _face(self, track: _Track, points: np.ndarray, shape_hw: tuple, time: float) -> Face:
        pose, shape = fit_pose(points, (shape_hw[1], shape_hw[0]), self._model)
        identity = track.identity(shape, pose.yaw, self._model)
        landmarks = points
        if track.smoother:
            pose, shape = track.smoother(pose, shape, time)
            landmarks = project(shape, pose)
        return build_face(track.id, landmarks, track.score, pose, shape, identity, self._model)

    def close(self) -> None:
        self._detector.close()
        for track in self._tracks:
            track.mesh.close()
        self._tracks = []

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
