"""`facegraft` command line: a thin shell over the library API, one module per command.

Each command module has `add_parser(subparsers)`, which registers its options (defaults read from
the config fields they feed) and the function that runs it as `func`.
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None:
        silence_native_logs()
    try:
        return args.func(args)
    except FacegraftError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted; no output was written", 130)
    except MemoryError:
        return fail("out of memory; try a smaller input")

