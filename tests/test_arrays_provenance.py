"""Provenance, array in and array out, on photos that ship inside scikit-image (no fetched media):
the invisible watermark round-trips its payload, and the visible label changes only its corner."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegraft.config import ProvenanceConfig
from facegraft.errors import FacegraftError
from facegraft.provenance import FrameMarker, Stamp, require_consent
from facegraft.provenance.label import CORNERS, apply_label, render_label
from facegraft.provenance.watermark import MIN_PSNR, Z_MIN, Payload, embed, read

PAYLOAD = Payload(version=0x01, run_id=0xBEEF)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


@pytest.mark.parametrize("still", [True, False], ids=["still", "video"])
def test_watermark_round_trips_on_the_astronaut(astronaut, still):
    marked = embed(astronaut, PAYLOAD, still)
    assert marked.shape == astronaut.shape and marked.dtype == np.uint8
    assert psnr(marked, astronaut) >= MIN_PSNR
    assert np.abs(marked.astype(int) - astronaut).max() <= 16  # invisible: no pixel moves far
    reading = read(marked)
    assert reading.payload == PAYLOAD and reading.score >= Z_MIN and reading.confidence > 0.9
    # What a still has to survive: JPEG at quality 70 and a half-size copy.
    for copy in (jpeg(marked, 70), cv2.resize(marked, (256, 256), interpolation=cv2.INTER_AREA)):
        assert read(copy).payload == PAYLOAD


def test_two_runs_are_told_apart(chelsea):
    other = Payload(version=0x01, run_id=0x1234)
    assert read(embed(chelsea, other, still=True)).payload == other
    assert read(embed(chelsea, PAYLOAD, still=True)).payload == PAYLOAD


def test_unmarked_photos_read_as_nothing(astronaut, cameraman, chelsea):
    for rgb in (astronaut, cameraman, chelsea, jpeg(astronaut, 70)):
        reading = read(rgb)
        assert reading.payload is None and reading.score < Z_MIN


@pytest.mark.parametrize("corner", CORNERS)
def test_label_changes_only_its_corner(astronaut, corner):
    patch = render_label("AI-generated", astronaut.shape[:2], corner)
    out = apply_label(astronaut, patch)
    h, w = patch.rgb.shape[:2]
    inside = np.zeros(astronaut.shape[:2], bool)
    inside[patch.y:patch.y + h, patch.x:patch.x + w] = True
    assert not changed(out, astronaut)[~inside].any()
    assert changed(out, astronaut)[inside].mean() > 0.3
    # Legible: about 3.5% of the frame's height, in the corner it was asked for, with white text.
    assert 11 <= h <= 40 and w < 256
    near_right, near_bottom = patch.x + w > 512 - 40, patch.y + h > 512 - 40
    assert near_right == corner.endswith("right") and near_bottom == corner.startswith("bottom")
    assert (out[inside].min(axis=1) > 200).sum() > 50


def test_frame_marker_labels_and_watermarks_one_frame(astronaut):
    stamp = Stamp.new(ProvenanceConfig(consent=True))
    marker = FrameMarker(stamp)
    marker.check()
    out = marker.mark(astronaut, still=True)
    assert read(out).payload == stamp.payload
    patch = render_label("AI-generated", astronaut.shape[:2], "bottom-right")
    corner = np.zeros(astronaut.shape[:2], bool)
    corner[patch.y:, patch.x:] = True
    # The label's box differs a lot; elsewhere only the watermark's slight change.
    diff = np.abs(out.astype(int) - astronaut).max(axis=2)
    assert diff[corner].max() > 100 and diff[~corner].max() <= 16
    unlabelled = FrameMarker(Stamp.new(ProvenanceConfig(consent=True, visible_label=False))).mark(astronaut, still=True)
    assert np.abs(unlabelled.astype(int) - astronaut).max() <= 16


def test_nothing_is_made_without_consent():
    with pytest.raises(FacegraftError, match="consent"):
        require_consent(ProvenanceConfig())
    require_consent(ProvenanceConfig(consent=True))
