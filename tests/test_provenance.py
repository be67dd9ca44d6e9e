"""Provenance, consent and privacy (issue 5), on the real sample media.

- the invisible watermark: invisible by PSNR, read back exactly, and still found after JPEG 70,
  half-size downscales and H.264 re-encodes at CRF 32; never found on unmarked media;
- `facegraft verify` and its exit codes; the visible label; the "AI-generated" metadata;
- consent is required before any work; no network access; no temporary files left behind.

The expensive run (a CLI swap of single_face.mp4) happens once per module in a fixture. The
figures in the comments were measured on the development container (2 cores); run with
`pytest -s` to see the `MEASURE` lines each test prints.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

import facegraft
import facegraft.api
import facegraft.io.run
from facegraft import samples
from facegraft.api import Settings, swap
from facegraft.cli import main
from facegraft.config import ProvenanceConfig, preset
from facegraft.errors import FacegraftError
from facegraft.io import VideoReader, VideoWriter, read_image
from facegraft.provenance import CONSENT_TEXT, FrameMarker, Stamp
from facegraft_bench.watermark import PHOTOS, half, jpeg, luma, mark_visibility, psnr
from facegraft_bench.watermark import photo as load_photo
from facegraft_bench.watermark import clip_path, reencode, reencode_x264_default, write_marked
from facegraft.provenance.verify import verify
from facegraft.provenance.watermark import (LAYOUTS, Z_MIN, Payload, _bit_sums, _hard_decode, decode, embed,
                                           evidence, layout_for, layouts_to_read, read)

from cli_helpers import assert_one_line_error, faststart_copy, leftovers, run_captured, run_cli, visible_lines

CONSOLE_SCRIPT = Path(sys.executable).with_name("facegraft")
SOURCE = "astronaut.png"
PAYLOAD = Payload(version=0x01, run_id=0xBEEF)
MIN_PSNR = 40.0  # dB, the bound for "not visible"
# Outside the label and the face, a swap output differs from its target only by the watermark (and,
# for video, by the H.264 coding): measured mean |diff| 1.5-1.8 grey levels on single_face.mp4.
UNTOUCHED_MEAN = 3.0
# Inside the corner that holds the label: measured mean |diff| 13-16 over the whole corner region.
LABELLED_MEAN = 8.0


# --- helpers ---------------------------------------------------------------------------------------


def measure(*parts) -> None:
    print("MEASURE", *parts)


@functools.cache
def photo(name: str) -> np.ndarray:
    rgb = load_photo(name)
    rgb.setflags(write=False)
    return rgb


def video_frames(path: Path, indices=None) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [f.rgb for f in reader if indices is None or f.index in indices]


def spread(path: Path, count: int) -> list[np.ndarray]:
    """`count` frames spread evenly over the clip, first and last included."""
    frames = video_frames(path)  # every frame decoded: the count may be an estimate for some formats
    return [frames[i] for i in np.linspace(0, len(frames) - 1, count).round().astype(int)]


def corner_region(shape: tuple[int, ...], corner: str) -> tuple[slice, slice]:
    """The corner of a frame where a label would be: 30% of the width, 12% of the height."""
    h, w = shape[:2]
    rh, rw = int(h * 0.12), int(w * 0.30)
    rows = slice(h - rh, h) if corner.startswith("bottom") else slice(0, rh)
    cols = slice(w - rw, w) if corner.endswith("right") else slice(0, rw)
    return rows, cols


def region_diff(a: np.ndarray, b: np.ndarray, corner: str) -> float:
    rows, cols = corner_region(a.shape, corner)
    return float(np.abs(a[rows, cols].astype(int) - b[rows, cols].astype(int)).mean())


def assert_verified(verdict, what: str, min_share: float = 0.5) -> None:
    measure(f"{what}: found={verdict.found} frames_marked={verdict.frames_marked}/{verdict.frames_checked} "
            f"confidence={verdict.confidence:.3f} bit_agreement={verdict.reading.confidence:.3f} "
            f"score={verdict.reading.score:.1f}")
    assert verdict.found, what
    assert verdict.reading.payload is not None and verdict.reading.payload.to_bytes()[:1] == b"\xfa"
    assert verdict.frames_checked >= 20, what
    assert verdict.frames_marked >= min_share * verdict.frames_checked, what


@contextlib.contextmanager
def spy_on_temp_files(monkeypatch):
    """Records the temporary paths a video run writes outputs to (to prove a test reached that point)."""
    original = facegraft.io.run.atomic_output
    seen: list[Path] = []

    @contextlib.contextmanager
    def recording(path, inputs=()):
        with original(path, inputs) as tmp:
            seen.append(Path(tmp))
            yield tmp

    monkeypatch.setattr(facegraft.io.run, "atomic_output", recording)
    yield seen


# --- module fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("provenance")


@pytest.fixture(scope="module")
def swapped_video(workdir) -> Path:
    """`facegraft swap --consent` of single_face.mp4 with the default label (fast preset)."""
    out = workdir / "swapped.mp4"
    code, stdout, stderr = run_captured("swap", "--consent", "-q", "--preset", "fast", "-s", samples.path(SOURCE),
                                        "-t", samples.path("single_face.mp4"), "-o", out)
    assert code == 0, stderr
    assert out.is_file() and leftovers(workdir) == []
    return out


@pytest.fixture(scope="module")
def image_outputs(workdir) -> dict[str, Path]:
    """CLI image swaps of single_face.jpg: default label (PNG), no label (PNG), top-left label (JPEG)."""
    target = samples.path("single_face.jpg")
    runs = {"default.png": (), "nolabel.png": ("--no-visible-label",),
            "topleft.jpg": ("--label-corner", "top-left")}
    outputs = {}
    for name, extra in runs.items():
        out = workdir / name
        code, _, stderr = run_captured("swap", "--consent", "-q", "--preset", "fast", "-s", samples.path(SOURCE),
                                       "-t", target, "-o", out, *extra)
        assert code == 0, (name, stderr)
        outputs[name] = out
    return outputs


# --- 1. the watermark on images --------------------------------------------------------------------


@pytest.mark.parametrize("still", (True, False), ids=("still", "video"))
@pytest.mark.parametrize("name", PHOTOS)
def test_image_watermark_invisible_exact_and_robust(name, still) -> None:
    # Image outputs carry the still layout; the video layout must survive the same on a frame
    # grabbed from a video.
    rgb = photo(name)
    marked = embed(rgb, PAYLOAD, still)
    assert marked.shape == rgb.shape and marked.dtype == np.uint8
    value = psnr(rgb, marked)
    readings = {"clean": read(marked), "jpeg70": read(jpeg(marked, 70)), "half": read(half(marked)),
                "half+jpeg70": read(jpeg(half(marked), 70))}
    measure(f"{name} {rgb.shape[1]}x{rgb.shape[0]} {'still' if still else 'video'}: PSNR {value:.2f} dB; " + "; ".join(
        f"{k}: ok={r.payload == PAYLOAD} conf={r.confidence:.3f} score={r.score:.1f}" for k, r in readings.items()))
    assert value >= MIN_PSNR
    assert not np.array_equal(rgb, marked)
    for what, reading in readings.items():
        assert reading.payload == PAYLOAD, what
        assert reading.confidence >= 0.9, what
    assert read(rgb).payload is None  # the unmarked photo itself reads as nothing


def test_fast_haar_transforms_are_the_pywavelets_ones() -> None:
    # The embedder computes the DWT approximation with a 2x box average and its inverse with a 2x
    # nearest upscale, for speed; they must be the very transforms PyWavelets defines, or marks made
    # and read by different versions would disagree.
    import pywt
    from facegraft.provenance.watermark import haar_approximation, haar_synthesis
    for name in ("single_face.jpg", "sk:coffee"):
        work = cv2.resize(luma(photo(name)).astype(np.float32), (512, 512), interpolation=cv2.INTER_AREA)
        reference = pywt.wavedec2(work, "haar", level=1)[0]
        assert np.abs(haar_approximation(work) - reference).max() < 1e-3
        band = (reference - reference.mean()).astype(np.float32)
        inverse = pywt.idwt2((band, (None, None, None)), "haar")
        assert inverse.shape == work.shape
        assert np.abs(haar_synthesis(band) - inverse).max() < 1e-3


def test_payload_round_trip_keeps_marker_version_and_run() -> None:
    for payload in (Payload(0, 0), Payload(0x01, 0xBEEF), Payload(0xFF, 0xFFFF)):
        assert Payload.from_bytes(payload.to_bytes()) == payload
        assert read(embed(photo("0-f1-su-ph.jpg"), payload)).payload == payload
    assert Payload.from_bytes(b"\x00\x01\x02\x03") is None  # without the facegraft marker: not ours


def test_every_stamp_payload_survives_the_watermark() -> None:
    # Stamp.new draws the run id that the metadata names and the watermark carries; they must agree.
    stamps = [Stamp.new(ProvenanceConfig(consent=True)) for _ in range(32)]
    for stamp in stamps:
        carried = Payload.from_bytes(stamp.payload.to_bytes())
        assert carried == stamp.payload, (hex(stamp.payload.run_id), carried)
        assert f"run {carried.run_text}" in stamp.metadata()["Description"]


FLAT_SAMPLES = ("single_face.jpg", "0-f1-su-ph.jpg", "sk:coffee", "single_face.mp4#36", "face_noface.mov#36",
                "face_noface.mov#100")


def sample_frame(name: str) -> np.ndarray:
    if "#" not in name:
        return photo(name)
    clip, index = name.split("#")
    return video_frames(samples.path(clip), {int(index)})[0]


@pytest.mark.parametrize("still", (True, False), ids=("still", "video"))
@pytest.mark.parametrize("name", FLAT_SAMPLES)
def test_watermark_stays_under_the_threshold_of_visibility(name, still) -> None:
    # The perceptual model (luminance adaptation, summation over the chip's footprint, in-band
    # contrast masking) rates the change around every pixel in units of its threshold. Measured:
    # the 99th percentile 0.72-0.90, the largest 0.92-1.07 (rounding to whole grey levels).
    rgb = sample_frame(name)
    ratio = mark_visibility(rgb, embed(rgb, PAYLOAD, still))
    measure(f"{name} {'still' if still else 'video'}: visibility p99 {np.percentile(ratio, 99):.2f} max {ratio.max():.2f}")
    assert np.percentile(ratio, 99) <= 1.0 and ratio.max() <= 1.2


def test_a_fixed_strength_mark_shows_on_a_clear_sky(monkeypatch) -> None:
    # What the issue saw: chips of one fixed strength everywhere (the previous design, 14 on the 512
    # grid) show as a mottled grain on face_noface.mov's sky; the model has to say so.
    from facegraft.provenance import watermark
    rgb = sample_frame("face_noface.mov#100")
    shaped = mark_visibility(rgb, embed(rgb, PAYLOAD))
    analysis = watermark._analysis
    monkeypatch.setattr(watermark, "_analysis", lambda luma, layout: (analysis(luma, layout)[0], np.full(
        (layout.grid // 16, layout.grid // 16), 14.0, np.float32)))
    fixed = mark_visibility(rgb, embed(rgb, PAYLOAD))
    sky = sky_region(rgb)
    measure(f"face_noface.mov#100 sky: visibility median fixed {np.median(fixed[sky]):.2f}, shaped {np.median(shaped[sky]):.2f}")
    assert np.median(fixed[sky]) > 1.2 and np.median(shaped[sky]) < 0.9


def sky_region(rgb: np.ndarray) -> np.ndarray:
    """The bright, flat pixels of a frame (16x16 blocks under 3 grey levels of spread, over 150)."""
    y = luma(rgb)
    h, w = (y.shape[0] // 16) * 16, (y.shape[1] // 16) * 16
    blocks = y[:h, :w].reshape(h // 16, 16, w // 16, 16)
    flat = (blocks.std(axis=(1, 3)) < 3) & (blocks.mean(axis=(1, 3)) > 150)
    mask = np.zeros(y.shape, bool)
    mask[:h, :w] = np.repeat(np.repeat(flat, 16, axis=0), 16, axis=1)
    assert mask.mean() > 0.05
    return mask


def test_watermark_barely_moves_the_measured_face() -> None:
    # Outputs are analysed again (motion capture of a swap, evaluation): the mark must not move the
    # landmarks it is laid over. Measured on single_face.mp4 for these two run ids: mean shift 0.5-0.6%
    # of the inter-ocular distance (max 0.8%), jaw opening within 0.01.
    from facegraft.analysis import FaceTracker
    from facegraft.config import AnalysisConfig
    frames = video_frames(samples.path("single_face.mp4"))[:36]

    def faces(clip):
        with FaceTracker(AnalysisConfig(max_faces=1)) as tracker:
            return [tracker.update(rgb, i / 30)[0] for i, rgb in enumerate(clip)]

    plain = faces(frames)
    for payload in (PAYLOAD, Payload(0x01, 0xFFFF)):
        marked = faces([embed(rgb, payload) for rgb in frames])
        iod = np.array([np.linalg.norm(f.landmarks[468, :2] - f.landmarks[473, :2]) for f in plain])
        shift = np.array([np.linalg.norm(a.landmarks[:, :2] - b.landmarks[:, :2], axis=1).mean()
                          for a, b in zip(plain, marked)]) / iod
        jaw = np.array([[a.expression.named["jaw_open"], b.expression.named["jaw_open"]] for a, b in zip(plain, marked)])
        measure(f"run {payload.run_text}: landmark shift mean {shift.mean():.4f} max {shift.max():.4f} IOD; "
                f"jaw difference max {np.abs(jaw[:, 0] - jaw[:, 1]).max():.3f}")
        assert shift.mean() < 0.01 and shift.max() < 0.02
        assert np.abs(jaw[:, 0] - jaw[:, 1]).max() < 0.03


# --- 2. the watermark on video ---------------------------------------------------------------------


def test_swap_output_verifies(swapped_video) -> None:
    verdict = verify(swapped_video)
    assert verdict.reading.layout == layout_for(360, 640).name
    assert_verified(verdict, "swap output (CRF 20 veryfast)", min_share=0.9)
    assert verdict.confidence >= 0.9


def test_video_watermark_survives_crf32(swapped_video, tmp_path) -> None:
    attacked = reencode(swapped_video, tmp_path / "crf32.mp4", crf=32)
    # On the marked original, over 8 run ids: scores 13.7-16.4, 35-40 of 40 frames read alone.
    assert_verified(verify(attacked), "re-encode VideoWriter CRF 32 veryfast", min_share=0.75)
    assert verify(attacked).reading.payload == verify(swapped_video).reading.payload


def test_video_watermark_survives_half_size(swapped_video, tmp_path) -> None:
    attacked = reencode(swapped_video, tmp_path / "half.mp4", crf=23, scale=2)
    with VideoReader(attacked) as reader:
        assert (reader.info.width, reader.info.height) == (320, 180)
    assert_verified(verify(attacked), "half size 320x180 CRF 23")
    assert verify(attacked).reading.payload == verify(swapped_video).reading.payload


def test_video_watermark_survives_x264_default_preset_crf32(swapped_video, tmp_path) -> None:
    attacked = reencode_x264_default(swapped_video, tmp_path / "medium32.mp4", crf=32)
    assert_verified(verify(attacked), "re-encode PyAV libx264 default preset (medium) CRF 32")
    assert verify(attacked).reading.payload == verify(swapped_video).reading.payload


def test_large_video_is_marked_on_a_finer_grid_and_survives(tmp_path) -> None:
    # The samples stop at 960x540, so 1080p is face_noface.mov upscaled. On the 2048 grid its chips
    # cover as many pixels as 540p's on the 1024 grid (on a fixed grid they grew coarser and showed).
    marked = write_marked(clip_path("face_noface.mov@1920x1080", tmp_path), tmp_path / "marked.mp4", PAYLOAD)
    assert verify(marked).reading.layout == "grid 2048"
    for label, attacked in (("CRF 32", reencode(marked, tmp_path / "crf32.mp4", 32)),
                            ("half size (960x540) CRF 23", reencode(marked, tmp_path / "half.mp4", 23, scale=2))):
        verdict = verify(attacked)
        assert_verified(verdict, f"1080p {label}", min_share=0.25)
        assert verdict.reading.payload == PAYLOAD and verdict.reading.score >= 2 * Z_MIN


def carphone_marked() -> tuple[list[np.ndarray], list[np.ndarray]]:
    frames = video_frames(samples.path("carphone_pristine.mp4"))
    return frames, [embed(f, PAYLOAD) for f in frames]


def test_grid_follows_the_frame_size() -> None:
    # A chip covers about the same pixels whatever the frame size: tiny frames (carphone_pristine.mp4
    # is 176x144) get a 256 grid, 1080p a 2048 one. A frame is read on its own grid and on those of
    # frames about twice as large (a half-size copy of 1080p is read on the 2048 grid).
    assert [layout_for(h, w).grid for h, w in ((144, 176), (287, 1920), (288, 288), (360, 640), (539, 960),
                                               (540, 960), (720, 1280), (1080, 1920), (2160, 3840))] == \
        [256, 256, 512, 512, 512, 1024, 1024, 2048, 2048]
    assert [g.grid for g in layouts_to_read(540, 960)] == [256, 512, 1024, 2048]
    assert [g.grid for g in layouts_to_read(144, 176)] == [256, 512]
    frames, marked = carphone_marked()
    assert frames[0].shape[:2] == (144, 176)
    values = [psnr(a, b) for a, b in zip(frames, marked)]
    alone = sum(read(m).payload == PAYLOAD for m in marked)
    measure(f"carphone 176x144: PSNR min {min(values):.2f} mean {np.mean(values):.2f}; "
            f"read alone (lossless) {alone}/{len(frames)}")
    assert min(values) >= MIN_PSNR
    assert alone == len(frames)


@pytest.mark.parametrize("run_id", (0xBEEF, 0x0000, 0xFFFF, 0x1234))
def test_small_image_watermark_survives_jpeg70(run_id) -> None:
    # Before the weighted reading this depended on the run id (2-16 of 20 frames); now 20/20 for each.
    payload = Payload(PAYLOAD.version, run_id)
    sample = [embed(f, payload) for f in video_frames(samples.path("carphone_pristine.mp4"))[::6]]
    after_jpeg = sum(read(jpeg(m, 70)).payload == payload for m in sample)
    measure(f"carphone 176x144 run {run_id:04x} after JPEG 70: {after_jpeg}/{len(sample)}")
    assert after_jpeg >= 0.9 * len(sample)


def write_as_swap(path: Path, source: str, crf: int, speed: str) -> Path:
    """What `swap` writes: every frame through FrameMarker, encoded at the given quality."""
    marker = FrameMarker(Stamp.new(ProvenanceConfig(consent=True)))
    with VideoReader(samples.path(source)) as reader:
        with VideoWriter(path, reader.info.width, reader.info.height, reader.info.fps, crf=crf,
                         preset=speed) as writer:
            for frame in reader:
                writer.write(marker.mark(frame.rgb))
    return path


def test_small_video_output_and_reencode_verify(tmp_path) -> None:
    from facegraft.config import VideoConfig
    video = VideoConfig()
    out = write_as_swap(tmp_path / "small.mp4", "carphone_pristine.mp4", video.quality, video.speed)
    assert_verified(verify(out), f"carphone 176x144 marked, CRF {video.quality} {video.speed}", min_share=0.9)
    attacked = reencode(out, tmp_path / "crf23.mp4", crf=23)
    # Hard Reed-Solomon decoding reads almost no frame alone after this; the likelihood reading most.
    verdict, frames = verify(attacked), video_frames(attacked)
    hard = sum(_hard_decode(_bit_sums(evidence(f)["grid 256"], LAYOUTS[0])[0]) is not None for f in frames)
    measure(f"carphone CRF 23: frames read alone by hard decoding {hard}/{len(frames)}, "
            f"verdict score {verdict.reading.score:.1f}")
    # Over 16 run ids: scores 13.0-15.4, 14-37 of 40 frames read alone (hard decoding: 1-15 of all 120).
    assert_verified(verdict, "carphone re-encoded at CRF 23 veryfast", min_share=0.2)
    assert verdict.reading.payload == verify(out).reading.payload
    assert verdict.reading.score >= 1.2 * Z_MIN


@pytest.mark.xfail(strict=True, reason=(
    "tiny video (short side < 288 px) re-encoded at CRF 28 or more loses the mark: on carphone (176x144) "
    "the evidence of 40 frames scores 7-8 at CRF 28 and about 4 at CRF 32, under the detection threshold "
    "of 8.7; 25k pixels leave too little room at PSNR 40 (CRF 23 scores 13-16)"))
def test_small_video_survives_crf32(tmp_path) -> None:
    out = write_as_swap(tmp_path / "small.mp4", "carphone_pristine.mp4", 20, "veryfast")
    assert_verified(verify(reencode(out, tmp_path / "crf32.mp4", crf=32)), "carphone re-encoded at CRF 32")


# --- 3. no false positives -------------------------------------------------------------------------


def test_likelihood_tables_give_the_reed_solomon_codewords() -> None:
    # The reader scores all 2^24 payloads through two 4096-row tables, which is right only because
    # the code is linear over GF(2); every table product must be the codeword reedsolo writes.
    from reedsolo import RSCodec
    from facegraft.provenance.watermark import MARKER, PARITY_BYTES, _codeword_tables
    base, high, low = _codeword_tables()
    for x in np.random.default_rng(7).integers(0, 1 << 24, 200).tolist() + [0, (1 << 24) - 1]:
        codeword = RSCodec(PARITY_BYTES).encode(MARKER + x.to_bytes(3, "big"))
        expected = np.unpackbits(np.frombuffer(bytes(codeword), np.uint8)).astype(np.float32) * 2 - 1
        assert np.array_equal(base * high[x >> 12] * low[x & 4095], expected), hex(x)


UNMARKED_STILLS = ("single_face.jpg", "astronaut.png", "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg",
                   "45-m7-di-ph.jpg", "sk:coffee", "sk:chelsea", "sk:rocket", "sk:camera", "sk:coins", "sk:moon",
                   "sk:page", "sk:text", "sk:hubble_deep_field", "sk:immunohistochemistry", "sk:brick", "sk:grass",
                   "sk:gravel", "sk:clock", "sk:cell")
UNMARKED_CLIPS = {"no_face.mp4": 6, "face_noface.mov": 6, "single_face.mp4": 5, "carphone_pristine.mp4": 4}


def test_unmarked_images_and_frames_read_as_nothing() -> None:
    items = [(name, photo(name)) for name in UNMARKED_STILLS]
    for clip, count in UNMARKED_CLIPS.items():
        items += [(f"{clip}#{i}", f) for i, f in enumerate(spread(samples.path(clip), count))]
    assert len(items) >= 40
    grids = {layout.grid for _, rgb in items for layout in layouts_to_read(*rgb.shape[:2])}
    assert grids == {256, 512, 1024, 2048}  # every working grid is read
    positives = []
    for name, rgb in items:
        for variant, image in (("", rgb), (" jpeg70", jpeg(rgb, 70)), (" half", half(rgb))):
            reading = read(image)
            if reading.payload is not None or reading.confidence > 0:
                positives.append((name + variant, reading))
    measure(f"false positives: {len(positives)} of {3 * len(items)} reads of {len(items)} unmarked images/frames")
    assert positives == []


def test_unmarked_scores_stay_well_under_the_threshold() -> None:
    # Z_MIN rests on a bound for unmarked media: the best of the 2^24 payload scores should behave
    # like the largest of that many standard normals (about 5.8). The sum over a video's frames must
    # not inflate it: a chip's sign is the same in every frame, so static content adds up coherently.
    best = {}
    for name in UNMARKED_STILLS[::2]:
        best[name] = max(decode(v, s, threshold=0.0).score for s, v in evidence(photo(name)).items())
    for clip in UNMARKED_CLIPS:
        total = functools.reduce(lambda a, b: {k: a[k] + b[k] for k in a}, map(evidence, spread(samples.path(clip), 40)))
        best[clip] = max(decode(v, s, threshold=0.0).score for s, v in total.items())
    measure("best payload score of unmarked media: " + ", ".join(f"{k} {v:.1f}" for k, v in best.items()))
    assert max(best.values()) < Z_MIN - 1.1
    assert np.median(list(best.values())) > 4.5  # the search really covers the payloads


@pytest.mark.parametrize("name", ("single_face.mp4", "no_face.mp4", "face_noface.mov", "carphone_pristine.mp4",
                                  "single_face.jpg", "astronaut.png", "0-f15-hao-ph.jpg"))
def test_verify_original_samples_not_found(name) -> None:
    verdict = verify(samples.path(name))
    measure(f"verify {name}: found={verdict.found} frames_marked={verdict.frames_marked}/{verdict.frames_checked}")
    assert not verdict.found
    assert verdict.reading.payload is None and verdict.confidence == 0.0
    assert verdict.frames_marked == 0
    assert verdict.frames_checked == (1 if name.endswith((".jpg", ".png")) else 40)


# --- 4. verify's exit codes ------------------------------------------------------------------------


def test_verify_cli_found_exit_0(swapped_video, capsys) -> None:
    code, out, err = run_cli(capsys, "verify", swapped_video)
    assert code == 0, err
    verdict = verify(swapped_video)
    payload = verdict.reading.payload
    assert "made by facegraft" in out
    assert f"run {payload.run_text}" in out and f"version {payload.version_text}" in out
    assert re.search(r"confidence (\d\.\d\d)", out).group(1) == f"{verdict.confidence:.2f}"
    assert f"evidence score {verdict.reading.score:.1f}, found from {Z_MIN}" in out
    assert "AI-generated" in out  # the metadata note


def test_verify_cli_found_on_image_exit_0(image_outputs, capsys) -> None:
    for name in ("default.png", "topleft.jpg"):
        with Image.open(image_outputs[name]) as im:
            assert verify(image_outputs[name]).reading.layout == layout_for(im.height, im.width).name
        code, out, err = run_cli(capsys, "verify", image_outputs[name])
        assert code == 0, (name, err)
        assert "made by facegraft" in out and "confidence" in out


@pytest.mark.parametrize("name", ("no_face.mp4", "single_face.jpg"))
def test_verify_cli_unmarked_exit_1(name, capsys) -> None:
    code, out, err = run_cli(capsys, "verify", samples.path(name))
    assert code == 1, err
    assert "no facegraft watermark found" in out
    assert err == ""


@pytest.mark.parametrize("case", (
    "missing",
    "text",
    "text-named-mp4", "directory", "empty"))
def test_verify_cli_errors_exit_2(case, tmp_path, capsys) -> None:
    path = {"missing": tmp_path / "nope.mp4", "text": tmp_path / "notes.txt", "text-named-mp4": tmp_path / "notes.mp4",
            "directory": tmp_path, "empty": tmp_path / "empty.png"}[case]
    if case.startswith("text"):
        path.write_text("this is not a picture\n" * 40)
    if case == "empty":
        path.write_bytes(b"")
    code, out, err = run_cli(capsys, "verify", path)
    assert_one_line_error(code, err, expected_code=2)
    assert out == ""


# --- 5. the visible label --------------------------------------------------------------------------


def test_label_in_video_output(swapped_video) -> None:
    wanted = {0, 36, 71}
    before = video_frames(samples.path("single_face.mp4"), wanted)
    after = video_frames(swapped_video, wanted)
    assert len(after) == 3
    for index, a, b in zip(sorted(wanted), before, after):
        labelled = region_diff(a, b, "bottom-right")
        elsewhere = {c: region_diff(a, b, c) for c in ("top-left", "bottom-left")}
        measure(f"video frame {index}: label corner mean|diff| {labelled:.2f}, elsewhere {elsewhere}")
        assert labelled > LABELLED_MEAN
        assert all(v < UNTOUCHED_MEAN for v in elsewhere.values())
        # a dark box with light lettering
        rows, cols = corner_region(b.shape, "bottom-right")
        corner = luma(b[rows, cols])
        assert (corner > 200).sum() >= 50 and (corner < 40).sum() >= 300


def test_label_on_image_default_and_without(image_outputs) -> None:
    target = photo("single_face.jpg")
    labelled, plain = read_image(image_outputs["default.png"]), read_image(image_outputs["nolabel.png"])
    on = region_diff(target, labelled, "bottom-right")
    off = region_diff(target, plain, "bottom-right")
    measure(f"image label corner mean|diff|: with label {on:.2f}, --no-visible-label {off:.2f}")
    assert on > LABELLED_MEAN
    assert off < UNTOUCHED_MEAN
    for corner in ("top-left", "top-right", "bottom-left"):
        assert region_diff(target, labelled, corner) < UNTOUCHED_MEAN, corner
    verdict = verify(image_outputs["nolabel.png"])
    measure(f"verify --no-visible-label PNG: found={verdict.found} confidence={verdict.confidence:.3f}")
    assert verdict.found  # the watermark stays


def test_label_corner_top_left(image_outputs) -> None:
    target = photo("single_face.jpg")
    moved = read_image(image_outputs["topleft.jpg"])
    diffs = {c: region_diff(target, moved, c) for c in ("top-left", "top-right", "bottom-left", "bottom-right")}
    measure(f"--label-corner top-left (JPEG 95) mean|diff| per corner: {diffs}")
    assert diffs["top-left"] > LABELLED_MEAN
    assert all(diffs[c] < UNTOUCHED_MEAN for c in ("top-right", "bottom-left", "bottom-right"))


def _fonts_covering(text: str) -> list[str]:
    """Installed fonts whose character map has every character of `text` (the Last Resort font,
    which draws placeholder boxes for everything, does not count)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font
    found = []
    for path in font_manager.findSystemFonts():
        if "lastresort" in Path(path).name.lower():
            continue
        with contextlib.suppress(Exception):
            charmap = FT2Font(path).get_charmap()
            if all(ord(ch) in charmap for ch in text if not ch.isspace()):
                found.append(path)
    return found


