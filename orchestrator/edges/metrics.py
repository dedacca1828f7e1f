"""Prometheus metrics of one run: a text file for node-exporter, and a push to a Pushgateway.

Every metric is a gauge: a run is one sample, written once at its end, not a counter a long-lived
process keeps growing (a counter that restarts at each run would read as a reset every time). Each
run builds its own `CollectorRegistry`, never the global one (which carries process collectors).

    orchestrator_run_jobs{status}                      jobs of this run by final status (as the report)
    orchestrator_run_requests{kind,code}               API requests by kind and answer (the tally)
    orchestrator_run_retries{kind}                     requests retried, by kind
    orchestrator_run_bytes                             bytes written to the output tree
    orchestrator_run_duration_seconds                  start to end of the run
    orchestrator_run_exit_code                         the process exit code
    orchestrator_run_last_success_timestamp_seconds    end of the last run that exited 0

The last-success time is this run's end when it exited 0; otherwise the value in the previous
metrics file is carried over. When nothing is known (a failed first run) it is left out, and the
push is a POST, which replaces only the metrics it carries: the Pushgateway keeps the value of
the last successful push, so an alert on `time() - orchestrator_run_last_success_timestamp_seconds`
keeps working either way (the pattern of the Prometheus Java client's PushGateway documentation:
add the last-success gauge only on success, and `pushAdd`). Pushed metrics carry no grouping label
themselves (the gateway adds them; the client libraries' documentation forbids repeating them).
Failing to write or push is a warning, never a changed exit code.

The grouping key (`grouping_key`) is `job="orchestrator"`, `manifest` (the manifest file's name
without its suffix), the labels of ORCHESTRATOR_PUSHGATEWAY_GROUPING, then `shard` for one shard
of several. Each distinct key is its own group on the gateway, kept until someone deletes it: so a
CI run of another manifest never refreshes the nightly's last-success time, and a finished
backfill's shard groups stay as they were last pushed (delete them when the backfill is done).
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import anyio
import structlog
from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.core.states import RESULT_STATUSES
from orchestrator.edges.folders import read_regular
from orchestrator.edges.tally import RequestTally

PUSH_JOB = "orchestrator"
PUSH_TIMEOUT_SECONDS = 10.0
"""A Pushgateway slower than this is given up on: the run's work is done and must not wait."""
LAST_SUCCESS = "orchestrator_run_last_success_timestamp_seconds"
STATUSES: tuple[str, ...] = RESULT_STATUSES
"""Every final status, each written even at zero, so `{status="failed"} > 0` never goes missing."""

