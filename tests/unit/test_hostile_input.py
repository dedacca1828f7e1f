"""Hostile settings and files, refused before any work with a message that names them: path
templates with fields other than {export_id}, a request budget that never refills, FIFOs where
the tool reads a file, and bookkeeping folders that lead out of the output tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.core.manifest import load_manifest
from orchestrator.edges.metrics import read_last_success
from orchestrator.edges.preflight import OutputNotWritable, check_output_tree
from orchestrator.edges.settings import load_settings, value_origins
from orchestrator.errors import ManifestError, SettingsError
from tests.hang import time_limit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ORCHESTRATOR_* variable or .env file of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith("ORCHESTRATOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# ----------------------------------------------------------------------------- path templates


@pytest.mark.parametrize(
    "template",
    [
        "/a/{nope}",
        "/a/{export_id.__class__}",
        "/a/{export_id[0]}",
        "/a/{export_id!r}",
        "/a/{export_id:>40}",
        "/a/{}",
        "/a/{0}",
        "/a/{export_id",
        "/a/export_id}",
    ],
)
@pytest.mark.parametrize("setting", ["CARE_PATH", "PUBLISHING_PATH"])
def test_a_path_template_with_anything_but_export_id_is_refused(
    monkeypatch: pytest.MonkeyPatch, setting: str, template: str
) -> None:
    """Only {export_id} may appear in the API path templates; anything else names the setting."""
    monkeypatch.setenv(f"ORCHESTRATOR_{setting}", template)
    with pytest.raises(SettingsError, match=f"ORCHESTRATOR_{setting}: ") as caught:
        load_settings()
    assert "{export_id}" in str(caught.value)


@pytest.mark.parametrize(
    "template", ["/api/public/reports/report/{export_id}", "/x/{export_id}/y/{export_id}", "/x"]
)
def test_a_path_template_with_only_export_id_is_kept(
    monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    """Literal text and {export_id}, any number of times, are a valid template."""
    monkeypatch.setenv("ORCHESTRATOR_CARE_PATH", template)
    assert load_settings().care_path == template


# ----------------------------------------------------------------------------- request budget


@pytest.mark.parametrize("value", ["1e-300", "0.09"])
def test_a_request_budget_under_a_tenth_per_minute_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A budget that would make the run wait for ages is a settings error naming the variable."""
    monkeypatch.setenv("ORCHESTRATOR_REQUESTS_PER_MINUTE", value)
    with pytest.raises(SettingsError, match=r"ORCHESTRATOR_REQUESTS_PER_MINUTE: .*0\.1"):
        load_settings()


def test_a_request_budget_of_a_tenth_per_minute_is_accepted() -> None:
    """0.1 requests a minute is slow but finite: accepted."""
    assert load_settings(requests_per_minute=0.1).requests_per_minute == 0.1


# ----------------------------------------------------------------------------- FIFOs


def test_a_dotenv_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO named .env in the working folder is a settings error naming it, at once."""
    os.mkfifo(tmp_path / ".env")
    with time_limit(), pytest.raises(SettingsError, match=r"\.env is a FIFO"):
        load_settings()
    with time_limit(), pytest.raises(SettingsError, match=r"\.env is a FIFO"):
        value_origins()


@pytest.mark.parametrize("name", ["password", "ORCHESTRATOR_COMPANY_KEY"])
def test_a_secret_file_that_is_a_fifo_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A FIFO in the secrets folder under a setting's name is refused, naming the file."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    os.mkfifo(folder / name)
    monkeypatch.setenv("ORCHESTRATOR_SECRETS_DIR", str(folder))
    with time_limit(), pytest.raises(SettingsError, match=f"{folder / name} is a FIFO"):
        load_settings()


def test_a_metrics_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    """--metrics-file naming a FIFO is a settings error naming the flag, found before the run."""
    os.mkfifo(tmp_path / "metrics.prom")
    with pytest.raises(SettingsError, match=r"--metrics-file: .*metrics.prom is a FIFO"):
        load_settings(metrics_file=tmp_path / "metrics.prom")


def test_a_ca_bundle_that_is_a_fifo_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORCHESTRATOR_CA_BUNDLE naming a FIFO is a settings error, never an open() that waits."""
    os.mkfifo(tmp_path / "ca.pem")
    monkeypatch.setenv("ORCHESTRATOR_CA_BUNDLE", str(tmp_path / "ca.pem"))
    with time_limit(), pytest.raises(SettingsError, match=r"ORCHESTRATOR_CA_BUNDLE: .* is a FIFO"):
        load_settings()


def test_a_metrics_file_replaced_by_a_fifo_is_not_read(tmp_path: Path) -> None:
    """The previous metrics file, read at the end of a run, is skipped if a FIFO took its place."""
    os.mkfifo(tmp_path / "metrics.prom")
    with time_limit():
        assert read_last_success(tmp_path / "metrics.prom") is None


def test_a_manifest_that_is_a_fifo_is_refused_unread(tmp_path: Path) -> None:
    """load_manifest refuses a FIFO at once (whatever checked the path before it)."""
    os.mkfifo(tmp_path / "jobs.yaml")
    with time_limit(), pytest.raises(ManifestError, match="not a regular file"):
        load_manifest(tmp_path / "jobs.yaml")


def test_a_journal_that_is_a_fifo_is_refused_before_the_run(tmp_path: Path) -> None:
    """A FIFO at the journal's path (or its lock's) is refused by the checks before any request."""
    out = tmp_path / "out"
    journal = out / ".orchestrator" / "journal.sqlite"
    journal.parent.mkdir(parents=True)
    os.mkfifo(journal)
    with time_limit(), pytest.raises(OutputNotWritable, match=f"{journal} is a FIFO"):
        check_output_tree(out, journal)
    journal.unlink()
    os.mkfifo(journal.with_name("journal.sqlite.lock"))
    with pytest.raises(OutputNotWritable, match=r"journal\.sqlite\.lock is a FIFO"):
        check_output_tree(out, journal)


# ----------------------------------------------------------------------------- bookkeeping folders


@pytest.mark.parametrize("folder", ["_runs", ".orchestrator", "conversations"])
def test_a_folder_of_the_tree_linked_outside_is_refused(tmp_path: Path, folder: str) -> None:
    """_runs, .orchestrator or an export folder that is a symlink out of the tree is refused, and
    nothing (not even the write probe) lands where it points."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / folder).symlink_to(outside)
    with pytest.raises(OutputNotWritable, match=f"{out / folder}: a symlink leads out of {out}"):
        check_output_tree(out, out / ".orchestrator" / "journal.sqlite", ["conversations"])
    assert list(outside.iterdir()) == []


def test_a_dangling_link_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    """A _runs symlink to a folder that does not exist yet is refused too, before it is created."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "_runs").symlink_to(tmp_path / "not-yet")
    with pytest.raises(OutputNotWritable, match="a symlink leads out of"):
        check_output_tree(out, out / ".orchestrator" / "journal.sqlite")
    assert not (tmp_path / "not-yet").exists()


def test_links_that_stay_inside_the_tree_and_a_linked_root_are_accepted(tmp_path: Path) -> None:
    """The output folder itself may be a symlink, and a folder may link within the tree."""
    real = tmp_path / "real"
    (real / "elsewhere").mkdir(parents=True)
    out = tmp_path / "out"
    out.symlink_to(real)
    (real / "_runs").symlink_to(real / "elsewhere")
    check_output_tree(out, tmp_path / "journals" / "journal.sqlite", ["conversations"])
