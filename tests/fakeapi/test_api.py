"""The fake's API surface: auth, create, validation, status shapes and URL encoding."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import aiohttp
import anyio
import pytest

from orchestrator.fakeapi import FakeApi, FakeConfig, Faults, ManualClock

from .helpers import AUTH, COMPANY_KEY, WINDOW, create, create_job, reports_url, send

pytestmark = pytest.mark.anyio

SLOW = FakeConfig(job_duration=10.0)
"""Jobs that finish only when a test advances its ManualClock by 10 s."""


async def test_missing_or_wrong_credentials_are_401() -> None:
    """Requests without Basic auth or with a wrong password get 401 and a FAIL envelope."""
    wrong = {"Authorization": aiohttp.encode_basic_auth("demo", "nope")}
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            for headers in ({}, wrong):
                status, body, response = await create(session, fake, headers=headers)
                assert status == 401
                assert body["status"] == "FAIL"
                assert body["result"] is None
                assert isinstance(body["message"], str)
                assert response.headers["WWW-Authenticate"].startswith("Basic")
            assert fake.counters.rejections["unauthorized"] == 2
            assert fake.counters.jobs_created == 0


async def test_wrong_or_missing_company_key_is_403() -> None:
    """A create with a wrong companyKey gets 403 and a FAIL envelope."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            status, body, _ = await create(session, fake, company_key="someone-else")
            assert status == 403
            assert body == {
                "status": "FAIL",
                "request": None,
                "message": body["message"],
                "result": None,
            }
            status, _, _ = await send(
                session, "GET", reports_url(fake, "conversation"), params=WINDOW
            )
            assert status == 403
            assert fake.counters.rejections["forbidden"] == 2


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("conversation", "care"),
        ("report/conversation", "care"),
        ("marketing/raw_brand_post", "publishing"),
        ("marketing/some_other_export_2", "publishing"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_create_paths_and_methods(path: str, source: str, method: str) -> None:
    """Care (both path forms) and Publishing exports are created by GET and by form POST."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            status, body, _ = await create(session, fake, path, method=method)
            assert status == 200, body
            assert body["status"] == "PASS"
            result = body["result"]
            uuid.UUID(result["workflowId"])
            assert result["downloadUrl"] == ""
            export_id = path.rsplit("/", 1)[-1]
            [key] = fake.counters.submits_by_request
            assert key.startswith(f"{source}/{export_id}?")


async def test_post_reads_params_from_the_body_only() -> None:
    """A POST of an export that takes a form body (conversation_actions) whose parameters sit in
    the query instead of the body is a 400."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            url = f"{reports_url(fake, 'conversation_actions')}?companyKey={COMPANY_KEY}"
            status, body, _ = await send(session, "POST", url, params=WINDOW)
            assert (status, body) == (400, {})


@pytest.mark.parametrize(
    "params",
    [
        [("endTime", "1551528000000")],
        [("startTime", "1551528000000"), ("endTime", "1551441600000")],
        [("startTime", "1551441600000"), ("endTime", "1551441600000")],
        [("startTime", "2019-03-01"), ("endTime", "1551528000000")],
        [("startTime", "1²"), ("endTime", "1551528000000")],
        [*WINDOW, ("reportFormat", "xml")],
        [*WINDOW, ("startTime", "1")],
    ],
)
async def test_invalid_params_are_400_with_empty_body(params: list[tuple[str, str]]) -> None:
    """Missing, non-integer, repeated or reversed times and bad formats get the documented 400 {}."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            status, body, _ = await create(session, fake, params=params)
            assert (status, body) == (400, {})
            assert fake.counters.jobs_created == 0


@pytest.mark.parametrize("path", ["no_such_export", "report/raw_brand_post", "marketing/Bad-Id"])
async def test_unknown_export_is_fail_with_string_result(path: str) -> None:
    """An unknown export id gets 400 with a FAIL envelope whose result is an explanation string."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            status, body, _ = await create(session, fake, path)
            assert status == 400
            assert body["status"] == "FAIL"
            assert isinstance(body["result"], str)
            assert "export id" in body["result"]


async def test_run_ids_always_need_percent_encoding() -> None:
    """Every runId holds +, / and =, and the statusUrl carries it as %2B, %2F and %3D."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            for _ in range(25):
                result = await create_job(session, fake)
                run_id = result["runId"]
                assert run_id.startswith("23")
                assert {"+", "/", "="} <= set(run_id)
                encoded = run_id.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
                expected = (
                    f"{fake.base_url}/api/public/reports/report/{result['workflowId']}/{encoded}"
                    f"/status?companyKey={COMPANY_KEY}"
                )
                assert result["statusUrl"] == expected


async def test_status_is_a_list_while_running_and_an_object_when_ready() -> None:
    """Status answers a one-element list while RUNNING, then an object with a download URL."""
    clock = ManualClock()
    with anyio.fail_after(5):
        async with FakeApi(SLOW, clock=clock) as fake, aiohttp.ClientSession() as session:
            created = await create_job(session, fake)
            status, body, _ = await send(session, "GET", created["statusUrl"])
            assert status == 200
            [entry] = body["result"]
            assert entry["result"]["runnerState"] == "RUNNING"
            assert entry["result"]["detail"] == ""
            info = entry["jobInfo"]
            assert info["runId"] == created["runId"]
            assert info["downloadUrl"] == ""
            assert "?analyticsAccessToken=" in info["statusUrl"]
            assert info["statusUrl"].endswith("%3D%3D")

            clock.advance(10)
            status, body, _ = await send(session, "GET", info["statusUrl"])
            assert status == 200
            assert body["status"] == "PASS"
            ready = body["result"]
            assert ready["result"] == {
                "runnerState": "CLOSED",
                "reason": None,
                "detail": "COMPLETED",
                "currentCount": None,
                "totalCount": None,
                "lastAcknowledgeTime": None,
            }
            token = info["statusUrl"].split("analyticsAccessToken=", 1)[1]
            run = quote(created["runId"], safe="")
            assert ready["jobInfo"]["downloadUrl"] == (
                f"{fake.base_url}/api/public/reports/report/{created['workflowId']}/{run}"
                f"/download?analyticsAccessToken={token}"
            )


async def test_a_job_finishes_on_the_real_clock() -> None:
    """On the default monotonic clock a job runs, then completes by itself."""
    with anyio.fail_after(5):
        async with (
            FakeApi(FakeConfig(job_duration=0.05)) as fake,
            aiohttp.ClientSession() as session,
        ):
            created = await create_job(session, fake)
            answers = []
            while True:
                _, body, _ = await send(session, "GET", created["statusUrl"])
                result = body["result"]
                answers.append("list" if isinstance(result, list) else result["result"]["detail"])
                if answers[-1] == "COMPLETED":
                    break
                await anyio.sleep(0.01)
    assert answers[-1] == "COMPLETED" and set(answers) <= {"list", "COMPLETED"}


async def test_failed_job_stays_a_list_with_closed_failed() -> None:
    """A job of a failing export ends CLOSED/FAILED in the list form, with no download URL."""
    clock = ManualClock()
    config = FakeConfig(
        job_duration=1.0, faults=Faults(failing_exports=frozenset({"conversation"}))
    )
    with anyio.fail_after(5):
        async with FakeApi(config, clock=clock) as fake, aiohttp.ClientSession() as session:
            created = await create_job(session, fake)
            clock.advance(1)
            status, body, _ = await send(session, "GET", created["statusUrl"])
            assert status == 200
            assert body["status"] == "PASS"
            [entry] = body["result"]
            assert entry["result"]["runnerState"] == "CLOSED"
            assert entry["result"]["detail"] == "FAILED"
            assert entry["result"]["reason"] == "export failed (injected)"
            assert entry["jobInfo"]["downloadUrl"] == ""
            download = created["statusUrl"].replace("/status?", "/download?")
            status, body, _ = await send(session, "GET", download)
            assert status == 409
            assert body["status"] == "FAIL"
            assert fake.counters.jobs_failed == 1


async def test_fail_first_submits_fails_each_request_n_times() -> None:
    """With fail_first_submits=2 the first two jobs of each request fail and the third succeeds."""
    clock = ManualClock()
    config = FakeConfig(job_duration=1.0, faults=Faults(fail_first_submits=2))
    other = [("startTime", "1551441600000"), ("endTime", "1551441600001")]
    with anyio.fail_after(5):
        async with FakeApi(config, clock=clock) as fake, aiohttp.ClientSession() as session:
            jobs = [await create_job(session, fake) for _ in range(3)]
            jobs.append(await create_job(session, fake, params=other))
            clock.advance(1)
            details = []
            for job in jobs:
                _, body, _ = await send(session, "GET", job["statusUrl"])
                entry = body["result"][0] if isinstance(body["result"], list) else body["result"]
                details.append(entry["result"]["detail"])
            assert details == ["FAILED", "FAILED", "COMPLETED", "FAILED"]
            assert fake.counters.max_submits() == 3


async def test_misencoded_or_unknown_run_is_404() -> None:
    """A runId sent with raw + or with %2F decoded to /, or an unknown id, is 404 "unknown run"."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            created = await create_job(session, fake)
            url = created["statusUrl"]
            bad_urls = [
                url.replace("%2B", "+"),
                url.replace("%2F", "/"),
                url.replace(created["workflowId"], str(uuid.uuid4())),
                url.replace("/23", "/24", 1),
            ]
            for bad in bad_urls:
                status, body, _ = await send(session, "GET", bad)
                assert status == 404, bad
                assert body["status"] == "FAIL"
                assert body["message"] == "unknown run"
            # yarl, given the URL as text, turns %3D into = in the path: still the same runId.
            async with session.get(url, headers=AUTH) as response:
                assert response.status == 200


async def test_status_needs_the_company_key_or_the_jobs_own_token() -> None:
    """Status takes companyKey or the job's token; it is 403 without them or with another's."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            first, second = await create_job(session, fake), await create_job(session, fake)
            _, body, _ = await send(session, "GET", second["statusUrl"])
            token_url = body["result"][0]["jobInfo"]["statusUrl"]
            other_token = token_url.split("?", 1)[1]
            no_key = first["statusUrl"].split("?", 1)[0]
            for url, expected in [
                (first["statusUrl"], 200),
                (token_url, 200),
                (no_key, 403),
                (f"{no_key}?{other_token}", 403),
                (f"{no_key}?companyKey=wrong", 403),
            ]:
                status, _, _ = await send(session, "GET", url)
                assert status == expected, url
            status, _, _ = await send(session, "GET", first["statusUrl"], headers={})
            assert status == 401


async def test_rate_limit_fault_is_429_with_retry_after() -> None:
    """The rate_limit fault answers 429 with the configured Retry-After and a FAIL envelope."""
    config = FakeConfig(faults=Faults(rate_limit=1.0, retry_after_seconds=7))
    with anyio.fail_after(5):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            status, body, response = await create(session, fake)
            assert status == 429
            assert response.headers["Retry-After"] == "7"
            assert body["status"] == "FAIL"
            assert fake.counters.rejections["rate_limited"] == 1
            assert fake.counters.jobs_created == 0


async def test_server_error_fault_is_html() -> None:
    """The server_error fault answers 500, 502 or 503 with an HTML body, not JSON."""
    config = FakeConfig(faults=Faults(server_error=1.0))
    with anyio.fail_after(5):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            for _ in range(5):
                status, body, response = await create(session, fake)
                assert status in (500, 502, 503)
                assert response.content_type == "text/html"
                assert body.startswith("<html>")
            assert fake.counters.rejections["server_error"] == 5


async def test_text_plain_fault_keeps_a_json_body() -> None:
    """The text_plain fault labels a JSON answer text/plain, as the vendor sometimes does."""
    config = FakeConfig(faults=Faults(text_plain=1.0))
    with anyio.fail_after(5):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            status, body, response = await create(session, fake)
            assert status == 200
            assert response.content_type == "text/plain"
            assert body["status"] == "PASS"


async def test_max_running_counts_overlapping_jobs() -> None:
    """max_running is the most jobs running at once, and running_now drops as jobs finish."""
    clock = ManualClock()
    with anyio.fail_after(5):
        async with FakeApi(SLOW, clock=clock) as fake, aiohttp.ClientSession() as session:
            for _ in range(3):
                await create_job(session, fake)
            clock.advance(5)
            await create_job(session, fake)
            assert (fake.counters.running_now, fake.counters.max_running) == (4, 4)
            clock.advance(5)
            assert (fake.counters.running_now, fake.counters.max_running) == (1, 4)
            clock.advance(5)
            await create_job(session, fake)
            assert (fake.counters.running_now, fake.counters.max_running) == (1, 4)


async def test_running_cap_answers_429_too_many_running() -> None:
    """Past max_running_per_company a create gets 429 with Retry-After: 1 until a job finishes."""
    clock = ManualClock()
    config = FakeConfig(job_duration=10.0, max_running_per_company=2)
    with anyio.fail_after(5):
        async with FakeApi(config, clock=clock) as fake, aiohttp.ClientSession() as session:
            await create_job(session, fake)
            await create_job(session, fake)
            status, body, response = await create(session, fake)
            assert status == 429
            assert response.headers["Retry-After"] == "1"
            assert body["message"] == "too many running exports"
            clock.advance(10)
            await create_job(session, fake)
            assert fake.counters.rejections["over_capacity"] == 1
            assert fake.counters.max_running == 2


async def test_counters_are_served_as_json_and_reset() -> None:
    """GET /_fake/counters serves the counters without auth, and POST /_fake/reset zeroes them."""
    with anyio.fail_after(5):
        async with FakeApi(SLOW) as fake, aiohttp.ClientSession() as session:
            await create_job(session, fake)
            status, body, _ = await send(
                session, "GET", f"{fake.base_url}/_fake/counters", headers={}
            )
            assert status == 200
            assert body == fake.counters.snapshot()
            assert body["jobs_created"] == 1
            assert body["requests"]["create"] == 1
            status, body, _ = await send(
                session, "POST", f"{fake.base_url}/_fake/reset", headers={}
            )
            assert status == 200
            assert body["jobs_created"] == 0
            assert body["running_now"] == body["max_running"] == 1


async def test_public_url_replaces_the_bound_origin_in_urls() -> None:
    """With public_url set, the statusUrl starts with it instead of the bound host and port."""
    config = FakeConfig(job_duration=10.0, public_url="http://fake.invalid:9999/")
    with anyio.fail_after(5):
        async with FakeApi(config) as fake, aiohttp.ClientSession() as session:
            assert fake.base_url == "http://fake.invalid:9999"
            url = f"{fake.local_url}/api/public/reports/report/conversation"
            status, body, _ = await send(
                session, "GET", f"{url}?companyKey={COMPANY_KEY}", params=WINDOW
            )
            assert status == 200
            assert body["result"]["statusUrl"].startswith("http://fake.invalid:9999/api/public/")


@pytest.mark.anyio
async def test_windows_over_the_size_limit_always_fail() -> None:
    """With max_window_seconds, a longer window ends FAILED and a short enough one completes."""
    clock = ManualClock()
    config = FakeConfig(job_duration=1.0, faults=Faults(max_window_seconds=6 * 3600))
    day = [("startTime", "1704067200000"), ("endTime", "1704153600000")]
    quarter = [("startTime", "1704067200000"), ("endTime", "1704088800000")]
    with anyio.fail_after(5):
        async with FakeApi(config, clock=clock) as fake, aiohttp.ClientSession() as session:
            long_job = await create_job(session, fake, params=day)
            short_job = await create_job(session, fake, params=quarter)
            clock.advance(2.0)
            _, long_status, _ = await send(session, "GET", long_job["statusUrl"])
            _, short_status, _ = await send(session, "GET", short_job["statusUrl"])
    assert long_status["result"][0]["result"]["detail"] == "FAILED"
    assert short_status["result"]["result"]["detail"] == "COMPLETED"
