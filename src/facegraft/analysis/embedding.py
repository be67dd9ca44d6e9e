"""Who a face is, as dlib's ResNet 128-D identity descriptor (the model behind face_recognition).

Descriptors of the same person lie closer than `SAME_PERSON` (Euclidean), different people
farther. The face is aligned from our own 68 iBUG points, so dlib's detector and landmark
predictor are never run.
"""

from __future__ import annotations

import dlib
import numpy as np

from facegraft.analysis.types import Face
from facegraft.models import Models

# dlib's published operating point: at 0.6 the model is 99.38% accurate on LFW.
SAME_PERSON = 0.6


def face_descriptor(rgb: np.ndarray, face: Face, jitter: int = 0, models: Models | None = None) -> np.ndarray:
    """The (128,) float32 identity descriptor of `face` in the RGB uint8 image `rgb`.

    `jitter` > 1 averages over that many randomly shifted, scaled and mirrored crops: about
    `jitter` times slower, only a little steadier (0.27 instead of 0.30 between two frames of one
    person), and random: two calls differ by about 0.1. 0 and 1 both mean one plain crop.
    Callers that describe many faces pass one `models`, so the network is loaded once.
    """
    image = np.ascontiguousarray(rgb, dtype=np.uint8)
    descriptor = (models or Models()).identity_network().compute_face_descriptor(image, _shape(face), int(jitter))
    return np.asarray(descriptor, dtype=np.float32)


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance; below `SAME_PERSON` means the same person."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def _shape(face: Face) -> dlib.full_object_detection:
    # The descriptor's face chip is aligned from the 68 points alone; the box only has to exist.
    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    points = [dlib.point(int(round(x)), int(round(y))) for x, y in face.landmarks68]
    return dlib.full_object_detection(dlib.rectangle(x0, y0, x1, y1), points)
