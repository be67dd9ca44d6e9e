"""Occluders over time: a hand's mask in video that neither flickers nor lags behind the hand.

Each frame's hand silhouette comes from that frame's 21 landmarks alone (analysis/hands.py). In
video the landmarks jitter by a pixel or two and the landmarker drops a hand for a frame now and
then, so the kept region blinks: a finger shows real, then painted, then real. Per face track the
last kept mask is therefore carried into the current frame and combined with the new one. A hand
resting on the face moves with it, one held up in front of it may stay still while the head turns:
the mask is carried both ways (in the face's own coordinates, a similarity fitted to its landmarks,
and still in the frame), each only where the picture under it matches, and the better one kept.
- growing is instant: a hand arriving is kept from its first frame, a real finger is never painted;
- shrinking is slower (the old mask fades by half a frame), which calms the jittering edge (only
  near the new mask: farther off, the hand has moved away);
- a hand the landmarker lost is held, fading slowly, for a couple of frames;
- none of this holds where the target's picture changed under the old mask: there the new mask
  is followed fully, so a fast hand leaves no smear of kept pixels behind it.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

SHRINK_KEEP = 0.5  # share of last frame's mask kept where the hand's new mask is smaller
HOLD_FRAMES = 2  # frames a hand the landmarker lost is held
HOLD_KEEP = 0.97  # share kept per frame while it is held: the finger still shows, the mask barely moves
# Grey-level change (lightly blurred) under the old mask: below SAME the picture is the same
# (codec noise, the watermark), above MOVED something moved there and only the new mask counts.
SAME_LEVELS, MOVED_LEVELS = 6.0, 16.0
FORGET = 0.02  # a carried mask whose peak is below this is dropped
NEAR_SHARE = 0.015  # of the window's side (4 px on a 70 px-IOD face): how far landmark jitter moves an edge


@dataclasses.dataclass(frozen=True)
class HandMemory:
    """One face track's last kept hand mask and what the next frame needs to carry it over."""

    mask: np.ndarray  # (h, w) float32 0..1 over the face's window
    grey: np.ndarray  # (h, w) float32 the target's grey levels under it
    origin: tuple[int, int]  # x0, y0 of the window in the frame
    landmarks: np.ndarray  # (n, 2) float32 the face's landmarks in the frame
    missing: int  # frames since the landmarker last found a hand over this face


def steady_hands(now: np.ndarray, grey: np.ndarray, landmarks: np.ndarray, origin: tuple[int, int],
                 memory: HandMemory | None, found: bool) -> tuple[np.ndarray, HandMemory | None]:
    """The hand mask to use over the face's window (`now`: this frame's own, `grey`: the target's
    uint8 grey window at `origin`, `found`: whether the landmarker saw a hand over this face), and
    what to remember for the next frame (None once nothing is left to carry)."""
    grey = grey.astype(np.float32)
    landmarks = np.asarray(landmarks, np.float32)[:, :2]
    if memory is None:
        return now, (HandMemory(now, grey, origin, landmarks, 0) if now.any() else None)
    missing = 0 if found else memory.missing + 1
    keep = HOLD_KEEP if 0 < missing <= HOLD_FRAMES else SHRINK_KEEP
    carried = keep * _carried(memory, grey, landmarks, origin)
    if found:  # the landmarker says where the hand is now: only its jittering edge needs calming
        carried *= _near(now)
    mask = np.maximum(now, carried).astype(np.float32)
    if mask.max() < FORGET:
        return np.zeros_like(now), None
    return mask, HandMemory(mask, grey, origin, landmarks, missing)


def _near(mask: np.ndarray) -> np.ndarray:
    """1 on and within a few pixels of `mask`, 0 elsewhere: the band a landmark's jitter moves an
    edge by. Farther off, skin that slid in where the hand was can look like the hand did, so a
    carried mask there would leave a faint trail behind a hand that moved."""
    side = 2 * max(2, int(round(NEAR_SHARE * max(mask.shape)))) + 1
    return cv2.dilate((mask > FORGET).astype(np.uint8), np.ones((side, side), np.uint8)).astype(np.float32)


def _carried(memory: HandMemory, grey: np.ndarray, landmarks: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
    """Last frame's mask on this window, moved with the face or still in the frame, whichever the
    picture under it matches better, and only as far as it matches there."""
    with_face = _moved(memory, grey, _window_to_window(memory.landmarks, landmarks, memory.origin, origin))
    dx, dy = memory.origin[0] - origin[0], memory.origin[1] - origin[1]
    still = _moved(memory, grey, np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float32))
    return np.maximum(with_face[0] * with_face[1], still[0] * still[1])


def _moved(memory: HandMemory, grey: np.ndarray, warp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last frame's mask moved by `warp` onto this window, and 0..1 where the picture under it is the
    same as then (0 outside last frame's window: nothing is known there)."""
    h, w = grey.shape
    size = (w, h)
    mask = cv2.warpAffine(memory.mask, warp, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    then = cv2.warpAffine(memory.grey, warp, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    seen = cv2.warpAffine(np.ones(memory.grey.shape, np.float32), warp, size, flags=cv2.INTER_NEAREST, borderValue=0.0)
    # A light blur: codec noise on single pixels is not a change, a moving finger's edge is.
    change = cv2.blur(np.abs(grey - then), (3, 3))
    same = np.clip((MOVED_LEVELS - change) / (MOVED_LEVELS - SAME_LEVELS), 0.0, 1.0) * seen
    return mask, same


def _window_to_window(before: np.ndarray, now: np.ndarray, origin_before: tuple[int, int],
                      origin_now: tuple[int, int]) -> np.ndarray:
    """2x3 affine from last frame's window to this one: the face's motion between the frames, as a
    similarity fitted robustly to its landmarks (a hand over some of them may pull them aside)."""
    motion, _ = cv2.estimateAffinePartial2D(before, now, method=cv2.LMEDS)
    if motion is None:  # degenerate landmarks: assume the face stood still
        motion = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    shift_in = np.array([[1.0, 0.0, origin_before[0]], [0.0, 1.0, origin_before[1]], [0.0, 0.0, 1.0]])
    shift_out = np.array([[1.0, 0.0, -origin_now[0]], [0.0, 1.0, -origin_now[1]], [0.0, 0.0, 1.0]])
    full = shift_out @ np.vstack([motion, [0.0, 0.0, 1.0]]) @ shift_in
    return full[:2].astype(np.float32)
