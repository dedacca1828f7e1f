"""A server that echoes our credentials back, or hands out URLs of another scheme, gets its text
masked before any sink sees it and its URLs refused on the job, never an internal error."""

from __future__ import annotations

import base64
import json
import random
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import aiohttp
import anyio
import pytest
from aiohttp import web
from yarl import URL

from orchestrator.cli import main
from orchestrator.core.backoff import RetryPolicy
from orchestrator.core.layout import JOURNAL_FILE, STATE_FOLDER
from orchestrator.edges.budget import RequestBudget
from orchestrator.edges.client import ApiAccess, ReportsClient
from orchestrator.errors import OrchestratorError, OriginRefused
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import fake_in_thread
from tests.integration.sites import Site, envelope, redirect, sites
from tests.integration.test_client import collect

USERNAME, PASSWORD, COMPANY_KEY = "acc-user", "acc-pa$$:word", "acme/key:77"
MANIFEST = """version: 1
defaults:
  range: {start: 2024-01-01, end: 2024-01-02}
exports:
  - {name: users, export_id: user}
  - {name: conversations, export_id: conversation}
"""


def every_form(secret: str) -> Iterator[str]:
    """A secret as is, percent-encoded (upper and lower hex, `+` for space) and JSON-escaped."""
    encoded = quote(secret, safe="")
    yield from (secret, encoded, quote_plus(secret, safe=""), json.dumps(secret)[1:-1])
    yield re.sub("%[0-9A-F]{2}", lambda match: match.group().lower(), encoded)


def forms_of_our_secrets() -> set[str]:
    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    return {form for secret in (PASSWORD, COMPANY_KEY, token) for form in every_form(secret)}


def journal_dump(out: Path) -> str:
    with sqlite3.connect(out / STATE_FOLDER / JOURNAL_FILE) as connection:
        return "\n".join(connection.iterdump())


def test_credentials_a_failed_status_echoes_reach_no_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FAILED reason that repeats the password, company key and Basic token, as sent and
    percent-encoded, shows none of them in the journal, the printed summary, the log, the report,
    or `status` as text and JSON; the reason itself still shows, masked."""
    out, manifest = tmp_path / "out", tmp_path / "jobs.yaml"
    manifest.write_text(MANIFEST)
    faults = Faults(failing_exports=frozenset({"user"}), echo_credentials=True)
    config = FakeConfig(
        username=USERNAME,
        password=PASSWORD,
        company_key=COMPANY_KEY,
        job_duration=0.01,
        faults=faults,
    )
    with fake_in_thread(config) as fake:
        environment = fake.environment(
            out,
            ORCHESTRATOR_RESUBMIT_ATTEMPTS="1",
            ORCHESTRATOR_MIN_WINDOW_SECONDS="86400",
            ORCHESTRATOR_LOG_LEVEL="debug",
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        assert main(["run", str(manifest)]) == 1
    ran = capsys.readouterr()
    assert main(["status"]) == 1
    as_text = capsys.readouterr().out
    assert main(["status", "--json"]) == 1
    as_json = capsys.readouterr().out
    report = next((out / "_runs").glob("*.json")).read_text()
    sinks = {
        "summary": ran.out,
        "log": ran.err,
        "report": report,
        "journal": journal_dump(out),
        "status": as_text,
        "status --json": as_json,
    }

    assert "export failed (injected); the request was Authorization: ***" in report
    for sink, text in sinks.items():
        for form in forms_of_our_secrets():
            assert form not in text, f"{form!r} shown in the {sink}"


TOKEN = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
ECHO = " ".join(f"{secret} {quote(secret, safe='')}" for secret in (PASSWORD, COMPANY_KEY, TOKEN))
"""Our three secrets, each as sent and percent-encoded, as a careless server writes them back."""
STATUS = "/status"


def echo_client(session: aiohttp.ClientSession, api: Site) -> ReportsClient:
    access = ApiAccess(URL(api.url), USERNAME, PASSWORD, COMPANY_KEY)
    retry = RetryPolicy(max_attempts=2, base_seconds=0.001, max_seconds=0.01)
    return ReportsClient(
        session, access, RequestBudget(100_000), retry, jitter=random.Random(1).random
    )


def failed_status(runner_state: str, detail: str, reason: str) -> web.Response:
    state = {"runnerState": runner_state, "detail": detail, "reason": reason}
    return web.json_response(envelope([{"jobInfo": {}, "result": state}]))


def shows_a_secret(text: str) -> list[str]:
    return [form for form in forms_of_our_secrets() if form in text]


@pytest.mark.anyio
async def test_the_free_text_of_a_status_answer_comes_back_masked() -> None:
    """A status answer whose state name, detail and reason echo our secrets comes out of the
    client with every form of them masked, and the rest of its words kept."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def echoing(_: web.Request) -> web.StreamResponse:
                return failed_status(f"QUEUED {ECHO}", f"FAILED {ECHO}", f"denied: {ECHO}")

            api.routes[STATUS] = echoing
            report = await echo_client(session, api).status(api.at(STATUS))
    assert shows_a_secret(f"{report.runner_state} {report.detail} {report.reason}") == []
    assert report.runner_state.startswith("QUEUED ***") and report.unknown_state
    assert (report.reason or "").startswith("denied: ***") and report.failed


