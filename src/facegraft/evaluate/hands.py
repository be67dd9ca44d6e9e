"""Hands over the face: did the swap keep the target's fingers in front, or paint skin over them?

The hands are looked for in the target, never in the output (fingers painted over there would no
longer be found): mediapipe's hand landmarker (analysis/hands.py), detecting anew in a still image
and tracking from frame to frame in a video. Where the core of a hand lies over the target's largest
face, the output should show the target's own pixels.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import cv2
import numpy as np

from facegraft.analysis.hands import Hand, hand_silhouette
from facegraft.evaluate.pairing import FaceRegion
from facegraft.evaluate.statistics import stats

CORE_ERODE = 15  # px, the erosion's side: the silhouette loses 7 px all round, its soft edge and outline error
MIN_OVERLAP = 0.005  # share of the face outline the hand's core must cover for a frame to count
CHANGE_LEVELS = 25  # grey levels: a kept pixel moves by a few (watermark, compression); painted skin by tens
LIMIT = 0.05  # at most this share of the hand's pixels over the face may change (issue 16)
NO_HAND = "no hand over the face"

DEFINITION = (
    "Hands over the face: where the target shows a hand in front of the face, the output must keep the hand "
    "rather than paint the new face's skin over the fingers, the most obvious sign of a fake. The hands are found "
    "in the target, not the output (mediapipe's hand landmarker: detected anew in a still image, tracked from "
    "frame to frame in a video). Each hand's outline is shrunk by 7 pixels all round (a 15x15 erosion), so only "
    "pixels surely on the hand count, and cut to the outline of the target's largest face. A frame counts when "
    f"this hand core covers at least {MIN_OVERLAP:.1%} of the face outline. hand_painted_share = the share of "
    f"those pixels whose grey level differs between output and target by more than {CHANGE_LEVELS} levels "
    "(a kept pixel moves by a few levels with the watermark and compression; skin painted over a finger by "
    "tens). A video reports the median over the frames with a hand over the face, a still its one value. "
    f"Limit: at most {LIMIT:.2f} ({LIMIT:.0%}); above it, fingers are visibly painted over. When no frame has "
    f"a hand over the face nothing is measured ('{NO_HAND}', null in the JSON): that is neither a pass nor 0."
)


@dataclasses.dataclass(frozen=True)
class HandFrame:
    frame: int
    hands: int  # hands found in the target frame
    face_pixels: int  # pixels inside the target face's outline
    hand_pixels: int  # of those, under a hand's core
    painted_share: float | None  # None: no hand over the face in this frame (under MIN_OVERLAP)


def hand_frame(index: int, hands: Sequence[Hand], t_grey: np.ndarray, o_grey: np.ndarray,
               region: FaceRegion) -> HandFrame:
    oval = region.inside()
    t, o = t_grey[region.crop], o_grey[region.crop]
    face_pixels = int(oval.sum())
    if not hands or face_pixels == 0 or t.shape != oval.shape:
        return HandFrame(index, len(hands), face_pixels, 0, None)
    rows, cols = region.crop
    silhouette = hand_silhouette(tuple(hands), oval.shape, (cols.start, rows.start))
    # The crop pads the face by 30% of its size, more than the erosion's 7 px on any face over 24 px,
    # so pixels inside the outline erode as they would in the whole frame.
    core = cv2.erode(silhouette, np.ones((CORE_ERODE, CORE_ERODE), np.uint8)) > 0
    over = core & oval
    hand_pixels = int(over.sum())
    if hand_pixels == 0 or hand_pixels < MIN_OVERLAP * face_pixels:
        return HandFrame(index, len(hands), face_pixels, hand_pixels, None)
    changed = np.abs(o[over] - t[over]) > CHANGE_LEVELS
    return HandFrame(index, len(hands), face_pixels, hand_pixels, float(changed.mean()))


def hands_aggregate(rows: Sequence[HandFrame], still: bool) -> dict[str, Any]:
    measured = [r.painted_share for r in rows if r.painted_share is not None]
    share = float(np.median(measured)) if measured else None
    passed = None if share is None else share <= LIMIT
    return {
        "hand_painted_share": share,  # the median over the frames with a hand over the face; a still's one value
        "limit": LIMIT,
        "passed": passed,
        "verdict": NO_HAND if passed is None else ("pass" if passed else "fail"),
        "painted_share": stats(measured),
        "painted_share_max": max(measured) if measured else None,
        "frames_with_target_face": len(rows),
        "frames_with_hands": sum(r.hands > 0 for r in rows),
        "frames_with_hand_over_face": len(measured),
        "detection": "still image" if still else "tracking",
    }


def summary_note(aggregate: dict[str, Any]) -> str:
    """The verdict beside the number: pass or fail against the limit, over how many frames."""
    if aggregate.get("hand_painted_share") is None:
        return NO_HAND
    frames = aggregate["frames_with_hand_over_face"]
    over = "1 frame" if frames == 1 else f"median of {frames} frames"
    return f"{aggregate['verdict']}, limit {aggregate['limit']:.2f}, {over}"
