"""Motion: does the output face keep the target's head pose, expression and eye and mouth shapes?"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from facegraft.analysis import Face
from facegraft.evaluate.pairing import inter_ocular
from facegraft.evaluate.statistics import column, mean_or_none, pearson, stats

POSE_AXES = ("pitch", "yaw", "roll")
EXPRESSIONS = ("eye_open_left", "eye_open_right", "jaw_open")
EYES, MOUTH = slice(36, 48), slice(48, 68)

DEFINITION = (
    "Pose error per axis (degrees), eye openness and jaw opening of target and output (Pearson correlation "
    "over time and mean absolute error), mean distance of the 68-point eye (36-47) and mouth (48-67) "
    "contours, in target inter-ocular distances (NME). Good: pose error low, correlations near 1, "
    "contour errors low."
)


@dataclasses.dataclass(frozen=True)
class MotionFrame:
    frame: int
    pitch_error: float
    yaw_error: float
    roll_error: float
    eye_open_left_target: float
    eye_open_left_output: float
    eye_open_right_target: float
    eye_open_right_output: float
    jaw_open_target: float
    jaw_open_output: float
    eye_nme: float
    mouth_nme: float
    contour_nme: float  # eyes and mouth together: the ranking for the report's motion strips


def motion_frame(index: int, target: Face, output: Face) -> MotionFrame:
    err = np.linalg.norm(output.landmarks68 - target.landmarks68, axis=1) / inter_ocular(target.landmarks68)
    pose = {f"{a}_error": angle_error(getattr(output.pose, a), getattr(target.pose, a)) for a in POSE_AXES}
    expr = {}
    for name in EXPRESSIONS:
        expr[f"{name}_target"] = float(target.expression.named[name])
        expr[f"{name}_output"] = float(output.expression.named[name])
    return MotionFrame(frame=index, **pose, **expr, eye_nme=float(err[EYES].mean()),
                       mouth_nme=float(err[MOUTH].mean()), contour_nme=float(err[36:68].mean()))


def angle_error(a: float, b: float) -> float:
    # Wrapped, so 179 and -179 degrees are 2 apart, not 358.
    return float(abs((a - b + 180.0) % 360.0 - 180.0))


def motion_aggregate(rows: Sequence[MotionFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": len(rows)}
    for axis in POSE_AXES:
        out[f"{axis}_error"] = stats(column(rows, f"{axis}_error"))
    out["pose_error_mean"] = mean_or_none([out[f"{a}_error"]["mean"] for a in POSE_AXES])
    for name in EXPRESSIONS:
        target, output = column(rows, f"{name}_target"), column(rows, f"{name}_output")
        out[f"{name}_correlation"] = pearson(target, output)
        out[f"{name}_mae"] = mean_or_none([abs(a - b) for a, b in zip(target, output)])
    for name in ("eye_nme", "mouth_nme", "contour_nme"):
        out[name] = stats(column(rows, name))
    return out
