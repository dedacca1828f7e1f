"""A manifest's exports checked against the vendor's catalog (`core.catalog`), before any request.

Pure. The manifest parser calls `check_export` for each export, where it knows where every value is
written, and keeps the findings on the export; the commands that read a manifest (`validate`,
`plan`, `run`, `status`) apply them all through `verdict`: errors stop the command (exit code 2),
warnings are printed (errors under `--strict`), and notes are said once. What is checked:

- an unknown Care export ID (a warning with a did-you-mean; it is sent as written);
- a filter parameter the export does not take (a warning naming the ones it takes: the API may
  ignore the filter and return unfiltered data);
- a required parameter missing, a value outside the allowed ones, several values for a single
  one, businessHourType without enableBusinessHour, a timeInterval the range rules forbid for the
  window (errors, naming what is allowed);
- a locale outside the reference's list (a warning: its own examples send `en_US`).

Publishing exports are not checked: their IDs and parameters are not published.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestrator.core.catalog import (
    CARE_EXPORTS,
    LOCALES,
    MONTH_RANGE_INTERVALS,
    PUBLISHING_NOTE,
    TIME_INTERVALS,
    TOO_MANY_BUCKETS,
    WEEK_MS,
    WEEK_RANGE_INTERVALS,
    Export,
    Param,
    takers,
)
from orchestrator.core.durations import Duration
from orchestrator.core.filters import KNOWN_PARAMS, FilterSet
from orchestrator.core.problems import FieldPath, Problem
from orchestrator.core.yaml_source import Locator


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the catalog says of an export, located; an error stops the command."""

    problem: Problem
    error: bool = False


@dataclass(frozen=True, slots=True)
class ZoneUse:
    """A `timezone` parameter and where it is written: `check MANIFEST` asks the account."""

    value: str
    location: str
    field: str


@dataclass(frozen=True, slots=True)
class CatalogFindings:
    """What the catalog says of one export."""

    findings: tuple[Finding, ...] = ()
    zones: tuple[ZoneUse, ...] = ()
    unchecked: str | None = None
    """A Publishing export's ID: sent as written, its parameters not checked."""


@dataclass(frozen=True, slots=True)
class Written:
    """One export's values that the catalog speaks of, each with its path in the manifest."""

    source: str
    export_id: tuple[str, FieldPath]
    locale: tuple[str, FieldPath]
    window: tuple[Duration, FieldPath]
    filter_sets: tuple[tuple[FilterSet, FieldPath], ...]
    """Each filter set with its entry's path (`...filters` itself when there are none)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every export's findings, each once: errors, warnings and notes."""

    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


def verdict(found: Iterable[CatalogFindings]) -> Verdict:
    """Gather the findings of every export; one said of a default inherited by many is said once."""
    findings: dict[Finding, None] = {}
    unchecked: dict[str, None] = {}
    for one in found:
        findings.update(dict.fromkeys(one.findings))
        if one.unchecked is not None:
            unchecked[one.unchecked] = None
    notes: tuple[str, ...] = ()
    if unchecked:
        notes = (f"{PUBLISHING_NOTE}: {', '.join(unchecked)}",)  # once, naming them all
    return Verdict(
        problems=tuple(f.problem for f in findings if f.error),
        warnings=tuple(str(f.problem) for f in findings if not f.error),
        notes=notes,
    )


def check_export(written: Written, locator: Locator) -> CatalogFindings:
    """What the catalog says of one export; `locator` places each finding in the manifest."""
    export_id, id_at = written.export_id
    if written.source != "care":
        return CatalogFindings(unchecked=export_id)
    export = CARE_EXPORTS.get(export_id)
    if export is None:
        return CatalogFindings((Finding(locator.problem(id_at, _unknown_export(export_id))),))
    check = _Check(export, locator, written.window)
    check.locale(*written.locale)
    for filter_set, at in written.filter_sets:
        check.filter_set(filter_set, at)
    return CatalogFindings(tuple(check.findings), tuple(check.zones))


