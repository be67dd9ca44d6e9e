"""Person segmentation: which pixels belong to the person (MediaPipe selfie segmentation)."""

from __future__ import annotations

import numpy as np

from facegraft.errors import FacegraftError
from facegraft.models import Models, native_stderr_silenced


def segment_person(rgb: np.ndarray, models: Models | None = None) -> np.ndarray:
    """(h, w) float32 in [0, 1] for one image (a run of frames keeps a PersonSegmenter instead)."""
    with PersonSegmenter(models) as segmenter, native_stderr_silenced():
        return segmenter.mask(rgb)


class PersonSegmenter:
    """One selfie-segmentation graph kept for a whole run: loading one per frame costs more than the
    model itself (about 3 ms a frame at 512x288). Close it (or use `with`) when the run ends."""

    def __init__(self, models: Models | None = None):
        self._graph = (models or Models()).person_segmenter()

    def mask(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w) float32 in [0, 1]: how surely each pixel is the person's."""
        if self._graph is None:
            raise FacegraftError("the person segmenter was closed")
        mask = self._graph.process(np.ascontiguousarray(rgb)).segmentation_mask
        if mask is None:
            raise FacegraftError("could not separate the person from the background")
        return np.clip(mask, 0.0, 1.0).astype(np.float32)

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None

    def __enter__(self) -> "PersonSegmenter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
