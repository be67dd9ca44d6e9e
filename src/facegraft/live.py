"""Live swap: frames from a camera, or a file or stream played as if it were one, swapped as they come.

Camera-like by design: a capture thread publishes each frame into a one-frame mailbox that
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
import math
import re
import stat
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from facegraft.analysis import FaceTracker
from facegraft.api import Settings
from facegraft.blas import one_blas_thread
from facegraft.errors import FacegraftError, first_line
from facegraft.generate.profile import SourceProfile
from facegraft.io import MediaKind, probe
from facegraft.pipeline import NewestFrameRunner
from facegraft.provenance import FrameMarker, Stamp, require_consent
from facegraft.select import FaceSelector
from facegraft.swapper import FaceSwapper

DEFAULT_FPS = 30.0  # for files and streams that do not say their frame rate
FPS_WINDOW = 30  # output frames over which the rolling frame rate is measured
JOIN_SECONDS = 5.0  # how long stop() waits for a thread to finish the frame it is on


@dataclasses.dataclass(frozen=True)
class LiveConfig:
    """Where live frames come from and at what size."""

    input: str = "0"  # "0", "1".. or "/dev/videoN": a camera; otherwise a video file or stream URL
    width: int = 640  # the camera is asked for this size; every frame is fitted into this box
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


# --- frame sources ---------------------------------------------------------------------------------


def camera_device(text: str) -> int | str | None:
    """The camera an input names (an index or a /dev/videoN path), or None for a file or URL."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if re.fullmatch(r"/dev/video\d+", text):
        return text
    return None


def is_url(text: str) -> bool:
    return "://" in text


def fit_to_box(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame scaled to fit inside width x height, keeping its aspect, centred on black."""
    h, w = rgb.shape[:2]
    if (w, h) == (width, height):
        return rgb
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, size, interpolation=interpolation)
    left, top = (width - size[0]) // 2, (height - size[1]) // 2
    return cv2.copyMakeBorder(resized, top, height - size[1] - top, left, width - size[0] - left,
                              cv2.BORDER_CONSTANT, value=(0, 0, 0))


class _Capture:
    """An opened cv2.VideoCapture on a camera, file or URL, with a one-line error if it cannot be."""

    def __init__(self, config: LiveConfig):
        self.config = config
        self.camera = camera_device(config.input)
        self.name = config.input if self.camera is None else f"camera {config.input}"
        if self.camera is None and not is_url(config.input):
            self._check_file(Path(config.input))
        self._cap = self._open()
        self.fps = self._frame_rate()

    @staticmethod
    def _check_file(path: Path) -> None:
        if probe(path) is MediaKind.IMAGE:
            raise FacegraftError(f"{path}: is an image; live mode needs a camera, a video file or a stream")

    def _open(self) -> cv2.VideoCapture:
        if self.camera is None:
            cap = cv2.VideoCapture(self.config.input, cv2.CAP_FFMPEG)
        else:
            if isinstance(self.camera, str) and not Path(self.camera).exists():
                raise FacegraftError(f"{self.name}: no such camera device")
            cap = cv2.VideoCapture(self.camera, cv2.CAP_V4L2 if isinstance(self.camera, str) else cv2.CAP_ANY)
            if cap.isOpened():
                self._ask_for_size(cap)
        if not cap.isOpened():
            cap.release()
            what = "cannot open it (none connected, or in use)" if self.camera is not None else "cannot open it as video"
            raise FacegraftError(f"{self.name}: {what}")
        return cap

    def _ask_for_size(self, cap: cv2.VideoCapture) -> None:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.config.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.config.height)
        # One driver buffer: an older frame waiting in the driver is pure latency.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def _frame_rate(self) -> float:
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        return float(fps) if math.isfinite(fps) and 1.0 <= fps <= 240.0 else DEFAULT_FPS

    def read(self) -> np.ndarray | None:
        """The next frame as RGB fitted to the box, or None at the end."""
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        return fit_to_box(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.config.width, self.config.height)

    def skip(self) -> bool:
        """Decode past the next frame without converting it; False at the end."""
        return bool(self._cap.grab())

    def rewind(self) -> None:
        # Reopening is more reliable than seeking to frame 0 across containers.
        self._cap.release()
        self._cap = self._open()

    def release(self) -> None:
        self._cap.release()


# --- threads ---------------------------------------------------------------------------------------

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
        self._capture = _Capture(config)
        self._stop = threading.Event()
        # capture -> analyse -> swap -> mark -> caller
        self._runner = NewestFrameRunner((self._analyse, self._swap, self._mark))
        self._dropped = 0
        self._blas = None  # one BLAS thread while frames run (see facegraft.blas)
        self._stopping = threading.Lock()
        self._released = False
        self._rate = _RollingRate()
        try:
            self._tracker = FaceTracker(settings.analysis)
        except BaseException:
            self._capture.release()
            raise
        self._selector = FaceSelector(settings.selection)
        self._swapper = FaceSwapper([profile], settings.swap, video=True)

    # The stages, each on its own thread. Measured at 640x480 on single_face.mp4 (fast preset, one
    # face, 2 cores): analysis 7-9 ms (MediaPipe), swap 13-15 ms, label and watermark 5-6 ms per frame.
    # Three stages rather than two keep the longest one short, and with it the wait of each frame.

    def _analyse(self, frame: _Captured):
        faces = self._tracker.update(frame.rgb, frame.time)
        return frame, self._selector.choose(frame.rgb, faces)

    def _swap(self, item):
        frame, chosen = item
        out, _ = self._swapper.swap_frame(frame.rgb, chosen)
        return frame, out

    def _mark(self, item) -> LiveFrame:
        frame, out = item
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


# --- virtual camera --------------------------------------------------------------------------------


class VirtualCamera:
    """Publishes frames to a v4l2loopback device, so video-call programs can pick the output up as a camera.

    Linux only, and only where such a device exists (`modprobe v4l2loopback` makes one).
    """

    def __init__(self, device: str, width: int, height: int, fps: float = DEFAULT_FPS):
        import av  # the FFmpeg inside PyAV has the video4linux2 output device
        self.device = device
        self._check_device(Path(device))
        self._count = 0
        try:
            self._container = av.open(device, mode="w", format="v4l2")
            self._stream = self._container.add_stream("rawvideo", rate=round(fps))
            self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
            self._container.start_encoding()  # the device is asked for the format now, not at the first frame
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.close()
            raise FacegraftError(f"{device}: cannot publish to it as a virtual camera ({first_line(exc)})") from None

    @staticmethod
    def _check_device(path: Path) -> None:
        if not path.exists():
            raise FacegraftError(f"{path}: no such device; a virtual camera needs v4l2loopback "
                                 "(sudo modprobe v4l2loopback), then give the /dev/videoN it made")
        if not stat.S_ISCHR(path.stat().st_mode):
            raise FacegraftError(f"{path}: not a video device")

    def write(self, rgb: np.ndarray) -> None:
        import av
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = self._count, self._stream.codec_context.time_base
        self._count += 1
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise FacegraftError(f"{self.device}: writing to the virtual camera failed ({first_line(exc)})") from None

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
            self._container = None

    def __enter__(self) -> "VirtualCamera":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
