"""Fuzz test: damaged media through `probe`, `analyze`, `swap` and `verify` end in success or one line.

Several hundred files are made from the sample media by deterministic mutations (tests/fuzz_mutations.py:
bit flips in the header and the body, cuts at 0, 1 and random bytes, another format's header, zeroed,
shuffled and duplicated chunks, junk appended, a wrong extension) and each goes through one entry
point: `facegraft.io.probe`, or the `analyze`, `swap` (as its target, or its source profile) and
`verify` commands run in-process. Every case must end in success or a one-line error: never a
traceback, an exception escaping `main()`, a native crash or a hang, and never a half-written output
or a hidden `.part` folder left behind. Each case is timed and must finish within CASE_LIMIT_S.

Videos are cut to their first frames (remuxed, so HEVC stays HEVC) before they are mutated, and
swaps use a profile .npz, so the whole run stays within a few minutes on two cores. The cases run
in a worker process (tests/fuzz_worker.py) so a crash costs one case, not pytest; see there.

tests/fuzz_corpus.json holds the cases that once failed, as recipes (base media, mutation,
command); they are replayed first, every run. A newly failing case's recipe is printed in the
failure message, ready to be added to the corpus. The recipes are exact for the samples and their
cuts; the watermarked bases carry a new run id and date each run (the same lengths, other bits).

Run with -s to see the summary: cases per command and mutation, outcomes, the slowest cases.
"""

from __future__ import annotations

import collections
import json
import queue
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import av
import pytest

from facegraft import samples

from cli_helpers import assert_one_line_error, run_captured, visible_lines
from fuzz_mutations import KINDS, plan

HERE = Path(__file__).parent
WORKER = HERE / "fuzz_worker.py"
CORPUS = HERE / "fuzz_corpus.json"

CASE_LIMIT_S = 30.0  # what one case may take; the slowest take a few seconds
HANG_LIMIT_S = 60.0  # a case still running after this is a hang: the worker dumps its stack and exits
GRACE_S = 15.0  # on top of HANG_LIMIT_S before the parent kills a worker that did not exit itself
READY_LIMIT_S = 180.0  # a fresh worker's imports (MediaPipe's are slow on a cold cache)
MIN_CASES = 300
COMMANDS = ("probe", "analyze", "swap", "verify")

Spec = dict[str, Any]
Case = dict[str, Any]

# The unmutated files, as recipes; the names are what cases and the summary call them.
BASES: dict[str, Spec] = {
    "single_face.jpg": {"sample": "single_face.jpg"},
    "astronaut.png": {"sample": "astronaut.png"},
    "single_face-12f.mp4": {"sample": "single_face.mp4", "frames": 12},
    "carphone-12f-faststart.mp4": {"sample": "carphone_pristine.mp4", "frames": 12, "faststart": True},
    "carphone-12f.mkv": {"sample": "carphone_pristine.mp4", "frames": 12, "container": ".mkv"},
    "face_noface-8f-faststart.mov": {"sample": "face_noface.mov", "frames": 8, "faststart": True},
    "no_face-8f.mp4": {"sample": "no_face.mp4", "frames": 8},
    "profile.npz": {"made_by": "profile", "sample": "astronaut.png"},
    "motion.jsonl": {"made_by": "analyze", "sample": "carphone_pristine.mp4", "frames": 12, "faststart": True},
    "watermarked.png": {"made_by": "swap", "sample": "single_face.jpg", "source": "astronaut.png", "suffix": ".png"},
    "watermarked.jpg": {"made_by": "swap", "sample": "single_face.jpg", "source": "astronaut.png", "suffix": ".jpg"},
    "watermarked.mp4": {"made_by": "swap", "sample": "carphone_pristine.mp4", "frames": 12, "faststart": True,
                        "source": "astronaut.png", "suffix": ".mp4"},
}
IMAGES = ("single_face.jpg", "astronaut.png")
VIDEOS = ("single_face-12f.mp4", "carphone-12f-faststart.mp4", "carphone-12f.mkv", "face_noface-8f-faststart.mov",
          "no_face-8f.mp4")
