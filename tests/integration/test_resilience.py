"""Runs that survive the API's bad hours, SIGKILL and SIGTERM: nothing lost, nothing paid twice."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.core.jobs import Job
from orchestrator.core.manifest import load_manifest
from orchestrator.core.planner import plan
from orchestrator.fakeapi import FakeConfig, Faults, request_key
from tests.depth import scaled
from tests.integration.fakes import RunningFake, assert_tree_matches, fake_in_thread

AS_OF = date(2024, 6, 20)
SUBMIT_ANSWERED = ("submitting", "submitted")
KILLS = scaled(10, quick=0.5)
"""SIGKILLs per soak: 5 in `make test`, 20 in `make soak`."""


def manifest_for(
    folder: Path,
    days: int,
    exports: tuple[str, ...] = ("conversation", "user", "author"),
    *,
    team_filter: bool = True,
) -> Path:
    """Daily windows over the last `days` days; each export unfiltered, and filtered by a team."""
    filters = "\n      - {}" + ("\n      - {label: team-3, teamIds: [3]}" if team_filter else "")
    entries = "\n".join(
        f"  - name: {export_id.replace('_', '-')}\n    export_id: {export_id}\n    filters:{filters}"
        for export_id in exports
    )
    start = date.fromordinal(AS_OF.toordinal() - days)
    path = folder / "jobs.yaml"
    path.write_text(
        f"version: 1\ndefaults:\n  range: {{start: {start}, end: today}}\nexports:\n{entries}\n"
    )
    return path


def planned(manifest: Path) -> list[Job]:
    return list(plan(load_manifest(manifest), as_of=AS_OF).jobs)


def latest_report(out: Path) -> dict[str, Any]:
    newest = max((out / "_runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return dict(json.loads(newest.read_text()))


@pytest.mark.slow
def test_chaos_every_fault_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 429s, 5xx, FAILED exports, cut downloads and expired links all switched on, a run of
    300 jobs still ends with exit 0, every file intact, nothing stray and no credential leaked."""
    manifest, out = manifest_for(tmp_path, 50), tmp_path / "out"
    faults = Faults(
        rate_limit=0.1,
        server_error=0.1,
        job_failure=0.1,
        cut_download=0.1,
        expired_url=0.1,
        text_plain=0.1,
        retry_after_seconds=0,
    )
    config = FakeConfig(job_duration=(0.005, 0.03), faults=faults, seed=7)
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(
            out, ORCHESTRATOR_MAX_IN_FLIGHT="30", ORCHESTRATOR_MAX_DOWNLOADS="8"
        ).items():
            monkeypatch.setenv(name, value)
        code = main(["run", str(manifest), "--as-of", AS_OF.isoformat()])
        counters = fake.fake.counters
    jobs = planned(manifest)
    assert len(jobs) == 300
    assert code == 0
    assert_tree_matches(out, jobs, latest_report(out), config)
    assert counters.credential_leaks == 0
    assert counters.rejections["rate_limited"] and counters.rejections["server_error"]
    assert counters.downloads_cut and counters.expired_urls_issued and counters.jobs_failed


def journal_events(out: Path) -> dict[str, list[str]]:
    connection = sqlite3.connect(out / ".orchestrator" / "journal.sqlite")
    try:
        rows = connection.execute("SELECT key, state FROM events ORDER BY id").fetchall()
    finally:
        connection.close()
    history: dict[str, list[str]] = {}
    for key, state in rows:
        history.setdefault(key, []).append(state)
    return history


def assert_never_resubmitted(jobs: list[Job], fake: RunningFake, out: Path) -> None:
    """No job was submitted again once its ids were journaled, and the fake saw no more submits of
    a request than the journal recorded intents to submit it."""
    history = journal_events(out)
    submits = fake.fake.counters.submits_by_request
    for job in jobs:
        states = history[job.key]
        first_ids = states.index("submitted")
        assert "submitting" not in states[first_ids:], (job.key, states)
        key = request_key(job.source, job.export_id, job.request_params())
        # every pair of ids journaled after a create came from a create the fake really
        # received, and the fake received no create the journal did not announce first
        answered = sum(1 for a, b in itertools.pairwise(states) if (a, b) == SUBMIT_ANSWERED)
        assert answered <= submits[key] <= states.count("submitting"), (job.key, states)


