"""The runner with in-memory edges: the whole path of states, and cancellation at every await point.

No clock: sleeps are recorded, not waited; the gate names every await point of a job's life.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from orchestrator.core.backoff import ResubmitPolicy, RetryPolicy
from orchestrator.core.jobs import Job
from orchestrator.core.lifecycle import Policies, State
from orchestrator.core.polling import DurationModel, Observation, PollPolicy
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.core.scouting import Scouting
from orchestrator.errors import CredentialsRejected, ExportRefused
from orchestrator.run.progress import RunProgress
from orchestrator.run.runner import Edges, JobRunner, Limits, Options, Outcome, Timing, Watch
from orchestrator.run.scheduler import LaunchLimits, Scheduler, StopCause, StopRules
from orchestrator.run.shelter import Shelter
from tests.unit.edges import (
    BODY,
    Gate,
    GatedJournal,
    MemorySink,
    ScriptedClient,
    completed,
    day_job,
    failed,
    running,
)

pytestmark = pytest.mark.anyio
POLICIES = Policies(
    RetryPolicy(max_attempts=3),
    PollPolicy(first_seconds=5, growth=2, max_seconds=60),
    ResubmitPolicy(max_attempts=2, cooldown_seconds=30, min_window_seconds=3600),
)


class Rig:
    """A runner over a scripted client, a memory sink and a gated memory journal; its sleeps,
    clock and start time are the test's to give."""

    def __init__(
        self,
        client: ScriptedClient | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] = anyio.current_time,
        started: datetime | None = None,
        grace: float = 1.0,
        **policy: Any,
    ) -> None:
        self.gate = client.gate if client else Gate()
        self.client = client or ScriptedClient(self.gate)
        self.journal = GatedJournal(self.gate)
        self.sink = MemorySink()
        self.shelter = Shelter(grace_seconds=grace)
        self.sleeps: list[float] = []
        self.path: list[str] = []
        policies = replace(POLICIES, **policy)
        self.runner = self.runner_class(
            Edges(self.client, self.sink, self.journal),
            Limits(anyio.CapacityLimiter(4), anyio.CapacityLimiter(2), self.shelter),
            policies,
            Scouting(policies.poll),
            Timing(jitter=lambda: 0.5, sleep=sleep or self.sleep, clock=clock),
            Options(started or datetime.now(UTC)),
        )

    runner_class: type[JobRunner] = JobRunner

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await self.gate.at("sleep")

    def changed(self, state: State) -> None:
        if not self.path or self.path[-1] != state.name:
            self.path.append(state.name)

    async def run(self, job: Job, record: JobRecord | None = None) -> Outcome:
        with anyio.fail_after(5):
            return await self.runner.run(job, record, self.changed)

    async def state(self, job: Job) -> str | None:
        record = (await self.journal.load()).get(job.key)
        return record.state if record else None


async def test_a_job_goes_through_every_state_to_its_file() -> None:
    """Submit, poll until completed, download: the path of states and the journal agree."""
    rig = Rig(ScriptedClient(Gate(), [running(), running(), completed()]))
    job = day_job()
    outcome = await rig.run(job)
    assert outcome.result.status == "downloaded"
    assert outcome.result.file is not None
    assert outcome.result.file.rows == 2 and outcome.result.file.bytes == len(BODY)
    assert rig.path == ["submitting", "submitted", "ready", "downloaded"]
    history = [state for state, _, _ in await rig.journal.history(job.key)]
    assert history == ["submitting", "submitted", "ready", "downloaded"]
    assert rig.sleeps == [5, 10, 20]  # the poll schedule, taken from the policy without a clock


async def test_a_failed_export_cools_down_then_splits_into_pieces() -> None:
    """FAILED twice uses both attempts with a cooldown between, then the window splits."""
    rig = Rig(ScriptedClient(Gate(), [failed()]))
    job = day_job()
    outcome = await rig.run(job)
    assert outcome.result.status == "split"
    assert [piece.parent_key for piece in outcome.pieces] == [job.key, job.key]
    assert rig.path == [
        "submitting",
        "submitted",
        "cooling_down",
        "submitting",
        "submitted",
        "split",
    ]
    assert 30 in rig.sleeps
    assert await rig.state(job) == "split"