WATERMARKED = ("watermarked.png", "watermarked.jpg", "watermarked.mp4")


# --- the base media -------------------------------------------------------------------------------


def base_name(spec: Spec) -> str:
    """The name `BASES` gives a spec; a corpus spec not in it gets one spelled from its fields."""
    known = next((name for name, s in BASES.items() if s == spec), None)
    if known is not None:
        return known
    return "-".join(f"{k}={v}" for k, v in sorted(spec.items())).replace("/", "_")


def base_suffix(spec: Spec) -> str:
    made_by = spec.get("made_by")
    if made_by == "profile":
        return ".npz"
    if made_by == "analyze":
        return ".jsonl"
    return spec.get("suffix") or spec.get("container") or Path(spec["sample"]).suffix


def trim_video(source: Path, dest: Path, frames: int, faststart: bool) -> Path:
    """The first `frames` video packets in decode order (each decodable from those before it) with the
    audio that plays alongside, remuxed without re-encoding."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(source)) as src, av.open(str(dest), "w", options=options) as dst:
        video = src.streams.video[0]
        kept = [video, *src.streams.audio[:1]]
        streams = {s.index: dst.add_stream_from_template(s) for s in kept}
        count = 0
        for packet in src.demux(*kept):
            if packet.dts is None:
                continue
            if packet.stream.type == "video":
                if count == frames:
                    break  # the audio demuxed before this packet plays with the frames kept
                count += 1
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)
    return dest


def run_ok(*argv) -> None:
    code, _, err = run_captured(*argv, "-q")
    assert code == 0, f"making a fuzz base failed: facegraft {' '.join(map(str, argv))}: {err}"


def make_base(spec: Spec, folder: Path, made: dict[str, Path]) -> Path:
    """The file `spec` describes, made once into `folder` (or the sample itself)."""
    name = base_name(spec)
    if name in made:
        return made[name]
    dest = folder / (name if name.endswith(base_suffix(spec)) else name + base_suffix(spec))
    media = {k: spec[k] for k in ("sample", "frames", "faststart", "container") if k in spec}
    if "made_by" not in spec and "frames" not in spec:
        dest = samples.path(spec["sample"])
    elif "made_by" not in spec:
        trim_video(samples.path(spec["sample"]), dest, spec["frames"], spec.get("faststart", False))
    elif spec["made_by"] == "profile":
        run_ok("profile", samples.path(spec["sample"]), "-o", dest)
    elif spec["made_by"] == "analyze":
        run_ok("analyze", make_base(media, folder, made), "-o", dest)
    elif spec["made_by"] == "swap":
        profile = make_base({"made_by": "profile", "sample": spec["source"]}, folder, made)
        run_ok("swap", "--source", profile, "--target", make_base(media, folder, made), "-o", dest,
               "--preset", "fast", "--consent")
    else:
        raise ValueError(f"unknown base {spec}")
    made[name] = dest
    return dest


# --- the cases ------------------------------------------------------------------------------------


def media_kind(suffix: str) -> str:
    return "video" if suffix in (".mp4", ".mov", ".mkv") else "image"


def output_suffix(command: str, spec: Spec) -> str | None:
    """What the command writes; a swap's output type follows what the target really holds."""
    if command == "analyze":
        return ".jsonl"
    if command == "swap":
        return ".mp4" if media_kind(base_suffix(spec)) == "video" else ".png"
    return None


def control_expectation(command: str, name: str) -> str | int:
    """What the unmutated base gives: probe's kind (or "error"), or the command's exit code."""
    suffix = base_suffix(BASES[name])
    media = suffix not in (".npz", ".jsonl")
    if command == "probe":
        return media_kind(suffix) if media else "error"
    if command == "verify":
        return 0 if name in WATERMARKED else 1
    return 0 if media or (command == "swap" and suffix == ".npz") else 1


