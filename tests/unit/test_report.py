"""The run report: the run's fields, then one line per job, parsed back whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.core.results import JobResult
from orchestrator.core.stored import StoredFile
from orchestrator.edges.report import RunHeader, write_report
from tests.unit.edges import day_job


def test_the_report_has_one_line_per_job_and_reads_back_whole(tmp_path: Path) -> None:
    """Each job of the report is one line (a rerun of thousands writes them fast and they grep
    well), and the whole file is one JSON document with the run's fields and every job (an
    empty list when there are none)."""
    now = datetime(2024, 6, 1, tzinfo=UTC)
    file = StoredFile(path="a/b.csv", bytes=4, sha256="0" * 64, rows=1)
    results = [
        JobResult(day_job("conversations"), "downloaded", 1, None, file),
        JobResult(day_job("users"), "failed", 3, None, error="export ended CLOSED: FAILED, é"),
    ]
    path = write_report(
        tmp_path, RunHeader("run-1", "jobs.yaml", "2024-06-01", now, now, 1), results
    )
    text = path.read_text()
    document = json.loads(text)
    assert document["run_id"] == "run-1" and document["totals"]["jobs"] == 2
    assert [entry["status"] for entry in document["jobs"]] == ["downloaded", "failed"]
    lines = text.splitlines()
    for entry in document["jobs"]:
        assert [json.loads(line.strip().rstrip(",")) for line in lines if entry["key"] in line] == [
            entry
        ]
    empty = write_report(tmp_path, RunHeader("run-2", "jobs.yaml", "2024-06-01", now, now, 0), [])
    assert json.loads(empty.read_text())["jobs"] == []
