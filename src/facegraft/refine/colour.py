"""Colour and shading: make the rendered face take on the target frame's colour, light and detail.

Every function takes full frames plus a mask of where the rendered face is valid (mask > 0) and
returns a full frame, but only reads and writes the bounding box of the mask: a face is a small
part of a video frame, and the rest of the frame must come back bit for bit. No margin around the
box is needed: the blurs are normalised convolutions over the mask, which ignore everything
outside it, so a blur may treat the world beyond the box as zero.

Masks may be bool, float 0..1 or uint8 0..255. Where a function averages over the face, the mask
value is the pixel's weight; where it changes pixels, it changes every pixel with mask > 0 by the
full amount, because fading the edge out is the blending stage's job (doing it twice would leave a
ring of half-corrected colour under the feathered edge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["ColourStats", "blend_stats", "colour_stats", "mask_box", "match_shading", "transfer_colour",
           "transfer_detail"]

# Limits on how far one channel's contrast may be stretched or squashed, so the noise of a flat
# region never explodes and a bad estimate never flattens the face.
MIN_SCALE, MAX_SCALE = 0.5, 2.0
# Fraction of the face's lightness range cut off at each end before measuring colour:
# specular highlights and deep shadows say little about skin colour.
TRIM = 0.02
_L_BINS = 1000  # lightness histogram resolution for the trim: 0.1 L units
_EPS = 1e-6
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
                    strength: float = 1.0) -> np.ndarray:
    """Reinhard colour transfer in Lab from `source` stats to `target` stats where weights > 0."""
    check_image(rgb)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"transfer_colour: strength must be in [0, 1], got {strength}")
    weights = as_weight(weights, rgb.shape[:2])
    out = rgb.copy()
    box = mask_box(weights)
    if box is None or strength == 0.0:
        return out
    scale = np.clip(target.std / np.maximum(source.std, _EPS), MIN_SCALE, MAX_SCALE)
    lab = to_lab(rgb[box])
    moved = from_lab(cv2.add(cv2.multiply(lab, _scalar(scale)), _scalar(target.mean - source.mean * scale)))
    _put_change(out[box], moved - rgb[box], strength, weights[box])
    return out


def match_shading(rendered: np.ndarray, target: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Give the rendered face the target's low-frequency lightness (its light and shadow).

    The rendered L is multiplied by blur(target L) / blur(rendered L), both blurred only over the
    mask (normalised convolution) so the background never darkens or lightens the face's edge.
    `sigma` (pixels) sets how fine a shading is carried over: about a face width / 8.
    """
    check_pair(rendered, target)
    weights = as_weight(mask, rendered.shape[:2])
    out = rendered.copy()
    box = mask_box(weights)
    if box is None:
        return out
    lab = to_lab(rendered[box])
    target_l = to_lab(target[box])[..., 0]
    w = weights[box]
    # One blur for both: their ratio is the normalised-convolution ratio, the blurred weight cancels.
    lightness, a, b = cv2.split(lab)
    both = masked_blur(cv2.merge([target_l * w, lightness * w]), sigma)
    ratio = np.clip((both[..., 0] + _EPS) / (both[..., 1] + _EPS), MIN_SCALE, MAX_SCALE)
    shaded = from_lab(cv2.merge([lightness * ratio, a, b]))
    _put_change(out[box], shaded - rendered[box], 1.0, w)
    return out


def transfer_detail(rendered: np.ndarray, target: np.ndarray, mask: np.ndarray, detail: float,
                    sigma: float) -> np.ndarray:
    """Keep the rendered face's low frequencies and mix the two images' fine detail.

    Inside the mask: low(rendered) + detail * high(rendered) + (1 - detail) * high(target), where
    low is a Gaussian (std `sigma` px) taken over the mask only and high = image - low.
    detail = 1 keeps the rendered face, detail = 0 carries over the target's skin texture,
    wrinkles and fine highlights.
    """
    check_pair(rendered, target)
    if not 0.0 <= detail <= 1.0:
        raise ValueError(f"transfer_detail: detail must be in [0, 1], got {detail}")
    weights = as_weight(mask, rendered.shape[:2])
    out = rendered.copy()
    box = mask_box(weights)
    if box is None or detail == 1.0:
        return out
    w = weights[box]
    # The split is linear with shared weights, so the formula is rendered + (1 - detail) * high(t - r).
    diff = cv2.subtract(target[box], rendered[box], dtype=cv2.CV_32F)
    w3 = cv2.merge([w, w, w])
    low = cv2.divide(masked_blur(cv2.multiply(diff, w3), sigma), np.maximum(masked_blur(w3, sigma), _EPS))
    _put_change(out[box], cv2.subtract(diff, low), 1.0 - detail, w)
    return out


def masked_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (std `sigma` px) of a float32 image that is zero outside the face.

    Outside the crop counts as zero, which is what normalised convolution needs. A wide blur is
    done at a reduced size, where it costs a fraction and loses nothing it would keep.
    """
    if sigma <= 0:
        return image
    h, w = image.shape[:2]
    # Keep at least _MIN_SMALL_SIGMA px of blur at the reduced size so the bilinear upsampling
    # that follows stays smooth.
    factor = 2 ** int(math.log2(sigma / _MIN_SMALL_SIGMA)) if sigma >= 2 * _MIN_SMALL_SIGMA else 1
    small = image
    if factor > 1:
        size = (max(math.ceil(w / factor), 1), max(math.ceil(h / factor), 1))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_sigma = sigma / factor
    # 3 sigma each side holds 99.7% of the kernel; cv2's default of 4 costs a third more.
    size = 2 * math.ceil(3 * small_sigma) + 1
    small = cv2.GaussianBlur(small, (size, size), small_sigma, borderType=cv2.BORDER_CONSTANT)
    if factor > 1:
        small = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return small.reshape(image.shape)


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


def _put_change(region: np.ndarray, change: np.ndarray, amount: float, weights: np.ndarray) -> None:
    """Add `amount` * change, rounded, to the uint8 `region` (a view into the output) where weights > 0."""
    changed = cv2.scaleAdd(change.astype(np.float32), amount, region.astype(np.float32))
    cv2.copyTo(cv2.add(changed, 0.0, dtype=cv2.CV_8U), (weights > 0).view(np.uint8), region)


def _scalar(values: np.ndarray) -> tuple[float, ...]:
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
