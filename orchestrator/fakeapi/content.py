"""Deterministic export content: each file is a pure function of the request that created it.

So a client test can check a downloaded file byte for byte. To recompute a job's file, call
`expected_file(export_id, params)` with the create parameters as sent (companyKey, if present, is
ignored; a `reportFormat` argument overrides the one in params) and the fake's `rows_per_day`. It is
`render_export(export_id, startTime, endTime, columns, filters, reportFormat)` where `columns` is
`reportMetrics` in the order sent with duplicates dropped (empty: `default_columns(export_id)`) and
`filters` is the sorted (name, value) pairs of every parameter except startTime, endTime,
reportFormat, locale, reportMetrics and companyKey.

How it is built:
- seed: sha256 of the compact JSON `{"end":E,"export":ID,"filters":[[n,v],...],"start":S}`
  (sorted keys, UTF-8). `columns` and the format do not enter it: a column subset is a projection of
  the full export, and csv and json of one request carry the same rows.
- rows (`row_count`): 0 when the window is empty, rows_per_day is 0 or the first 8 digest bytes
  (big-endian) are divisible by 10 (about one window in ten); otherwise
  `max(1, round(rows_per_day * days * (0.75 + j % 501 / 1000)))` with j the next 8 digest bytes.
- cells: row i has key `mix(seed + i)` (splitmix64); column c draws `v = (row_key ^ salt(c)) *
  0x9E3779B97F4A7C15 mod 2**64`, then `v ^ (v >> 29)` (`salt` = first 8 bytes of sha256 of the
  name), formatted by the column's name: *_TIME an epoch ms
  in the window, PRIORITY 0-5, *_COUNT and *_SECONDS integers, *_NAME, TEXT, NOTE and TAGS text
  that sometimes holds a comma, a quote or non-ASCII letters, ids as strings, anything else (unknown
  names included) a generic string.
- csv: header line then one line per row, `\\n` line ends, quoted by the csv module when needed,
  UTF-8, no BOM; an empty cell for null. Zero rows: the header line only.
- json: a compact UTF-8 array of objects (`ensure_ascii=False`, separators `,` and `:`), keys in
  column order; `[]` for zero rows.
- empty (`empty=`, the fake's empty_exports): no rows whatever the window; "header" gives the
  usual zero-row file, "zero" a 0-byte body for csv (json stays `[]`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Literal

from .params import Params, parse_export_params

DEFAULT_ROWS_PER_DAY = 24
CHUNK_SIZE = 64 * 1024
_DAY_MS = 86_400_000
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

EmptyForm = Literal["header", "zero"]
"""How an emptied export looks: the zero-row file, or (csv only) a 0-byte body."""

Value = int | str | None
Formatter = Callable[[int, int, int], Value]
"""(hash value, window start ms, window length ms) -> cell value."""

_GENERIC_COLUMNS = ("POST_ID", "NETWORK", "PUBLISHED_TIME", "AUTHOR_NAME", "TEXT")
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "conversation": (
        "CONVERSATION_ID", "STATUS", "PRIORITY", "ASSIGNED_AGENT_DISPLAY_ID", "WORKQUEUE_ID",
        "CREATED_TIME", "CLOSED_TIME", "AUTHOR_NAME", "TAGS",
    ),
    "conversation_actions": (
        "CONVERSATION_ID", "ACTION_TYPE", "AGENT_ID", "ACTION_TIME", "WORKQUEUE_ID",
    ),
    "conversation_history_action": (
        "CONVERSATION_ID", "ACTION_TYPE", "PREVIOUS_STATUS", "STATUS", "AGENT_ID", "ACTION_TIME",
    ),
    "author": ("AUTHOR_ID", "AUTHOR_NAME", "NETWORK", "FOLLOWER_COUNT", "CREATED_TIME"),
    "combined": (
        "CONVERSATION_ID", "POST_ID", "AUTHOR_NAME", "STATUS", "PRIORITY", "CREATED_TIME",
        "RESPONSE_TIME", "TEXT",
    ),
    "raw_agent_states": (
        "AGENT_ID", "AGENT_NAME", "STATE", "START_TIME", "END_TIME", "DURATION_SECONDS",
    ),
    "raw_expert_help": (
        "CONVERSATION_ID", "EXPERT_ID", "REQUESTER_ID", "REQUEST_TIME", "RESPONSE_TIME", "NOTE",
    ),
    "incoming_post": (
        "POST_ID", "CONVERSATION_ID", "AUTHOR_NAME", "NETWORK", "RECEIVED_TIME", "TEXT",
    ),
    "response": (
        "RESPONSE_ID", "CONVERSATION_ID", "AGENT_ID", "SENT_TIME", "HANDLE_SECONDS", "TEXT",
    ),
    "response_approval": (
        "RESPONSE_ID", "APPROVER_ID", "AGENT_ID", "STATUS", "SUBMITTED_TIME", "APPROVED_TIME",
    ),
    "team_performance": (
        "TEAM_ID", "TEAM_NAME", "CONVERSATIONS_HANDLED_COUNT", "RESPONSES_COUNT",
        "AVG_HANDLE_SECONDS",
    ),
    "team_performance_interval": (
        "TEAM_ID", "TEAM_NAME", "INTERVAL_START_TIME", "CONVERSATIONS_HANDLED_COUNT",
        "RESPONSES_COUNT",
    ),
    "user": ("AGENT_ID", "AGENT_NAME", "EMAIL", "TEAM_NAME", "STATUS", "CREATED_TIME"),
    "raw_brand_post": (
        "POST_ID", "CAMPAIGN_ID", "NETWORK", "AUTHOR_NAME", "PUBLISHED_TIME", "TEXT",
        "LIKES_COUNT",
    ),
}  # fmt: skip

_CHOICES: dict[str, tuple[str, ...]] = {
    "STATUS": ("OPEN", "ASSIGNED", "PENDING", "CLOSED"),
    "PREVIOUS_STATUS": ("OPEN", "ASSIGNED", "PENDING", "CLOSED"),
    "NETWORK": ("twitter", "facebook", "instagram", "email", "chat"),
    "STATE": ("AVAILABLE", "AWAY", "BUSY", "OFFLINE"),
    "ACTION_TYPE": ("ASSIGN", "REPLY", "CLOSE", "REOPEN", "TAG"),
}
_NAMES = ("Ada Lovelace", "Smith, John", 'Jo "JJ" Jones', "Zoë Müller", "Li Wei", "O'Brien")
_PHRASES = (
    "Where is my order?",
    "Refund, please",
    'He said "call me back"',
    "Thanks for the quick reply 👍",
    "Can't log in; tried twice",
    "Déjà vu: same issue again",
)
_TAGS = ("billing", "urgent", "vip", "shipping", "login")


def _mix(x: int) -> int:
    """splitmix64: spreads consecutive integers into independent-looking 64-bit values."""
    x = (x + _GOLDEN) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _digest(
    export_id: str, start_ms: int, end_ms: int, filters: Sequence[tuple[str, str]]
) -> bytes:
    canonical = {
        "end": end_ms,
        "export": export_id,
        "filters": [list(pair) for pair in sorted(filters)],
        "start": start_ms,
    }
    text = json.dumps(canonical, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).digest()


def row_count(
    export_id: str,
    start_ms: int,
    end_ms: int,
    filters: Sequence[tuple[str, str]] = (),
    *,
    rows_per_day: int = DEFAULT_ROWS_PER_DAY,
) -> int:
    """Rows in the export of this window: about rows_per_day per day, zero for one window in ten."""
    digest = _digest(export_id, start_ms, end_ms, filters)
    if end_ms <= start_ms or rows_per_day <= 0 or int.from_bytes(digest[:8]) % 10 == 0:
        return 0
    jitter = 0.75 + int.from_bytes(digest[8:16]) % 501 / 1000
    return max(1, round(rows_per_day * (end_ms - start_ms) / _DAY_MS * jitter))


def default_columns(export_id: str) -> tuple[str, ...]:
    """Columns of an export when no reportMetrics are given; unknown exports get a generic set."""
    return DEFAULT_COLUMNS.get(export_id, _GENERIC_COLUMNS)


def _pick(options: tuple[str, ...]) -> Formatter:
    return lambda v, _start, _span: options[v % len(options)]


def _text(v: int, _start: int, _span: int) -> str:
    return f"{_PHRASES[v % len(_PHRASES)]} #{v >> 40 & 0xFFF}"


def _tags(v: int, _start: int, _span: int) -> str:
    return ",".join(_TAGS[(v >> shift) % len(_TAGS)] for shift in range(0, 8 * (1 + v % 3), 8))


def _agent(v: int, _start: int, _span: int) -> str | None:
    return None if v % 7 == 0 else f"agent{v >> 8 & 0x1FF:03d}"


@lru_cache(maxsize=1024)
def _formatter(column: str) -> Formatter:
    """How a column's values look, chosen by its name so known columns look plausible."""
    name = column.upper()
    if name in _CHOICES:
        return _pick(_CHOICES[name])
    if name.endswith("_TIME") or name == "TIME":
        return lambda v, start, span: start + v % span
    if name == "PRIORITY":
        return lambda v, _start, _span: v % 6
    if name.endswith(("_COUNT", "_SECONDS")):
        return lambda v, _start, _span: v % 5000
    if name == "EMAIL":
        return lambda v, _start, _span: f"user{v % 10000}@example.com"
    if name == "TAGS":
        return _tags
    if name.endswith("_NAME"):
        return _pick(_NAMES)
    if name in ("TEXT", "NOTE", "SUBJECT", "CONTENT"):
        return _text
    if name.endswith("_DISPLAY_ID"):
        return _agent
    if name.endswith("_ID") or name == "ID":
        return lambda v, _start, _span: str(v % 10_000_000_000)
    lowered = column.lower()
    return lambda v, _start, _span: f"{lowered}-{v % 100_000}"