CJK_LABEL = "AI生成"


def test_label_text_the_fonts_cannot_draw(tmp_path, capsys) -> None:
    out = tmp_path / "out.png"
    code, _, err = run_cli(capsys, "swap", "--consent", "-q", "--preset", "fast", "-s", samples.path(SOURCE),
                           "-t", samples.path("single_face.jpg"), "-o", out, "--label-text", CJK_LABEL)
    fonts = _fonts_covering(CJK_LABEL)
    measure(f"fonts covering {CJK_LABEL!r}: {fonts[:3]} ({len(fonts)})")
    if fonts:
        assert code == 0, err
        assert region_diff(photo("single_face.jpg"), read_image(out), "bottom-right") > LABELLED_MEAN
    else:
        line = assert_one_line_error(code, err)
        assert CJK_LABEL in line and "font" in line
        assert not out.exists()
    assert leftovers(tmp_path) == []


def test_label_in_another_script(tmp_path, capsys) -> None:
    # A translated label in a script the bundled DejaVu font covers (CJK depends on installed fonts,
    # tested above) is drawn, and drawn differently from the default text.
    texts = {"default": "AI-generated", "russian": "Создано ИИ"}
    corners = {}
    for name, text in texts.items():
        out = tmp_path / f"{name}.png"
        code, _, err = run_cli(capsys, "swap", "--consent", "-q", "--preset", "fast", "-s", samples.path(SOURCE),
                               "-t", samples.path("single_face.jpg"), "-o", out, "--label-text", text)
        assert code == 0, err
        image = read_image(out)
        assert region_diff(photo("single_face.jpg"), image, "bottom-right") > LABELLED_MEAN
        corners[name] = image[-60:, -200:].astype(np.int16)
    assert np.abs(corners["default"] - corners["russian"]).mean() > 3


