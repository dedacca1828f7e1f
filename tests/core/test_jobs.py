"""Windows measure elapsed time across DST, and job keys follow only from what defines a request."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orchestrator.core.jobs import Job, Window

CHICAGO = ZoneInfo("America/Chicago")


def test_a_spring_forward_day_is_23_hours_long() -> None:
    """Bounds in a ZoneInfo are measured in elapsed time, not wall-clock time."""
    day = Window(datetime(2024, 3, 10, tzinfo=CHICAGO), datetime(2024, 3, 11, tzinfo=CHICAGO))
    assert day.length == timedelta(hours=23)
    assert day.end_ms - day.start_ms == 23 * 3600 * 1000


def test_the_repeated_hour_is_a_valid_window() -> None:
    """01:00 (CDT) to 01:00 (CST) on the fall-back night is one hour, not an empty window."""
    first = datetime(2024, 11, 3, 1, tzinfo=CHICAGO)
    second = datetime(2024, 11, 3, 1, fold=1, tzinfo=CHICAGO)
    assert Window(first, second).length == timedelta(hours=1)


def test_split_halves_tile_the_window_with_local_offsets() -> None:
    """The halves of a 25-hour day meet at its elapsed midpoint, shown in the right offset."""
    day = Window(datetime(2024, 11, 3, tzinfo=CHICAGO), datetime(2024, 11, 4, tzinfo=CHICAGO))
    first, second = day.split()
    assert first.length == second.length == timedelta(hours=12, minutes=30)
    assert (first.start, second.end) == (day.start, day.end)
    assert first.end.isoformat() == "2024-11-03T11:30:00-06:00"


def test_reversed_or_naive_windows_are_refused() -> None:
    """A window must move forward in time and carry its zone."""
    with pytest.raises(ValueError, match="not before"):
        Window(datetime(2024, 1, 2, tzinfo=CHICAGO), datetime(2024, 1, 1, tzinfo=CHICAGO))
    with pytest.raises(ValueError, match="aware"):
        Window(datetime(2024, 1, 1), datetime(2024, 1, 2))


def test_key_ignores_method_and_label_but_not_the_window() -> None:
    """GET and POST, or another label, ask the same question; another window does not."""
    day = Window(datetime(2024, 1, 1, tzinfo=CHICAGO), datetime(2024, 1, 2, tzinfo=CHICAGO))
    base = {
        "export_name": "c",
        "export_id": "conversation",
        "source": "care",
        "format": "csv",
        "locale": "en_US",
    }
    get = Job(**base, method="GET", window=day)  # type: ignore[arg-type]
    post = Job(**base, method="POST", window=day, filter_label="x")  # type: ignore[arg-type]
    later = Job(**base, method="GET", window=day.split()[1])  # type: ignore[arg-type]
    assert get.key == post.key
    assert get.key != later.key
    assert get.piece(day.split()[1]).key == later.key


def test_a_piece_is_its_parent_over_part_of_the_window_with_its_own_key() -> None:
    """A piece keeps every field of its parent but the window, names its parent, and its key is
    recomputed from its own window (a key is never given, only derived)."""
    day = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    parent = Job(
        export_name="c",
        export_id="conversation",
        source="care",
        format="csv",
        locale="en_US",
        method="POST",
        window=day,
        filter_label="team",
        filter_params=(("teamIds", "3"),),
    )
    first, second = (parent.piece(half) for half in day.split())
    assert (first.window, second.window) == day.split()
    assert first.parent_key == second.parent_key == parent.key
    assert len({parent.key, first.key, second.key}) == 3
    assert replace(first, parent_key=None).key == first.key  # the parent is not part of the key
    assert (first.method, first.filter_label, first.filter_params) == (
        "POST",
        "team",
        (("teamIds", "3"),),
    )
