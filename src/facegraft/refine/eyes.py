"""Eye colour: the target's own eyes show through the swap (lids, gaze, blinks), optionally
recoloured with the source's iris colour."""

from __future__ import annotations

import cv2
import numpy as np

from facegraft.analysis import Face
from facegraft.generate.regions import LEFT_EYE, RIGHT_EYE

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


def recolour_irises(out: np.ndarray, original: np.ndarray, face: Face, source_colour: np.ndarray) -> None:
    """Shift the target's iris colour toward the source's in place, keeping its pupil, glints and shading."""
    target_colour = iris_colour(original, face)
    if target_colour is None:
        return
    mask = iris_pixels(out.shape[:2], face.landmarks)
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    region = out[y0:y1, x0:x1]
    lab = cv2.cvtColor(region.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    # The pupil stays black: the shift fades out over the darkest part of the iris.
    pupil = np.clip((lab[..., 0] - target_colour[0] * 0.5) / max(target_colour[0] * 0.5, 1.0), 0.0, 1.0)
    # ... and what is brighter than iris (white of the eye, lid skin, glints) keeps its colour.
    not_iris = np.clip((target_colour[0] + 18.0 - lab[..., 0]) / 8.0, 0.0, 1.0)
    shift = (source_colour - target_colour) * np.array([0.7, 1.0, 1.0])
    soft = cv2.GaussianBlur(mask[y0:y1, x0:x1].astype(np.float32), (0, 0), 0.8)
    lab += shift * (soft * pupil * not_iris)[..., None]
    out[y0:y1, x0:x1] = cv2.convertScaleAbs(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), alpha=255.0)
