"""Every answer form the quick start's `curl -L` accepts, and the refusals in their place, against
small servers of our own over loopback: direct and chained downloads, gzip from storage, empty
exports, refused creates, the credential probe, recoverable sealed URLs, origins and states."""

from __future__ import annotations

import gzip
import hashlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

import aiohttp
import anyio
import pytest
from aiohttp import web

from orchestrator.core.stored import StoredFile
from orchestrator.edges.client import Consume, ReportsClient
from orchestrator.edges.sink import FileSink
from orchestrator.edges.tally import NETWORK_ERROR, RequestTally
from orchestrator.errors import (
    BadResponse,
    CredentialsRejected,
    DownloadCut,
    ExportRefused,
    OriginRefused,
    RunUnknown,
    SealBroken,
    TransientApiError,
)
from tests.integration.sites import (
    COMPANY_KEY,
    SECRETS,
    Handler,
    Site,
    client_for,
    envelope,
    redirect,
    sites,
)
from tests.integration.test_client import job

FILE = b"CONVERSATION_ID,STATUS\n" + b"".join(b"%d,OPEN\n" % i for i in range(50))
CREATE = "/api/public/reports/report/conversation"
STATUS = "/api/public/reports/report/wf/r%2B1%3D/status"
DOWNLOAD = "/api/public/reports/report/wf/r%2B1%3D/download"
TIMEZONES = "/api/public/config/timezones"
TEAMS = "/api/public/teams"


def storer(sink: FileSink, name: str = "x.csv", report_format: str = "csv") -> Consume[StoredFile]:
    async def store(chunks: AsyncIterator[bytes], size: int | None) -> StoredFile:
        return await sink.store(
            PurePosixPath(name), chunks, expected_size=size, report_format=report_format
        )

    return store


async def collect(chunks: AsyncIterator[bytes], size: int | None) -> tuple[list[bytes], int | None]:
    return [chunk async for chunk in chunks], size


def body(data: bytes, **headers: str) -> web.Response:
    return web.Response(body=data, headers=headers, content_type="text/csv")


async def download_to(client: ReportsClient, url: str, out: Path, **kwargs: str) -> StoredFile:
    return await client.download(url, storer(FileSink(out), **kwargs))


# 1. Download answered directly, and redirect chains ------------------------------------------


