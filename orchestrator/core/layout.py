"""Where each job's file lands in the output tree.

    <out>/<export name>/<YYYY>/<MM>/<DD>/<export name>_<start>_<end>[_<label>]_<key8>.<csv|json>

The date folders and the start/end stamps (`YYYYMMDDTHHMM`) are the window's bounds in the
manifest's zone; the label is the filter set's; the first eight digits of the job key make the name
unique even for two windows with the same local stamps (a repeated hour when clocks go back).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath

from orchestrator.core.jobs import Job

RUNS_FOLDER = "_runs"
STATE_FOLDER = ".orchestrator"
"""Beside the exports: the journal (and its lock) of every run into this output tree."""
JOURNAL_FILE = "journal.sqlite"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M")


def relative_path(job: Job) -> PurePosixPath:
    """The job's file, relative to the output root."""
    start = job.window.start
    parts = [job.export_name, _stamp(start), _stamp(job.window.end)]
    if job.filter_label:
        parts.append(job.filter_label)
    parts.append(job.key[:8])
    name = "_".join(parts) + f".{job.format}"
    return PurePosixPath(job.export_name, f"{start:%Y}", f"{start:%m}", f"{start:%d}", name)


def stays_inside(relative: PurePosixPath) -> bool:
    """Whether a relative output path names something inside the output tree (not absolute, no
    `..`, not empty): every sink refuses any other."""
    return not (relative.is_absolute() or ".." in relative.parts or not relative.parts)
