"""Person segmentation: which pixels belong to the person (MediaPipe selfie segmentation)."""

from __future__ import annotations

import numpy as np

from facegraft.analysis.landmarker import native_stderr_silenced
from facegraft.errors import FacegraftError


def segment_person(rgb: np.ndarray) -> np.ndarray:
    import mediapipe as mp  # loaded only when reenacting
    with native_stderr_silenced():
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
            mask = seg.process(np.ascontiguousarray(rgb)).segmentation_mask
    if mask is None:
        raise FacegraftError("could not separate the person from the background")
    return np.clip(mask, 0.0, 1.0).astype(np.float32)
