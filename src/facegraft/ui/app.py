"""The web app without its HTTP: drafts and their uploads, previews, jobs, verify and the live session.

Every method takes plain values (ids, names, parsed JSON, a body stream and its length) and
returns values or raises ApiError; routes.py maps requests to them and http.py serves them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

import numpy as np

from facegraft.errors import FacegraftError, first_line
from facegraft.ui import forms
from facegraft.ui.config import UiConfig
from facegraft.ui.errors import ApiError
from facegraft.ui.frames import Previews, encode_jpeg
from facegraft.ui.jobs import Job, JobStore, check_file_name
from facegraft.ui.kinds import KINDS, LIVE, TARGET, JobKind, execute, kind_named
from facegraft.ui.livefeed import (LiveFeed, camera_input, cameras, live_available, stream_input, stream_name,
                                   virtual_camera)
from facegraft.ui.runner import JobRunner
from facegraft.ui.uploads import Role, Upload, accept, clean_label, receive
from facegraft.ui.workspace import Workspace, user_text


@dataclasses.dataclass(frozen=True)
class Picture:
    """A preview frame and how long it took to make (the page shows it next to the preview)."""

    jpeg: bytes
    took_ms: float


class App:
    """Everything a request may touch, made once from the UiConfig (no module-level state)."""

    def __init__(self, config: UiConfig):
        self.config = config
        self.store = JobStore(config.data_dir, tuple(KINDS))
        self.runner = JobRunner(self.store, execute)
        self.previews = Previews()
        self.live = LiveFeed()
        self.verify_dir = config.data_dir / "verify"
        shutil.rmtree(self.verify_dir, ignore_errors=True)  # files a crash left mid-check
        self.closing = threading.Event()

    # -- drafts and uploads -------------------------------------------------------------------

    def draft(self, kind: str) -> Job:
        return self.store.draft(kind_named(kind).name)

    def reset_draft(self, kind: str) -> Job:
        with self.store.lock:
            old = self.draft(kind)
            self.store.delete(old.id)
            return self.store.create(kind)

    def editable(self, job_id: str) -> Job:
        job = self.store.load(job_id)
        if job.state != "draft":
            raise ApiError(409, "a submitted job's inputs cannot change; start a new one")
        return job

    def workspace(self, job: Job) -> Workspace:
        """A draft's files, for previews and checks: a missing one is the user's to add."""
        return Workspace(job, self.store.folder(job.id), KINDS[job.kind].outputs, missing=_add_first)

    def upload(self, job_id: str, role_name: str, name: str, stream: BinaryIO, length: int | None) -> Job:
        job = self.editable(job_id)
        role = KINDS[job.kind].role(role_name)
        if role.multiple and len(job.files(role.name)) >= role.most:
            raise ApiError(400, f"at most {role.most} {role.name} files")
        label = clean_label(name)
        tmp = receive(stream, length, self.store.inputs_dir(job_id), self.config.max_upload_bytes)
        with self.store.lock:
            job = self.editable(job_id)
            stem = role.name if not role.multiple else f"{role.name}-{_next_number(job, role.name)}"
            path, upload = accept(tmp, role, label, stem)
            replaced = [] if role.multiple else job.files(role.name)  # a new target replaces the old one
            for old in replaced:
                if old["name"] != path.name:
                    (self.store.inputs_dir(job_id) / old["name"]).unlink(missing_ok=True)
            kept = tuple(f for f in job.inputs if f not in replaced and f["name"] != path.name)
            job = self.store.update(job_id, inputs=kept + (dataclasses.asdict(upload),))
        job = self._note_faces(job_id, path, role, upload) or job
        if role.warm:
            self.previews.warm(self.workspace(job).inputs(role.name))
        return job

    def _note_faces(self, job_id: str, path: Path, role: Role, upload: Upload) -> Job | None:
        """Say at once when a target, driver or input shows no face, rather than after the job ran.

        Looked for outside the store's lock (up to a second on a long video); the draft is updated
        only if that upload is still in it."""
        notice = self._face_notice(path, role, upload)
        if not notice:
            return None
        with self.store.lock:
            job = self.store.load(job_id)
            listed = dataclasses.asdict(upload)
            if job.state != "draft" or listed not in job.inputs:  # replaced or submitted meanwhile
                return None
            inputs = tuple({**f, "notice": notice} if f == listed else f for f in job.inputs)
            return self.store.update(job_id, inputs=inputs)

    def _face_notice(self, path: Path, role: Role, upload: Upload) -> str:
        if not role.no_face or upload.kind not in ("image", "video"):
            return ""
        times = faceless_times(upload.duration, upload.fps) if upload.kind == "video" else (0.0,)
        try:
            if self.previews.any_face(path, upload.kind, times):
                return ""
        except FacegraftError as exc:
            return first_line(exc).replace(str(path), upload.label)
        where = "in it" if upload.kind == "image" else f"in {len(times)} frames sampled across it"
        return f"no face found {where}: {role.no_face}"

    def remove_input(self, job_id: str, name: str) -> Job:
        with self.store.lock:
            job = self.editable(job_id)
            name = check_file_name(name)
            if not any(f["name"] == name for f in job.inputs):
                raise ApiError(404, "no such file")
            (self.store.inputs_dir(job_id) / name).unlink(missing_ok=True)
            return self.store.update(job_id, inputs=tuple(f for f in job.inputs if f["name"] != name))

    def input_named(self, job: Job, name: str) -> tuple[Path, dict[str, Any]]:
        name = check_file_name(name)
        for item in job.inputs:
            if item["name"] == name:
                return self.store.inputs_dir(job.id) / name, item
        raise ApiError(404, "no such input")

    # -- previews -----------------------------------------------------------------------------

    def frame(self, job_id: str, name: str, seconds: float) -> bytes:
        job = self.store.load(job_id)
        path, item = self.input_named(job, name)
        if item["kind"] not in ("image", "video"):
            raise ApiError(400, "only images and videos have frames")
        with self.user_names(job):
            return encode_jpeg(self.previews.frame(path, item["kind"], seconds))

    def faces(self, job_id: str, name: str, seconds: float) -> dict[str, Any]:
        job = self.store.load(job_id)
        path, item = self.input_named(job, name)
        with self.user_names(job):
            faces = self.previews.faces(path, item["kind"], seconds)
            rgb = self.previews.frame(path, item["kind"], seconds)
        return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                "faces": [{"index": i, "box": [round(float(v), 1) for v in f.box]} for i, f in enumerate(faces)]}

    @contextlib.contextmanager
    def user_names(self, job: Job) -> Iterator[None]:
        """Library errors name files by their path here; the page shows the names the user gave."""
        try:
            yield
        except FacegraftError as exc:
            raise ApiError(400, user_text(first_line(exc), job, self.store.folder(job.id))) from None

    def preview(self, job_id: str, body: Any) -> Picture:
        job = self.store.load(job_id)
        with self.user_names(job):
            return self._preview(job, body)

    def _preview(self, job: Job, body: Any) -> Picture:
        form = forms.Form(body, {"settings", "time"})
        seconds = form.number("time", 0.0, 0.0, 1e7)
        started = time.perf_counter()
        kind = KINDS[job.kind]
        if kind.preview is None:
            raise ApiError(400, f"a {job.kind} job has no preview")
        rgb = kind.preview(self.previews, self.workspace(job), body.get("settings", {}), seconds)
        took = (time.perf_counter() - started) * 1000
        return Picture(encode_jpeg(rgb), took)

    # -- jobs ---------------------------------------------------------------------------------

    def submit(self, job_id: str, body: Any) -> Job:
        draft = self.editable(job_id)
        settings = forms.Form(body, {"settings"}).data.get("settings", {})
        kind = KINDS[draft.kind]
        kind.validate(settings)
        for role in kind.role_names:
            if not draft.files(role):
                raise ApiError(400, f"add the {role} first")
        if kind.check is not None:
            with self.user_names(draft):
                kind.check(self.previews, self.workspace(draft))
        extra, write_extra = self._reference_inputs(draft, kind, settings)
        job = self.store.submit(draft, settings, extra, write_extra)
        self.runner.wake()
        return job

    def _reference_inputs(self, draft: Job, kind: JobKind, settings: Any) -> tuple[tuple[dict[str, Any], ...],
                                                                                   Callable[[Path], None] | None]:
        """Clicked faces become reference photos in the job's folder, as `facegraft swap --reference` takes."""
        refs = kind.picks(settings) if kind.picks is not None else []
        if not refs:
            return (), None
        target, info = self.workspace(draft).one(TARGET.name)
        with self.user_names(draft):
            crops = [self.previews.reference_image(target, info["kind"], ref) for ref in refs]
        names = [f"reference-{i}.png" for i in range(1, len(crops) + 1)]

        def write(folder: Path) -> None:
            from facegraft.io import write_image
            for name, crop in zip(names, crops):
                write_image(folder / name, crop)
        extra = tuple({"name": n, "role": "reference", "label": f"picked face {i}", "kind": "image",
                       "width": int(c.shape[1]), "height": int(c.shape[0]), "frames": 1, "fps": 0.0, "duration": 0.0}
                      for i, (n, c) in enumerate(zip(names, crops), 1))
        return extra, write

    def retry(self, job_id: str) -> Job:
        job = self.store.retry(job_id)
        self.runner.wake()
        return job

    # -- verify and live ----------------------------------------------------------------------

    def verify(self, name: str, stream: BinaryIO, length: int | None) -> dict[str, Any]:
        from facegraft.provenance.verify import verify
        from facegraft.provenance.watermark import Z_MIN
        folder = self.verify_dir / secrets.token_hex(8)
        folder.mkdir(parents=True)
        label = clean_label(name)
        try:
            tmp = receive(stream, length, folder, self.config.max_upload_bytes)
            path, _ = accept(tmp, TARGET, label, "file")  # what a swap could have written
            try:
                verdict = verify(path)
            except FacegraftError as exc:
                raise ApiError(415, str(exc).replace(str(path), label)) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        meta = verdict.metadata
        result: dict[str, Any] = {"name": label, "found": verdict.found, "frames_checked": verdict.frames_checked,
                                  "frames_marked": verdict.frames_marked, "confidence": round(verdict.confidence, 3),
                                  "metadata": next((meta[k] for k in ("Description", "comment") if k in meta), None)}
        if verdict.found:
            payload = verdict.reading.payload
            result.update(version=payload.version_text, run=payload.run_text, score=round(verdict.reading.score, 1),
                          threshold=Z_MIN)
        return result

    def live_start(self, body: Any) -> dict[str, Any]:
        form = forms.Form(body, {"settings", "input", "width", "height", "loop", "virtual_camera"})
        settings = LIVE.settings(body.get("settings", {}))
        draft = self.draft(LIVE.name)
        sources = self.workspace(draft).inputs("source")
        if not sources:
            raise ApiError(400, "add a source photo first")
        source, shown = self._live_input(draft, form.data.get("input"))
        with self.user_names(draft):
            profile = self.previews.profile(sources)
        width = form.whole("width", 640, 64, 3840)
        height = form.whole("height", 480, 64, 2160)
        publish = virtual_camera(form.data.get("virtual_camera"))
        return self.live.start(profile, settings, source, shown, width, height, form.flag("loop", True), publish)

    def _live_input(self, draft: Job, data: Any) -> tuple[str, str]:
        """What LiveConfig reads, and how the page names it."""
        form = forms.Form(data, {"type", "value"})
        kind = form.choice("type", ("camera", "file", "url"), "camera")
        value = form.data.get("value", "0")
        if not isinstance(value, str):
            raise ApiError(400, "input value must be text")
        if kind == "camera":
            camera = camera_input(value)
            return camera, camera
        if kind == "url":
            url = stream_input(value)
            return url, stream_name(url)
        path, item = self.workspace(draft).one("live")
        return str(path), item["label"]

    def info(self) -> dict[str, Any]:
        from facegraft.provenance import package_version
        return {"version": package_version(), "max_upload_bytes": self.config.max_upload_bytes,
                "live": live_available(), "cameras": cameras(), "loopback": self.config.loopback}


NOTICE_FRAMES = 5  # frames of a video looked at for a face when it is uploaded


def faceless_times(duration: float, fps: float) -> tuple[float, ...]:
    """Where in a video to look for a face: spread over it, the first and last frames included."""
    last = max(duration - 1.0 / max(fps, 1.0), 0.0)
    return tuple(sorted({round(t, 3) for t in np.linspace(0.0, last, NOTICE_FRAMES)}))


def _add_first(role: str) -> Exception:
    return ApiError(400, f"add the {role} first")


def _next_number(job: Job, role: str) -> int:
    numbers = [int(re.sub(r"\D", "", f["name"].split(".")[0]) or 0) for f in job.files(role)]
    return max(numbers, default=0) + 1
