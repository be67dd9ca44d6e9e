"""The analysis stage, array in and array out, on photos that ship inside scikit-image (no fetched
media): detection and landmarks, the face model fit, regions, rasterising, colour statistics,
smoothing, tracking, identity and person segmentation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegraft.analysis import FaceTracker, analyze_image, load_face_model, project
from facegraft.analysis.colour import colour_stats, to_lab, transfer_colour
from facegraft.analysis.embedding import SAME_PERSON, descriptor_distance, face_descriptor
from facegraft.analysis.eyes import iris_pixels
from facegraft.analysis.facemodel import N_MESH
from facegraft.analysis.raster import rasterize, window_of
from facegraft.analysis.regions import (BROWS, FACE_OVAL, INNER_LIPS, OPENINGS, OUTER_LIPS, hair_band, mask_weights,
                                        skin_weights)
from facegraft.analysis.segmentation import segment_person
from facegraft.analysis.smoothing import OneEuroFilter
from facegraft.analysis.texture import oriented_triangles
from facegraft.config import AnalysisConfig, SmoothingConfig

CHEEKS = (50, 280)  # mesh vertices in the middle of each cheek
NOSE_TIP = 1


def mirrored(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, ::-1])


def shifted(rgb: np.ndarray, dx: float, dy: float) -> np.ndarray:
    return cv2.warpAffine(rgb, np.float32([[1, 0, dx], [0, 1, dy]]), rgb.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Turned counter-clockwise on screen by `degrees` about the centre."""
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def polygon_mask(shape_hw: tuple[int, int], points: np.ndarray, rings) -> np.ndarray:
    mask = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(mask, [np.round(points[ring, :2]).astype(np.int32) for ring in rings], 1)
    return mask.astype(bool)


def only_face(rgb: np.ndarray, models):
    faces = analyze_image(rgb, models=models)
    assert len(faces) == 1
    return faces[0]


@pytest.fixture(scope="module")
def face(astronaut, models):
    return only_face(astronaut, models)


@pytest.fixture(scope="module")
def face_raster(face):
    """The astronaut's mesh rasterised with (x, y, skin weight) as attributes, in frame coordinates."""
    pts = face.landmarks.astype(np.float64)
    attributes = np.concatenate([pts[:, :2], skin_weights()[:, None]], axis=1)
    window = window_of(pts[:N_MESH, :2], 512, 512)
    return rasterize(pts[:, :2], pts[:, 2], oriented_triangles(), attributes, window)


def frame_map(raster, values: np.ndarray, shape_hw=(512, 512)) -> np.ndarray:
    """A raster-window map pasted into a frame-sized one (zero outside the window)."""
    out = np.zeros(shape_hw + values.shape[2:], values.dtype)
    h, w = raster.shape
    out[raster.y0:raster.y0 + h, raster.x0:raster.x0 + w] = values
    return out


def test_astronaut_has_one_face_with_its_eyes_on_the_pupils(astronaut, face):
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512
    assert 60 < x1 - x0 < 160 and 60 < y1 - y0 < 160
    assert face.score > 0.8
    assert face.landmarks.shape == (478, 3) and face.landmarks68.shape == (68, 2)
    assert np.array_equal(face.landmarks68, face.landmarks[load_face_model().ibug68, :2])
    # The subject's right eye is on the image's left, both level and in the upper half of the face.
    assert face.iris_right[0] < face.iris_left[0]
    iod = np.linalg.norm(face.iris_left - face.iris_right)
    assert 0.3 < iod / (x1 - x0) < 0.6
    assert abs(face.iris_left[1] - face.iris_right[1]) < 0.15 * iod
    assert y0 < face.iris_right[1] < (y0 + y1) / 2
    # The iris points sit on the dark pupils, not on skin.
    lightness = to_lab(astronaut)[..., 0]
    cheek = np.mean([lightness[int(y), int(x)] for x, y in face.landmarks[list(CHEEKS), :2]])
    for x, y in (face.iris_right, face.iris_left):
        assert lightness[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2].mean() < cheek - 25