ECHOING_ANSWERS = {
    "a FAIL envelope": lambda: web.json_response({"status": "FAIL", "message": ECHO}),
    "a string result": lambda: web.json_response(envelope(f"engine down: {ECHO}")),
    "a 502 page": lambda: web.Response(status=502, text=f"<h1>Bad gateway</h1> {ECHO}"),
    "a 404": lambda: web.Response(status=404, text=f"no run for {ECHO}"),
    "a 401": lambda: web.Response(status=401, text=f"who is {ECHO}?"),
    "a mistyped field": lambda: web.json_response(envelope([{"jobInfo": ECHO, "result": {}}])),
}


@pytest.mark.anyio
@pytest.mark.parametrize("answer", ECHOING_ANSWERS)
async def test_an_error_built_from_an_echoing_answer_is_masked(answer: str) -> None:
    """Whatever error an echoing answer becomes (bad envelope, string result, 5xx after retries,
    unknown run, rejected credentials), its message shows none of our secrets in any form."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def echoing(_: web.Request) -> web.StreamResponse:
                return ECHOING_ANSWERS[answer]()

            api.routes[STATUS] = echoing
            with pytest.raises(OrchestratorError) as raised:
                await echo_client(session, api).status(api.at(STATUS))
    assert "***" in str(raised.value)
    assert shows_a_secret(str(raised.value)) == []


@pytest.mark.anyio
@pytest.mark.parametrize("call", ["status", "download"])
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,x"])
async def test_a_server_url_of_another_scheme_is_refused_before_any_request(
    call: str, url: str
) -> None:
    """A status or download URL that is not http or https is refused as such (OriginRefused,
    which fails that job alone), and nothing is sent anywhere."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            client = echo_client(session, api)
            with pytest.raises(OriginRefused, match="refused URL scheme"):
                if call == "status":
                    await client.status(url)
                else:
                    await client.download(url, collect)
    assert api.seen == []


@pytest.mark.anyio
@pytest.mark.parametrize("hop", ["api", "storage"])
async def test_a_redirect_to_another_scheme_is_refused(hop: str) -> None:
    """A download redirected, by the API or by object storage, to a `file:` URL is refused as
    such, and the URL is never opened."""
    with anyio.fail_after(10):
        async with sites("api", "storage") as found, aiohttp.ClientSession() as session:
            api, storage = found["api"], found["storage"]

            async def away(_: web.Request) -> web.StreamResponse:
                return redirect("file:///etc/passwd", 302)

            async def to_storage(_: web.Request) -> web.StreamResponse:
                return redirect(storage.at("/bucket"), 307)

            api.routes["/download"] = away if hop == "api" else to_storage
            storage.routes["/bucket"] = away
            with pytest.raises(OriginRefused, match="refused URL scheme 'file'"):
                await echo_client(session, api).download(api.at("/download"), collect)


@pytest.mark.anyio
@pytest.mark.parametrize("url", ["https:/etc/passwd", "http://@/x"])
async def test_a_server_url_without_a_host_is_refused_not_a_crash(url: str) -> None:
    """An http(s) URL that names no host (which yarl cannot give an origin for) is refused as
    another origin, not an internal error."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            with pytest.raises(OriginRefused, match="another origin"):
                await echo_client(session, found["api"]).status(url)
