"""Glasses: are there frames on this face, and which pixels are their rims, bridge and arms?

No eyewear model ships with the pinned stack, so the test is geometric. Frames are thin lines, far
thinner than brows or lids: a black-hat filter (closing minus image) with a kernel of IOD/8 picks
out exactly such lines. Two things then separate glasses from lids, creases and wrinkles:
- the bridge: a thin line across the nose between the eyes, where bare skin is smooth;
- the rims: around each eye, a closed, thin, continuous contour, found as the best circular path
  through the filter's response in polar coordinates (dynamic programming).
The pixels kept are the strong filter responses near those paths, the bridge and the arms.
Sunglasses are told apart first and more simply: both eyes, and the skin just below them, are far
darker than the cheeks; the lenses are then the dark regions around the eyes.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
from scipy.ndimage import maximum_filter1d

from facegraft.analysis.regions import BROWS, LEFT_EYE, RIGHT_EYE

ANGLES, BINS = 48, 36  # polar sampling around each eye
RADII_IOD = (0.2, 0.75)  # where rims can lie, from the eye's centre
BRIDGE_MIN = 6.0  # grey levels of thin-line response across the nose that bare skin never reaches
BRIDGE_OVER_TEXTURE = 2.0  # ... and how far above the face's own fine texture it must stand
RIM_SHARE = 0.6  # share of angles around the eyes where the rim contour is a thin, distinct line
RIM_STEP = 4  # bins either side that a thin line must stand above
BAND_IOD = 0.035  # half-width of the band around a rim path where its pixels are kept
PRESENT = 0.45  # evidence (0..1) from which a face wears glasses; none of the bare faces tried passes 0.36
PRESENT_AGAIN = 0.3  # a video track that wore glasses last frame keeps them down to this, so they do not blink
DARK_LENS = 0.6  # eyes and under-eyes this much darker than the cheeks are behind dark lenses (bare: >= 0.8)
MIN_IOD = 24.0  # below this the frames are a pixel wide and cannot be told from a lid


@dataclasses.dataclass(frozen=True)
class Glasses:
    """Evidence for glasses on one face, and the frame pixels in a crop when they are there."""

    evidence: float  # 0..1: from PRESENT on, glasses
    mask: np.ndarray | None  # (h, w) float32 0..1 over the crop; None when no glasses


@dataclasses.dataclass(frozen=True)
class _Frame:
    """The face's eye geometry in crop pixels."""

    eyes: tuple[np.ndarray, np.ndarray]  # centres, the subject's right then left
    rings: tuple[np.ndarray, np.ndarray]
    across: np.ndarray  # unit vector from the right eye to the left
    down: np.ndarray  # unit vector toward the mouth
    iod: float


def _eye_frame(points: np.ndarray) -> _Frame:
    right, left = points[RIGHT_EYE], points[LEFT_EYE]
    cr, cl = right.mean(axis=0), left.mean(axis=0)
    iod = float(np.linalg.norm(cl - cr))
    across = (cl - cr) / max(iod, 1e-6)
    down = np.array([-across[1], across[0]])
    return _Frame((cr, cl), (right, left), across, down if down[1] >= 0 else -down, iod)


