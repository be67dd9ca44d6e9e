"""`facegraft verify`: does a file carry the facegraft watermark (exit 0 yes, 1 no, 2 error)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from facegraft.cli.common import fail
from facegraft.errors import FacegraftError


def add_parser(sub) -> None:
    ver = sub.add_parser("verify", help="tell whether a file carries the facegraft watermark (exit 0 yes, 1 no, 2 error)")
    ver.add_argument("file", type=Path)
    ver.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facegraft.io.media import ignore_pillow_notes
    from facegraft.provenance.verify import verify
    from facegraft.provenance.watermark import Z_MIN
    try:
        # Reading the label metadata parses EXIF again, where Pillow warns about damage it skips.
        with warnings.catch_warnings():
            ignore_pillow_notes()
            verdict = verify(args.file)
    except FacegraftError as exc:
        return fail(str(exc), 2)
    meta = verdict.metadata
    note = next((meta[k] for k in ("Description", "comment") if k in meta), None)
    if verdict.found:
        p = verdict.reading.payload
        print(f"{args.file}: made by facegraft (watermark found): version {p.version_text}, run {p.run_text}, "
              f"confidence {verdict.confidence:.2f} ({verdict.frames_marked}/{verdict.frames_checked} frames read alone; "
              f"evidence score {verdict.reading.score:.1f}, found from {Z_MIN})")
    else:
        print(f"{args.file}: no facegraft watermark found ({verdict.frames_checked} frames checked)")
    if note:
        print(f"metadata: {note}")
    return 0 if verdict.found else 1