def test_no_face_in_a_cat_a_blank_frame_or_noise(chelsea, models):
    noise = np.random.default_rng(1).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    for rgb in (chelsea, np.full((300, 400, 3), 128, np.uint8), noise):
        assert analyze_image(rgb, models=models) == []


def test_face_found_wherever_it_is_placed_and_at_half_size(astronaut, face, models):
    canvas = np.zeros((900, 1400, 3), np.uint8)
    canvas[200:712, 700:1212] = astronaut
    placed = only_face(canvas, models)
    assert np.abs(placed.box - face.box - [700, 200, 700, 200]).max() < 2.0
    half = only_face(cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA), models)
    assert np.abs(half.box / face.box - 0.5).max() < 0.03
    assert half.pose.scale / face.pose.scale == pytest.approx(0.5, abs=0.03)
    for angle in ("pitch", "yaw", "roll"):
        assert getattr(half.pose, angle) == pytest.approx(getattr(face.pose, angle), abs=4.0)


def test_astronaut_pose_is_frontal_and_the_model_reprojects_her_landmarks(face):
    pose = face.pose
    assert abs(pose.yaw) < 10 and abs(pose.roll) < 8 and abs(pose.pitch) < 20
    # Scale is pixels per inter-ocular distance; the origin lies inside the face.
    assert pose.scale == pytest.approx(np.linalg.norm(face.iris_left - face.iris_right), rel=0.15)
    assert face.box[0] < pose.tx < face.box[2] and face.box[1] < pose.ty < face.box[3]
    assert pose.tz == pytest.approx(512 / pose.scale)
    # This frame's shape is the landmarks in the canonical frame: projecting it back is exact.
    assert np.abs(project(face.shape, pose)[:, :2] - face.landmarks[:, :2]).max() < 1e-2
    # The neutral (identity) shape, without the expression, still lands within a few pixels.
    error = np.linalg.norm(project(face.identity, pose)[:, :2] - face.landmarks[:, :2], axis=1)
    assert error.mean() < 2.5 and error.max() < 8.0
    assert np.allclose(face.identity + face.expression.offsets, face.shape)
    for eye in ("eye_open_left", "eye_open_right"):
        assert 0.7 < face.expression.named[eye] < 1.8  # her eyes are open


def test_roll_follows_the_photo_turned_on_screen(astronaut, face, models):
    for degrees in (-15.0, 15.0, 30.0):
        turned = only_face(rotated(astronaut, degrees), models)
        assert turned.pose.roll - face.pose.roll == pytest.approx(degrees, abs=3.0)


def test_yaw_and_roll_change_sign_in_the_mirror(astronaut, cameraman, face, models):
    turned = only_face(cameraman, models)
    assert turned.pose.yaw > 30  # he looks toward the image's right, into his camera
    assert only_face(mirrored(cameraman), models).pose.yaw < -30
    flipped = only_face(mirrored(astronaut), models)
    assert flipped.pose.roll == pytest.approx(-face.pose.roll, abs=1.5)
    # In the mirror the subject's right iris is where her left one was.
    assert np.abs(flipped.iris_right - [511 - face.iris_left[0], face.iris_left[1]]).max() < 2.0


def test_raster_covers_the_face_oval_but_not_the_eyes_and_mouth(face, face_raster):
    pts = face.landmarks
    oval = polygon_mask((512, 512), pts, [FACE_OVAL])
    openings = polygon_mask((512, 512), pts, OPENINGS)
    covered = frame_map(face_raster, face_raster.covered)
    expected = oval & ~openings
    assert (covered & expected).sum() / (covered | expected).sum() > 0.93
    assert (covered & openings).sum() < 0.25 * openings.sum()
    # Attributes are interpolated exactly: a pixel's interpolated position is the pixel itself.
    ys, xs = np.nonzero(face_raster.covered)
    assert np.abs(face_raster.values[ys, xs, 0] - (xs + face_raster.x0)).max() < 1e-2
    assert np.abs(face_raster.values[ys, xs, 1] - (ys + face_raster.y0)).max() < 1e-2
    assert np.isinf(face_raster.depth[~face_raster.covered]).all()
    assert (face_raster.triangle[~face_raster.covered] == -1).all()
    # The nose is nearer the camera (smaller depth) than the cheeks.
    depth = frame_map(face_raster, face_raster.depth)
    at = lambda i: depth[int(round(pts[i, 1])), int(round(pts[i, 0]))]  # noqa: E731
    assert at(NOSE_TIP) < min(at(i) for i in CHEEKS) - 0.2 * face.pose.scale


