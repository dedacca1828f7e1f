"""From a manifest file to the jobs a run does: load, check against the vendor's catalog, plan
at a run date, and pick one shard's jobs.

The findings (warnings, notes) come back as values for the face to print; `--strict` turns the
warnings into StrictWarnings (exit code 2) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from orchestrator.app.run import RunRequest
from orchestrator.core.catalog_check import verdict
from orchestrator.core.dates import DateRange
from orchestrator.core.manifest import Manifest, load_manifest
from orchestrator.core.planner import Plan, plan
from orchestrator.core.shard import Shard, select
from orchestrator.edges.preflight import check_writable, manifest_path_problem
from orchestrator.edges.settings import Settings, inside
from orchestrator.edges.storage import Output
from orchestrator.errors import ManifestError, UsageError


class StrictWarnings(UsageError):
    """Manifest warnings, which `--strict` turns into errors (exit code 2)."""


@dataclass(frozen=True, slots=True)
class Planned:
    """A manifest, its plan at a run date, and the catalog's notes on it."""

    manifest: Manifest
    plan: Plan
    as_of: date
    notes: tuple[str, ...] = ()
    """What the vendor's reference says about the manifest's parameters, short of a warning."""
    range: DateRange | None = None
    """`--range`, which replaced every export's range, if given."""


def planned(
    path: Path,
    settings: Settings,
    *,
    as_of: date | None = None,
    strict: bool = False,
    date_range: DateRange | None = None,
) -> Planned:
    """Load the manifest, resolve the run date in its zone (`as_of`, else today there) and expand
    it under the settings' job ceiling, every export's range replaced by `date_range` if given;
    the catalog's warnings join the plan's. Raises UsageError for a path that is no file or an
    empty range, ManifestError for an invalid manifest, and StrictWarnings for any warning under
    `strict`."""
    problem = manifest_path_problem(path)
    if problem is not None:
        raise UsageError(problem)
    manifest = load_manifest(path)
    catalog = verdict(export.catalog for export in manifest.exports)  # the vendor's reference
    if catalog.problems:
        raise ManifestError(catalog.problems)
    now = datetime.now(UTC)
    as_of = as_of or now.astimezone(manifest.timezone).date()
    if date_range is not None:
        manifest = _with_range(manifest, date_range, as_of)
    expanded = plan(manifest, as_of=as_of, max_jobs=settings.max_jobs, now=now)
    expanded = replace(expanded, warnings=(*expanded.warnings, *catalog.warnings))
    if strict and expanded.warnings:
        raise StrictWarnings("\n".join(expanded.warnings))
    return Planned(manifest, expanded, as_of, catalog.notes, date_range)


def _with_range(manifest: Manifest, date_range: DateRange, as_of: date) -> Manifest:
    """The manifest with `--range` in place of every export's range; UsageError if it is empty
    at the run date."""
    problem = date_range.problem(as_of=as_of, zone=manifest.timezone)
    if problem is not None:
        raise UsageError(problem)
    return manifest.with_range(date_range.start, date_range.end)


def request_for(
    found: Planned,
    *,
    manifest: str,
    shard: Shard | None = None,
    force: bool = False,
    verify: bool = False,
) -> RunRequest:
    """The run of one shard's jobs of the plan (every job without a shard)."""
    shard = shard or Shard()
    return RunRequest(
        jobs=select(found.plan.jobs, shard),
        manifest=manifest,
        as_of=found.as_of.isoformat(),
        force=force,
        verify=verify,
        shard=shard,
        range=None if found.range is None else str(found.range),
    )


async def ready_to_run(found: Planned, output: Output, settings: Settings) -> None:
    """The output and this shard's journal can take files: the folder is writable, or the bucket
    exists and the credentials may list it. An OutputNotWritable or SettingsError (exit code 2)
    before any API request otherwise. A metrics file's folder inside a local output folder is
    created with it (`--out new --metrics-file new/run.prom`)."""
    await output.check([export.name for export in found.manifest.exports])
    metrics, out = settings.metrics_file, settings.out
    if metrics is not None and isinstance(out, Path) and inside(metrics.parent, out):
        check_writable([metrics.parent])
