"""Mouth shapes (jaw, width, pucker, press) as expression offsets of one portrait's face.

The offsets are combinations of the face model's expression basis (learnt from real faces
talking), so the chin, cheeks and lips move together as a real mouth does, rather than a few
points being pushed. The combination is the smallest one that gives the wanted inner-lip gap,
mouth width, protrusion and lip thickness on this portrait's own shape while the eyes and brows
stay where they are. Every measure is linear in the shape, so that is one least-squares
solution, worked out once per portrait. Seventeen directions cannot close every mouth exactly
(a portrait photographed with its mouth wide open, say), so the inner lower lip is then put where
the wanted gap says, pair by pair along the mouth, and the skin below it follows smoothly: closed
lips meet all along, not only on average.
"""

from __future__ import annotations

import numpy as np

from facegraft.analysis import load_face_model

N_MESH = 468
LIP_PAIRS = ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402))  # inner upper / lower lip points
CORNERS = (61, 291)
LIP_CENTRES = (0, 17, 13, 14)
OUTER = (0, 17)  # outer upper and lower lip centres
EYE_PAIRS = ((159, 145), (160, 144), (158, 153), (386, 374), (387, 373), (385, 380))
BROW_POINTS = (105, 66, 334, 296)
EYE_CORNERS = (33, 133, 263, 362)
PRESS_THINNING = 0.3  # pressed lips roll in: their visible height shrinks by up to this share
# Upper and lower inner-lip points facing each other, from one corner to the other.
RING_PAIRS = ((191, 95), (80, 88), (81, 178), (82, 87), (13, 14), (312, 317), (311, 402), (310, 318), (415, 324))
FOLLOW_SIGMA = 0.08  # IOD: how far around the lower lip the skin follows its correction
KEEP_WEIGHT = 30.0  # how hard the eyes and brows are held still against the mouth's wishes
RIDGE = 1e-3  # keeps the combination small, in units of each direction's typical size


def _row(terms: list[tuple[int, int, float]]) -> np.ndarray:
    """A linear measure of a (468, 3) shape, as weights on its flattened coordinates."""
    row = np.zeros(N_MESH * 3)
    for vertex, axis, weight in terms:
        row[vertex * 3 + axis] += weight
    return row


def _mouth_rows(shape: np.ndarray) -> np.ndarray:
    k = 1.0 / len(LIP_PAIRS)
    gap = _row([t for u, d in LIP_PAIRS for t in ((u, 1, k), (d, 1, -k))])
    side = float(np.sign(shape[CORNERS[1], 0] - shape[CORNERS[0], 0])) or 1.0
    width = _row([(CORNERS[1], 0, side), (CORNERS[0], 0, -side)])
    protrusion = _row([(v, 2, 1 / len(LIP_CENTRES)) for v in LIP_CENTRES] + [(v, 2, -0.5) for v in CORNERS])
    # Visible lip height: outer minus inner edge, upper and lower lip together.
    thickness = _row([(OUTER[0], 1, 1.0), (13, 1, -1.0), (14, 1, 1.0), (OUTER[1], 1, -1.0)])
    return np.stack([gap, width, protrusion, thickness])


def _keep_rows() -> np.ndarray:
    rows = [_row([(u, 1, 1.0), (d, 1, -1.0)]) for u, d in EYE_PAIRS]
    corner_y = [(c, 1, -0.25) for c in EYE_CORNERS]
    rows += [_row([(b, 1, 1.0)] + corner_y) for b in BROW_POINTS]
    return np.stack(rows)


class MouthRig:
    """Turns a mouth shape into (478, 3) expression offsets for one portrait."""

    def __init__(self, portrait_shape: np.ndarray):
        model = load_face_model()
        shape = np.asarray(portrait_shape, np.float64)[:N_MESH]
        basis = model.basis.reshape(len(model.basis), -1)  # (K, 1404), orthonormal rows
        mouth, keep = _mouth_rows(shape), _keep_rows()
        flat = shape.reshape(-1)
        self.gap, self.width, self.protrusion, self.thickness = (float(v) for v in mouth @ flat)
        jacobian = np.vstack([mouth, KEEP_WEIGHT * keep]) @ basis.T  # measures per unit of each direction
        ridge = RIDGE * np.diag(1.0 / np.maximum(model.basis_scale, 1e-6) ** 2)
        pick = np.vstack([np.eye(len(mouth)), np.zeros((len(keep), len(mouth)))])  # only the mouth has wishes
        solve = np.linalg.solve(jacobian.T @ jacobian + ridge, jacobian.T @ pick)  # (K, 4)
        self._offsets_per_change = (basis.T @ solve).reshape(N_MESH, 3, len(mouth))
        self._shape = shape
        self._profile, self._follow = _ring_profile(shape), _follow_weights(shape)

    def offsets(self, jaw: float, width: float, pucker: float, press: float) -> np.ndarray:
        """Offsets giving an inner-lip gap of `jaw` IOD (0: closed), the mouth `width` wider (a share),
        lips `pucker` IOD further forward and pressed by `press` (0..1), from the portrait's own shape."""
        change = np.array([jaw - self.gap, width * abs(self.width), pucker,
                           -PRESS_THINNING * press * max(self.thickness, 0.0)])
        offsets = self._offsets_per_change @ change
        offsets[:, 1] += self._follow @ self._ring_error(offsets, jaw)
        out = np.zeros((478, 3), np.float32)
        out[:N_MESH] = offsets
        return out

    def _ring_error(self, offsets: np.ndarray, jaw: float) -> np.ndarray:
        """How far each inner lower-lip point must still rise (> 0) for the wanted gap there."""
        moved = self._shape[:, 1] + offsets[:, 1]
        gaps = np.array([moved[u] - moved[d] for u, d in RING_PAIRS])
        return gaps - max(jaw, 0.0) * self._profile


def _ring_profile(shape: np.ndarray) -> np.ndarray:
    """The gap along the mouth for a mean gap of 1: widest in the middle, none at the corners."""
    left, right = shape[CORNERS[1], 0], shape[CORNERS[0], 0]
    middle, half = (left + right) / 2, max(abs(left - right) / 2, 1e-3)
    x = np.array([(shape[u, 0] + shape[d, 0]) / 2 for u, d in RING_PAIRS])
    profile = np.sqrt(np.clip(1 - ((x - middle) / half) ** 2, 0.0, 1.0))
    named = [i for i, pair in enumerate(RING_PAIRS) if pair in LIP_PAIRS]
    return profile / max(float(profile[named].mean()), 1e-3)


def _follow_weights(shape: np.ndarray) -> np.ndarray:
    """(468, pairs): how much each vertex takes of each lower-lip point's correction. The lower lip
    points take all of their own; the skin below the mouth's corners blends its nearest ones."""
    lower = np.array([d for _, d in RING_PAIRS])
    d2 = np.sum((shape[:, None, :] - shape[None, lower, :]) ** 2, axis=2)
    near = np.exp(-d2 / (2 * FOLLOW_SIGMA ** 2))
    weights = near / np.maximum(near.sum(axis=1, keepdims=True), 1e-12) * near.max(axis=1, keepdims=True)
    mouth_line = shape[list(CORNERS), 1].mean()
    upper = np.array([u for u, _ in RING_PAIRS])
    below = (shape[:, 1] < mouth_line + 0.01).astype(float)
    weights *= below[:, None]
    weights[upper] = 0.0  # the upper lip is the fixed side of every gap
    weights[lower] = np.eye(len(lower))
    return weights
