"""What a run says at info level: repetitive lines batched, failures as warnings, honest counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import fake_in_thread
from tests.integration.test_resilience import AS_OF, manifest_for


def events(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_reuse_is_one_line_and_a_failed_export_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An export that ends FAILED once cools down with a warning; a rerun that reuses all 12
    files says so in one info line with the count, and its summary counts them as reused."""
    manifest, out = manifest_for(tmp_path, 3, ("conversation", "user")), tmp_path / "out"
    config = FakeConfig(job_duration=0.01, faults=Faults(fail_first_submits=1))
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(out, ORCHESTRATOR_PROGRESS_SECONDS="0.05").items():
            monkeypatch.setenv(name, value)
        assert main(["run", str(manifest), "--as-of", AS_OF.isoformat()]) == 0
        first = capsys.readouterr()
        assert main(["run", str(manifest), "--as-of", AS_OF.isoformat()]) == 0
        second = capsys.readouterr()
    cooling = [e for e in events(first.err) if e.get("state") == "cooling_down"]
    assert cooling and {e["level"] for e in cooling} == {"warning"}
    logged = events(second.err)
    assert [e["count"] for e in logged if e["event"] == "orchestrator.files_reused"] == [12]
    assert not [e for e in logged if e["event"] == "orchestrator.job_reused"]
    assert "12 jobs: 0 downloaded, 0 empty, 12 reused from earlier runs" in second.out
    progress = [e for e in logged if e["event"] == "orchestrator.progress"]
    assert progress and progress[-1]["reused"] == 12 and progress[-1]["done"] == 0


COLUMNS = ("waiting", "submitted", "running", "downloading", "done", "empty", "failed", "split")


def test_every_view_of_a_run_shows_one_set_of_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With empty exports among the files, a first run and a rerun that reuses everything show
    the same counts in the progress event, the summary, the log line and the report: none is
    negative, and the columns with the reused add up to the plan."""
    manifest, out = manifest_for(tmp_path, 2, ("conversation", "user")), tmp_path / "out"
    config = FakeConfig(job_duration=0.01, faults=Faults(empty_exports=frozenset({"user"})))
    runs = []
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(out, ORCHESTRATOR_PROGRESS_SECONDS="0.05").items():
            monkeypatch.setenv(name, value)
        for _ in range(2):
            assert main(["run", str(manifest), "--as-of", AS_OF.isoformat()]) == 0
            runs.append(capsys.readouterr())
    expected = [
        {"downloaded": 4, "empty": 4, "reused": 0},
        {"downloaded": 0, "empty": 0, "reused": 8},
    ]
    for run, want in zip(runs, expected, strict=True):
        logged = events(run.err)
        finished = next(e for e in logged if e["event"] == "orchestrator.run_finished")
        assert {name: finished[name] for name in want} == want
        progress = [e for e in logged if e["event"] == "orchestrator.progress"][-1]
        assert all(progress[name] >= 0 for name in COLUMNS)
        assert sum(progress[name] for name in COLUMNS) + progress["reused"] == progress["planned"]
        assert (progress["done"], progress["empty"], progress["reused"]) == tuple(want.values())
        parts = f"{want['downloaded']} downloaded, {want['empty']} empty"
        assert f"8 jobs: {parts}" in run.out
        report = json.loads(Path(finished["report"]).read_text())["totals"]
        assert (report["downloaded_this_run"], report["empty_this_run"], report["reused"]) == (
            want["downloaded"],
            want["empty"],
            want["reused"],
        )
        assert (report["downloaded"], report["empty"]) == (4, 4)  # as earlier versions wrote


def test_each_export_logs_one_canonical_line_at_info(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At info, every export logs exactly one line when it ends (orchestrator.job_finished, with
    its window, outcome, file, attempts, API requests and seconds), and no per-state line."""
    manifest, out = manifest_for(tmp_path, 2, ("conversation",)), tmp_path / "out"
    with fake_in_thread(FakeConfig(job_duration=0.01)) as fake:
        for name, value in fake.environment(out).items():
            monkeypatch.setenv(name, value)
        assert main(["run", str(manifest), "--as-of", AS_OF.isoformat()]) == 0
        sent = fake.fake.counters.requests
    logged = events(capsys.readouterr().err)
    finished = [e for e in logged if e["event"] == "orchestrator.job_finished"]
    report = json.loads(next((out / "_runs").glob("*.json")).read_text())
    assert sorted(e["job"] for e in finished) == sorted(entry["key"] for entry in report["jobs"])
    for line in finished:
        entry = next(entry for entry in report["jobs"] if entry["key"] == line["job"])
        assert line["level"] == "info" and line["outcome"] == entry["status"] == "downloaded"
        assert (line["path"], line["bytes"], line["rows"]) == (
            entry["path"],
            entry["bytes"],
            entry["rows"],
        )
        assert line["export"] == "conversation" and line["window"] == entry["window_start"]
        assert line["attempts"] == 1 and line["seconds"] > 0
        assert line["requests"] >= 3  # a create, a poll or more, the download
    assert sum(line["requests"] for line in finished) == sum(
        sent[kind]
        for kind in ("create", "status", "download")  # not the storage GET
    )
    assert not [e for e in logged if e["event"] == "orchestrator.job_state"]
