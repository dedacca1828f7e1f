"""A window that has not ended is fetched, marked `open`, and fetched again by the next run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.fakeapi import FakeConfig
from tests.integration.fakes import fake_in_thread
from tests.integration.test_resilience import latest_report


def test_an_open_window_is_downloaded_marked_open_and_refetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Today's window is still open: the run warns, downloads it, marks it `open` in the report;
    the next run fetches it again (atomically replacing the file) instead of reusing it, while
    yesterday's closed window is reused."""
    today = datetime.now(UTC).date()
    manifest, out = tmp_path / "jobs.yaml", tmp_path / "out"
    manifest.write_text(
        "version: 1\ndefaults:\n  range: {start: yesterday, end: today+1d}\n"
        "exports:\n  - name: conversations\n    export_id: conversation\n"
    )
    arguments = ["run", str(manifest), "--as-of", today.isoformat()]
    with fake_in_thread(FakeConfig(job_duration=0.01)) as fake:
        for name, value in fake.environment(out).items():
            monkeypatch.setenv(name, value)
        assert main(arguments) == 0
        first = {e["window_start"][:10]: e for e in latest_report(out)["jobs"]}
        assert main(arguments) == 0
        second = {e["window_start"][:10]: e for e in latest_report(out)["jobs"]}
        created = fake.fake.counters.jobs_created
    yesterday = (today - timedelta(days=1)).isoformat()
    assert first[today.isoformat()]["open"] is True
    assert first[yesterday]["open"] is False
    assert second[yesterday]["reused"] is True
    assert second[today.isoformat()]["reused"] is False
    assert second[today.isoformat()]["open"] is True
    assert created == 3  # yesterday once, today twice
    assert "has not ended" in capsys.readouterr().err
    assert not list(out.rglob("*.part"))
