"""The visible "AI-generated" label: small, legible, in a corner of every output frame."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facegraft.errors import FacegraftError

CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")


@dataclasses.dataclass(frozen=True)
class LabelPatch:
    """A pre-rendered label: colour and alpha, composited onto each frame at (x, y)."""

    x: int
    y: int
    rgb: np.ndarray  # (h, w, 3) float32
    alpha: np.ndarray  # (h, w, 1) float32 0..1


@functools.cache
def _font_file(text: str, font: str | None) -> str:
    """A font that has every character of the text: the given one, else any installed one."""
    from matplotlib import font_manager
    if font:
        if not Path(font).is_file():
            raise FacegraftError(f"label font {font} does not exist")
        if not _covers(font, text):
            raise FacegraftError(f"label font {font} cannot draw every character of {text!r}")
        return font
    candidates = [font_manager.findfont("DejaVu Sans")] + sorted(font_manager.findSystemFonts())
    for path in candidates:
        if _covers(path, text):
            return path
    raise FacegraftError(f"no installed font can draw the label {text!r}; install one (e.g. fonts-noto-cjk) "
                         "or pass --label-font FILE")


def _covers(path: str, text: str) -> bool:
    try:
        from matplotlib.ft2font import FT2Font
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(ch) in charmap for ch in text if not ch.isspace())


def render_label(text: str, frame_hw: tuple[int, int], corner: str = "bottom-right", opacity: float = 0.85,
                 font: str | None = None) -> LabelPatch:
    """Text on a dark rounded box, sized to the frame (about 3.5% of its height, at least 11 px)."""
    if corner not in CORNERS:
        raise FacegraftError(f"label corner must be one of {', '.join(CORNERS)}")
    if not text.strip():
        raise FacegraftError("the label text is empty; use --no-visible-label to leave the label out")
    h, w = frame_hw
    size = max(11, round(h * 0.035))
    face = ImageFont.truetype(_font_file(text, font), size)
    left, top, right, bottom = face.getbbox(text)
    pad = max(3, size // 3)
    box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
    box_w, box_h = min(box_w, w), min(box_h, h)
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 170))
    draw.text((pad - left, pad - top), text, font=face, fill=(255, 255, 255, 255))
    rgba = np.asarray(image).astype(np.float32) / 255.0
    margin = max(4, round(h * 0.015))
    x = w - box_w - margin if corner.endswith("right") else margin
    y = h - box_h - margin if corner.startswith("bottom") else margin
    return LabelPatch(max(0, x), max(0, y), rgba[..., :3] * 255.0, rgba[..., 3:] * opacity)


def apply_label(rgb: np.ndarray, patch: LabelPatch) -> np.ndarray:
    out = rgb.copy()
    h, w = patch.rgb.shape[:2]
    region = out[patch.y:patch.y + h, patch.x:patch.x + w].astype(np.float32)
    h, w = region.shape[:2]
    mixed = region * (1.0 - patch.alpha[:h, :w]) + patch.rgb[:h, :w] * patch.alpha[:h, :w]
    out[patch.y:patch.y + h, patch.x:patch.x + w] = (mixed + 0.5).astype(np.uint8)
    return out
