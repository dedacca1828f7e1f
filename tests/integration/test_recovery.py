"""How a run recovers: split windows, uncertain and lost submits, deadlines, a full disk, the lock."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.cli import main
from orchestrator.core.envelope import RunIds
from orchestrator.core.jobs import Job
from orchestrator.core.manifest import load_manifest
from orchestrator.core.planner import plan
from orchestrator.edges.journal import Journal
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import RunningFake, assert_tree_matches, fake_in_thread

AS_OF = "2024-05-03"
MANIFEST = """
version: 1
defaults:
  range: {start: 2024-05-01, end: today}
exports:
  - name: conversations
    export_id: conversation
  - name: users
    export_id: user
    filters:
      - {label: team-1, teamId: [1]}
"""


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.yaml"
    path.write_text(MANIFEST)
    return path


def jobs_of(manifest: Path) -> list[Job]:
    return list(plan(load_manifest(manifest), as_of=date.fromisoformat(AS_OF)).jobs)


def run(
    manifest: Path, fake: RunningFake, out: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> int:
    for name, value in fake.environment(out, **env).items():
        monkeypatch.setenv(name, value)
    return main(["run", str(manifest), "--as-of", AS_OF])


def report_of(out: Path) -> dict[str, Any]:
    newest = max((out / "_runs").glob("*.json"))
    return dict(json.loads(newest.read_text()))


def journal_with(out: Path, job: Job, ids: RunIds | None = None) -> None:
    """Journal a create as an earlier, interrupted run would have left it: its intent alone
    (`submitting`), or with the server's ids (`submitted`)."""

    async def write() -> None:
        journal = Journal(out / ".orchestrator" / "journal.sqlite")
        journal.open()
        try:
            await journal.intend(job, attempts=1, uncertain=False)
            if ids is not None:
                await journal.submitted(job, ids)
        finally:
            journal.close()

    anyio.run(write)


