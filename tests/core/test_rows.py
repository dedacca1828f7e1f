"""Rows are counted correctly however the stream is cut into chunks."""

from __future__ import annotations

import csv
import io
import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.rows import CsvRowCounter, JsonRowCounter, row_counter

cells = st.text(alphabet=st.sampled_from('ab,"\n\r x\\{}[]é'), max_size=6)
tables = st.lists(st.lists(cells, min_size=2, max_size=2), max_size=8)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@given(table=tables, cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_csv_rows_match_the_csv_module(table: list[list[str]], cuts: list[int]) -> None:
    """Quoted commas, quotes and newlines never change the count, at any chunking."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["A", "B"])
    writer.writerows(table)
    counter = CsvRowCounter()
    for chunk in chunked(buffer.getvalue().encode(), cuts):
        counter.feed(chunk)
    assert counter.rows() == len(table)


def test_csv_without_trailing_newline_counts_the_last_row() -> None:
    """A final record without a newline still counts."""
    counter = CsvRowCounter()
    counter.feed(b"A,B\n1,2\n3,4")
    assert counter.rows() == 2


def test_header_only_csv_has_zero_rows() -> None:
    """An export of zero rows is just its header."""
    counter = row_counter("csv")
    counter.feed(b"A,B\n")
    assert counter.rows() == 0


@given(
    table=st.lists(st.dictionaries(cells, cells | st.integers(), max_size=3), max_size=8),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_json_rows_match_the_array_length(table: list[dict[str, object]], cuts: list[int]) -> None:
    """Escapes and brackets inside strings never change the count, at any chunking."""
    counter = JsonRowCounter()
    for chunk in chunked(json.dumps(table).encode(), cuts):
        counter.feed(chunk)
    assert counter.rows() == len(table)


def test_json_that_is_not_an_array_has_no_row_count() -> None:
    """A top-level object is not an export of rows: the count is unknown, not zero."""
    counter = JsonRowCounter()
    counter.feed(b'{"a": [1, 2]}')
    assert counter.rows() is None


def test_empty_bodies_have_zero_rows_in_either_format() -> None:
    """A 0-byte or blank body, header-only CSV and `[]` are 0 rows, never unknown."""
    for report_format, body in [
        ("json", b""),
        ("json", b" \n"),
        ("json", b"[]"),
        ("json", b"[ ]\n"),
        ("csv", b""),
        ("csv", b"A,B"),
    ]:
        counter = row_counter(report_format)
        counter.feed(body)
        assert counter.rows() == 0, (report_format, body)
