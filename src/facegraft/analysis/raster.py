"""A vectorised triangle rasteriser with a depth buffer: the renderer's only hot loop, in numpy.

Every triangle's bounding box is expanded into candidate pixels at once, barycentric weights
decide which candidates lie inside, and a sort by (pixel, depth) keeps the nearest triangle per
pixel. No Python loop runs per triangle or per pixel.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Pixels this close outside a triangle still count as inside, so shared edges leave no cracks.
EDGE_EPS = 1e-4


@dataclasses.dataclass(frozen=True)
class Raster:
    """Per-pixel result over the window [y0:y0+h, x0:x0+w] of the target image."""

    x0: int
    y0: int
    triangle: np.ndarray  # (h, w) int32 index of the visible triangle, -1 where none
    values: np.ndarray  # (h, w, K) float32 attributes interpolated across the visible triangle
    depth: np.ndarray  # (h, w) float32, +inf where none

    @property
    def covered(self) -> np.ndarray:
        return self.triangle >= 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.triangle.shape


def window_of(points: np.ndarray, height: int, width: int, margin: int = 2) -> tuple[int, int, int, int]:
    """Integer window (x0, y0, x1, y1) around points, clipped to the image."""
    lo = np.floor(points.min(axis=0)).astype(int) - margin
    hi = np.ceil(points.max(axis=0)).astype(int) + margin + 1
    return max(0, lo[0]), max(0, lo[1]), min(width, hi[0]), min(height, hi[1])


def rasterize(points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, attributes: np.ndarray,
              window: tuple[int, int, int, int]) -> Raster:
    """Draw triangles (indices into points) over `window`; nearer = smaller depth wins.

    `points` (N, 2) are pixel positions (pixel centres at integer coordinates), `attributes`
    (N, K) are interpolated with perspective-free barycentric weights.
    """
    x0, y0, x1, y1 = window
    w, h = max(0, x1 - x0), max(0, y1 - y0)
    tri_map = np.full((h, w), -1, np.int32)
    values = np.zeros((h, w, attributes.shape[1]), np.float32)
    zbuf = np.full((h, w), np.inf, np.float32)
    if w == 0 or h == 0 or len(triangles) == 0:
        return Raster(x0, y0, tri_map, values, zbuf)
    pts = points.astype(np.float32) - np.float32([x0, y0])
    tri, px, py, bary = _inside_candidates(pts, triangles, w, h)
    if len(tri) == 0:
        return Raster(x0, y0, tri_map, values, zbuf)
    z = np.einsum("ij,ij->i", bary, depth.astype(np.float32)[triangles[tri]])
    pixel = py * w + px
    keep = _nearest_per_pixel(pixel, z, w * h)
    flat = pixel[keep]
    tri_map.reshape(-1)[flat] = tri[keep]
    zbuf.reshape(-1)[flat] = z[keep]
    corner_values = attributes.astype(np.float32)[triangles[tri[keep]]]  # (M, 3, K)
    values.reshape(-1, attributes.shape[1])[flat] = np.einsum("ij,ijk->ik", bary[keep], corner_values)
    return Raster(x0, y0, tri_map, values, zbuf)


def _nearest_per_pixel(pixel: np.ndarray, z: np.ndarray, size: int) -> np.ndarray:
    """Index of the nearest candidate at each pixel. Most pixels have one candidate; only the
    rest (shared edges, self-occlusion) need sorting."""
    counts = np.bincount(pixel, minlength=size)
    shared = counts[pixel] > 1
    alone = np.nonzero(~shared)[0]
    contested = np.nonzero(shared)[0]
    if len(contested) == 0:
        return alone
    order = contested[np.lexsort((z[contested], pixel[contested]))]
    first = np.ones(len(order), bool)
    first[1:] = pixel[order[1:]] != pixel[order[:-1]]
    return np.concatenate([alone, order[first]])


def _inside_candidates(pts: np.ndarray, triangles: np.ndarray, w: int, h: int):
    a, b, c = pts[triangles[:, 0]], pts[triangles[:, 1]], pts[triangles[:, 2]]
    v0, v1 = b - a, c - a
    det = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    corners = np.stack([a, b, c], axis=1)
    lo = np.clip(np.ceil(corners.min(axis=1) - EDGE_EPS), 0, [w - 1, h - 1]).astype(np.int64)
    hi = np.clip(np.floor(corners.max(axis=1) + EDGE_EPS), -1, [w - 1, h - 1]).astype(np.int64)
    size = np.maximum(hi - lo + 1, 0)
    count = size[:, 0] * size[:, 1]
    usable = (np.abs(det) > 1e-9) & (count > 0)
    ids = np.nonzero(usable)[0]
    count = count[ids]
    tri = np.repeat(ids, count)
    start = np.repeat(np.cumsum(count) - count, count)
    local = np.arange(len(tri)) - start
    span = size[tri, 0]
    px = lo[tri, 0] + local % span
    py = lo[tri, 1] + local // span
    dx, dy = px - a[tri, 0], py - a[tri, 1]
    inv = (1.0 / det)[tri]
    l1 = (dx * v1[tri, 1] - v1[tri, 0] * dy) * inv
    l2 = (v0[tri, 0] * dy - dx * v0[tri, 1]) * inv
    l0 = 1.0 - l1 - l2
    inside = (l0 >= -EDGE_EPS) & (l1 >= -EDGE_EPS) & (l2 >= -EDGE_EPS)
    bary = np.stack([l0[inside], l1[inside], l2[inside]], axis=1).astype(np.float32)
    return tri[inside], px[inside], py[inside], bary
