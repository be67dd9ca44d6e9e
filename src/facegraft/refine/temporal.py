"""Temporal steadiness: the new face changes from frame to frame only where the target does.

The rendered face is resampled from a sharp texture on a mesh that moves by fractions of a pixel
between frames; on soft or still footage that makes fine texture shimmer where the target itself
is steady. Each refined face is therefore pulled toward the previous frame's refined face, per
pixel, by a weight that falls to zero where the target changed: a motion, a blink, a hand or a
light change passes at once, a still face stays still. No motion compensation is needed because
only pixels whose target did not move are touched.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

STILL_LEVELS = 2.5  # target change (grey levels, lightly blurred) at which the pull falls to ~37%


@dataclasses.dataclass(frozen=True)
class Previous:
    """One face's last refined crop, the target's grey levels under it, and where they sat in the frame."""

    origin: tuple[int, int]  # x0, y0 of the crop in the frame
    face: np.ndarray  # (h, w, 3) uint8 refined face over the target region
    target_grey: np.ndarray  # (h, w) float32 grey levels of the target region
    covered: np.ndarray  # (h, w) bool


def _overlap(now: tuple[int, int], shape: tuple[int, int], before: Previous):
    """Slices of the current crop and of the previous one that cover the same frame pixels."""
    (x0, y0), (h, w) = now, shape
    bx, by = before.origin
    bh, bw = before.covered.shape
    ox0, oy0, ox1, oy1 = max(x0, bx), max(y0, by), min(x0 + w, bx + bw), min(y0 + h, by + bh)
    if ox1 <= ox0 or oy1 <= oy0:
        return None
    return ((slice(oy0 - y0, oy1 - y0), slice(ox0 - x0, ox1 - x0)),
            (slice(oy0 - by, oy1 - by), slice(ox0 - bx, ox1 - bx)))


def steady(face: np.ndarray, target_grey: np.ndarray, covered: np.ndarray, origin: tuple[int, int],
           before: Previous | None, share: float) -> tuple[np.ndarray, Previous | None]:
    """`face` (uint8 crop at `origin`) pulled toward `before` where the target (its uint8 grey levels
    under the crop) did not change, and what the next frame needs to remember of this one (None when
    steadiness is off)."""
    if share <= 0.0:
        return face, None
    grey = target_grey.astype(np.float32)
    out = _pulled(face, grey, covered, origin, before, share)
    return out, Previous(origin, out, grey, covered)


def _pulled(face: np.ndarray, grey: np.ndarray, covered: np.ndarray, origin: tuple[int, int],
            before: Previous | None, share: float) -> np.ndarray:
    views = _overlap(origin, covered.shape, before) if before is not None else None
    if views is None:
        return face
    now, then = views
    # A light blur: codec noise on single pixels is not a change, a moving edge of two pixels is.
    change = cv2.blur(np.abs(grey[now] - before.target_grey[then]), (3, 3))
    weight = share * np.exp(-(change / STILL_LEVELS) ** 2) * (covered[now] & before.covered[then])
    if not weight.any():
        return face
    out = face.copy()
    region = out[now].astype(np.float32)
    region += weight[..., None] * (before.face[then].astype(np.float32) - region)
    out[now] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return out
