"""The runner with in-memory edges: the whole path of states, and cancellation at every await point.

No clock: sleeps are recorded, not waited; the gate names every await point of a job's life.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from orchestrator.core.backoff import ResubmitPolicy, RetryPolicy
from orchestrator.core.jobs import Job
from orchestrator.core.lifecycle import Policies, State
from orchestrator.core.polling import PollPolicy
from orchestrator.core.records import JobRecord
from orchestrator.core.results import JobResult
from orchestrator.errors import CredentialsRejected, ExportRefused
from orchestrator.run.runner import JobRunner, Outcome
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
    """A runner over a scripted client, a memory sink and a gated memory journal."""

    def __init__(self, client: ScriptedClient | None = None, **policy: Any) -> None:
        self.gate = client.gate if client else Gate()
        self.client = client or ScriptedClient(self.gate)
        self.journal = GatedJournal(self.gate)
        self.sink = MemorySink()
        self.sleeps: list[float] = []
        self.path: list[str] = []
        self.runner = JobRunner(
            client=self.client,
            sink=self.sink,
            journal=self.journal,
            policies=replace(POLICIES, **policy),
            in_flight=anyio.CapacityLimiter(4),
            downloads=anyio.CapacityLimiter(2),
            shelter=Shelter(grace_seconds=1.0),
            jitter=lambda: 0.5,
            sleep=self.sleep,
            on_state=self.changed,
        )

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await self.gate.at("sleep")

    def changed(self, job: Job, state: State) -> None:
        if not self.path or self.path[-1] != state.name:
            self.path.append(state.name)

    async def run(self, job: Job, record: JobRecord | None = None) -> Outcome:
        with anyio.fail_after(5):
            return await self.runner.run(job, record)

    async def state(self, job: Job) -> str | None:
        record = (await self.journal.load()).get(job.key)
        return record.state if record else None


async def test_a_job_goes_through_every_state_to_its_file() -> None:
    """Submit, poll until completed, download: the path of states and the journal agree."""
    rig = Rig(ScriptedClient(Gate(), [running(), running(), completed()]))
    job = day_job()
    outcome = await rig.run(job)
    assert outcome.result.status == "downloaded"
    assert outcome.result.rows == 2 and outcome.result.bytes == len(BODY)
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
    rig = Rig(client, job_timeout_seconds=0.05)

    async def wait(seconds: float) -> None:
        await anyio.sleep_forever()

    rig.runner._sleep = wait  # the poll waits forever; only the timeout ends it
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


class SchedulerRig(Rig):
    """A scheduler over the rig's runner, with a launch limit of one."""

    async def schedule(
        self, jobs: list[Job], *, stop_when: Callable[[Rig], Awaitable[None]] | None = None
    ) -> tuple[list[JobResult], Any]:
        from orchestrator.run.progress import RunProgress
        from orchestrator.run.scheduler import Scheduler

        progress = RunProgress(len(jobs))

        def changed(job: Job, state: State) -> None:
            progress.changed(job, state)
            self.changed(job, state)

        self.runner._on_state = changed
        run = self.runner.run
        self.live = self.most = 0

        async def counted(job: Job, record: JobRecord | None) -> Outcome:
            self.live += 1
            self.most = max(self.most, self.live)
            try:
                return await run(job, record)
            finally:
                self.live -= 1

        self.runner.run = counted  # type: ignore[method-assign]
        shelter = Shelter(grace_seconds=1.0)
        self.runner._shelter = shelter
        with anyio.fail_after(5):
            async with Scheduler(
                self.runner, progress, launch_limit=1, shelter=shelter
            ) as scheduler:
                if stop_when is not None:

                    async def stopper() -> None:
                        await stop_when(self)
                        scheduler.stop()

                    scheduler._group.start_soon(stopper)  # type: ignore[union-attr]
                await scheduler.run(jobs, await self.journal.load())
        return scheduler.results(jobs), scheduler


