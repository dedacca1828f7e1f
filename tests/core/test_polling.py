"""The learned polling policy, without a clock: the schedule, and what the model learns."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.polling import DurationModel, LogNormal, Observation, PollPolicy


def test_without_history_polls_slow_down_geometrically_to_a_ceiling() -> None:
    """Without a model, waits grow by `growth` from the first wait and stop at the maximum."""
    policy = PollPolicy(first_seconds=2.0, growth=2.0, max_seconds=10.0)
    assert [policy.delay(n) for n in range(5)] == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert policy.delay(10**6) == 10.0


def test_with_a_model_the_first_poll_lands_near_the_expected_finish() -> None:
    """With a model, the first poll waits until its 75th percentile, the next until its 92nd."""
    model = LogNormal(math.log(60.0), 0.1)
    policy = PollPolicy(max_seconds=600)
    first = policy.delay(0, model=model)
    assert first == model.quantile(0.75)
    assert 60 < first < 66
    second = policy.delay(1, elapsed=first, model=model)
    assert math.isclose(first + second, model.quantile(0.92))


def test_past_the_quantiles_the_wait_grows_with_the_time_spent() -> None:
    """Once past the model's quantiles, each wait is a share of the time already spent."""
    model = LogNormal(math.log(10.0), 0.1)
    policy = PollPolicy(growth=1.5, max_seconds=1000)
    assert math.isclose(policy.delay(5, elapsed=100, model=model), 50.0)
    assert math.isclose(policy.delay(0, elapsed=100, model=model), 50.0)  # waited for budget


def test_budget_pressure_moves_the_first_poll_later() -> None:
    """Under request budget pressure, polls aim at a higher quantile: fewer wasted requests."""
    model = LogNormal(math.log(30.0), 0.3)
    policy = PollPolicy(max_seconds=600)
    assert policy.delay(0, model=model, pressure=1.0) > policy.delay(0, model=model)


@given(
    polls=st.integers(0, 10**6),
    elapsed=st.floats(0, 1e7),
    mu=st.floats(-5, 12),
    sigma=st.floats(0.01, 3),
    jitter=st.floats(0, 1),
    pressure=st.floats(0, 1),
)
def test_every_wait_is_finite_and_within_bounds(
    polls: int, elapsed: float, mu: float, sigma: float, jitter: float, pressure: float
) -> None:
    """Whatever the inputs, a wait is a finite number between the minimum and the maximum."""
    policy = PollPolicy()
    for model in (None, LogNormal(mu, sigma)):
        wait = policy.delay(polls, elapsed=elapsed, model=model, jitter=jitter, pressure=pressure)
        assert policy.min_seconds <= wait <= policy.max_seconds


def simulate(model: DurationModel, policy: PollPolicy, truth: LogNormal, exports: int) -> float:
    """Poll `exports` exports drawn from `truth` as the runner would; polls per export."""
    rng = random.Random(7)
    polls_made = 0
    for _ in range(exports):
        duration = math.exp(rng.gauss(truth.mu, truth.sigma))
        elapsed, lower, polls = 0.0, 0.0, 0
        estimate = model.estimate("conversation", 86400)
        while True:
            elapsed += policy.delay(polls, elapsed=elapsed, model=estimate, jitter=rng.random())
            polls += 1
            if elapsed >= duration:
                break
            lower = elapsed
        polls_made += polls
        model.learn(Observation("conversation", 86400, lower, elapsed))
    return polls_made / exports


@settings(max_examples=20, deadline=None)
@given(median=st.floats(1, 600), sigma=st.floats(0.05, 0.2))
def test_the_model_learns_the_true_duration_and_polls_settle_near_one(
    median: float, sigma: float
) -> None:
    """Fed what polling observes, the model's median converges on the truth (within 20 %),
    and after a warm-up an export needs about 1.3 polls."""
    truth = LogNormal(math.log(median), sigma)
    model, policy = DurationModel(), PollPolicy(max_seconds=3600)
    simulate(model, policy, truth, 40)  # warm-up, from no history
    polls = simulate(model, policy, truth, 200)
    learned = model.estimate("conversation", 86400)
    assert learned is not None
    assert abs(learned.median / median - 1) < 0.2
    assert polls < 1.6


def test_an_export_id_without_its_window_length_borrows_the_export_model() -> None:
    """A new window length uses what its export id took, rather than nothing."""
    model = DurationModel()
    model.learn(Observation("conversation", 86400, 0, 30))
    assert model.estimate("conversation", 3600) is not None
    assert model.estimate("user", 3600) is None


def test_a_kind_never_seen_unready_probes_at_half_its_median_then_uses_its_quantiles() -> None:
    """While every export of a kind was ready at its first poll, the next first poll comes at
    half the model's median; once one is seen unready, the first poll is the 75th percentile."""
    model, policy = DurationModel(), PollPolicy()
    model.learn(Observation("conversation", 86400, 0.0, 1.0))  # ready at its first poll
    fit = model.estimate("conversation", 86400)
    assert fit is not None and not fit.bounded
    assert math.isclose(policy.delay(0, model=fit), fit.median * policy.probe)
    model.learn(Observation("conversation", 86400, 0.05, 0.1))  # seen unready at 0.05 s
    fit = model.estimate("conversation", 86400)
    assert fit is not None and fit.bounded
    assert policy.delay(0, model=fit) == fit.quantile(0.75)


def test_polls_made_late_do_not_keep_a_fast_kind_late() -> None:
    """Exports of 50-100 ms, first polled after 1 s, each poll answered 20-100 ms late (a busy
    client): within a few hundred exports the first poll comes before 0.2 s, at about one and
    a quarter polls an export."""
    rng = random.Random(3)
    model, policy = DurationModel(), PollPolicy()
    model.learn(Observation("conversation", 86400, 0.0, 1.0))
    firsts, polls_made = [], 0
    for wave in range(30):
        estimate = model.estimate("conversation", 86400)  # a wave's exports start together
        seen = []
        for _ in range(100):
            duration, elapsed, lower, polls = rng.uniform(0.05, 0.1), 0.0, 0.0, 0
            while True:
                elapsed += policy.delay(polls, elapsed=elapsed, model=estimate, jitter=0.5)
                polls += 1
                if polls == 1 and wave >= 20:
                    firsts.append(elapsed)
                if elapsed >= duration:
                    break
                lower = elapsed
                elapsed += rng.uniform(0.02, 0.1)
            polls_made += polls if wave >= 20 else 0
            seen.append(Observation("conversation", 86400, lower, elapsed + rng.uniform(0.02, 0.1)))
        for observation in seen:
            model.learn(observation)
    assert sorted(firsts)[len(firsts) // 2] < 0.2
    assert polls_made / 1000 < 1.4
