"""Jobs kept on disk (runner.py runs them, one at a time).

Each job is a folder `<data_dir>/jobs/<id>/` holding `job.json` (what to do and how it went),
`inputs/` (the uploads) and `outputs/`. job.json is replaced atomically, so a crash leaves the old
or the new state, never half of one; a restart finds every job where it was, and re-queues one
that was running. Drafts are jobs not yet submitted: the page's current uploads for one tab.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

from facegraft.ui.errors import ApiError

JOB_ID = re.compile(r"j[0-9a-f]{16}")
FILE_NAME = re.compile(r"[a-z]+(?:-[0-9]{1,3})?\.[a-z0-9]{1,8}")
STATES = ("draft", "queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


@dataclasses.dataclass(frozen=True)
class Job:
    id: str
    kind: str
    state: str = "draft"
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    inputs: tuple[dict[str, Any], ...] = ()  # Upload fields: name, role, label, kind, width, ...
    outputs: tuple[dict[str, Any], ...] = ()  # name, role (output | report | motion | plot | overlay)
    progress: dict[str, Any] = dataclasses.field(default_factory=dict)
    error: str | None = None
    summary: str | None = None
    created: float = 0.0
    queued_at: float | None = None
    started: float | None = None
    finished: float | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> "Job":
        fields = {f.name for f in dataclasses.fields(Job)}
        known = {k: v for k, v in data.items() if k in fields}
        known["inputs"] = tuple(known.get("inputs", ()))
        known["outputs"] = tuple(known.get("outputs", ()))
        return Job(**known)

    def files(self, role: str) -> list[dict[str, Any]]:
        return [f for f in self.inputs if f["role"] == role]


def check_id(job_id: str) -> str:
    if not JOB_ID.fullmatch(job_id or ""):
        raise ApiError(404, "no such job")
    return job_id


def check_file_name(name: str) -> str:
    if not FILE_NAME.fullmatch(name or ""):
        raise ApiError(404, "no such file")
    return name


class JobStore:
    """All access to the jobs folder goes through here, under one lock."""

    def __init__(self, data_dir: Path, kinds: tuple[str, ...]):
        self.root = Path(data_dir) / "jobs"
        self.kinds = kinds  # the job kinds' names (kinds.py declares them)
        # People's photos live here: readable by their owner only.
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.lock = threading.RLock()

    def folder(self, job_id: str) -> Path:
        return self.root / check_id(job_id)

    def inputs_dir(self, job_id: str) -> Path:
        return self.folder(job_id) / "inputs"

    def outputs_dir(self, job_id: str) -> Path:
        return self.folder(job_id) / "outputs"

    def create(self, kind: str, **fields: Any) -> Job:
        if kind not in self.kinds:
            raise ApiError(400, f"unknown job kind {kind!r}; choose from {', '.join(self.kinds)}")
        job = Job(id="j" + secrets.token_hex(8), kind=kind, created=time.time(), **fields)
        folder = self.root / job.id
        (folder / "inputs").mkdir(parents=True)
        (folder / "outputs").mkdir()
        self.save(job)
        return job

    def save(self, job: Job) -> Job:
        folder = self.folder(job.id)
        tmp = folder / f".job-{secrets.token_hex(4)}.json"
        tmp.write_text(json.dumps(job.to_json(), indent=1), encoding="utf-8")
        os.replace(tmp, folder / "job.json")
        return job

    def load(self, job_id: str) -> Job:
        path = self.folder(job_id) / "job.json"
        try:
            return Job.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ApiError(404, "no such job") from None
        except (ValueError, TypeError) as exc:
            raise ApiError(500, f"job {job_id} is damaged on disk ({type(exc).__name__})") from None

    def update(self, job_id: str, **changes: Any) -> Job:
        with self.lock:
            return self.save(dataclasses.replace(self.load(job_id), **changes))

    def all(self) -> list[Job]:
        jobs = []
        for folder in self.root.iterdir():
            if JOB_ID.fullmatch(folder.name) and (folder / "job.json").is_file():
                with contextlib.suppress(ApiError):
                    jobs.append(self.load(folder.name))
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def delete(self, job_id: str) -> None:
        with self.lock:
            job = self.load(job_id)
            if job.state == "running":
                raise ApiError(409, "the job is running: cancel it first")
            shutil.rmtree(self.folder(job_id))

    def file(self, job_id: str, name: str) -> Path:
        """The path of one of the job's own files, by the name job.json lists for it."""
        job = self.load(job_id)
        name = check_file_name(name)
        if any(f["name"] == name for f in job.outputs):
            return self.outputs_dir(job_id) / name
        if any(f["name"] == name for f in job.inputs):
            return self.inputs_dir(job_id) / name
        raise ApiError(404, "no such file")

    def draft(self, kind: str) -> Job:
        """The newest draft of this kind (the page's current workspace for one tab), made if missing."""
        with self.lock:
            drafts = [j for j in self.all() if j.state == "draft" and j.kind == kind]
            return drafts[0] if drafts else self.create(kind)

    def submit(self, draft: Job, settings: dict[str, Any], extra_inputs: tuple[dict[str, Any], ...] = (),
               write_extra: Callable[[Path], None] | None = None) -> Job:
        """A queued copy of a draft: its inputs linked (not copied) into the new job's own folder."""
        with self.lock:
            job = self.create(draft.kind, settings=settings, inputs=draft.inputs + extra_inputs)
            source, dest = self.inputs_dir(draft.id), self.inputs_dir(job.id)
            try:
                for item in draft.inputs:
                    _link_or_copy(source / item["name"], dest / item["name"])
                if write_extra is not None:
                    write_extra(dest)
            except BaseException:
                shutil.rmtree(self.folder(job.id), ignore_errors=True)
                raise
            return self.update(job.id, state="queued", queued_at=time.time())

    def recover(self) -> list[Job]:
        """After a restart: a job that was running when the server stopped is queued again."""
        with self.lock:
            return [self.requeue(j) for j in self.all() if j.state == "running"]

    def requeue(self, job: Job) -> Job:
        with self.lock:
            clear_dir(self.outputs_dir(job.id))
            return self.update(job.id, state="queued", progress={}, started=None, outputs=())

    def next_queued(self) -> Job | None:
        """Mark the oldest queued job running and return it."""
        with self.lock:
            queued = [j for j in self.all() if j.state == "queued"]
            if not queued:
                return None
            job = min(queued, key=lambda j: (j.queued_at or j.created, j.created))
            return self.update(job.id, state="running", started=time.time(), progress={}, error=None)

    def retry(self, job_id: str) -> Job:
        with self.lock:
            job = self.load(job_id)
            if job.state not in ("failed", "cancelled"):
                raise ApiError(409, f"only a failed or cancelled job can be retried; this one is {job.state}")
            clear_dir(self.outputs_dir(job_id))
            return self.update(job_id, state="queued", queued_at=time.time(), progress={}, error=None,
                               summary=None, outputs=(), started=None, finished=None)


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def clear_dir(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
