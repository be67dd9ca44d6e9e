"""The HTTP side of `facegraft ui`: stdlib ThreadingHTTPServer, JSON API, page files, MJPEG.

Guards, in order, on every request: the Host header must name this server when it listens on
loopback (a web page on another site cannot reach it through DNS rebinding); a request that
changes anything must carry `X-Facegraft: 1`, which a cross-site form or image cannot send
without a CORS preflight this server never grants. Job ids and file names are checked against
fixed patterns and looked up in the job's own record; request text never becomes a path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.resources
import json
import mimetypes
import re
import secrets
import shutil
import socket
import sys
import threading
import time
import traceback
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, quote, urlsplit

from facegraft.errors import FacegraftError, first_line
from facegraft.ui import forms
from facegraft.ui.config import UiConfig
from facegraft.ui.errors import ApiError
from facegraft.ui.frames import Previews, encode_jpeg
from facegraft.ui.jobs import KINDS, Job, JobRunner, JobStore, check_file_name
from facegraft.ui.livefeed import (BOUNDARY, LiveFeed, camera_input, cameras, live_available, stream_input,
                                   virtual_camera)
from facegraft.ui.tasks import execute, user_text
from facegraft.ui.uploads import MAX_SOURCES, MULTIPLE, accept, clean_label, receive

MAX_JSON_BYTES = 1 << 20
# An unread request body up to this size is read and dropped before an error reply, so the
# client sees the reply rather than a connection reset; a larger one closes the connection.
DRAIN_BYTES = 16 << 20
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/static/app.css": ("app.css", "text/css; charset=utf-8"),
          "/static/icon.svg": ("icon.svg", "image/svg+xml")}
ROLES_BY_KIND = {"swap": ("source", "target"), "reenact": ("portrait", "driver"), "analyze": ("input",),
                 "live": ("source", "live")}
REQUIRED = {"swap": ("source", "target"), "reenact": ("portrait", "driver"), "analyze": ("input",)}
PAGE_POLICY = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; "
               "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
               "form-action 'none'")
# The evaluation report is one self-contained HTML file with inline styles and data: images.
REPORT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
CONTENT_TYPES = {".mp4": "video/mp4", ".mkv": "video/x-matroska", ".jsonl": "application/x-ndjson",
                 ".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8", ".png": "image/png",
                 ".jpg": "image/jpeg", ".webp": "image/webp", ".npz": "application/octet-stream"}


@dataclasses.dataclass
class Response:
    status: int = 200
    body: bytes | Iterator[bytes] = b""
    content_type: str = "application/json"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    length: int | None = None  # for an iterator body


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode("utf-8"))


class App:
    """Everything a request may touch, made once from the UiConfig (no module-level state)."""

    def __init__(self, config: UiConfig):
        self.config = config
        self.store = JobStore(config.data_dir)
        self.runner = JobRunner(self.store, execute)
        self.previews = Previews()
        self.live = LiveFeed()
        self.verify_dir = config.data_dir / "verify"
        shutil.rmtree(self.verify_dir, ignore_errors=True)  # files a crash left mid-check
        self.closing = threading.Event()
        self.allowed_hosts: frozenset[str] = frozenset()
        self._active = 0  # requests being answered right now
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait for requests in progress (a preview in MediaPipe, say) to finish before exiting."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def bound(self, port: int) -> None:
        names = ("127.0.0.1", "localhost", "[::1]")
        self.allowed_hosts = frozenset(f"{n}:{port}" for n in names)

    # -- guards -------------------------------------------------------------------------------

    def check_request(self, method: str, headers) -> None:
        if self.config.loopback and headers.get("Host", "").lower() not in self.allowed_hosts:
            raise ApiError(403, "this server only answers requests addressed to its own loopback address")
        if method in ("POST", "PUT", "DELETE"):
            if headers.get("X-Facegraft") != "1":
                raise ApiError(403, "changing requests need the X-Facegraft: 1 header (they come from the page)")
            origin = headers.get("Origin")
            if origin and self.config.loopback and origin.lower() not in {f"http://{h}" for h in self.allowed_hosts}:
                raise ApiError(403, "requests from other sites are refused")

    # -- drafts and uploads -------------------------------------------------------------------

    def draft(self, kind: str) -> Job:
        if kind not in KINDS:
            raise ApiError(404, "no such kind of job")
        return self.store.draft(kind)

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

    def upload(self, job_id: str, role: str, name: str, stream, length: int | None) -> Job:
        job = self.editable(job_id)
        if role not in ROLES_BY_KIND[job.kind]:
            raise ApiError(400, f"a {job.kind} job takes {' and '.join(ROLES_BY_KIND[job.kind])} files, not {role}")
        if role in MULTIPLE and len(job.files(role)) >= MAX_SOURCES:
            raise ApiError(400, f"at most {MAX_SOURCES} {role} files")
        label = clean_label(name)
        tmp = receive(stream, length, self.store.inputs_dir(job_id), self.config.max_upload_bytes)
        with self.store.lock:
            job = self.editable(job_id)
            stem = role if role not in MULTIPLE else f"{role}-{self._next_number(job, role)}"
            path, upload = accept(tmp, role, label, stem)
            replaced = [] if role in MULTIPLE else job.files(role)  # a new target replaces the old one
            for old in replaced:
                if old["name"] != path.name:
                    (self.store.inputs_dir(job_id) / old["name"]).unlink(missing_ok=True)
            kept = tuple(f for f in job.inputs if f not in replaced and f["name"] != path.name)
            job = self.store.update(job_id, inputs=kept + (dataclasses.asdict(upload),))
        if role == "source":
            self.previews.warm(self.input_paths(job, "source"))
        return job

    @staticmethod
    def _next_number(job: Job, role: str) -> int:
        numbers = [int(re.sub(r"\D", "", f["name"].split(".")[0]) or 0) for f in job.files(role)]
        return max(numbers, default=0) + 1

    def remove_input(self, job_id: str, name: str) -> Job:
        with self.store.lock:
            job = self.editable(job_id)
            name = check_file_name(name)
            if not any(f["name"] == name for f in job.inputs):
                raise ApiError(404, "no such file")
            (self.store.inputs_dir(job_id) / name).unlink(missing_ok=True)
            return self.store.update(job_id, inputs=tuple(f for f in job.inputs if f["name"] != name))

    def input_paths(self, job: Job, role: str) -> list[Path]:
        return [self.store.inputs_dir(job.id) / f["name"] for f in job.files(role)]

    def input_named(self, job: Job, name: str) -> tuple[Path, dict[str, Any]]:
        name = check_file_name(name)
        for item in job.inputs:
            if item["name"] == name:
                return self.store.inputs_dir(job.id) / name, item
        raise ApiError(404, "no such input")

    def single(self, job: Job, role: str) -> tuple[Path, dict[str, Any]]:
        items = job.files(role)
        if not items:
            raise ApiError(400, f"add the {role} first")
        return self.store.inputs_dir(job.id) / items[0]["name"], items[0]

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

    def preview(self, job_id: str, body: Any) -> Response:
        job = self.store.load(job_id)
        with self.user_names(job):
            return self._preview(job, body)

    def _preview(self, job: Job, body: Any) -> Response:
        form = forms.Form(body, {"settings", "time"})
        seconds = form.number("time", 0.0, 0.0, 1e7)
        started = time.perf_counter()
        if job.kind == "swap":
            settings = forms.swap_settings(body.get("settings", {}))
            refs = forms.references(body.get("settings", {}))
            target, info = self.single(job, "target")
            rgb = self.previews.swap(self.input_paths(job, "source"), target, info["kind"], seconds, settings, refs)
        elif job.kind == "reenact":
            settings = forms.reenact_settings(body.get("settings", {}))
            portrait, _ = self.single(job, "portrait")
            driver, info = self.single(job, "driver")
            rgb = self.previews.reenact(portrait, driver, info["kind"], seconds, settings)
        elif job.kind == "analyze":
            path, info = self.single(job, "input")
            rgb = self.previews.overlay(path, info["kind"], seconds)
        else:
            raise ApiError(400, f"a {job.kind} job has no preview")
        took = (time.perf_counter() - started) * 1000
        return Response(200, encode_jpeg(rgb), "image/jpeg", {"X-Preview-Ms": f"{took:.0f}"})

    # -- jobs ---------------------------------------------------------------------------------

    def submit(self, job_id: str, body: Any) -> Job:
        draft = self.editable(job_id)
        settings = forms.Form(body, {"settings"}).data.get("settings", {})
        forms.validate(draft.kind, settings)
        for role in REQUIRED[draft.kind]:
            if not draft.files(role):
                raise ApiError(400, f"add the {role} first")
        extra, write_extra = self._reference_inputs(draft, settings)
        job = self.store.submit(draft, settings, extra, write_extra)
        self.runner.wake()
        return job

    def _reference_inputs(self, draft: Job, settings: Any):
        """Clicked faces become reference photos in the job's folder, as `facegraft swap --reference` takes."""
        refs = forms.references(settings) if draft.kind == "swap" else []
        if not refs:
            return (), None
        target, info = self.single(draft, "target")
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

    def verify(self, name: str, stream, length: int | None) -> dict[str, Any]:
        from facegraft.provenance.verify import verify
        from facegraft.provenance.watermark import Z_MIN
        folder = self.verify_dir / secrets.token_hex(8)
        folder.mkdir(parents=True)
        label = clean_label(name)
        try:
            tmp = receive(stream, length, folder, self.config.max_upload_bytes)
            path, _ = accept(tmp, "target", label, "file")
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
        settings = forms.swap_settings(body.get("settings", {}), forms.LIVE_KEYS)
        draft = self.draft("live")
        sources = self.input_paths(draft, "source")
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
            return url, urlsplit(url).hostname or "stream"
        path, item = self.single(draft, "live")
        return str(path), item["label"]

    def info(self) -> dict[str, Any]:
        from facegraft.provenance import package_version
        return {"version": package_version(), "max_upload_bytes": self.config.max_upload_bytes,
                "live": live_available(), "cameras": cameras(), "loopback": self.config.loopback}


