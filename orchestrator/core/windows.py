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

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from orchestrator.core.dates import add_months, localize
from orchestrator.core.durations import Duration
from orchestrator.core.jobs import Window


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
    start: datetime,
    end: datetime,
    step: Duration,
    *,
    zone: tzinfo | None = None,
    limit: int | None = None,
) -> int:
    """Exactly how many windows `tile` yields, without building them (memory stays flat).

    Hours: the elapsed time over the step, rounded up in whole microseconds. Steps of two days or
    more: one more than the boundaries before `end`, found by bisection, since such boundaries
    always move time forward (two offsets of a zone differ by less than 48 hours). One-day steps
    are counted one by one, because a skipped calendar day merges two boundaries; that count
    stops at `limit` + 1 when a `limit` is given.
    """
    calendar_zone = _zone(start, end, zone)
    stop = end.astimezone(UTC)
    elapsed = stop - start.astimezone(UTC)
    if elapsed <= timedelta(0):
        return 0
    if step.unit == "h":
        return -(-elapsed // timedelta(hours=step.count))
    if step == Duration(1, "d"):
        return _count_one_by_one(start, stop, step, calendar_zone, limit)
    return _boundaries_before(start, stop, step, calendar_zone) + 1


def _count_one_by_one(
    start: datetime, stop: datetime, step: Duration, zone: tzinfo, limit: int | None
) -> int:
    """The windows `tile` yields, counted as it cuts them (a boundary that does not move time
    forward cuts none) but without building them; stops once the count passes `limit`."""
    count, previous = 1, start.astimezone(UTC)  # 1: the last window, cut at stop
    for boundary in _boundaries(start, step, zone):
        if boundary >= stop or (limit is not None and count > limit):
            break
        if boundary > previous:
            count, previous = count + 1, boundary
    return count


def _boundaries_before(start: datetime, stop: datetime, step: Duration, zone: tzinfo) -> int:
    """How many boundaries lie before `stop`, for steps whose boundaries only move forward:
    doubling finds a boundary at or past it (or past the calendar), then bisection the last one."""
    origin, wall = _origin(start, zone)

    def before(k: int) -> bool:
        boundary = _boundary(origin, wall, step, zone, k)
        return boundary is not None and boundary < stop

    low, high = 0, 1  # boundary 0 is the start itself, before stop
    while before(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if before(middle) else (low, middle)
    return low


def _boundaries(start: datetime, step: Duration, zone: tzinfo) -> Iterator[datetime]:
    """Boundaries 1, 2, ... in UTC, each computed from the start; ends where dates run out."""
    origin, wall = _origin(start, zone)
    k = 1
    while (boundary := _boundary(origin, wall, step, zone, k)) is not None:
        yield boundary
        k += 1


def _origin(start: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The start as a UTC instant and as a naive wall time in the zone."""
    return start.astimezone(UTC), start.astimezone(zone).replace(tzinfo=None)


def _boundary(
    origin: datetime, wall: datetime, step: Duration, zone: tzinfo, k: int
) -> datetime | None:
    """Boundary `k` in UTC: the start plus k steps (elapsed for hours, else on the wall clock);
    None beyond the calendar."""
    try:
        if step.unit == "h":
            return origin + k * timedelta(hours=step.count)
        if step.unit == "mo":
            return localize(add_months(wall, k * step.count), zone).astimezone(UTC)
        return localize(wall + k * _calendar_step(step), zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _calendar_step(step: Duration) -> timedelta:
    return timedelta(days=step.count * (7 if step.unit == "w" else 1))


def _zone(start: datetime, end: datetime, zone: tzinfo | None) -> tzinfo:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("range bounds must be timezone-aware")
    return zone if zone is not None else start.tzinfo


def _local(moment: datetime, zone: tzinfo) -> datetime:
    """The instant as local wall time in the zone (`fold` set for a repeated hour)."""
    return moment.astimezone(zone)