def thin_lines(grey: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray]:
    """Lines thinner than about IOD/8 in grey levels: dark ones (black-hat) and bright ones (top-hat)."""
    k = max(3, int(round(iod / 8)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    dark = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel).astype(np.float32)
    return dark, cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel).astype(np.float32)


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.remap(image, points[..., 0].astype(np.float32), points[..., 1].astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _bridge(lines: np.ndarray, f: _Frame) -> float:
    """How far the strongest line across the nose, between the eyes, stands above its surroundings."""
    mid = (f.eyes[0] + f.eyes[1]) / 2
    along = np.linspace(-0.08, 0.08, 9) * f.iod
    heights = np.linspace(-0.35, 0.15, 26) * f.iod
    grid = mid + along[None, :, None] * f.across + heights[:, None, None] * f.down
    values = _sample(lines, grid)
    # A line across the nose runs through all three thirds of the strip; a mole or a crease does not.
    profile = np.minimum.reduce([values[:, :3].mean(axis=1), values[:, 3:6].mean(axis=1), values[:, 6:].mean(axis=1)])
    return float(profile.max() - np.median(profile))


def _polar(lines: np.ndarray, f: _Frame, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Response around one eye on an (angle, radius) grid, the eye itself blanked; and the grid."""
    theta = np.linspace(0, 2 * np.pi, ANGLES, endpoint=False)
    rho = np.linspace(*RADII_IOD, BINS) * f.iod
    centre = f.eyes[side]
    directions = np.cos(theta)[:, None, None] * f.across + np.sin(theta)[:, None, None] * f.down
    grid = centre + rho[None, :, None] * directions
    polar = _sample(lines, grid)
    rel = f.rings[side] - centre
    angle = np.arctan2(rel @ f.down, rel @ f.across) % (2 * np.pi)
    order = np.argsort(angle)
    eye_edge = np.interp(theta, angle[order], np.linalg.norm(rel, axis=1)[order], period=2 * np.pi)
    polar[rho[None, :] < eye_edge[:, None] + 0.08 * f.iod] = 0.0  # the lids and lashes are not a rim
    return polar, grid, theta


def best_loop(polar: np.ndarray, step: int = 2) -> np.ndarray:
    """Radius bin per angle of the strongest closed contour moving at most `step` bins per angle."""
    # The loop is closed by running three turns and keeping the middle one.
    turns = np.concatenate([polar, polar, polar]).astype(np.float64)
    scores = np.empty_like(turns)
    scores[0] = turns[0]
    for i in range(1, len(turns)):
        scores[i] = maximum_filter1d(scores[i - 1], 2 * step + 1, mode="constant", cval=-np.inf) + turns[i]
    path = np.empty(len(turns), np.int64)
    path[-1] = int(np.argmax(scores[-1]))
    for i in range(len(turns) - 1, 0, -1):
        lo = max(path[i] - step, 0)
        path[i - 1] = lo + int(np.argmax(scores[i - 1, lo:path[i] + step + 1]))
    return path[len(polar):2 * len(polar)]


def _distinct(polar: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Per angle: how far the path's response stands above the response RIM_STEP bins either side."""
    rows = np.arange(len(polar))
    inside, outside = np.clip(path - RIM_STEP, 0, BINS - 1), np.clip(path + RIM_STEP, 0, BINS - 1)
    return polar[rows, path] - np.maximum(polar[rows, inside], polar[rows, outside])


def find_glasses(grey: np.ndarray, points: np.ndarray, present: float = PRESENT) -> Glasses:
    """Glasses on the face whose mesh `points` (478, 2: crop pixels) lie in the uint8 grey crop.

    `present` is the evidence needed to call them glasses: a video track that has worn them passes
    a lower one, so that frames do not blink off and on."""
    f = _eye_frame(points)
    if f.iod < MIN_IOD:
        return Glasses(0.0, None)
    # Only the band of the eyes is searched: frames lie within an IOD of them.
    eyes = np.concatenate(f.rings)
    x0, y0 = np.maximum(np.floor(eyes.min(axis=0) - f.iod).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(eyes.max(axis=0) + f.iod).astype(int), (grey.shape[1], grey.shape[0]))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return Glasses(0.0, None)
    found = _find(grey[y0:y1, x0:x1], points - (x0, y0), present)
    if found.mask is None:
        return found
    mask = np.zeros(grey.shape[:2], np.float32)
    mask[y0:y1, x0:x1] = found.mask
    return Glasses(found.evidence, mask)


def _find(grey: np.ndarray, points: np.ndarray, present: float) -> Glasses:
    f = _eye_frame(points)
    lenses = _dark_lenses(grey, f)
    if lenses is not None:
        return Glasses(1.0, lenses)
    # Detection looks at dark lines only: bright ones (metal frames, but also lit lid edges and skin
    # sheen) raise bare faces as much as silver frames. The mask takes both.
    lines, bright = thin_lines(grey, f.iod)
    texture = float(np.median(lines[lines > 0])) if (lines > 0).any() else 0.0
    bridge = _bridge(lines, f)
    bridge_ok = min(bridge / BRIDGE_MIN, bridge / max(BRIDGE_OVER_TEXTURE * texture, 1e-6))
    if bridge_ok < 0.5:
        return Glasses(0.25 * bridge_ok, None)
    loops, shares = [], []
    for side in (0, 1):
        polar, grid, _ = _polar(lines, f, side)
        path = best_loop(polar)
        shares.append(float(np.mean(_distinct(polar, path) > 4.0)))
        loops.append(grid[np.arange(ANGLES), path])
    rims_ok = float(np.mean(shares)) / RIM_SHARE
    evidence = float(np.clip(0.5 * min(bridge_ok, rims_ok), 0.0, 1.0))
    if evidence < present:
        return Glasses(evidence, None)
    mask = _frame_mask(np.maximum(lines, bright), loops, f)
    # A rim's top often runs along the brow, whose hairs are thin lines too: the brow stays the swap's.
    return Glasses(evidence, mask * (1.0 - _brows(points, mask.shape)))


def _patch(grey: np.ndarray, centre: np.ndarray, half: tuple[int, int]) -> np.ndarray:
    x, y = np.round(centre).astype(int)
    return grey[max(y - half[1], 0):max(y + half[1], 1), max(x - half[0], 0):max(x + half[0], 1)]


def _dark_lenses(grey: np.ndarray, f: _Frame) -> np.ndarray | None:
    """The two lenses' mask when both eyes sit behind dark lenses, else None."""
    r = max(2, int(round(0.1 * f.iod)))
    levels, cheeks = [], []
    for side, ring in enumerate(f.rings):
        inside = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(inside, [np.round(ring).astype(np.int32)], 1)
        eye, under = grey[inside > 0], _patch(grey, f.eyes[side] + 0.22 * f.iod * f.down, (r, max(r // 2, 1)))
        cheek = _patch(grey, f.eyes[side] + 0.75 * f.iod * f.down, (r, r))
        if eye.size == 0 or under.size == 0 or cheek.size == 0:
            return None
        # The 75th percentile: a bare eye's sclera and lids, and the skin under it, are near skin level.
        levels.append(max(np.percentile(eye, 75), np.percentile(under, 75)))
        cheeks.append(max(float(np.median(cheek)), 1.0))
        if levels[-1] / cheeks[-1] >= DARK_LENS:
            return None
    return _lens_mask(grey, f, levels, cheeks)


def _lens_mask(grey: np.ndarray, f: _Frame, levels: list[float], cheeks: list[float]) -> np.ndarray:
    """Each lens: the dark region connected to the eye, within reach of it, as its convex hull (reflections in)."""
    mask = np.zeros(grey.shape, np.uint8)
    for side in (0, 1):
        near = np.zeros(grey.shape, np.uint8)
        cv2.circle(near, tuple(np.round(f.eyes[side]).astype(int)), int(round(0.6 * f.iod)), 1, -1)
        dark = ((grey < (levels[side] + cheeks[side]) / 2) & (near > 0)).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
        if count < 2:
            continue
        keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        ys, xs = np.nonzero(labels == keep)
        cv2.fillConvexPoly(mask, cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32)), 1)
    grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    return cv2.GaussianBlur(grown.astype(np.float32), (0, 0), 1.0)


def _brows(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    zone = np.zeros(shape, np.uint8)
    for brow in (BROWS[:10], BROWS[10:]):  # each: the upper edge outward-in, then the lower edge inward-out
        cv2.fillPoly(zone, [np.round(points[brow]).astype(np.int32)], 1)
    return cv2.GaussianBlur(zone.astype(np.float32), (0, 0), 1.0)


def _frame_mask(lines: np.ndarray, loops: list[np.ndarray], f: _Frame) -> np.ndarray:
    """Strong thin-line pixels, dark or bright (metal), near the rims, across the bridge and along the arms."""
    zone = np.zeros(lines.shape, np.uint8)
    band = max(2, int(round(2 * BAND_IOD * f.iod)))
    for loop in loops:
        cv2.polylines(zone, [np.round(loop).astype(np.int32)], True, 1, band)
    inner = [loops[0][np.argmax(loops[0] @ f.across)], loops[1][np.argmin(loops[1] @ f.across)]]
    cv2.line(zone, tuple(np.round(inner[0]).astype(int)), tuple(np.round(inner[1]).astype(int)), 1, band)
    for loop, outward in ((loops[0], -f.across), (loops[1], f.across)):
        start = loop[np.argmax(loop @ outward)]
        end = start + outward * 0.6 * f.iod
        cv2.line(zone, tuple(np.round(start).astype(int)), tuple(np.round(end).astype(int)), 1, band)
    strength = lines * zone
    level = float(np.percentile(strength[zone > 0], 90)) if (zone > 0).any() else 0.0
    # Soft: a pixel half as strong as the frame's typical line counts half, so the edge does not flicker.
    mask = np.clip((strength - 0.2 * level) / max(0.3 * level, 1e-6), 0.0, 1.0)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(mask, (0, 0), 0.8)
