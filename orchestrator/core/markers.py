"""Completion markers: a `_SUCCESS` file in each date folder whose planned exports are all final.

Downstream loaders and sensors (Airflow's file sensors, dbt sources) wait for a marker rather than
guess when a folder is complete. A folder is complete when every job of this run that lands in it
ended downloaded or empty with its window over (a split window counts through its pieces); any job
failed, timed out, interrupted, not started or still open keeps it incomplete. The marker lists the
folder's files with their sha256, bytes and rows, and the run that wrote it.

Pure: the caller writes what this returns (atomically, after the folder's files), and removes the
marker of an incomplete folder, so a marker never vouches for a folder that changed under it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from orchestrator.core.layout import relative_path
from orchestrator.core.results import JobResult

MARKER_NAME = "_SUCCESS"


@dataclass(frozen=True, slots=True)
class Marker:
    """What to do with one date folder's marker: write `content`, or remove it when None."""

    path: PurePosixPath
    content: bytes | None
    touched: bool
    """Whether this run wrote any file of the folder (a folder only reused needs no new marker,
    unless it has none)."""


def markers(results: Sequence[JobResult], run_id: str) -> list[Marker]:
    """Each date folder of the run's jobs, with the marker it should carry, in folder order."""
    folders: dict[PurePosixPath, list[JobResult]] = {}
    for result in results:
        folders.setdefault(relative_path(result.job).parent, []).append(result)
    return [_marker(folder, found, run_id) for folder, found in sorted(folders.items())]


def _marker(folder: PurePosixPath, results: list[JobResult], run_id: str) -> Marker:
    path = folder / MARKER_NAME
    touched = any(not result.reused for result in results)
    if not all(_final(result) for result in results):
        return Marker(path, None, touched)
    files = [
        {"path": r.file.path, "bytes": r.file.bytes, "sha256": r.file.sha256, "rows": r.file.rows}
        for r in results
        if r.file is not None
    ]
    document = {"run_id": run_id, "folder": folder.as_posix(), "files": files}
    return Marker(path, (json.dumps(document, indent=2) + "\n").encode(), touched)


def _final(result: JobResult) -> bool:
    if result.status == "split":
        return True  # its pieces, listed on their own, decide
    return result.status in ("downloaded", "empty") and not (result.file and result.file.open)
