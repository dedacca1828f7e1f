"""What the API says: its URLs, its JSON bodies and its error replies, shaped like the vendor's."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from .jobs import Job, Outcome

PREFIX = "/api/public/reports/report/"

_HTML_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def job_url(origin: str, job: Job, action: str, **query: str) -> str:
    """`<origin>/api/public/reports/report/<wf>/<runId %-encoded>/<action>?<query %-encoded>`."""
    encoded = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    return f"{origin}{PREFIX}{job.workflow_id}/{quote(job.run_id, safe='')}/{action}?{encoded}"


def envelope(status: str, message: str | None, result: Any) -> dict[str, Any]:
    return {"status": status, "request": None, "message": message, "result": result}


def create_result(origin: str, job: Job) -> dict[str, Any]:
    """The create answer: ids and a statusUrl that still carries the companyKey."""
    status_url = job_url(origin, job, "status", companyKey=job.company_key)
    return {
        "workflowId": job.workflow_id,
        "runId": job.run_id,
        "downloadUrl": "",
        "statusUrl": status_url,
    }


def status_result(origin: str, job: Job, outcome: Outcome) -> dict[str, Any] | list[dict[str, Any]]:
    """The status answer: an object when COMPLETED, a one-element list while RUNNING or FAILED."""
    done = outcome == "COMPLETED"
    job_info = {
        "workflowId": job.workflow_id,
        "runId": job.run_id,
        "downloadUrl": job_url(origin, job, "download", analyticsAccessToken=job.token)
        if done
        else "",
        "statusUrl": job_url(origin, job, "status", analyticsAccessToken=job.token),
    }
    runner = {
        "runnerState": "RUNNING" if outcome == "RUNNING" else "CLOSED",
        "reason": job.failure_reason if outcome == "FAILED" else None,
        "detail": "" if outcome == "RUNNING" else outcome,
        "currentCount": None,
        "totalCount": None,
        "lastAcknowledgeTime": None,
    }
    entry = {"jobInfo": job_info, "result": runner}
    return entry if done else [entry]


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
