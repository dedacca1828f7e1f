"""Sharded runs and run metrics end to end: the CLI against the fake, a stand-in Pushgateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.core.markers import MARKER_NAME
from orchestrator.core.shard import Shard, select
from orchestrator.edges.journal import Journal
from orchestrator.edges.metrics import LAST_SUCCESS
from orchestrator.fakeapi import FakeConfig, Faults
from tests.gateway import closed_port, gateway, samples
from tests.integration.fakes import fake_in_thread, in_thread
from tests.integration.test_cli_run import only_report, planned_jobs, run, write_manifest

FAST = FakeConfig(job_duration=0.01)


@pytest.fixture(autouse=True)
def not_in_an_indexed_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    monkeypatch.delenv("ORCHESTRATOR_SHARDS", raising=False)


def files(out: Path) -> dict[Path, bytes]:
    """The exported files of an output tree, by path, without reports and journals."""
    return {
        path.relative_to(out): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file()
        and "_runs" not in path.parts
        and ".orchestrator" not in path.parts
        and path.name != MARKER_NAME
    }


def reports(out: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((out / "_runs").glob("*.json"))]


def test_two_shards_give_the_files_of_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shards 0/2 and 1/2 write exactly the files one unsharded run writes, each with its own
    journal and half the jobs, and `status` sums both journals."""
    manifest, whole, sharded = write_manifest(tmp_path), tmp_path / "whole", tmp_path / "sharded"
    with fake_in_thread(FAST) as fake:
        assert run(manifest, fake, whole, monkeypatch) == 0
        assert run(manifest, fake, sharded, monkeypatch, "--shard", "0/2") == 0
        # `--shard I` takes N from ORCHESTRATOR_SHARDS
        assert (
            run(manifest, fake, sharded, monkeypatch, "--shard", "1", ORCHESTRATOR_SHARDS="2") == 0
        )
    assert files(sharded) == files(whole)
    assert len(files(whole)) == len(planned_jobs(manifest)) == 12
    # markers: the unsharded run writes them; each shard holds part of a folder, so none does
    assert list(whole.rglob(MARKER_NAME)) and not list(sharded.rglob(MARKER_NAME))
    journals = sorted(path.name for path in (sharded / ".orchestrator").glob("*.sqlite"))
    assert journals == ["journal.shard-0-of-2.sqlite", "journal.shard-1-of-2.sqlite"]
    first, second = ({job["key"] for job in r["jobs"]} for r in reports(sharded))
    assert first and second and not first & second
    assert first | second == {job.key for job in planned_jobs(manifest)}
    capsys.readouterr()
    assert main(["status", "--out", str(sharded)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("2 journals in ")
    assert "12 jobs: " in shown


def test_shards_do_not_wait_for_one_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While shard 0's journal is held (a run going on), shard 1 runs to the end on the same tree."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    other = Journal(out / ".orchestrator" / "journal.shard-0-of-2.sqlite")
    other.open()
    try:
        with fake_in_thread(FAST) as fake:
            assert run(manifest, fake, out, monkeypatch, "--shard", "1/2") == 0
            # held, as it is: 75, retry later
            assert run(manifest, fake, out, monkeypatch, "--shard", "0/2") == 75
    finally:
        other.close()


def test_the_shard_index_comes_from_the_indexed_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """JOB_COMPLETION_INDEX with ORCHESTRATOR_SHARDS picks the shard; its budget is logged as 1/N."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    with fake_in_thread(FAST) as fake:
        code = run(manifest, fake, out, monkeypatch, ORCHESTRATOR_SHARDS="3")
    assert code == 0
    expected = {job.key for job in select(planned_jobs(manifest), Shard(1, 3))}
    assert {job["key"] for job in only_report(out)["jobs"]} == expected
    assert (out / ".orchestrator" / "journal.shard-1-of-3.sqlite").is_file()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    [started] = [line for line in lines if line["event"] == "orchestrator.run_started"]
    assert (started["shard"], started["requests_per_minute"]) == ("1/3", round(100000 / 3, 3))


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (["--shard", "2/2"], {}, "--shard '2/2': shard index 2 is out of range for 2 shard(s)"),
        (["--shard", "x"], {}, "--shard 'x' with ORCHESTRATOR_SHARDS=1: 'x' is not a shard"),
        ([], {"ORCHESTRATOR_SHARDS": "3"}, "give this process's shard with --shard I (0 to 2)"),
        (
            [],
            {"ORCHESTRATOR_SHARDS": "2", "JOB_COMPLETION_INDEX": "5"},
            "JOB_COMPLETION_INDEX='5' with ORCHESTRATOR_SHARDS=2: shard index 5 is out of range",
        ),
        ([], {"ORCHESTRATOR_SHARDS": "0"}, "ORCHESTRATOR_SHARDS: Input should be greater than 0"),
    ],
)
def test_a_bad_shard_is_a_usage_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    environment: dict[str, str],
    message: str,
) -> None:
    """A shard out of range or malformed, from the flag or the environment, exits 2 naming it."""
    for name, value in {
        "ORCHESTRATOR_USERNAME": "u",
        "ORCHESTRATOR_PASSWORD": "p",
        "ORCHESTRATOR_COMPANY_KEY": "k",
        **environment,
    }.items():
        monkeypatch.setenv(name, value)
    manifest = write_manifest(tmp_path)
    assert main(["run", str(manifest), "--out", str(tmp_path / "out"), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def metrics(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return samples(path.read_text())


def test_the_metrics_file_of_a_success_then_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A successful run writes every metric and its end as last success; a failing run after it
    writes exit code 1 and carries that last success over."""
    manifest, out, prom = write_manifest(tmp_path), tmp_path / "out", tmp_path / "run.prom"
    with fake_in_thread(FAST) as fake:
        assert run(manifest, fake, out, monkeypatch, "--metrics-file", str(prom)) == 0
    first = metrics(prom)
    report = only_report(out)
    names = {name for name, _ in first}
    assert names == {
        "orchestrator_run_jobs",
        "orchestrator_run_requests",
        "orchestrator_run_retries",
        "orchestrator_run_bytes",
        "orchestrator_run_duration_seconds",
        "orchestrator_run_exit_code",
        LAST_SUCCESS,
    } - {"orchestrator_run_retries"}  # the fake answered everything at once: nothing retried
    jobs = {
        dict(labels)["status"]: value
        for (name, labels), value in first.items()
        if name == "orchestrator_run_jobs"
    }
    assert jobs["downloaded"] + jobs["empty"] == 12
    assert jobs["failed"] == jobs["interrupted"] == jobs["not_started"] == 0
    kinds = {dict(labels)["kind"] for name, labels in first if name == "orchestrator_run_requests"}
    assert {"create", "status", "download"} <= kinds
    assert first[("orchestrator_run_requests", (("code", "200"), ("kind", "create")))] == 12
    assert first[("orchestrator_run_bytes", ())] == report["totals"]["bytes"] > 0
    assert first[("orchestrator_run_exit_code", ())] == 0
    assert first[("orchestrator_run_duration_seconds", ())] > 0
    success = first[(LAST_SUCCESS, ())]
    failing = FakeConfig(
        job_duration=0.01, faults=Faults(failing_exports=frozenset({"raw_agent_states"}))
    )
    with fake_in_thread(failing) as fake:
        code = run(
            manifest,
            fake,
            out,
            monkeypatch,
            "--force",
            ORCHESTRATOR_MIN_WINDOW_SECONDS="86400",
            ORCHESTRATOR_METRICS_FILE=str(prom),
        )
    assert code == 1
    second = metrics(prom)
    assert second[("orchestrator_run_exit_code", ())] == 1
    assert second[("orchestrator_run_jobs", (("status", "failed"),))] == 6
    assert second[(LAST_SUCCESS, ())] == success


def test_a_run_that_cannot_start_still_writes_its_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run refused because another holds the journal writes exit code 75 and no jobs."""
    manifest, out, prom = write_manifest(tmp_path), tmp_path / "out", tmp_path / "run.prom"
    holder = Journal(out / ".orchestrator" / "journal.sqlite")
    holder.open()
    try:
        with fake_in_thread(FAST) as fake:
            assert run(manifest, fake, out, monkeypatch, "--metrics-file", str(prom)) == 75
    finally:
        holder.close()
    found = metrics(prom)
    assert found[("orchestrator_run_exit_code", ())] == 75
    assert found[("orchestrator_run_jobs", (("status", "downloaded"),))] == 0


def test_a_shard_pushes_to_the_gateway_and_labels_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shard 1/2 of jobs.yaml POSTs to /metrics/job/orchestrator/manifest/jobs/shard/1 and writes a
    file of its own whose samples carry shard="1"."""
    manifest, out, prom = write_manifest(tmp_path), tmp_path / "out", tmp_path / "run.prom"
    with fake_in_thread(FAST) as fake, in_thread(gateway) as served:
        code = run(
            manifest,
            fake,
            out,
            monkeypatch,
            "--shard",
            "1/2",
            "--pushgateway",
            served.url,
            "--metrics-file",
            str(prom),
        )
    assert code == 0
    [pushed] = served.pushes
    assert (pushed.method, pushed.path) == (
        "POST",
        "/metrics/job/orchestrator/manifest/jobs/shard/1",
    )
    in_push = samples(pushed.body)
    assert in_push[("orchestrator_run_exit_code", ())] == 0
    in_file = metrics(tmp_path / "run.shard-1-of-2.prom")
    assert not prom.exists()
    assert all(dict(labels)["shard"] == "1" for _, labels in in_file)
    assert {name for name, _ in in_file} == {name for name, _ in in_push}


def test_an_unreachable_gateway_keeps_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening at the gateway: the run still exits 0, with a warning in the log."""
    manifest, out = write_manifest(tmp_path), tmp_path / "out"
    gateway_url = f"http://127.0.0.1:{closed_port()}"
    with fake_in_thread(FAST) as fake:
        code = run(manifest, fake, out, monkeypatch, ORCHESTRATOR_PUSHGATEWAY=gateway_url)
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    [warning] = [line for line in lines if line["event"] == "orchestrator.push_failed"]
    assert (warning["level"], warning["gateway"]) == ("warning", gateway_url)


def test_config_shows_the_shard_and_metrics_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`config` prints shards, metrics_file and pushgateway; a metrics file in a missing folder
    is refused before any run, naming the flag."""
    monkeypatch.setenv("ORCHESTRATOR_SHARDS", "4")
    monkeypatch.setenv("ORCHESTRATOR_PUSHGATEWAY", "http://127.0.0.1:9091/")
    assert main(["config", "--metrics-file", str(tmp_path / "run.prom")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["shards"] == 4
    assert shown["metrics_file"] == str(tmp_path / "run.prom")
    assert shown["pushgateway"] == "http://127.0.0.1:9091"
    assert main(["config", "--metrics-file", str(tmp_path / "nowhere" / "run.prom")]) == 2
    assert "--metrics-file: " in capsys.readouterr().err
