"""The API client against the fake over loopback: both status forms, encoded run ids, the storage
hop without credentials, and errors mapped to our own."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import anyio
import pytest
from structlog.testing import capture_logs
from yarl import URL

from orchestrator.core.backoff import RetryPolicy
from orchestrator.core.jobs import Job, Window
from orchestrator.edges.budget import RequestBudget
from orchestrator.edges.client import ApiAccess, ReportsClient
from orchestrator.errors import (
    BadResponse,
    CredentialsRejected,
    DownloadCut,
    DownloadExpired,
    OriginRefused,
    RunUnknown,
    TransientApiError,
)
from orchestrator.fakeapi import FakeApi, FakeConfig, Faults, ManualClock
from tests.integration.fakes import expected_bytes

DAY = Window(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))


def job(method: str = "GET", source: str = "care", export_id: str = "conversation") -> Job:
    return Job(
        export_name="conversations",
        export_id=export_id,
        source=source,  # type: ignore[arg-type]
        format="csv",
        locale="en_US",
        method=method,  # type: ignore[arg-type]
        window=DAY,
        columns=("CONVERSATION_ID", "STATUS"),
        filter_params=(("priorities", "0,1"), ("teamId", "7"), ("teamId", "9")),
    )


def client_for(
    session: aiohttp.ClientSession, fake: FakeApi, *, password: str | None = None, attempts: int = 5
) -> ReportsClient:
    access = ApiAccess(
        base_url=URL(fake.base_url),
        username=fake.config.username,
        password=password or fake.config.password,
        company_key=fake.config.company_key,
    )
    return ReportsClient(
        session,
        access,
        RequestBudget(100_000),
        RetryPolicy(
            max_attempts=attempts,
            base_seconds=0.001,
            max_seconds=0.01,
            max_retry_after_seconds=0.05,
        ),
        jitter=random.Random(1).random,
    )


async def collect(chunks: AsyncIterator[bytes], size: int | None) -> tuple[bytes, int | None]:
    data = b"".join([chunk async for chunk in chunks])
    return data, size


async def wait_until_ready(client: ReportsClient, status_url: str) -> str:
    while True:
        report = await client.status(status_url)
        if report.completed:
            return report.download_url
        assert not report.failed
        await anyio.sleep(0.005)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "source", "export_id"),
    [
        ("GET", "care", "conversation"),
        ("POST", "care", "user"),
        ("GET", "publishing", "raw_brand_post"),
    ],
)
async def test_an_export_runs_from_submit_to_file(method: str, source: str, export_id: str) -> None:
    """Submit (GET or POST, Care or Publishing), poll to ready, download the exact bytes."""
    the_job = job(method, source, export_id)
    with anyio.fail_after(10):
        async with (
            FakeApi(FakeConfig(job_duration=0.02)) as fake,
            aiohttp.ClientSession() as session,
        ):
            client = client_for(session, fake)
            ids = await client.submit(the_job)
            download_url = await wait_until_ready(client, ids.status_url)
            data, size = await client.download(download_url, collect)
    assert data == expected_bytes(the_job, fake.config)
    assert size == len(data)
    assert fake.counters.credential_leaks == 0


@pytest.mark.anyio
async def test_status_urls_are_used_verbatim_with_their_encoded_run_id() -> None:
    """The run id's +, / and = stay percent-encoded on the wire; the fake finds the run by them."""
    clock = ManualClock()
    with anyio.fail_after(10):
        async with (
            FakeApi(FakeConfig(job_duration=1.0), clock=clock) as fake,
            aiohttp.ClientSession() as session,
        ):
            client = client_for(session, fake)
            ids = await client.submit(job())
            assert any(c in ids.run_id for c in "+/=")
            assert "%2B" in ids.status_url or "%2F" in ids.status_url or "%3D" in ids.status_url
            running = await client.status(ids.status_url)
            assert (running.runner_state, running.completed, running.failed) == (
                "RUNNING",
                False,
                False,
            )
            clock.advance(2.0)
            ready = await client.status(ids.status_url)
    assert ready.completed and "analyticsAccessToken=" in ready.download_url


@pytest.mark.anyio
async def test_a_failed_export_is_reported_failed() -> None:
    """CLOSED/FAILED in the list form reads as a failure with the server's words."""
    config = FakeConfig(
        job_duration=0.0, faults=Faults(failing_exports=frozenset({"conversation"}))
    )
    with anyio.fail_after(10):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            client = client_for(session, fake)
            ids = await client.submit(job())
            report = await client.status(ids.status_url)
    assert report.failed and "FAILED" in report.failure_text()


@pytest.mark.anyio
async def test_wrong_credentials_stop_after_one_request() -> None:
    """A rejected password raises CredentialsRejected; concurrent callers after it send nothing.

    (The run proves its credentials with `check_access()` before any job; the client no longer
    holds every caller back until its first request has answered.)"""
    with anyio.fail_after(10):
        async with FakeApi(FakeConfig()) as fake, aiohttp.ClientSession() as session:
            client = client_for(session, fake, password="wrong")
            failures: list[BaseException] = []
            with pytest.raises(CredentialsRejected):
                await client.submit(job())

            async def submit() -> None:
                try:
                    await client.submit(job())
                except CredentialsRejected as error:
                    failures.append(error)

            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(submit)
    assert len(failures) == 10
    assert fake.counters.requests["create"] == 1
    assert "wrong" not in str(failures[0])


