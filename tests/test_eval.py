"""`facegraft eval` on real media: each metric must tell a good swap from a broken one.

One real swap of carphone (preset fast) is compared with outputs broken on purpose: the
unmodified target, the swap with frozen geometry, with shuffled frames, and hard-pasted.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import html
import json
import re
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
import pytest

from facegraft import FacegraftError, analyze, samples
from facegraft.analysis import analyze_image
from facegraft.api import Settings, swap
from facegraft.config import ProvenanceConfig, preset
from facegraft.evaluate import (EvalConfig, Evaluation, blending, evaluate, identity, realism, render_html, to_json,
                                write_json, write_report)
from facegraft.evaluate.figures import THUMBNAIL_HEIGHT, source_pictures
from facegraft.evaluate.strips import MIN_CROP, make_strips, read_frames, strip_choices
from facegraft.cli.eval import add_parser as add_eval_parser
from facegraft.analysis.regions import BROWS, FACE_OVAL
from facegraft.io import VideoReader, VideoWriter

SOURCE = "0-f15-hao-ph.jpg"  # a woman; the target is a man
TARGET = "carphone_pristine.mp4"  # 176x144, 120 frames: talking, two blinks, a wide-open mouth
IDENTITY = EvalConfig(identity_frames=12)
CHEAP = EvalConfig(identity_frames=2)  # outputs judged on motion, time or seams: few descriptors
SECTIONS = ("identity", "motion", "temporal", "blending", "hands", "coverage")


def target() -> Path:
    return samples.path(TARGET)


def source() -> Path:
    return samples.path(SOURCE)


def frames_of(path: Path) -> Iterator[np.ndarray]:
    with VideoReader(path) as reader:
        for frame in reader:
            yield frame.rgb


def write_video(path: Path, frames: Iterable[np.ndarray]) -> Path:
    with VideoReader(target()) as reader:
        info = reader.info
    with VideoWriter(path, info.width, info.height, info.fps) as writer:
        for rgb in frames:
            writer.write(rgb)
    return path


def oval_mask(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[FACE_OVAL, :2]).astype(np.int32)], 1)
    return mask.astype(bool)


def hard_paste(swapped: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The swap's face cut out along the face outline with no feathering, 35 levels brighter, over the target.

    The outline comes from the default (smoothed) analysis, not the one eval uses, so the test
    does not hand the metric its own boundary.
    """
    for analysed, out in zip(analyze(target()), swapped):
        rgb = analysed.frame.rgb
        if not analysed.faces:
            yield rgb
            continue
        face = max(analysed.faces, key=lambda f: f.box[2] - f.box[0])
        mask = oval_mask(face.landmarks, rgb.shape)[..., None]
        yield np.where(mask, np.clip(out.astype(np.int16) + 35, 0, 255).astype(np.uint8), rgb)


def agg(evaluation: Evaluation, section: str, *path: str) -> float:
    value = evaluation.sections()[section].aggregate
    for key in path:
        value = value[key]
    assert value is not None, f"{section}.{'.'.join(path)} was not measured"
    return float(value)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval")


@pytest.fixture(scope="module")
def swapped(work: Path) -> Path:
    settings = Settings(swap=preset("fast"), provenance=ProvenanceConfig(consent=True))
    return swap([source()], target(), work / "swap.mp4", settings).output


@pytest.fixture(scope="module")
def real(swapped: Path) -> Evaluation:
    return evaluate([source()], target(), swapped, IDENTITY)


@pytest.fixture(scope="module")
def unmodified(work: Path) -> Evaluation:
    # Re-encoded like a swap output would be, so compression alone cannot tell them apart.
    copy = write_video(work / "copy.mp4", frames_of(target()))
    return evaluate([source()], target(), copy, IDENTITY)


