"""Light on a face: order-2 spherical harmonics (9 coefficients per colour channel) over surface normals.

Diffuse light from a distant environment is, to within a few percent, a quadratic function of the
surface normal (Ramamoorthi and Hanrahan 2001), so an image of skin is modelled as
albedo x shading(normal). Both the source photo (to take its light out of the skin: albedo) and the
target frame (to put the target's light on the new face) are fitted the same way here.

The fit is made robust for what breaks the model on real faces: saturated and near-black pixels are
left out, specular highlights (far brighter than the diffuse fit) and hair, stubble or moles (far
darker) are down-weighted by iterative reweighting, and the second-order terms are damped because a
face shows only the front half of the sphere of normals.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

N_COEFFS = 9
# Damping of the band-1 and band-2 terms relative to the data (a face sees half the sphere).
RIDGE = np.array([0.0, 0.02, 0.02, 0.02, 0.08, 0.08, 0.08, 0.08, 0.08])
MIN_SAMPLES = 150
SATURATED, BLACK = 250.0, 8.0
SHADING_LIMITS = (0.25, 2.5)  # shading relative to the face's mean, outside which the fit is not trusted


@dataclasses.dataclass(frozen=True)
class Lighting:
    """Per-channel SH coefficients (9, C): value = sh_basis(normal) @ coeffs."""

    coeffs: np.ndarray

    def shading(self, normals: np.ndarray) -> np.ndarray:
        """(..., C) modelled value for unit normals (..., 3).

        An image of normals is evaluated on every 4th pixel and scaled up: the shading is a smooth
        function of smooth normals, and the full-size evaluation was the swap's costliest step."""
        if normals.ndim == 3 and min(normals.shape[:2]) >= 32:
            h, w = normals.shape[:2]
            small = self._evaluate(np.ascontiguousarray(normals[::4, ::4]))
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        return self._evaluate(normals)

    def _evaluate(self, normals: np.ndarray) -> np.ndarray:
        flat = sh_basis(normals.reshape(-1, 3).astype(np.float32)) @ self.coeffs.astype(np.float32)
        return flat.reshape(normals.shape[:-1] + (self.coeffs.shape[1],))

    def relative_shading(self, normals: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Shading divided by its weighted mean over the face, the same for every channel: 1 where the
        face is lit as on average. Shared by the channels because per-channel fits differ in their
        noise more than real light differs in colour across a face, which would tint the skin."""
        s = self.grey().shading(normals)
        w = weights.reshape(-1)
        mean = float(w @ s.reshape(-1)) / max(float(w.sum()), 1e-6)
        relative = np.clip(s / max(mean, 1e-6), *SHADING_LIMITS)
        return np.broadcast_to(relative, relative.shape[:-1] + (self.coeffs.shape[1],))

    def grey(self) -> "Lighting":
        """The channels' mean light as one channel (the model is linear in its coefficients)."""
        return Lighting(self.coeffs.mean(axis=1, keepdims=True))


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """(N, 9) real spherical-harmonic basis (constants folded into the coefficients) of unit normals."""
    x, y, z = normals[:, 0], normals[:, 1], normals[:, 2]
    one = np.ones_like(x)
    return np.stack([one, x, y, z, x * y, x * z, y * z, x * x - y * y, 3.0 * z * z - 1.0], axis=1)


def fit_lighting(values: np.ndarray, normals: np.ndarray, weights: np.ndarray, iterations: int = 4) -> Lighting | None:
    """SH lighting with values (N, C) ~ sh_basis(normals) @ coeffs, weights (N,) 0..1; None with too few samples.

    Values are colour in 0..255 (gamma-encoded: a product of albedo and shading stays a product).
    """
    values = values.reshape(len(normals), -1).astype(np.float64)
    usable = (weights > 0.05) & (values.max(axis=1) < SATURATED) & (values.min(axis=1) > BLACK)
    if usable.sum() < MIN_SAMPLES:
        return None
    pick = np.nonzero(usable)[0]
    pick = pick[:: max(1, len(pick) // 6000)]  # a few thousand samples pin down 27 numbers
    basis, target, w0 = sh_basis(normals[pick].astype(np.float64)), values[pick], weights[pick].astype(np.float64)
    level = np.maximum(np.median(target, axis=0), 1.0)
    w = w0.copy()
    coeffs = np.zeros((N_COEFFS, target.shape[1]))
    for _ in range(iterations):
        coeffs = _weighted_ridge(basis, target / level, w) * level
        residual = (target - basis @ coeffs) / np.maximum(basis @ coeffs, 1.0)
        w = w0 * _robust_weight(residual.mean(axis=1))
    return Lighting(coeffs)


def _weighted_ridge(basis: np.ndarray, target: np.ndarray, w: np.ndarray) -> np.ndarray:
    bw = basis * w[:, None]
    gram = bw.T @ basis + np.diag(RIDGE) * w.sum()
    return np.linalg.solve(gram, bw.T @ target)


def _robust_weight(relative: np.ndarray) -> np.ndarray:
    """Reweighting of relative residuals: highlights (bright outliers) fall off faster than shadows of
    stubble and moles, since a highlight is never part of the diffuse light."""
    bright = 1.0 / (1.0 + (np.maximum(relative, 0.0) / 0.06) ** 2)
    dark = 1.0 / (1.0 + (np.minimum(relative, 0.0) / 0.12) ** 2)
    return bright * dark


def blend_lighting(before: Lighting | None, now: Lighting | None, keep: float) -> Lighting | None:
    """Exponential smoothing of a track's lighting, so the fit's noise does not flicker."""
    if before is None or now is None or before.coeffs.shape != now.coeffs.shape:
        return now or before
    return Lighting(keep * before.coeffs + (1.0 - keep) * now.coeffs)
