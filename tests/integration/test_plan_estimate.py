"""`plan` says how long the plan will take at the configured budget, before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.fakeapi import FakeConfig
from tests.integration.fakes import fake_in_thread
from tests.integration.test_resilience import AS_OF, manifest_for


def test_plan_estimates_from_defaults_then_from_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no journal, the estimate is a first guess at 5 requests an export: 60 exports at 20
    a minute take 15 min. After a run that finished half of them, it counts only the rest, at the
    learned cost per export."""
    out = tmp_path / "out"
    monkeypatch.setenv("ORCHESTRATOR_OUT", str(out))
    monkeypatch.setenv("ORCHESTRATOR_REQUESTS_PER_MINUTE", "20")
    big = manifest_for(tmp_path, 20, ("conversation", "user", "author"), team_filter=False)
    assert main(["plan", str(big), "--as-of", AS_OF.isoformat()]) == 0
    text = capsys.readouterr().out
    assert "about 15 min for 60 exports (5.0 requests each, no history yet" in text

    small = tmp_path / "small"
    small.mkdir()
    half = manifest_for(small, 10, ("conversation", "user", "author"), team_filter=False)
    with fake_in_thread(FakeConfig(job_duration=(0.01, 0.03))) as fake:
        for name, value in fake.environment(out).items():
            monkeypatch.setenv(name, value)
        assert main(["run", str(half), "--as-of", AS_OF.isoformat()]) == 0
    monkeypatch.setenv("ORCHESTRATOR_REQUESTS_PER_MINUTE", "20")
    capsys.readouterr()
    assert main(["plan", str(big), "--as-of", AS_OF.isoformat(), "--json"]) == 0
    estimate = json.loads(capsys.readouterr().out)["estimate"]
    assert estimate["exports_to_do"] == 30
    assert estimate["learned"] is True
    assert estimate["requests_per_export"] < 5
    assert estimate["seconds"] == round(30 * estimate["requests_per_export"] * 3)
