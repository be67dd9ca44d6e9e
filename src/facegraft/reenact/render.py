"""The per-frame portrait renderer: the portrait moved to each driver state.

The face is re-rendered from the portrait's own skin on the new geometry; hair, ears and neck
follow the head; the background stays; eyes follow the driver's gaze; an opened mouth gets the
driver's mouth interior, brought to the portrait's brightness.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from facegraft.analysis import Face, analyze_image, load_face_model, project
from facegraft.analysis.regions import INNER_LIPS, LEFT_EYE, RIGHT_EYE
from facegraft.errors import FacegraftError
from facegraft.generate.base import GeneratedFace
from facegraft.generate.mesh import MeshRenderer
from facegraft.generate.profile import build_profile
from facegraft.generate.warp import Portrait, head_maps, prepare_portrait, warp_portrait
from facegraft.io import read_image
from facegraft.reenact.driver import DriverState
from facegraft.reenact.retarget import MotionTransfer
from facegraft.refine.blend import multiband_blend
from facegraft.refine.composite import FACE_WIDTH_IOD, face_alpha, grow_window, place_generated


def load_portrait(source: Path) -> tuple[np.ndarray, Face]:
    rgb = read_image(source)
    faces = analyze_image(rgb)
    if not faces:
        raise FacegraftError(f"{source}: no face mesh could be fitted to the portrait")
    return rgb, faces[0]


class PortraitRenderer:
    def __init__(self, rgb: np.ndarray, face: Face, name: str, neutral: DriverState, absolute: bool):
        self.rgb = rgb
        self.face = face
        self.portrait: Portrait = prepare_portrait(rgb, face.landmarks)
        # The portrait keeps its own shape (shape transfer 0), rendered finer than a swap, and stays in
        # its own scene, so its texture keeps its own light.
        self.generator = MeshRenderer(shape_transfer=0.0, max_side=320, delight=False)
        self.profile = build_profile([(rgb, name)], generator=self.generator)
        self.motion = MotionTransfer(face, neutral, absolute)
        self.neutral = neutral
        self.rigid = load_face_model().rigid
        self.lip_area = _ring_area(face.landmarks[INNER_LIPS, :2])
        self.skin_l = _mean_lightness(rgb, face)

    def frame(self, state: DriverState, driver_rgb: np.ndarray | None) -> np.ndarray:
        shape, pose, gaze = self.motion.at(state)
        moved = dataclasses.replace(self.face, shape=shape, pose=pose)
        points = project(shape, pose)
        motion, _ = cv2.estimateAffinePartial2D(self.face.landmarks[self.rigid, :2], points[self.rigid, :2])
        if motion is None:
            motion = np.float64([[1, 0, 0], [0, 1, 0]])
        map_x, map_y, uncovered = head_maps(self.portrait, motion)
        _follow_eyes(map_x, map_y, self.face.landmarks, points)
        _shift_irises(map_x, map_y, points, gaze)
        base = warp_portrait(self.portrait, map_x, map_y, uncovered)
        rendered = self.generator.generate(self.profile, moved, base.shape[:2])
        if rendered is None:
            return base
        out = _paste_face(base, rendered, pose.scale)
        _fill_mouth(out, points, state, driver_rgb, self.lip_area, self.skin_l)
        return out


def _ring_area(ring: np.ndarray) -> float:
    return float(abs(cv2.contourArea(ring.astype(np.float32))))


def _mean_lightness(rgb: np.ndarray, face: Face) -> float:
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(face.landmarks[[50, 280, 101, 330, 118, 347], :2]).astype(np.int32)), 1)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return float(lab[..., 0][mask > 0].mean()) if mask.any() else 128.0


def _follow_eyes(map_x: np.ndarray, map_y: np.ndarray, before: np.ndarray, after: np.ndarray) -> None:
    """Stretch each eye's content with its lids, so eyes opened wide look wide open (closing is
    covered by the lids themselves)."""
    h, w = map_x.shape
    for ring in (RIGHT_EYE, LEFT_EYE):
        matrix, _ = cv2.estimateAffine2D(after[ring, :2].astype(np.float32), before[ring, :2].astype(np.float32))
        if matrix is None:
            continue
        eye = after[ring, :2]
        width = float(np.linalg.norm(eye[0] - eye[8]))
        x0, y0 = np.floor(eye.min(axis=0) - width * 0.5).astype(int)
        x1, y1 = np.ceil(eye.max(axis=0) + width * 0.5).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillPoly(mask, [np.round(eye - (x0, y0)).astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(cv2.dilate(mask, np.ones((3, 3), np.uint8)), (0, 0), max(0.8, width * 0.08))
        xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        src_x = matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2]
        src_y = matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2]
        map_x[y0:y1, x0:x1] += mask * (src_x - map_x[y0:y1, x0:x1])
        map_y[y0:y1, x0:x1] += mask * (src_y - map_y[y0:y1, x0:x1])


def _shift_irises(map_x: np.ndarray, map_y: np.ndarray, points: np.ndarray, gaze: np.ndarray) -> None:
    """Move the eye content inside each opening by the driver's change of gaze."""
    if not np.any(gaze):
        return
    for ring in (RIGHT_EYE, LEFT_EYE):
        eye = points[ring, :2]
        width = float(np.linalg.norm(eye[0] - eye[8]))
        mask = np.zeros(map_x.shape, np.float32)
        cv2.fillPoly(mask, [np.round(eye).astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, width * 0.05))
        # x toward the subject's left is the image's right in a frontal view; y up is image up.
        map_x -= mask * float(gaze[0]) * width
        map_y += mask * float(gaze[1]) * width


