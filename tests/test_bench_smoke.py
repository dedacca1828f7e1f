"""Smoke test of the benchmark: `benchmarks/run.py --quick` runs every scenario and writes its JSON.

No timing is asserted (timings belong to the benchmark, not to a test): only that every scenario
ran, every figure was taken and every target carries its pass or miss verdict.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {"slots", "economy", "downloads", "scale", "baselines"}
TARGETS = {
    "slots": 5,
    "economy": 5,
    "downloads": 4,
    "scale": 7,
    "baselines": 0,
}


@pytest.mark.slow
def test_quick_benchmark_writes_every_figure_and_verdict(tmp_path: Path) -> None:
    """A quick benchmark run exits 0 and its JSON holds every section, figure and target verdict."""
    out = tmp_path / "bench.json"
    finished = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json-out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    document = json.loads(out.read_text())
    sections = document["sections"]
    assert set(sections) == SECTIONS
    curl = shutil.which("curl") is not None
    for key, section in sections.items():
        assert section["error"] is None, key
        assert len(section["targets"]) == TARGETS[key], key
        assert all(isinstance(target["passed"], bool) for target in section["targets"]), key
        missing = [figure["name"] for figure in section["figures"] if figure["value"] is None]
        assert not missing or not curl, (key, missing)
    assert document["targets_total"] == sum(TARGETS.values())
    assert "pass" in finished.stdout or "MISS" in finished.stdout
