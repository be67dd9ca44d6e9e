"""Background blur and replacement behind the person (`--background`).

The person/background split is the person's matte (refine.matte: selfie segmentation, refined at
hair and edges, steady over time). Compositing keeps the person's own colours in the matte's soft
edge (a fast foreground colour estimate), and the blur leaves the person out, so neither the old
background (a halo around the hair) nor the person (a ghost in the blur) leaks across.

Public surface: `Background` (the setting, `Background.parse("blur:2")`) and
`BackgroundCompositor` (one per image or video: it keeps the segmenter and the mask's history).
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import cv2
import numpy as np

from facegraft.io import read_image
from facegraft.models import Models
from facegraft.refine.matte import PersonMatte, work_size

KINDS = ("blur", "color", "image")
USAGE = "use blur[:STRENGTH], color:#RRGGBB or image:PATH"
MAX_STRENGTH = 10.0
# Default blur: a Gaussian of 1/36 of the frame's short side (20 px at 720p), about what a phone's
# portrait mode does to a room a few metres behind the person.
BLUR_SHARE = 1.0 / 36.0
BLUR_WORK_SIGMA = 4.0  # the blur runs downscaled until its sigma is this many pixels: same look, far cheaper
FOREGROUND_SHARE = 1.0 / 24.0  # neighbourhood (share of the working size) for the edge colour estimate
MEANS_SIDE = 256  # the local means are smooth: a small grid holds them
SURE_PERSON = 0.95  # matte above which a pixel is the person's own colour (below 1 - this: the background's)


@dataclasses.dataclass(frozen=True)
class Background:
    """What goes behind the person: `blur` (strength x the default), a solid `color`, or an `image`."""

    kind: str
    strength: float = 1.0
    color: tuple[int, int, int] = (0, 0, 0)
    image: Path | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"background must be one of {', '.join(KINDS)}")
        if not (math.isfinite(self.strength) and 0.0 < self.strength <= MAX_STRENGTH):
            raise ValueError(f"background blur strength must be a number above 0 and at most {MAX_STRENGTH:g}")
        if self.kind == "image" and not str(self.image or "").strip():
            raise ValueError("background image needs a path: image:PATH")

    @staticmethod
    def parse(text: str) -> "Background":
        """From the option's text; a bad value raises ValueError with one line saying what is accepted."""
        kind, colon, value = str(text).strip().partition(":")
        kind = kind.lower()
        if kind == "blur":
            return Background("blur", strength=_strength(text, value) if colon else 1.0)
        if kind in ("color", "colour"):
            return Background("color", color=_hex_colour(text, value))
        if kind == "image" and value.strip():
            return Background("image", image=Path(value.strip()).expanduser())
        raise ValueError(f"background {text!r}: {USAGE}")

    def __str__(self) -> str:
        if self.kind == "blur":
            return "blur" if self.strength == 1.0 else f"blur:{self.strength:g}"
        if self.kind == "color":
            return "color:#" + "".join(f"{c:02x}" for c in self.color)
        return f"image:{self.image}"


def _strength(text: str, value: str) -> float:
    try:
        strength = float(value)
    except ValueError:
        strength = math.nan
    if not (math.isfinite(strength) and 0.0 < strength <= MAX_STRENGTH):
        raise ValueError(f"background {text!r}: the blur strength must be a number above 0 and at most "
                         f"{MAX_STRENGTH:g} (1 is the default)")
    return strength


def _hex_colour(text: str, value: str) -> tuple[int, int, int]:
    if not re.fullmatch(r"#?[0-9a-fA-F]{6}", value.strip()):
        raise ValueError(f"background {text!r}: write the colour as #RRGGBB (six hex digits, e.g. color:#00ff00)")
    digits = value.strip().lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


class BackgroundCompositor:
    """Puts the new background behind the person, frame after frame; one per image or video.

    `person(frame)` is the target frame's person mask (in video steadied against the frames
    before it, so call it once per frame, in order); `apply(output, mask)` composites the swapped
    frame. `composite(frame, output)` does both. The image of `image:PATH` is read here, so a
    missing or unreadable file fails before any work.
    """

    def __init__(self, setting: Background, models: Models | None = None, video: bool = True):
        self.setting = setting
        self._image = read_image(setting.image) if setting.kind == "image" else None
        self._covers: dict[tuple[int, int], np.ndarray] = {}
        self._matte = PersonMatte(models, video)

    def person(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w) float32: 1 on the person, 0 on the background, soft at hair and edges."""
        return self._matte(rgb)

    def apply(self, rgb: np.ndarray, person: np.ndarray) -> np.ndarray:
        back = self._backdrop(rgb, person)
        fore = _foreground_colours(rgb, person)
        # blendLinear divides by the weights' sum, so a weight of exactly 1 keeps the pixel as it was.
        return cv2.blendLinear(fore, back, person, 1.0 - person)

    def composite(self, frame: np.ndarray, output: np.ndarray) -> np.ndarray:
        """`output` (the swapped `frame`) with the new background behind the person of `frame`."""
        return self.apply(output, self.person(frame))

    def _backdrop(self, rgb: np.ndarray, person: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if self.setting.kind == "color":
            return np.full((h, w, 3), self.setting.color, np.uint8)
        if self.setting.kind == "image":
            if (h, w) not in self._covers:
                self._covers = {(h, w): cover(self._image, w, h)}  # one size per video
            return self._covers[(h, w)]
        return background_blur(rgb, person, self.setting.strength)

    def close(self) -> None:
        self._matte.close()

    def __enter__(self) -> "BackgroundCompositor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` scaled to cover width x height, keeping its aspect, centred and cropped."""
    ih, iw = image.shape[:2]
    scale = max(width / iw, height / ih)
    sw, sh = max(width, round(iw * scale)), max(height, round(ih * scale))
    scaled = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x0, y0 = (sw - width) // 2, (sh - height) // 2
    return np.ascontiguousarray(scaled[y0:y0 + height, x0:x0 + width])


