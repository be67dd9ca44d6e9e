"""`facegraft ui`: start the local web app."""

from __future__ import annotations

import argparse
from pathlib import Path

from facegraft.cli.common import config_errors, warn
from facegraft.cli.options import default, port_number, positive_int
from facegraft.errors import FacegraftError
from facegraft.ui.config import DEFAULT_DATA_DIR, UiConfig

MB = 1024 * 1024


def add_parser(sub) -> None:
    ui_p = sub.add_parser("ui", help="start the local web app (swap, reenact, analyze, verify, live) in your browser")
    ui_p.add_argument("--host", default=default(UiConfig, "host"),
                      help="address to listen on (default %(default)s: this computer only)")
    ui_p.add_argument("--port", type=port_number, default=default(UiConfig, "port"),
                      help="port (default: any free one, printed)")
    ui_p.add_argument("--data-dir", type=Path,
                      help=f"where jobs, uploads and outputs live (default {_home_relative(DEFAULT_DATA_DIR)})")
    ui_p.add_argument("--max-upload-mb", type=positive_int, default=default(UiConfig, "max_upload_bytes") // MB,
                      help="largest upload in MB (default %(default)s)")
    ui_p.add_argument("--open", action="store_true", help="open the page in the default browser")
    ui_p.set_defaults(func=run)


def _home_relative(path: Path) -> str:
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    from facegraft.ui.server import UiServer
    try:
        with config_errors():
            config = UiConfig(host=args.host, port=args.port, data_dir=args.data_dir or DEFAULT_DATA_DIR,
                              max_upload_bytes=args.max_upload_mb * MB, open_browser=args.open)
            config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacegraftError(f"cannot use the data folder {args.data_dir} ({exc.strerror or exc})") from None
    server = UiServer(config)
    if not config.loopback:
        warn(f"listening on {args.host}: anyone who can reach this machine can use the UI and its files")
    print(f"facegraft ui: {server.url}  (jobs in {config.data_dir}; Ctrl+C stops)", flush=True)
    # A service manager's SIGTERM stops the server as cleanly as Ctrl+C does: main() raises
    # cli.Stopped, a KeyboardInterrupt, for it.
    try:
        server.serve()
    except KeyboardInterrupt:
        # serve() has closed the server; a running job is back in the queue for the next start.
        print("facegraft ui: stopped", flush=True)
    return 0