_log = structlog.get_logger("orchestrator.metrics")


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a run's metrics are made of: plain values, gathered once the run is over."""

    statuses: Mapping[str, int]
    requests: Mapping[tuple[str, str], int]
    retries: Mapping[str, int]
    bytes_written: int
    started: float
    """Unix time, seconds."""
    finished: float
    exit_code: int
    previous_success: float | None = None
    """The last-success time of an earlier run, carried over when this one fails."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on every sample (`shard` in the metrics file of a sharded run)."""

    @classmethod
    def of(
        cls,
        statuses: Mapping[str, int],
        tally: RequestTally,
        *,
        bytes_written: int,
        started: float,
        finished: float,
        exit_code: int,
        previous_success: float | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> RunFacts:
        """The facts of a run from its status counts and its request tally."""
        return cls(
            statuses=dict(statuses),
            requests=dict(tally.requests),
            retries=dict(tally.retries),
            bytes_written=bytes_written,
            started=started,
            finished=finished,
            exit_code=exit_code,
            previous_success=previous_success,
            labels=dict(labels or {}),
        )

    @property
    def duration(self) -> float:
        return max(self.finished - self.started, 0.0)

    @property
    def last_success(self) -> float | None:
        return self.finished if self.exit_code == 0 else self.previous_success


def build_registry(facts: RunFacts) -> CollectorRegistry:
    """A fresh registry holding this run's metrics (see the module docstring)."""
    registry = CollectorRegistry(auto_describe=True)
    extra = tuple(facts.labels)
    values = tuple(facts.labels.values())

    def gauge(name: str, documentation: str, *labels: str) -> Gauge:
        return Gauge(name, documentation, (*labels, *extra), registry=registry)

    jobs = gauge("orchestrator_run_jobs", "Jobs of the last run by final status.", "status")
    for status in (*STATUSES, *sorted(set(facts.statuses) - set(STATUSES))):
        jobs.labels(status, *values).set(facts.statuses.get(status, 0))
    requests = gauge(
        "orchestrator_run_requests",
        "API requests of the last run by kind and answer.",
        "kind",
        "code",
    )
    for (kind, code), count in sorted(facts.requests.items()):
        requests.labels(kind, code, *values).set(count)
    retries = gauge("orchestrator_run_retries", "API requests of the last run retried.", "kind")
    for kind, count in sorted(facts.retries.items()):
        retries.labels(kind, *values).set(count)
    single = (
        ("orchestrator_run_bytes", "Bytes the last run wrote.", facts.bytes_written),
        ("orchestrator_run_duration_seconds", "Duration of the last run.", facts.duration),
        ("orchestrator_run_exit_code", "Exit code of the last run.", facts.exit_code),
        (LAST_SUCCESS, "End of the last run that exited 0, Unix time.", facts.last_success),
    )
    for name, documentation, value in single:
        if value is not None:
            metric = gauge(name, documentation)
            (metric.labels(*values) if extra else metric).set(value)
    return registry


def grouping_key(
    manifest: str, configured: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, str]:
    """The Pushgateway grouping key of a run (besides `job`): `manifest`, then the configured
    labels (which may replace it, `manifest=nightly`), then the run's own labels (`shard`)."""
    path = Path(manifest)
    return {"manifest": path.stem or path.name or "manifest", **configured, **labels}


def read_last_success(path: Path) -> float | None:
    """The last-success time in an earlier metrics file, or None if there is none to read (a FIFO
    put in its place during the run is not read: that would block the run's end forever)."""
    try:
        text = read_regular(path).decode("utf-8")
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == LAST_SUCCESS:
                    return float(sample.value)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


async def publish(
    facts: RunFacts,
    *,
    metrics_file: Path | None,
    pushgateway: str | None,
    grouping: Mapping[str, str],
) -> None:
    """Write the metrics file and push to the gateway, whichever are configured; never raises."""
    if metrics_file is not None:
        try:
            await anyio.to_thread.run_sync(
                write_to_textfile, str(metrics_file), build_registry(facts)
            )
        except OSError as error:
            _log.warning(
                "orchestrator.metrics_file_failed", path=str(metrics_file), error=str(error)
            )
    if pushgateway is not None:
        # the gateway adds the grouping labels itself; the same label pushed too would clash
        await push(build_registry(replace(facts, labels={})), pushgateway, grouping)


async def push(
    registry: CollectorRegistry,
    gateway: str,
    grouping: Mapping[str, str],
    *,
    give_up_after: float = PUSH_TIMEOUT_SECONDS,
) -> bool:
    """POST the registry to `<gateway>/metrics/job/orchestrator[/<label>/<value>...]`; a gateway
    that cannot be reached, answers an error or is too slow is logged as a warning."""
    send = partial(
        pushadd_to_gateway,
        gateway,
        job=PUSH_JOB,
        registry=registry,
        grouping_key=dict(grouping),
        timeout=give_up_after,
    )
    failure: str | None = "timed out"
    with anyio.move_on_after(give_up_after + 1):
        try:
            await anyio.to_thread.run_sync(send, abandon_on_cancel=True)
            failure = None
        except (OSError, ValueError, http.client.HTTPException) as error:
            failure = f"{type(error).__name__}: {error}"
    if failure is not None:
        _log.warning("orchestrator.push_failed", gateway=gateway, error=failure)
        return False
    _log.info("orchestrator.metrics_pushed", gateway=gateway, **grouping)
    return True
