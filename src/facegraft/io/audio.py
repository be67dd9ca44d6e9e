"""Decoding a file's audio track (WAV, MP3, or any video with sound) with PyAV, to the 16 kHz mono
16-bit samples speech recognition expects."""

from __future__ import annotations

import dataclasses
import fractions
from pathlib import Path

import av
import numpy as np

from facegraft.errors import FacegraftError, first_line
from facegraft.io.media import check_readable

SPEECH_RATE = 16000  # Hz: what the en-us acoustic model was trained on


@dataclasses.dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # (n,) int16, mono
    rate: int  # samples per second

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def has_audio(path: Path) -> bool:
    """Whether `path` opens and has an audio stream (no decoding)."""
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio) and container.streams.audio[0].codec_context is not None
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return False


def read_audio(path: Path, rate: int = SPEECH_RATE) -> Audio:
    """The first audio stream of `path`, resampled to `rate` and mixed down to mono.

    Every fault (no file, no audio track, damaged data, nothing in it) is one FacegraftError line.
    """
    path = check_readable(Path(path))
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise FacegraftError(f"{path}: cannot open as audio ({first_line(exc)})") from None
    with container:
        if not container.streams.audio or container.streams.audio[0].codec_context is None:
            raise FacegraftError(f"{path}: has no audio track")
        samples = _decode(path, container, container.streams.audio[0], rate)
    if len(samples) < rate // 10:
        raise FacegraftError(f"{path}: the audio is empty (under a tenth of a second)")
    return Audio(samples, rate)


def _decode(path: Path, container, stream, rate: int) -> np.ndarray:
    # Stereo is mixed by averaging its channels; a track whose channels cancel (one inverted) comes
    # out silent, which the recogniser then reports as no speech.
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    chunks = []
    try:
        for frame in container.decode(stream):
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    except av.FFmpegError as exc:
        # As with video, a damaged or cut file is refused rather than half used.
        raise FacegraftError(f"{path}: the audio is corrupt or truncated after {len(chunks)} blocks "
                             f"({first_line(exc)})") from None
    return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)


# Codecs an MP4/MOV takes as they are; anything else (PCM from a WAV, say) is encoded to AAC there.
COPYABLE = ("aac", "mp3", "mp3float", "ac3", "eac3", "alac", "opus")


def needs_encoding(source: Path, output_suffix: str) -> bool:
    """Whether the first audio track of `source` must be re-encoded to go into a file ending in `output_suffix`."""
    if output_suffix.lower() == ".mkv":
        return False  # Matroska holds any codec
    with av.open(str(source)) as container:
        stream = container.streams.audio[0] if container.streams.audio else None
        return stream is not None and stream.codec_context is not None and stream.codec_context.name not in COPYABLE


class AudioEncoder:
    """Encodes the first audio track of a file to AAC, interleaved with the video by time (the
    counterpart of copying packets, for tracks the container cannot hold as they are)."""

    def __init__(self, source: Path, output):
        self._source = Path(source)
        self._input = av.open(str(source))
        stream = self._input.streams.audio[0]
        rate = stream.rate or SPEECH_RATE
        layout = "stereo" if (stream.channels or 1) >= 2 else "mono"
        self._out = output.add_stream("aac", rate=rate, layout=layout)
        self._out.bit_rate = 128_000 if layout == "stereo" else 96_000
        self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        self._frames = self._input.decode(stream)
        self._output = output
        self._rate = rate
        self._written = 0  # samples handed to the encoder
        self._done = False

    def copy_until(self, seconds: float) -> None:
        try:
            while not self._done and self._written < seconds * self._rate:
                frame = next(self._frames, None)
                self._encode(self._resampler.resample(frame))
                if frame is None:
                    self._done = True
                    self._mux(self._out.encode(None))
        except av.FFmpegError as exc:
            raise FacegraftError(f"{self._source}: audio is corrupt and cannot be encoded ({first_line(exc)})") from None

    def _encode(self, frames) -> None:
        for frame in frames:
            frame.pts = self._written
            frame.time_base = fractions.Fraction(1, self._rate)
            self._written += frame.samples
            self._mux(self._out.encode(frame))

    def _mux(self, packets) -> None:
        for packet in packets:
            self._output.mux(packet)

    def close(self) -> None:
        self._input.close()
