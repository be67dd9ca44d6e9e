"""Still images in and out, as RGB uint8 arrays, upright (EXIF orientation applied)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from facegraft.errors import FacegraftError
from facegraft.io.atomic import atomic_output
from facegraft.io.media import check_readable, ignore_pillow_notes

# 64 megapixels: well above any camera photo people swap, far below what exhausts memory.
MAX_IMAGE_PIXELS = 64_000_000
WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


def read_image(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image as an upright HxWx3 RGB uint8 array."""
    path = check_readable(Path(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            ignore_pillow_notes()
            with Image.open(path) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise FacegraftError(
                        f"{path}: image is {width}x{height}, larger than the limit of {max_pixels // 1_000_000} megapixels"
                    )
                im = ImageOps.exif_transpose(im)
                rgb = np.asarray(im.convert("RGB"))
    except FacegraftError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FacegraftError(f"{path}: image is too large to read safely "
                             f"(the limit is {max_pixels // 1_000_000} megapixels)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise FacegraftError(f"{path}: cannot read image ({exc})") from None
    if rgb.size == 0:
        raise FacegraftError(f"{path}: image has no pixels")
    return np.ascontiguousarray(rgb)


def image_format(path: Path) -> str:
    fmt = WRITE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise FacegraftError(f"{path}: unsupported image type; use one of {', '.join(sorted(WRITE_FORMATS))}")
    return fmt


def write_image(path: Path, rgb: np.ndarray, text: Mapping[str, str] | None = None,
                inputs: tuple[Path, ...] = (), quality: int = 95) -> Path:
    """Write an RGB image (or an (h, w) grey one) atomically; `text` goes into PNG text chunks or EXIF/XMP."""
    fmt = image_format(path)
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "L" if np.ndim(rgb) == 2 else "RGB")
    options: dict = {}
    if fmt == "PNG" and text:
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
        options["pnginfo"] = info
    elif text:
        exif = Image.Exif()
        # 0x010E ImageDescription, 0x0131 Software, 0x9286 UserComment hold the label in JPEG/WebP.
        exif[0x010E] = text.get("Description", "")
        exif[0x0131] = text.get("Software", "")
        # UserComment carries every key, as JSON (EXIF wants an 8-byte character code first).
        exif[0x9286] = b"ASCII\x00\x00\x00" + json.dumps(dict(text), ensure_ascii=True).encode("ascii")
        options["exif"] = exif.tobytes()
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    with atomic_output(Path(path), inputs) as tmp:
        try:
            image.save(tmp, format=fmt, **options)
        except OSError as exc:
            raise FacegraftError(f"{path}: cannot write image ({exc})") from None
    return Path(path)
