"""The image's own commands, run outside a container (no Docker engine here): the builder stage's
RUN lines, verbatim, install from the lock into fresh venvs, then the runtime stage's ENTRYPOINT and
CMD run against the fake with the image's paths mapped to temporary folders.

This downloads the locked wheels from PyPI (the hashes are checked as in the image), so it is a
`soak` test: `make soak` runs it; `make test` runs the fast checks in test_dockerfile.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from orchestrator.core.manifest import load_manifest
from orchestrator.core.planner import plan
from orchestrator.fakeapi import FakeConfig
from tests.deploy.dockerfile import ROOT, Dockerfile, parse
from tests.deploy.test_dockerfile import locked
from tests.integration.fakes import FAST_SETTINGS, assert_tree_matches, fake_in_thread

pytestmark = pytest.mark.soak

MANIFEST = """
version: 1
timezone: America/Chicago
defaults:
  range: {start: 2024-03-09, end: 2024-03-11}
  window: 1d
exports:
  - name: conversations
    export_id: conversation
    columns: [CONVERSATION_ID, STATUS]
    filters:
      - {}
      - {label: urgent, priorities: [0, 1]}
  - name: agent-states
    export_id: raw_agent_states
    format: json
"""


@dataclass(frozen=True)
class Image:
    """The image laid out under a temporary folder: `root / "opt/orchestrator"` is the venv."""

    root: Path
    dockerfile: Dockerfile

    def path(self, inside: str) -> Path:
        """Where a path of the image lives here."""
        return self.root / inside.lstrip("/")

    def map(self, argument: str) -> str:
        """An argument of the image's command, its absolute paths moved under `root`."""
        for inside in ("/config", "/data", "/opt/orchestrator", "/wheels", "/tmp", "/usr/local"):
            if argument == inside or argument.startswith(inside + "/"):
                return str(self.root) + argument
        return argument


