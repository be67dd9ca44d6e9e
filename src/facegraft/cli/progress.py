"""The terminal progress bar: the library reports `on_progress(done, total)`, the CLI draws it."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from tqdm import tqdm


class FrameBar:
    """A tqdm bar on stderr, opened by the first report of a run with more than one step."""

    def __init__(self, desc: str):
        self.desc = desc
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total == 1:
                return  # an image is one step: no bar, as stills never had one
            self._bar = tqdm(total=total or None, unit="frame", file=sys.stderr, desc=self.desc, leave=False,
                             dynamic_ncols=True)
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextlib.contextmanager
def frame_bar(desc: str, quiet: bool = False) -> Iterator[FrameBar | None]:
    """The `on_progress` to hand a library call made inside the block (None when quiet); the bar is
    cleared when the block ends, before any summary, warning or error line is printed."""
    if quiet:
        yield None
        return
    bar = FrameBar(desc)
    try:
        yield bar
    finally:
        bar.close()
