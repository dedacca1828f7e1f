"""Date expressions of the manifest and their resolution against the run date.

An expression is parsed once, when the manifest is read, so typos fail early with a location; it is
resolved later against `as_of` (the run date, always passed in: this module never reads the clock).

Local times that do not exist or exist twice are settled the way most calendars do (PEP 495
`fold=0`, then normalised through UTC):
- a time in a DST gap moves forward by the gap (02:30 on a spring-forward day becomes 03:30), so a
  day whose midnight is skipped starts at the first instant that exists (often 01:00);
- an ambiguous time means its first occurrence, so a day always starts at its earliest instant.

Resolved datetimes carry the manifest's `ZoneInfo`. Python compares and subtracts two datetimes
with the same tzinfo by wall clock, ignoring fold and offsets: compare them by `timestamp()`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, TypeVar

from orchestrator.core.durations import Duration, parse_duration

HINT = "(use 2024-01-01, 2024-01-01T06:00, today, yesterday, today-7d, today-1mo)"
_RELATIVE = re.compile(r"(today|yesterday)\s*(?:([+-])\s*(\w+))?")
_DATE_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")
_D = TypeVar("_D", date, datetime)


@dataclass(frozen=True, slots=True)
class AbsoluteDate:
    """A fixed date (local midnight), naive datetime (local wall time) or aware datetime."""

    value: date | datetime

    def __str__(self) -> str:
        return self.value.isoformat()


@dataclass(frozen=True, slots=True)
class RelativeDate:
    """`today` shifted by `sign` times `offset` (none for `today` itself); `text` as written."""

    text: str
    sign: Literal[1, -1] = 1
    offset: Duration | None = None

    def __str__(self) -> str:
        return self.text


DateExpr = AbsoluteDate | RelativeDate


def parse_date_expr(value: object) -> DateExpr:
    """Read an expression from YAML (text, or the date/datetime YAML itself may produce)."""
    if isinstance(value, date):  # datetime is a date too
        return AbsoluteDate(value)
    if not isinstance(value, str):
        message = f"{value!r} is not a date {HINT}"
        raise ValueError(message)  # noqa: TRY004 pydantic turns only ValueError into its errors
    text = value.strip()
    match = _RELATIVE.fullmatch(text)
    if match is not None:
        return _relative(text, match)
    return AbsoluteDate(_iso(text))


def _relative(text: str, match: re.Match[str]) -> RelativeDate:
    base, sign_text, offset_text = match.groups()
    sign: Literal[1, -1] = -1 if sign_text == "-" else 1
    offset = None
    if offset_text is not None:
        try:
            offset = parse_duration(offset_text)
        except ValueError as exc:
            raise ValueError(f"{text!r} has a bad offset: {exc}") from None
    if base == "yesterday":
        if offset is not None:
            raise ValueError(f"{text!r}: offsets go on today, e.g. today-2d {HINT}")
        return RelativeDate(text, -1, Duration(1, "d"))
    return RelativeDate(text, sign, offset)


def _iso(text: str) -> date | datetime:
    """An ISO date or datetime; a date-shaped text that is impossible says why."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError as exc:
        if _DATE_PREFIX.match(text):
            raise ValueError(f"{text!r} is not a valid date: {exc}") from None
        raise ValueError(f"{text!r} is not a date {HINT}") from None


def resolve_date(expr: DateExpr, *, as_of: date, zone: tzinfo) -> datetime:
    """The instant an expression names, as an aware datetime in `zone` (dates: local midnight)."""
    try:
        if isinstance(expr, AbsoluteDate):
            return _resolve_absolute(expr.value, zone)
        return _resolve_relative(expr, as_of, zone)
    except (OverflowError, ValueError):
        raise ValueError(f"{expr} is out of the supported range of dates (as of {as_of})") from None


def _resolve_absolute(value: date | datetime, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        return local_midnight(value, zone)
    if value.tzinfo is None:
        return localize(value, zone)
    return value.astimezone(UTC).astimezone(zone)


def _resolve_relative(expr: RelativeDate, as_of: date, zone: tzinfo) -> datetime:
    offset = expr.offset
    if offset is None:
        return local_midnight(as_of, zone)
    if offset.unit == "h":
        midnight = local_midnight(as_of, zone).astimezone(UTC)
        return (midnight + expr.sign * timedelta(hours=offset.count)).astimezone(zone)
    if offset.unit == "mo":
        return local_midnight(add_months(as_of, expr.sign * offset.count), zone)
    days = offset.count * (7 if offset.unit == "w" else 1)
    return local_midnight(as_of + expr.sign * timedelta(days=days), zone)


def localize(wall: datetime, zone: tzinfo) -> datetime:
    """Attach `zone` to a naive wall time, settling gaps and folds as the module docstring says."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of `day` in `zone`."""
    return localize(datetime(day.year, day.month, day.day), zone)


def add_months(moment: _D, months: int) -> _D:
    """Calendar months later (or earlier), the day clamped to the month's end: Jan 31 + 1 = Feb 29.

    Raises ValueError when the result falls outside years 1 to 9999.
    """
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise ValueError(f"year {year} is out of range")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True, slots=True)
class DateRange:
    """A range given on the command line, `START..END` in the manifest's date forms, half-open
    like the manifest's: it replaces every export's range for one invocation (a backfill)."""

    start: DateExpr
    end: DateExpr

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"

    def problem(self, *, as_of: date, zone: tzinfo) -> str | None:
        """Why the range is empty or unusable at the run date in `zone`, or None."""
        try:
            start = resolve_date(self.start, as_of=as_of, zone=zone)
            end = resolve_date(self.end, as_of=as_of, zone=zone)
        except ValueError as exc:
            return f"--range {self}: {exc}"
        if end.timestamp() <= start.timestamp():
            return (
                f"--range {self}: end {end.isoformat()} is not after start {start.isoformat()} "
                f"as of {as_of}: the range is [start, end)"
            )
        return None


def parse_range(text: str) -> DateRange:
    """`START..END`, each side a date expression as the manifest writes them; a ValueError says
    what is wrong. Whether END is after START is known only at the run date (`problem`)."""
    start, dots, end = (part.strip() for part in text.strip().partition(".."))
    if not dots or not start or not end:
        raise ValueError(
            f"{text!r} is not START..END (e.g. 2024-01-01..2024-02-01 or today-7d..today)"
        )
    return DateRange(parse_date_expr(start), parse_date_expr(end))
