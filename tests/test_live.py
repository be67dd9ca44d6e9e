"""Live swap on real sample media played as a camera: what comes out, pacing and dropping, stopping, errors.

No timing is asserted here (speed is `facegraft bench live`): drops are made certain by a consumer
slower than the source, not by how fast this machine happens to be.
"""

from __future__ import annotations

import functools
import threading
import time

import numpy as np
import pytest

from facegraft import FacegraftError, analyze_image, samples
from facegraft.analysis.embedding import descriptor_distance, face_descriptor
from facegraft.api import Settings, load_sources
from facegraft.config import AnalysisConfig, ProvenanceConfig, preset
from facegraft.io import VideoReader, read_image
from facegraft.io.camera import VirtualCamera, fit_inside
from facegraft.live import LiveConfig, LiveFrame, LiveSwap
from facegraft.provenance import watermark
from facegraft.provenance.label import render_label

from cli_helpers import assert_one_line_error, run_cli

# The sample faces are public test media published for research use.
SETTINGS = Settings(swap=preset("fast"), analysis=AnalysisConfig(max_faces=1), provenance=ProvenanceConfig(consent=True))
BOX = (640, 480)
CLIP_FRAMES = 72  # single_face.mp4: 72 frames at 30 fps, 640x360
FRAME = (640, 360)  # ... which fits inside the box as it is: the aspect is kept, no bars are added


@functools.cache
def profile():
    return load_sources([samples.path("astronaut.png")])


@functools.cache
def clip_in_box() -> tuple[np.ndarray, ...]:
    with VideoReader(samples.path("single_face.mp4")) as reader:
        return tuple(fit_inside(frame.rgb, FRAME) for frame in reader)


def live(**config) -> LiveSwap:
    return LiveSwap(profile(), SETTINGS, LiveConfig(str(samples.path("single_face.mp4")), **config))


@pytest.fixture(scope="module")
def every_frame() -> list[LiveFrame]:
    """The whole clip, unpaced: every frame comes out, in order, so output i is input i."""
    with live(realtime=False) as session:
        return list(session)


def face_box(rgb: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = analyze_image(rgb)[0].box
    return int(x0), int(y0), int(x1), int(y1)


def largest_descriptor(rgb: np.ndarray) -> np.ndarray:
    faces = analyze_image(rgb)
    assert faces, "no face found"
    return face_descriptor(rgb, faces[0])


# --- what comes out --------------------------------------------------------------------------------


def test_every_frame_comes_out_in_order_with_the_input_aspect(every_frame):
    assert [f.index for f in every_frame] == list(range(CLIP_FRAMES))
    assert every_frame[-1].dropped == 0
    for frame in every_frame:
        assert frame.rgb.shape == (FRAME[1], FRAME[0], 3) and frame.rgb.dtype == np.uint8
        assert frame.latency_ms > 0
    assert every_frame[-1].fps > 0


def test_frames_are_watermarked(every_frame):
    for frame in every_frame[::20]:
        reading = watermark.read(frame.rgb)
        assert reading.payload is not None, frame.index


def test_frames_are_labelled(every_frame):
    patch = render_label("AI-generated", (FRAME[1], FRAME[0]))
    h, w = patch.rgb.shape[:2]
    label = (slice(patch.y, patch.y + h), slice(patch.x, patch.x + w))
    for frame in every_frame[::20]:
        before = clip_in_box()[frame.index]
        # The label box is dark with white text: far more change than the watermark's ~0.3 grey levels.
        assert np.abs(frame.rgb[label].astype(int) - before[label]).mean() > 10.0


def test_faces_are_swapped_toward_the_source(every_frame):
    source = largest_descriptor(read_image(samples.path("astronaut.png")))
    for index in (10, 40, 65):
        before, after = clip_in_box()[index], every_frame[index].rgb
        x0, y0, x1, y1 = face_box(before)
        # The middle of the face changes; the door far above it does not (only the watermark).
        assert np.abs(after[y0:y1, x0:x1].astype(int) - before[y0:y1, x0:x1]).mean() > 8.0
        assert np.abs(after[:50].astype(int) - before[:50]).mean() < 3.5
        was, now = descriptor_distance(largest_descriptor(before), source), descriptor_distance(largest_descriptor(after), source)
        assert now < was - 0.1, (index, was, now)


@pytest.mark.parametrize("box, size", [((320, 240), (320, 180)), ((400, 400), (400, 224)), ((1280, 720), (1280, 720))])
def test_a_16_9_input_keeps_its_aspect_in_any_box(box, size):
    with live(realtime=False, width=box[0], height=box[1]) as session:
        assert session.frame_size == size
        first = next(iter(session))
    assert first.rgb.shape == (size[1], size[0], 3)
    # No black bars: the top and bottom rows are the picture (a door, a shirt), not zero.
    assert first.rgb[:4].mean() > 40 and first.rgb[-4:].max() > 0


# --- pacing, dropping, looping, stopping -----------------------------------------------------------


def test_realtime_drops_frames_instead_of_lagging():
    """A consumer at 10 frames/s against a 30 frames/s source: at most a third of the clip (plus the
    few frames in the pipeline when it ends) can be shown, the rest must be skipped and counted."""
    with live(realtime=True) as session:
        frames = []
        for frame in session:
            frames.append(frame)
            time.sleep(0.1)
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))
    assert frames[-1].dropped >= CLIP_FRAMES // 2, (len(frames), frames[-1].dropped)
    assert len(frames) + frames[-1].dropped <= CLIP_FRAMES, (len(frames), frames[-1].dropped)
    assert max(np.diff(indices)) > 1


