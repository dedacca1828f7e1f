"""One place that knows what a secret looks like in text, so logs, reports and errors share it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

MASK = "***"

_SECRET_QUERY = re.compile(
    r"(?i)((?:companyKey|analyticsAccessToken|X-Signature|X-Amz-Signature|X-Amz-Credential"
    r"|Signature|token|password)=)[^&#\s\"'<>]*"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s\"'<>]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(basic|bearer)?\s*[^\s\"',}]+")


_URL_SECRET = re.compile(r"([?&](companyKey|analyticsAccessToken)=)([^&#]*)")


def replace_secret_values(url: str, replace: Callable[[str, str], str]) -> str:
    """`url` with each companyKey or access-token value `v` of parameter `name` replaced by
    `replace(name, v)`; every other byte stays as the server sent it (values stay encoded)."""
    return _URL_SECRET.sub(
        lambda match: match.group(1) + replace(match.group(2), match.group(3)), url
    )


MIN_SECRET_LENGTH = 4
"""Known secrets shorter than this are not masked by value: a one-letter user name would turn every
line into asterisks and, by the pattern of the masked letters, give itself away. The patterns above
still mask such values wherever they stand as a password, header or query value."""


def sanitize(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask secret query values, URL user-info, Authorization values and each known secret in any
    of its written forms (see `secret_pattern`), longest secret first.

    Most text holds none of them (a state name, a path, a number), so each pattern runs only when
    a character every match of it must contain is there: `=` for a query value, `@` for user
    info, `:` or `=` for a header, and for a secret its first character, `%` or a backslash (the
    ways a match of `secret_pattern` can begin; `+` too when that character is a space)."""
    if "=" in text:
        text = _SECRET_QUERY.sub(rf"\1{MASK}", text)
    if "@" in text:
        text = _USERINFO.sub(rf"\1{MASK}@", text)
    if ":" in text or "=" in text:
        text = _AUTH_HEADER.sub(rf"\1{MASK}", text)
    escaped = "%" in text or "\\" in text
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH and (escaped or _may_begin(secret[0], text)):
            text = secret_pattern(secret).sub(MASK, text)
    return text


def _may_begin(first: str, text: str) -> bool:
    """Whether `text` holds `first` as it is (or as `+`, for a space), so a match may begin."""
    return first in text or (first == " " and "+" in text)


@lru_cache(maxsize=32)
def secret_pattern(secret: str) -> re.Pattern[str]:
    """`secret` as a server may write it back: each character as is, percent-encoded (either case
    of hex, `+` for a space) or JSON-escaped, in any mixture, since servers quote what they echo
    differently (`acc-pa$$:word`, `acc-pa%24%24%3Aword`, `acc-pa%24%24:word`)."""
    return re.compile("".join(_character_forms(character) for character in secret))


def _character_forms(character: str) -> str:
    encoded = "".join(f"%{byte:02X}" for byte in character.encode())
    forms = [re.escape(character), f"(?i:{encoded})"]
    if ord(character) <= 0xFFFF:
        forms.append(f"(?i:\\\\u{ord(character):04X})")
    if character == " ":
        forms.append(r"\+")
    if character in '"\\/':
        forms.append(re.escape("\\" + character))
    return "(?:" + "|".join(forms) + ")"


EXCERPT_MARGIN = 1024
"""Characters past an excerpt's end that are masked with it, so a secret the cut would halve is
masked whole first (any secret up to 170 characters, even fully escaped as `\\uXXXX`)."""


def excerpt(body: bytes | str, limit: int = 200, secrets: Iterable[str] = ()) -> str:
    """A short, single-line, sanitised piece of a server's answer, for an error message. Masked
    before it is cut, so no cut leaves part of a secret."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    flat = " ".join(text.split())
    shown = sanitize(flat[: limit + EXCERPT_MARGIN], secrets)
    return shown[:limit] + "…" if len(flat) > limit else shown
