"""The small promises of the command line: a backfill over `--range`, the journal `plan` reads,
`status` without a journal and per job, `config` with every setting flag of `run`, and a
missing manifest named before missing credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import build_parser, main
from orchestrator.edges import settings as settings_module
from orchestrator.edges.settings import SECRET_FIELDS, Settings
from orchestrator.fakeapi import FakeConfig
from tests.integration.fakes import fake_in_thread

AS_OF = "2024-03-12"
RANGE = "2024-03-09..2024-03-11"
MANIFEST = """
version: 1
timezone: America/Chicago
defaults:
  range: {start: 2024-02-01, end: 2024-02-03}
  window: 1d
exports:
  - name: conversations
    export_id: conversation
"""


@dataclass(frozen=True)
class Backfill:
    """One run of MANIFEST with --range into a fresh output folder, with a metrics file in it."""

    manifest: Path
    out: Path
    code: int
    report: dict[str, Any]


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfill]:
    folder = tmp_path_factory.mktemp("backfill")
    manifest, out = folder / "jobs.yaml", folder / "out6"
    manifest.write_text(MANIFEST)
    with fake_in_thread(FakeConfig(job_duration=0.01)) as fake, pytest.MonkeyPatch.context() as mp:
        for name, value in fake.environment(folder / "elsewhere").items():
            mp.setenv(name, value)
        metrics = ["--metrics-file", str(out / "metrics" / "run.prom")]
        code = main(
            ["run", str(manifest), "--as-of", AS_OF, "--range", RANGE, "--out", str(out), *metrics]
        )
    [report] = (out / "_runs").glob("*.json")
    yield Backfill(manifest, out, code, json.loads(report.read_text()))


def test_a_run_over_range_replaces_every_export_range_and_the_report_says_so(
    backfill: Backfill,
) -> None:
    """`run --range` fetches the windows of the given range, not the manifest's, and the report
    records the range beside its manifest and run date."""
    assert backfill.code == 0
    starts = [job["window_start"][:10] for job in backfill.report["jobs"]]
    assert starts == ["2024-03-09", "2024-03-10"]
    assert backfill.report["range"] == RANGE
    assert (backfill.report["manifest"], backfill.report["as_of"]) == (
        str(backfill.manifest),
        AS_OF,
    )


def test_a_metrics_file_inside_a_fresh_output_folder_is_accepted_and_written(
    backfill: Backfill,
) -> None:
    """`--metrics-file out6/metrics/run.prom` with an `--out out6` that did not exist yet runs,
    and the metrics file is there at the end."""
    assert backfill.code == 0
    assert "orchestrator" in (backfill.out / "metrics" / "run.prom").read_text()


def test_plan_names_the_journal_of_the_output_folder_it_was_given(
    backfill: Backfill, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan --out` learns from that folder's journal and names it; elsewhere it says there is
    none; both with the range shown."""
    common = [str(backfill.manifest), "--as-of", AS_OF, "--range", RANGE]
    assert main(["plan", *common, "--out", str(backfill.out)]) == 0
    shown = capsys.readouterr().out
    assert f"journal read: {backfill.out / '.orchestrator' / 'journal.sqlite'}" in shown
    assert "learned from the journal" in shown
    assert f"every export over --range {RANGE}" in shown
    assert main(["plan", *common, "--out", str(tmp_path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["journal"] == str(tmp_path / ".orchestrator" / "journal.sqlite")
    assert document["range"] == RANGE and document["total"] == 2


def test_status_json_lists_where_each_planned_job_stands(
    backfill: Backfill, capsys: pytest.CaptureFixture[str]
) -> None:
    """`status MANIFEST --json` lists each planned job with its key, export, window, state and
    path; a day the run did not cover is not started and has no path."""
    arguments = [str(backfill.manifest), "--as-of", AS_OF, "--range", "2024-03-09..2024-03-12"]
    assert main(["status", *arguments, "--out", str(backfill.out), "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    done = {job["key"]: job["path"] for job in backfill.report["jobs"]}
    assert [(job["window_start"][:10], job["state"]) for job in jobs] == [
        ("2024-03-09", "done"),
        ("2024-03-10", "done"),
        ("2024-03-11", "not_started"),
    ]
    assert [job["path"] for job in jobs] == [*done.values(), None]
    assert [job["key"] for job in jobs[:2]] == list(done)
    assert {job["export"] for job in jobs} == {"conversations"}
    assert jobs[0]["window_end"][:10] == "2024-03-10"


def test_status_of_a_folder_without_a_journal_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`status --out` on a folder no run wrote to is an error (exit 2) naming the journal sought,
    not an empty, healthy answer."""
    assert main(["status", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"no journal at {tmp_path / '.orchestrator' / 'journal.sqlite'}" in error


def test_a_missing_manifest_is_named_before_missing_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run missing.yaml` without credentials says the manifest is missing, not the credentials."""
    monkeypatch.chdir(tmp_path)
    for name in SECRET_FIELDS:
        monkeypatch.delenv(f"ORCHESTRATOR_{name.upper()}", raising=False)
    assert main(["run", "missing.yaml"]) == 2
    error = capsys.readouterr().err
    assert "missing.yaml: no such manifest file" in error
    assert "credentials" not in error


def test_range_errors_are_usage_errors_naming_the_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed range, and one empty at the run date, exit 2 with a message naming it."""
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text(MANIFEST)
    with pytest.raises(SystemExit) as caught:
        main(["plan", str(manifest), "--range", "2024-03-09"])
    assert caught.value.code == 2
    assert "'2024-03-09' is not START..END" in capsys.readouterr().err
    assert main(["validate", str(manifest), "--as-of", AS_OF, "--range", "today..today-1d"]) == 2
    assert "--range today..today-1d: end 2024-03-11" in capsys.readouterr().err


def options(command: str) -> dict[str, str]:
    """A command's options, each by its destination."""
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.dest == "==SUPPRESS==" and a.choices]
    chosen = commands.choices[command]  # type: ignore[index]
    return {a.dest: a.option_strings[0] for a in chosen._actions if a.option_strings}


def test_config_takes_every_flag_of_run_that_sets_a_setting() -> None:
    """Each option of `run` that sets a setting (and `--shard`, which sets the shard count) is an
    option of `config` too, under the same name."""
    run, config = options("run"), options("config")
    setting_flags = {d: f for d, f in run.items() if d in Settings.model_fields or d == "shard"}
    assert setting_flags.keys() >= {"max_jobs", "shard", "out", "metrics_file"}
    assert {d: config.get(d) for d in setting_flags} == setting_flags


def test_config_shows_what_max_jobs_and_shard_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`config --max-jobs 5 --shard 1/4` shows max_jobs 5, shards 4 (both from a flag) and the
    journal of shard 1."""
    assert main(["config", "--out", str(tmp_path), "--max-jobs", "5", "--shard", "1/4"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["max_jobs"], shown["shards"]) == (5, 4)
    assert shown["_sources"]["max_jobs"] == shown["_sources"]["shards"] == "flag"
    assert shown["_journal_path"] == str(tmp_path / ".orchestrator" / "journal.shard-1-of-4.sqlite")


def test_config_does_not_show_a_secrets_dir_from_dotenv_as_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECRETS_DIR in `.env` is not read (only the environment's is): `config` shows the folder
    really read (none here) with its true source, and warns that the line is ignored."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "password").write_text("from-the-ignored-folder")
    (tmp_path / ".env").write_text(f"ORCHESTRATOR_SECRETS_DIR={folder}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCHESTRATOR_SECRETS_DIR", raising=False)
    monkeypatch.delenv("ORCHESTRATOR_PASSWORD", raising=False)
    monkeypatch.setattr(settings_module, "DEFAULT_SECRETS_DIR", tmp_path / "absent")
    assert main(["config"]) == 0
    captured = capsys.readouterr()
    shown = json.loads(captured.out)
    assert shown["secrets_dir"] is None and shown["password"] is None
    assert shown["_sources"]["secrets_dir"] == "default"
    assert ".env sets ORCHESTRATOR_SECRETS_DIR" in captured.err


def test_a_metrics_file_in_the_output_folder_to_be_is_a_valid_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A metrics file under a fresh `--out` is accepted (the run creates the folder); one in a
    missing folder elsewhere is still refused."""
    out = tmp_path / "out6"
    assert main(["config", "--out", str(out), "--metrics-file", str(out / "x.prom")]) == 0
    assert json.loads(capsys.readouterr().out)["metrics_file"] == str(out / "x.prom")
    assert main(["config", "--out", str(out), "--metrics-file", str(tmp_path / "no/x.prom")]) == 2
