"""Pictures of the masks a swap used (`--debug-masks`): each mask tinted over the frame, and as grey.

The frame goes to dimmed grey under the tints, so a tint's colour reads as that mask and nothing
else; each mask's half-way line is drawn in its own colour too, as a soft mask's extent is hard to
judge from a tint alone. Later masks are drawn over earlier ones: the person matte first (it is
the largest), the hands last (what a swap must never paint over).
"""

from __future__ import annotations

import cv2
import numpy as np

# name -> (RGB tint, legend text), in drawing order.
TINTS = {
    "person": ((40, 110, 255), "blue: person"),
    "alpha": ((40, 220, 60), "green: face blend"),
    "occluders": ((255, 210, 0), "yellow: occluders, glasses"),
    "hands": ((255, 30, 60), "red: hands"),
}
STRENGTH = 0.55  # how far a full mask pulls its pixels toward its tint
DIM = 0.6  # the frame's grey is dimmed so the tints stand out


def grey_mask(mask: np.ndarray) -> np.ndarray:
    """(h, w) uint8: a 0..1 mask as grey levels 0..255."""
    return np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)


def mask_overlay(frame: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """(h, w, 3) uint8: `frame` (RGB) in dimmed grey with each of `masks` (names from TINTS, full-frame
    0..1 float arrays) tinted over it and outlined, with a legend of the masks shown."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) * DIM
    view = np.repeat(grey[..., None], 3, axis=2)
    shown = [name for name in TINTS if name in masks]
    for name in shown:
        weight = (STRENGTH * np.clip(masks[name], 0.0, 1.0))[..., None]
        view += weight * (np.asarray(TINTS[name][0], np.float32) - view)
    view = np.clip(view + 0.5, 0, 255).astype(np.uint8)
    for name in shown:
        outline, _ = cv2.findContours((masks[name] >= 0.5).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(view, outline, -1, TINTS[name][0], 1, lineType=cv2.LINE_AA)
    _legend(view, [TINTS[name] for name in shown])
    return view


def _legend(view: np.ndarray, entries: list[tuple[tuple[int, int, int], str]]) -> None:
    # Sized to the frame, so it stays legible on a 4K frame and fits a small one.
    scale = max(0.35, view.shape[0] / 900)
    line = int(round(22 * scale / 0.6))
    for row, (colour, text) in enumerate(entries):
        origin = (8, 8 + line * (row + 1) - line // 4)
        cv2.putText(view, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(view, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
