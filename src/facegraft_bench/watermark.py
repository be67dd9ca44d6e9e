"""How well the watermark holds up: the attacks the issue names, run on the sample media.

`facegraft bench watermark` prints the report; the tests use the same attacks.
"""

from __future__ import annotations

import dataclasses
import io
import tempfile
import time
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np
from PIL import Image

from facegraft import samples
from facegraft.io import VideoReader, VideoWriter, read_image
from facegraft.provenance.verify import verify
from facegraft.provenance.perceptual import GRID_BLOCK, visibility
from facegraft.provenance.watermark import Payload, layout_for, best_reading, decode, embed, evidence, read

# The sample photos plus real photos that scikit-image ships (no download).
PHOTOS = ("single_face.jpg", "astronaut.png", "0-f1-su-ph.jpg", "45-m7-di-ph.jpg", "sk:coffee", "sk:chelsea",
          "sk:rocket", "sk:camera")
# "NAME@WxH": the first 60 frames of NAME upscaled (the samples stop at 960x540).
CLIPS = ("single_face.mp4", "face_noface.mov", "no_face.mp4", "carphone_pristine.mp4", "face_noface.mov@1920x1080")
RUN_IDS = (0xBEEF, 0x0000, 0xFFFF, 0x1234)
VIDEO_RUN_IDS = RUN_IDS[:2]  # each video run encodes six files


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def half(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def photo(name: str) -> np.ndarray:
    """A sample photo by name, or "sk:NAME" for a photo bundled with scikit-image."""
    if not name.startswith("sk:"):
        return read_image(samples.path(name))
    import skimage.data
    rgb = getattr(skimage.data, name[3:])()
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, axis=-1)
    return np.ascontiguousarray(rgb[..., :3].astype(np.uint8))


