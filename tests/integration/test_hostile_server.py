"""A hostile or broken server gets a clear per-job error, never our credentials, and leaks none
of our secrets into logs or files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from tests.integration.fakes import FAST_SETTINGS, in_thread
from tests.integration.hostile import GOOD_BODY, MODES, Hostile, hostile_servers

USERNAME, PASSWORD, COMPANY_KEY = "api-user", "pa55-w0rd-hostile", "company-key-hostile"

EXPECTED_ERRORS = {
    "foreign_status": "another origin",
    "foreign_download": "another origin",
    "redirect_create": "302",
    "html_status": "Service Unavailable",
    "not_json": "not JSON",
    "missing_fields": "jobInfo",
    "wrong_types": "runnerState",
    "empty_body": "empty body",
    "endless_body": "larger than",
    "string_result": "report engine unavailable",
    "bad_url": "unusable URL",
    "file_status": "refused URL scheme 'file'",
    "file_download": "refused URL scheme 'file'",
}


def manifest(folder: Path) -> Path:
    exports = "\n".join(
        f"  - {{name: {mode.replace('_', '-')}, export_id: {mode}}}" for mode in MODES
    )
    path = folder / "jobs.yaml"
    path.write_text(
        f"version: 1\ndefaults:\n  range: {{start: 2024-01-01, end: 2024-01-02}}\nexports:\n{exports}\n"
    )
    return path


def test_hostile_answers_fail_their_jobs_clearly_and_leak_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Foreign-origin URLs, a redirect elsewhere and malformed bodies each fail only their own job
    with the status and a short excerpt; credentials never reach the other origin; no password,
    company key or access token appears in any log line (debug included) or any file written."""
    out = tmp_path / "out"
    with in_thread(hostile_servers) as hostile:
        assert isinstance(hostile, Hostile)
        environment = {
            **FAST_SETTINGS,
            "ORCHESTRATOR_BASE_URL": hostile.api_url,
            "ORCHESTRATOR_USERNAME": USERNAME,
            "ORCHESTRATOR_PASSWORD": PASSWORD,
            "ORCHESTRATOR_COMPANY_KEY": COMPANY_KEY,
            "ORCHESTRATOR_OUT": str(out),
            "ORCHESTRATOR_LOG_LEVEL": "debug",
            "ORCHESTRATOR_RETRY_ATTEMPTS": "2",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        code = main(["run", str(manifest(tmp_path))])
    captured = capsys.readouterr()
    report = json.loads(next((out / "_runs").glob("*.json")).read_text())
    errors = {entry["export_id"]: entry["error"] or "" for entry in report["jobs"]}
    statuses = {entry["export_id"]: entry["status"] for entry in report["jobs"]}

    assert code == 1
    assert statuses.pop("good") == "downloaded"
    assert set(statuses.values()) == {"failed"}
    for mode, words in EXPECTED_ERRORS.items():
        assert words in errors[mode], (mode, errors[mode])
        assert "internal error" not in errors[mode], (mode, errors[mode])
    assert next(out.rglob("good_*.csv")).read_bytes() == GOOD_BODY
    assert hostile.elsewhere_authorizations == []
    assert hostile.elsewhere_requests == 1, "only the good export's storage hop goes elsewhere"

    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    secrets = [PASSWORD, COMPANY_KEY, basic, *hostile.tokens]
    texts = {"stdout": captured.out, "stderr": captured.err}
    texts.update(
        {
            str(path): path.read_bytes().decode("utf-8", "replace")
            for path in out.rglob("*")
            if path.is_file()
        }
    )
    assert any("orchestrator.job_state" in line for line in captured.err.splitlines())
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"
