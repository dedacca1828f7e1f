"""A run: builds every concrete collaborator of a run, runs it, reports it.

Nothing outside the composition root (`orchestrator.app`) constructs a session, a journal or a
client, and its client comes from `orchestrator.app.client`; tests and the demo come in through
`execute` with their own settings.
"""

from __future__ import annotations

import random
import secrets
import signal
import ssl
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import structlog

from orchestrator.app.client import (
    access_from,
    http_session,
    reports_client,
    retry_from,
    tls_context,
)
from orchestrator.core.backoff import ResubmitPolicy
from orchestrator.core.jobs import Job
from orchestrator.core.lifecycle import Policies
from orchestrator.core.polling import DurationModel, PollPolicy
from orchestrator.core.results import JobResult, counts
from orchestrator.core.scouting import Scouting
from orchestrator.core.shard import Shard
from orchestrator.edges.budget import RequestBudget
from orchestrator.edges.client import ApiAccess
from orchestrator.edges.journal import Journal
from orchestrator.edges.ports import JobJournal, Sink
from orchestrator.edges.report import RunHeader, totals
from orchestrator.edges.settings import Settings
from orchestrator.edges.storage import Output, StorageOptions, open_output
from orchestrator.edges.tally import RequestTally
from orchestrator.errors import CredentialsRejected, JournalUnavailable, SinkError
from orchestrator.exit_codes import ExitCode, exit_code_for
from orchestrator.run.markers import place_markers
from orchestrator.run.pacing import Pacer
from orchestrator.run.progress import RunProgress, Snapshot
from orchestrator.run.runner import Edges, JobRunner, Limits, Options, Timing
from orchestrator.run.scheduler import LaunchLimits, Scheduler, StopCause, StopRules
from orchestrator.run.shelter import Shelter

_log = structlog.get_logger("orchestrator.run")
Watch = Callable[[Callable[[], Snapshot]], Coroutine[Any, Any, None]]
"""Shows the run's progress for as long as it runs (a live display, progress log events)."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What the user asked for, beyond the settings."""

    jobs: Sequence[Job]
    manifest: str
    as_of: str
    force: bool = False
    verify: bool = False
    """Hash every finished file on reuse, even when its size, mtime and inode are unchanged."""
    shard: Shard = field(default_factory=Shard)
    """`jobs` are already this shard's; the shard picks the journal, budget and metrics labels."""
    range: str | None = None
    """`--range START..END`, which replaced every export's range, as the report records it."""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    exit_code: ExitCode
    results: list[JobResult]
    report: str | None
    """Where the run report went: a path, or a URL in a bucket (None when it could not be
    written)."""
    stopped: str | None = None
    """Why the run stopped before every job finished (a signal, the deadline, credentials)."""
    tally: RequestTally = field(default_factory=RequestTally)


def policies_from(settings: Settings) -> Policies:
    return Policies(
        retry=retry_from(settings),
        poll=PollPolicy(
            first_seconds=settings.poll_first_seconds, max_seconds=settings.poll_max_seconds
        ),
        resubmit=ResubmitPolicy(
            max_attempts=settings.resubmit_attempts,
            cooldown_seconds=settings.resubmit_cooldown_seconds,
            min_window_seconds=settings.min_window_seconds,
        ),
        job_timeout_seconds=settings.job_timeout_seconds,
    )


def new_run_id(now: datetime) -> str:
    """Sortable by start time (to the millisecond), unique by its random suffix."""
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def output_for(settings: Settings, shard: Shard | None = None) -> Output:
    """The output the settings name (ORCHESTRATOR_OUT, _JOURNAL, _JOURNAL_MODE, _LEASE_SECONDS)
    for `shard` (every job without one): a folder or a bucket's prefix, and where its journal and
    lock are. Nothing is read or written yet; a SettingsError (exit 2) when a bucket's store
    cannot be built from the cloud's variables. `run`, `status` and `config` all come here."""
    options = StorageOptions(
        shard=shard or Shard(),
        lease_seconds=settings.lease_seconds,
        journal=settings.journal,
        journal_mode=settings.journal_mode,
        sqlite=Journal,
    )
    return open_output(settings.location, options)


@dataclass(frozen=True, slots=True)
class Stores:
    """Where a run's state and files go: its journal and its sink."""

    journal: JobJournal
    sink: Sink


