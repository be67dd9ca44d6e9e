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

import cv2
import numpy as np

from facegraft.analysis.regions import INNER_LIPS, OUTER_LIPS
from facegraft.analysis.colour import (EPS, MAX_SCALE, MIN_SCALE, ColourStats, as_weight, blend_stats, check_pair,
                                      colour_stats, from_lab, mask_box, put_change, to_lab, transfer_colour)

__all__ = ["ColourStats", "blend_stats", "colour_stats", "mask_box", "match_grain", "match_shading",
           "temper_lips", "transfer_colour", "transfer_detail"]
GRAIN_CLIP = 2.5  # target grain beyond this many of its own deviations is a mole or an edge, not grain
MIN_SOFTEN = 0.2  # a sharper source is softened at most to this share of its fine detail
DETAIL_CAP = 1.05  # the face's fine detail at most this share above the target face's own
GRAIN_GAIN_MAX = 1.3  # the target's clipped grain is scaled up at most this much to make up its tails

_MIN_SMALL_SIGMA = 2.0


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
    ratio = np.clip((both[..., 0] + EPS) / (both[..., 1] + EPS), MIN_SCALE, MAX_SCALE)
    shaded = from_lab(cv2.merge([lightness * ratio, a, b]))
    put_change(out[box], shaded - rendered[box], 1.0, w)
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
    low = cv2.divide(masked_blur(cv2.multiply(diff, w3), sigma), np.maximum(masked_blur(w3, sigma), EPS))
    put_change(out[box], cv2.subtract(diff, low), 1.0 - detail, w)
    return out


def match_grain(rendered: np.ndarray, target: np.ndarray, covered: np.ndarray, skin: np.ndarray,
                sigma: float) -> np.ndarray:
    """Bring the rendered face's fine detail (finer than `sigma` px) to the target's level over skin.

    A softer source (a small or blurry photo on a sharp frame) gets the target's own grain added,
    clipped so its moles and edges stay behind; a sharper one is softened toward the target's blur.
    """
    check_pair(rendered, target)
    box = mask_box(covered.astype(np.float32))
    out = rendered.copy()
    if box is None or skin[box].sum() < 50:
        return out
    fine_r, fine_t = _fine(rendered[box].astype(np.float32), sigma), _fine(target[box].astype(np.float32), sigma)
    on_skin = skin[box] > 0.5
    on_skin[1::2] = False  # every other row measures the same spread at half the cost
    luma_r, luma_t = _luma(fine_r), _luma(fine_t)
    e_t = _spread(luma_t[on_skin])
    # Levels compared as RMS of the luma: skin detail is heavy-tailed (pores, fine lines, freckles),
    # and a robust spread called a freckled photo far sharper than a pored face of the same RMS; and
    # a photo's colour noise is not detail the eye sees as sharpness.
    rms_r, rms_t = (float(np.sqrt(np.mean(f[on_skin] ** 2))) for f in (luma_r, luma_t))
    if e_t <= 1e-3 or rms_t <= 1e-3:
        return out
    if rms_r < rms_t:
        # The target's own grain, clipped at a few of its robust spreads so its moles and edges stay
        # behind, and scaled so the energies (independent grains add in energy) reach the target's.
        clipped = np.clip(fine_t, -GRAIN_CLIP * e_t, GRAIN_CLIP * e_t)
        rms_c = float(np.sqrt(np.mean(_luma(clipped)[on_skin] ** 2)))
        gain = min(GRAIN_GAIN_MAX, math.sqrt(rms_t ** 2 - rms_r ** 2) / max(rms_c, 1e-3))
        change = clipped * (gain * skin[box])[..., None]
    else:
        change = fine_r * (max(MIN_SOFTEN, rms_t / rms_r) - 1.0)
    put_change(out[box], change, 1.0, covered[box].astype(np.float32))
    return _cap_fine_detail(out, fine_t, box, covered, sigma)


