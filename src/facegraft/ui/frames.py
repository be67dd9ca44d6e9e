"""Single frames for the page: an input's frame at a time, the faces in it, and previews.

A preview has to come back within a second while the user drags a slider, so everything that
does not depend on the settings is kept: decoded frames, their faces, source profiles (the slow
part, about a second per photo) and the identity of clicked faces.
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence

import cv2
import numpy as np

from facegraft.analysis import Face, analyze_image
from facegraft.api import Settings, load_sources, preview_frame
from facegraft.config import AnalysisConfig
from facegraft.errors import FacegraftError
from facegraft.generate.profile import SourceProfile
from facegraft.io import VideoReader, read_image
from facegraft.models import Models
from facegraft.analysis.overlay import draw_faces
from facegraft.provenance import FrameMarker, Stamp
from facegraft.reenact import ReenactPreview, ReenactSettings
from facegraft.select import Reference, references_from_images
from facegraft.ui import forms

REFERENCE_MARGIN = 0.6  # share of a clicked face's size kept around it in its reference crop


def video_frame_at(path: Path, seconds: float) -> np.ndarray:
    """The frame shown at `seconds`, upright exactly like the frames a swap reads."""
    with VideoReader(path) as reader:
        return reader.frame_at(seconds)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise FacegraftError("could not encode the preview image")
    return data.tobytes()


def reference_crop(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The clicked face with room around it: the crop's largest face is that face."""
    x0, y0, x1, y1 = face.box
    pad = REFERENCE_MARGIN * max(x1 - x0, y1 - y0)
    h, w = rgb.shape[:2]
    left, top = int(max(0, x0 - pad)), int(max(0, y0 - pad))
    right, bottom = int(min(w, x1 + pad)), int(min(h, y1 + pad))
    return np.ascontiguousarray(rgb[top:bottom, left:right])


class _Cache:
    """A few recent values by key (least recently used goes first)."""

    def __init__(self, size: int):
        self.size = size
        self._items: collections.OrderedDict[Hashable, Any] = collections.OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = make()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


def _stamp(path: Path) -> tuple[str, int, int]:
    """A file's identity for caching: a replaced upload (same name) gets a new stamp."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


class Previews:
    """Frames, faces, profiles and previews for the page, cached; one computation at a time."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._frames = _Cache(8)
        self._faces = _Cache(8)
        self._profiles = _Cache(3)
        self._references = _Cache(16)
        self._reenactors = _Cache(2)
        self._models = Models()  # the identity network stays loaded between previews
        self._warming: list[threading.Thread] = []

    def frame(self, path: Path, kind: str, seconds: float) -> np.ndarray:
        seconds = round(max(0.0, seconds), 3) if kind == "video" else 0.0
        with self._lock:
            return self._frames.get((_stamp(path), seconds), lambda: self._read(path, kind, seconds))

    @staticmethod
    def _read(path: Path, kind: str, seconds: float) -> np.ndarray:
        return video_frame_at(path, seconds) if kind == "video" else read_image(path)

    def faces(self, path: Path, kind: str, seconds: float) -> list[Face]:
        seconds = round(max(0.0, seconds), 3) if kind == "video" else 0.0
        with self._lock:
            rgb = self.frame(path, kind, seconds)
            return self._faces.get((_stamp(path), seconds), lambda: analyze_image(rgb, AnalysisConfig(), self._models))

    def any_face(self, path: Path, kind: str, times: Sequence[float]) -> bool:
        """True when a face shows at any of these times (seconds; an image has one frame)."""
        return any(self.faces(path, kind, t) for t in times)

    def profile(self, sources: Sequence[Path]) -> SourceProfile:
        if not sources:
            raise FacegraftError("add a source photo first")
        with self._lock:
            return self._profiles.get(tuple(_stamp(p) for p in sources),
                                      lambda: load_sources(list(sources), self._models))

    def reference_image(self, target: Path, kind: str, ref: forms.Reference) -> np.ndarray:
        faces = self.faces(target, kind, ref.time)
        if ref.face >= len(faces):
            raise FacegraftError(f"the target has no face {ref.face + 1} at {ref.time:.2f} s; click the faces again")
        return reference_crop(self.frame(target, kind, ref.time), faces[ref.face])

    def references(self, target: Path, kind: str, refs: Sequence[forms.Reference]) -> list[Reference]:
        with self._lock:
            found = []
            for ref in refs:
                key = (_stamp(target), ref)
                found.extend(self._references.get(key, lambda: references_from_images(
                    [(self.reference_image(target, kind, ref), 0)], names=[f"face {ref.face + 1}"],
                    models=self._models)))
            return found

    def swap(self, sources: Sequence[Path], target: Path, kind: str, seconds: float, settings: Settings,
             refs: Sequence[forms.Reference]) -> np.ndarray:
        with self._lock:
            profile = self.profile(sources)
            references = self.references(target, kind, refs)
            rgb = self.frame(target, kind, seconds)
            return preview_frame(profile, rgb, settings, references=references,
                                 faces=self.faces(target, kind, seconds), still=kind == "image", models=self._models)

    def reenact(self, portrait: Path, driver: Path, driver_kind: str, seconds: float,
                settings: ReenactSettings) -> np.ndarray:
        """The portrait moved as the driver is at `seconds` (see ReenactPreview)."""
        with self._lock:
            key = (_stamp(portrait), _stamp(driver), settings.absolute, settings.driver_neutral)
            engine = self._reenactors.get(key, lambda: ReenactPreview(portrait, driver, settings))
            driver_rgb = self.frame(driver, driver_kind, seconds) if driver_kind == "video" else None
            marker = FrameMarker(Stamp.new(settings.provenance))
            marker.check()
            return engine.frame(seconds, driver_rgb, marker)

    def overlay(self, path: Path, kind: str, seconds: float) -> np.ndarray:
        """The frame with the analysis drawn on it (mesh, points, pose axes): the Analyze tab's preview."""
        with self._lock:
            return draw_faces(self.frame(path, kind, seconds), self.faces(path, kind, seconds))

    def warm(self, sources: Sequence[Path]) -> None:
        """Build the profile now (on a thread), so the first preview after an upload is quick."""
        def build() -> None:
            try:
                self.profile(sources)
            except FacegraftError:
                pass  # the preview request reports it
        thread = threading.Thread(target=build, name="facegraft-profile", daemon=True)
        self._warming = [t for t in self._warming if t.is_alive()] + [thread]
        thread.start()

    def wait_idle(self, timeout: float) -> None:
        """Let profile builds finish: a thread stopped in native code as Python exits can crash it."""
        for thread in list(self._warming):
            thread.join(timeout)
