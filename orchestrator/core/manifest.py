"""The manifest (`jobs.yaml`): read, validated and resolved into exports ready to plan.

Reading takes three steps; every problem found becomes a `Problem` located at its YAML node
(`problems`, `yaml_source`):
1. YAML is composed with a SafeLoader that refuses anchors and aliases (no alias bombs) and keeps
   timestamps as text for `dates`; node marks are recorded by field path; duplicate keys refused;
2. pydantic models (unknown keys forbidden) check the structure, types and single values;
3. defaults are merged into each export and cross-field rules checked (names, filters, range).

All problems of a step are raised together as one `ManifestError` (the CLI exits with code 2).
Only `load_manifest` touches the disk, to read one size-capped regular file.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import ErrorDetails

from orchestrator.core.catalog_check import CatalogFindings, Written, check_export
from orchestrator.core.dates import AbsoluteDate, DateExpr, parse_date_expr, resolve_date
from orchestrator.core.durations import Duration, parse_duration
from orchestrator.core.filters import FilterSet, encode_filters, unknown_params
from orchestrator.core.jobs import Method, ReportFormat, Source
from orchestrator.core.problems import FieldPath, Problem, dotted
from orchestrator.core.yaml_source import Locator, read_yaml, show
from orchestrator.errors import FilterError, ManifestError

__all__ = [
    "ExportDefaults",
    "ExportSpec",
    "Manifest",
    "ManifestError",
    "Problem",
    "RangeSpec",
    "RawManifest",
    "ResolvedExport",
    "load_manifest",
    "parse_manifest",
]

MAX_BYTES = 1_048_576
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class ResolvedExport:
    """One export with defaults applied; dates stay expressions until the run date is known."""

    name: str
    export_id: str
    source: Source
    format: ReportFormat
    locale: str
    method: Method
    start: DateExpr
    end: DateExpr
    window: Duration
    columns: tuple[str, ...]
    filter_sets: tuple[FilterSet, ...]
    location: str
    field: str
    catalog: CatalogFindings = CatalogFindings()  # noqa: RUF009 a frozen value, safe to share
    """What the vendor's catalog says of it (core.catalog_check); the commands apply it."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated manifest: the zone windows are cut in, and its exports in manifest order.

    `warnings` are located like problems but do not stop a run (`--strict` makes them errors):
    filter names that are not documented API parameters, for now.
    """

    timezone: ZoneInfo
    exports: tuple[ResolvedExport, ...]
    source_name: str = "jobs.yaml"
    warnings: tuple[Problem, ...] = ()

    def with_range(self, start: DateExpr, end: DateExpr) -> Manifest:
        """The same manifest with every export's range replaced (`--range`, a backfill)."""
        exports = tuple(replace(export, start=start, end=end) for export in self.exports)
        return replace(self, exports=exports)


# ----------------------------------------------------------------------------- single values


def _check_pattern(pattern: str, what: str) -> PlainValidator:
    def check(value: object) -> str:
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return PlainValidator(check)


def _check_version(value: object) -> int:
    """Only the integer 1: YAML's `true` and `1.0` equal 1 in Python, but are not a version."""
    if type(value) is not int or value != 1:
        raise ValueError(f"must be 1, not {show(value)}")
    return value


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - {"localtime", "posixrules", "Factory"})


def _check_zone(value: object) -> ZoneInfo:
    """Only IANA names: a path or a system-only file would make runs differ between machines."""
    if not isinstance(value, str):
        message = f"{value!r} is not an IANA time zone such as 'America/Chicago'"
        raise ValueError(message)  # noqa: TRY004 pydantic turns only ValueError into its errors
    if value not in _zone_names():
        raise ValueError(f"{value!r} is not an IANA time zone{_hint(value, _zone_names())}")
    return ZoneInfo(value)


