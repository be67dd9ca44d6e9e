"""The report's frame strips: target and output face side by side at the best, median and worst frame
(identity, motion) and at the worst and median shading agreement (realism).

The evaluation keeps no frames in memory, so the few shown are read again from the files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np

from facegraft.evaluate.identity import IdentityFrame
from facegraft.evaluate.motion import MotionFrame
from facegraft.evaluate.realism import RealismFrame
from facegraft.io import MediaKind, VideoReader, probe, read_image

# Pixels per side of a face crop, at the least: below this, creases, pores and brows cannot be judged.
MIN_CROP = 256


@dataclasses.dataclass(frozen=True)
class Strip:
    metric: str  # "identity", "motion" or "realism"
    rank: str  # "best", "median" or "worst"
    frame: int
    value: float
    image: np.ndarray  # target crop | output crop, RGB uint8


def strip_choices(identity: Sequence[IdentityFrame], motion: Sequence[MotionFrame],
                  realism: Sequence[RealismFrame] = ()) -> list[tuple[str, str, int, float]]:
    """(metric, rank, frame, value) of the best, median and worst frame for identity and motion, and of the
    worst and median shading agreement (lowest first) for realism."""
    ranked = {
        "identity": sorted((r.distance_to_source, r.frame) for r in identity if r.distance_to_source is not None),
        "motion": sorted((r.contour_nme, r.frame) for r in motion),
    }
    out = []
    for metric, rows in ranked.items():
        if rows:
            for rank, (value, frame) in zip(("best", "median", "worst"), (rows[0], rows[len(rows) // 2], rows[-1])):
                out.append((metric, rank, frame, float(value)))
    shading = sorted((r.shading_agreement, r.frame) for r in realism if r.shading_agreement is not None)
    if shading:
        for rank, (value, frame) in zip(("worst", "median"), (shading[0], shading[len(shading) // 2])):
            out.append(("realism", rank, frame, float(value)))
    return out


def read_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """A second pass over the file for just the frames the report shows."""
    if probe(path) is MediaKind.IMAGE:
        return {0: read_image(path)} if 0 in wanted else {}
    found: dict[int, np.ndarray] = {}
    with VideoReader(path) as reader:
        for frame in reader:
            if frame.index in wanted:
                found[frame.index] = frame.rgb
            if len(found) == len(wanted):
                break
    return found


def face_crop(rgb: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """A square around the face with some context, scaled to `size`."""
    x0, y0, x1, y1 = box
    half = 0.8 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = rgb.shape[:2]
    l, t = int(max(0, cx - half)), int(max(0, cy - half))
    r, b = int(min(w, cx + half)), int(min(h, cy + half))
    crop = rgb[t:b, l:r]
    scale = size / max(crop.shape[:2])
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                      interpolation=interp)
    canvas = np.full((size, size, 3), 255, np.uint8)
    canvas[: crop.shape[0], : crop.shape[1]] = crop
    return canvas


def make_strips(identity: Sequence[IdentityFrame], motion: Sequence[MotionFrame], boxes: Mapping[int, np.ndarray],
                target: Path, output: Path, size: int, realism: Sequence[RealismFrame] = ()) -> tuple[Strip, ...]:
    """Strips of the chosen frames, each cropped at the target face's box of that frame (`boxes`), with crops
    of `size` pixels but never under MIN_CROP."""
    size = max(size, MIN_CROP)
    choices = strip_choices(identity, motion, realism)
    wanted = {frame for _, _, frame, _ in choices}
    t_frames, o_frames = read_frames(target, wanted), read_frames(output, wanted)
    gap = np.full((size, 4, 3), 255, np.uint8)
    strips = []
    for metric, rank, frame, value in choices:
        if frame in t_frames and frame in o_frames and frame in boxes:
            t_rgb, box = t_frames[frame], boxes[frame]
            o_rgb = o_frames[frame][: t_rgb.shape[0], : t_rgb.shape[1]]
            image = np.concatenate([face_crop(t_rgb, box, size), gap, face_crop(o_rgb, box, size)], axis=1)
            strips.append(Strip(metric, rank, frame, value, image))
    return tuple(strips)
