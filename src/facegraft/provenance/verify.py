"""`facegraft verify`: was this file made by facegraft? Reads the watermark (and the metadata)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
from PIL import Image

from facegraft.io import MediaKind, VideoReader, probe, read_image
from facegraft.provenance.watermark import NOTHING, Z_MIN, Reading, best_reading, evidence, read

MAX_FRAMES = 40  # frames a video verdict is drawn from, spread over its length


@dataclasses.dataclass(frozen=True)
class Verdict:
    found: bool
    reading: Reading
    frames_checked: int
    frames_marked: int  # frames whose own watermark read succeeded
    metadata: dict[str, str]

    @property
    def confidence(self) -> float:
        """0 when not found; otherwise half the bits' agreement with the payload, half how clearly the
        evidence clears the threshold (twice Z_MIN, or every checked frame read alone, counts fully).
        Whether the file carries a facegraft mark at all is decided by Z_MIN alone."""
        if not self.found:
            return 0.0
        per_frame = self.frames_marked / max(self.frames_checked, 1)
        margin = min(1.0, self.reading.score / (2 * Z_MIN))
        return float(min(1.0, 0.5 * self.reading.confidence + 0.5 * max(per_frame, margin)))


def verify(path: str | Path) -> Verdict:
    path = Path(path)
    if probe(path) is MediaKind.IMAGE:
        reading = read(read_image(path))
        return Verdict(reading.payload is not None, reading, 1, int(reading.payload is not None), image_metadata(path))
    return _verify_video(path)


def _verify_video(path: Path) -> Verdict:
    with VideoReader(path) as reader:
        total = max(reader.info.frame_count, 1)
        step = max(1, total // MAX_FRAMES)
        sums: dict[str, np.ndarray] = {}
        checked = marked = 0
        for frame in reader:
            if frame.index % step or checked >= MAX_FRAMES:
                continue
            values, size = evidence(frame.rgb), frame.rgb.shape[:2]
            sums = {name: sums.get(name, 0.0) + v for name, v in values.items()}
            checked += 1
            marked += best_reading(values, size).payload is not None
    best = best_reading(sums, size) if checked else NOTHING
    return Verdict(best.payload is not None, best, checked, marked, video_metadata(path))


def image_metadata(path: Path) -> dict[str, str]:
    with Image.open(path) as im:
        found = {str(k): str(v) for k, v in getattr(im, "text", {}).items()}
        exif = im.getexif()
        for tag, key in ((0x010E, "Description"), (0x0131, "Software")):
            if tag in exif:
                found.setdefault(key, str(exif[tag]))
    return found


def video_metadata(path: Path) -> dict[str, str]:
    with av.open(str(path)) as container:
        return {str(k): str(v) for k, v in container.metadata.items()}
