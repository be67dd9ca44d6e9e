"""What each runnable kind of job does: a call into the library with the job's own files.

Every task takes (the job's workspace, progress) and returns (outputs, one-line summary); the
outputs are written into the job's `outputs/` folder under the names its kind declares
(kinds.py), never from request text.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from facegraft.ui import forms
from facegraft.ui.plots import write_motion_plot
from facegraft.ui.runner import Progress
from facegraft.ui.workspace import Workspace

Outputs = list[dict[str, Any]]
Task = Callable[[Workspace, Progress], tuple[Outputs, str]]


def run_swap(work: Workspace, progress: Progress) -> tuple[Outputs, str]:
    from facegraft.api import swap
    job = work.job
    settings = forms.swap_settings(job.settings)
    sources = work.inputs("source")
    target, info = work.one("target")
    references = work.inputs("reference")
    output = work.output("output", media=info["kind"])
    progress.begin("swap", info.get("frames", 0))
    mapping = [(ref, sources) for ref in references] if len(references) > 1 else ()
    summary = swap(sources, target, output, settings, reference=references[0] if len(references) == 1 else None,
                   mapping=mapping, on_progress=progress)
    outputs: Outputs = [work.listed(output, "output")]
    text = f"swapped {summary.faces_swapped} face(s) in {summary.frames_swapped} of {summary.frames} frame(s)"
    if summary.faces_swapped == 0:
        text = f"no face was swapped in {info['label']}: the output is the target, labelled"
    if forms.report_wanted(job.settings):
        names = ([item["label"] for item in job.files("source")], info["label"])
        report = _evaluation(sources, target, output, work.output("report"), summary,
                             job.settings.get("preset", "balanced"), progress, names)
        outputs.append(work.listed(report, "report"))
    return outputs, text


def _evaluation(sources: list[Path], target: Path, output: Path, report: Path, summary, preset_name: str,
                progress: Progress, names: tuple[list[str], str]) -> Path:
    from facegraft.evaluate import EvalConfig, evaluate, speed_section, write_report
    progress.begin("evaluate", summary.frames)
    evaluation = evaluate(sources, target, output, EvalConfig(), on_progress=progress)
    # The report names the files as the user knows them, not by where the server keeps them.
    evaluation = dataclasses.replace(evaluation, sources=tuple(names[0]), target=names[1], output=output.name,
                                     speed=speed_section(summary.seconds, summary.frames, summary.frames_swapped,
                                                         preset_name))
    return write_report(evaluation, report, (target, output, *sources))


def run_reenact(work: Workspace, progress: Progress) -> tuple[Outputs, str]:
    from facegraft.reenact import reenact
    settings = forms.reenact_settings(work.job.settings)
    portrait, _ = work.one("portrait")
    driver, info = work.one("driver")
    output = work.output("output")
    steps = info.get("frames", 0) * (2 if info["kind"] == "video" else 1)
    progress.begin("reenact", steps)
    summary = reenact(portrait, driver, output, settings, on_progress=progress)
    text = f"reenacted {summary.frames} frames (driver neutral frame {summary.neutral_frame})"
    if summary.frames_with_driver_face == 0:
        text = "no face found in the driver: the portrait stays still"
    return [work.listed(output, "output")], text


def run_analyze(work: Workspace, progress: Progress) -> tuple[Outputs, str]:
    from facegraft.capture import capture_motion
    settings = forms.analyze_settings(work.job.settings)
    source, info = work.one("input")
    motion = work.output("motion", format=settings.format)
    overlay = work.output("overlay", media=info["kind"]) if settings.overlay else None
    progress.begin("analyze", info.get("frames", 0))
    summary = capture_motion(source, motion, overlay, settings.analysis, on_progress=progress)
    progress.begin("plot")
    plot = write_motion_plot(motion, work.output("plot"))
    outputs: Outputs = [work.listed(motion, "motion"), work.listed(plot, "plot")]
    if overlay is not None:
        outputs.append(work.listed(overlay, "overlay"))
    text = (f"{summary.records} face records from {summary.frames} frame(s), {summary.tracks} track(s)"
            if summary.records else f"no face found in {info['label']}: the motion file is empty")
    return outputs, text
