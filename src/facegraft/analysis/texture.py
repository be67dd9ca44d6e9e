"""Canonical texture space: every face's skin unwrapped onto one fixed UV layout.

The layout is a cylindrical projection of the template face around a vertical axis behind it,
so cheeks seen at an angle keep useful resolution. Because the template is symmetric, mirroring
a texture left-right mirrors the face, which is how unseen sides are completed.
"""

from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np

from facegraft.analysis.types import Face
from facegraft.analysis.facemodel import N_MESH, load_face_model
from facegraft.analysis.raster import Raster, rasterize, window_of

AXIS_Z = -1.5  # the cylinder's axis, in IOD behind the template's origin
ARC_RADIUS = 1.6  # turns angles into arc lengths of about the face's own scale
SPAN = 3.9  # model units covered by the texture's side


@functools.cache
def oriented_triangles() -> np.ndarray:
    """Mesh triangles wound so their normals point out of the face (the template faces +z)."""
    model = load_face_model()
    tris = model.triangles.copy()
    normals = triangle_normals(model.template, tris)
    flip = normals[:, 2] < 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = vertices[triangles[:, 0]], vertices[triangles[:, 1]], vertices[triangles[:, 2]]
    return np.cross(b - a, c - a)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    face_n = triangle_normals(vertices, triangles)
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, triangles[:, corner], face_n)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def camera_normals(face: Face) -> np.ndarray:
    """(478, 3) unit vertex normals of this frame's shape in the viewer frame (z toward the camera)."""
    normals = vertex_normals(face.shape, oriented_triangles())
    return (face.pose.rotation @ normals.T).T


@functools.cache
def uv_points(size: int) -> np.ndarray:
    """(478, 2) texel coordinates of every vertex in a size x size texture."""
    t = load_face_model().template
    arc = np.arctan2(t[:, 0], t[:, 2] - AXIS_Z) * ARC_RADIUS
    scale = size / SPAN
    return np.stack([size / 2 + arc * scale, size / 2 - t[:, 1] * scale], axis=1)


@dataclasses.dataclass(frozen=True)
class UVLayout:
    """Which triangle covers each texel, with its barycentric weights: fixed for a texture size."""

    size: int
    raster: Raster  # values hold barycentric weights per texel

    @property
    def covered(self) -> np.ndarray:
        return self.raster.covered


@functools.cache
def uv_layout(size: int) -> UVLayout:
    tris = oriented_triangles()
    uv = uv_points(size)
    corner_ids = np.zeros((len(uv), 1), np.float32)
    model = load_face_model()
    raster = rasterize(uv, -model.template[:, 2], tris, corner_ids, (0, 0, size, size))
    # Store per-texel barycentrics by re-rasterising with one-hot corner attributes is costly;
    # instead recover them from the texel position inside its triangle.
    bary = _texel_barycentrics(uv, tris, raster)
    return UVLayout(size, dataclasses.replace(raster, values=bary))


def _texel_barycentrics(uv: np.ndarray, tris: np.ndarray, raster: Raster) -> np.ndarray:
    h, w = raster.shape
    ys, xs = np.nonzero(raster.covered)
    t = raster.triangle[ys, xs]
    a, b, c = uv[tris[t, 0]], uv[tris[t, 1]], uv[tris[t, 2]]
    v0, v1 = b - a, c - a
    det = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    dx, dy = xs - a[:, 0], ys - a[:, 1]
    l1 = (dx * v1[:, 1] - v1[:, 0] * dy) / det
    l2 = (v0[:, 0] * dy - dx * v0[:, 1]) / det
    bary = np.zeros((h, w, 3), np.float32)
    bary[ys, xs] = np.stack([1 - l1 - l2, l1, l2], axis=1)
    return bary


