"""The quality matrix: every source photo swapped onto every target clip, scored by facegraft.evaluate.

`facegraft bench quality` prints one line per pair (identity, motion, shading, detail, brows, flicker,
time), a median and a worst row, and writes every pair's evaluation as JSON and a contact sheet
(contact.py) a person can look over in one image. With the development media (../shared/media-dev)
it is 6 x 6 pairs; without, the sample media make a smaller matrix.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import facegraft
from facegraft import samples
from facegraft.api import Settings, swap
from facegraft.config import PRESETS, ProvenanceConfig, preset
from facegraft.errors import FacegraftError
from facegraft.evaluate import EvalConfig, evaluate, to_json
from facegraft.io import VideoReader, VideoWriter, atomic_output, make_folder
from facegraft_bench import contact

# A spread of faces: a modern portrait, black and white, an old photo, a painting, another portrait.
DEV_SOURCES = ("d12.jpg", "s2.jpg", "s12.jpg", "s5.jpg", "d30.jpg")
# Talking heads (d11 a child) and a wide 1280x720 shot with a small face.
DEV_TARGETS = ("d3.mp4", "d10.mp4", "d11.mp4", "d19.mp4", "s18.mp4")
# single_face.jpg is the person of single_face.mp4, so it goes last: small matrices skip it.
SAMPLE_SOURCES = ("astronaut.png", "0-f15-hao-ph.jpg", "45-m7-di-ph.jpg", "15-f13-anc-ph.jpg", "0-f1-su-ph.jpg",
                  "single_face.jpg")
SAMPLE_TARGETS = ("single_face.mp4", "carphone_pristine.mp4")


@dataclasses.dataclass(frozen=True)
class Column:
    """One figure of the table: where it lives in the evaluation's JSON and which way is bad."""

    name: str
    path: tuple[str, ...]
    worst: str  # "high", "low" or "far_from_one": how the worst row picks among the pairs


COLUMNS = (
    Column("identity", ("identity", "aggregate", "distance_to_source", "median"), "high"),
    Column("pose", ("motion", "aggregate", "pose_error_mean"), "high"),
    Column("jaw_r", ("motion", "aggregate", "jaw_open_correlation"), "low"),
    Column("shading", ("realism", "aggregate", "shading_agreement", "median"), "low"),
    Column("detail", ("realism", "aggregate", "detail_ratio", "median"), "far_from_one"),
    Column("brows", ("realism", "aggregate", "brow_contrast_ratio", "median"), "far_from_one"),
    Column("flicker", ("temporal", "aggregate", "flicker_excess", "mean"), "high"),
    Column("seconds", ("seconds",), "high"),
)


@dataclasses.dataclass(frozen=True)
class QualityOptions:
    frames: int = 48  # each target is cut to its first frames: 36 pairs stay affordable
    preset: str = "balanced"
    identity_frames: int = 8  # identity descriptors per pair (~0.2 s each)
    json_path: Path = Path("out/bench/quality.json")
    sheet_path: Path = Path("out/bench/quality.png")
    dev_media: Path | None = None  # None: the sample media only
    sample_only: bool = False  # the sample media even where development media exist
    sources: int | None = None  # how many of the sources and targets to use (None: all)
    targets: int | None = None

    def __post_init__(self) -> None:
        if self.frames < 2:
            raise FacegraftError("the quality bench needs at least 2 frames per target")
        if self.preset not in PRESETS:
            raise FacegraftError(f"unknown preset {self.preset!r}; choose from {', '.join(PRESETS)}")


@dataclasses.dataclass(frozen=True)
class Media:
    sources: tuple[Path, ...]
    targets: tuple[Path, ...]
    note: str  # where they came from, for the reader of the table


@dataclasses.dataclass(frozen=True)
class PairResult:
    source: Path
    target: Path
    figures: dict[str, float | None]  # by column name
    swap_seconds: float
    eval_seconds: float
    evaluation: dict[str, Any]  # to_json of the evaluation


@dataclasses.dataclass(frozen=True)
class QualityReport:
    media: Media
    options: QualityOptions
    pairs: tuple[PairResult, ...]
    json_path: Path
    sheet_path: Path
    sheet_size: tuple[int, int]  # width, height in pixels


