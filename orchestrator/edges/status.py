"""`orchestrator status`: what the journals know, read without taking the run lock.

A sharded run keeps one journal per shard beside the unsharded one (see `core.shard`); status reads
every journal file of that folder and sums them, read-only, so it works while runs are going on.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.core.records import JobRecord
from orchestrator.core.shard import is_journal_of
from orchestrator.core.states import GAVE_UP, PENDING
from orchestrator.edges.folders import is_dir, is_file
from orchestrator.edges.journal import read_records

MAX_LISTED_FAILURES = 20


def journal_files(base: Path) -> list[Path]:
    """`base` and the journals of its shards beside it, those that exist, in name order."""
    if not is_dir(base.parent):
        return []
    return sorted(
        path for path in base.parent.iterdir() if is_journal_of(path.name, base) and is_file(path)
    )


def describe_journals(base: Path) -> str:
    """Counts per state, failures with their reasons, and the oldest job still pending, summed
    over `base` and every shard's journal beside it."""
    paths = journal_files(base)
    if not paths:
        return f"no journal at {base}: no run has written to this output folder yet"
    records = [record for path in paths for record in read_records(path).values()]
    if len(paths) == 1:
        lines = [f"journal {paths[0]}"]
    else:
        lines = [f"{len(paths)} journals in {base.parent}: " + ", ".join(p.name for p in paths)]
    lines.extend(_summary(records))
    return "\n".join(lines)


def describe_journal(path: Path) -> str:
    """The same, named for one journal (its shards' journals beside it are included)."""
    return describe_journals(path)


def _summary(records: list[JobRecord]) -> list[str]:
    counts = Counter(record.state for record in records)
    lines = [f"{len(records)} jobs: " + ", ".join(f"{counts[s]} {s}" for s in sorted(counts))]
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
    return lines
