"""A full disk at each write (the sink, the journal, the report): the run stops or finishes with
exit 1, the ids of every created export are journaled, nothing partial stays behind, and the next
run polls those exports again instead of creating them a second time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.app import run as app_run
from orchestrator.cli import main
from orchestrator.core.records import JobRecord
from orchestrator.edges import report as report_module
from orchestrator.edges import sink as sink_module
from orchestrator.edges.journal import read_records
from orchestrator.fakeapi import FakeConfig
from tests.fulldisk import FullDiskJournal, full
from tests.integration.fakes import RunningFake, fake_in_thread
from tests.integration.test_resilience import AS_OF, latest_report, manifest_for

DAYS = 4
CONFIG = FakeConfig(job_duration=0.005)


def run(
    manifest: Path, fake: RunningFake, out: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> int:
    for name, value in fake.environment(out, **env).items():
        monkeypatch.setenv(name, value)
    return main(["run", str(manifest), "--as-of", AS_OF.isoformat()])


def journal_of(out: Path) -> dict[str, JobRecord]:
    return read_records(out / ".orchestrator" / "journal.sqlite")


def partial_files(out: Path) -> list[Path]:
    return list(out.rglob("*.part"))


def resubmitted(out: Path) -> list[str]:
    return [entry["key"] for entry in latest_report(out)["jobs"] if entry["resubmitted_uncertain"]]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return manifest_for(tmp_path, DAYS, ("conversation",), team_filter=False)


def test_a_full_output_disk_stops_the_run_and_the_next_run_polls_what_it_created(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ENOSPC writing an export file stops the run at once (exit 1, "no space left"); every
    export it created is journaled with its ids and no partial file stays; once the disk has
    room, the next run fetches them all without creating any again."""
    out = tmp_path / "out"
    with fake_in_thread(CONFIG) as fake:
        with monkeypatch.context() as patch:
            patch.setattr(sink_module, "_open_temp", full(sink_module._open_temp))
            assert run(manifest, fake, out, monkeypatch) == 1
        assert "no space left on the device" in capsys.readouterr().err
        created = fake.fake.counters.jobs_created
        records = journal_of(out)
        assert len(records) == created >= 1
        assert all(r.state in ("submitted", "ready") and r.ids for r in records.values())
        assert partial_files(out) == []
        assert run(manifest, fake, out, monkeypatch) == 0
        assert fake.fake.counters.max_submits() == 1
        assert fake.fake.counters.jobs_created == DAYS
    assert resubmitted(out) == []