async def test_a_refused_export_fails_only_its_job() -> None:
    """A 404 or 403 on create fails the job with the server's words; nothing else happens."""
    refusal = ExportRefused("create https://api/... answered 404: no such export", status=404)
    rig = Rig(ScriptedClient(Gate(), submit_error=lambda job: refusal))
    outcome = await rig.run(day_job())
    assert outcome.result.status == "failed"
    assert outcome.result.error is not None and "answered 404" in outcome.result.error


async def test_rejected_credentials_escape_the_runner() -> None:
    """A 401 is not a job's failure: it leaves the runner so the run can stop."""
    rejected = CredentialsRejected("the API rejected the credentials (401)", status=401)
    rig = Rig(ScriptedClient(Gate(), submit_error=lambda job: rejected))
    with pytest.raises(CredentialsRejected):
        await rig.run(day_job())


async def test_a_resumed_job_whose_sealed_url_cannot_be_opened_is_resubmitted() -> None:
    """When the journaled status URL cannot be unsealed, the job is submitted again."""
    rig = Rig()
    job = day_job()
    record = JobRecord(
        job.key,
        "c",
        "s",
        "e",
        "submitted",
        attempts=1,
        workflow_id="old",
        run_id="old",
        status_url="https://api/status/broken?companyKey=SEALED",
    )
    outcome = await rig.run(job, record)
    assert outcome.result.status == "downloaded"
    assert len(rig.client.sent) == 1
    assert outcome.result.ids is not None and outcome.result.ids.workflow_id == "wf1"


async def test_the_job_timeout_is_journaled() -> None:
    """A job still running at its timeout ends timed_out, and the journal says so."""
    gate = Gate()
    client = ScriptedClient(gate, [running()])

    async def wait(seconds: float) -> None:
        await anyio.sleep_forever()  # the poll waits forever; only the timeout ends it

    rig = Rig(client, sleep=wait, job_timeout_seconds=0.05)
    job = day_job()
    outcome = await rig.run(job)
    assert outcome.result.status == "timed_out"
    assert await rig.state(job) == "timed_out"


POINTS = {
    "budget": None,  # nothing left: no record at all
    "journal:submitting": "submitted",  # announced, so the create is shielded and answered
    "create": "submitted",
    "journal:submitted": "submitted",
    "sleep": "submitted",
    "status": "submitted",
    "journal:ready": "submitted",  # cancelled before that write: polled again next time
    "download": "downloaded",  # a download in progress is sheltered and ends
    "chunk": "downloaded",
    "journal:downloaded": "downloaded",  # the final record is shielded
}
"""Every await point of a job's life, and the journal state a cancellation there must leave."""


@pytest.mark.parametrize(("point", "expected"), POINTS.items())
async def test_cancellation_at_any_point_never_loses_ids_nor_claims_a_false_submit(
    point: str, expected: str | None
) -> None:
    """Cancelled anywhere, the journal holds the ids of every create that was sent, says
    `submitting` only for a request that left, and records nothing for a job never sent."""
    gate = Gate(stop_at=point)
    rig = Rig(ScriptedClient(gate, [running(), completed()]))
    job = day_job()
    outcome = None
    with anyio.fail_after(5), anyio.CancelScope() as scope:
        gate.scope = scope
        outcome = await rig.runner.run(job, None)
    if expected == "downloaded":  # sheltered to the end: the job finished before the cancel
        assert outcome is not None and outcome.result.status == "downloaded"
    else:
        assert scope.cancelled_caught and outcome is None, "the cancellation reached the job"
    assert point in gate.passed
    record = (await rig.journal.load()).get(job.key)
    assert (record.state if record else None) == expected, record
    if rig.client.sent:
        assert record is not None and record.workflow_id == "wf1", record


class CountingRunner(JobRunner):
    """A runner that counts the jobs it runs at once."""

    live = most = 0

    async def run(
        self, job: Job, record: JobRecord | None, watch: Watch = lambda state: None
    ) -> Outcome:
        CountingRunner.live += 1
        CountingRunner.most = max(CountingRunner.most, CountingRunner.live)
        try:
            return await super().run(job, record, watch)
        finally:
            CountingRunner.live -= 1


