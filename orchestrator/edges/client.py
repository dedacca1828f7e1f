"""The Analytics Reports API client: create, status and download, with retries and the budget.

It receives its `aiohttp.ClientSession`, request budget and randomness; it never builds them.
Credentials go only to the configured origin (or an explicitly allowed one): server-given URLs are
checked against it, redirects are never followed by aiohttp but hop by hop here (at most
`MAX_REDIRECTS`, like `curl -L`), and once a hop has left the API's origin no later hop carries the
`Authorization` header, even one that comes back. The download may end in a redirect to object
storage or in the file itself; either way the body is streamed, never held in memory.

Credentials are proven once, by `check_access()` before any job starts. After that a 403 on a
create refuses that export only (ExportRefused); a 401 anywhere stops the run (CredentialsRejected),
and once rejected every later call raises the same error without sending anything.
Every aiohttp error is mapped to `orchestrator.errors` here (see that module for the tree).

Server text enters here, and here it is masked: every error a public method raises and the free
text of every status answer have our secrets (password, company key, Basic token, in any written
form) masked, so the journal, the summary, `status`, the report and the log all receive it clean.
Only http and https URLs are ever used: any other scheme, given or redirected to, is refused.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import aclosing, asynccontextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial, wraps
from itertools import count
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import aiohttp
import anyio
import structlog
from multidict import CIMultiDictProxy
from yarl import URL

from orchestrator.core.account_rows import Zone, read_zone
from orchestrator.core.backoff import RetryPolicy, parse_retry_after
from orchestrator.core.catalog import export_for, split_post, status_path
from orchestrator.core.envelope import (
    RunIds,
    StatusReport,
    parse_created,
    parse_listing,
    parse_status,
    unwrap,
)
from orchestrator.core.jobs import CARE_PATH, PUBLISHING_PATH, Job
from orchestrator.core.origins import Origin, origin_of, secure_enough
from orchestrator.core.redact import excerpt, sanitize
from orchestrator.edges.budget import PRIORITY, RequestBudget
from orchestrator.edges.sealing import Sealer
from orchestrator.edges.tally import NETWORK_ERROR, RequestTally, job_request_sent
from orchestrator.errors import (
    BadResponse,
    CertificateRejected,
    CredentialsRejected,
    DownloadCut,
    DownloadExpired,
    EnvelopeError,
    ExportRefused,
    OrchestratorError,
    OriginRefused,
    RunUnknown,
    TransientApiError,
)

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")
Consume = Callable[[AsyncIterator[bytes], int | None], Awaitable[T]]

CHUNK_BYTES = 256 * 1024
BODY_LIMIT = 1024 * 1024
"""Most bytes read of any JSON answer: a status call never needs more, and a server stuck
streaming must not exhaust memory."""
MAX_REDIRECTS = 5
"""Hops followed after the download URL, as many as a cautious `curl -L --max-redirs 5`."""
TIMEZONES_PATH = "/api/public/config/timezones"
TEAMS_PATH = "/api/public/teams"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_API_KINDS = frozenset({"create", "status", "download"})
"""The requests a job makes of the API (and counts for its log line); not the storage GET."""
_SCHEMES = ("http", "https")
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
        """What must never be shown: the password, the company key and the Basic token. Not the
        user name: masking it by value would mangle every word it appears in."""
        token = aiohttp.encode_basic_auth(self.username, self.password).removeprefix("Basic ")
        return (self.password, self.company_key, token)

    def credential_origins(self) -> frozenset[Origin]:
        return frozenset(origin_of(url) for url in (self.base_url, *self.allowed_origins))

    def may_receive_credentials(self, url: URL) -> bool:
        """On the API's origin or an allowed one, default ports normalised."""
        return origin_of(url) in self.credential_origins()

    def may_fetch(self, url: URL) -> bool:
        """Whether a URL may be fetched at all: https, or http only to loopback or by opt-in."""
        return url.scheme in _SCHEMES and (self.allow_insecure_http or secure_enough(url))

    def create_url(self, job: Job) -> URL:
        template = self.care_path if job.source == "care" else self.publishing_path
        return self.helper_url(template.format(export_id=job.export_id))

    def helper_url(self, path: str) -> URL:
        """`path` under the base URL, with the companyKey."""
        full = self.base_url.path.rstrip("/") + path
        return self.base_url.with_path(full).with_query({"companyKey": self.company_key})


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """What the credential probe learned: the account's time zones answer."""

    timezones: int
    """How many time zones the account lists."""
    zones: tuple[Zone, ...] = ()
    """The rows that carry an id (API-CATALOG.md §4.1), in the API's order."""

    @property
    def zone_ids(self) -> tuple[str, ...]:
        """The values the exports' `timezone` parameter takes."""
        return tuple(zone.id for zone in self.zones)


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    headers: CIMultiDictProxy[str]


