"""Single reenacted frames for interactive previews (the UI's scrubbing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegraft.analysis import analyze_image
from facegraft.io import VideoReader
from facegraft.provenance import FrameMarker, Stamp, require_consent
from facegraft.reenact.driver import (NEUTRAL_SEARCH_SECONDS, check_driver_video, choose_neutral, is_motion_file,
                                      no_face, state_from_face, states_from_motion, states_from_video)
from facegraft.reenact.render import PortraitRenderer, load_portrait
from facegraft.reenact.run import ReenactSettings


class ReenactPreview:
    """Single reenacted frames for interactive previews (the UI's scrubbing).

    The portrait and the driver's neutral frame are prepared once; for a video driver only its
    first seconds are analysed, where the neutral frame is looked for. Each previewed frame's
    motion comes from that driver frame alone, so it is close to, not identical with, what
    `reenact` renders with the whole clip's tracking and smoothing.
    """

    def __init__(self, source: str | Path, driver: str | Path, settings: ReenactSettings = ReenactSettings()):
        require_consent(settings.provenance)
        source, driver = Path(source), Path(driver)
        self.settings = settings
        rgb, face = load_portrait(source)
        if is_motion_file(driver):
            self.states, fps = states_from_motion(driver)
        else:
            check_driver_video(driver)
            with VideoReader(driver) as reader:
                fps = reader.info.fps
                most = max(int(NEUTRAL_SEARCH_SECONDS * float(fps)), (settings.driver_neutral or 0) + 1)
                self.states = states_from_video(reader, settings.analysis, most=most)
        self.fps = float(fps)
        neutral = choose_neutral(self.states, self.fps, settings.driver_neutral)
        self._renderer = PortraitRenderer(rgb, face, source.name, self.states[neutral], settings.absolute)

    def frame(self, seconds: float, driver_rgb: np.ndarray | None = None,
              marker: FrameMarker | None = None) -> np.ndarray:
        """The portrait moved as the driver is at `seconds`, labelled and watermarked.

        `driver_rgb`: the driver video's frame at that time (None for a motion file).
        """
        if driver_rgb is not None:
            index = int(round(seconds * self.fps))
            faces = analyze_image(driver_rgb, self.settings.analysis)
            state = state_from_face(index, seconds, faces[0]) if faces else no_face(index, seconds)
        else:
            state = min(self.states, key=lambda s: abs(s.time - seconds))
        if marker is None:
            marker = FrameMarker(Stamp.new(self.settings.provenance))
            marker.check()
        return marker.mark(self._renderer.frame(state, driver_rgb))
