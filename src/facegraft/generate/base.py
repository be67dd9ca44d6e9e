"""The generator contract: what every face generator takes and what it gives refine.

A generator turns the source's identity into a face in one target frame, under that face's motion
(pose and expression). It is prepared once per source: `prepare` builds its own part of a profile
from the source photos (the mesh renderer's is a skin texture; a learned swapper's might be an
embedding). Per face and frame, `generate` returns a `GeneratedFace`: a crop and the transform that
puts it into the frame. Refine reads nothing else, so any generator gets the same colour, light,
occlusion and blending.

The first implementation is the model-free mesh renderer (facegraft.generate.mesh).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, Sequence

import numpy as np

from facegraft.analysis.types import Face


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who the source is, as every generator needs it: prepared once from the source photos."""

    shape: np.ndarray  # (478, 3) neutral 3D shape in the canonical frame
    descriptor: np.ndarray  # (128,) float32 dlib identity embedding
    iris: np.ndarray  # (3,) float32 Lab colour of the irises (NaN when no photo showed them)
    names: tuple[str, ...]  # the photos it was built from (file names only)


@dataclasses.dataclass(frozen=True)
class SourceProfile:
    """A source person, prepared once: the identity, and the part one generator needs of its own."""

    identity: Identity
    generator: str  # the name of the generator `appearance` belongs to
    appearance: Any  # that generator's own data (for "mesh": a facegraft.generate.mesh.MeshAppearance)


@dataclasses.dataclass(frozen=True)
class GeneratedFace:
    """One generated face in one frame, as a crop of the output.

    All maps have the crop's size. `to_frame` maps crop pixel coordinates to frame pixels: a plain
    shift for the mesh renderer (which renders in frame coordinates), an affine for a model that
    works on an aligned crop.
    """

    rgb: np.ndarray  # (h, w, 3) uint8 colour
    valid: np.ndarray  # (h, w) bool: pixels the generator produced (eye and mouth openings excluded)
    weight: np.ndarray  # (h, w) float32 0..1: how much of each pixel to swap (fades at the hairline)
    skin: np.ndarray  # (h, w) float32 0..1: bare skin, where tone and light are measured
    to_frame: np.ndarray  # (2, 3) float64 affine, crop pixel -> frame pixel
    points: np.ndarray  # (478, 2) output mesh vertices in frame pixels (the openings are cut from them)
    uv: np.ndarray | None = None  # (h, w, 2) float32 texture coordinates in the profile's texels, if any
    normals: np.ndarray | None = None  # (h, w, 3) float32 unit surface normals, viewer frame (z to camera)

    @property
    def shift(self) -> tuple[int, int] | None:
        """(x0, y0) when `to_frame` is a whole-pixel shift, else None."""
        m = self.to_frame
        if np.allclose(m[:, :2], np.eye(2)) and np.allclose(m[:, 2], np.round(m[:, 2])):
            return int(round(m[0, 2])), int(round(m[1, 2]))
        return None

    @property
    def window(self) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1: the frame pixels the crop lands on (its bounding box for an affine)."""
        h, w = self.valid.shape
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ self.to_frame.T
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        return int(x0), int(y0), int(x1), int(y1)


def shift_transform(x0: int, y0: int) -> np.ndarray:
    return np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]])


class Generator(Protocol):
    """What a face generator provides. `name` is stored in profiles so a profile is only used with
    the generator that built it."""

    name: str

    def prepare(self, photos: Sequence[tuple[np.ndarray, str]], faces: Sequence[Face]) -> Any:
        """The generator's own part of a profile, from the source photos and their analysed faces."""

    def generate(self, profile: SourceProfile, face: Face, frame_hw: tuple[int, int]) -> GeneratedFace | None:
        """The source's face on `face` (the target's motion), or None when it is off-frame."""

    def save(self, appearance: Any) -> dict[str, np.ndarray]:
        """The appearance as named arrays, for a profile file."""

    def load(self, arrays: dict[str, np.ndarray]) -> Any:
        """The appearance back from `save`'s arrays; raises ValueError/KeyError on damage."""