class SchedulerRig(Rig):
    """A scheduler over the rig's runner, with a launch limit of one and no signal handling."""

    runner_class = CountingRunner

    async def schedule(
        self, jobs: list[Job], *, stop_when: Callable[[Rig], Awaitable[None]] | None = None
    ) -> tuple[list[JobResult], Scheduler]:
        CountingRunner.live = CountingRunner.most = 0
        progress = RunProgress(len(jobs))
        limits = LaunchLimits(launch_limit=1, shelter=self.shelter)
        with anyio.fail_after(5):
            async with (
                Scheduler(self.runner, progress, limits, StopRules(signals=False)) as scheduler,
                anyio.create_task_group() as stopper,
            ):
                self.scheduler = scheduler
                if stop_when is not None:

                    async def stop() -> None:
                        await stop_when(self)
                        scheduler.stop(StopCause("the test stopped it"))

                    stopper.start_soon(stop)
                try:
                    results = await scheduler.run(jobs, await self.journal.load())
                except CredentialsRejected as error:  # leaves the task group bare, not grouped
                    rejected: CredentialsRejected | None = error
                else:
                    rejected = None
                stopper.cancel_scope.cancel()
        if rejected is not None:
            raise rejected
        return results, scheduler


async def test_split_pieces_run_under_the_same_launch_limit() -> None:
    """With a launch limit of one, the two pieces of a split job run one after the other,
    and the results list the split job followed by its pieces."""
    rig = SchedulerRig(ScriptedClient(Gate(), [failed(), failed(), completed()]))
    job = day_job()
    results, _ = await rig.schedule([job])
    assert [r.status for r in results] == ["split", "downloaded", "downloaded"]
    assert [r.job.parent_key for r in results] == [None, job.key, job.key]
    assert CountingRunner.most == 1


async def test_a_stop_reports_started_jobs_interrupted_and_the_rest_not_started() -> None:
    """Stopped while the first job polls, it is `interrupted`; the queued ones `not_started`."""
    rig = SchedulerRig(ScriptedClient(Gate(), [running()]))

    async def after_first_poll(rig: Rig) -> None:
        while rig.client.polls < 1:
            await anyio.lowlevel.checkpoint()

    jobs = [day_job(name) for name in ("a", "b", "c")]
    results, scheduler = await rig.schedule(jobs, stop_when=after_first_poll)
    assert [r.status for r in results] == ["interrupted", "not_started", "not_started"]
    assert scheduler.stopped
    assert [(await rig.state(job)) for job in jobs] == ["submitted", None, None]


async def test_rejected_credentials_stop_the_run_and_keep_finished_results() -> None:
    """A 401 met by the second job stops the run; the first job's file stays `downloaded`, and
    the refused job is left as it was: nothing was created, so nothing is uncertain."""
    rejected = CredentialsRejected("the API rejected the credentials (401)", status=401)
    rig = SchedulerRig(
        ScriptedClient(
            Gate(), submit_error=lambda job: rejected if job.export_name == "b" else None
        )
    )
    jobs = [day_job(name) for name in ("a", "b", "c")]
    with pytest.raises(CredentialsRejected) as raised:
        await rig.schedule(jobs)
    assert raised.value is rejected
    assert [r.status for r in rig.scheduler.results(jobs)] == [
        "downloaded",
        "not_started",
        "not_started",
    ]
    assert [(await rig.state(job)) for job in jobs] == ["downloaded", None, None]


async def test_a_crashing_job_is_recorded_failed_in_results_and_journal() -> None:
    """A bug in one job becomes a failed result and a failed journal record; the others run."""
    rig = SchedulerRig(
        ScriptedClient(
            Gate(),
            submit_error=lambda job: RuntimeError("boom") if job.export_name == "a" else None,
        )
    )
    jobs = [day_job(name) for name in ("a", "b")]
    results, _ = await rig.schedule(jobs)
    assert [r.status for r in results] == ["failed", "downloaded"]
    assert results[0].error == "internal error: RuntimeError: boom"
    assert await rig.state(jobs[0]) == "failed"


class TimedClient(ScriptedClient):
    """Each export is ready `seconds` after its submit, on the rig's fake clock."""

    def __init__(self, gate: Gate, clock: list[float], seconds: float) -> None:
        super().__init__(gate)
        self.clock, self.seconds, self.submitted_at = clock, seconds, 0.0

    async def create(self, job: Job) -> Any:
        ids = await super().create(job)
        self.submitted_at = self.clock[0]
        return ids

    async def status(self, status_url: str) -> Any:
        self.polls += 1
        return completed() if self.clock[0] - self.submitted_at >= self.seconds else running()


