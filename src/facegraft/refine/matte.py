"""The person's matte for background effects: selfie segmentation, refined and steadied.

MediaPipe's selfie model sees a 256x256 picture, so a person who fills a fifth of a 720p room gets
a blurry, blobby outline and stray blobs on plants and chairs. So it runs twice when the person is
small: once on the whole frame to find them, then on a crop around them, where their outline gets
the model's whole resolution and the room's clutter mostly falls outside. The outline is then bent
to the frame's own edges with a colour-guided filter (hair, shoulders, fingers) and, in video,
averaged over time where the picture does not move, so it neither flickers nor lags.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facegraft.analysis.segmentation import PersonSegmenter
from facegraft.models import Models

# Longest side at which the matte is found and refined: the model sees 256x256 anyway, and 384 keeps
# the guided filter's hair edges as at 512 (looked at on s18.mp4) at 60% of its cost.
WORK_SIDE = 384
FOUND = 0.5  # the model's score above which a pixel counts when finding the person's box
CROP_BELOW = 0.85  # a person whose padded box covers less of the frame than this is segmented again, cropped
BOX_PAD = 0.2  # share of the box's size added on each side (hair, raised hands)
BOX_KEEP = 1.6  # the previous box is kept while it holds the new one and is at most this much larger (area)
# Guided filter (He et al. 2010): radius in shares of the working size, and how strongly an image
# edge must show to bend the matte (eps, on a 0..1 guide). Smaller eps follows hair more closely but
# also copies background texture (and earrings) into the matte.
GUIDE_RADIUS_SHARE = 1.0 / 96.0
GUIDE_EPS = 4e-3
# The model's soft score is steepened before the guided filter: its wide ramps are blur, not hair,
# and would otherwise come back as a halo half a head wide.
STEEP_LOW, STEEP_HIGH = 0.3, 0.7
# The filtered matte is stretched so the person's inside is 1 and clear background 0: the face
# itself then stays exactly as the swap made it.
SOLID_LOW, SOLID_HIGH = 0.3, 0.9
# Steadiness: each frame moves the matte this share toward the new one where nothing moved (the
# model's small flicker on a still edge is averaged away), and fully where the picture changed by
# MOTION_FULL grey levels or the model's score by CHANGE_FULL (a moving arm, or hair moving against
# a wall of nearly its colour, is followed without lag or a smeared trail).
STILL_FOLLOW = 0.25
MOTION_FULL = 10.0
CHANGE_FULL = 0.4
CUT_MEAN = 28.0  # mean grey change of a 32x18 thumbnail above which a frame starts a new scene

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels


@dataclasses.dataclass
class _Past:
    box: Box
    coarse: np.ndarray  # the steadied coarse matte on the box's working grid
    grey: np.ndarray  # the frame's grey on that grid


class PersonMatte:
    """Frame -> (h, w) float32 matte: 1 on the person, 0 on the background, soft at hair and edges.

    `video`: the matte of each frame is steadied against the frames before it (call once per frame,
    in order); a scene cut starts afresh. One segmenter for the whole run; close it at the end.
    """

    def __init__(self, models: Models | None = None, video: bool = True):
        self._segmenter = PersonSegmenter(models)
        self._video = video
        self._past: _Past | None = None

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        whole = work_size(rgb)
        coarse = self._segmenter.mask(whole)
        box = self._box(coarse, w, h)
        if box == (0, 0, w, h):
            view = whole
        else:
            view = work_size(rgb[box[1]:box[3], box[0]:box[2]])
            coarse = self._segmenter.mask(view)
        if self._video:
            coarse = self._steady(box, view, coarse)
        fine = _refine(view, coarse)
        return _paste(fine, box, w, h)

    def _box(self, coarse: np.ndarray, w: int, h: int) -> Box:
        """Where the person is, padded; the whole frame when they fill most of it (or no one is there)."""
        found = _padded_box(coarse, w, h)
        if found is None or _area(found) > CROP_BELOW * w * h:
            return 0, 0, w, h
        past = self._past.box if self._past is not None else None
        # A box that moves by a pixel each frame would shift the model's view and make it flicker.
        if past is not None and _holds(past, found) and _area(past) <= BOX_KEEP * _area(found):
            return past
        return found

    def _steady(self, box: Box, view: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(view, cv2.COLOR_RGB2GRAY)
        past, self._past = self._past, _Past(box, coarse, grey)
        if past is None:
            return coarse
        size = (grey.shape[1], grey.shape[0])
        before = _regrid(past.grey, past.box, box, size)
        if _is_cut(before, grey):
            return coarse
        # Motion spread a little: the matte's edge may sit a few pixels off the moving image edge.
        spread = max(3, round(max(size) / 64)) | 1
        motion = cv2.dilate(cv2.absdiff(grey, before), np.ones((spread, spread), np.uint8))
        motion = cv2.GaussianBlur(motion.astype(np.float32), (0, 0), spread / 2)
        previous = _regrid(past.coarse, past.box, box, size)
        moved = np.maximum(motion / MOTION_FULL, np.abs(coarse - previous) / CHANGE_FULL)
        follow = STILL_FOLLOW + (1.0 - STILL_FOLLOW) * np.clip(moved, 0.0, 1.0)
        steadied = (previous + follow * (coarse - previous)).astype(np.float32)
        self._past.coarse = steadied
        return steadied

    def close(self) -> None:
        self._segmenter.close()

    def __enter__(self) -> "PersonMatte":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def work_size(rgb: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """`rgb` scaled down (never up) to `side` pixels along its longest side."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(rgb)
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _padded_box(coarse: np.ndarray, w: int, h: int) -> Box | None:
    ys, xs = np.nonzero(coarse > FOUND)
    if len(xs) == 0:
        return None
    sx, sy = w / coarse.shape[1], h / coarse.shape[0]
    x0, x1, y0, y1 = xs.min() * sx, (xs.max() + 1) * sx, ys.min() * sy, (ys.max() + 1) * sy
    pad = BOX_PAD * max(x1 - x0, y1 - y0)
    return (int(max(0, x0 - pad)), int(max(0, y0 - pad)), int(min(w, x1 + pad)), int(min(h, y1 + pad)))