# (command, mutated base, repeats of every kind, the swap's other input, the mutated file's role)
PLAN: tuple[tuple[str, str, int, str | None, str | None], ...] = (
    *(("probe", name, 1, None, None) for name in BASES),
    *(("analyze", name, 2, None, None) for name in (*IMAGES, *VIDEOS)),
    ("analyze", "motion.jsonl", 1, None, None),
    ("swap", "single_face.jpg", 2, "profile.npz", "target"),
    ("swap", "carphone-12f-faststart.mp4", 2, "profile.npz", "target"),
    # These two carry audio (MP3, AAC), which a swap copies packet by packet.
    ("swap", "single_face-12f.mp4", 2, "profile.npz", "target"),
    ("swap", "face_noface-8f-faststart.mov", 1, "profile.npz", "target"),
    ("swap", "profile.npz", 2, "single_face.jpg", "source"),
    ("verify", "watermarked.png", 2, None, None),
    ("verify", "watermarked.jpg", 2, None, None),
    ("verify", "watermarked.mp4", 2, None, None),
    ("verify", "astronaut.png", 1, None, None),
    ("verify", "carphone-12f.mkv", 1, None, None),
)


def new_case(command: str, name: str, kind: str, number: int, other: str | None, role: str | None) -> Case:
    spec = BASES[name]
    target = BASES[other] if role == "source" else spec
    case: Case = {"id": f"{command}:{name}:{kind}:{number}", "command": command, "base": spec, "kind": kind}
    if role:
        case.update(role=role, other=BASES[other])
    if output_suffix(command, target):
        case["output"] = output_suffix(command, target)
    return case


def generated_cases(made: dict[str, Path]) -> list[Case]:
    """The plan's cases, each mutation drawn from a seed named after the case (so reruns repeat it)."""
    cases = []
    for command, name, repeats, other, role in PLAN:
        control = new_case(command, name, "control", 0, other, role)
        cases.append({**control, "mutation": {"kind": "none"}, "suffix": base_suffix(BASES[name]),
                      "expect": control_expectation(command, name)})
        size = made[name].stat().st_size
        for kind in KINDS:
            for number in range(repeats):
                case = new_case(command, name, kind, number, other, role)
                case["mutation"], case["suffix"] = plan(kind, size, random.Random(case["id"]), base_suffix(BASES[name]))
                cases.append(case)
    return cases


def corpus_cases() -> list[Case]:
    entries = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
    return [{**entry, "id": f"corpus:{entry['id']}", "corpus": True} for entry in entries]


def with_bases(cases: list[Case], folder: Path, made: dict[str, Path]) -> list[Case]:
    """Each case with the names of the (now made) base files the worker reads."""
    out = []
    for case in cases:
        case = dict(case, base_name=base_name(case["base"]))
        make_base(case["base"], folder, made)
        if "other" in case:
            case["other_name"] = base_name(case["other"])
            make_base(case["other"], folder, made)
        out.append(case)
    return out


# --- the worker -----------------------------------------------------------------------------------


class Worker:
    """One fuzz_worker.py process from case `start` on; its report lines arrive on a queue."""

    def __init__(self, files: tuple[Path, Path, Path], start: int, hang_limit: float, log: Path):
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, str(WORKER), *map(str, files), str(start), str(hang_limit)],
                                         stdout=subprocess.PIPE, stderr=err, cwd=HERE)
        self.lines: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)  # the worker ended

    def next(self, timeout: float) -> dict | None:
        """The next report; None when the worker ended; queue.Empty when it said nothing for `timeout` s."""
        return self.lines.get(timeout=timeout)

    def stop(self, grace: float = 0.0) -> int | None:
        """End the worker (after `grace` seconds to exit by itself) and return its exit status."""
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        return self.proc.returncode


