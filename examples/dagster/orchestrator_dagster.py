"""The nightly export as a Dagster job whose op shells out to `orchestrator run`, on a schedule,
and a sensor that starts the next job when a day's `_SUCCESS` marker appears.

Load it with `dagster dev -f orchestrator_dagster.py` where `orchestrator` is installed (or set
ORCHESTRATOR to its full path), with dagster.yaml's run limit in the instance's configuration. The output tree and its journal must stay on one disk between runs
(OUT). The credentials are the ORCHESTRATOR_USERNAME, ORCHESTRATOR_PASSWORD and
ORCHESTRATOR_COMPANY_KEY of the code location's environment (or files in
ORCHESTRATOR_SECRETS_DIR), which the command inherits: never on its command line. Tested with
Dagster 1.8+.

What maps to what:
- The logical date is the run date: the schedule's tick (04:30 in Chicago) becomes `--as-of`, so
  `today` in the manifest means the night the run stands for; a run launched by hand for an old
  date (`as_of` in the launchpad's config) exports the days that night would have.
- Exit codes to retry decisions (README "Exit codes"): 0 is done; 2 (invalid manifest, settings or
  command line) and 3 (the API refused the credentials) raise a Failure that allows no retry;
  75 (EX_TEMPFAIL: another run holds the journal) and 1 (some jobs failed or were not reached)
  request a retry: the journal resumes what is left, nothing is fetched twice.
- The marker to a sensor: once every planned export of a date folder is final, the run writes
  `<out>/<export>/<YYYY>/<MM>/<DD>/_SUCCESS` last and atomically (a JSON of the files, their
  sha256, rows and the run id). The sensor starts `load_day` once per marker (and again when a
  later run rewrites it), with the marker's path.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

ORCHESTRATOR = "orchestrator"  # or the full path of the command
ZONE = "America/Chicago"  # the manifest's `timezone:`
OUT = Path("/srv/khoros")  # the output tree, with its journal in OUT/.orchestrator
ARGUMENTS = [
    "run",
    "/srv/orchestrator/jobs.yaml",
    "--out",
    str(OUT),
    "--as-of",
    "{as_of}",
    "--max-runtime",
    "13800",
    "--log-format",
    "json",
]
"""`orchestrator`'s arguments, `{as_of}` filled in per run."""
RETRIES, RETRY_SECONDS = 3, 600
JOURNAL_TAG = "orchestrator/journal"
"""A run tag whose concurrency dagster.yaml limits to 1: a second run would find the journal held
(exit 75, retried, but better queued)."""

NEVER_RETRY = {
    2: "invalid manifest, settings or command line: fix them",
    3: "the API refused the credentials: check them",
}
"""Exit codes a retry cannot help; any other failure is retried (README "Exit codes")."""


def retry_decision(exit_code: int | None) -> str:
    """`done`, `fail` (at once, no retry) or `retry` for an exit code of `orchestrator run`."""
    if exit_code == 0:
        return "done"
    if exit_code in NEVER_RETRY:
        return "fail"
    return "retry"  # 1, 75, 143, or no exit code at all


class ExportConfig(dg.Config):
    as_of: str
    """The run date, YYYY-MM-DD: what `today` means in the manifest."""


@dg.op
def orchestrator_run(context: dg.OpExecutionContext, config: ExportConfig) -> None:
    """Run the manifest as of the run date; its exit code decides: done, failed, or retried."""
    command = [ORCHESTRATOR, *(part.format(as_of=config.as_of) for part in ARGUMENTS)]
    code = subprocess.run(command, check=False).returncode  # noqa: S603 - our own arguments
    decision = retry_decision(code)
    if decision == "fail":
        raise dg.Failure(f"orchestrator exited {code}: {NEVER_RETRY[code]}", allow_retries=False)
    if decision == "retry":
        context.log.warning(f"orchestrator exited {code}; the journal resumes it on the retry")
        raise dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=RETRY_SECONDS)


@dg.job(tags={JOURNAL_TAG: str(OUT)})  # dagster.yaml lets one run at a time hold the journal
def nightly_exports() -> None:
    orchestrator_run()


@dg.schedule(job=nightly_exports, cron_schedule="30 4 * * *", execution_timezone=ZONE)
def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The tick's date (the logical date) is the run's --as-of."""
    as_of = context.scheduled_execution_time.date().isoformat()
    config = dg.RunConfig(ops={"orchestrator_run": ExportConfig(as_of=as_of)})
    return dg.RunRequest(run_key=as_of, run_config=config)


class MarkerConfig(dg.Config):
    marker: str
    """The `_SUCCESS` file of one export's date folder."""


@dg.op
def load_marked_files(context: dg.OpExecutionContext, config: MarkerConfig) -> None:
    """The marker names the day's files with their sha256 and rows: load exactly those."""
    marked = json.loads(Path(config.marker).read_text())
    context.log.info(f"{config.marker}: {marked}")


@dg.job
def load_day() -> None:
    load_marked_files()


@dg.sensor(job=load_day, minimum_interval_seconds=300)
def exports_ready(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
    """One run per marker of an export's date folder; a marker rewritten by a later run (a window
    fetched again) has a new mtime, so a new run key."""
    for marker in sorted(OUT.glob("*/[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/_SUCCESS")):
        config = dg.RunConfig(ops={"load_marked_files": MarkerConfig(marker=str(marker))})
        yield dg.RunRequest(run_key=f"{marker}@{marker.stat().st_mtime_ns}", run_config=config)


defs = dg.Definitions(
    jobs=[nightly_exports, load_day], schedules=[nightly], sensors=[exports_ready]
)
