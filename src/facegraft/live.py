"""Live swap: frames from a camera, or a file or stream played as if it were one, swapped as they come.

Camera-like by design (frames come from facegraft.io.camera, stages run on
facegraft.pipeline.NewestFrameRunner): a capture thread publishes each frame into a one-frame mailbox that
always holds only the newest frame, so when processing falls behind, frames are skipped (and
counted) instead of queueing up and adding latency. Processing runs as a pipeline of three stages
on their own threads (analysis, swap, label and watermark), so two cores work on consecutive
frames at once; MediaPipe, OpenCV and numpy release the GIL while they work.

Every frame that comes out is labelled and watermarked like any other facegraft output, and
nothing starts without stated consent.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import threading
import time
from typing import Callable, Iterator

import numpy as np

from facegraft.analysis import FaceTracker
from facegraft.api import Settings
from facegraft.blas import one_blas_thread
from facegraft.errors import FacegraftError
from facegraft.generate.profile import SourceProfile
from facegraft.io.camera import DEFAULT_FPS, Capture, VirtualCamera, fit_to_box
from facegraft.pipeline import NewestFrameRunner
from facegraft.provenance import FrameMarker, Stamp, require_consent
from facegraft.refine.background import BackgroundCompositor
from facegraft.select import FaceSelector
from facegraft.swapper import FaceSwapper

# VirtualCamera and fit_to_box are the camera helpers the live shells use alongside LiveSwap.
__all__ = ["DEFAULT_FPS", "LiveConfig", "LiveFrame", "LiveSummary", "LiveSwap", "VirtualCamera", "fit_to_box",
           "run_live"]
FPS_WINDOW = 30  # output frames over which the rolling frame rate is measured
JOIN_SECONDS = 5.0  # how long stop() waits for a thread to finish the frame it is on


@dataclasses.dataclass(frozen=True)
class LiveConfig:
    """Where live frames come from and at what size."""

    input: str = "0"  # "0", "1".. or "/dev/videoN": a camera; otherwise a video file or stream URL
    width: int = 640  # the camera is asked for this size; frames are fitted inside it, keeping their aspect
    height: int = 480
    realtime: bool = True  # a file is paced at its own frame rate, dropping frames when processing lags
    loop: bool = False  # replay a file forever

    def __post_init__(self) -> None:
        if self.width < 32 or self.height < 32:
            raise ValueError(f"live frame size {self.width}x{self.height} is too small (at least 32x32)")
        if not str(self.input).strip():
            raise ValueError("live input is empty: give a camera number, /dev/videoN, a video file or a URL")


@dataclasses.dataclass(frozen=True)
class LiveFrame:
    index: int  # frame number at the source (gaps are dropped frames)
    rgb: np.ndarray  # (height, width, 3) uint8, labelled and watermarked
    latency_ms: float  # from the moment the frame was captured to the moment this output was ready
    fps: float  # rolling output frame rate
    dropped: int  # frames skipped so far because processing was behind


@dataclasses.dataclass(frozen=True)
class _Captured:
    index: int
    rgb: np.ndarray  # fitted to the box
    time: float  # seconds on the source's clock: media time for files, since the start for cameras
    grabbed_at: float  # time.perf_counter() when the frame arrived


# --- plumbing --------------------------------------------------------------------------------------


class _RollingRate:
    """Frames per second over the last FPS_WINDOW frames."""

    def __init__(self) -> None:
        self._times: collections.deque[float] = collections.deque(maxlen=FPS_WINDOW)

    def tick(self, now: float) -> float:
        self._times.append(now)
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


# --- the live swap ---------------------------------------------------------------------------------


class LiveSwap:
    """Swap `profile` into live frames. Iterate for LiveFrames; `stop()` (any thread) ends it.

    Use settings.swap = config.preset("fast") for cameras: at 640x480 it needs about 32 ms of CPU
    per frame and keeps up with 30 fps on 2 cores (`facegraft bench live`); balanced needs about 50
    and falls behind as soon as the machine has other work. settings.analysis.max_faces=1 saves
    following faces that will not be swapped.
    """

    def __init__(self, profile: SourceProfile, settings: Settings, config: LiveConfig = LiveConfig()):
        require_consent(settings.provenance)
        if settings.selection.mode == "reference":
            raise FacegraftError("live mode swaps one face or all faces; --faces reference is not supported")
        self.config = config
        self._marker = FrameMarker(Stamp.new(settings.provenance))
        self._marker.check()
        self._backdrop: BackgroundCompositor | None = None
        self._capture = Capture(config.input, config.width, config.height)
        self._stop = threading.Event()
        # capture -> analyse -> swap -> mark -> caller
        self._runner = NewestFrameRunner((self._analyse, self._swap, self._mark))
        self._dropped = 0
        self._blas = None  # one BLAS thread while frames run (see facegraft.blas)
        self._stopping = threading.Lock()
        self._released = False
        self._rate = _RollingRate()
        try:
            if settings.background is not None:  # reads the background image: a missing one fails here
                self._backdrop = BackgroundCompositor(settings.background)
            self._tracker = FaceTracker(settings.analysis)
        except BaseException:
            self._capture.release()
            if self._backdrop is not None:
                self._backdrop.close()
            raise
        self._selector = FaceSelector(settings.selection)
        self._swapper = FaceSwapper([profile], settings.swap, video=True)

    # The stages, each on its own thread. Measured at 640x480 on single_face.mp4 (fast preset, one
    # face, 2 cores): analysis 7-9 ms (MediaPipe), swap 13-15 ms, label and watermark 5-6 ms per frame.
    # Three stages rather than two keep the longest one short, and with it the wait of each frame.

    # The background's person mask is found with the analysis and composited before the label, so
    # the longest stage (the swap) gets no longer.

    def _analyse(self, frame: _Captured):
        faces = self._tracker.update(frame.rgb, frame.time)
        person = self._backdrop.person(frame.rgb) if self._backdrop is not None else None
        return frame, self._selector.choose(frame.rgb, faces), person

    def _swap(self, item):
        frame, chosen, person = item
        out, _ = self._swapper.swap_frame(frame.rgb, chosen)
        return frame, out, person

    def _mark(self, item) -> LiveFrame:
        frame, out, person = item
        if self._backdrop is not None:
            out = self._backdrop.apply(out, person)
        out = self._marker.mark(out)
        ready = time.perf_counter()
        return LiveFrame(index=frame.index, rgb=out, latency_ms=1000.0 * (ready - frame.grabbed_at),
                         fps=self._rate.tick(ready), dropped=self._dropped)

    def __iter__(self) -> Iterator[LiveFrame]:
        if self._runner.threads:
            raise FacegraftError("a live swap can be iterated only once; start a new LiveSwap")
        if self._stop.is_set():
            return
        self._blas = one_blas_thread()
        feeder = self._play_camera if self._capture.camera is not None else self._play_file
        self._runner.start(feeder, self._capture.release, name="facegraft-live")
        try:
            yield from self._runner.results()
        finally:
            self.stop()
        if self._runner.errors:
            raise self._runner.errors[0]

    def _publish(self, frame: _Captured) -> None:
        self._dropped += self._runner.publish(frame, newest=self.config.realtime or self._capture.camera is not None)

    def _play_camera(self) -> None:
        started = time.perf_counter()
        index = 0
        while not self._stop.is_set():
            rgb = self._capture.read()
            if rgb is None:
                raise FacegraftError(f"{self._capture.name}: stopped delivering frames")
            now = time.perf_counter()
            self._publish(_Captured(index, rgb, now - started, now))
            index += 1

    def _play_file(self) -> None:
        """Frames at the file's own rate (realtime) or as fast as they are taken; a frame that is
        already a whole period late is skipped, as a camera would have moved on."""
        period = 1.0 / self._capture.fps
        started = time.perf_counter()
        index = 0
        while not self._stop.is_set():
            due = started + index * period
            if self.config.realtime and time.perf_counter() - due > period:
                if not self._next_or_rewind(self._capture.skip):
                    break
                self._dropped += 1
                index += 1
                continue
            rgb = self._next_or_rewind(self._capture.read)
            if rgb is None:
                break
            if self.config.realtime and self._stop.wait(max(0.0, due - time.perf_counter())):
                break
            self._publish(_Captured(index, rgb, index * period, time.perf_counter()))
            index += 1
        self._runner.finish()

    def _next_or_rewind(self, read: Callable):
        got = read()
        if got is None or got is False:
            if not self.config.loop:
                return None
            self._capture.rewind()
            got = read()  # None again: an empty file, so stop rather than spin
        return None if got is False else got

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of every frame out: the input's aspect, fitted inside the configured box."""
        return self._capture.frame_size

    def stop(self) -> None:
        """End the iteration soon and release the camera or file; safe from any thread, repeatable."""
        self._stop.set()
        self._runner.close()
        with self._stopping:  # the iterating thread and another one may both be stopping
            self._runner.join(JOIN_SECONDS)
            self._release()

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        if not self._runner.threads:
            self._capture.release()  # never started: no capture thread to do it
        if not self._runner.stages_alive():
            with contextlib.suppress(Exception):  # a stage still stuck in a frame keeps its models
                self._tracker.close()
                self._swapper.close()
                if self._backdrop is not None:
                    self._backdrop.close()
        if self._blas is not None:
            self._blas.restore_original_limits()

    def __enter__(self) -> "LiveSwap":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclasses.dataclass(frozen=True)
class LiveSummary:
    frames: int
    seconds: float
    latency_median_ms: float
    dropped: int

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def run_live(live: LiveSwap, sink: Callable[[LiveFrame], None] | None = None,
             duration: float | None = None) -> LiveSummary:
    """Take frames from `live` until its source ends, `duration` seconds pass or Ctrl+C (how a live
    session is normally ended); `sink` gets every frame."""
    latencies: list[float] = []
    dropped = 0
    started = time.perf_counter()
    try:
        for frame in live:
            if sink is not None:
                sink(frame)
            latencies.append(frame.latency_ms)
            dropped = frame.dropped
            if duration and time.perf_counter() - started >= duration:
                break
    except KeyboardInterrupt:
        pass
    finally:
        live.stop()
    median = float(np.median(latencies)) if latencies else 0.0
    return LiveSummary(len(latencies), time.perf_counter() - started, median, dropped)