def log_of_case(log: Path, index: int) -> str:
    """What the worker wrote to its stderr while running case `index`: the faulthandler dump."""
    text = log.read_text(encoding="utf-8", errors="replace")
    marker = f"--- case {index}:"
    text = text[text.find(marker):] if marker in text else text
    lines = [line for line in text.splitlines() if not line.startswith(("W0000", "I0000", "INFO:", "WARNING: All log"))]
    return "\n".join(lines[-60:])


def lost_case(index: int, how: str, worker: Worker, seconds: float, code: int | None = None) -> dict:
    """The report of the case a worker did not finish: a crash (killed by a signal) or a hang."""
    code = worker.stop() if code is None else code
    log = log_of_case(worker.log, index)
    if how == "died":
        # faulthandler's timeout dumps "Timeout (0:01:00)!" and exits 1; a native crash dies of its signal.
        how = "hang" if "Timeout (" in log else "crash" if code < 0 else f"exit {code}"
    return {"index": index, "lost": how, "returncode": code, "seconds": round(seconds, 3), "log": log}


def run_from(start: int, files: tuple[Path, Path, Path], work: Path, hang_limit: float) -> Iterator[dict]:
    """Reports of cases `start`, `start`+1, ... from one worker, ending with the case that killed it, if any."""
    worker = Worker(files, start, hang_limit, work / f"worker-{start:04d}.log")
    try:
        ready = worker.next(READY_LIMIT_S)
    except queue.Empty:
        ready = None
    if not ready or not ready.get("ready"):
        worker.stop()
        pytest.fail(f"the fuzz worker did not start:\n{log_of_case(worker.log, -1)}")
    index = start
    while True:
        started = time.monotonic()
        try:
            report = worker.next(hang_limit + GRACE_S)
        except queue.Empty:
            yield lost_case(index, "hang", worker, time.monotonic() - started)
            return
        if report is None:
            # A clean exit after the last case, a crash, or the worker's own hang timeout.
            # Its output closes a moment before it exits, so give it that moment.
            code = worker.stop(grace=10)
            if code != 0:
                yield lost_case(index, "died", worker, time.monotonic() - started, code)
            return
        yield report
        index += 1


def run_cases(cases: list[Case], bases: dict[str, Path], work: Path, hang_limit: float = HANG_LIMIT_S) -> list[dict]:
    """One report per case, in order; a crash or hang is reported for its case and the rest run on."""
    files = (work / "cases.json", work / "bases.json", work)
    files[0].write_text(json.dumps(cases), encoding="utf-8")
    files[1].write_text(json.dumps({name: str(p) for name, p in bases.items()}), encoding="utf-8")
    results: list[dict] = []
    while len(results) < len(cases):
        before = len(results)
        results.extend(run_from(before, files, work, hang_limit))
        if len(results) == before:
            pytest.fail(f"the fuzz worker ended without running case {before}")
    return results


# --- judging a case -------------------------------------------------------------------------------


def probe_problems(case: Case, result: dict) -> list[str]:
    found = []
    if "error" in result:
        message = result["error"]
        if not message.strip() or "\n" in message.strip() or "Traceback" in message:
            found.append(f"probe's error is not one line: {message!r}")
    expect = case.get("expect")
    got = "error" if "error" in result else result.get("kind")
    if expect is not None and got != expect:
        found.append(f"probe gave {got!r}, expected {expect!r}")
    return found


