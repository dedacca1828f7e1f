"""The exceptions of orchestrator, one tree, so callers catch what they can act on.

    OrchestratorError
    ├── ApiError                 the API answered, or failed to, in a way a job cannot use
    │   ├── CredentialsRejected  401/403 from the API: the whole run stops
    │   ├── RunUnknown           the server no longer knows a submitted run (404/410)
    │   ├── TransientApiError    429, 5xx, connection or timeout, still failing after every retry
    │   ├── BadResponse          not JSON, not PASS, a string result, missing or mistyped fields
    │   └── CertificateRejected  the server's TLS certificate did not verify (never retried)
    ├── DownloadError            fetching the file from object storage
    │   ├── DownloadExpired      the pre-signed URL was refused: ask the API for a new one
    │   └── DownloadCut          the body ended early or the connection broke
    ├── OriginRefused            a server-given URL is on an origin our credentials may not go to
    └── SinkError                the output tree cannot take the file (disk full, permissions)

No aiohttp exception escapes the client: each is mapped to the most specific class here, with a
message that carries the URL (secrets removed), the status and a short excerpt of the answer.
"""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base of every error orchestrator raises on purpose."""


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


class SinkError(OrchestratorError):
    pass


class UsageError(OrchestratorError):
    """A command line or file that parses but cannot be acted on (exit code 2)."""
