"""Analysis stage: where faces are, who they are (shape) and what they do (pose, expression)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

import numpy as np

from facegraft.analysis.facemodel import FaceModel, fit_pose, load_face_model, neutral_shape, project
from facegraft.analysis.landmarker import FaceDetector, MeshLandmarker, box_iou, checked_rgb, tile_grid
from facegraft.analysis.tracking import DUPLICATE_IOU, FaceTracker, build_face, landmark_box
from facegraft.analysis.types import Expression, Face, Pose
from facegraft.config import AnalysisConfig
from facegraft.models import Models
from facegraft.io import MediaKind, VideoFrame, VideoReader, probe, read_image

__all__ = ["AnalyzedFrame", "Expression", "Face", "FaceModel", "FaceTracker", "Pose", "analyze",
           "analyze_image", "load_face_model", "project"]


@dataclasses.dataclass(frozen=True)
class AnalyzedFrame:
    frame: VideoFrame
    faces: tuple[Face, ...]


def analyze_image(image: np.ndarray | str | Path, config: AnalysisConfig = AnalysisConfig(),
                  models: Models | None = None) -> list[Face]:
    """Every face in a still image, largest first (track ids 0, 1, ...); no smoothing."""
    rgb = checked_rgb(image if isinstance(image, np.ndarray) else read_image(Path(image)))
    model = load_face_model()
    found = _find_faces(rgb, config, models or Models())
    found.sort(key=lambda item: -_area(landmark_box(item[0])))
    faces = []
    for index, (points, score) in enumerate(found):
        pose, shape = fit_pose(points, (rgb.shape[1], rgb.shape[0]), model)
        faces.append(build_face(index, points, score, pose, shape, neutral_shape(shape, model), model))
    return faces


def _find_faces(rgb: np.ndarray, config: AnalysisConfig, models: Models) -> list[tuple[np.ndarray, float]]:
    detector = FaceDetector(config.detection_threshold, models)
    mesh = MeshLandmarker(video=False, min_confidence=config.min_confidence, models=models)
    found: list[tuple[np.ndarray, float]] = []
    try:
        for det in detector.detect(rgb, tile_grid(*rgb.shape[:2])):
            points = mesh.landmarks(rgb, det.box)
            if points is None:
                continue
            box = landmark_box(points)
            if all(box_iou(box, landmark_box(p)) <= DUPLICATE_IOU for p, _ in found):
                found.append((points, det.score))
            if len(found) >= config.max_faces:
                break
    finally:
        detector.close()
        mesh.close()
    return found


def analyze(path: str | Path, config: AnalysisConfig = AnalysisConfig()) -> Iterator[AnalyzedFrame]:
    """Stream the faces of a video (or of an image, as one frame) frame by frame."""
    path = Path(path)
    kind = probe(path)
    if kind is MediaKind.IMAGE:
        rgb = read_image(path)
        yield AnalyzedFrame(VideoFrame(0, 0.0, rgb), tuple(analyze_image(rgb, config)))
        return
    with VideoReader(path) as reader, FaceTracker(config) as tracker:
        for frame in reader:
            yield AnalyzedFrame(frame, tuple(tracker.update(frame.rgb, frame.time)))


def _area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))