@dataclass(frozen=True, slots=True)
class _Done(Generic[T]):
    value: T


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: URL


def _masking(
    method: Callable[Concatenate[ReportsClient, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[ReportsClient, P], Coroutine[Any, Any, R]]:
    """Mask our secrets in any error leaving a public method: its message carries server text
    (excerpts, URLs, state names), and the client is where that text enters."""

    @wraps(method)
    async def masked(client: ReportsClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(client, *args, **kwargs)
        except OrchestratorError as error:
            error.args = tuple(client.mask(a) if isinstance(a, str) else a for a in error.args)
            raise

    return masked


@dataclass(frozen=True, slots=True)
class Reservation:
    """One create's budget, taken: `submit` spends it on the first try."""

    client: ReportsClient

    async def submit(self, job: Job) -> RunIds:
        return await self.client._create(job)


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
        tally: RequestTally | None = None,
    ) -> None:
        self._session = session
        self._access = access
        self._budget = budget
        self._retry = retry
        self._jitter = jitter
        self._sleep = sleep
        self._request_timeout = request_timeout
        self._tally = tally
        self._sealer = Sealer(access.password, access.company_key)
        self._authorization = aiohttp.encode_basic_auth(access.username, access.password)
        self._origins = access.credential_origins()
        self._answer_timeout = _bounded(session.timeout, request_timeout)
        """An answer read whole (not a download) is bounded by aiohttp's own `total`: one timer
        per request, where a cancel scope around the send and another around the read cost
        twice as much."""
        self._verified = False
        self._rejected: CredentialsRejected | None = None
        self._built: set[str] = set()
        """Status URLs built from a create answer's ids that no status answer has proven yet."""

    def __repr__(self) -> str:
        state = "rejected" if self._rejected else "verified" if self._verified else "new"
        return f"ReportsClient({str(self._access.base_url)!r}, credentials={state})"

    @_masking
    async def check_access(self) -> AccountCheck:
        """Prove the credentials and company key with the cheapest authenticated request (the
        account's time zones); CredentialsRejected on 401 or 403. Call once before any job."""
        url = self._access.helper_url(TIMEZONES_PATH)
        answer = await self._call("probe", "GET", url)
        zones = self._parse("probe", url, answer, parse_listing)
        self._verified = True
        read = tuple(zone for zone in map(read_zone, zones) if zone is not None)
        return AccountCheck(timezones=len(zones), zones=read)

    @_masking
    async def teams(self) -> list[Any]:
        """The account's teams, as the API lists them."""
        url = self._access.helper_url(TEAMS_PATH)
        answer = await self._call("teams", "GET", url)
        return self._parse("teams", url, answer, parse_listing)

    @asynccontextmanager
    async def reserve(self, kind: str) -> AsyncIterator[Reservation]:
        """Take one request of `kind`'s budget (behind the more useful requests waiting), then
        hand back what sends it. The caller journals its intent in between: nothing calls back."""
        if self._rejected:
            raise self._rejected
        await self._budget.acquire(PRIORITY.get(kind, 1))
        yield Reservation(self)

    async def submit(self, job: Job) -> RunIds:
        """Reserve the budget and create the export (for callers with nothing to journal)."""
        async with self.reserve("create") as reservation:
            return await reservation.submit(job)

    @_masking
    async def _create(self, job: Job) -> RunIds:
        """Create the export on the server, the budget for the first try already taken; every
        try is shielded from cancellation (within its timeout), so a journal that says a create
        was sent never misses an answer that came back."""
        url = self._access.create_url(job)
        params = job.request_params()
        if job.method == "GET":
            url = url.extend_query(params)
            answer = await self._call("create", "GET", url, reserved=True)
        else:  # in the query, or a form body, as the vendor's examples send each export
            query, form = split_post(export_for(job.source, job.export_id), params)
            url = url.extend_query(query)
            answer = await self._call("create", "POST", url, data=form, reserved=True)
        ids = self._parse("create", url, answer, lambda body: parse_created(unwrap(body)))
        return ids if ids.status_url else self._with_status_url(ids)

    @_masking
    async def status(self, status_url: str) -> StatusReport:
        """One poll of a submitted export, at the URL the server gave, verbatim (or built); its
        free text (state, detail, reason) masked."""
        url = self._server_url(status_url)
        answer = await self._call("status", "GET", url)
        if status_url in self._built:
            if answer.status == 404:
                raise BadResponse(
                    f"status {self._safe(url)} answered 404: the create answer had no statusUrl, "
                    "and the documented status path built from its workflowId and runId does not "
                    "know the run (not resubmitted: a new create would answer alike); body: "
                    f"{excerpt(answer.body, secrets=self._access.secrets)}",
                    status=404,
                )
            if 200 <= answer.status < 300:
                self._built.discard(status_url)  # proven: a later 404 means a lost run
        report = self._parse("status", url, answer, lambda body: parse_status(unwrap(body)))
        return report.masked(self.mask)

    def _with_status_url(self, ids: RunIds) -> RunIds:
        """The generic create endpoint answers with the two ids alone (API-CATALOG.md §4.2): the
        status URL is then the documented path of both, percent-encoded, with the company key."""
        base = self._access.base_url
        path = base.path.rstrip("/") + status_path(ids.workflow_id, ids.run_id)
        url = base.with_path(path, encoded=True).with_query(
            {"companyKey": self._access.company_key}
        )
        self._built.add(str(url))
        _log.debug("orchestrator.status_url_built", workflow_id=ids.workflow_id)
        return replace(ids, status_url=str(url))

    @_masking
    async def download(self, download_url: str, consume: Consume[T]) -> T:
        """Follow the download URL hop by hop to the file and stream it into `consume`.

        The file may come from the API itself (200) or after up to MAX_REDIRECTS redirects; the
        API's hops are budgeted and retried, the others (object storage) are neither, and carry
        no credentials."""
        url = self._server_url(download_url)
        with_credentials = True
        for _ in range(MAX_REDIRECTS + 1):
            if not self._access.may_fetch(url):
                raise OriginRefused(
                    f"the download leads to {self._safe(url)}: plain http to a host other than "
                    "loopback; refusing (set ORCHESTRATOR_ALLOW_INSECURE_HTTP=true to allow it)"
                )
            with_credentials = with_credentials and origin_of(url) in self._origins
            step: _Done[T] | _Redirect
            if with_credentials:
                handle = partial(self._api_download_step, url, consume)
                step = await self._request("download", "GET", url, handle)
            else:
                step = await self._storage_step(url, consume)
            if isinstance(step, _Done):
                return step.value
            url = step.location
        raise BadResponse(
            f"download {self._safe(URL(download_url, encoded=True))} redirected more than "
            f"{MAX_REDIRECTS} times; giving up"
        )

    def mask(self, text: str) -> str:
        """`text` with our secrets masked, in any form a server may write them."""
        return sanitize(text, self._access.secrets)

    def sealed(self, url: str) -> str:
        """`url` with its secret values encrypted, for the journal."""
        return self._sealer.seal(url)

    def unsealed(self, url: str) -> str:
        """A URL from the journal, exactly as the server gave it; SealBroken if it cannot be."""
        return self._sealer.unseal(url)

    def _server_url(self, text: str) -> URL:
        """A URL the server returned, kept byte for byte, and only if it is http or https on the
        API's origin. A relative or scheme-relative one is resolved against the base URL."""
        try:
            url = URL(text, encoded=True)
            if not url.is_absolute() or not url.scheme:
                url = self._access.base_url.join(url)
            origin_of(url)
        except ValueError as error:  # yarl: a bracket left open, a port past 65535, ...
            shown = sanitize(text[:200], self._access.secrets)
            raise BadResponse(f"the server sent an unusable URL {shown!r}: {error}") from None
        if url.scheme not in _SCHEMES:
            raise OriginRefused(
                f"refused URL scheme {url.scheme!r}: the server sent {self._safe(url)}; only "
                "http and https URLs are used"
            )
        if origin_of(url) not in self._origins:
            raise OriginRefused(
                f"the server sent a URL on another origin ({_origin_text(url)}); credentials go only to "
                f"{self._access.base_url.origin()} (add an origin to ORCHESTRATOR_ALLOWED_ORIGINS "
                "to trust it)"
            )
        return url

    def _next_hop(self, current: URL, response: aiohttp.ClientResponse) -> _Redirect:
        location = response.headers.get("Location")
        if not location:
            raise BadResponse(
                f"{self._safe(current)} answered {response.status} without a Location",
                status=response.status,
            )
        try:
            target = current.join(URL(location, encoded=True))
            origin_of(target)
        except ValueError as error:
            raise BadResponse(
                f"{self._safe(current)} redirected to an unusable URL: {error}",
                status=response.status,
            ) from None
        if target.scheme not in _SCHEMES:
            raise OriginRefused(
                f"refused URL scheme {target.scheme!r}: {self._safe(current)} redirects to "
                f"{self._safe(target)}; only http and https redirects are followed"
            )
        return _Redirect(target)

    async def _api_download_step(
        self, url: URL, consume: Consume[T], response: aiohttp.ClientResponse
    ) -> _Done[T] | _Redirect:
        """One answer of the API to a download request: the file, or where to go next."""
        if response.status == 200:
            return _Done(await self._stream_into(response, consume, "the API"))
        if response.status in _REDIRECTS:
            return self._next_hop(url, response)
        answer = await self._read_answer(response, "download")
        self._raise_for(answer, "download", url)
        raise BadResponse(
            f"download {self._safe(url)} answered {answer.status}: "
            f"{excerpt(answer.body, secrets=self._access.secrets)}",
            status=answer.status,
        )

    async def _storage_step(self, url: URL, consume: Consume[T]) -> _Done[T] | _Redirect:
        """GET a URL off the API's origin (a pre-signed object URL): no credentials at all."""
        headers = {"Accept-Encoding": "identity"}
        answered = False
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                answered = True
                self._count("storage", response.status)
                if response.status in _REDIRECTS:
                    return self._next_hop(url, response)
                if response.status in (400, 401, 403):
                    body = await response.content.read(4096)
                    raise DownloadExpired(
                        f"object storage refused the download link ({response.status}): "
                        f"{excerpt(body, secrets=self._access.secrets)}"
                    )
                if response.status != 200:
                    raise DownloadCut(f"object storage answered {response.status}")
                return _Done(await self._stream_into(response, consume, "object storage"))
        except (aiohttp.ClientError, TimeoutError) as error:
            if not answered:
                self._count("storage", NETWORK_ERROR)
            raise DownloadCut(
                f"download from object storage broke off: {_describe(error)}"
            ) from None

    async def _stream_into(
        self, response: aiohttp.ClientResponse, consume: Consume[T], source: str
    ) -> T:
        """Hand the body to `consume` chunk by chunk, with the size it must have.

        Without a Content-Encoding, `consume` checks the decoded size against Content-Length.
        With one (gzip), aiohttp decodes and Content-Length counts the encoded bytes: the raw byte
        count is checked here at the end of the body, and `consume` gets no size to compare."""
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        encoded = encoding not in ("", "identity")
        announced = response.content_length
        chunks = _body(response, source, announced if encoded else None)
        async with aclosing(chunks):
            return await consume(chunks, None if encoded else announced)

    async def _call(
        self,
        kind: str,
        method: str,
        url: URL,
        data: Any = None,
        *,
        reserved: bool = False,
    ) -> _Answer:
        """One API request with retries whose answer is read whole (capped)."""
        return await self._request(
            kind, method, url, self._read_answer, data=data, reserved=reserved
        )

    async def _request(
        self,
        kind: str,
        method: str,
        url: URL,
        handle: Callable[[aiohttp.ClientResponse], Awaitable[R]],
        *,
        data: Any = None,
        reserved: bool = False,
    ) -> R:
        """Send with credentials under the budget; retry 429, 5xx and network errors; stop on
        rejected credentials; hand any other answer, still open, to `handle`. A `reserved`
        request (a create) found its first try's budget taken, and every try is shielded from
        cancellation, with no await between the call and the first try's shield."""
        for attempt in count(1):
            if self._rejected:
                raise self._rejected
            if not (reserved and attempt == 1):
                await self._budget.acquire(PRIORITY.get(kind, 1))
            retry_after: float | None = None
            answered = False
            try:
                with anyio.CancelScope(shield=True) if reserved else _UNSHIELDED:
                    response = await self._send(kind, method, url, data)
                    async with response:
                        answered = True
                        self._count(kind, response.status)
                        if response.status != 429 and response.status < 500:
                            await self._check_credentials(kind, url, response)
                            return await handle(response)
                        body = await self._read_answer(response, kind)
                        retry_after = parse_retry_after(
                            response.headers.get("Retry-After"), datetime.now(UTC)
                        )
                        failure = TransientApiError(
                            f"{kind} {self._safe(url)} answered {response.status}: "
                            f"{excerpt(body.body, secrets=self._access.secrets)}",
                            status=response.status,
                        )
            except aiohttp.ClientConnectorCertificateError as error:
                self._count(kind, NETWORK_ERROR)
                raise CertificateRejected(
                    f"{kind} {self._safe(url)}: the TLS certificate did not verify "
                    f"({_describe(error.certificate_error)}); if the API uses a private CA, "
                    "set ORCHESTRATOR_CA_BUNDLE"
                ) from None
            except (aiohttp.ClientError, TimeoutError) as error:
                if not answered:
                    self._count(kind, NETWORK_ERROR)
                failure = TransientApiError(f"{kind} {self._safe(url)}: {_describe(error)}")
            if not self._retry.may_retry(attempt):
                raise failure
            delay = self._retry.delay(attempt, self._jitter(), retry_after)
            if self._tally is not None:
                self._tally.retry(kind)
            _log.debug(
                "orchestrator.request_retry",
                kind=kind,
                attempt=attempt,
                delay=round(delay, 3),
                error=str(failure),
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _send(self, kind: str, method: str, url: URL, data: Any) -> aiohttp.ClientResponse:
        """Send one request and return its answer, headers read. A download's body may stream
        for hours: only the wait for its headers is bounded; any other answer is read whole, and
        its whole exchange is bounded (aiohttp's `total`)."""
        headers = self._headers(kind)
        if kind != "download":
            return await self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                allow_redirects=False,
                timeout=self._answer_timeout,
            )
        with anyio.fail_after(self._request_timeout):
            return await self._session.request(
                method, url, data=data, headers=headers, allow_redirects=False
            )

    def _headers(self, kind: str) -> dict[str, str]:
        accept = "*/*" if kind == "download" else "application/json"
        headers = {"Authorization": self._authorization, "Accept": accept}
        if kind == "download":
            headers["Accept-Encoding"] = "identity"
        return headers

    async def _check_credentials(
        self, kind: str, url: URL, response: aiohttp.ClientResponse
    ) -> None:
        if not _rejects_credentials(response.status, kind, verified=self._verified):
            if 200 <= response.status < 400:
                self._verified = True
            return
        answer = await self._read_answer(response, kind)
        self._rejected = CredentialsRejected(
            f"the API rejected the credentials or company key ({answer.status}) on {kind} "
            f"{self._safe(url)}: {excerpt(answer.body, secrets=self._access.secrets)}",
            status=answer.status,
        )
        raise self._rejected

    async def _read_answer(self, response: aiohttp.ClientResponse, kind: str = "") -> _Answer:
        """The answer read whole (capped) within the request's time: aiohttp's `total` bounds
        every kind's but a download's, whose (error) body gets the request timeout from now."""
        if kind != "download":
            return _Answer(response.status, await _read_capped(response), response.headers)
        with anyio.fail_after(self._request_timeout):
            body = await _read_capped(response)
        return _Answer(response.status, body, response.headers)

    def _count(self, kind: str, code: int | str) -> None:
        if kind in _API_KINDS:
            job_request_sent()
        if self._tally is not None:
            self._tally.request(kind, code)

    def _parse(self, kind: str, url: URL, answer: _Answer, parse: Callable[[bytes], T]) -> T:
        self._raise_for(answer, kind, url)
        try:
            return parse(answer.body)
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
            if kind == "create":
                raise ExportRefused(f"the API refused the export: {message}", status=answer.status)
            if kind in ("status", "download"):
                raise RunUnknown(message, status=answer.status)
        if answer.status in _REDIRECTS:
            message += " (a redirect: not followed, credentials stay with the API)"
        raise BadResponse(message, status=answer.status)

    def _safe(self, url: URL) -> str:
        return self.mask(str(url))


_UNSHIELDED = nullcontext()


def _bounded(timeout: aiohttp.ClientTimeout, total: float) -> aiohttp.ClientTimeout:
    """The session's timeouts for an exchange bounded by `total` seconds as a whole, which
    makes a read timeout (a timer re-armed on every chunk received) needless."""
    return aiohttp.ClientTimeout(
        total=total,
        connect=timeout.connect,
        sock_connect=timeout.sock_connect,
        ceil_threshold=timeout.ceil_threshold,
    )


def _origin_text(url: URL) -> str:
    """`url`'s origin for a message; yarl cannot say it for a URL without a host."""
    try:
        return str(url.origin())
    except ValueError:
        return f"{url.scheme}:// without a host"


def _rejects_credentials(status: int, kind: str, *, verified: bool) -> bool:
    """401 always means the credentials. 403 means them on the probe and the helper endpoints,
    and on anything before the credentials were proven. Once proven, a 403 on a create is that
    export refused (ExportRefused), and on a status or download that job's token (RunUnknown):
    the run goes on."""
    if status == 401:
        return True
    return status == 403 and (kind in ("probe", "teams") or not verified)


async def _body(
    response: aiohttp.ClientResponse, source: str, raw_expected: int | None
) -> AsyncGenerator[bytes, None]:
    """The body's chunks; network errors become DownloadCut. With `raw_expected`, the bytes
    received on the wire (before decoding) must number exactly that."""
    try:
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            yield chunk
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DownloadCut(f"download from {source} broke off: {_describe(error)}") from None
    if raw_expected is not None and response.content.total_raw_bytes != raw_expected:
        raise DownloadCut(
            f"got {response.content.total_raw_bytes} of {raw_expected} announced "
            f"(encoded) bytes from {source}"
        )


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The whole body, refused past BODY_LIMIT: read at once when its announced length is within
    the limit (any answer of the API's), else chunk by chunk."""
    announced = response.content_length
    if (
        announced is not None
        and announced <= BODY_LIMIT
        and not response.headers.get("Content-Encoding")
    ):
        return await response.read()  # the parser stops at the announced length
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