Route = tuple[str, re.Pattern, Callable[..., Response]]
ID = r"(j[0-9a-f]{16})"
NAME = r"([a-z]+(?:-[0-9]{1,3})?\.[a-z0-9]{1,8})"


def routes(app: App) -> list[Route]:
    store = app.store

    def job_json(job: Job, status: int = 200) -> Response:
        return json_response(job.to_json(), status)

    def get_float(query: dict, key: str) -> float:
        try:
            value = float(query.get(key, ["0"])[0])
        except ValueError:
            raise ApiError(400, f"{key} must be a number") from None
        if not 0 <= value < 1e7:
            raise ApiError(400, f"{key} is out of range")
        return value

    def get_text(query: dict, key: str) -> str:
        values = query.get(key)
        if not values:
            raise ApiError(400, f"the {key} parameter is missing")
        return values[0]

    return [
        ("GET", re.compile(r"/api/info"), lambda h, q: json_response(app.info())),
        ("GET", re.compile(r"/api/drafts/([a-z]+)"), lambda h, q, kind: job_json(app.draft(kind))),
        ("POST", re.compile(r"/api/drafts/([a-z]+)/reset"), lambda h, q, kind: job_json(app.reset_draft(kind))),
        ("GET", re.compile(r"/api/jobs"),
         lambda h, q: json_response({"jobs": [j.to_json() for j in store.all() if j.state != "draft"]})),
        ("GET", re.compile(rf"/api/jobs/{ID}"), lambda h, q, i: job_json(store.load(i))),
        ("DELETE", re.compile(rf"/api/jobs/{ID}"), lambda h, q, i: (store.delete(i), json_response({"deleted": i}))[1]),
        ("PUT", re.compile(rf"/api/jobs/{ID}/inputs/([a-z]+)"),
         lambda h, q, i, role: job_json(app.upload(i, role, get_text(q, "name"), h.body(), h.body_length()))),
        ("DELETE", re.compile(rf"/api/jobs/{ID}/inputs/{NAME}"), lambda h, q, i, n: job_json(app.remove_input(i, n))),
        ("GET", re.compile(rf"/api/jobs/{ID}/frame"),
         lambda h, q, i: Response(200, app.frame(i, get_text(q, "name"), get_float(q, "t")), "image/jpeg",
                                  {"Cache-Control": "private, max-age=60"})),
        ("GET", re.compile(rf"/api/jobs/{ID}/faces"),
         lambda h, q, i: json_response(app.faces(i, get_text(q, "name"), get_float(q, "t")))),
        ("POST", re.compile(rf"/api/jobs/{ID}/preview"), lambda h, q, i: app.preview(i, h.json_body())),
        ("POST", re.compile(rf"/api/jobs/{ID}/submit"), lambda h, q, i: job_json(app.submit(i, h.json_body()), 201)),
        ("POST", re.compile(rf"/api/jobs/{ID}/cancel"), lambda h, q, i: job_json(app.runner.cancel(i))),
        ("POST", re.compile(rf"/api/jobs/{ID}/retry"), lambda h, q, i: job_json(app.retry(i))),
        ("GET", re.compile(rf"/api/jobs/{ID}/files/{NAME}"),
         lambda h, q, i, n: h.file_response(store.file(i, n), i, n, download="download" in q)),
        ("PUT", re.compile(r"/api/verify"),
         lambda h, q: json_response(app.verify(get_text(q, "name"), h.body(), h.body_length()))),
        ("POST", re.compile(r"/api/live/start"), lambda h, q: json_response(app.live_start(h.json_body()))),
        ("POST", re.compile(r"/api/live/stop"), lambda h, q: json_response(app.live.stop())),
        ("GET", re.compile(r"/api/live/stats"), lambda h, q: json_response(app.live.stats())),
        ("GET", re.compile(r"/api/live/stream"), lambda h, q: h.mjpeg_response()),
    ]


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    table = routes(app)

    class Handler(BaseHTTPRequestHandler):
        server_version = "facegraft-ui"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # requests are not logged: the terminal shows only the address and errors

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_HEAD(self) -> None:
            self._dispatch("HEAD")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def _dispatch(self, method: str) -> None:
            with app.answering():
                self._answer(method)

        def _answer(self, method: str) -> None:
            self._unread = 0 if method in ("GET", "HEAD", "DELETE") else self.body_length_or_zero()
            try:
                app.check_request(method, self.headers)
                response = self._route(method)
            except ApiError as exc:
                response = json_response({"error": exc.message}, exc.status)
            except FacegraftError as exc:
                response = json_response({"error": first_line(exc)}, 400)
            except Exception as exc:  # noqa: BLE001 - one line to the page, the details to the terminal
                traceback.print_exc(file=sys.stderr)
                response = json_response({"error": f"internal error ({type(exc).__name__})"}, 500)
            self._drop_unread_body()
            self._send(response, head=method == "HEAD")

        def _route(self, method: str) -> Response:
            url = urlsplit(self.path)
            path = url.path
            if path in STATIC and method in ("GET", "HEAD"):
                return static_response(*STATIC[path])
            query = parse_qs(url.query, keep_blank_values=True)
            allowed = []
            for verb, pattern, handler in table:
                match = pattern.fullmatch(path)
                if match is None:
                    continue
                if verb == method or (verb == "GET" and method == "HEAD"):
                    return handler(self, query, *match.groups())
                allowed.append(verb)
            if allowed:
                raise ApiError(405, f"{method} is not allowed here")
            raise ApiError(404, "not found")

        def body_length_or_zero(self) -> int:
            text = self.headers.get("Content-Length", "0")
            return int(text) if text.isdigit() else 0

        def body(self) -> "_Body":
            return _Body(self)

        def _drop_unread_body(self) -> None:
            """An unread body would be taken for the next request on this connection."""
            if self._unread > DRAIN_BYTES:
                self.close_connection = True
                return
            while self._unread > 0:
                chunk = self.rfile.read(min(self._unread, 1 << 16))
                if not chunk:
                    self.close_connection = True
                    return
                self._unread -= len(chunk)

        def body_length(self) -> int | None:
            text = self.headers.get("Content-Length")
            if text is None:
                return None
            if not text.isdigit():
                raise ApiError(400, "bad Content-Length")
            return int(text)

        def json_body(self) -> Any:
            length = self.body_length()
            if length is None or length > MAX_JSON_BYTES:
                raise ApiError(413 if length else 411, "the request body must be JSON under 1 MB")
            data = self.body().read(length)
            try:
                return json.loads(data or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "the request body is not valid JSON") from None

        def file_response(self, path: Path, job_id: str, name: str, download: bool) -> Response:
            if not path.is_file():
                raise ApiError(404, "no such file")
            size = path.stat().st_size
            headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
            if download:
                headers["Content-Disposition"] = f"attachment; filename=\"facegraft-{job_id[1:9]}-{quote(name)}\""
            if path.suffix == ".html":
                headers["Content-Security-Policy"] = REPORT_POLICY
            content_type = CONTENT_TYPES.get(path.suffix, mimetypes.guess_type(name)[0] or "application/octet-stream")
            start, end = byte_range(self.headers.get("Range"), size)
            status = 206 if (start, end) != (0, size - 1) else 200
            if status == 206:
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            return Response(status, read_chunks(path, start, end), content_type, headers, length=end - start + 1)

        def mjpeg_response(self) -> Response:
            if not app.live.running():
                raise ApiError(404, "no live session is running")
            frames = app.live.jpeg_frames(app.closing)

            def parts() -> Iterator[bytes]:
                for jpeg in frames:
                    yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                           .encode("ascii") + jpeg + b"\r\n")
            return Response(200, parts(), f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                            {"Cache-Control": "no-store"})

        def _send(self, response: Response, head: bool = False) -> None:
            streaming = not isinstance(response.body, bytes)
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                for key, value in security_headers(response).items():
                    self.send_header(key, value)
                if streaming and response.length is None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    length = len(response.body) if not streaming else response.length
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                if head:
                    return
                if not streaming:
                    self.wfile.write(response.body)
                    return
                for chunk in response.body:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the page went away (closed tab, new stream)

    return Handler