@pytest.mark.anyio
async def test_a_download_answered_directly_is_streamed_into_the_file(tmp_path: Path) -> None:
    """A 200 with the file itself from the download endpoint lands on disk, size and checksum
    checked, with the credentials sent only to the API."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def direct(_: web.Request) -> web.StreamResponse:
                return body(FILE)

            api.routes[DOWNLOAD.replace("%2B", "+").replace("%3D", "=")] = direct
            stored = await download_to(client_for(session, api), api.at(DOWNLOAD), tmp_path)
    assert (tmp_path / "x.csv").read_bytes() == FILE
    assert (stored.bytes, stored.rows) == (len(FILE), 50)
    assert stored.sha256 == hashlib.sha256(FILE).hexdigest()


@pytest.mark.anyio
async def test_a_direct_download_larger_than_any_answer_is_streamed_in_chunks() -> None:
    """A direct file of 3 MiB (over the 1 MiB cap of JSON answers) reaches the consumer in
    several chunks, never as one buffer."""
    big = b"x" * (3 * 1024 * 1024)
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def direct(request: web.Request) -> web.StreamResponse:
                response = web.StreamResponse(headers={"Content-Length": str(len(big))})
                await response.prepare(request)
                for start in range(0, len(big), 64 * 1024):
                    await response.write(big[start : start + 64 * 1024])
                return response

            api.routes["/file"] = direct
            chunks, size = await client_for(session, api).download(api.at("/file"), collect)
    assert size == len(big) and b"".join(chunks) == big
    assert len(chunks) > 1


@pytest.mark.anyio
async def test_a_redirect_chain_is_followed_with_credentials_only_on_the_api(
    tmp_path: Path,
) -> None:
    """API 302 (relative) -> API 307 -> storage 303 -> storage 200: both API hops carry the
    Authorization header, neither storage hop does."""
    with anyio.fail_after(10):
        async with sites("api", "storage") as found, aiohttp.ClientSession() as session:
            api, storage = found["api"], found["storage"]

            async def first(_: web.Request) -> web.StreamResponse:
                return redirect("/second?step=2", 302)

            async def second(_: web.Request) -> web.StreamResponse:
                return redirect(storage.at("/bucket/a?X-Signature=abc"), 307)

            async def bucket_a(_: web.Request) -> web.StreamResponse:
                return redirect("/bucket/b", 303)

            async def bucket_b(_: web.Request) -> web.StreamResponse:
                return body(FILE)

            api.routes.update({"/first": first, "/second": second})
            storage.routes.update({"/bucket/a": bucket_a, "/bucket/b": bucket_b})
            tally = RequestTally()
            client = client_for(session, api, tally=tally)
            stored = await client.download(api.at("/first"), storer(FileSink(tmp_path)))
    assert stored.bytes == len(FILE)
    assert [hit.path_qs for hit in api.seen] == ["/first", "/second?step=2"]
    assert len(api.authorized()) == 2
    assert [hit.path_qs for hit in storage.seen] == ["/bucket/a?X-Signature=abc", "/bucket/b"]
    assert storage.authorized() == []
    assert tally.total("download") == 2 and tally.total("storage") == 2


@pytest.mark.anyio
async def test_credentials_never_return_once_a_hop_left_the_api(tmp_path: Path) -> None:
    """API -> storage -> back to the API: the last hop, though on the API's origin, carries no
    Authorization header."""
    with anyio.fail_after(10):
        async with sites("api", "storage") as found, aiohttp.ClientSession() as session:
            api, storage = found["api"], found["storage"]

            async def start(_: web.Request) -> web.StreamResponse:
                return redirect(storage.at("/hop"), 307)

            async def hop(_: web.Request) -> web.StreamResponse:
                return redirect(api.at("/back"), 302)

            async def back(_: web.Request) -> web.StreamResponse:
                return body(FILE)

            api.routes.update({"/start": start, "/back": back})
            storage.routes["/hop"] = hop
            await download_to(client_for(session, api), api.at("/start"), tmp_path)
    assert [(hit.path_qs, hit.authorization is not None) for hit in api.seen] == [
        ("/start", True),
        ("/back", False),
    ]
    assert storage.authorized() == []


@pytest.mark.anyio
async def test_an_allowed_origin_receives_credentials_and_others_do_not(tmp_path: Path) -> None:
    """A hop to an origin in ALLOWED_ORIGINS keeps the credentials; the next, elsewhere, has none."""
    with anyio.fail_after(10):
        async with sites("api", "mirror", "storage") as found, aiohttp.ClientSession() as session:
            api, mirror, storage = found["api"], found["mirror"], found["storage"]

            async def start(_: web.Request) -> web.StreamResponse:
                return redirect(mirror.at("/m"), 302)

            async def on_mirror(_: web.Request) -> web.StreamResponse:
                return redirect(storage.at("/s"), 307)

            async def on_storage(_: web.Request) -> web.StreamResponse:
                return body(FILE)

            api.routes["/start"] = start
            mirror.routes["/m"] = on_mirror
            storage.routes["/s"] = on_storage
            client = client_for(session, api, allowed=(mirror.url,))
            await download_to(client, api.at("/start"), tmp_path)
    assert len(mirror.authorized()) == 1
    assert storage.authorized() == [] and len(storage.seen) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("hops", "follows"), [(5, True), (6, False)])
async def test_at_most_five_redirects_are_followed(hops: int, follows: bool) -> None:
    """Five redirects after the download URL are followed; a sixth is a BadResponse."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def hop(request: web.Request) -> web.StreamResponse:
                step = int(request.path.removeprefix("/hop"))
                return redirect(f"/hop{step + 1}") if step < hops else body(FILE)

            for step in range(hops + 1):
                api.routes[f"/hop{step}"] = hop
            client = client_for(session, api)
            if follows:
                chunks, _ = await client.download(api.at("/hop0"), collect)
                assert b"".join(chunks) == FILE
            else:
                with pytest.raises(BadResponse, match="more than 5"):
                    await client.download(api.at("/hop0"), collect)
                assert len(api.seen) == 6


