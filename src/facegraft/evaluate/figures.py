"""The report's pictures as base64 text: plots over frames, frame strips and source-photo thumbnails.

Everything is embedded in the page, so each picture is encoded here rather than written to a file.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure

from facegraft.errors import FacegraftError
from facegraft.evaluate.run import Evaluation
from facegraft.io import read_image

THUMBNAIL_HEIGHT = 256  # pixels: the source photo's face is clearly visible, the page stays small


@dataclasses.dataclass(frozen=True)
class Line:
    records: Sequence[Any]
    field: str
    legend: str
    style: str


@dataclasses.dataclass(frozen=True)
class Panel:
    ylabel: str
    lines: tuple[Line, ...]
    threshold: float | None = None  # a dashed line a good value stays on one side of
    good: tuple[float, float] | None = None  # a shaded band of good values


@dataclasses.dataclass(frozen=True)
class Plot:
    caption: str  # one line under the plot: what it shows and how to read it
    png: str  # base64


# ---------------------------------------------------------------- encoding


def encode_png(rgb: np.ndarray) -> str:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return base64.b64encode(data.tobytes()).decode("ascii") if ok else ""


def encode_jpeg(rgb: np.ndarray, quality: int = 88) -> str:
    # Photos compress ten times smaller as JPEG than as PNG, with no visible loss at this size.
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return base64.b64encode(data.tobytes()).decode("ascii") if ok else ""


def figure_png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# ---------------------------------------------------------------- source photos


def thumbnail(path: str | Path, height: int = THUMBNAIL_HEIGHT) -> np.ndarray:
    """The photo scaled to `height` pixels high; FacegraftError when it cannot be read (gone, not an image)."""
    rgb = read_image(Path(path))
    scale = height / rgb.shape[0]
    width = max(1, round(rgb.shape[1] * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, (width, height), interpolation=interp)


def is_profile(path: str | Path) -> bool:
    """A saved source profile (.npz) rather than a photo: there is nothing to show."""
    return Path(path).suffix.lower() == ".npz"


def source_pictures(sources: Sequence[str]) -> list[tuple[str, str | None, str]]:
    """(path, base64 JPEG or None, note) per source; the note says why there is no picture."""
    out: list[tuple[str, str | None, str]] = []
    for source in sources:
        if is_profile(source):
            out.append((source, None, "a saved profile (.npz): it holds no photo to show"))
            continue
        try:
            out.append((source, encode_jpeg(thumbnail(source)), ""))
        except FacegraftError as exc:
            out.append((source, None, f"the photo could not be read any more ({exc})"))
    return out


# ---------------------------------------------------------------- plots


def _series(records: Sequence[Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(r.frame, getattr(r, name)) for r in records if getattr(r, name) is not None]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    frames, values = zip(*pairs)
    return np.asarray(frames), np.asarray(values, np.float64)


def plot(title: str, panels: Sequence[Panel]) -> str:
    """Panels stacked over a shared frame axis, as base64 PNG."""
    fig = Figure(figsize=(9, 1.2 + 2.0 * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels):
        for line in panel.lines:
            x, y = _series(line.records, line.field)
            ax.plot(x, y, line.style, label=line.legend, markersize=3, linewidth=1.2)
        if panel.threshold is not None:
            ax.axhline(panel.threshold, color="grey", linestyle="--", linewidth=1)
        if panel.good is not None:
            ax.axhspan(*panel.good, color="tab:green", alpha=0.12, label="good")
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[0].set_title(title)
    axes[-1].set_xlabel("frame")
    return figure_png(fig)


def _expression_panels(motion: Sequence[Any]) -> list[Panel]:
    return [Panel(name, (Line(motion, f"{key}_target", "target", "-"), Line(motion, f"{key}_output", "output", "--")))
            for name, key in (("eye open (left)", "eye_open_left"), ("eye open (right)", "eye_open_right"),
                              ("jaw open (IOD)", "jaw_open"))]


def realism_plot(realism: Sequence[Any]) -> Plot:
    panels = [
        Panel("shading agreement", (Line(realism, "shading_agreement", "output vs target", "-"),), threshold=0.8),
        Panel("detail ratio", (Line(realism, "detail_ratio", "output / target", "-"),), good=(0.85, 1.2)),
        Panel("brow contrast", (Line(realism, "brow_contrast_target", "target", "-"),
                                Line(realism, "brow_contrast_output", "output", "--"))),
    ]
    return Plot("Realism per frame: shading agreement with the target (above the dashed line 0.8 the light and "
                "creases match), fine detail against the target's (green: good) and how dark the brows are "
                "against the forehead in both.", plot("realism", panels))


def plots(evaluation: Evaluation) -> list[Plot]:
    """Each plot over time, with its caption."""
    ident = evaluation.identity.per_frame
    motion = evaluation.motion.per_frame
    temporal = evaluation.temporal.per_frame
    out = [
        Plot("Identity distance of the output face (frames with descriptors); below the dashed line counts as the "
             "same person.",
             plot("identity", [Panel("dlib distance", (Line(ident, "distance_to_source", "to source", "o-"),
                                                       Line(ident, "distance_to_target", "to target", "s-")),
                                     threshold=0.6)])),
        Plot("Expression: the output should follow the target.",
             plot("eye openness and jaw opening", _expression_panels(motion))),
        Plot("Head pose error of the output against the target, per axis.",
             plot("pose error", [Panel("degrees", tuple(Line(motion, f"{axis}_error", axis, "-")
                                                        for axis in ("pitch", "yaw", "roll")))])),
        Plot("Flicker: mean absolute frame-to-frame change inside the face; the output should track the target.",
             plot("flicker", [Panel("grey levels", (Line(temporal, "flicker_target", "target", "-"),
                                                    Line(temporal, "flicker_output", "output", "-")))])),
        Plot("Seam: edge energy the output adds along the face outline, relative to the target's own edges there "
             "(0: nothing added).",
             plot("seam", [Panel("ratio", (Line(evaluation.blending.per_frame, "seam_ratio", "seam ratio", "-"),))])),
    ]
    if evaluation.realism is not None:
        out.append(realism_plot(evaluation.realism.per_frame))
    return out
