"""Filter sets: one manifest entry of API parameters, encoded as the wire pairs the API expects.

`priorities`, `workqueueIds` and `teamIds` take one comma-separated value; every other list is sent
as the parameter repeated once per value (`teamId`, `agentId`, ...). Pairs are sorted by name so a
job's key does not depend on the order of keys in the YAML; values keep their order.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from orchestrator.errors import FilterError

COMMA_JOINED = frozenset({"priorities", "workqueueIds", "teamIds"})
RESERVED: Mapping[str, str] = MappingProxyType(
    {
        "companyKey": "the settings (ORCHESTRATOR_COMPANY_KEY)",
        "startTime": "the job's window (the export's range, cut by its window)",
        "endTime": "the job's window (the export's range, cut by its window)",
        "reportFormat": "the export's `format`",
        "locale": "the export's `locale`",
        "reportMetrics": "the export's `columns`",
    }
)
"""Parameters the client sets itself, each with where its value comes from; never a filter."""

KNOWN_PARAMS = frozenset(
    {
        "priorities",
        "smartViewId",
        "workqueueIds",
        "teamIds",
        "teamId",
        "agentId",
        "includeDisabled",
        "enableBusinessHour",
        "raiselimit",
        "businessHourType",
        "timezone",
        "timezoneOffset",
        "conversationReportType",
        "timeInterval",
    }
)
"""The documented filter parameters (API-NOTES.md, "Parameters"); any other name is sent as
written, with a warning, since the API may know parameters we have not read about."""

LABEL_KEY = "label"
MAX_LABEL = 64
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_RESERVED_FOLDED = {name.casefold(): name for name in RESERVED}


@dataclass(frozen=True, slots=True)
class FilterSet:
    """A readable `label` (never sent; used in file names) and the wire pairs, sorted by name."""

    label: str | None = None
    params: tuple[tuple[str, str], ...] = ()


def encode_filters(mapping: object) -> FilterSet:
    """Check one manifest filter entry and encode it; raises FilterError saying what to change."""
    if not isinstance(mapping, Mapping):
        raise FilterError(
            f"a filter set must be a mapping of API parameters to values, not {mapping!r}"
        )
    pairs: list[tuple[str, str]] = []
    label: str | None = None
    for name, value in mapping.items():
        if name == LABEL_KEY:
            label = check_label(value)
        else:
            pairs.extend(_encode_param(_check_name(name), value))
    pairs.sort(key=lambda pair: pair[0])
    return FilterSet(label, tuple(pairs))


def check_label(value: object) -> str:
    """A label becomes part of a file name, so it must not be able to leave its directory."""
    if not isinstance(value, str):
        raise FilterError(f"label must be text, not {value!r} (quote it)", LABEL_KEY)
    if len(value) > MAX_LABEL or not _LABEL.fullmatch(value) or ".." in value:
        raise FilterError(
            f"label {value!r} must be 1-{MAX_LABEL} letters, digits, '_', '.' or '-', "
            "start with a letter or digit, and not contain '..'",
            LABEL_KEY,
        )
    return value


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise FilterError(f"{name!r} is not an API parameter name (letters, digits and '_')")
    reserved = _RESERVED_FOLDED.get(name.casefold())
    if reserved is not None:
        raise FilterError(
            f"{name!r} is set by the client from {RESERVED[reserved]} and cannot be a filter",
            name,
        )
    return name


def unknown_params(mapping: Mapping[object, object]) -> list[tuple[str, str]]:
    """The names of a filter entry that are not documented parameters, each with a warning that
    suggests the closest documented name (`prioritys` -> `priorities`)."""
    found = []
    for name in mapping:
        if not isinstance(name, str) or name == LABEL_KEY or name in KNOWN_PARAMS:
            continue
        found.append((name, _unknown_warning(name)))
    return found


@functools.lru_cache(maxsize=1024)
def _unknown_warning(name: str) -> str:
    """The warning for one unknown name, worked out once: a manifest of 30,000 filter sets
    repeats the same few names, and each suggestion costs a fuzzy match."""
    close = difflib.get_close_matches(name, sorted(KNOWN_PARAMS), n=1)
    if not close:
        close = [known for known in sorted(KNOWN_PARAMS) if known.casefold() == name.casefold()]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{name!r} is not a documented API parameter{hint} (it is sent as written)"


def _encode_param(name: str, value: object) -> list[tuple[str, str]]:
    """One pair for a scalar or a comma-joined list; one pair per value for other lists."""
    if isinstance(value, list | tuple):
        if not value:
            raise FilterError(f"{name} is an empty list: remove it to send no {name}", name)
        texts = [_scalar(name, item) for item in value]
        if name in COMMA_JOINED:
            if any("," in text for text in texts):
                raise FilterError(f"{name} values may not contain ',' (it separates them)", name)
            return [(name, ",".join(texts))]
        return [(name, text) for text in texts]
    return [(name, _scalar(name, value))]


def _scalar(name: str, value: object) -> str:
    """The text the API gets for one value: booleans in lower case, integers in decimal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    if value is None:
        raise FilterError(f"{name} has no value: give one or remove the parameter", name)
    raise FilterError(
        f"{name} must be text, an integer, true/false, or a list of those, not {value!r}", name
    )