def test_unmodified_target_has_no_identity_transfer(unmodified: Evaluation) -> None:
    assert agg(unmodified, "identity", "transfer_rate") <= 0.05
    assert agg(unmodified, "identity", "distance_to_target", "median") < 0.35
    assert agg(unmodified, "coverage", "missed_rate") >= 0.9


def test_real_swap_transfers_identity(real: Evaluation, unmodified: Evaluation) -> None:
    assert agg(real, "identity", "transfer_rate") >= agg(unmodified, "identity", "transfer_rate") + 0.15
    distance = ("identity", "distance_to_source", "median")
    assert agg(real, *distance) < agg(unmodified, *distance) - 0.1
    assert agg(real, "coverage", "missed_rate") <= 0.1
    # The swap keeps the target's motion: blinks and speech come through.
    assert agg(real, "motion", "jaw_open_correlation") > 0.8


def test_frozen_geometry_scores_worse_on_motion(work: Path, swapped: Path, real: Evaluation) -> None:
    first = next(frames_of(swapped))
    frozen = write_video(work / "frozen.mp4", (first for _ in frames_of(target())))
    result = evaluate([source()], target(), frozen, CHEAP)
    assert agg(result, "motion", "jaw_open_correlation") < agg(real, "motion", "jaw_open_correlation") - 0.4
    assert agg(result, "motion", "eye_open_left_correlation") < agg(real, "motion", "eye_open_left_correlation") - 0.3
    assert agg(result, "motion", "pose_error_mean") > agg(real, "motion", "pose_error_mean") + 1.0
    assert agg(result, "motion", "mouth_nme", "mean") > 1.5 * agg(real, "motion", "mouth_nme", "mean")


def test_shuffled_frames_score_worse_on_temporal_stability(work: Path, swapped: Path, real: Evaluation) -> None:
    frames = list(frames_of(swapped))
    order = np.random.default_rng(4).permutation(len(frames))
    shuffled = write_video(work / "shuffled.mp4", (frames[i] for i in order))
    result = evaluate([source()], target(), shuffled, CHEAP)
    assert agg(result, "temporal", "flicker_excess", "mean") > agg(real, "temporal", "flicker_excess", "mean") + 2.0
    assert agg(result, "temporal", "jitter_ratio") > 2 * agg(real, "temporal", "jitter_ratio")
    assert 0.7 < agg(real, "temporal", "jitter_ratio") < 1.5


def test_hard_paste_scores_worse_on_seams(work: Path, swapped: Path, real: Evaluation) -> None:
    pasted = write_video(work / "hard.mp4", hard_paste(frames_of(swapped)))
    result = evaluate([source()], target(), pasted, CHEAP)
    assert agg(result, "blending", "seam_ratio", "median") > 2 * agg(real, "blending", "seam_ratio", "median")
    assert agg(result, "blending", "seam_contrast", "median") > 2 * agg(real, "blending", "seam_contrast", "median")
    # Brighter skin is also further from the target's tone. The swap itself sits 3-4 CIEDE2000 from
    # the target's cheeks (the source keeps its own skin pattern under the target's light), and
    # 20 levels brighter was within that; 35 is a paste anyone would see.
    assert agg(result, "blending", "skin_delta_e", "median") > agg(real, "blending", "skin_delta_e", "median")


