"""What every command shares: the program name, one-line errors and warnings, quiet native logs."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

from facegraft.errors import FacegraftError

PROG = "facegraft"


def fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


@contextlib.contextmanager
def config_errors() -> Iterator[None]:
    """A setting the config refuses (its ValueError) is the user's mistake: one line, no traceback."""
    try:
        yield
    except ValueError as exc:
        raise FacegraftError(str(exc)) from None


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as installed
    try:
        return installed("facegraft")
    except PackageNotFoundError:
        return "0+unknown"


def silence_native_logs() -> None:
    """Send fd 2 (where MediaPipe's C++ threads log) to /dev/null; Python's stderr keeps the terminal.

    Set FACEGRAFT_NATIVE_LOGS=1 to see the native logs when debugging.
    """
    if os.environ.get("FACEGRAFT_NATIVE_LOGS") == "1":
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace")
    except (OSError, ValueError, AttributeError):
        pass  # no real fd 2 (embedded or captured): nothing to protect