def mark_visibility(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per pixel, the mark's change in units of its threshold of visibility (the perceptual model,
    at the size the frame's grid gives a chip block)."""
    y = luma(before)
    h, w = y.shape
    return visibility(y, luma(after), GRID_BLOCK * np.sqrt(h * w) / layout_for(h, w).grid)


def reencode(src: Path, dst: Path, crf: int, scale: int = 1, preset: str = "veryfast") -> Path:
    """Decode `src` and encode it again with facegraft's writer, optionally downscaled by `scale`."""
    with VideoReader(src) as reader:
        w, h = reader.info.width // scale, reader.info.height // scale
        with VideoWriter(dst, w, h, reader.info.fps, crf=crf, preset=preset) as writer:
            for frame in reader:
                writer.write(frame.rgb if scale == 1 else cv2.resize(frame.rgb, (w, h), interpolation=cv2.INTER_AREA))
    return dst


def reencode_x264_default(src: Path, dst: Path, crf: int) -> Path:
    """What a user's own PyAV script does: libx264 with only a CRF, i.e. x264's default preset (medium)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        stream = out.add_stream("libx264", rate=vin.average_rate)
        stream.width, stream.height = vin.codec_context.width, vin.codec_context.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}
        for frame in inp.decode(vin):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def clip_path(name: str, folder: Path) -> Path:
    """A clip of CLIPS as a file: the sample itself, or its upscaled copy written into `folder`."""
    if "@" not in name:
        return samples.path(name)
    sample, size = name.split("@")
    w, h = (int(v) for v in size.split("x"))
    dst = folder / f"{Path(sample).stem}-{w}x{h}.mp4"
    if not dst.exists():
        with VideoReader(samples.path(sample)) as reader, VideoWriter(dst, w, h, reader.info.fps, crf=12) as writer:
            for frame in reader:
                if frame.index >= 60:
                    break
                writer.write(cv2.resize(frame.rgb, (w, h), interpolation=cv2.INTER_CUBIC))
    return dst


def write_marked(src: Path, dst: Path, payload: Payload, crf: int = 20, preset: str = "veryfast") -> Path:
    """Every frame of `src` watermarked and encoded as a swap writes it (default quality)."""
    with VideoReader(src) as reader:
        info = reader.info
        with VideoWriter(dst, info.width, info.height, info.fps, crf=crf, preset=preset) as writer:
            for frame in reader:
                writer.write(embed(frame.rgb, payload))
    return dst


IMAGE_ATTACKS = {"jpeg70": lambda m: jpeg(m, 70), "half": half, "half+jpeg70": lambda m: jpeg(half(m), 70)}
VIDEO_ATTACKS = {
    "crf23": lambda src, dst: reencode(src, dst, 23),
    "crf32": lambda src, dst: reencode(src, dst, 32),
    "x264-medium-crf32": lambda src, dst: reencode_x264_default(src, dst, 32),
    "half-crf23": lambda src, dst: reencode(src, dst, 23, scale=2),
    "half-crf32": lambda src, dst: reencode(src, dst, 32, scale=2),
    "crf36": lambda src, dst: reencode(src, dst, 36),
}


@dataclasses.dataclass(frozen=True)
class ImageRow:
    name: str
    still: bool
    psnr_min: float
    visibility: float  # the mark's 99th-percentile visibility (1: the threshold), worst over run ids
    found: dict[str, int]  # attack -> run ids read back exactly, out of len(RUN_IDS)
    lowest: dict[str, float]  # attack -> the lowest score of a correct reading (0 when one failed)


def image_rows() -> Iterator[ImageRow]:
    for name in PHOTOS:
        rgb = photo(name)
        for still in (True, False):
            values, flats = [], []
            found = {k: 0 for k in ("clean", *IMAGE_ATTACKS)}
            lowest = {k: float("inf") for k in found}
            for run_id in RUN_IDS:
                payload = Payload(0x01, run_id)
                marked = embed(rgb, payload, still)
                values.append(psnr(rgb, marked))
                flats.append(float(np.percentile(mark_visibility(rgb, marked), 99)))
                for attack, apply in (("clean", lambda m: m), *IMAGE_ATTACKS.items()):
                    reading = read(apply(marked))
                    found[attack] += reading.payload == payload
                    lowest[attack] = min(lowest[attack], reading.score if reading.payload == payload else 0.0)
            yield ImageRow(name, still, min(values), max(flats), found, lowest)


@dataclasses.dataclass(frozen=True)
class VideoRow:
    name: str
    attack: str
    found: int  # run ids whose payload the verdict read back exactly
    frames_alone: tuple[int, int]  # the fewest frames that read alone, of frames checked
    lowest: float  # the lowest verdict score over run ids (0 when one was not found)


def video_rows(run_ids: tuple[int, ...] = VIDEO_RUN_IDS) -> Iterator[VideoRow]:
    with tempfile.TemporaryDirectory(prefix="facegraft-bench-") as tmp:
        for name in CLIPS:
            results: dict[str, list[tuple[bool, int, int, float]]] = {}
            for run_id in run_ids:
                payload = Payload(0x01, run_id)
                marked = write_marked(clip_path(name, Path(tmp)), Path(tmp) / "marked.mp4", payload)
                outputs = {"as written (crf20)": marked}
                outputs |= {k: attack(marked, Path(tmp) / f"{k}.mp4") for k, attack in VIDEO_ATTACKS.items()}
                for label, path in outputs.items():
                    v = verify(path)
                    ok = v.reading.payload == payload
                    results.setdefault(label, []).append((ok, v.frames_marked, v.frames_checked,
                                                          v.reading.score if ok else 0.0))
            for label, rows in results.items():
                yield VideoRow(name, label, sum(r[0] for r in rows), min((r[1], r[2]) for r in rows),
                               min(r[3] for r in rows))


def false_positive_reads() -> tuple[int, int, float]:
    """Over unmarked photos and frames, as they are, after JPEG 70 and at half size: how many read
    as marked, of how many reads, and the highest payload score any of them reached (Z_MIN decides)."""
    images = [photo(name) for name in PHOTOS]
    for name in CLIPS:
        if "@" in name:
            continue
        with VideoReader(samples.path(name)) as reader:
            images += [f.rgb for f in reader if f.index % 12 == 0]
    positives = reads = 0
    highest = 0.0
    for rgb in images:
        for variant in (rgb, jpeg(rgb, 70), half(rgb)):
            values = evidence(variant)
            positives += best_reading(values, variant.shape[:2]).payload is not None
            reads += 1
            highest = max([highest] + [decode(v, name, threshold=0.0).score for name, v in values.items()])
    return positives, reads, highest



def embed_and_read_ms(size: tuple[int, int] = (640, 480), repeats: int = 40) -> tuple[float, float]:
    """Median milliseconds to watermark one frame of `size`, and to read one."""
    rgb = cv2.resize(photo("sk:coffee"), size, interpolation=cv2.INTER_AREA)
    payload = Payload(0x01, 0xBEEF)
    times: dict[str, list[float]] = {"embed": [], "read": []}
    for _ in range(repeats):
        start = time.perf_counter()
        marked = embed(rgb, payload)
        middle = time.perf_counter()
        read(marked)
        times["embed"].append(middle - start)
        times["read"].append(time.perf_counter() - middle)
    return float(np.median(times["embed"]) * 1000), float(np.median(times["read"]) * 1000)
