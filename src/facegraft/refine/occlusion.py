"""Model-free occlusion: what covers the target's face (a hand, a microphone, a glass) stays in front.

No face-parsing model ships with the pinned stack, so each tracked face keeps its own expected
appearance in texture space (a running average of its unwrapped skin). Where the current frame
disagrees strongly with that expectation, in colour more than in brightness (shading and
expressions mostly change brightness), something is in front of the face and the swap keeps the
target's pixels there.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facegraft.analysis import Face
from facegraft.analysis.texture import texel_attribute, uv_layout

SIZE = 96  # texture side for the appearance model: occluders are big, speed matters
WARMUP = 4  # frames averaged before anything can be called an occlusion
LEARN_RATE = 0.08  # how fast the expected appearance follows slow changes (light, tan, beard shadow)
THRESHOLD = 16.0  # Lab distance (brightness weighted down) that marks a texel as covered
LIGHTNESS_WEIGHT = 0.35


@dataclasses.dataclass
class AppearanceModel:
    """Running per-track expectation of how the face's skin looks, in texture space."""

    expected: np.ndarray | None = None  # (SIZE, SIZE, 3) float32 Lab
    frames: int = 0


def unwrap_lab(rgb: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray]:
    """The face's skin in a small texture, as Lab, and the texels its mesh covers."""
    layout = uv_layout(SIZE)
    where = texel_attribute(layout, face.landmarks[:, :2].astype(np.float64))
    texture = cv2.remap(rgb, where[..., 0], where[..., 1], cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    lab = cv2.cvtColor(texture.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    return lab, layout.covered


def occlusion_texture(model: AppearanceModel, rgb: np.ndarray, face: Face) -> np.ndarray:
    """(SIZE, SIZE) float32 0..1: how sure we are each texel is covered by something. Updates the model."""
    lab, covered = unwrap_lab(rgb, face)
    if model.expected is None:
        model.expected, model.frames = lab, 1
        return np.zeros(covered.shape, np.float32)
    diff = lab - model.expected
    # A global change (exposure, white balance) is not an occluder.
    diff -= np.median(diff[covered], axis=0)
    distance = np.sqrt((LIGHTNESS_WEIGHT * diff[..., 0]) ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)
    occluded = (distance > THRESHOLD) & covered & (model.frames >= WARMUP)
    occluded = _clean(occluded)
    _learn(model, lab, covered & ~occluded)
    return occluded.astype(np.float32)


def _clean(occluded: np.ndarray) -> np.ndarray:
    """Occluders are solid: drop speckles, close small gaps."""
    mask = occluded.astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return mask.astype(bool)


def _learn(model: AppearanceModel, lab: np.ndarray, usable: np.ndarray) -> None:
    rate = 1.0 / (model.frames + 1) if model.frames < WARMUP else LEARN_RATE
    update = model.expected + rate * (lab - model.expected)
    model.expected = np.where(usable[..., None], update, model.expected).astype(np.float32)
    model.frames += 1


def occlusion_in_image(occlusion: np.ndarray, uv: np.ndarray, texture_size: int) -> np.ndarray:
    """Look the texture-space occlusion up for each pixel of a rendered face (uv in texels of texture_size)."""
    scale = SIZE / texture_size
    mapped = cv2.remap(occlusion, uv[..., 0] * scale, uv[..., 1] * scale, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(mapped, 0.0, 1.0)