def cli_problems(case: Case, result: dict) -> list[str]:
    command, code, err, output = case["command"], result["code"], result["stderr"], result["output"]
    lines = visible_lines(err)
    found = []
    if "Traceback" in err:
        found.append("a traceback on stderr")
    succeeded = code in ((0, 1) if command == "verify" else (0,)) and not any(
        line.startswith("facegraft: error:") for line in lines)
    if succeeded:
        stray = [line for line in lines if line and not line.startswith("facegraft: warning:")]
        if stray:
            found.append(f"exit {code} but stderr says more than warnings: {stray}")
        if case.get("output") and not (output["exists"] and output.get("complete")):
            found.append(f"exit {code} but the output is missing or incomplete: {output}")
        if command == "verify" and "watermark found" not in result["stdout"]:
            found.append(f"verify exit {code} without a verdict: {result['stdout']!r}")
    else:
        try:
            assert_one_line_error(code, err, 2 if command == "verify" else 1)
        except AssertionError:
            found.append(f"exit {code}, not a one-line error: {err!r}")
        if output["exists"]:
            found.append(f"exit {code} but an output was left: {output}")
    if case.get("expect") is not None and code != case["expect"]:
        found.append(f"exit {code}, expected {case['expect']} (unmutated input): {err!r}")
    return found


def problems(case: Case, result: dict) -> list[str]:
    """What is wrong with how the case ended; empty when it ended in success or a one-line error."""
    if "lost" in result:
        return [f"worker {result['lost']} (exit status {result['returncode']}):\n{result['log']}"]
    if "exception" in result:
        return [f"exception escaped:\n{result['exception']}"]
    found = probe_problems(case, result) if case["command"] == "probe" else cli_problems(case, result)
    if result["leftovers"]:
        found.append(f"left behind: {result['leftovers']}")
    return found


def recipe(case: Case) -> str:
    """The case as a corpus entry."""
    keep = ("command", "base", "kind", "mutation", "suffix", "role", "other", "output")
    return json.dumps({"id": case["id"], **{k: case[k] for k in keep if k in case}})


def timing_table(cases: list[Case], results: list[dict]) -> str:
    rows = [f"{r['seconds']:7.2f} s  {c['id']}" for c, r in zip(cases, results)]
    return "\n".join(rows)


def failure_report(cases: list[Case], results: list[dict], indexes: list[int]) -> str:
    failing = [i for i in indexes if problems(cases[i], results[i])]
    parts = [f"{len(failing)} of {len(indexes)} fuzz cases did not end in success or a one-line error:"]
    for i in failing:
        parts.append(f"\n[{cases[i]['id']}] ({results[i]['seconds']:.2f} s)\n  " + "\n  ".join(
            problems(cases[i], results[i])) + f"\n  corpus recipe: {recipe(cases[i])}")
    parts.append("\nper-case times:\n" + timing_table([cases[i] for i in indexes], [results[i] for i in indexes]))
    return "\n".join(parts)


def summary(cases: list[Case], results: list[dict], wall: float) -> str:
    per_command = collections.Counter(c["command"] for c in cases)
    per_kind = collections.Counter(c["kind"] for c in cases)
    outcomes = collections.Counter((c["command"], outcome(c, r)) for c, r in zip(cases, results))
    slowest = sorted(zip(results, cases), key=lambda rc: -rc[0]["seconds"])[:5]
    lines = [f"fuzz: {len(cases)} cases in {wall:.0f} s",
             "per command: " + ", ".join(f"{k} {v}" for k, v in per_command.items()),
             "per mutation: " + ", ".join(f"{k} {per_kind[k]}" for k in ("control", *KINDS)),
             "outcomes: " + ", ".join(f"{cmd} {o} {n}" for (cmd, o), n in sorted(outcomes.items())),
             "slowest: " + ", ".join(f"{c['id']} {r['seconds']:.2f} s" for r, c in slowest)]
    return "\n".join(lines)


def outcome(case: Case, result: dict) -> str:
    if "lost" in result or "exception" in result:
        return "broken"
    if case["command"] == "probe":
        return "error" if "error" in result else result["kind"]
    return f"exit {result['code']}"


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory) -> tuple[list[Case], list[dict]]:
    """Every case run once, the corpus first: (cases, reports) in the same order."""
    started = time.monotonic()
    work = tmp_path_factory.mktemp("fuzz")
    (work / "bases").mkdir()
    made: dict[str, Path] = {}
    for spec in BASES.values():
        make_base(spec, work / "bases", made)
    cases = with_bases(corpus_cases() + generated_cases(made), work / "bases", made)
    results = run_cases(cases, made, work)
    print("\n" + summary(cases, results, time.monotonic() - started))
    return cases, results


