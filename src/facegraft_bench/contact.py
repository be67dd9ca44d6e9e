"""The quality bench's contact sheet: one row per pair, so a person can look over the whole matrix at once.

A row is the pair's label, a thumbnail of the source photo, then target | output face crops at the
clip's first, middle and last frame, cropped around the target's face (the output's face sits there too).
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facegraft.analysis import analyze_image
from facegraft.io import VideoReader, atomic_output, read_image

CELL = 160  # pixels per side of each crop
GAP = 8
LABEL_WIDTH = 190
HEADER = 28
ROW_GAP = 4
MAX_BYTES = 6_000_000  # a sheet over this is stored with a 256-colour palette instead
FRAME_NAMES = ("first", "middle", "last")


@dataclasses.dataclass(frozen=True)
class TargetViews:
    """The target clip at the sheet's frames: the frame indices, their face boxes and face crops."""

    frames: tuple[int, ...]
    shape: tuple[int, int]  # height, width of the clip
    boxes: tuple[np.ndarray | None, ...]  # None: no face found there, the crop is the frame's centre
    crops: tuple[np.ndarray, ...]


@dataclasses.dataclass(frozen=True)
class Row:
    thumbnail: np.ndarray  # CELL x CELL RGB
    targets: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]
    label: tuple[str, ...]


def sheet_frames(count: int) -> tuple[int, ...]:
    return tuple(sorted({0, (count - 1) // 2, count - 1}))


def crop_around(rgb: np.ndarray, box: np.ndarray | None, size: int = CELL) -> np.ndarray:
    """A square of 1.6 face widths around `box` (the frame's centre square without one), scaled to `size`."""
    h, w = rgb.shape[:2]
    if box is None:
        cx, cy, half = w / 2, h / 2, min(w, h) / 2
    else:
        x0, y0, x1, y1 = (float(v) for v in box)
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.8 * max(x1 - x0, y1 - y0)
    # Edge padding keeps a face near the border centred instead of shifting the square.
    pad = int(np.ceil(half)) + 1
    padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    left, top = int(round(cx - half)) + pad, int(round(cy - half)) + pad
    side = max(1, int(round(2 * half)))
    square = padded[top: top + side, left: left + side]
    return np.asarray(Image.fromarray(square).resize((size, size), Image.Resampling.LANCZOS))


def largest_box(rgb: np.ndarray) -> np.ndarray | None:
    faces = analyze_image(rgb)
    return faces[0].box if faces else None


def source_thumbnail(path: Path) -> np.ndarray:
    rgb = read_image(Path(path))
    return crop_around(rgb, largest_box(rgb))


def read_frames(path: Path, wanted: Sequence[int]) -> dict[int, np.ndarray]:
    found: dict[int, np.ndarray] = {}
    with VideoReader(path) as reader:
        for frame in reader:
            if frame.index in wanted:
                found[frame.index] = frame.rgb
            if len(found) == len(set(wanted)):
                break
    return found


def target_views(clip: Path, count: int) -> TargetViews:
    frames = sheet_frames(count)
    images = read_frames(clip, frames)
    boxes = tuple(largest_box(images[i]) for i in frames)
    crops = tuple(crop_around(images[i], box) for i, box in zip(frames, boxes))
    return TargetViews(frames, images[frames[0]].shape[:2], boxes, crops)


def row(thumbnail: np.ndarray, views: TargetViews, output: Path, label: Sequence[str]) -> Row:
    images = read_frames(output, views.frames)
    blank = np.full((CELL, CELL, 3), 255, np.uint8)
    outputs = []
    h, w = views.shape
    for index, box in zip(views.frames, views.boxes):
        rgb = images.get(index)
        # The output may be one pixel larger (even sizes for H.264): cut it to the target's size.
        outputs.append(blank if rgb is None else crop_around(rgb[:h, :w], box))
    return Row(thumbnail, views.crops, tuple(outputs), tuple(label))


def sheet_size(rows: int, frames: int = len(FRAME_NAMES)) -> tuple[int, int]:
    """Width and height of a sheet of `rows` pairs."""
    width = LABEL_WIDTH + CELL + GAP + frames * (2 * CELL + GAP)
    return width, HEADER + rows * (CELL + ROW_GAP)


def compose(rows: Sequence[Row]) -> Image.Image:
    frames = max((len(r.targets) for r in rows), default=len(FRAME_NAMES))
    sheet = Image.new("RGB", sheet_size(len(rows), frames), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    draw.text((LABEL_WIDTH, 6), "source", fill="black", font=font)
    for k in range(frames):
        name = FRAME_NAMES[k] if frames == len(FRAME_NAMES) else f"frame {k}"
        draw.text((frame_x(k), 6), f"target | output, {name} frame", fill="black", font=font)
    for index, r in enumerate(rows):
        top = HEADER + index * (CELL + ROW_GAP)
        for line, text in enumerate(r.label):
            draw.text((6, top + 8 + 22 * line), text[:24], fill="black", font=font)
        sheet.paste(Image.fromarray(r.thumbnail), (LABEL_WIDTH, top))
        for k, (t, o) in enumerate(zip(r.targets, r.outputs)):
            sheet.paste(Image.fromarray(t), (frame_x(k), top))
            sheet.paste(Image.fromarray(o), (frame_x(k) + CELL, top))
    return sheet


def frame_x(k: int) -> int:
    return LABEL_WIDTH + CELL + GAP + k * (2 * CELL + GAP)


def encode(sheet: Image.Image, limit: int = MAX_BYTES) -> bytes:
    """PNG bytes: lossless when that fits in `limit`, else with an adaptive 256-colour palette."""
    data = _png(sheet)
    if len(data) <= limit:
        return data
    return _png(sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def write_sheet(rows: Sequence[Row], path: Path) -> tuple[int, int]:
    """Write the sheet PNG atomically; returns its width and height."""
    sheet = compose(rows)
    data = encode(sheet)
    with atomic_output(Path(path)) as tmp:
        tmp.write_bytes(data)
    return sheet.size
