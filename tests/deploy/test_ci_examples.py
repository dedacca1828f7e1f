"""The CI examples (examples/ci/), compose.yaml and renovate.json: each valid against its published
JSON schema (check-jsonschema's vendored copies, offline, in-process), and each doing what the
README says: the image run with the secrets by name, the run report kept, the exit code passed on."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from check_jsonschema.cli.main_command import main as check_jsonschema
from click.testing import CliRunner

from orchestrator.cli import build_parser
from orchestrator.edges.settings import ENV_PREFIX, SECRET_FIELDS, Settings
from orchestrator.exit_codes import ExitCode
from orchestrator.fakeapi import FakeConfig
from tests.deploy.dockerfile import ROOT, parse

GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
COMPOSE = ROOT / "compose.yaml"
RENOVATE = ROOT / "renovate.json"
SECRETS = {f"{ENV_PREFIX}{name.upper()}" for name in SECRET_FIELDS}
RUN_EXIT_CODES = {0, 1, 2, 3, 75}
"""What `orchestrator run` itself returns (the signal codes are the shell's business)."""


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-workflows", GITHUB),
        ("vendor.gitlab-ci", GITLAB),
        ("vendor.compose-spec", COMPOSE),
        ("vendor.renovate", RENOVATE),
    ],
    ids=["github", "gitlab", "compose", "renovate"],
)
def test_each_file_is_valid_against_its_published_schema(schema: str, path: Path) -> None:
    """check-jsonschema --builtin-schema SCHEMA FILE passes (the schemas ship with it: offline)."""
    result = CliRunner().invoke(check_jsonschema, ["--builtin-schema", schema, str(path)])
    assert result.exit_code == 0, result.output


