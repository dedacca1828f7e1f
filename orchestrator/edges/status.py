"""`orchestrator status`: what the journal knows, read without taking the run lock."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.core.states import GAVE_UP, PENDING
from orchestrator.edges.folders import is_file
from orchestrator.edges.journal import read_records

MAX_LISTED_FAILURES = 20


def describe_journal(path: Path) -> str:
    """Counts per state, failures with their reasons, and the oldest job still pending."""
    if not is_file(path):
        return f"no journal at {path}: no run has written to this output folder yet"
    records = list(read_records(path).values())
    counts = Counter(record.state for record in records)
    lines = [f"journal {path}"]
    lines.append(f"{len(records)} jobs: " + ", ".join(f"{counts[s]} {s}" for s in sorted(counts)))
    failures = sorted((r for r in records if r.state in GAVE_UP), key=lambda r: r.updated_at)
    for record in failures[:MAX_LISTED_FAILURES]:
        lines.append(
            f"  failed {record.export_name} {record.window_start} ({record.key}): {record.error}"
        )
    pending = [r for r in records if r.state in PENDING]
    if pending:
        oldest = min(pending, key=lambda r: r.updated_at)
        since = datetime.fromtimestamp(oldest.updated_at, UTC).isoformat(timespec="seconds")
        lines.append(
            f"oldest pending: {oldest.export_name} {oldest.window_start} ({oldest.key}), "
            f"{oldest.state} since {since}"
        )
    return "\n".join(lines)
