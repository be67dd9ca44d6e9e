"""`facegraft analyze` as a user runs it: outputs on real media, and clean one-line failures."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from facegraft import samples
from facegraft.cli import build_parser, main
from facegraft.config import AnalysisConfig
from facegraft.io import VideoReader, VideoWriter
from facegraft.io.motion import POSE_KEYS, REQUIRED_EXPRESSION, read_motion

from cli_helpers import assert_one_line_error, faststart_copy, leftovers, run_captured, run_cli, visible_lines

CONSOLE_SCRIPT = Path(sys.executable).with_name("facegraft")
RECORD_KEYS = ("frame", "time", "track", "pose", "expression", "expression_vector", "landmarks68")


def truncated_copy(name: str, dest: Path, fraction: float = 0.4) -> Path:
    data = samples.path(name).read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


# --- video -> JSONL ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def carphone_jsonl(tmp_path_factory) -> tuple[Path, int, str, str]:
    out = tmp_path_factory.mktemp("carphone") / "motion.jsonl"
    code, stdout, stderr = run_captured("analyze", samples.path("carphone_pristine.mp4"), "-o", out)
    return out, code, stdout, stderr


def test_video_jsonl_has_one_record_per_frame(carphone_jsonl) -> None:
    out, code, stdout, stderr = carphone_jsonl
    assert code == 0
    assert "Traceback" not in stderr and "error" not in stderr
    assert "120 face records from 120 frames" in stdout
    assert str(out) in stdout
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 120
    assert [r["frame"] for r in records] == list(range(120))
    times = [r["time"] for r in records]
    assert times[0] == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in zip(times, times[1:])), "time must strictly increase"
    assert times[-1] == pytest.approx(119 / 29.97, abs=0.05)
    assert len({r["track"] for r in records}) == 1


def test_video_progress_bar_is_drawn_and_cleared(carphone_jsonl) -> None:
    # The CLI draws the bar from the library's on_progress reports, and clears it before the summary.
    stderr = carphone_jsonl[3]
    assert "analyze:" in stderr and "/120" in stderr
    assert visible_lines(stderr) == []


def test_defaults_are_the_config_defaults() -> None:
    args = build_parser().parse_args(["analyze", "in.mp4", "-o", "motion.jsonl"])
    assert args.max_faces == AnalysisConfig().max_faces
    assert not args.no_smoothing and AnalysisConfig().smoothing.enabled


def test_video_jsonl_records_have_the_documented_fields(carphone_jsonl) -> None:
    out = carphone_jsonl[0]
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    width, height = 176, 144
    vector_lengths = set()
    for r in records:
        for key in RECORD_KEYS:
            assert key in r, key
        assert isinstance(r["frame"], int) and isinstance(r["track"], int)
        assert set(POSE_KEYS) <= set(r["pose"])
        assert all(isinstance(r["pose"][k], (int, float)) and np.isfinite(r["pose"][k]) for k in POSE_KEYS)
        assert set(REQUIRED_EXPRESSION) <= set(r["expression"])
        assert all(np.isfinite(r["expression"][k]) for k in REQUIRED_EXPRESSION)
        assert isinstance(r["expression_vector"], list) and r["expression_vector"]
        vector_lengths.add(len(r["expression_vector"]))
        marks = np.asarray(r["landmarks68"], dtype=float)
        assert marks.shape == (68, 2)
        assert (marks[:, 0] >= 0).all() and (marks[:, 0] < width).all()
        assert (marks[:, 1] >= 0).all() and (marks[:, 1] < height).all()
        # a face, not a point: the jaw line spans a real width
        assert np.ptp(marks[:17, 0]) > 20
    assert len(vector_lengths) == 1


def test_video_jsonl_reads_back(carphone_jsonl) -> None:
    out = carphone_jsonl[0]
    records = read_motion(out)
    assert len(records) == 120
    assert records[0]["frame"] == 0 and records[-1]["frame"] == 119
    assert records == [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


# --- video -> CSV with a video preview --------------------------------------------------------------


@pytest.fixture(scope="module")
def single_face_csv(tmp_path_factory) -> tuple[Path, Path, int, str]:
    directory = tmp_path_factory.mktemp("single_face")
    out, preview = directory / "motion.csv", directory / "preview.mp4"
    code, stdout, stderr = run_captured("analyze", samples.path("single_face.mp4"), "-o", out,
                                        "--preview", preview, "--quiet")
    assert stderr == "", stderr
    assert stdout == "", "--quiet prints nothing"
    return out, preview, code, directory


def test_video_csv_has_flat_columns(single_face_csv) -> None:
    out, _, code, directory = single_face_csv
    assert code == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 72
    columns = set(rows[0])
    for column in ("frame", "time", "track", "pose_yaw", "pose_pitch", "pose_scale", "expression_jaw_open",
                   "expression_brow_raise_right", "expression_vector_0", "landmarks68_0_x", "landmarks68_67_y"):
        assert column in columns, column
    assert "landmarks68_68_x" not in columns
    assert [int(r["frame"]) for r in rows] == list(range(72))
    assert all(r["pose_yaw"] != "" and np.isfinite(float(r["pose_yaw"])) for r in rows)
    assert leftovers(directory) == []
    records = read_motion(out)
    assert len(records) == 72 and all(len(r["landmarks68"]) == 68 for r in records)


def test_video_preview_is_a_playable_copy_with_audio(single_face_csv) -> None:
    preview = single_face_csv[1]
    with av.open(str(preview)) as container:
        assert len(container.streams.audio) >= 1
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video)]
    assert len(frames) == 72
    assert frames[0].shape == (360, 640, 3)
    with av.open(str(samples.path("single_face.mp4"))) as container:
        original = next(container.decode(video=0)).to_ndarray(format="rgb24")
    # Re-encoding alone changes pixels by a few levels; the drawn mesh and axes change some a lot.
    changed = np.abs(frames[0].astype(int) - original.astype(int)).max(axis=2) > 80
    assert changed.sum() > 200


# --- image -> JSONL with an image preview -----------------------------------------------------------


def test_image_jsonl_with_png_preview(tmp_path, capsys) -> None:
    out, preview = tmp_path / "face.jsonl", tmp_path / "face.png"
    source = samples.path("single_face.jpg")
    code, stdout, stderr = run_cli(capsys, "analyze", source, "-o", out, "--preview", preview)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    records = read_motion(out)
    assert len(records) == 1
    assert records[0]["frame"] == 0 and records[0]["time"] == 0.0
    assert f"preview -> {preview}" in stdout
    with Image.open(source) as im:
        size = im.size
    with Image.open(preview) as im:
        assert im.format == "PNG"
        assert im.size == size
        drawn = np.asarray(im.convert("RGB"))
    with Image.open(source) as im:
        original = np.asarray(im.convert("RGB"))
    assert (np.abs(drawn.astype(int) - original.astype(int)).max(axis=2) > 80).sum() > 100
    assert leftovers(tmp_path) == []


# --- no face ----------------------------------------------------------------------------------------


def test_no_face_video_warns_and_writes_an_empty_file(tmp_path, capsys) -> None:
    out = tmp_path / "none.jsonl"
    code, stdout, stderr = run_cli(capsys, "analyze", samples.path("no_face.mp4"), "-o", out, "-q")
    assert code == 0
    assert out.is_file()
    assert out.read_bytes() == b""
    assert read_motion(out) == []
    assert "warning" in stderr.lower() and "no face" in stderr.lower()
    assert "Traceback" not in stderr
    assert leftovers(tmp_path) == []


# --- bad input: one line on stderr, nothing written ---------------------------------------------------


def _case_missing(tmp: Path) -> list:
    return [tmp / "does-not-exist.mp4"]


def _case_directory(tmp: Path) -> list:
    (tmp / "a-folder.mp4").mkdir()
    return [tmp / "a-folder.mp4"]


def _case_empty(tmp: Path) -> list:
    (tmp / "empty.mp4").write_bytes(b"")
    return [tmp / "empty.mp4"]


def _case_text_as_video(tmp: Path) -> list:
    (tmp / "notes.mp4").write_text("this is not a video\n" * 50)
    return [tmp / "notes.mp4"]


def _case_truncated(tmp: Path) -> list:
    return [truncated_copy("single_face.mp4", tmp / "truncated.mp4")]


def _case_truncated_faststart(tmp: Path) -> list:
    # Index first: the demuxer opens the file and would stop quietly where the bytes end.
    whole = faststart_copy("single_face.mp4", tmp / "faststart.mp4")
    data = whole.read_bytes()
    (tmp / "cut.mp4").write_bytes(data[: int(len(data) * 0.4)])
    return [tmp / "cut.mp4"]


def _case_truncated_mkv(tmp: Path) -> list:
    # Matroska has no per-stream duration, only the file's: the cut is told by that.
    with VideoReader(samples.path("single_face.mp4")) as reader:
        info = reader.info
        with VideoWriter(tmp / "whole.mkv", info.width, info.height, info.fps) as writer:
            for frame in reader:
                writer.write(frame.rgb)
    data = (tmp / "whole.mkv").read_bytes()
    (tmp / "whole.mkv").unlink()
    (tmp / "cut.mkv").write_bytes(data[: int(len(data) * 0.4)])
    return [tmp / "cut.mkv"]


def _case_bad_output_suffix(tmp: Path) -> list:
    return [samples.path("single_face.jpg"), "OUT/motion.txt"]


def _case_output_in_missing_dir(tmp: Path) -> list:
    return [samples.path("single_face.jpg"), "OUT/no/such/dir/motion.jsonl"]


def _case_video_with_image_preview(tmp: Path) -> list:
    return [samples.path("carphone_pristine.mp4"), "OUT/motion.jsonl", "--preview", "OUT/preview.png"]


def _case_image_with_video_preview(tmp: Path) -> list:
    return [samples.path("single_face.jpg"), "OUT/motion.jsonl", "--preview", "OUT/preview.mp4"]


def _case_zero_frames(tmp: Path) -> list:
    # A well-formed file with a video stream that holds no frame (only the sample's audio is copied).
    with av.open(str(samples.path("single_face.mp4"))) as src, av.open(str(tmp / "zero.mp4"), "w") as out:
        out.add_stream_from_template(src.streams.video[0])
        audio = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = audio
                out.mux(packet)
    assert (tmp / "zero.mp4").stat().st_size > 0
    return [tmp / "zero.mp4"]


def _case_huge_image(tmp: Path) -> list:
    # 10000x8000 = 80 megapixels, over the 64 MP limit; mostly empty, so the file stays small.
    Image.new("RGB", (10000, 8000)).save(tmp / "huge.png", optimize=False, compress_level=1)
    return [tmp / "huge.png"]


BAD_CASES = {
    "zero-frames": _case_zero_frames,
    "huge-image": _case_huge_image,
    "missing": _case_missing,
    "directory": _case_directory,
    "empty": _case_empty,
    "text-as-mp4": _case_text_as_video,
    "truncated-40%": _case_truncated,
    "truncated-40%-faststart": _case_truncated_faststart,
    "truncated-40%-mkv": _case_truncated_mkv,
    "output-suffix-txt": _case_bad_output_suffix,
    "output-dir-missing": _case_output_in_missing_dir,
    "video-with-png-preview": _case_video_with_image_preview,
    "image-with-mp4-preview": _case_image_with_video_preview,
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_fails_cleanly_and_writes_nothing(case, tmp_path, capsys) -> None:
    inputs, out_dir = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out_dir.mkdir()
    spec = BAD_CASES[case](inputs)
    source, rest = spec[0], [str(a).replace("OUT", str(out_dir)) for a in spec[1:]]
    output = rest[0] if rest else str(out_dir / "motion.jsonl")
    extra = rest[1:]
    code, stdout, stderr = run_cli(capsys, "analyze", source, "-o", output, *extra)
    assert_one_line_error(code, stderr)
    assert code == 1
    assert not Path(output).exists()
    assert sorted(p.name for p in out_dir.iterdir()) == [], "nothing may be written, not even a temp file"
    assert not (out_dir / "no").exists()


def test_output_same_as_input_is_refused_and_input_kept(tmp_path, capsys) -> None:
    source = tmp_path / "clip.mp4"
    shutil.copyfile(samples.path("carphone_pristine.mp4"), source)
    before = source.read_bytes()
    code, _, stderr = run_cli(capsys, "analyze", source, "-o", source)
    assert_one_line_error(code, stderr)
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_output_same_as_input_with_motion_suffix_is_refused(tmp_path, capsys) -> None:
    # Input type is found from the content, so a photo named *.jsonl is analysable; writing
    # the motion over it must still be refused, also when the path is spelled differently.
    source = tmp_path / "photo.jsonl"
    shutil.copyfile(samples.path("single_face.jpg"), source)
    before = source.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(source)
    for output in (source, tmp_path / "." / "photo.jsonl", link):
        code, _, stderr = run_cli(capsys, "analyze", source, "-o", output)
        assert_one_line_error(code, stderr)
        assert "same file" in stderr
        assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "photo.jsonl"]


def test_preview_same_as_input_is_refused_and_input_kept(tmp_path, capsys) -> None:
    source = tmp_path / "clip.mp4"
    shutil.copyfile(samples.path("carphone_pristine.mp4"), source)
    before = source.read_bytes()
    out = tmp_path / "motion.jsonl"
    code, _, stderr = run_cli(capsys, "analyze", source, "-o", out, "--preview", source)
    assert_one_line_error(code, stderr)
    assert source.read_bytes() == before
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_bad_max_faces_is_a_usage_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(samples.path("single_face.jpg")), "-o", str(tmp_path / "m.jsonl"), "--max-faces", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "must be at least 1" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# --- a failed run keeps the previous output ---------------------------------------------------------


@pytest.mark.parametrize("faststart", [False, True], ids=["index-last", "index-first"])
def test_failed_run_does_not_clobber_existing_output(faststart, tmp_path, capsys) -> None:
    # index-last fails while probing; index-first fails mid-analysis, after temp files were written.
    whole = faststart_copy("single_face.mp4", tmp_path / "whole.mp4") if faststart else samples.path("single_face.mp4")
    data = whole.read_bytes()
    source = tmp_path / "truncated.mp4"
    source.write_bytes(data[: int(len(data) * 0.4)])
    out = tmp_path / "out.jsonl"
    out.write_text("old")
    preview = tmp_path / "preview.mp4"
    preview.write_text("old preview")
    code, _, stderr = run_cli(capsys, "analyze", source, "-o", out, "--preview", preview)
    assert_one_line_error(code, stderr)
    assert out.read_text() == "old"
    assert preview.read_text() == "old preview"
    assert leftovers(tmp_path) == []


def test_failed_image_preview_does_not_clobber_existing_output(tmp_path, capsys) -> None:
    # The motion file would succeed; the preview cannot be written (its directory is missing).
    out = tmp_path / "out.jsonl"
    out.write_text("old")
    code, _, stderr = run_cli(capsys, "analyze", samples.path("single_face.jpg"), "-o", out,
                              "--preview", tmp_path / "missing" / "p.png")
    assert_one_line_error(code, stderr)
    assert out.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_successful_run_replaces_existing_output(tmp_path, capsys) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old")
    code, _, stderr = run_cli(capsys, "analyze", samples.path("single_face.jpg"), "-o", out, "-q")
    assert code == 0, stderr
    assert len(read_motion(out)) == 1
    assert leftovers(tmp_path) == []


# --- the installed console script ---------------------------------------------------------------------


def _console(*argv, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FACEGRAFT_NATIVE_LOGS"}
    return subprocess.run([str(CONSOLE_SCRIPT), *map(str, argv)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def test_console_script_bad_input_one_line_no_traceback(tmp_path) -> None:
    assert CONSOLE_SCRIPT.is_file()
    source = truncated_copy("single_face.mp4", tmp_path / "truncated.mp4")
    result = _console("analyze", source.name, "-o", "out.jsonl", "--preview", "out.mp4", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("facegraft: error: ")
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["truncated.mp4"]


def test_console_script_no_face_prints_only_the_warning(tmp_path) -> None:
    # Running the real script also proves MediaPipe's native logging stays off the terminal.
    result = _console("analyze", samples.path("no_face.mp4"), "-o", "none.csv", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("facegraft: warning:") and "no face" in lines[0]
    assert (tmp_path / "none.csv").read_bytes() == b""


def test_console_script_image_success(tmp_path) -> None:
    result = _console("analyze", samples.path("single_face.jpg"), "-o", "face.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "1 face records from 1 frames" in result.stdout
    assert len(read_motion(tmp_path / "face.csv")) == 1


# --- file modes ---


def test_outputs_get_ordinary_permissions(tmp_path, capsys) -> None:
    out, preview = tmp_path / "m.jsonl", tmp_path / "p.png"
    old = os.umask(0o022)
    try:
        code, _, stderr = run_cli(capsys, "analyze", samples.path("single_face.jpg"), "-o", out, "--preview", preview)
    finally:
        os.umask(old)
    assert code == 0, stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert stat.S_IMODE(preview.stat().st_mode) == 0o644
