"""`facegraft ui`: a local web app over the library API (swap, reenact, analyze, eval, verify, live).

config.py holds the one settings object; kinds.py declares each kind of job (its uploads, form,
task, outputs and preview); jobs.py keeps jobs on disk and runner.py runs them one at a time;
app.py is the application without HTTP, routes.py maps requests to it and http.py serves them
(UiServer); static/ is the page (plain HTML, CSS and JavaScript).
"""

from facegraft.ui.config import UiConfig

__all__ = ["UiConfig"]
