"""Brows keep their own darkness against the skin around them.

Tone transfer, relighting and blending all act on the skin as a whole, and each can leave the brows
paler against the forehead than they are in the source photo, which reads as a browless face. The
source's own brow contrast is measured once in its flat-lit texture; in every output face the brows
are darkened back to it where they came out fainter (never lightened: a lighter brow is no better).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from facegraft.analysis.facemodel import load_face_model
from facegraft.analysis.regions import BROWS
from facegraft.analysis.texture import texel_attribute, uv_layout

BROW_REACH = 0.06  # IOD around the brow vertices that counts as brow
FOREHEAD_BAND = (0.12, 0.3)  # IOD above the brows where the skin they are compared with lies
MAX_DARKEN = 0.6  # the brows are darkened at most to this share of their lightness


@functools.cache
def brow_texels(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(brow, forehead) soft texel masks: the brows, and the skin band just above them."""
    t = load_face_model().template
    brows = t[BROWS]
    d = np.linalg.norm(t[:, None, :2] - brows[None, :, :2], axis=2).min(axis=1)
    on_brow = np.clip(1.0 - d / BROW_REACH, 0.0, 1.0)
    low, high = FOREHEAD_BAND
    above = t[:, 1] - np.interp(t[:, 0], np.sort(brows[:, 0]), brows[np.argsort(brows[:, 0]), 1])
    span = (t[:, 0] > brows[:, 0].min()) & (t[:, 0] < brows[:, 0].max())
    forehead = ((above > low) & (above < high) & span).astype(np.float64)
    attrs = texel_attribute(uv_layout(size), np.stack([on_brow, forehead], axis=1))
    return attrs[..., 0], attrs[..., 1]


def brow_contrast(lightness: np.ndarray, brow: np.ndarray, forehead: np.ndarray) -> float | None:
    """1 - brow lightness / median forehead lightness; None when either is barely there.

    The brow's lightness is its darker third: between sparse hairs a brow is mostly skin."""
    on_brow, on_forehead = brow > 0.5, forehead > 0.5
    if on_brow.sum() < 20 or on_forehead.sum() < 20:
        return None
    skin = float(np.median(lightness[on_forehead]))
    return 1.0 - float(np.percentile(lightness[on_brow], 30)) / max(skin, 1.0)


def source_brow_contrast(texture: np.ndarray, seen: np.ndarray, skin: np.ndarray) -> float | None:
    """The source's brow contrast in its texture; the forehead counts only where it is bare skin."""
    brow, forehead = brow_texels(texture.shape[0])
    lightness = texture.astype(np.float32).mean(axis=2)
    return brow_contrast(lightness, brow * (seen > 0.3), forehead * (seen > 0.3) * (skin > 0.5))


def keep_brow_contrast(image: np.ndarray, covered: np.ndarray, weight: np.ndarray, uv: np.ndarray,
                       texture_size: int, wanted: float | None) -> np.ndarray:
    """Darken the brows of the output crop back to the source's contrast `wanted` where fainter.
    The forehead is compared where the face is swapped (`weight`), not where the target's shows."""
    if wanted is None or wanted <= 0.0:
        return image
    brow_t, forehead_t = brow_texels(texture_size)
    brow = cv2.remap(brow_t, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR) * covered
    forehead = cv2.remap(forehead_t, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR) * covered * (weight > 0.5)
    lightness = image.astype(np.float32).mean(axis=2)
    now = brow_contrast(lightness, brow, forehead)
    if now is None or now >= wanted:
        return image
    factor = max(MAX_DARKEN, (1.0 - wanted) / max(1.0 - now, 1e-3))
    gain = 1.0 - (1.0 - factor) * brow
    out = np.clip(image.astype(np.float32) * gain[..., None], 0.0, 255.0).astype(np.uint8)
    return np.where(covered[..., None], out, image)
