"""Motion transfer: each driver state becomes the portrait's own shape and pose.

Relative by default: the driver's change from its neutral frame is applied to the portrait's pose
and shape (absolute: the driver's head rotation is applied directly). A driver face that vanishes
is held a moment, then eased back to neutral; eyelids open and close by the driver's ratio.
"""

from __future__ import annotations

import functools

import numpy as np

from facegraft.analysis import Face, load_face_model
from facegraft.analysis.geometry import euler_from_matrix, matrix_from_euler
from facegraft.analysis.regions import LEFT_EYE, RIGHT_EYE
from facegraft.analysis.types import Pose
from facegraft.reenact.driver import DriverState

HOLD_SECONDS = 0.5  # a driver face that vanishes is held this long, then eased back to neutral
EASE_SECONDS = 0.5


class MotionTransfer:
    """Turns each driver state into the portrait's shape and pose, holding and easing over gaps."""

    def __init__(self, portrait_face: Face, neutral: DriverState, absolute: bool):
        self.face = portrait_face
        self.neutral = neutral
        self.absolute = absolute
        self._last: tuple | None = None
        self._missing_since: float | None = None

    def at(self, state: DriverState) -> tuple[np.ndarray, Pose, np.ndarray]:
        if state.offsets is not None:
            self._missing_since = None
            self._last = self._delta(state)
            shape, pose, gaze = self._apply(*self._last, amount=1.0)
            if state.eyes is not None and self.neutral.eyes is not None:
                ratios = state.eyes / np.maximum(self.neutral.eyes, 0.05)
                shape = scale_eyelids(shape, self.face.shape, ratios)
            return shape, pose, gaze
        if self._last is None:
            return self._apply(*self._zero(), amount=0.0)
        if self._missing_since is None:
            self._missing_since = state.time
        gone = state.time - self._missing_since
        amount = 1.0 if gone <= HOLD_SECONDS else float(np.exp(-(gone - HOLD_SECONDS) / EASE_SECONDS))
        return self._apply(*self._last, amount=amount)

    def _zero(self):
        return np.eye(3), np.zeros(2), 1.0, np.zeros((478, 3)), np.zeros(2)

    def _delta(self, s: DriverState):
        n = self.neutral
        rotation = s.rotation @ n.rotation.T
        move = (s.position - n.position) * (self.face.pose.scale / n.scale)
        return rotation, move, s.scale / n.scale, s.offsets - n.offsets, s.gaze - n.gaze

    def _apply(self, rotation, move, zoom, offsets, gaze, amount: float):
        p = self.face.pose
        if amount < 1.0:  # ease toward neutral through the rotation's angles
            rotation = matrix_from_euler(*(amount * np.array(euler_from_matrix(rotation))))
            move, zoom, offsets, gaze = move * amount, 1 + (zoom - 1) * amount, offsets * amount, gaze * amount
        base = self.neutral.rotation if self.absolute else None
        new_rot = (rotation @ base) if base is not None else rotation @ p.rotation
        pitch, yaw, roll = euler_from_matrix(new_rot)
        scale = p.scale * zoom
        pose = Pose(pitch, yaw, roll, p.tx + move[0], p.ty + move[1], p.tz * p.scale / scale, scale)
        return self.face.shape + offsets, pose, gaze


def scale_eyelids(shape: np.ndarray, portrait: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Open or close the portrait's lids by the driver's ratio to its own neutral opening.

    Adding the driver's lid offsets moves lids by the driver's distances, which does not shut
    eyes larger than the driver's; a ratio closes any eye on a blink and widens it on surprise.
    """
    out = shape.copy()
    for ring, weights, ratio in ((RIGHT_EYE, lid_weights(0), ratios[0]), (LEFT_EYE, lid_weights(1), ratios[1])):
        def opening(s: np.ndarray) -> float:
            return float(np.mean(s[ring[1:8], 1]) - np.mean(s[ring[9:16], 1]))
        now, wanted = opening(shape), opening(portrait) * float(np.clip(ratio, 0.0, 1.6))
        if abs(now) < 1e-6:
            continue
        a, b = shape[ring[0]], shape[ring[8]]
        t = np.clip((shape[:, 0] - a[0]) / (b[0] - a[0] + 1e-9), 0.0, 1.0)
        midline = a[1] + t * (b[1] - a[1])
        factor = wanted / now
        out[:, 1] += weights * (shape[:, 1] - midline) * (factor - 1.0)
    return out


@functools.cache
def lid_weights(side: int) -> np.ndarray:
    """How much each vertex follows the lids of one eye (1 on the lid margin, fading over the lid)."""
    template = load_face_model().template
    ring = (RIGHT_EYE, LEFT_EYE)[side]
    d = np.linalg.norm(template[:, None, :] - template[None, ring, :], axis=2).min(axis=1)
    weights = np.exp(-(d / 0.06) ** 2)
    weights[ring] = 1.0
    weights[468:] = 0.0  # the irises are gaze, not lids
    return weights
