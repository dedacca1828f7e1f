"""`orchestrator status`: what the journal knows, read without taking the run lock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.core.states import PENDING
from orchestrator.edges.folders import is_file

PENDING_STATES = tuple(sorted(PENDING))

MAX_LISTED_FAILURES = 20


def describe_journal(path: Path) -> str:
    """Counts per state, failures with their reasons, and the oldest job still pending."""
    if not is_file(path):
        return f"no journal at {path}: no run has written to this output folder yet"
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts = connection.execute(
            "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state"
        ).fetchall()
        failures = connection.execute(
            "SELECT key, export_name, window_start, error FROM jobs "
            "WHERE state IN ('failed', 'timed_out') ORDER BY updated_at LIMIT ?",
            (MAX_LISTED_FAILURES,),
        ).fetchall()
        placeholders = ", ".join("?" for _ in PENDING_STATES)
        oldest = connection.execute(
            "SELECT key, export_name, window_start, state, updated_at FROM jobs "  # noqa: S608 - placeholders only
            f"WHERE state IN ({placeholders}) ORDER BY updated_at LIMIT 1",
            PENDING_STATES,
        ).fetchone()
    finally:
        connection.close()
    lines = [f"journal {path}"]
    total = sum(count for _, count in counts)
    lines.append(f"{total} jobs: " + ", ".join(f"{count} {state}" for state, count in counts))
    for key, export, start, error in failures:
        lines.append(f"  failed {export} {start} ({key}): {error}")
    if oldest:
        key, export, start, state, updated = oldest
        since = datetime.fromtimestamp(updated, UTC).isoformat(timespec="seconds")
        lines.append(f"oldest pending: {export} {start} ({key}), {state} since {since}")
    return "\n".join(lines)
