"""The kinds of job, one declaration each: the uploads its tab takes, how its form becomes the
library's settings, the task a queued job runs, the names of its outputs and its one-frame preview.

Adding a kind means adding one JobKind here (and its tab on the page): the job store, the runner,
the uploads, the submit and preview requests all read these declarations.
"""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from facegraft.errors import FacegraftError
from facegraft.ui import forms, tasks
from facegraft.ui.errors import ApiError
from facegraft.ui.frames import Previews
from facegraft.ui.jobs import Job
from facegraft.ui.runner import Progress
from facegraft.ui.tasks import Outputs, Task
from facegraft.ui.uploads import Role
from facegraft.ui.workspace import Workspace, user_text

# The drop zones; a role of several files keeps them all, a role of one replaces it.
SOURCE = Role("source", ("image", "profile"), most=8, warm=True)
TARGET = Role("target", ("image", "video"), no_face="the swap will copy it unchanged (labelled)")
PORTRAIT = Role("portrait", ("image",))
DRIVER = Role("driver", ("video", "motion"), no_face="the portrait will stay still")
INPUT = Role("input", ("image", "video"), no_face="the motion file will be empty")
LIVE_INPUT = Role("live", ("video",))

# (the frame cache, the draft's files, the page's settings, seconds into the video) -> one RGB frame
Preview = Callable[[Previews, Workspace, Any, float], np.ndarray]
# (the frame cache, the draft's files) -> None, or a FacegraftError saying why the job would fail
Check = Callable[[Previews, Workspace], None]


@dataclasses.dataclass(frozen=True)
class JobKind:
    name: str
    roles: tuple[Role, ...]  # the uploads its tab takes; a job is queued only with every one of them
    settings: Callable[[Any], Any]  # the page's settings -> the library's, or a one-line 400
    task: Task | None = None  # what a queued job runs; None: a kind that is never queued (live)
    outputs: Mapping[str, str] = dataclasses.field(default_factory=dict)  # output role -> name (Workspace.output)
    preview: Preview | None = None
    picks: Callable[[Any], list[forms.Reference]] | None = None  # faces clicked on the target, run as references
    check: Check | None = None  # inputs that can only fail are refused at submit, as the preview already says

    def __post_init__(self) -> None:
        object.__setattr__(self, "outputs", types.MappingProxyType(dict(self.outputs)))

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        raise ApiError(400, f"a {self.name} job takes {' and '.join(self.role_names)} files, not {name}")

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(role.name for role in self.roles)

    def validate(self, data: Any) -> None:
        """Check a job's settings before it is queued, so a typo fails now rather than in the queue."""
        if self.task is None:
            raise ApiError(400, f"a {self.name} draft cannot be submitted as a job")
        self.settings(data)
        if self.picks is not None:
            self.picks(data)


def swap_preview(previews: Previews, work: Workspace, data: Any, seconds: float) -> np.ndarray:
    settings = forms.swap_settings(data)
    refs = forms.references(data)
    target, info = work.one("target")
    return previews.swap(work.inputs("source"), target, info["kind"], seconds, settings, refs)


def reenact_preview(previews: Previews, work: Workspace, data: Any, seconds: float) -> np.ndarray:
    settings = forms.reenact_settings(data)
    portrait, _ = work.one("portrait")
    driver, info = work.one("driver")
    return previews.reenact(portrait, driver, info["kind"], seconds, settings)


def analyze_preview(previews: Previews, work: Workspace, data: Any, seconds: float) -> np.ndarray:
    """The frame with the analysis drawn on it; the settings change nothing in a single frame."""
    path, info = work.one("input")
    return previews.overlay(path, info["kind"], seconds)


def source_has_a_face(previews: Previews, work: Workspace) -> None:
    previews.profile(work.inputs("source"))  # cached from the upload; raises "no face found in the source photo"


def portrait_has_a_face(previews: Previews, work: Workspace) -> None:
    portrait, _ = work.one("portrait")
    if not previews.faces(portrait, "image", 0.0):
        raise FacegraftError(f"{portrait}: no face found in the portrait")


SWAP = JobKind("swap", (SOURCE, TARGET), forms.swap_settings, tasks.run_swap,
               {"output": "swap.{media}", "report": "report.html"}, swap_preview, picks=forms.references,
               check=source_has_a_face)
REENACT = JobKind("reenact", (PORTRAIT, DRIVER), forms.reenact_settings, tasks.run_reenact,
                  {"output": "reenact.mp4"}, reenact_preview, check=portrait_has_a_face)
ANALYZE = JobKind("analyze", (INPUT,), forms.analyze_settings, tasks.run_analyze,
                  {"motion": "motion.{format}", "plot": "plot.png", "overlay": "overlay.{media}"}, analyze_preview)
LIVE = JobKind("live", (SOURCE, LIVE_INPUT), forms.live_settings)  # run by /api/live, not the job queue

KINDS: Mapping[str, JobKind] = types.MappingProxyType({k.name: k for k in (SWAP, REENACT, ANALYZE, LIVE)})


def kind_named(name: str) -> JobKind:
    if name not in KINDS:
        raise ApiError(404, "no such kind of job")
    return KINDS[name]


def execute(job: Job, folder: Path, progress: Progress) -> tuple[Outputs, str]:
    """Run a queued job (the JobRunner's callback)."""
    kind = KINDS.get(job.kind)
    if kind is None or kind.task is None:
        raise FacegraftError(f"a {job.kind} job cannot be run")
    try:
        return kind.task(Workspace(job, folder, kind.outputs), progress)
    except FacegraftError as exc:
        # The library names files by their path on disk; the user knows them by their own names.
        raise FacegraftError(user_text(str(exc), job, folder)) from None