async def execute(
    settings: Settings,
    request: RunRequest,
    *,
    watch: Watch | None = None,
    output: Output | None = None,
) -> RunOutcome:
    """Run every job of the request into `output` (the settings' by default) and write the run
    report; never raises for a job's failure. The output's journal is opened (its lock or lease
    taken) before the first API request; one that cannot be is raised (exit 75 when another run
    holds it, else 2)."""
    access = access_from(settings)
    tally = RequestTally()
    tls = tls_context(settings)  # a broken CA bundle is a settings error, found before any work
    output = output or output_for(settings, request.shard)
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    opened = False
    try:
        async with output.journal() as journal:
            opened = True
            structlog.contextvars.bind_contextvars(run=run_id)
            _log.info(
                "orchestrator.run_started",
                jobs=len(request.jobs),
                out=output.location.url(),
                shard=str(request.shard),
                requests_per_minute=round(request.shard.budget(settings.requests_per_minute), 3),
            )
            results, stopped = await _run_jobs(
                settings, access, tls, Stores(journal, output.sink), request, tally, watch, started
            )
    except JournalUnavailable as error:
        if not opened:
            code = exit_code_for(error)  # 75 when another run holds it, else 2
            await _publish_metrics(settings, request, [], tally, started, code)
        raise
    if settings.success_markers and not request.shard.sharded:
        await place_markers(output.sink, results, run_id)
    code = _exit_code(results, stopped.code)
    header = RunHeader(
        run_id,
        request.manifest,
        request.as_of,
        started,
        datetime.now(UTC),
        code,
        range=request.range,
    )
    report = await _write_report(settings, output, header, results, [*access.secrets])
    if report is None:
        code = max(code, ExitCode.SOME_FAILED)
    _log.info(
        "orchestrator.run_finished",
        exit_code=int(code),
        report=str(report),
        jobs=len(results),
        **counts(results),
        bytes=totals(results)["bytes"],
        rows=totals(results)["rows"],
    )
    await _publish_metrics(settings, request, results, tally, started, code)
    return RunOutcome(code, results, report, stopped.reason, tally)


async def _write_report(
    settings: Settings,
    output: Output,
    header: RunHeader,
    results: Sequence[JobResult],
    secrets: Sequence[str],
) -> str | None:
    """The run report under the output's `_runs/`, the oldest beyond ORCHESTRATOR_KEEP_REPORTS
    removed; where it went, or None (logged) when it could not be written."""
    try:
        written = await output.reports.write(header, results, [*secrets, *output.secrets()])
    except (OSError, SinkError) as error:
        _log.error("orchestrator.report_failed", error=str(error))
        return None
    await output.reports.prune(settings.keep_reports, written)
    return written


async def _publish_metrics(
    settings: Settings,
    request: RunRequest,
    results: Sequence[JobResult],
    tally: RequestTally,
    started: datetime,
    code: ExitCode,
) -> None:
    """The run's metrics to the file and the Pushgateway, if configured; failures only warn."""
    if settings.metrics_file is None and settings.pushgateway is None:
        return
    # imported here: prometheus_client adds a fifth to start-up, before the SIGTERM handler is in
    from orchestrator.edges.metrics import RunFacts, grouping_key, publish, read_last_success

    shard = request.shard
    path = Path(shard.file_for(settings.metrics_file)) if settings.metrics_file else None
    labels = {"shard": str(shard.index)} if shard.sharded else {}
    grouping = grouping_key(request.manifest, settings.pushgateway_grouping, labels)
    facts = RunFacts.of(
        Counter(result.status for result in results),
        tally,
        bytes_written=totals(results)["bytes"],
        started=started.timestamp(),
        finished=datetime.now(UTC).timestamp(),
        exit_code=int(code),
        previous_success=read_last_success(path) if path else None,
        labels=labels,  # in the file; the gateway adds its grouping labels itself
    )
    with anyio.CancelScope(shield=True):
        await publish(facts, metrics_file=path, pushgateway=settings.pushgateway, grouping=grouping)