async def test_split_pieces_run_under_the_same_launch_limit() -> None:
    """With a launch limit of one, the two pieces of a split job run one after the other,
    and the results list the split job followed by its pieces."""
    rig = SchedulerRig(ScriptedClient(Gate(), [failed(), failed(), completed()]))
    job = day_job()
    results, _ = await rig.schedule([job])
    assert [r.status for r in results] == ["split", "downloaded", "downloaded"]
    assert [r.job.parent_key for r in results] == [None, job.key, job.key]
    assert rig.most == 1


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
    results, scheduler = await rig.schedule(jobs)
    assert scheduler.rejected is rejected
    assert [r.status for r in results] == ["downloaded", "not_started", "not_started"]
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

    async def submit(self, job: Job, *, announce: Any = None) -> Any:
        ids = await super().submit(job, announce=announce)
        self.submitted_at = self.clock[0]
        return ids

    async def status(self, status_url: str) -> Any:
        self.polls += 1
        return completed() if self.clock[0] - self.submitted_at >= self.seconds else running()


async def test_polls_learn_when_an_export_is_likely_done() -> None:
    """The first export of a kind is polled on a growing schedule; the ones after it are polled
    near the learned finish, about once each, and the journal keeps what was learned."""
    now = [0.0]
    rig = Rig(TimedClient(Gate(), now, seconds=30.0), poll=PollPolicy(max_seconds=600))

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    rig.runner._sleep = sleep
    rig.runner._clock = lambda: now[0]
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
    before_end = Rig()
    before_end.runner._started = job.window.end - timedelta(hours=1)
    outcome = await before_end.run(job)
    record = (await before_end.journal.load())[job.key]
    assert outcome.result.open and record.open == 1
    again = await before_end.run(job, record)
    assert not again.result.reused and len(before_end.client.sent) == 2

    after_end = Rig()
    after_end.runner._started = job.window.end + timedelta(minutes=1)
    await after_end.run(job)
    record = (await after_end.journal.load())[job.key]
    assert record.open == 0
    assert (await after_end.run(job, record)).result.reused


async def test_one_export_scouts_a_new_kind_and_the_others_wake_when_it_is_learned() -> None:
    """Of the exports of a kind with no history, the first polls on the short schedule and the
    others wait twice as long; once one is learned, a waiting one wakes to poll at the model's
    time instead of sleeping on."""
    from orchestrator.core.envelope import RunIds
    from orchestrator.core.lifecycle import Poll, StatusSeen

    rig = Rig(poll=PollPolicy(first_seconds=5, growth=2, max_seconds=60))
    now = [0.0]
    rig.runner._clock = lambda: now[0]
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        await anyio.sleep_forever()  # only learning ends these waits

    rig.runner._sleep = nap
    scout, other = day_job("scout"), day_job("other")
    kind = ("conversation", 86400)
    ids = RunIds("wf", "run", "https://api/status/1?companyKey=k")
    waiting = Poll(1, ids, since=0.0)
    woke: list[bool] = []

    async def wait(job: Job) -> None:
        woke.append(await rig.runner._wait_to_poll(job, waiting, kind))

    with anyio.fail_after(3):
        async with anyio.create_task_group() as group:
            group.start_soon(wait, scout)
            await anyio.wait_all_tasks_blocked()
            group.start_soon(wait, other)
            await anyio.wait_all_tasks_blocked()
            assert naps == [5.0, 10.0]  # the scout's short first wait, and twice that
            now[0] = 1.0
            polled = Poll(1, ids, since=0.0, running_at=0.5)
            await rig.runner._learn(scout, polled, StatusSeen(completed(), at=1.0))
    assert woke == [False, False]
    model = rig.runner._durations.estimate(*kind)
    assert model is not None
    expected = rig.runner._policies.poll.delay(0, elapsed=1.0, model=model, jitter=0.5)
    assert rig.runner._poll_delay(waiting, kind) == expected  # the model's time, not 5 or 10 s
    assert kind not in rig.runner._scouts
