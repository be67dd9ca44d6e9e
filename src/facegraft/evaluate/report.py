"""An evaluation as machine-readable JSON and as one self-contained HTML page.

The HTML embeds everything (source thumbnails, plots and frame strips as base64 images, styles
inline), so it can be mailed or attached to an issue as a single file and opened offline. It
explains itself: what a good value is beside each number, a caption under each picture, and each
metric family's definition at the end.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from facegraft.evaluate import blending, coverage, hands, identity, motion, realism, temporal
from facegraft.evaluate.figures import encode_png, plots, source_pictures
from facegraft.evaluate.run import Evaluation, Section
from facegraft.evaluate.strips import Strip
from facegraft.io import atomic_output

SCHEMA_VERSION = 1
# Each family's definition, in the words of the module that measures it.
DEFINITIONS = {family.__name__.rpartition(".")[2]: family.DEFINITION
               for family in (identity, motion, temporal, blending, realism, hands, coverage)}
# Speed is measured by the command, not by a family module, so its definition lives here.
SPEED_DEFINITION = ("Wall-clock time of the swap made for this evaluation (eval --run), reading the target to "
                    "writing the output; speed = frames / seconds. Depends on the machine and the preset.")
# How each strip's frames were chosen, and what its number means.
STRIP_RANKINGS = {
    "identity": ("distance to source",
                 "the best, median and worst frame by distance to the source (low: the output looks like the source)"),
    "motion": ("eye and mouth contour error, IOD",
               "the best, median and worst frame by eye and mouth contour error (low: the output's expression "
               "follows the target's)"),
    "realism": ("shading agreement",
                "the worst and the median frame by shading agreement (low: the output's light, shadows and "
                "creases differ from the target's, as on a face pasted in from another photo)"),
}


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the summary table: where the number lives in the JSON and how to read it."""

    section: str
    path: tuple[str, ...]
    label: str
    unit: str
    good: str  # what a good value looks like, for a reader who does not know the metric
    # Words beside the number, from the section's aggregate (a verdict); shown alone when nothing was measured.
    note: Callable[[dict[str, Any]], str] | None = None


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
    Row("realism", ("shading_agreement", "median"), "shading agreement (light and creases)", "Pearson r",
        "high (>= 0.8; a pasted face ~0.6)"),
    Row("realism", ("detail_ratio", "median"), "fine detail, output / target", "ratio", "0.85-1.2"),
    Row("realism", ("brow_contrast_ratio", "median"), "brow contrast, output / target", "ratio",
        "near 1 (far below: washed-out brows)"),
    Row("hands", ("hand_painted_share",), "hand pixels over the face painted over", "share of hand pixels",
        f"at most {hands.LIMIT:.2f} (the limit; 0: the hand kept)", hands.summary_note),
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


def shown_value(evaluation: Evaluation, row: Row) -> str:
    """The number as the summary shows it, with the row's note (a verdict) beside it or in its place."""
    text = _number(lookup(evaluation, row))
    section = evaluation.sections().get(row.section)
    if row.note is None or section is None:
        return text
    note = row.note(section.aggregate)
    return note if text == "-" else f"{text} ({note})"


def summary_lines(evaluation: Evaluation) -> list[str]:
    """The summary table as text, for the terminal: the rows of the sections measured."""
    return [f"{row.label:<40} {shown_value(evaluation, row):>8}  {row.unit}"
            for row in SUMMARY if row.section in evaluation.sections()]


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


