"""Cutting a range of time into request windows that tile it exactly.

`h` steps are elapsed hours. `d`, `w` and `mo` steps are calendar steps in the zone: the k-th
boundary is the start's wall time plus k steps, localised as `dates.localize` does (a DST day
lasts 23 or 25 hours; months clamp to the month's end). Every boundary is computed from the start,
never by repeated addition, so a clamped Feb 29 does not drag later boundaries off the 31st, and
a wall time moved by a DST gap does not shift the ones after it. A boundary that does not move time
forward (a skipped calendar day, as in Samoa on 2011-12-30) is dropped: no window is empty.

Window bounds carry the zone itself, so the halves of a split window get the right local offset;
`Window` measures and compares in UTC, since Python compares datetimes of one tzinfo by wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from orchestrator.core.dates import add_months, localize
from orchestrator.core.durations import Duration
from orchestrator.core.jobs import Window

_OFFSET_SLACK = timedelta(days=2)
"""More than any gap between two UTC offsets of one zone (-12 h to +14 h), for the upper bound."""


def tile(
    start: datetime, end: datetime, step: Duration, *, zone: tzinfo | None = None
) -> Iterator[Window]:
    """Windows covering [start, end) with no gap or overlap; the last one may be shorter.

    Calendar steps are taken in `zone`, by default the start's tzinfo. An empty range yields none.
    """
    calendar_zone = _zone(start, end, zone)
    stop = end.astimezone(UTC)
    previous = start.astimezone(UTC)
    if previous >= stop:
        return
    for boundary in _boundaries(start, step, calendar_zone):
        if boundary <= previous:
            continue
        upper = min(boundary, stop)
        yield Window(_local(previous, calendar_zone), _local(upper, calendar_zone))
        if upper == stop:
            return
        previous = boundary
    yield Window(_local(previous, calendar_zone), _local(stop, calendar_zone))


def count_windows(
    start: datetime, end: datetime, step: Duration, *, zone: tzinfo | None = None
) -> int:
    """How many windows `tile` yields at most, by arithmetic: exact for hours, never an undercount.

    A boundary's UTC instant differs from its wall time by one of the zone's offsets, so a boundary
    before `end` has a wall time before `end`'s wall time plus the widest spread of offsets.
    """
    calendar_zone = _zone(start, end, zone)
    elapsed = end.astimezone(UTC) - start.astimezone(UTC)
    if elapsed <= timedelta(0):
        return 0
    if step.unit == "h":
        return math.ceil(elapsed / timedelta(hours=step.count))
    first = start.astimezone(calendar_zone).replace(tzinfo=None)
    last = end.astimezone(calendar_zone).replace(tzinfo=None)
    if step.unit == "mo":
        months = (last.year - first.year) * 12 + last.month - first.month + 1  # +1: the slack
        return months // step.count + 1
    span = last - first + _OFFSET_SLACK
    return max(1, math.ceil(span / _calendar_step(step)))


def _boundaries(start: datetime, step: Duration, zone: tzinfo) -> Iterator[datetime]:
    """Boundaries 1, 2, ... in UTC, each computed from the start; ends where dates run out."""
    origin = start.astimezone(UTC)
    wall = start.astimezone(zone).replace(tzinfo=None)
    k = 1
    while True:
        try:
            if step.unit == "h":
                yield origin + k * timedelta(hours=step.count)
            elif step.unit == "mo":
                yield localize(add_months(wall, k * step.count), zone).astimezone(UTC)
            else:
                yield localize(wall + k * _calendar_step(step), zone).astimezone(UTC)
        except (OverflowError, ValueError):
            return
        k += 1


def _calendar_step(step: Duration) -> timedelta:
    return timedelta(days=step.count * (7 if step.unit == "w" else 1))


def _zone(start: datetime, end: datetime, zone: tzinfo | None) -> tzinfo:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("range bounds must be timezone-aware")
    return zone if zone is not None else start.tzinfo


def _local(moment: datetime, zone: tzinfo) -> datetime:
    """The instant as local wall time in the zone (`fold` set for a repeated hour)."""
    return moment.astimezone(zone)
