"""A manifest's exports checked against the vendor's catalog: each rule, located, as an error or a
warning, and what the commands apply (`verdict`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.core.catalog_check import Verdict, ZoneUse, unknown_zones, verdict
from orchestrator.core.manifest import parse_manifest
from tests.core.strategies import EXAMPLE

HEAD = """\
version: 1
defaults:
  range: {start: 2024-03-01, end: 2024-03-04}
exports:
"""


def found(exports: str, head: str = HEAD) -> Verdict:
    """The catalog's verdict on a manifest of `exports` (YAML list items)."""
    manifest = parse_manifest(head + exports)
    return verdict(export.catalog for export in manifest.exports)


def one_problem(exports: str) -> str:
    result = found(exports)
    assert result.warnings == ()
    (problem,) = result.problems
    return str(problem)


def one_warning(exports: str, head: str = HEAD) -> str:
    result = found(exports, head)
    assert result.problems == ()
    (warning,) = result.warnings
    return warning


def test_the_bundled_manifests_pass_without_a_word() -> None:
    """jobs.yaml and the core tests' example draw no error, warning or note."""
    jobs = Path(__file__).parents[2] / "jobs.yaml"
    for text in (jobs.read_text(), EXAMPLE):
        assert found("", text) == Verdict((), (), ())


def test_an_unknown_care_export_id_warns_with_a_suggestion() -> None:
    """`conversations` is a located warning at its export_id: did you mean 'conversation'?"""
    warning = one_warning("  - {name: a, export_id: conversations}\n")
    assert warning.startswith("jobs.yaml:5:26: exports[0].export_id: 'conversations' is not a ")
    assert "did you mean 'conversation'?" in warning


def test_a_parameter_the_export_does_not_take_warns_naming_the_ones_it_does() -> None:
    """teamId on conversation (a `user` parameter) warns at its key, naming conversation's own."""
    warning = one_warning("  - {name: a, export_id: conversation, filters: [{teamId: 4}]}\n")
    assert warning.startswith("jobs.yaml:5:51: exports[0].filters[0].teamId: export ")
    assert "does not take 'teamId' (taken by user)" in warning
    assert "it takes businessHourType, enableBusinessHour, priorities," in warning
    assert warning.endswith("workqueueIds, conversationReportType")


def test_a_missing_required_parameter_is_an_error_naming_the_allowed_values() -> None:
    """team_performance_interval without timeInterval: located at its filters, values listed."""
    problem = one_problem("  - {name: a, export_id: team_performance_interval, window: 1d}\n")
    assert problem.startswith("jobs.yaml:5:5: exports[0].filters: export ")
    assert "requires timeInterval in every filter set (one of 300000 (5 min)," in problem
    assert "604800000 (1 week))" in problem


@pytest.mark.parametrize(
    ("entry", "where", "words"),
    [
        (
            "{priorities: [0, 7]}",
            "priorities[1]",
            "priorities '7' is not allowed: priorities are 0-5",
        ),
        (
            "{conversationReportType: OPEN}",
            "conversationReportType",
            "'OPEN' is not allowed: one of OPEN_AT_END, CLOSED, CREATED",
        ),
        ("{smartViewId: [1, 2]}", "smartViewId", "smartViewId takes one value, not 2"),
        ("{enableBusinessHour: maybe}", "enableBusinessHour", "one of true, false"),
        (
            "{businessHourType: true}",
            "businessHourType",
            "businessHourType requires enableBusinessHour: true in the same filter set",
        ),
        ("{timezoneOffset: 1.5h}", "timezoneOffset", "is not whole ms"),
    ],
)
def test_a_value_outside_the_allowed_ones_is_a_located_error(
    entry: str, where: str, words: str
) -> None:
    """Priorities past 5, an unknown report type, two smart views, a non-boolean, business hours
    without their switch, a non-integer offset: each an error at its field."""
    problem = one_problem(f"  - {{name: a, export_id: conversation, filters: [{entry}]}}\n")
    assert f"exports[0].filters[0].{where}: " in problem
    assert words in problem


def test_business_hours_with_their_switch_pass() -> None:
    """businessHourType with enableBusinessHour: true is what the reference asks for."""
    entry = "{businessHourType: false, enableBusinessHour: true, priorities: [0, 5]}"
    assert found(f"  - {{name: a, export_id: conversation, filters: [{entry}]}}\n") == Verdict(
        (), (), ()
    )


