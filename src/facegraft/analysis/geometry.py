"""Small rigid-geometry helpers shared by the face model fit and the tools that build it."""

from __future__ import annotations

import numpy as np


def similarity_fit(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
                   ) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale s, rotation R and translation t minimising sum w |s R src + t - dst|^2 (Umeyama 1991).

    `src` and `dst` are (N, 3); a proper rotation (det +1) is always returned, so a mirrored
    point set never comes back as a reflection.
    """
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_src = w @ src
    mu_dst = w @ dst
    a = src - mu_src
    b = dst - mu_dst
    cov = (b * w[:, None]).T @ a
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2] = -1.0
    rot = u @ np.diag(d) @ vt
    var_src = float(w @ np.sum(a * a, axis=1))
    scale = float(np.sum(sig * d) / var_src)
    trans = mu_dst - scale * rot @ mu_src
    return scale, rot, trans


def euler_from_matrix(rot: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees for R = Rz(roll) @ Ry(yaw) @ Rx(-pitch).

    The matrix maps the canonical face frame (x to the subject's left, y up, z out of the
    face toward the camera) into the viewer frame (x right, y up, z toward the viewer).
    """
    yaw = np.degrees(np.arcsin(np.clip(-rot[2, 0], -1.0, 1.0)))
    pitch = -np.degrees(np.arctan2(rot[2, 1], rot[2, 2]))
    roll = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))
    return float(pitch), float(yaw), float(roll)


def matrix_from_euler(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Inverse of `euler_from_matrix`."""
    a, b, c = np.radians([-pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def image_to_viewer(points: np.ndarray) -> np.ndarray:
    """Image pixels (x right, y down, z away from camera) to a right-handed y-up viewer frame."""
    return points * np.array([1.0, -1.0, -1.0])


def viewer_to_image(points: np.ndarray) -> np.ndarray:
    return points * np.array([1.0, -1.0, -1.0])
