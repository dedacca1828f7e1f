"""What the API says: its URLs, its JSON bodies and its error replies, shaped like the vendor's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .config import Faults
from .jobs import Job

PREFIX = "/api/public/reports/report/"

_HTML_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def job_url(origin: str, job: Job, action: str, **query: str) -> str:
    """`<origin>/api/public/reports/report/<wf>/<runId %-encoded>/<action>?<query %-encoded>`."""
    encoded = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    return f"{origin}{PREFIX}{job.workflow_id}/{quote(job.run_id, safe='')}/{action}?{encoded}"


def envelope(status: str, message: str | None, result: Any) -> dict[str, Any]:
    return {"status": status, "request": None, "message": message, "result": result}


def create_result(
    origin: str,
    job: Job,
    *,
    tokens_only: bool = False,
    ids_only: bool = False,
    early_download: bool = False,
) -> dict[str, Any]:
    """The create answer: ids and a statusUrl that carries the companyKey (or else the token);
    the ids alone as the generic endpoint answers; the downloadUrl at once as `user`'s example."""
    if ids_only:
        return {"workflowId": job.workflow_id, "runId": job.run_id}
    key = {"analyticsAccessToken": job.token} if tokens_only else {"companyKey": job.company_key}
    return {
        "workflowId": job.workflow_id,
        "runId": job.run_id,
        "downloadUrl": job_url(origin, job, "download", **key) if early_download else "",
        "statusUrl": job_url(origin, job, "status", **key),
    }


@dataclass(frozen=True, slots=True)
class StatusView:
    """What one status poll shows: the runner's state and detail, and whether the file is ready."""

    runner_state: str
    detail: str
    ready: bool = False
    """The object form (ready) instead of the one-element list (running, failed, unclear)."""
    with_url: bool = False
    reason: str | None = None


def next_status_view(job: Job, now: float, faults: Faults) -> StatusView:
    """Count one status poll of `job` and decide what it shows at monotonic time `now`.

    In order: the first unknown_state_polls polls show QUEUED; then RUNNING until the job ends;
    then closed_empty_detail_polls polls show CLOSED with an empty detail; then a COMPLETED job
    shows an empty downloadUrl for late_url_polls more polls before its real answer.
    """
    job.polls += 1
    if job.polls <= faults.unknown_state_polls:
        return StatusView("QUEUED", "")
    outcome = job.outcome(now)
    if outcome == "RUNNING":
        return StatusView("RUNNING", "")
    job.polls_after_end += 1
    unclear = faults.closed_empty_detail_polls
    if job.polls_after_end <= unclear:
        return StatusView("CLOSED", "")
    if outcome == "FAILED":
        return StatusView("CLOSED", "FAILED", reason=job.failure_reason)
    late = job.polls_after_end <= unclear + faults.late_url_polls
    return StatusView("CLOSED", "COMPLETED", ready=True, with_url=not late)


def status_result(origin: str, job: Job, view: StatusView) -> dict[str, Any] | list[dict[str, Any]]:
    """The status answer: an object when ready, a one-element list while running or failed."""
    job_info = {
        "workflowId": job.workflow_id,
        "runId": job.run_id,
        "downloadUrl": job_url(origin, job, "download", analyticsAccessToken=job.token)
        if view.with_url
        else "",
        "statusUrl": job_url(origin, job, "status", analyticsAccessToken=job.token),
    }
    runner = {
        "runnerState": view.runner_state,
        "reason": view.reason,
        "detail": view.detail,
        "currentCount": None,
        "totalCount": None,
        "lastAcknowledgeTime": None,
    }
    entry = {"jobInfo": job_info, "result": runner}
    return entry if view.ready else [entry]


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def fail(
    status: int, message: str | None, result: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    """A FAIL envelope: the vendor's shape for errors that carry an explanation."""
    return json_reply(envelope("FAIL", message, result), status=status, headers=headers)


def html_error(status: int) -> web.Response:
    """What a proxy in front of the API returns: HTML, not JSON."""
    title = f"{status} {_HTML_ERRORS.get(status, 'Error')}"
    body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return web.Response(status=status, text=body, content_type="text/html")


def s3_error(status: int, code: str, message: str) -> web.Response:
    """An object-storage error in S3's XML form."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")
