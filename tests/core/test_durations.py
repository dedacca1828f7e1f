"""Durations are read strictly and written back as they were given."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.durations import MAX_COUNT, Duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", Duration(1, "h")),
        ("7d", Duration(7, "d")),
        ("2w", Duration(2, "w")),
        ("1mo", Duration(1, "mo")),
        (" 3d ", Duration(3, "d")),
    ],
)
def test_valid_durations_parse(text: str, expected: Duration) -> None:
    """Each unit is understood, with surrounding blanks ignored."""
    assert parse_duration(text) == expected


def test_unknown_text_names_the_accepted_forms() -> None:
    """A typo gets the exact message the manifest errors show."""
    with pytest.raises(ValueError, match=r"^'3x' is not a duration \(use 1h, 1d, 7d, 1mo\)$"):
        parse_duration("3x")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0d", "is zero"),
        ("-1d", "is negative"),
        ("1m", "is not a duration"),
        ("", "is not a duration"),
        ("1.5d", "is not a duration"),
        ("1D", "is not a duration"),
        (7, "is not a duration"),
        (None, "is not a duration"),
        (f"{MAX_COUNT + 1}d", "too long"),
        ("9" * 5000 + "d", "is not a duration"),
    ],
)
def test_bad_durations_are_refused_with_a_reason(value: object, words: str) -> None:
    """Zero, negative, unknown units, non-text and absurd counts all raise ValueError."""
    with pytest.raises(ValueError, match=words):
        parse_duration(value)


def test_the_value_type_refuses_zero_and_unknown_units() -> None:
    """A Duration built in code is held to the same rules as a parsed one."""
    with pytest.raises(ValueError, match="between 1"):
        Duration(0, "d")
    with pytest.raises(ValueError, match="unit"):
        Duration(1, "y")  # type: ignore[arg-type]


@given(st.integers(1, MAX_COUNT), st.sampled_from(["h", "d", "w", "mo"]))
def test_str_round_trips(count: int, unit: str) -> None:
    """str() gives back text that parses to the same duration."""
    duration = parse_duration(f"{count}{unit}")
    assert str(duration) == f"{count}{unit}"
    assert parse_duration(str(duration)) == duration
