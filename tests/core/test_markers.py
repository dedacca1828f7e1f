"""Completion markers: which date folders are complete, and what their `_SUCCESS` says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from orchestrator.core.jobs import Job, Window
from orchestrator.core.layout import relative_path
from orchestrator.core.markers import MARKER_NAME, markers
from orchestrator.core.results import JobResult
from orchestrator.core.states import ResultStatus
from orchestrator.core.stored import StoredFile

DAY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))


def job(label: str, window: Window = DAY) -> Job:
    return Job(
        export_name="conversations",
        export_id="conversation",
        source="care",
        format="csv",
        locale="en_US",
        method="GET",
        window=window,
        filter_label=label,
    )


def result(
    of: Job, status: ResultStatus = "downloaded", *, reused: bool = False, open: bool = False
) -> JobResult:
    if status not in ("downloaded", "empty"):
        return JobResult(of, status, error="x")
    rows = 0 if status == "empty" else 3
    file = StoredFile(relative_path(of).as_posix(), 10, of.key * 4, rows, open=open)
    return JobResult(of, status, 1, None, file, reused=reused)


FOLDER = PurePosixPath("conversations/2024/01/01")


def test_a_folder_whose_jobs_all_ended_with_files_gets_a_marker_listing_them() -> None:
    """Downloaded and empty files make a complete folder; the marker lists each file's path,
    bytes, sha256 and rows, and names the run."""
    found = markers([result(job("a")), result(job("b"), "empty")], "run-1")
    assert [(m.path, m.touched) for m in found] == [(FOLDER / MARKER_NAME, True)]
    assert found[0].content is not None
    document = json.loads(found[0].content)
    assert document["run_id"] == "run-1" and document["folder"] == FOLDER.as_posix()
    assert [f["rows"] for f in document["files"]] == [3, 0]
    assert document["files"][0] == {
        "path": relative_path(job("a")).as_posix(),
        "bytes": 10,
        "sha256": job("a").key * 4,
        "rows": 3,
    }


def test_any_job_not_final_keeps_its_folder_without_a_marker() -> None:
    """A failed, timed out, interrupted or not started job, or a file of a window still open,
    leaves its folder incomplete: its marker is to be removed, not written."""
    for status in ("failed", "timed_out", "interrupted", "not_started"):
        found = markers([result(job("a")), result(job("b"), status)], "run")
        assert found[0].content is None, status
    assert markers([result(job("a"), open=True)], "run")[0].content is None


def test_folders_are_judged_apart_and_a_split_window_through_its_pieces() -> None:
    """Each date folder stands alone; a split job counts through its pieces, which may land in
    another folder than their parent."""
    week = Window(DAY.start, DAY.start + timedelta(days=2))
    parent = job("w", week)
    first, second = (parent.piece(half) for half in week.split())
    found = markers([JobResult(parent, "split"), result(first), result(second, "failed")], "run")
    assert [(m.path.parent.name, m.content is not None) for m in found] == [
        ("01", True),
        ("02", False),
    ]


def test_a_folder_only_reused_is_not_touched() -> None:
    """A folder whose every file an earlier run left needs no new marker (unless it has none)."""
    found = markers([result(job("a"), reused=True)], "run")
    assert not found[0].touched and found[0].content is not None
