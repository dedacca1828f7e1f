"""Where the output goes: a local folder, or a prefix in a bucket (S3, GCS) or container (Azure).

    s3://bucket/prefix     gs://bucket/prefix     az://container/prefix
    file:///absolute/path  a plain path (relative or absolute), as before

The dated tree becomes object keys under the prefix. Anything else that looks like a URL (an
unknown scheme, `s3:bucket` without the slashes, credentials or a port in the URL, a query, a
bucket name the cloud would refuse, a `..` in the prefix) is a SettingsError that names the
setting, before anything is built from it: `--out s3://bucket/x` must never become a local folder
called `s3:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import unquote

from orchestrator.core.redact import sanitize
from orchestrator.errors import SettingsError

Scheme = Literal["file", "s3", "gs", "az"]
CLOUDS: dict[str, str] = {"s3": "Amazon S3", "gs": "Google Cloud Storage", "az": "Azure Blob"}
SETTING = "ORCHESTRATOR_OUT (--out)"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
_SCHEME_TYPO = re.compile(
    r"^(s3|s3a|s3n|gs|gcs|az|azure|abfs|abfss|adl|wasb|wasbs|file|http|https):", re.IGNORECASE
)
_BUCKET_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "s3": (
        re.compile(r"^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
        "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
    ),
    "gs": (
        re.compile(r"^(?!goog)(?!.*\.\.)[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$"),
        "3 to 222 lowercase letters, digits, dots, hyphens and underscores, starting and ending "
        "with a letter or digit",
    ),
    "az": (
        re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"),
        "3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter "
        "or digit",
    ),
}


@dataclass(frozen=True, slots=True)
class Location:
    """A parsed output location: `scheme` with its bucket (container) and key prefix, or a local
    `path` (scheme "file")."""

    scheme: Scheme
    bucket: str = ""
    prefix: str = ""
    """Object key prefix, without leading or trailing slashes ("" for the bucket's root)."""
    path: str = ""
    """The local folder, as given (scheme "file" only)."""

    @property
    def local(self) -> bool:
        return self.scheme == "file"

    @property
    def cloud(self) -> str:
        """The store's name for people: "Amazon S3", ..., or "local folder"."""
        return CLOUDS.get(self.scheme, "local folder")

    def key(self, relative: str | PurePosixPath) -> str:
        """The full object key of a path relative to the prefix."""
        tail = PurePosixPath(relative).as_posix()
        return f"{self.prefix}/{tail}" if self.prefix else tail

    def url(self, relative: str | PurePosixPath | None = None) -> str:
        """The location (or a path under it) as a URL people can paste: `s3://bucket/prefix/...`."""
        if self.local:
            base = self.path
            return f"{base.rstrip('/')}/{PurePosixPath(relative).as_posix()}" if relative else base
        key = self.key(relative) if relative is not None else self.prefix
        return f"{self.scheme}://{self.bucket}/{key}".rstrip("/")

    def __str__(self) -> str:
        return self.url()


def parse_location(text: str, setting: str = SETTING) -> Location:
    """The location `text` names, or a SettingsError that names `setting` and says what to write."""
    if not text or not text.strip():
        raise SettingsError(f"{setting} is empty: give a folder or s3://bucket/prefix")
    if any(ord(character) < 32 or ord(character) == 127 for character in text):
        raise SettingsError(f"{setting}: {_shown(text)} holds a control character")
    match = _URL.match(text)
    if match is None:
        typo = _SCHEME_TYPO.match(text)
        if typo:
            scheme = typo.group(1).lower()
            raise SettingsError(
                f"{setting}: {_shown(text)} looks like a URL without its slashes; write "
                f"{scheme}://bucket/prefix for a bucket, or ./{text} for a local folder"
            )
        return Location("file", path=text)
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme == "file":
        return _file_location(text, rest, setting)
    if scheme not in CLOUDS:
        raise SettingsError(
            f"{setting}: {_shown(text)} has the scheme {scheme!r}, which is not an output this "
            "tool writes to; use s3://, gs://, az://, file:// or a plain folder path"
        )
    return _cloud_location(text, scheme, rest, setting)  # type: ignore[arg-type]


def _file_location(text: str, rest: str, setting: str) -> Location:
    """`file:///abs/path` or `file://localhost/abs/path`, percent-decoded."""
    host, slash, path = rest.partition("/")
    if host not in ("", "localhost") or not slash:
        raise SettingsError(
            f"{setting}: {_shown(text)} is not a local file URL; write file:///absolute/path "
            "(three slashes) or a plain folder path"
        )
    if "?" in path or "#" in path:
        raise SettingsError(f"{setting}: {_shown(text)}: a file URL takes no query or fragment")
    decoded = unquote("/" + path)
    if decoded.strip("/") == "":
        raise SettingsError(f"{setting}: {_shown(text)} names the root folder; give a folder")
    return Location("file", path=decoded)


def _cloud_location(text: str, scheme: Scheme, rest: str, setting: str) -> Location:
    bucket, _, prefix = rest.partition("/")
    kind = "container" if scheme == "az" else "bucket"
    if "@" in bucket:
        raise SettingsError(
            f"{setting}: {_shown(text)} carries credentials or an account in the URL; give "
            f"{scheme}://{kind}/prefix and the credentials through the cloud's standard variables"
        )
    if "?" in rest or "#" in rest:
        raise SettingsError(f"{setting}: {_shown(text)}: the URL takes no query or fragment")
    if ":" in bucket:
        raise SettingsError(
            f"{setting}: {_shown(text)}: a {kind} name has no port; set the endpoint through the "
            "cloud's standard variable (AWS_ENDPOINT_URL for S3-compatible stores)"
        )
    if not bucket:
        raise SettingsError(f"{setting}: {_shown(text)} names no {kind}: {scheme}://{kind}/prefix")
    rule, words = _BUCKET_RULES[scheme]
    if not rule.match(bucket):
        raise SettingsError(f"{setting}: {bucket!r} is not a valid {kind} name ({words})")
    return Location(scheme, bucket=bucket, prefix=_prefix(text, prefix, setting))


def _prefix(text: str, prefix: str, setting: str) -> str:
    """The key prefix without its outer slashes; an empty, `.` or `..` segment is refused (it
    would make keys that no file path names)."""
    trimmed = prefix.strip("/")
    if not trimmed:
        return ""
    parts = trimmed.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise SettingsError(
            f"{setting}: {_shown(text)}: the prefix {trimmed!r} has an empty, '.' or '..' segment"
        )
    return trimmed


def _shown(text: str) -> str:
    """The value as a message may quote it: any password, token or user-info masked, cut short."""
    flat = sanitize(text)
    return repr(flat if len(flat) <= 200 else flat[:200] + "…")
