"""The checks every authenticated API request passes, in the vendor's likely order.

Basic credentials (401), then the companyKey where the endpoint takes one (403), then the injected
faults (429, 5xx). Create and the helper endpoints check the companyKey here; status and download
check their job's key or token themselves.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from .state import FakeState
from .views import fail, html_error


def credentials_match(header: str, username: str, password: str) -> bool:
    """True when an Authorization header carries exactly these Basic credentials."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        sent = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(sent, f"{username}:{password}".encode())


def company_key_matches(request: web.Request, company_key: str) -> bool:
    sent = request.query.get("companyKey")
    return sent is not None and hmac.compare_digest(sent.encode(), company_key.encode())


def guard(
    state: FakeState, request: web.Request, *, check_company_key: bool
) -> web.Response | None:
    """401, 403, or an injected fault; None when the request may go on."""
    config, counters = state.config, state.counters
    header = request.headers.get("Authorization", "")
    if not credentials_match(header, config.username, config.password):
        counters.rejections["unauthorized"] += 1
        challenge = {"WWW-Authenticate": 'Basic realm="Analytics API"'}
        return fail(401, "Full authentication is required", headers=challenge)
    if check_company_key and not company_key_matches(request, config.company_key):
        counters.rejections["forbidden"] += 1
        return fail(403, "invalid companyKey")
    return inject_faults(state)


def inject_faults(state: FakeState) -> web.Response | None:
    """The rate_limit and server_error faults, drawn per request."""
    faults = state.config.faults
    if state.chance(faults.rate_limit):
        state.counters.rejections["rate_limited"] += 1
        retry = {"Retry-After": str(faults.retry_after_seconds)}
        return fail(429, "rate limit exceeded", headers=retry)
    if state.chance(faults.server_error):
        state.counters.rejections["server_error"] += 1
        return html_error(state.rng.choice((500, 502, 503)))
    return None


def maybe_text_plain(state: FakeState, response: web.StreamResponse) -> web.StreamResponse:
    """The text_plain fault: label a JSON answer (not a streamed file) `text/plain`."""
    if (
        not response.prepared
        and response.content_type == "application/json"
        and state.chance(state.config.faults.text_plain)
    ):
        response.content_type = "text/plain"
    return response
