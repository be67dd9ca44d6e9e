"""Dense face landmarks from the MediaPipe face mesh that ships inside the mediapipe wheel.

This is the only module that talks to MediaPipe, so another landmark model could stand in
for it by returning the same `RawFace` values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

import numpy as np

from facegraft.errors import FacegraftError

os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging off the user's terminal
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

N_LANDMARKS = 478


@dataclasses.dataclass(frozen=True)
class RawFace:
    """One face as the landmark model saw it: pixel x, y and relative depth z (pixels, + away)."""

    landmarks: np.ndarray  # (478, 3) float32
    score: float


@contextlib.contextmanager
def _native_stderr_silenced():
    """MediaPipe's C++ side prints start-up warnings straight to fd 2; keep them off the terminal."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class MeshLandmarker:
    """Finds up to `max_faces` faces and their 478 landmarks (iris points included).

    In video mode MediaPipe tracks each face from the previous frame's landmarks and only
    re-runs detection while fewer than `max_faces` faces are tracked.
    """

    def __init__(self, max_faces: int = 4, video: bool = False, min_confidence: float = 0.5):
        with _native_stderr_silenced():
            self._open(max_faces, video, min_confidence)
        self._calls = 0

    def _open(self, max_faces: int, video: bool, min_confidence: float) -> None:
        import mediapipe as mp  # imported here: it takes a second and prints on import

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=not video,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min(min_confidence, 0.3))

    def detect(self, rgb: np.ndarray) -> list[RawFace]:
        rgb = _checked_rgb(rgb)
        height, width = rgb.shape[:2]
        # Sub-graphs start lazily over the first frames, each printing a warning.
        if self._calls >= 3:
            result = self._mesh.process(rgb)
        else:
            with _native_stderr_silenced():
                result = self._mesh.process(rgb)
            self._calls += 1
        if not result.multi_face_landmarks:
            return []
        scale = np.array([width, height, width], np.float32)
        faces = []
        for face in result.multi_face_landmarks:
            points = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32) * scale
            faces.append(RawFace(points, 1.0))
        return faces

    def detection_scores(self, rgb: np.ndarray, boxes: list[np.ndarray]) -> list[float]:
        """Confidence of the face detector for each box (0 where it sees no face there)."""
        with _native_stderr_silenced():
            result = self._detector.process(_checked_rgb(rgb))
        height, width = rgb.shape[:2]
        found = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            found.append((np.array([rel.xmin * width, rel.ymin * height,
                                    (rel.xmin + rel.width) * width, (rel.ymin + rel.height) * height]),
                          float(det.score[0])))
        return [max((s for b, s in found if box_iou(b, box) > 0.3), default=0.0) for box in boxes]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._mesh.close()
            self._detector.close()


def _checked_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise FacegraftError(f"expected an HxWx3 uint8 RGB image, got shape {rgb.shape} {rgb.dtype}")
    return np.ascontiguousarray(rgb)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
