"""The one module that builds a ReportsClient: where the API is and who we are to it, verified
TLS, the HTTP session's limits and the retry policy, all from the settings.

A run builds its client here (`reports_client`, on the run's session and budget), and so do
`check` and `teams` (`open_client`), so every request goes through the same budget, origin rules
and redaction.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
from yarl import URL

from orchestrator.core.backoff import RetryPolicy
from orchestrator.edges.budget import RequestBudget
from orchestrator.edges.client import ApiAccess, ReportsClient
from orchestrator.edges.settings import ENV_PREFIX, Settings
from orchestrator.edges.tally import RequestTally
from orchestrator.errors import SettingsError


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificates are always verified: against the system's CAs, or the configured bundle."""
    try:
        return ssl.create_default_context(cafile=settings.ca_bundle)
    except (ssl.SSLError, OSError) as error:
        raise SettingsError(
            f"{ENV_PREFIX}CA_BUNDLE: cannot load CA certificates from {settings.ca_bundle}: {error}"
        ) from None


def access_from(settings: Settings) -> ApiAccess:
    """Where the API is and who we are to it; a SettingsError when credentials are missing."""
    username, password, company_key = settings.credentials()
    return ApiAccess(
        base_url=URL(settings.base_url),
        username=username,
        password=password,
        company_key=company_key,
        care_path=settings.care_path,
        publishing_path=settings.publishing_path,
        allowed_origins=frozenset(URL(origin) for origin in settings.allowed_origins),
        allow_insecure_http=settings.allow_insecure_http,
    )


def http_session(
    settings: Settings, tls: ssl.SSLContext, connections: int
) -> aiohttp.ClientSession:
    """The one HTTP session of a run: no total timeout (a download may take hours), bounded
    connect and read waits, verified TLS."""
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=30, sock_read=settings.request_timeout_seconds
    )
    return aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=connections, ssl=tls)
    )


def retry_from(settings: Settings) -> RetryPolicy:
    """How often and how long the client retries a request that failed in passing."""
    return RetryPolicy(
        max_attempts=settings.retry_attempts,
        base_seconds=settings.retry_base_seconds,
        max_seconds=settings.retry_max_seconds,
    )


def reports_client(
    settings: Settings,
    session: aiohttp.ClientSession,
    access: ApiAccess,
    budget: RequestBudget,
    *,
    jitter: Callable[[], float],
    tally: RequestTally | None = None,
) -> ReportsClient:
    """The API client on `session`, spending `budget`, retrying as the settings say."""
    return ReportsClient(
        session,
        access,
        budget,
        retry_from(settings),
        jitter=jitter,
        request_timeout=settings.request_timeout_seconds,
        tally=tally,
    )


@asynccontextmanager
async def open_client(
    settings: Settings, access: ApiAccess, tls: ssl.SSLContext
) -> AsyncIterator[ReportsClient]:
    """A ready client on a small session of its own with the whole request budget, for a few
    calls outside a run (`check`, `teams`); the session closes on leaving."""
    async with http_session(settings, tls, connections=2) as session:
        budget = RequestBudget(settings.requests_per_minute)
        rng = random.Random()  # noqa: S311 - backoff jitter, not cryptography
        yield reports_client(settings, session, access, budget, jitter=rng.random)
