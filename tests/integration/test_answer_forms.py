"""Every answer form the quick start allows, through the whole CLI against the fake over sockets.

Each test turns one of the fake's knobs on and runs `orchestrator run`: the files must be the
fake's bytes exactly, the report must say what happened, and credentials must stay at the API.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import assert_tree_matches, fake_in_thread
from tests.integration.test_resilience import latest_report, manifest_for, planned

AS_OF = date(2024, 6, 20)
FAST = FakeConfig(job_duration=(0.005, 0.02))


def run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    faults: Faults,
    *,
    exports: tuple[str, ...] = ("conversation", "user"),
    days: int = 3,
    config: FakeConfig = FAST,
    **env: str,
) -> tuple[int, dict[str, Any], Any, FakeConfig]:
    """Run a small manifest against a fake with `faults`; exit code, report, counters, config."""
    manifest, out = manifest_for(tmp_path, days, exports), tmp_path / "out"
    config = replace(config, faults=faults)
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(out, **env).items():
            monkeypatch.setenv(name, value)
        code = main(["run", str(manifest), "--as-of", AS_OF.isoformat()])
        counters = fake.fake.counters
    report = latest_report(out)
    if code == 0:
        assert_tree_matches(out, planned(manifest), report, config)
    assert counters.credential_leaks == 0
    return code, report, counters, config


def statuses(report: dict[str, Any]) -> set[str]:
    return {entry["status"] for entry in report["jobs"]}


def test_a_download_answered_directly_or_through_a_chain_of_redirects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half the downloads answer 200 with the file, the rest redirect through four hops that
    leave and re-enter the API origin; every file lands intact and no credential leaves the API."""
    code, report, counters, _ = run(
        tmp_path, monkeypatch, Faults(direct_download=0.5, redirect_hops=4)
    )
    assert code == 0
    assert statuses(report) == {"downloaded"}
    assert counters.downloads_direct > 0 and counters.requests["hop"] > 0


def test_a_completed_export_without_a_url_is_polled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CLOSED/COMPLETED with an empty downloadUrl (twice) is waited out, not a failure."""
    code, report, counters, _ = run(tmp_path, monkeypatch, Faults(late_url_polls=2))
    assert code == 0
    assert statuses(report) == {"downloaded"}
    assert counters.requests["status"] >= 3 * len(report["jobs"])  # the knob really fired


def test_gzip_from_storage_lands_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Storage that gzips every body: the files on disk are the decoded bytes, checked whole."""
    code, report, counters, _ = run(tmp_path, monkeypatch, Faults(gzip_storage=1.0))
    assert code == 0
    assert counters.downloads_gzipped > 0
    assert all(entry["rows"] and entry["rows"] > 0 for entry in report["jobs"])


@pytest.mark.parametrize("form", ["header", "zero"])
def test_empty_exports_are_empty_with_zero_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """A header-only or 0-byte CSV and a JSON `[]` are all `empty` with rows 0."""
    faults = Faults(empty_exports=frozenset({"conversation", "user"}), empty_form=form)  # type: ignore[arg-type]
    manifest_exports = ("conversation", "user")
    code, report, _, _ = run(tmp_path, monkeypatch, faults, exports=manifest_exports)
    assert code == 0
    assert statuses(report) == {"empty"}
    assert {entry["rows"] for entry in report["jobs"]} == {0}


def test_an_empty_json_export_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON export whose body is `[]` is `empty` with rows 0."""
    manifest, out = tmp_path / "jobs.yaml", tmp_path / "out"
    manifest.write_text(
        "version: 1\ndefaults:\n  format: json\n  range: {start: 2024-06-18, end: today}\n"
        "exports:\n  - name: users\n    export_id: user\n"
    )
    config = replace(FAST, faults=Faults(empty_exports=frozenset({"user"})))
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(out).items():
            monkeypatch.setenv(name, value)
        assert main(["run", str(manifest), "--as-of", AS_OF.isoformat()]) == 0
    report = latest_report(out)
    assert [(e["status"], e["rows"]) for e in report["jobs"]] == [("empty", 0), ("empty", 0)]
    assert_tree_matches(out, planned(manifest), report, config)


def test_404_on_create_fails_that_export_with_the_status_and_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export id the account lacks fails its jobs, saying 404 and the URL; the journal says
    failed (never left at submitting); the other export is downloaded; exit 1."""
    code, report, _, _ = run(tmp_path, monkeypatch, Faults(missing_exports=frozenset({"user"})))
    assert code == 1
    refused = [e for e in report["jobs"] if e["export_id"] == "user"]
    assert refused and {e["status"] for e in refused} == {"failed"}
    for entry in refused:
        assert "404" in entry["error"] and "/api/public/reports/report/user" in entry["error"]
    assert {e["status"] for e in report["jobs"] if e["export_id"] != "user"} == {"downloaded"}
    with sqlite3.connect(tmp_path / "out" / ".orchestrator" / "journal.sqlite") as journal:
        rows = journal.execute("SELECT export_name, state FROM jobs").fetchall()
    assert {state for export, state in rows if export == "user"} == {"failed"}
    assert len([row for row in rows if row[0] == "user"]) == len(refused)


