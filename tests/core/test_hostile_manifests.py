"""Manifests that are valid YAML but say something the API cannot take: a boolean version, and a
window before 1970, whose epoch milliseconds would be negative."""

from __future__ import annotations

from datetime import date

import pytest

from orchestrator.core.manifest import parse_manifest
from orchestrator.core.planner import plan
from orchestrator.errors import ManifestError

AS_OF = date(2024, 3, 4)
BASE = """\
version: 1
timezone: UTC
exports:
  - name: a
    export_id: conversation
    range: {start: 2024-03-01, end: 2024-03-04}
"""


@pytest.mark.parametrize("value", ["true", "false", "1.0", "'1'"])
def test_a_version_that_is_not_the_integer_1_is_refused_where_it_stands(value: str) -> None:
    """`version: true` is a bool, not 1: the manifest is refused, located at the version."""
    text = BASE.replace("version: 1", f"version: {value}")
    with pytest.raises(ManifestError, match=r"^jobs.yaml:1:10: version: must be 1"):
        parse_manifest(text)


@pytest.mark.parametrize(
    ("zone", "window_range"),
    [
        ("UTC", "{start: 1969-12-31, end: 1970-01-02}"),
        ("Asia/Tokyo", "{start: 1970-01-01, end: 1970-01-02}"),  # 15:00 UTC the day before
        ("UTC", "{start: today-651mo, end: today-650mo}"),
    ],
)
def test_a_window_starting_before_1970_is_a_located_error(zone: str, window_range: str) -> None:
    """A range starting before the Unix epoch is refused at its export, naming the start."""
    text = BASE.replace("UTC", zone).replace("{start: 2024-03-01, end: 2024-03-04}", window_range)
    with pytest.raises(ManifestError) as caught:
        plan(parse_manifest(text), as_of=AS_OF)
    message = str(caught.value)
    assert message.startswith("jobs.yaml:4:5: exports[0].range.start: export 'a': starts ")
    assert "before 1970-01-01T00:00Z" in message


def test_a_range_starting_at_the_epoch_is_planned() -> None:
    """1970-01-01 in UTC is epoch millisecond 0: the first window starts there."""
    text = BASE.replace("2024-03-01, end: 2024-03-04", "1970-01-01, end: 1970-01-03")
    jobs = plan(parse_manifest(text), as_of=AS_OF).jobs
    assert [job.window.start_ms for job in jobs] == [0, 86_400_000]
