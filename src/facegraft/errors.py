"""Errors a user sees: one line, no traceback."""


class FacegraftError(Exception):
    """A problem with the user's input or environment, reported as one line."""
