"""What each kind of job does: a call into the library with the job's own files.

Every function takes (job, its folder, progress) and returns (outputs, one-line summary); the
outputs are written into the job's `outputs/` folder and named there, never from request text.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from facegraft.errors import FacegraftError
from facegraft.ui import forms
from facegraft.ui.jobs import Job, Progress
from facegraft.ui.plots import write_motion_plot

Outputs = list[dict[str, Any]]


def execute(job: Job, folder: Path, progress: Progress) -> tuple[Outputs, str]:
    run = {"swap": run_swap, "reenact": run_reenact, "analyze": run_analyze}.get(job.kind)
    if run is None:
        raise FacegraftError(f"a {job.kind} job cannot be run")
    try:
        return run(job, folder, progress)
    except FacegraftError as exc:
        # The library names files by their path on disk; the user knows them by their own names.
        raise FacegraftError(user_text(str(exc), job, folder)) from None


def user_text(text: str, job: Job, folder: Path) -> str:
    for item in job.inputs:
        text = text.replace(str(folder / "inputs" / item["name"]), item["label"])
    for item in job.outputs:
        text = text.replace(str(folder / "outputs" / item["name"]), item["name"])
    return text.replace(str(folder) + "/", "")


def _inputs(job: Job, folder: Path, role: str) -> list[Path]:
    return [folder / "inputs" / item["name"] for item in job.files(role)]


def _one(job: Job, folder: Path, role: str) -> tuple[Path, dict[str, Any]]:
    items = job.files(role)
    if not items:
        raise FacegraftError(f"the job has no {role}")
    return folder / "inputs" / items[0]["name"], items[0]


def run_swap(job: Job, folder: Path, progress: Progress) -> tuple[Outputs, str]:
    from facegraft.api import swap
    settings = forms.swap_settings(job.settings)
    sources = _inputs(job, folder, "source")
    target, info = _one(job, folder, "target")
    references = _inputs(job, folder, "reference")
    output = folder / "outputs" / ("swap.png" if info["kind"] == "image" else "swap.mp4")
    progress.begin("swap", info.get("frames", 0))
    mapping = [(ref, sources) for ref in references] if len(references) > 1 else ()
    summary = swap(sources, target, output, settings, reference=references[0] if len(references) == 1 else None,
                   mapping=mapping, on_progress=progress)
    outputs: Outputs = [{"name": output.name, "role": "output", "kind": info["kind"]}]
    text = f"swapped {summary.faces_swapped} face(s) in {summary.frames_swapped} of {summary.frames} frame(s)"
    if summary.faces_swapped == 0:
        text = f"no face was swapped in {info['label']}: the output is the target, labelled"
    if forms.report_wanted(job.settings):
        names = ([item["label"] for item in job.files("source")], info["label"])
        outputs.append(_evaluation(sources, target, output, summary, job.settings.get("preset", "balanced"),
                                   progress, names))
    return outputs, text


def _evaluation(sources: list[Path], target: Path, output: Path, summary, preset_name: str,
                progress: Progress, names: tuple[list[str], str]) -> dict:
    from facegraft.evaluate import EvalConfig, evaluate, speed_section, write_report
    progress.begin("evaluate", summary.frames)
    evaluation = evaluate(sources, target, output, EvalConfig(), on_progress=progress)
    # The report names the files as the user knows them, not by where the server keeps them.
    evaluation = dataclasses.replace(evaluation, sources=tuple(names[0]), target=names[1], output=output.name,
                                     speed=speed_section(summary.seconds, summary.frames, summary.frames_swapped,
                                                         preset_name))
    report = write_report(evaluation, output.with_name("report.html"), (target, output, *sources))
    return {"name": report.name, "role": "report", "kind": "html"}


def run_reenact(job: Job, folder: Path, progress: Progress) -> tuple[Outputs, str]:
    from facegraft.reenact import reenact
    settings = forms.reenact_settings(job.settings)
    portrait, _ = _one(job, folder, "portrait")
    driver, info = _one(job, folder, "driver")
    output = folder / "outputs" / "reenact.mp4"
    steps = info.get("frames", 0) * (2 if info["kind"] == "video" else 1)
    progress.begin("reenact", steps)
    summary = reenact(portrait, driver, output, settings, on_progress=progress)
    text = f"reenacted {summary.frames} frames (driver neutral frame {summary.neutral_frame})"
    if summary.frames_with_driver_face == 0:
        text = "no face found in the driver: the portrait stays still"
    return [{"name": output.name, "role": "output", "kind": "video"}], text


def run_analyze(job: Job, folder: Path, progress: Progress) -> tuple[Outputs, str]:
    from facegraft.capture import capture_motion
    settings = forms.analyze_settings(job.settings)
    source, info = _one(job, folder, "input")
    out = folder / "outputs"
    motion = out / f"motion.{settings.format}"
    overlay = (out / ("overlay.png" if info["kind"] == "image" else "overlay.mp4")) if settings.overlay else None
    progress.begin("analyze", info.get("frames", 0))
    summary = capture_motion(source, motion, overlay, settings.analysis, on_progress=progress)
    progress.begin("plot")
    plot = write_motion_plot(motion, out / "plot.png")
    outputs: Outputs = [{"name": motion.name, "role": "motion", "kind": settings.format},
                        {"name": plot.name, "role": "plot", "kind": "image"}]
    if overlay is not None:
        outputs.append({"name": overlay.name, "role": "overlay", "kind": info["kind"]})
    text = (f"{summary.records} face records from {summary.frames} frame(s), {summary.tracks} track(s)"
            if summary.records else f"no face found in {info['label']}: the motion file is empty")
    return outputs, text
