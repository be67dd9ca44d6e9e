"""The values the analysis stage hands on: plain frozen dataclasses of numbers and arrays."""

from __future__ import annotations

import dataclasses
import types
from typing import Mapping

import numpy as np

from facegraft.analysis.geometry import matrix_from_euler


@dataclasses.dataclass(frozen=True)
class Pose:
    """Head pose of a face; see README "Coordinate conventions".

    pitch > 0 looks up, yaw > 0 turns toward the image's right (the subject's left),
    roll > 0 tilts the head counter-clockwise on screen. (tx, ty) is the pixel position of
    the face model's origin, scale the pixels per model unit (the inter-ocular distance),
    tz the distance from the camera in model units for a focal length of the image's larger side.
    """

    pitch: float
    yaw: float
    roll: float
    tx: float
    ty: float
    tz: float
    scale: float

    @property
    def rotation(self) -> np.ndarray:
        """3x3 matrix from the canonical face frame to the y-up viewer frame."""
        return matrix_from_euler(self.pitch, self.yaw, self.roll)

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Expression:
    """Deformation of a face from its identity (neutral) shape, in the canonical frame."""

    offsets: np.ndarray  # (478, 3) per-vertex displacement, model units
    vector: np.ndarray  # (K,) coefficients on the learnt expression basis
    named: Mapping[str, float]  # interpretable coefficients, see README

    def __post_init__(self) -> None:
        object.__setattr__(self, "named", types.MappingProxyType(dict(self.named)))


@dataclasses.dataclass(frozen=True)
class Face:
    track: int  # stable per person within a video; 0.. in order of size for a still image
    box: np.ndarray  # (4,) x0, y0, x1, y1 in pixels
    score: float  # face detector confidence, 0..1
    landmarks: np.ndarray  # (478, 3) pixel x, y and relative depth z (pixels, + away from camera)
    landmarks68: np.ndarray  # (68, 2) iBUG 300-W order
    iris_right: np.ndarray  # (2,) pixel centre of the subject's right iris
    iris_left: np.ndarray
    pose: Pose
    identity: np.ndarray  # (478, 3) neutral shape in the canonical frame
    expression: Expression
    shape: np.ndarray  # (478, 3) this frame's shape in the canonical frame: identity + offsets
