"""The fuzz test's worker process: runs many fuzz cases in sequence and reports each as one JSON line.

    python tests/fuzz_worker.py CASES.json BASES.json WORK_DIR START LIMIT_S

CASES.json is the list of case recipes (see tests/test_fuzz.py), BASES.json maps base names to the
unmutated files. The worker runs cases START, START+1, ... and writes, flushed, one line per case
to the stdout it was started with: what happened, as plain facts (exit code, stderr, an escaped
exception, the state of the output); the test judges them. A first line {"ready": true} says the
imports are done, so the parent's per-case clock starts after them.

It runs in its own process so that a native decoder crashing or hanging costs one case, not the
pytest run: the parent restarts it after the case that killed it. faulthandler writes the Python
stack of a crash, or of a case still running after LIMIT_S seconds (the worker then exits), to
stderr, which the parent keeps in a log for the failure message.
"""

from __future__ import annotations

import ctypes
import faulthandler
import json
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, TextIO

from fuzz_mutations import mutate

from cli_helpers import leftovers, run_captured

TAIL = 4000  # characters of stdout kept per case: enough to see what went wrong


def protocol_stream() -> TextIO:
    """The stdout the parent reads, moved off fd 1 so native code printing there cannot garble it."""
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)  # what anything else prints to fd 1 lands in the log, beside fd 2
    return os.fdopen(private, "w", buffering=1, encoding="utf-8")


def write_input(case: dict, base: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"input{case['suffix']}"
    path.write_bytes(mutate(base.read_bytes(), case["mutation"]))
    return path


def cli_argv(case: dict, mutated: Path, bases: dict[str, Path], output: Path | None) -> list[str]:
    command = case["command"]
    if command == "analyze":
        return ["analyze", str(mutated), "-o", str(output)]
    if command == "verify":
        return ["verify", str(mutated)]
    if command == "swap":
        other = bases[case["other_name"]]
        source, target = (mutated, other) if case["role"] == "source" else (other, mutated)
        return ["swap", "--source", str(source), "--target", str(target), "-o", str(output), "--preset", "fast",
                "--consent"]
    raise ValueError(f"unknown command {command!r}")


def output_state(command: str, output: Path | None) -> dict[str, Any]:
    """Whether the output exists and, if it does, whether it reads back whole."""
    if output is None or not output.exists():
        return {"exists": False}
    try:
        if command == "analyze":
            from facegraft.io.motion import read_motion
            read_motion(output)
        elif output.suffix == ".mp4":
            from facegraft.io import VideoReader
            with VideoReader(output) as reader:
                frames = sum(1 for _ in reader)
            return {"exists": True, "complete": frames > 0, "why": f"{frames} frames"}
        else:
            from facegraft.io import read_image
            read_image(output)
    except Exception as exc:  # anything: the judge reports it with the case
        return {"exists": True, "complete": False, "why": f"{type(exc).__name__}: {exc}"}
    return {"exists": True, "complete": True}


def run_probe(mutated: Path) -> dict[str, Any]:
    from facegraft.errors import FacegraftError
    from facegraft.io import probe
    try:
        return {"kind": probe(mutated).value}
    except FacegraftError as exc:
        return {"error": str(exc)}


def run_cli(case: dict, mutated: Path, bases: dict[str, Path], folder: Path) -> dict[str, Any]:
    output = folder / f"out{case['output']}" if case.get("output") else None
    code, out, err = run_captured(*cli_argv(case, mutated, bases, output))
    return {"code": code, "stdout": out[-TAIL:], "stderr": err, "output": output_state(case["command"], output)}


def run_case(case: dict, bases: dict[str, Path], work: Path, index: int) -> dict[str, Any]:
    if case["command"] == "_crash":  # the harness's own check: a native crash
        ctypes.string_at(0)
    if case["command"] == "_hang":  # ... and a hang
        time.sleep(3600)
    folder = work / f"case{index:04d}"
    mutated = write_input(case, bases[case["base_name"]], folder)
    # Each case warns as a fresh process would: entering catch_warnings clears the "already shown" registries.
    with warnings.catch_warnings():
        try:
            result = run_probe(mutated) if case["command"] == "probe" else run_cli(case, mutated, bases, folder)
        except BaseException:
            result = {"exception": traceback.format_exc()}
    result["leftovers"] = leftovers(folder)
    return result


def main(argv: list[str]) -> int:
    cases_file, bases_file, work, start, limit = argv
    cases = json.loads(Path(cases_file).read_text(encoding="utf-8"))
    bases = {name: Path(p) for name, p in json.loads(Path(bases_file).read_text(encoding="utf-8")).items()}
    report = protocol_stream()
    faulthandler.enable(file=sys.__stderr__, all_threads=True)
    import facegraft.cli  # noqa: F401  (the slow imports, before the first case's clock starts)
    import facegraft.io  # noqa: F401
    report.write(json.dumps({"ready": True}) + "\n")
    for index in range(int(start), len(cases)):
        print(f"--- case {index}: {cases[index]['id']}", file=sys.__stderr__, flush=True)
        faulthandler.dump_traceback_later(float(limit), exit=True, file=sys.__stderr__)
        started = time.perf_counter()
        result = run_case(cases[index], bases, Path(work), index)
        result["seconds"] = round(time.perf_counter() - started, 3)
        faulthandler.cancel_dump_traceback_later()
        report.write(json.dumps({"index": index, **result}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
