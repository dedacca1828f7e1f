"""The catalog at the command line: validate, plan and run apply it before any request (errors
exit 2, warnings warn, --strict makes them errors), and `orchestrator exports` lists it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.edges.settings import ENV_PREFIX

AS_OF = "2024-03-12"
HEAD = """\
version: 1
defaults:
  range: {start: 2024-03-09, end: today}
exports:
"""
WRONG = HEAD + (
    "  - {name: a, export_id: conversation, filters: [{priorities: [0, 7]}]}\n"
    "  - {name: b, export_id: team_performance_interval, window: 7d,"
    " filters: [{timeInterval: 3600000}]}\n"
)
DOUBTFUL = HEAD + (
    "  - {name: a, export_id: conversation, filters: [{teamId: [4, 5]}]}\n"
    "  - {name: b, source: publishing, export_id: raw_brand_post}\n"
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No ORCHESTRATOR_* variable or .env file of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def write(folder: Path, text: str) -> str:
    path = folder / "jobs.yaml"
    path.write_text(text)
    return str(path)


def test_errors_stop_validate_plan_and_run_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Priorities of 7 and a week of hourly buckets exit 2, located, naming what is allowed, and
    `run` sends nothing (its base URL is a port where nothing listens)."""
    manifest = write(tmp_path, WRONG)
    for name, value in {"USERNAME": "u", "PASSWORD": "p", "COMPANY_KEY": "k"}.items():
        monkeypatch.setenv(f"{ENV_PREFIX}{name}", value)
    monkeypatch.setenv(f"{ENV_PREFIX}BASE_URL", "http://127.0.0.1:9")
    for command in (["validate"], ["plan"], ["run", "--out", str(tmp_path / "out")]):
        assert main([*command, manifest, "--as-of", AS_OF]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "jobs.yaml:5:67: exports[0].filters[0].priorities[1]: priorities '7'" in captured.err
        assert "exports[1].filters[0].timeInterval: windows of 7d (1 week)" in captured.err
        assert "'Too many buckets'" in captured.err
    assert not (tmp_path / "out").exists()


def test_warnings_warn_and_strict_makes_them_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teamId on conversation warns, a Publishing export is noted once, the manifest is valid;
    --strict exits 2 on the warning alone; validate --json lists it among the warnings."""
    manifest = write(tmp_path, DOUBTFUL)
    assert main(["validate", manifest, "--as-of", AS_OF]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "does not take 'teamId' (taken by user)" in err
    assert err.count("note: Publishing export IDs") == 1
    assert main(["plan", manifest, "--as-of", AS_OF, "--strict"]) == 2
    err = capsys.readouterr().err
    assert "--strict makes warnings errors" in err and "exports[0].filters[0].teamId" in err
    assert "Publishing" not in err
    assert main(["validate", manifest, "--as-of", AS_OF, "--json"]) == 0
    (warning,) = json.loads(capsys.readouterr().out)["warnings"]
    assert "does not take 'teamId'" in warning


def test_exports_lists_every_export_with_its_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    """`exports` names each ID, UI name, methods and each parameter's kind and values."""
    assert main(["exports"]) == 0
    out = capsys.readouterr().out
    assert (
        "conversation  (Raw Conversation)  POST; a POST sends every parameter in the query" in out
    )
    assert "user  (User)  GET and POST; a POST keeps companyKey in the query" in out
    assert " priorities           comma               0, 1, 2, 3, 4, 5" in out
    assert " timeInterval       * single              300000, 600000" in out
    assert "13 Care export IDs" in out


def test_exports_shows_one_export_in_detail_and_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    """With an ID, every parameter with its rule and source; --json is the same as data."""
    assert main(["exports", "conversation_history_action"]) == 0
    out = capsys.readouterr().out
    assert "a POST keeps companyKey, raiselimit in the query, the rest in a form body" in out
    assert "true raises the cap on actions per conversation from 500 to 2000" in out
    assert "(API-CATALOG.md §2, §5)" in out
    assert main(["exports", "team_performance_interval", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    interval = next(p for p in document["params"] if p["name"] == "timeInterval")
    assert (interval["kind"], interval["required"], interval["values"][-1]) == (
        "single",
        True,
        "604800000",
    )
    assert main(["exports", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["care"]) == 13


def test_exports_refuses_an_unknown_id_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An ID the catalog lacks exits 2 with a did-you-mean."""
    assert main(["exports", "converstion"]) == 2
    assert "did you mean 'conversation'?" in capsys.readouterr().err
