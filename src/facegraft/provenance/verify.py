"""`facegraft verify`: was this file made by facegraft? Reads the watermark (and the metadata)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
from PIL import Image

from facegraft.io import MediaKind, VideoReader, probe, read_image
from facegraft.provenance.watermark import SCHEMES, Reading, correlations, decode, read

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
        if not self.found:
            return 0.0
        per_frame = self.frames_marked / max(self.frames_checked, 1)
        return float(min(1.0, 0.5 * self.reading.confidence + 0.5 * max(per_frame, min(1.0, self.reading.strength))))


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
        sums = {name: 0.0 for name in SCHEMES}
        checked = marked = 0
        for frame in reader:
            if frame.index % step or checked >= MAX_FRAMES:
                continue
            soft = correlations(frame.rgb)
            for name in SCHEMES:
                sums[name] = sums[name] + soft[name]
            checked += 1
            marked += any(decode(v, name).payload is not None for name, v in soft.items())
    readings = [decode(total / checked, name) for name, total in sums.items()]  # frame 0 is always checked
    best = max(readings, key=lambda r: (r.payload is not None, r.confidence))
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
