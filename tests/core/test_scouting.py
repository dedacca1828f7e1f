"""The scouting policy: one export scouts a kind not yet learned, the others wait longer and wake
when it is learned; without a clock, a sleep or any I/O."""

from __future__ import annotations

from orchestrator.core.polling import DurationModel, Observation, PollPolicy
from orchestrator.core.scouting import PollWait, Scouting

POLICY = PollPolicy(first_seconds=5, growth=2, max_seconds=60)
KIND = ("conversation", 86400)


def scouting() -> Scouting:
    return Scouting(POLICY, DurationModel())


def test_the_first_export_of_a_new_kind_scouts_and_the_others_wait_twice_as_long() -> None:
    """The first export of a kind with no model polls on the cold schedule; the next waits twice
    that; both are told to wake when the kind is learned."""
    policy = scouting()
    first = policy.next_poll("a", KIND, polls=0, elapsed=0.0, jitter=0.5)
    second = policy.next_poll("b", KIND, polls=0, elapsed=0.0, jitter=0.5)
    assert first == PollWait(5.0, until_learned=KIND)
    assert second == PollWait(10.0, until_learned=KIND)
    assert policy.scout(KIND) == "a"


def test_once_learned_every_export_of_the_kind_waits_for_the_models_time() -> None:
    """Learning a kind ends its scouting: the next wait is the model's, with no wake-up."""
    policy = scouting()
    policy.next_poll("a", KIND, polls=0, elapsed=0.0, jitter=0.5)
    assert policy.learn(Observation("conversation", 86400, 0.5, 1.0)) == KIND
    assert policy.scout(KIND) is None
    model = DurationModel()
    model.learn(Observation("conversation", 86400, 0.5, 1.0))
    expected = POLICY.delay(0, elapsed=1.0, model=model.estimate(*KIND), jitter=0.5)
    assert policy.next_poll("b", KIND, polls=0, elapsed=1.0, jitter=0.5) == PollWait(expected)


def test_a_scout_that_ends_unlearned_hands_the_role_on() -> None:
    """When the scout's job ends before its kind is learned, the next export to ask scouts."""
    policy = scouting()
    policy.next_poll("a", KIND, polls=0, elapsed=0.0, jitter=0.5)
    policy.forget("a")
    assert policy.next_poll("b", KIND, polls=0, elapsed=0.0, jitter=0.5).seconds == 5.0
    assert policy.scout(KIND) == "b"


def test_a_resumed_export_of_unknown_age_polls_on_the_cold_schedule_without_scouting() -> None:
    """An export resumed from the journal (its age unknown) polls on the cold schedule even when
    its kind has a model, and takes no part in scouting."""
    policy = scouting()
    policy.learn(Observation("conversation", 86400, 30.0, 40.0))
    wait = policy.next_poll("r", KIND, polls=2, elapsed=None, jitter=0.5)
    assert wait == PollWait(POLICY.delay(2, jitter=0.5))
    assert policy.scout(KIND) is None
