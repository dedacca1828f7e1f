"""Every create the vendor documents, on the wire and in its answers: POST parameters where the
examples send them, a create answer without statusUrl (the generic endpoint's), and the `user`
export's early downloadUrl; client tests over loopback, then one CLI run per answer form."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from orchestrator.cli import main
from orchestrator.core.envelope import parse_created
from orchestrator.core.jobs import Job
from orchestrator.errors import BadResponse, RunUnknown
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import assert_tree_matches, fake_in_thread
from tests.integration.sites import COMPANY_KEY, Site, client_for, envelope, sites
from tests.integration.test_client import DAY
from tests.integration.test_resilience import latest_report, manifest_for, planned

REPORTS = "/api/public/reports/report"
RUN_ID = "23a+b/c="
STATUS = f"{REPORTS}/wf-1/23a%2Bb%2Fc%3D/status"
AS_OF = date(2024, 6, 20)


def post_job(export_id: str, *filters: tuple[str, str]) -> Job:
    return Job(
        export_name="x",
        export_id=export_id,
        source="care",
        format="csv",
        locale="en",
        method="POST",
        window=DAY,
        filter_params=filters,
    )


def creates(api: Site, export_id: str, result: dict[str, Any], seen: list[Any]) -> None:
    """The create endpoint of `export_id` answers `result`, recording (query, content type, body)."""

    async def create(request: web.Request) -> web.StreamResponse:
        body = await request.text()
        seen.append((dict(request.query), request.content_type, body))
        return web.json_response(envelope(result))

    api.routes[f"{REPORTS}/{export_id}"] = create


def test_every_documented_create_answer_parses() -> None:
    """The ids alone give an empty statusUrl to build; the user export's early downloadUrl is
    kept apart, never taken for the status's."""
    ids_only = parse_created({"workflowId": "wf-1", "runId": RUN_ID})
    assert (ids_only.status_url, ids_only.early_download_url) == ("", "")
    early = parse_created(
        {"workflowId": "w", "runId": "r", "downloadUrl": "https://a/d", "statusUrl": "https://a/s"}
    )
    assert (early.status_url, early.early_download_url) == ("https://a/s", "https://a/d")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("export_id", "in_query", "in_body"),
    [
        ("conversation", {"companyKey", "startTime", "endTime", "locale", "raiselimit"}, ""),
        ("user", {"companyKey"}, "startTime="),
        ("conversation_history_action", {"companyKey", "raiselimit"}, "startTime="),
    ],
)
async def test_a_post_sends_its_parameters_where_the_vendor_examples_do(
    export_id: str, in_query: set[str], in_body: str
) -> None:
    """Most exports take every parameter in the query, with no body; user and
    conversation_actions a form body; conversation_history_action keeps raiselimit in the query."""
    seen: list[Any] = []
    ids = {"workflowId": "wf-1", "runId": RUN_ID, "statusUrl": "", "downloadUrl": ""}
    with anyio.fail_after(5):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            creates(found["api"], export_id, ids, seen)
            await client_for(session, found["api"]).submit(
                post_job(export_id, ("raiselimit", "true"))
            )
    [(query, content_type, body)] = seen
    assert set(query) - {"reportFormat"} == in_query
    assert body.startswith(in_body) and ("raiselimit" in body) == ("raiselimit" not in in_query)
    assert content_type == (
        "application/x-www-form-urlencoded" if in_body else "application/octet-stream"
    )


@pytest.mark.anyio
async def test_a_create_answer_without_status_url_is_polled_at_the_documented_path() -> None:
    """`{workflowId, runId}` alone: the status URL is built from both, percent-encoded, with the
    companyKey, and the server is asked there."""
    seen: list[Any] = []
    with anyio.fail_after(5):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            creates(api, "conversation", {"workflowId": "wf-1", "runId": RUN_ID}, seen)

            async def status(_: web.Request) -> web.StreamResponse:
                state = {"runnerState": "RUNNING", "detail": "", "currentCount": 5}
                job_info = {"workflowId": "wf-1", "runId": RUN_ID, "downloadUrl": ""}
                return web.json_response(envelope([{"jobInfo": job_info, "result": state}]))

            api.routes[f"{REPORTS}/wf-1/{RUN_ID}/status"] = status
            client = client_for(session, api)
            ids = await client.submit(post_job("conversation"))
            report = await client.status(ids.status_url)
    assert ids.status_url == f"{api.url}{STATUS}?companyKey={COMPANY_KEY}"
    assert api.seen[-1].path_qs == f"{STATUS}?companyKey={COMPANY_KEY}"
    assert (report.runner_state, report.current_count, report.total_count) == ("RUNNING", 5, None)


@pytest.mark.anyio
async def test_a_404_at_a_built_status_url_is_a_clear_failure_not_a_lost_run() -> None:
    """Built from the ids and never answered: 404 is BadResponse (the job fails) saying why;
    once the built URL has answered, a later 404 is a lost run like any other."""
    with anyio.fail_after(5):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            creates(api, "conversation", {"workflowId": "wf-1", "runId": RUN_ID}, [])
            client = client_for(session, api)
            ids = await client.submit(post_job("conversation"))
            with pytest.raises(BadResponse, match="had no statusUrl, and the documented") as caught:
                await client.status(ids.status_url)

            async def running(_: web.Request) -> web.StreamResponse:
                state = {"runnerState": "RUNNING", "detail": ""}
                return web.json_response(envelope([{"jobInfo": {}, "result": state}]))

            api.routes[f"{REPORTS}/wf-1/{RUN_ID}/status"] = running
            await client.status(ids.status_url)
            del api.routes[f"{REPORTS}/wf-1/{RUN_ID}/status"]
            with pytest.raises(RunUnknown):
                await client.status(ids.status_url)
    assert "answered 404" in str(caught.value) and COMPANY_KEY not in str(caught.value)


def run_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, faults: Faults, exports: tuple[str, ...]
) -> tuple[int, dict[str, Any], Any]:
    """`orchestrator run` of a 2-day manifest against a fake with `faults`; files checked."""
    manifest, out = manifest_for(tmp_path, 2, exports, team_filter=False), tmp_path / "out"
    config = replace(FakeConfig(job_duration=(0.005, 0.02)), faults=faults)
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(out).items():
            monkeypatch.setenv(name, value)
        code = main(["run", str(manifest), "--as-of", AS_OF.isoformat()])
        counters = fake.fake.counters
    report = latest_report(out)
    assert code == 0, report
    assert_tree_matches(out, planned(manifest), report, config)
    assert counters.credential_leaks == 0
    return code, report, counters


def test_a_run_of_ids_only_create_answers_downloads_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every create answering `{workflowId, runId}` alone, the run still polls, downloads every
    file intact and exits 0, one create per job."""
    _, report, counters = run_with(
        tmp_path, monkeypatch, Faults(ids_only_creates=1.0), ("conversation",)
    )
    assert {entry["status"] for entry in report["jobs"]} == {"downloaded"}
    assert counters.max_submits() == 1 and counters.requests["status"] >= 2


def test_a_run_with_early_download_urls_waits_for_the_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user export's create answer carries its downloadUrl: the run never fetches it before
    the status says ready (no 409), and every file lands intact."""
    _, report, counters = run_with(
        tmp_path, monkeypatch, Faults(early_download_url=True), ("user",)
    )
    assert {entry["status"] for entry in report["jobs"]} == {"downloaded"}
    assert counters.rejections.get("not_ready", 0) == 0
    assert counters.requests["download"] == len(report["jobs"])