def test_label_font_that_does_not_exist(tmp_path, capsys) -> None:
    out = tmp_path / "out.png"
    code, _, err = run_cli(capsys, "swap", "--consent", "-q", "--preset", "fast", "-s", samples.path(SOURCE),
                           "-t", samples.path("single_face.jpg"), "-o", out, "--label-font", tmp_path / "none.ttf")
    assert "font" in assert_one_line_error(code, err)
    assert not out.exists() and leftovers(tmp_path) == []


def test_label_font_without_the_characters_is_refused(tmp_path, capsys) -> None:
    from matplotlib import font_manager
    dejavu = font_manager.findfont("DejaVu Sans")
    assert dejavu not in _fonts_covering(CJK_LABEL)
    out = tmp_path / "out.png"
    code, _, err = run_cli(capsys, "swap", "--consent", "-q", "--preset", "fast", "-s", samples.path(SOURCE),
                           "-t", samples.path("single_face.jpg"), "-o", out, "--label-text", CJK_LABEL,
                           "--label-font", dejavu)
    assert "font" in assert_one_line_error(code, err)
    assert not out.exists()


# --- 6. metadata -----------------------------------------------------------------------------------


DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _says_ai_generated_by_facegraft(text: str) -> None:
    assert "AI-generated" in text, text
    assert f"facegraft {facegraft.provenance.package_version()}" in text, text
    assert DATE.search(text), text


