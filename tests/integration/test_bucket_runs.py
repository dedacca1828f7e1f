"""Whole runs into S3 (moto on loopback) through the `orchestrator` command: the same files as in a
folder, with their metadata and markers; a rerun that creates nothing; a cut download that leaves
no object; a bad URL or a refused bucket found before any API request; `status` and `config`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.cli import main
from orchestrator.core.location import Location
from orchestrator.core.markers import MARKER_NAME
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import RunningFake, expected_bytes, fake_in_thread, in_thread
from tests.integration.test_cli_run import AS_OF, planned_jobs, write_manifest
from tests.s3 import MotoS3, moto_s3

QUICK = FakeConfig(job_duration=0.01)
SMALL_MANIFEST = """
version: 1
defaults:
  range: {start: 2024-03-10, end: today}
exports:
  - name: conversations
    export_id: conversation
"""


def run(
    manifest: Path,
    fake: RunningFake,
    out: str,
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
) -> int:
    for name, value in fake.environment(Path(), ORCHESTRATOR_OUT=out).items():
        monkeypatch.setenv(name, value)
    return main(["run", str(manifest), "--as-of", AS_OF, *extra])


def data_keys(server: MotoS3, bucket: Location) -> set[str]:
    """The keys of the files a run wrote, relative to the prefix (no report, journal, marker)."""
    keys = {key.removeprefix(f"{bucket.prefix}/") for key in server.keys(bucket.bucket)}
    return {
        key
        for key in keys
        if not key.startswith(("_runs/", ".orchestrator/")) and not key.endswith(MARKER_NAME)
    }


def newest_report(server: MotoS3, bucket: Location) -> dict[str, Any]:
    reports = sorted(k for k in server.keys(bucket.bucket, f"{bucket.prefix}/_runs/"))
    return dict(json.loads(server.get(bucket.bucket, reports[-1])[0]))


def test_a_run_into_s3_writes_a_local_runs_files_and_a_rerun_creates_nothing(
    tmp_path: Path, bucket: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into s3://bucket/prefix a run writes the dated tree of a local run, byte for byte, each
    object with its sha256, rows and job key metadata, a `_SUCCESS` marker in each date folder and
    the report under `_runs/`; a rerun creates no export and reuses every file."""
    manifest, server = write_manifest(tmp_path), moto_s3()
    local = tmp_path / "out"
    with fake_in_thread(QUICK) as fake:
        assert run(manifest, fake, str(local), monkeypatch) == 0
        assert run(manifest, fake, bucket.url(), monkeypatch) == 0
        created = fake.fake.counters.jobs_created
        assert run(manifest, fake, bucket.url(), monkeypatch) == 0
        assert fake.fake.counters.jobs_created == created
    files = {
        path.relative_to(local).as_posix()
        for path in local.rglob("*")
        if path.is_file() and path.name != MARKER_NAME
        if not {"_runs", ".orchestrator"} & set(path.relative_to(local).parts)
    }
    assert data_keys(server, bucket) == files
    for relative in files:
        body, headers = server.get(bucket.bucket, bucket.key(relative))
        assert body == (local / relative).read_bytes(), relative
        assert headers["x-amz-meta-sha256"] == hashlib.sha256(body).hexdigest()
        assert headers["x-amz-meta-rows"].isdigit() and len(headers["x-amz-meta-jobkey"]) > 8
    markers = {m.relative_to(local).as_posix() for m in local.rglob(MARKER_NAME)}
    assert markers and all(bucket.key(m) in server.keys(bucket.bucket) for m in markers)
    report = newest_report(server, bucket)
    assert report["totals"]["reused"] == report["totals"]["jobs"] == len(planned_jobs(manifest))


