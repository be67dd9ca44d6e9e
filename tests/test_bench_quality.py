"""`facegraft bench quality` on a 2 x 2 matrix of sample media: one scored entry per pair, a median and a
worst row, and a contact sheet with one row per pair whose output crops show the swap."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, run_cli
from facegraft import FacegraftError
from facegraft_bench import contact, quality

FRAMES = 8


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> quality.QualityReport:
    out = tmp_path_factory.mktemp("quality")
    options = quality.QualityOptions(frames=FRAMES, identity_frames=2, sources=2, targets=2,
                                     json_path=out / "bench" / "quality.json", sheet_path=out / "bench" / "sheet.png")
    return quality.run_bench(options)  # dev_media None: sample media only, wherever the tests run


def test_json_has_one_scored_entry_per_pair(report):
    doc = json.loads(report.json_path.read_text(encoding="utf-8"))
    pairs = [(Path(p["source"]).name, Path(p["target"]).name) for p in doc["pairs"]]
    expected = [(s, t) for t in quality.SAMPLE_TARGETS[:2] for s in quality.SAMPLE_SOURCES[:2]]
    assert pairs == expected
    assert doc["frames"] == FRAMES and "sample media only" in doc["media"]
    for entry in doc["pairs"]:
        figures = entry["figures"]
        for name in ("identity", "pose", "jaw_r", "flicker"):
            assert isinstance(figures[name], float) and math.isfinite(figures[name]), (entry["source"], name)
        assert 0.0 < figures["identity"] < 1.0  # a dlib distance between two faces
        assert figures["pose"] < 15.0  # the swap follows the target's head
        assert entry["evaluation"]["inputs"]["target"] == entry["target"]
        assert entry["evaluation"]["inputs"]["frames"] == FRAMES
        assert figures["seconds"] >= entry["swap_seconds"] > 0.0
    identities = sorted(p["figures"]["identity"] for p in doc["pairs"])
    assert doc["median"]["identity"] == pytest.approx((identities[1] + identities[2]) / 2)
    assert doc["worst"]["identity"] == pytest.approx(identities[-1])


def test_sheet_has_one_row_per_pair_and_shows_the_swap(report):
    with Image.open(report.sheet_path) as image:
        assert image.format == "PNG"
        assert image.size == contact.sheet_size(4) == report.sheet_size
        rgb = np.asarray(image.convert("RGB")).astype(np.int16)
    for index in range(4):
        top = contact.HEADER + index * (contact.CELL + contact.ROW_GAP)
        cell = lambda x: rgb[top: top + contact.CELL, x: x + contact.CELL]  # noqa: E731
        thumbnail = cell(contact.LABEL_WIDTH)
        assert thumbnail.std() > 20, f"row {index}: the source thumbnail is blank"
        for k in range(3):
            target, output = cell(contact.frame_x(k)), cell(contact.frame_x(k) + contact.CELL)
            assert target.std() > 20
            # The crops are around the face: the swap changes them, but not into another picture.
            change = np.abs(target - output).mean()
            assert 2.0 < change < 60.0, f"row {index} frame {k}: output crop differs by {change:.1f}"
    assert report.sheet_path.stat().st_size < contact.MAX_BYTES


def test_table_prints_a_dash_for_figures_not_measured():
    figures = {"identity": 0.5, "pose": 2.0, "jaw_r": 0.9, "shading": None, "detail": None, "brows": None,
               "flicker": 0.1, "seconds": 3.0}
    line = quality.table_line("a.jpg", "b.mp4", figures)
    assert line.split()[2:] == ["0.500", "2.000", "0.900", "-", "-", "-", "0.100", "3.0"]


def test_worst_row_takes_each_column_in_its_own_direction():
    def pair(identity, jaw, detail):
        figures = {c.name: None for c in quality.COLUMNS} | {"identity": identity, "jaw_r": jaw, "detail": detail}
        return quality.PairResult(Path("s.jpg"), Path("t.mp4"), figures, 1.0, 1.0, {})

    rows = quality.summary_rows([pair(0.3, 0.9, 1.1), pair(0.7, 0.2, 0.6), pair(0.5, 0.5, 1.3)])
    assert rows["worst"]["identity"] == 0.7 and rows["worst"]["jaw_r"] == 0.2
    assert rows["worst"]["detail"] == 0.6  # farthest from 1
    assert rows["median"]["identity"] == 0.5 and rows["worst"]["shading"] is None


def test_missing_development_media_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "d12.jpg").write_bytes(b"not all of them")
    with pytest.raises(FacegraftError, match=r"s2\.jpg is missing from"):
        quality.choose_media(tmp_path)
    code, _, err = run_cli(capsys, "bench", "quality", "--dev-media", tmp_path / "nowhere")
    assert "nowhere: no such folder" in assert_one_line_error(code, err)


def test_cli_can_keep_to_the_sample_media_and_a_smaller_matrix(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "bench", "quality", "--sample-media", "--sources", "1", "--targets", "1",
                           "--frames", "3", "--identity-frames", "1",
                           "--json", tmp_path / "q.json", "--sheet", tmp_path / "q.png")
    assert code == 0
    assert "quality: 1 sources x 1 targets" in out and "sample media only" in out
    doc = json.loads((tmp_path / "q.json").read_text(encoding="utf-8"))
    assert [Path(p["target"]).name for p in doc["pairs"]] == ["single_face.mp4"]


# --- the memory bench ---------------------------------------------------------------------------------


def test_memory_bench_loops_the_clip_into_one_continuous_video(tmp_path):
    from facegraft.io import VideoReader
    from facegraft_bench import memory
    frames = memory.looped_clip(memory.CLIP, 12.0, tmp_path / "loop.mp4")
    with VideoReader(tmp_path / "loop.mp4") as reader:
        info = reader.info
        times = [f.time for f in reader]
    assert frames == len(times) == info.frame_count == 360  # three loops of the 120-frame sample
    assert info.duration == pytest.approx(12.0, abs=0.1)
    steps = np.diff(times)
    assert steps.min() > 0 and steps.max() < 1.5 / 29.97  # no jump or repeat where the loops join


def test_memory_bench_reads_a_childs_peak_memory(tmp_path):
    from facegraft_bench import memory
    clip = tmp_path / "loop.mp4"
    frames = memory.looped_clip(memory.CLIP, 1.0, clip)
    run = memory.swap_memory(clip, frames, 1.0, "fast", tmp_path)
    assert 100 < run.peak_mb < 4000  # mediapipe and the models alone take a few hundred MB
    assert (tmp_path / "out-loop.mp4").stat().st_size > 0
