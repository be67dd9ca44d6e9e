"""Face detection and dense landmarks from the MediaPipe models that ship inside the mediapipe wheel.

This is the only module that runs MediaPipe's face models (facegraft.models loads them), so another model could stand in for it by
returning the same values. The mesh model runs on a square crop around each face, not on
the whole frame: its own detector only finds faces that fill a good part of the image, so
small faces in wide shots and group photos would otherwise be missed.
"""

from __future__ import annotations

import contextlib
import dataclasses

import cv2
import numpy as np

from facegraft.errors import FacegraftError
from facegraft.models import Models, native_stderr_silenced

N_LANDMARKS = 478
CROP_SIZE = 256
# The crop spans this many times the face box, so the whole head fits even after fast motion.
CROP_MARGIN = 1.9
# Detection boxes cover brows to mouth; landmark boxes cover forehead to chin and are larger.
DETECTION_BOX_GROWTH = 1.15
# A video crop is only moved when the face drifts this far (share of the crop) or changes size,
# so the mesh model sees a steady frame instead of one that shakes with its own output.
CROP_DRIFT = 0.06
CROP_RESIZE = 0.12
NMS_IOU = 0.3
DETECTION_MAX_SIDE = 480


@dataclasses.dataclass(frozen=True)
class Detection:
    box: np.ndarray  # (4,) x0, y0, x1, y1 in pixels
    score: float


def checked_rgb(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        shape = getattr(rgb, "shape", None)
        raise FacegraftError(f"expected an HxWx3 uint8 RGB image, got {shape} {getattr(rgb, 'dtype', type(rgb))}")
    if min(rgb.shape[:2]) < 16:
        raise FacegraftError(f"image of {rgb.shape[1]}x{rgb.shape[0]} pixels is too small to hold a face")
    return np.ascontiguousarray(rgb)


class FaceDetector:
    """Both MediaPipe face detectors: short range (close, turned faces) and full range (small faces)."""

    def __init__(self, min_confidence: float = 0.5, models: Models | None = None):
        # MediaPipe applies its own threshold before the score it reports; filter on the score too.
        self._threshold = min_confidence
        self._models = (models or Models()).face_detectors(min_confidence)

    def detect(self, rgb: np.ndarray, tiles: list[np.ndarray] | tuple = ()) -> list[Detection]:
        """Faces in the whole frame, plus in each of `tiles` (x0, y0, x1, y1) for faces too small
        to see at whole-frame resolution (the models look at 128 and 192 pixel inputs)."""
        rgb = checked_rgb(rgb)
        found = self._detect_region(rgb, np.array([0, 0]), self._models)
        # In a tile a small face is large enough for the cheaper short-range model alone.
        for x0, y0, x1, y1 in tiles:
            found += self._detect_region(np.ascontiguousarray(rgb[y0:y1, x0:x1]), np.array([x0, y0]), self._models[:1])
        return non_max_suppression(found)

    def _detect_region(self, rgb: np.ndarray, offset: np.ndarray, models: list) -> list[Detection]:
        height, width = rgb.shape[:2]
        # The detectors look at 128/192 pixel inputs: a smaller copy finds the same faces, cheaper.
        shrink = DETECTION_MAX_SIDE / max(height, width)
        if shrink < 1.0:
            rgb = cv2.resize(rgb, (round(width * shrink), round(height * shrink)), interpolation=cv2.INTER_AREA)
        with native_stderr_silenced():
            results = [m.process(rgb) for m in models]
        found = []
        for result in results:
            for det in result.detections or []:
                if det.score[0] < self._threshold:
                    continue
                rel = det.location_data.relative_bounding_box
                box = np.array([rel.xmin * width, rel.ymin * height,
                                (rel.xmin + rel.width) * width, (rel.ymin + rel.height) * height])
                box += np.tile(offset, 2)
                found.append(Detection(grow_box(box, DETECTION_BOX_GROWTH), float(det.score[0])))
        return found

    def close(self) -> None:
        for model in self._models:
            with contextlib.suppress(Exception):
                model.close()


def tile_grid(height: int, width: int, count: int = 3, overlap: float = 0.25) -> list[np.ndarray]:
    """Overlapping count x count tiles; none when the frame is too small to gain from tiling."""
    tile_w, tile_h = width / (count - (count - 1) * overlap), height / (count - (count - 1) * overlap)
    if min(tile_w, tile_h) < 160:
        return []
    step_w, step_h = tile_w * (1 - overlap), tile_h * (1 - overlap)
    return [np.array([round(i * step_w), round(j * step_h), round(i * step_w + tile_w), round(j * step_h + tile_h)])
            for j in range(count) for i in range(count)]


def non_max_suppression(found: list[Detection]) -> list[Detection]:
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: -d.score):
        if all(box_iou(det.box, k.box) < NMS_IOU for k in kept):
            kept.append(det)
    return kept


class MeshLandmarker:
    """The 478-point mesh (irises included) of one face, found on a crop around a given box.

    In video mode one instance follows one face: MediaPipe then tracks it from the previous
    frame's landmarks instead of re-detecting it, which is both faster and steadier.
    """

    def __init__(self, video: bool = False, min_confidence: float = 0.5, models: Models | None = None):
        self._mesh = (models or Models()).face_mesh(video, min_confidence)
        self._video = video
        self._window: np.ndarray | None = None  # (cx, cy, side) of the current crop
        self._window_before: np.ndarray | None = None
        self._calls = 0

    def landmarks(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """(478, 3) pixel x, y and relative depth z (pixels, + away from the camera), or None."""
        window = self._crop_window(box)
        moved = window is not self._window_before
        cx, cy, side = window
        scale = CROP_SIZE / side
        matrix = np.float32([[scale, 0, CROP_SIZE / 2 - scale * cx], [0, scale, CROP_SIZE / 2 - scale * cy]])
        crop = cv2.warpAffine(rgb, matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        result = self._process(crop)
        if moved and self._video and result.multi_face_landmarks:
            # MediaPipe tracks from where the face was in the old crop (or, on a new face, from a
            # coarse detection); a second pass starts from where it is now, avoiding a one-frame glitch.
            result = self._process(crop)
        if not result.multi_face_landmarks:
            return None
        points = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], np.float64)
        points *= CROP_SIZE / scale
        points[:, 0] += cx - side / 2
        points[:, 1] += cy - side / 2
        return points

    def _process(self, crop: np.ndarray):
        # Sub-graphs start lazily over the first frames, each printing a warning.
        if self._calls >= 3:
            return self._mesh.process(crop)
        self._calls += 1
        with native_stderr_silenced():
            return self._mesh.process(crop)

    def _crop_window(self, box: np.ndarray) -> np.ndarray:
        self._window_before = self._window
        centre = (box[:2] + box[2:]) / 2
        side = CROP_MARGIN * max(box[2] - box[0], box[3] - box[1], 8.0)
        wanted = np.array([centre[0], centre[1], side])
        if self._video and self._window is not None:
            old = self._window
            drift = np.linalg.norm(wanted[:2] - old[:2]) / old[2]
            if drift < CROP_DRIFT and abs(np.log(side / old[2])) < CROP_RESIZE:
                return old
        self._window = wanted
        return wanted

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._mesh.close()


def grow_box(box: np.ndarray, factor: float) -> np.ndarray:
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * factor
    return np.concatenate([centre - half, centre + half])


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
