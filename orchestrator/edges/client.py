"""The Analytics Reports API client: create, status and download, with retries and the budget.

It receives its `aiohttp.ClientSession`, request budget and randomness; it never builds them.
Credentials go only to the configured origin: server-given URLs are checked against it, redirects
are never followed automatically, and the object-storage hop carries no `Authorization` header.
Every aiohttp error is mapped to `orchestrator.errors` here (see that module for the tree).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any, TypeVar

import aiohttp
import anyio
import structlog
from multidict import CIMultiDictProxy
from yarl import URL

from orchestrator.core.backoff import RetryPolicy, parse_retry_after
from orchestrator.core.envelope import RunIds, StatusReport, parse_created, parse_status, unwrap
from orchestrator.core.jobs import CARE_PATH, PUBLISHING_PATH, Job
from orchestrator.core.origins import secure_enough
from orchestrator.core.redact import excerpt, sanitize, seal_url, unseal_url
from orchestrator.edges.budget import PRIORITY, RequestBudget
from orchestrator.errors import (
    BadResponse,
    CertificateRejected,
    CredentialsRejected,
    DownloadCut,
    DownloadExpired,
    EnvelopeError,
    OriginRefused,
    RunUnknown,
    TransientApiError,
)

T = TypeVar("T")
Consume = Callable[[AsyncIterator[bytes], int | None], Awaitable[T]]
Announce = Callable[[], Awaitable[None]]

CHUNK_BYTES = 256 * 1024
BODY_LIMIT = 1024 * 1024
"""Most bytes read of any JSON answer: a status call never needs more, and a server stuck
streaming must not exhaust memory."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_log = structlog.get_logger("orchestrator.client")


@dataclass(frozen=True, slots=True)
class ApiAccess:
    """Where the API is and who we are to it. Plain strings, held in memory only."""

    base_url: URL
    username: str
    password: str
    company_key: str
    care_path: str = CARE_PATH
    publishing_path: str = PUBLISHING_PATH
    allowed_origins: frozenset[URL] = frozenset()
    """Origins besides `base_url`'s that server-given URLs may point at (with our credentials)."""
    allow_insecure_http: bool = False

    def __repr__(self) -> str:
        return f"ApiAccess(base_url={str(self.base_url)!r}, username=***)"

    @property
    def secrets(self) -> tuple[str, str, str]:
        return (self.username, self.password, self.company_key)

    def may_receive_credentials(self, url: URL) -> bool:
        origin = url.origin()
        return origin == self.base_url.origin() or origin in self.allowed_origins

    def may_fetch(self, url: URL) -> bool:
        """Whether a URL may be fetched at all: https, or http only to loopback or by opt-in."""
        return self.allow_insecure_http or secure_enough(url)

    def create_url(self, job: Job) -> URL:
        template = self.care_path if job.source == "care" else self.publishing_path
        path = self.base_url.path.rstrip("/") + template.format(export_id=job.export_id)
        return self.base_url.with_path(path).with_query({"companyKey": self.company_key})


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    headers: CIMultiDictProxy[str]