def test_nearer_triangle_wins_the_depth_test():
    points = np.array([[2.0, 2.0], [30.0, 2.0], [2.0, 30.0]] * 2)
    depth = np.array([5.0, 5.0, 5.0, 1.0, 1.0, 1.0])
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    colour = np.array([[0.0]] * 3 + [[1.0]] * 3)
    for order, nearer in ((triangles, 1), (triangles[::-1], 0)):
        raster = rasterize(points, depth, order, colour, (0, 0, 32, 32))
        assert raster.covered.sum() > 350
        assert (raster.triangle[raster.covered] == nearer).all()
        assert np.allclose(raster.values[raster.covered, 0], 1.0, atol=1e-6)
        assert np.allclose(raster.depth[raster.covered], 1.0, atol=1e-6)


def test_skin_weights_cover_the_cheeks_and_leave_out_eyes_brows_and_lips(face, face_raster):
    pts = face.landmarks
    skin = frame_map(face_raster, np.where(face_raster.covered, face_raster.values[..., 2], 0.0))
    pixel = lambda i: (int(round(pts[i, 1])), int(round(pts[i, 0])))  # noqa: E731
    assert all(skin[pixel(i)] > 0.95 for i in CHEEKS)
    assert skin[iris_pixels((512, 512), pts)].max() < 0.05
    assert skin[polygon_mask((512, 512), pts, [INNER_LIPS])].max() < 0.05
    assert skin[polygon_mask((512, 512), pts, [OUTER_LIPS])].mean() < 0.02
    assert max(skin[pixel(i)] for i in BROWS) < 0.15
    # The swap mask fades out toward the hairline, where the hair band begins.
    top = 10  # the mesh vertex at the top of the forehead
    assert mask_weights()[top] < 0.05 and hair_band()[top] > 0.95
    assert all(mask_weights()[i] > 0.99 and hair_band()[i] < 0.01 for i in CHEEKS)


def test_colour_transfer_gives_the_face_the_cats_statistics(astronaut, chelsea, face_raster):
    skin = frame_map(face_raster, np.where(face_raster.covered, face_raster.values[..., 2], 0.0))
    fur = np.zeros(chelsea.shape[:2], np.float32)
    fur[60:240, 120:330] = 1.0
    source, target = colour_stats(astronaut, skin), colour_stats(chelsea, fur)
    assert abs(source.mean[0] - target.mean[0]) > 15  # far apart to start with
    moved = transfer_colour(astronaut, skin, source, target)
    after = colour_stats(moved, skin)
    assert np.abs(after.mean - target.mean).max() < 1.5
    assert np.abs(after.std / target.std - 1).max() < 0.2
    assert np.array_equal(moved[skin == 0], astronaut[skin == 0])
    half = colour_stats(transfer_colour(astronaut, skin, source, target, strength=0.5), skin)
    assert half.mean[0] == pytest.approx((source.mean[0] + target.mean[0]) / 2, abs=1.5)
    assert np.array_equal(transfer_colour(astronaut, skin, source, target, strength=0.0), astronaut)


