"""The create request's parameters: parsing, validation and the canonical key of a request.

Pure functions shared by the API (to validate what a client sent) and by `content.expected_file`
(so a test derives a file from exactly the parameters it sent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

Params = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]
"""Parameters as sent: a mapping of name to value(s) (a MultiDict too) or (name, value) pairs."""

NOT_FILTERS = frozenset(
    {"startTime", "endTime", "reportFormat", "locale", "reportMetrics", "companyKey"}
)
"""Every other parameter is a filter: it changes the content of the export."""

REPORT_FORMATS = frozenset({"json", "csv"})
_EPOCH_MS = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What one create request asks for, normalised: the inputs of the deterministic content."""

    export_id: str
    start_ms: int
    end_ms: int
    columns: tuple[str, ...]
    """`reportMetrics` in the order sent, duplicates dropped; empty means the export's defaults."""
    filters: tuple[tuple[str, str], ...]
    """Sorted (name, value) pairs of every filter parameter."""
    report_format: str


def param_pairs(params: Params) -> list[tuple[str, str]]:
    """Flatten `params` into (name, value) pairs, keeping repeated names and their order."""
    if not isinstance(params, Mapping):
        return [(str(name), str(value)) for name, value in params]
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, str):
            pairs.append((name, value))
        else:
            pairs.extend((name, item) for item in value)
    return pairs


def _single(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:
        raise ValueError(f"{name} given {len(values)} times")
    return values[0] if values else None


def _epoch_ms(pairs: Sequence[tuple[str, str]], name: str) -> int:
    value = _single(pairs, name)
    if value is None or not _EPOCH_MS.fullmatch(value):
        raise ValueError(f"{name} must be epoch milliseconds, got {value!r}")
    return int(value)


def parse_export_params(export_id: str, params: Params) -> ExportRequest:
    """Validate create parameters (companyKey ignored); ValueError says what is wrong."""
    pairs = param_pairs(params)
    start_ms, end_ms = _epoch_ms(pairs, "startTime"), _epoch_ms(pairs, "endTime")
    if start_ms >= end_ms:
        raise ValueError(f"startTime {start_ms} is not before endTime {end_ms}")
    report_format = _single(pairs, "reportFormat") or "json"
    if report_format not in REPORT_FORMATS:
        raise ValueError(f"reportFormat must be json or csv, got {report_format!r}")
    metrics = [value for name, value in pairs if name == "reportMetrics" and value]
    filters = sorted((name, value) for name, value in pairs if name not in NOT_FILTERS)
    return ExportRequest(
        export_id=export_id,
        start_ms=start_ms,
        end_ms=end_ms,
        columns=tuple(dict.fromkeys(metrics)),
        filters=tuple(filters),
        report_format=report_format,
    )


def request_key(source: str, export_id: str, params: Params) -> str:
    """Identity of a create request: source, export id and sorted params minus companyKey."""
    pairs = sorted(pair for pair in param_pairs(params) if pair[0] != "companyKey")
    return f"{source}/{export_id}?{urlencode(pairs)}"
