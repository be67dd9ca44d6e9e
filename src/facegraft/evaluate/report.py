"""An evaluation as machine-readable JSON and as one self-contained HTML page.

The HTML embeds everything (plots and frame strips as base64 PNG, styles inline), so it can be
mailed or attached to an issue as a single file and opened offline.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure

from facegraft.evaluate import blending, coverage, identity, motion, temporal
from facegraft.evaluate.run import Evaluation, Section
from facegraft.evaluate.strips import Strip
from facegraft.io import atomic_output

SCHEMA_VERSION = 1
# Each family's definition, in the words of the module that measures it.
DEFINITIONS = {family.__name__.rpartition(".")[2]: family.DEFINITION
               for family in (identity, motion, temporal, blending, coverage)}


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the summary table: where the number lives in the JSON and how to read it."""

    section: str
    path: tuple[str, ...]
    label: str
    unit: str
    good: str  # what a good value looks like, for a reader who does not know the metric


SUMMARY = (
    Row("identity", ("transfer_rate",), "identity transfer rate", "share of frames",
        "high (1: every frame is the source)"),
    Row("identity", ("distance_to_source", "median"), "distance to source, median", "dlib", "low (< 0.6 same person)"),
    Row("identity", ("distance_to_target", "median"), "distance to target, median", "dlib",
        "high (> 0.6 someone else)"),
    Row("motion", ("pose_error_mean",), "head pose error", "degrees", "low"),
    Row("motion", ("eye_open_left_correlation",), "eye openness (left) correlation", "Pearson r", "near 1"),
    Row("motion", ("eye_open_right_correlation",), "eye openness (right) correlation", "Pearson r", "near 1"),
    Row("motion", ("jaw_open_correlation",), "jaw opening correlation", "Pearson r", "near 1"),
    Row("motion", ("jaw_open_mae",), "jaw opening error", "IOD", "low"),
    Row("motion", ("eye_nme", "mean"), "eye contour error", "IOD", "low"),
    Row("motion", ("mouth_nme", "mean"), "mouth contour error", "IOD", "low"),
    Row("temporal", ("flicker_excess", "mean"), "flicker excess", "grey levels / frame", "near 0"),
    Row("temporal", ("jitter_ratio",), "landmark jitter, output / target", "ratio", "near 1"),
    Row("blending", ("seam_ratio", "median"), "seam: edges added along the face outline", "share of target's",
        "low (0: none; a hard paste ~0.2)"),
    Row("blending", ("skin_delta_e", "median"), "skin tone vs target's cheeks", "CIEDE2000", "low (< 3 hard to see)"),
    Row("blending", ("neck_delta_e_excess",), "face-to-neck colour difference added", "CIEDE2000", "near 0 or below"),
    Row("coverage", ("missed_rate",), "frames with a face left unswapped", "share", "0"),
    Row("speed", ("fps",), "swap speed", "frames / s", "high"),
    Row("speed", ("seconds",), "swap time", "s", "low"),
)


def speed_section(seconds: float, frames: int, frames_swapped: int, preset: str) -> Section:
    """The `speed` section of a run measured by `eval --run` (no per-frame times are kept)."""
    fps = frames / seconds if seconds > 0 else None
    return Section({"seconds": seconds, "fps": fps, "frames": frames, "frames_swapped": frames_swapped,
                    "preset": preset}, ())


# ---------------------------------------------------------------- JSON


