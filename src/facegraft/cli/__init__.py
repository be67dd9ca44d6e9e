"""`facegraft` command line: a thin shell over the library API, one module per command.

Each command module has `add_parser(subparsers)`, which registers its options (defaults read from
the config fields they feed) and the function that runs it as `func`.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import NoReturn

from facegraft.cli import analyze, bench, demo, eval as evaluate, live, media, profile, reenact, swap, ui, verify
from facegraft.cli.common import PROG, fail, silence_native_logs, version
from facegraft.errors import FacegraftError

# In the order `facegraft --help` lists them.
COMMANDS = (media, analyze, profile, swap, reenact, live, evaluate, verify, demo, ui, bench)


class OneLineParser(argparse.ArgumentParser):
    """A bad option is one line naming it and what it takes, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # The subcommands' parsers are made with the same class as this one.
    parser = OneLineParser(prog=PROG, description="Local face analysis and face swapping.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a service manager, the UI's cancel, a closed terminal): stop as Ctrl-C does."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


def _stop(signum, frame) -> None:
    raise Stopped(signum)


def stop_cleanly_on_signals() -> dict:
    """Route SIGTERM and SIGHUP to `Stopped`; returns the handlers they had, to put back."""
    # Only the main thread may set handlers; a caller in another thread keeps its own.
    if threading.current_thread() is not threading.main_thread():
        return {}
    signums = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    return {signum: signal.signal(signum, _stop) for signum in signums}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None:
        silence_native_logs()
    previous = stop_cleanly_on_signals()
    try:
        return args.func(args)
    except FacegraftError as exc:
        return fail(str(exc))
    except Stopped as exc:
        return fail(f"stopped by {exc}; no output was written", exc.code)
    except KeyboardInterrupt:
        return fail("interrupted; no output was written", 130)
    except MemoryError:
        return fail("out of memory; try a smaller input")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)

