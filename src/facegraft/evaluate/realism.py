"""Realism: does the new face sit in the target's light, with its creases and its level of detail?

All three are measured inside the target's face (from its own mesh, so they need no face found in
the output), with the eyes and the inner mouth left out, on grey levels at the output's size.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import cv2
import numpy as np

from facegraft.analysis import Face
from facegraft.analysis.regions import BROWS, FACE_OVAL, INNER_LIPS, LEFT_EYE, OUTER_LIPS, RIGHT_EYE
from facegraft.evaluate.statistics import column, pearson, ratio, stats

SHADING_BAND_IOD = (1 / 16, 1 / 2)  # Gaussian sigmas (IOD) bounding the shading band
FOREHEAD_LIFT = 0.3  # IOD above the brows where the forehead patch they are compared with lies
MIN_BROW_CONTRAST = 0.02  # below this the target shows no brows to compare with

DEFINITION = (
    "Measured inside the target's face outline, eyes and inner mouth left out, on grey levels. "
    "Shading agreement = correlation between output and target of the mid-frequency lightness (a band-pass "
    "between Gaussian blurs of IOD/16 and IOD/2): the face's light and shadow sides, its creases and folds. "
    "1.0: identical light and creases; a pasted face, lit as in the source photo, scores low. Good: 0.8 or more. "
    "Detail ratio = RMS of the fine detail (finer than IOD/16: pores, grain, noise, blur) of output over target, "
    "on the skin (brows and lips left out: their shape and darkness are the source's by design). "
    "Good: 0.85-1.2; below, the face looks smooth or plastic; above, sharper than the footage around it. "
    "Brow contrast = how much darker the brows are than the forehead just above them, (forehead - brow) / "
    "forehead; brow_contrast_ratio = output / target, on frames where the target shows brows. Near 1: brows "
    "as distinct as the target's; far below 1: washed out, a browless face."
)


@dataclasses.dataclass(frozen=True)
class RealismFrame:
    frame: int
    shading_agreement: float | None
    detail_ratio: float | None
    brow_contrast_output: float | None
    brow_contrast_target: float | None


def realism_frame(index: int, t_grey: np.ndarray, o_grey: np.ndarray, face: Face) -> RealismFrame:
    iod = float(face.pose.scale)
    x0, y0, x1, y1 = _crop_box(face, t_grey.shape, iod)
    if x1 - x0 < 16 or y1 - y0 < 16 or iod < 8:
        return RealismFrame(index, None, None, None, None)
    t, o = t_grey[y0:y1, x0:x1].astype(np.float32), o_grey[y0:y1, x0:x1].astype(np.float32)
    points = face.landmarks[:, :2] - (x0, y0)
    inside = measured_area(points, t.shape, iod)
    if inside.sum() < 100:
        return RealismFrame(index, None, None, None, None)
    fine, coarse = (iod * s for s in SHADING_BAND_IOD)
    band_t, band_o = _band(t, fine, coarse), _band(o, fine, coarse)
    agreement = pearson(band_t[inside], band_o[inside])
    brows, forehead = brow_areas(points, t.shape, iod)
    skin = inside & ~features(points, t.shape, iod, brows)
    detail_t, detail_o = t - _blur(t, fine), o - _blur(o, fine)
    detail = ratio(float(np.sqrt(np.mean(detail_o[skin] ** 2))), float(np.sqrt(np.mean(detail_t[skin] ** 2)))) \
        if skin.sum() >= 100 else None
    return RealismFrame(index, agreement, detail, _contrast(o, brows, forehead), _contrast(t, brows, forehead))


def _crop_box(face: Face, shape: tuple[int, ...], iod: float) -> tuple[int, int, int, int]:
    pts = face.landmarks[:, :2]
    pad = iod * 1.2  # room for the widest blur
    x0, y0 = np.floor(pts.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + pad).astype(int)
    return max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1)


def _poly(mask: np.ndarray, points: np.ndarray, value: int) -> None:
    cv2.fillPoly(mask, [np.round(points * 4).astype(np.int32)], value, lineType=cv2.LINE_8, shift=2)


def measured_area(points: np.ndarray, shape: tuple[int, ...], iod: float) -> np.ndarray:
    """The face outline, pulled in a little from the background, without the eyes and inner mouth."""
    face = np.zeros(shape[:2], np.uint8)
    _poly(face, points[FACE_OVAL], 1)
    face = cv2.erode(face, np.ones((3, 3), np.uint8), iterations=max(1, round(iod * 0.05)))
    holes = np.zeros(shape[:2], np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE, INNER_LIPS):
        _poly(holes, points[ring], 1)
    holes = cv2.dilate(holes, np.ones((3, 3), np.uint8), iterations=max(1, round(iod * 0.08)))
    return (face > 0) & (holes == 0)


def features(points: np.ndarray, shape: tuple[int, ...], iod: float, brows: np.ndarray) -> np.ndarray:
    """The brows and lips with a small margin: the source's own, by design, so not grain or blur."""
    mask = brows.astype(np.uint8)
    _poly(mask, points[OUTER_LIPS], 1)
    return cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=max(1, round(iod * 0.05))) > 0


def brow_areas(points: np.ndarray, shape: tuple[int, ...], iod: float) -> tuple[np.ndarray, np.ndarray]:
    """The two brows, and forehead patches of the same shape just above them (along the face's up)."""
    eyes = (points[RIGHT_EYE].mean(axis=0) + points[LEFT_EYE].mean(axis=0)) / 2
    up = eyes - points[INNER_LIPS].mean(axis=0)
    up /= max(float(np.linalg.norm(up)), 1e-6)
    brows, forehead = np.zeros(shape[:2], np.uint8), np.zeros(shape[:2], np.uint8)
    for side in (BROWS[:10], BROWS[10:]):
        ring = points[side]
        hull = cv2.convexHull(ring.astype(np.float32))[:, 0]
        _poly(brows, hull, 1)
        _poly(forehead, hull + up * FOREHEAD_LIFT * iod, 1)
    return brows > 0, (forehead > 0) & (brows == 0)


def _contrast(grey: np.ndarray, brows: np.ndarray, forehead: np.ndarray) -> float | None:
    if brows.sum() < 10 or forehead.sum() < 10:
        return None
    skin = float(np.median(grey[forehead]))
    return (skin - float(np.median(grey[brows]))) / max(skin, 1.0)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), max(sigma, 0.5), borderType=cv2.BORDER_REFLECT)


def _band(image: np.ndarray, fine: float, coarse: float) -> np.ndarray:
    return _blur(image, fine) - _blur(image, coarse)


def realism_aggregate(rows: Sequence[RealismFrame]) -> dict[str, Any]:
    with_brows = [r for r in rows if r.brow_contrast_target is not None and r.brow_contrast_output is not None
                  and r.brow_contrast_target >= MIN_BROW_CONTRAST]
    return {
        "frames": len(rows),
        "shading_agreement": stats(column(rows, "shading_agreement")),
        "detail_ratio": stats(column(rows, "detail_ratio")),
        "brow_contrast_output": stats(column(rows, "brow_contrast_output")),
        "brow_contrast_target": stats(column(rows, "brow_contrast_target")),
        "brow_contrast_ratio": stats([r.brow_contrast_output / r.brow_contrast_target for r in with_brows]),
    }