@pytest.mark.anyio
async def test_a_hop_to_plain_http_elsewhere_is_refused_before_it_is_sent() -> None:
    """A redirect (second in a chain) to http:// on a host other than loopback is OriginRefused,
    before anything is sent there."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def start(_: web.Request) -> web.StreamResponse:
                return redirect("/next", 302)

            async def next_hop(_: web.Request) -> web.StreamResponse:
                return redirect("http://storage.example.invalid/object?X-Signature=s", 307)

            api.routes.update({"/start": start, "/next": next_hop})
            with pytest.raises(OriginRefused, match="plain http"):
                await client_for(session, api).download(api.at("/start"), collect)
    assert [hit.path_qs for hit in api.seen] == ["/start", "/next"]


# 2. gzip from storage ----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["storage", "api"])
async def test_a_gzip_encoded_body_is_stored_decoded(tmp_path: Path, where: str) -> None:
    """Content-Encoding gzip (Content-Length counting encoded bytes), from storage or directly
    from the API: the decoded file lands on disk and its checksum is of those bytes."""
    packed = gzip.compress(FILE)
    assert len(packed) != len(FILE)
    with anyio.fail_after(10):
        async with sites("api", "storage") as found, aiohttp.ClientSession() as session:
            api, storage = found["api"], found["storage"]

            async def gzipped(_: web.Request) -> web.StreamResponse:
                return body(packed, **{"Content-Encoding": "gzip"})

            async def start(_: web.Request) -> web.StreamResponse:
                return redirect(storage.at("/object"), 307)

            storage.routes["/object"] = gzipped
            api.routes["/start"] = gzipped if where == "api" else start
            stored = await download_to(client_for(session, api), api.at("/start"), tmp_path)
    assert (tmp_path / "x.csv").read_bytes() == FILE
    assert stored.bytes == len(FILE) and stored.sha256 == hashlib.sha256(FILE).hexdigest()
    assert stored.rows == 50


# 3. Empty exports --------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("data", "report_format"),
    [(b"", "csv"), (b"", "json"), (b"CONVERSATION_ID,STATUS\n", "csv"), (b"[]", "json")],
)
async def test_empty_exports_count_zero_rows(
    tmp_path: Path, data: bytes, report_format: str
) -> None:
    """A 0-byte body, a header-only CSV and `[]` all store with rows == 0, never None."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def direct(_: web.Request) -> web.StreamResponse:
                return body(data)

            api.routes["/file"] = direct
            stored = await download_to(
                client_for(session, api), api.at("/file"), tmp_path, report_format=report_format
            )
    assert stored.rows == 0 and stored.bytes == len(data)


# 4 and 5. Refused creates and the credential probe -----------------------------------------


def create_answering(status: int) -> Handler:
    async def create(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=f"refused with {status}")

    return create


def timezones_answering(
    status: int, zones: tuple[str, ...] = ("America/Chicago", "UTC")
) -> Handler:
    async def timezones(_: web.Request) -> web.StreamResponse:
        if status != 200:
            return web.Response(status=status, text="Access is denied")
        return web.json_response(envelope(list(zones)))

    return timezones


