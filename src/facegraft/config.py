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
    # Face detector score needed to start following a face. Real faces in the sample media score
    # 0.85-0.97; lettering and textures that fool the detector stay below 0.6.
    detection_threshold: float = 0.6
    # Mesh model confidence needed to keep following a face.
    min_confidence: float = 0.5
    # A track survives this many frames without a face before its id is retired.
    max_track_gap: int = 10
    # Frames between searches for new faces; tracked faces are followed in every frame, and the
    # search runs every frame while no face is tracked or a track has lost its face.
    detect_interval: int = 6
    smoothing: SmoothingConfig = SmoothingConfig()

    def __post_init__(self) -> None:
        if self.max_faces < 1:
            raise ValueError("max_faces must be at least 1")
        if self.detect_interval < 1 or self.max_track_gap < 0:
            raise ValueError("detect_interval must be at least 1 and max_track_gap not negative")
        if not (0.0 < self.min_confidence < 1.0 and 0.0 < self.detection_threshold < 1.0):
            raise ValueError("min_confidence and detection_threshold must be between 0 and 1")
