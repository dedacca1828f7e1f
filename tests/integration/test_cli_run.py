"""The `orchestrator` command end to end against the fake: files, report, journal and exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.core.manifest import load_manifest
from orchestrator.core.planner import plan
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import RunningFake, assert_tree_matches, fake_in_thread

AS_OF = "2024-03-12"
MANIFEST = """
version: 1
timezone: America/Chicago
defaults:
  range: {start: 2024-03-09, end: today}
  window: 1d
exports:
  - name: conversations
    export_id: conversation
    columns: [CONVERSATION_ID, STATUS, PRIORITY]
    filters:
      - {}
      - {label: urgent, priorities: [0, 1], workqueueIds: [15, 21]}
  - name: agent-states
    export_id: raw_agent_states
    format: json
    method: POST
    window: 12h
"""


def write_manifest(folder: Path, text: str = MANIFEST) -> Path:
    path = folder / "jobs.yaml"
    path.write_text(text)
    return path


def run(
    manifest: Path,
    fake: RunningFake,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
    **env: str,
) -> int:
    for name, value in fake.environment(out, **env).items():
        monkeypatch.setenv(name, value)
    return main(["run", str(manifest), "--as-of", AS_OF, *extra])


def only_report(out: Path) -> dict[str, Any]:
    reports = sorted((out / "_runs").glob("*.json"))
    return dict(json.loads(reports[-1].read_text()))


def planned_jobs(manifest: Path) -> list[Any]:
    return list(plan(load_manifest(manifest), as_of=date.fromisoformat(AS_OF)).jobs)


def test_a_run_downloads_every_job_into_the_dated_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every job's file is byte-identical to the fake's, at its dated path, and the report is complete."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    config = FakeConfig(job_duration=(0.01, 0.05))
    with fake_in_thread(config) as fake:
        code = run(manifest, fake, out, monkeypatch)
        counters = fake.fake.counters
    jobs = planned_jobs(manifest)
    report = only_report(out)
    assert code == 0
    assert len(jobs) == 3 * 2 + 3 * 2
    assert report["totals"]["jobs"] == len(jobs)
    assert report["totals"]["downloaded"] + report["totals"]["empty"] == len(jobs)
    assert_tree_matches(out, jobs, report, config)
    entry = next(
        e
        for e in report["jobs"]
        if e["export"] == "conversations" and e["filters"]["label"] == "urgent"
    )
    assert entry["path"].startswith(
        "conversations/2024/03/09/conversations_20240309T0000_20240310T0000_urgent_"
    )
    assert entry["window_start"] == "2024-03-09T00:00:00-06:00"
    assert entry["window_start_ms"] == 1709964000000
    assert entry["filters"]["params"] == [["priorities", "0,1"], ["workqueueIds", "15,21"]]
    required = {
        "key",
        "export",
        "export_id",
        "source",
        "window_start",
        "window_end",
        "window_start_ms",
        "window_end_ms",
        "filters",
        "status",
        "path",
        "bytes",
        "rows",
        "sha256",
        "attempts",
        "workflowId",
        "runId",
        "error",
    }
    assert all(required <= set(e) for e in report["jobs"])
    assert all(e["workflowId"] and e["runId"] and e["sha256"] for e in report["jobs"])
    assert counters.credential_leaks == 0


def test_dst_days_are_23_and_25_hours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window over the spring-forward day spans 23 hours in epoch milliseconds."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    with fake_in_thread(FakeConfig(job_duration=0.01)) as fake:
        assert run(manifest, fake, out, monkeypatch) == 0
    spring = next(
        e
        for e in only_report(out)["jobs"]
        if e["window_start"].startswith("2024-03-10") and e["export"] == "conversations"
    )
    assert spring["window_end_ms"] - spring["window_start_ms"] == 23 * 3600 * 1000


def test_a_second_run_reuses_finished_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rerunning the same manifest submits nothing and reports every file as already done."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    with fake_in_thread(FakeConfig(job_duration=0.01)) as fake:
        assert run(manifest, fake, out, monkeypatch) == 0
        created = fake.fake.counters.jobs_created
        assert run(manifest, fake, out, monkeypatch) == 0
        assert fake.fake.counters.jobs_created == created
    reports = sorted((out / "_runs").glob("*.json"))
    second = json.loads(reports[-1].read_text())
    assert len(reports) == 2
    assert second["totals"]["reused"] == second["totals"]["jobs"]


def test_a_failing_export_fails_alone_with_exit_code_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs of an export that always fails are reported failed with the server's words; the rest complete."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    config = FakeConfig(
        job_duration=0.01, faults=Faults(failing_exports=frozenset({"raw_agent_states"}))
    )
    with fake_in_thread(config) as fake:
        code = run(manifest, fake, out, monkeypatch, ORCHESTRATOR_MIN_WINDOW_SECONDS="86400")
    report = only_report(out)
    assert code == 1
    assert {e["status"] for e in report["jobs"] if e["export"] == "agent-states"} == {"failed"}
    assert {e["status"] for e in report["jobs"] if e["export"] == "conversations"} <= {
        "downloaded",
        "empty",
    }
    failed = [e for e in report["jobs"] if e["status"] == "failed"]
    assert all("FAILED" in e["error"] and e["attempts"] == 3 for e in failed)


def test_rejected_credentials_stop_the_run_with_exit_code_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong password costs one request and ends the run with exit code 3, the password unlogged."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    with fake_in_thread(FakeConfig()) as fake:
        code = run(manifest, fake, out, monkeypatch, ORCHESTRATOR_PASSWORD="not-the-password")
        requests = sum(fake.fake.counters.requests.values())
    captured = capsys.readouterr()
    assert code == 3
    assert requests <= 2
    assert "not-the-password" not in captured.out + captured.err


def test_missing_credentials_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a password the run refuses to start, naming ORCHESTRATOR_PASSWORD, exit code 2."""
    manifest = write_manifest(tmp_path)
    monkeypatch.delenv("ORCHESTRATOR_PASSWORD", raising=False)
    monkeypatch.setenv("ORCHESTRATOR_USERNAME", "u")
    monkeypatch.setenv("ORCHESTRATOR_COMPANY_KEY", "k")
    assert main(["run", str(manifest), "--out", str(tmp_path / "out")]) == 2
    assert "ORCHESTRATOR_PASSWORD" in capsys.readouterr().err


def test_an_invalid_manifest_is_located_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad window is reported with file, line, column and field."""
    manifest = write_manifest(tmp_path, MANIFEST.replace("window: 12h", "window: 3x"))
    assert main(["validate", str(manifest)]) == 2
    error = capsys.readouterr().err
    assert "jobs.yaml:18:13: exports[1].window: '3x' is not a duration" in error


def test_plan_lists_jobs_and_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan --json` prints every job with its key and the total."""
    manifest = write_manifest(tmp_path)
    assert main(["plan", str(manifest), "--as-of", AS_OF, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == 12
    assert len({job["key"] for job in document["jobs"]}) == 12
