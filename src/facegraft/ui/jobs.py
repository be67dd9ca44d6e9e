"""Jobs kept on disk, and the one thread that runs them in order.

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
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from facegraft.errors import FacegraftError, first_line
from facegraft.ui.errors import ApiError

JOB_ID = re.compile(r"j[0-9a-f]{16}")
FILE_NAME = re.compile(r"[a-z]+(?:-[0-9]{1,3})?\.[a-z0-9]{1,8}")
KINDS = ("swap", "reenact", "analyze", "live")
RUNNABLE = ("swap", "reenact", "analyze")
STATES = ("draft", "queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
PROGRESS_EVERY_S = 0.25  # job.json is rewritten at most this often while a job runs


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

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "jobs"
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
        if kind not in KINDS:
            raise ApiError(400, f"unknown job kind {kind!r}; choose from {', '.join(KINDS)}")
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


class Cancelled(Exception):
    """The user cancelled the running job."""


class Interrupted(Exception):
    """The server is stopping; the job goes back to the queue."""


class Progress:
    """The progress callback handed to the library: records progress, and stops the run when asked."""

    def __init__(self, store: JobStore, job_id: str, cancel: threading.Event, stopping: threading.Event):
        self.store, self.job_id = store, job_id
        self.cancel, self.stopping = cancel, stopping
        self.stage = ""
        self._started = time.monotonic()
        self._written = 0.0

    def begin(self, stage: str, total: int = 0) -> "Progress":
        """A new stage (swap, evaluate, plot, ...); its rate and ETA start afresh."""
        self.check()
        self.stage = stage
        self._started = time.monotonic()
        self._write(0, total, force=True)
        return self

    def __call__(self, done: int, total: int) -> None:
        self.check()
        self._write(done, total, force=bool(total) and done >= total)

    def check(self) -> None:
        if self.stopping.is_set():
            raise Interrupted()
        if self.cancel.is_set():
            raise Cancelled()

    def _write(self, done: int, total: int, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._written < PROGRESS_EVERY_S:
            return
        self._written = now
        elapsed = now - self._started
        fps = done / elapsed if elapsed > 0 and done else 0.0
        eta = (total - done) / fps if fps > 0 and total >= done else None
        self.store.update(self.job_id, progress={"stage": self.stage, "done": done, "total": total,
                                                 "fps": round(fps, 2), "eta": None if eta is None else round(eta, 1)})


# What a job kind does: (job, its folder, progress) -> (outputs, one-line summary).
Execute = Callable[[Job, Path, Progress], tuple[list[dict[str, Any]], str]]


class JobRunner:
    """One thread running queued jobs one after another, oldest first."""

    def __init__(self, store: JobStore, execute: Execute):
        self.store = store
        self.execute = execute
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._cancel = threading.Event()
        self._current: str | None = None
        self._thread = threading.Thread(target=self._loop, name="facegraft-jobs", daemon=True)

    def start(self) -> None:
        self.store.recover()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the running job's next progress step; that job is queued again."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> Job:
        with self.store.lock:
            job = self.store.load(job_id)
            if job.state in ("queued", "draft"):
                return self.store.update(job_id, state="cancelled", finished=time.time())
            if job.state != "running":
                raise ApiError(409, f"the job is already {job.state}")
            if self._current == job_id:
                self._cancel.set()
            return job

    def busy(self) -> bool:
        return self._current is not None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            job = self.store.next_queued()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        self._cancel.clear()
        self._current = job.id
        try:
            progress = Progress(self.store, job.id, self._cancel, self._stopping)
            outputs, summary = self.execute(job, self.store.folder(job.id), progress)
            self._finish(job, "done", outputs=tuple(outputs), summary=summary)
        except Cancelled:
            self._finish(job, "cancelled", clear=True)
        except Interrupted:
            self.store.requeue(job)
        except (FacegraftError, ValueError, ApiError) as exc:
            self._finish(job, "failed", error=first_line(exc), clear=True)
        except Exception as exc:  # noqa: BLE001 - a bug must fail the job, not kill the runner
            traceback.print_exc(file=sys.stderr)
            self._finish(job, "failed", error=f"internal error ({type(exc).__name__}: {first_line(exc)})", clear=True)
        finally:
            self._current = None

    def _finish(self, job: Job, state: str, clear: bool = False, **changes: Any) -> None:
        with self.store.lock:
            if clear:
                clear_dir(self.store.outputs_dir(job.id))
                changes["outputs"] = ()
            self.store.update(job.id, state=state, finished=time.time(), **changes)
