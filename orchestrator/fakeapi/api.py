"""The Analytics Reports API app: create, status and download, behind Basic auth and companyKey.

Checks run in the vendor's likely order (see guard.py): route, Basic credentials (401), companyKey
on create (403), injected faults (429, 5xx), then the operation. Status and download accept the
companyKey or the job's own analyticsAccessToken (only the token with `access_tokens`). Also serves
the helper endpoints (account.py), the API-origin hops of redirect_hops (hops.py), and
`GET /_fake/counters`, `GET /_fake/timeline` and
`POST /_fake/reset` (no auth), which the real API does not have, for benchmarks whose fake runs in
another process.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import quote

from aiohttp import web

from .account import add_account_routes
from .bodies import FileSender
from .catalog import (
    BODY_EXPORTS,
    CARE_EXPORTS,
    GENERIC_REPORT_TYPES,
    TooManyBuckets,
    check_interval,
)
from .guard import company_key_matches, guard, maybe_text_plain
from .hops import HopHandlers, build_chain
from .jobs import Job, new_job
from .params import ExportRequest, parse_export_params, request_key
from .routing import Route, parse_route
from .state import FakeState
from .views import (
    PREFIX,
    create_result,
    envelope,
    fail,
    json_reply,
    next_status_view,
    status_result,
)

PUBLISHING_EXPORT = re.compile(r"[a-z0-9_]+")
"""Publishing ids are not published; any plausible one (raw_brand_post among them) is accepted."""

INJECTED_FAILURE = "export failed (injected)"
FORM = "application/x-www-form-urlencoded"


class ApiHandlers:
    """Request handlers over one shared `FakeState`."""

    def __init__(self, state: FakeState) -> None:
        self._state = state
        self._sender = FileSender(state)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Any request under the reports prefix: route by raw path, guard, run the operation."""
        counters = self._state.counters
        route = parse_route(request.raw_path)
        if route is None:
            counters.rejections["not_found"] += 1
            return fail(404, "not found")
        counters.requests[route.kind] += 1
        allowed = ("GET", "POST") if route.kind == "create" else ("GET",)
        if request.method not in allowed:
            return fail(
                405, f"method {request.method} not allowed", headers={"Allow": ", ".join(allowed)}
            )
        rejection = guard(self._state, request, check_company_key=route.kind == "create")
        if rejection is not None:
            return rejection
        response: web.StreamResponse
        if route.kind == "create":
            response = await self._create(request, route)
        else:
            response = await self._job_operation(request, route)
        return maybe_text_plain(self._state, response)

    async def _create(self, request: web.Request, route: Route) -> web.Response:
        state = self._state
        config, counters = state.config, state.counters
        refusal = self._refusal(route)
        if refusal is not None:
            return refusal
        if not _export_known(route):
            counters.rejections["bad_request"] += 1
            return fail(400, None, f"Unknown {route.source} export id '{route.export_id}'")
        pairs = await _create_params(request, route)
        export = _parse(route.export_id, pairs)
        if pairs is None or export is None:
            counters.rejections["bad_request"] += 1
            return json_reply({}, status=400)  # the vendor's one documented error body
        refused = _against_catalog(route, pairs, export)
        if refused is not None:
            counters.rejections["bad_request"] += 1
            return refused
        cap = config.max_running_per_company
        if cap is not None and counters.running(config.company_key) >= cap:
            counters.rejections["over_capacity"] += 1
            return fail(429, "too many running exports", headers={"Retry-After": "1"})
        key = request_key(route.source, route.export_id, pairs)
        job = new_job(
            company_key=config.company_key,
            source=route.source,
            request=export,
            now=state.clock(),
            duration=config.duration_for(route.export_id, state.rng),
            failure_reason=self._echoed(request, self._failure_reason(export, key)),
        )
        state.jobs.add(job)
        counters.job_created(
            job.company_key, key, job.ends_at, fails=job.failure_reason is not None
        )
        result = create_result(
            state.api_origin,
            job,
            tokens_only=config.faults.access_tokens,
            ids_only=route.export_id in GENERIC_REPORT_TYPES
            and state.chance(config.faults.ids_only_creates),
            early_download=config.faults.early_download_url and route.export_id == "user",
        )
        return json_reply(envelope("PASS", None, result))

    def _refusal(self, route: Route) -> web.Response | None:
        """404 for a missing_exports id, 403 for a refused_exports id; the account stays valid."""
        faults, counters = self._state.config.faults, self._state.counters
        if route.export_id in faults.missing_exports:
            counters.rejections["export_missing"] += 1
            return fail(404, f"No such export: {route.export_id}")
        if route.export_id in faults.refused_exports:
            counters.rejections["export_refused"] += 1
            return fail(
                403, f"Access denied: export {route.export_id} is not enabled for this account"
            )
        return None

    def _failure_reason(self, export: ExportRequest, key: str) -> str | None:
        """Decide at creation whether the job fails: by export, window, submit number, chance."""
        faults = self._state.config.faults
        submit = self._state.counters.submits_by_request.get(key, 0) + 1
        if export.export_id in faults.failing_exports or submit <= faults.fail_first_submits:
            return INJECTED_FAILURE
        too_long = faults.max_window_seconds
        if too_long is not None and export.end_ms - export.start_ms > too_long * 1000:
            return "export too large: window exceeds the server's limit"
        return INJECTED_FAILURE if self._state.chance(faults.job_failure) else None

    def _echoed(self, request: web.Request, reason: str | None) -> str | None:
        """The echo_credentials fault: a failure reason that repeats the create request's
        credentials, each as sent and percent-encoded."""
        if reason is None or not self._state.config.faults.echo_credentials:
            return reason
        authorization = request.headers.get("Authorization", "")
        token = authorization.partition(" ")[2]
        key = request.query.get("companyKey", "")
        password = self._state.config.password
        sent = f"Authorization: {authorization}, companyKey={key}, password={password}"
        encoded = ", ".join(quote(value, safe="") for value in (token, key, password))
        return f"{reason}; the request was {sent} (encoded: {encoded})"

    async def _job_operation(self, request: web.Request, route: Route) -> web.StreamResponse:
        """Status or download of the job the path names: 404 unknown, 403 without key or token."""
        state = self._state
        job = None
        if route.run_segment is not None:
            job = state.jobs.find(route.workflow_id, route.run_segment)
        if job is None:
            state.counters.rejections["not_found"] += 1
            return fail(404, "unknown run")
        if not self._may_access(request, job):
            state.counters.rejections["forbidden"] += 1
            return fail(403, "invalid companyKey or analyticsAccessToken")
        now = state.clock()
        if route.kind == "status":
            view = next_status_view(job, now, state.config.faults)
            return json_reply(envelope("PASS", None, status_result(state.api_origin, job, view)))
        outcome = job.outcome(now)
        if outcome != "COMPLETED":
            state.counters.rejections["not_ready"] += 1
            return fail(409, "export not ready" if outcome == "RUNNING" else "export failed")
        if job.first_download_at is None:
            job.first_download_at = now
        if state.chance(state.config.faults.direct_download):
            state.counters.downloads_direct += 1
            return await self._sender.send(request, job, gzip=False)
        return self._redirect_to_storage(job)

    def _may_access(self, request: web.Request, job: Job) -> bool:
        """The job's token, or the companyKey; with access_tokens the token and no companyKey."""
        token = request.query.get("analyticsAccessToken")
        token_ok = token is not None and hmac.compare_digest(token.encode(), job.token.encode())
        if self._state.config.faults.access_tokens:
            return token_ok and "companyKey" not in request.query
        return token_ok or company_key_matches(request, job.company_key)

    def _redirect_to_storage(self, job: Job) -> web.Response:
        """307 to a pre-signed URL on the storage origin (302 into a chain of redirect_hops)."""
        state = self._state
        now_ms = int(state.wall_clock() * 1000)
        expires_ms = now_ms + int(state.config.url_ttl_seconds * 1000)
        if state.chance(state.config.faults.expired_url):
            expires_ms = now_ms - 1000
            state.counters.expired_urls_issued += 1
        signature = state.signer.sign(job.object_id, expires_ms)
        location = (
            f"{state.storage_origin}/bucket/{job.object_id}"
            f"?X-Expires={expires_ms}&X-Signature={signature}"
        )
        hops = state.config.faults.redirect_hops
        state.counters.downloads_redirected += 1
        first = build_chain(state, location, hops)
        return web.Response(status=302 if hops else 307, headers={"Location": first})

    async def counters(self, _request: web.Request) -> web.Response:
        return json_reply(self._state.counters.snapshot())

    async def reset(self, _request: web.Request) -> web.Response:
        self._state.counters.reset()
        return json_reply(self._state.counters.snapshot())

    async def timeline(self, _request: web.Request) -> web.Response:
        """Each job's created, ready and first-download times, in fake monotonic seconds."""
        jobs = [
            {
                "workflow_id": job.workflow_id,
                "export_id": job.request.export_id,
                "created_at": job.created_at,
                "ready_at": job.ends_at,
                "first_download_at": job.first_download_at,
            }
            for job in self._state.jobs.all()
        ]
        return json_reply({"jobs": jobs})


