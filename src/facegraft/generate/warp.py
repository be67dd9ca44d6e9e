"""Moving a whole head in a still portrait: hair, ears and neck follow the face with a smooth
falloff, the background stays still, and what the moved head uncovers comes from a clean plate."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facegraft.analysis.segmentation import segment_person


@dataclasses.dataclass(frozen=True)
class Portrait:
    """A still portrait prepared for reenactment."""

    rgb: np.ndarray  # (h, w, 3) uint8
    person: np.ndarray  # (h, w) float32 0..1, the person (selfie segmentation)
    head: np.ndarray  # (h, w) float32 0..1: how fully each pixel moves with the head
    reach: np.ndarray  # (h, w) float32 0..1: everywhere the head shows at all, generously
    plate: np.ndarray  # (h, w, 3) uint8: the background with the person removed and filled in


def head_weight(person: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """1 on the head (face, hair, ears), fading to 0 down the neck; 0 on the background."""
    h, w = person.shape
    pts = landmarks[:468, :2]
    chin_y = float(pts[152, 1])
    face_h = float(pts[:, 1].max() - pts[:, 1].min())
    rows = np.arange(h, dtype=np.float32)[:, None]
    # Full weight down to just below the chin, none from about a face height further down.
    fade = np.clip(1.0 - (rows - (chin_y + 0.1 * face_h)) / (0.9 * face_h), 0.0, 1.0)
    face = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(pts).astype(np.int32)), 1.0)
    weight = np.maximum(person * fade, face) * np.ones((1, w), np.float32)
    return cv2.GaussianBlur(weight, (0, 0), max(1.0, 0.03 * face_h))


def clean_plate(rgb: np.ndarray, person: np.ndarray) -> np.ndarray:
    """The background without the person: inpainted at reduced size (cheap), used full size."""
    h, w = person.shape
    scale = min(1.0, 256.0 / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    # Generous: the soft edge of the mask must not leave a faint outline of the person behind.
    hole = (cv2.resize(person, small.shape[1::-1]) > 0.03).astype(np.uint8)
    hole = cv2.dilate(hole, np.ones((9, 9), np.uint8))
    filled = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(filled, (0, 0), 2.0)
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)


def prepare_portrait(rgb: np.ndarray, landmarks: np.ndarray) -> Portrait:
    person = segment_person(rgb)
    head = head_weight(person, landmarks)
    # The soft edge of the head must be replaced by the plate completely once the head has moved
    # away, or a faint outline of where it was stays behind.
    reach = cv2.dilate(np.clip(head * 4.0, 0.0, 1.0), np.ones((7, 7), np.uint8))
    return Portrait(rgb=rgb, person=person, head=head, reach=reach, plate=clean_plate(rgb, person))


def head_maps(portrait: Portrait, motion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward maps (output pixel -> portrait pixel) moving the head by the 2x3 similarity `motion`
    (portrait -> output), weighted by the head map so the background stays where it is; and the
    share of each output pixel that the old head left behind (to be filled from the plate)."""
    h, w = portrait.head.shape
    inverse = cv2.invertAffineTransform(motion.astype(np.float64))
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    src_x = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    src_y = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    # The weight is looked up where the pixel comes from, so the head's outline moves with it.
    weight = cv2.remap(portrait.head, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    map_x = xs + weight * (src_x - xs)
    map_y = ys + weight * (src_y - ys)
    # Where the head was but its moved copy does not reach, the background shows through.
    uncovered = np.clip(portrait.reach - np.clip(weight * 4.0, 0.0, 1.0), 0.0, 1.0)
    return map_x.astype(np.float32), map_y.astype(np.float32), uncovered


def warp_portrait(portrait: Portrait, map_x: np.ndarray, map_y: np.ndarray, uncovered: np.ndarray) -> np.ndarray:
    """The portrait with its head moved; the background the head uncovers comes from the plate."""
    moved = cv2.remap(portrait.rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    uncovered = uncovered[..., None]
    out = moved.astype(np.float32) * (1.0 - uncovered) + portrait.plate.astype(np.float32) * uncovered
    return (out + 0.5).astype(np.uint8)
