"""Blending: does the pasted face end without a visible seam, in the target's skin tone?"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from facegraft.analysis import Face
from facegraft.evaluate.pairing import FaceRegion
from facegraft.evaluate.statistics import column, stats

CHEEKS = (205, 425)  # mesh vertices in the middle of the right and left cheek

DEFINITION = (
    "The edge energy (mean squared Sobel magnitude) the output adds to the target, i.e. of output - target, "
    "on a ring across the target's face oval (the mesh outline, where a pasted or masked face ends; "
    "`seam_width` of the face size wide): relative to the target's own edge energy on that ring (seam_ratio; "
    "0: nothing added) and in its face interior (seam_contrast). Skin: CIEDE2000 between the output's and "
    "the target's cheeks (same place, same light: does the swap keep the target's tone), and from each to "
    "the target's neck just below the chin, which no swap touches (neck_delta_e_excess: how much further "
    "from the neck colour the face has moved). Good: seam ratio low (0: none; a hard paste ~0.2), skin "
    "delta E low (< 3 hard to see), neck excess near 0 or below."
)


@dataclasses.dataclass(frozen=True)
class BlendingFrame:
    frame: int
    seam_ratio: float  # added edge energy on the outline ring / the target's own there (0: no seam)
    seam_contrast: float  # the same / the target's edge energy in the face interior
    skin_delta_e: float | None  # None where a cheek lies outside the frame
    neck_delta_e_output: float | None  # None where the neck lies outside the frame
    neck_delta_e_target: float | None


def gradient_energy(grey_crop: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(grey_crop, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey_crop, cv2.CV_32F, 0, 1, ksize=3)
    return gx * gx + gy * gy


def seam_measures(t_grey: np.ndarray, o_grey: np.ndarray, region: FaceRegion,
                  seam_width: float) -> tuple[float, float]:
    """(seam_ratio, seam_contrast): edge energy the output adds on the outline ring, relative to
    the target's own edge energy on that ring and to the target's face interior.

    The added edges are those of output - target. Comparing the output's ring energy with the
    target's directly fails where the outline is a natural edge (face against a bright wall): a
    brighter pasted face lowers that step, and the seam would score as smoother than no seam.
    """
    ring, interior = region.ring(seam_width), region.inside(0.15)
    if not ring.any() or not interior.any():
        return math.nan, math.nan
    crop = region.crop
    added = gradient_energy(o_grey[crop] - t_grey[crop])
    own = gradient_energy(t_grey[crop])
    eps = 1e-6  # a flat synthetic ring would otherwise divide by zero
    seam = float(added[ring].mean())
    return seam / (float(own[ring].mean()) + eps), seam / (float(own[interior].mean()) + eps)


def skin_lab(rgb: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray | None:
    """Median CIELAB colour of disks around `centres`; None when a disk is mostly outside the frame."""
    h, w = rgb.shape[:2]
    r = max(radius, 1.5)
    samples = []
    for cx, cy in centres:
        x0, y0 = int(max(0, cx - r)), int(max(0, cy - r))
        x1, y1 = int(min(w, cx + r + 1)), int(min(h, cy + r + 1))
        if x1 <= x0 or y1 <= y0:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disk = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        if disk.sum() < 0.5 * math.pi * r * r:
            return None
        samples.append(rgb[y0:y1, x0:x1][disk])
    pixels = np.concatenate(samples).astype(np.float64)[None] / 255.0
    return np.median(rgb2lab(pixels)[0], axis=0)


def delta_e(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    if a is None or b is None:
        return None
    return float(deltaE_ciede2000(a[None], b[None])[0])


def neck_centre(face: Face, size: float) -> np.ndarray:
    """A point below the chin, along the face's own down direction (so a tilted head works)."""
    bridge, chin = face.landmarks68[27], face.landmarks68[8]
    down = (chin - bridge) / max(float(np.linalg.norm(chin - bridge)), 1e-6)
    return chin + down * 0.12 * size


def skin_measures(t_rgb: np.ndarray, o_rgb: np.ndarray, face: Face,
                  size: float) -> tuple[float | None, float | None, float | None]:
    cheeks = face.landmarks[list(CHEEKS), :2]
    t_cheek, o_cheek = skin_lab(t_rgb, cheeks, 0.06 * size), skin_lab(o_rgb, cheeks, 0.06 * size)
    neck = skin_lab(t_rgb, neck_centre(face, size)[None], 0.05 * size)
    return delta_e(o_cheek, t_cheek), delta_e(o_cheek, neck), delta_e(t_cheek, neck)


def blending_frame(index: int, t_rgb: np.ndarray, o_rgb: np.ndarray, greys: tuple[np.ndarray, np.ndarray],
                   face: Face, region: FaceRegion, seam_width: float) -> BlendingFrame:
    seam_ratio, seam_contrast = seam_measures(greys[0], greys[1], region, seam_width)
    skin, neck_out, neck_tgt = skin_measures(t_rgb, o_rgb, face, region.size)
    return BlendingFrame(index, seam_ratio, seam_contrast, skin, neck_out, neck_tgt)


def blending_aggregate(rows: Sequence[BlendingFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": len(rows)}
    for name in ("seam_ratio", "seam_contrast", "skin_delta_e",
                 "neck_delta_e_output", "neck_delta_e_target"):
        out[name] = stats(column(rows, name))
    out_neck, tgt_neck = out["neck_delta_e_output"]["mean"], out["neck_delta_e_target"]["mean"]
    out["neck_delta_e_excess"] = out_neck - tgt_neck if out_neck is not None and tgt_neck is not None else None
    return out