def texel_attribute(layout: UVLayout, vertex_values: np.ndarray) -> np.ndarray:
    """Interpolate per-vertex values (N, K) to every covered texel: (size, size, K)."""
    flat, corners, bary = _texel_corners(layout.size)
    values = vertex_values.astype(np.float32)
    out = np.zeros((layout.size * layout.size, values.shape[1]), np.float32)
    out[flat] = (values[corners[:, 0]] * bary[:, :1] + values[corners[:, 1]] * bary[:, 1:2]
                 + values[corners[:, 2]] * bary[:, 2:])
    return out.reshape(layout.raster.shape + (values.shape[1],))


@functools.cache
def _texel_corners(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat index, corner vertices and barycentric weights of every covered texel (fixed per size)."""
    layout = uv_layout(size)
    covered = layout.covered
    corners = oriented_triangles()[layout.raster.triangle[covered]]
    return np.flatnonzero(covered), corners, layout.raster.values[covered].astype(np.float32)


def texel_surface(face: Face, size: int, per_vertex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit viewer-frame normals (S, S, 3) of this face at every texel, and per-vertex values
    (478, K) interpolated alongside them (S, S, K)."""
    attrs = texel_attribute(uv_layout(size), np.concatenate([camera_normals(face), per_vertex], axis=1))
    normals = attrs[..., :3] / np.maximum(np.linalg.norm(attrs[..., :3], axis=2, keepdims=True), 1e-6)
    return normals, attrs[..., 3:]


def mirror_texture(texture: np.ndarray) -> np.ndarray:
    """The texture of the mirrored face (the layout is symmetric about its vertical centre)."""
    return np.ascontiguousarray(texture[:, ::-1])


@dataclasses.dataclass(frozen=True)
class Unwrapped:
    texture: np.ndarray  # (S, S, 3) float32 RGB 0..255
    weight: np.ndarray  # (S, S) float32: how well the photo shows each texel (0 = not at all)


def unwrap(rgb: np.ndarray, face: Face, size: int, visibility_side: int | None = None) -> Unwrapped:
    """Sample a face's skin from an image into texture space, weighted by visibility and angle.

    `visibility_side`: the self-occlusion test's depth buffer is drawn at most this many pixels
    across (a coarse buffer serves a texture of a few hundred texels; None: at the image's size)."""
    layout = uv_layout(size)
    tris = oriented_triangles()
    pts = face.landmarks.astype(np.float64)
    where = texel_attribute(layout, np.concatenate([pts, _facing(face)[:, None]], axis=1))
    map_x, map_y, depth, facing = (where[..., i] for i in range(4))
    texture = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    visible = _depth_visible(pts, tris, map_x, map_y, depth, rgb.shape[:2], face.pose.scale,
                             visibility_side) & layout.covered
    weight = np.where(visible, np.clip(facing, 0.0, 1.0) ** 2, 0.0).astype(np.float32)
    return Unwrapped(texture, weight)


def _facing(face: Face) -> np.ndarray:
    """Cosine between each vertex normal and the direction to the camera."""
    normals = vertex_normals(face.shape, oriented_triangles())
    return (face.pose.rotation @ normals.T).T[:, 2]


def _depth_visible(pts: np.ndarray, tris: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, depth: np.ndarray,
                   image_hw: tuple[int, int], scale: float, side: int | None = None) -> np.ndarray:
    """Texels whose surface point is the front-most one at its image position (no self-occlusion)."""
    x0, y0, x1, y1 = window_of(pts[:N_MESH, :2], *image_hw)
    k = 1.0 if side is None else min(1.0, side / max(x1 - x0, y1 - y0, 1))
    if k == 1.0:
        image = rasterize(pts[:, :2], pts[:, 2], tris, np.zeros((len(pts), 1), np.float32), (x0, y0, x1, y1))
    else:
        small = (pts[:, :2] - (x0, y0)) * k
        window = (0, 0, max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k)))
        image = rasterize(small, pts[:, 2], tris, np.zeros((len(pts), 1), np.float32), window)
    zbuf = image.depth
    zbuf = np.where(np.isfinite(zbuf), zbuf, np.float32(1e9))
    front = cv2.remap(zbuf, (map_x - x0) * k - image.x0, (map_y - y0) * k - image.y0, cv2.INTER_NEAREST,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=1e9)
    return depth <= front + 0.06 * scale