def _area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _holds(outer: Box, inner: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def _regrid(image: np.ndarray, old: Box, new: Box, size: tuple[int, int]) -> np.ndarray:
    """`image`, laid on `old`'s working grid, resampled onto `new`'s (size: width, height)."""
    if old == new and image.shape[1::-1] == size:
        return image
    # Each axis: new grid -> frame pixels -> old grid, as one scale and shift.
    ax = (new[2] - new[0]) / size[0] * image.shape[1] / (old[2] - old[0])
    ay = (new[3] - new[1]) / size[1] * image.shape[0] / (old[3] - old[1])
    bx = (new[0] - old[0]) * image.shape[1] / (old[2] - old[0])
    by = (new[1] - old[1]) * image.shape[0] / (old[3] - old[1])
    matrix = np.float32([[ax, 0, bx], [0, ay, by]])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _refine(view: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """The model's coarse matte bent to the frame's edges (hair strands, the gap under an arm)."""
    radius = max(2, round(max(view.shape[:2]) * GUIDE_RADIUS_SHARE))
    steep = np.clip((coarse - STEEP_LOW) / (STEEP_HIGH - STEEP_LOW), 0.0, 1.0).astype(np.float32)
    fine = cv2.ximgproc.guidedFilter(view.astype(np.float32) / 255.0, steep, radius, GUIDE_EPS)
    return np.clip((fine - SOLID_LOW) / (SOLID_HIGH - SOLID_LOW), 0.0, 1.0).astype(np.float32)


def _paste(fine: np.ndarray, box: Box, w: int, h: int) -> np.ndarray:
    bw, bh = box[2] - box[0], box[3] - box[1]
    inside = cv2.resize(fine, (bw, bh), interpolation=cv2.INTER_LINEAR) if fine.shape != (bh, bw) else fine
    if (bw, bh) == (w, h):
        return inside
    matte = np.zeros((h, w), np.float32)
    matte[box[1]:box[3], box[0]:box[2]] = inside
    return matte


def _is_cut(before: np.ndarray, now: np.ndarray) -> bool:
    a = cv2.resize(before, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(now, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.abs(a - b).mean()) > CUT_MEAN