def pip_environment(builder_bin: Path) -> dict[str, str]:
    """The builder's environment: its `python` first on PATH, this machine's pip configuration
    (extra indexes, local wheel folders) left out as in the image; the pip cache is kept, only to
    keep this test fast."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PIP_", "ORCHESTRATOR_", "PYTHON", "VIRTUAL_ENV"))
    }
    environment["PATH"] = f"{builder_bin}{os.pathsep}{environment.get('PATH', '')}"
    environment["PIP_CONFIG_FILE"] = os.devnull
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if "PIP_CERT" in os.environ:
        environment["PIP_CERT"] = os.environ["PIP_CERT"]
    return environment


def copy_sources(image: Image, arguments: str, workdir: Path) -> None:
    """Perform one COPY of the build context into the stage's WORKDIR."""
    *sources, destination = arguments.split()
    target = workdir / destination if not destination.startswith("/") else image.path(destination)
    for source in sources:
        origin = ROOT / source
        assert origin.exists(), f"COPY {source}: no such file in the build context"
        if origin.is_dir():  # as Docker does: the folder's contents into the destination
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(origin, target, ignore=ignore, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / origin.name)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    """The builder stage's COPY and RUN lines carried out in order, with the image's paths
    mapped under a temporary root; the builder's `python` is a fresh venv of this Python."""
    root = tmp_path_factory.mktemp("image")
    built = Image(root, parse())
    builder = built.dockerfile.stage("builder")
    builder_venv = root / "builder-python"
    subprocess.run([sys.executable, "-m", "venv", str(builder_venv)], check=True, timeout=120)
    environment = pip_environment(builder_venv / "bin")
    workdir = built.path(builder.last("WORKDIR").arguments)
    workdir.mkdir(parents=True)
    for instruction in builder.instructions:
        if instruction.keyword == "COPY":
            copy_sources(built, instruction.arguments, workdir)
        elif instruction.keyword == "RUN":
            command = " ".join(built.map(word) for word in instruction.arguments.split(" "))
            result = subprocess.run(
                ["sh", "-ec", command],
                cwd=workdir,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, f"RUN (line {instruction.line}) failed:\n{result.stderr}"
    yield built


def runtime_environment(image: Image) -> dict[str, str]:
    """The runtime stage's ENV with the image's paths mapped, credentials as mounted secret files,
    and fast polling for the fake."""
    image_env = image.dockerfile.stage("runtime").env()
    return {
        "PATH": image_env["PATH"]
        .replace("/opt/orchestrator", str(image.path("/opt/orchestrator")))
        .replace("$PATH", "/usr/bin:/bin"),
        **{name: image.map(value) for name, value in image_env.items() if name != "PATH"},
        "HOME": str(image.path(image_env["HOME"])),
        "TMPDIR": str(image.path("/tmp")),
        "ORCHESTRATOR_SECRETS_DIR": str(image.path("/run/secrets/orchestrator")),
        **FAST_SETTINGS,
    }


def snapshot(folder: Path) -> set[tuple[str, int, float]]:
    return {
        (str(path.relative_to(folder)), path.stat().st_size, path.stat().st_mtime)
        for path in folder.rglob("*")
    }


def test_the_locked_venv_is_consistent_and_holds_nothing_unlocked(image: Image) -> None:
    """`pip check` finds every requirement of every installed package satisfied, and the venv holds
    exactly the locked packages, the project, and no pip."""
    venv = image.path("/opt/orchestrator")
    environment = pip_environment(image.root / "builder-python" / "bin")
    check = subprocess.run(
        ["python", "-m", "pip", "--python", str(venv / "bin/python"), "check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    listed = subprocess.run(
        ["python", "-m", "pip", "--python", str(venv / "bin/python"), "list", "--format", "json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    installed = {entry["name"].lower().replace("_", "-") for entry in json.loads(listed.stdout)}

    assert installed == set(locked(ROOT / "requirements.lock")) | {"orchestrator"}


def test_the_image_command_runs_a_manifest_into_data_and_writes_nowhere_else(
    image: Image, tmp_path: Path
) -> None:
    """The runtime stage's ENTRYPOINT + CMD, with its ENV and WORKDIR, credentials as mounted
    secret files, exits 0 with every file, the report and the journal under /data, and changes
    nothing in the venv, /config or the home folder (as a read-only root filesystem requires)."""
    runtime = image.dockerfile.stage("runtime")
    for folder in ("/config", "/data", "/tmp", "/home/orchestrator", "/run/secrets/orchestrator"):
        image.path(folder).mkdir(parents=True, exist_ok=True)
    manifest = image.path("/config/jobs.yaml")
    manifest.write_text(MANIFEST)
    config = FakeConfig(job_duration=(0.01, 0.03))
    for name, value in (
        ("username", config.username),
        ("password", config.password),
        ("company_key", config.company_key),
    ):
        image.path(f"/run/secrets/orchestrator/{name}").write_text(value + "\n")

    environment = runtime_environment(image)
    command = [
        image.map(word)
        for word in runtime.last("ENTRYPOINT").exec_form() + runtime.last("CMD").exec_form()
    ]
    untouched = [image.path(p) for p in ("/opt/orchestrator", "/config", "/home/orchestrator")]
    before = [snapshot(folder) for folder in untouched]

    with fake_in_thread(config) as fake:
        environment["ORCHESTRATOR_BASE_URL"] = fake.fake.base_url
        result = subprocess.run(
            command,
            env=environment,
            cwd=image.path(runtime.last("WORKDIR").arguments),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr[-3000:]

    out = image.path("/data")
    reports = sorted((out / "_runs").glob("*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    jobs = plan(load_manifest(manifest), as_of=date(2024, 3, 11)).jobs
    assert {entry["status"] for entry in report["jobs"]} == {"downloaded"}
    assert_tree_matches(out, jobs, report, config)
    assert (out / ".orchestrator" / "journal.sqlite").is_file()
    assert [snapshot(folder) for folder in untouched] == before

    status = subprocess.run(
        ["orchestrator", "status"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=image.path("/home/orchestrator"),
    )
    assert status.returncode == 0, status.stderr


def installed(python: Path, module: str) -> bool:
    """Whether `python` finds `module` (found, not imported: setuptools' import hooks vary)."""
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", probe], timeout=60, check=False).returncode == 0


def test_the_runtime_cleanup_removes_pip_setuptools_and_the_ensurepip_wheels(
    tmp_path: Path,
) -> None:
    """The runtime stage's cleanup RUN, verbatim, against a stand-in for the base image's
    /usr/local (a venv of this Python, which carries pip and setuptools, and ensurepip's bundled
    wheels): afterwards none of them is there, and Python still runs."""
    root = Image(tmp_path, parse())
    base = root.path("/usr/local")
    subprocess.run([sys.executable, "-m", "venv", str(base)], check=True, timeout=120)
    python = base / "bin" / "python"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    bundled = base / "lib" / version / "ensurepip" / "_bundled"
    bundled.mkdir(parents=True)
    (bundled / "pip-24.0-py3-none-any.whl").write_bytes(b"")
    assert installed(python, "pip") and installed(python, "setuptools"), "a base without them"

    (cleanup,) = [
        i for i in root.dockerfile.stage("runtime").all("RUN") if "pip uninstall" in i.arguments
    ]
    command = " ".join(root.map(word) for word in cleanup.arguments.split(" "))
    result = subprocess.run(
        ["sh", "-ec", command],
        env=pip_environment(base / "bin"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for module in ("pip", "setuptools", "wheel"):
        assert not installed(python, module), f"{module} is still there"
    assert not bundled.exists()
    assert not list((base / "bin").glob("pip*"))


def test_the_demo_runs_in_the_image_without_a_manifest(image: Image) -> None:
    """`orchestrator demo` with the image's ENTRYPOINT, ENV and WORKDIR (where there is no
    jobs.yaml) runs the manifest shipped in the package into /data and exits 0, changing nothing
    in the venv or the home folder."""
    runtime = image.dockerfile.stage("runtime")
    home = image.path(runtime.last("WORKDIR").arguments)
    for folder in ("/data", "/tmp", "/run/secrets/orchestrator"):
        image.path(folder).mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    untouched = [image.path("/opt/orchestrator"), home]
    before = [snapshot(folder) for folder in untouched]
    data = image.path("/data")
    already = set(data.iterdir())
    command = [image.map(word) for word in runtime.last("ENTRYPOINT").exec_form()]
    try:
        result = subprocess.run(
            [*command, "demo"],
            env=runtime_environment(image),
            cwd=home,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        assert "running the bundled demo manifest" in result.stdout
        assert list((data / "_runs").glob("*.json"))
        assert [snapshot(folder) for folder in untouched] == before
    finally:  # leave /data as it was, for the other test of this image
        for path in set(data.iterdir()) - already:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
