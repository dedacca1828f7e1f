"""`status` knows the plan when given the manifest, works during a run, and exits 1 on failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import fake_in_thread
from tests.integration.test_resilience import AS_OF, manifest_for, wait_until


def status_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    code = main(["status", *arguments, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_status_places_every_planned_job_and_exits_1_on_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a run of 3 days where one export always fails, the plan of 4 days counts 3 done,
    3 failed and 2 not started (the new day); status exits 1 because of the failures."""
    out = tmp_path / "out"
    (tmp_path / "ran").mkdir()
    ran = manifest_for(tmp_path / "ran", 3, ("conversation", "user"), team_filter=False)
    bigger = manifest_for(tmp_path, 4, ("conversation", "user"), team_filter=False)
    config = FakeConfig(job_duration=0.01, faults=Faults(failing_exports=frozenset({"user"})))
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(
            out, ORCHESTRATOR_RESUBMIT_ATTEMPTS="1", ORCHESTRATOR_MIN_WINDOW_SECONDS="86400"
        ).items():
            monkeypatch.setenv(name, value)
        assert main(["run", str(ran), "--as-of", AS_OF.isoformat()]) == 1
    code, shown = status_json(capsys, str(bigger), "--as-of", AS_OF.isoformat())
    assert code == 1
    assert shown["plan"] == {"planned": 8, "done": 3, "pending": 0, "failed": 3, "not_started": 2}
    assert {entry["export"] for entry in shown["failed"]} == {"user"}
    assert shown["oldest_pending"] is None


def test_status_works_while_a_run_holds_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """During a run (which holds the journal's lock), status reads it and sees pending jobs."""
    manifest, out = manifest_for(tmp_path, 2, ("conversation",)), tmp_path / "out"
    with fake_in_thread(FakeConfig(job_duration=30)) as fake:
        env = {**os.environ, **fake.environment(out)}
        command = [sys.executable, "-m", "orchestrator", "run", str(manifest)]
        command += ["--as-of", AS_OF.isoformat()]
        run = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_until(lambda: fake.fake.counters.jobs_created >= 4, "the run created nothing")
            monkeypatch.setenv("ORCHESTRATOR_OUT", str(out))
            code, shown = status_json(capsys, str(manifest), "--as-of", AS_OF.isoformat())
            assert run.poll() is None, "the run had ended: status did not read it mid-run"
        finally:
            run.terminate()
            try:
                run.wait(30)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait(30)
    assert code == 0
    assert shown["plan"]["pending"] == 4
    assert shown["oldest_pending"]["state"] in ("submitting", "submitted")
