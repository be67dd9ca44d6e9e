"""Uploads: streamed to disk under a size cap, then accepted only for what their content is.

A file's name is never trusted: what it is comes from decoding it, and where it is stored comes
from its role (source-1.jpg, target.mp4), never from the name the browser sent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import unicodedata
from pathlib import Path
from typing import BinaryIO

import av
from PIL import Image

from facegraft.errors import FacegraftError
from facegraft.generate.profile import load_profile
from facegraft.io import MediaKind, VideoReader, probe, read_image
from facegraft.io.motion import read_motion
from facegraft.ui.errors import ApiError

CHUNK = 1 << 20
KIND_WORDS = {"image": "an image", "video": "a video", "profile": "a facegraft profile (.npz)",
              "motion": "a motion file (.jsonl or .csv from facegraft analyze)"}
IMAGE_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}


@dataclasses.dataclass(frozen=True)
class Role:
    """One drop zone: what it accepts (the page says the same next to it), how many files it holds,
    and whether its photos are turned into a source profile as soon as they arrive."""

    name: str
    accepts: tuple[str, ...]  # image | video | profile | motion
    most: int = 1  # a role of one file replaces it on the next upload
    warm: bool = False
    no_face: str = ""  # what the page says when sampled frames of an upload show no face ("": not looked for)

    @property
    def multiple(self) -> bool:
        return self.most > 1


@dataclasses.dataclass(frozen=True)
class Upload:
    """What an accepted file is; `name` is the stored name, `label` the (cleaned) name the user gave."""

    name: str
    role: str
    label: str
    kind: str  # image | video | profile | motion
    width: int = 0
    height: int = 0
    frames: int = 0
    fps: float = 0.0
    duration: float = 0.0
    notice: str = ""  # shown next to the file: what the job will do with it that the user may not expect


def clean_label(name: str) -> str:
    """The user's file name, for display only: last path part, printable, at most 80 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    text = "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable()).strip()
    return (text or "file")[:80]


def receive(stream: BinaryIO, length: int | None, folder: Path, limit: int) -> Path:
    """Copy a request body of `length` bytes into a new temporary file in `folder`."""
    if length is None:
        raise ApiError(411, "the upload needs a Content-Length")
    if length > limit:
        raise ApiError(413, f"the file is {_size(length)}; the limit is {_size(limit)} (--max-upload-mb)")
    if length == 0:
        raise ApiError(400, "the file is empty")
    tmp = folder / f".upload-{secrets.token_hex(8)}"
    try:
        with open(tmp, "xb") as out:
            left = length
            while left > 0:
                chunk = stream.read(min(CHUNK, left))
                if not chunk:
                    raise ApiError(400, "the upload ended before the whole file arrived")
                out.write(chunk)
                left -= len(chunk)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp


def accept(tmp: Path, role: Role, label: str, stored_stem: str) -> tuple[Path, Upload]:
    """Identify the uploaded file by its content and move it to its stored name (or delete it)."""
    try:
        kind, suffix, facts = identify(tmp, role.accepts, label)
        final = tmp.with_name(stored_stem + suffix)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return final, Upload(final.name, role.name, label, kind, **facts)


def identify(path: Path, allowed: tuple[str, ...], label: str) -> tuple[str, str, dict]:
    """(kind, stored suffix, facts) of a file whose kind is one of `allowed`, or a 400 saying why not."""
    head = _head(path)
    if "profile" in allowed and head.startswith(b"PK\x03\x04"):
        return "profile", ".npz", _check_profile(path, label)
    if "motion" in allowed and _looks_like_text(head):
        return _check_motion(path, label)
    try:
        media = probe(path)
    except FacegraftError:
        media = None
    if media is MediaKind.IMAGE and "image" in allowed:
        return "image", _image_suffix(path), _check_image(path, label)
    if media is MediaKind.VIDEO and "video" in allowed:
        return "video", _video_suffix(path), _check_video(path, label)
    wanted = " or ".join(KIND_WORDS[k] for k in allowed)
    found = {MediaKind.IMAGE: "an image", MediaKind.VIDEO: "a video"}.get(media, "not a readable image or video")
    raise ApiError(415, f"{label}: expected {wanted}; this file is {found}")


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(64)


def _looks_like_text(head: bytes) -> bool:
    stripped = head.lstrip()
    return stripped.startswith(b"{") or stripped.lower().startswith(b"frame,")


def _check_image(path: Path, label: str) -> dict:
    try:
        rgb = read_image(path)  # decodes every pixel: a truncated or fake file fails here
    except FacegraftError as exc:
        raise ApiError(415, _relabel(exc, path, label)) from None
    return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "frames": 1}


def _check_video(path: Path, label: str) -> dict:
    try:
        with VideoReader(path) as reader:
            info = reader.info
            next(iter(reader))  # the first frame must decode
    except FacegraftError as exc:
        raise ApiError(415, _relabel(exc, path, label)) from None
    except StopIteration:
        raise ApiError(415, f"{label}: the video has no frames") from None
    return {"width": info.width, "height": info.height, "frames": info.frame_count, "fps": float(info.fps),
            "duration": float(info.duration)}


def _check_profile(path: Path, label: str) -> dict:
    try:
        load_profile(path)
    except FacegraftError as exc:
        raise ApiError(415, _relabel(exc, path, label)) from None
    return {}


def _check_motion(path: Path, label: str) -> tuple[str, str, dict]:
    suffix = ".jsonl" if path.read_bytes()[:4096].lstrip().startswith(b"{") else ".csv"
    named = path.with_name(path.name + suffix)  # read_motion tells the format by the suffix
    os.replace(path, named)
    try:
        records = read_motion(named)
    except FacegraftError as exc:
        raise ApiError(415, _relabel(exc, named, label)) from None
    except (UnicodeDecodeError, ValueError):
        raise ApiError(415, f"{label}: not a motion file") from None
    finally:
        os.replace(named, path)
    if not records:
        raise ApiError(415, f"{label}: the motion file has no face records")
    frames = max(r["frame"] for r in records) + 1
    times = sorted({r["time"] for r in records})
    duration = times[-1] if times else 0.0
    fps = (len(times) - 1) / duration if duration > 0 else 0.0
    return "motion", suffix, {"frames": frames, "fps": fps, "duration": duration}


def _image_suffix(path: Path) -> str:
    with Image.open(path) as im:
        return IMAGE_SUFFIXES.get(im.format or "", ".img")


def _video_suffix(path: Path) -> str:
    with av.open(str(path)) as container:
        names = container.format.name.split(",")
    if "mp4" in names or "mov" in names:
        return ".mp4"
    if "matroska" in names or "webm" in names:
        return ".mkv"
    return "." + (re.sub(r"[^a-z0-9]", "", names[0].lower())[:8] or "video")


def _relabel(exc: Exception, path: Path, label: str) -> str:
    """The library's one-line message, naming the user's file instead of the server's copy."""
    return str(exc).replace(str(path), label).splitlines()[0]


def _size(n: int) -> str:
    return f"{n / 1024**2:.1f} MB" if n >= 1024**2 else f"{n} bytes"