class _Body:
    """The request body as a stream that counts what is left unread."""

    def __init__(self, handler):
        self.handler = handler

    def read(self, size: int) -> bytes:
        data = self.handler.rfile.read(min(size, self.handler._unread))
        self.handler._unread -= len(data)
        return data


def security_headers(response: Response) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               "X-Frame-Options": "DENY", "Cross-Origin-Resource-Policy": "same-origin"}
    headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    headers.update(response.headers)
    headers.setdefault("Cache-Control", "no-store")
    return headers


def static_response(name: str, content_type: str) -> Response:
    data = importlib.resources.files("facegraft.ui").joinpath("static", name).read_bytes()
    return Response(200, data, content_type, {"Cache-Control": "no-cache"})


def byte_range(header: str | None, size: int) -> tuple[int, int]:
    """One `bytes=a-b` range (what video elements ask for); anything else means the whole file."""
    whole = (0, max(size - 1, 0))
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header or "")
    if match is None or size == 0 or not any(match.groups()):
        return whole
    first, last = match.groups()
    if not first:  # the last N bytes
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start > end:
        raise ApiError(416, "the requested range is outside the file")
    return start, end


def read_chunks(path: Path, start: int, end: int, chunk: int = 1 << 16) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start + 1
        while left > 0:
            data = fh.read(min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class UiServer:
    """The bound server with its job runner; `serve()` blocks, `start()` runs it on a thread."""

    def __init__(self, config: UiConfig):
        self.app = App(config)
        server_class = _IPv6Server if ":" in config.host else ThreadingHTTPServer
        try:
            self.httpd = server_class((config.host.strip("[]"), config.port), make_handler(self.app))
        except OSError as exc:
            raise FacegraftError(f"cannot listen on {config.host}:{config.port} ({exc.strerror or exc}); "
                                 "choose another --port or --host") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.app.bound(self.port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.app.config.host
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else (f"[{host}]" if ":" in host else host)
        return f"http://{shown}:{self.port}/"

    def serve(self) -> None:
        self.app.runner.start()
        if self.app.config.open_browser:
            webbrowser.open(self.url)
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def start(self) -> "UiServer":
        self.app.runner.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="facegraft-ui", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; a running job goes back to the queue for the next start."""
        self.app.closing.set()
        self.app.live.stop()
        self.app.runner.stop()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self.httpd.server_close()
        self.app.wait_idle(30)
        self.app.previews.wait_idle(30)

    def __enter__(self) -> "UiServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
