"""The run's Prometheus metrics, read back with prometheus_client's own parser, and the push."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from prometheus_client import generate_latest
from structlog.testing import capture_logs

from orchestrator.edges.metrics import (
    LAST_SUCCESS,
    STATUSES,
    RunFacts,
    build_registry,
    grouping_key,
    publish,
    push,
    read_last_success,
)
from orchestrator.edges.tally import NETWORK_ERROR, RequestTally
from tests.gateway import Samples, closed_port, gateway, samples


def a_tally() -> RequestTally:
    tally = RequestTally()
    for kind, code in [("create", 200), ("create", 429), ("status", 200), ("status", 200)]:
        tally.request(kind, code)
    tally.request("download", 307)
    tally.request("status", NETWORK_ERROR)
    tally.retry("create")
    tally.retry("status")
    return tally


def facts(exit_code: int = 0, previous: float | None = None, **labels: str) -> RunFacts:
    return RunFacts.of(
        {"downloaded": 3, "empty": 1, "failed": 1 if exit_code else 0},
        a_tally(),
        bytes_written=12345,
        started=1_700_000_000.0,
        finished=1_700_000_090.5,
        exit_code=exit_code,
        previous_success=previous,
        labels=labels,
    )


def test_every_metric_and_label_of_a_successful_run() -> None:
    """A run exiting 0 writes each metric with its labels and values, and its end as last success."""
    found = samples(generate_latest(build_registry(facts())).decode())
    expected: Samples = {
        **{("orchestrator_run_jobs", (("status", s),)): 0.0 for s in STATUSES},
        ("orchestrator_run_jobs", (("status", "downloaded"),)): 3.0,
        ("orchestrator_run_jobs", (("status", "empty"),)): 1.0,
        ("orchestrator_run_requests", (("code", "200"), ("kind", "create"))): 1.0,
        ("orchestrator_run_requests", (("code", "429"), ("kind", "create"))): 1.0,
        ("orchestrator_run_requests", (("code", "200"), ("kind", "status"))): 2.0,
        ("orchestrator_run_requests", (("code", "network"), ("kind", "status"))): 1.0,
        ("orchestrator_run_requests", (("code", "307"), ("kind", "download"))): 1.0,
        ("orchestrator_run_retries", (("kind", "create"),)): 1.0,
        ("orchestrator_run_retries", (("kind", "status"),)): 1.0,
        ("orchestrator_run_bytes", ()): 12345.0,
        ("orchestrator_run_duration_seconds", ()): 90.5,
        ("orchestrator_run_exit_code", ()): 0.0,
        (LAST_SUCCESS, ()): 1_700_000_090.5,
    }
    assert found == expected
    assert {"downloaded", "empty", "failed", "timed_out", "split", "interrupted"} <= set(STATUSES)


def test_a_failed_run_carries_the_previous_last_success_over() -> None:
    """A run exiting 1 reports its exit code and the last success of an earlier run, not its own end."""
    found = samples(generate_latest(build_registry(facts(1, previous=1_600_000_000.0))).decode())
    assert found[("orchestrator_run_exit_code", ())] == 1.0
    assert found[(LAST_SUCCESS, ())] == 1_600_000_000.0
    assert found[("orchestrator_run_jobs", (("status", "failed"),))] == 1.0


def test_a_failed_first_run_has_no_last_success() -> None:
    """With no earlier success known, the last-success metric is left out rather than invented."""
    found = samples(generate_latest(build_registry(facts(143))).decode())
    assert found[("orchestrator_run_exit_code", ())] == 143.0
    assert not any(name == LAST_SUCCESS for name, _ in found)


def test_a_shard_label_goes_on_every_sample() -> None:
    """Labels given with the facts (the shard) are on every sample, beside each metric's own."""
    found = samples(generate_latest(build_registry(facts(shard="2"))).decode())
    assert all(dict(labels).get("shard") == "2" for _, labels in found)
    assert ("orchestrator_run_bytes", (("shard", "2"),)) in found


def test_the_last_success_is_read_back_from_a_metrics_file(tmp_path: Path) -> None:
    """The file written after a success gives its time back; a missing or garbled file gives None."""
    path = tmp_path / "orchestrator.prom"
    assert read_last_success(path) is None
    path.write_text("this is { not the text format\n")
    assert read_last_success(path) is None
    path.write_bytes(generate_latest(build_registry(facts(shard="0"))))
    assert read_last_success(path) == 1_700_000_090.5


