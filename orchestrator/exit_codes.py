"""The process exit codes, as documented in the README."""

from __future__ import annotations

from enum import IntEnum

from orchestrator.errors import (
    CredentialsRejected,
    JournalLocked,
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
    folder or journal that cannot be used (found before any request). Retrying cannot help."""
    CREDENTIALS = 3
    """The API rejected the credentials; the run stopped at once."""
    LOCKED = 75
    """Another run holds the journal: nothing was done, and the same command later will work.
    EX_TEMPFAIL of sysexits.h, so schedulers (a Job's pod failure policy) can retry it apart from 2."""
    SIGINT = 130
    BROKEN_PIPE = 141
    """Whoever read stdout went away (`orchestrator plan --json | head`): 128 + SIGPIPE, as a shell
    reports a Unix tool that the closed pipe stopped; nothing is printed about it."""
    SIGTERM = 143


def exit_code_for(error: OrchestratorError) -> ExitCode:
    """The exit code of a command that ended with `error` (see the tree in orchestrator.errors)."""
    if isinstance(error, JournalLocked):  # a UsageError, but a passing one: checked first
        return ExitCode.LOCKED
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
