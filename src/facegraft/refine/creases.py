"""The target's expression creases on the new face: frown lines, nose wrinkles, folds and tense cheeks.

Creases are shading at a few pixels to a quarter face wide that comes and goes with the expression.
The target frame is unwrapped into texture space and divided by its fitted light (what is left is
its skin's own pattern); its creases are how that pattern differs from the same track's neutral
look. The neutral look is a running average that leans on low-expression frames, so the target's
moles, brows and permanent marks cancel and only what its expression adds is carried over.

A still image has no neutral to compare with, so its creases are its own mid band where its
expression coefficients say the skin moved.

Everything is measured over skin (the eye and mouth openings, lids, lips and brows are left out:
there a slightly misplaced mesh would print edges rather than creases); crow's feet, the frown
between the brows and nose wrinkles sit close to them, so the margin is kept small.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from facegraft.analysis.lighting import Lighting
from facegraft.analysis.regions import crease_weights, expression_activity, expression_energy
from facegraft.analysis.texture import SPAN, texel_surface, unwrap
from facegraft.analysis.types import Face
from facegraft.refine.colour import masked_blur

SIZE = 256  # texels across the crease texture: creases are mid-frequency
BAND_IOD = (1 / 40, 1 / 2)  # Gaussian sigmas (IOD) bounding the crease band
LIMITS = (-0.45, 0.25)  # log-luminance range of a crease: deeper is a mistracked edge, not a crease
NEUTRAL_MEMORY = 40.0  # frames of weight the neutral look holds, so it keeps adapting to the light


@dataclasses.dataclass
class NeutralLook:
    """One target track's running neutral pattern in texture space (log luminance over its light)."""

    log: np.ndarray | None = None  # (SIZE, SIZE)
    weight: np.ndarray | None = None  # (SIZE, SIZE) accumulated weight per texel


def crease_texture(frame: np.ndarray, face: Face, lighting: Lighting, neutral: NeutralLook | None) -> np.ndarray:
    """(SIZE, SIZE) log-luminance crease map of the target face; `neutral` (video) is updated in place."""
    view = unwrap(frame, face, SIZE, visibility_side=SIZE)
    normals, attrs = texel_surface(face, SIZE, np.stack([crease_weights(), expression_activity(face)], axis=1))
    shading = lighting.grey().shading(normals)[..., 0]
    pattern = np.log(np.maximum(view.texture.mean(axis=2), 1.0)) - np.log(np.maximum(shading, 1.0))
    known = ((view.weight > 0.15) & (attrs[..., 0] > 0.3)).astype(np.float32)
    if neutral is None:
        active = cv2.GaussianBlur(attrs[..., 1], (0, 0), SIZE / 96)
        creases = _band(pattern, known) * active
    else:
        calm = math.exp(-expression_energy(face)) + 0.01
        _update(neutral, pattern, known * view.weight * calm)
        known *= neutral.weight > 0.5  # a texel's neutral needs a few frames before it is compared with
        creases = _band(pattern - neutral.log, known)
    return np.clip(creases, *LIMITS) * known


def _update(neutral: NeutralLook, pattern: np.ndarray, weight: np.ndarray) -> None:
    if neutral.log is None:
        neutral.log, neutral.weight = pattern * (weight > 0), weight.copy()
        return
    total = neutral.weight + weight
    neutral.log = np.where(total > 1e-6, (neutral.log * neutral.weight + pattern * weight) / np.maximum(total, 1e-6),
                           neutral.log)
    neutral.weight = np.minimum(total, NEUTRAL_MEMORY)


def _band(log: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Band-pass between BAND_IOD, with blurs normalised over the known texels (edges keep their level)."""
    per_iod = SIZE / SPAN
    values = log * known

    def blur(sigma: float) -> np.ndarray:
        both = masked_blur(cv2.merge([values.astype(np.float32), known.astype(np.float32)]), sigma)
        return both[..., 0] / np.maximum(both[..., 1], 1e-3)

    fine, coarse = BAND_IOD
    return blur(per_iod * fine) - blur(per_iod * coarse)


def apply_creases(rendered: np.ndarray, covered: np.ndarray, uv: np.ndarray, texture_size: int,
                  creases: np.ndarray) -> np.ndarray:
    """Multiply the rendered crop by the creases sampled at its texture coordinates."""
    scale = SIZE / texture_size
    ratio = cv2.remap(creases.astype(np.float32), uv[..., 0] * scale, uv[..., 1] * scale, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    lit = np.clip(rendered.astype(np.float32) * np.exp(ratio)[..., None], 0.0, 255.0).astype(np.uint8)
    out = rendered.copy()
    cv2.copyTo(lit, covered.view(np.uint8), out)
    return out