def test_corpus_is_replayed_first_and_ends_cleanly(fuzz_run) -> None:
    cases, results = fuzz_run
    corpus = [i for i, c in enumerate(cases) if c.get("corpus")]
    assert corpus, "tests/fuzz_corpus.json lists no case"
    assert corpus == list(range(len(corpus))), "the corpus must run before the generated cases"
    assert not any(problems(cases[i], results[i]) for i in corpus), failure_report(cases, results, corpus)


def test_mutated_media_end_in_success_or_one_line_error(fuzz_run) -> None:
    cases, results = fuzz_run
    generated = [i for i, c in enumerate(cases) if not c.get("corpus")]
    assert not any(problems(cases[i], results[i]) for i in generated), failure_report(cases, results, generated)


def test_every_case_finishes_in_time(fuzz_run) -> None:
    cases, results = fuzz_run
    slow = [f"{c['id']}: {r['seconds']:.1f} s" for c, r in zip(cases, results) if r["seconds"] > CASE_LIMIT_S]
    assert not slow, f"cases over {CASE_LIMIT_S:.0f} s: {slow}\nper-case times:\n{timing_table(cases, results)}"


def test_cases_cover_every_entry_point_and_mutation(fuzz_run) -> None:
    cases, _ = fuzz_run
    generated = [c for c in cases if not c.get("corpus") and c["kind"] != "control"]
    assert len(generated) >= MIN_CASES
    for command in COMMANDS:
        kinds = collections.Counter(c["kind"] for c in generated if c["command"] == command)
        assert set(kinds) == set(KINDS), f"{command} lacks mutations {set(KINDS) - set(kinds)}"
        assert sum(kinds.values()) >= 50, f"only {sum(kinds.values())} {command} cases"


def test_mutations_reach_past_the_first_check(fuzz_run) -> None:
    """Some damaged files still succeed (a flipped bit in pixel data) and some fail: neither every
    case stopping at the door nor every mutation going unnoticed would test much."""
    cases, results = fuzz_run
    for command in COMMANDS:
        seen = {outcome(c, r) for c, r in zip(cases, results) if c["command"] == command and c["kind"] != "control"}
        ok = {"image", "video"} if command == "probe" else {"exit 0", "exit 1"} if command == "verify" else {"exit 0"}
        assert seen & ok, f"no mutated {command} case succeeded: {seen}"
        assert seen - ok, f"no mutated {command} case failed: {seen}"


def test_harness_reports_crashes_and_hangs_and_runs_on(tmp_path) -> None:
    """The harness itself: a native crash and a hang each cost their case, with a stack dump, and the
    cases after them still run."""
    image = BASES["single_face.jpg"]
    ok = {"command": "probe", "base": image, "base_name": "single_face.jpg", "kind": "control",
          "mutation": {"kind": "none"}, "suffix": ".jpg", "expect": "image"}
    cases = [dict(ok, id="before"), dict(ok, id="crash", command="_crash"), dict(ok, id="between"),
             dict(ok, id="hang", command="_hang"), dict(ok, id="after")]
    results = run_cases(cases, {"single_face.jpg": samples.path("single_face.jpg")}, tmp_path, hang_limit=3)
    assert [r.get("lost") for r in results] == [None, "crash", None, "hang", None]
    assert "Segmentation fault" in results[1]["log"] and "run_case" in results[1]["log"]
    assert "Timeout" in results[3]["log"] and "run_case" in results[3]["log"]
    assert [problems(c, r) == [] for c, r in zip(cases, results)] == [True, False, True, False, True]