def _paste_face(base: np.ndarray, rendered: GeneratedFace, scale: float) -> np.ndarray:
    face_px = FACE_WIDTH_IOD * scale
    x0, y0, x1, y1 = grow_window(rendered.window, face_px * 0.2, base.shape[:2])
    region = base[y0:y1, x0:x1]
    placed = place_generated(rendered, (x0, y0, x1, y1), region)
    out = base.copy()
    alpha = face_alpha(rendered, (x0, y0), placed.covered, placed.weight, face_px)
    out[y0:y1, x0:x1] = multiband_blend(region, placed.canvas, alpha)
    return out


def _fill_mouth(out: np.ndarray, points: np.ndarray, state: DriverState, driver_rgb: np.ndarray | None,
                portrait_area: float, skin_l: float) -> None:
    """Give an opened mouth an inside: the driver's own (teeth, tongue), or a dark cavity."""
    ring = points[INNER_LIPS, :2].astype(np.float32)
    area = _ring_area(ring)
    if area <= portrait_area * 1.3 + 4.0:
        return  # not opened wider than the portrait's own mouth: the portrait's pixels are right
    mask = np.zeros(out.shape[:2], np.float32)
    cv2.fillPoly(mask, [np.round(ring).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.8)[..., None]
    inside = _driver_mouth(out.shape, ring, state, driver_rgb, skin_l)
    out[:] = (out * (1.0 - mask) + inside * mask + 0.5).astype(np.uint8)


def _driver_mouth(shape, ring, state: DriverState, driver_rgb, skin_l: float) -> np.ndarray:
    if driver_rgb is not None and state.lips is not None:
        matrix, _ = cv2.estimateAffine2D(state.lips, ring)
        if matrix is not None:
            inside = cv2.warpAffine(driver_rgb, matrix, (shape[1], shape[0]), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
            # Bring the driver's mouth to the portrait's brightness (teeth stay teeth-coloured).
            driver_l = cv2.cvtColor(driver_rgb, cv2.COLOR_RGB2Lab)[..., 0].mean()
            return np.clip(inside * (skin_l / max(driver_l, 1.0)) ** 0.5, 0, 255)
    cavity = np.zeros(shape, np.float32)
    cavity[..., :] = (60, 22, 24)  # a dark, warm mouth cavity
    return cavity
