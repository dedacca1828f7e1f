"""The storage entry point: a folder and a bucket behind one protocol, each checked before any API
request, each locking its journal, writing the run report and naming its credentials' source."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.core.location import Location, parse_location
from orchestrator.core.shard import Shard
from orchestrator.edges.report import RunHeader
from orchestrator.edges.sink import FileSink
from orchestrator.edges.storage import StorageOptions, open_output
from orchestrator.edges.storage.object_sink import ObjectSink
from orchestrator.edges.storage.stores import build_store, credential_source, storage_secrets
from orchestrator.errors import JournalLocked, SettingsError
from tests.s3 import moto_s3
from tests.unit.edges import day_job

pytestmark = pytest.mark.anyio
MIDNIGHT = datetime(2024, 1, 1, tzinfo=UTC)
HEADER = RunHeader("20240101T000000.000Z-abc123", "jobs.yaml", "2024-01-02", MIDNIGHT, MIDNIGHT, 0)
QUICK = StorageOptions(lease_seconds=0.5)


async def test_a_folder_keeps_todays_sink_journal_lock_and_report(tmp_path: Path) -> None:
    """A plain path is the folder sink and the SQLite journal, whose lock refuses a second run;
    the report lands in `_runs/`."""
    output = open_output(parse_location(str(tmp_path / "out")), QUICK)
    await output.check(["conversations"])
    assert isinstance(output.sink, FileSink)
    async with output.journal() as journal:
        await journal.intend(day_job("a"), attempts=1, uncertain=False)
        with pytest.raises(JournalLocked):
            async with open_output(parse_location(str(tmp_path / "out")), QUICK).journal():
                pass
    assert list(await output.journal_records()) == [
        str(tmp_path / "out/.orchestrator/journal.sqlite")
    ]
    written = await output.reports.write(HEADER, [])
    assert written == str(tmp_path / "out/_runs" / f"{HEADER.run_id}.json")


async def test_a_bucket_holds_the_journal_under_a_lease_and_the_report(bucket: Location) -> None:
    """With a bucket, the journal and its lease live under `.orchestrator/`: a second run of the
    same shard is refused while the first runs, another shard is not, and a clean exit lets the
    next run in at once; `status` reads every shard's journal; the report is an object."""
    one, two = StorageOptions(Shard(0, 2), 0.5), StorageOptions(Shard(1, 2), 0.5)
    output = open_output(bucket, one)
    await output.check()
    assert isinstance(output.sink, ObjectSink)
    async with output.journal() as journal:
        await journal.intend(day_job("a"), attempts=1, uncertain=False)
        with pytest.raises(JournalLocked):
            async with open_output(bucket, one).journal():
                pass
        async with open_output(bucket, two).journal() as other:
            await other.intend(day_job("b"), attempts=1, uncertain=False)
    async with open_output(bucket, one).journal() as again:
        assert list(await again.load()) == [day_job("a").key]
    journals = await output.journal_records()
    assert sorted(journals) == [
        bucket.url(".orchestrator/journal.shard-0-of-2"),
        bucket.url(".orchestrator/journal.shard-1-of-2"),
    ]
    assert await output.reports.write(HEADER, []) == bucket.url(f"_runs/{HEADER.run_id}.json")
    assert bucket.key(f"_runs/{HEADER.run_id}.json") in moto_s3().keys(bucket.bucket)


async def test_a_missing_bucket_is_found_before_any_request(bucket: Location) -> None:
    """A bucket that does not exist is a SettingsError naming it and the setting (exit 2)."""
    output = open_output(Location("s3", "no-such-bucket-anywhere", "x"), QUICK)
    with pytest.raises(
        SettingsError, match=r"ORCHESTRATOR_OUT.*'no-such-bucket-anywhere' does not exist"
    ):
        await output.check()


