"""Whatever text arrives, reading and planning end in a Manifest, a Plan or a ManifestError."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.core.manifest import Manifest, parse_manifest
from orchestrator.core.planner import plan
from orchestrator.errors import ManifestError
from tests.core.strategies import AS_OF, EXAMPLE, valid_manifests
from tests.depth import scaled

FAST = settings(
    max_examples=scaled(200, quick=1 / 2),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["1d", "0d", "today-1mo", "9999-12-31", "0001-01-01", "UTC", "care", "-"]),
    st.lists(st.integers(-5, 5) | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=4), max_size=3),
)


def _scramble(draw: st.DrawFn, value: Any, rate: int) -> Any:
    """Replace, drop or add parts of a valid manifest, each with `rate` percent chance."""

    def hit() -> bool:
        return draw(st.integers(0, 99)) >= 100 - rate  # hypothesis favours 0: no damage

    if isinstance(value, dict):
        out = {k: _scramble(draw, v, rate) for k, v in value.items() if not hit()}
        if hit():
            out[draw(st.sampled_from(["windw", "extra", "Name", "range", "label"]))] = draw(junk)
        return out
    if isinstance(value, list):
        return [_scramble(draw, item, rate) for item in value]
    return draw(junk) if hit() else value


@st.composite
def damaged_manifests(draw: st.DrawFn) -> Any:
    """A valid manifest with a few (or, sometimes, many) parts broken."""
    rate = draw(st.sampled_from([1, 3, 5, 20]))
    return _scramble(draw, draw(valid_manifests()), rate)


def _read_and_plan(text: str) -> None:
    """Parse and plan; anything but a Manifest, a Plan or ManifestError fails the test."""
    try:
        manifest = parse_manifest(text)
        assert isinstance(manifest, Manifest)
        plan(manifest, as_of=AS_OF, max_jobs=2_000)
    except ManifestError as exc:
        assert exc.problems
        assert all("\n" not in str(problem) for problem in exc.problems)
        assert all(problem.location.startswith("jobs.yaml") for problem in exc.problems)


@FAST
@given(valid_manifests())
def test_generated_valid_manifests_parse_and_plan(data: dict[str, Any]) -> None:
    """Manifests built only from valid values always parse and plan."""
    manifest = parse_manifest(yaml.safe_dump(data, sort_keys=False))
    assert len(manifest.exports) == len(data["exports"])
    assert plan(manifest, as_of=AS_OF).jobs


@FAST
@given(damaged_manifests())
def test_damaged_manifests_fail_only_with_manifest_error(data: Any) -> None:
    """Manifests with junk values, unknown keys or missing fields raise only ManifestError."""
    _read_and_plan(yaml.safe_dump(data, sort_keys=False))


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    """The issue's example with a few characters deleted, inserted or replaced."""
    text = EXAMPLE
    alphabet = st.sampled_from([*":-[]{},&*!|>'\"#% \n\tabz019", "\x00", "é", "\ufeff"])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.text(alphabet, max_size=3)) + text[at + cut :]
    return text


@FAST
@given(mutated_texts())
def test_mutated_text_fails_only_with_manifest_error(text: str) -> None:
    """Broken YAML, broken fields or stray control characters raise only ManifestError."""
    _read_and_plan(text)


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text_fails_only_with_manifest_error(text: str) -> None:
    """Any text at all is read or refused with ManifestError, never another exception."""
    _read_and_plan(text)
