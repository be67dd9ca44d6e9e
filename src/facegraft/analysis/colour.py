"""Skin colour statistics in CIE Lab, and moving a region from one set of statistics to another.

Measured on bare skin (weights > 0) with the extreme lightness trimmed, so highlights and shadows do
not skew them. Used when a source profile is built (photos in different light are brought to one
colour) and when a rendered face takes the target's tone (refine). Functions read and write only the
bounding box of the mask; see facegraft.refine.colour for the conventions on masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Limits on how far one channel's contrast may be stretched or squashed, so the noise of a flat
# region never explodes and a bad estimate never flattens the face.
MIN_SCALE, MAX_SCALE = 0.5, 2.0
# Fraction of the face's lightness range cut off at each end before measuring colour:
# specular highlights and deep shadows say little about skin colour.
TRIM = 0.02
_L_BINS = 1000  # lightness histogram resolution for the trim: 0.1 L units
EPS = 1e-6
_MIN_SMALL_SIGMA = 2.0


@dataclass(frozen=True)
class ColourStats:
    """Per-channel mean and standard deviation of a region in CIE Lab (L 0..100, a, b)."""

    mean: np.ndarray  # (3,)
    std: np.ndarray  # (3,)


def mask_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice] | None:
    """Bounding box of mask > 0 grown by `margin` and clipped to the frame; None for an empty mask."""
    rows = np.flatnonzero(np.any(mask > 0, axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(np.any(mask > 0, axis=0))
    h, w = mask.shape[:2]
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, h)),
            slice(max(cols[0] - margin, 0), min(cols[-1] + 1 + margin, w)))


def colour_stats(rgb: np.ndarray, weights: np.ndarray) -> ColourStats:
    """Weighted Lab mean and std of `rgb`, ignoring the lightest and darkest 2% of the weight."""
    check_image(rgb)
    weights = as_weight(weights, rgb.shape[:2])
    box = mask_box(weights)
    if box is None:
        raise ValueError("colour_stats: the weights are zero everywhere")
    lab = to_lab(rgb[box]).reshape(-1, 3).astype(np.float64)
    w = weights[box].reshape(-1).astype(np.float64)
    w *= _untrimmed(lab[:, 0], w)
    mean = w @ lab / w.sum()
    var = w @ np.square(lab - mean) / w.sum()
    return ColourStats(mean, np.sqrt(var))


def blend_stats(previous: ColourStats | None, current: ColourStats, keep: float) -> ColourStats:
    """Exponential smoothing of per-frame stats; `keep` is the previous value's weight (0..1)."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"blend_stats: keep must be in [0, 1], got {keep}")
    if previous is None:
        return current
    return ColourStats(keep * previous.mean + (1 - keep) * current.mean,
                       keep * previous.std + (1 - keep) * current.std)


def transfer_colour(rgb: np.ndarray, weights: np.ndarray, source: ColourStats, target: ColourStats,
                    strength: float = 1.0, lightness_scale: tuple[float, float] = (MIN_SCALE, MAX_SCALE),
                    chroma_scale: tuple[float, float] = (MIN_SCALE, MAX_SCALE)) -> np.ndarray:
    """Reinhard colour transfer in Lab from `source` stats to `target` stats where weights > 0.

    `lightness_scale` bounds how far the lightness contrast may be stretched or squeezed: where the
    light is carried over separately, squeezing it would only wash out brows, freckles and lips.
    `chroma_scale` does the same for a* and b*."""
    check_image(rgb)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"transfer_colour: strength must be in [0, 1], got {strength}")
    weights = as_weight(weights, rgb.shape[:2])
    out = rgb.copy()
    box = mask_box(weights)
    if box is None or strength == 0.0:
        return out
    scale = np.clip(target.std / np.maximum(source.std, EPS), MIN_SCALE, MAX_SCALE)
    scale[0] = np.clip(scale[0], *lightness_scale)
    scale[1:] = np.clip(scale[1:], *chroma_scale)
    lab = to_lab(rgb[box])
    moved = from_lab(cv2.add(cv2.multiply(lab, scalar(scale)), scalar(target.mean - source.mean * scale)))
    put_change(out[box], moved - rgb[box], strength, weights[box])
    return out


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB to float32 Lab (L 0..100)."""
    return cv2.cvtColor(rgb.astype(np.float32) * (1 / 255), cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    """float32 Lab to float32 RGB 0..255 (not yet rounded, so changes can still be scaled)."""
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0) * 255


def _untrimmed(lightness: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """1 for pixels inside the weighted 2..98% lightness range, 0 for the extremes."""
    bins = np.clip(np.rint(lightness * (_L_BINS / 100)), 0, _L_BINS).astype(np.intp)
    cumulative = np.cumsum(np.bincount(bins, weights, minlength=_L_BINS + 1))
    cumulative /= cumulative[-1]
    low, high = np.searchsorted(cumulative, [TRIM, 1 - TRIM])
    return ((bins >= low) & (bins <= high)).astype(np.float32)


def put_change(region: np.ndarray, change: np.ndarray, amount: float, weights: np.ndarray) -> None:
    """Add `amount` * change, rounded, to the uint8 `region` (a view into the output) where weights > 0."""
    changed = cv2.scaleAdd(change.astype(np.float32), amount, region.astype(np.float32))
    cv2.copyTo(cv2.add(changed, 0.0, dtype=cv2.CV_8U), (weights > 0).view(np.uint8), region)


def scalar(values: np.ndarray) -> tuple[float, ...]:
    """Per-channel constant in the form cv2 arithmetic broadcasts."""
    return tuple(float(v) for v in values) + (0.0,) * (4 - len(values))


def as_weight(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A bool, uint8 (0..255) or float (0..1) HxW mask as float32 0..1 weights."""
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.shape != tuple(shape):
        raise ValueError(f"mask shape {mask.shape} does not match the image {tuple(shape)}")
    if mask.dtype == np.bool_:
        return mask.astype(np.float32)
    if mask.dtype == np.uint8:
        return mask.astype(np.float32) * (1 / 255)
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


def check_image(rgb: np.ndarray) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")


def check_pair(first: np.ndarray, second: np.ndarray) -> None:
    check_image(first)
    check_image(second)
    if first.shape != second.shape:
        raise ValueError(f"image sizes differ: {first.shape} and {second.shape}")
