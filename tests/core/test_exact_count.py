"""The job ceiling counts exactly, without building the plan: a plan of N jobs passes a ceiling of
N and is refused at N - 1, whatever the window, zone or number of exports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.dates import localize
from orchestrator.core.durations import Duration, Unit
from orchestrator.core.manifest import parse_manifest
from orchestrator.core.planner import count_jobs, plan
from orchestrator.core.windows import count_windows, tile
from orchestrator.errors import ManifestError
from tests.core.strategies import AS_OF, ZONES, valid_manifests


def many_exports(exports: int, filter_sets: int, months: int) -> str:
    """`exports` exports of `filter_sets` filter sets each, over `months` monthly windows."""
    filters = "".join(f"    - {{teamId: [{i}]}}\n" for i in range(filter_sets))
    names = "".join(f"  - name: e{i}\n" for i in range(exports))
    end = date(2022 + months // 12, months % 12 + 1, 1)
    return (
        "version: 1\ntimezone: America/Chicago\ndefaults:\n  export_id: conversation\n"
        f"  window: 1mo\n  range: {{start: 2022-01-01, end: {end}}}\n  filters:\n{filters}"
        f"exports:\n{names}"
    )


def test_a_plan_of_many_exports_passes_a_ceiling_of_its_exact_size() -> None:
    """40 exports x 2 filter sets x 24 months is 1,920 jobs: it passes at 1,920, not at 1,919."""
    manifest = parse_manifest(many_exports(40, 2, 24))
    assert len(plan(manifest, as_of=AS_OF, max_jobs=1_920).jobs) == 1_920
    with pytest.raises(ManifestError, match="more than 1,919 jobs"):
        plan(manifest, as_of=AS_OF, max_jobs=1_919)


def test_the_issue_plan_of_96000_jobs_is_counted_as_96000() -> None:
    """40 exports x 100 filter sets x 24 monthly windows count 96,000 jobs, none of them built."""
    manifest = parse_manifest(many_exports(40, 100, 24))
    assert count_jobs(manifest, as_of=AS_OF) == 96_000
    with pytest.raises(ManifestError, match="more than 95,999 jobs"):
        plan(manifest, as_of=AS_OF, max_jobs=95_999)


def test_a_plan_of_exactly_100000_jobs_is_refused_only_one_under() -> None:
    """100 exports x 1,000 weekly windows: 100,000 jobs counted, refused at a ceiling of 99,999."""
    text = many_exports(100, 1, 0).replace("window: 1mo", "window: 1w")
    text = text.replace("end: 2022-01-01", "end: 2041-03-02")  # 1,000 weeks
    manifest = parse_manifest(text)
    assert count_jobs(manifest, as_of=AS_OF) == 100_000
    with pytest.raises(ManifestError, match="more than 99,999 jobs"):
        plan(manifest, as_of=AS_OF, max_jobs=99_999)


def test_hours_are_counted_to_the_microsecond_over_millennia() -> None:
    """80 million hours and one microsecond make 80,000,001 windows (no float rounding)."""
    start = datetime(1, 1, 2, tzinfo=UTC)
    end = start + 80_000_000 * timedelta(hours=1) + timedelta(microseconds=1)
    assert count_windows(start, end, Duration(1, "h")) == 80_000_001


def test_a_skipped_calendar_day_is_not_counted_as_a_window() -> None:
    """Samoa skipped 2011-12-30: daily windows over that week are 6, as `tile` cuts them."""
    zone = ZoneInfo("Pacific/Apia")
    start, end = localize(datetime(2011, 12, 27), zone), localize(datetime(2012, 1, 3), zone)
    for step in (Duration(1, "d"), Duration(2, "d"), Duration(1, "w")):
        assert count_windows(start, end, step) == len(list(tile(start, end, step)))
    assert count_windows(start, end, Duration(1, "d")) == 6


UNITS: tuple[Unit, ...] = ("h", "d", "w", "mo")


@st.composite
def ranges(draw: st.DrawFn) -> tuple[datetime, datetime, Duration]:
    """A range of up to about 60 steps in a zone with odd offsets or a skipped day, and a step."""
    zone = ZoneInfo(draw(st.sampled_from((*ZONES, "Pacific/Apia", "Pacific/Kiritimati"))))
    unit: Unit = draw(st.sampled_from(UNITS))
    step = Duration(draw(st.integers(1, {"h": 30, "d": 3, "w": 2, "mo": 3}[unit])), unit)
    wall = draw(st.datetimes(datetime(2011, 11, 1), datetime(2012, 2, 1)) | st.datetimes())
    wall = min(max(wall, datetime(2, 1, 1)), datetime(9900, 1, 1)).replace(second=0, microsecond=0)
    start = localize(wall, zone)
    nominal = {"h": 3600, "d": 86400, "w": 7 * 86400, "mo": 31 * 86400}[unit] * step.count
    elapsed = timedelta(seconds=draw(st.integers(1, nominal * 60)))
    return start, (start.astimezone(UTC) + elapsed).astimezone(zone), step


@settings(max_examples=150, deadline=None)
@given(ranges())
def test_the_window_count_is_the_number_of_windows_tile_cuts(
    case: tuple[datetime, datetime, Duration],
) -> None:
    """count_windows equals len(tile(...)) for every step, zone and range."""
    start, end, step = case
    assert count_windows(start, end, step) == len(list(tile(start, end, step)))


@settings(max_examples=50, deadline=None)
@given(valid_manifests())
def test_the_job_count_is_the_length_of_the_expanded_plan(data: dict[str, object]) -> None:
    """count_jobs equals len(plan(...).jobs); that many passes the ceiling, one fewer is refused."""
    manifest = parse_manifest(yaml.safe_dump(data, sort_keys=False))
    jobs = len(plan(manifest, as_of=AS_OF).jobs)
    assert count_jobs(manifest, as_of=AS_OF) == jobs
    assert len(plan(manifest, as_of=AS_OF, max_jobs=jobs).jobs) == jobs
    with pytest.raises(ManifestError, match=f"more than {jobs - 1:,} jobs"):
        plan(manifest, as_of=AS_OF, max_jobs=jobs - 1)
