"""Where the face's words go: one-line messages on stderr, log lines as the settings say, and
what happens when the reader of stdout went away (`orchestrator plan --json | head`)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from orchestrator.edges.logs import configure_logging
from orchestrator.edges.settings import Settings
from orchestrator.exit_codes import ExitCode


def say(message: str) -> None:
    """A message for the person at the terminal, on stderr, named as ours."""
    print(f"orchestrator: {message}", file=sys.stderr)


def log_as_set(
    settings: Settings, stream: TextIO | None = None, secrets: Sequence[str] = ()
) -> None:
    """Log lines in the settings' format and at their level, the settings' secrets and `secrets`
    (the output store's) masked; to `stream` as console lines while a live display shows, else
    to stderr."""
    configure_logging(
        log_format="console" if stream is not None else settings.log_format,
        level=settings.log_level,
        secrets=[*settings.secret_values(), *secrets],
        stream=stream,
    )


def reader_went_away() -> int:
    """stdout's reader is gone: point stdout at /dev/null so that nothing tries (and fails) to
    write there again, not even the interpreter's last flush, and exit quietly (141; `run`
    keeps its own code instead)."""
    with contextlib.suppress(OSError, ValueError):  # no real descriptor (a test's capture)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return ExitCode.BROKEN_PIPE
