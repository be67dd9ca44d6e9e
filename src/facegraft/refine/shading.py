"""Relighting the rendered face with the target's light.

First the target frame's light is fitted as spherical harmonics over the output surface's normals
(analysis.lighting) and put on the source's flat-lit skin, so the nose, cheekbones and jaw take the
target's light and shadow sides. What a quadratic in the normals cannot hold (falloff across the
frame, broad cast shadows) is then carried by a smooth ratio field fitted over bare skin:

A blur-based ratio of target to rendered lightness also carries features (beard shadow, brows,
eye sockets sit in different places in the two faces), which then print onto the result. Light
falling on a face varies slowly, so a low-order polynomial fitted to the log lightness ratio over
skin only captures the light and ignores the features.
"""

from __future__ import annotations

import cv2
import numpy as np

from facegraft.analysis.lighting import Lighting, fit_lighting

RATIO_LIMITS = (0.6, 1.6)
# Share (as an exponent) of the target's fitted light put on the flat-lit face: a little of the
# source photo's own look is what keeps the face recognisably the source's (see docs/measurements.md).
LIGHT_STRENGTH = 0.8
MIN_PIXELS = 200


def _design(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1)


def fit_light_ratio(rendered_l: np.ndarray, target_l: np.ndarray, skin: np.ndarray) -> np.ndarray | None:
    """Smooth field r(x, y) with target_l ~ r * rendered_l over skin pixels; None if too little skin."""
    ys, xs = np.nonzero(skin > 0.5)
    if len(xs) < MIN_PIXELS:
        return None
    h, w = skin.shape
    scale = max(h, w)
    sample = slice(None, None, max(1, len(xs) // 4000))  # a few thousand pixels pin down 6 numbers
    xs, ys = xs[sample], ys[sample]
    design = _design(xs / scale, ys / scale)
    target = np.log(np.maximum(target_l[ys, xs], 1.0)) - np.log(np.maximum(rendered_l[ys, xs], 1.0))
    weights = np.ones(len(xs))
    for _ in range(3):  # reweighting: moles, glints and stray hair do not pull the fit
        coef, *_ = np.linalg.lstsq(design * weights[:, None], target * weights, rcond=None)
        residual = np.abs(target - design @ coef)
        weights = 1.0 / np.maximum(1.0, residual / 0.05)
    return np.clip(np.exp(_evaluate(coef, h, w, scale)), *RATIO_LIMITS)


def _evaluate(coef: np.ndarray, h: int, w: int, scale: float) -> np.ndarray:
    """The quadratic over the whole grid, built from row and column terms (no per-pixel design matrix)."""
    x = (np.arange(w, dtype=np.float32) / scale)[None, :]
    y = (np.arange(h, dtype=np.float32) / scale)[:, None]
    c = coef.astype(np.float32)
    return (c[0] + c[1] * x + c[3] * x * x) + y * (c[2] + c[4] * x) + c[5] * y * y


def relight(rendered: np.ndarray, target: np.ndarray, covered: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """The rendered face (uint8 RGB crop) under the target's light; unchanged outside `covered`."""
    lab = cv2.cvtColor(rendered.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    target_l = cv2.cvtColor(target.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]
    ratio = fit_light_ratio(lab[..., 0], target_l, skin * covered)
    if ratio is None:
        return rendered
    lab[..., 0] = np.clip(lab[..., 0] * ratio, 0.0, 100.0)
    lit = cv2.convertScaleAbs(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), alpha=255.0)
    out = rendered.copy()
    cv2.copyTo(lit, covered.view(np.uint8), out)
    return out


def target_lighting(target: np.ndarray, normals: np.ndarray, covered: np.ndarray, skin: np.ndarray) -> Lighting | None:
    """The target region's light over the output surface (its geometry follows the target's)."""
    # Every other pixel is plenty on a big face; a small one (a far or low-resolution face) needs all.
    step = 2 if (skin * covered > 0.05).sum() > 4 * MIN_PIXELS else 1
    weights = (skin * covered)[::step, ::step]
    return fit_lighting(target[::step, ::step].reshape(-1, 3), normals[::step, ::step].reshape(-1, 3),
                        weights.reshape(-1))


def apply_lighting(rendered: np.ndarray, normals: np.ndarray, covered: np.ndarray, skin: np.ndarray,
                   lighting: Lighting) -> np.ndarray:
    """Flat-lit rendered skin times the light's shading relative to its mean over skin (tone kept)."""
    shading = lighting.relative_shading(normals, skin * covered)[..., :1] ** LIGHT_STRENGTH
    lit = np.clip(rendered.astype(np.float32) * shading, 0.0, 255.0).astype(np.uint8)
    out = rendered.copy()
    cv2.copyTo(lit, covered.view(np.uint8), out)
    return out


# Skin brighter than its diffuse light by more than this share (and at least HIGHLIGHT_FLOOR grey
# levels) shines; a lower margin would start carrying the target's pale patches (its albedo) too.
HIGHLIGHT_MARGIN, HIGHLIGHT_FLOOR = 0.12, 12.0


def carry_highlights(rendered: np.ndarray, target: np.ndarray, normals: np.ndarray, covered: np.ndarray,
                     skin: np.ndarray, lighting: Lighting) -> np.ndarray:
    """Add the target's specular sheen (skin brighter than its diffuse light explains) to the face.

    The source's own highlights were taken out of its texture; the target's belong to its light and
    geometry, so a glossy forehead or cheek in the target stays glossy on the new face."""
    bare = np.clip((skin - 0.3) / 0.4, 0.0, 1.0) * covered
    if bare.sum() < 50:
        return rendered
    diffuse = np.maximum(lighting.grey().shading(normals)[..., 0], 1.0)
    lum = cv2.GaussianBlur(cv2.transform(target, np.full((1, 3), 1 / 3)).astype(np.float32), (0, 0), 1.0)
    # The robust fit sits below the skin on average; level it so only true outliers count as sheen.
    level = (lum / diffuse)[::2, ::2][bare[::2, ::2] > 0.5]
    diffuse *= float(np.median(level)) if level.size else 1.0
    sheen = np.clip(lum - diffuse - np.maximum(HIGHLIGHT_MARGIN * diffuse, HIGHLIGHT_FLOOR), 0.0, 80.0) * bare
    if not sheen.any():
        return rendered
    lit = np.clip(rendered.astype(np.float32) + sheen[..., None], 0.0, 255.0).astype(np.uint8)
    out = rendered.copy()
    cv2.copyTo(lit, covered.view(np.uint8), out)
    return out


# The band where a photo's own light shapes the face (eye sockets, the sides of the nose, the
# cheekbones' shadow): periods of about a quarter to one inter-ocular distance.
CONTRAST_BAND_IOD = (1 / 8, 1 / 2)
CONTRAST_GAIN = (0.5, 1.25)  # how far the band's local contrast may be lowered or raised
CHROMA_GAIN = (0.3, 1.0)  # the band's colour patches: only lowered
HAIR_DARKNESS = (0.45, 0.65)  # skin this dark against the face's typical skin is left alone, this light is matched


def match_shading_contrast(rendered: np.ndarray, target: np.ndarray, covered: np.ndarray, skin: np.ndarray,
                           iod: float) -> np.ndarray:
    """The skin's mid-to-coarse shading at the target's local contrast (uint8 RGB crops).

    A smooth light fit leaves the source photo's own modelling where it is sharpest: deep sockets
    and a bright nose ridge under a top light, baked into the texture, sit on a flat-lit target as a
    mask. Where the rendered face's band energy exceeds the target's, the band is scaled down (and
    raised a little where the target's is stronger), on skin only: brows, eyes and lips keep theirs.
    Everything here is smooth at IOD/8, so it is worked out at a size where that is 2 pixels and
    the change is scaled back up (at full size a 720p face cost a quarter of a second)."""
    weight = (skin * covered).astype(np.float32)
    if (weight > 0.5).sum() < MIN_PIXELS or iod < 8:
        return rendered
    h, w = weight.shape
    shrink = max(1.0, iod * CONTRAST_BAND_IOD[0] / 2.0)
    size = (max(8, round(w / shrink)), max(8, round(h / shrink)))
    small = lambda image: cv2.resize(image, size, interpolation=cv2.INTER_AREA)  # noqa: E731
    lum_o = small(cv2.cvtColor(rendered, cv2.COLOR_RGB2GRAY).astype(np.float32))
    lum_t = small(cv2.cvtColor(target, cv2.COLOR_RGB2GRAY).astype(np.float32))
    weight = small(weight)
    fine, coarse = (iod / shrink * s for s in CONTRAST_BAND_IOD)
    band = lambda image: cv2.GaussianBlur(image, (0, 0), fine) - cv2.GaussianBlur(image, (0, 0), coarse)  # noqa: E731
    energy = lambda values: _weighted_blur(values * values, weight, coarse)  # noqa: E731
    target_energy = energy(band(lum_t))
    # The lids and brow bones too (not skin for measuring: their own light is as baked in as the
    # cheeks'): the whole covered face, its brows and lashes kept by their darkness below.
    area = small(np.asarray(covered, np.float32))
    spread = np.clip(2.0 * cv2.GaussianBlur(np.maximum(weight, area * (area > 0.99)), (0, 0), fine), 0.0, 1.0)
    # Hair on the skin (a moustache, a beard, stubble) is the source's own, not its light: far darker
    # than the skin around it, where a shadowed socket is a little darker.
    typical = float(np.median(lum_o[weight > 0.5])) if (weight > 0.5).any() else 0.0
    darkness = cv2.GaussianBlur(lum_o, (0, 0), fine) / max(typical, 1.0)
    spread *= np.clip((darkness - HAIR_DARKNESS[0]) / (HAIR_DARKNESS[1] - HAIR_DARKNESS[0]), 0.0, 1.0)
    lum_change = _matched(lum_o, target_energy, band, energy, spread, CONTRAST_GAIN)
    # The source's blush, flushed cheeks and reddened nose are colour, not light: their patches of
    # chroma are only ever lowered to the target's (raising them would grow the source's own).
    base = small(rendered).astype(np.float32) / 255.0
    lab_o = cv2.cvtColor(np.clip(base + lum_change[..., None] / 255.0, 0.0, 1.0), cv2.COLOR_RGB2Lab)
    lab_t = cv2.cvtColor(small(target).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    for c in (1, 2):
        lab_o[..., c] += _matched(lab_o[..., c], energy(band(lab_t[..., c])), band, energy, spread, CHROMA_GAIN)
    # The change is as smooth as the band, so it is worked out in colour at the small size and only
    # its RGB difference is scaled up (a Lab round trip of the full crop cost as much as the rest).
    change = cv2.resize(255.0 * (cv2.cvtColor(lab_o, cv2.COLOR_Lab2RGB) - base), (w, h), interpolation=cv2.INTER_LINEAR)
    out = cv2.add(rendered.astype(np.float32), change, dtype=cv2.CV_8U)
    result = rendered.copy()
    cv2.copyTo(out, (np.asarray(covered) > 0).astype(np.uint8), result)
    return result


def _matched(channel: np.ndarray, target_energy: np.ndarray, band, energy, spread: np.ndarray,
             limits: tuple[float, float]) -> np.ndarray:
    """The change that brings `channel`'s band to the target's local energy, within `limits`.

    A difference of Gaussians is not a clean split (scaling its band scales the band it measures by
    about two thirds as much), so the scaling is applied twice."""
    lit = channel.copy()
    for _ in range(2):
        band_o = band(lit)
        gain = np.clip(np.sqrt((target_energy + 1.0) / (energy(band_o) + 1.0)), *limits)
        lit += (gain - 1.0) * band_o * spread
    return lit - channel


def _weighted_blur(values: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """The weighted local mean of `values` (normalised convolution over `weight`)."""
    num = cv2.GaussianBlur(values * weight, (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    return num / np.maximum(den, 1e-3)
