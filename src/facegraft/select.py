"""Which target faces get swapped, and with which source: one face, every face, or by identity.

A `FaceSelector` is fed the faces of each frame in order (a video) or once (an image) and keeps
what it learnt about each track: the face it stuck to ("one") or who each track is ("reference").
Track ids are only meaningful within one video, so use one selector per video or image.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from facegraft.analysis import Face, analyze_image
from facegraft.analysis.embedding import SAME_PERSON, descriptor_distance, face_descriptor
from facegraft.errors import FacegraftError
from facegraft.models import Models

MODES = ("one", "all", "reference")
ORDERS = ("largest", "left-right")
# Beyond this yaw the descriptor degrades (dlib's model is trained on mostly frontal faces), so a
# track's identity is looked at again only on a more frontal frame.
FRONTAL_YAW = 35.0
# Frames after which an unseen track's cached identity is dropped. The tracker retires a lost
# track after `max_track_gap` frames (10 by default) and never reuses its id, so this only has to
# be comfortably longer than that.
FORGET_AFTER = 150


@dataclasses.dataclass(frozen=True)
class SelectionConfig:
    mode: str = "one"  # one | all | reference
    order: str = "largest"  # largest | left-right: which face is "first" (and the output order)
    threshold: float = SAME_PERSON  # descriptor distance below which a face is a reference's person
    recheck_frames: int = 30  # frames of a track between looks at who it is ("reference")

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"selection mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.order not in ORDERS:
            raise ValueError(f"selection order must be one of {', '.join(ORDERS)}, not {self.order!r}")
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(f"selection threshold must be a positive distance, not {self.threshold!r}")
        if self.recheck_frames < 1:
            raise ValueError(f"recheck_frames must be at least 1, not {self.recheck_frames!r}")


@dataclasses.dataclass(frozen=True)
class Reference:
    """A person to look for (their identity descriptor) and the source profile they get."""

    descriptor: np.ndarray  # (128,) from face_descriptor
    source: int

    def __post_init__(self) -> None:
        descriptor = np.array(self.descriptor, dtype=np.float32).reshape(-1)
        if descriptor.shape != (128,) or not np.isfinite(descriptor).all():
            raise ValueError("a reference descriptor must be 128 finite numbers (see face_descriptor)")
        if self.source < 0:
            raise ValueError(f"a reference source index must not be negative, not {self.source}")
        descriptor.flags.writeable = False  # frozen all the way down: a shared reference stays intact
        object.__setattr__(self, "descriptor", descriptor)


@dataclasses.dataclass
class _TrackIdentity:
    """What the selector knows about who one track is ("reference" mode)."""

    descriptor: np.ndarray
    frontal_looks: int  # frontal descriptors averaged into `descriptor`; 0: one turned look only
    age: int  # frames this track has been seen
    looked_at: int  # age at the last look
    last_seen: int  # selector frame index
    source: int | None  # the matching reference's source, None: nobody we look for


class FaceSelector:
    """Call `choose` once per frame, in frame order, with that frame's faces."""

    def __init__(self, config: SelectionConfig = SelectionConfig(), references: Sequence[Reference] = (),
                 models: Models | None = None):
        if config.mode == "reference" and not references:
            raise ValueError("selection mode 'reference' needs at least one reference")
        self.config = config
        self.references = tuple(references)
        self._models = models or Models()
        self._frame = -1
        self._chosen_track: int | None = None
        self._tracks: dict[int, _TrackIdentity] = {}

    def choose(self, rgb: np.ndarray, faces: Sequence[Face]) -> list[tuple[Face, int]]:
        """The faces to swap in this frame, each with its source index, in `config.order`."""
        self._frame += 1
        ordered = sort_faces(faces, self.config.order)
        if self.config.mode == "all":
            return [(face, 0) for face in ordered]
        if self.config.mode == "one":
            return self._one(ordered)
        return self._by_reference(rgb, ordered)

    def _one(self, ordered: list[Face]) -> list[tuple[Face, int]]:
        # Sticking to a track keeps two similar-sized faces from trading places frame by frame.
        for face in ordered:
            if face.track == self._chosen_track:
                return [(face, 0)]
        if not ordered:
            return []  # keep the chosen track: it may come back
        self._chosen_track = ordered[0].track
        return [(ordered[0], 0)]

    def _by_reference(self, rgb: np.ndarray, ordered: list[Face]) -> list[tuple[Face, int]]:
        """Each reference claims at most one face per frame, the nearest one under the threshold:
        two look-alikes in one frame must not both become the same person."""
        states = [self._track_identity(rgb, face) for face in ordered]
        pairs = sorted((descriptor_distance(state.descriptor, ref.descriptor), i, r)
                       for i, state in enumerate(states) for r, ref in enumerate(self.references))
        claimed: dict[int, int] = {}
        used: set[int] = set()
        for distance, i, r in pairs:
            if distance >= self.config.threshold:
                break
            if i not in claimed and r not in used:
                claimed[i] = self.references[r].source
                used.add(r)
        self._forget_stale()
        return [(face, claimed[i]) for i, face in enumerate(ordered) if i in claimed]

    def _track_identity(self, rgb: np.ndarray, face: Face) -> _TrackIdentity:
        frontal = abs(face.pose.yaw) < FRONTAL_YAW
        state = self._tracks.get(face.track)
        if state is None:
            # A first look even at a turned face: better a rough answer now than none.
            state = _TrackIdentity(face_descriptor(rgb, face, models=self._models), int(frontal), 0, 0, self._frame, None)
            state.source = self._match(state.descriptor)
            self._tracks[face.track] = state
            return state
        state.age += 1
        state.last_seen = self._frame
        due = state.frontal_looks == 0 or state.age - state.looked_at >= self.config.recheck_frames
        if due and frontal:
            self._look_again(state, face_descriptor(rgb, face, models=self._models))
        return state

    def _look_again(self, state: _TrackIdentity, descriptor: np.ndarray) -> None:
        # Averaging frontal looks steadies the identity against one blurred or occluded frame;
        # a turned first look is simply replaced.
        n = state.frontal_looks
        state.descriptor = descriptor if n == 0 else (state.descriptor * n + descriptor) / (n + 1)
        state.frontal_looks = n + 1
        state.looked_at = state.age
        state.source = self._match(state.descriptor)

    def _match(self, descriptor: np.ndarray) -> int | None:
        distances = [descriptor_distance(descriptor, ref.descriptor) for ref in self.references]
        best = int(np.argmin(distances))
        return self.references[best].source if distances[best] < self.config.threshold else None

    def _forget_stale(self) -> None:
        stale = [t for t, s in self._tracks.items() if self._frame - s.last_seen > FORGET_AFTER]
        for track in stale:
            del self._tracks[track]


def sort_faces(faces: Sequence[Face], order: str) -> list[Face]:
    if order == "left-right":
        return sorted(faces, key=lambda f: float(f.box[0]))
    return sorted(faces, key=lambda f: -_area(f.box))


def references_from_images(images: Sequence[tuple[np.ndarray, int]], names: Sequence[str] | None = None,
                           models: Models | None = None) -> list[Reference]:
    """One reference per (rgb, source index) image, from its largest face."""
    if names is not None and len(names) != len(images):
        raise ValueError(f"{len(names)} names given for {len(images)} reference images")
    references = []
    models = models or Models()
    for index, (rgb, source) in enumerate(images):
        faces = analyze_image(rgb, models=models)  # largest first
        if not faces:
            name = names[index] if names is not None else f"#{index + 1}"
            raise FacegraftError(f"no face found in reference image {name}")
        references.append(Reference(face_descriptor(rgb, faces[0], models=models), source))
    return references


def _area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))
