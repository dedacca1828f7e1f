"""The one vocabulary of job states: the journal, the log, the run report and `status` use these.

state          journaled  meaning
submitting     yes        the create request is leaving (budget granted); ids not yet known
submitted      yes        the server has the export (ids journaled); being polled
ready          yes        the server finished it; the file is being fetched
cooling_down   no         the export FAILED on the server; waiting before a resubmit
downloaded     yes        the file is in the output tree, checked
empty          yes        the export had no rows (its file is there too)
failed         yes        given up, with the reason
timed_out      yes        not finished within the job timeout
split          yes        failed too often; its window was halved into two new jobs
interrupted    report     the run stopped while this job was under way; the next run resumes it
not_started    report     the run stopped before anything was sent for this job
"""

from __future__ import annotations

from typing import Literal, get_args

StateName = Literal[
    "submitting",
    "submitted",
    "ready",
    "cooling_down",
    "downloaded",
    "empty",
    "failed",
    "timed_out",
    "split",
]
ResultStatus = Literal[
    "downloaded", "empty", "failed", "timed_out", "split", "interrupted", "not_started"
]

STATE_NAMES: tuple[StateName, ...] = get_args(StateName)
RESULT_STATUSES: tuple[ResultStatus, ...] = get_args(ResultStatus)
JOURNALED: frozenset[StateName] = frozenset(STATE_NAMES) - {"cooling_down"}
PENDING: frozenset[StateName] = frozenset({"submitting", "submitted", "ready"})
"""Journaled states of a job the server may be working on: a rerun resumes them first."""
STORED: frozenset[StateName] = frozenset({"downloaded", "empty"})
FINISHED: frozenset[ResultStatus] = frozenset({"downloaded", "empty", "split"})
"""Results that count as success for the exit code."""
GAVE_UP: frozenset[StateName] = frozenset({"failed", "timed_out"})
