"""One video run's files: the inputs it reads, the outputs it writes atomically with their container
metadata and audio, and the progress it reports.

Swap, reenact, analyze and live share it, so every video output is written the same way: inside
`atomic_output` (renamed into place only when the run completes; failure, Ctrl-C and any
exception leave nothing), encoded as the VideoConfig says, tagged with the run's metadata.
"""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import IO, Callable, ContextManager, Mapping, Sequence, TypeVar

from facegraft.config import VideoConfig
from facegraft.errors import FacegraftError
from facegraft.io.atomic import atomic_output
from facegraft.io.video import VideoReader, VideoWriter

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")

# Called with (steps done, steps total) as a run goes; total is 0 when unknown. An exception it
# raises aborts the run (the partial output is removed), which is how callers cancel.
Progress = Callable[[int, int], None]

T = TypeVar("T")


def check_video_suffix(path: Path, what: str = "a video output") -> Path:
    if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
        raise FacegraftError(f"{path}: {what} must end in one of {', '.join(VIDEO_SUFFIXES)}")
    return Path(path)


def _no_progress(done: int, total: int) -> None:
    return None


DISK_FAULTS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
               errno.EFBIG: "the file grew past the size allowed"}


def _disk_fault(error: OSError, outputs: Sequence[Path]) -> FacegraftError | None:
    """The one-line error for a write that ran out of room, or None for any other OSError."""
    reason = DISK_FAULTS.get(error.errno)
    if reason is None:
        return None
    names = ", ".join(str(p) for p in outputs) or "the output"
    return FacegraftError(f"cannot finish writing {names}: {reason}; nothing was written")


class VideoRun:
    """Use as a context manager; everything opened through it is closed (and unfinished outputs
    removed) when the block ends."""

    def __init__(self, inputs: Sequence[Path], on_progress: Progress | None = None):
        self.inputs = tuple(Path(p) for p in inputs)
        self.report: Progress = on_progress or _no_progress
        self._stack = contextlib.ExitStack()
        self._outputs: list[Path] = []

    def __enter__(self) -> "VideoRun":
        self._stack.__enter__()
        return self

    def __exit__(self, *exc) -> bool | None:
        # A full disk shows while frames are written or when the file is closed (in the stack's exit).
        try:
            handled = self._stack.__exit__(*exc)
        except OSError as error:
            raise _disk_fault(error, self._outputs) or error
        fault = _disk_fault(exc[1], self._outputs) if isinstance(exc[1], OSError) else None
        if fault is not None:
            raise fault from None
        return handled

    def read(self, path: Path) -> VideoReader:
        return self._stack.enter_context(VideoReader(Path(path)))

    def write_video(self, output: Path, width: int, height: int, fps, video: VideoConfig = VideoConfig(),
                    metadata: Mapping[str, str] | None = None, audio_from: Path | None = None) -> VideoWriter:
        """A video output, encoded as `video` says, with `metadata` in its container and the audio
        of `audio_from` copied alongside."""
        self._outputs.append(Path(output))
        tmp = self._stack.enter_context(atomic_output(Path(output), self.inputs))
        return self._stack.enter_context(VideoWriter(tmp, width, height, fps, codec=video.encoder, crf=video.quality,
                                                     preset=video.speed, audio_from=audio_from,
                                                     metadata=dict(metadata) if metadata else None))

    def write_text(self, output: Path) -> IO[str]:
        """A text output (a motion file), opened for writing."""
        self._outputs.append(Path(output))
        tmp = self._stack.enter_context(atomic_output(Path(output), self.inputs))
        return self._stack.enter_context(open(tmp, "w", encoding="utf-8", newline=""))

    def hold(self, resource: ContextManager[T]) -> T:
        """Keep another resource (a face tracker, say) open for the run."""
        return self._stack.enter_context(resource)
