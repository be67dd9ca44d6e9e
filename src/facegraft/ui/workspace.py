"""One job's files as the code that runs or previews it sees them: inputs by role, outputs by the
names its kind declares. Nothing here comes from request text: inputs are the ones job.json lists,
outputs are named by kinds.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping

from facegraft.errors import FacegraftError
from facegraft.ui.jobs import Job

# An output's kind on the page, by its suffix (the page shows images, plays videos, links the rest).
OUTPUT_KINDS = {".png": "image", ".mp4": "video", ".html": "html", ".jsonl": "jsonl", ".csv": "csv"}


def no_input(role: str) -> Exception:
    return FacegraftError(f"the job has no {role}")


@dataclasses.dataclass(frozen=True)
class Workspace:
    job: Job
    folder: Path
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)  # output role -> file name (JobKind.outputs)
    missing: Callable[[str], Exception] = no_input  # what a missing input of a role raises

    def inputs(self, role: str) -> list[Path]:
        return [self.folder / "inputs" / item["name"] for item in self.job.files(role)]

    def one(self, role: str) -> tuple[Path, dict[str, Any]]:
        """The first (for most roles the only) input of a role, and what it is."""
        items = self.job.files(role)
        if not items:
            raise self.missing(role)
        return self.folder / "inputs" / items[0]["name"], items[0]

    def output(self, role: str, media: str = "", format: str = "") -> Path:  # noqa: A002 - the setting's name
        """Where an output goes: `{media}` in its name is png for an image input, mp4 for a video."""
        name = self.names[role].format(media="png" if media == "image" else "mp4", format=format)
        return self.folder / "outputs" / name

    @staticmethod
    def listed(path: Path, role: str) -> dict[str, Any]:
        """An output as job.json lists it."""
        return {"name": path.name, "role": role, "kind": OUTPUT_KINDS[path.suffix]}


def user_text(text: str, job: Job, folder: Path) -> str:
    """The library names files by their path on disk; the user knows them by their own names."""
    for item in job.inputs:
        text = text.replace(str(folder / "inputs" / item["name"]), item["label"])
    for item in job.outputs:
        text = text.replace(str(folder / "outputs" / item["name"]), item["name"])
    return text.replace(str(folder) + "/", "")
