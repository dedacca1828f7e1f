"""Output locations: bucket URLs of every cloud, file URLs and plain paths parse; everything else
is a SettingsError that names the setting and never echoes a secret."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.location import Location, parse_location
from orchestrator.errors import SettingsError
from tests.depth import scaled


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://my-bucket/exports/nightly", Location("s3", "my-bucket", "exports/nightly")),
        ("s3://my-bucket", Location("s3", "my-bucket", "")),
        ("S3://my.bucket.2/a/", Location("s3", "my.bucket.2", "a")),
        ("gs://gcs_bucket-1/x/y", Location("gs", "gcs_bucket-1", "x/y")),
        ("az://container-1/prefix", Location("az", "container-1", "prefix")),
        ("file:///srv/out", Location("file", path="/srv/out")),
        ("file://localhost/srv/my%20out", Location("file", path="/srv/my out")),
        ("out", Location("file", path="out")),
        ("./data:2024/out", Location("file", path="./data:2024/out")),
        ("/var/lib/orchestrator", Location("file", path="/var/lib/orchestrator")),
    ],
)
def test_every_supported_form_parses(text: str, expected: Location) -> None:
    """S3, GCS and Azure URLs, file URLs and plain paths become the location they name."""
    assert parse_location(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("s3:my-bucket/x", "without its slashes"),
        ("gs:/bucket", "without its slashes"),
        ("ftp://host/x", "scheme 'ftp'"),
        ("hdfs://nn/x", "scheme 'hdfs'"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://Upper/x", "not a valid bucket name"),
        ("s3://ab/x", "not a valid bucket name"),
        ("s3://a..b/x", "not a valid bucket name"),
        ("s3://192.168.1.1/x", "not a valid bucket name"),
        ("az://con--tainer/x", "not a valid container name"),
        ("gs://goog-bucket/x", "not a valid bucket name"),
        ("s3://bucket:9000/x", "no port"),
        ("s3://bucket/a//b", "empty, '.' or '..'"),
        ("s3://bucket/a/../b", "empty, '.' or '..'"),
        ("s3://bucket/x?versionId=1", "no query"),
        ("file://server/share", "not a local file URL"),
        ("file:///", "root folder"),
        ("s3://bucket/a\nb", "control character"),
    ],
)
def test_malformed_locations_name_the_setting(text: str, words: str) -> None:
    """A malformed URL, an unknown scheme or a name the cloud would refuse is a SettingsError that
    names ORCHESTRATOR_OUT (--out) and says what is wrong."""
    with pytest.raises(SettingsError, match="ORCHESTRATOR_OUT") as caught:
        parse_location(text)
    assert words in str(caught.value)


def test_credentials_in_the_url_are_refused_without_being_echoed() -> None:
    """Keys in the URL's user-info are refused, and the message masks them."""
    with pytest.raises(SettingsError, match="standard variables") as caught:
        parse_location("s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/prefix")
    assert "wJalrXUtnFEMI" not in str(caught.value)


def test_keys_and_urls_are_built_under_the_prefix() -> None:
    """A relative path becomes a key under the prefix (or at the root) and a pasteable URL."""
    location = parse_location("gs://bucket/exports/")
    assert location.key("a/2024/01/01/f.csv") == "exports/a/2024/01/01/f.csv"
    assert location.url("_runs/r.json") == "gs://bucket/exports/_runs/r.json"
    assert parse_location("az://container").key("x.csv") == "x.csv"
    assert str(parse_location("az://container")) == "az://container"
    assert (location.cloud, parse_location("out").cloud) == ("Google Cloud Storage", "local folder")


_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
_BUCKET = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True).filter(
    lambda name: "--" not in name
)


@settings(max_examples=scaled(100), deadline=None)
@given(
    scheme=st.sampled_from(["s3", "gs", "az"]),
    bucket=_BUCKET,
    segments=st.lists(_SEGMENT.filter(lambda s: s not in (".", "..")), max_size=4),
)
def test_a_bucket_url_round_trips(scheme: str, bucket: str, segments: list[str]) -> None:
    """Any valid bucket and prefix parse into their parts and print back as the same URL."""
    url = f"{scheme}://{bucket}/{'/'.join(segments)}".rstrip("/")
    location = parse_location(url)
    assert (location.scheme, location.bucket, location.prefix) == (
        scheme,
        bucket,
        "/".join(segments),
    )
    assert parse_location(location.url()) == location


@settings(max_examples=scaled(100), deadline=None)
@given(st.text(min_size=1).filter(lambda t: "://" not in t and ":" not in t[:8]))
def test_text_without_a_scheme_is_a_local_path_or_a_clear_error(text: str) -> None:
    """Text that is not a URL is the local folder it names (or refused for a control character):
    never a traceback, never a bucket."""
    try:
        location = parse_location(text)
    except SettingsError:
        return
    assert location == Location("file", path=text)
