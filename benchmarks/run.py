"""The benchmark of issue 9: slot use, request economy, downloads, overhead and scale, baselines;
and of issue 16: a large export into a bucket.

    python benchmarks/run.py [--quick] [--only slots economy ...] [--json-out PATH]

Every scenario starts its own fake API process (`orchestrator fake-api`) and runs the orchestrator
CLI in another; every figure is a ratio or a count taken within one run, so it holds on a noisy
machine. Prints a table with each target marked pass or MISS and writes the figures as JSON
(default benchmarks/results/latest.json). `--quick` runs every scenario but the bucket's at a
reduced size, all at once, in under a minute: a smoke test whose timings mean nothing. See benchmarks/README.md.
Exit code 0 when every scenario ran (targets missed included), 1 when one could not run.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import baselines
from benchmarks.report import Section, save, table, to_json
from benchmarks.scenarios import bucket, downloads, economy, scale, slots

SCENARIOS: dict[str, tuple[str, Callable[[bool], Section]]] = {
    "slots": ("1. Slot use", slots.run),
    "economy": ("2. Request economy", economy.run),
    "downloads": ("3. Downloads", downloads.run),
    "scale": ("4. Overhead and scale", scale.run),
    "baselines": ("5. Baselines", baselines.run),
    "bucket": ("6. A bucket", bucket.run),
}
NOT_QUICK = ("bucket",)
"""Left out of `--quick` unless named with --only: moto holds the file in memory, and the test
suite runs whole runs into S3 already."""
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def guarded(key: str, quick: bool) -> Section:
    """Run one scenario; a failure becomes the section's error instead of ending the benchmark."""
    title, scenario = SCENARIOS[key]
    started = time.monotonic()
    try:
        section = scenario(quick)
    except Exception as error:
        traceback.print_exc()
        section = Section(key, title, error=f"{type(error).__name__}: {error}")
    section.seconds = time.monotonic() - started
    return section


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="reduced sizes, scenarios at once")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=None)
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    options = parser.parse_args()

    started = time.monotonic()
    only = options.only or [k for k in SCENARIOS if not (options.quick and k in NOT_QUICK)]
    keys = [key for key in SCENARIOS if key in only]
    if options.quick:  # timings are not the point: overlap the scenarios' waits
        with ThreadPoolExecutor(max_workers=len(keys)) as pool:
            sections = list(pool.map(lambda key: guarded(key, True), keys))
    else:
        sections = [guarded(key, False) for key in keys]
    by_key = {section.key: section for section in sections}
    if "baselines" in by_key and "slots" in by_key and not by_key["baselines"].error:
        economy_section = by_key.get("economy")
        if economy_section is not None and economy_section.error:
            economy_section = None
        baselines.compare(by_key["baselines"], by_key["slots"], economy_section)
    elapsed = time.monotonic() - started
    document = to_json(sections, quick=options.quick, seconds=elapsed)
    save(document, options.json_out)
    print(table(sections))
    print(
        f"\n{document['targets_passed']} of {document['targets_total']} targets met; "
        f"{elapsed:.0f} s; JSON in {options.json_out}"
    )
    return 1 if any(section.error for section in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
