"""The one thread that runs queued jobs in order, and the progress callback it hands the library."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from facegraft.errors import FacegraftError, first_line
from facegraft.ui.errors import ApiError
from facegraft.ui.jobs import Job, JobStore, clear_dir

PROGRESS_EVERY_S = 0.25  # job.json is rewritten at most this often while a job runs


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