@pytest.mark.anyio
async def test_429_and_5xx_are_retried_until_they_pass() -> None:
    """Injected 429s (with Retry-After) and 5xx answers are retried transparently."""
    config = FakeConfig(
        job_duration=0.0,
        faults=Faults(rate_limit=0.3, server_error=0.3, retry_after_seconds=0),
        seed=3,
    )
    with anyio.fail_after(20):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            client = client_for(session, fake, attempts=30)
            for _ in range(10):
                ids = await client.submit(job())
                await wait_until_ready(client, ids.status_url)
    assert fake.counters.rejections["rate_limited"] > 0
    assert fake.counters.rejections["server_error"] > 0


@pytest.mark.anyio
async def test_a_url_on_another_origin_is_refused_before_any_request() -> None:
    """A statusUrl pointing elsewhere never receives our credentials."""
    with anyio.fail_after(10):
        async with FakeApi(FakeConfig()) as fake, aiohttp.ClientSession() as session:
            client = client_for(session, fake)
            with pytest.raises(OriginRefused, match="another origin"):
                await client.status(f"{fake.storage_url}/api/public/reports/report/w/r/status")
    assert fake.counters.requests["storage"] == 0


@pytest.mark.anyio
async def test_an_unknown_run_is_reported_as_such() -> None:
    """A status URL the server does not know maps to RunUnknown."""
    with anyio.fail_after(10):
        async with FakeApi(FakeConfig()) as fake, aiohttp.ClientSession() as session:
            client = client_for(session, fake)
            ids = await client.submit(job())
            bogus = ids.status_url.replace(ids.workflow_id, "00000000-0000-0000-0000-000000000000")
            with pytest.raises(RunUnknown):
                await client.status(bogus)


@pytest.mark.anyio
async def test_cut_and_expired_downloads_map_to_download_errors() -> None:
    """A body cut short is DownloadCut; an expired pre-signed URL is DownloadExpired."""
    cut = FakeConfig(job_duration=0.0, faults=Faults(cut_download=1.0))
    expired = FakeConfig(job_duration=0.0, faults=Faults(expired_url=1.0))
    with anyio.fail_after(10):
        for config, error in ((cut, DownloadCut), (expired, DownloadExpired)):
            async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
                client = client_for(session, fake)
                ids = await client.submit(job())
                download_url = await wait_until_ready(client, ids.status_url)
                with pytest.raises(error):
                    await client.download(download_url, collect)
                assert fake.counters.credential_leaks == 0


@pytest.mark.anyio
async def test_an_invalid_request_is_a_bad_response_with_the_status() -> None:
    """A 400 from create carries its status code and an excerpt of the body."""
    with anyio.fail_after(10):
        async with FakeApi(FakeConfig()) as fake, aiohttp.ClientSession() as session:
            client = client_for(session, fake)
            with pytest.raises(BadResponse, match="400") as caught:
                await client.submit(job(export_id="no_such_export"))
    assert caught.value.status == 400
    assert fake.config.company_key not in str(caught.value)


@pytest.mark.anyio
async def test_a_403_on_one_runs_status_is_that_run_not_the_credentials() -> None:
    """Once credentials have passed, a refused token on a status URL is RunUnknown, not a stop."""
    with anyio.fail_after(10):
        async with FakeApi(FakeConfig()) as fake, aiohttp.ClientSession() as session:
            client = client_for(session, fake)
            ids = await client.submit(job())
            stale = ids.status_url.split("?")[0] + "?analyticsAccessToken=c3RhbGU%3D"
            with pytest.raises(RunUnknown, match="403"):
                await client.status(stale)
            await client.submit(job())


@pytest.mark.anyio
async def test_a_wrong_company_key_is_a_credentials_error() -> None:
    """A 403 on create means the company key is wrong: CredentialsRejected."""
    with anyio.fail_after(10):
        async with FakeApi(FakeConfig()) as fake, aiohttp.ClientSession() as session:
            access = ApiAccess(
                URL(fake.base_url), fake.config.username, fake.config.password, "wrong-key"
            )
            client = ReportsClient(
                session, access, RequestBudget(1000), RetryPolicy(), jitter=random.random
            )
            with pytest.raises(CredentialsRejected, match="403"):
                await client.submit(job())


@pytest.mark.anyio
async def test_a_request_retried_twice_says_so_at_info_as_a_sentence() -> None:
    """Against a port that refuses connections, the third and later tries are announced at info:
    what failed, in words, which try comes next of how many, and in how many seconds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: connections to it are refused
    access = ApiAccess(URL(f"http://127.0.0.1:{port}"), "u", "p", "k")
    retry = RetryPolicy(max_attempts=4, base_seconds=0.001, max_seconds=0.01)
    async with aiohttp.ClientSession() as session:
        client = ReportsClient(session, access, RequestBudget(100_000), retry, jitter=lambda: 0.5)
        with capture_logs() as logs, pytest.raises(TransientApiError):
            await client.check_access()
    retries = [log for log in logs if log["event"] == "orchestrator.request_retry"]
    # the first retry is at debug, which an earlier test's log level may filter out of the capture
    assert [(log["attempt"], log["log_level"]) for log in retries if log["attempt"] > 1] == [
        (2, "info"),
        (3, "info"),
    ]
    assert all(log["log_level"] == "debug" for log in retries if log["attempt"] == 1)
    said = retries[-2]["message"]
    assert said.startswith(f"probe request failed 2 times (probe http://127.0.0.1:{port}")
    assert f"cannot connect to 127.0.0.1:{port} (connection refused)); try 3 of 4 in " in said
    assert said.endswith(" s")
