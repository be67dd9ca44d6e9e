"""The route table: which method and path call which App method, and the responses they make
(JSON, JPEG, byte ranges of a job's files, the MJPEG live stream, the page's own files).

Job ids and file names in a path must match the store's fixed patterns; anything else is a 404
before the App sees it.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import mimetypes
import re
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from facegraft.ui.app import App
from facegraft.ui.errors import ApiError
from facegraft.ui.jobs import FILE_NAME, JOB_ID, Job
from facegraft.ui.livefeed import BOUNDARY

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/static/app.css": ("app.css", "text/css; charset=utf-8"),
          "/static/icon.svg": ("icon.svg", "image/svg+xml")}
# The evaluation report is one self-contained HTML file with inline styles and data: images.
REPORT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
CONTENT_TYPES = {".mp4": "video/mp4", ".mkv": "video/x-matroska", ".jsonl": "application/x-ndjson",
                 ".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8", ".png": "image/png",
                 ".jpg": "image/jpeg", ".webp": "image/webp", ".npz": "application/octet-stream"}
ID = f"({JOB_ID.pattern})"
NAME = f"({FILE_NAME.pattern})"


@dataclasses.dataclass
class Response:
    status: int = 200
    body: bytes | Iterator[bytes] = b""
    content_type: str = "application/json"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    length: int | None = None  # for an iterator body


class Request(Protocol):
    """What a route reads from a request besides its path and query (http.py's handler)."""

    headers: Any

    def body(self) -> BinaryIO: ...

    def body_length(self) -> int | None: ...

    def json_body(self) -> Any: ...


Query = dict[str, list[str]]
Route = tuple[str, re.Pattern, Callable[..., Response]]


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode("utf-8"))


def job_json(job: Job, status: int = 200) -> Response:
    return json_response(job.to_json(), status)


def get_float(query: Query, key: str) -> float:
    try:
        value = float(query.get(key, ["0"])[0])
    except ValueError:
        raise ApiError(400, f"{key} must be a number") from None
    if not 0 <= value < 1e7:
        raise ApiError(400, f"{key} is out of range")
    return value


def get_text(query: Query, key: str) -> str:
    values = query.get(key)
    if not values:
        raise ApiError(400, f"the {key} parameter is missing")
    return values[0]