class ReportsClient:
    """Talks to the API for every job of a run; safe to share between tasks."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        access: ApiAccess,
        budget: RequestBudget,
        retry: RetryPolicy,
        *,
        jitter: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        request_timeout: float = 60.0,
    ) -> None:
        self._session = session
        self._access = access
        self._budget = budget
        self._retry = retry
        self._jitter = jitter
        self._sleep = sleep
        self._request_timeout = request_timeout
        self._authorization = aiohttp.encode_basic_auth(access.username, access.password)
        self._verified = anyio.Event()
        self._probe_lock = anyio.Lock()
        self._rejected: CredentialsRejected | None = None

    def __repr__(self) -> str:
        state = "rejected" if self._rejected else "verified" if self._verified.is_set() else "new"
        return f"ReportsClient({str(self._access.base_url)!r}, credentials={state})"

    async def submit(self, job: Job, *, announce: Announce | None = None) -> RunIds:
        """Create the export on the server; the answer's ids are what must be journaled.

        `announce` is awaited once, when the budget is granted and the request is about to leave;
        from then on the request is shielded from cancellation (within its timeout), so a journal
        that says a create was sent never misses an answer that came back.
        """
        url = self._access.create_url(job)
        params = job.request_params()
        if job.method == "GET":
            url = url.extend_query(params)
            answer = await self._call("create", "GET", url, announce=announce)
        else:
            answer = await self._call("create", "POST", url, data=params, announce=announce)
        return self._parse("create", url, answer, parse_created)

    async def status(self, status_url: str) -> StatusReport:
        """One poll of a submitted export, at the URL the server gave, verbatim."""
        url = self._server_url(status_url)
        answer = await self._call("status", "GET", url)
        return self._parse("status", url, answer, parse_status)

    async def download(self, download_url: str, consume: Consume[T]) -> T:
        """Ask the API for the file, then stream it from object storage into `consume`."""
        url = self._server_url(download_url)
        answer = await self._call("download", "GET", url)
        if answer.status not in _REDIRECTS or "Location" not in answer.headers:
            self._raise_for(answer, "download", url)
            raise BadResponse(
                f"download {self._safe(url)} answered {answer.status} without a redirect: "
                f"{excerpt(answer.body, secrets=self._access.secrets)}",
                status=answer.status,
            )
        location = url.join(URL(answer.headers["Location"], encoded=True))
        return await self._fetch_object(location, consume)

    def sealed(self, url: str) -> str:
        """`url` without its secrets, for the journal."""
        return seal_url(url)

    def unsealed(self, url: str) -> str:
        """A URL from the journal, usable again."""
        return unseal_url(url, self._access.company_key)

    def _server_url(self, text: str) -> URL:
        """A URL the server returned, kept byte for byte, and only if it is on the API's origin."""
        url = URL(text, encoded=True)
        if not url.is_absolute():
            url = self._access.base_url.join(url)
        if not self._access.may_receive_credentials(url):
            raise OriginRefused(
                f"the server sent a URL on another origin ({url.origin()}); credentials go only to "
                f"{self._access.base_url.origin()} (add an origin to ORCHESTRATOR_ALLOWED_ORIGINS "
                "to trust it)"
            )
        return url

    async def _fetch_object(self, url: URL, consume: Consume[T]) -> T:
        """GET a pre-signed object URL with no credentials at all, streaming the body."""
        if not self._access.may_fetch(url):
            raise OriginRefused(
                f"the download redirects to plain http on {url.host}; refusing (set "
                "ORCHESTRATOR_ALLOW_INSECURE_HTTP=true to allow it)"
            )
        headers = {"Accept-Encoding": "identity"}
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in (400, 401, 403):
                    body = await response.content.read(4096)
                    raise DownloadExpired(
                        f"object storage refused the download link ({response.status}): "
                        f"{excerpt(body, secrets=self._access.secrets)}"
                    )
                if response.status != 200:
                    raise DownloadCut(f"object storage answered {response.status}")
                chunks = response.content.iter_chunked(CHUNK_BYTES)
                return await consume(chunks, response.content_length)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DownloadCut(
                f"download from object storage broke off: {_describe(error)}"
            ) from None

    async def _call(
        self,
        kind: str,
        method: str,
        url: URL,
        data: Any = None,
        announce: Announce | None = None,
    ) -> _Answer:
        """One API request with retries; the very first request of a run checks the credentials
        alone, so a rejected password costs one request, not one per job."""
        if self._rejected:
            raise self._rejected
        if not self._verified.is_set():
            async with self._probe_lock:
                if self._rejected:
                    raise self._rejected
                if not self._verified.is_set():
                    return await self._probe(kind, method, url, data, announce)
        return await self._with_retries(kind, method, url, data, announce)

    async def _probe(
        self, kind: str, method: str, url: URL, data: Any, announce: Announce | None
    ) -> _Answer:
        try:
            answer = await self._with_retries(kind, method, url, data, announce)
        except CredentialsRejected as error:
            self._rejected = error
            raise
        self._verified.set()
        return answer

    async def _with_retries(
        self, kind: str, method: str, url: URL, data: Any, announce: Announce | None = None
    ) -> _Answer:
        for attempt in count(1):
            await self._budget.acquire(PRIORITY.get(kind, 1))
            retry_after: float | None = None
            try:
                if announce is None:
                    answer = await self._send(method, url, data)
                else:
                    with anyio.CancelScope(shield=True):
                        if attempt == 1:
                            await announce()
                        answer = await self._send(method, url, data)
            except aiohttp.ClientConnectorCertificateError as error:
                raise CertificateRejected(
                    f"{kind} {self._safe(url)}: the TLS certificate did not verify "
                    f"({_describe(error.certificate_error)}); if the API uses a private CA, "
                    "set ORCHESTRATOR_CA_BUNDLE"
                ) from None
            except (aiohttp.ClientError, TimeoutError) as error:
                failure = TransientApiError(f"{kind} {self._safe(url)}: {_describe(error)}")
            else:
                if _rejects_credentials(answer.status, kind, verified=self._verified.is_set()):
                    raise CredentialsRejected(
                        f"the API rejected the credentials ({answer.status}) on {kind} "
                        f"{self._safe(url)}: {excerpt(answer.body, secrets=self._access.secrets)}",
                        status=answer.status,
                    )
                if answer.status != 429 and answer.status < 500:
                    return answer
                retry_after = parse_retry_after(
                    answer.headers.get("Retry-After"), datetime.now(UTC)
                )
                failure = TransientApiError(
                    f"{kind} {self._safe(url)} answered {answer.status}: "
                    f"{excerpt(answer.body, secrets=self._access.secrets)}",
                    status=answer.status,
                )
            if not self._retry.may_retry(attempt):
                raise failure
            delay = self._retry.delay(attempt, self._jitter(), retry_after)
            _log.debug(
                "orchestrator.request_retry",
                kind=kind,
                attempt=attempt,
                delay=round(delay, 3),
                error=str(failure),
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _send(self, method: str, url: URL, data: Any) -> _Answer:
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        with anyio.fail_after(self._request_timeout):
            async with self._session.request(
                method, url, data=data, headers=headers, allow_redirects=False
            ) as response:
                body = await _read_capped(response)
                return _Answer(response.status, body, response.headers)

    def _parse(self, kind: str, url: URL, answer: _Answer, parse: Callable[[Any], T]) -> T:
        self._raise_for(answer, kind, url)
        try:
            return parse(unwrap(answer.body))
        except EnvelopeError as error:
            raise BadResponse(
                f"{kind} {self._safe(url)} answered {answer.status}: {error}; "
                f"body: {excerpt(answer.body, secrets=self._access.secrets)}",
                status=answer.status,
            ) from None

    def _raise_for(self, answer: _Answer, kind: str, url: URL) -> None:
        if 200 <= answer.status < 300:
            return
        message = (
            f"{kind} {self._safe(url)} answered {answer.status}: "
            f"{excerpt(answer.body, secrets=self._access.secrets)}"
        )
        if answer.status in (403, 404, 410):
            raise RunUnknown(message, status=answer.status)
        if answer.status in _REDIRECTS and kind == "download":
            return
        if answer.status in _REDIRECTS:
            message += " (a redirect: not followed, credentials stay with the API)"
        raise BadResponse(message, status=answer.status)

    def _safe(self, url: URL) -> str:
        return sanitize(str(url), self._access.secrets)


def _rejects_credentials(status: int, kind: str, *, verified: bool) -> bool:
    """401 always means the credentials; 403 means them on a create, or before any request has
    passed. A 403 on one job's status or download, once others passed, is that job's token (an
    expired run): the job is resubmitted and the run goes on."""
    return status == 401 or (status == 403 and (kind == "create" or not verified))


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > BODY_LIMIT:
            raise BadResponse(
                f"answer of {response.status} is larger than {BODY_LIMIT} bytes; not reading on",
                status=response.status,
            )
    return bytes(body)


def _describe(error: BaseException) -> str:
    """A short account of a network error; never `repr()`, which shows request headers."""
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {sanitize(str(error))}"
