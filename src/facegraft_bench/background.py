"""`facegraft bench background`: milliseconds per frame for background blur and replacement.

Timed per frame on one thread, without decoding, swapping or encoding: the person's matte (two
passes of the selfie model when the person is small, the guided filter, the steadiness over time)
and the compositing, on single_face.mp4 at 640x360 and on the development clip s18.mp4 at 1280x720
(single_face.mp4 scaled up where the development media are absent).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np

from facegraft import samples
from facegraft.io import VideoReader
from facegraft.refine.background import Background, BackgroundCompositor
from facegraft_bench.quality import default_dev_media

FRAMES = 60
WARM_UP = 5  # the first frames load the model


@dataclasses.dataclass(frozen=True)
class BackgroundSpeed:
    clip: str
    size: tuple[int, int]
    setting: str
    matte_ms: float  # medians over the frames
    composite_ms: float

    @property
    def total_ms(self) -> float:
        return self.matte_ms + self.composite_ms


def clips() -> list[tuple[str, tuple[int, int], Path]]:
    """(name, size, path): the sample clip at 640x360 and a 720p one."""
    sample = samples.path("single_face.mp4")
    wide = default_dev_media() / "s18.mp4"
    return [("single_face.mp4", (640, 360), sample),
            ("s18.mp4", (1280, 720), wide) if wide.is_file() else ("single_face.mp4 scaled", (1280, 720), sample)]


def frames(path: Path, size: tuple[int, int], limit: int = FRAMES) -> list[np.ndarray]:
    out = []
    with VideoReader(path) as reader:
        for frame in reader:
            same = frame.rgb.shape[1::-1] == size
            out.append(frame.rgb if same else cv2.resize(frame.rgb, size, interpolation=cv2.INTER_LINEAR))
            if len(out) >= limit:
                break
    return out


def background_speed(name: str, size: tuple[int, int], clip: list[np.ndarray], setting: Background) -> BackgroundSpeed:
    matte, composite = [], []
    with BackgroundCompositor(setting, video=True) as compositor:
        for rgb in clip:
            start = time.perf_counter()
            person = compositor.person(rgb)
            middle = time.perf_counter()
            compositor.apply(rgb, person)
            matte.append(middle - start)
            composite.append(time.perf_counter() - middle)
    ms = lambda times: 1000.0 * float(np.median(times[WARM_UP:]))
    return BackgroundSpeed(name, size, str(setting), ms(matte), ms(composite))


def report() -> list[BackgroundSpeed]:
    settings = (Background.parse("blur"), Background("image", image=samples.path("astronaut.png")))
    rows = []
    for name, size, path in clips():
        clip = frames(path, size)
        rows.extend(background_speed(name, size, clip, setting) for setting in settings)
    return rows
