"""Taking the source photo's own light and expression out of its unwrapped skin.

A photo's skin is albedo x the photo's light: left in, the source's nose glint and side shadow
would ride on the new face whatever the target's light. Each view is divided by its own fitted SH
shading (rescaled so the skin keeps its overall tone: the texture is the source "flat-lit"), its
specular highlights are flattened, and its expression folds (smile lines, raised cheeks) are
weakened where its own expression moved the skin, so they do not print onto a neutral target.
"""

from __future__ import annotations

import cv2
import numpy as np

from facegraft.analysis.lighting import fit_lighting
from facegraft.analysis.regions import expression_activity, skin_weights
from facegraft.analysis.texture import SPAN, Unwrapped, texel_surface
from facegraft.analysis.types import Face

FOLD_DAMPING = 0.7  # share of the mid band removed where the source's expression is fully active
HIGHLIGHT = (1.08, 0.12)  # brightness over the diffuse fit where a highlight starts, and its ramp


def delit(view: Unwrapped, face: Face, size: int) -> tuple[Unwrapped, np.ndarray]:
    """The view under flat light with folds weakened, and its texel expression activity (S, S)."""
    normals, attrs = texel_surface(face, size, np.stack([skin_weights(), expression_activity(face)], axis=1))
    skin = attrs[..., 0]
    bare, active = skin * (view.weight > 0.1), cv2.GaussianBlur(attrs[..., 1], (0, 0), size / 128)
    texture = view.texture
    lighting = fit_lighting(texture.reshape(-1, 3), normals.reshape(-1, 3), (bare * view.weight).reshape(-1))
    if lighting is not None:
        shading = lighting.relative_shading(normals, bare * view.weight)
        texture = _flatten_highlights(texture / shading, bare)
    texture = _weaken_folds(texture, active * skin, (view.weight > 0).astype(np.float32), size)
    return Unwrapped(np.clip(texture, 0.0, 255.0).astype(np.float32), view.weight), active


def _flatten_highlights(texture: np.ndarray, bare: np.ndarray) -> np.ndarray:
    """Pull skin far brighter than its surroundings (a glint left after dividing out the light) down."""
    lum = texture.mean(axis=2)
    around = cv2.GaussianBlur(lum * bare, (0, 0), 6.0) / np.maximum(cv2.GaussianBlur(bare, (0, 0), 6.0), 1e-3)
    over = cv2.GaussianBlur(lum, (0, 0), 1.5) / np.maximum(around, 1.0)
    start, ramp = HIGHLIGHT
    glint = np.clip((over - start) / ramp, 0.0, 1.0) * (bare > 0.3)
    factor = np.where(glint > 0, (start / np.maximum(over, start)) ** glint, 1.0)
    return texture * factor[..., None]


def _weaken_folds(texture: np.ndarray, active: np.ndarray, known: np.ndarray, size: int) -> np.ndarray:
    """Damp the mid band (folds are a few texels to a quarter face wide) where the expression moved skin.

    The blurs are normalised over the texels the photo showed, so the face's edge keeps its tone."""
    if active.max() < 0.05:
        return texture
    texels_per_iod = size / SPAN
    log = np.log(np.maximum(texture, 1.0)) * known[..., None]

    def blur(sigma: float) -> np.ndarray:
        return cv2.GaussianBlur(log, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(known, (0, 0), sigma), 1e-3)[..., None]

    mid = blur(texels_per_iod / 32) - blur(texels_per_iod / 3)
    return np.where(known[..., None] > 0, texture * np.exp(-(FOLD_DAMPING * active)[..., None] * mid), texture)
