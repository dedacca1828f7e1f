"""The nightly export as an Airflow DAG that runs the orchestrator image in a pod
(KubernetesPodOperator), and a DAG that waits for a day's `_SUCCESS` marker before using the files.

Copy this file and orchestrator-pod.yaml into your DAGs folder; set IMAGE and NAMESPACE. The pod is
the CronJob's (deploy/kubernetes/cronjob.yaml): the manifest from the ConfigMap `orchestrator-jobs`
at /config, the credentials from the Secret `orchestrator-credentials` as files, the output tree
and its journal on the claim `orchestrator-data` at /data. Tested with Airflow 2.9+ and 3.x, and
apache-airflow-providers-cncf-kubernetes 8+.

What maps to what:
- The logical date is the run date: `--as-of {{ ds }}`, so `today` in the manifest means the
  night the run stands for, and a rerun or a backfill of an old logical date exports the days that
  night would have (the manifest's range is relative: `today-3d` to `today`). The schedule is a
  CronTriggerTimetable, whose logical date is the time it fires (04:30 in Chicago, the same date
  in UTC, which `ds` is written in).
- Exit codes to retry decisions (README "Exit codes"): 0 is done; 2 (invalid manifest, settings or
  command line) and 3 (the API refused the credentials) fail the task at once, never retried;
  75 (EX_TEMPFAIL: another run holds the journal) and 1 (some jobs failed or were not reached) are
  retried after `retry_delay`: the journal resumes what is left, nothing is fetched twice; a stop
  by SIGTERM (143) journaled everything and is retried the same way.
- The marker to a sensor: once every planned export of a date folder is final, the run writes
  `<out>/<export>/<YYYY>/<MM>/<DD>/_SUCCESS` last and atomically (a JSON of the files, their
  sha256, rows and the run id). The second DAG waits for yesterday's marker where the tree is
  visible to the workers (the claim mounted at MARKERS; for a bucket, S3KeySensor on the same key).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

try:  # Airflow 3
    from airflow.providers.standard.sensors.filesystem import FileSensor
    from airflow.sdk import DAG, task
    from airflow.timetables.trigger import CronTriggerTimetable
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.sensors.filesystem import FileSensor
    from airflow.timetables.trigger import CronTriggerTimetable

IMAGE = "ghcr.io/OWNER/orchestrator:0.1.0"  # PLACEHOLDER: where you push the image
NAMESPACE = "orchestrator"
ZONE = "America/Chicago"  # the manifest's `timezone:`
MARKERS = Path("/mnt/orchestrator-data")  # the claim as the Airflow workers mount it
ARGUMENTS = [
    "run",
    "/config/jobs.yaml",
    "--out",
    "/data",
    "--as-of",
    "{{ ds }}",
    "--max-runtime",
    "13800",
    "--grace",
    "20",
    "--metrics-file",
    "/data/orchestrator.prom",
]
"""The container's arguments (the image's entrypoint is `orchestrator`); --max-runtime leaves the
run time to wind down before the task's execution_timeout (4 h)."""

YESTERDAY = "{{ macros.ds_add(ds, -1) | replace('-', '/') }}"
"""The date folder before the logical date, YYYY/MM/DD (Jinja, rendered by Airflow)."""

NEVER_RETRY = {
    2: "invalid manifest, settings or command line: fix them",
    3: "the API refused the credentials: check the secret",
}
"""Exit codes a retry cannot help; any other failure is retried (README "Exit codes")."""


def retry_decision(exit_code: int | None) -> str:
    """`done`, `fail` (at once, no retry) or `retry` for an exit code of `orchestrator run`."""
    if exit_code == 0:
        return "done"
    if exit_code in NEVER_RETRY:
        return "fail"
    return "retry"  # 1, 75, 143, or no exit code at all (the pod was lost)


def container_exit_code(pod: Any, container: str) -> int | None:
    """The exit code of `container` in a finished pod, if it terminated."""
    statuses = (pod.status.container_statuses if pod is not None and pod.status else None) or []
    for status in statuses:
        if status.name == container and status.state and status.state.terminated:
            return int(status.state.terminated.exit_code)
    return None


class OrchestratorPodOperator(KubernetesPodOperator):
    """A pod whose exit code decides the retry: 2 and 3 fail the task without retrying."""

    def cleanup(self, pod: Any, remote_pod: Any, *args: Any, **kwargs: Any) -> None:
        try:
            super().cleanup(pod, remote_pod, *args, **kwargs)
        except AirflowSkipException:
            raise
        except AirflowException as error:
            code = container_exit_code(remote_pod, self.base_container_name)
            if retry_decision(code) == "fail":
                reason = f"orchestrator exited {code}: {NEVER_RETRY[code]}"
                raise AirflowFailException(reason) from error
            raise


with DAG(
    dag_id="orchestrator_nightly",
    schedule=CronTriggerTimetable("30 4 * * *", timezone=ZONE),  # outside the DST hours
    start_date=datetime(2024, 1, 1),
    catchup=False,  # the manifest's three-day range catches up a missed night by itself
    max_active_runs=1,  # a second run would find the journal held (exit 75)
    default_args={"retries": 3, "retry_delay": timedelta(minutes=10)},
):
    OrchestratorPodOperator(
        task_id="export",
        name="orchestrator-nightly",
        namespace=NAMESPACE,
        image=IMAGE,
        arguments=ARGUMENTS,
        env_vars={"ORCHESTRATOR_LOG_FORMAT": "json"},
        pod_template_file=str(Path(__file__).with_name("orchestrator-pod.yaml")),
        execution_timeout=timedelta(hours=4),
        on_finish_action="delete_succeeded_pod",  # a failed pod stays, to read why
        get_logs=True,
    )


with DAG(
    dag_id="orchestrator_exports_ready",
    schedule=CronTriggerTimetable("30 4 * * *", timezone=ZONE),
    start_date=datetime(2024, 1, 1),
    catchup=False,
):
    # yesterday's folder of one export (its windows are days); one sensor per export you need
    ready = FileSensor(
        task_id="conversations_ready",
        filepath=f"{MARKERS}/conversations/{YESTERDAY}/_SUCCESS",
        mode="reschedule",
        poke_interval=600,
        timeout=12 * 3600,
    )

    @task
    def load(ds: str | None = None) -> dict[str, Any]:
        """The marker names the day's files with their sha256 and rows: load exactly those."""
        day = datetime.fromisoformat(str(ds)) - timedelta(days=1)
        marker = MARKERS / "conversations" / f"{day:%Y/%m/%d}" / "_SUCCESS"
        return dict(json.loads(marker.read_text()))

    ready >> load()