def _hint(word: str, choices: Sequence[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


# ----------------------------------------------------------------------------- models


_ExportId = Annotated[
    str, _check_pattern(r"[A-Za-z0-9_]{1,128}", "an export id like 'conversation'")
]
_Locale = Annotated[
    str, _check_pattern(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*", "a locale like 'en_US' or 'fr'")
]
_Column = Annotated[str, _check_pattern(r"[^\s,]{1,200}", "a column name like 'CONVERSATION_ID'")]
_Date = Annotated[DateExpr, PlainValidator(parse_date_expr)]
_Name = Annotated[
    str,
    _check_pattern(
        rf"[a-z0-9][a-z0-9_-]{{0,{MAX_NAME - 1}}}",
        f"a name of 1-{MAX_NAME} lower-case letters, digits, '_' or '-' "
        "starting with a letter or digit (names become directory names)",
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RangeSpec(_Model):
    start: _Date | None = None
    end: _Date | None = None


class ExportDefaults(_Model):
    """Every export field but `name`; unset (None) means "inherit"."""

    export_id: _ExportId | None = None
    source: Source | None = None
    format: ReportFormat | None = None
    locale: _Locale | None = None
    method: Method | None = None
    range: RangeSpec | None = None
    window: Annotated[Duration, PlainValidator(parse_duration)] | None = None
    columns: list[_Column] | None = None
    filters: list[Any] | None = None


class ExportSpec(ExportDefaults):
    name: _Name


class RawManifest(_Model):
    version: Annotated[int, PlainValidator(_check_version)]
    timezone: Annotated[ZoneInfo, PlainValidator(_check_zone)] = ZoneInfo("UTC")
    defaults: ExportDefaults = ExportDefaults()
    exports: list[ExportSpec] = Field(min_length=1)


_BUILT_IN: dict[str, object] = {
    "source": "care",
    "format": "csv",
    "locale": "en_US",
    "method": "GET",
    "window": Duration(1, "d"),
}


# ----------------------------------------------------------------------------- public API


def parse_manifest(
    text: str, *, source_name: str = "jobs.yaml", max_bytes: int = MAX_BYTES
) -> Manifest:
    """Read, validate and resolve a manifest; all problems are raised, located, in one error."""
    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise ManifestError([_too_big(source_name, max_bytes)])
    data, locator = read_yaml(text, source_name)
    if not isinstance(data, dict):
        message = "the manifest must be a mapping with version, timezone, defaults and exports"
        raise ManifestError([Problem(locator.at(()), "", f"{message}, not {show(data)}")])
    try:
        raw = RawManifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError([_translate(error, locator) for error in exc.errors()]) from None
    return _resolve(raw, locator)


def load_manifest(path: Path, *, max_bytes: int = MAX_BYTES) -> Manifest:
    """Read the file (at most `max_bytes`, UTF-8) and parse it; messages name the path as given."""
    name = str(path)
    try:
        data = _read_capped(path, max_bytes + 1)
    except OSError as exc:
        message = f"cannot read the manifest: {exc.strerror or exc}"
        raise ManifestError([Problem(name, "", message)]) from None
    if len(data) > max_bytes:
        raise ManifestError([_too_big(name, max_bytes)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(name, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_manifest(text, source_name=name, max_bytes=max_bytes)


def _read_capped(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of a regular file. It is opened without blocking and checked on the
    descriptor, so a FIFO (or device) put at the path is refused unread instead of hanging."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a device, pipe or socket)")
        return handle.read(limit)


def _too_big(name: str, max_bytes: int) -> Problem:
    return Problem(name, "", f"the manifest is over {max_bytes:,} bytes; split it into several")


# ----------------------------------------------------------------------------- pydantic errors

_MESSAGES = {
    "model_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "list_type": "must be a list",
    "string_type": "must be text",
}
_REQUIRED: dict[FieldPath, str] = {
    ("version",): "is required: start the manifest with 'version: 1'",
    ("exports",): "is required: list the exports to run",
}


def _translate(error: ErrorDetails, locator: Locator) -> Problem:
    """A pydantic error as a located problem, in words that say what to write instead."""
    path = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return locator.problem(path, _unknown_key(path), key=True)
    if kind == "missing":
        message = _REQUIRED.get(path, "is required")
    elif kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
    elif kind == "literal_error":
        message = f"must be {error.get('ctx', {}).get('expected')}, not {show(error['input'])}"
    elif kind == "too_short":
        message = "must not be empty"
    elif kind in _MESSAGES:
        message = f"{_MESSAGES[kind]}, not {show(error['input'])}"
    else:
        message = f"{error['msg']} (got {show(error['input'])})"
    return locator.problem(path, message)


def _unknown_key(path: FieldPath) -> str:
    key, allowed = path[-1], _allowed_keys(path[:-1])
    hint = _hint(str(key), allowed)
    if hint or not allowed:
        return f"unknown key {key!r}{hint}"
    return f"unknown key {key!r} (expected one of: {', '.join(allowed)})"


def _allowed_keys(parent: FieldPath) -> list[str]:
    model: type[BaseModel] | None = None
    if parent == ():
        model = RawManifest
    elif parent == ("defaults",):
        model = ExportDefaults
    elif len(parent) == 2 and parent[0] == "exports":
        model = ExportSpec
    elif parent and parent[-1] == "range":
        model = RangeSpec
    return sorted(model.model_fields) if model is not None else []


# ----------------------------------------------------------------------------- resolution

_ANY_DAY = date(2000, 1, 1)
"""Absolute dates do not depend on the run date; any will do to check them early."""


@dataclass
class _Merge:
    """One export's fields with defaults applied, remembering where each value came from."""

    spec: ExportSpec
    defaults: ExportDefaults
    path: FieldPath
    locator: Locator
    problems: list[Problem]
    warnings: list[Problem]

    def pick(self, name: str) -> tuple[Any, FieldPath]:
        """The export's own value, else the default, else the built-in one; and its owner's path."""
        own = getattr(self.spec, name)
        if own is not None:
            return own, self.path
        inherited = getattr(self.defaults, name)
        if inherited is not None:
            return inherited, ("defaults",)
        return _BUILT_IN.get(name), self.path

    def bound(self, name: str) -> tuple[DateExpr | None, FieldPath]:
        """range.start or range.end, merged one at a time so an export may override just one."""
        for owner, origin in ((self.spec.range, self.path), (self.defaults.range, ("defaults",))):
            value: DateExpr | None = getattr(owner, name) if owner is not None else None
            if value is not None:
                return value, (*origin, "range", name)
        self.report(
            (*self.path, "range", name), f"is required: set range.{name} here or in defaults"
        )
        return None, ()

    def report(self, path: FieldPath, message: str) -> None:
        self.problems.append(self.locator.problem(path, message))

    def warn(self, path: FieldPath, message: str) -> None:
        self.warnings.append(self.locator.problem(path, message, key=True))


def _resolve(raw: RawManifest, locator: Locator) -> Manifest:
    """Merge defaults into each export and check what spans fields; raise every problem at once."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    exports: list[ResolvedExport] = []
    first_index: dict[str, int] = {}
    for index, spec in enumerate(raw.exports):
        path = ("exports", index)
        if spec.name in first_index:
            first = locator.at(("exports", first_index[spec.name], "name"))
            message = f"duplicate export name {spec.name!r} (first at {first}): make names unique"
            problems.append(locator.problem((*path, "name"), message))
        first_index.setdefault(spec.name, index)
        merge = _Merge(spec, raw.defaults, path, locator, problems, warnings)
        export = _resolve_export(merge, raw.timezone)
        if export is not None:
            exports.append(export)
    if problems:
        raise ManifestError(problems)
    # a default filter inherited by several exports is warned about once: Problems are values
    return Manifest(raw.timezone, tuple(exports), locator.name, tuple(dict.fromkeys(warnings)))


def _resolve_export(merge: _Merge, zone: ZoneInfo) -> ResolvedExport | None:
    before = len(merge.problems)
    export_id, _ = merge.pick("export_id")
    if export_id is None:
        merge.report((*merge.path, "export_id"), "is required: set it here or in defaults")
    start, start_at = merge.bound("start")
    end, end_at = merge.bound("end")
    _check_range(merge, zone, (start, start_at), (end, end_at))
    columns = _columns(merge)
    filter_sets = _filter_sets(merge)
    if len(merge.problems) > before or start is None or end is None:
        return None
    return ResolvedExport(
        name=merge.spec.name,
        export_id=export_id,
        source=merge.pick("source")[0],
        format=merge.pick("format")[0],
        locale=merge.pick("locale")[0],
        method=merge.pick("method")[0],
        start=start,
        end=end,
        window=merge.pick("window")[0],
        columns=columns,
        filter_sets=filter_sets,
        location=merge.locator.at(merge.path),
        field=dotted(merge.path),
        catalog=_catalog(merge, export_id, filter_sets),
    )


def _catalog(merge: _Merge, export_id: str, filter_sets: tuple[FilterSet, ...]) -> CatalogFindings:
    """The catalog's findings, each placed where its value is written (own field or defaults)."""
    entries, owner = merge.pick("filters")
    paths = [(*owner, "filters", i) for i in range(len(entries or ()))]
    written = Written(
        source=merge.pick("source")[0],
        export_id=(export_id, (*merge.pick("export_id")[1], "export_id")),
        locale=(merge.pick("locale")[0], (*merge.pick("locale")[1], "locale")),
        window=(merge.pick("window")[0], (*merge.pick("window")[1], "window")),
        filter_sets=tuple(zip(filter_sets, paths or [(*merge.path, "filters")], strict=True)),
    )
    return check_export(written, merge.locator)


def _check_range(
    merge: _Merge,
    zone: ZoneInfo,
    start: tuple[DateExpr | None, FieldPath],
    end: tuple[DateExpr | None, FieldPath],
) -> None:
    """Absolute bounds are checked now (resolvable, end after start); the others when planning."""
    instants = []
    for expr, at in (start, end):
        if not isinstance(expr, AbsoluteDate):
            continue
        try:
            instants.append(resolve_date(expr, as_of=_ANY_DAY, zone=zone).timestamp())
        except ValueError as exc:
            merge.report(at, str(exc))
    if len(instants) == 2 and instants[1] <= instants[0]:
        message = f"end {end[0]} is not after start {start[0]}: the range is [start, end)"
        merge.report(end[1], message)


def _columns(merge: _Merge) -> tuple[str, ...]:
    """The columns as listed; a column listed again is reported once, at its second place."""
    columns, owner = merge.pick("columns")
    first: dict[str, int] = {}
    repeats: dict[str, list[int]] = {}
    for index, column in enumerate(columns or ()):
        if first.setdefault(column, index) != index:
            repeats.setdefault(column, []).append(index)
    for column, places in repeats.items():
        times = "twice" if len(places) == 1 else f"{len(places) + 1:,} times"
        merge.report((*owner, "columns", places[0]), f"column {column!r} is listed {times}")
    return tuple(columns or ())


def _filter_sets(merge: _Merge) -> tuple[FilterSet, ...]:
    """One filter set per entry; none given means one job without filters."""
    entries, owner = merge.pick("filters")
    if entries is None:
        return (FilterSet(),)
    if not entries:
        merge.report((*owner, "filters"), "is empty: omit filters for one job without filters")
    sets: list[FilterSet] = []
    first_with_params: dict[tuple[tuple[str, str], ...], int] = {}
    first_with_label: dict[str, int] = {}
    warned: set[str] = set()
    for index, entry in enumerate(entries):
        at = (*owner, "filters", index)
        try:
            encoded = encode_filters(entry)
        except FilterError as exc:
            merge.report(at if exc.param is None else (*at, exc.param), str(exc))
            continue
        for name, message in unknown_params(entry):
            if (
                name not in warned
            ):  # once per name and list: a name repeated 1,000 times is one slip
                warned.add(name)
                merge.warn((*at, name), message)
        _check_distinct(merge, at, index, encoded, first_with_params, first_with_label)
        sets.append(encoded)
    return tuple(sets)


def _check_distinct(
    merge: _Merge,
    at: FieldPath,
    index: int,
    encoded: FilterSet,
    first_with_params: dict[tuple[tuple[str, str], ...], int],
    first_with_label: dict[str, int],
) -> None:
    """Equal parameters would give equal job keys; equal labels would give equal file names.
    Each repeat is reported once, against the first entry it repeats (linear in the entries)."""
    earlier = first_with_params.setdefault(encoded.params, index)
    if earlier != index:
        message = (
            f"duplicate filter set: it sends the same parameters as filters[{earlier}] "
            "(a label does not change the request)"
        )
        merge.report(at, message)
        return
    if encoded.label is None:
        return
    earlier = first_with_label.setdefault(encoded.label, index)
    if earlier != index:
        message = (
            f"duplicate label {encoded.label!r} (also filters[{earlier}]): files would collide"
        )
        merge.report((*at, "label"), message)
