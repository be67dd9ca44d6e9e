"""One Euro filter (Casiez, Roussel, Vogel, CHI 2012), vectorised over any array shape."""

from __future__ import annotations

import math

import numpy as np


def _alpha(dt: float, cutoff: np.ndarray | float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Adaptive low-pass: smooth when slow (little jitter), responsive when fast (little lag).

    Each element of the array gets its own cutoff from its own speed. `speed_unit` divides
    the speed before `beta` applies, so the same beta works at any image resolution.
    """

    def __init__(self, min_cutoff: float, beta: float, derivative_cutoff: float = 1.0):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.derivative_cutoff = derivative_cutoff
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    def reset(self) -> None:
        self._value = None

    def __call__(self, value: np.ndarray, time: float, speed_unit: float = 1.0) -> np.ndarray:
        value = np.asarray(value, np.float64)
        if self._value is None or value.shape != self._value.shape:
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), time
            return value.copy()
        dt = time - self._time
        if dt <= 0:
            return self._value.copy()
        speed = (value - self._value) / dt
        a_d = _alpha(dt, self.derivative_cutoff)
        self._speed = a_d * speed + (1.0 - a_d) * self._speed
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed) / speed_unit
        a = _alpha(dt, cutoff)
        self._value = a * value + (1.0 - a) * self._value
        self._time = time
        return self._value.copy()
