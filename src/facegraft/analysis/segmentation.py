"""Person segmentation: which pixels belong to the person (MediaPipe selfie segmentation)."""

from __future__ import annotations

import numpy as np

from facegraft.errors import FacegraftError
from facegraft.models import Models, native_stderr_silenced


def segment_person(rgb: np.ndarray, models: Models | None = None) -> np.ndarray:
    with (models or Models()).person_segmenter() as seg, native_stderr_silenced():
        mask = seg.process(np.ascontiguousarray(rgb)).segmentation_mask
    if mask is None:
        raise FacegraftError("could not separate the person from the background")
    return np.clip(mask, 0.0, 1.0).astype(np.float32)
