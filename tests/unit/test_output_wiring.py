"""The output as the composition root builds it from the settings: a URL or a plain path in
ORCHESTRATOR_OUT, the journal settings passed through, reports pruned in a bucket too, a run's
own error raised as it is, and the store's secrets masked in the logs."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from orchestrator.app.run import output_for
from orchestrator.cli.output import log_as_set
from orchestrator.core.location import Location
from orchestrator.edges.journal import Journal
from orchestrator.edges.report import RunHeader
from orchestrator.edges.settings import load_settings
from orchestrator.errors import SettingsError, SinkError
from tests.s3 import moto_s3

MIDNIGHT = datetime(2024, 1, 1, tzinfo=UTC)


def header(run_id: str) -> RunHeader:
    return RunHeader(run_id, "jobs.yaml", "2024-01-02", MIDNIGHT, MIDNIGHT, 0)


def test_out_takes_a_url_and_a_plain_path_stays_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain path or a file:// URL is a folder (a Path, as before); a bucket URL is kept whole
    (never a folder called `s3:`); a malformed one is refused naming the variable."""
    assert load_settings(out="exports/x").out == Path("exports/x")
    assert load_settings(out="file:///srv/exports").out == Path("/srv/exports")
    bucket = load_settings(out="s3://acme-exports/khoros/")
    assert (bucket.out, bucket.location, bucket.journal_path()) == (
        "s3://acme-exports/khoros",
        Location("s3", "acme-exports", "khoros"),
        None,
    )
    monkeypatch.setenv("ORCHESTRATOR_OUT", "gs:acme/x")
    with pytest.raises(SettingsError, match=r"ORCHESTRATOR_OUT: 'gs:acme/x' looks like a URL"):
        load_settings()


@pytest.mark.anyio
async def test_the_journal_settings_reach_the_output(tmp_path: Path) -> None:
    """ORCHESTRATOR_JOURNAL, _JOURNAL_MODE and _LEASE_SECONDS reach the output the run uses: a
    local journal opens in the mode set, a bucket's lease has the TTL set."""
    settings = load_settings(out=str(tmp_path / "out"), journal_mode="rollback")
    async with output_for(settings).journal() as journal:
        assert isinstance(journal, Journal) and journal.mode == "rollback"
    described = output_for(load_settings(out="s3://acme-exports/x", lease_seconds=7)).describe()
    assert (described["lease_seconds"], described["journal"]) == (
        7,
        "s3://acme-exports/x/.orchestrator/journal",
    )
    local_journal = tmp_path / "state/journal.sqlite"
    elsewhere = output_for(load_settings(out="s3://acme-exports/x", journal=local_journal))
    assert (elsewhere.describe()["journal"], elsewhere.describe()["lease"]) == (
        str(local_journal),
        None,
    )


@pytest.mark.anyio
async def test_a_bucket_keeps_the_newest_reports_and_the_current_one(bucket: Location) -> None:
    """ORCHESTRATOR_KEEP_REPORTS holds in a bucket: the oldest reports under `_runs/` go, the
    current one stays even when it is not the newest."""
    reports = output_for(load_settings(out=bucket.url())).reports
    written = [await reports.write(header(f"2024010{day}T000000.000Z-abc"), []) for day in range(5)]
    assert await reports.prune(2, written[1]) == 3
    left = moto_s3().keys(bucket.bucket, bucket.key("_runs/"))
    assert left == [
        bucket.key("_runs/20240101T000000.000Z-abc.json"),
        bucket.key("_runs/20240104T000000.000Z-abc.json"),
    ]


@pytest.mark.anyio
async def test_a_runs_own_error_leaves_the_leased_journal_as_it_is(bucket: Location) -> None:
    """An error raised inside a bucket journal's block (a full output, a refused file) comes out
    as itself, as from a folder's journal, not wrapped in the lease's task group; the lease is
    released."""
    output = output_for(load_settings(out=bucket.url(), lease_seconds=0.5))
    with pytest.raises(SinkError, match="refused"):
        async with output.journal():
            raise SinkError("refused")
    async with output.journal():  # taken at once: the lease was released
        pass


def test_the_stores_secret_values_are_masked_in_every_log_line(bucket: Location) -> None:
    """`run` logs with the store's secret values masked beside the settings' own."""
    output = output_for(load_settings(out=bucket.url(), log_format="json"))
    stream = io.StringIO()
    log_as_set(load_settings(log_format="json"), stream, output.secrets())
    structlog.get_logger("test").info("orchestrator.test", detail="key testing-secret-key here")
    assert "testing-secret-key" not in stream.getvalue()
    assert "***" in stream.getvalue()