@functools.lru_cache(maxsize=1024)
def _unknown_export(export_id: str) -> str:
    """Worked out once per id: a fuzzy match for each of 10,000 exports would cost seconds."""
    close = difflib.get_close_matches(export_id, sorted(CARE_EXPORTS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"{export_id!r} is not a Care export ID of the vendor's reference{hint} (it is sent as "
        "written; `orchestrator exports` lists the 13)"
    )


class _Check:
    """The findings of one export, gathered one filter set at a time."""

    def __init__(
        self, export: Export, locator: Locator, window: tuple[Duration, FieldPath]
    ) -> None:
        self.export = export
        self.locator = locator
        self.window = window
        self.findings: list[Finding] = []
        self.zones: list[ZoneUse] = []

    def warn(self, path: FieldPath, message: str, *, key: bool = False) -> None:
        self.findings.append(Finding(self.locator.problem(path, message, key=key)))

    def refuse(self, path: FieldPath, message: str) -> None:
        self.findings.append(Finding(self.locator.problem(path, message), error=True))

    def locale(self, locale: str, at: FieldPath) -> None:
        """The reference lists five; its examples and the quick start send `en_US`, so a regional
        form of a listed language passes too (§2, §6 surprise 9). Any other is a warning."""
        language = locale.replace("-", "_").split("_")[0]
        if locale not in LOCALES and language not in LOCALES:
            self.warn(
                at,
                f"locale {locale!r} is not one the reference lists ({', '.join(LOCALES)}, or a "
                "regional form such as en_US); it is sent as written",
            )

    def filter_set(self, filter_set: FilterSet, at: FieldPath) -> None:
        values: dict[str, list[str]] = {}
        for name, value in filter_set.params:
            values.setdefault(name, []).append(value)
        for name, given in values.items():
            param = self.export.param(name)
            if param is None:
                if name in KNOWN_PARAMS:  # an undocumented name was warned about already
                    self.warn((*at, name), self._not_taken(name), key=True)
                continue
            self.param(param, given, (*at, name))
        for param in self.export.params:  # the client sets companyKey and the window itself
            if param.required and not param.by_client and param.name not in values:
                allowed = _allowed(param)
                self.refuse(
                    at,
                    f"export {self.export.export_id!r} requires {param.name} in every filter "
                    f"set{f' ({allowed})' if allowed else ''}",
                )
        self._business_hours(values, at)

    def _not_taken(self, name: str) -> str:
        taking = ", ".join(takers(name)) or "no export"
        takes = ", ".join(p.name for p in self.export.params if not p.by_client)
        return (
            f"export {self.export.export_id!r} does not take {name!r} (taken by {taking}): the "
            f"API may ignore it and return unfiltered data; it takes {takes}"
        )

    def param(self, param: Param, given: list[str], at: FieldPath) -> None:
        """The values of one parameter the export takes, by its kind and its allowed values."""
        if param.kind in ("single", "boolean") and len(given) > 1:
            self.refuse(at, f"{param.name} takes one value, not {len(given)}: {param.rule}")
            return
        items = given[0].split(",") if param.kind == "comma" else given
        for index, item in enumerate(items):
            where = (*at, index) if len(items) > 1 else at
            if param.name == "timeInterval":
                self._interval(item, where)
            elif param.name == "timezoneOffset":
                if not _is_integer(item):
                    self.refuse(where, f"timezoneOffset {item!r} is not whole ms: {param.rule}")
            elif param.values and item not in param.values:
                self.refuse(where, f"{param.name} {item!r} is not allowed: {_allowed(param)}")
        if param.name == "timezone":
            place = self.locator.problem(at, "")
            self.zones.append(ZoneUse(given[0], place.location, place.field))

    def _business_hours(self, values: dict[str, list[str]], at: FieldPath) -> None:
        """A non-null businessHourType requires enableBusinessHour=true (§2, §5)."""
        taken = self.export.param("businessHourType") is not None
        if taken and "businessHourType" in values and values.get("enableBusinessHour") != ["true"]:
            self.refuse(
                (*at, "businessHourType"),
                "businessHourType requires enableBusinessHour: true in the same filter set",
            )

    def _interval(self, item: str, at: FieldPath) -> None:
        """A listed value, or one above a week (monthly); then the range rules for the window."""
        listed = ", ".join(f"{value} ({_describe(value)})" for value in TIME_INTERVALS)
        if not _is_integer(item) or int(item) <= 0:
            self.refuse(at, f"timeInterval {item!r} is not allowed: one of {listed}")
            return
        interval = int(item)
        if interval > WEEK_MS:
            self.warn(at, f"timeInterval {interval} is above 1 week: the API treats it as monthly")
        elif interval not in TIME_INTERVALS:
            self.refuse(at, f"timeInterval {interval} is not allowed: one of {listed}")
        else:
            self._buckets(interval, at)

    def _buckets(self, interval: int, at: FieldPath) -> None:
        """The published range rules (§5): a 1-week range takes 8 h, 12 h or 1 day; a 1-month
        range 1 day or 1 week. For any other length the reference states no rule: left open."""
        window, _ = self.window
        span = _span(window)
        if span is None:
            return
        allowed = WEEK_RANGE_INTERVALS if span == "week" else MONTH_RANGE_INTERVALS
        if interval not in allowed:
            named = [f"{value} ({_describe(value)})" for value in allowed]
            choices = f"{', '.join(named[:-1])} or {named[-1]}"
            self.refuse(
                at,
                f"windows of {window} (1 {span}) take only timeInterval {choices}; the API "
                f"answers {interval} ({_describe(interval)}) over a 1-{span} range with "
                f"'{TOO_MANY_BUCKETS}'",
            )


def _span(window: Duration) -> str | None:
    """ "week" or "month" for the window lengths the range rules name; None for any other."""
    if (window.count, window.unit) in ((1, "w"), (7, "d"), (168, "h")):
        return "week"
    if (window.count, window.unit) == (1, "mo"):
        return "month"
    return None


def _allowed(param: Param) -> str:
    if param.name == "timeInterval":
        return "one of " + ", ".join(f"{v} ({_describe(int(v))})" for v in TIME_INTERVALS)
    if param.name == "priorities":
        return "priorities are 0-5"
    return f"one of {', '.join(param.values)}" if param.values else ""


def _describe(ms: int) -> str:
    """300000 -> '5 min', 3600000 -> '1 h', 86400000 -> '1 day', 604800000 -> '1 week'."""
    for size, unit in ((WEEK_MS, "week"), (86_400_000, "day"), (3_600_000, "h"), (60_000, "min")):
        if ms % size == 0:
            count = ms // size
            plural = "s" if count > 1 and unit in ("week", "day") else ""
            return f"{count} {unit}{plural}"
    return f"{ms} ms"


def _is_integer(text: str) -> bool:
    digits = text.removeprefix("-")
    return digits.isascii() and digits.isdigit()


def unknown_zones(uses: Iterable[ZoneUse], zones: Sequence[str]) -> list[Problem]:
    """Each `timezone` parameter that is not one of the account's zone ids (`check MANIFEST`),
    located, with the closest id the account lists."""
    known = frozenset(zones)
    problems: dict[Problem, None] = {}
    for use in uses:
        if use.value in known:
            continue
        close = difflib.get_close_matches(use.value, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = (
            f"timezone {use.value!r} is not one of the account's {len(known)} time zones{hint} "
            "(`GET /config/timezones` lists them)"
        )
        problems[Problem(use.location, use.field, message)] = None
    return list(problems)