def clean(value: Any) -> Any:
    """JSON-safe: NaN becomes null, numpy numbers plain numbers, records plain objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def to_json(evaluation: Evaluation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "inputs": {"sources": list(evaluation.sources), "target": evaluation.target, "output": evaluation.output,
                   "frames": evaluation.frames},
    }
    for name, section in evaluation.sections().items():
        doc[name] = {"aggregate": clean(section.aggregate), "per_frame": clean(section.per_frame)}
    return doc


def write_json(evaluation: Evaluation, path: Path, inputs: Sequence[Path] = ()) -> Path:
    text = json.dumps(to_json(evaluation), indent=1, allow_nan=False)
    return _write_text(Path(path), text, inputs)


def _write_text(path: Path, text: str, inputs: Sequence[Path]) -> Path:
    with atomic_output(path, tuple(inputs)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def lookup(evaluation: Evaluation, row: Row) -> float | None:
    section = evaluation.sections().get(row.section)
    value: Any = section.aggregate if section else None
    for key in row.path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def summary_lines(evaluation: Evaluation) -> list[str]:
    """The summary table as text, for the terminal."""
    lines = []
    for row in SUMMARY:
        value = lookup(evaluation, row)
        if value is not None or row.section != "speed":
            lines.append(f"{row.label:<40} {_number(value):>8}  {row.unit}")
    return lines


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


# ---------------------------------------------------------------- plots


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _series(records: Sequence[Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(r.frame, getattr(r, name)) for r in records if getattr(r, name) is not None]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    frames, values = zip(*pairs)
    return np.asarray(frames), np.asarray(values, np.float64)


def _plot(title: str, panels: Sequence[tuple[str, Sequence[tuple[Sequence[Any], str, str, str]]]],
          reference: Callable[[Any], None] | None = None) -> str:
    """Panels of (y label, [(records, field, legend, style)]), stacked over a shared frame axis."""
    fig = Figure(figsize=(9, 1.2 + 2.0 * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (ylabel, lines) in zip(axes, panels):
        for records, field, legend, style in lines:
            x, y = _series(records, field)
            ax.plot(x, y, style, label=legend, markersize=3, linewidth=1.2)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
        if reference is not None:
            reference(ax)
    axes[0].set_title(title)
    axes[-1].set_xlabel("frame")
    return _png(fig)


def plots(evaluation: Evaluation) -> list[tuple[str, str]]:
    """(caption, base64 PNG) of each plot over time."""
    ident = evaluation.identity.per_frame
    motion = evaluation.motion.per_frame
    temporal = evaluation.temporal.per_frame
    blending = evaluation.blending.per_frame
    out = [
        ("Identity distance of the output face (frames with descriptors); below the dashed line counts as the "
         "same person.",
         _plot("identity", [("dlib distance", [(ident, "distance_to_source", "to source", "o-"),
                                               (ident, "distance_to_target", "to target", "s-")])],
               reference=lambda ax: ax.axhline(0.6, color="grey", linestyle="--", linewidth=1))),
        ("Expression: the output should follow the target.",
         _plot("eye openness and jaw opening", [
             (name, [(motion, f"{key}_target", "target", "-"), (motion, f"{key}_output", "output", "--")])
             for name, key in (("eye open (left)", "eye_open_left"), ("eye open (right)", "eye_open_right"),
                               ("jaw open (IOD)", "jaw_open"))])),
        ("Head pose error of the output against the target, per axis.",
         _plot("pose error", [("degrees", [(motion, "pitch_error", "pitch", "-"), (motion, "yaw_error", "yaw", "-"),
                                           (motion, "roll_error", "roll", "-")])])),
        ("Flicker: mean absolute frame-to-frame change inside the face; the output should track the target.",
         _plot("flicker", [("grey levels", [(temporal, "flicker_target", "target", "-"),
                                            (temporal, "flicker_output", "output", "-")])])),
        ("Seam: edge energy the output adds along the face outline, relative to the target's own edges there "
         "(0: nothing added).",
         _plot("seam", [("ratio", [(blending, "seam_ratio", "seam ratio", "-")])])),
    ]
    return out


# ---------------------------------------------------------------- HTML

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
figcaption { color: #555; font-size: 0.9em; }
.strips { display: flex; flex-wrap: wrap; gap: 1em; }
.muted { color: #777; font-size: 0.9em; }
img { max-width: 100%; }
dt { font-weight: 600; margin-top: 0.6em; }
"""


def _image_png(rgb: np.ndarray) -> str:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return base64.b64encode(data.tobytes()).decode("ascii") if ok else ""


def _summary_table(evaluation: Evaluation) -> str:
    rows = []
    for row in SUMMARY:
        value = lookup(evaluation, row)
        if row.section == "speed" and evaluation.speed is None:
            continue
        rows.append(f"<tr><td>{html.escape(row.section)}</td><td>{html.escape(row.label)}</td>"
                    f"<td class=num>{_number(value)}</td><td>{html.escape(row.unit)}</td>"
                    f"<td class=muted>{html.escape(row.good)}</td></tr>")
    head = "<tr><th>section</th><th>metric</th><th>value</th><th>unit</th><th>good</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _strips_html(strips: Sequence[Strip]) -> str:
    parts = []
    for metric, what in (("identity", "distance to source"), ("motion", "eye and mouth contour error, IOD")):
        chosen = [s for s in strips if s.metric == metric]
        if not chosen:
            continue
        cells = "".join(
            f'<figure><img alt="{metric} {s.rank}" src="data:image/png;base64,{_image_png(s.image)}">'
            f"<figcaption>{s.rank}: frame {s.frame}, {what} {s.value:.3f}</figcaption></figure>" for s in chosen)
        parts.append(f"<h3>{metric}: target | output</h3><div class=strips>{cells}</div>")
    return "".join(parts) or "<p class=muted>No frame had a face in both target and output.</p>"


def _definitions_html() -> str:
    items = "".join(f"<dt>{html.escape(name)}</dt><dd>{html.escape(text)}</dd>" for name, text in DEFINITIONS.items())
    return f"<dl class=muted>{items}</dl>"


def render_html(evaluation: Evaluation) -> str:
    inputs = (f"source {html.escape(', '.join(evaluation.sources))} &middot; target {html.escape(evaluation.target)} "
              f"&middot; output {html.escape(evaluation.output)} &middot; {evaluation.frames} frames")
    figures = "".join(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                      f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                      for caption, data in plots(evaluation))
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>facegraft evaluation</title>"
            f"<style>{STYLE}</style></head><body><h1>facegraft evaluation</h1><p class=muted>{inputs}; {when}</p>"
            f"<h2>Summary</h2>{_summary_table(evaluation)}"
            f"<h2>Frames</h2>{_strips_html(evaluation.strips)}"
            f"<h2>Over time</h2>{figures}"
            f"<h2>Definitions</h2>{_definitions_html()}"
            f"<p class=muted>Every number is also in the JSON output; all values are per frame, then "
            f"aggregated as mean, median, p10 and p90.</p>"
            f"</body></html>")


def write_report(evaluation: Evaluation, path: Path, inputs: Sequence[Path] = ()) -> Path:
    return _write_text(Path(path), render_html(evaluation), inputs)
