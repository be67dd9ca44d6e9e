"""Hands in front of a face: found with mediapipe's hand landmarker, drawn as a silhouette.

People touch their faces all the time, and a swap that paints skin over the fingers is the most
obvious fake there is. mediapipe 0.10.21 ships a palm detector and a 21-point hand landmark model
(`mp.solutions.hands`); in video it tracks the hand from frame to frame, in stills it detects anew.

The silhouette is built from the landmarks alone, sized by the hand's own scale (wrist to the
middle finger's knuckle): a capsule per finger bone, the palm's polygon and a stub of the wrist.
It is then snapped to the picture's own edges with a guided filter in a narrow band, so the
feathered edge follows the fingers rather than the capsules.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facegraft.analysis.regions import FACE_OVAL
from facegraft.models import Models

WRIST, THUMB_CMC, INDEX_MCP, MIDDLE_MCP, RING_MCP, PINKY_MCP = 0, 1, 5, 9, 13, 17
PALM = (WRIST, THUMB_CMC, 2, INDEX_MCP, MIDDLE_MCP, RING_MCP, PINKY_MCP)
# The bones of each finger, thumb first: pairs of landmark indices.
BONES = ((1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12),
         (13, 14), (14, 15), (15, 16), (17, 18), (18, 19), (19, 20))
TIPS = (4, 8, 12, 16, 20)
# Sizes as shares of the hand's scale (wrist to middle knuckle, about 9 cm on an adult): a finger
# is about 1.8 cm wide, a thumb a little more; the capsules are drawn a little wider than that and
# the guided filter pulls the edge back onto the finger.
FINGER_RADIUS = 0.115
THUMB_RADIUS = 0.14
PALM_EDGE = 0.2  # the palm's fleshy edge (the little finger's side, the heel) lies well outside its landmarks
TIP_REACH = 0.06  # the tip landmark sits a few millimetres short of the fingertip
WRIST_STUB = 0.45  # how far the forearm is drawn past the wrist
WRIST_RADIUS = 0.28
MIN_SCALE_IOD = 0.9  # a hand with its wrist within a face and smaller than this (IOD) is the face itself
WRIST_MARGIN_IOD = 0.1  # "within": inside the face outline or less than this (IOD) outside it


@dataclasses.dataclass(frozen=True)
class Hand:
    points: np.ndarray  # (21, 2) float32 pixel coordinates in the frame
    score: float  # the landmarker's confidence that this is a hand

    @property
    def scale(self) -> float:
        return float(np.linalg.norm(self.points[MIDDLE_MCP] - self.points[WRIST]))


class HandFinder:
    """mediapipe's hand landmarker for one image or one video (it tracks between video frames).

    `models` lends its kept still-image landmarker (which this finder then does not close)."""

    def __init__(self, still: bool, models: Models | None = None):
        self._owned = not (still and models is not None)
        if self._owned:
            self._hands = (models or Models()).hand_landmarker(still)
        else:
            self._hands = models.still_hand_landmarker()

    def find(self, rgb: np.ndarray) -> tuple[Hand, ...]:
        result = self._hands.process(np.ascontiguousarray(rgb))
        if not result.multi_hand_landmarks:
            return ()
        h, w = rgb.shape[:2]
        hands = []
        for marks, handedness in zip(result.multi_hand_landmarks, result.multi_handedness):
            points = np.array([[p.x * w, p.y * h] for p in marks.landmark], np.float32)
            hands.append(Hand(points, float(handedness.classification[0].score)))
        return tuple(hands)

    def close(self) -> None:
        if self._owned:
            self._hands.close()


def hands_in_front_of(hands: tuple[Hand, ...], landmarks: np.ndarray, iod: float) -> tuple[Hand, ...]:
    """The hands that can be in front of this face (its mesh landmarks, its inter-ocular distance).

    The landmarker sometimes reads a face's own features as a hand: pursed lips and puffed cheeks on
    d9.mp4 gave "hands" in 44 of 300 frames, scored up to 0.998, whose occlusion left patches of the
    target's own mouth in the swap. Such a hand lies within the face: its wrist inside the outline
    or just outside it (0.05 IOD), and small, 0.5-0.7 IOD from wrist to middle knuckle where a real hand at the face's depth spans
    about 1.1-1.5. A hand goes only when both hold, so a real hand with its wrist on the chin stays."""
    outline = landmarks[FACE_OVAL, :2].astype(np.float32).reshape(-1, 1, 2)
    kept = []
    for hand in hands:
        wrist = tuple(float(v) for v in hand.points[WRIST])
        within = cv2.pointPolygonTest(outline, wrist, True) > -WRIST_MARGIN_IOD * iod
        if not (within and hand.scale < MIN_SCALE_IOD * iod):
            kept.append(hand)
    return tuple(kept)


def hand_silhouette(hands: tuple[Hand, ...], size: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """(h, w) uint8 0/255: the hands drawn over a window of `size` whose top-left is `origin` in the frame."""
    h, w = size
    mask = np.zeros((h, w), np.uint8)
    for hand in hands:
        scale = hand.scale
        if scale < 2.0:
            continue
        pts = hand.points - np.asarray(origin, np.float32)
        _draw_palm(mask, pts, scale)
        for a, b in BONES:
            end = _past_tip(pts, a, b, scale) if b in TIPS else pts[b]
            radius = (THUMB_RADIUS if a < INDEX_MCP else FINGER_RADIUS) * scale
            _capsule(mask, pts[a], end, radius)
    return mask


def hand_mask(hands: tuple[Hand, ...], guide: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """(h, w) float32 0..1 over `guide` (the target's RGB window): the hands, feathered and snapped
    to the picture's edges."""
    silhouette = hand_silhouette(hands, guide.shape[:2], origin)
    if not silhouette.any():
        return np.zeros(guide.shape[:2], np.float32)
    scale = max(hand.scale for hand in hands)
    radius = max(2, int(round(0.06 * scale)))
    soft = silhouette.astype(np.float32) / 255.0
    snapped = cv2.ximgproc.guidedFilter(guide, soft, radius, 1e-3 * 255 ** 2)
    # Only in a narrow band at the silhouette's edge: deep inside and far outside it stays as drawn.
    band = cv2.dilate(silhouette, _disc(radius)) > cv2.erode(silhouette, _disc(radius))
    out = np.where(band, snapped, soft)
    return np.clip(cv2.GaussianBlur(out, (0, 0), max(1.0, 0.02 * scale)), 0.0, 1.0).astype(np.float32)


def _draw_palm(mask: np.ndarray, pts: np.ndarray, scale: float) -> None:
    palm = cv2.convexHull(pts[list(PALM)].astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(mask, palm, 255, lineType=cv2.LINE_AA)
    for a, b in zip(PALM, PALM[1:] + PALM[:1]):
        _capsule(mask, pts[a], pts[b], PALM_EDGE * scale)
    towards_elbow = pts[WRIST] - pts[MIDDLE_MCP]
    _capsule(mask, pts[WRIST], pts[WRIST] + WRIST_STUB * towards_elbow, WRIST_RADIUS * scale)


def _past_tip(pts: np.ndarray, a: int, b: int, scale: float) -> np.ndarray:
    direction = pts[b] - pts[a]
    length = float(np.linalg.norm(direction))
    return pts[b] if length < 1e-3 else pts[b] + direction / length * TIP_REACH * scale


def _capsule(mask: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> None:
    thickness = max(1, int(round(2 * radius)))
    p, q = tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b)
    cv2.line(mask, p, q, 255, thickness, lineType=cv2.LINE_AA)


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
