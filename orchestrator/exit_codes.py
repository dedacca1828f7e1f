"""The process exit codes, as documented in the README."""

from __future__ import annotations

from enum import IntEnum

from orchestrator.errors import (
    CredentialsRejected,
    ManifestError,
    OrchestratorError,
    UsageError,
)


class ExitCode(IntEnum):
    OK = 0
    """Every job finished: downloaded, empty, or split into pieces that all finished."""
    SOME_FAILED = 1
    """Some jobs failed, timed out or were not reached before a deadline; the others completed."""
    USAGE = 2
    """Invalid manifest, settings or command line; a manifest warning under `--strict`; an output
    folder that cannot be written (found before any request); or the journal is held by another run."""
    CREDENTIALS = 3
    """The API rejected the credentials; the run stopped at once."""
    SIGINT = 130
    BROKEN_PIPE = 141
    """Whoever read stdout went away (`orchestrator plan --json | head`): 128 + SIGPIPE, as a shell
    reports a Unix tool that the closed pipe stopped; nothing is printed about it."""
    SIGTERM = 143


def exit_code_for(error: OrchestratorError) -> ExitCode:
    """The exit code of a command that ended with `error` (see the tree in orchestrator.errors)."""
    if isinstance(error, UsageError):
        return ExitCode.USAGE
    if isinstance(error, CredentialsRejected):
        return ExitCode.CREDENTIALS
    return ExitCode.SOME_FAILED


def describe_error(error: OrchestratorError) -> str:
    """The one message a command prints for `error`."""
    if isinstance(error, ManifestError):
        return f"invalid manifest:\n{error}"
    return str(error)