@pytest.mark.anyio
@pytest.mark.parametrize("status", [404, 410])
async def test_a_404_or_410_on_create_refuses_that_export(status: int) -> None:
    """A create answered 404 or 410 is ExportRefused with the status and the URL, key masked."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            api.routes[CREATE] = create_answering(status)
            with pytest.raises(ExportRefused) as caught:
                await client_for(session, api).submit(job())
    message = str(caught.value)
    assert caught.value.status == status and str(status) in message
    assert CREATE in message and "companyKey=***" in message
    assert not any(secret in message for secret in SECRETS)
    assert not isinstance(caught.value, RunUnknown)


@pytest.mark.anyio
async def test_check_access_proves_the_credentials_and_counts_time_zones() -> None:
    """check_access sends one authenticated GET of the time zones with the companyKey and
    returns how many zones the account has; retried like any request, tallied as a probe."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            answers = iter([503, 200])

            async def timezones(request: web.Request) -> web.StreamResponse:
                return await timezones_answering(next(answers))(request)

            api.routes[TIMEZONES] = timezones
            tally = RequestTally()
            check = await client_for(session, api, tally=tally).check_access()
    assert check.timezones == 2
    assert [hit.path_qs for hit in api.seen] == [f"{TIMEZONES}?companyKey={COMPANY_KEY}"] * 2
    assert all(hit.authorization for hit in api.seen)
    assert tally.requests[("probe", "503")] == 1 and tally.requests[("probe", "200")] == 1
    assert tally.retries["probe"] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_probe_rejects_the_credentials_and_stops_every_later_call(
    status: int,
) -> None:
    """401 or 403 on the probe is CredentialsRejected; every later call raises it unsent."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            api.routes[TIMEZONES] = timezones_answering(status)
            client = client_for(session, api, password="wrong-password-123")
            with pytest.raises(CredentialsRejected) as caught:
                await client.check_access()
            with pytest.raises(CredentialsRejected):
                await client.submit(job())
    assert len(api.seen) == 1
    assert "wrong-password-123" not in str(caught.value)


@pytest.mark.anyio
async def test_after_the_probe_a_403_on_create_refuses_one_export_and_401_still_stops() -> None:
    """Once proven, a 403 on one create is ExportRefused and the next create is sent; a 401
    on a create is still CredentialsRejected."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            api.routes[TIMEZONES] = timezones_answering(200)
            api.routes[CREATE] = create_answering(403)
            client = client_for(session, api)
            await client.check_access()
            with pytest.raises(ExportRefused, match="403"):
                await client.submit(job())
            with pytest.raises(ExportRefused):
                await client.submit(job())
            api.routes[CREATE] = create_answering(401)
            with pytest.raises(CredentialsRejected, match="401"):
                await client.submit(job())
    assert len(api.seen) == 4


# 6. Sealed URLs that can be recovered ------------------------------------------------------


def token_only_api(api: Site, token: str) -> None:
    """A server whose status URLs carry a per-job token and which refuses the companyKey there."""

    async def create(_: web.Request) -> web.StreamResponse:
        return web.json_response(
            envelope(
                {
                    "workflowId": "wf",
                    "runId": "r+1=",
                    "downloadUrl": "",
                    "statusUrl": api.at(f"{STATUS}?analyticsAccessToken={token}"),
                }
            )
        )

    async def status(request: web.Request) -> web.StreamResponse:
        if request.query.get("analyticsAccessToken") != "tok/en+==":
            return web.Response(status=403, text="token required")
        job_info = {"downloadUrl": "", "statusUrl": ""}
        state = {"runnerState": "RUNNING", "detail": ""}
        return web.json_response(envelope([{"jobInfo": job_info, "result": state}]))

    api.routes[CREATE] = create
    api.routes[STATUS.replace("%2B", "+").replace("%3D", "=")] = status