def default_dev_media() -> Path:
    """<repo>/../shared/media-dev, where development machines keep the extra media."""
    repo = Path(facegraft.__file__).resolve().parents[2]
    return repo.parent / "shared" / "media-dev"


def resolve_dev_media(given: Path | None) -> Path | None:
    """The folder named (which must exist), else the default one where it exists, else None."""
    if given is not None:
        if not Path(given).is_dir():
            raise FacegraftError(f"--dev-media {given}: no such folder")
        return Path(given)
    found = default_dev_media()
    return found if found.is_dir() else None


def choose_media(dev_media: Path | None, sources: int | None = None, targets: int | None = None) -> Media:
    """The matrix's photos and clips; with `dev_media` astronaut.png and single_face.mp4 lead the dev files."""
    if dev_media is not None:
        names = [_dev_file(dev_media, n) for n in DEV_SOURCES], [_dev_file(dev_media, n) for n in DEV_TARGETS]
        source_paths = [samples.path("astronaut.png"), *names[0]]
        target_paths = [samples.path("single_face.mp4"), *names[1]]
        note = f"sample and development media ({dev_media})"
    else:
        found = samples.fetch([*SAMPLE_SOURCES, *SAMPLE_TARGETS], quiet=True)
        source_paths = [found[n] for n in SAMPLE_SOURCES]
        target_paths = [found[n] for n in SAMPLE_TARGETS]
        note = (f"sample media only: no development media at {default_dev_media()} "
                "(give --dev-media DIR for the full matrix)")
    chosen = tuple(source_paths[:sources]), tuple(target_paths[:targets])
    if min(len(chosen[0]), len(chosen[1])) < 1:
        raise FacegraftError("the quality matrix needs at least one source and one target")
    return Media(*chosen, note=note)


def _dev_file(folder: Path, name: str) -> Path:
    path = Path(folder) / name
    if not path.is_file():
        raise FacegraftError(f"development media {name} is missing from {folder}")
    return path


def cut_clip(target: Path, frames: int, output: Path) -> int:
    """The first `frames` frames of `target` written to `output` (no audio); returns how many."""
    written = 0
    with VideoReader(target) as reader:
        info = reader.info
        with VideoWriter(output, info.width, info.height, info.fps, crf=14) as writer:
            for frame in reader:
                if frame.index >= frames:
                    break
                writer.write(frame.rgb)
                written += 1
    return written


def lookup(doc: dict[str, Any], path: Sequence[str]) -> float | None:
    value: Any = doc
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def score_pair(source: Path, target: Path, clip: Path, output: Path, options: QualityOptions) -> PairResult:
    # consent=True: the media are public test media (sample wheels and the LivePortrait examples).
    settings = Settings(swap=preset(options.preset), provenance=ProvenanceConfig(consent=True))
    started = time.perf_counter()
    swap([source], clip, output, settings)
    swapped = time.perf_counter()
    evaluation = evaluate([source], clip, output, EvalConfig(identity_frames=options.identity_frames))
    done = time.perf_counter()
    doc = to_json(evaluation)
    # The evaluation saw temporary files; the JSON names the real inputs.
    doc["inputs"] = {"sources": [str(source)], "target": str(target), "frames": evaluation.frames}
    figures = {c.name: lookup(doc, c.path) for c in COLUMNS if c.name != "seconds"}
    figures["seconds"] = done - started
    return PairResult(source, target, figures, swapped - started, done - swapped, doc)


def run_matrix(media: Media, options: QualityOptions,
               on_pair: Callable[[PairResult], None] | None = None) -> tuple[list[PairResult], list[contact.Row]]:
    """Swap and score every (source, target) pair, target by target; the sheet's rows come with them."""
    results, rows = [], []
    thumbs = {s: contact.source_thumbnail(s) for s in media.sources}
    with tempfile.TemporaryDirectory(prefix="facegraft-bench-") as tmp:
        for t_index, target in enumerate(media.targets):
            clip = Path(tmp) / f"target{t_index}.mp4"
            count = cut_clip(target, options.frames, clip)
            views = contact.target_views(clip, count)
            for s_index, source in enumerate(media.sources):
                output = Path(tmp) / f"out{t_index}_{s_index}.mp4"
                result = score_pair(source, target, clip, output, options)
                rows.append(contact.row(thumbs[source], views, output, _label(result)))
                output.unlink()
                results.append(result)
                if on_pair is not None:
                    on_pair(result)
    return results, rows