def test_a_rerun_trusts_an_objects_metadata_and_verify_reads_it_again(
    tmp_path: Path, bucket: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun proves a finished file by one HEAD, its body unread: an object replaced by other
    bytes of the same size under the recorded sha256 is reused; `--verify` re-reads it, finds
    it wrong and fetches the file again."""
    manifest, server = write_manifest(tmp_path, SMALL_MANIFEST), moto_s3()
    with fake_in_thread(QUICK) as fake:
        assert run(manifest, fake, bucket.url(), monkeypatch) == 0
        (relative, *_) = sorted(data_keys(server, bucket))
        body, headers = server.get(bucket.bucket, bucket.key(relative))
        kept = {k: v for k, v in headers.items() if k.startswith("x-amz-meta-")}
        server.put(bucket.bucket, bucket.key(relative), bytes(len(body)), kept)
        created = fake.fake.counters.jobs_created
        assert run(manifest, fake, bucket.url(), monkeypatch) == 0
        assert fake.fake.counters.jobs_created == created
        assert server.get(bucket.bucket, bucket.key(relative))[0] == bytes(len(body))
        assert run(manifest, fake, bucket.url(), monkeypatch, "--verify") == 0
        assert fake.fake.counters.jobs_created == created + 1
    assert server.get(bucket.bucket, bucket.key(relative))[0] == body


def test_cut_downloads_leave_no_object_and_the_run_still_finishes(
    tmp_path: Path, bucket: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloads cut halfway are fetched again; the bucket ends with exactly the finished files,
    no partial object, no staging object and no unfinished multipart upload."""
    manifest, server = write_manifest(tmp_path), moto_s3()
    config = FakeConfig(job_duration=0.01, faults=Faults(cut_download=0.4), seed=3)
    with fake_in_thread(config) as fake:
        assert run(manifest, fake, bucket.url(), monkeypatch) == 0
        assert fake.fake.counters.downloads_cut > 0
    report = newest_report(server, bucket)
    finished = {e["path"] for e in report["jobs"] if e["status"] in ("downloaded", "empty")}
    assert data_keys(server, bucket) == finished
    assert server.uploads(bucket.bucket) == []
    jobs = {job.key: job for job in planned_jobs(manifest)}
    for entry in report["jobs"]:
        body = server.get(bucket.bucket, bucket.key(entry["path"]))[0]
        assert body == expected_bytes(jobs[entry["key"]], config), entry["path"]


@pytest.fixture
def denying_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3 endpoint on loopback that answers every request 403 AccessDenied, in a thread."""

    async def deny(request: web.Request) -> web.Response:
        body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        return web.Response(status=403, text=body, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", deny)
    with in_thread(lambda: TestServer(app, host="127.0.0.1")) as server:
        yield str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("ftp://exports/x", "the scheme 'ftp'"),
        ("s3:exports/x", "without its slashes"),
        ("s3://Exports_2024/x", "not a valid bucket name"),
        ("s3://no-such-bucket-here/x", "'no-such-bucket-here' does not exist"),
        ("s3://denied-bucket/x", "access denied"),
    ],
)
def test_an_output_that_cannot_take_files_costs_no_api_request(
    tmp_path: Path,
    bucket: Location,
    denying_s3: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    out: str,
    words: str,
) -> None:
    """A malformed URL, an unknown scheme, a missing bucket or denied access is exit 2 with a
    message naming ORCHESTRATOR_OUT, before any request reaches the API."""
    if out.startswith("s3://denied"):
        monkeypatch.setenv("AWS_ENDPOINT_URL", denying_s3)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "denied-secret-value")
    manifest = write_manifest(tmp_path)
    with fake_in_thread(QUICK) as fake:
        assert run(manifest, fake, out, monkeypatch) == 2
        assert sum(fake.fake.counters.requests.values()) == 0
    error = capsys.readouterr().err
    assert "ORCHESTRATOR_OUT" in error and words in error
    assert "denied-secret-value" not in error


def test_status_and_config_read_a_bucket_output(
    tmp_path: Path,
    bucket: Location,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`status --out s3://…` reads the journal in the bucket without its lease, and `config`
    names the store, its journal and lease, and where its credentials come from, masked."""
    manifest = write_manifest(tmp_path, SMALL_MANIFEST)
    with fake_in_thread(QUICK) as fake:
        assert run(manifest, fake, bucket.url(), monkeypatch) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--out", bucket.url()]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["journals"] == [bucket.url(".orchestrator/journal")]
    assert sum(status["states"].values()) == len(planned_jobs(manifest))
    assert main(["config", "--out", bucket.url()]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["out"] == bucket.url()
    assert shown["_journal_path"] == bucket.url(".orchestrator/journal")
    assert shown["_output"]["lease"] == bucket.url(".orchestrator/lease.json")
    assert shown["_output"]["variables"]["AWS_SECRET_ACCESS_KEY"] == "***"
    assert "AWS_ACCESS_KEY_ID" in shown["_output"]["credentials"]
