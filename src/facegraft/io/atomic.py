"""Outputs appear only when complete, so a failed run never leaves a partial file."""

from __future__ import annotations

import contextlib
import os
import shutil
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


def make_folder(directory: Path) -> Path:
    """`directory`, made with its parents where missing; a file in its place, or a folder that
    cannot be made, is a one-line error."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise FacegraftError(f"{directory} is a file, not a folder; give a folder name")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacegraftError(f"cannot create the folder {directory} ({exc.strerror or exc})") from None
    return directory


@contextlib.contextmanager
def atomic_output(path: Path, inputs: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path; move it to `path` only if the block succeeds.

    The temporary file lives in a private directory (mode 0700: other users cannot read a
    half-written face swap) made beside the output, because only a rename within one file system
    is atomic. The directory goes, with whatever is in it, however the block ends (error, Ctrl-C).
    The file keeps the output's name, so encoders pick the right format from its suffix.
    """
    path = check_output_path(Path(path), inputs)
    try:
        private = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", suffix=".part", dir=path.resolve().parent))
    except OSError as exc:  # /proc, /sys and other places that look writable and are not
        raise FacegraftError(f"cannot write {path} ({exc.strerror or exc})") from None
    tmp = private / path.name
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        shutil.rmtree(private, ignore_errors=True)
