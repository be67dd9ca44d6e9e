"""Quality metrics of a swap result, measured frame by frame against its target and source.

Target and output are analysed together, one frame of each in memory at a time. In every frame
the target's largest face (the one `swap --faces one` replaces) is paired with the output face
whose box overlaps it most. Both videos are analysed without smoothing, so that the filter
neither hides jitter in the output nor adds lag to either side.

Definitions (all per frame, then aggregated as mean, median, p10 and p90):

- identity: dlib distance of the output face to the source descriptor and to the target face of
  the same frame, on at most `identity_frames` evenly spread frames (a descriptor costs ~0.1 s).
  Transferred: closer to the source than to the target and under SAME_PERSON (0.6); a sampled
  frame whose output has no face counts as not transferred.
- motion: pose error per axis (degrees), eye openness and jaw opening of target and output
  (Pearson correlation over time and mean absolute error), mean distance of the 68-point eye
  (36-47) and mouth (48-67) contours, in target inter-ocular distances (NME).
- temporal: flicker = mean absolute frame-to-frame change of grey level inside the target's face
  oval; excess = output minus target. Jitter = RMS second difference (acceleration) of the 68
  points in IOD, which ignores smooth motion; jitter_ratio = mean output jitter / mean target
  jitter (1: as steady as the target).
- blending: the edge energy (mean squared Sobel magnitude) the output adds to the target, i.e. of
  output - target, on a ring across the target's face oval (the mesh outline, where a pasted or
  masked face ends; `seam_width` of the face size wide): relative to the target's own edge energy
  on that ring (seam_ratio; 0: nothing added) and in its face interior (seam_contrast). Skin:
  CIEDE2000 between the output's and the target's cheeks (same place, same light: does the swap
  keep the target's tone), and from each to the target's neck just below the chin, which no swap
  touches (neck_delta_e_excess: how much further from the neck colour the face has moved).
- coverage: a frame with a target face is missed when the output has no face there or, on the
  frames with descriptors, the face is still the target's (distance < unchanged_distance).
  missed_rate = 1 - P(output face) * P(identity changed | checked), the second factor estimated
  on the frames with descriptors.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from facegraft.analysis import AnalyzedFrame, Face, analyze
from facegraft.analysis.embedding import SAME_PERSON, descriptor_distance, face_descriptor
from facegraft.analysis.landmarker import box_iou
from facegraft.config import AnalysisConfig, SmoothingConfig
from facegraft.errors import FacegraftError
from facegraft.analysis.regions import FACE_OVAL
from facegraft.io import MediaKind, VideoReader, probe, read_image
from facegraft.models import Models

POSE_AXES = ("pitch", "yaw", "roll")
EXPRESSIONS = ("eye_open_left", "eye_open_right", "jaw_open")
EYES, MOUTH = slice(36, 48), slice(48, 68)
CHEEKS = (205, 425)  # mesh vertices in the middle of the right and left cheek
STATS = ("mean", "median", "p10", "p90")


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    identity_frames: int = 40  # most frames given descriptors, evenly spread (two descriptors ~0.2 s a frame)
    pair_iou: float = 0.3  # box overlap for an output face to count as the target's face
    # Re-encoding alone moves a 50-px face (carphone) by up to 0.25; a swap moves it by 0.7 or more.
    unchanged_distance: float = 0.35
    seam_width: float = 0.03  # ring width across the face oval, share of the face size (sqrt of the box area)
    strip_size: int = 192  # pixels per side of each face crop in the report's strips
    analysis: AnalysisConfig = AnalysisConfig(smoothing=SmoothingConfig(enabled=False))

    def __post_init__(self) -> None:
        if self.identity_frames < 1:
            raise ValueError("identity_frames must be at least 1")


@dataclasses.dataclass(frozen=True)
class IdentityFrame:
    frame: int
    distance_to_source: float | None  # None: no output face paired with the target face
    distance_to_target: float | None
    transferred: bool


@dataclasses.dataclass(frozen=True)
class MotionFrame:
    frame: int
    pitch_error: float
    yaw_error: float
    roll_error: float
    eye_open_left_target: float
    eye_open_left_output: float
    eye_open_right_target: float
    eye_open_right_output: float
    jaw_open_target: float
    jaw_open_output: float
    eye_nme: float
    mouth_nme: float
    contour_nme: float  # eyes and mouth together: the ranking for the report's motion strips


@dataclasses.dataclass(frozen=True)
class TemporalFrame:
    frame: int
    flicker_output: float
    flicker_target: float
    flicker_excess: float
    jitter_output: float | None  # None until three consecutive frames have paired faces
    jitter_target: float | None


@dataclasses.dataclass(frozen=True)
class BlendingFrame:
    frame: int
    seam_ratio: float  # added edge energy on the outline ring / the target's own there (0: no seam)
    seam_contrast: float  # the same / the target's edge energy in the face interior
    skin_delta_e: float | None  # None where a cheek lies outside the frame
    neck_delta_e_output: float | None  # None where the neck lies outside the frame
    neck_delta_e_target: float | None


@dataclasses.dataclass(frozen=True)
class CoverageFrame:
    frame: int
    output_face: bool
    identity_changed: bool | None  # None on frames without descriptors
    swapped: bool


@dataclasses.dataclass(frozen=True)
class Section:
    aggregate: dict[str, Any]
    per_frame: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Strip:
    metric: str  # "identity" or "motion"
    rank: str  # "best", "median" or "worst"
    frame: int
    value: float
    image: np.ndarray  # target crop | output crop, RGB uint8


@dataclasses.dataclass(frozen=True)
class Evaluation:
    sources: tuple[str, ...]
    target: str
    output: str
    frames: int
    identity: Section
    motion: Section
    temporal: Section
    blending: Section
    coverage: Section
    speed: Section | None = None
    strips: tuple[Strip, ...] = ()

    def sections(self) -> dict[str, Section]:
        names = ("identity", "motion", "temporal", "blending", "coverage", "speed")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


# ---------------------------------------------------------------- numbers


def stats(values: Sequence[float | None]) -> dict[str, float | None]:
    """Mean, median, p10 and p90, ignoring missing values; all None when nothing was measured."""
    v = np.array([x for x in values if x is not None], np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return dict.fromkeys(STATS)
    p10, median, p90 = np.percentile(v, [10, 50, 90])
    return {"mean": float(v.mean()), "median": float(median), "p10": float(p10), "p90": float(p90)}


def pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Correlation of the output's series `b` with the target's `a`.

    None when the target does not move (nothing to follow); 0 when only the output stands still,
    since a frozen face follows nothing.
    """
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.size < 3 or x.std() < 1e-9:
        return None
    if y.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def mean_or_none(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b is not None and b > 0 else None


# ---------------------------------------------------------------- geometry of one face


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


def largest_face(faces: Sequence[Face]) -> Face | None:
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def paired_face(face: Face, candidates: Sequence[Face], min_iou: float) -> Face | None:
    scored = [(box_iou(face.box, c.box), c) for c in candidates]
    best = max(scored, key=lambda item: item[0], default=(0.0, None))
    return best[1] if best[0] >= min_iou else None


# ---------------------------------------------------------------- per-frame metrics


def grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def motion_frame(index: int, target: Face, output: Face) -> MotionFrame:
    err = np.linalg.norm(output.landmarks68 - target.landmarks68, axis=1) / inter_ocular(target.landmarks68)
    pose = {f"{a}_error": angle_error(getattr(output.pose, a), getattr(target.pose, a)) for a in POSE_AXES}
    expr = {}
    for name in EXPRESSIONS:
        expr[f"{name}_target"] = float(target.expression.named[name])
        expr[f"{name}_output"] = float(output.expression.named[name])
    return MotionFrame(frame=index, **pose, **expr, eye_nme=float(err[EYES].mean()),
                       mouth_nme=float(err[MOUTH].mean()), contour_nme=float(err[36:68].mean()))


def angle_error(a: float, b: float) -> float:
    # Wrapped, so 179 and -179 degrees are 2 apart, not 358.
    return float(abs((a - b + 180.0) % 360.0 - 180.0))


def flicker(now: np.ndarray, before: np.ndarray, region: FaceRegion) -> float:
    mask = region.inside()
    if not mask.any():
        return 0.0
    return float(np.abs(now[region.crop][mask] - before[region.crop][mask]).mean())


def jitter(history: Sequence[np.ndarray], iod: float) -> float:
    """RMS second difference of landmark positions over three frames, in IOD."""
    a, b, c = history
    accel = a - 2 * b + c
    return float(np.sqrt((accel ** 2).sum(axis=1).mean()) / iod)


def gradient_energy(grey_crop: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(grey_crop, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey_crop, cv2.CV_32F, 0, 1, ksize=3)
    return gx * gx + gy * gy


def seam_measures(t_grey: np.ndarray, o_grey: np.ndarray, region: FaceRegion,
                  config: EvalConfig) -> tuple[float, float]:
    """(seam_ratio, seam_contrast): edge energy the output adds on the outline ring, relative to
    the target's own edge energy on that ring and to the target's face interior.

    The added edges are those of output - target. Comparing the output's ring energy with the
    target's directly fails where the outline is a natural edge (face against a bright wall): a
    brighter pasted face lowers that step, and the seam would score as smoother than no seam.
    """
    ring, interior = region.ring(config.seam_width), region.inside(0.15)
    if not ring.any() or not interior.any():
        return math.nan, math.nan
    crop = region.crop
    added = gradient_energy(o_grey[crop] - t_grey[crop])
    own = gradient_energy(t_grey[crop])
    eps = 1e-6  # a flat synthetic ring would otherwise divide by zero
    seam = float(added[ring].mean())
    return seam / (float(own[ring].mean()) + eps), seam / (float(own[interior].mean()) + eps)


def skin_lab(rgb: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray | None:
    """Median CIELAB colour of disks around `centres`; None when a disk is mostly outside the frame."""
    h, w = rgb.shape[:2]
    r = max(radius, 1.5)
    samples = []
    for cx, cy in centres:
        x0, y0 = int(max(0, cx - r)), int(max(0, cy - r))
        x1, y1 = int(min(w, cx + r + 1)), int(min(h, cy + r + 1))
        if x1 <= x0 or y1 <= y0:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disk = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        if disk.sum() < 0.5 * math.pi * r * r:
            return None
        samples.append(rgb[y0:y1, x0:x1][disk])
    pixels = np.concatenate(samples).astype(np.float64)[None] / 255.0
    return np.median(rgb2lab(pixels)[0], axis=0)


def delta_e(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    if a is None or b is None:
        return None
    return float(deltaE_ciede2000(a[None], b[None])[0])


def neck_centre(face: Face, size: float) -> np.ndarray:
    """A point below the chin, along the face's own down direction (so a tilted head works)."""
    bridge, chin = face.landmarks68[27], face.landmarks68[8]
    down = (chin - bridge) / max(float(np.linalg.norm(chin - bridge)), 1e-6)
    return chin + down * 0.12 * size


def skin_measures(t_rgb: np.ndarray, o_rgb: np.ndarray, face: Face,
                  size: float) -> tuple[float | None, float | None, float | None]:
    cheeks = face.landmarks[list(CHEEKS), :2]
    t_cheek, o_cheek = skin_lab(t_rgb, cheeks, 0.06 * size), skin_lab(o_rgb, cheeks, 0.06 * size)
    neck = skin_lab(t_rgb, neck_centre(face, size)[None], 0.05 * size)
    return delta_e(o_cheek, t_cheek), delta_e(o_cheek, neck), delta_e(t_cheek, neck)


def blending_frame(index: int, t_rgb: np.ndarray, o_rgb: np.ndarray, greys: tuple[np.ndarray, np.ndarray],
                   face: Face, region: FaceRegion, config: EvalConfig) -> BlendingFrame:
    seam_ratio, seam_contrast = seam_measures(greys[0], greys[1], region, config)
    skin, neck_out, neck_tgt = skin_measures(t_rgb, o_rgb, face, region.size)
    return BlendingFrame(index, seam_ratio, seam_contrast, skin, neck_out, neck_tgt)


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


def source_descriptor(sources: Sequence[str | Path], models: Models | None = None) -> np.ndarray:
    """The source person's descriptor, as a swap's profile defines it (mean over the photos)."""
    from facegraft.generate.profile import largest_face as source_face
    from facegraft.generate.profile import load_sources
    paths = [Path(p) for p in sources]
    if not paths or any(p.suffix.lower() == ".npz" for p in paths):
        return load_sources(paths, models).identity.descriptor  # checks the mix and reads the saved descriptor
    found = []
    for path in paths:
        rgb = read_image(path)
        found.append(face_descriptor(rgb, source_face(rgb, str(path), models), models=models))
    return np.mean(found, axis=0)


def sampled_frames(frame_count: int, most: int) -> frozenset[int]:
    count = max(frame_count, 1)
    return frozenset(np.linspace(0, count - 1, min(most, count)).round().astype(int).tolist())


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


# ---------------------------------------------------------------- the streaming evaluation


class _Evaluator:
    """Collects the per-frame records; holds at most the previous frame's grey images and landmarks."""

    def __init__(self, config: EvalConfig, source: np.ndarray, sampled: frozenset[int], output: Path,
                 models: Models):
        self.config, self.source, self.sampled, self.output = config, source, sampled, output
        self.models = models
        self.identity: list[IdentityFrame] = []
        self.motion: list[MotionFrame] = []
        self.temporal: list[TemporalFrame] = []
        self.blending: list[BlendingFrame] = []
        self.coverage: list[CoverageFrame] = []
        self.boxes: dict[int, np.ndarray] = {}  # target face box per frame, to crop the strips
        self.frames = 0
        self._before: tuple[np.ndarray, np.ndarray] | None = None
        self._landmarks: collections.deque = collections.deque(maxlen=2)  # (index, target68, output68)

    def add(self, t: AnalyzedFrame, o: AnalyzedFrame) -> None:
        t_rgb = t.frame.rgb
        check_size(o.frame.rgb.shape, t_rgb.shape, self.output)
        o_rgb = o.frame.rgb[: t_rgb.shape[0], : t_rgb.shape[1]]
        greys = (grey(t_rgb), grey(o_rgb))
        face = largest_face(t.faces)
        if face is not None:
            self._add_face(t.frame.index, t_rgb, o_rgb, greys, face, paired_face(face, o.faces, self.config.pair_iou))
        else:
            self._landmarks.clear()
        self._before = greys
        self.frames += 1

    def _add_face(self, index: int, t_rgb: np.ndarray, o_rgb: np.ndarray, greys: tuple[np.ndarray, np.ndarray],
                  face: Face, match: Face | None) -> None:
        region = face_region(face, t_rgb.shape)
        self.boxes[index] = face.box
        self.blending.append(blending_frame(index, t_rgb, o_rgb, greys, face, region, self.config))
        jitters = self._jitter(index, face, match)
        if self._before is not None:
            f_out, f_tgt = flicker(greys[1], self._before[1], region), flicker(greys[0], self._before[0], region)
            self.temporal.append(TemporalFrame(index, f_out, f_tgt, f_out - f_tgt, *jitters))
        if match is not None:
            self.motion.append(motion_frame(index, face, match))
        changed = self._identity(index, t_rgb, o_rgb, face, match) if index in self.sampled else None
        found = match is not None
        self.coverage.append(CoverageFrame(index, found, changed, found and changed is not False))

    def _jitter(self, index: int, face: Face, match: Face | None) -> tuple[float | None, float | None]:
        if match is None:
            self._landmarks.clear()
            return None, None
        history = self._landmarks
        now = (index, face.landmarks68.astype(np.float64), match.landmarks68.astype(np.float64))
        result: tuple[float | None, float | None] = (None, None)
        if len(history) == 2 and history[0][0] == index - 2 and history[1][0] == index - 1:
            iod = inter_ocular(face.landmarks68)
            result = (jitter([h[2] for h in history] + [now[2]], iod), jitter([h[1] for h in history] + [now[1]], iod))
        history.append(now)
        return result

    def _identity(self, index: int, t_rgb: np.ndarray, o_rgb: np.ndarray, face: Face,
                  match: Face | None) -> bool | None:
        if match is None:
            self.identity.append(IdentityFrame(index, None, None, False))
            return None
        out = face_descriptor(o_rgb, match, models=self.models)
        to_source = descriptor_distance(out, self.source)
        to_target = descriptor_distance(out, face_descriptor(t_rgb, face, models=self.models))
        moved = to_source < to_target and to_source < SAME_PERSON
        self.identity.append(IdentityFrame(index, to_source, to_target, moved))
        return to_target >= self.config.unchanged_distance

    def sections(self) -> dict[str, Section]:
        return {
            "identity": Section(identity_aggregate(self.identity), tuple(self.identity)),
            "motion": Section(motion_aggregate(self.motion), tuple(self.motion)),
            "temporal": Section(temporal_aggregate(self.temporal), tuple(self.temporal)),
            "blending": Section(blending_aggregate(self.blending), tuple(self.blending)),
            "coverage": Section(coverage_aggregate(self.coverage, self.frames), tuple(self.coverage)),
        }


# ---------------------------------------------------------------- aggregates


def column(records: Sequence[Any], name: str) -> list[Any]:
    return [getattr(r, name) for r in records]


def identity_aggregate(rows: Sequence[IdentityFrame]) -> dict[str, Any]:
    return {
        "transfer_rate": mean_or_none([float(r.transferred) for r in rows]),
        "frames": len(rows),
        "frames_without_output_face": sum(r.distance_to_source is None for r in rows),
        "same_person_threshold": SAME_PERSON,
        "distance_to_source": stats(column(rows, "distance_to_source")),
        "distance_to_target": stats(column(rows, "distance_to_target")),
    }


def motion_aggregate(rows: Sequence[MotionFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": len(rows)}
    for axis in POSE_AXES:
        out[f"{axis}_error"] = stats(column(rows, f"{axis}_error"))
    out["pose_error_mean"] = mean_or_none([out[f"{a}_error"]["mean"] for a in POSE_AXES])
    for name in EXPRESSIONS:
        target, output = column(rows, f"{name}_target"), column(rows, f"{name}_output")
        out[f"{name}_correlation"] = pearson(target, output)
        out[f"{name}_mae"] = mean_or_none([abs(a - b) for a, b in zip(target, output)])
    for name in ("eye_nme", "mouth_nme", "contour_nme"):
        out[name] = stats(column(rows, name))
    return out


def temporal_aggregate(rows: Sequence[TemporalFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": len(rows)}
    for name in ("flicker_excess", "flicker_output", "flicker_target", "jitter_output", "jitter_target"):
        out[name] = stats(column(rows, name))
    out["jitter_ratio"] = ratio(out["jitter_output"]["mean"], out["jitter_target"]["mean"])
    return out


def blending_aggregate(rows: Sequence[BlendingFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": len(rows)}
    for name in ("seam_ratio", "seam_contrast", "skin_delta_e",
                 "neck_delta_e_output", "neck_delta_e_target"):
        out[name] = stats(column(rows, name))
    out_neck, tgt_neck = out["neck_delta_e_output"]["mean"], out["neck_delta_e_target"]["mean"]
    out["neck_delta_e_excess"] = out_neck - tgt_neck if out_neck is not None and tgt_neck is not None else None
    return out


def coverage_aggregate(rows: Sequence[CoverageFrame], frames: int) -> dict[str, Any]:
    """missed_rate = 1 - P(output face) * P(identity changed | checked): the second factor is known
    only on the frames with descriptors, so it is estimated there rather than assumed elsewhere."""
    with_face = [r for r in rows if r.output_face]
    checked = [r for r in with_face if r.identity_changed is not None]
    found = len(with_face) / len(rows) if rows else None
    changed = sum(bool(r.identity_changed) for r in checked) / len(checked) if checked else 1.0
    return {
        "missed_rate": None if found is None else 1.0 - found * changed,
        "frames": frames,
        "frames_with_target_face": len(rows),
        "frames_without_output_face": len(rows) - len(with_face),
        "frames_identity_checked": len(checked),
        "frames_identity_unchanged": sum(r.identity_changed is False for r in checked),
    }


# ---------------------------------------------------------------- strips


def strip_choices(evaluator: _Evaluator) -> list[tuple[str, str, int, float]]:
    """(metric, rank, frame, value) of the best, median and worst frame for identity and motion."""
    ranked = {
        "identity": sorted((r.distance_to_source, r.frame) for r in evaluator.identity
                           if r.distance_to_source is not None),
        "motion": sorted((r.contour_nme, r.frame) for r in evaluator.motion),
    }
    out = []
    for metric, rows in ranked.items():
        if rows:
            for rank, (value, frame) in zip(("best", "median", "worst"), (rows[0], rows[len(rows) // 2], rows[-1])):
                out.append((metric, rank, frame, float(value)))
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


def make_strips(evaluator: _Evaluator, target: Path, output: Path, size: int) -> tuple[Strip, ...]:
    choices = strip_choices(evaluator)
    wanted = {frame for _, _, frame, _ in choices}
    t_frames, o_frames = read_frames(target, wanted), read_frames(output, wanted)
    gap = np.full((size, 4, 3), 255, np.uint8)
    strips = []
    for metric, rank, frame, value in choices:
        if frame in t_frames and frame in o_frames:
            box = evaluator.boxes[frame]
            image = np.concatenate([face_crop(t_frames[frame], box, size), gap,
                                    face_crop(o_frames[frame][: t_frames[frame].shape[0], : t_frames[frame].shape[1]],
                                              box, size)], axis=1)
            strips.append(Strip(metric, rank, frame, value, image))
    return tuple(strips)


def evaluate(sources: Sequence[str | Path], target: str | Path, output: str | Path,
             config: EvalConfig = EvalConfig(), on_progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Score the swap result `output` against its `target` and the `sources` (photos or a profile .npz).

    `on_progress(frames done, frames total)` is called after each frame; an exception it raises stops
    the evaluation (how the UI cancels one)."""
    target, output = Path(target), Path(output)
    frame_count = check_pair(target, output)
    sampled = sampled_frames(frame_count, config.identity_frames)
    models = Models()  # the identity network, loaded once for every sampled frame
    evaluator = _Evaluator(config, source_descriptor(sources, models), sampled, output, models)
    for done, (t, o) in enumerate(lockstep(target, output, config.analysis), 1):
        evaluator.add(t, o)
        if on_progress is not None:
            on_progress(done, frame_count)
    return Evaluation(sources=tuple(str(s) for s in sources), target=str(target), output=str(output),
                      frames=evaluator.frames, **evaluator.sections(),
                      strips=make_strips(evaluator, target, output, config.strip_size))
