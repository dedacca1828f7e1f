"""Deterministic export content: recomputable, quoted properly, sometimes empty."""

from __future__ import annotations

import csv
import io
import json

from multidict import MultiDict

from orchestrator.fakeapi import (
    DEFAULT_COLUMNS,
    default_columns,
    expected_file,
    iter_export,
    render_export,
    row_count,
)

from .helpers import DAY_MS, START_MS, WINDOW

WEEK = (START_MS, START_MS + 7 * DAY_MS)


def test_same_request_same_bytes() -> None:
    """Rendering one request twice gives identical bytes, and another filter gives other bytes."""
    first = render_export("conversation", *WEEK, (), (("priorities", "1"),), "csv")
    again = render_export("conversation", *WEEK, (), (("priorities", "1"),), "csv")
    other = render_export("conversation", *WEEK, (), (("priorities", "2"),), "csv")
    assert first == again
    assert first != other


def test_expected_file_accepts_params_in_every_shape() -> None:
    """expected_file gives one result for pairs, a dict of lists and a MultiDict with companyKey."""
    pairs = [*WINDOW, ("reportFormat", "csv"), ("teamId", "2"), ("teamId", "1")]
    as_dict = {"startTime": [WINDOW[0][1]], "endTime": WINDOW[1][1], "reportFormat": "csv"}
    as_dict["teamId"] = ["1", "2"]
    multi = MultiDict([*pairs, ("companyKey", "demo-company")])
    expected = render_export(
        "user", START_MS, START_MS + DAY_MS, (), (("teamId", "1"), ("teamId", "2")), "csv"
    )
    assert expected_file("user", pairs) == expected
    assert expected_file("user", as_dict) == expected
    assert expected_file("user", multi) == expected
    assert expected_file("user", pairs, "json") == render_export(
        "user", START_MS, START_MS + DAY_MS, (), (("teamId", "1"), ("teamId", "2")), "json"
    )


def test_csv_has_quoted_values_and_json_carries_the_same_rows() -> None:
    """CSV quotes commas and quotes and parses back to the rows the JSON of that request holds."""
    data = render_export("conversation", *WEEK, (), (), "csv")
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    header, body = rows[0], rows[1:]
    assert tuple(header) == DEFAULT_COLUMNS["conversation"]
    assert len(body) == row_count("conversation", *WEEK)
    assert b'"' in data
    assert any("," in value for row in body for value in row)
    assert b"\r\n" not in data
    objects = json.loads(render_export("conversation", *WEEK, (), (), "json"))
    assert [list(map(str, obj.values())) for obj in objects] == [
        [value if value else "None" for value in row] for row in body
    ]


def test_some_windows_have_zero_rows() -> None:
    """About one day in ten has no rows: CSV is then the header only and JSON is []."""
    days = [(START_MS + i * DAY_MS, START_MS + (i + 1) * DAY_MS) for i in range(100)]
    empty = [day for day in days if row_count("conversation", *day) == 0]
    assert 3 <= len(empty) <= 25
    header = ",".join(default_columns("conversation")) + "\n"
    assert render_export("conversation", *empty[0], (), (), "csv") == header.encode()
    assert render_export("conversation", *empty[0], (), (), "json") == b"[]"


def test_row_count_follows_rows_per_day() -> None:
    """Non-empty windows have about rows_per_day rows per day, at least one."""
    counts = [
        row_count("response", START_MS, START_MS + i * DAY_MS, rows_per_day=100)
        for i in range(1, 30)
    ]
    nonzero = [(i, count) for i, count in enumerate(counts, start=1) if count]
    assert all(75 * days <= count <= 125 * days for days, count in nonzero)
    assert row_count("response", START_MS, START_MS + 1000, rows_per_day=24) in (0, 1)


def test_report_metrics_select_and_order_columns() -> None:
    """reportMetrics picks and orders columns, keeps unknown names, and projects the full export."""
    full = json.loads(render_export("conversation", *WEEK, (), (), "json"))
    part = json.loads(
        render_export("conversation", *WEEK, ("STATUS", "CONVERSATION_ID", "MADE_UP"), (), "json")
    )
    assert len(part) == len(full) > 0
    for whole, subset in zip(full, part, strict=True):
        assert list(subset) == ["STATUS", "CONVERSATION_ID", "MADE_UP"]
        assert subset["STATUS"] == whole["STATUS"]
        assert subset["CONVERSATION_ID"] == whole["CONVERSATION_ID"]
        assert subset["MADE_UP"].startswith("made_up-")


def test_chunks_join_to_the_whole_file() -> None:
    """iter_export in small chunks joins to exactly render_export's bytes."""
    for report_format in ("csv", "json"):
        whole = render_export("combined", *WEEK, (), (), report_format)
        chunks = list(iter_export("combined", *WEEK, (), (), report_format, chunk_size=512))
        assert len(chunks) > 3
        assert b"".join(chunks) == whole
