"""The mesh renderer, the model-free generator: the source's skin on the target's face, with the
source identity and the target's expression and pose.

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

from facegraft.analysis.facemodel import N_MESH, load_face_model, project
from facegraft.analysis.raster import rasterize, window_of
from facegraft.analysis.regions import FACE_OVAL, OPENINGS, hair_band, mask_weights, skin_weights
from facegraft.analysis.texture import oriented_triangles, uv_layout, uv_points, vertex_normals
from facegraft.analysis.types import Face
from facegraft.generate.base import GeneratedFace, SourceProfile, shift_transform
from facegraft.generate.mesh_texture import TEXTURE_SIZE, skin_texture

OUTLINE_FALLOFF = 0.35  # IOD over which shape transfer fades in from the face outline
OPENING_FALLOFF = 0.12  # ... and from the eye and mouth openings
SHADING_SHAPE = 1.0  # share of the source's shape in the surface the target's light is put on


@dataclasses.dataclass(frozen=True)
class MeshAppearance:
    """The mesh renderer's part of a profile: the source's skin in texture space."""

    texture: np.ndarray  # (S, S, 3) uint8 RGB in texture space
    seen: np.ndarray  # (S, S) float32 0..1: how directly the photos showed each texel
    skin: np.ndarray  # (S, S) float32 0..1: 0 where the photos show hair over the face, not skin


@dataclasses.dataclass(frozen=True)
class MeshRenderer:
    """Renders the profile's texture on the output geometry, depth-tested, rasterised at most
    `max_side` pixels across; `shape_transfer` of the source's face shape is used (see output_shape).
    With `delight`, the photos' own light and expression folds are taken out of the texture (a swap
    puts the target's on); reenacting a portrait in its own scene keeps them."""

    shape_transfer: float = 0.7
    max_side: int = 256
    delight: bool = True
    name: str = "mesh"

    def prepare(self, photos, faces) -> MeshAppearance:
        return MeshAppearance(*skin_texture(photos, list(faces), TEXTURE_SIZE, self.delight))

    def generate(self, profile: SourceProfile, face: Face, frame_hw: tuple[int, int]) -> GeneratedFace | None:
        return render_face(profile, face, frame_hw, self.shape_transfer, self.max_side)

    def save(self, appearance: MeshAppearance) -> dict[str, np.ndarray]:
        return {"texture": appearance.texture, "seen": appearance.seen, "skin": appearance.skin}

    def load(self, arrays: dict[str, np.ndarray]) -> MeshAppearance:
        look = MeshAppearance(texture=arrays["texture"], seen=arrays["seen"], skin=arrays["skin"])
        size = look.texture.shape[0]
        if not (look.texture.shape == (size, size, 3) and look.texture.dtype == np.uint8 and size >= 64
                and look.seen.shape == (size, size) and look.skin.shape == (size, size)):
            raise ValueError("unexpected texture shapes")
        uv_layout(size)  # any size the layout supports
        return look


MESH = MeshRenderer()


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
                max_side: int = 256) -> GeneratedFace | None:
    """Render the profile's texture onto the output geometry; None if the face is off-frame."""
    look: MeshAppearance = profile.appearance
    shape = output_shape(target, profile.identity.shape, shape_transfer)
    pts = project(shape, target.pose)
    window = window_of(pts[:N_MESH, :2], *frame_hw)
    x0, y0, x1, y1 = window
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    # The surface the light falls on has all of the source's shape: light and shadow on a nose,
    # cheekbones and eye sockets are much of how a face is recognised, while positions keep the
    # target's outline and openings.
    lit_shape = target.shape + SHADING_SHAPE * (profile.identity.shape - target.identity)
    normals = (target.pose.rotation @ vertex_normals(lit_shape, oriented_triangles()).T).T
    maps, covered = _surface_maps(pts, normals, window, look.texture.shape[0], max_side)
    uv = np.ascontiguousarray(maps[..., :2])
    rgb = cv2.remap(look.texture, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    weight = np.where(covered, maps[..., 2], 0.0).astype(np.float32)
    skin = np.where(covered, maps[..., 3], 0.0).astype(np.float32)
    # Where the source photo shows hair rather than skin, the target's own forehead stays.
    source_skin = cv2.remap(look.skin, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    weight *= source_skin
    surface = maps[..., 5:8]
    surface /= np.maximum(np.linalg.norm(surface, axis=2, keepdims=True), 1e-6)
    return GeneratedFace(rgb=rgb, valid=covered, weight=weight, skin=skin, to_frame=shift_transform(x0, y0),
                         points=pts[:, :2], uv=uv, normals=surface)


def _surface_maps(pts: np.ndarray, normals: np.ndarray, window: tuple[int, int, int, int], size: int,
                  max_side: int):
    """Texture coordinates, mask weights and normals per pixel of the window, rasterised at most
    `max_side` across.

    Big faces are rasterised smaller and the smooth coordinate maps scaled up: the texture is
    still sampled at full resolution, at a fraction of the rasterising cost.
    """
    x0, y0, x1, y1 = window
    w, h = x1 - x0, y1 - y0
    k = min(1.0, max_side / max(w, h))
    small = (pts[:, :2] - (x0, y0)) * k
    sw, sh = max(1, round(w * k)), max(1, round(h * k))
    attributes = np.concatenate([uv_points(size), mask_weights()[:, None], skin_weights()[:, None],
                                 hair_band()[:, None], normals], axis=1).astype(np.float32)
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
