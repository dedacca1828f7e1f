"""Date expressions parse early and resolve against the run date in the manifest's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orchestrator.core.dates import (
    AbsoluteDate,
    RelativeDate,
    add_months,
    local_midnight,
    localize,
    parse_date_expr,
    resolve_date,
)
from orchestrator.core.durations import Duration

CHICAGO = ZoneInfo("America/Chicago")


def resolve(text: object, as_of: date = date(2024, 3, 31), zone: ZoneInfo = CHICAGO) -> datetime:
    return resolve_date(parse_date_expr(text), as_of=as_of, zone=zone)


def test_relative_expressions_parse_to_offsets() -> None:
    """today, yesterday and today±N<unit> become relative expressions keeping their text."""
    assert parse_date_expr("today") == RelativeDate("today")
    assert parse_date_expr("yesterday") == RelativeDate("yesterday", -1, Duration(1, "d"))
    assert parse_date_expr("today-7d") == RelativeDate("today-7d", -1, Duration(7, "d"))
    assert parse_date_expr("today+1d") == RelativeDate("today+1d", 1, Duration(1, "d"))
    assert str(parse_date_expr("today-1mo")) == "today-1mo"


def test_yaml_dates_and_iso_text_are_absolute() -> None:
    """Dates and datetimes, whether YAML built them or they arrive as ISO text, are absolute."""
    assert parse_date_expr(date(2024, 1, 1)) == AbsoluteDate(date(2024, 1, 1))
    assert parse_date_expr("2024-01-01") == AbsoluteDate(date(2024, 1, 1))
    assert parse_date_expr("2024-01-01T06:00") == AbsoluteDate(datetime(2024, 1, 1, 6))
    moment = datetime(2024, 1, 1, 6, tzinfo=UTC)
    assert parse_date_expr("2024-01-01T06:00Z") == AbsoluteDate(moment)
    assert parse_date_expr(moment) == AbsoluteDate(moment)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2024-02-30", "is not a valid date: day is out of range"),
        ("tomorrow", "is not a date"),
        ("today-3x", "has a bad offset"),
        ("today-0d", "is zero"),
        ("yesterday-1d", "offsets go on today"),
        (2024, "is not a date"),
        (None, "is not a date"),
    ],
)
def test_bad_expressions_say_what_is_wrong(value: object, words: str) -> None:
    """Impossible dates, unknown words, bad offsets and wrong types raise ValueError."""
    with pytest.raises(ValueError, match=words):
        parse_date_expr(value)


def test_relative_dates_resolve_to_local_midnight() -> None:
    """today and its offsets name the local midnight of a calendar day, months clamped."""
    assert resolve("today") == datetime(2024, 3, 31, tzinfo=CHICAGO)
    assert resolve("yesterday") == datetime(2024, 3, 30, tzinfo=CHICAGO)
    assert resolve("today-2w") == datetime(2024, 3, 17, tzinfo=CHICAGO)
    assert resolve("today-1mo") == datetime(2024, 2, 29, tzinfo=CHICAGO)
    assert resolve("today+1d") == datetime(2024, 4, 1, tzinfo=CHICAGO)
    assert resolve("today").utcoffset() == timedelta(hours=-5)


def test_hour_offsets_are_elapsed_time_from_midnight() -> None:
    """today+6h is six real hours after midnight, so 07:00 on the day clocks spring forward."""
    moment = resolve("today+6h", as_of=date(2024, 3, 10))
    assert moment.timestamp() == datetime(2024, 3, 10, tzinfo=CHICAGO).timestamp() + 6 * 3600
    assert moment.replace(tzinfo=None) == datetime(2024, 3, 10, 7)
    assert resolve("today-6h", as_of=date(2024, 3, 10)).replace(tzinfo=None) == datetime(
        2024, 3, 9, 18
    )


def test_a_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    """02:30 does not exist in Chicago on 2024-03-10; it resolves to 03:30 CDT."""
    moment = resolve("2024-03-10T02:30")
    assert moment.astimezone(UTC) == datetime(2024, 3, 10, 8, 30, tzinfo=UTC)
    assert moment.replace(tzinfo=None) == datetime(2024, 3, 10, 3, 30)


def test_an_ambiguous_time_means_its_first_occurrence() -> None:
    """01:30 happens twice in Chicago on 2024-11-03; the earlier one (CDT) is chosen."""
    moment = resolve("2024-11-03T01:30")
    assert moment.astimezone(UTC) == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)


def test_a_skipped_midnight_starts_the_day_at_its_first_instant() -> None:
    """Santiago skips 00:00-01:00 on 2024-09-08, so that day starts at 01:00."""
    santiago = ZoneInfo("America/Santiago")
    moment = local_midnight(date(2024, 9, 8), santiago)
    assert moment.replace(tzinfo=None) == datetime(2024, 9, 8, 1)
    assert localize(datetime(2024, 9, 8), santiago) == moment


def test_aware_datetimes_keep_their_instant() -> None:
    """An ISO datetime with an offset is the same instant, shown in the manifest's zone."""
    moment = resolve("2024-01-01T06:00:00+05:00")
    assert moment.tzinfo is CHICAGO
    assert moment == datetime(2024, 1, 1, 1, tzinfo=UTC)


def test_results_beyond_the_calendar_are_a_value_error() -> None:
    """Offsets past year 9999 raise ValueError instead of OverflowError."""
    with pytest.raises(ValueError, match="out of the supported range"):
        resolve("today+99999mo")
    with pytest.raises(ValueError, match="out of the supported range"):
        resolve("0001-01-01", zone=ZoneInfo("Etc/GMT-14"))


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    """Jan 31 plus one month is Feb 29 in a leap year; going back clamps the same way."""
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 13) == date(2025, 2, 28)
    assert add_months(datetime(2024, 5, 31, 6), -18) == datetime(2022, 11, 30, 6)
    with pytest.raises(ValueError, match="out of range"):
        add_months(date(9999, 12, 1), 1)