@cache
def _loaded(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def settings_named(environment: dict[str, Any]) -> set[str]:
    """The ORCHESTRATOR_* names of an environment that are not settings (ignored if misspelt)."""
    names = {name for name in environment if name.startswith(ENV_PREFIX)}
    return {
        name for name in names if name.removeprefix(ENV_PREFIX).lower() not in Settings.model_fields
    }


def shell_command(script: str, starts: str) -> list[str]:
    """The words of the command in `script` that begins with `starts` (continuations joined),
    up to `||`."""
    joined = re.sub(r"\\\n\s*", " ", script)
    (line,) = [line.strip() for line in joined.splitlines() if line.strip().startswith(starts)]
    words = shlex.split(line)
    return words[: words.index("||")] if "||" in words else words


def exit_codes_explained(script: str) -> set[int]:
    """The exit codes a `case "$code"` in `script` has a branch for."""
    return {int(code) for code in re.findall(r"^\s*(\d+)\)", script, re.MULTILINE)}


def test_the_github_workflow_runs_the_image_on_a_schedule_with_the_secrets_by_name() -> None:
    """A scheduled workflow runs the image read-only with the three secrets passed by name (no
    value on a command line), a `run` the CLI accepts, and exits with the run's code after
    explaining it; the run report is uploaded and the output tree saved whatever the outcome."""
    workflow = _loaded(GITHUB)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert triggers["schedule"][0]["cron"]
    (job,) = workflow["jobs"].values()
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    run = steps["Run the exports"]
    assert set(run["env"]) == SECRETS
    assert all(value == f"${{{{ secrets.{name} }}}}" for name, value in run["env"].items())
    docker = shell_command(run["run"], "docker run")
    assert {"--rm", "--read-only"} <= set(docker)
    passed = {docker[i + 1] for i, word in enumerate(docker) if word == "-e"}
    assert passed >= SECRETS  # by name: the values stay in the environment
    assert not settings_named(dict(item.split("=", 1) for item in passed if "=" in item))
    arguments = docker[docker.index("$IMAGE") + 1 :]
    assert build_parser().parse_args(arguments).command.__name__ == "command_run"
    assert exit_codes_explained(run["run"]) >= RUN_EXIT_CODES
    assert run["run"].rstrip().endswith('exit "$code"')
    upload = steps["Upload the run report"]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert (upload["if"], upload["with"]["path"]) == ("always()", "out/_runs/")
    assert steps["Save the output tree and its journal"]["if"] == "always()"
    assert job["timeout-minutes"] * 60 > float(arguments[arguments.index("--max-runtime") + 1])


def test_the_gitlab_job_runs_in_the_image_and_retries_only_a_held_journal() -> None:
    """A scheduled job in the image (its entrypoint cleared for GitLab's shell) runs a `run` the
    CLI accepts, exits with its code after explaining it, retries exit 75 alone, and keeps the
    run report and the output tree whatever the outcome."""
    job = _loaded(GITLAB)["exports"]
    assert job["image"]["entrypoint"] == [""]
    assert any("schedule" in rule["if"] for rule in job["rules"])
    script = "\n".join(job["script"])
    command = shell_command(script, "orchestrator run")
    assert build_parser().parse_args(command[1:]).command.__name__ == "command_run"
    assert exit_codes_explained(script) >= RUN_EXIT_CODES
    assert job["script"][-1] == 'exit "$code"'
    assert job["retry"]["exit_codes"] == [ExitCode.LOCKED]
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["paths"] == ["out/_runs/"]
    assert job["cache"]["when"] == "always" and job["cache"]["paths"] == ["out/"]
    assert not settings_named(job["variables"])
    for secret in SECRETS:
        assert secret in GITLAB.read_text()  # named in the set-up comment


def test_compose_runs_the_image_against_the_fake_by_its_service_name() -> None:
    """The fake listens on every interface of its container and names itself by its service name
    in the URLs it hands out; the run's settings point there with the fake's credentials, mount the
    manifest where the image's command reads it, and every ORCHESTRATOR_* name is a setting;
    both services run read-only, without capabilities."""
    compose = _loaded(COMPOSE)
    fake, run = compose["services"]["fake-api"], compose["services"]["run"]
    config_args = build_parser().parse_args(fake["command"])
    from orchestrator.cli.fake_api import _fake_config

    config = _fake_config(config_args)
    assert config.public_host == "fake-api"
    environment = run["environment"]
    assert not settings_named(environment)
    assert environment["ORCHESTRATOR_BASE_URL"] == f"http://fake-api:{config_args.port}"
    defaults = FakeConfig()
    assert (
        environment["ORCHESTRATOR_USERNAME"],
        environment["ORCHESTRATOR_PASSWORD"],
        environment["ORCHESTRATOR_COMPANY_KEY"],
    ) == (defaults.username, defaults.password, defaults.company_key)
    command = parse().stage("runtime").last("CMD").exec_form()
    mounts = dict(volume.split(":", 2)[:2] for volume in run["volumes"])
    assert mounts["./jobs.yaml"] == command[1] and mounts["out"] == command[3]
    assert (ROOT / "jobs.yaml").is_file()
    assert run["depends_on"]["fake-api"]["condition"] == "service_healthy"
    for service in (fake, run):
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert run["tmpfs"] == ["/tmp"]


def test_renovate_keeps_the_base_digest_and_both_locks_current() -> None:
    """Renovate's Dockerfile manager pins digests and may move the base only within the tag in use
    (Python 3.11, slim bookworm); its pip_requirements manager reads both locks; every key is a
    Renovate option (its schema alone allows unknown keys)."""
    import json

    config = json.loads(RENOVATE.read_text())
    assert set(config["enabledManagers"]) == {"dockerfile", "pip_requirements"}
    assert config["dockerfile"]["pinDigests"] is True
    (pattern,) = config["pip_requirements"]["managerFilePatterns"]
    for lock in ("requirements.lock", "requirements-build.lock"):
        assert re.search(pattern.strip("/"), lock), lock
    base = parse().args["PYTHON_IMAGE"]
    tag = base.split("@")[0].rsplit(":", 1)[1]
    (docker_rule,) = [r for r in config["packageRules"] if r["matchManagers"] == ["dockerfile"]]
    assert re.fullmatch(docker_rule["allowedVersions"].strip("/"), tag)
    assert re.search(docker_rule["matchDepNames"][0].strip("/"), base.split(":")[0])
    schema = _renovate_options()
    keys = set(config) | set(config["dockerfile"]) | set(config["pip_requirements"])
    keys |= {key for rule in config["packageRules"] for key in rule}
    assert keys - {"$schema"} <= schema


@cache
def _renovate_options() -> set[str]:
    """Every option name in the Renovate schema check-jsonschema ships."""
    import json
    from importlib.resources import files

    vendored = files("check_jsonschema.builtin_schemas.vendor").joinpath("renovate.json")
    return set(json.loads(vendored.read_text())["definitions"])
