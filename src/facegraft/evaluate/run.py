"""The evaluation of one swap result: target and output read together, every metric family per frame.

Both videos are analysed without smoothing, so that the filter neither hides jitter in the output
nor adds lag to either side. Each family (identity, motion, temporal, blending, realism, hands, coverage) has its
own module with its per-frame record, its measure, its aggregate (mean, median, p10 and p90 of the
per-frame values, and a few rates) and its DEFINITION; pairing.py says which faces are compared.
Hands are looked for in the target's frames that have a face, with one hand landmarker per run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from facegraft.analysis import AnalyzedFrame, Face
from facegraft.analysis.hands import Hand, HandFinder, hands_in_front_of
from facegraft.config import AnalysisConfig, SmoothingConfig
from facegraft.evaluate.blending import BlendingFrame, blending_aggregate, blending_frame
from facegraft.evaluate.coverage import CoverageFrame, coverage_aggregate, coverage_frame
from facegraft.evaluate.hands import HandFrame, hand_frame, hands_aggregate
from facegraft.evaluate.identity import IdentityFrame, identity_aggregate, identity_frame, source_descriptor
from facegraft.evaluate.motion import MotionFrame, motion_aggregate, motion_frame
from facegraft.evaluate.realism import RealismFrame, realism_aggregate, realism_frame
from facegraft.evaluate.pairing import (check_pair, check_size, face_region, grey, largest_face, lockstep,
                                        paired_face, sampled_frames)
from facegraft.evaluate.strips import Strip, make_strips
from facegraft.evaluate.temporal import JitterTrack, TemporalFrame, temporal_aggregate, temporal_frame
from facegraft.io import MediaKind, probe
from facegraft.models import Models


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
class Section:
    aggregate: dict[str, Any]
    per_frame: tuple[Any, ...]


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
    realism: Section | None = None
    hands: Section | None = None
    speed: Section | None = None
    strips: tuple[Strip, ...] = ()

    def sections(self) -> dict[str, Section]:
        names = ("identity", "motion", "temporal", "blending", "realism", "hands", "coverage", "speed")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


class _Evaluator:
    """Collects the per-frame records; holds at most the previous frame's grey images and landmarks."""

    def __init__(self, config: EvalConfig, source: np.ndarray, sampled: frozenset[int], output: Path,
                 models: Models, still: bool):
        self.config, self.source, self.sampled, self.output = config, source, sampled, output
        self.models, self.still = models, still
        self._hand_finder: HandFinder | None = None  # made on the first frame with a face, closed by close()
        self.identity: list[IdentityFrame] = []
        self.motion: list[MotionFrame] = []
        self.temporal: list[TemporalFrame] = []
        self.blending: list[BlendingFrame] = []
        self.realism: list[RealismFrame] = []
        self.coverage: list[CoverageFrame] = []
        self.hands: list[HandFrame] = []
        self.boxes: dict[int, np.ndarray] = {}  # target face box per frame, to crop the strips
        self.frames = 0
        self._before: tuple[np.ndarray, np.ndarray] | None = None
        self._jitter = JitterTrack()

    def add(self, t: AnalyzedFrame, o: AnalyzedFrame) -> None:
        t_rgb = t.frame.rgb
        check_size(o.frame.rgb.shape, t_rgb.shape, self.output)
        o_rgb = o.frame.rgb[: t_rgb.shape[0], : t_rgb.shape[1]]
        greys = (grey(t_rgb), grey(o_rgb))
        face = largest_face(t.faces)
        if face is not None:
            self._add_face(t.frame.index, t_rgb, o_rgb, greys, face, paired_face(face, o.faces, self.config.pair_iou))
        else:
            self._jitter.clear()
        self._before = greys
        self.frames += 1

    def _add_face(self, index: int, t_rgb: np.ndarray, o_rgb: np.ndarray, greys: tuple[np.ndarray, np.ndarray],
                  face: Face, match: Face | None) -> None:
        region = face_region(face, t_rgb.shape)
        self.boxes[index] = face.box
        self.blending.append(blending_frame(index, t_rgb, o_rgb, greys, face, region, self.config.seam_width))
        self.realism.append(realism_frame(index, greys[0], greys[1], face))
        hands = hands_in_front_of(self._find_hands(t_rgb), face.landmarks, face.pose.scale)
        self.hands.append(hand_frame(index, hands, greys[0], greys[1], region))
        jitters = self._jitter.step(index, face, match)
        if self._before is not None:
            self.temporal.append(temporal_frame(index, greys, self._before, region, jitters))
        if match is not None:
            self.motion.append(motion_frame(index, face, match))
        changed = self._identity(index, t_rgb, o_rgb, face, match) if index in self.sampled else None
        self.coverage.append(coverage_frame(index, match is not None, changed))

    def _find_hands(self, t_rgb: np.ndarray) -> tuple[Hand, ...]:
        """The hands in the target frame: detected anew in a still, tracked in a video, as the swap does."""
        if self._hand_finder is None:
            self._hand_finder = HandFinder(still=self.still, models=self.models)
        return self._hand_finder.find(t_rgb)

    def close(self) -> None:
        if self._hand_finder is not None:
            self._hand_finder.close()
            self._hand_finder = None

    def _identity(self, index: int, t_rgb: np.ndarray, o_rgb: np.ndarray, face: Face,
                  match: Face | None) -> bool | None:
        """Records the identity of a sampled frame; whether the face is no longer the target's (None: no face)."""
        record = identity_frame(index, t_rgb, o_rgb, face, match, self.source, self.models)
        self.identity.append(record)
        if record.distance_to_target is None:
            return None
        return record.distance_to_target >= self.config.unchanged_distance

    def sections(self) -> dict[str, Section]:
        return {
            "identity": Section(identity_aggregate(self.identity), tuple(self.identity)),
            "motion": Section(motion_aggregate(self.motion), tuple(self.motion)),
            "temporal": Section(temporal_aggregate(self.temporal), tuple(self.temporal)),
            "blending": Section(blending_aggregate(self.blending), tuple(self.blending)),
            "realism": Section(realism_aggregate(self.realism), tuple(self.realism)),
            "hands": Section(hands_aggregate(self.hands, self.still), tuple(self.hands)),
            "coverage": Section(coverage_aggregate(self.coverage, self.frames), tuple(self.coverage)),
        }

    def strips(self, target: Path) -> tuple[Strip, ...]:
        return make_strips(self.identity, self.motion, self.boxes, target, self.output, self.config.strip_size,
                           realism=self.realism)


def evaluate(sources: Sequence[str | Path], target: str | Path, output: str | Path,
             config: EvalConfig = EvalConfig(), on_progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Score the swap result `output` against its `target` and the `sources` (photos or a profile .npz).

    `on_progress(frames done, frames total)` is called after each frame; an exception it raises stops
    the evaluation (how the UI cancels one)."""
    target, output = Path(target), Path(output)
    frame_count = check_pair(target, output)
    sampled = sampled_frames(frame_count, config.identity_frames)
    models = Models()  # the identity network, loaded once for every sampled frame
    still = probe(target) is MediaKind.IMAGE
    evaluator = _Evaluator(config, source_descriptor(sources, models), sampled, output, models, still)
    try:
        for done, (t, o) in enumerate(lockstep(target, output, config.analysis), 1):
            evaluator.add(t, o)
            if on_progress is not None:
                on_progress(done, frame_count)
    finally:
        evaluator.close()
    return Evaluation(sources=tuple(str(s) for s in sources), target=str(target), output=str(output),
                      frames=evaluator.frames, **evaluator.sections(), strips=evaluator.strips(target))
