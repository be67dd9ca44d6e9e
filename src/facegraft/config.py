"""Settings, as one explicit immutable object passed down the pipeline (no global state)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SmoothingConfig:
    """One Euro filters (Casiez et al. 2012) on head pose and on the pose-free face shape.

    A One Euro filter is a low-pass whose cutoff rises with speed: `*_min_cutoff` (Hz) sets
    how hard a still face is smoothed, `*_beta` how quickly the cutoff opens up as it moves
    (Hz per unit of speed: degrees/s for rotation, inter-ocular distances/s otherwise).
    Filtering pose and shape separately, instead of each landmark on its own, keeps a moving
    face rigid: a fast head turn does not drag some points behind others ("jelly" wobble).
    """

    enabled: bool = True
    # Tuned with `facegraft bench --smoothing` (see README): blinks and fast turns pass, jitter does not.
    rotation_min_cutoff: float = 0.7
    rotation_beta: float = 0.15
    translation_min_cutoff: float = 1.0
    translation_beta: float = 4.0
    shape_min_cutoff: float = 1.5
    shape_beta: float = 100.0
    derivative_cutoff: float = 6.0


@dataclasses.dataclass(frozen=True)
class AnalysisConfig:
    max_faces: int = 4
    min_confidence: float = 0.5
    # A track survives this many frames without a face before its id is retired.
    max_track_gap: int = 10
    # Frames between face-detector confidence checks of a track (the mesh model has no score).
    score_interval: int = 30
    smoothing: SmoothingConfig = SmoothingConfig()

    def __post_init__(self) -> None:
        if self.max_faces < 1:
            raise ValueError("max_faces must be at least 1")
        if not 0.0 < self.min_confidence < 1.0:
            raise ValueError("min_confidence must be between 0 and 1")