def test_progress_is_reported_and_can_stop_the_evaluation(swapped: Path) -> None:
    # The UI shows an evaluation's progress and cancels it through this callback.
    seen: list[tuple[int, int]] = []

    class Stop(Exception):
        pass

    def stop_at_ten(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 10:
            raise Stop

    with pytest.raises(Stop):
        evaluate([source()], target(), swapped, CHEAP, on_progress=stop_at_ten)
    total = seen[0][1]
    assert total > 10 and seen == [(i, total) for i in range(1, 11)]


def test_json_has_the_documented_sections(real: Evaluation, work: Path) -> None:
    path = write_json(real, work / "metrics.json")
    doc = json.loads(path.read_text())
    for name in SECTIONS:
        assert set(doc[name]) == {"aggregate", "per_frame"}
        assert isinstance(doc[name]["aggregate"], dict) and isinstance(doc[name]["per_frame"], list)
    assert "speed" not in doc
    assert 0.0 <= doc["identity"]["aggregate"]["transfer_rate"] <= 1.0
    assert len(doc["motion"]["per_frame"]) == doc["inputs"]["frames"] == 120
    assert {"distance_to_source", "distance_to_target", "transferred"} <= set(doc["identity"]["per_frame"][0])
    for key in ("pitch_error", "yaw_error", "roll_error"):
        assert set(doc["motion"]["aggregate"][key]) == {"mean", "median", "p10", "p90"}
    for key in ("eye_open_left_correlation", "eye_open_right_correlation", "jaw_open_correlation",
                "eye_nme", "mouth_nme"):
        assert key in doc["motion"]["aggregate"]
    assert {"flicker_excess", "jitter_ratio"} <= set(doc["temporal"]["aggregate"])
    assert {"seam_ratio", "skin_delta_e"} <= set(doc["blending"]["aggregate"])
    assert "missed_rate" in doc["coverage"]["aggregate"]
    assert "hand_painted_share" in doc["hands"]["aggregate"]
    assert to_json(real) == doc


def test_a_clip_without_a_hand_reports_no_hand_over_the_face(real: Evaluation) -> None:
    # carphone shows no hand: the hand metric is not measured (null), never reported as 0.
    agg = real.hands.aggregate
    assert agg["detection"] == "tracking"
    assert agg["frames_with_target_face"] == real.coverage.aggregate["frames_with_target_face"] > 100
    assert agg["frames_with_hands"] == agg["frames_with_hand_over_face"] == 0
    assert agg["hand_painted_share"] is None and agg["passed"] is None
    assert agg["verdict"] == "no hand over the face"


def test_html_report_is_one_self_contained_file(real: Evaluation, work: Path) -> None:
    page = write_report(real, work / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('<img alt="identity') == 3 and page.count('<img alt="motion') == 3  # best, median, worst
    assert page.count('src="data:image/png;base64,') >= 6 + 5  # strips and plots
    assert "identity transfer rate" in page
    # Nothing is fetched: no external links, scripts or stylesheets.
    for outside in ("http://", "https://", "<script", "<link"):
        assert outside not in page


def test_cli_runs_the_swap_and_writes_both_files(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    add_eval_parser(parser.add_subparsers())
    out = tmp_path / "nested" / "swap.jpg"
    args = parser.parse_args(["eval", "--run", "--consent", "--preset", "fast", "--source", SOURCE,
                              "--target", "single_face.jpg", "--output", str(out), "--json", str(tmp_path / "m.json"),
                              "--report", str(tmp_path / "r.html"), "--identity-frames", "1", "--quiet"])
    assert args.func(args) == 0
    doc = json.loads((tmp_path / "m.json").read_text())
    assert set(SECTIONS) | {"speed"} <= set(doc)
    assert doc["speed"]["aggregate"]["frames"] == 1 and doc["speed"]["aggregate"]["seconds"] > 0
    assert doc["identity"]["aggregate"]["transfer_rate"] == 1.0  # a sharp photo swaps cleanly
    assert doc["coverage"]["aggregate"]["missed_rate"] == 0.0
    assert doc["hands"]["aggregate"]["hand_painted_share"] is None  # no hand in single_face.jpg
    assert out.is_file() and "data:image/png;base64," in (tmp_path / "r.html").read_text()


def one_line_error(call) -> str:
    with pytest.raises(FacegraftError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_output_is_a_one_line_error(tmp_path: Path) -> None:
    message = one_line_error(lambda: evaluate([source()], target(), tmp_path / "nothing.mp4"))
    assert "nothing.mp4" in message and "no such file" in message


def test_mismatched_frame_count_is_a_one_line_error(tmp_path: Path) -> None:
    short = write_video(tmp_path / "short.mp4", (rgb for _, rgb in zip(range(30), frames_of(target()))))
    message = one_line_error(lambda: evaluate([source()], target(), short))
    assert "30 frames" in message and "120" in message


def test_a_few_frames_short_is_caught_while_streaming(tmp_path: Path) -> None:
    # Headers may miscount by a frame or two, so a small difference only shows in decoding.
    clip = write_video(tmp_path / "clip.mp4", (rgb for _, rgb in zip(range(12), frames_of(target()))))
    short = write_video(tmp_path / "short.mp4", (rgb for _, rgb in zip(range(11), frames_of(target()))))
    message = one_line_error(lambda: evaluate([source()], clip, short, CHEAP))
    assert "short.mp4 has 11 frames" in message


def test_image_against_video_is_a_one_line_error() -> None:
    message = one_line_error(lambda: evaluate([source()], target(), samples.path("single_face.jpg")))
    assert "image" in message


def test_run_without_consent_is_refused(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_eval_parser(parser.add_subparsers())
    args = parser.parse_args(["eval", "--run", "-s", SOURCE, "-t", "single_face.jpg", "-o", str(tmp_path / "x.jpg")])
    assert "consent" in one_line_error(lambda: args.func(args))
    assert not (tmp_path / "x.jpg").exists()


# ---------------------------------------------------------------- what the report shows


def data_uris(block: str, kind: str = "png") -> list[np.ndarray]:
    """Every embedded image of that kind in an HTML block, decoded to BGR."""
    found = re.findall(rf'src="data:image/{kind};base64,([A-Za-z0-9+/=]+)"', block)
    return [cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR) for data in found]


def between(page: str, start: str, end: str) -> str:
    assert start in page, f"{start!r} is not on the page"
    return page.split(start, 1)[1].split(end, 1)[0]


def test_html_report_shows_the_source_large_crops_realism_and_definitions(real: Evaluation, work: Path) -> None:
    page = write_report(real, work / "report_full.html").read_text()
    # The source photo near the top, before the numbers, at its own proportions.
    sources = between(page, "<section id=sources>", "</section>")
    assert page.index("<section id=sources>") < page.index("<h2>Summary</h2>")
    [thumb] = data_uris(sources, "jpeg")
    photo = cv2.imread(str(source()))
    assert thumb.shape[0] == THUMBNAIL_HEIGHT
    assert abs(thumb.shape[1] - photo.shape[1] * THUMBNAIL_HEIGHT / photo.shape[0]) <= 1
    # Face crops of at least MIN_CROP pixels though the config asks for fewer: target | output side by side.
    assert IDENTITY.strip_size < MIN_CROP <= 256
    [strip] = data_uris(between(page, '<img alt="identity worst"', ">"))
    assert strip.shape[0] >= 256 and strip.shape[1] >= 2 * 256
    assert strip[:, : strip.shape[0]].std() > 20  # a face, not an empty canvas
    # The realism plot, with its caption, among the plots; every plot has a caption.
    over_time = between(page, "<h2>Over time</h2>", "<section id=definitions>")
    assert over_time.count("<figure>") == over_time.count("<figcaption>") == len(data_uris(over_time)) == 6
    assert "<figcaption>Realism per frame: shading agreement" in over_time
    # Each family's definition on the page, realism's word for word; nothing points into the code.
    definitions = between(page, "<section id=definitions>", "</section>")
    for text in (realism.DEFINITION, identity.DEFINITION, blending.DEFINITION):
        assert html.escape(text) in definitions
    assert 'href="#def-realism"' in page and "<dt id=def-realism>" in definitions
    assert re.search(r"\b\w+\.py\b", page) is None


def test_report_says_why_a_source_shows_no_photo(real: Evaluation, work: Path) -> None:
    gone = work / "deleted_after_eval.jpg"
    page = render_html(dataclasses.replace(real, sources=(str(source()), str(gone))))
    sources = between(page, "<section id=sources>", "</section>")
    assert len(data_uris(sources, "jpeg")) == 1
    assert "deleted_after_eval.jpg: the photo could not be read any more" in sources
    [(path, picture, note)] = source_pictures([str(work / "person.npz")])
    assert picture is None and "saved profile (.npz)" in note


def test_realism_strips_show_the_worst_and_median_shading(real: Evaluation, swapped: Path, work: Path) -> None:
    rows = [r for r in real.realism.per_frame if r.shading_agreement is not None]
    choices = strip_choices((), (), rows)
    frames = read_frames(target(), {frame for _, _, frame, _ in choices})
    # The crop boxes of those frames, found again as eval finds them (no smoothing).
    boxes = {i: analyze_image(rgb, IDENTITY.analysis)[0].box for i, rgb in frames.items()}
    strips = make_strips((), (), boxes, target(), swapped, IDENTITY.strip_size, realism=rows)
    shading = sorted(r.shading_agreement for r in rows)
    assert [(s.metric, s.rank) for s in strips] == [("realism", "worst"), ("realism", "median")]
    assert strips[0].value == shading[0] and strips[1].value == shading[len(shading) // 2]
    assert strips[0].value < strips[1].value
    assert all(s.image.shape == (MIN_CROP, 2 * MIN_CROP + 4, 3) for s in strips)
    others = tuple(s for s in real.strips if s.metric != "realism")
    page = render_html(dataclasses.replace(real, strips=others + strips))
    frames_block = between(page, "<h2>Frames</h2>", "<h2>Over time</h2>")
    assert "<h3>realism: target | output</h3>" in frames_block
    assert f"worst: frame {strips[0].frame}, shading agreement {strips[0].value:.3f}" in frames_block
    [worst] = data_uris(between(frames_block, '<img alt="realism worst"', ">"))
    assert worst.shape[:2] == (MIN_CROP, 2 * MIN_CROP + 4)


@pytest.mark.parametrize("option, name", [("--report", "r.pdf"), ("--json", "m.txt")])
def test_cli_refuses_a_report_name_of_another_format(option, name, tmp_path: Path, capsys) -> None:
    from facegraft.cli import main
    from cli_helpers import assert_one_line_error
    code = main(["eval", "--source", SOURCE, "--target", "single_face.jpg", "--output", str(samples.path("single_face.jpg")),
                 option, str(tmp_path / name), "--quiet"])
    message = assert_one_line_error(code, capsys.readouterr().err)
    assert name in message and (".html" in message or ".json" in message)
    assert list(tmp_path.iterdir()) == []


def test_detail_ratio_reads_the_skin_and_not_the_source_brows() -> None:
    # A source with faint brows gives a face without the target's dark brows, by design; that is
    # identity, not blur, so it must not read as a plastic face. Blurred skin must.
    rgb = cv2.cvtColor(cv2.imread(samples.path("single_face.jpg")), cv2.COLOR_BGR2RGB)
    face = analyze_image(rgb)[0]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    iod = float(face.pose.scale)
    brows = np.zeros(grey.shape, np.uint8)
    for side in (BROWS[:10], BROWS[10:]):
        cv2.fillConvexPoly(brows, cv2.convexHull(np.round(face.landmarks[side, :2]).astype(np.int32)), 1)
    brows = cv2.dilate(brows, np.ones((3, 3), np.uint8), iterations=max(1, round(0.04 * iod))) > 0
    browless = grey.copy()
    browless[brows] = cv2.GaussianBlur(grey, (0, 0), iod / 6)[brows]  # brows smeared into the skin
    soft = cv2.GaussianBlur(grey, (0, 0), iod / 24)
    assert 0.92 <= realism.realism_frame(0, grey, browless, face).detail_ratio <= 1.08
    assert realism.realism_frame(0, grey, soft, face).detail_ratio < 0.7
