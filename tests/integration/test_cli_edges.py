"""The CLI's rough edges: closed pipes, odd manifest paths, --strict, validate --json, the job
ceiling from the settings, an unwritable output tree, every option's help, --version and config."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cli import build_parser, main
from orchestrator.edges.settings import ENV_PREFIX, Settings
from orchestrator.fakeapi import FakeConfig
from tests.integration.fakes import fake_in_thread

AS_OF = "2024-03-12"
MANIFEST = """\
version: 1
timezone: America/Chicago
exports:
  - name: demographics
    export_id: conversation
    range: {start: 2024-03-09, end: today}
"""
HOURLY = MANIFEST.replace("export_id", "window: 1h\n    export_id").replace(
    "2024-03-09", "2024-01-01"
)
"""About 1,700 jobs: `plan --json` prints far more than a pipe buffer holds."""
MISSPELT = MANIFEST + "    filters:\n      - {prioritys: [0, 1]}\n"
SUBPROCESS_TIMEOUT = 60


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No ORCHESTRATOR_* variable or .env file of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def write(folder: Path, text: str = MANIFEST, name: str = "jobs.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- closed stdout


def run_into_closed_pipe(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with a stdout whose reading end is closed before it starts writing."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [sys.executable, "-m", "orchestrator", *argv],
            stdout=writer,
            stderr=subprocess.PIPE,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize(
    "command", [["plan", "--json"], ["plan"], ["validate"], ["validate", "--json"], ["status"]]
)
def test_a_closed_stdout_ends_quietly_with_141(tmp_path: Path, command: list[str]) -> None:
    """Writing to a pipe nobody reads ends with exit code 141 and nothing on stderr, no traceback."""
    manifest = [] if command == ["status"] else [str(write(tmp_path)), "--as-of", AS_OF]
    result = run_into_closed_pipe(*command, *manifest)
    assert result.returncode == 141
    assert result.stderr == b""


def test_a_run_whose_summary_reader_left_keeps_its_own_exit_code(tmp_path: Path) -> None:
    """`run ... | head` with the reader gone: the work is done and journaled, and the exit code is
    the run's (0 here), not 141, so a CI step still sees what happened."""
    manifest = write(tmp_path)
    with fake_in_thread(FakeConfig(job_duration=(0.01, 0.02))) as fake:
        env = {**os.environ, **fake.environment(tmp_path / "out")}
        reader, writer = os.pipe()
        os.close(reader)
        try:
            result = subprocess.run(
                [sys.executable, "-m", "orchestrator", "run", manifest, "--as-of", AS_OF],
                stdout=writer,
                stderr=subprocess.PIPE,
                env=env,
                timeout=SUBPROCESS_TIMEOUT,
                check=False,
            )
        finally:
            os.close(writer)
    assert result.returncode == 0
    assert b"Traceback" not in result.stderr
    assert list((tmp_path / "out" / "_runs").glob("*.json"))


def test_plan_json_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    """`plan --json | head -1`: the reader takes one line and leaves; the CLI exits 141 silently."""
    manifest = write(tmp_path, HOURLY)
    with subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "plan", "--json", str(manifest), "--as-of", AS_OF],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline() == b"{\n"
        child.stdout.close()
        stderr = child.stderr.read()
        code = child.wait(SUBPROCESS_TIMEOUT)
    assert code == 141
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr


