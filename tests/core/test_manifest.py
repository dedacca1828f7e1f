"""The manifest is read into resolved exports, or refused with located, actionable problems."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from orchestrator.core.dates import AbsoluteDate, RelativeDate
from orchestrator.core.durations import Duration
from orchestrator.core.filters import FilterSet
from orchestrator.core.manifest import Problem, load_manifest, parse_manifest
from orchestrator.errors import ManifestError
from tests.core.strategies import EXAMPLE

HEAD = "version: 1\nexports:\n  - name: a\n    export_id: conversation\n"
RANGE = "    range: {start: 2024-01-01, end: 2024-02-01}\n"


def problems(text: str) -> list[str]:
    """The problems of a manifest that must fail, as the user reads them."""
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(problem) for problem in caught.value.problems]


def test_the_issue_example_resolves_with_defaults_applied() -> None:
    """Each export takes its own value, else the default, else the built-in one."""
    manifest = parse_manifest(EXAMPLE)
    assert manifest.timezone == ZoneInfo("America/Chicago")
    conversations, states = manifest.exports
    assert conversations.columns == ("CONVERSATION_ID", "STATUS", "ASSIGNED_AGENT_DISPLAY_ID")
    assert conversations.filter_sets == (
        FilterSet(),
        FilterSet("urgent", (("priorities", "0,1"), ("workqueueIds", "15,21"))),
    )
    assert conversations.start == AbsoluteDate(date(2024, 1, 1))
    assert conversations.end == RelativeDate("today")
    assert conversations.window == Duration(1, "d")
    assert (states.window, states.columns, states.filter_sets) == (
        Duration(7, "d"),
        (),
        (FilterSet(),),
    )
    assert (states.source, states.format, states.locale, states.method) == (
        "care",
        "csv",
        "en_US",
        "GET",
    )
    assert (states.location, states.field) == ("jobs.yaml:17:5", "exports[1]")


def test_built_in_defaults_and_utc_apply_when_nothing_is_said() -> None:
    """Without timezone or defaults the zone is UTC and each field takes its built-in value."""
    export = parse_manifest(HEAD + RANGE).exports[0]
    assert parse_manifest(HEAD + RANGE).timezone == ZoneInfo("UTC")
    assert (export.source, export.format, export.locale, export.method) == (
        "care",
        "csv",
        "en_US",
        "GET",
    )
    assert export.window == Duration(1, "d")


def test_the_issue_example_location_is_reproduced_exactly() -> None:
    """A window on line 14 at column 12 is reported as jobs.yaml:14:12."""
    text = (
        "version: 1\n"
        "defaults:\n"
        "  range: {start: 2024-01-01, end: today}\n"
        "exports:\n"
        " - name: first\n"
        "   export_id: conversation\n"
        "   # the second export\n"
        "   # has a typo\n"
        "   # in its window\n"
        "   # on line 14\n"
        " - name: second\n"
        "   export_id: raw_agent_states\n"
        "   columns: [A]\n"
        "   window: 3x\n"
    )
    assert problems(text) == [
        "jobs.yaml:14:12: exports[1].window: '3x' is not a duration (use 1h, 1d, 7d, 1mo)"
    ]


def test_unknown_keys_get_a_did_you_mean_hint_at_the_key() -> None:
    """A misspelt key points at the key itself and suggests the closest known one."""
    assert problems(HEAD + RANGE + "    windw: 7d\n") == [
        "jobs.yaml:6:5: exports[0].windw: unknown key 'windw'; did you mean 'window'?"
    ]
    found = problems(HEAD + RANGE + "    zzz: 1\n")
    assert found[0].startswith("jobs.yaml:6:5: exports[0].zzz: unknown key 'zzz' (expected one of:")


def test_all_problems_of_a_step_are_reported_together() -> None:
    """Several mistakes give several lines, each located, so one run shows them all."""
    text = HEAD.replace("name: a", "name: A") + RANGE + "    source: cares\n    window: 0d\n"
    assert problems(text) == [
        "jobs.yaml:3:11: exports[0].name: 'A' is not a name of 1-64 lower-case letters, digits, "
        "'_' or '-' starting with a letter or digit (names become directory names)",
        "jobs.yaml:6:13: exports[0].source: must be 'care' or 'publishing', not 'cares'",
        "jobs.yaml:7:13: exports[0].window: '0d' is zero: a duration must be at least 1 "
        "(use 1h, 1d, 7d, 1mo)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "jobs.yaml: the manifest is empty"),
        ("# only a comment\n", "jobs.yaml: the manifest is empty"),
        ("- a\n", "jobs.yaml:1:1: the manifest must be a mapping"),
        ("just words", "jobs.yaml:1:1: the manifest must be a mapping"),
        ("version: 1\n  bad: indent", "jobs.yaml:2:6: not valid YAML"),
        ("version: 1\n---\nversion: 1\n", "jobs.yaml:2:1: not valid YAML: expected a single"),
        ("version: 1\nversion: 1\n", "jobs.yaml:2:1: version: duplicate key 'version'"),
        ("version: !!int x\n", "jobs.yaml: not valid YAML: invalid literal"),
        ("a: !!python/name:os.system x\n", "jobs.yaml:1:4: not valid YAML"),
        ("a: \x07", "jobs.yaml: not valid YAML: unacceptable character"),
        ("[" * 5000, "jobs.yaml:1:1001: the YAML is nested too deeply"),
    ],
)
def test_documents_that_are_not_a_yaml_mapping_are_refused(text: str, expected: str) -> None:
    """Empty, non-mapping, malformed, multi-document and unsafe YAML each get one located line."""
    assert problems(text)[0].startswith(expected)


def test_anchors_and_aliases_are_refused_at_their_mark() -> None:
    """An anchor is refused where it is written, before anything is expanded."""
    text = HEAD + "    range: &r {start: 2024-01-01, end: 2024-02-01}\n"
    assert problems(text) == [
        "jobs.yaml:5:12: not valid YAML: anchors and aliases (& and *) are not supported: "
        "write the value out, or put shared fields in defaults"
    ]


def test_an_alias_bomb_is_refused_quickly() -> None:
    """The billion-laughs document fails at its first anchor, before anything is expanded."""
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)
    ]
    tracemalloc.start()
    try:
        assert "anchors and aliases" in problems("\n".join(levels))[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, "nothing was expanded (measured by memory, not time)"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    window: 7\n", "jobs.yaml:6:13: exports[0].window: 7 is not a duration"),
        ("    window: -1d\n", "jobs.yaml:6:13: exports[0].window: '-1d' is negative"),
        ("    columns: A\n", "jobs.yaml:6:14: exports[0].columns: must be a list, not 'A'"),
        (
            "    columns: [A, A]\n",
            "jobs.yaml:6:18: exports[0].columns[1]: column 'A' is listed twice",
        ),
        ("    format: xml\n", "jobs.yaml:6:13: exports[0].format: must be 'csv' or 'json'"),
        ("    locale: 12\n", "jobs.yaml:6:13: exports[0].locale: 12 is not a locale"),
        ("    filters: []\n", "jobs.yaml:6:14: exports[0].filters: is empty"),
        ("    filters: [{startTime: 1}]\n", "jobs.yaml:6:27: exports[0].filters[0].startTime: "),
        (
            "    filters: [{label: ../up}]\n",
            "jobs.yaml:6:23: exports[0].filters[0].label: label '../up'",
        ),
        (
            "    filters: [{teamId: 1}, {teamId: 1, label: x}]\n",
            "jobs.yaml:6:28: exports[0].filters[1]: duplicate filter set",
        ),
        (
            "    filters: [{teamId: 1, label: x}, {teamId: 2, label: x}]\n",
            "jobs.yaml:6:57: exports[0].filters[1].label: duplicate label 'x'",
        ),
    ],
)
def test_field_values_are_checked_where_they_are_written(extra: str, expected: str) -> None:
    """Wrong types, bad values and bad filters are reported at the offending value."""
    assert problems(HEAD + RANGE + extra)[0].startswith(expected)


@pytest.mark.parametrize(
    ("range_line", "expected"),
    [
        (
            "    range: {start: 2024-02-30, end: 2024-03-01}\n",
            "jobs.yaml:5:20: exports[0].range.start: "
            "'2024-02-30' is not a valid date: day is out of range for month",
        ),
        (
            "    range: {start: 2024-02-01, end: 2024-01-01}\n",
            "jobs.yaml:5:37: exports[0].range.end: "
            "end 2024-01-01 is not after start 2024-02-01: the range is [start, end)",
        ),
        (
            "    range: {start: 2024-02-01}\n",
            "jobs.yaml:5:12: exports[0].range.end: is required: set range.end here or in defaults",
        ),
        (
            "    range: {start: soon, end: today}\n",
            "jobs.yaml:5:20: exports[0].range.start: 'soon' is not a date",
        ),
        ("", "jobs.yaml:3:5: exports[0].range.start: is required"),
    ],
)
def test_ranges_are_checked_early_when_they_can_be(range_line: str, expected: str) -> None:
    """Impossible dates, end before start and a missing bound are located and say what to do."""
    assert problems(HEAD + range_line)[0].startswith(expected)


def test_an_export_may_override_one_bound_of_the_default_range() -> None:
    """range.start and range.end are inherited one at a time."""
    text = "version: 1\ndefaults:\n  range: {start: 2024-01-01, end: today}\n" + HEAD[11:]
    text += "    range: {start: 2024-03-01}\n"
    export = parse_manifest(text).exports[0]
    assert (export.start, export.end) == (AbsoluteDate(date(2024, 3, 1)), RelativeDate("today"))


def test_a_missing_export_id_and_duplicate_names_name_the_export() -> None:
    """Cross-field rules point at the export and, for duplicates, at the first occurrence."""
    text = "version: 1\ndefaults:\n  range: {start: 2024-01-01, end: today}\nexports:\n"
    text += "  - {name: a, export_id: x}\n  - {name: a}\n"
    assert problems(text) == [
        "jobs.yaml:6:5: exports[1].export_id: is required: set it here or in defaults",
        "jobs.yaml:6:12: exports[1].name: duplicate export name 'a' (first at jobs.yaml:5:12): "
        "make names unique",
    ]


def test_an_unknown_zone_suggests_the_closest_name() -> None:
    """A misspelt zone gets a did-you-mean hint; paths and system-only names are refused."""
    assert problems("version: 1\ntimezone: America/Chigaco\n" + HEAD[11:] + RANGE)[0] == (
        "jobs.yaml:2:11: timezone: 'America/Chigaco' is not an IANA time zone; "
        "did you mean 'America/Chicago'?"
    )
    assert "not an IANA" in problems("version: 1\ntimezone: localtime\n" + HEAD[11:] + RANGE)[0]


def test_version_and_exports_are_required() -> None:
    """A manifest without version or exports says how to start one."""
    assert problems("timezone: UTC\n") == [
        "jobs.yaml:1:1: version: is required: start the manifest with 'version: 1'",
        "jobs.yaml:1:1: exports: is required: list the exports to run",
    ]


def test_load_manifest_names_the_file_and_caps_its_size(tmp_path: Path) -> None:
    """Locations use the path as given; an oversize, missing or non-UTF-8 file is refused."""
    path = tmp_path / "jobs.yaml"
    path.write_text(HEAD + RANGE + "    window: 3x\n")
    with pytest.raises(ManifestError, match=rf"^{path}:6:13: exports\[0\].window: '3x'"):
        load_manifest(path)
    path.write_text(HEAD + RANGE)
    assert load_manifest(path).exports[0].location == f"{path}:3:5"
    with pytest.raises(ManifestError, match=rf"^{path}: the manifest is over 100 bytes"):
        load_manifest(path, max_bytes=100)
    with pytest.raises(ManifestError, match="over 100 bytes"):
        parse_manifest(HEAD + RANGE, max_bytes=100)
    path.write_bytes(b"version: 1\n\xff\n")
    with pytest.raises(ManifestError, match="not UTF-8 text"):
        load_manifest(path)
    with pytest.raises(ManifestError, match="cannot read the manifest"):
        load_manifest(tmp_path / "missing.yaml")


def test_problem_text_omits_empty_parts() -> None:
    """A problem without field or location still reads as one clean line."""
    assert (
        str(Problem("jobs.yaml", "", "the manifest is empty")) == "jobs.yaml: the manifest is empty"
    )
    assert (
        str(Problem("jobs.yaml:1:1", "version", "is required"))
        == "jobs.yaml:1:1: version: is required"
    )
