"""Scenario 1, slot use: exports of exactly D seconds, F in flight, no request budget.

The ideal makespan is ceil(N / F) x D plus a fixed cost: the wall time of `orchestrator plan` of the
same manifest, measured in the same run (interpreter start, imports, settings, manifest, planning).
Lag is the time from "ready at the fake" to "download requested", as a fraction of the job's duration.
The cold run starts from an empty journal; the warm run is the next night's: the following days of
the same export, with the cold run's journal and output folder (as in scenario 2).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..harness import (
    START,
    Export,
    Fake,
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
        env = orchestrator_env(fake, folder / "out", Limits(in_flight=setup.in_flight), quick=quick)
        for phase, offset in (("cold", 0), ("warm", days)):
            start = START + timedelta(days=offset)
            manifest = write_manifest(
                folder, f"{phase}.yaml", [Export("c", "conversation", FILTERS)], start, days
            )
            as_of = start + timedelta(days=days)
            _phase(section, phase, fake, manifest, as_of, env, setup)
    section.target("makespan within 10% of ideal", "makespan / ideal", "<=", 1.10)
    section.target("median lag under 5% of duration", "lag median / duration", "<", 0.05)
    section.target("cold: requests per export", "API requests per export", "<=", 3.5)
    section.target("warm: makespan within 10% of ideal", "warm: makespan / ideal", "<=", 1.10)
    section.target("warm: requests per export", "warm: API requests per export", "<=", 3.3)
    return section


def _phase(
    section: Section,
    phase: str,
    fake: Fake,
    manifest: Path,
    as_of: date,
    env: dict[str, str],
    setup: Setup,
) -> None:
    """One run, measured: the cold one's figures unprefixed (as before the warm run existed)."""
    fixed = orchestrator("plan", manifest, as_of, env)
    check_run(fixed, "plan")
    before = fake.counters()
    measured = orchestrator("run", manifest, as_of, env)
    check_run(measured, f"{phase} slot-use run")
    after = fake.counters()
    jobs = jobs_between(fake.timeline(), measured)
    ideal = math.ceil(setup.exports / setup.in_flight) * setup.seconds + fixed.seconds
    lags = lag_fractions(jobs)
    prefix = "" if phase == "cold" else f"{phase}: "
    section.add(f"{prefix}exports", len(jobs), "")
    section.add(f"{prefix}makespan", measured.seconds, "s")
    section.add(f"{prefix}fixed cost (orchestrator plan)", fixed.seconds, "s")
    section.add(f"{prefix}ideal makespan", ideal, "s", "ceil(N/F) x D + fixed cost")
    section.add(f"{prefix}makespan / ideal", measured.seconds / ideal, "x")
    section.add(f"{prefix}lag median / duration", percentile(lags, 0.5), "x")
    section.add(f"{prefix}lag p95 / duration", percentile(lags, 0.95), "x")
    per_export = request_delta(before, after) / max(len(jobs), 1)
    section.add(f"{prefix}API requests per export", per_export, "")
    section.add(f"{prefix}exports per minute", len(jobs) / measured.seconds * 60, "/min")
    section.add(f"{prefix}most exports running at the fake", after["max_running"], "")
    section.add(f"{prefix}orchestrator peak RSS", measured.peak_rss_mib, "MiB")
