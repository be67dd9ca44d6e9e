"""`from facegraft.ui.server import UiServer`, as the CLI has it: the server lives in http.py."""

from facegraft.ui.http import UiServer

__all__ = ["UiServer"]