async def _run_jobs(
    settings: Settings,
    access: ApiAccess,
    tls: ssl.SSLContext,
    output: Stores,
    request: RunRequest,
    tally: RequestTally,
    watch: Watch | None,
    started: datetime,
) -> tuple[list[JobResult], _Stopped]:
    """Results, and why the run stopped early if it did (a signal, the deadline, credentials)."""
    connections = settings.max_in_flight + settings.max_downloads + 4
    rng = random.Random()  # noqa: S311 - backoff jitter, not cryptography
    policies = policies_from(settings)
    progress = RunProgress(len(request.jobs))
    began = anyio.current_time()
    async with http_session(settings, tls, connections) as session:
        budget = RequestBudget(request.shard.budget(settings.requests_per_minute))
        client = reports_client(settings, session, access, budget, jitter=rng.random, tally=tally)
        shelter = Shelter(settings.grace_seconds)
        in_flight = anyio.CapacityLimiter(settings.max_in_flight)
        runner = JobRunner(
            Edges(client, output.sink, output.journal),
            Limits(in_flight, anyio.CapacityLimiter(settings.max_downloads), shelter),
            policies,
            Scouting(policies.poll, await _durations_from(output.journal)),
            Timing(jitter=rng.random, pressure=budget.pressure),
            Options(started, force=request.force, verify=request.verify),
        )
        records = await output.journal.load()
        limits = LaunchLimits(
            launch_limit=2 * settings.max_in_flight + settings.max_downloads,
            shelter=shelter,
            pacer=Pacer(in_flight, budget, settings.max_in_flight),
        )

        def snapshot() -> Snapshot:
            return progress.snapshot(
                requests=tally.total(),
                retries=sum(tally.retries.values()),
                throttled=tally.answered(429),
                requests_in_last_minute=budget.in_last_window(),
                requests_per_minute=budget.per_minute,
                in_flight=settings.max_in_flight,
                elapsed=anyio.current_time() - began,
            )

        async with anyio.create_task_group() as watchers:
            if watch is not None:
                watchers.start_soon(watch, snapshot, name="progress")
            async with Scheduler(runner, progress, limits, _stop_rules(settings)) as scheduler:
                try:
                    results = await scheduler.run(
                        request.jobs, records, preflight=client.check_access
                    )
                    stopped = _Stopped.of(scheduler.stopped)
                except CredentialsRejected as error:
                    results, stopped = scheduler.results(request.jobs), _rejected(error)
            watchers.cancel_scope.cancel()
        if progress.reused:
            _log.info("orchestrator.files_reused", count=progress.reused)
    return results, stopped


def _stop_rules(settings: Settings) -> StopRules:
    """The run's deadline, less the grace its downloads may take to finish."""
    if settings.max_runtime_seconds is None:
        return StopRules()
    return StopRules(deadline_seconds=max(settings.max_runtime_seconds - settings.grace_seconds, 0))


@dataclass(frozen=True, slots=True)
class _Stopped:
    """Why the run stopped early, as the exit code and the words the user sees."""

    code: ExitCode | None = None
    reason: str | None = None

    @classmethod
    def of(cls, cause: StopCause | None) -> _Stopped:
        if cause is None:
            return cls()
        codes: dict[int | None, ExitCode] = {
            signal.SIGTERM: ExitCode.SIGTERM,
            signal.SIGINT: ExitCode.SIGINT,
        }
        return cls(codes.get(cause.signal, ExitCode.SOME_FAILED), cause.reason)


def _rejected(error: CredentialsRejected) -> _Stopped:
    hint = _credentials_hint(error)
    _log.error("orchestrator.credentials_rejected", error=hint)
    return _Stopped(ExitCode.CREDENTIALS, hint)


def _credentials_hint(error: CredentialsRejected) -> str:
    return (
        f"{error}; check ORCHESTRATOR_USERNAME, ORCHESTRATOR_PASSWORD and "
        "ORCHESTRATOR_COMPANY_KEY (the user must have the Analytics Reports API granted)"
    )


async def _durations_from(journal: JobJournal) -> DurationModel:
    """The polling model, taught what the exports of earlier runs took."""
    model = DurationModel()
    for observation in await journal.observations():
        model.learn(observation)
    return model


def _exit_code(results: Sequence[JobResult], stopped_by: ExitCode | None) -> ExitCode:
    if stopped_by is not None:
        return stopped_by
    return ExitCode.OK if all(result.ok for result in results) else ExitCode.SOME_FAILED
