"""Temporal: is the output face as steady over time as the target's, in brightness and in landmarks?"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, Sequence

import numpy as np

from facegraft.analysis import Face
from facegraft.evaluate.pairing import FaceRegion, inter_ocular
from facegraft.evaluate.statistics import column, ratio, stats

DEFINITION = (
    "Flicker = mean absolute frame-to-frame change of grey level inside the target's face oval; excess = "
    "output minus target. Jitter = RMS second difference (acceleration) of the 68 points in IOD, which "
    "ignores smooth motion; jitter_ratio = mean output jitter / mean target jitter (1: as steady as the "
    "target). Good: flicker excess near 0, jitter ratio near 1."
)


@dataclasses.dataclass(frozen=True)
class TemporalFrame:
    frame: int
    flicker_output: float
    flicker_target: float
    flicker_excess: float
    jitter_output: float | None  # None until three consecutive frames have paired faces
    jitter_target: float | None


def flicker(now: np.ndarray, before: np.ndarray, region: FaceRegion) -> float:
    mask = region.inside()
    if not mask.any():
        return 0.0
    return float(np.abs(now[region.crop][mask] - before[region.crop][mask]).mean())


def jitter(history: Sequence[np.ndarray], iod: float) -> float:
    """RMS second difference of landmark positions over three frames, in IOD."""
    a, b, c = history
    accel = a - 2 * b + c
    return float(np.sqrt((accel ** 2).sum(axis=1).mean()) / iod)


class JitterTrack:
    """The landmarks of the last two paired frames, target and output: all jitter needs to remember."""

    def __init__(self) -> None:
        self._last: collections.deque = collections.deque(maxlen=2)  # (index, target68, output68)

    def clear(self) -> None:
        self._last.clear()

    def step(self, index: int, face: Face, match: Face | None) -> tuple[float | None, float | None]:
        """(output, target) jitter at this frame; None unless the two frames before were paired too."""
        if match is None:
            self._last.clear()
            return None, None
        history = self._last
        now = (index, face.landmarks68.astype(np.float64), match.landmarks68.astype(np.float64))
        result: tuple[float | None, float | None] = (None, None)
        if len(history) == 2 and history[0][0] == index - 2 and history[1][0] == index - 1:
            iod = inter_ocular(face.landmarks68)
            result = (jitter([h[2] for h in history] + [now[2]], iod), jitter([h[1] for h in history] + [now[1]], iod))
        history.append(now)
        return result


def temporal_frame(index: int, greys: tuple[np.ndarray, np.ndarray], before: tuple[np.ndarray, np.ndarray],
                   region: FaceRegion, jitters: tuple[float | None, float | None]) -> TemporalFrame:
    """Flicker of output and target against the previous frame's (target, output) `before` greys."""
    f_out, f_tgt = flicker(greys[1], before[1], region), flicker(greys[0], before[0], region)
    return TemporalFrame(index, f_out, f_tgt, f_out - f_tgt, *jitters)


def temporal_aggregate(rows: Sequence[TemporalFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": len(rows)}
    for name in ("flicker_excess", "flicker_output", "flicker_target", "jitter_output", "jitter_target"):
        out[name] = stats(column(rows, name))
    out["jitter_ratio"] = ratio(out["jitter_output"]["mean"], out["jitter_target"]["mean"])
    return out