def _label(result: PairResult) -> tuple[str, ...]:
    f = result.figures
    return (result.source.name, f"on {result.target.name}", f"identity {_number(f['identity'])}",
            f"shading {_number(f['shading'])}")


def run_bench(options: QualityOptions, on_pair: Callable[[PairResult], None] | None = None) -> QualityReport:
    """The whole bench: the matrix, its JSON and its contact sheet."""
    media = choose_media(options.dev_media, options.sources, options.targets)
    for path in (options.json_path, options.sheet_path):
        _make_parent(path)
    pairs, rows = run_matrix(media, options, on_pair)
    json_path = write_json(pairs, media, options)
    size = contact.write_sheet(rows, options.sheet_path)
    return QualityReport(media, options, tuple(pairs), json_path, options.sheet_path, size)


def _make_parent(path: Path) -> None:
    make_folder(Path(path).resolve().parent)


# ---------------------------------------------------------------- the table


def summary_rows(pairs: Sequence[PairResult]) -> dict[str, dict[str, float | None]]:
    """The median and the worst pair's value of each column (None where no pair has the figure)."""
    median, worst = {}, {}
    for column in COLUMNS:
        values = [p.figures[column.name] for p in pairs if p.figures[column.name] is not None]
        median[column.name] = statistics.median(values) if values else None
        worst[column.name] = _worst(values, column.worst) if values else None
    return {"median": median, "worst": worst}


def _worst(values: Sequence[float], kind: str) -> float:
    if kind == "high":
        return max(values)
    if kind == "low":
        return min(values)
    return max(values, key=lambda v: abs(v - 1.0))


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


NAME_WIDTH = 18


def header() -> str:
    return f"{'source':<{NAME_WIDTH}} {'target':<{NAME_WIDTH}} " + " ".join(f"{c.name:>8}" for c in COLUMNS)


def table_line(source: str, target: str, figures: dict[str, float | None]) -> str:
    cells = " ".join(f"{_number(figures.get(c.name)) if c.name != 'seconds' else _seconds(figures.get(c.name)):>8}"
                     for c in COLUMNS)
    return f"{source[:NAME_WIDTH]:<{NAME_WIDTH}} {target[:NAME_WIDTH]:<{NAME_WIDTH}} {cells}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def pair_line(result: PairResult) -> str:
    return table_line(result.source.name, result.target.name, result.figures)


def legend() -> str:
    return ("identity: median dlib distance output to source (low; < 0.6 same person); pose: mean head pose "
            "error, degrees (low); jaw_r: jaw opening correlation with the target (near 1); shading, detail, "
            "brows: medians of realism.shading_agreement (high), detail_ratio and brow_contrast_ratio (near 1); "
            "flicker: mean flicker excess, grey levels (near 0); seconds: swap + evaluation; '-': not measured")


def summary_lines(pairs: Sequence[PairResult]) -> list[str]:
    rows = summary_rows(pairs)
    return [table_line("median", "", rows["median"]), table_line("worst", "", rows["worst"])]


def write_json(pairs: Sequence[PairResult], media: Media, options: QualityOptions) -> Path:
    doc = {
        "bench": "quality",
        "media": media.note,
        "frames": options.frames,
        "preset": options.preset,
        "identity_frames": options.identity_frames,
        "columns": {c.name: {"path": list(c.path), "worst": c.worst} for c in COLUMNS},
        "pairs": [{"source": str(p.source), "target": str(p.target), "figures": p.figures,
                   "swap_seconds": p.swap_seconds, "eval_seconds": p.eval_seconds, "evaluation": p.evaluation}
                  for p in pairs],
        **summary_rows(pairs),
    }
    with atomic_output(Path(options.json_path)) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
    return Path(options.json_path)