def _cap_fine_detail(out: np.ndarray, fine_t: np.ndarray, box: tuple[slice, slice], covered: np.ndarray,
                     sigma: float) -> np.ndarray:
    """The whole face no crisper than the target's (`fine_t` its fine detail): brows, lips and
    nostrils as well as skin.

    A small or soft target face (a far, compressed 720p shot; smoothed footage) cannot show a sharp
    photo's edges: they read as pasted on, and as the face moves they shimmer from frame to frame.
    Skin grain alone is matched above; this holds the RMS of the fine detail's luma over the face to
    DETAIL_CAP times the target's own, as the camera that filmed the target would have."""
    weights = covered[box].astype(np.float32)
    # Away from the edge of what was rendered, whose blur reaches past it.
    reach = 2 * math.ceil(2 * sigma) + 1
    inside = cv2.erode((weights > 0.5).view(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    inside[1::2] = False  # every other row measures the same energy at half the cost
    if inside.sum() < 50:
        return out
    fine_o = _fine(out[box].astype(np.float32), sigma)
    luma_o, luma_t = _luma(fine_o), _luma(fine_t)
    q = _fine(luma_o, sigma)
    gain = _capping_gain(luma_o[inside], q[inside], DETAIL_CAP * float(np.sqrt(np.mean(luma_t[inside] ** 2))))
    if gain < 1.0:
        put_change(out[box], fine_o * (gain - 1.0), 1.0, weights)
    return out


def _capping_gain(f: np.ndarray, q: np.ndarray, limit: float) -> float:
    """The factor on the fine detail `f` that brings its RMS down to `limit` (1 if it is under).

    A Gaussian split is not a clean one: scaling the fine part by g changes the fine part by
    (g - 1) * q, q the fine part of f itself, so its energy is a quadratic in g, solved directly."""
    energy = float(np.mean(f * f))
    if limit <= 1e-3 or energy <= (1.02 * limit) ** 2:
        return 1.0
    a, b, c = float(np.mean(q * q)), float(np.mean(f * q)), energy - limit * limit
    disc = b * b - a * c
    step = (-b + math.sqrt(disc)) / a if disc >= 0 and a > 1e-9 else -b / max(a, 1e-9)
    return min(1.0, max(MIN_SOFTEN, 1.0 + step))


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of a float RGB array (or of its detail: the weights are linear)."""
    return cv2.transform(rgb, np.array([[0.299, 0.587, 0.114]], np.float32))


def _fine(image: np.ndarray, sigma: float) -> np.ndarray:
    """Detail finer than `sigma` px (3 sigma each side holds 99.7% of the kernel)."""
    size = 2 * math.ceil(3 * sigma) + 1
    return image - cv2.GaussianBlur(image, (size, size), sigma)


def _spread(values: np.ndarray) -> float:
    """Robust standard deviation (from the median absolute deviation)."""
    return float(1.4826 * np.median(np.abs(values - np.median(values)))) if values.size else 0.0


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


LIP_SLACK = 3.0  # Lab units of redness (and yellowness) the lips may keep beyond the target's own


def temper_lips(image: np.ndarray, target: np.ndarray, points: np.ndarray, covered: np.ndarray,
                iod: float) -> np.ndarray:
    """The lips' colour against the skin around them no stronger than the target's (uint8 RGB crops;
    `points` the output mesh in crop coordinates).

    A source's lipstick on a bare-lipped target, or its red lips on a pale face, is the commonest
    sign of a pasted face after the cheeks: the tone transfer matches skin, and lips are not skin.
    Lips no more coloured than the target's own keep their colour."""
    near = max(3, int(0.25 * iod)) | 1
    soft_sigma = max(1.0, 0.03 * iod)
    # Only the lips and the ring of skin around them are read or changed.
    reach = near + math.ceil(3 * soft_sigma) + 2
    x0, y0 = np.maximum(np.floor(points[OUTER_LIPS].min(axis=0)).astype(int) - reach, 0)
    x1, y1 = np.ceil(points[OUTER_LIPS].max(axis=0)).astype(int) + reach + 1
    box = (slice(y0, min(y1, image.shape[0])), slice(x0, min(x1, image.shape[1])))
    shape = image[box].shape[:2]
    if min(shape) < 4:
        return image
    covered = np.asarray(covered)[box] > 0
    outer, inner = (np.zeros(shape, np.uint8) for _ in range(2))
    cv2.fillPoly(outer, [np.round(points[OUTER_LIPS] - (x0, y0)).astype(np.int32)], 1)
    cv2.fillPoly(inner, [np.round(points[INNER_LIPS] - (x0, y0)).astype(np.int32)], 1)
    lips = (outer > inner) & covered
    ring = (cv2.dilate(outer, np.ones((near, near), np.uint8)) > cv2.dilate(outer, np.ones((5, 5), np.uint8))) & covered
    if lips.sum() < 30 or ring.sum() < 30:
        return image
    lab_o = cv2.cvtColor(image[box].astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lab_t = cv2.cvtColor(target[box].astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    excess = lambda lab: np.median(lab[lips][:, 1:], axis=0) - np.median(lab[ring][:, 1:], axis=0)  # noqa: E731
    mine, theirs = excess(lab_o), excess(lab_t)
    allowed = np.abs(theirs) + LIP_SLACK
    shift = np.where(np.abs(mine) > allowed, np.sign(mine) * allowed - mine, 0.0)
    if not shift.any():
        return image
    soft = cv2.GaussianBlur(lips.astype(np.float32), (0, 0), soft_sigma)
    lab_o[..., 1:] += soft[..., None] * shift.astype(np.float32)
    out = cv2.convertScaleAbs(cv2.cvtColor(lab_o, cv2.COLOR_Lab2RGB), alpha=255.0)
    result = image.copy()
    cv2.copyTo(out, ((soft > 1e-3) & covered).astype(np.uint8), result[box])  # the lips alone
    return result