def test_a_journal_write_that_meets_a_full_disk_still_keeps_the_ids(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When journaling a create's ids meets a full disk, the journal's reserve takes them and the
    run stops (exit 1, "disk of the journal ... is full"); the next run creates nothing twice."""
    out = tmp_path / "out"
    with fake_in_thread(CONFIG) as fake:
        with monkeypatch.context() as patch:
            patch.setattr(app_run, "Journal", FullDiskJournal("submitted", failures=1))
            assert run(manifest, fake, out, monkeypatch) == 1
        assert "the disk of the journal" in capsys.readouterr().err
        created = fake.fake.counters.jobs_created
        records = journal_of(out)
        assert len(records) == created >= 1
        assert all(r.ids for r in records.values())
        assert run(manifest, fake, out, monkeypatch) == 0
        assert fake.fake.counters.max_submits() == 1
    assert resubmitted(out) == []


def test_a_journal_that_cannot_be_written_stops_the_run_at_once(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When the journal cannot take a create's ids at all, the run stops at that create (exit 1,
    "cannot write the journal"); the next run submits that one export again and flags it."""
    out = tmp_path / "out"
    with fake_in_thread(CONFIG) as fake:
        with monkeypatch.context() as patch:
            patch.setattr(app_run, "Journal", FullDiskJournal("submitted", failures=10**6))
            code = run(manifest, fake, out, monkeypatch, ORCHESTRATOR_MAX_IN_FLIGHT="1")
        assert code == 1
        assert "cannot write the journal" in capsys.readouterr().err
        assert fake.fake.counters.jobs_created == 1
        assert [r.state for r in journal_of(out).values()] == ["submitting"]
        assert run(manifest, fake, out, monkeypatch) == 0
        assert fake.fake.counters.jobs_created == DAYS + 1
    assert len(resubmitted(out)) == 1


def test_a_report_that_meets_a_full_disk_leaves_nothing_partial(
    manifest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ENOSPC writing the run report: exit 1, no partial report left in _runs, every job
    journaled as done; the next run reuses every file and creates nothing."""
    out = tmp_path / "out"
    with fake_in_thread(CONFIG) as fake:
        with monkeypatch.context() as patch:
            patch.setattr(report_module, "_open_temp", full(report_module._open_temp))
            assert run(manifest, fake, out, monkeypatch) == 1
        assert "orchestrator.report_failed" in capsys.readouterr().err
        assert list((out / "_runs").iterdir()) == []
        assert {r.state for r in journal_of(out).values()} <= {"downloaded", "empty"}
        assert run(manifest, fake, out, monkeypatch) == 0
        assert fake.fake.counters.jobs_created == DAYS
    assert all(entry["reused"] for entry in latest_report(out)["jobs"])


TMPFS_SCRIPT = """
mount -t tmpfs -o size={size} tmpfs "$DISK" || exit 99
"$PYTHON" -m orchestrator run "$MANIFEST" --as-of "$AS_OF" >/dev/null 2>"$KEPT/first.log"
echo $? > "$KEPT/first"
mount -o remount,size=64m "$DISK"
"$PYTHON" -m orchestrator run "$MANIFEST" --as-of "$AS_OF" >/dev/null 2>"$KEPT/second.log"
echo $? > "$KEPT/second"
cp -r "$DISK/." "$KEPT/out"
"""


TMPFS = {"output": "2m", "journal": "1200k"}
"""A tmpfs for the whole output tree, or for the journal alone (its 1 MiB reserve, and a little)."""


@pytest.mark.soak
@pytest.mark.slow
@pytest.mark.parametrize("holds", TMPFS)
def test_a_real_tmpfs_that_fills_up_loses_no_created_export(tmp_path: Path, holds: str) -> None:
    """On a real tmpfs that fills up under the output tree (or under the journal alone), the run
    stops with exit 1; once the tmpfs is grown, the next run fetches every export and creates
    none twice."""
    # a mount namespace of our own (unshare --user --map-root-user --mount); skipped without one
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    disk.mkdir()
    kept.mkdir()
    manifest = manifest_for(tmp_path, 20, ("conversation", "user"))
    config = FakeConfig(job_duration=0.05, rows_per_day=3000)
    where = {"ORCHESTRATOR_JOURNAL": str(disk / "journal.sqlite")} if holds == "journal" else {}
    out = disk if holds == "output" else tmp_path / "out"
    with fake_in_thread(config) as fake:
        env: dict[str, Any] = {
            **os.environ,
            **fake.environment(out, ORCHESTRATOR_GRACE_SECONDS="1", **where),
            "DISK": str(disk),
            "KEPT": str(kept),
            "PYTHON": sys.executable,
            "MANIFEST": str(manifest),
            "AS_OF": AS_OF.isoformat(),
        }
        script = TMPFS_SCRIPT.format(size=TMPFS[holds])
        command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script]
        done = subprocess.run(command, env=env, timeout=300, check=False, capture_output=True)
        if done.returncode == 99 or not (kept / "first").exists():
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
        first, second = ((kept / name).read_text().strip() for name in ("first", "second"))
        first_log = (kept / "first.log").read_text()
        assert first == "1", first_log
        assert "orchestrator.run_halted" in first_log  # the disk filled: the run stopped for it
        assert second == "0", (kept / "second.log").read_text()
        assert fake.fake.counters.max_submits() == 1
    assert partial_files(kept / "out") == []
    assert partial_files(out) == []