def background_blur(rgb: np.ndarray, person: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """The background blurred as a camera's portrait mode would, with the person left out of it.

    A mask-weighted (normalised) blur: sum(weight * pixel) / sum(weight) over the Gaussian, the
    weight 0 on and just around the person, so no skin or hair colour smears into the background.
    Runs downscaled: a blur this wide has nothing left that the small size would lose.
    """
    h, w = rgb.shape[:2]
    sigma = strength * BLUR_SHARE * min(h, w)
    factor = max(1.0, sigma / BLUR_WORK_SIGMA)
    size = (max(8, round(w / factor)), max(8, round(h / factor)))
    small_sigma = sigma * size[0] / w
    weight = cv2.resize(person, size, interpolation=cv2.INTER_AREA)
    # A working pixel that is half person is person: the model's edge can sit a little inside the hair.
    weight = np.clip(1.0 - 2.0 * cv2.dilate(weight, np.ones((3, 3), np.uint8)), 0.0, 1.0)
    image = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    num = cv2.GaussianBlur(image * weight[..., None], (0, 0), small_sigma)
    den = cv2.GaussianBlur(weight, (0, 0), small_sigma)[..., None]
    plain = cv2.GaussianBlur(image, (0, 0), small_sigma)
    # Deep inside a large person no background is near: any value does (the person covers it).
    blurred = np.where(den > 1e-3, num / np.maximum(den, 1e-3), plain)
    # Scaled up as 8-bit: a third of the float cost, and a blur this smooth has no steps to lose.
    small_u8 = np.clip(blurred + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(small_u8, (w, h), interpolation=cv2.INTER_LINEAR)


def _foreground_colours(rgb: np.ndarray, person: np.ndarray) -> np.ndarray:
    """The person's own colour where the mask is soft: there a pixel mixes hair and old background,
    and pasting it as it is over a new background leaves a halo of the old one.

    One pass of blur-fusion (Forte and Pitie, 2021): the local person and background colours F^, B^
    (mask-weighted means), then F = F^ + a (I - a F^ - (1 - a) B^), which puts back in F what the
    pixel holds beyond the mix the two means predict. Only the soft band is touched.
    """
    band = (person > 0.02) & (person < 0.98)
    if not band.any():
        return rgb
    h, w = rgb.shape[:2]
    small = work_size(rgb, MEANS_SIDE).astype(np.float32)
    size = (small.shape[1], small.shape[0])
    alpha = cv2.resize(person, size, interpolation=cv2.INTER_AREA)
    k = max(3, round(max(size) * FOREGROUND_SHARE)) | 1
    # The means take only the sure pixels: the soft band itself is the mix being taken apart.
    mean_f = _weighted_mean(small, (alpha > SURE_PERSON).astype(np.float32), k)
    mean_b = _weighted_mean(small, (alpha < 1.0 - SURE_PERSON).astype(np.float32), k)
    ys, xs = np.nonzero(band)
    scale_x, scale_y = size[0] / w, size[1] / h
    # The smooth means are looked up at each band pixel's position on the working grid.
    sx = np.clip(((xs + 0.5) * scale_x - 0.5).round().astype(int), 0, size[0] - 1)
    sy = np.clip(((ys + 0.5) * scale_y - 0.5).round().astype(int), 0, size[1] - 1)
    a = person[ys, xs][:, None]
    f_hat, b_hat = mean_f[sy, sx], mean_b[sy, sx]
    pixel = rgb[ys, xs].astype(np.float32)
    fore = f_hat + a * (pixel - a * f_hat - (1 - a) * b_hat)
    out = rgb.copy()
    out[ys, xs] = np.clip(fore + 0.5, 0, 255).astype(np.uint8)
    return out


def _weighted_mean(image: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    total = cv2.blur(weight, (k, k))[..., None]  # cv2 drops a trailing axis of 1, so it is put back
    return cv2.blur(image * weight[..., None], (k, k)) / np.maximum(total, 1e-4)
