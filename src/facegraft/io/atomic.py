"""Outputs appear only when complete, so a failed run never leaves a partial file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from facegraft.errors import FacegraftError


def check_output_path(path: Path, inputs: tuple[Path, ...] = ()) -> Path:
    """Refuse outputs that would overwrite an input or cannot be written."""
    path = Path(path)
    for source in inputs:
        if Path(source).exists() and path.exists() and os.path.samefile(source, path):
            raise FacegraftError(f"output {path} is the same file as input {source}; choose another output path")
        if Path(source).resolve() == path.resolve():
            raise FacegraftError(f"output {path} is the same file as input {source}; choose another output path")
    if path.is_dir():
        raise FacegraftError(f"output {path} is a directory; give a file name")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise FacegraftError(f"output directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise FacegraftError(f"output directory {parent} is not writable")
    return path


@contextlib.contextmanager
def atomic_output(path: Path, inputs: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds.

    The temporary file keeps the final suffix so that encoders pick the right format from it.
    """
    path = check_output_path(Path(path), inputs)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.resolve().parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file owner-only; the output should get the usual umask-based mode.
        os.chmod(tmp, 0o666 & ~_current_umask())
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
