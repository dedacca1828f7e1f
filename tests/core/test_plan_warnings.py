"""Manifest warnings: undocumented filter names, windows that have not ended, and honest refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from orchestrator.core.filters import KNOWN_PARAMS, RESERVED, encode_filters
from orchestrator.core.jobs import Window
from orchestrator.core.manifest import parse_manifest
from orchestrator.core.planner import plan
from orchestrator.errors import FilterError

AS_OF = date(2024, 3, 15)
BASE = """\
version: 1
timezone: America/Chicago
exports:
  - name: a
    export_id: conversation
    range: {start: 2024-03-01, end: 2024-03-04}
"""


@pytest.mark.parametrize(
    ("name", "origin"),
    [
        ("companyKey", "ORCHESTRATOR_COMPANY_KEY"),
        ("startTime", "window"),
        ("endTime", "window"),
        ("reportFormat", "`format`"),
        ("locale", "`locale`"),
        ("reportMetrics", "`columns`"),
    ],
)
def test_each_reserved_parameter_names_its_real_origin(name: str, origin: str) -> None:
    """A reserved parameter's refusal says where the client takes its value from."""
    with pytest.raises(FilterError, match="set by the client") as caught:
        encode_filters({name: "1"})
    assert origin in str(caught.value)
    assert "export's own fields" not in str(caught.value)
    assert set(RESERVED) == {
        "companyKey",
        "startTime",
        "endTime",
        "reportFormat",
        "locale",
        "reportMetrics",
    }


def test_a_misspelt_filter_name_is_a_located_warning_with_a_suggestion() -> None:
    """`prioritys` parses, is sent as written, and warns at its key with "did you mean 'priorities'"."""
    text = BASE + "    filters:\n      - {prioritys: [0, 1], teamIds: [4]}\n"
    manifest = parse_manifest(text)
    assert [str(w) for w in manifest.warnings] == [
        "jobs.yaml:8:10: exports[0].filters[0].prioritys: 'prioritys' is not a documented API "
        "parameter; did you mean 'priorities'? (it is sent as written)"
    ]
    result = plan(manifest, as_of=AS_OF)
    assert result.warnings == tuple(str(w) for w in manifest.warnings)
    assert ("prioritys", "0,1") not in result.jobs[0].filter_params
    assert ("prioritys", "0") in result.jobs[0].filter_params


def test_documented_names_and_the_label_do_not_warn() -> None:
    """Every documented parameter, and our own `label`, passes without a warning."""
    entry = ", ".join(f"{name}: 1" for name in sorted(KNOWN_PARAMS))
    manifest = parse_manifest(BASE + f"    filters:\n      - {{label: x, {entry}}}\n")
    assert manifest.warnings == ()


def test_a_default_filter_inherited_by_many_exports_warns_once() -> None:
    """A misspelt name in defaults.filters is one warning, at the defaults, not one per export."""
    text = BASE.replace("exports:\n", "defaults:\n  filters:\n    - {agentID: 5}\nexports:\n") + (
        "  - name: b\n    export_id: conversation\n    range: {start: 2024-03-01, end: 2024-03-04}\n"
    )
    warnings = [str(w) for w in parse_manifest(text).warnings]
    assert len(warnings) == 1
    assert "defaults.filters[0].agentID" in warnings[0]
    assert "did you mean 'agentId'?" in warnings[0]


def test_a_name_with_nothing_close_warns_without_a_suggestion() -> None:
    """A name far from every documented one is still a warning, with no guess."""
    manifest = parse_manifest(BASE + "    filters:\n      - {zzz: 1}\n")
    (warning,) = manifest.warnings
    assert "'zzz' is not a documented API parameter (it is sent as written)" in str(warning)


def test_window_open_at_compares_instants_and_needs_an_aware_now() -> None:
    """A window is open until its end instant, whatever zone `now` is given in."""
    start = datetime(2024, 3, 14, tzinfo=UTC)
    window = Window(start, start + timedelta(days=1))
    assert window.open_at(start + timedelta(hours=23, minutes=59))
    assert not window.open_at(start + timedelta(days=1))
    assert not window.open_at(datetime(2024, 3, 15, 2, tzinfo=UTC).astimezone())
    with pytest.raises(ValueError, match="aware"):
        window.open_at(datetime(2024, 3, 14))  # a naive value is the point


def test_a_range_reaching_past_now_warns_naming_the_export_and_the_window() -> None:
    """With `now` inside the range, the first unfinished window and the export are named."""
    text = BASE.replace("end: 2024-03-04", "end: 2024-03-16")
    now = datetime(2024, 3, 15, 18, tzinfo=UTC)  # 13:00 in Chicago on the run date
    result = plan(parse_manifest(text), as_of=AS_OF, now=now)
    (warning,) = result.warnings
    assert warning.startswith("jobs.yaml:4:5: exports[0].range: export 'a': the window ")
    assert "2024-03-15T00:00:00-05:00 to 2024-03-16T00:00:00-05:00 has not ended yet" in warning
    assert [job.window.start.day for job in result.jobs if job.window.open_at(now)] == [15]


def test_a_finished_range_or_no_now_gives_no_open_window_warning() -> None:
    """A range that ended before `now`, or a plan made without `now`, warns about nothing."""
    now = datetime(2024, 3, 15, 18, tzinfo=UTC)
    assert plan(parse_manifest(BASE), as_of=AS_OF, now=now).warnings == ()
    text = BASE.replace("end: 2024-03-04", "end: 2024-03-16")
    assert plan(parse_manifest(text), as_of=AS_OF).warnings == ()


def test_several_open_windows_are_counted_in_one_warning() -> None:
    """A range far into the future is one warning with the count of later windows."""
    text = BASE.replace("end: 2024-03-04", "end: 2024-03-20")
    now = datetime(2024, 3, 15, 18, tzinfo=UTC)
    (warning,) = plan(parse_manifest(text), as_of=AS_OF, now=now).warnings
    assert (
        "has not ended yet, nor have the 4 after it (now is 2024-03-15T13:00:00-05:00)" in warning
    )
