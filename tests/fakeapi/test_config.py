"""The fake's knobs refuse values that make no sense."""

from __future__ import annotations

import random

import pytest

from orchestrator.fakeapi import FakeConfig, Faults, LogNormal, ManualClock, parse_duration


@pytest.mark.parametrize(
    "make",
    [
        lambda: Faults(rate_limit=1.5),
        lambda: Faults(cut_download=-0.1),
        lambda: Faults(fail_first_submits=-1),
        lambda: FakeConfig(job_duration=(2.0, 1.0)),
        lambda: FakeConfig(job_duration_by_export={"user": -1.0}),
        lambda: FakeConfig(max_running_per_company=0),
    ],
)
def test_invalid_knobs_raise(make: object) -> None:
    """Out-of-range probabilities, durations and caps raise ValueError at construction."""
    assert callable(make)
    with pytest.raises(ValueError):
        make()


def test_durations_are_fixed_ranged_or_per_export() -> None:
    """A job's duration is the fixed value, a draw from the range, or the export's override."""
    config = FakeConfig(job_duration=(0.01, 0.05), job_duration_by_export={"user": 3.0})
    rng = random.Random(1)
    draws = [config.duration_for("conversation", rng) for _ in range(50)]
    assert all(0.01 <= draw <= 0.05 for draw in draws)
    assert config.duration_for("user", rng) == 3.0
    assert FakeConfig(job_duration=2).duration_for("x", rng) == 2.0


def test_manual_clock_only_moves_forward() -> None:
    """ManualClock advances on request and refuses to go back."""
    clock = ManualClock(start=5.0)
    clock.advance(2.5)
    assert clock() == 7.5
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 2.0),
        ("0.5:1.5", (0.5, 1.5)),
        ("lognormal:30:0.5", LogNormal(30.0, 0.5)),
    ],
)
def test_parse_duration_reads_the_three_forms(text: str, expected: object) -> None:
    """S, MIN:MAX and lognormal:MEDIAN:SIGMA parse to a fixed, ranged and lognormal duration."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "x", "1:2:3", "2:1", "-1", "lognormal:0:1", "lognormal:5", "lognormal:5:-1"]
)
def test_parse_duration_refuses_nonsense(text: str) -> None:
    """Malformed specs, reversed ranges, negative seconds and a median of 0 raise ValueError."""
    with pytest.raises(ValueError, match=r"lognormal|seconds|median"):
        parse_duration(text)


def test_lognormal_durations_are_seeded_draws_around_the_median() -> None:
    """Lognormal durations come from the seeded rng: repeatable, positive, half below the median."""
    config = FakeConfig(job_duration=LogNormal(10.0, 0.8), job_duration_by_export={"user": 1.0})
    rng = random.Random(3)
    draws = [config.duration_for("conversation", rng) for _ in range(400)]
    assert config.duration_for("conversation", random.Random(3)) == draws[0]
    assert all(draw > 0 for draw in draws)
    below = sum(draw < 10.0 for draw in draws)
    assert 150 < below < 250
    assert config.duration_for("user", random.Random(3)) == 1.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Faults(direct_download=2.0),
        lambda: Faults(gzip_storage=-0.5),
        lambda: Faults(redirect_hops=5),
        lambda: Faults(late_url_polls=-1),
        lambda: Faults(unknown_state_polls=-1),
        lambda: Faults(closed_empty_detail_polls=-2),
        lambda: Faults(empty_form="blank"),  # type: ignore[arg-type]
    ],
)
def test_invalid_answer_forms_raise(make: object) -> None:
    """Out-of-range answer-form knobs raise ValueError at construction (at most 5 hops in all)."""
    assert callable(make)
    with pytest.raises(ValueError):
        make()
