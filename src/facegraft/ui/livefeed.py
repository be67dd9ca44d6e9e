"""The Live tab's session: `facegraft.live.LiveSwap` on a thread, its newest frame and numbers kept
for the MJPEG stream and the stats the page polls. One session at a time."""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import re
import threading
import time
from typing import Any, Iterator
from urllib.parse import urlsplit

import numpy as np

from facegraft.api import Settings
from facegraft.generate.profile import SourceProfile
from facegraft.ui.errors import ApiError
from facegraft.ui.frames import encode_jpeg
from facegraft.errors import first_line

CAMERA = re.compile(r"(?:/dev/video)?([0-9]{1,2})")
DEVICE = re.compile(r"/dev/video[0-9]{1,2}")
STREAM_URL = re.compile(r"(?:rtsp|rtsps|rtmp|srt|udp|http|https)://[^\s]{1,500}", re.IGNORECASE)
BOUNDARY = "facegraftframe"


def cameras() -> list[str]:
    return sorted(glob.glob("/dev/video[0-9]*"), key=lambda p: int(re.sub(r"\D", "", p) or 0))


def live_available() -> bool:
    """Whether this installation has the live loop (the tab says so when it does not)."""
    return importlib.util.find_spec("facegraft.live") is not None


def camera_input(text: str) -> str:
    match = CAMERA.fullmatch(text.strip())
    if match is None:
        raise ApiError(400, "camera must be a number or /dev/videoN")
    return f"/dev/video{match.group(1)}" if text.strip().startswith("/dev/") else match.group(1)


def virtual_camera(text: str | None) -> str | None:
    """A v4l2loopback device to publish to, or None."""
    if text is None or text == "":
        return None
    if not isinstance(text, str) or not DEVICE.fullmatch(text.strip()):
        raise ApiError(400, "the virtual camera must be a device like /dev/video10")
    return text.strip()


def stream_input(text: str) -> str:
    if not STREAM_URL.fullmatch(text.strip()):
        raise ApiError(400, "stream must be an rtsp://, rtmp://, srt://, udp:// or http(s):// address")
    return text.strip()


def stream_name(url: str) -> str:
    """How the page names a stream: its host (the address may hold a password)."""
    return urlsplit(url).hostname or "stream"


class LiveFeed:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._live: Any = None
        self._stop = threading.Event()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._stats: dict[str, Any] = {"state": "stopped"}

    def start(self, profile: SourceProfile, settings: Settings, source: str, shown: str, width: int, height: int,
              loop: bool, publish: str | None = None) -> dict[str, Any]:
        """Start swapping `source` (a camera, file or URL; `shown` is its name on the page), and
        publish the output to the virtual camera `publish` when given."""
        try:
            from facegraft.live import LiveConfig
        except ImportError:
            raise ApiError(501, "live mode is not available in this installation (facegraft.live is missing)") from None
        with self._changed:
            if self._thread is not None and self._thread.is_alive():
                raise ApiError(409, "a live session is already running: stop it first")
            config = LiveConfig(input=source, width=width, height=height, realtime=True, loop=loop)
            self._stop.clear()
            self._frame, self._seq = None, 0
            self._stats = {"state": "starting", "input": shown, "started": time.time()}
            self._thread = threading.Thread(target=self._run, args=(profile, settings, config, publish),
                                            name="facegraft-live", daemon=True)
            self._thread.start()
            return dict(self._stats)

    def _run(self, profile: SourceProfile, settings: Settings, config: Any, publish: str | None) -> None:
        from facegraft.live import LiveSwap, VirtualCamera
        error = None
        try:
            with contextlib.ExitStack() as stack:
                live = stack.enter_context(LiveSwap(profile, settings, config))
                camera = (stack.enter_context(VirtualCamera(publish, *live.frame_size))
                          if publish else None)
                self._live = live
                if self._stop.is_set():
                    live.stop()
                for frame in live:
                    if camera is not None:
                        camera.write(frame.rgb)
                    self._publish(frame)
                    if self._stop.is_set():
                        live.stop()
        except Exception as exc:  # noqa: BLE001 - a camera that fails is reported on the page
            error = first_line(exc)
        finally:
            self._live = None
            with self._changed:
                self._stats = {**self._stats, "state": "failed" if error else "stopped", "error": error}
                self._changed.notify_all()

    def _publish(self, frame: Any) -> None:
        with self._changed:
            self._frame = frame.rgb
            self._seq += 1
            self._stats = {**self._stats, "state": "running", "frames": frame.index + 1,
                           "latency_ms": round(float(frame.latency_ms), 1), "fps": round(float(frame.fps), 1),
                           "dropped": int(frame.dropped), "width": int(frame.rgb.shape[1]),
                           "height": int(frame.rgb.shape[0])}
            self._changed.notify_all()

    def stop(self, timeout: float = 5.0) -> dict[str, Any]:
        self._stop.set()
        live = self._live
        if live is not None:
            live.stop()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.stats()

    def stats(self) -> dict[str, Any]:
        with self._changed:
            return dict(self._stats)

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def jpeg_frames(self, closing: threading.Event) -> Iterator[bytes]:
        """Each new frame once, JPEG-encoded, until the session or the server stops."""
        seen = -1
        while not closing.is_set():
            with self._changed:
                self._changed.wait_for(lambda: self._seq != seen or not self.running() or closing.is_set(),
                                       timeout=1.0)
                frame, seq = self._frame, self._seq
            if frame is not None and seq != seen:
                seen = seq
                yield encode_jpeg(frame, 80)
            elif not self.running():
                return
