"""The closing summary a person reads at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from orchestrator.app.run import RunOutcome
from orchestrator.core.results import JobResult, counts
from orchestrator.core.units import describe_bytes
from orchestrator.edges.report import totals

MAX_LISTED_FAILURES = 20


def describe_outcome(outcome: RunOutcome, out: str | Path) -> str:
    """A few lines whose counts add up: what was fetched, reused, left; each problem's reason.
    `out` is the output folder or the bucket's URL."""
    results = outcome.results
    once = counts(results)
    parts = [f"{once['downloaded']} downloaded", f"{once['empty']} empty"]
    if once["reused"]:
        parts.append(f"{once['reused']} reused from earlier runs")
    for status in ("split", "failed", "timed_out", "interrupted", "not_started"):
        if once[status]:
            parts.append(f"{once[status]} {status.replace('_', ' ')}")
    written = totals(results)
    lines = []
    if outcome.stopped:
        lines.append(f"stopped early: {outcome.stopped}")
    lines.append(
        f"{len(results)} jobs: {', '.join(parts)}; "
        f"{describe_bytes(written['bytes'])}, {written['rows']:,} rows written to {out}/"
    )
    if outcome.report is not None:
        lines.append(f"report: {outcome.report}")
    lines += _problem_lines(results)
    lines.append(f"exit code {int(outcome.exit_code)}")
    return "\n".join(lines)


def _problem_lines(results: Sequence[JobResult]) -> list[str]:
    """One line per job that failed, timed out or was interrupted, the first few of them."""
    problems = [r for r in results if r.status in ("failed", "timed_out", "interrupted")]
    lines = []
    for result in problems[:MAX_LISTED_FAILURES]:
        job = result.job
        label = f" [{job.filter_label}]" if job.filter_label else ""
        lines.append(
            f"  {result.status}: {job.export_name} {job.window.start:%Y-%m-%d %H:%M}{label} "
            f"({job.key}): {result.error}"
        )
    if len(problems) > MAX_LISTED_FAILURES:
        lines.append(f"  … and {len(problems) - MAX_LISTED_FAILURES} more in the report")
    return lines
