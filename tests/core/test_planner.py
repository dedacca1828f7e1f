"""The planner expands a manifest into ordered jobs with stable, unique keys, or refuses it."""

from __future__ import annotations

import dataclasses
import tracemalloc
from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.filters import FilterSet
from orchestrator.core.manifest import parse_manifest
from orchestrator.core.planner import plan
from orchestrator.core.windows import tile
from orchestrator.errors import ManifestError
from tests.core.strategies import AS_OF, EXAMPLE, valid_manifests

AS_OF_EXAMPLE = date(2024, 3, 15)
BASE = """\
version: 1
timezone: America/Chicago
exports:
  - name: a
    export_id: conversation
    range: {start: 2024-03-01, end: 2024-03-04}
"""


def keys(text: str, as_of: date = AS_OF_EXAMPLE) -> list[str]:
    return [job.key for job in plan(parse_manifest(text), as_of=as_of).jobs]


def test_the_issue_example_plans_windows_times_filter_sets() -> None:
    """74 daily windows x 2 filter sets, then 11 weekly windows x 1, in manifest order."""
    result = plan(parse_manifest(EXAMPLE), as_of=AS_OF_EXAMPLE)
    assert [(t.name, t.windows, t.jobs) for t in result.totals] == [
        ("conversations", 74, 148),
        ("agent-states", 11, 11),
    ]
    assert len(result.jobs) == 159
    assert result.windows_count == 85
    assert result.warnings == ()
    first, second = result.jobs[:2]
    assert first.window == second.window
    assert (first.filter_label, first.filter_params) == (None, ())
    assert second.filter_label == "urgent"
    assert second.filter_params == (("priorities", "0,1"), ("workqueueIds", "15,21"))
    assert first.columns == ("CONVERSATION_ID", "STATUS", "ASSIGNED_AGENT_DISPLAY_ID")
    assert result.jobs[-1].export_name == "agent-states"
    assert result.jobs[-1].window.end.date() == AS_OF_EXAMPLE


def test_jobs_are_ordered_by_export_then_window_then_filter_set() -> None:
    """Within an export the window start never decreases and filter sets keep manifest order."""
    jobs = plan(parse_manifest(EXAMPLE), as_of=AS_OF_EXAMPLE).jobs
    order = [(job.export_name != "conversations", job.window.start_ms) for job in jobs]
    assert order == sorted(order)
    labels = [job.filter_label for job in jobs if job.export_name == "conversations"]
    assert labels == [None, "urgent"] * 74


def test_the_spring_forward_day_is_a_23_hour_job() -> None:
    """The job for 2024-03-10 in Chicago asks for 23 hours of data, its neighbours for 24."""
    jobs = plan(
        parse_manifest(BASE.replace("03-01", "03-09").replace("03-04", "03-12")), as_of=AS_OF
    ).jobs
    assert [(j.window.end_ms - j.window.start_ms) // 3_600_000 for j in jobs] == [24, 23, 24]


def test_keys_are_stable_across_runs_and_as_of_for_absolute_ranges() -> None:
    """Planning twice, or on another day, gives the same keys for the same windows."""
    assert keys(EXAMPLE) == keys(EXAMPLE)
    assert keys(BASE) == keys(BASE, as_of=date(2024, 9, 1))
    assert len(set(keys(EXAMPLE))) == len(keys(EXAMPLE))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("name: a", "name: b"),
        ("export_id: conversation", "export_id: user"),
        ("export_id: conversation", "export_id: conversation\n    source: publishing"),
        ("export_id: conversation", "export_id: conversation\n    format: json"),
        ("export_id: conversation", "export_id: conversation\n    locale: fr"),
        ("export_id: conversation", "export_id: conversation\n    columns: [A]"),
        ("export_id: conversation", "export_id: conversation\n    filters: [{teamId: 1}]"),
        ("timezone: America/Chicago", "timezone: America/New_York"),
        ("2024-03-01", "2024-03-01T06:00"),
    ],
)
def test_changing_a_defining_field_changes_every_key(old: str, new: str) -> None:
    """Name, export id, source, format, locale, columns, filters and window bounds are keyed."""
    before, after = keys(BASE), keys(BASE.replace(old, new))
    assert not set(before[:3]) & set(after)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("export_id: conversation", "export_id: conversation\n    method: POST"),
        ("export_id: conversation", "export_id: conversation\n    filters: [{label: all}]"),
    ],
)
def test_method_and_label_do_not_change_keys(old: str, new: str) -> None:
    """The HTTP method and a label leave the request's data unchanged, so keys stay (jobs.py)."""
    assert keys(BASE) == keys(BASE.replace(old, new))


def test_filter_key_order_does_not_change_keys() -> None:
    """Writing a filter's parameters in another order plans the same keys."""
    one = BASE + "    filters: [{teamId: [1, 2], priorities: [0]}]\n"
    two = BASE + "    filters: [{priorities: [0], teamId: [1, 2]}]\n"
    assert keys(one) == keys(two)


