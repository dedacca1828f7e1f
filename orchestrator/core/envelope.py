"""Reading the API's JSON answers: the envelope, the create result and the two status forms.

Pure functions over parsed JSON. The documented shapes: `{"status": "PASS", "result": ...}`; a
status `result` is an object `{jobInfo, result}` when ready and a one-element list of that object
while running or after failing. A string `result` or any status but PASS is an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from orchestrator.errors import EnvelopeError


@dataclass(frozen=True, slots=True)
class RunIds:
    """What the server gave back for a submitted export: enough to poll it from any process."""

    workflow_id: str
    run_id: str
    status_url: str
    """As the server gave it; "" when the create answer had none (the generic endpoint's form),
    until the client builds it from the ids."""
    early_download_url: str = ""
    """A downloadUrl already in the create answer (the `user` export's, API-CATALOG.md §6
    surprise 10): kept, never fetched on its own; the status decides readiness."""


KNOWN_RUNNER_STATES = frozenset({"RUNNING", "CLOSED"})
"""The runnerState values the vendor documents; anything else is reported as it came."""


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The facts of one status answer, as the server gave them; the lifecycle decides.

    `runner_state` and `detail` are the raw strings (detail "" when absent or null);
    `download_url` is "" when absent, null or empty, which the quick start says means "not ready
    yet" even when the export reads CLOSED and COMPLETED."""

    runner_state: str
    detail: str
    reason: str | None
    download_url: str
    status_url: str | None
    current_count: int | None = None
    total_count: int | None = None
    """The status's `currentCount` and `totalCount`, when the server fills them in (examples show
    null; their unit is not stated)."""

    @property
    def completed(self) -> bool:
        return self.runner_state == "CLOSED" and self.detail == "COMPLETED"

    @property
    def ready(self) -> bool:
        """Completed and downloadable: a completed export without a downloadUrl is polled again."""
        return self.completed and bool(self.download_url)

    @property
    def closed_without_detail(self) -> bool:
        """CLOSED with an empty detail: not yet COMPLETED or FAILED; worth a few more polls."""
        return self.runner_state == "CLOSED" and not self.detail

    @property
    def unknown_state(self) -> bool:
        """A runnerState the vendor does not document."""
        return self.runner_state not in KNOWN_RUNNER_STATES

    @property
    def failed(self) -> bool:
        """Closed without completing, or any detail but COMPLETED (which the docs call failure)."""
        if self.completed:
            return False
        return self.runner_state == "CLOSED" or self.detail not in ("", "COMPLETED")

    def masked(self, mask: Callable[[str], str]) -> StatusReport:
        """The report with `mask` applied to its free text (state, detail, reason), where a
        server may echo what it was sent; the URLs stay as given, to be used."""
        reason = None if self.reason is None else mask(self.reason)
        return replace(
            self, runner_state=mask(self.runner_state), detail=mask(self.detail), reason=reason
        )

    def failure_text(self) -> str:
        words = [w for w in (self.detail, self.reason) if w]
        return f"export ended {self.runner_state}" + (f": {', '.join(words)}" if words else "")


def unwrap(body: bytes) -> Any:
    """The `result` of a PASS envelope; the body is parsed whatever its content type says."""
    if not body.strip():
        raise EnvelopeError("empty body")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EnvelopeError(f"not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise EnvelopeError(f"expected a JSON object, got {type(payload).__name__}")
    status = payload.get("status")
    result = payload.get("result")
    if status != "PASS":
        message = payload.get("message") or (result if isinstance(result, str) else None)
        raise EnvelopeError(f"status {status!r}" + (f": {message}" if message else ""))
    if isinstance(result, str):
        raise EnvelopeError(f"server said: {result}")
    return result


def parse_listing(body: bytes) -> list[Any]:
    """A helper endpoint's list (time zones, teams): in a PASS envelope like every other answer,
    or bare. The vendor's pages name these endpoints but show no answer, so both are accepted
    (a guess, stated as one); anything but a list is an error."""
    if not body.strip():
        raise EnvelopeError("empty body")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EnvelopeError(f"not JSON ({error})") from None
    result = payload if isinstance(payload, list) else unwrap(body)
    if not isinstance(result, list):
        raise EnvelopeError(f"expected a list, got {type(result).__name__}")
    return result


def parse_created(result: Any) -> RunIds:
    """The ids of a freshly created export. The vendor's generic create endpoint answers with
    `workflowId` and `runId` alone (API-CATALOG.md §4.2): statusUrl is then "" and the client
    builds it; a downloadUrl already given (`user`) is kept."""
    fields = _object(result, "result")
    return RunIds(
        workflow_id=_text(fields, "workflowId"),
        run_id=_text(fields, "runId"),
        status_url=_optional_text(fields, "statusUrl") or "",
        early_download_url=_optional_text(fields, "downloadUrl") or "",
    )


def parse_status(result: Any) -> StatusReport:
    """A status answer in either documented form: an object, or a one-element list of it."""
    if isinstance(result, list):
        if len(result) != 1:
            raise EnvelopeError(f"expected a one-element result list, got {len(result)} elements")
        result = result[0]
    outer = _object(result, "result")
    job_info = _object(outer.get("jobInfo"), "result.jobInfo")
    state = _object(outer.get("result"), "result.result")
    return StatusReport(
        runner_state=_text(state, "runnerState"),
        detail=_optional_text(state, "detail") or "",
        reason=_optional_text(state, "reason"),
        download_url=_optional_text(job_info, "downloadUrl") or "",
        status_url=_optional_text(job_info, "statusUrl"),
        current_count=_count(state, "currentCount"),
        total_count=_count(state, "totalCount"),
    )


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EnvelopeError(f"{where} is {type(value).__name__}, expected an object")
    return value


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise EnvelopeError(f"field {name!r} is missing or not a non-empty string")
    return value


def _count(fields: dict[str, Any], name: str) -> int | None:
    """A count to show, or None: anything but a whole number >= 0 is ignored, not an error (the
    field only informs; a poll must not fail over it)."""
    value = fields.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _optional_text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise EnvelopeError(f"field {name!r} is {type(value).__name__}, expected a string")
    return value
