"""The fake's knobs refuse values that make no sense."""

from __future__ import annotations

import random

import pytest

from orchestrator.fakeapi import FakeConfig, Faults, ManualClock


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
