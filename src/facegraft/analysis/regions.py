"""Named vertex groups of the MediaPipe face mesh, and per-vertex weights over the face model's
template that every stage reads the same way (what is bare skin, where hair may begin)."""

from __future__ import annotations

import functools

import numpy as np

from facegraft.analysis.facemodel import load_face_model
from facegraft.analysis.types import Face

# The swap fades out over the upper forehead, where hair (fringes, hairlines) often begins.
FOREHEAD_FADE = (0.95, 1.25)  # template heights (IOD) where the mask starts to fade and reaches zero
# Expression displacement (IOD) where skin starts to count as moved, and the ramp to fully moved: a
# neutral face's fit still leaves 0.02-0.05 IOD of residual offsets.
ACTIVE_OFFSET = (0.04, 0.08)

FACE_OVAL = np.array([10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
                      377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109])
INNER_LIPS = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95])
RIGHT_EYE = np.array([33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7])
LEFT_EYE = np.array([263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249])
# Openings the mesh leaves as holes: what shows through them is the target's own eyes and mouth.
OPENINGS = (RIGHT_EYE, LEFT_EYE, INNER_LIPS)
BROWS = np.array([70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276])
OUTER_LIPS = np.array([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185])


@functools.cache
def mask_weights() -> np.ndarray:
    """Per-vertex swap weight: 1 over the face, fading to 0 toward the hairline."""
    height = load_face_model().template[:, 1]
    lo, hi = FOREHEAD_FADE
    t = np.clip((height - lo) / (hi - lo), 0.0, 1.0)
    return (1.0 - t * t * (3 - 2 * t)).astype(np.float32)


@functools.cache
def hair_band() -> np.ndarray:
    """Per-vertex 1 where hair may cover the face (upper forehead, temples), 0 elsewhere."""
    t = load_face_model().template
    forehead = np.clip((t[:, 1] - 0.85) / 0.15, 0.0, 1.0)
    # Faded in with height, not cut at one: a hard edge across the cheek printed as a straight seam
    # where hair was found above it and not below (a turned head shows that cheek large).
    temples = np.clip((np.abs(t[:, 0]) - 0.8) / 0.15, 0.0, 1.0) * np.clip((t[:, 1] + 0.1) / 0.4, 0.0, 1.0)
    return np.maximum(forehead, temples).astype(np.float32)


def outline_band() -> np.ndarray:
    """Per-vertex 1 along the face's outline, 0 from a quarter IOD inside it: where a photo shows
    what lies beside the face (hair over the cheeks, a collar, the background) inside the mesh."""
    return (1.0 - _beyond(FACE_OVAL, 0.1, 0.15)).astype(np.float32)


def hair_rim() -> np.ndarray:
    """Per-vertex 1 along the mesh's top edge (the hairline and temples' outer edge), 0 below it:
    where hair, if the photo shows any over the face, is surely found."""
    t = load_face_model().template
    top = np.clip((t[:, 1] - 1.1) / 0.15, 0.0, 1.0)
    sides = np.clip((np.abs(t[:, 0]) - 0.95) / 0.1, 0.0, 1.0) * np.clip((t[:, 1] - 0.2) / 0.4, 0.0, 1.0)
    return np.maximum(top, sides).astype(np.float32)


@functools.cache
def skin_weights() -> np.ndarray:
    """Per-vertex 1 on bare skin, 0 on and near brows, eyes and lips: for measuring light and tone."""
    features = np.concatenate([*OPENINGS, BROWS, OUTER_LIPS])
    return (_beyond(features, 0.08, 0.1) * mask_weights()).astype(np.float32)


def _beyond(group: np.ndarray, start: float, ramp: float) -> np.ndarray:
    """Per-vertex 0 within `start` IOD of the group's vertices on the template, 1 beyond start + ramp."""
    t = load_face_model().template
    d = np.linalg.norm(t[:, None, :] - t[None, group, :], axis=2).min(axis=1)
    return np.clip((d - start) / ramp, 0.0, 1.0)


def expression_activity(face: Face) -> np.ndarray:
    """(478,) 0..1: how far this face's expression moved each vertex from its neutral shape."""
    moved = np.linalg.norm(face.expression.offsets, axis=1)
    start, ramp = ACTIVE_OFFSET
    return np.clip((moved - start) / ramp, 0.0, 1.0)


@functools.cache
def crease_weights() -> np.ndarray:
    """Per-vertex 1 where expression creases are carried over: skin up to close to the eyes, lips and
    brows (crow's feet, the frown between the brows and nose wrinkles lie there), 0 on them."""
    features = np.concatenate([*OPENINGS, OUTER_LIPS])
    return (_beyond(features, 0.05, 0.06) * _beyond(BROWS, 0.03, 0.05) * mask_weights()).astype(np.float32)


# Named expression measures (analysis.facemodel) with the range a relaxed face stays in, and the
# distance beyond it that counts as one unit of expression: a wink, a grin, a frown, an open jaw.
RELAXED = {"eye_open_left": (0.75, 9.0, 0.25), "eye_open_right": (0.75, 9.0, 0.25), "jaw_open": (-9.0, 0.15, 0.2),
           "mouth_smile": (-0.12, 0.05, 0.08), "brow_raise_left": (-0.06, 0.06, 0.06),
           "brow_raise_right": (-0.06, 0.06, 0.06), "lip_pucker": (-9.0, 0.1, 0.1)}


def expression_energy(face: Face) -> float:
    """0 for a relaxed face, growing with how far its named measures leave the relaxed range.

    Measured against the template rather than the face's own neutral shape, whose estimate in a
    video is pulled toward whatever expression the clip holds longest."""
    energy = 0.0
    for name, (low, high, unit) in RELAXED.items():
        value = face.expression.named.get(name)
        if value is not None:
            energy += (max(low - value, 0.0, value - high) / unit) ** 2
    return energy
