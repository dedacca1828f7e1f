"""The time left, once a tenth of a run is done, is within a factor of 1.5 of the truth: checked
on a simulated run whose every export's duration is known."""

from __future__ import annotations

import heapq
import random

from orchestrator.core.envelope import RunIds
from orchestrator.core.lifecycle import Fetch, Poll, Stored
from orchestrator.core.stored import StoredFile
from orchestrator.run.progress import RunProgress
from tests.unit.edges import day_job

IDS = RunIds("wf", "run", "https://api/status")
CHECKPOINTS = (0.1, 0.25, 0.5, 0.75, 0.9)


def simulate(durations: list[float], in_flight: int) -> list[tuple[float, float]]:
    """Run exports of these durations, `in_flight` at a time, in order, on a clock of our own;
    at each checkpoint share of exports finished, the estimate and the true time left."""
    jobs = [day_job(f"e{index}") for index in range(len(durations))]
    now = [0.0]
    progress = RunProgress(len(jobs), clock=lambda: now[0])
    running: list[tuple[float, int]] = []
    finish_times: list[float] = []
    seen: list[tuple[float, float]] = []
    next_job, finished = 0, 0
    while finished < len(jobs):
        while next_job < len(jobs) and len(running) < in_flight:
            progress.changed(jobs[next_job], Poll(1, IDS, since=now[0]))
            heapq.heappush(running, (now[0] + durations[next_job], next_job))
            next_job += 1
        now[0], index = heapq.heappop(running)
        file = StoredFile(f"f{index}.csv", 100, "ab", 1)
        progress.changed(jobs[index], Fetch(1, IDS, "https://api/download"))
        progress.changed(jobs[index], Stored(1, IDS, file))
        finished += 1
        finish_times.append(now[0])
        if any(finished == round(share * len(jobs)) for share in CHECKPOINTS):
            snapshot = progress.snapshot(
                requests=3 * finished,
                requests_in_last_minute=0,
                requests_per_minute=100_000,
                in_flight=in_flight,
                elapsed=now[0],
            )
            assert snapshot.seconds_left is not None
            seen.append((snapshot.seconds_left, now[0]))
    end = finish_times[-1]
    return [(estimate, end - at) for estimate, at in seen]


def test_once_a_tenth_is_done_the_estimate_is_within_half_again_of_the_truth() -> None:
    """On runs whose exports take between 1.5 and 4.5 s (known in advance here, never told to
    the estimate), every estimate from a tenth done to nine tenths lies between two thirds and
    one and a half times the true time left, whatever the run's size and in-flight limit."""
    for seed in range(5):
        draw = random.Random(seed)
        for count, in_flight in ((200, 10), (600, 50), (120, 4), (1000, 20)):
            durations = [draw.uniform(1.5, 4.5) for _ in range(count)]
            for estimate, truth in simulate(durations, in_flight):
                assert truth / 1.5 <= estimate <= truth * 1.5, (seed, count, estimate, truth)


def test_requests_spent_on_exports_under_way_do_not_inflate_the_estimate() -> None:
    """Under a binding budget, a run a tenth done has spent many requests on exports not finished
    yet (creates, polls); its time left follows its pace, not those requests charged to the few
    exports finished (a first run once read 65 min at 30 s and ended at 9 min)."""
    jobs = [day_job(f"e{index}") for index in range(100)]
    now = [0.0]
    progress = RunProgress(len(jobs), clock=lambda: now[0])
    for job in jobs[:30]:
        progress.changed(job, Poll(1, IDS, since=0.0))
    now[0] = 54.0
    for index, job in enumerate(jobs[:10]):
        progress.changed(job, Fetch(1, IDS, "https://api/download"))
        progress.changed(job, Stored(1, IDS, StoredFile(f"f{index}.csv", 1, "ab", 1)))
    snapshot = progress.snapshot(
        requests=90, requests_in_last_minute=20, requests_per_minute=20, in_flight=30, elapsed=54.0
    )
    assert snapshot.seconds_left == 90 * 54.0 / 10  # the pace: 486 s, not 90 x 9 / 20 min = 40 min
