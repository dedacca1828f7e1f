"""Hostile settings and files on the command line: each ends `run` with exit code 2 and a message
naming it before the API gets a single request, and none hangs `validate`, `plan` or `config`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.edges.settings import ENV_PREFIX
from orchestrator.fakeapi import FakeConfig
from tests.hang import time_limit
from tests.integration.fakes import RunningFake, fake_in_thread

AS_OF = "2024-03-12"
MANIFEST = """\
version: 1
timezone: America/Chicago
exports:
  - name: demographics
    export_id: conversation
    range: {start: 2024-03-09, end: today}
"""

Setup = Callable[[Path, pytest.MonkeyPatch], list[str]]
"""Makes one hostile condition in the test's folder; returns extra arguments for `run`."""


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFake]:
    """One fake API for the module: every test asserts it never got a request."""
    with fake_in_thread(FakeConfig(job_duration=(0.01, 0.02))) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ORCHESTRATOR_* variable or .env file of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs.yaml").write_text(MANIFEST)
    (tmp_path / "outside").mkdir()


def dotenv_fifo(folder: Path, _: pytest.MonkeyPatch) -> list[str]:
    os.mkfifo(folder / ".env")
    return []


def metrics_fifo(folder: Path, _: pytest.MonkeyPatch) -> list[str]:
    os.mkfifo(folder / "metrics.prom")
    return ["--metrics-file", str(folder / "metrics.prom")]


def secret_fifo(folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (folder / "secrets").mkdir()
    os.mkfifo(folder / "secrets" / "password")
    monkeypatch.setenv(f"{ENV_PREFIX}SECRETS_DIR", str(folder / "secrets"))
    monkeypatch.delenv(f"{ENV_PREFIX}PASSWORD")
    return []


def journal_fifo(folder: Path, _: pytest.MonkeyPatch) -> list[str]:
    (folder / "out" / ".orchestrator").mkdir(parents=True)
    os.mkfifo(folder / "out" / ".orchestrator" / "journal.sqlite")
    return []


def linked_out(name: str) -> Setup:
    def setup(folder: Path, _: pytest.MonkeyPatch) -> list[str]:
        (folder / "out").mkdir()
        (folder / "out" / name).symlink_to(folder / "outside")
        return []

    return setup


def setting(name: str, value: str) -> Setup:
    def setup(_: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        monkeypatch.setenv(f"{ENV_PREFIX}{name}", value)
        return []

    return setup


CASES: dict[str, tuple[Setup, str]] = {
    "dotenv-fifo": (dotenv_fifo, ".env is a FIFO"),
    "metrics-file-fifo": (metrics_fifo, "metrics.prom is a FIFO"),
    "secret-file-fifo": (secret_fifo, "secrets/password is a FIFO"),
    "journal-fifo": (journal_fifo, "journal.sqlite is a FIFO"),
    "runs-linked-out": (linked_out("_runs"), "out/_runs: a symlink leads out of"),
    "state-linked-out": (linked_out(".orchestrator"), "out/.orchestrator: a symlink leads out"),
    "export-linked-out": (linked_out("demographics"), "out/demographics: a symlink leads out"),
    "care-path-field": (setting("CARE_PATH", "/a/{nope}"), f"{ENV_PREFIX}CARE_PATH: "),
    "publishing-path-attribute": (
        setting("PUBLISHING_PATH", "/a/{export_id.__class__}"),
        f"{ENV_PREFIX}PUBLISHING_PATH: ",
    ),
    "tiny-request-budget": (
        setting("REQUESTS_PER_MINUTE", "1e-300"),
        f"{ENV_PREFIX}REQUESTS_PER_MINUTE: ",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_condition_stops_the_run_before_any_request(
    fake: RunningFake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    """`run` exits 2 naming the setting or file, the API got no request, nothing was written
    outside the output tree, and nothing blocked."""
    for name, value in fake.environment(tmp_path / "out").items():
        monkeypatch.setenv(name, value)
    setup, words = CASES[case]
    extra = setup(tmp_path, monkeypatch)
    with time_limit():
        code = main(["run", "jobs.yaml", "--as-of", AS_OF, *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in err
    assert set(fake.fake.counters.requests.values()) <= {0}
    assert list((tmp_path / "outside").iterdir()) == []


@pytest.mark.parametrize("command", [["validate", "jobs.yaml"], ["plan", "jobs.yaml"], ["config"]])
def test_a_dotenv_fifo_is_refused_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """A FIFO named .env ends validate, plan and config with exit 2 naming it, at once."""
    os.mkfifo(tmp_path / ".env")
    with time_limit():
        assert main([*command, "--as-of", AS_OF] if command != ["config"] else command) == 2
    assert ".env is a FIFO (named pipe), not a regular file" in capsys.readouterr().err


def test_plan_refuses_a_request_budget_it_could_never_keep(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """REQUESTS_PER_MINUTE=1e-300 is exit 2 for plan, not an estimate of 750,000,000 hours."""
    monkeypatch.setenv(f"{ENV_PREFIX}REQUESTS_PER_MINUTE", "1e-300")
    assert main(["plan", "jobs.yaml", "--as-of", AS_OF]) == 2
    captured = capsys.readouterr()
    assert f"{ENV_PREFIX}REQUESTS_PER_MINUTE: 1e-300 requests a minute" in captured.err
    assert captured.out == ""
