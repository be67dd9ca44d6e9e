"""The source's skin on the target's face: the source identity, the target's expression and pose.

Output geometry = target shape + (source identity - target identity) * shape transfer, where the
transfer fades to zero at the face outline and around the eye and mouth openings: the outline
must meet the target's head and background, and the openings must line up with the target's
own eyes and mouth, which show through them (blinks, gaze, teeth, tongue).
"""

from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np

from facegraft.analysis import Face, load_face_model, project
from facegraft.analysis.facemodel import N_MESH
from facegraft.generate.profile import SourceProfile
from facegraft.analysis.raster import rasterize, window_of
from facegraft.analysis.regions import FACE_OVAL, OPENINGS, hair_band, mask_weights, skin_weights
from facegraft.analysis.texture import oriented_triangles, uv_points

OUTLINE_FALLOFF = 0.35  # IOD over which shape transfer fades in from the face outline
OPENING_FALLOFF = 0.12  # ... and from the eye and mouth openings


@dataclasses.dataclass(frozen=True)
class RenderedFace:
    x0: int
    y0: int
    rgb: np.ndarray  # (h, w, 3) uint8: the source texture on the output geometry
    covered: np.ndarray  # (h, w) bool: pixels the face surface covers (openings excluded)
    points: np.ndarray  # (478, 2) output vertex positions in the frame, pixels
    uv: np.ndarray  # (h, w, 2) float32 texture coordinates (texels) of each pixel
    weight: np.ndarray  # (h, w) float32 0..1: how much of the face region to swap (fades at the hairline)
    skin: np.ndarray  # (h, w) float32 0..1: bare skin (away from brows, eyes, lips and hairline)
    band: np.ndarray  # (h, w) float32 0..1: where hair may cover the face

    @property
    def window(self) -> tuple[int, int, int, int]:
        h, w = self.covered.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h


@functools.cache
def transfer_weights() -> np.ndarray:
    """Per-vertex share of the source's shape that may be used (0 at the outline and openings)."""
    t = load_face_model().template

    def closeness(group: np.ndarray, falloff: float) -> np.ndarray:
        d = np.linalg.norm(t[:, None, :] - t[None, group, :], axis=2).min(axis=1)
        return np.exp(-(d / falloff) ** 2)

    near = np.maximum(closeness(FACE_OVAL, OUTLINE_FALLOFF),
                      np.max([closeness(g, OPENING_FALLOFF) for g in OPENINGS], axis=0))
    return (1.0 - near).astype(np.float64)


def output_shape(target: Face, source_identity: np.ndarray, shape_transfer: float) -> np.ndarray:
    weights = shape_transfer * transfer_weights()[:, None]
    return target.shape + weights * (source_identity - target.identity)


def render_face(profile: SourceProfile, target: Face, frame_hw: tuple[int, int], shape_transfer: float,
                max_side: int = 256) -> RenderedFace | None:
    """Render the profile's texture onto the output geometry; None if the face is off-frame."""
    shape = output_shape(target, profile.identity, shape_transfer)
    pts = project(shape, target.pose)
    window = window_of(pts[:N_MESH, :2], *frame_hw)
    x0, y0, x1, y1 = window
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    maps, covered = _surface_maps(pts, window, profile.texture.shape[0], max_side)
    uv = np.ascontiguousarray(maps[..., :2])
    rgb = cv2.remap(profile.texture, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    weight = np.where(covered, maps[..., 2], 0.0).astype(np.float32)
    skin = np.where(covered, maps[..., 3], 0.0).astype(np.float32)
    band = np.where(covered, maps[..., 4], 0.0).astype(np.float32)
    # Where the source photo shows hair rather than skin, the target's own forehead stays.
    source_skin = cv2.remap(profile.skin, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    weight *= source_skin
    return RenderedFace(x0=x0, y0=y0, rgb=rgb, covered=covered, points=pts[:, :2], uv=uv, weight=weight,
                        skin=skin, band=band)


def _surface_maps(pts: np.ndarray, window: tuple[int, int, int, int], size: int, max_side: int):
    """Texture coordinates and mask weight per pixel of the window, rasterised at most `max_side` across.

    Big faces are rasterised smaller and the smooth coordinate maps scaled up: the texture is
    still sampled at full resolution, at a fraction of the rasterising cost.
    """
    x0, y0, x1, y1 = window
    w, h = x1 - x0, y1 - y0
    k = min(1.0, max_side / max(w, h))
    small = (pts[:, :2] - (x0, y0)) * k
    sw, sh = max(1, round(w * k)), max(1, round(h * k))
    attributes = np.concatenate([uv_points(size), mask_weights()[:, None], skin_weights()[:, None],
                                 hair_band()[:, None]], axis=1).astype(np.float32)
    raster = rasterize(small, pts[:, 2], oriented_triangles(), attributes, (0, 0, sw, sh))
    uv = _extend_edges(raster.values, raster.covered)
    cover = raster.covered.astype(np.float32)
    if k < 1.0:
        uv = cv2.resize(uv, (w, h), interpolation=cv2.INTER_LINEAR)
        cover = cv2.resize(cover, (w, h), interpolation=cv2.INTER_LINEAR)
    return uv.astype(np.float32), cover > 0.5


def _extend_edges(uv: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Copy edge coordinates a few pixels outward so scaling up never mixes in empty (0, 0) texels."""
    if covered.all() or not covered.any():
        return uv
    _, labels = cv2.distanceTransformWithLabels((~covered).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(covered)
    lookup = np.zeros((labels.max() + 1, uv.shape[2]), np.float32)
    lookup[labels[ys, xs]] = uv[ys, xs]
    return lookup[labels]