async def test_polls_learn_when_an_export_is_likely_done() -> None:
    """The first export of a kind is polled on a growing schedule; the ones after it are polled
    near the learned finish, about once each, and the journal keeps what was learned."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    rig = Rig(
        TimedClient(Gate(), now, seconds=30.0),
        sleep=sleep,
        clock=lambda: now[0],
        poll=PollPolicy(max_seconds=600),
    )
    polls = []
    for _ in range(10):
        before = rig.client.polls
        assert (await rig.run(day_job())).result.status == "downloaded"
        polls.append(rig.client.polls - before)
    assert polls[0] >= 5  # from a 1 s first poll, growing by half each time
    assert sum(polls[1:]) <= 1.6 * 9, polls
    assert len(await rig.journal.observations()) == 10


async def test_a_file_of_a_window_not_ended_at_the_start_is_open_and_not_reused() -> None:
    """A run that started before the window's end stores its file as open (fetched again next
    time); a run that started after it stores it as final, and the next run reuses it."""
    job = day_job()
    before_end = Rig(started=job.window.end - timedelta(hours=1))
    outcome = await before_end.run(job)
    record = (await before_end.journal.load())[job.key]
    assert outcome.result.file is not None and outcome.result.file.open
    assert record.file is not None and record.file.open
    again = await before_end.run(job, record)
    assert not again.result.reused and len(before_end.client.sent) == 2

    after_end = Rig(started=job.window.end + timedelta(minutes=1))
    await after_end.run(job)
    record = (await after_end.journal.load())[job.key]
    assert record.file is not None and not record.file.open
    assert (await after_end.run(job, record)).result.reused


async def test_one_export_scouts_a_new_kind_and_the_others_wake_when_it_is_learned() -> None:
    """Of two exports of a kind with no history, the first polls on the short schedule and the
    second waits twice as long; once the first is learned, the second wakes at once and waits the
    model's time instead of sleeping on (its 10 s wait would never end by itself)."""
    now = [0.0]
    naps: list[float] = []
    other_napping = anyio.Event()

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        if seconds == 5.0:  # the scout: ready when it polls, once the other one waits too
            await other_napping.wait()
            now[0] = 5.0
        elif seconds == 10.0:  # the other: only learning ends this wait
            other_napping.set()
            await anyio.sleep_forever()

    policy = PollPolicy(first_seconds=5, growth=2, max_seconds=60)
    rig = Rig(sleep=nap, clock=lambda: now[0], poll=policy)
    scout, other = day_job("scout"), day_job("other")
    with anyio.fail_after(3):
        async with anyio.create_task_group() as group:
            group.start_soon(rig.run, scout)
            await anyio.wait_all_tasks_blocked()
            group.start_soon(rig.run, other)
    model = DurationModel()
    model.learn(Observation("conversation", 86400, 0.0, 5.0))
    learned = policy.delay(0, elapsed=5.0, model=model.estimate("conversation", 86400), jitter=0.5)
    assert naps == [5.0, 10.0, learned]
    assert len(rig.client.sent) == 2 and len(rig.sink.files) == 2


class StalledDownloads(ScriptedClient):
    """Downloads that never get their first byte (the request budget is spent)."""

    async def download(self, download_url: str, consume: Any) -> Any:
        await self.gate.at("download")
        await anyio.sleep_forever()


async def passed(rig: Rig, point: str) -> None:
    while point not in rig.gate.passed:
        await anyio.lowlevel.checkpoint()


async def test_a_stop_does_not_wait_for_a_download_whose_bytes_have_not_come() -> None:
    """Stopped while its download still waits for the budget, a job ends at once although the
    grace period is long (nothing of it would be kept), and stays `ready` for the next run."""
    rig = SchedulerRig(StalledDownloads(Gate()), grace=600)
    job = day_job()
    with anyio.fail_after(3):
        results, _ = await rig.schedule([job], stop_when=lambda rig: passed(rig, "download"))
    assert [r.status for r in results] == ["interrupted"]
    assert await rig.state(job) == "ready"


async def test_a_stop_lets_a_download_already_streaming_finish() -> None:
    """Stopped while its bytes stream, a download finishes within the grace period and the job
    ends `downloaded`."""
    rig = SchedulerRig(ScriptedClient(Gate()), grace=600)
    job = day_job()
    with anyio.fail_after(3):
        results, _ = await rig.schedule([job], stop_when=lambda rig: passed(rig, "chunk"))
    assert [r.status for r in results] == ["downloaded"]
    assert await rig.state(job) == "downloaded"
