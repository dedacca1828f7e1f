"""Scenario 2, request economy: exports whose durations differ by export, under a request budget.

Each export id has its own lognormal duration (different medians). The cold run starts from an empty
journal; the warm run is the next night: a second manifest over the following days of the same
exports (same window length), with the cold run's journal and output folder, which is what "the
journal of an earlier run" is in production. Requests are counted at the fake; the budget is checked
at the fake by sampling its request counter (see `RequestSampler`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ..harness import (
    START,
    Export,
    Fake,
    Limits,
    RequestSampler,
    check_run,
    fake_api,
    jobs_between,
    lag_fractions,
    orchestrator,
    orchestrator_env,
    request_delta,
    write_manifest,
)
from ..measure import percentile, ratio
from ..report import Section

SIGMA = 0.3
BUDGET_WINDOW = 59.5
"""Seconds between counter samples that count as "within a minute": half a second of margin for the
few milliseconds a request spends between the client's budget and the fake's counter."""


@dataclass(frozen=True)
class Setup:
    medians: dict[str, float] = field(default_factory=dict)
    days: int = 10
    in_flight: int = 20
    requests_per_minute: float = 120


FULL = Setup(
    {"conversation": 2.0, "conversation_actions": 4.0, "author": 8.0, "response": 16.0},
    days=10,
)
QUICK = Setup(
    {"conversation": 0.3, "conversation_actions": 0.6, "author": 1.2, "response": 2.4},
    days=3,
    requests_per_minute=600,
)


def fake_arguments(setup: Setup) -> list[str]:
    """The fake's durations: a lognormal of its own median per export id."""
    arguments = ["--job-seconds", "1"]
    for export_id, median in setup.medians.items():
        arguments += ["--job-seconds-for", f"{export_id}=lognormal:{median}:{SIGMA}"]
    return arguments


def run(quick: bool) -> Section:
    setup = QUICK if quick else FULL
    section = Section("economy", "2. Request economy", setup=vars(setup).copy())
    section.setup["sigma"] = SIGMA
    arguments = fake_arguments(setup)
    exports = [Export(export_id.replace("_", "-"), export_id) for export_id in setup.medians]
    limits = Limits(in_flight=setup.in_flight, requests_per_minute=setup.requests_per_minute)
    with fake_api(arguments) as fake, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = orchestrator_env(fake, folder / "out", limits, quick=quick)
        for phase, offset in (("cold", 0), ("warm", setup.days)):
            start = START + timedelta(days=offset)
            manifest = write_manifest(folder, f"{phase}.yaml", exports, start, setup.days)
            _phase(section, phase, fake, manifest, start + timedelta(days=setup.days), env, setup)
    section.target("warm: requests per export", "warm: API requests per export", "<=", 3.3)
    section.target("warm: median lag", "warm: lag median / duration", "<", 0.10)
    section.target("cold: requests per export", "cold: API requests per export", "<=", 4.0)
    budget = setup.requests_per_minute
    section.target("cold: budget never exceeded", "cold: busiest minute (sampled)", "<=", budget)
    section.target("warm: budget never exceeded", "warm: busiest minute (sampled)", "<=", budget)
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
    before = fake.counters()
    with RequestSampler(fake) as sampler:
        measured = orchestrator("run", manifest, as_of, env)
    check_run(measured, f"{phase} run")
    after = fake.counters()
    jobs = jobs_between(fake.timeline(), measured)
    lags = lag_fractions(jobs)
    per_minute = len(jobs) / measured.seconds * 60
    ideal = setup.requests_per_minute / 3
    section.add(f"{phase}: exports", len(jobs), "")
    section.add(f"{phase}: makespan", measured.seconds, "s")
    section.add(
        f"{phase}: API requests per export", request_delta(before, after) / max(len(jobs), 1), ""
    )
    section.add(f"{phase}: lag median / duration", percentile(lags, 0.5), "x")
    section.add(f"{phase}: lag p95 / duration", percentile(lags, 0.95), "x")
    section.add(f"{phase}: exports per minute", per_minute, "/min")
    section.add(f"{phase}: exports per minute / (budget/3)", ratio(per_minute, ideal), "x")
    section.add(f"{phase}: busiest minute (sampled)", sampler.busiest(BUDGET_WINDOW), "requests")