def test_png_metadata(image_outputs) -> None:
    with Image.open(image_outputs["default.png"]) as im:
        text = dict(im.text)
    measure(f"PNG text chunks: {text}")
    _says_ai_generated_by_facegraft(text["Description"])
    assert CONSENT_TEXT in text.values()
    assert CONSENT_TEXT in text["Description"]


def test_jpeg_metadata(image_outputs) -> None:
    with Image.open(image_outputs["topleft.jpg"]) as im:
        exif = im.getexif()
    description = exif[0x010E]
    measure(f"JPEG EXIF ImageDescription: {description!r}; Software: {exif.get(0x0131)!r}")
    _says_ai_generated_by_facegraft(description)
    assert CONSENT_TEXT in description
    assert "facegraft" in exif[0x0131]
    comment = exif.get_ifd(0x8769).get(0x9286) or exif.get(0x9286)
    assert comment is not None
    payload = json.loads(bytes(comment)[8:].decode("ascii"))
    assert payload["AI-generated"] == "true" and payload["Consent"] == CONSENT_TEXT


def test_video_metadata(swapped_video) -> None:
    with av.open(str(swapped_video)) as container:
        meta = dict(container.metadata)
    measure(f"video container metadata: {meta}")
    _says_ai_generated_by_facegraft(meta["comment"])
    assert CONSENT_TEXT in meta["comment"]
    assert "AI-generated" in meta.get("description", "") and CONSENT_TEXT in meta["description"]
    assert verify(swapped_video).metadata["comment"] == meta["comment"]


