"""The object-store sink against a real S3 API (moto on loopback): what it leaves in the bucket
after a whole, a cut and a cancelled upload, the metadata it writes, and how it proves a file."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from functools import partial
from pathlib import PurePosixPath

import anyio
import obstore
import pytest

from orchestrator.core.location import Location
from orchestrator.core.stored import StoredFile
from orchestrator.edges.storage import object_sink
from orchestrator.edges.storage.object_sink import UPLOADS, ObjectSink
from orchestrator.edges.storage.stores import build_store
from orchestrator.errors import DownloadCut
from tests.s3 import moto_s3

pytestmark = pytest.mark.anyio
RELATIVE = PurePosixPath("conversation/2024/01/01/c.csv")
PART = 5 * 1024 * 1024
"""S3's smallest part, which moto enforces: the sink's part size in these tests."""


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(object_sink, "PART_BYTES", PART)


def sink_for(location: Location) -> ObjectSink:
    return ObjectSink(build_store(location), location)


def large_body() -> bytes:
    row = b"1,some text that repeats\n"
    return b"id,text\n" + row * (PART // len(row) + 1000)


async def stream(
    body: bytes, *, fail: Exception | None = None, hang: anyio.Event | None = None
) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 256 * 1024):
        yield body[start : start + 256 * 1024]
    if hang is not None:
        hang.set()
        await anyio.sleep_forever()
    if fail is not None:
        raise fail


async def attributes(location: Location, relative: PurePosixPath) -> dict[str, str]:
    found = await obstore.get_async(
        build_store(location), relative.as_posix(), options={"head": True}
    )
    return dict(found.attributes)


async def test_a_small_file_is_one_object_with_its_metadata(bucket: Location) -> None:
    """A file below the part size is one object whose metadata carries its sha256, rows, job key
    and content type, read back by a HEAD."""
    body = b"id,text\n1,a\n2,b\n"
    stored = await sink_for(bucket).store(
        RELATIVE, stream(body), expected_size=len(body), report_format="csv", key="k" * 64
    )
    assert (stored.bytes, stored.rows) == (len(body), 2)
    assert await attributes(bucket, RELATIVE) == {
        "Content-Type": "text/csv",
        "sha256": hashlib.sha256(body).hexdigest(),
        "rows": "2",
        "jobkey": "k" * 64,
    }


async def test_a_large_file_goes_up_in_parts_and_keeps_its_metadata(
    bucket: Location, small_parts: None
) -> None:
    """A file above the part size streams up in parts and appears with the metadata only its end
    made known; no staging object and no unfinished upload remain."""
    body = large_body()
    sink = sink_for(bucket)
    stored = await sink.store(RELATIVE, stream(body), expected_size=None, report_format="json")
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    shown = await attributes(bucket, RELATIVE)
    assert (shown["sha256"], shown["Content-Type"]) == (stored.sha256, "application/json")
    server = moto_s3()
    assert server.keys(bucket.bucket) == [bucket.key(RELATIVE)]
    assert server.uploads(bucket.bucket) == []
    assert await sink.matches(stored, verify=True) == stored


@pytest.mark.parametrize("size", [100, PART + 100], ids=["one-put", "multipart"])
async def test_a_cut_upload_leaves_no_object_and_no_part(
    bucket: Location, small_parts: None, size: int
) -> None:
    """A stream that breaks, or ends short of its announced size, leaves nothing in the bucket:
    no object, no staging object, no unfinished multipart upload."""
    body = large_body()[:size]
    with pytest.raises(DownloadCut):
        await sink_for(bucket).store(
            RELATIVE,
            stream(body, fail=DownloadCut("reset")),
            expected_size=None,
            report_format="csv",
        )
    with pytest.raises(DownloadCut, match="announced"):
        await sink_for(bucket).store(
            RELATIVE, stream(body), expected_size=size + 1, report_format="csv"
        )
    server = moto_s3()
    assert (server.keys(bucket.bucket), server.uploads(bucket.bucket)) == ([], [])


async def test_a_cancelled_upload_is_aborted_before_the_store_returns(
    bucket: Location, small_parts: None
) -> None:
    """Cancelled midway through a multipart upload, the store aborts it under a shield before it
    lets the cancellation through: nothing is left in the bucket."""
    hanging, sink = anyio.Event(), sink_for(bucket)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            chunks = stream(large_body(), hang=hanging)
            group.start_soon(
                partial(sink.store, expected_size=None, report_format="csv"), RELATIVE, chunks
            )
            await hanging.wait()
            await anyio.sleep(0.05)  # the first part on its way
            scope.cancel()
    server = moto_s3()
    assert (server.keys(bucket.bucket), server.uploads(bucket.bucket)) == ([], [])


async def test_a_match_trusts_the_metadata_and_verify_reads_the_body(bucket: Location) -> None:
    """Without verify, the size and the sha256 metadata prove the file (the body unread); an
    object rewritten behind the tool's back is caught by them, or by verify's re-hash when its
    metadata was copied too."""
    body = b"id\n1\n"
    sink = sink_for(bucket)
    stored = await sink.store(RELATIVE, stream(body), expected_size=None, report_format="csv")
    store = build_store(bucket)
    await obstore.put_async(store, RELATIVE.as_posix(), b"id\n2\n")  # same size, no metadata
    assert await sink.matches(stored) is None
    forged = StoredFile(stored.path, 5, hashlib.sha256(b"id\n2\n").hexdigest(), rows=1)
    assert await sink.matches(forged, verify=True) == forged
    await obstore.put_async(
        store, RELATIVE.as_posix(), b"id\n9\n", attributes={"sha256": stored.sha256}
    )
    assert await sink.matches(stored) == stored
    assert await sink.matches(stored, verify=True) is None


async def test_staging_objects_of_a_killed_run_are_discarded(bucket: Location) -> None:
    """A staging object a killed run left for the target is deleted before the next download;
    another target's is kept."""
    store = build_store(bucket)
    mine = f"{UPLOADS}/{RELATIVE.as_posix()}.1a2b3c4d.part"
    other = f"{UPLOADS}/{RELATIVE.with_name('other.csv').as_posix()}.1a2b3c4d.part"
    for path in (mine, other):
        await obstore.put_async(store, path, b"partial")
    assert await sink_for(bucket).discard_partials(RELATIVE) == 1
    assert moto_s3().keys(bucket.bucket) == [bucket.key(other)]
