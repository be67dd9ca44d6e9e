"""Putting a generated face into the frame: the region it is blended over, its pixels and maps
placed there, and its blend weight (the outline pulled in and feathered, the openings kept sharp)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facegraft.analysis.regions import OPENINGS
from facegraft.generate.base import GeneratedFace
from facegraft.refine.blend import feather

FACE_WIDTH_IOD = 2.2  # a face is about this many inter-ocular distances wide


def grow_window(window: tuple[int, int, int, int], margin: float, hw: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = window
    m = int(round(margin))
    return max(0, x0 - m), max(0, y0 - m), min(hw[1], x1 + m), min(hw[0], y1 + m)


@dataclasses.dataclass(frozen=True)
class Placed:
    """A generated face in region coordinates: its pixels over a copy of the target region, and its maps."""

    canvas: np.ndarray  # (h, w, 3) uint8
    covered: np.ndarray  # (h, w) bool
    uv: np.ndarray | None  # (h, w, 2) float32 texture coordinates (None without them)
    weight: np.ndarray  # (h, w) float32
    skin: np.ndarray  # (h, w) float32
    normals: np.ndarray | None  # (h, w, 3) float32 (None without them)


def place_generated(generated: GeneratedFace, region: tuple[int, int, int, int], target: np.ndarray) -> Placed:
    """The generated face on a copy of the target region, with its maps in region coordinates."""
    x0, y0, _, _ = region
    shift = generated.shift
    if shift is None:
        return _place_warped(generated, region, target)
    canvas = target.copy()
    hw = target.shape[:2]
    rx, ry = shift[0] - x0, shift[1] - y0
    h, w = generated.valid.shape
    view = (slice(ry, ry + h), slice(rx, rx + w))

    def put(crop: np.ndarray | None, dtype=np.float32) -> np.ndarray | None:
        if crop is None:
            return None
        full = np.zeros(hw + crop.shape[2:], dtype)
        full[view] = crop
        return full

    cv2.copyTo(generated.rgb, generated.valid.view(np.uint8), canvas[view])
    return Placed(canvas, put(generated.valid, bool), put(generated.uv), put(generated.weight), put(generated.skin),
                  put(generated.normals))


def _place_warped(generated: GeneratedFace, region: tuple[int, int, int, int], target: np.ndarray):
    """The same for a crop under a general affine (an aligned-crop model): warped into the region."""
    x0, y0, x1, y1 = region
    m = generated.to_frame.copy()
    m[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)

    def warp(image: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        return cv2.warpAffine(image, m, size, flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    covered = warp(generated.valid.astype(np.float32)) > 0.5
    canvas = target.copy()
    cv2.copyTo(warp(generated.rgb), covered.view(np.uint8), canvas)
    uv = warp(generated.uv) if generated.uv is not None else None
    normals = None
    if generated.normals is not None:
        # Normals are in the viewer frame: an in-plane rotation of the crop does not turn them.
        normals = warp(generated.normals)
        normals /= np.maximum(np.linalg.norm(normals, axis=2, keepdims=True), 1e-6)
    return Placed(canvas, covered, uv, warp(generated.weight) * covered, warp(generated.skin) * covered, normals)


def face_alpha(generated: GeneratedFace, origin: tuple[int, int], covered: np.ndarray, weight: np.ndarray,
               face_px: float) -> np.ndarray:
    """Blend weight: pulled in and feathered at the outline, sharp-ish at the eye and mouth openings.

    Eroding the openings like the outline would widen them and show the target's own lids and lips.
    """
    openings = np.zeros(covered.shape, np.uint8)
    pts = generated.points - origin
    cv2.fillPoly(openings, [np.round(pts[ring] * 4).astype(np.int32) for ring in OPENINGS], 1,
                 lineType=cv2.LINE_AA, shift=2)
    whole = without_holes(covered | (openings > 0))
    outer = feather(whole, erode_px=0.03 * face_px, blur_px=0.05 * face_px)
    holes = cv2.GaussianBlur(openings.astype(np.float32), (0, 0), max(0.7, 0.006 * face_px))
    fade = cv2.GaussianBlur(weight, (0, 0), max(1.0, 0.02 * face_px))
    return outer * (1.0 - holes) * fade


def without_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with every enclosed gap filled: the face's silhouette.

    Thin lid and lip triangles leave pinholes in the rasterised cover, which come and go as the face
    moves; eroded for the feather, each grew into a disc of the target's skin that flickered."""
    outside = np.pad(~mask, 1).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 2)
    return outside[1:-1, 1:-1] != 2


INSIDE_SHARE = 0.08  # of the face's width: how far inside its outline the face is the face, whatever the matte says


def person_keep(person: np.ndarray, covered: np.ndarray, face_px: float) -> np.ndarray:
    """0..1: how much of the swap may show at each pixel, by the person's matte near the face's outline.

    Past a turned cheek (or between strands of hair at the temples) the mesh can reach over the
    background; there the matte says so, and the background stays, the blend's own reach (a
    pyramid's low bands spread colour past its mask) included. Well inside the outline the matte is
    not asked: a statue, a painting or a poor segmentation must not cut holes in a face."""
    side = 2 * max(1, round(INSIDE_SHARE * face_px)) + 1
    inside = cv2.erode(covered.view(np.uint8), np.ones((side, side), np.uint8)).astype(np.float32)
    inside = cv2.GaussianBlur(inside, (0, 0), max(1.0, side / 4))
    return np.maximum(inside, np.clip(2.0 * person, 0.0, 1.0))


def kept_behind(background: np.ndarray, blended: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """`blended` where `keep` is 1, `background` where it is 0 (uint8 crops)."""
    return cv2.blendLinear(blended, background, keep, 1.0 - keep)
