"""Errors a user sees: one line, no traceback."""


class FacegraftError(Exception):
    """A problem with the user's input or environment, reported as one line."""


def first_line(exc: BaseException) -> str:
    """What an exception says, cut to its first line (library messages, FFmpeg's, OpenCV's), or
    its type's name when it says nothing."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
