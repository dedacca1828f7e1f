"""`_SUCCESS` markers end to end: written where every planned export of a date folder is final,
never where one failed, and rewritten by the run that completes or changes the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.fakeapi import FakeConfig, Faults
from tests.integration.fakes import fake_in_thread
from tests.integration.test_resilience import AS_OF, manifest_for


def markers_under(out: Path) -> dict[str, dict[str, object]]:
    return {
        str(path.parent.relative_to(out)): json.loads(path.read_text())
        for path in out.rglob("_SUCCESS")
    }


def run(manifest: Path, out: Path, config: FakeConfig, monkeypatch: pytest.MonkeyPatch) -> int:
    with fake_in_thread(config) as fake:
        for name, value in fake.environment(
            out, ORCHESTRATOR_MIN_WINDOW_SECONDS="86400", ORCHESTRATOR_RESUBMIT_ATTEMPTS="1"
        ).items():
            monkeypatch.setenv(name, value)
        return main(["run", str(manifest), "--as-of", AS_OF.isoformat()])


def test_markers_follow_the_folders_that_are_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder whose export failed has no marker while the others have one each; the run that
    completes it writes its marker, and a rerun that reuses everything leaves the markers as
    they were."""
    manifest, out = manifest_for(tmp_path, 2, ("conversation", "user")), tmp_path / "out"
    failing = FakeConfig(job_duration=0.005, faults=Faults(failing_exports=frozenset({"user"})))
    assert run(manifest, out, failing, monkeypatch) == 1
    first = markers_under(out)
    assert first and all(folder.startswith("conversation/") for folder in first)
    assert len(first) == 2  # two days of conversations, each with both of its filter sets
    assert all(len(doc["files"]) == 2 for doc in first.values())  # type: ignore[arg-type]

    healthy = FakeConfig(job_duration=0.005)
    assert run(manifest, out, healthy, monkeypatch) == 0
    second = markers_under(out)
    assert len(second) == 4
    assert {k: second[k] for k in first} == first  # reused folders keep their marker as it was

    stamps = {path: path.stat().st_mtime_ns for path in out.rglob("_SUCCESS")}
    assert run(manifest, out, healthy, monkeypatch) == 0
    assert {path: path.stat().st_mtime_ns for path in out.rglob("_SUCCESS")} == stamps


def test_a_folder_that_stops_being_complete_loses_its_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forced rerun in which an export fails removes that folder's marker: a marker never
    vouches for a folder whose files may have changed under it."""
    manifest = manifest_for(tmp_path, 1, ("user",), team_filter=False)
    out = tmp_path / "out"
    assert run(manifest, out, FakeConfig(job_duration=0.005), monkeypatch) == 0
    assert len(markers_under(out)) == 1
    failing = FakeConfig(job_duration=0.005, faults=Faults(failing_exports=frozenset({"user"})))
    with fake_in_thread(failing) as fake:
        for name, value in fake.environment(
            out, ORCHESTRATOR_MIN_WINDOW_SECONDS="86400", ORCHESTRATOR_RESUBMIT_ATTEMPTS="1"
        ).items():
            monkeypatch.setenv(name, value)
        assert main(["run", str(manifest), "--as-of", AS_OF.isoformat(), "--force"]) == 1
    assert markers_under(out) == {}


def test_markers_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ORCHESTRATOR_SUCCESS_MARKERS=false writes none."""
    manifest, out = manifest_for(tmp_path, 1, ("user",), team_filter=False), tmp_path / "out"
    monkeypatch.setenv("ORCHESTRATOR_SUCCESS_MARKERS", "false")
    assert run(manifest, out, FakeConfig(job_duration=0.005), monkeypatch) == 0
    assert markers_under(out) == {}
