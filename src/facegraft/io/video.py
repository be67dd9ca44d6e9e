"""Streaming video decode and encode with PyAV: one frame in memory at a time."""

from __future__ import annotations

import contextlib
import dataclasses
import fractions
import functools
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from facegraft.errors import FacegraftError, first_line
from facegraft.io.audio import AudioEncoder, needs_encoding
from facegraft.io.media import check_readable


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    width: int  # as displayed, after rotation
    height: int
    fps: fractions.Fraction
    frame_count: int  # frames shown: the container's count less its hidden pre-roll; an estimate for some formats
    duration: float  # seconds
    rotation: int  # degrees counter-clockwise stored in the file's display matrix
    codec: str
    has_audio: bool


@dataclasses.dataclass(frozen=True)
class VideoFrame:
    index: int
    time: float  # seconds from the start of the stream
    rgb: np.ndarray  # HxWx3 uint8, upright


def _fps(stream: av.video.stream.VideoStream) -> fractions.Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return fractions.Fraction(rate) if rate else fractions.Fraction(30, 1)


def _frame_count(container, stream, fps: fractions.Fraction, duration: float) -> int:
    if stream.frames:
        return max(int(stream.frames) - _hidden_lead_in(container, stream), 1)
    return int(round(duration * float(fps)))


LEAD_IN_PACKETS = 64  # edit lists hide at most a GOP's worth of pre-roll, always at the start


def _hidden_lead_in(container, stream) -> int:
    """How many of the first packets an MP4/MOV edit list marks as never shown.

    The header counts them (no_face.mp4: 98), the decoder drops them (95 shown); every command
    and the UI must agree on the second figure. Demuxing a few packets costs no decoding.
    """
    hidden = 0
    try:
        for _, packet in zip(range(LEAD_IN_PACKETS), container.demux(stream)):
            hidden += bool(packet.size and packet.is_discard)
        container.seek(0, stream=stream, backward=True, any_frame=False)
    except av.FFmpegError:
        return 0  # a corrupt start is reported when the frames are read
    return hidden


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    quarter_turns = int(round(rotation / 90)) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=quarter_turns)) if quarter_turns else rgb