def _export_known(route: Route) -> bool:
    if route.source == "care":
        return route.export_id in CARE_EXPORTS
    return PUBLISHING_EXPORT.fullmatch(route.export_id) is not None


def _parse(export_id: str, pairs: list[tuple[str, str]] | None) -> ExportRequest | None:
    """The validated request, or None when the parameters are invalid (or unreadable)."""
    if pairs is None:
        return None
    try:
        return parse_export_params(export_id, pairs)
    except ValueError:
        return None


def _against_catalog(
    route: Route, pairs: list[tuple[str, str]], export: ExportRequest
) -> web.Response | None:
    """A missing required parameter is the documented 400 `{}`; an interval the range rules
    forbid, the vendor's "Too many buckets" text in the envelope (its HTTP status and `status` are
    not stated: the fake says 400 and FAIL)."""
    if route.source != "care":
        return None
    try:
        check_interval(route.export_id, pairs, export.end_ms - export.start_ms)
    except TooManyBuckets as error:
        return fail(400, None, str(error))
    except ValueError:
        return json_reply({}, status=400)
    return None


async def _create_params(request: web.Request, route: Route) -> list[tuple[str, str]] | None:
    """Parameters other than companyKey, where the export's create takes them: the query for GET;
    for a POST of a body export the form body (with the few it keeps in the query), for any other
    POST the query and any form body. None when a body export's POST has no form body."""
    source: list[tuple[str, object]] = list(request.query.items())
    if request.method == "POST":
        kept = BODY_EXPORTS.get(route.export_id) if route.source == "care" else None
        form = request.content_type == FORM
        if kept is not None and not form:
            return None
        if kept is not None:
            source = [pair for pair in source if pair[0] in kept]
        if form:
            source += [(name, value) for name, value in (await request.post()).items()]
    return [
        (name, value) for name, value in source if name != "companyKey" and isinstance(value, str)
    ]


def build_api_app(state: FakeState) -> web.Application:
    """The API application; its routes are wired to handlers sharing `state`."""
    app = web.Application()
    handlers = ApiHandlers(state)
    app.router.add_route("*", PREFIX + "{tail:.*}", handlers.dispatch)
    app.router.add_get("/_fake/counters", handlers.counters)
    app.router.add_get("/_fake/timeline", handlers.timeline)
    app.router.add_post("/_fake/reset", handlers.reset)
    app.router.add_get("/hop/{hop_id}", HopHandlers(state).follow, allow_head=False)
    add_account_routes(app, state)
    return app