def test_colour_transfer_to_greyscale_squashes_contrast_at_most_by_half(astronaut, cameraman, face_raster):
    skin = frame_map(face_raster, np.where(face_raster.covered, face_raster.values[..., 2], 0.0))
    source = colour_stats(astronaut, skin)
    grey = colour_stats(cameraman, np.ones(cameraman.shape[:2], np.float32))
    after = colour_stats(transfer_colour(astronaut, skin, source, grey), skin)
    assert np.abs(after.mean[1:]).max() < 1.0  # no colour cast left
    assert after.std[1:] / source.std[1:] == pytest.approx([0.5, 0.5], abs=0.1)


def landmark_track(before: np.ndarray, after: np.ndarray, frames: int,
                   noise_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Real landmarks that jump from `before` to `after` halfway, and the same with noise added."""
    clean = np.array([before if i < frames // 2 else after for i in range(frames)], np.float64)
    return clean, clean + np.random.default_rng(2).normal(0.0, noise_px, clean.shape)


def filtered(track: np.ndarray, min_cutoff: float, beta: float, unit: float) -> np.ndarray:
    one_euro = OneEuroFilter(min_cutoff, beta, SmoothingConfig().derivative_cutoff)
    return np.array([one_euro(points, i / 30.0, speed_unit=unit) for i, points in enumerate(track)])


def test_one_euro_filter_removes_jitter_and_follows_a_real_step(astronaut, face, models):
    moved = only_face(shifted(astronaut, 24, 0), models)
    assert np.abs(moved.landmarks[:, :2] - face.landmarks[:, :2] - [24, 0]).max() < 1.0
    clean, noisy = landmark_track(face.landmarks[:, :2], moved.landmarks[:, :2], 60, 1.0)
    cfg = SmoothingConfig()
    out = filtered(noisy, cfg.translation_min_cutoff, cfg.translation_beta, face.pose.scale)
    jitter = lambda track: np.std(np.diff(track[5:30], axis=0))  # noqa: E731
    assert jitter(out) < jitter(noisy) / 2.5
    assert np.abs(out[10:30] - clean[10:30]).mean() < 0.7 * np.abs(noisy[10:30] - clean[10:30]).mean()
    # The step is followed within a frame or two; without beta the filter would still lag.
    lag = np.abs(out[30:] - clean[30:]).mean(axis=(1, 2))
    assert lag[0] < 0.15 * 24 and lag[3] < 1.0
    slow = filtered(noisy, cfg.translation_min_cutoff, 0.0, face.pose.scale)
    assert np.abs(slow[33] - clean[33]).mean() > 3 * lag[3]


def test_tracker_keeps_one_id_on_a_face_that_moves(astronaut, models):
    with FaceTracker(AnalysisConfig(), models) as tracker:
        frames = [tracker.update(shifted(astronaut, 2 * i, 0), i / 30.0) for i in range(12)]
    assert all(len(faces) == 1 and faces[0].track == 0 for faces in frames)
    moves = [faces[0].box[0] - frames[0][0].box[0] for faces in frames]
    assert np.all(np.diff(moves) > 0)
    assert moves[-1] == pytest.approx(22.0, abs=3.0)


def test_identity_descriptor_knows_her_and_tells_him_apart(astronaut, cameraman, face, models):
    own = face_descriptor(astronaut, face, models=models)
    assert own.shape == (128,) and own.dtype == np.float32
    grey = np.ascontiguousarray(np.dstack([cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)] * 3))
    for view in (mirrored(astronaut), grey, cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)):
        assert descriptor_distance(own, face_descriptor(view, only_face(view, models), models=models)) < 0.35
    him = face_descriptor(cameraman, only_face(cameraman, models), models=models)
    assert descriptor_distance(own, him) > SAME_PERSON


def test_person_segmentation_covers_her_face_not_the_background(astronaut, face, models):
    person = segment_person(astronaut, models)
    assert person.shape == (512, 512) and person.dtype == np.float32
    assert 0.0 <= person.min() and person.max() <= 1.0
    x0, y0, x1, y1 = face.box.astype(int)
    assert person[y0:y1, x0:x1].mean() > 0.9
    assert person[:60, :60].mean() < 0.05 and person[:60, -60:].mean() < 0.05