@pytest.mark.anyio
async def test_a_sealed_status_url_is_recovered_exactly_by_a_new_client() -> None:
    """The journal form of a token-only status URL holds no secret; a new client with the same
    settings unseals exactly the server's URL and polls with it (the server refuses companyKey)."""
    token = "tok%2Fen%2B%3D%3D"
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]
            token_only_api(api, token)
            first = client_for(session, api)
            ids = await first.submit(job())
            sealed = first.sealed(ids.status_url)
            resumed = client_for(session, api)
            url = resumed.unsealed(sealed)
            report = await resumed.status(url)
            stranger = client_for(session, api, password="another-password")
            with pytest.raises(SealBroken):
                stranger.unsealed(sealed)
    assert url == ids.status_url and report.runner_state == "RUNNING"
    assert "analyticsAccessToken=sealed1." in sealed
    for secret in (token, "tok/en+==", "tok", *SECRETS):
        assert secret not in sealed
    assert sealed != first.sealed(ids.status_url), "a fresh nonce for every sealing"


# 7. Origins with default ports normalised --------------------------------------------------


@pytest.mark.anyio
async def test_a_default_port_spelled_out_is_the_same_origin() -> None:
    """With base https://127.0.0.1, a status URL on https://127.0.0.1:443 is the API's origin: it
    is sent (and, nothing listening there, fails as a network error), not refused."""
    tally = RequestTally()
    with anyio.fail_after(10):
        async with aiohttp.ClientSession() as session:
            client = client_for(session, "https://127.0.0.1", attempts=1, tally=tally)
            with pytest.raises(TransientApiError):
                await client.status("https://127.0.0.1:443/api/public/reports/report/w/r/status")
            with pytest.raises(OriginRefused):
                await client.status("https://127.0.0.1:8443/api/public/reports/report/w/r/status")
    assert tally.requests[("status", NETWORK_ERROR)] == 1


# 8. Unknown states and a completed export without its URL ----------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("state", "detail", "url", "facts"),
    [
        ("CLOSED", "COMPLETED", "", (True, False, False, False)),
        ("QUEUED", "", "", (False, False, False, True)),
        ("CLOSED", "", "", (False, False, True, False)),
    ],
)
async def test_status_reports_carry_the_raw_facts(
    state: str, detail: str, url: str, facts: tuple[bool, bool, bool, bool]
) -> None:
    """CLOSED+COMPLETED without a downloadUrl parses (not ready); an unknown runnerState and
    CLOSED with an empty detail come through as they are, for the lifecycle to poll again."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def status(_: web.Request) -> web.StreamResponse:
                job_info = {"downloadUrl": url, "statusUrl": ""}
                result = {"runnerState": state, "detail": detail, "reason": None}
                return web.json_response(envelope({"jobInfo": job_info, "result": result}))

            api.routes["/status"] = status
            report = await client_for(session, api).status(api.at("/status"))
    assert (report.runner_state, report.detail, report.download_url) == (state, detail, "")
    completed, ready, closed_without_detail, unknown = facts
    assert (report.completed, report.ready) == (completed, ready)
    assert report.closed_without_detail == closed_without_detail
    assert report.unknown_state == unknown


# 9. Teams, and 10. the tally of a whole job ------------------------------------------------


@pytest.mark.anyio
async def test_teams_are_listed_through_the_client() -> None:
    """teams() GETs the teams with the companyKey and returns the API's list."""
    teams = [{"id": 7, "name": "Tier 1", "members": [11, 12]}]
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def listing(_: web.Request) -> web.StreamResponse:
                return web.json_response(envelope(teams))

            api.routes[TEAMS] = listing
            tally = RequestTally()
            assert await client_for(session, api, tally=tally).teams() == teams
    assert api.seen[0].path_qs == f"{TEAMS}?companyKey={COMPANY_KEY}"
    assert tally.requests[("teams", "200")] == 1


