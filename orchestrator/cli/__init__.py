"""The `orchestrator` command: the face, which parses arguments, calls the application
(`orchestrator.app`) and prints what it answers. Nothing imports the face.

    __init__.py  main: the parser assembled from the command modules, errors to exit codes;
                 entry: the program (main, then an exit that obstore's threads cannot abort)
    arguments.py the arguments several commands share, defined once; flags -> settings
    output.py    messages on stderr, log lines, a reader that left stdout
    runs.py      run, plan, validate, config, status
    account.py   check, teams
    catalog.py   exports
    demo.py      demo
    fake_api.py  fake-api, its faults and answer forms
    display.py   the live display of a run; summary.py the closing summary

Every expected problem ends as one clear message on stderr and a documented exit code (see
`orchestrator.exit_codes`); a traceback only ever means a bug. A reader that closes stdout early
(`| head`) ends the command quietly with exit code 141, as the shell reports a Unix tool it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import NoReturn

from orchestrator.app.planning import StrictWarnings
from orchestrator.cli import account, catalog, demo, fake_api, runs
from orchestrator.cli.output import reader_went_away, say
from orchestrator.errors import OrchestratorError
from orchestrator.exit_codes import ExitCode, describe_error, exit_code_for


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    try:
        arguments = build_parser().parse_args(argv)
        code = int(arguments.command(arguments))
        sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's final flush
    except BrokenPipeError:
        return reader_went_away()
    except StrictWarnings as error:
        say(f"invalid manifest (--strict makes warnings errors):\n{error}")
        return ExitCode.USAGE
    except OrchestratorError as error:
        say(describe_error(error))
        return exit_code_for(error)
    except KeyboardInterrupt:
        return ExitCode.SIGINT
    return code


def entry() -> NoReturn:
    """The `orchestrator` program (the console script, `python -m orchestrator`): `main`, then
    the exit. Once a bucket was used, the process ends with os._exit, stdout and stderr flushed:
    obstore's runtime threads may still be handing a last result back to Python, and Python 3.11
    aborts the process (SIGABRT) when such a thread waits for the GIL during the interpreter's
    finalization (pyo3-async-runtimes; about one exit in ten against moto)."""
    code = main()
    if "obstore" not in sys.modules:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """`orchestrator` and its commands, each group added by its own module; built once per
    process (parsing leaves the parser as it was), which matters to callers of `main` in a loop."""
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Bulk exports from the Khoros Care Analytics Reports API.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    runs.add_commands(commands)
    demo.add_commands(commands)
    fake_api.add_commands(commands)
    account.add_commands(commands)
    catalog.add_commands(commands)
    return parser


@functools.cache
def _version() -> str:
    try:
        return metadata.version("orchestrator")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


__all__ = ["build_parser", "entry", "main"]