# ----------------------------------------------------------------------------- manifest paths


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("/tmp", "/tmp is a folder, not a manifest file"),  # noqa: S108 - a folder that exists
        ("/dev/null", "/dev/null is not a regular file"),
        ("missing.yaml", "missing.yaml: no such manifest file"),
    ],
)
def test_a_manifest_path_that_is_not_a_file_says_what_it_is(
    given: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder, a device and a missing file each get their own message, and exit code 2."""
    assert main(["validate", given]) == 2
    assert words in capsys.readouterr().err


# ----------------------------------------------------------------------------- --strict


def test_strict_turns_warnings_into_errors_on_validate_plan_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt filter warns and passes; with --strict validate, plan and run exit 2 before any work."""
    manifest = str(write(tmp_path, MISSPELT))
    assert main(["validate", manifest, "--as-of", AS_OF]) == 0
    assert "did you mean 'priorities'?" in capsys.readouterr().err
    monkeypatch.setenv("ORCHESTRATOR_USERNAME", "demo")
    monkeypatch.setenv("ORCHESTRATOR_PASSWORD", "pw-strict")
    monkeypatch.setenv("ORCHESTRATOR_COMPANY_KEY", "key-strict")
    monkeypatch.setenv("ORCHESTRATOR_BASE_URL", "http://127.0.0.1:9")
    out = tmp_path / "out"
    for command in (["validate"], ["plan"], ["run", "--out", str(out)]):
        assert main([*command, manifest, "--as-of", AS_OF, "--strict"]) == 2
        captured = capsys.readouterr()
        assert "--strict makes warnings errors" in captured.err
        assert "exports[0].filters[0].prioritys" in captured.err
        assert captured.out == ""
    assert not out.exists()
    clean = str(write(tmp_path, MANIFEST, "ok.yaml"))
    assert main(["validate", clean, "--as-of", AS_OF, "--strict"]) == 0


def test_a_range_past_now_warns_naming_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` warns that a window of the export has not ended when the range reaches the future."""
    manifest = write(tmp_path, MANIFEST.replace("2024-03-09, end: today", "2998-12-28, end: today"))
    assert main(["validate", str(manifest), "--as-of", "2998-12-30"]) == 0
    err = capsys.readouterr().err
    assert "export 'demographics': the window" in err
    assert "has not ended yet" in err


# ----------------------------------------------------------------------------- validate --json


def test_validate_json_describes_a_valid_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid manifest gives one JSON object with valid true, the job count and the warnings."""
    manifest = str(write(tmp_path, MISSPELT))
    assert main(["validate", "--json", manifest, "--as-of", AS_OF]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["manifest"] == manifest
    assert document["valid"] is True
    assert document["jobs"] == 3
    assert document["as_of"] == AS_OF
    assert document["problems"] == []
    assert len(document["warnings"]) == 1 and "prioritys" in document["warnings"][0]
    assert "prioritys" not in captured.err


@pytest.mark.parametrize(
    ("text", "extra", "words"),
    [
        ("version: 2\n", [], "version"),
        (MISSPELT, ["--strict"], "prioritys"),
        (MANIFEST, ["--max-jobs", "2"], "more than 2 jobs"),
    ],
)
def test_validate_json_lists_problems_and_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    extra: list[str],
    words: str,
) -> None:
    """An invalid manifest (or a warning under --strict) gives valid false, the problems, and exit 2."""
    manifest = str(write(tmp_path, text))
    assert main(["validate", "--json", manifest, "--as-of", AS_OF, *extra]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["valid"] is False
    assert document["jobs"] is None
    assert any(words in problem for problem in document["problems"])
    assert set(document) == {"manifest", "valid", "jobs", "as_of", "warnings", "problems"}


def test_validate_json_of_a_folder_is_still_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A path that is not a file is a problem in the JSON object, not a bare message."""
    assert main(["validate", "--json", str(tmp_path)]) == 2
    assert "is a folder" in json.loads(capsys.readouterr().out)["problems"][0]


# ----------------------------------------------------------------------------- job ceiling


@pytest.mark.parametrize("command", [["validate"], ["plan"], ["plan", "--json"]])
def test_plan_and_validate_honour_the_max_jobs_setting(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    """ORCHESTRATOR_MAX_JOBS refuses a bigger plan, as `run` does; --max-jobs overrides it."""
    manifest = str(write(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_MAX_JOBS", "2")
    assert main([*command, manifest, "--as-of", AS_OF]) == 2
    assert "more than 2 jobs" in capsys.readouterr().err
    assert main([*command, manifest, "--as-of", AS_OF, "--max-jobs", "3"]) == 0


# ----------------------------------------------------------------------------- output tree


def test_an_unwritable_output_folder_fails_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out under a regular file exits 2 naming the folder, and the fake got no request at all."""
    manifest = str(write(tmp_path))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "out"
    with fake_in_thread(FakeConfig(job_duration=(0.01, 0.02))) as fake:
        for name, value in fake.environment(tmp_path / "unused").items():
            monkeypatch.setenv(name, value)
        code = main(["run", manifest, "--as-of", AS_OF, "--out", str(out)])
        requests = dict(fake.fake.counters.requests)
        created = fake.fake.counters.jobs_created
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot write to {out}: Not a directory; nothing was submitted" in err
    assert requests["create"] == 0 and set(requests.values()) == {0}, requests
    assert created == 0


# ----------------------------------------------------------------------------- help


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (choices,) = (
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return dict(choices)


@pytest.mark.parametrize("command", ["validate", "plan", "run", "config", "status"])
def test_every_option_has_help_with_its_default_and_setting(command: str) -> None:
    """Each option of the command is described; one backed by a setting names its variable and default."""
    parser = subcommands()[command]
    options = [action for action in parser._actions if action.dest != "help"]
    assert options
    for action in options:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        assert "default" in action.help, f"{command} {action.dest} does not state its default"
        if action.dest in Settings.model_fields:
            field = Settings.model_fields[action.dest]
            assert f"${ENV_PREFIX}{action.dest.upper()}" in action.help
            if field.default is not None:
                assert f"default: {field.default}" in action.help


def test_status_help_states_the_real_default_journal(capsys: pytest.CaptureFixture[str]) -> None:
    """`status --help` names <out>/.orchestrator/journal.sqlite, the path the journal really has."""
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "<out>/.orchestrator/journal.sqlite" in help_text
    assert Settings().journal_path() == Path("out/.orchestrator/journal.sqlite")


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`orchestrator --version` prints the installed package's version and exits 0."""
    from importlib.metadata import version

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"orchestrator {version('orchestrator')}"


# ----------------------------------------------------------------------------- config


def test_config_shows_where_each_value_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Flag, env, .env, secret file and default are each named; the user name shows, secrets do not."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "password").write_text("pw-from-a-file")
    (tmp_path / ".env").write_text("ORCHESTRATOR_LOG_LEVEL=debug\n")
    monkeypatch.setenv("ORCHESTRATOR_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("ORCHESTRATOR_USERNAME", "demo")
    monkeypatch.setenv("ORCHESTRATOR_COMPANY_KEY", "key-from-env")
    assert main(["config", "--out", "elsewhere"]) == 0
    printed = capsys.readouterr().out
    shown = json.loads(printed)
    assert shown["username"] == "demo"
    assert shown["password"] == "***" and shown["company_key"] == "***"
    assert "pw-from-a-file" not in printed and "key-from-env" not in printed
    assert shown["out"] == "elsewhere" and shown["log_level"] == "debug"
    assert shown["_journal_path"] == "elsewhere/.orchestrator/journal.sqlite"
    assert shown["_sources"] == {
        **dict.fromkeys(Settings.model_fields, "default"),
        "out": "flag",
        "username": "env",
        "company_key": "env",
        "secrets_dir": "env",
        "log_level": ".env",
        "password": f"secret file in {secrets}",
    }


def test_config_keeps_the_settings_object_a_consumer_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every setting is still a top-level key with its value; the two additions start with '_'."""
    assert main(["config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert set(shown) == {*Settings.model_fields, "_sources", "_journal_path"}
    assert shown["max_jobs"] == Settings.model_fields["max_jobs"].default
