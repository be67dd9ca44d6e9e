"""Eye colour: the target's own eyes show through the swap (lids, gaze, blinks), optionally
recoloured with the source's iris colour."""

from __future__ import annotations

import cv2
import numpy as np

from facegraft.analysis.eyes import iris_colour, iris_pixels
from facegraft.analysis.types import Face


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