def test_relative_ranges_follow_the_run_date() -> None:
    """today-7d to today plans the seven days before as_of."""
    text = BASE.replace("{start: 2024-03-01, end: 2024-03-04}", "{start: today-7d, end: today}")
    jobs = plan(parse_manifest(text), as_of=date(2024, 5, 20)).jobs
    assert [job.window.start.date() for job in jobs] == [date(2024, 5, d) for d in range(13, 20)]


def test_a_range_empty_on_the_run_date_is_a_located_error() -> None:
    """A relative end not after the start (as of the run date) names the export and its line."""
    text = BASE.replace("2024-03-04", "today")
    with pytest.raises(ManifestError) as caught:
        plan(parse_manifest(text), as_of=date(2024, 3, 1))
    assert str(caught.value).startswith(
        "jobs.yaml:4:5: exports[0].range: export 'a': end today (2024-03-01T00:00:00-06:00) "
        "is not after start 2024-03-01"
    )


def test_a_date_beyond_the_calendar_is_a_located_error() -> None:
    """today+99999mo cannot be represented and is refused, located at its export."""
    text = BASE.replace("2024-03-04", "today+99999mo")
    with pytest.raises(ManifestError, match=r"^jobs.yaml:4:5: exports\[0\].range: .*out of the"):
        plan(parse_manifest(text), as_of=AS_OF)


def test_the_job_ceiling_is_exact_and_checked_before_building_jobs() -> None:
    """A plan of exactly max_jobs passes, one more fails, and a century of hours fails fast."""
    text = BASE + "    filters: [{teamId: 1}, {teamId: 2}]\n"
    assert len(plan(parse_manifest(text), as_of=AS_OF, max_jobs=6).jobs) == 6
    with pytest.raises(ManifestError, match="more than 5 jobs"):
        plan(parse_manifest(text), as_of=AS_OF, max_jobs=5)
    huge = text.replace("2024-03-01", "1950-01-01").replace(
        "export_id", "window: 1h\n    export_id"
    )
    tracemalloc.start()
    try:
        with pytest.raises(
            ManifestError,
            match=r"^jobs.yaml:4:5: exports\[0\]: export 'a': the plan has more than 100,000 jobs",
        ):
            plan(parse_manifest(huge), as_of=AS_OF)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, "the 648,000 jobs must be counted, not built (measured by memory)"


def test_long_windows_and_old_ranges_warn_without_failing() -> None:
    """Windows over 90 days and starts over 18 months back are warnings naming the export."""
    text = BASE.replace("2024-03-01", "2022-01-01").replace(
        "export_id", "window: 100d\n    export_id"
    )
    result = plan(parse_manifest(text), as_of=date(2024, 3, 15))
    assert result.jobs
    assert result.warnings == (
        "jobs.yaml:4:5: exports[0].window: windows of 100d reach 100 days; "
        "the API serves at most 90 days per request",
        "jobs.yaml:4:5: exports[0].range: starts 2022-01-01, more than 18 months before "
        "2024-03-15; the API keeps about 18 months of data",
    )
    assert (
        plan(
            parse_manifest(BASE.replace("export_id", "window: 90d\n    export_id")), as_of=AS_OF
        ).warnings
        == ()
    )


def test_duplicate_keys_are_refused_even_if_the_manifest_was_built_in_code() -> None:
    """Two identical filter sets in one export would share keys: a located ManifestError."""
    manifest = parse_manifest(BASE)
    export = dataclasses.replace(manifest.exports[0], filter_sets=(FilterSet(), FilterSet("x")))
    manifest = dataclasses.replace(manifest, exports=(export,))
    with pytest.raises(
        ManifestError, match=r"exports\[0\].filters: export 'a': duplicate filter set"
    ):
        plan(manifest, as_of=AS_OF)


@settings(max_examples=100, deadline=None)
@given(valid_manifests())
def test_job_count_is_windows_times_filter_sets_and_keys_are_unique(data: dict[str, Any]) -> None:
    """Each export gives windows x filter sets jobs; all keys differ and replanning agrees."""
    manifest = parse_manifest(yaml.safe_dump(data))
    result = plan(manifest, as_of=AS_OF)
    expected = 0
    for export, totals in zip(manifest.exports, result.totals, strict=True):
        windows = [job.window for job in result.jobs if job.export_name == export.name]
        assert len(windows) == totals.windows * len(export.filter_sets) == totals.jobs
        expected += totals.jobs
    assert len(result.jobs) == expected
    assert len({job.key for job in result.jobs}) == len(result.jobs)
    assert [job.key for job in plan(manifest, as_of=AS_OF).jobs] == [job.key for job in result.jobs]


@settings(max_examples=50, deadline=None)
@given(valid_manifests(), st.integers(0, 3))
def test_windows_per_export_match_tiling_its_range(data: dict[str, Any], pick: int) -> None:
    """The planned windows of an export are exactly the tiles of its resolved range."""
    manifest = parse_manifest(yaml.safe_dump(data))
    result = plan(manifest, as_of=AS_OF)
    export = manifest.exports[pick % len(manifest.exports)]
    planned = [job.window for job in result.jobs if job.export_name == export.name]
    first = planned[0].start
    last = planned[-1].end
    expected = list(tile(first.astimezone(manifest.timezone), last, export.window))
    assert planned[:: len(export.filter_sets)] == expected
    assert all(w.length > timedelta(0) for w in planned)