def only_file(path: Path) -> Samples:
    """The samples of the metrics file, checking no temporary file was left beside it."""
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    return samples(path.read_text())


@pytest.mark.anyio
async def test_publish_writes_the_file_atomically_and_pushes(tmp_path: Path) -> None:
    """Publishing writes the file (no temp file left) and POSTs the same metrics, shard as grouping."""
    path = tmp_path / "orchestrator.prom"
    with anyio.fail_after(20):
        async with gateway() as served:
            await publish(
                facts(shard="1"),
                metrics_file=path,
                pushgateway=served.url,
                grouping={"shard": "1"},
            )
    in_file = only_file(path)
    [pushed] = served.pushes
    assert (pushed.method, pushed.path) == ("POST", "/metrics/job/orchestrator/shard/1")
    assert pushed.content_type.startswith("text/plain")
    in_push = samples(pushed.body)
    assert all("shard" not in dict(labels) for _, labels in in_push)
    assert {(n, tuple(kv for kv in lb if kv[0] != "shard")) for n, lb in in_file} == set(in_push)


@pytest.mark.anyio
async def test_an_unsharded_push_goes_to_the_job_alone() -> None:
    """Without a shard, the push path is /metrics/job/orchestrator."""
    with anyio.fail_after(20):
        async with gateway() as served:
            assert await push(build_registry(facts()), served.url, {})
    assert [p.path for p in served.pushes] == ["/metrics/job/orchestrator"]


@pytest.mark.anyio
async def test_an_unreachable_gateway_is_a_warning() -> None:
    """Nothing listening: push returns False and logs a warning naming the gateway."""
    url = f"http://127.0.0.1:{closed_port()}"
    with anyio.fail_after(20), capture_logs() as logs:
        assert not await push(build_registry(facts()), url, {})
    [warning] = [entry for entry in logs if entry["event"] == "orchestrator.push_failed"]
    assert warning["log_level"] == "warning"
    assert warning["gateway"] == url


@pytest.mark.anyio
async def test_a_gateway_answering_an_error_is_a_warning() -> None:
    """A 500 from the gateway is logged as a warning with the status, not raised."""
    with anyio.fail_after(20), capture_logs() as logs:
        async with gateway(answer=500) as served:
            assert not await push(build_registry(facts()), served.url, {})
    [warning] = [entry for entry in logs if entry["event"] == "orchestrator.push_failed"]
    assert "500" in warning["error"]


@pytest.mark.anyio
async def test_a_gateway_that_never_answers_is_given_up_on() -> None:
    """A gateway that takes the request and hangs is abandoned after the push timeout."""
    with anyio.fail_after(20), capture_logs() as logs:
        async with gateway(stall=True) as served:
            assert not await push(build_registry(facts()), served.url, {}, give_up_after=0.3)
    assert any(entry["event"] == "orchestrator.push_failed" for entry in logs)


def test_the_grouping_key_names_the_manifest_then_the_configured_labels_then_the_shard() -> None:
    """By default a push is grouped by the manifest file's stem, so runs of two manifests keep two
    last-success times; configured labels are added (and may rename the manifest); a shard comes
    last."""
    assert grouping_key("/config/jobs.yaml", {}, {}) == {"manifest": "jobs"}
    assert grouping_key("ci/nightly-check.yml", {}, {}) == {"manifest": "nightly-check"}
    configured = {"instance": "nightly", "env": "prod"}
    assert grouping_key("jobs.yaml", configured, {"shard": "2"}) == {
        "manifest": "jobs",
        "instance": "nightly",
        "env": "prod",
        "shard": "2",
    }
    assert grouping_key("jobs.yaml", {"manifest": "care"}, {}) == {"manifest": "care"}


@pytest.mark.anyio
async def test_the_push_path_carries_every_label_of_the_grouping_key() -> None:
    """The POST path holds every label (prometheus_client sorts them; the gateway ignores order)."""
    grouping = grouping_key("jobs.yaml", {"instance": "nightly"}, {"shard": "0"})
    with anyio.fail_after(20):
        async with gateway() as served:
            assert await push(build_registry(facts()), served.url, grouping)
    assert [p.path for p in served.pushes] == [
        "/metrics/job/orchestrator/instance/nightly/manifest/jobs/shard/0"
    ]
