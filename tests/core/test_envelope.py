"""The API's answers are read in both documented status forms, and anything else is refused."""

from __future__ import annotations

import json

import pytest

from orchestrator.core.envelope import parse_created, parse_listing, parse_status, unwrap
from orchestrator.errors import EnvelopeError

JOB_INFO = {
    "workflowId": "57113d95-0745-320b-9269-00de3a9a3128",
    "runId": "23g+OxKtvHZ/ugyyn1PN+0y5u7EFFtnRDBbyRjEeXWSRcQ=",
    "downloadUrl": "",
    "statusUrl": "https://x/api/public/reports/report/w/23g%2BOx%2F%3D/status?analyticsAccessToken=a",
}


def envelope(result: object, status: str = "PASS") -> bytes:
    return json.dumps(
        {"status": status, "request": None, "message": None, "result": result}
    ).encode()


def state(runner: str, detail: str) -> dict[str, object]:
    return {"runnerState": runner, "reason": None, "detail": detail, "currentCount": None}


def test_create_answer_gives_the_ids() -> None:
    """The create result's workflowId, runId and statusUrl are read verbatim."""
    ids = parse_created(unwrap(envelope(JOB_INFO)))
    assert ids.run_id == JOB_INFO["runId"]
    assert ids.status_url == JOB_INFO["statusUrl"]


def test_running_status_arrives_as_a_one_element_list() -> None:
    """A RUNNING status in list form is neither completed nor failed."""
    report = parse_status(unwrap(envelope([{"jobInfo": JOB_INFO, "result": state("RUNNING", "")}])))
    assert not report.completed and not report.failed


def test_ready_status_arrives_as_an_object_with_a_download_url() -> None:
    """A CLOSED/COMPLETED status object carries the download URL."""
    info = {**JOB_INFO, "downloadUrl": "https://x/download?analyticsAccessToken=b"}
    report = parse_status(
        unwrap(envelope({"jobInfo": info, "result": state("CLOSED", "COMPLETED")}))
    )
    assert report.completed
    assert report.download_url == info["downloadUrl"]


def test_failed_detail_is_a_failure_although_the_envelope_passes() -> None:
    """CLOSED/FAILED in a PASS envelope is reported as a failed export."""
    report = parse_status(
        unwrap(envelope([{"jobInfo": JOB_INFO, "result": state("CLOSED", "FAILED")}]))
    )
    assert report.failed
    assert "FAILED" in report.failure_text()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty body"),
        (b"<html>Bad gateway</html>", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (envelope(None, status="FAIL"), "status 'FAIL'"),
        (envelope("Invalid company key"), "Invalid company key"),
    ],
)
def test_malformed_envelopes_are_refused_with_a_reason(body: bytes, words: str) -> None:
    """Empty, non-JSON, non-object, non-PASS and string results each raise a clear error."""
    with pytest.raises(EnvelopeError, match=words):
        unwrap(body)


@pytest.mark.parametrize(
    "result",
    [
        None,
        [],
        [{"jobInfo": JOB_INFO, "result": state("RUNNING", "")}] * 2,
        {"jobInfo": JOB_INFO},
        {"jobInfo": JOB_INFO, "result": {"runnerState": 3}},
        {"jobInfo": {**JOB_INFO, "downloadUrl": 5}, "result": state("CLOSED", "COMPLETED")},
    ],
)
def test_status_of_the_wrong_shape_is_refused(result: object) -> None:
    """Missing parts, wrong types and lists of other lengths raise EnvelopeError."""
    with pytest.raises(EnvelopeError):
        parse_status(result)


def test_create_without_ids_is_refused() -> None:
    """A create result missing its runId is an error, not a job without ids."""
    with pytest.raises(EnvelopeError, match="runId"):
        parse_created({"workflowId": "w", "statusUrl": "u"})


def test_a_completed_export_without_a_download_url_is_not_ready() -> None:
    """CLOSED+COMPLETED with an empty or null downloadUrl parses, completed but not ready."""
    for url in ("", None):
        info = {**JOB_INFO, "downloadUrl": url}
        report = parse_status(
            unwrap(envelope({"jobInfo": info, "result": state("CLOSED", "COMPLETED")}))
        )
        assert report.completed and not report.ready and report.download_url == ""


def test_unknown_states_and_closed_without_detail_are_reported_as_they_came() -> None:
    """An undocumented runnerState and CLOSED with an empty detail carry their raw strings."""
    queued = parse_status(unwrap(envelope([{"jobInfo": JOB_INFO, "result": state("QUEUED", "")}])))
    assert (queued.runner_state, queued.detail, queued.unknown_state) == ("QUEUED", "", True)
    assert not queued.failed and not queued.completed
    closed = parse_status(unwrap(envelope([{"jobInfo": JOB_INFO, "result": state("CLOSED", "")}])))
    assert closed.closed_without_detail and not closed.unknown_state


@pytest.mark.parametrize(
    ("body", "length"),
    [(envelope(["UTC", "America/Chicago"]), 2), (b'["UTC"]', 1), (envelope([]), 0)],
)
def test_helper_lists_are_read_enveloped_or_bare(body: bytes, length: int) -> None:
    """A helper endpoint's list is accepted in a PASS envelope or bare."""
    assert len(parse_listing(body)) == length


@pytest.mark.parametrize("body", [b"", b"{}", envelope({"a": 1}), envelope("no"), b"<html>"])
def test_helper_answers_that_are_not_lists_are_refused(body: bytes) -> None:
    """Anything but a list (or an envelope of one) is an EnvelopeError."""
    with pytest.raises(EnvelopeError):
        parse_listing(body)
