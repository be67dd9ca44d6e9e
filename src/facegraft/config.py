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


BLEND_MODES = ("multiband", "poisson", "alpha")


@dataclasses.dataclass(frozen=True)
class SwapConfig:
    """How a swap looks; `preset()` gives the fast/balanced/quality starting points."""

    shape_transfer: float = 0.7  # 0: keep the target's face shape, 1: the source's (outline always the target's)
    detail: float = 0.8  # 0: the target's fine skin detail, 1: the source's (moles, freckles, wrinkles)
    colour_strength: float = 1.0  # how fully the source skin takes the target's tone
    shading: bool = True  # fit the target's light as a smooth field too (falloff, broad shadows)
    creases: bool = True  # carry the target's expression creases (frowns, folds, wrinkles) over
    blend: str = "multiband"
    occlusion: bool = True  # keep hands, microphones (video) and glasses frames (also stills) in front of the face
    eyes: str = "target"  # target: the target's own eyes; source: the source's iris colour
    render_max_side: int = 256  # pixels across at which faces are rasterised (maps are then scaled)
    temporal: float = 0.85  # share of the previous frame's colour statistics kept (video)
    steady: float = 0.6  # pull toward the previous output face where the target did not change (video)

    def __post_init__(self) -> None:
        for name in ("shape_transfer", "detail", "colour_strength"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name.replace('_', '-')} must be between 0 and 1")
        if self.blend not in BLEND_MODES:
            raise ValueError(f"blend must be one of {', '.join(BLEND_MODES)}")
        if self.eyes not in ("target", "source"):
            raise ValueError("eyes must be 'target' or 'source'")
        if not 0.0 <= self.temporal < 1.0:
            raise ValueError("temporal must be in [0, 1)")
        if not 0.0 <= self.steady < 1.0:
            raise ValueError("steady must be in [0, 1)")


PRESETS = {
    "fast": dict(blend="alpha", creases=False, occlusion=False, render_max_side=160),
    "balanced": dict(),
    "quality": dict(render_max_side=512),
}


def preset(name: str, **overrides) -> SwapConfig:
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}")
    return SwapConfig(**{**PRESETS[name], **overrides})


@dataclasses.dataclass(frozen=True)
class VideoConfig:
    encoder: str = "libx264"
    quality: int = 20  # CRF for x264/x265: lower is better and bigger
    speed: str = "veryfast"  # x264 preset
    workers: int = 2  # threads overlapping decode, processing and encode

    def __post_init__(self) -> None:
        if not 0 <= self.quality <= 51:
            raise ValueError("quality must be a CRF between 0 and 51")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")


@dataclasses.dataclass(frozen=True)
class ProvenanceConfig:
    """How outputs are labelled; the invisible watermark and metadata are always written."""

    consent: bool = False  # the user states everyone whose face is used agreed
    visible_label: bool = True
    label_text: str = "AI-generated"
    label_corner: str = "bottom-right"
    label_opacity: float = 0.85
    label_font: str | None = None  # a TrueType file; default: any installed font that has the glyphs

    def __post_init__(self) -> None:
        if not 0.0 < self.label_opacity <= 1.0:
            raise ValueError("label opacity must be in (0, 1]")
