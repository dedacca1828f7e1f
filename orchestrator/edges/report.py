"""The run report, `<out>/_runs/<run id>.json`: totals and one entry per job, written atomically."""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from orchestrator.core.layout import RUNS_FOLDER
from orchestrator.core.redact import sanitize
from orchestrator.core.results import JobResult, counts
from orchestrator.core.states import RESULT_STATUSES
from orchestrator.edges.folders import FILE_MODE, make_folders


def job_entry(result: JobResult, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """One job as the report shows it: what was asked, what happened, where the file is."""
    job, window, file = result.job, result.job.window, result.file
    return {
        "key": job.key,
        "parent_key": job.parent_key,
        "export": job.export_name,
        "export_id": job.export_id,
        "source": job.source,
        "format": job.format,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "window_start_ms": window.start_ms,
        "window_end_ms": window.end_ms,
        "filters": {"label": job.filter_label, "params": [list(p) for p in job.filter_params]},
        "status": result.status,
        "path": file.path if file else None,
        "bytes": file.bytes if file else None,
        "rows": file.rows if file else None,
        "sha256": file.sha256 if file else None,
        "attempts": result.attempts,
        "workflowId": result.ids.workflow_id if result.ids else None,
        "runId": result.ids.run_id if result.ids else None,
        "error": sanitize(result.error, secrets) if result.error else None,
        "reused": result.reused,
        "open": bool(file and file.open),
        "resubmitted_uncertain": result.resubmitted_uncertain,
    }


def totals(results: Sequence[JobResult]) -> dict[str, int]:
    """The report's totals: jobs per status as earlier versions wrote them (`downloaded` and
    `empty` count every file in place, reused ones included, kept for compatibility), beside the
    one set of counts every other view shows (`downloaded_this_run`, `empty_this_run`, `reused`:
    each job once), and the bytes and rows this run wrote."""
    by_status = Counter(result.status for result in results)
    summary: dict[str, int] = {status: by_status.get(status, 0) for status in RESULT_STATUSES}
    summary["jobs"] = len(results)
    once = counts(results)
    summary["downloaded_this_run"] = once["downloaded"]
    summary["empty_this_run"] = once["empty"]
    summary["reused"] = once["reused"]
    written = [r.file for r in results if r.file is not None and not r.reused]
    summary["bytes"] = sum(file.bytes for file in written)
    summary["rows"] = sum(file.rows or 0 for file in written)
    return summary


@dataclass(frozen=True, slots=True)
class RunHeader:
    """What the report says of the run as a whole, before its jobs."""

    run_id: str
    manifest: str
    as_of: str
    started: datetime
    finished: datetime
    exit_code: int
    range: str | None = None
    """`--range START..END` when the run was given one (the report then has a `range` field)."""


def write_report(
    out: Path, run: RunHeader, results: Sequence[JobResult], secrets: Sequence[str] = ()
) -> Path:
    """Write the report atomically and return its path."""
    folder = out / RUNS_FOLDER
    make_folders(folder)
    target = folder / report_name(run)
    _publish(target, report_bytes(run, results, secrets))
    return target


def report_name(run: RunHeader) -> str:
    """The report's file name in `_runs/`."""
    return f"{run.run_id}.json"


def report_bytes(
    run: RunHeader, results: Sequence[JobResult], secrets: Sequence[str] = ()
) -> bytes:
    """The report as written, for a folder or a bucket."""
    document = {
        "run_id": run.run_id,
        "manifest": run.manifest,
        "as_of": run.as_of,
        **({"range": run.range} if run.range is not None else {}),
        "started_at": run.started.isoformat(),
        "finished_at": run.finished.isoformat(),
        "exit_code": run.exit_code,
        "totals": totals(results),
        "jobs": [job_entry(result, secrets) for result in results],
    }
    return _rendered(document)


def _rendered(document: dict[str, Any]) -> bytes:
    """The report as JSON: the run's fields indented, then one line per job. `indent` would
    send every job through the pure-Python encoder, which took most of a 20,000-job rerun's
    time; a job per line is the C encoder's work, and as easy to read or grep."""
    head = json.dumps({key: value for key, value in document.items() if key != "jobs"}, indent=2)
    jobs = ",\n    ".join(json.dumps(job) for job in document["jobs"])
    listed = f"[\n    {jobs}\n  ]" if jobs else "[]"
    return f'{head[:-2]},\n  "jobs": {listed}\n}}\n'.encode()


def _publish(target: Path, data: bytes) -> None:
    """Write `data` to a temporary name, fsync, rename; on any failure (a full disk) the
    temporary file is removed, so no partial report is left behind."""
    temp = target.with_name(f".{target.name}.part")
    try:
        with _open_temp(temp) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _open_temp(temp: Path) -> BinaryIO:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.fdopen(os.open(temp, flags, FILE_MODE), "wb")


def beyond_kept(names: Iterable[str], keep: int, current: str) -> list[str]:
    """The report names to remove so that `keep` remain, the current one among them: the oldest
    first (run ids sort by start time), never `current`."""
    others = sorted(name for name in names if name != current and name.endswith(".json"))
    return others[: max(len(others) - (keep - 1), 0)]


def prune_reports(out: Path, keep: int, current: Path) -> int:
    """Remove the oldest run reports beyond the newest `keep` (run ids sort by start time), never
    `current`; returns how many went. A report that cannot be removed is left for the next run."""
    folder = out / RUNS_FOLDER
    names = [path.name for path in folder.glob("*.json")]
    removed = 0
    for path in (folder / name for name in beyond_kept(names, keep, current.name)):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed
