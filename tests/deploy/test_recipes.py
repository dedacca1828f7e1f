"""The scheduler recipes (examples/airflow/, examples/dagster/): each file parses without its
framework installed, each maps the exit codes to the retry decisions the README promises, each
runs a command line the CLI accepts with the logical date as --as-of, and each waits on the
`_SUCCESS` marker of a date folder."""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import build_parser
from orchestrator.edges.settings import DEFAULT_SECRETS_DIR
from orchestrator.exit_codes import ExitCode
from tests.deploy.dockerfile import ROOT

RECIPES = sorted(
    path
    for folder in ("airflow", "dagster")
    for path in (ROOT / "examples" / folder).iterdir()
    if path.suffix in (".py", ".yaml")
)
PYTHON = [path for path in RECIPES if path.suffix == ".py"]
AS_OF = "2024-03-12"


def test_there_is_a_recipe_for_each_way_to_schedule() -> None:
    """A KubernetesPodOperator DAG, a BashOperator DAG and a Dagster op, each in a file."""
    texts = {path.name: path.read_text() for path in PYTHON}
    assert any("KubernetesPodOperator" in text for text in texts.values())
    assert any("BashOperator" in text for text in texts.values())
    assert any("import dagster" in text and "subprocess.run" in text for text in texts.values())


@pytest.mark.parametrize("path", RECIPES, ids=lambda path: path.name)
def test_each_recipe_parses(path: Path) -> None:
    """Python compiles and YAML loads, with neither framework installed."""
    text = path.read_text()
    if path.suffix == ".py":
        compile(text, str(path), "exec")
    else:
        assert path.suffix == ".yaml"
        assert isinstance(yaml.safe_load(text), dict)


def module_values(path: Path, *names: str) -> dict[str, Any]:
    """The named functions and constants of a recipe, run alone (its imports are not needed)."""
    tree = ast.parse(path.read_text())
    wanted: list[ast.stmt] = [
        node
        for node in tree.body
        if (isinstance(node, ast.FunctionDef) and node.name in names)
        or (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and any(getattr(t, "id", None) in names for t in _targets(node))
        )
    ]
    namespace: dict[str, Any] = {"Path": Path}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102 - our own file
    return namespace


def _targets(node: ast.Assign | ast.AnnAssign) -> Sequence[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


@pytest.mark.parametrize("path", PYTHON, ids=lambda path: path.name)
def test_exit_codes_decide_the_retry_as_the_readme_says(path: Path) -> None:
    """2 and 3 never retry; 75 (EX_TEMPFAIL), 1 (some jobs failed: the journal resumes) and a
    signal's 143 retry; 0 is done."""
    decide = module_values(path, "retry_decision", "NEVER_RETRY")["retry_decision"]
    assert decide(ExitCode.OK) == "done"
    for code in (ExitCode.USAGE, ExitCode.CREDENTIALS):
        assert decide(code) == "fail"
    for retried in (ExitCode.LOCKED, ExitCode.SOME_FAILED, ExitCode.SIGTERM, None):
        assert decide(retried) == "retry"


@pytest.mark.parametrize("path", PYTHON, ids=lambda path: path.name)
def test_the_command_is_one_the_cli_takes_with_the_logical_date_as_as_of(path: Path) -> None:
    """The recipe's `orchestrator run` arguments parse, and --as-of is the logical date
    (Airflow's `{{ ds }}`, Dagster's tick date)."""
    arguments = module_values(path, "ARGUMENTS", "OUT")["ARGUMENTS"]
    as_of = arguments[arguments.index("--as-of") + 1]
    assert as_of in ("{{ ds }}", "{as_of}")
    filled = [re.sub(r"\{\{ ds \}\}|\{as_of\}", AS_OF, part) for part in arguments]
    parsed = build_parser().parse_args(filled)
    assert parsed.as_of.isoformat() == AS_OF
    assert parsed.command.__name__ == "command_run"
    assert shlex.join(filled).startswith("run ")


@pytest.mark.parametrize("path", PYTHON, ids=lambda path: path.name)
def test_a_sensor_waits_for_a_date_folder_marker(path: Path) -> None:
    """Each recipe watches `<out>/<export>/<YYYY>/<MM>/<DD>/_SUCCESS` and reads the marker."""
    text = path.read_text()
    assert "/_SUCCESS" in text
    assert "Sensor" in text or "@dg.sensor" in text
    assert "json.loads(" in text


def test_the_pod_template_mounts_what_the_cronjob_mounts() -> None:
    """The KubernetesPodOperator's pod: its container is the operator's `base`, with the secret
    files at the default secrets folder and the output claim at the --out of the arguments."""
    pod = yaml.safe_load((ROOT / "examples" / "airflow" / "orchestrator-pod.yaml").read_text())
    [container] = pod["spec"]["containers"]
    assert container["name"] == "base"
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert volumes[mounts[str(DEFAULT_SECRETS_DIR)]]["secret"]["secretName"] == (
        "orchestrator-credentials"
    )
    arguments = module_values(ROOT / "examples/airflow/orchestrator_kubernetes.py", "ARGUMENTS")
    out = arguments["ARGUMENTS"][arguments["ARGUMENTS"].index("--out") + 1]
    assert "persistentVolumeClaim" in volumes[mounts[out]]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
