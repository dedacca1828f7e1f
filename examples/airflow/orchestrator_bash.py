"""The nightly export as an Airflow DAG that runs `orchestrator` on the worker (BashOperator), and
a sensor on a day's `_SUCCESS` marker before the files are used.

Copy this file into your DAGs folder where `orchestrator` is installed on the workers (pip install
it into their environment, or set ORCHESTRATOR below to its full path). The output tree and its
journal must stay on one disk between runs (OUT); one run at a time uses it. The credentials come
from an Airflow connection `khoros_analytics` (login, password, and the company key in its extra
as `{"company_key": "..."}`), passed as environment variables: never on the command line, and
Airflow masks the password in the task log. Tested with Airflow 2.9+ and 3.x.

What maps to what:
- The logical date is the run date: `--as-of {{ ds }}`, so `today` in the manifest means the
  night the run stands for, and a rerun or a backfill of an old logical date exports the days that
  night would have. The schedule is a CronTriggerTimetable, whose logical date is the time it
  fires (04:30 in Chicago, the same date in UTC, which `ds` is written in).
- Exit codes to retry decisions (README "Exit codes"): 0 is done; 2 (invalid manifest, settings or
  command line) and 3 (the API refused the credentials) fail the task at once, never retried;
  75 (EX_TEMPFAIL: another run holds the journal) and 1 (some jobs failed or were not reached) are
  retried after `retry_delay`: the journal resumes what is left, nothing is fetched twice.
- The marker to a sensor: once every planned export of a date folder is final, the run writes
  `<out>/<export>/<YYYY>/<MM>/<DD>/_SUCCESS` last and atomically (a JSON of the files, their
  sha256, rows and the run id). The sensor waits for yesterday's; the next task reads it.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.sensors.filesystem import FileSensor
    from airflow.sdk import DAG, task
    from airflow.timetables.trigger import CronTriggerTimetable
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.operators.bash import BashOperator
    from airflow.sensors.filesystem import FileSensor
    from airflow.timetables.trigger import CronTriggerTimetable

ORCHESTRATOR = "orchestrator"  # or the full path of the command on the workers
ZONE = "America/Chicago"  # the manifest's `timezone:`
OUT = Path("/srv/khoros")  # the output tree, with its journal in OUT/.orchestrator
ARGUMENTS = [
    "run",
    "/srv/orchestrator/jobs.yaml",
    "--out",
    str(OUT),
    "--as-of",
    "{{ ds }}",
    "--max-runtime",
    "13800",
    "--log-format",
    "json",
]
"""`orchestrator`'s arguments; --max-runtime leaves the run time to wind down before the task's
execution_timeout (4 h)."""
CREDENTIALS = {
    "ORCHESTRATOR_USERNAME": "{{ conn.khoros_analytics.login }}",
    "ORCHESTRATOR_PASSWORD": "{{ conn.khoros_analytics.password }}",
    "ORCHESTRATOR_COMPANY_KEY": "{{ conn.khoros_analytics.extra_dejson.company_key }}",
}

YESTERDAY = "{{ macros.ds_add(ds, -1) | replace('-', '/') }}"
"""The date folder before the logical date, YYYY/MM/DD (Jinja, rendered by Airflow)."""

NEVER_RETRY = {
    2: "invalid manifest, settings or command line: fix them",
    3: "the API refused the credentials: check the connection",
}
"""Exit codes a retry cannot help; any other failure is retried (README "Exit codes")."""


def retry_decision(exit_code: int | None) -> str:
    """`done`, `fail` (at once, no retry) or `retry` for an exit code of `orchestrator run`."""
    if exit_code == 0:
        return "done"
    if exit_code in NEVER_RETRY:
        return "fail"
    return "retry"  # 1, 75, 143, or no exit code at all (the worker was lost)


class OrchestratorBashOperator(BashOperator):
    """A command whose exit code decides the retry: 2 and 3 fail the task without retrying."""

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSkipException:
            raise
        except AirflowException as error:
            process = self.subprocess_hook.sub_process  # the finished command
            code = process.returncode if process is not None else None
            if retry_decision(code) == "fail":
                reason = f"orchestrator exited {code}: {NEVER_RETRY[code]}"
                raise AirflowFailException(reason) from error
            raise


with DAG(
    dag_id="orchestrator_nightly_bash",
    schedule=CronTriggerTimetable("30 4 * * *", timezone=ZONE),  # outside the DST hours
    start_date=datetime(2024, 1, 1),
    catchup=False,  # the manifest's relative range catches up a missed night by itself
    max_active_runs=1,  # a second run would find the journal held (exit 75)
    default_args={"retries": 3, "retry_delay": timedelta(minutes=10)},
):
    export = OrchestratorBashOperator(
        task_id="export",
        bash_command=shlex.join([ORCHESTRATOR, *ARGUMENTS]),
        env=CREDENTIALS,
        append_env=True,  # PATH and the rest of the worker's environment
        execution_timeout=timedelta(hours=4),
    )

    # yesterday's folder of one export (its windows are days); one sensor per export you need
    ready = FileSensor(
        task_id="conversations_ready",
        filepath=f"{OUT}/conversations/{YESTERDAY}/_SUCCESS",
        mode="reschedule",
        poke_interval=300,
        timeout=6 * 3600,
    )

    @task
    def load(ds: str | None = None) -> dict[str, Any]:
        """The marker names the day's files with their sha256 and rows: load exactly those."""
        day = datetime.fromisoformat(str(ds)) - timedelta(days=1)
        marker = OUT / "conversations" / f"{day:%Y/%m/%d}" / "_SUCCESS"
        return dict(json.loads(marker.read_text()))

    export >> ready >> load()
