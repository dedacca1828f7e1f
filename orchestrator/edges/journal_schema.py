"""What a journal is: its tables, the stamp that says so, and the check that tells a journal of
ours from someone else's database before anything is written to it.

A journal carries `PRAGMA application_id` ("Orch") and its schema version in `PRAGMA user_version`.
A database with another application id, or with tables that are not a journal's, is refused
untouched; so is a journal a newer version wrote (its schema may mean things this one does not
know). A journal from before versions (our tables, user_version 0) is brought up to date: the
missing tables and columns are added and the stamp written, in one transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from orchestrator.errors import JournalUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key          TEXT PRIMARY KEY,
    parent_key   TEXT,
    export_name  TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    uncertain    INTEGER NOT NULL DEFAULT 0,
    workflow_id  TEXT,
    run_id       TEXT,
    status_url   TEXT,
    path         TEXT,
    bytes        INTEGER,
    rows         INTEGER,
    sha256       TEXT,
    error        TEXT,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    key   TEXT NOT NULL,
    state TEXT NOT NULL,
    at    REAL NOT NULL,
    note  TEXT
);
CREATE INDEX IF NOT EXISTS events_by_key ON events (key);
CREATE TABLE IF NOT EXISTS durations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    export_id      TEXT NOT NULL,
    window_seconds INTEGER NOT NULL,
    lower          REAL NOT NULL,
    upper          REAL NOT NULL,
    at             REAL NOT NULL
);
"""
COLUMNS: tuple[str, ...] = (
    "key",
    "export_name",
    "window_start",
    "window_end",
    "state",
    "parent_key",
    "attempts",
    "uncertain",
    "workflow_id",
    "run_id",
    "status_url",
    "path",
    "bytes",
    "rows",
    "sha256",
    "mtime_ns",
    "inode",
    "open",
    "error",
    "created_at",
    "updated_at",
)
"""The columns of `jobs`, in the order the journal reads and writes them."""
_ADDED_COLUMNS = {
    "mtime_ns": "INTEGER",
    "inode": "INTEGER",
    "open": "INTEGER NOT NULL DEFAULT 0",
}
"""Columns newer than the first journals: added to an older journal when it is opened."""
SCHEMA_VERSION = 1
"""`PRAGMA user_version` of the journals this version writes; 0 is a journal from before versions."""
APPLICATION_ID = int.from_bytes(b"Orch", "big")
"""`PRAGMA application_id` of an orchestrator journal: "Orch" in ASCII."""
_SHAPE = {
    "jobs": frozenset(COLUMNS) - frozenset(_ADDED_COLUMNS),
    "events": frozenset({"id", "key", "state", "at", "note"}),
    "durations": frozenset({"export_id", "window_seconds", "lower", "upper", "at"}),
    "sqlite_sequence": frozenset(),
}
"""The tables a journal from before versions may hold, each with the columns it had at least."""


def schema_to_bring_up(connection: sqlite3.Connection, path: Path) -> bool:
    """Whether the journal needs the current schema (it is new, or from before versions).

    Raises JournalUnavailable, having written nothing, for a database that is someone else's
    (another application id, or tables that are not a journal's) or a newer version's journal.
    """
    try:
        application: int = connection.execute("PRAGMA application_id").fetchone()[0]
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        tables: dict[str, set[str]] = {}
        for table, column in connection.execute(
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table'"
        ):
            tables.setdefault(table, set()).add(column)
    except sqlite3.Error as error:
        if error.sqlite_errorcode != sqlite3.SQLITE_NOTADB:
            raise
        raise not_a_journal(path, error) from None
    ours = application == APPLICATION_ID or (application == 0 and _shaped_as_ours(tables))
    if not ours and (tables or version or application):
        names = ", ".join(sorted(tables)) or "none"
        raise not_a_journal(path, f"application id {application}, tables: {names}")
    if version > SCHEMA_VERSION:
        raise JournalUnavailable(
            f"the journal {path} was written by a newer version of orchestrator (journal schema "
            f"{version}; this version knows up to {SCHEMA_VERSION}): upgrade orchestrator, or "
            "give this run a journal of its own (--out or --journal)"
        )
    return version < SCHEMA_VERSION


def _shaped_as_ours(tables: dict[str, set[str]]) -> bool:
    """A journal from before versions: a jobs table, and only our tables with their columns."""
    return "jobs" in tables and all(
        name in _SHAPE and _SHAPE[name] <= columns for name, columns in tables.items()
    )


def bring_up(connection: sqlite3.Connection) -> None:
    """Create what is missing (tables, later columns), then stamp the id and schema version."""
    present = {row[1] for row in connection.execute("PRAGMA table_info(jobs)")}
    added = "".join(
        f"ALTER TABLE jobs ADD COLUMN {column} {kind};\n"
        for column, kind in _ADDED_COLUMNS.items()
        if column not in present  # a new journal gets them too, after its CREATE TABLE
    )
    try:
        connection.executescript(
            f"BEGIN IMMEDIATE;\n{_SCHEMA}{added}PRAGMA application_id = {APPLICATION_ID};\n"
            f"PRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
        )
    except BaseException:
        roll_back(connection)
        raise


def not_a_journal(path: Path, why: object) -> JournalUnavailable:
    return JournalUnavailable(
        f"{path} is not an orchestrator journal ({why}); give the journal of a run "
        "(--journal) or its output folder (--out)"
    )


def roll_back(connection: sqlite3.Connection) -> None:
    """Undo an open transaction, if SQLite has not already (it may, after a full disk)."""
    if connection.in_transaction:
        with contextlib.suppress(sqlite3.Error):  # the error that brought us here is the one told
            connection.execute("ROLLBACK")