def cli(manifest: Path, fake: RunningFake, out: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **fake.environment(out, **extra)}
    command = [
        sys.executable,
        "-m",
        "orchestrator",
        "run",
        str(manifest),
        "--as-of",
        AS_OF.isoformat(),
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def journaled_creates(out: Path) -> int:
    """How many creates' ids the journal holds (read while a run writes it: WAL allows that)."""
    try:
        return sum(states.count("submitted") for states in journal_events(out).values())
    except sqlite3.Error:
        return 0  # not created yet, or caught mid-creation


def created(out: Path, count: int) -> Callable[[], bool]:
    """A moment: the journal holds the ids of `count` creates."""
    return lambda: journaled_creates(out) >= count


def streaming(out: Path) -> Callable[[], bool]:
    """A moment: a file of this run is streaming (a temporary file not left by an earlier run)."""
    left = set(out.rglob("*.part"))
    return lambda: any(part not in left for part in out.rglob("*.part"))


def kill_at(process: subprocess.Popen[bytes], moment: Callable[[], bool]) -> int:
    """SIGKILL the run as soon as `moment` holds; its exit code (0 if it finished first)."""
    deadline = time.monotonic() + 60
    while process.poll() is None and not moment():
        assert time.monotonic() < deadline, "the moment to kill never came"
        time.sleep(0.002)
    process.kill()
    return process.wait(10)


@pytest.mark.slow
def test_sigkill_at_any_moment_loses_and_resubmits_nothing(tmp_path: Path) -> None:
    """Killed with SIGKILL again and again, alternately right after a create's ids reach the journal
    and while a file is streaming, the run resumes each time; in the end every file is intact and no
    journaled export was submitted twice."""
    manifest, out = manifest_for(tmp_path, scaled(10, quick=0.5)), tmp_path / "out"
    config = FakeConfig(job_duration=(0.05, 0.4), rows_per_day=8_000)
    exits: list[int] = []
    jobs = planned(manifest)
    with fake_in_thread(config) as fake:
        for kill in range(KILLS):
            creates = journaled_creates(out) + 3
            mid_download = kill % 2 or creates > len(jobs)
            moment = streaming(out) if mid_download else created(out, creates)
            process = cli(manifest, fake, out, ORCHESTRATOR_MAX_IN_FLIGHT="12")
            exits.append(kill_at(process, moment))
        for _ in range(3):
            final = cli(manifest, fake, out)
            if final.wait(120) == 0:
                break
        else:
            pytest.fail("the run never finished after the kills")
        assert_tree_matches(out, jobs, latest_report(out), config)
        assert_never_resubmitted(jobs, fake, out)
    assert exits.count(-signal.SIGKILL) == KILLS, f"every run should have been killed: {exits}"


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_the_rerun_finishes(tmp_path: Path) -> None:
    """SIGTERM ends the run within the grace period with code 143 and a consistent journal; the
    next run polls what was submitted instead of resubmitting it, and finishes."""
    manifest, out = manifest_for(tmp_path, 10), tmp_path / "out"
    config = FakeConfig(job_duration=(0.3, 0.6))
    with fake_in_thread(config) as fake:
        process = cli(manifest, fake, out, ORCHESTRATOR_GRACE_SECONDS="3")
        wait_until(lambda: fake.fake.counters.jobs_created >= 5, "no export was created")
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)  # the grace is 3 s; this only bounds a hang
        assert code == 143
        report = latest_report(out)
        assert report["exit_code"] == 143
        assert Counter(entry["status"] for entry in report["jobs"])["interrupted"] > 0
        assert not list(out.rglob("*.part"))
        rerun = cli(manifest, fake, out)
        assert rerun.wait(120) == 0
        jobs = planned(manifest)
        assert_tree_matches(out, jobs, latest_report(out), config)
        assert_never_resubmitted(jobs, fake, out)


def wait_until(condition: Callable[[], bool], failure: str, seconds: float = 30) -> None:
    """Return once `condition` holds (checked every 10 ms); fail after `seconds` (a hang)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.01)


def sigterm_mid_download(manifest: Path, fake: RunningFake, out: Path, **env: str) -> int:
    """Start a run, send SIGTERM as soon as a file is streaming, and return the run's exit code."""
    process = cli(manifest, fake, out, ORCHESTRATOR_GRACE_SECONDS="30", **env)
    wait_until(lambda: bool(list(out.rglob("*.part"))), "no download started")
    process.send_signal(signal.SIGTERM)
    return process.wait(60)


@pytest.mark.slow
def test_sigterm_lets_a_download_in_progress_finish(tmp_path: Path) -> None:
    """A SIGTERM that arrives mid-download lets the file complete within the grace period."""
    manifest, out = (
        manifest_for(tmp_path, 1, ("conversation",), team_filter=False),
        tmp_path / "out",
    )
    config = FakeConfig(job_duration=0.01, rows_per_day=150_000)
    with fake_in_thread(config) as fake:
        assert sigterm_mid_download(manifest, fake, out) == 143
    report = latest_report(out)
    assert [entry["status"] for entry in report["jobs"]] == ["downloaded"]
    assert_tree_matches(out, planned(manifest), report, config)


@pytest.mark.slow
def test_sigterm_lets_a_split_windows_piece_finish_its_download(tmp_path: Path) -> None:
    """A piece of a split window that is downloading when SIGTERM arrives completes its file."""
    manifest, out = (
        manifest_for(tmp_path, 1, ("conversation",), team_filter=False),
        tmp_path / "out",
    )
    faults = Faults(max_window_seconds=12 * 3600)
    config = FakeConfig(job_duration=0.01, rows_per_day=300_000, faults=faults)
    with fake_in_thread(config) as fake:
        assert sigterm_mid_download(manifest, fake, out, ORCHESTRATOR_MAX_DOWNLOADS="1") == 143
    report = latest_report(out)
    pieces = [entry for entry in report["jobs"] if entry["status"] == "downloaded"]
    assert pieces and all(entry["parent_key"] for entry in pieces)
    assert_tree_matches(out, planned(manifest), report, config)
