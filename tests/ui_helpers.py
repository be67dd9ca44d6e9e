"""Helpers for the UI tests: an in-process server, a tiny HTTP client, polling, the browser."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

from facegraft.ui.config import UiConfig
from facegraft.ui.server import UiServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@contextlib.contextmanager
def running_server(data_dir: Path, **options: Any) -> Iterator[UiServer]:
    server = UiServer(UiConfig(port=0, data_dir=data_dir, **options)).start()
    try:
        yield server
    finally:
        server.close()


class Reply:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str:
        return self.json()["error"]


class Client:
    """urllib against the server, with the page's X-Facegraft header unless told otherwise."""

    def __init__(self, server: UiServer):
        self.base = f"http://127.0.0.1:{server.port}"

    def call(self, method: str, path: str, body: Any = None, data: bytes | None = None,
             headers: dict[str, str] | None = None, page_header: bool = True) -> Reply:
        sent = {"X-Facegraft": "1"} if page_header else {}
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return Reply(reply.status, reply.headers, reply.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.headers, exc.read())

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body=body if body is not None else {}, **kw)

    def draft(self, kind: str) -> dict:
        return self.get(f"/api/drafts/{kind}").json()

    def upload(self, job_id: str, role: str, path: Path, name: str | None = None) -> Reply:
        from urllib.parse import quote
        return self.call("PUT", f"/api/jobs/{job_id}/inputs/{role}?name={quote(name or path.name)}",
                         data=path.read_bytes())

    def job(self, job_id: str) -> dict:
        return self.get(f"/api/jobs/{job_id}").json()

    def wait_for(self, job_id: str, states: tuple[str, ...], timeout: float = 120.0,
                 also: Callable[[dict], bool] = lambda job: True) -> dict:
        return wait_until(lambda: (lambda j: j if j["state"] in states and also(j) else None)(self.job(job_id)),
                          timeout, f"job {job_id} to reach {states}")


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message, message