def test_without_realtime_a_slow_consumer_gets_every_frame():
    with live(realtime=False) as session:
        frames = []
        for frame in session:
            frames.append(frame)
            time.sleep(0.01)
    assert [f.index for f in frames] == list(range(CLIP_FRAMES)) and frames[-1].dropped == 0


def test_loop_replays_the_file(every_frame):
    with live(realtime=False, loop=True) as session:
        frames = [frame for frame, _ in zip(session, range(CLIP_FRAMES + 10))]
    assert [f.index for f in frames] == list(range(CLIP_FRAMES + 10))
    # Frame 72 is the clip's first frame again: away from the face it matches the first output.
    again, first, last = frames[CLIP_FRAMES].rgb, every_frame[0].rgb, every_frame[-1].rgb
    rows = slice(60, 200)  # above the face, inside the picture
    assert np.abs(again[rows].astype(int) - first[rows]).mean() < np.abs(again[rows].astype(int) - last[rows]).mean()


def test_stop_from_another_thread_ends_the_iteration_and_releases_everything():
    session = live(realtime=True, loop=True)
    seen = 0
    for _ in session:
        seen += 1
        if seen == 3:
            threading.Thread(target=session.stop).start()
    assert seen >= 3
    session.stop()  # again: harmless
    alive = [t for t in threading.enumerate() if t.name == "facegraft-live"]
    assert not alive


def test_stopping_before_iterating_gives_no_frames():
    session = live()
    session.stop()
    assert list(session) == []


# --- refusals and bad input ------------------------------------------------------------------------


def test_no_consent_is_refused():
    settings = Settings(swap=preset("fast"), provenance=ProvenanceConfig(consent=False))
    with pytest.raises(FacegraftError, match="consent"):
        LiveSwap(profile(), settings, LiveConfig(str(samples.path("single_face.mp4"))))


@pytest.mark.parametrize("make_input", [
    lambda tmp: str(tmp / "missing.mp4"),
    lambda tmp: (tmp / "notes.mp4").write_text("not a video") and str(tmp / "notes.mp4"),
    lambda tmp: str(tmp),
    lambda tmp: str(samples.path("single_face.jpg")),
    lambda tmp: "/dev/video99",
    lambda tmp: "9",
], ids=["missing", "text", "directory", "image", "no-such-device", "no-such-camera"])
def test_bad_input_is_a_one_line_error(tmp_path, make_input):
    with pytest.raises(FacegraftError) as caught:
        LiveSwap(profile(), SETTINGS, LiveConfig(make_input(tmp_path)))
    assert "\n" not in str(caught.value)


def test_virtual_camera_needs_a_video_device(tmp_path):
    for device in ("/dev/video99", "/dev/null", str(tmp_path)):
        with pytest.raises(FacegraftError) as caught:
            VirtualCamera(device, *BOX)
        assert "\n" not in str(caught.value)


def test_cli_live_plays_a_file_and_refuses_without_consent(capsys):
    source, clip = samples.path("astronaut.png"), samples.path("single_face.mp4")
    code, out, err = run_cli(capsys, "live", "--source", source, "--input", clip, "--consent", "--duration", "1")
    assert code == 0, err
    assert "frames in" in out
    assert_one_line_error(*run_cli(capsys, "live", "--source", source, "--input", clip)[::2])
    assert_one_line_error(*run_cli(capsys, "live", "--source", source, "--input", "/dev/video99", "--consent")[::2])
