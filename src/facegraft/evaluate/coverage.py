"""Coverage: was the target face swapped in every frame that has one?"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

DEFINITION = (
    "A frame with a target face is missed when the output has no face there or, on the frames with "
    "descriptors, the face is still the target's (distance < unchanged_distance). missed_rate = 1 - "
    "P(output face) * P(identity changed | checked), the second factor estimated on the frames with "
    "descriptors. Good: a missed rate of 0."
)


@dataclasses.dataclass(frozen=True)
class CoverageFrame:
    frame: int
    output_face: bool
    identity_changed: bool | None  # None on frames without descriptors
    swapped: bool


def coverage_frame(index: int, output_face: bool, identity_changed: bool | None) -> CoverageFrame:
    # An unchecked frame with an output face counts as swapped: only a descriptor can say otherwise.
    return CoverageFrame(index, output_face, identity_changed, output_face and identity_changed is not False)


def coverage_aggregate(rows: Sequence[CoverageFrame], frames: int) -> dict[str, Any]:
    """missed_rate = 1 - P(output face) * P(identity changed | checked): the second factor is known
    only on the frames with descriptors, so it is estimated there rather than assumed elsewhere."""
    with_face = [r for r in rows if r.output_face]
    checked = [r for r in with_face if r.identity_changed is not None]
    found = len(with_face) / len(rows) if rows else None
    changed = sum(bool(r.identity_changed) for r in checked) / len(checked) if checked else 1.0
    return {
        "missed_rate": None if found is None else 1.0 - found * changed,
        "frames": frames,
        "frames_with_target_face": len(rows),
        "frames_without_output_face": len(rows) - len(with_face),
        "frames_identity_checked": len(checked),
        "frames_identity_unchanged": sum(r.identity_changed is False for r in checked),
    }