class VideoReader:
    """Iterate over a video's frames as upright RGB arrays.

    Decoding errors become one-line FacegraftErrors naming the frame where the file broke.
    """

    def __init__(self, path: Path):
        self.path = check_readable(Path(path))
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise FacegraftError(f"{self.path}: cannot open video ({first_line(exc)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise FacegraftError(f"{self.path}: has no video stream")
        self._stream = self._container.streams.video[0]
        if self._stream.codec_context is None:  # FFmpeg cannot tell the codec: no decoder to read it with
            self._container.close()
            raise FacegraftError(f"{self.path}: video stream has an unknown codec (corrupt header?)")
        self._stream.thread_type = "AUTO"
        try:
            self.info = self._read_info()
        except BaseException:
            self._container.close()
            raise

    def _read_info(self) -> VideoInfo:
        stream = self._stream
        fps = _fps(stream)
        duration = _duration(self._container, stream)
        rotation = _stream_rotation(stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        if int(round(rotation / 90)) % 2:
            width, height = height, width
        if width <= 0 or height <= 0:
            raise FacegraftError(f"{self.path}: video has no picture size (corrupt header?)")
        return VideoInfo(
            width=width, height=height, fps=fps, frame_count=_frame_count(self._container, stream, fps, duration),
            duration=duration, rotation=rotation, codec=stream.codec_context.name,
            has_audio=bool(self._container.streams.audio),
        )

    def __iter__(self) -> Iterator[VideoFrame]:
        index = 0
        rotation = self.info.rotation
        stream = self._stream
        packets_end = None  # where the demuxed packets stop, in stream time_base units
        cut_off = False  # the last packet was short: the file ends mid-packet
        try:
            for packet in self._container.demux(stream):
                if packet.size:
                    cut_off = packet.is_corrupt
                if packet.pts is not None:
                    end = packet.pts + (packet.duration or 0)
                    packets_end = end if packets_end is None else max(packets_end, end)
                for frame in packet.decode():
                    time = float(frame.time) if frame.time is not None else index / float(self.info.fps)
                    yield VideoFrame(index=index, time=time, rgb=_upright(frame.to_ndarray(format="rgb24"), rotation))
                    index += 1
        except av.FFmpegError as exc:
            raise FacegraftError(f"{self.path}: video is corrupt or truncated at frame {index} ({first_line(exc)})") from None
        if index == 0:
            raise FacegraftError(f"{self.path}: video has no decodable frames")
        if cut_off:
            # Threaded decoders drop the cut-off packet silently, so say so here.
            raise FacegraftError(f"{self.path}: video is truncated after frame {index}")
        promised = _promised_end(self._container, stream)
        if _stops_early(stream, packets_end, promised):
            # MP4/MOV with the index up front, or MKV/WebM with its duration in the header: a
            # cut-off file ends the demuxer quietly at the cut.
            raise FacegraftError(
                f"{self.path}: video is truncated: its frames stop at {float(packets_end * stream.time_base):.2f} s "
                f"of {float(promised[0] * stream.time_base):.2f} s"
            )

    def frame_at(self, seconds: float) -> np.ndarray:
        """The frame on screen at `seconds` (the last one starting at or before it), upright RGB.

        Seeks to the key frame before and decodes forward, so scrubbing a long video stays quick.
        """
        stream = self._stream
        try:
            if seconds > 0 and stream.time_base:
                self._container.seek(int(seconds / stream.time_base) + (stream.start_time or 0), stream=stream,
                                     backward=True)
            chosen = None
            for frame in self._container.decode(stream):
                if chosen is not None and frame.time is not None and frame.time > seconds + 1e-3:
                    break
                chosen = frame
        except av.FFmpegError as exc:
            raise FacegraftError(f"{self.path}: video is corrupt near {seconds:.2f} s ({first_line(exc)})") from None
        if chosen is None:
            raise FacegraftError(f"{self.path}: no frame could be decoded at {seconds:.2f} s")
        return _upright(chosen.to_ndarray(format="rgb24"), self.info.rotation)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _promised_end(container, stream) -> tuple[int | None, float]:
    """Where the header says the stream ends (time_base units; None when it does not say), and how far
    short of it, in seconds, a complete file may still end."""
    if stream.time_base is None:
        return None, 0.0
    start = stream.start_time or 0
    # Complete files end within a frame of the promise; half a second allows for sloppy headers.
    if stream.duration is not None:
        return start + stream.duration, 0.5
    if container.duration is not None:  # Matroska keeps only the whole file's duration (microseconds)
        seconds = container.duration / av.time_base
        # That covers every stream, and audio may run on past the video: only a gap of a tenth is a cut.
        return start + int(seconds / stream.time_base), max(0.5, 0.1 * seconds)
    return None, 0.0


def _stops_early(stream, packets_end, promised: tuple[int | None, float]) -> bool:
    """True when the container promises more of the stream than its packets deliver."""
    end, slack = promised
    if end is None or packets_end is None:
        return False
    return float((end - packets_end) * stream.time_base) > slack


def _stream_rotation(stream) -> int:
    # The display matrix lives on decoded frames in recent FFmpeg; peek at the first one.
    with contextlib.suppress(Exception):
        side = stream.side_data
        if side and "DISPLAYMATRIX" in side:
            return int(round(side["DISPLAYMATRIX"]))
    with contextlib.suppress(KeyError, ValueError):
        return int(stream.metadata["rotate"])
    return 0


TIME_BASE = fractions.Fraction(1, 90000)


# Encoders worth offering when the one asked for does not work here.
COMMON_ENCODERS = ("libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1", "mpeg4")


@functools.cache
def encoder_problem(name: str) -> str | None:
    """Why `name` cannot encode yuv420p video here, or None when it can (tried on a tiny frame size)."""
    try:
        codec = av.codec.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        return "no such encoder"
    if codec.type != "video":
        return f"it encodes {codec.type}, not video"
    try:
        context = av.codec.CodecContext.create(codec)
        context.width, context.height, context.pix_fmt = 64, 64, "yuv420p"
        context.time_base = fractions.Fraction(1, 25)
        context.open()
    except (av.FFmpegError, ValueError) as exc:
        return f"cannot encode yuv420p video ({first_line(exc)})"
    return None


def check_encoder(name: str) -> None:
    """Refuse an encoder that cannot write the video, naming the ones that can."""
    problem = encoder_problem(name)
    if problem is not None:
        usable = [e for e in COMMON_ENCODERS if encoder_problem(e) is None]
        raise FacegraftError(f"--encoder {name}: {problem}; usable here: {', '.join(usable) or 'none'}")


class VideoWriter:
    """Encode RGB frames into a video file, copying the audio of another file if asked.

    Use inside `atomic_output` so a failed run leaves nothing behind.
    """

    def __init__(self, path: Path, width: int, height: int, fps: fractions.Fraction,
                 codec: str = "libx264", crf: int = 20, preset: str = "veryfast",
                 audio_from: Path | None = None, metadata: dict[str, str] | None = None):
        self.path = Path(path)
        check_encoder(codec)
        try:
            self._container = av.open(str(self.path), mode="w")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise FacegraftError(f"{self.path}: cannot write video ({first_line(exc)})") from None
        for key, value in (metadata or {}).items():
            self._container.metadata[key] = value
        self._stream = self._container.add_stream(codec, rate=fps)
        # yuv420p needs even sizes and H.264 cannot crop by one pixel: an odd size is padded by
        # one edge-replicated row/column, so the file is (width + width % 2) x (height + height % 2).
        self._stream.width = width + (width % 2)
        self._stream.height = height + (height % 2)
        self._stream.pix_fmt = "yuv420p"
        if codec in ("libx264", "libx265"):
            self._stream.options = {"crf": str(crf), "preset": preset}
        self._size = (width, height)
        # A fine clock, so frames can keep their source timestamps (variable frame rates, pre-roll).
        self._time_base = TIME_BASE
        self._stream.codec_context.time_base = TIME_BASE
        self._stream.time_base = TIME_BASE
        self._fps = fractions.Fraction(fps)
        self._audio = _audio_track(Path(audio_from), self.path, self._container) if audio_from else None
        self._count = 0
        self._last_pts = -1

    def write(self, rgb: np.ndarray, time: float | None = None) -> None:
        """Encode one frame, at `time` seconds (default: its index at the nominal frame rate)."""
        rgb = _pad_even(rgb)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        seconds = self._count / self._fps if time is None else time
        pts = max(self._last_pts + 1, int(round(seconds / self._time_base)))
        frame.pts = pts
        frame.time_base = self._time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._count += 1
        self._last_pts = pts
        if self._audio:
            self._audio.copy_until(float(pts * self._time_base) + float(1 / self._fps))

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        if self._audio:
            self._audio.copy_until(float("inf"))
            self._audio.close()
        self._container.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            with contextlib.suppress(Exception):
                self._container.close()


def _pad_even(rgb: np.ndarray) -> np.ndarray:
    pad_h, pad_w = rgb.shape[0] % 2, rgb.shape[1] % 2
    if pad_h or pad_w:
        rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return np.ascontiguousarray(rgb)


def _audio_track(source: Path, output: Path, container):
    """Copies the source's audio packets when the output container can hold them, else encodes them."""
    if needs_encoding(source, output.suffix):
        return AudioEncoder(source, container)
    return _AudioCopier(source, container)


class _AudioCopier:
    """Copies the first audio stream of a file packet by packet, interleaved with the video."""

    def __init__(self, source: Path, output):
        self._source = Path(source)
        self._input = av.open(str(source))
        self._stream = self._input.streams.audio[0] if self._input.streams.audio else None
        if self._stream is not None and self._stream.codec_context is None:  # a damaged sample description
            self._input.close()
            raise FacegraftError(f"{self._source}: audio is corrupt and cannot be copied (unknown codec)")
        self._out_stream = output.add_stream_from_template(self._stream) if self._stream else None
        self._output = output
        self._packets = self._input.demux(self._stream) if self._stream else iter(())
        self._pending = None

    def copy_until(self, seconds: float) -> None:
        if self._stream is None:
            return
        try:
            self._copy_until(seconds)
        except av.FFmpegError as exc:
            # A damaged audio track (timestamps running backwards, say) is refused by the muxer. Its
            # message names only the unfinished output, so say which input it was.
            raise FacegraftError(f"{self._source}: audio is corrupt and cannot be copied "
                                 f"({exc.strerror or first_line(exc)})") from None

    def _copy_until(self, seconds: float) -> None:
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            if packet.dts is None:
                continue
            if packet.pts is not None and float(packet.pts * packet.time_base) > seconds:
                self._pending = packet
                return
            packet.stream = self._out_stream
            self._output.mux(packet)

    def close(self) -> None:
        self._input.close()
