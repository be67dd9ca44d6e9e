"""Identity: does the output face look like the source person rather than the target's?"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from facegraft.analysis import Face
from facegraft.analysis.embedding import SAME_PERSON, descriptor_distance, face_descriptor
from facegraft.evaluate.statistics import column, mean_or_none, stats
from facegraft.io import read_image
from facegraft.models import Models

DEFINITION = (
    "dlib distance of the output face to the source descriptor and to the target face of the same frame, "
    "on at most `identity_frames` evenly spread frames (a descriptor costs ~0.1 s). Transferred: closer to "
    f"the source than to the target and under SAME_PERSON ({SAME_PERSON}); a sampled frame whose output has "
    "no face counts as not transferred. Good: a transfer rate near 1, distance to source low (< 0.6 same "
    "person), distance to target high (> 0.6 someone else)."
)


@dataclasses.dataclass(frozen=True)
class IdentityFrame:
    frame: int
    distance_to_source: float | None  # None: no output face paired with the target face
    distance_to_target: float | None
    transferred: bool


def source_descriptor(sources: Sequence[str | Path], models: Models | None = None) -> np.ndarray:
    """The source person's descriptor, as a swap's profile defines it (mean over the photos)."""
    from facegraft.generate.profile import largest_face as source_face
    from facegraft.generate.profile import load_sources
    paths = [Path(p) for p in sources]
    if not paths or any(p.suffix.lower() == ".npz" for p in paths):
        return load_sources(paths, models).identity.descriptor  # checks the mix and reads the saved descriptor
    found = []
    for path in paths:
        rgb = read_image(path)
        found.append(face_descriptor(rgb, source_face(rgb, str(path), models), models=models))
    return np.mean(found, axis=0)


def identity_frame(index: int, t_rgb: np.ndarray, o_rgb: np.ndarray, face: Face, match: Face | None,
                   source: np.ndarray, models: Models) -> IdentityFrame:
    """Distances of the output face to the source and to this frame's target face (two descriptors)."""
    if match is None:
        return IdentityFrame(index, None, None, False)
    out = face_descriptor(o_rgb, match, models=models)
    to_source = descriptor_distance(out, source)
    to_target = descriptor_distance(out, face_descriptor(t_rgb, face, models=models))
    moved = to_source < to_target and to_source < SAME_PERSON
    return IdentityFrame(index, to_source, to_target, moved)


def identity_aggregate(rows: Sequence[IdentityFrame]) -> dict[str, Any]:
    return {
        "transfer_rate": mean_or_none([float(r.transferred) for r in rows]),
        "frames": len(rows),
        "frames_without_output_face": sum(r.distance_to_source is None for r in rows),
        "same_person_threshold": SAME_PERSON,
        "distance_to_source": stats(column(rows, "distance_to_source")),
        "distance_to_target": stats(column(rows, "distance_to_target")),
    }
