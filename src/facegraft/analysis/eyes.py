"""The eyes as measured in a frame: which pixels are visible iris, and the iris colour."""

from __future__ import annotations

import cv2
import numpy as np

from facegraft.analysis.regions import LEFT_EYE, RIGHT_EYE
from facegraft.analysis.types import Face

IRISES = ((468, RIGHT_EYE), (473, LEFT_EYE))  # centre landmark and the lid contour around it
MIN_IRIS_PIXELS = 12


def iris_pixels(shape_hw: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """Mask of visible iris pixels: inside an iris circle and inside the open lids."""
    mask = np.zeros(shape_hw, np.uint8)
    for centre, lids in IRISES:
        rim = landmarks[centre + 1:centre + 5, :2]
        middle = landmarks[centre, :2]
        radius = float(np.mean(np.linalg.norm(rim - middle, axis=1)))
        disk = np.zeros(shape_hw, np.uint8)
        cv2.circle(disk, tuple(np.round(middle).astype(int)), max(1, int(round(radius * 0.95))), 1, -1)
        opening = np.zeros(shape_hw, np.uint8)
        cv2.fillPoly(opening, [np.round(landmarks[lids, :2]).astype(np.int32)], 1)
        mask |= disk & opening
    return mask.astype(bool)


def iris_colour(rgb: np.ndarray, face: Face) -> np.ndarray | None:
    """Mean Lab colour of the iris, leaving out the pupil and glints; None when the eyes are too small or shut."""
    mask = iris_pixels(rgb.shape[:2], face.landmarks)
    if mask.sum() < MIN_IRIS_PIXELS:
        return None
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[mask]
    # The pupil is the darkest part, lid edge and white of the eye the brightest: keep the middle.
    low, high = np.percentile(lab[:, 0], [25, 75])
    ring = lab[(lab[:, 0] >= low) & (lab[:, 0] <= high)]
    return ring.mean(axis=0) if len(ring) else None