@pytest.mark.parametrize(
    ("window", "interval", "words"),
    [
        ("7d", 3600000, "windows of 7d (1 week) take only timeInterval 28800000 (8 h), "),
        ("1w", 604800000, "answers 604800000 (1 week) over a 1-week range with 'Too many buckets'"),
        ("1mo", 43200000, "take only timeInterval 86400000 (1 day) or 604800000 (1 week)"),
        ("1d", 1000, "timeInterval 1000 is not allowed: one of 300000 (5 min)"),
    ],
)
def test_a_bucket_count_the_range_rules_forbid_is_a_located_error(
    window: str, interval: int, words: str
) -> None:
    """A week of hourly buckets (or of one weekly one), a month of 12 h buckets, an unlisted
    interval: errors at the timeInterval naming what is allowed."""
    exports = (
        f"  - {{name: a, export_id: team_performance_interval, window: {window}, "
        f"filters: [{{timeInterval: {interval}}}]}}\n"
    )
    problem = one_problem(exports)
    assert "exports[0].filters[0].timeInterval: " in problem
    assert words in problem


@pytest.mark.parametrize(
    ("window", "interval"), [("7d", 86400000), ("1mo", 604800000), ("6h", 300000)]
)
def test_an_interval_the_rules_allow_or_do_not_speak_of_passes(window: str, interval: int) -> None:
    """A week of days, a month of weeks; for other window lengths no rule is published: open."""
    exports = (
        f"  - {{name: a, export_id: team_performance_interval, window: {window}, "
        f"filters: [{{timeInterval: {interval}}}]}}\n"
    )
    assert found(exports) == Verdict((), (), ())


def test_an_interval_above_a_week_warns_that_it_means_monthly() -> None:
    """Values above 1 week are treated as monthly by the API: a warning, not an error."""
    exports = "  - {name: a, export_id: team_performance_interval, filters: [{timeInterval: 2592000000}]}\n"
    assert "the API treats it as monthly" in one_warning(exports)


def test_a_locale_outside_the_list_warns_and_a_regional_form_passes() -> None:
    """`ja` warns once, at the defaults it is written in; `en_US` (the examples' own) passes."""
    head = HEAD.replace("defaults:\n", "defaults:\n  locale: ja\n")
    exports = "  - {name: a, export_id: conversation}\n  - {name: b, export_id: user}\n"
    warning = one_warning(exports, head)
    assert warning.startswith("jobs.yaml:3:11: defaults.locale: locale 'ja' is not one")
    assert found("  - {name: a, export_id: user, locale: en_US}\n") == Verdict((), (), ())


def test_publishing_accepts_any_id_and_says_so_once() -> None:
    """Two Publishing exports: no warning, one note naming both ids."""
    exports = (
        "  - {name: a, source: publishing, export_id: raw_brand_post, filters: [{campaignId: 1}]}\n"
        "  - {name: b, source: publishing, export_id: other_post}\n"
    )
    result = found(exports)
    assert (result.problems, result.warnings) == ((), ())
    (note,) = result.notes
    assert note.endswith("sent as written, unchecked: raw_brand_post, other_post")


def test_a_default_filter_inherited_by_many_exports_is_said_once() -> None:
    """teamId in defaults.filters, not taken by two exports: one warning, at the defaults."""
    head = HEAD.replace("defaults:\n", "defaults:\n  filters: [{teamId: 4}]\n")
    exports = "  - {name: a, export_id: conversation}\n  - {name: b, export_id: author}\n"
    result = found(exports, head)
    assert len(result.warnings) == 2  # the message names each export's own parameters
    assert all(w.startswith("jobs.yaml:3:14: defaults.filters[0].teamId") for w in result.warnings)
    exports = "  - {name: a, export_id: conversation}\n  - {name: b, export_id: conversation}\n"
    assert len(found(exports, head).warnings) == 1


def test_timezone_parameters_are_confirmed_against_the_account() -> None:
    """A timezone the account lists passes; another is located with the closest listed id."""
    exports = (
        "  - {name: a, export_id: conversation, filters: "
        "[{timezone: America/Chicago}, {timezone: America/Chicgo}]}\n"
    )
    uses = [
        use for export in parse_manifest(HEAD + exports).exports for use in export.catalog.zones
    ]
    assert [use.value for use in uses] == ["America/Chicago", "America/Chicgo"]
    (problem,) = unknown_zones(uses, ["America/Chicago", "UTC"])
    assert str(problem).startswith("jobs.yaml:5:90: exports[0].filters[1].timezone: timezone ")
    assert "not one of the account's 2 time zones; did you mean 'America/Chicago'?" in str(problem)
    assert unknown_zones([ZoneUse("UTC", "x", "y")], ["UTC"]) == []
