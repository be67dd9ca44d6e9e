"""Helpers the command-line tests share: running `facegraft` in-process and judging its errors."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import av

from facegraft import samples
from facegraft.cli import main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_captured(*argv) -> tuple[int, str, str]:
    """Like run_cli, for module-scoped fixtures where capsys is not available."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def visible_lines(text: str) -> list[str]:
    """What a terminal shows: a carriage return (the progress bar redrawing or clearing) overwrites."""
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def assert_one_line_error(code: int, err: str, expected_code: int = 1) -> str:
    """The run failed with `expected_code` and said why in exactly one line, without a traceback."""
    assert code == expected_code, err
    assert "Traceback" not in err
    assert err.endswith("\n")
    lines = visible_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("facegraft: error:"), err
    return lines[0]


def leftovers(directory: Path) -> list[str]:
    """Private temporary directories of atomic outputs (".<stem>.<random>.part")."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") and "part" in p.name)


def faststart_copy(name: str, dest: Path) -> Path:
    """Remux a sample with the index (moov) first, as streaming-friendly encoders write it."""
    with av.open(str(samples.path(name))) as src, av.open(str(dest), "w", options={"movflags": "faststart"}) as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)
    return dest