def test_a_failing_window_is_split_until_its_pieces_succeed(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Days that always fail become two 12-hour jobs, which fail too, then four 6-hour jobs that
    land as their own files; the report shows each split and its pieces."""
    out = tmp_path / "out"
    config = FakeConfig(job_duration=0.005, faults=Faults(max_window_seconds=6 * 3600))
    with fake_in_thread(config) as fake:
        assert run(manifest, fake, out, monkeypatch) == 0
    report = report_of(out)
    jobs = jobs_of(manifest)
    assert_tree_matches(out, jobs, report, config)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for entry in report["jobs"]:
        by_status.setdefault(entry["status"], []).append(entry)
    assert len(by_status["split"]) == len(jobs) * 3
    pieces = [e for e in report["jobs"] if e["status"] in ("downloaded", "empty")]
    assert len(pieces) == len(jobs) * 4
    assert all(e["window_end_ms"] - e["window_start_ms"] == 6 * 3600 * 1000 for e in pieces)
    assert all(e["parent_key"] for e in pieces)
    assert all("FAILED" in e["error"] and "too large" in e["error"] for e in by_status["split"])


def test_a_window_that_fails_at_the_minimum_size_is_reported_with_the_servers_words(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When even the smallest pieces fail, they are reported failed with the server's reason; exit 1."""
    out = tmp_path / "out"
    config = FakeConfig(job_duration=0.005, faults=Faults(max_window_seconds=1800))
    with fake_in_thread(config) as fake:
        code = run(manifest, fake, out, monkeypatch, ORCHESTRATOR_MIN_WINDOW_SECONDS="21600")
    failed = [e for e in report_of(out)["jobs"] if e["status"] == "failed"]
    assert code == 1
    assert failed and all("too large" in e["error"] for e in failed)
    assert all(e["window_end_ms"] - e["window_start_ms"] == 6 * 3600 * 1000 for e in failed)


def test_an_uncertain_submit_is_resubmitted_once_and_reported(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job journaled as `submitting` (ids never recorded) is submitted again and flagged."""
    out = tmp_path / "out"
    job = jobs_of(manifest)[0]
    journal_with(out, job)
    with fake_in_thread(FakeConfig(job_duration=0.005)) as fake:
        assert run(manifest, fake, out, monkeypatch) == 0
    entries = {e["key"]: e for e in report_of(out)["jobs"]}
    assert entries[job.key]["resubmitted_uncertain"] is True
    assert sum(e["resubmitted_uncertain"] for e in entries.values()) == 1


def test_a_run_the_server_no_longer_knows_is_submitted_again(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journaled run that the server answers 404 for is resubmitted, and the job completes."""
    out = tmp_path / "out"
    job = jobs_of(manifest)[0]
    with fake_in_thread(FakeConfig(job_duration=0.005)) as fake:
        lost = f"{fake.fake.base_url}/api/public/reports/report/00000000-0000-0000-0000-000000000000/MjM%3D/status?companyKey={fake.config.company_key}"
        journal_with(out, job, RunIds("00000000-0000-0000-0000-000000000000", "MjM=", lost))
        assert run(manifest, fake, out, monkeypatch) == 0
        assert fake.fake.counters.rejections["not_found"] == 1
    entry = next(e for e in report_of(out)["jobs"] if e["key"] == job.key)
    assert entry["status"] in ("downloaded", "empty")
    assert entry["attempts"] == 2


def test_a_job_that_never_finishes_times_out(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exports still running after JOB_TIMEOUT_SECONDS are reported timed_out, exit 1."""
    out = tmp_path / "out"
    with fake_in_thread(FakeConfig(job_duration=60)) as fake:
        code = run(manifest, fake, out, monkeypatch, ORCHESTRATOR_JOB_TIMEOUT_SECONDS="0.5")
    statuses = {e["status"] for e in report_of(out)["jobs"]}
    assert code == 1
    assert statuses == {"timed_out"}


def test_max_runtime_stops_in_time_and_the_next_run_resumes(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--max-runtime ends the run by its deadline with the work journaled; the rerun finishes it
    without submitting anything twice."""
    out = tmp_path / "out"
    config = FakeConfig(job_duration=2.0)
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(out, ORCHESTRATOR_GRACE_SECONDS="0.3").items():
            monkeypatch.setenv(name, value)
        code = main(["run", str(manifest), "--as-of", AS_OF, "--max-runtime", "1"])
        assert code == 1
        events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        deadline = [e for e in events if e["event"] == "orchestrator.deadline_reached"]
        assert [e["stopping_after_seconds"] for e in deadline] == [0.7]  # 1 s less the grace
        assert {e["status"] for e in report_of(out)["jobs"]} == {"interrupted"}
        assert run(manifest, fake, out, monkeypatch) == 0
        assert fake.fake.counters.max_submits() == 1
    assert_tree_matches(out, jobs_of(manifest), report_of(out), config)


def test_an_unwritable_output_fails_only_its_jobs(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When an export's folder cannot be created, its jobs fail with a clear error; the others land."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "users").write_text("a file where the export's folder should be")
    with fake_in_thread(FakeConfig(job_duration=0.005)) as fake:
        code = run(manifest, fake, out, monkeypatch)
    report = report_of(out)
    assert code == 1
    users = [e for e in report["jobs"] if e["export"] == "users"]
    assert users and all(e["status"] == "failed" and "users/2024/05" in e["error"] for e in users)
    assert all(
        e["status"] in ("downloaded", "empty")
        for e in report["jobs"]
        if e["export"] == "conversations"
    )
    assert (out / "users").read_text().startswith("a file")


def test_status_shows_counts_failures_and_the_oldest_pending(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`orchestrator status` summarises the journal of an output folder."""
    out = tmp_path / "out"
    config = FakeConfig(job_duration=0.005, faults=Faults(failing_exports=frozenset({"user"})))
    with fake_in_thread(config) as fake:
        run(manifest, fake, out, monkeypatch, ORCHESTRATOR_MIN_WINDOW_SECONDS="86400")
    journal_with(out, jobs_of(manifest)[0], RunIds("w", "r", "u"))
    capsys.readouterr()
    assert main(["status", "--out", str(out)]) == 1  # the journal holds failed jobs
    shown = capsys.readouterr().out
    assert "2 failed" in shown
    assert "injected" in shown
    assert "oldest pending: conversations" in shown


def test_a_second_run_on_the_same_journal_is_refused(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """While one run holds the journal, another exits with code 75 (retry later) and says why."""
    out = tmp_path / "out"
    holder = Journal(out / ".orchestrator" / "journal.sqlite")
    holder.open()
    try:
        with fake_in_thread(FakeConfig()) as fake:
            assert run(manifest, fake, out, monkeypatch) == 75
    finally:
        holder.close()
    assert "another orchestrator run" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_is_a_clear_usage_error(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--out naming a file fails before any request, with exit code 2 and the path in the message."""
    out = tmp_path / "not-a-folder"
    out.write_text("x")
    with fake_in_thread(FakeConfig()) as fake:
        assert run(manifest, fake, out, monkeypatch) == 2
        assert sum(fake.fake.counters.requests.values()) == 0
    err = capsys.readouterr().err
    assert f"cannot write to {out}: Not a directory; nothing was submitted" in err
