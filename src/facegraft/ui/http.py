"""The HTTP side of `facegraft ui`: stdlib ThreadingHTTPServer, the request guards, the bodies.

Guards, in order, on every request: the Host header must name this server when it listens on
loopback (a web page on another site cannot reach it through DNS rebinding); a request that
changes anything must carry `X-Facegraft: 1`, which a cross-site form or image cannot send
without a CORS preflight this server never grants. Job ids and file names are checked against
fixed patterns (routes.py) and looked up in the job's own record; request text never becomes a
path. Uploads are capped by the UiConfig's limit, JSON bodies at 1 MB.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import sys
import threading
import traceback
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

from facegraft.errors import FacegraftError, first_line
from facegraft.ui.app import App
from facegraft.ui.config import UiConfig
from facegraft.ui.errors import ApiError
from facegraft.ui.routes import Response, Router, json_response

MAX_JSON_BYTES = 1 << 20
# An unread request body up to this size is read and dropped before an error reply, so the
# client sees the reply rather than a connection reset; a larger one closes the connection.
DRAIN_BYTES = 16 << 20
PAGE_POLICY = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; "
               "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
               "form-action 'none'")


@dataclasses.dataclass(frozen=True)
class Guard:
    """Which requests this server answers, once it knows its port."""

    loopback: bool
    allowed_hosts: frozenset[str] = frozenset()

    @staticmethod
    def bound(loopback: bool, port: int) -> "Guard":
        names = ("127.0.0.1", "localhost", "[::1]")
        return Guard(loopback, frozenset(f"{n}:{port}" for n in names))

    def check(self, method: str, headers: Any) -> None:
        if self.loopback and headers.get("Host", "").lower() not in self.allowed_hosts:
            raise ApiError(403, "this server only answers requests addressed to its own loopback address")
        if method in ("POST", "PUT", "DELETE"):
            if headers.get("X-Facegraft") != "1":
                raise ApiError(403, "changing requests need the X-Facegraft: 1 header (they come from the page)")
            origin = headers.get("Origin")
            if origin and self.loopback and origin.lower() not in {f"http://{h}" for h in self.allowed_hosts}:
                raise ApiError(403, "requests from other sites are refused")


class InFlight:
    """Counts the requests being answered, so closing can wait for them."""

    def __init__(self) -> None:
        self._active = 0
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


def security_headers(response: Response) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               "X-Frame-Options": "DENY", "Cross-Origin-Resource-Policy": "same-origin"}
    headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    headers.update(response.headers)
    headers.setdefault("Cache-Control", "no-store")
    return headers


class _Server(ThreadingHTTPServer):
    """The listening socket and what its handlers share, set by UiServer once the port is known."""

    daemon_threads = True
    guard: Guard
    in_flight: InFlight
    router: Router


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class Handler(BaseHTTPRequestHandler):
    """One connection's requests: guards, the route's Response, and the body left unread dropped."""

    server: _Server
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
        with self.server.in_flight.answering():
            self._answer(method)

    def _answer(self, method: str) -> None:
        self._unread = 0 if method in ("GET", "HEAD", "DELETE") else self.body_length_or_zero()
        try:
            self.server.guard.check(method, self.headers)
            response = self.server.router.answer(method, self.path, self)
        except ApiError as exc:
            response = json_response({"error": exc.message}, exc.status)
        except FacegraftError as exc:
            response = json_response({"error": first_line(exc)}, 400)
        except Exception as exc:  # noqa: BLE001 - one line to the page, the details to the terminal
            traceback.print_exc(file=sys.stderr)
            response = json_response({"error": f"internal error ({type(exc).__name__})"}, 500)
        self._drop_unread_body()
        self._send(response, head=method == "HEAD")

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


class _Body:
    """The request body as a stream that counts what is left unread."""

    def __init__(self, handler: Handler):
        self.handler = handler

    def read(self, size: int) -> bytes:
        data = self.handler.rfile.read(min(size, self.handler._unread))
        self.handler._unread -= len(data)
        return data


class UiServer:
    """The bound server with its job runner; `serve()` blocks, `start()` runs it on a thread."""

    def __init__(self, config: UiConfig):
        self.app = App(config)
        server_class = _IPv6Server if ":" in config.host else _Server
        try:
            self.httpd = server_class((config.host.strip("[]"), config.port), Handler)
        except OSError as exc:
            raise FacegraftError(f"cannot listen on {config.host}:{config.port} ({exc.strerror or exc}); "
                                 "choose another --port or --host") from None
        self.port = self.httpd.server_address[1]
        self.httpd.guard = Guard.bound(config.loopback, self.port)
        self.httpd.in_flight = InFlight()
        self.httpd.router = Router(self.app)
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
        self.httpd.in_flight.wait_idle(30)
        self.app.previews.wait_idle(30)

    def __enter__(self) -> "UiServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
