"""Windows tile a range exactly, with calendar steps in the manifest's zone."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.dates import add_months, local_midnight, localize
from orchestrator.core.durations import Duration, Unit
from orchestrator.core.jobs import Window
from orchestrator.core.windows import count_windows, tile
from tests.core.strategies import ZONES

CHICAGO = ZoneInfo("America/Chicago")
UNITS: tuple[Unit, ...] = ("h", "d", "w", "mo")


def days(zone: ZoneInfo, first: date, last: date, step: str = "1d") -> list[Window]:
    duration = Duration(int(step[:-1]), "d")
    return list(tile(local_midnight(first, zone), local_midnight(last, zone), duration))


def test_chicago_days_last_23_and_25_hours_when_clocks_change() -> None:
    """1d windows go midnight to midnight: 2024-03-10 is 23 h long, 2024-11-03 is 25 h."""
    spring = days(CHICAGO, date(2024, 3, 9), date(2024, 3, 12))
    assert [w.length for w in spring] == [timedelta(hours=h) for h in (24, 23, 24)]
    autumn = days(CHICAGO, date(2024, 11, 2), date(2024, 11, 5))
    assert [w.length for w in autumn] == [timedelta(hours=h) for h in (24, 25, 24)]
    assert all(w.start.hour == 0 and w.end.hour == 0 for w in spring + autumn)
    assert autumn[1].end_ms - autumn[1].start_ms == 25 * 3600 * 1000


def test_hour_windows_count_the_repeated_hour_of_a_fall_back_night() -> None:
    """1h windows over local 00:00-03:00 on 2024-11-03 are four real hours, both 01:00s included."""
    start = local_midnight(date(2024, 11, 3), CHICAGO)
    end = localize(datetime(2024, 11, 3, 3), CHICAGO)
    windows = list(tile(start, end, Duration(1, "h")))
    assert len(windows) == 4
    assert all(w.length == timedelta(hours=1) for w in windows)
    assert [w.start.hour for w in windows] == [0, 1, 1, 2]
    assert count_windows(start, end, Duration(1, "h")) == 4


def test_months_anchor_on_the_range_start() -> None:
    """From Jan 31 monthly boundaries are Feb 29, Mar 31, Apr 30: clamped, never drifting."""
    start = local_midnight(date(2024, 1, 31), CHICAGO)
    end = local_midnight(date(2024, 5, 15), CHICAGO)
    windows = list(tile(start, end, Duration(1, "mo")))
    assert [w.end.date() for w in windows] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 15),
    ]


def test_the_last_window_is_clamped_to_the_end() -> None:
    """A 7d step over 10 days gives a 7-day window then a 3-day one."""
    windows = days(ZoneInfo("UTC"), date(2024, 1, 1), date(2024, 1, 11), "7d")
    assert [w.length for w in windows] == [timedelta(days=7), timedelta(days=3)]


def test_an_empty_range_has_no_windows() -> None:
    """start == end, or end before start, yields nothing and counts zero."""
    moment = local_midnight(date(2024, 1, 1), CHICAGO)
    assert list(tile(moment, moment, Duration(1, "d"))) == []
    assert count_windows(moment, moment - timedelta(days=1), Duration(1, "d")) == 0


def test_a_skipped_calendar_day_is_not_an_empty_window() -> None:
    """Samoa skipped 2011-12-30; the window covering it ends on the 31st, and all tile."""
    windows = days(ZoneInfo("Pacific/Apia"), date(2011, 12, 28), date(2012, 1, 2))
    assert [w.end.date() for w in windows] == [
        date(2011, 12, 29),
        date(2011, 12, 31),
        date(2012, 1, 1),
        date(2012, 1, 2),
    ]
    assert all(w.length == timedelta(days=1) for w in windows)


def test_lord_howe_days_are_half_an_hour_short_or_long() -> None:
    """Lord Howe moves its clocks by 30 minutes, so its DST days last 23.5 and 24.5 hours."""
    zone = ZoneInfo("Australia/Lord_Howe")
    assert days(zone, date(2024, 4, 7), date(2024, 4, 8))[0].length == timedelta(hours=24.5)
    assert days(zone, date(2024, 10, 6), date(2024, 10, 7))[0].length == timedelta(hours=23.5)


def test_bounds_show_local_time_with_the_offset_of_the_moment() -> None:
    """Window bounds read as local wall time and compare by instant (not by wall clock)."""
    window = days(CHICAGO, date(2024, 3, 10), date(2024, 3, 11))[0]
    assert window.start.isoformat() == "2024-03-10T00:00:00-06:00"
    assert window.end.isoformat() == "2024-03-11T00:00:00-05:00"


@st.composite
def ranges(draw: st.DrawFn) -> tuple[datetime, datetime, Duration]:
    """A zone, a range of up to about 40 steps starting at midnight or any minute, and a step."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    unit: Unit = draw(st.sampled_from(UNITS))
    step = Duration(draw(st.integers(1, {"h": 48, "d": 10, "w": 3, "mo": 3}[unit])), unit)
    wall = draw(st.datetimes(datetime(2015, 1, 1), datetime(2030, 12, 31)))
    if draw(st.booleans()):
        wall = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    start = localize(wall.replace(second=0, microsecond=0), zone)
    nominal = {"h": 3600, "d": 86400, "w": 7 * 86400, "mo": 31 * 86400}[unit] * step.count
    elapsed = draw(st.integers(60, nominal * 40))
    return start, (start.astimezone(UTC) + timedelta(seconds=elapsed)).astimezone(zone), step


@settings(max_examples=300, deadline=None)
@given(ranges())
def test_windows_tile_the_range_with_no_gap_or_overlap(
    case: tuple[datetime, datetime, Duration],
) -> None:
    """First start is the range start, each end is the next start, last end is the range end."""
    start, end, step = case
    windows = list(tile(start, end, step))
    assert windows[0].start == start
    assert windows[-1].end == end
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start
    assert all(w.start < w.end for w in windows)
    assert len(windows) <= count_windows(start, end, step)
    if step.unit == "h":
        assert len(windows) == count_windows(start, end, step)


@settings(max_examples=300, deadline=None)
@given(ranges())
def test_every_window_but_the_last_has_the_nominal_calendar_length(
    case: tuple[datetime, datetime, Duration],
) -> None:
    """Hours are exact; days and weeks span N local dates (±1 h of DST); months land on the day."""
    start, end, step = case
    windows = list(tile(start, end, step))
    first_day = start.replace(tzinfo=None).date()
    for index, window in enumerate(windows[:-1]):
        span = window.end.date() - window.start.date()
        if step.unit == "h":
            assert window.length == timedelta(hours=step.count)
        elif step.unit == "mo":
            assert window.end.date() == add_months(first_day, (index + 1) * step.count)
        else:
            nominal = timedelta(days=step.count * (7 if step.unit == "w" else 1))
            assert span == nominal
            assert abs(window.length - nominal) <= timedelta(hours=1)