def test_403_on_one_export_fails_its_jobs_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials proven by the probe, a 403 on one export's create fails that export alone:
    exit 1, not 3."""
    code, report, counters, _ = run(
        tmp_path, monkeypatch, Faults(refused_exports=frozenset({"user"}))
    )
    assert code == 1
    failed = {e["export_id"] for e in report["jobs"] if e["status"] == "failed"}
    assert failed == {"user"}
    assert {e["status"] for e in report["jobs"] if e["export_id"] != "user"} == {"downloaded"}
    assert counters.requests["timezones"] == 1


def test_wrong_credentials_stop_the_run_after_the_probe_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong password costs one request (the probe), exits 3 with one message saying what to
    check, leaves every job not started and nothing uncertain in the journal."""
    code, report, counters, _ = run(
        tmp_path, monkeypatch, Faults(), ORCHESTRATOR_PASSWORD="wrong-password"
    )
    assert code == 3
    assert sum(counters.requests.values()) == 1
    assert statuses(report) == {"not_started"}
    out = capsys.readouterr().out
    assert "check ORCHESTRATOR_USERNAME, ORCHESTRATOR_PASSWORD" in out
    assert out.count("not_started") == 0  # counted, not listed one per line
    journal = tmp_path / "out" / ".orchestrator" / "journal.sqlite"
    with sqlite3.connect(journal) as connection:
        assert connection.execute("SELECT COUNT(*) FROM jobs").fetchone() == (0,)


def test_a_resumed_job_polls_the_token_url_the_server_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With per-job access tokens that refuse a companyKey, a run stopped while exports run is
    resumed by the next run with exactly the URLs the server gave: no 403, no resubmit, exit 0;
    the journal holds no token in clear text."""
    manifest, out = manifest_for(tmp_path, 2, ("conversation",)), tmp_path / "out"
    config = FakeConfig(job_duration=1.5, faults=Faults(access_tokens=True))
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(out, ORCHESTRATOR_GRACE_SECONDS="0").items():
            monkeypatch.setenv(name, value)
        first = main(["run", str(manifest), "--as-of", AS_OF.isoformat(), "--max-runtime", "0.6"])
        assert first == 1
        assert statuses(latest_report(out)) == {"interrupted"}
        assert main(["run", str(manifest), "--as-of", AS_OF.isoformat()]) == 0
        counters = fake.fake.counters
        assert counters.max_submits() == 1
        assert counters.rejections.get("forbidden", 0) == 0
    assert_tree_matches(out, planned(manifest), latest_report(out), config)
    journal = b"".join(path.read_bytes() for path in (out / ".orchestrator").glob("journal*"))
    assert b"analyticsAccessToken=sealed1." in journal
    assert not re.search(rb"analyticsAccessToken=(?!sealed1\.)", journal)  # none in clear


def test_unknown_and_blank_states_are_polled_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runnerState nobody knows, then CLOSED with an empty detail (twice), are polled through
    to the real answer."""
    faults = Faults(unknown_state_polls=2, closed_empty_detail_polls=2)
    code, report, counters, _ = run(tmp_path, monkeypatch, faults)
    assert code == 0
    assert statuses(report) == {"downloaded"}
    assert counters.requests["status"] >= 5 * len(report["jobs"])  # both knobs really fired


@pytest.mark.slow
def test_chaos_with_every_fault_and_every_answer_form_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fault and every answer form at once, over 120 jobs: the refused and missing
    exports fail alone; every other file is byte-identical, nothing stray, no credential leaked."""
    faults = Faults(
        rate_limit=0.1,
        server_error=0.1,
        job_failure=0.1,
        cut_download=0.1,
        expired_url=0.1,
        text_plain=0.1,
        retry_after_seconds=0,
        direct_download=0.3,
        redirect_hops=3,
        late_url_polls=1,
        gzip_storage=0.5,
        access_tokens=True,
        missing_exports=frozenset({"incoming_post"}),
        refused_exports=frozenset({"response"}),
        unknown_state_polls=1,
        closed_empty_detail_polls=1,
        empty_exports=frozenset({"author"}),
    )
    exports = ("conversation", "user", "author", "incoming_post", "response")
    code, report, counters, config = run(
        tmp_path,
        monkeypatch,
        faults,
        exports=exports,
        days=12,
        config=replace(FAST, seed=3),
        ORCHESTRATOR_MAX_IN_FLIGHT="30",
        ORCHESTRATOR_MAX_DOWNLOADS="8",
    )
    assert code == 1
    failed = {e["export_id"] for e in report["jobs"] if e["status"] == "failed"}
    assert failed == {"incoming_post", "response"}
    fine = [e for e in report["jobs"] if e["export_id"] not in failed]
    assert {e["status"] for e in fine} <= {"downloaded", "empty", "split"}
    assert {e["status"] for e in fine if e["export_id"] == "author"} <= {"empty", "split"}
    manifest = tmp_path / "jobs.yaml"
    kept = [job for job in planned(manifest) if job.export_id not in failed]
    ok_report = {**report, "jobs": [e for e in report["jobs"] if e["export_id"] not in failed]}
    assert_tree_matches(tmp_path / "out", kept, ok_report, config)
    assert counters.rejections["rate_limited"] and counters.downloads_cut
    assert counters.downloads_direct and counters.downloads_gzipped
    assert json.dumps(report).count("companyKey=demo-company") == 0
