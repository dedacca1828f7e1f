"""Scenario 1, slot use: exports of exactly D seconds, F in flight, no request budget.

The ideal makespan is ceil(N / F) x D plus a fixed cost: the wall time of `orchestrator plan` of the
same manifest, measured in the same run (interpreter start, imports, settings, manifest, planning).
Lag is the time from "ready at the fake" to "download requested", as a fraction of the job's duration.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..harness import (
    START,
    Export,
    Limits,
    check_run,
    fake_api,
    jobs_between,
    lag_fractions,
    orchestrator,
    orchestrator_env,
    request_delta,
    write_manifest,
)
from ..measure import percentile
from ..report import Section

FILTERS = 10


@dataclass(frozen=True)
class Setup:
    exports: int
    in_flight: int
    seconds: float


FULL = Setup(exports=600, in_flight=50, seconds=2.0)
QUICK = Setup(exports=40, in_flight=20, seconds=0.5)


def run(quick: bool) -> Section:
    setup = QUICK if quick else FULL
    section = Section("slots", "1. Slot use", setup=vars(setup).copy())
    days = setup.exports // FILTERS
    with (
        fake_api(["--job-seconds", str(setup.seconds)]) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        manifest = write_manifest(
            folder, "jobs.yaml", [Export("c", "conversation", FILTERS)], START, days
        )
        as_of = START.fromordinal(START.toordinal() + days)
        env = orchestrator_env(fake, folder / "out", Limits(in_flight=setup.in_flight), quick=quick)
        fixed = orchestrator("plan", manifest, as_of, env)
        check_run(fixed, "plan")
        before = fake.counters()
        measured = orchestrator("run", manifest, as_of, env)
        check_run(measured, "slot-use run")
        after = fake.counters()
        jobs = jobs_between(fake.timeline(), measured)
    ideal = math.ceil(setup.exports / setup.in_flight) * setup.seconds + fixed.seconds
    lags = lag_fractions(jobs)
    section.add("exports", len(jobs), "")
    section.add("makespan", measured.seconds, "s")
    section.add("fixed cost (orchestrator plan)", fixed.seconds, "s")
    section.add("ideal makespan", ideal, "s", "ceil(N/F) x D + fixed cost")
    section.add("makespan / ideal", measured.seconds / ideal, "x")
    section.add("lag median / duration", percentile(lags, 0.5), "x")
    section.add("lag p95 / duration", percentile(lags, 0.95), "x")
    section.add("API requests per export", request_delta(before, after) / max(len(jobs), 1), "")
    section.add("exports per minute", len(jobs) / measured.seconds * 60, "/min")
    section.add("most exports running at the fake", after["max_running"], "")
    section.add("orchestrator peak RSS", measured.peak_rss_mib, "MiB")
    section.target("makespan within 10% of ideal", "makespan / ideal", "<=", 1.10)
    section.target("median lag under 5% of duration", "lag median / duration", "<", 0.05)
    return section