# ---------------------------------------------------------------- HTML

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
figcaption { color: #555; font-size: 0.9em; }
.strips, .sources { display: flex; flex-wrap: wrap; gap: 1em; }
.sources figure { margin: 0.5em 0; }
.muted { color: #777; font-size: 0.9em; }
img { max-width: 100%; }
dt { font-weight: 600; margin-top: 0.8em; }
dd { margin: 0.2em 0 0 1.5em; line-height: 1.4; }
a { color: inherit; }
"""


def _sources_html(sources: Sequence[str]) -> str:
    pictures, lines = [], []
    for path, jpeg, note in source_pictures(sources):
        name = html.escape(Path(path).name)
        if jpeg is None:
            lines.append(f"<p>{name}: {html.escape(note)}.</p>")
        else:
            pictures.append(f'<figure><img alt="source photo {name}" src="data:image/jpeg;base64,{jpeg}">'
                            f"<figcaption>{name}</figcaption></figure>")
    body = (f"<div class=sources>{''.join(pictures)}</div>" if pictures else "") + "".join(lines)
    return f"<section id=sources><h2>Source</h2>{body or '<p>No source was given.</p>'}</section>"


def _section_cell(section: str) -> str:
    name = html.escape(section)
    return f'<a href="#def-{name}">{name}</a>' if section in DEFINITIONS or section == "speed" else name


def _summary_table(evaluation: Evaluation) -> str:
    rows = []
    for row in SUMMARY:
        if row.section not in evaluation.sections():
            continue
        rows.append(f"<tr><td>{_section_cell(row.section)}</td><td>{html.escape(row.label)}</td>"
                    f"<td class=num>{html.escape(shown_value(evaluation, row))}</td><td>{html.escape(row.unit)}</td>"
                    f"<td class=muted>{html.escape(row.good)}</td></tr>")
    head = "<tr><th>section</th><th>metric</th><th>value</th><th>unit</th><th>good</th></tr>"
    return (f"<table>{head}{''.join(rows)}</table><p class=muted>Good: what a good value looks like. Each section "
            f"is defined under Definitions below (follow its name); -: not measured.</p>")


def _strips_html(strips: Sequence[Strip]) -> str:
    parts = []
    for metric, (what, chosen_by) in STRIP_RANKINGS.items():
        chosen = [s for s in strips if s.metric == metric]
        if not chosen:
            continue
        cells = "".join(
            f'<figure><img alt="{metric} {s.rank}" src="data:image/png;base64,{encode_png(s.image)}">'
            f"<figcaption>{s.rank}: frame {s.frame}, {what} {s.value:.3f}</figcaption></figure>" for s in chosen)
        parts.append(f"<h3>{metric}: target | output</h3><p class=muted>{html.escape(chosen_by.capitalize())}."
                     f"</p><div class=strips>{cells}</div>")
    if not parts:
        return "<p class=muted>No frame had a face in both target and output.</p>"
    return ("<p class=muted>Each strip shows the target's face (left) and the output's (right) in the same frame, "
            "cropped at the target face.</p>" + "".join(parts))


def _definitions_html(evaluation: Evaluation) -> str:
    shown = {name: text for name, text in DEFINITIONS.items() if name in evaluation.sections()}
    if evaluation.speed is not None:
        shown["speed"] = SPEED_DEFINITION
    items = "".join(f"<dt id=def-{html.escape(name)}>{html.escape(name)}</dt><dd>{html.escape(text)}</dd>"
                    for name, text in shown.items())
    return (f"<section id=definitions><h2>Definitions</h2><dl>{items}</dl>"
            f"<p>IOD: the target face's inter-ocular distance, the unit of landmark errors. Every number is also "
            f"in the JSON output; all values are per frame, then aggregated as mean, median, p10 and p90.</p>"
            f"</section>")


def render_html(evaluation: Evaluation) -> str:
    inputs = (f"source {html.escape(', '.join(evaluation.sources))} &middot; target {html.escape(evaluation.target)} "
              f"&middot; output {html.escape(evaluation.output)} &middot; {evaluation.frames} frames")
    figures = "".join(f'<figure><img alt="{html.escape(p.caption)}" src="data:image/png;base64,{p.png}">'
                      f"<figcaption>{html.escape(p.caption)}</figcaption></figure>" for p in plots(evaluation))
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>facegraft evaluation</title>"
            f"<style>{STYLE}</style></head><body><h1>facegraft evaluation</h1><p class=muted>{inputs}; {when}</p>"
            f"{_sources_html(evaluation.sources)}"
            f"<h2>Summary</h2>{_summary_table(evaluation)}"
            f"<h2>Frames</h2>{_strips_html(evaluation.strips)}"
            f"<h2>Over time</h2>{figures}"
            f"{_definitions_html(evaluation)}"
            f"</body></html>")


def write_report(evaluation: Evaluation, path: Path, inputs: Sequence[Path] = ()) -> Path:
    return _write_text(Path(path), render_html(evaluation), inputs)
