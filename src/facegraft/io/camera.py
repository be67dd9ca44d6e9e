"""Cameras, and files or streams read as if they were one (OpenCV), and the virtual camera output
(a v4l2loopback device written through PyAV): the live mode's frame source and sink."""

from __future__ import annotations

import contextlib
import math
import re
import stat
from pathlib import Path

import cv2
import numpy as np

from facegraft.errors import FacegraftError, first_line
from facegraft.io.media import MediaKind, probe

DEFAULT_FPS = 30.0  # for files and streams that do not say their frame rate


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


def fitted_size(size: tuple[int, int], width: int, height: int) -> tuple[int, int]:
    """`size` (w, h) scaled to fit inside width x height keeping its aspect, in even pixels (for yuv420p)."""
    w, h = size
    scale = min(width / w, height / h)
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


def fit_inside(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame scaled to exactly `size` (w, h): the live frames keep the input's aspect, no bars."""
    h, w = rgb.shape[:2]
    if (w, h) == tuple(size):
        return rgb
    interpolation = cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR
    return cv2.resize(rgb, tuple(size), interpolation=interpolation)


class Capture:
    """An opened cv2.VideoCapture on a camera, file or URL, with a one-line error if it cannot be."""

    def __init__(self, source: str, width: int, height: int):
        self.source, self.width, self.height = source, width, height
        self.camera = camera_device(source)
        self.name = source if self.camera is None else f"camera {source}"
        if self.camera is None and not is_url(source):
            self._check_file(Path(source))
        self._cap = self._open()
        self.fps = self._frame_rate()
        # The first frame fixes the output size: the input's aspect inside the box.
        self._pending = self._read_rgb()
        shape = self._pending.shape if self._pending is not None else (height, width)
        self.frame_size = fitted_size((shape[1], shape[0]), width, height)

    @staticmethod
    def _check_file(path: Path) -> None:
        if probe(path) is MediaKind.IMAGE:
            raise FacegraftError(f"{path}: is an image; live mode needs a camera, a video file or a stream")

    def _open(self) -> cv2.VideoCapture:
        if self.camera is None:
            cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG)
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
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        # One driver buffer: an older frame waiting in the driver is pure latency.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def _frame_rate(self) -> float:
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        return float(fps) if math.isfinite(fps) and 1.0 <= fps <= 240.0 else DEFAULT_FPS

    def read(self) -> np.ndarray | None:
        """The next frame as RGB at `frame_size`, or None at the end."""
        rgb = self._pending if self._pending is not None else self._read_rgb()
        self._pending = None
        return None if rgb is None else fit_inside(rgb, self.frame_size)

    def _read_rgb(self) -> np.ndarray | None:
        ok, bgr = self._cap.read()
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok and bgr is not None else None

    def skip(self) -> bool:
        """Decode past the next frame without converting it; False at the end."""
        if self._pending is not None:
            self._pending = None
            return True
        return bool(self._cap.grab())

    def rewind(self) -> None:
        # Reopening is more reliable than seeking to frame 0 across containers.
        self._cap.release()
        self._cap = self._open()
        self._pending = None

    def release(self) -> None:
        self._cap.release()


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
