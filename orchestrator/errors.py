"""The exceptions of orchestrator: one tree under one root, so callers catch what they can act on.

    OrchestratorError
    ├── UsageError               input that cannot be acted on: the CLI exits 2
    │   ├── ManifestError        the manifest has problems, each located (file:line:col, field)
    │   ├── SettingsError        a setting (ORCHESTRATOR_*, .env, secret file, flag) is unusable
    │   └── JournalUnavailable   the journal cannot be opened, is not a journal, or is a newer one's
    │       └── JournalLocked    another run holds it: exit 75 (EX_TEMPFAIL), retry later
    ├── ApiError                 the API answered, or failed to, in a way a job cannot use
    │   ├── CredentialsRejected  401 (or 403 on the credential probe): the run stops, exit 3
    │   ├── ExportRefused        403/404/410 on create: this export cannot be had; the run goes on
    │   ├── RunUnknown           the server no longer knows a submitted run (404/410)
    │   ├── TransientApiError    429, 5xx, connection or timeout, still failing after every retry
    │   ├── BadResponse          not JSON, not PASS, a string result, missing or mistyped fields
    │   │   └── EnvelopeError    (raised by the pure parser; the client adds the URL and status)
    │   └── CertificateRejected  the server's TLS certificate did not verify (never retried)
    ├── DownloadError            fetching the file from object storage
    │   ├── DownloadExpired      the pre-signed URL was refused: ask the API for a new one
    │   └── DownloadCut          the body ended early or the connection broke
    ├── OriginRefused            a server-given URL is on an origin our credentials may not go to
    ├── SealBroken               a sealed journal value cannot be opened (password changed): resubmit
    ├── FilterError              one manifest filter entry is unusable (becomes a ManifestError)
    ├── JournalWriteFailed       the journal cannot be written (disk full, I/O): the run stops, exit 1
    └── SinkError                the output tree cannot take the file (permissions, a file in the way)
        └── OutputFull           no space left (or quota) in the output tree: the run stops, exit 1

This module imports nothing of ours, so every layer may raise these. No library exception escapes
the edge that meets it: aiohttp, sqlite3, yarl and OS errors are mapped to the most specific class
here, with a message that carries the facts to act on (URL without secrets, status, an excerpt).
The CLI catches `OrchestratorError` once and maps it to an exit code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_SHOWN_PROBLEMS = 50
"""Problems listed in a ManifestError: enough to fix a file in one pass, few enough to read."""


class OrchestratorError(Exception):
    """Base of every error orchestrator raises on purpose."""


class UsageError(OrchestratorError):
    """A command line or file that parses but cannot be acted on (exit code 2)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the manifest: where (`jobs.yaml:14:12`), which field, and what to do."""

    location: str
    field: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.location, self.field, self.message) if part)


class ManifestError(UsageError):
    """The manifest cannot be used; `problems` lists every problem, one per line in str().

    Problems are kept once each, in document order (by line and column), as a reader fixes them.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(dict.fromkeys(problems), key=_position)
        shown = [str(problem) for problem in self.problems[:MAX_SHOWN_PROBLEMS]]
        if len(self.problems) > MAX_SHOWN_PROBLEMS:
            shown.append(f"... and {len(self.problems) - MAX_SHOWN_PROBLEMS:,} more problems")
        super().__init__("\n".join(shown))


def _position(problem: Problem) -> tuple[int, int]:
    """(line, column) of `name:line:column`, or (0, 0) for a problem of the whole file."""
    match = re.search(r":(\d+):(\d+)$", problem.location)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class SettingsError(UsageError):
    """Configuration that cannot be used; the message names the variable or flag to fix."""


class JournalUnavailable(UsageError):
    """The journal cannot be opened: its folder or file is unusable, or it is not a journal."""


class JournalLocked(JournalUnavailable):
    """Another run holds the journal."""


class JournalWriteFailed(OrchestratorError):
    """A change could not be journaled (or took the journal's last reserved space): the run must
    stop at once, or the next run would not know what this one sent. `written` says whether this
    change is nonetheless durable."""

    def __init__(self, message: str, *, written: bool = False) -> None:
        super().__init__(message)
        self.written = written


class ApiError(OrchestratorError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CredentialsRejected(ApiError):
    pass


class RunUnknown(ApiError):
    pass


class TransientApiError(ApiError):
    pass


class BadResponse(ApiError):
    pass


class EnvelopeError(BadResponse):
    """An answer that does not have the documented shape; the message says what is wrong."""


class CertificateRejected(ApiError):
    pass


class DownloadError(OrchestratorError):
    pass


class DownloadExpired(DownloadError):
    pass


class DownloadCut(DownloadError):
    pass


class OriginRefused(OrchestratorError):
    pass


class FilterError(OrchestratorError):
    """One filter entry is unusable; `param` names the offending key, if one."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class SinkError(OrchestratorError):
    pass


class OutputFull(SinkError):
    """The output tree's disk is full (or its quota used up): no later file would fit either, so
    the run stops and the exports already created are fetched by the next one."""


class ExportRefused(ApiError):
    """The API will not create this export (403 once the credentials are proven, 404 or 410 on
    create): that export's jobs fail, the run goes on."""


class SealBroken(OrchestratorError):
    """A sealed value from the journal cannot be opened (the password changed): resubmit."""
