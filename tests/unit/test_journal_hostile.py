"""The journal under hostile conditions: a foreign or newer database where it lives, a deleted lock
file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.edges.journal import Journal, read_records
from orchestrator.errors import JournalLocked
from tests.integration.fakes import FAST_SETTINGS
from tests.unit.edges import day_job

LEGACY_SCHEMA = """
CREATE TABLE jobs (
    key TEXT PRIMARY KEY, parent_key TEXT, export_name TEXT NOT NULL, window_start TEXT NOT NULL,
    window_end TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    uncertain INTEGER NOT NULL DEFAULT 0, workflow_id TEXT, run_id TEXT, status_url TEXT,
    path TEXT, bytes INTEGER, rows INTEGER, sha256 TEXT, error TEXT, created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, state TEXT NOT NULL, at REAL NOT NULL,
    note TEXT
);
INSERT INTO jobs (key, export_name, window_start, window_end, state, attempts, workflow_id,
    run_id, status_url, created_at, updated_at)
VALUES ('k1', 'conversations', '2024-01-01', '2024-01-02', 'submitted', 1, 'wf', 'r', 'u', 1, 1);
"""
"""A journal as the first versions wrote it: our tables, no schema version, no later columns."""


def database(path: Path, script: str, *, user_version: int = 0) -> Path:
    connection = sqlite3.connect(path)
    connection.executescript(script)
    connection.execute(f"PRAGMA user_version = {user_version}")
    connection.commit()
    connection.close()
    return path


def tables_of(path: Path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}
    finally:
        connection.close()


def command(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(arguments))
    return code, capsys.readouterr().err


@pytest.fixture
def offline_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A `run` command line whose settings are complete but whose API is never reached: the
    journal is opened before the first request."""
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text(
        "version: 1\ndefaults:\n  range: {start: 2024-05-01, end: 2024-05-02}\n"
        "exports:\n  - name: conversations\n    export_id: conversation\n"
    )
    for name, value in {
        **FAST_SETTINGS,
        "ORCHESTRATOR_RETRY_ATTEMPTS": "1",
        "ORCHESTRATOR_BASE_URL": "http://127.0.0.1:9",
        "ORCHESTRATOR_USERNAME": "u",
        "ORCHESTRATOR_PASSWORD": "p",
        "ORCHESTRATOR_COMPANY_KEY": "k",
        "ORCHESTRATOR_OUT": str(tmp_path / "out"),
    }.items():
        monkeypatch.setenv(name, value)
    return ["run", str(manifest), "--as-of", "2024-05-03"]


FOREIGN = {
    "other tables": "CREATE TABLE t (a); INSERT INTO t VALUES (1);",
    "a jobs table of its own": "CREATE TABLE jobs (key TEXT, value TEXT); "
    "INSERT INTO jobs VALUES ('a', 'b');",
    "an events table of its own": "CREATE TABLE events (id INTEGER, what TEXT);",
}


@pytest.mark.parametrize("script", FOREIGN.values(), ids=FOREIGN.keys())
def test_a_foreign_database_is_refused_by_run_and_status_and_left_untouched(
    tmp_path: Path, offline_run: list[str], capsys: pytest.CaptureFixture[str], script: str
) -> None:
    """A valid SQLite database of someone else's where the journal lives: `run` and `status`
    exit 2 saying it is not an orchestrator journal, with no traceback, and the file keeps
    exactly its own tables."""
    path = database(tmp_path / "foreign.sqlite", script)
    before = tables_of(path)
    for arguments in (
        [*offline_run, "--journal", str(path)],
        ["status", "--journal", str(path)],
    ):
        code, error = command(capsys, *arguments)
        assert code == 2, error
        assert f"{path} is not an orchestrator journal" in error
        assert "Traceback" not in error
    assert tables_of(path) == before


def test_a_journal_of_a_newer_version_is_refused_by_run_and_status(
    tmp_path: Path, offline_run: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal whose schema version is newer than this orchestrator knows: `run` and `status`
    exit 2 and say a newer version wrote it; nothing in it is changed."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.open()
    journal.close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    for arguments in (
        [*offline_run, "--journal", str(path)],
        ["status", "--journal", str(path)],
    ):
        code, error = command(capsys, *arguments)
        assert code == 2, error
        assert "written by a newer version of orchestrator" in error
        assert "Traceback" not in error
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 99
    connection.close()


@pytest.mark.anyio
async def test_a_journal_from_before_schema_versions_is_read_and_stamped(tmp_path: Path) -> None:
    """A journal the first versions wrote (our tables, user_version 0) is read by `status`,
    then opened by a run, which adds the later columns and stamps the schema version."""
    path = database(tmp_path / "journal.sqlite", LEGACY_SCHEMA)
    assert read_records(path)["k1"].workflow_id == "wf"
    journal = Journal(path)
    journal.open()
    try:
        record = (await journal.load())["k1"]
        assert (record.state, record.ids is not None) == ("submitted", True)
        await journal.ended(day_job(), "failed", "written to the journal brought up to date")
    finally:
        journal.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] >= 1
    connection.close()
    records = read_records(path)
    assert records["k1"].state == "submitted"  # the old record, read through the new columns
    assert records[day_job().key].state == "failed"  # a write that needs every later column


def test_a_second_run_is_refused_whatever_files_beside_the_journal_were_deleted(
    tmp_path: Path,
) -> None:
    """While one run holds the journal, deleting the files beside the database (a lock file, as
    earlier versions kept; then the WAL and its index too) does not let a second run in: the
    lock is on the database itself; once the first run closes, the next one opens."""
    path = tmp_path / "journal.sqlite"
    first = Journal(path)
    first.open()
    try:
        for doomed in (
            [p for p in tmp_path.iterdir() if p.suffix == ".lock"],
            [p for p in tmp_path.iterdir() if p != path],
        ):
            for sibling in doomed:
                sibling.unlink()
            with pytest.raises(JournalLocked, match="another orchestrator run"):
                Journal(path).open()
    finally:
        first.close()
    second = Journal(path)
    second.open()
    second.close()
