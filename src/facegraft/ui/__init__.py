"""`facegraft ui`: a local web app over the library API (swap, reenact, analyze, eval, verify, live).

config.py holds the one settings object, jobs.py keeps jobs on disk and runs them one at a time,
server.py maps HTTP requests to them, static/ is the page (plain HTML, CSS and JavaScript).
"""

from facegraft.ui.config import UiConfig

__all__ = ["UiConfig"]