# --- 7. consent ------------------------------------------------------------------------------------


def _no_work(*args, **kwargs):
    raise AssertionError("work started before the consent check")


def test_cli_refuses_without_consent_before_any_work(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(facegraft.api, "load_sources", _no_work)
    monkeypatch.setattr(facegraft.api, "probe", _no_work)
    out = tmp_path / "out.mp4"
    code, stdout, err = run_cli(capsys, "swap", "-q", "-s", samples.path(SOURCE), "-t", samples.path("single_face.mp4"),
                                "-o", out)
    assert "consent" in assert_one_line_error(code, err)
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_cli_consent_flag_reaches_the_work(tmp_path, capsys, monkeypatch) -> None:
    # The same guard with --consent: the run gets past the check (into the patched loader).
    monkeypatch.setattr(facegraft.api, "load_sources", _no_work)
    with pytest.raises(AssertionError, match="before the consent check"):
        main(["swap", "--consent", "-q", "-s", str(samples.path(SOURCE)), "-t", str(samples.path("single_face.jpg")),
              "-o", str(tmp_path / "out.png")])
    assert leftovers(tmp_path) == [] and not (tmp_path / "out.png").exists()


def test_library_refuses_without_consent(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(facegraft.api, "load_sources", _no_work)
    for settings in (Settings(), Settings(provenance=ProvenanceConfig(consent=False, visible_label=False))):
        with pytest.raises(FacegraftError, match="consent"):
            swap([samples.path(SOURCE)], samples.path("single_face.jpg"), tmp_path / "out.png", settings)
    assert list(tmp_path.iterdir()) == []
    assert ProvenanceConfig().consent is False  # refusing is the default


# --- 8. privacy: no network ------------------------------------------------------------------------


def test_video_swap_with_network_disabled(tmp_path, monkeypatch) -> None:
    clip = tmp_path / "clip.mp4"
    with VideoReader(samples.path("single_face.mp4")) as reader:
        with VideoWriter(clip, reader.info.width, reader.info.height, reader.info.fps, crf=18) as writer:
            for frame in reader:
                if frame.index >= 30:
                    break
                writer.write(frame.rgb)

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:2] or args[:1])
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    with pytest.raises(OSError):  # the guard works
        socket.create_connection(("example.com", 80), timeout=1)
    attempts.clear()

    out = tmp_path / "out.mp4"
    settings = Settings(swap=preset("fast"), provenance=ProvenanceConfig(consent=True))
    summary = swap([samples.path(SOURCE)], clip, out, settings)
    assert attempts == []
    assert summary.frames == 30 and summary.faces_swapped >= 25
    assert verify(out).found


