"""Telling images from videos by their content, not their name."""

from __future__ import annotations

import enum
import warnings
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

from facegraft.errors import FacegraftError


class MediaKind(enum.Enum):
    IMAGE = "image"
    VIDEO = "video"


def check_readable(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise FacegraftError(f"{path}: no such file")
    if path.is_dir():
        raise FacegraftError(f"{path}: is a directory, expected an image or video file")
    if path.stat().st_size == 0:
        raise FacegraftError(f"{path}: file is empty")
    return path


def ignore_pillow_notes() -> None:
    """Inside `warnings.catch_warnings()`: drop the UserWarnings Pillow prints (with a line of its source)
    about damaged metadata it skips, such as "Corrupt EXIF data"; the read then works without that
    metadata or fails with a one-line error, and either way the note is clutter on the terminal."""
    warnings.filterwarnings("ignore", category=UserWarning, module="PIL")


def _is_image(path: Path) -> bool:
    try:
        with warnings.catch_warnings():
            ignore_pillow_notes()
            with Image.open(path) as im:
                # A GIF/APNG with several frames is treated as an image (its first frame).
                return im.format is not None
    except (UnidentifiedImageError, OSError, ValueError):
        return False
    except Image.DecompressionBombError:
        return True  # read_image reports the size problem with a clear message


def _has_video_stream(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            # FFmpeg will play any text file as "tty" ANSI art; that is not a video anyone means.
            if container.format.name in ("tty", "ansi"):
                return False
            # A picture size of 0 is FFmpeg guessing from the name (a text file called x.jpg); no codec
            # context is a codec FFmpeg cannot name (a cut or damaged MP4 sample description).
            return any(s.codec_context is not None and s.codec_context.width > 0 for s in container.streams.video)
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return False


def probe(path: Path) -> MediaKind:
    """Decide whether `path` holds an image or a video, or fail with a one-line reason."""
    path = check_readable(path)
    if _is_image(path):
        return MediaKind.IMAGE
    if _has_video_stream(path):
        return MediaKind.VIDEO
    raise FacegraftError(f"{path}: not a readable image or video")
