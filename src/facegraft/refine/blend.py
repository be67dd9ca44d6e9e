"""Blending: put the refined face into the target frame without a visible seam.

All blends take full frames and an alpha (HxW, float 0..1; bool and uint8 0..255 are accepted)
and work only on the bounding box of alpha > 0 plus what the method needs around it: the rest of
the background comes back unchanged, bit for bit.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from facegraft.analysis.colour import as_weight, check_pair, mask_box

__all__ = ["alpha_blend", "feather", "multiband_blend", "poisson_blend", "pyramid_levels"]

MAX_LEVELS = 6
# The coarsest pyramid level is about this many pixels across the face's shorter side: coarse
# enough to spread a colour step over the whole face, fine enough to stay local to it.
COARSEST_PX = 16
# Reflected border around the crop for seamlessClone. Its solver pins the outer ring of its ROI to
# the background and clears the mask there; with the border, a face cut off by the frame edge keeps
# its pixels along that edge, and the pinned ring lies outside the frame.
_POISSON_PAD = 2


def feather(mask: np.ndarray, erode_px: float, blur_px: float) -> np.ndarray:
    """Soft alpha (float32 0..1): the mask pulled in by `erode_px`, then faded over `blur_px`.

    Alpha is a smooth step of the distance to the mask's edge, so it is 0 everywhere outside the
    mask and within `erode_px` of its edge, 1 from `erode_px + blur_px` inwards, and never rises
    toward the edge. The frame border is not an edge: a face cut off by it is not faded there.
    Float masks are read as inside where > 0.5.
    """
    if erode_px < 0 or blur_px < 0:
        raise ValueError(f"feather: erode_px and blur_px must be >= 0, got {erode_px}, {blur_px}")
    inside = _inside(mask)
    alpha = np.zeros(inside.shape, np.float32)
    # One pixel of margin keeps the zero ring that the distance transform measures from.
    box = mask_box(inside, margin=1)
    if box is None:
        return alpha
    distance = cv2.distanceTransform(inside[box].astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # A pixel's distance is measured from its centre; the edge itself lies half a pixel outside.
    ramp = np.clip((distance - 0.5 - erode_px) / max(blur_px, 1e-6), 0.0, 1.0)
    alpha[box] = ramp * ramp * (3 - 2 * ramp)
    return alpha


def alpha_blend(background: np.ndarray, foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """background * (1 - alpha) + foreground * alpha, rounded."""
    alpha = _checked_alpha(background, foreground, alpha)
    out = background.copy()
    box = mask_box(alpha)
    if box is None:
        return out
    a = alpha[box]
    out[box] = cv2.blendLinear(foreground[box], background[box], a, 1 - a)
    return out


def multiband_blend(background: np.ndarray, foreground: np.ndarray, alpha: np.ndarray,
                    levels: int | None = None) -> np.ndarray:
    """Laplacian pyramid blend (Burt & Adelson 1983): each frequency band is blended with an
    alpha blurred to match it, so colour and light differences fade over the whole face while
    edges and texture switch over within a few pixels.

    `levels` defaults to pyramid_levels(size of the face's box). The output differs from the
    background only within about 2**(levels + 1) px of alpha > 0, and only where the foreground
    differs from it: foreground pixels where alpha == 0 are never used.
    """
    alpha = _checked_alpha(background, foreground, alpha)
    out = background.copy()
    face = mask_box(alpha)
    if face is None:
        return out
    if levels is None:
        levels = pyramid_levels(min(face[0].stop - face[0].start, face[1].stop - face[1].start))
    if not 0 <= levels <= 12:
        raise ValueError(f"multiband_blend: levels must be in 0..12, got {levels}")
    box = mask_box(alpha, margin=_reach(levels))
    a = alpha[box]
    # Blending pyramids is linear, so blend(bg, fg) = bg + blend(0, fg - bg): one pyramid, not two.
    diff = np.zeros(a.shape + (3,), np.float32)
    cv2.subtract(foreground[box], background[box], dst=diff, mask=(a > 0).view(np.uint8), dtype=cv2.CV_32F)
    blended = cv2.add(_pyramid_blend(diff, a, levels), background[box], dtype=cv2.CV_32F)
    out[box] = _to_uint8(blended)
    return out


def poisson_blend(background: np.ndarray, foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Poisson (gradient-domain) cloning of the foreground where alpha > 0.5 (cv2.seamlessClone,
    NORMAL_CLONE): the face keeps its own gradients, its colour follows the background at the
    mask's edge. Slower than multiband_blend (a global solve), and outside the mask the output is
    the background exactly.
    """
    alpha = _checked_alpha(background, foreground, alpha)
    inside = alpha > 0.5
    out = background.copy()
    box = mask_box(inside, margin=1)
    if box is None:
        return out
    pad = _POISSON_PAD
    bg = cv2.copyMakeBorder(background[box], pad, pad, pad, pad, cv2.BORDER_REFLECT)
    fg = cv2.copyMakeBorder(foreground[box], pad, pad, pad, pad, cv2.BORDER_REFLECT)
    mask = cv2.copyMakeBorder(inside[box].astype(np.uint8) * 255, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    # seamlessClone clears the outer ring of the mask itself; do it here so the box we centre on
    # is the box it will use.
    mask[[0, -1], :] = 0
    mask[:, [0, -1]] = 0
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return out
    # seamlessClone places the mask's box centred on this point; this centre puts it back where it
    # came from (integer halves as OpenCV computes them).
    cloned = cv2.seamlessClone(fg, bg, mask, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
    keep = inside[box]
    out[box][keep] = cloned[pad:-pad, pad:-pad][keep]
    return out


def pyramid_levels(face_px: int) -> int:
    """Levels for a face whose box's shorter side is `face_px`: until it is ~16 px, at most 6."""
    if face_px <= COARSEST_PX:
        return 1
    return int(min(max(round(math.log2(face_px / COARSEST_PX)), 1), MAX_LEVELS))


def _pyramid_blend(diff: np.ndarray, alpha: np.ndarray, levels: int) -> np.ndarray:
    """Sum over levels of blurred-alpha * Laplacian band of `diff`, collapsed to full size."""
    bands, alphas = [], [alpha]
    current = diff
    for _ in range(levels):
        # pyrDown/pyrUp with explicit sizes handle odd sizes without padding the crop.
        smaller = cv2.pyrDown(current)
        bands.append(cv2.subtract(current, cv2.pyrUp(smaller, dstsize=_size(current))))
        alphas.append(cv2.pyrDown(alphas[-1]))
        current = smaller
    out = cv2.multiply(current, _channels3(alphas[-1]))
    for band, a in zip(reversed(bands), reversed(alphas[:-1])):
        out = cv2.add(cv2.pyrUp(out, dstsize=_size(band)), cv2.multiply(band, _channels3(a)))
    return out


def _reach(levels: int) -> int:
    """How far (px) a `levels`-deep pyramid blend spreads a change beyond alpha > 0.

    Each pyrDown/pyrUp pair widens the support by a few pixels at its level's scale; measured on
    faces, what reaches past 2**(levels + 1) px is under 0.1 grey level and rounds away.
    """
    return 2 ** (levels + 1)


def _size(image: np.ndarray) -> tuple[int, int]:
    return image.shape[1], image.shape[0]


def _channels3(alpha: np.ndarray) -> np.ndarray:
    return cv2.merge([alpha, alpha, alpha])


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Round and saturate (cv2 does both in one pass; numpy's clip is several times slower)."""
    return cv2.add(values, 0.0, dtype=cv2.CV_8U)


def _inside(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(f"expected an HxW mask, got shape {mask.shape}")
    return mask > 0.5 if np.issubdtype(mask.dtype, np.floating) else mask > 0


def _checked_alpha(background: np.ndarray, foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    check_pair(background, foreground)
    return as_weight(alpha, background.shape[:2])
