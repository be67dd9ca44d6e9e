"""Which target and output frames and faces are compared, and the geometry measured around them.

Target and output are read in lockstep, one frame of each in memory at a time. In every frame the
target's largest face (the one `swap --faces one` replaces) is paired with the output face whose
box overlaps it most.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from facegraft.analysis import AnalyzedFrame, Face, analyze
from facegraft.analysis.landmarker import box_iou
from facegraft.analysis.regions import FACE_OVAL
from facegraft.config import AnalysisConfig
from facegraft.errors import FacegraftError
from facegraft.io import MediaKind, VideoReader, probe, read_image

# ---------------------------------------------------------------- inputs


def check_pair(target: Path, output: Path) -> int:
    """Frame count of the pair; fails when the output cannot be the swap of this target."""
    if not Path(output).exists():
        raise FacegraftError(f"{output}: no such file (make the swap first, or pass --run)")
    kind, out_kind = probe(target), probe(output)
    if kind is not out_kind:
        raise FacegraftError(f"{output} is {'an image' if out_kind is MediaKind.IMAGE else 'a video'} "
                             f"but the target {target} is not; compare like with like")
    if kind is MediaKind.IMAGE:
        check_size(read_image(output).shape, read_image(target).shape, output)
        return 1
    with VideoReader(target) as t, VideoReader(output) as o:
        check_size((o.info.height, o.info.width), (t.info.height, t.info.width), output)
        if _clearly_differ(t.info.frame_count, o.info.frame_count):
            raise FacegraftError(f"{output} has {o.info.frame_count} frames but the target {target} has "
                                 f"{t.info.frame_count}; the output must be the swap of this target")
        return t.info.frame_count


def _clearly_differ(a: int, b: int) -> bool:
    # Header counts are estimates (no_face.mp4 promises 98 frames and decodes 95, and so does its
    # swap); a smaller difference is caught exactly, frame by frame, in lockstep().
    return abs(a - b) > max(3, 0.02 * max(a, b))


def check_size(out_shape: tuple[int, ...], target_shape: tuple[int, ...], output: Path) -> None:
    # The video writer pads odd sizes by one pixel; anything else is a different video.
    (h, w), (th, tw) = out_shape[:2], target_shape[:2]
    if h not in (th, th + th % 2) or w not in (tw, tw + tw % 2):
        raise FacegraftError(f"{output} is {w}x{h} but the target is {tw}x{th}; "
                             "the output must be the swap of this target")


# ---------------------------------------------------------------- frames


def lockstep(target: Path, output: Path, config: AnalysisConfig) -> Iterator[tuple[AnalyzedFrame, AnalyzedFrame]]:
    """Both files' analysed frames in pairs; the decoded frames, not the headers, must agree in number."""
    done = object()
    pairs = itertools.zip_longest(analyze(target, config), analyze(output, config), fillvalue=done)
    for count, (t, o) in enumerate(pairs):
        if t is done or o is done:
            short, other = (output, target) if o is done else (target, output)
            raise FacegraftError(f"{short} has {count} frames but {other} has more; "
                                 "the output must be the swap of this target")
        yield t, o


def sampled_frames(frame_count: int, most: int) -> frozenset[int]:
    """At most `most` frame indices, evenly spread: the frames given identity descriptors."""
    count = max(frame_count, 1)
    return frozenset(np.linspace(0, count - 1, min(most, count)).round().astype(int).tolist())


def grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


# ---------------------------------------------------------------- faces


def largest_face(faces: Sequence[Face]) -> Face | None:
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def paired_face(face: Face, candidates: Sequence[Face], min_iou: float) -> Face | None:
    scored = [(box_iou(face.box, c.box), c) for c in candidates]
    best = max(scored, key=lambda item: item[0], default=(0.0, None))
    return best[1] if best[0] >= min_iou else None


@dataclasses.dataclass(frozen=True)
class FaceRegion:
    """Where to measure around one target face: a crop and the signed distance to its oval."""

    crop: tuple[slice, slice]
    size: float  # face size in pixels: sqrt of the landmark box area
    signed: np.ndarray  # distance in px to the face oval over the crop, negative inside

    def ring(self, width: float) -> np.ndarray:
        """Pixels within width/2 of the oval, both sides; at least the one pixel on each side."""
        half = max(width * self.size / 2, 1.0)
        return np.abs(self.signed) <= half

    def inside(self, inset: float = 0.0) -> np.ndarray:
        return self.signed < -inset * self.size


def face_region(face: Face, shape: tuple[int, ...], margin: float = 0.3) -> FaceRegion:
    x0, y0, x1, y1 = face.box
    size = math.sqrt(max((x1 - x0) * (y1 - y0), 1.0))
    pad = margin * size
    h, w = shape[:2]
    cx0, cy0 = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    cx1, cy1 = min(w, int(math.ceil(x1 + pad))), min(h, int(math.ceil(y1 + pad)))
    inside = np.zeros((max(cy1 - cy0, 1), max(cx1 - cx0, 1)), np.uint8)
    oval = (face.landmarks[FACE_OVAL, :2] - (cx0, cy0)) * 4  # quarter-pixel precision (shift=2)
    cv2.fillPoly(inside, [np.round(oval).astype(np.int32)], 1, shift=2)
    # distanceTransform measures to the nearest zero pixel: run it on the mask and its complement.
    d_in = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    return FaceRegion((slice(cy0, cy1), slice(cx0, cx1)), size, d_out - d_in)


def inter_ocular(landmarks68: np.ndarray) -> float:
    right, left = landmarks68[36:42].mean(axis=0), landmarks68[42:48].mean(axis=0)
    return max(float(np.linalg.norm(left - right)), 1e-6)