def routes(app: App) -> list[Route]:
    """Each route: (method, path pattern, handler(request, query, *path groups) -> Response)."""
    store = app.store

    def preview(r: Request, q: Query, i: str) -> Response:
        picture = app.preview(i, r.json_body())
        return Response(200, picture.jpeg, "image/jpeg", {"X-Preview-Ms": f"{picture.took_ms:.0f}"})

    return [
        ("GET", re.compile(r"/api/info"), lambda r, q: json_response(app.info())),
        ("GET", re.compile(r"/api/drafts/([a-z]+)"), lambda r, q, kind: job_json(app.draft(kind))),
        ("POST", re.compile(r"/api/drafts/([a-z]+)/reset"), lambda r, q, kind: job_json(app.reset_draft(kind))),
        ("GET", re.compile(r"/api/jobs"),
         lambda r, q: json_response({"jobs": [j.to_json() for j in store.all() if j.state != "draft"]})),
        ("GET", re.compile(rf"/api/jobs/{ID}"), lambda r, q, i: job_json(store.load(i))),
        ("DELETE", re.compile(rf"/api/jobs/{ID}"), lambda r, q, i: (store.delete(i), json_response({"deleted": i}))[1]),
        ("PUT", re.compile(rf"/api/jobs/{ID}/inputs/([a-z]+)"),
         lambda r, q, i, role: job_json(app.upload(i, role, get_text(q, "name"), r.body(), r.body_length()))),
        ("DELETE", re.compile(rf"/api/jobs/{ID}/inputs/{NAME}"), lambda r, q, i, n: job_json(app.remove_input(i, n))),
        ("GET", re.compile(rf"/api/jobs/{ID}/frame"),
         lambda r, q, i: Response(200, app.frame(i, get_text(q, "name"), get_float(q, "t")), "image/jpeg",
                                  {"Cache-Control": "private, max-age=60"})),
        ("GET", re.compile(rf"/api/jobs/{ID}/faces"),
         lambda r, q, i: json_response(app.faces(i, get_text(q, "name"), get_float(q, "t")))),
        ("POST", re.compile(rf"/api/jobs/{ID}/preview"), preview),
        ("POST", re.compile(rf"/api/jobs/{ID}/submit"), lambda r, q, i: job_json(app.submit(i, r.json_body()), 201)),
        ("POST", re.compile(rf"/api/jobs/{ID}/cancel"), lambda r, q, i: job_json(app.runner.cancel(i))),
        ("POST", re.compile(rf"/api/jobs/{ID}/retry"), lambda r, q, i: job_json(app.retry(i))),
        ("GET", re.compile(rf"/api/jobs/{ID}/files/{NAME}"),
         lambda r, q, i, n: file_response(store.file(i, n), i, n, "download" in q, r.headers.get("Range"))),
        ("PUT", re.compile(r"/api/verify"),
         lambda r, q: json_response(app.verify(get_text(q, "name"), r.body(), r.body_length()))),
        ("POST", re.compile(r"/api/live/start"), lambda r, q: json_response(app.live_start(r.json_body()))),
        ("POST", re.compile(r"/api/live/stop"), lambda r, q: json_response(app.live.stop())),
        ("GET", re.compile(r"/api/live/stats"), lambda r, q: json_response(app.live.stats())),
        ("GET", re.compile(r"/api/live/stream"), lambda r, q: mjpeg_response(app)),
    ]


class Router:
    """A request's method and target (path and query) to its route's Response, or a 404 or 405."""

    def __init__(self, app: App):
        self.table = routes(app)

    def answer(self, method: str, target: str, request: Request) -> Response:
        url = urlsplit(target)
        path = url.path
        if path in STATIC and method in ("GET", "HEAD"):
            return static_response(*STATIC[path])
        query = parse_qs(url.query, keep_blank_values=True)
        allowed = []
        for verb, pattern, handler in self.table:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if verb == method or (verb == "GET" and method == "HEAD"):
                return handler(request, query, *match.groups())
            allowed.append(verb)
        if allowed:
            raise ApiError(405, f"{method} is not allowed here")
        raise ApiError(404, "not found")


def static_response(name: str, content_type: str) -> Response:
    data = importlib.resources.files("facegraft.ui").joinpath("static", name).read_bytes()
    return Response(200, data, content_type, {"Cache-Control": "no-cache"})


def file_response(path: Path, job_id: str, name: str, download: bool, range_header: str | None) -> Response:
    if not path.is_file():
        raise ApiError(404, "no such file")
    size = path.stat().st_size
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
    if download:
        headers["Content-Disposition"] = f"attachment; filename=\"facegraft-{job_id[1:9]}-{quote(name)}\""
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = REPORT_POLICY
    content_type = CONTENT_TYPES.get(path.suffix, mimetypes.guess_type(name)[0] or "application/octet-stream")
    start, end = byte_range(range_header, size)
    status = 206 if (start, end) != (0, size - 1) else 200
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(status, read_chunks(path, start, end), content_type, headers, length=end - start + 1)


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


def mjpeg_response(app: App) -> Response:
    if not app.live.running():
        raise ApiError(404, "no live session is running")
    frames = app.live.jpeg_frames(app.closing)

    def parts() -> Iterator[bytes]:
        for jpeg in frames:
            yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                   .encode("ascii") + jpeg + b"\r\n")
    return Response(200, parts(), f"multipart/x-mixed-replace; boundary={BOUNDARY}", {"Cache-Control": "no-store"})
