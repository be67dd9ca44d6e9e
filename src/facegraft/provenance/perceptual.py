"""When a change to a picture can be seen: a contrast-masking model of the eye, sized for the watermark.

The mark is a coarse pattern: an 8x8 block of the DWT band spans 16 pixels of the working grid, and
its chips have periods of one to four of those. The threshold of visibility of such a pattern,
as the RMS change of luminance (grey levels) around each pixel:

- Luminance adaptation: the pixel-domain JND curve of Chou & Li (1995) on the local background.
  A flat mid-grey patch hides 3 grey levels, darker ones much more, brighter ones a little more.
  (Halving the dark relief made a dark blue sky look calmer at 200%, but x264 at CRF 32 then kept
  too little of the mark: single_face.mp4 scored 9.2-10.3 against the threshold of 8.7.)
- Spatial summation: that curve is for one pixel; a pattern spread over a block's worth of pixels
  (about 200) is seen at about 200^(-1/4) = 0.26 of it (probability summation, Minkowski beta 4,
  as in Watson's DCT model).
- Contrast masking: content in the mark's own band raises the threshold by (C / T)^0.7 once it is
  above threshold (Legge & Foley 1980). Only that band masks: hair or film grain, much finer than
  the pattern, hide little of it. A mask made from all of the picture's texture over-promised.

Where nothing masks (a white door, a clear sky) the allowance is under one grey level.
"""

from __future__ import annotations

import cv2
import numpy as np

SUMMATION = 0.26  # a block-sized pattern's threshold over a single pixel's
MASKING_EXPONENT = 0.7
GRID_BLOCK = 16.0  # pixels of the working grid one 8x8 block of the DWT band covers


def luminance_threshold(luma: np.ndarray) -> np.ndarray:
    """Chou & Li's just-noticeable difference (grey levels) against each pixel's background."""
    background = cv2.blur(luma, (5, 5))
    dark = 17.0 * (1.0 - np.sqrt(np.clip(background, 0, 127) / 127.0)) + 3.0
    bright = 3.0 / 128.0 * (background - 127.0) + 3.0
    return np.where(background <= 127, dark, bright).astype(np.float32)


def band_contrast(luma: np.ndarray, block: float) -> np.ndarray:
    """Local RMS of the picture in the mark's band: periods of about one to four blocks."""
    band = cv2.GaussianBlur(luma, (0, 0), 0.12 * block) - cv2.GaussianBlur(luma, (0, 0), 0.5 * block)
    return np.sqrt(cv2.GaussianBlur(band * band, (0, 0), 0.5 * block))


def allowance(luma: np.ndarray, block: float = GRID_BLOCK) -> np.ndarray:
    """Per pixel (float32 luma in), the RMS change of a pattern of `block`-pixel blocks that stays unseen.

    The smallest allowance nearby wins, so a flat patch inside texture keeps its own low one."""
    threshold = cv2.GaussianBlur(SUMMATION * luminance_threshold(luma), (0, 0), 0.5 * block)
    masked = threshold * np.maximum(1.0, (band_contrast(luma, block) / threshold) ** MASKING_EXPONENT)
    size = max(3, int(block / 2) | 1)
    return cv2.blur(cv2.erode(masked, np.ones((size, size), np.uint8)), (size, size))


def least_allowance_per_block(luma: np.ndarray, block: float, n: int) -> np.ndarray:
    """(n, n): the smallest allowance over each of n x n blocks tiling the picture, a block being
    `block` pixels. Worked out on a copy shrunk to 6 pixels a block: the allowance is smooth at that
    scale, and at full size a 1080p frame cost tens of milliseconds per grid."""
    h, w = luma.shape
    shrink = max(1.0, block / 6.0)
    small = cv2.resize(luma, (max(8, round(w / shrink)), max(8, round(h / shrink))), interpolation=cv2.INTER_AREA)
    unseen = allowance(small, block / shrink)
    sh, sw = small.shape
    bh, bw = max(1, -(-sh // n)), max(1, -(-sw // n))
    tiles = cv2.resize(unseen, (n * bw, n * bh), interpolation=cv2.INTER_LINEAR)
    return tiles.reshape(n, bh, n, bw).min(axis=(1, 3))


def local_change(before: np.ndarray, after: np.ndarray, block: float) -> np.ndarray:
    """The RMS change around each pixel, over about a block."""
    d = after.astype(np.float32) - before.astype(np.float32)
    return np.sqrt(cv2.GaussianBlur(d * d, (0, 0), 0.35 * block))


def visibility(before: np.ndarray, after: np.ndarray, block: float) -> np.ndarray:
    """Per pixel, the change in units of its threshold of visibility (luma in; over 1: can be seen)."""
    before = before.astype(np.float32)
    return local_change(before, after, block) / allowance(before, block)