@pytest.fixture
async def denying_endpoint(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """An S3 endpoint on loopback that answers every request 403 AccessDenied, as S3 does for a
    role whose policy does not cover the bucket."""

    async def deny(request: web.Request) -> web.Response:
        body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        return web.Response(status=403, text=body, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", deny)
    async with TestServer(app, host="127.0.0.1") as server:
        endpoint = str(server.make_url("")).rstrip("/")
        for name, value in {
            "AWS_ACCESS_KEY_ID": "AKIADENIED",
            "AWS_SECRET_ACCESS_KEY": "denied-secret-value",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": "true",
        }.items():
            monkeypatch.setenv(name, value)
        yield endpoint


async def test_denied_access_is_a_settings_error_without_the_secret(denying_endpoint: str) -> None:
    """A 403 on the listing is a SettingsError that says access was denied and where the
    credentials came from, and never shows the secret key."""
    output = open_output(Location("s3", "some-bucket", "x"), QUICK)
    with pytest.raises(SettingsError, match="access denied") as caught:
        await output.check()
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)
    assert "denied-secret-value" not in str(caught.value)


def test_config_shows_the_store_and_the_source_of_its_credentials_masked() -> None:
    """For each cloud, `config` names the store, the credential chain that applies and the
    standard variables set, secret values masked; those values join the redaction."""
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t-key",
        "AWS_SESSION_TOKEN": "session-token",
        "AWS_REGION": "eu-west-1",
        "AZURE_STORAGE_ACCOUNT": "myaccount",
        "AZURE_STORAGE_SAS_TOKEN": "sv=2024&sig=abc",
        "GOOGLE_APPLICATION_CREDENTIALS": "/var/run/gcp/key.json",
    }
    s3 = credential_source(parse_location("s3://bucket/x"), environ)
    assert (
        s3["credentials"]
        == "static keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with AWS_SESSION_TOKEN"
    )
    assert s3["variables"] == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "***",
        "AWS_SESSION_TOKEN": "***",
        "AWS_REGION": "eu-west-1",
    }
    irsa = {"AWS_ROLE_ARN": "arn:aws:iam::1:role/r", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/t"}
    assert "IRSA" in str(credential_source(parse_location("s3://bucket"), irsa)["credentials"])
    gcs = credential_source(parse_location("gs://bucket/x"), environ)
    assert gcs["credentials"] == "the credentials file in GOOGLE_APPLICATION_CREDENTIALS"
    assert "Workload Identity" in str(
        credential_source(parse_location("gs://b-1"), {})["credentials"]
    )
    azure = credential_source(parse_location("az://container/x"), environ)
    assert azure["variables"] == {
        "AZURE_STORAGE_ACCOUNT": "myaccount",
        "AZURE_STORAGE_SAS_TOKEN": "***",
    }
    assert "managed identity" in str(
        credential_source(parse_location("az://c-1"), {})["credentials"]
    )
    assert sorted(storage_secrets(environ)) == ["s3cr3t-key", "session-token", "sv=2024&sig=abc"]


def test_gcs_and_azure_stores_are_built_from_their_variables_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gs:// and az:// build their stores from the standard variables, without a request; an
    az:// URL without an account variable is a SettingsError naming the variables."""
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT", raising=False)
    assert type(build_store(parse_location("gs://bucket/prefix"), {})).__name__ == "GCSStore"
    with pytest.raises(SettingsError, match="AZURE_STORAGE_ACCOUNT_NAME"):
        build_store(parse_location("az://container/prefix"), {})
    azure = build_store(parse_location("az://container/prefix"), {"AZURE_STORAGE_ACCOUNT": "acct"})
    assert type(azure).__name__ == "AzureStore"
    described = open_output(parse_location("gs://bucket/prefix"), QUICK).describe()
    assert (described["journal"], described["lease"]) == (
        "gs://bucket/prefix/.orchestrator/journal",
        "gs://bucket/prefix/.orchestrator/lease.json",
    )