def test_no_network_code_in_the_package() -> None:
    root = Path(facegraft.__file__).parent
    pattern = re.compile(r"^\s*(?:import|from)\s+((?:urllib|urllib3|requests|httpx|aiohttp|http|socket|ftplib|smtplib)"
                         r"\b[\w.]*)", re.MULTILINE)
    files = [p for p in root.rglob("*.py") if p != root / "samples.py"]
    assert len(files) > 20
    hits = [(str(p.relative_to(root)), m.group(1)) for p in files
            for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    # The web UI is a server (loopback by default): it listens and parses URLs, but never connects out.
    server = {("ui/http.py", "socket"), ("ui/http.py", "http.server"), ("ui/routes.py", "urllib.parse"),
              ("ui/livefeed.py", "urllib.parse")}
    assert [hit for hit in hits if hit not in server] == []
    calls = re.compile(r"urlopen|urlretrieve|requests\.(get|post)|socket\.socket|create_connection")
    assert [str(p.relative_to(root)) for p in files if calls.search(p.read_text(encoding="utf-8"))] == []


# --- 9. temporary files ----------------------------------------------------------------------------


def test_library_interrupt_leaves_nothing(tmp_path, monkeypatch) -> None:
    from facegraft.swapper import FaceSwapper
    original = FaceSwapper.swap_frame
    calls = []
    seen_temp = []

    def interrupting(self, rgb, chosen):
        calls.append(1)
        if len(calls) == 10:
            seen_temp.extend(leftovers(tmp_path))
            raise KeyboardInterrupt
        return original(self, rgb, chosen)

    monkeypatch.setattr(FaceSwapper, "swap_frame", interrupting)
    out = tmp_path / "out.mp4"
    settings = Settings(swap=preset("fast"), provenance=ProvenanceConfig(consent=True))
    with pytest.raises(KeyboardInterrupt):
        swap([samples.path(SOURCE)], samples.path("single_face.mp4"), out, settings)
    assert len(calls) == 10
    assert len(seen_temp) == 1  # the run had its temporary output open when it was interrupted
    assert not out.exists()
    assert leftovers(tmp_path) == [] and list(tmp_path.iterdir()) == []


# Ctrl-C, a service manager or the UI's cancel (SIGTERM), a closed terminal (SIGHUP): each exits 128 + signal.
STOPS = [(signal.SIGINT, 130, "interrupt"), (signal.SIGTERM, 143, "stopped by SIGTERM"),
         (signal.SIGHUP, 129, "stopped by SIGHUP")]


@pytest.mark.parametrize("signum, code, says", STOPS, ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_cli_stop_signal_leaves_nothing(signum, code, says, tmp_path) -> None:
    assert CONSOLE_SCRIPT.is_file()
    out = tmp_path / "out.mp4"
    env = {k: v for k, v in os.environ.items() if k != "FACEGRAFT_NATIVE_LOGS"}
    proc = subprocess.Popen([str(CONSOLE_SCRIPT), "swap", "--consent", "-q", "--preset", "quality",
                             "-s", str(samples.path(SOURCE)), "-t", str(samples.path("single_face.mp4")), "-o", str(out)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # A suite started in the background inherits SIGINT ignored (shell rule for
                            # `cmd &`), and Python keeps it so: give the run the terminal's default.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 20
        while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        temp = leftovers(tmp_path)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert len(temp) == 1, "no temporary output appeared within 20 s"
        time.sleep(0.3)  # let it get into the frames
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    measure(f"{signal.Signals(signum).name} run: exit {proc.returncode}, stderr {stderr!r}")
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    lines = visible_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("facegraft: error:") and says in lines[0], stderr
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


def _small_files(limit: int) -> None:
    # The process may write files of at most `limit` bytes: past it a write fails with EFBIG (the
    # kernel's signal for it ignored), the way a full disk fails with ENOSPC, and no root is needed.
    import resource
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("command, output", [("swap", "out.mp4"), ("analyze", "motion.jsonl"),
                                             ("reenact", "out.mp4")])
def test_running_out_of_room_is_one_line_and_leaves_nothing(command, output, tmp_path) -> None:
    media = {"swap": ["--consent", "--preset", "fast", "-s", samples.path(SOURCE), "-t", samples.path("single_face.mp4")],
             "analyze": [samples.path("single_face.mp4")],
             "reenact": ["--consent", "-s", samples.path(SOURCE), "--driver", samples.path("single_face.mp4")]}[command]
    proc = subprocess.run([str(CONSOLE_SCRIPT), command, "-q", *map(str, media), "-o", str(tmp_path / output)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: _small_files(60_000))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = visible_lines(proc.stderr)
    assert len(lines) == 1 and f"cannot finish writing {tmp_path / output}" in lines[0], proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_failed_run_leaves_nothing(tmp_path, capsys, monkeypatch) -> None:
    # Index first, then cut: the video opens, and the run fails mid-way, after its temp file exists.
    whole = faststart_copy("single_face.mp4", tmp_path / "whole.mp4")
    data = whole.read_bytes()
    whole.unlink()
    target = tmp_path / "cut.mp4"
    target.write_bytes(data[: int(len(data) * 0.5)])
    out = tmp_path / "out.mp4"
    with spy_on_temp_files(monkeypatch) as temps:
        code, _, err = run_cli(capsys, "swap", "--consent", "-q", "--preset", "fast", "-s", samples.path(SOURCE),
                               "-t", target, "-o", out)
    line = assert_one_line_error(code, err)
    assert "truncated" in line or "corrupt" in line
    assert len(temps) == 1 and not temps[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]
