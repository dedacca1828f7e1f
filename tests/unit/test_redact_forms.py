"""A known secret is masked in every form a server may write it back in, and an excerpt's cut
never leaves part of one."""

from __future__ import annotations

import json

import pytest

from orchestrator.core.envelope import StatusReport
from orchestrator.core.redact import MASK, excerpt, sanitize

PASSWORD = "acc-pa$$:word"


@pytest.mark.parametrize(
    "written",
    [
        "acc-pa$$:word",  # as sent
        "acc-pa%24%24%3Aword",  # percent-encoded, as the issue saw it
        "acc-pa%24%24%3aword",  # lower-case hex
        "acc-pa%24%24:word",  # encoded in part, as query encoders leave `:`
        "%61cc-pa$$:word",  # an unreserved letter encoded too
        "acc-pa\\u0024\\u0024:word",  # JSON's \u escapes
    ],
)
def test_each_written_form_of_a_secret_is_masked(written: str) -> None:
    """The password as sent, percent-encoded in whole or part (either case of hex), or with JSON
    escapes, is masked, and the words around it stay."""
    assert sanitize(f"reason: {written}; retry", [PASSWORD]) == f"reason: {MASK}; retry"


def test_spaces_slashes_and_quotes_are_matched_as_encoders_write_them() -> None:
    """A space written `+` or `%20`, and `/` and `"` escaped by a JSON encoder, are the secret."""
    secret = 'a b/c"d'
    written = ["a+b%2Fc%22d", "a%20b/c%22d", json.dumps(secret)[1:-1], 'a b\\/c\\"d']
    assert [sanitize(text, [secret]) for text in written] == [MASK] * 4


def test_a_secret_inside_a_longer_one_does_not_split_it() -> None:
    """When one secret contains another, the longer is masked whole: no remnant shows."""
    assert sanitize("key acme-key-2024-long", ["acme", "acme-key-2024-long"]) == f"key {MASK}"


def test_an_excerpt_cut_through_a_secret_leaves_none_of_it() -> None:
    """A secret straddling an excerpt's limit is masked before the cut, so no prefix of it
    survives; the excerpt stays within its limit."""
    body = "x" * 190 + "acc-pa%24%24%3Aword and more"
    short = excerpt(body, limit=200, secrets=[PASSWORD])
    assert "acc-pa" not in short
    assert short == "x" * 190 + "*** and mo…"


def test_a_masked_status_report_keeps_its_urls_and_masks_its_words() -> None:
    """Masking a status report touches its state, detail and reason, never the URLs it carries
    (they must be used as the server gave them)."""
    url = "https://api/x?analyticsAccessToken=acc-pa%24%24%3Aword"
    report = StatusReport("CLOSED", "FAILED", f"denied {PASSWORD}", url, url)
    masked = report.masked(lambda text: sanitize(text, [PASSWORD]))
    assert (masked.runner_state, masked.detail, masked.reason) == ("CLOSED", "FAILED", "denied ***")
    assert (masked.download_url, masked.status_url) == (url, url)