@pytest.mark.anyio
async def test_the_tally_counts_every_request_and_retry_by_kind(tmp_path: Path) -> None:
    """create (after a 429), status, download and storage are each tallied with their answer."""
    with anyio.fail_after(10):
        async with sites("api", "storage") as found, aiohttp.ClientSession() as session:
            api, storage = found["api"], found["storage"]
            creates = iter([429, 200])

            async def create(_: web.Request) -> web.StreamResponse:
                if next(creates) == 429:
                    return web.Response(status=429, headers={"Retry-After": "0"})
                return web.json_response(
                    envelope(
                        {
                            "workflowId": "w",
                            "runId": "r",
                            "statusUrl": api.at("/status?companyKey=k"),
                        }
                    )
                )

            async def status(_: web.Request) -> web.StreamResponse:
                job_info = {"downloadUrl": api.at("/download"), "statusUrl": ""}
                result = {"runnerState": "CLOSED", "detail": "COMPLETED"}
                return web.json_response(envelope({"jobInfo": job_info, "result": result}))

            async def download(_: web.Request) -> web.StreamResponse:
                return redirect(storage.at("/object"), 307)

            async def stored(_: web.Request) -> web.StreamResponse:
                return body(FILE)

            api.routes.update({CREATE: create, "/status": status, "/download": download})
            storage.routes["/object"] = stored
            tally = RequestTally()
            client = client_for(session, api, tally=tally)
            ids = await client.submit(job())
            report = await client.status(ids.status_url)
            await download_to(client, report.download_url, tmp_path)
    assert dict(tally.requests) == {
        ("create", "429"): 1,
        ("create", "200"): 1,
        ("status", "200"): 1,
        ("download", "307"): 1,
        ("storage", "200"): 1,
    }
    assert dict(tally.retries) == {"create": 1}


# No aiohttp error escapes the download paths -----------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_a_direct_download_cut_short_is_download_cut(tmp_path: Path, encoding: str) -> None:
    """A direct body that stops before its Content-Length is DownloadCut, and no file is left."""
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def cut(request: web.Request) -> web.StreamResponse:
                data = gzip.compress(FILE) if encoding == "gzip" else FILE
                headers = {"Content-Length": str(len(data))}
                if encoding == "gzip":
                    headers["Content-Encoding"] = "gzip"
                response = web.StreamResponse(headers=headers)
                await response.prepare(request)
                await response.write(data[: len(data) // 2])
                assert request.transport is not None
                request.transport.close()
                return response

            api.routes["/file"] = cut
            with pytest.raises(DownloadCut):
                await download_to(client_for(session, api), api.at("/file"), tmp_path)
    assert [path async for path in anyio.Path(tmp_path).iterdir()] == []


@pytest.mark.anyio
async def test_a_cut_download_says_how_many_bytes_of_how_many_arrived() -> None:
    """A body cut halfway reads as a sentence with the bytes that came of those announced (what
    the retry note and the report show), not the library's exception text."""
    half = len(FILE) // 2
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def cut(request: web.Request) -> web.StreamResponse:
                response = web.StreamResponse(headers={"Content-Length": str(len(FILE))})
                await response.prepare(request)
                await response.write(FILE[:half])
                assert request.transport is not None
                request.transport.close()
                return response

            api.routes["/file"] = cut
            with pytest.raises(DownloadCut) as caught:
                await client_for(session, api).download(api.at("/file"), collect)
    assert str(caught.value) == f"download cut after {half:,} of {len(FILE):,} bytes (from the API)"


@pytest.mark.anyio
async def test_a_storage_hop_nobody_answers_is_download_cut() -> None:
    """A redirect to a loopback port with nothing listening is DownloadCut, tallied as a network
    error of the storage kind."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tally = RequestTally()
    with anyio.fail_after(10):
        async with sites("api") as found, aiohttp.ClientSession() as session:
            api = found["api"]

            async def start(_: web.Request) -> web.StreamResponse:
                return redirect(f"http://127.0.0.1:{port}/object", 307)

            api.routes["/start"] = start
            with pytest.raises(DownloadCut, match="broke off"):
                await client_for(session, api, tally=tally).download(api.at("/start"), collect)
    assert tally.requests[("storage", NETWORK_ERROR)] == 1