@lru_cache(maxsize=1024)
def _salt(column: str) -> int:
    return int.from_bytes(hashlib.sha256(column.encode()).digest()[:8])


def iter_rows(
    export_id: str,
    start_ms: int,
    end_ms: int,
    columns: Sequence[str],
    filters: Sequence[tuple[str, str]],
    *,
    rows_per_day: int = DEFAULT_ROWS_PER_DAY,
) -> Iterator[list[Value]]:
    """The cell values of each row, in column order (columns must be non-empty and deduplicated)."""
    digest = _digest(export_id, start_ms, end_ms, filters)
    seed = int.from_bytes(digest[:8])
    count = row_count(export_id, start_ms, end_ms, filters, rows_per_day=rows_per_day)
    span = end_ms - start_ms
    cells = [(_formatter(column), _salt(column)) for column in columns]
    for index in range(count):
        row_key = _mix((seed + index) & _MASK)
        draws = [(fmt, (row_key ^ salt) * _GOLDEN & _MASK) for fmt, salt in cells]
        yield [fmt(v ^ (v >> 29), start_ms, span) for fmt, v in draws]


def _csv_chunks(header: Sequence[str], rows: Iterator[list[Value]], size: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        if buffer.tell() >= size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_chunks(header: Sequence[str], rows: Iterator[list[Value]], size: int) -> Iterator[str]:
    parts, length, separator = ["["], 1, ""
    for row in rows:
        item = json.dumps(
            dict(zip(header, row, strict=True)), separators=(",", ":"), ensure_ascii=False
        )
        parts.append(separator + item)
        length += len(item) + 1
        separator = ","
        if length >= size:
            yield "".join(parts)
            parts, length = [], 0
    parts.append("]")
    yield "".join(parts)


def iter_export(
    export_id: str,
    start_ms: int,
    end_ms: int,
    columns: Sequence[str],
    filters: Sequence[tuple[str, str]],
    report_format: str,
    *,
    rows_per_day: int = DEFAULT_ROWS_PER_DAY,
    chunk_size: int = CHUNK_SIZE,
    empty: EmptyForm | None = None,
) -> Iterator[bytes]:
    """The export file in chunks of about chunk_size bytes, so a large file never sits in memory."""
    header = tuple(dict.fromkeys(columns)) or default_columns(export_id)
    rows = iter_rows(
        export_id, start_ms, end_ms, header, filters, rows_per_day=0 if empty else rows_per_day
    )
    if report_format == "csv" and empty == "zero":
        chunks: Iterator[str] = iter(())
    elif report_format == "csv":
        chunks = _csv_chunks(header, rows, chunk_size)
    elif report_format == "json":
        chunks = _json_chunks(header, rows, chunk_size)
    else:
        raise ValueError(f"report_format must be csv or json, got {report_format!r}")
    for chunk in chunks:
        if chunk:
            yield chunk.encode()


def render_export(
    export_id: str,
    start_ms: int,
    end_ms: int,
    columns: Sequence[str],
    filters: Sequence[tuple[str, str]],
    report_format: str,
    *,
    rows_per_day: int = DEFAULT_ROWS_PER_DAY,
    empty: EmptyForm | None = None,
) -> bytes:
    """The whole export file as bytes (see the module docstring for the exact recipe)."""
    chunks = iter_export(
        export_id,
        start_ms,
        end_ms,
        columns,
        filters,
        report_format,
        rows_per_day=rows_per_day,
        empty=empty,
    )
    return b"".join(chunks)


def expected_file(
    export_id: str,
    params: Params,
    report_format: str | None = None,
    *,
    rows_per_day: int = DEFAULT_ROWS_PER_DAY,
    empty: EmptyForm | None = None,
) -> bytes:
    """The file a job created with these parameters must serve; ValueError if they are invalid.

    `FakeConfig.expected_file` calls this with the config's rows_per_day and empty_exports.
    """
    request = parse_export_params(export_id, params)
    return render_export(
        request.export_id,
        request.start_ms,
        request.end_ms,
        request.columns,
        request.filters,
        report_format or request.report_format,
        rows_per_day=rows_per_day,
        empty=empty,
    )
