"""Relighting the rendered face with the target's light, as a smooth field fitted over bare skin.

A blur-based ratio of target to rendered lightness also carries features (beard shadow, brows,
eye sockets sit in different places in the two faces), which then print onto the result. Light
falling on a face varies slowly, so a low-order polynomial fitted to the log lightness ratio over
skin only captures the light and ignores the features.
"""

from __future__ import annotations

import cv2
import numpy as np

RATIO_LIMITS = (0.6, 1.6)
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
